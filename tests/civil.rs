//! The SDK's own calendar and date-time grammars against chrono's, on
//! hundreds of thousands of generated inputs: FHIR dates, RFC 3339, RFC 2822,
//! UTC days, wall-clock times at an offset, RFC 3339 output.

use chrono::{DateTime as ChronoDateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat, Timelike};
use patient_portal_sdk::fhir::{Date, DateTime, OffsetDateTime};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// The FHIR value as chrono read it, in plain fields.
fn chrono_fhir(text: &str) -> String {
    let t = text.trim();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match t.len() {
        4 if digits(t) => return format!("year {}", t.parse::<i32>().unwrap()),
        7 => {
            if let Some((y, m)) = t.split_once('-').filter(|(y, m)| y.len() == 4 && digits(y) && digits(m)) {
                let (y, m): (i32, u32) = (y.parse().unwrap(), m.parse().unwrap());
                if (1..=12).contains(&m) {
                    return format!("month {y} {m}");
                }
            }
        }
        10 => {
            if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
                return format!("date {} {} {}", d.year(), d.month(), d.day());
            }
        }
        _ => {}
    }
    if let Ok(dt) = ChronoDateTime::parse_from_rfc3339(t) {
        let l = dt.naive_local();
        return format!("instant {} {} {} {} {}", dt.timestamp(), dt.timestamp_subsec_nanos(), dt.offset().local_minus_utc(), l.date(), l.hour());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(l) = NaiveDateTime::parse_from_str(t, fmt) {
            let d = l.date();
            return format!("local {} {} {} {} {} {} {}", d.year(), d.month(), d.day(), l.hour(), l.minute(), l.second(), l.nanosecond());
        }
    }
    "unparsed".into()
}

fn ours_fhir(text: &str) -> String {
    match DateTime::parse(text) {
        DateTime::Year(y) => format!("year {y}"),
        DateTime::YearMonth(y, m) => format!("month {y} {m}"),
        DateTime::Date(d) => format!("date {} {} {}", d.year(), d.month(), d.day()),
        DateTime::Instant(i) => {
            let l = i.local();
            format!("instant {} {} {} {} {}", i.timestamp(), l.nanosecond(), i.offset(), l.date(), l.hour())
        }
        DateTime::Local(l) => {
            let d = l.date();
            format!("local {} {} {} {} {} {} {}", d.year(), d.month(), d.day(), l.hour(), l.minute(), l.second(), l.nanosecond())
        }
        DateTime::Unparsed(_) => "unparsed".into(),
    }
}

const FHIR_PIECES: &[&str] = &[
    "2019",
    "1999",
    "0000",
    "9999",
    "-",
    "-",
    "-",
    "07",
    "7",
    "12",
    "13",
    "00",
    "02",
    "29",
    "30",
    "31",
    "32",
    "04",
    "T",
    "T",
    "t",
    " ",
    ":",
    ":",
    "10",
    "23",
    "24",
    "59",
    "60",
    "61",
    "00",
    ".",
    ".",
    "5",
    "123456789",
    "1234567891",
    "Z",
    "z",
    "+",
    "+05:30",
    "-05:00",
    "+23:59",
    "+24:00",
    "-00:60",
    "\u{2212}",
    "é",
    "\u{3000}",
    "٢",
    "\u{301}",
    "+2019",
    "-201",
    "262142",
    "262143",
    "-262143",
    "0",
    "1",
    "9",
    "99999",
];

fn fhir_like(rng: &mut Rng) -> String {
    match rng.below(4) {
        // A well-formed value with a few pieces replaced, inserted or removed.
        0 | 1 => {
            let base = ["2019-07-04T23:30:00-05:00", "2016-12-31T23:59:60.5Z", "2020-02-29", "2019-07", "2019", "2019-07-04T10:30", "2019-07-04T10:30:00.25"];
            let mut chars: Vec<String> = rng.pick(&base).chars().map(String::from).collect();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(chars.len() + 1);
                match rng.below(3) {
                    0 if at < chars.len() => chars[at] = rng.pick(FHIR_PIECES).to_string(),
                    1 if at < chars.len() => {
                        chars.remove(at);
                    }
                    _ => chars.insert(at, rng.pick(FHIR_PIECES).to_string()),
                }
            }
            chars.concat()
        }
        // Pieces strung together.
        _ => (0..1 + rng.below(12)).map(|_| rng.pick(FHIR_PIECES)).collect(),
    }
}

