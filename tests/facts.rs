//! Fact parity: every clinical fact a FHIR R4 resource states (its name,
//! value, flag, range, status, date, negation, who, …) appears in that
//! resource's own row of the chart, in en-US and in de-DE. The facts are
//! read from the raw JSON by this test, following the FHIR R4 spec, never
//! through the SDK's own formatting, so the test fails when the chart
//! leaves out or misstates something the record says.
//!
//! The fact table is in `facts/table.rs`; rows are cut out of the HTML by
//! their `data-entry` index in `facts/row.rs`.

#![cfg(not(target_arch = "wasm32"))]

mod common;

#[path = "facts/report.rs"]
mod report;
#[path = "facts/row.rs"]
mod row;
#[path = "facts/source.rs"]
mod source;
#[path = "facts/table.rs"]
mod table;

use std::path::{Path, PathBuf};

use patient_portal_sdk::fhir::parse_record;
use patient_portal_sdk::render::{build_chart, to_html, RenderOptions};
use report::{check, markdown, Tally};
use serde_json::{json, Value};

/// Every reference FHIR file: synthea, us-core, ips, hl7-r4/*, ds4p.
fn reference_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["fhir/synthea", "fhir/us-core", "fhir/ips", "fhir/ds4p"] {
        files.extend(common::files_in(dir));
    }
    let mut hl7: Vec<PathBuf> = std::fs::read_dir(common::data_path("fhir/hl7-r4")).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    hl7.sort();
    for dir in hl7 {
        let rel = format!("fhir/hl7-r4/{}", dir.file_name().unwrap().to_string_lossy());
        files.extend(common::files_in(&rel));
    }
    files
}

fn short(path: &Path) -> String {
    let s = path.to_string_lossy();
    s.split("/fhir/").last().unwrap_or(&s).to_string()
}

