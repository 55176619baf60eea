//! The audit trail of a consent evaluation as a FHIR R4 `AuditEvent`: who
//! viewed (agent), why (purposeOfEvent), when (recorded), and one entity per
//! resource with the decision, its reason and rule in `entity.detail`.

use serde_json::{json, Value};

use super::{DecisionReport, Role, Viewer};

fn entity(index: usize, decision: &DecisionReport) -> Value {
    let what = match (&decision.id, &decision.full_url) {
        (Some(id), _) => json!({ "reference": format!("{}/{id}", decision.resource_type) }),
        (None, Some(url)) => json!({ "reference": url }),
        (None, None) => json!({ "display": format!("{} (entry {index})", decision.resource_type) }),
    };
    let labels: Vec<Value> = decision.labels.iter().map(|l| json!({ "system": l.system, "code": l.code })).collect();
    let mut entity = json!({
        "what": what,
        "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object" },
        "detail": [
            { "type": "decision", "valueString": if decision.permit { "permit" } else { "withhold" } },
            { "type": "reason", "valueString": decision.reason.name() },
            { "type": "rule", "valueString": decision.rule },
        ]
    });
    if let (false, Some(fields)) = (labels.is_empty(), entity.as_object_mut()) {
        fields.insert("securityLabel".into(), Value::Array(labels));
    }
    entity
}

/// The `AuditEvent` for showing a record to `viewer` with `decisions` (one
/// per resource of the record as received).
pub fn audit_event(viewer: &Viewer, decisions: &[DecisionReport]) -> Value {
    let recorded = crate::fhir::OffsetDateTime::from_timestamp(viewer.at).unwrap_or_default().to_rfc3339_seconds();
    let role = match viewer.role {
        Role::Patient => json!({ "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "SELF", "display": "self" }),
        Role::Proxy => json!({ "system": "http://terminology.hl7.org/CodeSystem/v3-RoleClass", "code": "AGNT", "display": "agent" }),
        Role::Clinician => json!({ "system": "http://terminology.hl7.org/CodeSystem/v3-RoleClass", "code": "PROV", "display": "healthcare provider" }),
    };
    let who = match &viewer.actor {
        Some(actor) => json!({ "reference": actor }),
        None => json!({ "display": viewer.role.name() }),
    };
    let mut agent = json!({ "type": { "coding": [role] }, "who": who, "requestor": true });
    if let (Some(text), Some(fields)) = (&viewer.relationship, agent.as_object_mut()) {
        let role = match super::relationship(Some(text)).and_then(|r| r.code) {
            Some(code) => json!([{ "coding": [{ "system": super::ROLE_CODE, "code": code }], "text": text }]),
            None => json!([{ "text": text }]),
        };
        fields.insert("role".into(), role);
    }
    let mut event = json!({
        "resourceType": "AuditEvent",
        "type": { "system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110110", "display": "Patient Record" },
        "subtype": [{ "system": "http://hl7.org/fhir/restful-interaction", "code": "read", "display": "read" }],
        "action": "R",
        "recorded": recorded,
        "outcome": "0",
        "agent": [agent],
        "source": {
            "observer": { "display": "Patient Portal SDK" },
            "type": [{ "system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4", "display": "Application Server" }]
        },
        "entity": decisions.iter().enumerate().map(|(i, d)| entity(i, d)).collect::<Vec<_>>()
    });
    if let (Some(purpose), Some(fields)) = (&viewer.purpose, event.as_object_mut()) {
        fields.insert("purposeOfEvent".into(), json!([{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": purpose }] }]));
    }
    event
}
