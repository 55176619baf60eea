//! FHIR `date`, `dateTime` and `instant` values, including partial dates
//! (`2019`, `2019-07`), kept at the precision they were written with.

use super::civil::{Date, LocalDateTime, OffsetDateTime};

/// A point in time as FHIR writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateTime {
    /// `2019`
    Year(i32),
    /// `2019-07`
    YearMonth(i32, u32),
    /// `2019-07-04`
    Date(Date),
    /// `2019-07-04T10:30:00-05:00`: a time with its offset.
    Instant(OffsetDateTime),
    /// A time without an offset (not valid FHIR, seen in real files): shown
    /// as written, without a time zone.
    Local(LocalDateTime),
    /// Text that is not a FHIR date at all; shown as written (escaped), never
    /// used for sorting or age.
    Unparsed(String),
}

impl DateTime {
    /// Parses FHIR's date/dateTime/instant grammar.
    pub fn parse(text: &str) -> Self {
        let t = text.trim();
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        match t.len() {
            4 if digits(t) => return DateTime::Year(t.parse().unwrap_or_default()),
            // `split_once` rather than byte offsets: the text may hold multibyte characters (`202é-1`).
            7 => {
                if let Some((y, m)) = t.split_once('-').filter(|(y, m)| y.len() == 4 && digits(y) && digits(m)) {
                    let (y, m) = (y.parse().unwrap_or_default(), m.parse().unwrap_or_default());
                    if (1..=12).contains(&m) {
                        return DateTime::YearMonth(y, m);
                    }
                }
            }
            10 => {
                if let Some(d) = Date::parse(t) {
                    return DateTime::Date(d);
                }
            }
            _ => {}
        }
        if let Some(dt) = OffsetDateTime::parse_rfc3339(t) {
            return DateTime::Instant(dt);
        }
        for seconds in [true, false] {
            if let Some(dt) = LocalDateTime::parse(t, seconds) {
                return DateTime::Local(dt);
            }
        }
        DateTime::Unparsed(text.to_string())
    }

    /// The earliest calendar day this value covers, when it is a date.
    pub fn start_date(&self) -> Option<Date> {
        match self {
            DateTime::Year(y) => Date::from_ymd(*y, 1, 1),
            DateTime::YearMonth(y, m) => Date::from_ymd(*y, *m, 1),
            DateTime::Date(d) => Some(*d),
            DateTime::Instant(dt) => Some(dt.local().date()),
            DateTime::Local(dt) => Some(dt.date()),
            DateTime::Unparsed(_) => None,
        }
    }

    /// A sort key (seconds since 1970 at the start of the value's span, local
    /// times and dates taken as UTC). `None` for unparsed text.
    pub fn sort_key(&self) -> Option<i64> {
        match self {
            DateTime::Instant(dt) => Some(dt.timestamp()),
            DateTime::Local(dt) => Some(dt.timestamp()),
            other => other.start_date().map(Date::timestamp),
        }
    }

    /// The span the value covers, as `[start, end)` in seconds since 1970:
    /// a whole year, month or day for partial dates (taken as UTC), one
    /// second for a date-time. `None` for unparsed text.
    pub fn span(&self) -> Option<(i64, i64)> {
        let day_start = Date::timestamp;
        match self {
            DateTime::Year(y) => Some((day_start(Date::from_ymd(*y, 1, 1)?), day_start(Date::from_ymd(*y + 1, 1, 1)?))),
            DateTime::YearMonth(y, m) => {
                let next = if *m == 12 { Date::from_ymd(*y + 1, 1, 1)? } else { Date::from_ymd(*y, *m + 1, 1)? };
                Some((day_start(Date::from_ymd(*y, *m, 1)?), day_start(next)))
            }
            DateTime::Date(d) => Some((day_start(*d), day_start(d.succ()?))),
            DateTime::Instant(_) | DateTime::Local(_) => self.sort_key().map(|t| (t, t + 1)),
            DateTime::Unparsed(_) => None,
        }
    }
}

/// Whole years from `birth` to `on`, when both are known to the day.
pub fn age_in_years(birth: Date, on: Date) -> Option<u32> {
    let mut years = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    u32::try_from(years).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_and_full_dates() {
        assert_eq!(DateTime::parse("2019"), DateTime::Year(2019));
        assert_eq!(DateTime::parse("2019-07"), DateTime::YearMonth(2019, 7));
        let i = DateTime::parse("2019-07-04T23:30:00-05:00");
        assert_eq!(i.start_date(), Date::from_ymd(2019, 7, 4));
        assert!(matches!(DateTime::parse("2019-13"), DateTime::Unparsed(_)));
        assert!(matches!(DateTime::parse("yesterday"), DateTime::Unparsed(_)));
        assert!(DateTime::parse("2019-07-04").sort_key() < DateTime::parse("2019-07-04T01:00:00Z").sort_key());
    }

    #[test]
    fn multibyte_text_is_unparsed_not_a_panic() {
        // Seven bytes with a two-byte character where the year's fourth digit would be; `-02ե50` is the input `make fuzz` found.
        for text in ["202é-1", "-02ե50", "2019-é", "é019-07", "20199-7", "2019-7\u{301}", "\u{1F600}019", "2019-07-0é", "٢٠١٩-07"] {
            assert_eq!(DateTime::parse(text), DateTime::Unparsed(text.to_string()), "{text}");
        }
        assert_eq!(DateTime::parse(" 2019-07 "), DateTime::YearMonth(2019, 7));
    }

    #[test]
    fn ages() {
        let d = |s| Date::parse(s).unwrap();
        assert_eq!(age_in_years(d("2000-03-01"), d("2020-02-29")), Some(19));
        assert_eq!(age_in_years(d("2000-03-01"), d("2020-03-01")), Some(20));
        assert_eq!(age_in_years(d("2021-01-01"), d("2020-03-01")), None);
    }
}
