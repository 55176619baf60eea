//! The chart's own words, dates and numbers in the viewer's language, and
//! times in the viewer's time zone. Text from the record is never
//! translated: only the SDK's labels and the codes of FHIR's own value sets
//! (statuses, criticality, severity, encounter class).

use std::fmt;
use std::rc::Rc;

use chrono::{DateTime as ChronoDateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, Timelike};

use crate::fhir::{CodeableConcept, DateTime, Decimal, ObservationValue, Period, Quantity, Range, Ratio, When};

/// A language and its conventions for dates and numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Locale {
    #[default]
    EnUs = 0,
    EsEs = 1,
    FrFr = 2,
    DeDe = 3,
}

impl Locale {
    /// Every locale the chart speaks.
    pub const ALL: [Locale; 4] = [Locale::EnUs, Locale::EsEs, Locale::FrFr, Locale::DeDe];

    /// The locale for a BCP 47 tag: an exact match, else the same language
    /// (`es-MX` → es-ES, `de-AT` → de-DE), else `None`.
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let language = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match language.as_str() {
            "en" => Some(Locale::EnUs),
            "es" => Some(Locale::EsEs),
            "fr" => Some(Locale::FrFr),
            "de" => Some(Locale::DeDe),
            _ => None,
        }
    }

    /// The BCP 47 tag (also the chart's `lang` attribute).
    pub fn tag(self) -> &'static str {
        ["en-US", "es-ES", "fr-FR", "de-DE"][self as usize]
    }

    /// A label of the SDK's own.
    pub fn t(self, key: T) -> &'static str {
        key.texts()[self as usize]
    }

    /// A label with `{n}` (or `{x}`) replaced.
    pub fn t_with(self, key: T, value: &str) -> String {
        self.t(key).replace("{n}", value).replace("{x}", value)
    }

    /// A count, grouped as the locale groups it: `1,692`, `1692` (Spanish
    /// groups from five digits), `1 692` (narrow no-break space), `1.692`.
    pub fn integer(self, n: usize) -> String {
        let digits = n.to_string();
        let separator = match self {
            Locale::EnUs => ",",
            Locale::EsEs if digits.len() < 5 => return digits,
            Locale::EsEs | Locale::DeDe => ".",
            Locale::FrFr => "\u{202f}",
        };
        let mut out = String::with_capacity(digits.len() + digits.len() / 3 * 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push_str(separator);
            }
            out.push(c);
        }
        out
    }

    fn decimal_separator(self) -> char {
        if self == Locale::EnUs {
            '.'
        } else {
            ','
        }
    }

    /// Abbreviated month names, as `Intl.DateTimeFormat` writes them.
    fn month(self, month: u32) -> &'static str {
        const MONTHS: [[&str; 12]; 4] = [
            ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
            ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic"],
            ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."],
            ["Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.", "Dez."],
        ];
        MONTHS[self as usize][(month.clamp(1, 12) - 1) as usize]
    }

    fn day_month_year(self, date: NaiveDate) -> String {
        let (d, m, y) = (date.day(), self.month(date.month()), date.year());
        match self {
            Locale::EnUs => format!("{m} {d}, {y}"),
            Locale::EsEs | Locale::FrFr => format!("{d} {m} {y}"),
            Locale::DeDe => format!("{d}. {m} {y}"),
        }
    }

    fn time(self, hour: u32, minute: u32) -> String {
        match self {
            Locale::EnUs => {
                let h12 = if hour % 12 == 0 { 12 } else { hour % 12 };
                format!("{h12}:{minute:02}\u{202f}{}", if hour < 12 { "AM" } else { "PM" })
            }
            _ => format!("{hour:02}:{minute:02}"),
        }
    }

    /// A code of one of FHIR's own value sets, in words.
    pub fn code(self, code: &str) -> Option<&'static str> {
        code_texts(code).map(|t| t[self as usize])
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// The viewer's time zone: instants are shown at the viewer's wall-clock
/// time (a result at 23:30-05:00 falls on that day for a viewer at -05:00,
/// on the next for one in Europe). Dates without a time are shown as written.
#[derive(Clone)]
pub struct TimeZone {
    name: Option<String>,
    offset: Option<Rc<dyn Fn(i64) -> Option<i32>>>,
}

impl TimeZone {
    /// Instants shown at the offset they were recorded with.
    pub fn recorded() -> Self {
        Self { name: None, offset: None }
    }

    /// A fixed offset from UTC, in seconds east.
    pub fn fixed(name: &str, offset_seconds: i32) -> Self {
        Self::new(name, move |_| Some(offset_seconds))
    }

