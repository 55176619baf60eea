//! Calendar days and times of day in the proleptic Gregorian calendar, and
//! the date-time grammars the SDK reads and writes: FHIR's `date`,
//! `dateTime` and `instant`, RFC 3339, and RFC 2822 / HTTP dates.
//!
//! The grammars are exactly those the SDK has always accepted: signed years
//! and one-digit fields in offset-less times, leap seconds (`23:59:60`),
//! fractions of any length (nanoseconds kept), offsets up to ±23:59. Years
//! run from -262143 to 262142.

use std::fmt;

const MIN_YEAR: i32 = -262_143;
const MAX_YEAR: i32 = 262_142;
const DAY: i64 = 86_400;
const NANOS: u32 = 1_000_000_000;

/// A calendar day.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

fn is_leap(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Date {
    /// The day, when `month` and `day` exist in `year`.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Date> {
        let valid = (MIN_YEAR..=MAX_YEAR).contains(&year) && (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        valid.then_some(Date { year, month: month as u8, day: day as u8 })
    }

    pub fn year(self) -> i32 {
        self.year
    }

    /// 1 to 12.
    pub fn month(self) -> u32 {
        u32::from(self.month)
    }

    /// 1 to 31.
    pub fn day(self) -> u32 {
        u32::from(self.day)
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(self) -> i64 {
        let month = i64::from(self.month);
        let year = i64::from(self.year) - i64::from(month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + i64::from(self.day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    /// The day `days` after 1970-01-01.
    pub fn from_days_since_epoch(days: i64) -> Option<Date> {
        let z = days.checked_add(719_468)?;
        let era = z.div_euclid(146_097);
        let day_of_era = z - era * 146_097;
        let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let mp = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        Date::from_ymd(i32::try_from(year).ok()?, month as u32, day as u32)
    }

    /// The UTC day of an instant (seconds since 1970).
    pub fn from_timestamp(seconds: i64) -> Option<Date> {
        Date::from_days_since_epoch(seconds.div_euclid(DAY))
    }

    /// Midnight UTC at the start of the day, in seconds since 1970.
    pub fn timestamp(self) -> i64 {
        self.days_since_epoch() * DAY
    }

    /// The next day.
    pub fn succ(self) -> Option<Date> {
        Date::from_days_since_epoch(self.days_since_epoch() + 1)
    }

    /// 0 for Monday to 6 for Sunday.
    pub fn weekday(self) -> u32 {
        // 1970-01-01 was a Thursday.
        (self.days_since_epoch() + 3).rem_euclid(7) as u32
    }

    /// `2019-07-04`, as FHIR writes a date (also signed years and one-digit
    /// months and days: `+2019-7-4`).
    pub fn parse(text: &str) -> Option<Date> {
        match date_fields(text)? {
            (date, "") => Some(date),
            _ => None,
        }
    }
}

impl Default for Date {
    /// 1970-01-01.
    fn default() -> Self {
        Date { year: 1970, month: 1, day: 1 }
    }
}

fn write_year(f: &mut impl fmt::Write, year: i32) -> fmt::Result {
    if (0..=9999).contains(&year) {
        write!(f, "{year:04}")
    } else {
        write!(f, "{year:+05}")
    }
}

impl fmt::Display for Date {
    /// `2019-07-04`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_year(f, self.year)?;
        write!(f, "-{:02}-{:02}", self.month, self.day)
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A calendar day and a time of day, without an offset from UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LocalDateTime {
    date: Date,
    hour: u8,
    minute: u8,
    second: u8,
    /// Up to 1,999,999,999 during a leap second (shown as second 59).
    nano: u32,
}

impl LocalDateTime {
    /// The time when it exists: `hour` below 24, `minute` and `second` below
    /// 60, `nano` below a second (or two during a leap second at second 59).
    pub fn new(date: Date, hour: u32, minute: u32, second: u32, nano: u32) -> Option<Self> {
        let valid = hour < 24 && minute < 60 && second < 60 && nano < 2 * NANOS && (nano < NANOS || second == 59);
        valid.then_some(LocalDateTime { date, hour: hour as u8, minute: minute as u8, second: second as u8, nano })
    }

    pub fn date(&self) -> Date {
        self.date
    }

    pub fn hour(&self) -> u32 {
        u32::from(self.hour)
    }

    pub fn minute(&self) -> u32 {
        u32::from(self.minute)
    }

    pub fn second(&self) -> u32 {
        u32::from(self.second)
    }

    pub fn nanosecond(&self) -> u32 {
        self.nano
    }

    /// Seconds since 1970, reading the time as UTC.
    pub fn timestamp(&self) -> i64 {
        self.date.timestamp() + i64::from(self.hour) * 3600 + i64::from(self.minute) * 60 + i64::from(self.second)
    }

    /// The UTC time at `seconds` since 1970 and `nano` nanoseconds (a leap
    /// second's nanoseconds kept as they are, wherever an offset moved it).
    fn from_timestamp(seconds: i64, nano: u32) -> Option<Self> {
        let date = Date::from_timestamp(seconds)?;
        let s = seconds.rem_euclid(DAY) as u32;
        Some(LocalDateTime { date, hour: (s / 3600) as u8, minute: (s / 60 % 60) as u8, second: (s % 60) as u8, nano })
    }

    /// FHIR's date-time without an offset (not valid FHIR, seen in real
    /// files): `2019-07-04T10:30:00.5` or, with `seconds` false, `2019-07-04T10:30`.
    pub fn parse(text: &str, seconds: bool) -> Option<Self> {
        let (date, s) = date_fields(text)?;
        let s = s.strip_prefix('T')?;
        let (hour, s) = numeric(s, 2)?;
        let s = s.strip_prefix(':')?;
        let (minute, mut s) = numeric(s, 2)?;
        let (mut second, mut nano) = (0, 0);
        if seconds {
            let (value, rest) = numeric(s.strip_prefix(':')?, 2)?;
            (second, s) = (value, rest);
            if let Some(fraction) = s.strip_prefix('.') {
                (nano, s) = nanoseconds(fraction)?;
            }
        }
        if !s.is_empty() || hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let (second, leap) = if second == 60 { (59, NANOS) } else { (second, 0) };
        LocalDateTime::new(date, hour as u32, minute as u32, second as u32, nano + leap)
    }
}

/// A time with its offset from UTC. Two values are equal when they are the
/// same instant, whatever their offsets.
#[derive(Debug, Clone, Copy, Default)]
pub struct OffsetDateTime {
    local: LocalDateTime,
    /// Seconds east of UTC, less than a day either way.
    offset: i32,
}

impl PartialEq for OffsetDateTime {
    fn eq(&self, other: &Self) -> bool {
        (self.timestamp(), self.local.nano) == (other.timestamp(), other.local.nano)
    }
}

impl Eq for OffsetDateTime {}

impl OffsetDateTime {
    /// `local` at `offset` seconds east of UTC (less than a day either way),
    /// when the instant is within the calendar's range.
    pub fn new(local: LocalDateTime, offset: i32) -> Option<Self> {
        if offset.unsigned_abs() >= DAY as u32 {
            return None;
        }
        let value = OffsetDateTime { local, offset };
        LocalDateTime::from_timestamp(value.timestamp(), 0)?;
        Some(value)
    }

    /// The instant `seconds` after 1970, in UTC.
    pub fn from_timestamp(seconds: i64) -> Option<Self> {
        Some(OffsetDateTime { local: LocalDateTime::from_timestamp(seconds, 0)?, offset: 0 })
    }

    /// Seconds since 1970.
    pub fn timestamp(&self) -> i64 {
        self.local.timestamp() - i64::from(self.offset)
    }

    /// The wall-clock time at the recorded offset.
    pub fn local(&self) -> LocalDateTime {
        self.local
    }

    /// Seconds east of UTC.
    pub fn offset(&self) -> i32 {
        self.offset
    }

    /// The wall-clock time at `offset` seconds east of UTC; `None` for an
    /// offset of a day or more, or a time outside the calendar.
    pub fn local_at(&self, offset: i32) -> Option<LocalDateTime> {
        if offset.unsigned_abs() >= DAY as u32 {
            return None;
        }
        LocalDateTime::from_timestamp(self.timestamp() + i64::from(offset), self.local.nano)
    }

    /// RFC 3339 to the second: `2019-07-04T10:30:00Z`, or `…-05:00` away
    /// from UTC (a leap second is written `:60`).
    pub fn to_rfc3339_seconds(&self) -> String {
        let l = &self.local;
        let mut out = String::with_capacity(25);
        let second = l.second + u8::from(l.nano >= NANOS);
        let _ = write_year(&mut out, l.date.year);
        let _ = fmt::Write::write_fmt(&mut out, format_args!("-{:02}-{:02}T{:02}:{:02}:{:02}", l.date.month, l.date.day, l.hour, l.minute, second));
        if self.offset == 0 {
            out.push('Z');
        } else {
            let minutes = self.offset.unsigned_abs() / 60;
            let _ = fmt::Write::write_fmt(&mut out, format_args!("{}{:02}:{:02}", if self.offset < 0 { '-' } else { '+' }, minutes / 60, minutes % 60));
        }
        out
    }

    /// RFC 3339 (`2019-07-04T10:30:00.25-05:00`; `t` or a space may stand for
    /// `T`, `z` for `Z`, U+2212 for the offset's minus; leap seconds accepted).
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        let digit = |i: usize| b.get(i).filter(|c| c.is_ascii_digit()).map(|c| u32::from(c - b'0'));
        let two = |i: usize| Some(digit(i)? * 10 + digit(i + 1)?);
        let year = two(0)? * 100 + two(2)?;
        let month = two(5)?;
        let day = two(8)?;
        let (hour, minute, second) = (two(11)?, two(14)?, two(17)?);
        let separators = [(4, b"-"), (7, b"-"), (13, b":"), (16, b":")];
        if separators.iter().any(|(i, c)| b.get(*i) != c.first()) || !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
            return None;
        }
        let date = Date::from_ymd(year as i32, month, day)?;
        let (second, leap) = if second == 60 { (59, NANOS) } else { (second, 0) };
        let mut rest = text.get(19..)?;
        let mut nano = 0;
        if let Some(fraction) = rest.strip_prefix('.') {
            (nano, rest) = nanoseconds(fraction)?;
        }
        let local = LocalDateTime::new(date, hour, minute, second, nano + leap)?;
        let offset = match rest.as_bytes() {
            [b'Z' | b'z'] => 0,
            _ => {
                let (offset, rest) = numeric_offset(rest, true, true)?;
                if !rest.is_empty() {
                    return None;
                }
                offset
            }
        };
        OffsetDateTime::new(local, offset)
    }

    /// An RFC 2822 date, as in HTTP's `Retry-After` (`Sun, 06 Nov 1994
    /// 08:49:37 GMT`): optional weekday (checked against the date), one- or
    /// two-digit day, month name, two- to many-digit year (`94` is 1994, `05`
    /// 2005), optional seconds, an offset (`+0100`) or zone name, trailing
    /// comments in parentheses. Letters in any case; white space between fields.
    pub fn parse_rfc2822(text: &str) -> Option<Self> {
        let mut s = text.trim_start();
        let mut weekday = None;
        if let Some((w, rest)) = name3(s, &WEEKDAYS) {
            s = rest.strip_prefix(',')?;
            weekday = Some(w as u32);
        }
        let (day, rest) = number(s.trim_start(), 1, 2)?;
        let (month, rest) = name3(space(rest)?, &MONTHS)?;
        let rest = space(rest)?;
        let (year, after) = number(rest, 2, usize::MAX)?;
        let year = match (rest.len() - after.len(), year) {
            (2, 0..=49) => year + 2000,
            (2, 50..=99) | (3, _) => year + 1900,
            _ => year,
        };
        let (hour, rest) = number(space(after)?, 2, 2)?;
        let (minute, mut s) = number(rest.trim_start().strip_prefix(':')?.trim_start(), 2, 2)?;
        let mut second = 0;
        if let Some(rest) = s.trim_start().strip_prefix(':') {
            (second, s) = number(rest, 2, 2)?;
        }
        let (offset, mut s) = zone_2822(space(s)?)?;
        while let Some(rest) = comment(s) {
            s = rest;
        }
        if !s.is_empty() || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let date = Date::from_ymd(i32::try_from(year).ok()?, month as u32 + 1, day as u32)?;
        if weekday.is_some_and(|w| w != date.weekday()) {
            return None;
        }
        let (second, leap) = if second == 60 { (59, NANOS) } else { (second, 0) };
        OffsetDateTime::new(LocalDateTime::new(date, hour as u32, minute as u32, second as u32, leap)?, offset)
    }
}

const WEEKDAYS: [&[u8; 3]; 7] = [b"mon", b"tue", b"wed", b"thu", b"fri", b"sat", b"sun"];
const MONTHS: [&[u8; 3]; 12] = [b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec"];

/// One of `names` (three ASCII letters, any case) at the start of `s`.
fn name3<'a>(s: &'a str, names: &[&[u8; 3]]) -> Option<(usize, &'a str)> {
    let (head, rest) = s.split_at_checked(3)?;
    let found = names.iter().position(|n| head.as_bytes().eq_ignore_ascii_case(*n))?;
    Some((found, rest))
}

/// At least one white-space character, skipped.
fn space(s: &str) -> Option<&str> {
    let rest = s.trim_start();
    (rest.len() < s.len()).then_some(rest)
}

/// From `min` to `max` ASCII digits (more are left for what follows).
fn number(s: &str, min: usize, max: usize) -> Option<(i64, &str)> {
    let len = s.bytes().take(max).take_while(u8::is_ascii_digit).count();
    if len < min {
        return None;
    }
    let (digits, rest) = s.split_at_checked(len)?;
    let value = digits.bytes().try_fold(0i64, |n, b| n.checked_mul(10)?.checked_add(i64::from(b - b'0')))?;
    Some((value, rest))
}

/// A field of an offset-less date-time: white space allowed before it, one
/// to `width` digits.
fn numeric(s: &str, width: usize) -> Option<(i64, &str)> {
    number(s.trim_start(), 1, width)
}

/// The year, month and day of FHIR's date, and what follows them.
fn date_fields(s: &str) -> Option<(Date, &str)> {
    let s = s.trim_start();
    let (year, s) = if let Some(rest) = s.strip_prefix('-') {
        number(rest, 1, usize::MAX).map(|(v, r)| (-v, r))?
    } else if let Some(rest) = s.strip_prefix('+') {
        number(rest, 1, usize::MAX)?
    } else {
        number(s, 1, 4)?
    };
    let (month, s) = numeric(s.strip_prefix('-')?, 2)?;
    let (day, s) = numeric(s.strip_prefix('-')?, 2)?;
    Some((Date::from_ymd(i32::try_from(year).ok()?, u32::try_from(month).ok()?, u32::try_from(day).ok()?)?, s))
}

/// A fraction of a second after its `.`: nanoseconds from the first nine
/// digits (further digits skipped).
fn nanoseconds(s: &str) -> Option<(u32, &str)> {
    let (value, rest) = number(s, 1, 9)?;
    let scale = 10u32.pow(9 - (s.len() - rest.len()) as u32);
    Some((value as u32 * scale, rest.trim_start_matches(|c: char| c.is_ascii_digit())))
}

/// `+05:30` / `-0530` (with `colon`): seconds east of UTC. U+2212 stands for
/// `-` when `minus_sign`.
fn numeric_offset(s: &str, colon: bool, minus_sign: bool) -> Option<(i32, &str)> {
    let (negative, s) = match s.chars().next()? {
        '+' => (false, s.get(1..)?),
        '-' => (true, s.get(1..)?),
        '\u{2212}' if minus_sign => (true, s.get(3..)?),
        _ => return None,
    };
    let (hours, s) = number(s, 2, 2)?;
    let s = if colon { s.strip_prefix(':')? } else { s };
    let (minutes, s) = number(s, 2, 2)?;
    if minutes > 59 {
        return None;
    }
    let seconds = (hours * 3600 + minutes * 60) as i32;
    Some((if negative { -seconds } else { seconds }, s))
}

/// RFC 2822's zone: a numeric offset, or a name (`GMT`, `UT`, `Z`, the US
/// zones, military letters taken as UTC).
fn zone_2822(s: &str) -> Option<(i32, &str)> {
    let letters = s.bytes().take_while(u8::is_ascii_alphabetic).count();
    if letters == 0 {
        return numeric_offset(s, false, false);
    }
    let (name, rest) = s.split_at_checked(letters)?;
    let name = name.to_ascii_lowercase();
    let hours = match name.as_str() {
        "gmt" | "ut" | "z" => 0,
        "edt" => -4,
        "est" | "cdt" => -5,
        "cst" | "mdt" => -6,
        "mst" | "pdt" => -7,
        "pst" => -8,
        letter if letter.len() == 1 && letter != "j" => 0,
        _ => return None,
    };
    Some((hours * 3600, rest))
}

/// A parenthesised comment (nested, `\` escapes), after optional white space.
fn comment(s: &str) -> Option<&str> {
    let s = s.trim_start().strip_prefix('(')?;
    let (mut depth, mut escaped) = (1usize, false);
    for (i, c) in s.bytes().enumerate() {
        match c {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'(' => depth += 1,
            b')' if depth == 1 => return s.get(i + 1..),
            b')' => depth -= 1,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> Date {
        Date::from_ymd(y, m, d).unwrap()
    }

    #[test]
    fn calendar_arithmetic() {
        assert_eq!(ymd(1970, 1, 1).days_since_epoch(), 0);
        assert_eq!(ymd(2000, 3, 1).days_since_epoch(), 11_017);
        assert_eq!(ymd(1969, 12, 31).days_since_epoch(), -1);
        assert_eq!(Date::from_days_since_epoch(-1), Some(ymd(1969, 12, 31)));
        // Leap years: every fourth, not centuries, but every fourth century.
        assert!(Date::from_ymd(2024, 2, 29).is_some() && Date::from_ymd(2000, 2, 29).is_some());
        assert!(Date::from_ymd(1900, 2, 29).is_none() && Date::from_ymd(2023, 2, 29).is_none());
        assert!(Date::from_ymd(2023, 4, 31).is_none() && Date::from_ymd(2023, 13, 1).is_none() && Date::from_ymd(2023, 1, 0).is_none());
        assert_eq!(ymd(2024, 2, 28).succ(), Some(ymd(2024, 2, 29)));
        assert_eq!(ymd(2023, 2, 28).succ(), Some(ymd(2023, 3, 1)));
        assert_eq!(ymd(1999, 12, 31).succ(), Some(ymd(2000, 1, 1)));
        assert_eq!(ymd(MAX_YEAR, 12, 31).succ(), None);
        assert!(Date::from_ymd(MAX_YEAR + 1, 1, 1).is_none() && Date::from_ymd(MIN_YEAR - 1, 12, 31).is_none());
        // Every day from 1600 to 2400 and around year 0 round-trips, in order, with consecutive weekdays.
        for range in [ymd(1600, 1, 1).days_since_epoch()..ymd(2400, 12, 31).days_since_epoch(), -720_000..-715_000] {
            let mut previous = Date::from_days_since_epoch(range.start - 1).unwrap();
            for days in range {
                let d = Date::from_days_since_epoch(days).unwrap();
                assert_eq!(d.days_since_epoch(), days);
                assert!(d > previous && previous.succ() == Some(d) && d.weekday() == (previous.weekday() + 1) % 7);
                previous = d;
            }
        }
        assert_eq!(ymd(1994, 11, 6).weekday(), 6);
        assert_eq!(ymd(2026, 12, 1).weekday(), 1);
        assert_eq!(Date::from_timestamp(-1), Some(ymd(1969, 12, 31)));
        assert_eq!(Date::from_timestamp(i64::MAX), None);
        assert_eq!(Date::default(), ymd(1970, 1, 1));
        assert_eq!(format!("{:?} {} {}", ymd(2019, 7, 4), ymd(-1, 1, 1), ymd(12_345, 1, 1)), "2019-07-04 -0001-01-01 +12345-01-01");
    }

    #[test]
    fn fhir_dates_and_local_times() {
        assert_eq!(Date::parse("2019-07-04"), Some(ymd(2019, 7, 4)));
        assert_eq!(Date::parse("2019-7-4"), Some(ymd(2019, 7, 4)));
        assert_eq!(Date::parse("+2019-07-4"), Some(ymd(2019, 7, 4)));
        assert_eq!(Date::parse("-201-07-04"), Some(ymd(-201, 7, 4)));
        assert_eq!(Date::parse("2019- 7- 4"), Some(ymd(2019, 7, 4)));
        for bad in ["2019-02-29", "2019-00-10", "2019-13-01", "2019-07-32", "20190-7-04", "2019-07-04 ", "2019/07/04", "", "2019-07-", "2019-07-0é"] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
        let l = LocalDateTime::parse("2019-07-04T10:30:05.25", true).unwrap();
        assert_eq!((l.date(), l.hour(), l.minute(), l.second(), l.nanosecond()), (ymd(2019, 7, 4), 10, 30, 5, 250_000_000));
        assert_eq!(l.timestamp(), 1_562_236_205);
        assert_eq!(LocalDateTime::parse("2019-07-04T10:30:05.1234567891", true).unwrap().nanosecond(), 123_456_789);
        let leap = LocalDateTime::parse("2016-12-31T23:59:60.5", true).unwrap();
        assert_eq!((leap.second(), leap.nanosecond()), (59, 1_500_000_000));
        assert_eq!(LocalDateTime::parse("2019-07-04T10:30", false).map(|l| l.timestamp()), Some(1_562_236_200));
        for bad in ["2019-07-04T24:00:00", "2019-07-04T10:60:00", "2019-07-04T10:30:61", "2019-07-04T10:30:00.", "2019-07-04T10:30:00Z", "2019-07-04 10:30:00"]
        {
            assert_eq!(LocalDateTime::parse(bad, true), None, "{bad}");
        }
        assert_eq!(LocalDateTime::parse("2019-07-04T24:00", false), None);
        assert_eq!(LocalDateTime::parse("+300000-01-01T00:00", false), None);
    }

    #[test]
    fn rfc3339() {
        let t = OffsetDateTime::parse_rfc3339("2019-07-04T23:30:00-05:00").unwrap();
        assert_eq!((t.timestamp(), t.offset(), t.local().date()), (1_562_301_000, -5 * 3600, ymd(2019, 7, 4)));
        assert_eq!(t, OffsetDateTime::parse_rfc3339("2019-07-05t04:30:00z").unwrap());
        assert_eq!(t.local_at(3600).map(|l| (l.date(), l.hour())), Some((ymd(2019, 7, 5), 5)));
        assert_eq!(t.local_at(86_400), None);
        let f = OffsetDateTime::parse_rfc3339("2019-07-04 10:30:00.000000001+05:30").unwrap();
        assert_eq!((f.local().nanosecond(), f.offset()), (1, 19_800));
        assert_eq!(OffsetDateTime::parse_rfc3339("2019-07-04T10:30:00\u{2212}01:00").map(|t| t.offset()), Some(-3600));
        assert_eq!(OffsetDateTime::parse_rfc3339("2016-12-31T23:59:60Z").map(|t| t.timestamp()), Some(1_483_228_799));
        assert_eq!(OffsetDateTime::parse_rfc3339("2019-07-04T10:30:00+23:59").map(|t| t.offset()), Some(86_340));
        for bad in [
            "2019-07-04T10:30:00",
            "2019-07-04T10:30:00+24:00",
            "2019-07-04T10:30:00+05:60",
            "2019-07-04T10:30:00+0500",
            "2019-07-04T24:00:00Z",
            "2019-02-29T10:30:00Z",
            "2019-07-04T10:30Z",
            "2019-07-04T10:30:00.Z",
            "2019-07-04T10:30:00Z ",
            "+2019-07-04T10:30:00Z",
            "2019-07-04T10:30:00é",
            "2019-07-04T10:3é:00Z",
            "",
        ] {
            assert_eq!(OffsetDateTime::parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn rfc2822() {
        let at = |s: &str| OffsetDateTime::parse_rfc2822(s).map(|t| t.timestamp());
        assert_eq!(at("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(at("6 nov 94 08:49:37 +0000"), Some(784_111_777));
        assert_eq!(at("Sun, 6 Nov 1994 03:49:37 EST (New York)"), Some(784_111_777));
        assert_eq!(at("Sun, 06 Nov 1994 09:49 +0100"), Some(784_111_740));
        assert_eq!(at("Sun , 06 Nov 1994 08:49:37 GMT"), None);
        assert_eq!(at("Mon, 06 Nov 1994 08:49:37 GMT"), None);
        assert_eq!(at("Sun, 06 Nov 1994 08:49:37 J"), None);
        assert_eq!(at("Sun, 06 Nov 1994 08:49:37 +2400"), None);
        assert_eq!(at("Sun, 06 Nov 1994 24:00:00 GMT"), None);
        assert_eq!(at("Sun, 31 Nov 1994 08:49:37 GMT"), None);
        assert_eq!(at("Sun, 06 Nov 1994 08:49:37"), None);
        assert_eq!(at("06 Nov 05 00:00:00 Z").map(|t| Date::from_timestamp(t).unwrap().year()), Some(2005));
        assert_eq!(at("06 Nov 105 00:00:00 Z").map(|t| Date::from_timestamp(t).unwrap().year()), Some(2005));
    }

    #[test]
    fn rfc3339_output() {
        assert_eq!(OffsetDateTime::from_timestamp(784_111_777).unwrap().to_rfc3339_seconds(), "1994-11-06T08:49:37Z");
        assert_eq!(OffsetDateTime::default().to_rfc3339_seconds(), "1970-01-01T00:00:00Z");
        assert_eq!(OffsetDateTime::from_timestamp(-62_198_755_200).unwrap().to_rfc3339_seconds(), "-0001-01-01T00:00:00Z");
        assert_eq!(OffsetDateTime::parse_rfc3339("2019-07-04T23:30:00.9-05:30").unwrap().to_rfc3339_seconds(), "2019-07-04T23:30:00-05:30");
        assert_eq!(OffsetDateTime::from_timestamp(i64::MAX), None);
    }
}
