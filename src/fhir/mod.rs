//! Parse: FHIR R4 (4.0.1) JSON into typed resources for what the chart
//! renders, and raw JSON for everything (so nothing is silently dropped and
//! the JavaScript API can hand back the resources exactly as received).

mod civil;
mod date;
mod fold;
mod json;
mod raw;
mod record;
pub mod reference;
mod resources;
mod types;

pub use civil::{Date, LocalDateTime, OffsetDateTime};
pub use date::{age_in_years, DateTime};
pub use json::{repair_unicode, JsonAt};
pub use raw::{Raw, Reader};
pub(crate) use record::parse_plaintext_paced;
pub(crate) use record::Shell;
pub use record::{inner_resources, parse_record, parse_record_paced, Entry, Inner, ParseError, Record};
pub use resources::*;
pub use types::*;

/// One resource: typed when the chart renders its type, otherwise kept only
/// as raw JSON on the [`Entry`].
#[derive(Debug, Clone, PartialEq)]
pub enum Resource {
    Patient(Box<Patient>),
    AllergyIntolerance(Box<AllergyIntolerance>),
    Condition(Box<Condition>),
    MedicationRequest(Box<MedicationRequest>),
    MedicationStatement(Box<MedicationStatement>),
    Medication(Box<Medication>),
    Observation(Box<Observation>),
    Immunization(Box<Immunization>),
    Encounter(Box<Encounter>),
    Procedure(Box<Procedure>),
    DiagnosticReport(Box<DiagnosticReport>),
    DocumentReference(Box<DocumentReference>),
    CarePlan(Box<CarePlan>),
    /// A type the chart has no section for.
    Other,
    /// A rendered type whose JSON does not fit the R4 structure (a string
    /// where an array belongs, say). Listed, never rendered as valid.
    Invalid,
}

impl Resource {
    /// Builds the typed form of `raw`, whose `resourceType` is `resource_type`.
    pub fn from_json(resource_type: &str, raw: &serde_json::Value) -> Resource {
        fn typed<T: FromJson>(raw: &serde_json::Value, wrap: fn(Box<T>) -> Resource) -> Resource {
            T::from_json(raw).map(|t| wrap(Box::new(t))).unwrap_or(Resource::Invalid)
        }
        match resource_type {
            "Patient" => typed(raw, Resource::Patient),
            "AllergyIntolerance" => typed(raw, Resource::AllergyIntolerance),
            "Condition" => typed(raw, Resource::Condition),
            "MedicationRequest" => typed(raw, Resource::MedicationRequest),
            "MedicationStatement" => typed(raw, Resource::MedicationStatement),
            "Medication" => typed(raw, Resource::Medication),
            "Observation" => typed(raw, Resource::Observation),
            "Immunization" => typed(raw, Resource::Immunization),
            "Encounter" => typed(raw, Resource::Encounter),
            "Procedure" => typed(raw, Resource::Procedure),
            "DiagnosticReport" => typed(raw, Resource::DiagnosticReport),
            "DocumentReference" => typed(raw, Resource::DocumentReference),
            "CarePlan" => typed(raw, Resource::CarePlan),
            _ => Resource::Other,
        }
    }
}
