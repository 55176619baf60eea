//! Fixtures for the consent tests: a standard record, viewers, Consents.
#![allow(dead_code)]

use patient_portal_sdk::consent::{decide, Policy, Role, Viewer};
use patient_portal_sdk::fhir::{parse_record, Record};
use serde_json::{json, Value};

pub const CONF: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
pub const ACT: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
pub const PT: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
pub const CA: &str = "http://terminology.hl7.org/CodeSystem/consentaction";

/// Seconds since 1970 for an RFC 3339 time.
pub fn at(t: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(t).unwrap().timestamp()
}
pub const NOW: &str = "2026-11-22T12:00:00Z";

pub fn viewer(role: Role, actor: Option<&str>) -> Viewer {
    Viewer { role, relationship: None, actor: actor.map(str::to_string), purpose: None, at: at(NOW) }
}
pub fn proxy(relationship: &str, actor: Option<&str>) -> Viewer {
    Viewer { relationship: Some(relationship.into()), ..viewer(Role::Proxy, actor) }
}
pub fn clinician(actor: &str) -> Viewer {
    viewer(Role::Clinician, Some(actor))
}

pub fn labelled(mut resource: Value, labels: &[(&str, &str)]) -> Value {
    resource["meta"] = json!({"security": labels.iter().map(|(s, c)| json!({"system": s, "code": c})).collect::<Vec<_>>()});
    resource
}

/// The standard test record: patient `pid` (born `birth`), and resources
/// whose ids say what they are.
pub fn record_of(pid: &str, birth: &str, extra: Vec<Value>) -> Record {
    let mut entries = vec![
        json!({"resourceType": "Patient", "id": pid, "birthDate": birth, "name": [{"family": "Test", "given": ["Pat"]}]}),
        json!({"resourceType": "Observation", "id": "o-normal", "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
               "effectiveDateTime": "2015-06-01", "performer": [{"reference": "Practitioner/f204"}], "subject": {"reference": format!("Patient/{pid}")}}),
        labelled(json!({"resourceType": "Condition", "id": "c-psy", "code": {"text": "Depressive episode"}, "onsetDateTime": "2015-03-01"}), &[(ACT, "PSY")]),
        labelled(json!({"resourceType": "Observation", "id": "o-r", "status": "final", "code": {"text": "Restricted result"}, "effectiveDateTime": "2016-02-01"}), &[(CONF, "R")]),
        json!({"resourceType": "MedicationRequest", "id": "m1", "status": "active", "intent": "order", "medicationCodeableConcept": {"text": "Amoxicillin"},
               "authoredOn": "2016-06-23", "requester": {"reference": "Practitioner/13"}}),
        json!({"resourceType": "DocumentReference", "id": "d1", "status": "current", "type": {"coding": [{"system": "http://loinc.org", "code": "34133-9"}]},
               "date": "2016-01-01T00:00:00Z", "content": [{"attachment": {"contentType": "application/hl7-cda+xml", "url": "https://x.example/d1"}}]}),
        json!({"resourceType": "Immunization", "id": "i1", "status": "completed", "vaccineCode": {"text": "Influenza"}, "occurrenceDateTime": "2016-10-01"}),
        json!({"resourceType": "Task", "id": "example3", "status": "requested", "intent": "order", "focus": {"reference": "Observation/o-normal"}}),
    ];
    entries.extend(extra);
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": entries.into_iter().map(|r| json!({"resource": r})).collect::<Vec<_>>()});
    parse_record(bundle.to_string().as_bytes()).unwrap()
}

pub fn record() -> Record {
    record_of("f001", "1980-01-01", vec![])
}

/// Ids of the resources `viewer` may see.
pub fn visible(record: &Record, viewer: &Viewer, policy: &Policy, consents: &[Value]) -> Vec<String> {
    decide(record, viewer, policy, consents)
        .iter()
        .filter(|d| d.permit)
        .map(|d| record.entries[d.entry].id.clone().unwrap_or_default())
        .collect()
}

pub fn hidden(record: &Record, viewer: &Viewer, consents: &[Value]) -> Vec<String> {
    let all: Vec<String> = record.entries.iter().map(|e| e.id.clone().unwrap_or_default()).collect();
    let shown = visible(record, viewer, &Policy::default(), consents);
    all.into_iter().filter(|id| !shown.contains(id)).collect()
}

/// (reason, rule) of the decision on the entry with `id`.
pub fn why(record: &Record, viewer: &Viewer, consents: &[Value], id: &str) -> (bool, String, String) {
    let d = decide(record, viewer, &Policy::default(), consents);
    let d = d.iter().find(|d| record.entries[d.entry].id.as_deref() == Some(id)).unwrap();
    (d.permit, d.reason.name().to_string(), d.rule.clone())
}

pub fn consent(policy_rule: Option<&str>, provision: Value) -> Value {
    let mut c = json!({
        "resourceType": "Consent", "id": "t", "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": "Patient/f001"}, "provision": provision
    });
    if let Some(rule) = policy_rule {
        c["policyRule"] = json!({"coding": [{"system": ACT, "code": rule}]});
    }
    c
}

pub fn actor(role: &str, reference: &str) -> Value {
    json!({"role": {"coding": [{"system": PT, "code": role}]}, "reference": {"reference": reference}})
}

pub const EVERYTHING_BUT_PATIENT: [&str; 7] = ["o-normal", "c-psy", "o-r", "m1", "d1", "i1", "example3"];
