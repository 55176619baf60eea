//! The SDK's words in every language it speaks, side by side: its labels
//! (`T`) and the codes of FHIR's own value sets.

macro_rules! texts {
    ($($key:ident => [$en:expr, $es:expr, $fr:expr, $de:expr],)*) => {
        /// The SDK's labels.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum T { $($key,)* }

        impl T {
            /// Every label, for completeness tests.
            pub const ALL: &'static [T] = &[$(T::$key,)*];

            pub(super) fn texts(self) -> [&'static str; 4] {
                match self { $(T::$key => [$en, $es, $fr, $de],)* }
            }
        }
    };
}

texts! {
    HealthRecord => ["Health record", "Historia clínica", "Dossier médical", "Gesundheitsakte"],
    NoPatient => ["This record does not name a patient.", "Esta historia no indica ningún paciente.", "Ce dossier ne nomme aucun patient.", "Diese Akte nennt keinen Patienten."],
    RecordClosed => ["This record is closed.", "Esta historia está cerrada.", "Ce dossier est fermé.", "Diese Akte ist geschlossen."],
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
    CardUntrusted => ["SMART Health Card: signed by {x}; this issuer is not in your trust list", "SMART Health Card: firmada por {x}; este emisor no está en su lista de confianza", "SMART Health Card : signée par {x} ; cet émetteur n’est pas dans votre liste de confiance", "SMART Health Card: signiert von {x}; dieser Aussteller steht nicht in Ihrer Vertrauensliste"],
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
    DoNotGive => ["Do not give", "No administrar", "Ne pas administrer", "Nicht geben"],
    DoNotPerform => ["Do not perform", "No realizar", "Ne pas réaliser", "Nicht durchführen"],
    NotDone => ["Not done", "No realizado", "Non réalisé", "Nicht durchgeführt"],
    NotTaken => ["Not taken", "No tomado", "Non pris", "Nicht eingenommen"],
    Declined => ["Declined", "Rechazado", "Refusé", "Abgelehnt"],
    Refuted => ["Refuted", "Descartado", "Réfuté", "Widerlegt"],
    Cancelled => ["Cancelled", "Cancelado", "Annulé", "Storniert"],
    AsNeeded => ["as needed", "si es necesario", "si besoin", "bei Bedarf"],
    AsNeededFor => ["as needed for {x}", "si es necesario por {x}", "si besoin pour {x}", "bei Bedarf bei {x}"],
    OncePer => ["once per {x}", "una vez por {x}", "une fois par {x}", "einmal pro {x}"],
    TimesPer => ["{n} times per {x}", "{n} veces por {x}", "{n} fois par {x}", "{n}-mal pro {x}"],
    Every => ["every {x}", "cada {x}", "toutes les {x}", "alle {x}"],
    UnitSecond => ["second", "segundo", "seconde", "Sekunde"],
    UnitSeconds => ["{n} seconds", "{n} segundos", "{n} secondes", "{n} Sekunden"],
    UnitMinute => ["minute", "minuto", "minute", "Minute"],
    UnitMinutes => ["{n} minutes", "{n} minutos", "{n} minutes", "{n} Minuten"],
    UnitHour => ["hour", "hora", "heure", "Stunde"],
    UnitHours => ["{n} hours", "{n} horas", "{n} heures", "{n} Stunden"],
    UnitDay => ["day", "día", "jour", "Tag"],
    UnitDays => ["{n} days", "{n} días", "{n} jours", "{n} Tage"],
    UnitWeek => ["week", "semana", "semaine", "Woche"],
    UnitWeeks => ["{n} weeks", "{n} semanas", "{n} semaines", "{n} Wochen"],
    UnitMonth => ["month", "mes", "mois", "Monat"],
    UnitMonths => ["{n} months", "{n} meses", "{n} mois", "{n} Monate"],
    UnitYear => ["year", "año", "an", "Jahr"],
    UnitYears => ["{n} years", "{n} años", "{n} ans", "{n} Jahre"],
    Route => ["route: {x}", "vía: {x}", "voie : {x}", "Art: {x}"],
    RecordedOn => ["recorded {x}", "registrado el {x}", "enregistré le {x}", "erfasst am {x}"],
    By => ["by {x}", "por {x}", "par {x}", "von {x}"],
    Performer => ["Performed by", "Realizado por", "Réalisé par", "Durchgeführt von"],
    QuantityOf => ["quantity {x}", "cantidad {x}", "quantité {x}", "Menge {x}"],
    DoseOf => ["dose {x}", "dosis {x}", "dose {x}", "Dosis {x}"],
    ReportText => ["Report as written", "Informe tal como se redactó", "Compte rendu tel que rédigé", "Bericht im Wortlaut"],
    ReportAttached => ["report attached", "informe adjunto", "compte rendu joint", "Bericht beigefügt"],
    Due => ["due {x}", "para el {x}", "échéance {x}", "fällig {x}"],
    Members => ["members: {x}", "miembros: {x}", "membres : {x}", "Mitglieder: {x}"],
    Payor => ["paid by {x}", "pagador: {x}", "payeur : {x}", "Kostenträger: {x}"],
    Targets => ["about {x}", "sobre {x}", "concernant {x}", "zu {x}"],
    Collapse => ["Show or hide this section", "Mostrar u ocultar esta sección", "Afficher ou masquer cette section", "Abschnitt ein- oder ausblenden"],
}

