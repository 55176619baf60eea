//! FHIR dates: parsed, then their span and sort key, and every locale's formatting in three zones.
#![no_main]

use libfuzzer_sys::fuzz_target;
use patient_portal_sdk::fhir::{DateTime, Period, When};
use patient_portal_sdk::render::i18n::Fmt;
use patient_portal_sdk::render::{Locale, TimeZone};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Two values, split at the first `/` (a period's start and end).
    let (first, second) = text.split_once('/').unwrap_or((text, text));
    let (start, end) = (DateTime::parse(first), DateTime::parse(second));
    for d in [&start, &end] {
        let _ = (d.start_date(), d.sort_key(), d.span());
    }
    let offset = data.iter().fold(0i32, |acc, &b| acc.wrapping_mul(31).wrapping_add(i32::from(b))) % 86_400;
    let zones = [TimeZone::recorded(), TimeZone::fixed("UTC+14", 14 * 3600), TimeZone::fixed("fuzzed", offset)];
    let period = Period { start: Some(start.clone()), end: Some(end.clone()) };
    for zone in &zones {
        for locale in Locale::ALL {
            let f = Fmt { locale, zone };
            let _ = (f.date(&start), f.date_time(&start), f.period(&period));
            let _ = (f.when(When::DateTime(&end)), f.when_date(When::Period(&period)), f.when(When::Text(first)));
        }
    }
});
