//! One answer of a FHIR server, checked before anything of it is kept: a
//! Bundle (or, for a read, the Patient), every resource the patient's own,
//! errors as `OperationOutcome` issues without their diagnostics.

use serde_json::Value;

use super::{FhirOptions, ServerError};
use crate::error::Error;
use crate::fhir::{JsonAt, ParseError};
use crate::source::{Pacer, Scheduler};

/// One issue of an `OperationOutcome`: what a host may show or log. The
/// `diagnostics` text is left out (servers put stack traces and record
/// content there); `details` is clipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub severity: String,
    pub code: String,
    pub details: Option<String>,
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.severity, self.code)?;
        if let Some(details) = &self.details {
            write!(f, ": {details}")?;
        }
        Ok(())
    }
}

/// Short, single-line, printable.
fn clean(text: &str, max: usize) -> String {
    let text: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > max {
        let mut cut: String = text.chars().take(max).collect();
        cut.push('…');
        return cut;
    }
    text
}

fn issues_of(outcome: &Value) -> Vec<Issue> {
    let mut issues = Vec::new();
    for issue in outcome.at("issue").as_array().into_iter().flatten().filter(|v| v.is_object()).take(10) {
        let word = |v: &Value| v.as_str().map(|s| clean(s, 40)).filter(|s| !s.is_empty());
        let details = issue.at("details").at("text").as_str().or_else(|| issue.at("details").at("coding").nth(0).at("display").as_str());
        issues.push(Issue {
            severity: word(issue.at("severity")).unwrap_or_else(|| "error".into()),
            code: word(issue.at("code")).unwrap_or_else(|| "unknown".into()),
            details: details.map(|d| clean(d, 200)).filter(|d| !d.is_empty()),
        });
    }
    issues
}

/// The issues of an `OperationOutcome` body, or `None` when the body is not one.
pub(crate) fn outcome_issues(body: &[u8]) -> Option<Vec<Issue>> {
    let value: Value = crate::fhir::value::parse(body).ok()?;
    (value.at("resourceType").as_str() == Some("OperationOutcome")).then(|| issues_of(&value))
}

/// The logical id a reference names for `Patient`, if it names one
/// (`Patient/x`, `…/Patient/x`, `…/Patient/x/_history/n`).
fn patient_id(reference: &str) -> Option<&str> {
    let path = reference.split(['?', '#']).next().unwrap_or_default();
    let mut parts: Vec<&str> = path.split('/').collect();
    if parts.len() >= 4 && parts.get(parts.len() - 2) == Some(&"_history") {
        parts.truncate(parts.len() - 2);
    }
    match parts.as_slice() {
        [.., "Patient", id] if !id.is_empty() => Some(id),
        _ => None,
    }
}

/// Whether `resource` belongs to a patient other than `patient`: a Patient
/// with another id, or a `subject`, `patient` or `beneficiary` reference to
/// another Patient. Resources that name no patient (a Practitioner, a
/// Medication) belong to no one and pass.
pub fn belongs_to_other_patient(resource: &Value, patient: &str) -> bool {
    if resource.at("resourceType").as_str() == Some("Patient") {
        return resource.at("id").as_str() != Some(patient);
    }
    ["subject", "patient", "beneficiary"].iter().any(|field| {
        let reference = resource.at(field).at("reference").as_str().unwrap_or_default();
        patient_id(reference).is_some_and(|id| id != patient)
    })
}

/// A resource of a page, with its key (`Type/id`) and `fullUrl`.
pub(crate) struct PageEntry {
    pub key: Option<String>,
    pub full_url: String,
    pub resource: Value,
}

/// A checked page.
pub(crate) struct Page {
    pub entries: Vec<PageEntry>,
    pub total: Option<u64>,
    pub next: Option<String>,
}

fn not_json(e: crate::fhir::value::JsonError) -> Error {
    ParseError::Json { line: e.line(), column: e.column() }.into()
}

