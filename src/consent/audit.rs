//! The audit trail of a consent evaluation as a FHIR R4 `AuditEvent`: who
//! viewed (agent), why (purposeOfEvent), when (recorded), and one entity per
//! resource with the decision, its reason and rule in `entity.detail`.

use serde_json::Value;

use super::{DecisionReport, Role, Viewer};

// Built from plain `(name, value)` lists rather than `json!`, whose
// expansion is code per member: the event is a few hundred bytes of data.

fn s(text: &str) -> Value {
    Value::String(text.to_string())
}

fn obj(members: Vec<(&str, Value)>) -> Value {
    // Inserted one by one: collecting into the map would bring the
    // standard library's slice sort (its bulk build sorts first) into the module.
    let mut map = serde_json::Map::new();
    for (key, value) in members {
        map.insert(key.to_string(), value);
    }
    Value::Object(map)
}

fn coding(system: &str, code: &str, display: &str) -> Value {
    obj(vec![("system", s(system)), ("code", s(code)), ("display", s(display))])
}

fn entity(index: usize, decision: &DecisionReport) -> Value {
    let what = match (&decision.id, &decision.full_url) {
        (Some(id), _) => ("reference", format!("{}/{id}", decision.resource_type)),
        (None, Some(url)) => ("reference", url.clone()),
        (None, None) => ("display", format!("{} (entry {index})", decision.resource_type)),
    };
    let detail = |kind: &str, value: &str| obj(vec![("type", s(kind)), ("valueString", s(value))]);
    let mut members = vec![
        ("what", obj(vec![(what.0, Value::String(what.1))])),
        ("type", coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object")),
        (
            "detail",
            Value::Array(vec![
                detail("decision", if decision.permit { "permit" } else { "withhold" }),
                detail("reason", decision.reason.name()),
                detail("rule", &decision.rule),
            ]),
        ),
    ];
    if !decision.labels.is_empty() {
        let labels = decision.labels.iter().map(|l| obj(vec![("system", s(&l.system)), ("code", s(&l.code))])).collect();
        members.push(("securityLabel", Value::Array(labels)));
    }
    obj(members)
}

/// The `AuditEvent` for showing a record to `viewer` with `decisions` (one
/// per resource of the record as received).
pub fn audit_event(viewer: &Viewer, decisions: &[DecisionReport]) -> Value {
    let recorded = crate::fhir::OffsetDateTime::from_timestamp(viewer.at).unwrap_or_default().to_rfc3339_seconds();
    let role = match viewer.role {
        Role::Patient => coding("http://terminology.hl7.org/CodeSystem/v3-RoleCode", "SELF", "self"),
        Role::Proxy => coding("http://terminology.hl7.org/CodeSystem/v3-RoleClass", "AGNT", "agent"),
        Role::Clinician => coding("http://terminology.hl7.org/CodeSystem/v3-RoleClass", "PROV", "healthcare provider"),
    };
    let who = match &viewer.actor {
        Some(actor) => obj(vec![("reference", s(actor))]),
        None => obj(vec![("display", s(viewer.role.name()))]),
    };
    let mut agent = vec![("type", obj(vec![("coding", Value::Array(vec![role]))])), ("who", who), ("requestor", Value::Bool(true))];
    if let Some(text) = &viewer.relationship {
        let role = match super::relationship(Some(text)).and_then(|r| r.code) {
            Some(code) => obj(vec![("coding", Value::Array(vec![obj(vec![("system", s(super::ROLE_CODE)), ("code", s(code))])])), ("text", s(text))]),
            None => obj(vec![("text", s(text))]),
        };
        agent.push(("role", Value::Array(vec![role])));
    }
    let source = obj(vec![
        ("observer", obj(vec![("display", s("Patient Portal SDK"))])),
        ("type", Value::Array(vec![coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server")])),
    ]);
    let mut event = vec![
        ("resourceType", s("AuditEvent")),
        ("type", coding("http://dicom.nema.org/resources/ontology/DCM", "110110", "Patient Record")),
        ("subtype", Value::Array(vec![coding("http://hl7.org/fhir/restful-interaction", "read", "read")])),
        ("action", s("R")),
        ("recorded", Value::String(recorded)),
        ("outcome", s("0")),
        ("agent", Value::Array(vec![obj(agent)])),
        ("source", source),
        ("entity", Value::Array(decisions.iter().enumerate().map(|(i, d)| entity(i, d)).collect())),
    ];
    if let Some(purpose) = &viewer.purpose {
        let coding = obj(vec![("system", s("http://terminology.hl7.org/CodeSystem/v3-ActReason")), ("code", s(purpose))]);
        event.push(("purposeOfEvent", Value::Array(vec![obj(vec![("coding", Value::Array(vec![coding]))])])));
    }
    obj(event)
}