/// FHIR value-set codes in words (statuses, criticality, severity,
/// encounter class), by code: en, es, fr, de.
pub(super) fn code_texts(code: &str) -> Option<[&'static str; 4]> {
    CODE_TEXTS.binary_search_by(|(key, _)| key.cmp(&code)).ok().and_then(|at| CODE_TEXTS.get(at)).map(|(_, texts)| *texts)
}

/// Codes and their texts (en, es, fr, de), sorted by code in byte order.
type CodeTable = &'static [(&'static str, [&'static str; 4])];

/// [`code_texts`]' table, sorted by code (byte order) for a binary search:
/// a table of text is smaller in the module than a `match` of string arms.
static CODE_TEXTS: CodeTable = &[
    ("ACUTE", ["Inpatient (acute)", "Hospitalización (agudos)", "Hospitalisation (soins aigus)", "Stationär (akut)"]),
    ("AMB", ["Ambulatory", "Ambulatoria", "Ambulatoire", "Ambulant"]),
    ("EMER", ["Emergency", "Urgencias", "Urgences", "Notfall"]),
    ("FLD", ["Field", "Atención in situ", "Sur le terrain", "Vor Ort"]),
    ("HH", ["Home health", "Atención domiciliaria", "Soins à domicile", "Häusliche Pflege"]),
    ("IMP", ["Inpatient", "Hospitalización", "Hospitalisation", "Stationär"]),
    ("NONAC", ["Inpatient (non-acute)", "Hospitalización (no agudos)", "Hospitalisation (non aigu)", "Stationär (nicht akut)"]),
    ("OBSENC", ["Observation", "Observación", "Surveillance", "Beobachtung"]),
    ("PRENC", ["Pre-admission", "Preingreso", "Pré-admission", "Voraufnahme"]),
    ("SS", ["Short stay", "Estancia corta", "Séjour court", "Kurzaufenthalt"]),
    ("VR", ["Virtual", "Virtual", "À distance", "Virtuell"]),
    ("active", ["Active", "Activo", "Actif", "Aktiv"]),
    ("amended", ["Amended", "Modificado", "Modifié", "Geändert"]),
    ("appended", ["Appended", "Ampliado", "Complété", "Ergänzt"]),
    ("arrived", ["Arrived", "Llegada", "Arrivé", "Angekommen"]),
    ("cancelled", ["Cancelled", "Cancelado", "Annulé", "Storniert"]),
    ("completed", ["Completed", "Completado", "Terminé", "Abgeschlossen"]),
    ("confirmed", ["Confirmed", "Confirmado", "Confirmé", "Bestätigt"]),
    ("corrected", ["Corrected", "Corregido", "Corrigé", "Korrigiert"]),
    ("current", ["Current", "Vigente", "Actuel", "Aktuell"]),
    ("differential", ["Differential", "Diferencial", "Différentiel", "Differenzialdiagnose"]),
    ("draft", ["Draft", "Borrador", "Brouillon", "Entwurf"]),
    ("entered-in-error", ["Entered in error", "Registrado por error", "Saisi par erreur", "Fehlerhaft erfasst"]),
    ("final", ["Final", "Definitivo", "Définitif", "Endgültig"]),
    ("finished", ["Finished", "Finalizada", "Terminée", "Beendet"]),
    ("high", ["High", "Alta", "Élevée", "Hoch"]),
    ("in-progress", ["In progress", "En curso", "En cours", "Laufend"]),
    ("inactive", ["Inactive", "Inactivo", "Inactif", "Inaktiv"]),
    ("intended", ["Intended", "Previsto", "Prévu", "Vorgesehen"]),
    ("low", ["Low", "Baja", "Faible", "Niedrig"]),
    ("mild", ["mild", "leve", "légère", "leicht"]),
    ("moderate", ["moderate", "moderada", "modérée", "mittelschwer"]),
    ("not-done", ["Not done", "No realizado", "Non réalisé", "Nicht durchgeführt"]),
    ("not-taken", ["Not taken", "No tomado", "Non pris", "Nicht eingenommen"]),
    ("on-hold", ["On hold", "En espera", "En attente", "Pausiert"]),
    ("onleave", ["On leave", "De permiso", "En permission", "Beurlaubt"]),
    ("partial", ["Partial", "Parcial", "Partiel", "Teilweise"]),
    ("planned", ["Planned", "Planificado", "Planifié", "Geplant"]),
    ("preliminary", ["Preliminary", "Preliminar", "Préliminaire", "Vorläufig"]),
    ("preparation", ["Preparation", "Preparación", "Préparation", "Vorbereitung"]),
    ("provisional", ["Provisional", "Provisional", "Provisoire", "Vorläufig"]),
    ("recurrence", ["Recurrence", "Recurrencia", "Récurrence", "Wiederauftreten"]),
    ("refuted", ["Refuted", "Descartado", "Réfuté", "Widerlegt"]),
    ("registered", ["Registered", "Registrado", "Enregistré", "Registriert"]),
    ("relapse", ["Relapse", "Recaída", "Rechute", "Rückfall"]),
    ("remission", ["Remission", "Remisión", "Rémission", "Remission"]),
    ("resolved", ["Resolved", "Resuelto", "Résolu", "Abgeklungen"]),
    ("revoked", ["Revoked", "Revocado", "Révoqué", "Widerrufen"]),
    ("severe", ["severe", "grave", "sévère", "schwer"]),
    ("stopped", ["Stopped", "Suspendido", "Arrêté", "Abgesetzt"]),
    ("superseded", ["Superseded", "Reemplazado", "Remplacé", "Ersetzt"]),
    ("triaged", ["Triaged", "Clasificado", "Trié", "Triagiert"]),
    ("unable-to-assess", ["Unable to assess", "No evaluable", "Non évaluable", "Nicht beurteilbar"]),
    ("unconfirmed", ["Unconfirmed", "No confirmado", "Non confirmé", "Unbestätigt"]),
    ("unknown", ["Unknown", "Desconocido", "Inconnu", "Unbekannt"]),
];

/// Identifier types (HL7 v2 table 0203, and the CARIN Blue Button ones US
/// payers send) in words: en, es, fr, de.
pub(super) fn identifier_type_texts(code: &str) -> Option<[&'static str; 4]> {
    IDENTIFIER_TYPE_TEXTS.binary_search_by(|(key, _)| key.cmp(&code)).ok().and_then(|at| IDENTIFIER_TYPE_TEXTS.get(at)).map(|(_, texts)| *texts)
}

/// Texts of the identifier types with two spellings.
const MEMBER: [&str; 4] = ["Member number", "Número de afiliado", "Numéro d’adhérent", "Mitgliedsnummer"];
const NATIONAL: [&str; 4] = ["National identifier", "Identificador nacional", "Identifiant national", "Nationale Kennung"];
const NPI: [&str; 4] = [
    "National Provider Identifier",
    "Identificador nacional de proveedor (NPI)",
    "Identifiant national de prestataire (NPI)",
    "Nationale Leistungserbringer-ID (NPI)",
];

/// [`identifier_type_texts`]' table, sorted by code (byte order), each
/// spelling of a code a row of its own.
static IDENTIFIER_TYPE_TEXTS: CodeTable = &[
    ("AN", ["Account number", "Número de cuenta", "Numéro de compte", "Kontonummer"]),
    ("BCT", ["Birth certificate number", "Número de acta de nacimiento", "Numéro d’acte de naissance", "Geburtsurkundennummer"]),
    ("DL", ["Driver’s license number", "Número de permiso de conducir", "Numéro de permis de conduire", "Führerscheinnummer"]),
    ("EN", ["Employer number", "Número de empleador", "Numéro d’employeur", "Arbeitgebernummer"]),
    ("MA", ["Medicaid number", "Número de Medicaid", "Numéro Medicaid", "Medicaid-Nummer"]),
    ("MB", MEMBER),
    ("MC", ["Medicare number", "Número de Medicare", "Numéro Medicare", "Medicare-Nummer"]),
    ("MD", ["Medical license number", "Número de colegiado", "Numéro d’inscription à l’ordre", "Approbationsnummer"]),
    ("MR", ["Medical record number", "Número de historia clínica", "Numéro de dossier médical", "Patientennummer"]),
    ("NH", ["National health plan number", "Número del sistema nacional de salud", "Numéro d’assurance maladie", "Krankenversichertennummer"]),
    ("NI", NATIONAL),
    ("NNxxx", NATIONAL),
    ("NPI", NPI),
    ("PI", ["Patient internal identifier", "Identificador interno del paciente", "Identifiant interne du patient", "Interne Patientenkennung"]),
    ("PPN", ["Passport number", "Número de pasaporte", "Numéro de passeport", "Reisepassnummer"]),
    ("PRN", ["Provider number", "Número de proveedor", "Numéro de prestataire", "Leistungserbringernummer"]),
    ("PT", ["Patient external identifier", "Identificador externo del paciente", "Identifiant externe du patient", "Externe Patientenkennung"]),
    ("SB", ["Social beneficiary number", "Número de beneficiario social", "Numéro de bénéficiaire social", "Sozialleistungsnummer"]),
    ("SN", ["Subscriber number", "Número de titular", "Numéro d’assuré principal", "Versicherungsnehmernummer"]),
    ("SS", ["Social Security number", "Número de la Seguridad Social (EE. UU.)", "Numéro de sécurité sociale (É.-U.)", "Sozialversicherungsnummer (USA)"]),
    ("TAX", ["Tax ID number", "Número de identificación fiscal", "Numéro fiscal", "Steuernummer"]),
    ("U", ["Unspecified identifier", "Identificador sin especificar", "Identifiant non précisé", "Nicht näher bezeichnete Kennung"]),
    ("mb", MEMBER),
    ("npi", NPI),
    ("pat", ["Account number", "Número de cuenta", "Numéro de compte", "Kontonummer"]),
    ("um", ["Unique member ID", "Identificador único de afiliado", "Identifiant unique d’adhérent", "Eindeutige Mitglieds-ID"]),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Both tables are searched by halves: sorted by code with no code twice,
    /// every code found with its own texts, and text no code has not found.
    #[test]
    fn code_tables_are_sorted_and_every_code_is_found() {
        type Find = fn(&str) -> Option<[&'static str; 4]>;
        let tables: [(CodeTable, Find); 2] = [(CODE_TEXTS, code_texts), (IDENTIFIER_TYPE_TEXTS, identifier_type_texts)];
        for (table, find) in tables {
            assert!(table.windows(2).all(|w| w[0].0.as_bytes() < w[1].0.as_bytes()), "sorted, no code twice");
            for (code, texts) in table {
                assert_eq!(find(code), Some(*texts), "{code}");
                assert!(texts.iter().all(|t| !t.is_empty()), "{code}");
            }
            for absent in ["", "Active", "activ", "activee", "zzz", "\u{0}"] {
                assert_eq!(find(absent), None, "{absent:?}");
            }
        }
        assert_eq!(code_texts("entered-in-error").map(|t| t[3]), Some("Fehlerhaft erfasst"));
        assert_eq!(identifier_type_texts("npi"), identifier_type_texts("NPI"));
        assert_eq!(identifier_type_texts("mb").map(|t| t[0]), Some("Member number"));
    }
}