/// Reads and checks one page: a Bundle (searchset or collection) whose
/// resources are all this patient's or no one's; `OperationOutcome` entries
/// (`search.mode` `outcome`) are left out. Anything else fails the whole
/// open: nothing of a wrong page is kept. Entries are read one at a time,
/// with turns of the event loop.
pub(crate) async fn read_page<S: Scheduler>(body: &[u8], options: &FhirOptions, sched: &S) -> Result<Page, Error> {
    let pacer = Pacer::new(sched);
    let bytes = crate::fhir::Shell::repair(body, || pacer.tick()).await;
    let Some(shell) = crate::fhir::Shell::scan(&bytes, || pacer.tick()).await else {
        // Not a Bundle's shape: what it is decides the error.
        let value: Value = crate::fhir::value::parse(&bytes).map_err(not_json)?;
        return Err(match value.at("resourceType").as_str() {
            Some("OperationOutcome") => ServerError::Outcome { status: 200, issues: issues_of(&value) }.into(),
            Some("Bundle") => ParseError::BadBundle.into(),
            _ => ServerError::NotBundle.into(),
        });
    };
    match shell.resource_type.as_deref() {
        Some("Bundle") => {}
        Some("OperationOutcome") => {
            let value: Value = crate::fhir::value::parse(&bytes).map_err(not_json)?;
            return Err(ServerError::Outcome { status: 200, issues: issues_of(&value) }.into());
        }
        _ => return Err(ServerError::NotBundle.into()),
    }
    if !matches!(shell.kind.as_deref(), Some("searchset" | "collection")) {
        return Err(ServerError::NotBundle.into());
    }
    let total = shell.total.as_ref().and_then(Value::as_u64);
    let next = shell.link.as_ref().and_then(Value::as_array).into_iter().flatten().find(|l| l.at("relation").as_str() == Some("next"));
    let next = next.and_then(|l| l.at("url").as_str()).map(str::to_string);
    let entries = shell.entry.unwrap_or_default();
    let mut page = Page { entries: Vec::with_capacity(entries.len()), total, next };
    for raw in entries {
        pacer.tick().await;
        let mut entry: Value = crate::fhir::value::parse(raw).map_err(not_json)?;
        if entry.at("search").at("mode").as_str() == Some("outcome") {
            continue;
        }
        let full_url = entry.at("fullUrl").as_str().map(str::to_string);
        let resource = match entry.get_mut("resource").map(Value::take) {
            Some(resource @ Value::Object(_)) => resource,
            _ => continue,
        };
        let Some(resource_type) = resource.at("resourceType").as_str().filter(|t| !t.is_empty()) else {
            return Err(ParseError::NotFhir.into());
        };
        if resource_type == "OperationOutcome" {
            continue;
        }
        if belongs_to_other_patient(&resource, &options.patient) {
            return Err(ServerError::WrongPatient.into());
        }
        let id = resource.at("id").as_str().filter(|id| !id.is_empty());
        let key = id.map(|id| format!("{resource_type}/{id}"));
        let full_url = full_url.or_else(|| key.as_ref().map(|k| format!("{}/{k}", options.base_url))).unwrap_or_default();
        page.entries.push(PageEntry { key, full_url, resource });
    }
    Ok(page)
}

/// Reads the answer to `GET Patient/{id}`: that Patient.
pub(crate) fn read_patient(body: &[u8], options: &FhirOptions) -> Result<Value, Error> {
    let bytes = crate::fhir::repair_unicode(body);
    let patient: Value = crate::fhir::value::parse(&bytes).map_err(not_json)?;
    match patient.at("resourceType").as_str() {
        Some("Patient") if patient.at("id").as_str() == Some(options.patient.as_str()) => Ok(patient),
        Some("Patient") => Err(ServerError::WrongPatient.into()),
        Some("OperationOutcome") => Err(ServerError::Outcome { status: 200, issues: issues_of(&patient) }.into()),
        _ => Err(ServerError::NotBundle.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patient_references() {
        assert_eq!(patient_id("Patient/a"), Some("a"));
        assert_eq!(patient_id("https://x.example/fhir/Patient/a/_history/3"), Some("a"));
        assert_eq!(patient_id("Group/a"), None);
        assert_eq!(patient_id("urn:uuid:1234"), None);
        assert_eq!(patient_id("#p1"), None);
        let other = serde_json::json!({"resourceType": "Condition", "subject": {"reference": "Patient/b"}});
        assert!(belongs_to_other_patient(&other, "a"));
        let own = serde_json::json!({"resourceType": "Condition", "subject": {"reference": "Patient/a"}});
        assert!(!belongs_to_other_patient(&own, "a"));
        let nobody = serde_json::json!({"resourceType": "Practitioner", "id": "b"});
        assert!(!belongs_to_other_patient(&nobody, "a"));
        assert!(belongs_to_other_patient(&serde_json::json!({"resourceType": "Patient", "id": "b"}), "a"));
    }

    #[test]
    fn outcome_issues_leave_diagnostics_out() {
        let body = br#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","details":{"text":"Unknown\nparameter"},"diagnostics":"at Foo.bar(SECRET)"}]}"#;
        let issues = outcome_issues(body).unwrap();
        assert_eq!(issues, vec![Issue { severity: "error".into(), code: "invalid".into(), details: Some("Unknown parameter".into()) }]);
        assert!(outcome_issues(br#"{"resourceType":"Bundle"}"#).is_none());
    }
}