#[test]
fn fhir_values_read_as_chrono_read_them() {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/date");
    let mut inputs: Vec<String> = std::fs::read_dir(&corpus).unwrap().map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default()).collect();
    assert!(inputs.len() > 5);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    inputs.extend((0..300_000).map(|_| fhir_like(&mut rng)));
    let mut kinds = std::collections::HashMap::new();
    for text in &inputs {
        let expected = chrono_fhir(text);
        assert_eq!(ours_fhir(text), expected, "{text:?}");
        *kinds.entry(expected.split(' ').next().unwrap().to_string()).or_insert(0) += 1;
    }
    // The generated inputs reach every kind of value.
    for kind in ["year", "month", "date", "instant", "local", "unparsed"] {
        assert!(kinds.get(kind).copied().unwrap_or(0) > 100, "{kind}: {kinds:?}");
    }
}

const HTTP_PIECES: &[&str] = &[
    "Sun", "Mon", "sun", "SUN", ",", " ", " ", " ", "\t", "06", "6", "31", "29", "00", "Nov", "nov", "Feb", "Fob", "1994", "94", "49", "105", "2000", "08",
    ":", ":", "49", "37", "60", "24", "GMT", "gmt", "UT", "Z", "EST", "PDT", "J", "A", "+0000", "-0530", "+2400", "+0960", "(c)", "(a(b)c)", "(\\))", "é",
];

#[test]
fn http_dates_read_as_chrono_read_them() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut parsed = 0;
    for i in 0..200_000 {
        let text = if i % 2 == 0 {
            let base = ["Sun, 06 Nov 1994 08:49:37 GMT", "6 Nov 94 08:49 +0100 (comment)", "Tue, 29 Feb 2000 23:59:60 -0800"];
            let mut parts: Vec<String> = rng.pick(&base).split_inclusive([' ', ':', ',']).map(String::from).collect();
            let at = rng.below(parts.len());
            match rng.below(3) {
                0 => parts[at] = rng.pick(HTTP_PIECES).to_string(),
                1 => {
                    parts.remove(at);
                }
                _ => parts.insert(at, rng.pick(HTTP_PIECES).to_string()),
            }
            parts.concat()
        } else {
            (0..1 + rng.below(14)).map(|_| rng.pick(HTTP_PIECES)).collect()
        };
        let expected = ChronoDateTime::parse_from_rfc2822(&text).ok().map(|d| (d.timestamp(), d.timestamp_subsec_nanos(), d.offset().local_minus_utc()));
        let ours = OffsetDateTime::parse_rfc2822(&text).map(|d| (d.timestamp(), d.local().nanosecond(), d.offset()));
        assert_eq!(ours, expected, "{text:?}");
        parsed += usize::from(expected.is_some());
    }
    assert!(parsed > 10_000, "{parsed}");
}

#[test]
fn days_times_and_output_as_chrono_computes_them() {
    let mut rng = Rng(0x0bad_cafe_dead_beef);
    let edges =
        [0, -1, 1, 86_399, 86_400, -86_401, 951_782_400, 8_210_266_876_799, 8_210_266_876_800, -8_334_601_228_800, -8_334_601_228_801, i64::MIN, i64::MAX];
    let instant = OffsetDateTime::parse_rfc3339("2016-12-31T23:59:60.5-05:00").unwrap();
    let chrono_instant = ChronoDateTime::parse_from_rfc3339("2016-12-31T23:59:60.5-05:00").unwrap();
    for i in 0..200_000 {
        let t = match i {
            i if i < edges.len() => edges[i],
            i if i % 3 == 0 => (rng.next() as i64) % 8_000_000_000_000,
            _ => (rng.next() as i64) % 5_000_000_000,
        };
        let chrono_utc = chrono::DateTime::from_timestamp(t, 0);
        assert_eq!(Date::from_timestamp(t).map(|d| (d.year(), d.month(), d.day())), chrono_utc.map(|d| (d.year(), d.month(), d.day())), "{t}");
        assert_eq!(
            OffsetDateTime::from_timestamp(t).unwrap_or_default().to_rfc3339_seconds(),
            chrono_utc.unwrap_or_default().to_rfc3339_opts(SecondsFormat::Secs, true),
            "{t}"
        );
        if let Some(d) = Date::from_timestamp(t) {
            assert_eq!(d.weekday(), chrono_utc.unwrap().weekday().num_days_from_monday());
            assert_eq!(
                d.succ().map(|d| d.timestamp()),
                chrono_utc.unwrap().date_naive().succ_opt().map(|d| d.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp())
            );
        }
        // Wall-clock times at any offset, a leap second's too.
        let offset = (t % 100_000) as i32;
        let expected =
            FixedOffset::east_opt(offset).map(|o| chrono_instant.with_timezone(&o).naive_local()).map(|l| (l.date().to_string(), l.hour(), l.minute()));
        assert_eq!(instant.local_at(offset).map(|l| (l.date().to_string(), l.hour(), l.minute())), expected, "{offset}");
    }
}
