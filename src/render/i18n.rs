//! The chart's own words, dates and numbers in the viewer's language, and
//! times in the viewer's time zone. Text from the record is never
//! translated: only the SDK's labels and the codes of FHIR's own value sets
//! (statuses, criticality, severity, encounter class).

use std::fmt;
use std::rc::Rc;

use crate::fhir::{CodeableConcept, Date, DateTime, Decimal, LocalDateTime, ObservationValue, OffsetDateTime, Period, Quantity, Range, Ratio, When};

mod catalogue;

use catalogue::code_texts;
pub use catalogue::T;

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

    /// This locale's item of a table written en, es, fr, de.
    fn pick<V>(self, items: [V; 4]) -> V {
        let [en, es, fr, de] = items;
        match self {
            Locale::EnUs => en,
            Locale::EsEs => es,
            Locale::FrFr => fr,
            Locale::DeDe => de,
        }
    }

    /// The BCP 47 tag (also the chart's `lang` attribute).
    pub fn tag(self) -> &'static str {
        self.pick(["en-US", "es-ES", "fr-FR", "de-DE"])
    }

    /// A label of the SDK's own.
    pub fn t(self, key: T) -> &'static str {
        self.pick(key.texts())
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
        self.pick(MONTHS).get((month.clamp(1, 12) - 1) as usize).copied().unwrap_or_default()
    }

    fn day_month_year(self, date: Date) -> String {
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
        code_texts(code).map(|t| self.pick(t))
    }

    /// An identifier type code (v2-0203, CARIN), in words.
    pub fn identifier_type(self, code: &str) -> Option<&'static str> {
        catalogue::identifier_type_texts(code).map(|t| self.pick(t))
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

    fn local(&self, instant: &OffsetDateTime) -> LocalDateTime {
        let offset = self.offset.as_ref().and_then(|f| f(instant.timestamp()));
        offset.and_then(|o| instant.local_at(o)).unwrap_or_else(|| instant.local())
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
        let with_time = |l: LocalDateTime| format!("{}, {}", self.locale.day_month_year(l.date()), self.locale.time(l.hour(), l.minute()));
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
        self.number_text(crate::numtext::fixed(v, decimals))
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
            crate::util::lowercase(text)
        }
    }
}

/// `entered-in-error` → `Entered in error` (for codes without a translation).
fn humanize(code: &str) -> String {
    crate::util::capitalize(&code.replace('-', " "))
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
        assert_eq!(en.date(&DateTime::parse("2019-07")), "Jul 2019");
        assert_eq!(en.date(&DateTime::parse("2019-07-04")), "Jul 4, 2019");
        assert_eq!(en.date_time(&late), "Jul 4, 2019, 11:30\u{202f}PM");
        assert_eq!(de.date(&DateTime::parse("2019-03")), "März 2019");
        assert_eq!(de.date(&DateTime::parse("2019")), "2019");
        assert_eq!(en.decimal(&Decimal::from_text("7.20")), "7.20");
        assert_eq!(de.decimal(&Decimal::from_text("7.20")), "7,20");
        assert_eq!(de.decimal(&Decimal::from_text("139.28477650494352")), "139,28");
        let noon = DateTime::parse("2020-01-01T12:05:00Z");
        assert_eq!(en.date_time(&noon), "Jan 1, 2020, 12:05\u{202f}PM");
        assert_eq!(en.date_time(&DateTime::parse("2020-01-01T00:05:00Z")), "Jan 1, 2020, 12:05\u{202f}AM");
    }
}
