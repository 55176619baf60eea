//! What to ask a FHIR server: `Patient/$everything` where its
//! CapabilityStatement offers it, else the US Core searches for every
//! section of the chart.

use crate::util::TextSet;

use serde_json::Value;

use super::FhirOptions;
use crate::fhir::JsonAt;

/// What a server's CapabilityStatement says it can do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// `Patient/$everything` is offered.
    pub everything: bool,
    /// The resource types it serves (`None`: it did not say).
    pub types: Option<TextSet>,
}

impl Capabilities {
    /// Reads a CapabilityStatement; `None` when the body is not one.
    pub fn read(body: &[u8]) -> Option<Capabilities> {
        let statement: Value = crate::fhir::value::parse(body).ok()?;
        if statement.at("resourceType").as_str() != Some("CapabilityStatement") {
            return None;
        }
        let mut capabilities = Capabilities::default();
        let mut types = TextSet::default();
        // Among the server's own operations, only Patient-everything's definition says
        // it; among the Patient resource's, its name does too.
        let defines_it = |op: &Value| op.at("definition").as_str().is_some_and(|d| d.ends_with("/Patient-everything"));
        let is_everything = |op: &Value| defines_it(op) || op.at("name").as_str().is_some_and(|n| n.trim_start_matches('$').eq_ignore_ascii_case("everything"));
        for rest in list(statement.at("rest")) {
            if rest.at("mode").as_str().is_some_and(|m| m != "server") {
                continue;
            }
            capabilities.everything |= list(rest.at("operation")).iter().any(defines_it);
            for resource in list(rest.at("resource")) {
                let Some(kind) = resource.at("type").as_str() else { continue };
                types.insert(kind.to_string());
                if kind == "Patient" {
                    capabilities.everything |= list(resource.at("operation")).iter().any(is_everything);
                }
            }
        }
        capabilities.types = (!types.is_empty()).then_some(types);
        Some(capabilities)
    }

    fn serves(&self, resource_type: &str) -> bool {
        self.types.as_ref().is_none_or(|t| t.contains(resource_type))
    }
}

fn list(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// One search (or operation) and how much it matters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub resource_type: &'static str,
    /// The first page's URL.
    pub url: String,
    /// A server may refuse it (a search US Core does not require): the
    /// refusal is noted and the rest goes on.
    pub optional: bool,
}

impl Query {
    pub(crate) fn everything(options: &FhirOptions) -> Query {
        Query {
            resource_type: "Patient",
            url: format!("{}/Patient/{}/$everything?_count={}", options.base_url, options.patient, options.page_size),
            optional: false,
        }
    }
}

/// Observation categories searched one by one (US Core requires
/// `patient`+`category`; some servers refuse a search by patient alone).
const OBSERVATION_CATEGORIES: [&str; 11] =
    ["laboratory", "vital-signs", "social-history", "survey", "exam", "imaging", "procedure", "activity", "therapy", "sdoh", "functional-status"];

/// The searches, per type, for every section of the chart: required US Core
/// searches first; then optional ones that catch what the required ones
/// miss (an Observation of another category) or types outside US Core.
/// Types the server says it does not serve are left out.
pub fn searches(options: &FhirOptions, capabilities: &Capabilities) -> Vec<Query> {
    let (base, patient, count) = (&options.base_url, &options.patient, options.page_size);
    let search = |resource_type: &'static str, extra: &str, optional: bool| Query {
        resource_type,
        url: format!("{base}/{resource_type}?patient={patient}{extra}&_count={count}"),
        optional,
    };
    let mut queries = vec![
        search("AllergyIntolerance", "", false),
        search("Condition", "", false),
        search("MedicationRequest", "&_include=MedicationRequest:medication", false),
    ];
    for category in OBSERVATION_CATEGORIES {
        queries.push(search("Observation", &format!("&category={category}"), true));
    }
    queries.extend([
        search("Observation", "", true),
        search("Immunization", "", false),
        search("Procedure", "", false),
        search("Encounter", "", false),
        search("DiagnosticReport", "", false),
        search("DocumentReference", "", false),
        search("CarePlan", "", true),
        search("Goal", "", false),
        search("CareTeam", "", true),
        search("Device", "", true),
        search("MedicationStatement", "", true),
        search("MedicationDispense", "", true),
        search("MedicationAdministration", "", true),
        search("ServiceRequest", "", true),
        search("FamilyMemberHistory", "", true),
        search("QuestionnaireResponse", "", true),
        search("Coverage", "", true),
        search("Consent", "", true),
    ]);
    queries.retain(|q| capabilities.serves(q.resource_type));
    queries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_is_read_from_the_patient_resource_or_the_server() {
        let statement = br#"{"resourceType":"CapabilityStatement","rest":[{"mode":"server","resource":[{"type":"Patient","operation":[{"name":"everything","definition":"http://hl7.org/fhir/OperationDefinition/Patient-everything"}]},{"type":"Condition"}]}]}"#;
        let c = Capabilities::read(statement).unwrap();
        assert!(c.everything);
        assert_eq!(c.types.unwrap().len(), 2);
        let plain = br#"{"resourceType":"CapabilityStatement","rest":[{"mode":"server","resource":[{"type":"Patient"},{"type":"Observation"}]}]}"#;
        let c = Capabilities::read(plain).unwrap();
        assert!(!c.everything);
        let options = FhirOptions::new("https://ehr.example/fhir/r4/", "p1", 0).unwrap();
        let queries = searches(&options, &c);
        assert!(queries.iter().all(|q| q.resource_type == "Observation"));
        assert!(queries.iter().any(|q| q.url == "https://ehr.example/fhir/r4/Observation?patient=p1&category=vital-signs&_count=200"));
        assert!(Capabilities::read(br#"{"resourceType":"Patient"}"#).is_none());
    }
}