    /// A named zone whose offset (seconds east of UTC) at a UTC instant
    /// (seconds since 1970) is given by `offset`.
    pub fn new(name: &str, offset: impl Fn(i64) -> Option<i32> + 'static) -> Self {
        Self { name: Some(name.to_string()), offset: Some(Rc::new(offset)) }
    }

    /// The zone's name (an IANA name such as `America/Chicago`).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn local(&self, instant: &ChronoDateTime<FixedOffset>) -> NaiveDateTime {
        let offset = self.offset.as_ref().and_then(|f| f(instant.timestamp())).and_then(FixedOffset::east_opt);
        match offset {
            Some(offset) => instant.with_timezone(&offset).naive_local(),
            None => instant.naive_local(),
        }
    }
}

impl fmt::Debug for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeZone").field("name", &self.name).finish()
    }
}

impl PartialEq for TimeZone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.offset.is_some() == other.offset.is_some()
    }
}

/// Formats record values for one locale and time zone.
#[derive(Debug, Clone, Copy)]
pub struct Fmt<'a> {
    pub locale: Locale,
    pub zone: &'a TimeZone,
}

impl Fmt<'_> {
    pub fn t(&self, key: T) -> &'static str {
        self.locale.t(key)
    }

    pub fn t_with(&self, key: T, value: &str) -> String {
        self.locale.t_with(key, value)
    }

    /// `1 result` / `3 results`.
    pub fn count(&self, n: usize, one: T, many: T) -> String {
        if n == 1 {
            self.t(one).to_string()
        } else {
            self.t_with(many, &self.locale.integer(n))
        }
    }

    /// The calendar day (in the viewer's zone for instants), or coarser.
    pub fn date(&self, value: &DateTime) -> String {
        match value {
            DateTime::Year(y) => y.to_string(),
            DateTime::YearMonth(y, m) => format!("{} {y}", self.locale.month(*m)),
            DateTime::Date(d) => self.locale.day_month_year(*d),
            DateTime::Instant(i) => self.locale.day_month_year(self.zone.local(i).date()),
            DateTime::Local(l) => self.locale.day_month_year(l.date()),
            DateTime::Unparsed(text) => text.clone(),
        }
    }

    /// With the time of day when the value has one.
    pub fn date_time(&self, value: &DateTime) -> String {
        let with_time = |l: NaiveDateTime| format!("{}, {}", self.locale.day_month_year(l.date()), self.locale.time(l.hour(), l.minute()));
        match value {
            DateTime::Instant(i) => with_time(self.zone.local(i)),
            DateTime::Local(l) => with_time(*l),
            other => self.date(other),
        }
    }

    pub fn period(&self, p: &Period) -> String {
        match (&p.start, &p.end) {
            (Some(s), Some(e)) if self.date(s) == self.date(e) => self.date_time(s),
            (Some(s), Some(e)) => format!("{} – {}", self.date(s), self.date(e)),
            (Some(s), None) => self.t_with(T::Since, &self.date(s)),
            (None, Some(e)) => self.t_with(T::Until, &self.date(e)),
            (None, None) => String::new(),
        }
    }

    /// With times of day.
    pub fn when(&self, w: When<'_>) -> String {
        match w {
            When::DateTime(d) => self.date_time(d),
            other => self.when_date(other),
        }
    }

    /// Days only.
    pub fn when_date(&self, w: When<'_>) -> String {
        match w {
            When::DateTime(d) => self.date(d),
            When::Period(p) => self.period(p),
            When::Age(q) => self.t_with(T::AtAge, &self.quantity(q)),
            When::Range(r) => self.t_with(T::AtAge, &self.range(r)),
            When::Text(t) => t.to_string(),
        }
    }

    /// A decimal as written (rounded when machine-long), with the locale's separator.
    pub fn decimal(&self, d: &Decimal) -> String {
        self.number_text(d.display())
    }

    /// A number for axis labels and computed values.
    pub fn number(&self, v: f64, decimals: usize) -> String {
        self.number_text(format!("{v:.decimals$}"))
    }

    fn number_text(&self, text: String) -> String {
        match self.locale.decimal_separator() {
            '.' => text,
            sep => text.replace('.', &sep.to_string()),
        }
    }

    /// `<5,0 mmol/L`.
    pub fn quantity(&self, q: &Quantity) -> String {
        let mut out = String::new();
        if let Some(c) = q.comparator.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            out.push_str(c);
        }
        if let Some(v) = &q.value {
            out.push_str(&self.decimal(v));
        }
        if let Some(u) = q.unit_label() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(u);
        }
        out
    }

    pub fn range(&self, r: &Range) -> String {
        match (&r.low, &r.high) {
            (Some(l), Some(h)) => format!("{} – {}", self.quantity(l), self.quantity(h)),
            (Some(l), None) => format!("≥ {}", self.quantity(l)),
            (None, Some(h)) => format!("≤ {}", self.quantity(h)),
            (None, None) => String::new(),
        }
    }

    pub fn ratio(&self, r: &Ratio) -> String {
        let part = |q: &Option<Quantity>| q.as_ref().map(|q| self.quantity(q)).unwrap_or_default();
        format!("{} / {}", part(&r.numerator), part(&r.denominator))
    }

    pub fn value(&self, v: ObservationValue<'_>) -> String {
        match v {
            ObservationValue::Quantity(q) => self.quantity(q),
            ObservationValue::CodeableConcept(c) => c.label().unwrap_or_default().to_string(),
            ObservationValue::String(s) | ObservationValue::Time(s) => s.to_string(),
            ObservationValue::Boolean(b) => self.t(if b { T::Yes } else { T::No }).to_string(),
            ObservationValue::Integer(i) => i.to_string(),
            ObservationValue::Range(r) => self.range(r),
            ObservationValue::Ratio(r) => self.ratio(r),
            ObservationValue::DateTime(d) => self.date_time(d),
            ObservationValue::Period(p) => self.period(p),
        }
    }

    /// A status-like concept: its code in the viewer's words when it is one
    /// of FHIR's codes, else the record's text.
    pub fn status(&self, concept: &Option<CodeableConcept>) -> Option<String> {
        let concept = concept.as_ref()?;
        concept
            .coding
            .iter()
            .filter(|c| c.system.as_deref().is_none_or(|s| s.starts_with("http://terminology.hl7.org/") || s.starts_with("http://hl7.org/fhir/")))
            .find_map(|c| c.code.as_deref().and_then(|code| self.locale.code(code)))
            .map(str::to_string)
            .or_else(|| concept.label().map(humanize))
    }

    /// A `code` element of FHIR's own value sets, in words.
    pub fn code(&self, code: Option<&str>) -> String {
        code.map(|c| self.locale.code(c).map(str::to_string).unwrap_or_else(|| humanize(c))).unwrap_or_default()
    }

    /// A status shown in parentheses after other text.
    pub fn lower(&self, text: &str) -> String {
        if self.locale == Locale::DeDe {
            text.to_string()
        } else {
            text.to_lowercase()
        }
    }
}

