//! FHIR JSON: read into a record, then the chart built and written as HTML in two locales and zones.
#![no_main]

use libfuzzer_sys::fuzz_target;
use patient_portal_sdk::fhir::{parse_record, Date};
use patient_portal_sdk::render::{build_chart, fill_html, results_html, to_html, to_html_lazy, Locale, RenderOptions, TimeZone};

fuzz_target!(|data: &[u8]| {
    let Ok(record) = parse_record(data) else { return };
    let today = Date::from_ymd(2026, 11, 30).expect("a date");
    let mut options = RenderOptions::new(today);
    let chart = build_chart(&record, &options);
    let _ = to_html(&chart);
    let _ = results_html(&chart, "a");
    options.locale = Locale::DeDe;
    options.time_zone = TimeZone::fixed("Pacific/Kiritimati", 14 * 3600);
    let chart = build_chart(&record, &options);
    let _ = to_html_lazy(&chart);
    // Every disclosure the chart can have, and keys no chart writes.
    let keys = (0..chart.sections.len())
        .map(|i| format!("s{i}"))
        .chain((0..chart.other.len()).map(|i| format!("o{i}")))
        .chain((0..chart.trends.len()).map(|i| format!("t{i}")));
    for key in keys.chain(["".into(), "é1".into(), "s".into(), "s99999999999999999999".into()]) {
        let _ = fill_html(&chart, &key);
    }
});
