#![cfg(not(target_arch = "wasm32"))]
mod common;
use common::consent_fixtures::*;
use patient_portal_sdk::consent::{screen, Policy};
use patient_portal_sdk::render::{build_chart, to_html, RenderOptions};
use serde_json::json;

#[test]
fn probe() {
    let order = json!({"resourceType": "MedicationRequest", "id": "m2", "status": "active", "intent": "order",
        "medicationReference": {"reference": "Medication/secret/_history/2", "display": "SECRETA"}, "subject": {"reference": "Patient/f001"}});
    let st = json!({"resourceType": "MedicationStatement", "id": "ms2", "status": "active",
        "medicationReference": {"reference": "Medication/secret/_history/2", "display": "SECRETB"}, "subject": {"reference": "Patient/f001"}, "reasonReference": [{"reference": "Condition/c-psy/_history/1", "display": "SECRETC"}]});
    let med = labelled(json!({"resourceType": "Medication", "id": "secret", "code": {"text": "SECRETD"}}), &[(ACT, "SUD")]);
    let inner = json!({"resourceType": "Bundle", "id": "ips", "type": "document", "entry": [{"resource": labelled(json!({"resourceType": "Condition", "id": "cx", "code": {"text": "SECRETE"}}), &[(ACT, "PSY")])}]});
    let cont = json!({"resourceType": "Observation", "id": "oc", "status": "final", "code": {"text": "Visible obs"}, "contained": [labelled(json!({"resourceType": "Condition", "id": "cc", "code": {"text": "SECRETF"}}), &[(ACT, "PSY")])], "focus": [{"reference": "#cc"}]});
    let r = record_of("f001", "1980-01-01", vec![order, st, med, inner, cont]);
    let screened = screen(r, &proxy("caregiver", Some("RelatedPerson/rp")), &Policy::default(), &[]);
    let mut options = RenderOptions::new(chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap());
    options.withheld = screened.notice;
    let html = to_html(&build_chart(&screened.record, &options));
    for s in ["SECRETA", "SECRETB", "SECRETC", "SECRETD", "SECRETE", "SECRETF"] {
        println!("{s}: {}", html.contains(s));
    }
}