/// `entered-in-error` → `Entered in error` (for codes without a translation).
fn humanize(code: &str) -> String {
    let text = code.replace('-', " ");
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

macro_rules! texts {
    ($($key:ident => [$en:expr, $es:expr, $fr:expr, $de:expr],)*) => {
        /// The SDK's labels.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum T { $($key,)* }

        impl T {
            /// Every label, for completeness tests.
            pub const ALL: &'static [T] = &[$(T::$key,)*];

            fn texts(self) -> [&'static str; 4] {
                match self { $(T::$key => [$en, $es, $fr, $de],)* }
            }
        }
    };
}

texts! {
    HealthRecord => ["Health record", "Historia clínica", "Dossier médical", "Gesundheitsakte"],
    NoPatient => ["This record does not name a patient.", "Esta historia no indica ningún paciente.", "Ce dossier ne nomme aucun patient.", "Diese Akte nennt keinen Patienten."],
    SectionsNav => ["Sections", "Secciones", "Sections", "Abschnitte"],
    NotRecorded => ["Not recorded", "No registrado", "Non renseigné", "Nicht erfasst"],
    ShowOlder => ["Show {n} older", "Mostrar {n} anteriores", "Afficher {n} plus anciens", "{n} ältere anzeigen"],
    NewestFirst => ["{x}, newest first", "{x}, de más reciente a más antiguo", "{x}, du plus récent au plus ancien", "{x}, neueste zuerst"],
    OlderNewestFirst => ["{x}, older, newest first", "{x}, anteriores, de más reciente a más antiguo", "{x}, plus anciens, du plus récent au plus ancien", "{x}, ältere, neueste zuerst"],
    WithheldOne => ["1 item in this record is not shown to you.", "1 elemento de esta historia no se le muestra.", "1 élément de ce dossier ne vous est pas affiché.", "1 Eintrag dieser Akte wird Ihnen nicht angezeigt."],
    WithheldMany => ["{n} items in this record are not shown to you.", "{n} elementos de esta historia no se le muestran.", "{n} éléments de ce dossier ne vous sont pas affichés.", "{n} Einträge dieser Akte werden Ihnen nicht angezeigt."],
    WithheldSome => ["Some items in this record are not shown to you.", "Algunos elementos de esta historia no se le muestran.", "Certains éléments de ce dossier ne vous sont pas affichés.", "Einige Einträge dieser Akte werden Ihnen nicht angezeigt."],
    TimesIn => ["Times are shown in the {x} time zone.", "Las horas se muestran en la zona horaria {x}.", "Les heures sont indiquées dans le fuseau horaire {x}.", "Uhrzeiten in der Zeitzone {x}."],
    TimesAsRecorded => ["Times are shown as recorded.", "Las horas se muestran tal como se registraron.", "Les heures sont indiquées telles qu’enregistrées.", "Uhrzeiten wie erfasst."],
    Born => ["Born", "Nacimiento", "Naissance", "Geboren"],
    Died => ["Died", "Fallecimiento", "Décès", "Verstorben"],
    Sex => ["Sex", "Sexo", "Sexe", "Geschlecht"],
    Age => ["age {n}", "{n} años", "{n} ans", "{n} Jahre"],
    AtAge => ["age {x}", "a los {x}", "à {x}", "mit {x}"],
    Identifier => ["Identifier", "Identificador", "Identifiant", "Kennung"],
    NameNotRecorded => ["Name not recorded", "Nombre no registrado", "Nom non renseigné", "Name nicht erfasst"],
    Yes => ["Yes", "Sí", "Oui", "Ja"],
    No => ["No", "No", "Non", "Nein"],
    Male => ["Male", "Masculino", "Masculin", "Männlich"],
    Female => ["Female", "Femenino", "Féminin", "Weiblich"],
    OtherGender => ["Other", "Otro", "Autre", "Divers"],
    UnknownGender => ["Unknown", "Desconocido", "Inconnu", "Unbekannt"],
    SourceAria => ["Where this record comes from", "De dónde procede esta historia", "Provenance de ce dossier", "Herkunft dieser Akte"],
    SharedLink => ["Shared link:", "Enlace compartido:", "Lien partagé :", "Geteilter Link:"],
    CardVerified => ["SMART Health Card: verified issuer: {x}", "SMART Health Card: emisor verificado: {x}", "SMART Health Card : émetteur vérifié : {x}", "SMART Health Card: verifizierter Aussteller: {x}"],
    CardNoKeys => ["SMART Health Card: unverified (issuer {x}; its keys were not available to check the signature)", "SMART Health Card: sin verificar (emisor {x}; sus claves no estaban disponibles para comprobar la firma)", "SMART Health Card : non vérifiée (émetteur {x} ; ses clés n’étaient pas disponibles pour vérifier la signature)", "SMART Health Card: nicht verifiziert (Aussteller {x}; seine Schlüssel waren zur Prüfung der Signatur nicht verfügbar)"],
    CardKeysUnavailable => ["SMART Health Card: unverified (issuer {x}; its keys could not be fetched)", "SMART Health Card: sin verificar (emisor {x}; no se pudieron obtener sus claves)", "SMART Health Card : non vérifiée (émetteur {x} ; ses clés n’ont pas pu être récupérées)", "SMART Health Card: nicht verifiziert (Aussteller {x}; seine Schlüssel konnten nicht abgerufen werden)"],
    CardInvalid => ["SMART Health Card: the signature does not match issuer {x}; do not rely on it", "SMART Health Card: la firma no corresponde al emisor {x}; no confíe en ella", "SMART Health Card : la signature ne correspond pas à l’émetteur {x} ; ne vous y fiez pas", "SMART Health Card: die Signatur passt nicht zum Aussteller {x}; verlassen Sie sich nicht darauf"],
    UnsignedOne => ["FHIR data (1 file): not signed by an issuer", "Datos FHIR (1 archivo): sin firma de un emisor", "Données FHIR (1 fichier) : non signées par un émetteur", "FHIR-Daten (1 Datei): nicht von einem Aussteller signiert"],
    UnsignedMany => ["FHIR data ({n} files): not signed by an issuer", "Datos FHIR ({n} archivos): sin firma de un emisor", "Données FHIR ({n} fichiers) : non signées par un émetteur", "FHIR-Daten ({n} Dateien): nicht von einem Aussteller signiert"],
    SkippedFile => ["Not shown: one {x} file", "No se muestra: un archivo {x}", "Non affiché : un fichier {x}", "Nicht angezeigt: eine {x}-Datei"],
    SkipNoLongerValid => ["marked no longer valid by the sharer", "marcado como no válido por quien lo compartió", "marqué comme n’étant plus valide par la personne qui l’a partagé", "vom Teilenden als nicht mehr gültig markiert"],
    SkipApiAccess => ["an access token for another server, which this viewer does not use", "un token de acceso a otro servidor, que este visor no usa", "un jeton d’accès à un autre serveur, que ce lecteur n’utilise pas", "ein Zugriffstoken für einen anderen Server, das dieser Viewer nicht verwendet"],
    SkipUnsupported => ["a kind of file this viewer does not open", "un tipo de archivo que este visor no abre", "un type de fichier que ce lecteur n’ouvre pas", "ein Dateityp, den dieser Viewer nicht öffnet"],
    Allergies => ["Allergies and intolerances", "Alergias e intolerancias", "Allergies et intolérances", "Allergien und Unverträglichkeiten"],
    Problems => ["Problems", "Problemas de salud", "Problèmes de santé", "Gesundheitsprobleme"],
    Medications => ["Medications", "Medicamentos", "Médicaments", "Medikamente"],
    Results => ["Results", "Resultados", "Résultats", "Befunde"],
    Trends => ["Trends", "Evolución", "Évolution", "Verlauf"],
    Vitals => ["Vital signs", "Constantes vitales", "Signes vitaux", "Vitalwerte"],
    Immunizations => ["Immunizations", "Vacunas", "Vaccinations", "Impfungen"],
    Procedures => ["Procedures", "Procedimientos", "Actes et interventions", "Eingriffe"],
    Encounters => ["Visits", "Visitas", "Consultations", "Besuche"],
    Documents => ["Documents", "Documentos", "Documents", "Dokumente"],
    CarePlans => ["Care plans", "Planes de cuidados", "Plans de soins", "Behandlungspläne"],
    OtherRecords => ["Other records", "Otros registros", "Autres éléments", "Weitere Einträge"],
    OtherHint => ["Records this chart has no section for, listed so that nothing is left out.", "Registros sin sección propia, listados para que no falte nada.", "Éléments sans section dédiée, listés pour que rien ne soit omis.", "Einträge ohne eigenen Abschnitt, aufgeführt, damit nichts fehlt."],
    Substance => ["Substance", "Sustancia", "Substance", "Substanz"],
    Reactions => ["Reactions", "Reacciones", "Réactions", "Reaktionen"],
    Criticality => ["Criticality", "Gravedad potencial", "Criticité", "Kritikalität"],
    Status => ["Status", "Estado", "Statut", "Status"],
    Recorded => ["Recorded", "Registrado", "Enregistré", "Erfasst"],
    Problem => ["Problem", "Problema", "Problème", "Problem"],
    Onset => ["Onset", "Inicio", "Début", "Beginn"],
    Resolved => ["Resolved", "Resuelto", "Résolu", "Abgeklungen"],
    Medication => ["Medication", "Medicamento", "Médicament", "Medikament"],
    Dosage => ["Dosage", "Posología", "Posologie", "Dosierung"],
    Date => ["Date", "Fecha", "Date", "Datum"],
    Prescriber => ["Prescriber", "Prescriptor", "Prescripteur", "Verordnet von"],
    Test => ["Test", "Prueba", "Analyse", "Untersuchung"],
    Result => ["Result", "Resultado", "Résultat", "Ergebnis"],
    ReferenceRange => ["Reference range", "Intervalo de referencia", "Valeurs de référence", "Referenzbereich"],
    Flag => ["Flag", "Indicador", "Indicateur", "Hinweis"],
    Measurement => ["Measurement", "Medición", "Mesure", "Messung"],
    Value => ["Value", "Valor", "Valeur", "Wert"],
    Vaccine => ["Vaccine", "Vacuna", "Vaccin", "Impfstoff"],
    Procedure => ["Procedure", "Procedimiento", "Acte", "Eingriff"],
    Visit => ["Visit", "Visita", "Consultation", "Besuch"],
    Class => ["Class", "Tipo", "Type", "Art"],
    Reason => ["Reason", "Motivo", "Motif", "Grund"],
    Provider => ["Provider", "Centro", "Établissement", "Einrichtung"],
    Document => ["Document", "Documento", "Document", "Dokument"],
    DocumentType => ["Type", "Tipo", "Type", "Art"],
    File => ["File", "Archivo", "Fichier", "Datei"],
    CarePlan => ["Care plan", "Plan de cuidados", "Plan de soins", "Behandlungsplan"],
    Activities => ["Activities", "Actividades", "Activités", "Maßnahmen"],
    Period => ["Period", "Periodo", "Période", "Zeitraum"],
    High => ["High", "Alto", "Élevé", "Hoch"],
    Low => ["Low", "Bajo", "Bas", "Niedrig"],
    CriticalHigh => ["Critically high", "Críticamente alto", "Critique (élevé)", "Kritisch hoch"],
    CriticalLow => ["Critically low", "Críticamente bajo", "Critique (bas)", "Kritisch niedrig"],
    Abnormal => ["Abnormal", "Anormal", "Anormal", "Auffällig"],
    CriticalAbnormal => ["Critically abnormal", "Críticamente anormal", "Critique (anormal)", "Kritisch auffällig"],
    Normal => ["Normal", "Normal", "Normal", "Normal"],
    NotAvailable => ["Not available ({x})", "No disponible ({x})", "Non disponible ({x})", "Nicht verfügbar ({x})"],
    PanelOf => ["Panel of {x}", "Panel de {x}", "Bilan de {x}", "Profil mit {x}"],
    ResultOne => ["1 result", "1 resultado", "1 résultat", "1 Ergebnis"],
    ResultMany => ["{n} results", "{n} resultados", "{n} résultats", "{n} Ergebnisse"],
    CountNotShown => ["{n} not shown", "{n} no mostrados", "{n} non affichés", "{n} nicht angezeigt"],
    NotShown => ["Not shown", "No se muestra", "Non affiché", "Nicht angezeigt"],
    Given => ["Given", "Administrada", "Administré", "Verabreicht"],
    NotGiven => ["Not given", "No administrada", "Non administré", "Nicht verabreicht"],
    CouldNotRead => ["Could not be read: not valid FHIR R4", "No se pudo leer: no es FHIR R4 válido", "Illisible : FHIR R4 non valide", "Nicht lesbar: kein gültiges FHIR R4"],
    EnteredInError => ["Entered in error", "Registrado por error", "Saisi par erreur", "Fehlerhaft erfasst"],
    Since => ["since {x}", "desde {x}", "depuis le {x}", "seit {x}"],
    Until => ["until {x}", "hasta {x}", "jusqu’au {x}", "bis {x}"],
    Download => ["Download", "Descargar", "Télécharger", "Herunterladen"],
    OpenLink => ["Open", "Abrir", "Ouvrir", "Öffnen"],
    NewTab => ["(opens in a new tab)", "(se abre en una pestaña nueva)", "(s’ouvre dans un nouvel onglet)", "(öffnet in neuem Tab)"],
    StoredAtSource => ["Kept at the source", "Guardado en el origen", "Conservé à la source", "Bei der Quelle gespeichert"],
    NoFile => ["No file", "Sin archivo", "Aucun fichier", "Keine Datei"],
    TrendLabel => ["{x}: chart of results over time", "{x}: gráfico de resultados en el tiempo", "{x} : graphique des résultats dans le temps", "{x}: Verlauf der Ergebnisse"],
    TrendTable => ["{x}: results over time, newest first", "{x}: resultados en el tiempo, de más reciente a más antiguo", "{x} : résultats dans le temps, du plus récent au plus ancien", "{x}: Ergebnisse im Zeitverlauf, neueste zuerst"],
    Latest => ["latest {x}", "último {x}", "dernier {x}", "zuletzt {x}"],
    DataTable => ["Show as a table", "Ver como tabla", "Afficher en tableau", "Als Tabelle anzeigen"],
    BandLegend => ["Shaded band: reference range {x}", "Banda sombreada: intervalo de referencia {x}", "Bande grisée : valeurs de référence {x}", "Schattierter Bereich: Referenzbereich {x}"],
    FilterLabel => ["Filter results by name", "Filtrar resultados por nombre", "Filtrer les résultats par nom", "Befunde nach Namen filtern"],
    FilterNone => ["No results match.", "Ningún resultado coincide.", "Aucun résultat ne correspond.", "Keine Befunde gefunden."],
    FilterOne => ["1 result matches.", "1 resultado coincide.", "1 résultat correspond.", "1 Befund gefunden."],
    FilterMany => ["{n} results match.", "{n} resultados coinciden.", "{n} résultats correspondent.", "{n} Befunde gefunden."],
    Narrative => ["Details as written by the source", "Detalles tal como los redactó el origen", "Détails tels que rédigés par la source", "Details im Wortlaut der Quelle"],
    Conclusion => ["Conclusion: {x}", "Conclusión: {x}", "Conclusion : {x}", "Beurteilung: {x}"],
    NoResultsHere => ["no results in this record", "sin resultados en esta historia", "aucun résultat dans ce dossier", "keine Ergebnisse in dieser Akte"],
    Collapse => ["Show or hide this section", "Mostrar u ocultar esta sección", "Afficher ou masquer cette section", "Abschnitt ein- oder ausblenden"],
}

/// FHIR value-set codes in words (statuses, criticality, severity,
/// encounter class), by code: en, es, fr, de.
fn code_texts(code: &str) -> Option<[&'static str; 4]> {
    Some(match code {
        "active" => ["Active", "Activo", "Actif", "Aktiv"],
        "inactive" => ["Inactive", "Inactivo", "Inactif", "Inaktiv"],
        "resolved" => ["Resolved", "Resuelto", "Résolu", "Abgeklungen"],
        "recurrence" => ["Recurrence", "Recurrencia", "Récurrence", "Wiederauftreten"],
        "relapse" => ["Relapse", "Recaída", "Rechute", "Rückfall"],
        "remission" => ["Remission", "Remisión", "Rémission", "Remission"],
        "unconfirmed" => ["Unconfirmed", "No confirmado", "Non confirmé", "Unbestätigt"],
        "provisional" => ["Provisional", "Provisional", "Provisoire", "Vorläufig"],
        "differential" => ["Differential", "Diferencial", "Différentiel", "Differenzialdiagnose"],
        "confirmed" => ["Confirmed", "Confirmado", "Confirmé", "Bestätigt"],
        "refuted" => ["Refuted", "Descartado", "Réfuté", "Widerlegt"],
        "entered-in-error" => ["Entered in error", "Registrado por error", "Saisi par erreur", "Fehlerhaft erfasst"],
        "low" => ["Low", "Baja", "Faible", "Niedrig"],
        "high" => ["High", "Alta", "Élevée", "Hoch"],
        "unable-to-assess" => ["Unable to assess", "No evaluable", "Non évaluable", "Nicht beurteilbar"],
        "mild" => ["mild", "leve", "légère", "leicht"],
        "moderate" => ["moderate", "moderada", "modérée", "mittelschwer"],
        "severe" => ["severe", "grave", "sévère", "schwer"],
        "on-hold" => ["On hold", "En espera", "En attente", "Pausiert"],
        "cancelled" => ["Cancelled", "Cancelado", "Annulé", "Storniert"],
        "completed" => ["Completed", "Completado", "Terminé", "Abgeschlossen"],
        "stopped" => ["Stopped", "Suspendido", "Arrêté", "Abgesetzt"],
        "draft" => ["Draft", "Borrador", "Brouillon", "Entwurf"],
        "unknown" => ["Unknown", "Desconocido", "Inconnu", "Unbekannt"],
        "intended" => ["Intended", "Previsto", "Prévu", "Vorgesehen"],
        "not-taken" => ["Not taken", "No tomado", "Non pris", "Nicht eingenommen"],
        "preparation" => ["Preparation", "Preparación", "Préparation", "Vorbereitung"],
        "in-progress" => ["In progress", "En curso", "En cours", "Laufend"],
        "not-done" => ["Not done", "No realizado", "Non réalisé", "Nicht durchgeführt"],
        "planned" => ["Planned", "Planificado", "Planifié", "Geplant"],
        "arrived" => ["Arrived", "Llegada", "Arrivé", "Angekommen"],
        "triaged" => ["Triaged", "Clasificado", "Trié", "Triagiert"],
        "onleave" => ["On leave", "De permiso", "En permission", "Beurlaubt"],
        "finished" => ["Finished", "Finalizada", "Terminée", "Beendet"],
        "registered" => ["Registered", "Registrado", "Enregistré", "Registriert"],
        "preliminary" => ["Preliminary", "Preliminar", "Préliminaire", "Vorläufig"],
        "final" => ["Final", "Definitivo", "Définitif", "Endgültig"],
        "amended" => ["Amended", "Modificado", "Modifié", "Geändert"],
        "corrected" => ["Corrected", "Corregido", "Corrigé", "Korrigiert"],
        "appended" => ["Appended", "Ampliado", "Complété", "Ergänzt"],
        "partial" => ["Partial", "Parcial", "Partiel", "Teilweise"],
        "current" => ["Current", "Vigente", "Actuel", "Aktuell"],
        "superseded" => ["Superseded", "Reemplazado", "Remplacé", "Ersetzt"],
        "revoked" => ["Revoked", "Revocado", "Révoqué", "Widerrufen"],
        "AMB" => ["Ambulatory", "Ambulatoria", "Ambulatoire", "Ambulant"],
        "EMER" => ["Emergency", "Urgencias", "Urgences", "Notfall"],
        "IMP" => ["Inpatient", "Hospitalización", "Hospitalisation", "Stationär"],
        "ACUTE" => ["Inpatient (acute)", "Hospitalización (agudos)", "Hospitalisation (soins aigus)", "Stationär (akut)"],
        "NONAC" => ["Inpatient (non-acute)", "Hospitalización (no agudos)", "Hospitalisation (non aigu)", "Stationär (nicht akut)"],
        "OBSENC" => ["Observation", "Observación", "Surveillance", "Beobachtung"],
        "PRENC" => ["Pre-admission", "Preingreso", "Pré-admission", "Voraufnahme"],
        "SS" => ["Short stay", "Estancia corta", "Séjour court", "Kurzaufenthalt"],
        "VR" => ["Virtual", "Virtual", "À distance", "Virtuell"],
        "HH" => ["Home health", "Atención domiciliaria", "Soins à domicile", "Häusliche Pflege"],
        "FLD" => ["Field", "Atención in situ", "Sur le terrain", "Vor Ort"],
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_has_every_language_and_placeholders_match() {
        for key in T::ALL {
            let texts = key.texts();
            let marks = |s: &str| (s.contains("{n}"), s.contains("{x}"));
            for text in texts {
                assert!(!text.trim().is_empty(), "{key:?}");
                assert_eq!(marks(text), marks(texts[0]), "{key:?}: {text}");
            }
        }
    }

    #[test]
    fn counts_are_grouped_by_locale() {
        let grouped: Vec<String> = Locale::ALL.iter().map(|l| l.integer(1692)).collect();
        assert_eq!(grouped, ["1,692", "1692", "1\u{202f}692", "1.692"]);
        assert_eq!(Locale::EsEs.integer(12345), "12.345");
        assert_eq!(Locale::EnUs.integer(1_234_567), "1,234,567");
        assert_eq!(Locale::DeDe.integer(999), "999");
        assert_eq!(Locale::EnUs.integer(0), "0");
    }

    #[test]
    fn tags() {
        assert_eq!(Locale::from_tag("es-MX"), Some(Locale::EsEs));
        assert_eq!(Locale::from_tag("de"), Some(Locale::DeDe));
        assert_eq!(Locale::from_tag("FR_ca"), Some(Locale::FrFr));
        assert_eq!(Locale::from_tag("ja-JP"), None);
        assert_eq!(Locale::from_tag(""), None);
    }

    #[test]
    fn dates_times_and_numbers_by_locale() {
        let chicago = TimeZone::fixed("America/Chicago", -5 * 3600);
        let paris = TimeZone::fixed("Europe/Paris", 2 * 3600);
        let late = DateTime::parse("2019-07-04T23:30:00-05:00");
        let expect = [
            (Locale::EnUs, "Jul 4, 2019, 11:30\u{202f}PM", "Jul 5, 2019, 6:30\u{202f}AM"),
            (Locale::EsEs, "4 jul 2019, 23:30", "5 jul 2019, 06:30"),
            (Locale::FrFr, "4 juil. 2019, 23:30", "5 juil. 2019, 06:30"),
            (Locale::DeDe, "4. Juli 2019, 23:30", "5. Juli 2019, 06:30"),
        ];
        for (locale, there, here) in expect {
            assert_eq!(Fmt { locale, zone: &chicago }.date_time(&late), there);
            assert_eq!(Fmt { locale, zone: &paris }.date_time(&late), here);
        }
        let recorded = TimeZone::recorded();
        let en = Fmt { locale: Locale::EnUs, zone: &recorded };
        let de = Fmt { locale: Locale::DeDe, zone: &recorded };
        assert_eq!(en.date(&late), "Jul 4, 2019");
        assert_eq!(de.date(&DateTime::parse("2019-03")), "März 2019");
        assert_eq!(de.date(&DateTime::parse("2019")), "2019");
        assert_eq!(en.decimal(&serde_json::from_str("7.20").unwrap()), "7.20");
        assert_eq!(de.decimal(&serde_json::from_str("7.20").unwrap()), "7,20");
        assert_eq!(de.decimal(&serde_json::from_str("139.28477650494352").unwrap()), "139,28");
        let noon = DateTime::parse("2020-01-01T12:05:00Z");
        assert_eq!(en.date_time(&noon), "Jan 1, 2020, 12:05\u{202f}PM");
        assert_eq!(en.date_time(&DateTime::parse("2020-01-01T00:05:00Z")), "Jan 1, 2020, 12:05\u{202f}AM");
    }
}