fn write_report(name: &str, text: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/facts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn fact_parity_over_reference_data() {
    let mut tally = Tally::default();
    let mut rejected = Vec::new();
    for file in reference_files() {
        match parse_record(&std::fs::read(&file).unwrap()) {
            Ok(record) => check(&short(&file), &record, &mut tally),
            Err(e) => rejected.push(format!("{} ({e})", short(&file))),
        }
    }
    assert!(tally.files > 30 && tally.resources > 3000, "the reference data was not found");
    let mut text = markdown(&tally, "Fact parity over the reference data");
    if !rejected.is_empty() {
        text.push_str(&format!("\n\n## Rejected by parse_record (skipped)\n\n{}\n", rejected.join("\n")));
    }
    write_report("fact-parity.md", &text);
    println!("{text}");
    assert_eq!(tally.misses(), 0, "{} of {} facts are missing from the chart (table above, target/facts/fact-parity.md)", tally.misses(), tally.checked());
}

/// Real resources of the US Core example, negated: each marker must be in
/// the row.
fn negated_bundle() -> Value {
    let source = common::read_json("fhir/us-core/patient-example.collection.json");
    let entries = source["entry"].as_array().unwrap();
    let first = |ty: &str| entries.iter().find(|e| e["resource"]["resourceType"] == ty).unwrap_or_else(|| panic!("no {ty}")).clone();
    let mut out: Vec<Value> = entries
        .iter()
        .filter(|e| {
            matches!(e["resource"]["resourceType"].as_str(), Some("Patient" | "Practitioner" | "Organization" | "Location" | "Medication" | "RelatedPerson"))
        })
        .cloned()
        .collect();
    let verification = |system: &str| json!({"coding": [{"system": system, "code": "refuted", "display": "Refuted"}]});
    let changes: [(&str, &str, Value); 7] = [
        ("MedicationRequest", "doNotPerform", json!(true)),
        ("ServiceRequest", "doNotPerform", json!(true)),
        ("MedicationDispense", "status", json!("declined")),
        ("Procedure", "status", json!("not-done")),
        ("Immunization", "status", json!("not-done")),
        ("Condition", "verificationStatus", verification("http://terminology.hl7.org/CodeSystem/condition-ver-status")),
        ("AllergyIntolerance", "verificationStatus", verification("http://terminology.hl7.org/CodeSystem/allergyintolerance-verification")),
    ];
    for (ty, field, value) in changes {
        let mut e = first(ty);
        e["resource"][field] = value;
        out.push(e);
    }
    json!({"resourceType": "Bundle", "type": "collection", "entry": out})
}

#[test]
fn negated_resources_say_so() {
    let bundle = negated_bundle();
    let record = parse_record(&serde_json::to_vec(&bundle).unwrap()).unwrap();
    let mut tally = Tally::default();
    check("negated us-core examples", &record, &mut tally);
    let text = markdown(&tally, "Fact parity of negated resources");
    write_report("negation.md", &text);
    println!("{text}");
    let mut failures = Vec::new();
    // Every negated resource carries a negation fact (in en-US; de-DE only where the catalogue has the word).
    let types = ["MedicationRequest", "ServiceRequest", "MedicationDispense", "Procedure", "Immunization", "Condition", "AllergyIntolerance"];
    for ty in types {
        assert_eq!(tally.checked_of(ty, "negation", 0), 1, "{ty}: the negated copy has no negation fact");
        for fact in ["negation", "shown"] {
            if tally.missed(ty, fact) > 0 {
                failures.push(format!("{ty}: {fact} missed"));
            }
        }
    }
    // A request not to give a medication is not an active prescription.
    let html = to_html(&build_chart(&record, &RenderOptions::new(patient_portal_sdk::fhir::Date::from_ymd(2026, 11, 22).unwrap())));
    let rows = row::rows(&html);
    let index = record.entries.iter().position(|e| e.resource_type == "MedicationRequest").unwrap();
    if let Some(r) = rows.by_entry.get(&index) {
        if r.text.split(|c: char| !c.is_alphanumeric()).any(|w| w == "active") {
            failures.push(format!("the doNotPerform MedicationRequest's row says \"Active\": {}", r.text));
        }
    }
    assert!(failures.is_empty(), "negation not shown:\n{}", failures.join("\n"));
}

/// The test's own reading of JSON and HTML, on known inputs.
#[test]
fn extraction_is_sound() {
    use source::{date, number, Ctx};
    let (en, de) = (patient_portal_sdk::render::Locale::EnUs, patient_portal_sdk::render::Locale::DeDe);
    assert_eq!(date(&json!("2019-07-04T23:30:00-05:00"), en).unwrap(), "Jul 4, 2019");
    assert_eq!(date(&json!("2019-03-04"), de).unwrap(), "4. März 2019");
    assert_eq!(date(&json!("2019-07"), en).unwrap(), "Jul 2019");
    assert_eq!(date(&json!("2019"), de).unwrap(), "2019");
    let n: Value = serde_json::from_str("4.10").unwrap();
    assert_eq!(number(&n, de).unwrap(), ["4,10"]);
    let n: Value = serde_json::from_str("12.345678").unwrap();
    assert_eq!(number(&n, en).unwrap(), ["12", "13"]);
    let rows = row::rows(
        "<tr data-entry=\"3\"><th>A &amp; B&#39;s</th><td>1&#x2c;5&nbsp;mg</td></tr><tr class=\"narrative-row\"><td>secret</td></tr>\
         <li data-entry=\"4\">Thing <span>Jul 4, 2019</span><details><summary>x</summary><div>narrative</div></details></li>",
    );
    assert_eq!(rows.by_entry[&3].text, "a & b's 1,5 mg");
    assert_eq!(rows.by_entry[&4].text, "thing jul 4, 2019");
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Practitioner", "id": "p", "name": [{"given": ["Ann"], "family": "Lee"}]}},
        {"fullUrl": "http://x/fhir/Organization/o", "resource": {"resourceType": "Organization", "id": "o", "name": "Clinic"}},
        {"resource": {"resourceType": "MedicationRequest", "contained": [{"resourceType": "Medication", "id": "m", "code": {"coding": [{"code": "1", "display": "Drug"}]}}],
            "medicationReference": {"reference": "#m"}}}]});
    let record = parse_record(&serde_json::to_vec(&bundle).unwrap()).unwrap();
    let ctx = Ctx { entries: &record.entries };
    let none = json!({});
    for (reference, name) in
        [("urn:uuid:1", "Ann Lee"), ("Practitioner/p", "Ann Lee"), ("http://y/Practitioner/p/_history/2", "Ann Lee"), ("Organization/o", "Clinic")]
    {
        assert_eq!(ctx.reference_name(&json!({"reference": reference}), &none).as_deref(), Some(name), "{reference}");
    }
    assert_eq!(ctx.medication(&record.entries[2].raw).as_deref(), Some("Drug"));
}
