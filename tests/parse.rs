//! Parse every real FHIR file in the reference data: per-type counts equal
//! the input's, nothing is lost, and the rendered types parse as typed.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::collections::BTreeMap;

use common::*;
use patient_portal_sdk::fhir::{parse_record, DateTime, ObservationValue, ParseError, Resource};

fn input_counts(doc: &serde_json::Value) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    if doc["resourceType"] == "Bundle" {
        for e in doc["entry"].as_array().into_iter().flatten() {
            *counts.entry(e["resource"]["resourceType"].as_str().unwrap().to_string()).or_default() += 1;
        }
    } else {
        counts.insert(doc["resourceType"].as_str().unwrap().to_string(), 1);
    }
    counts
}

fn check_file(path: &std::path::Path) -> usize {
    let bytes = std::fs::read(path).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let record = parse_record(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut counts = BTreeMap::new();
    for e in &record.entries {
        *counts.entry(e.resource_type.clone()).or_default() += 1;
        assert!(!matches!(e.resource, Resource::Invalid), "{}: {} {:?} did not parse as typed", path.display(), e.resource_type, e.id);
    }
    assert_eq!(counts, input_counts(&doc), "{}", path.display());
    // The raw JSON is kept exactly: entry by entry, equal to the input.
    if doc["resourceType"] == "Bundle" {
        for (e, input) in record.entries.iter().zip(doc["entry"].as_array().unwrap()) {
            assert_eq!(&e.raw, &input["resource"]);
        }
    }
    record.entries.len()
}

#[test]
fn every_synthea_bundle() {
    let files = files_in("fhir/synthea");
    let total: usize = files.iter().map(|f| check_file(f)).sum();
    assert_eq!(files.len(), 4);
    assert_eq!(total, 99 + 250 + 1244 + 2332);
}

#[test]
fn ips_bundle_and_spec_example_bundle() {
    assert_eq!(check_file(&data_path("shl/hl7-ig/IPS_IG-bundle-01.json")), 20);
    assert_eq!(check_file(&data_path("shl/spec-example/spec_example_file.fhirBundle.json")), 4);
    for f in ["example-00-a-fhirBundle.json", "example-02-a-fhirBundle.json"] {
        assert!(check_file(&data_path(&format!("shl/hl7-ig/{f}"))) > 0);
    }
    // The IG's CARIN file is a bare JSON array of entries, not a resource.
    assert_eq!(parse_record(&read("shl/hl7-ig/CARIN_INS_CD-bundle-01.json")).unwrap_err(), ParseError::NotFhir);
}

#[test]
fn every_official_example() {
    let mut n = 0;
    for dir in ["fhir/hl7-r4/consent", "fhir/hl7-r4/security-labels", "fhir/hl7-r4/misc", "fhir/ds4p"] {
        for f in files_in(dir) {
            n += check_file(&f);
        }
    }
    assert!(n >= 30, "{n}");
}

#[test]
fn observation_shapes_from_real_data() {
    let record = parse_record(&read("fhir/synthea/Dusty_Stracke_9fe3de76-2cd4-4c02-936a-8de0b18497dd.json")).unwrap();
    let mut bp = 0;
    let mut quantities = 0;
    for e in record.of_type("Observation") {
        let Resource::Observation(o) = &e.resource else { panic!() };
        let code = o.code.as_ref().unwrap();
        if code.has_code("85354-9") || code.has_code("55284-4") {
            // Blood pressure: two components, systolic and diastolic, in mm[Hg].
            assert_eq!(o.component.len(), 2);
            for c in &o.component {
                let Some(ObservationValue::Quantity(q)) = c.value() else { panic!() };
                assert_eq!(q.unit.as_deref(), Some("mm[Hg]"));
            }
            bp += 1;
        }
        if let Some(ObservationValue::Quantity(q)) = o.value() {
            // Values keep their digits exactly as written.
            let raw = &e.raw["valueQuantity"]["value"];
            assert_eq!(q.value.as_ref().unwrap().as_str(), raw.to_string());
            quantities += 1;
        }
        assert!(matches!(o.effective(), Some(patient_portal_sdk::fhir::When::DateTime(DateTime::Instant(_)))));
    }
    assert!(bp > 0 && quantities > 0);
}

#[test]
fn ips_resolves_medication_references_and_uuid_full_urls() {
    let record = parse_record(&read("shl/hl7-ig/IPS_IG-bundle-01.json")).unwrap();
    assert_eq!(record.bundle_type.as_deref(), Some("document"));
    for (from, e) in record.entries.iter().enumerate().filter(|(_, e)| e.resource_type == "MedicationStatement") {
        let Resource::MedicationStatement(m) = &e.resource else { panic!() };
        let Some(patient_portal_sdk::fhir::MedicationChoice::Reference(r)) = m.medication() else { panic!("reference") };
        let target = record.resolve(from, r).expect("resolves");
        assert_eq!(target.resource_type, "Medication");
    }
}

#[test]
fn decimals_keep_trailing_zeros() {
    let json = br#"{"resourceType":"Observation","code":{"text":"K"},"valueQuantity":{"value":4.10,"unit":"mmol/L","comparator":"<"}}"#;
    let record = parse_record(json).unwrap();
    let Resource::Observation(o) = &record.entries[0].resource else { panic!() };
    let zone = patient_portal_sdk::render::TimeZone::recorded();
    let fmt = patient_portal_sdk::render::i18n::Fmt { locale: patient_portal_sdk::render::Locale::EnUs, zone: &zone };
    assert_eq!(fmt.value(o.value().unwrap()), "<4.10 mmol/L");
}

#[test]
fn broken_fhir_gets_typed_errors_or_is_kept_as_invalid() {
    assert!(matches!(parse_record(b"{not json"), Err(ParseError::Json { line: 1, .. })));
    assert_eq!(parse_record(b"[1,2]").unwrap_err(), ParseError::NotFhir);
    assert_eq!(parse_record(br#"{"name":"x"}"#).unwrap_err(), ParseError::NotFhir);
    assert_eq!(parse_record(br#"{"resourceType":"Bundle","entry":{}}"#).unwrap_err(), ParseError::BadBundle);
    // A Patient whose `name` is a string, an unknown type, an entry without a
    // resource, and unknown fields: the Bundle still opens, nothing is lost.
    let json = br#"{"resourceType":"Bundle","type":"collection","entry":[
        {"resource":{"resourceType":"Patient","id":"p","name":"Not an array"}},
        {"resource":{"resourceType":"SpaceshipLog","id":"s","warp":9}},
        {"request":{"method":"DELETE","url":"Patient/q"}},
        {"resource":{"resourceType":"Condition","id":"c","futureField":{"a":1},"code":{"text":"Asthma"}}}]}"#;
    let record = parse_record(json).unwrap();
    assert_eq!(record.entries.len(), 3);
    assert_eq!(record.entries_without_resource, 1);
    assert!(matches!(record.entries[0].resource, Resource::Invalid));
    assert!(matches!(record.entries[1].resource, Resource::Other));
    assert!(matches!(record.entries[2].resource, Resource::Condition(_)));
    // Error messages never quote the input.
    let err = parse_record(b"{\"resourceType\": \"Patient\", \"secret\": \"Jane Doe HIV+\" ").unwrap_err();
    assert!(!err.to_string().contains("Jane"));
}

/// A transport whose clock runs 20 ms per reading, so paced reading yields
/// after every entry; it counts the yields.
struct FastClock {
    now: std::cell::Cell<f64>,
    pauses: std::cell::Cell<usize>,
}

impl patient_portal_sdk::source::Scheduler for FastClock {
    async fn sleep(&self, _millis: u32) {
        self.pauses.set(self.pauses.get() + 1);
    }
    fn now_ms(&self) -> Option<f64> {
        self.now.set(self.now.get() + 20.0);
        Some(self.now.get())
    }
}

/// Reading a Bundle entry by entry, with the event loop given turns, gives
/// exactly what reading it whole gives, errors included.
#[test]
fn paced_reading_equals_whole_reading() {
    use patient_portal_sdk::fhir::parse_record_paced;
    for path in files_in("fhir/synthea").iter().take(2).chain(files_in("fhir/hl7-r4/consent").iter().take(1)) {
        let bytes = std::fs::read(path).unwrap();
        let clock = FastClock { now: 0.0.into(), pauses: 0.into() };
        let paced = pollster::block_on(parse_record_paced(&bytes, &clock)).unwrap();
        let whole = parse_record(&bytes).unwrap();
        assert_eq!(paced.entries.len(), whole.entries.len());
        assert!(
            paced.entries.iter().zip(&whole.entries).all(|(a, b)| a.raw == b.raw && a.full_url == b.full_url && a.resource == b.resource),
            "{}",
            path.display()
        );
        assert_eq!(paced.bundle_type, whole.bundle_type);
        if whole.entries.len() > 1 {
            assert!(clock.pauses.get() >= whole.entries.len() - 1, "{} yields for {} entries", clock.pauses.get(), whole.entries.len());
        }
    }
    for broken in
        [&b"{\"resourceType\":\"Bundle\",\"entry\":{}}"[..], b"{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{\"id\":1}}]}", b"[1,", b"{\"a\":1}"]
    {
        let clock = FastClock { now: 0.0.into(), pauses: 0.into() };
        assert_eq!(pollster::block_on(parse_record_paced(broken, &clock)).map(|r| r.entries.len()), parse_record(broken).map(|r| r.entries.len()));
    }
}

/// One lone surrogate escape (or a byte that is not UTF-8) in one string of
/// a real record loses nothing else: that string shows U+FFFD where it was.
#[test]
fn imperfect_strings_lose_nothing_else() {
    let text = read_text("fhir/synthea/Dusty_Stracke_9fe3de76-2cd4-4c02-936a-8de0b18497dd.json");
    let whole = parse_record(text.as_bytes()).unwrap();
    let family = whole.of_type("Patient").next().unwrap().raw["name"][0]["family"].as_str().unwrap().to_string();
    let lone = text.replacen(&format!("\"family\": \"{family}\""), &format!("\"family\": \"{family}\\ud800\""), 1);
    assert_ne!(lone, text);
    let mut bad_byte = text.clone().into_bytes();
    let at = bad_byte.windows(family.len()).position(|w| w == family.as_bytes()).unwrap();
    bad_byte.insert(at + family.len(), 0xff);
    for bytes in [lone.into_bytes(), bad_byte] {
        let record = parse_record(&bytes).expect("the record still opens");
        assert_eq!(record.entries.len(), whole.entries.len());
        let name = record.of_type("Patient").next().unwrap().raw["name"][0]["family"].as_str().unwrap().to_string();
        assert_eq!(name, format!("{family}\u{fffd}"));
    }
}
