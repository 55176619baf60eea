//! Inputs that once panicked (found in review or by `make fuzz`), each
//! through the public function that panicked: they must give an error or a
//! safe fallback. In the browser a panic is a trap (`panic = "abort"`).

use patient_portal_sdk::fhir::Date;
use patient_portal_sdk::fhir::{parse_record, DateTime};
use patient_portal_sdk::render::{build_chart, fill_html, to_html, RenderOptions};

fn data(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../shared/data/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn a_multibyte_character_in_a_seven_byte_date_is_text() {
    assert_eq!(DateTime::parse("202é-1"), DateTime::Unparsed("202é-1".into()));
    // The same value inside a real resource, through the chart.
    let mut patient: serde_json::Value = serde_json::from_slice(&data("fhir/hl7-r4/misc/Patient-example.json")).unwrap();
    patient["birthDate"] = "202é-1".into();
    let record = parse_record(patient.to_string().as_bytes()).unwrap();
    let html = to_html(&build_chart(&record, &RenderOptions::new(Date::from_ymd(2026, 11, 30).unwrap())));
    assert!(html.contains("202é-1"), "shown as written");
}

#[test]
fn fill_keys_no_chart_writes_fill_nothing() {
    let christian = std::fs::read_dir(format!("{}/../shared/data/fhir/synthea", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("Christian"))
        .unwrap();
    let record = parse_record(&std::fs::read(christian).unwrap()).unwrap();
    let chart = build_chart(&record, &RenderOptions::new(Date::from_ymd(2026, 11, 30).unwrap()));
    assert!(fill_html(&chart, "o0").is_some() && fill_html(&chart, "t0").is_some(), "real keys still fill");
    for key in ["", "é1", "s", "s-1", "x0", "s99999999999999999999"] {
        assert_eq!(fill_html(&chart, key), None, "{key:?}");
    }
}
