//! Parse: FHIR R4 (4.0.1) JSON into typed resources for what the chart
//! renders, and raw JSON for everything (so nothing is silently dropped and
//! the JavaScript API can hand back the resources exactly as received).

mod civil;
mod compact;
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
    /// Builds the typed form of a resource whose `resourceType` is
    /// `resource_type`, from the compact `text` of its JSON object and its
    /// `members` (see [`record::members`]): only the members a type reads
    /// are read.
    pub(crate) fn from_members(resource_type: &str, text: &str, members: &[raw::Member]) -> Resource {
        fn typed<T: Fields>(text: &str, members: &[raw::Member], wrap: fn(Box<T>) -> Resource) -> Resource {
            types::read_members(text, members).map(|t| wrap(Box::new(t))).unwrap_or(Resource::Invalid)
        }
        match resource_type {
            "Patient" => typed(text, members, Resource::Patient),
            "AllergyIntolerance" => typed(text, members, Resource::AllergyIntolerance),
            "Condition" => typed(text, members, Resource::Condition),
            "MedicationRequest" => typed(text, members, Resource::MedicationRequest),
            "MedicationStatement" => typed(text, members, Resource::MedicationStatement),
            "Medication" => typed(text, members, Resource::Medication),
            "Observation" => typed(text, members, Resource::Observation),
            "Immunization" => typed(text, members, Resource::Immunization),
            "Encounter" => typed(text, members, Resource::Encounter),
            "Procedure" => typed(text, members, Resource::Procedure),
            "DiagnosticReport" => typed(text, members, Resource::DiagnosticReport),
            "DocumentReference" => typed(text, members, Resource::DocumentReference),
            "CarePlan" => typed(text, members, Resource::CarePlan),
            _ => Resource::Other,
        }
    }
}
