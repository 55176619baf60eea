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
mod scan;
mod types;
pub mod value;

pub use civil::{Date, LocalDateTime, OffsetDateTime};
pub use date::{age_in_years, DateTime};
pub use json::{repair_unicode, JsonAt};
pub use raw::{Members, Raw, Reader};
pub(crate) use record::parse_plaintext_paced;
pub use record::{inner_resources, parse_record, parse_record_paced, Entry, Inner, ParseError, Record};
pub use resources::*;
pub(crate) use scan::Shell;
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
    /// `members` (see [`scan::members`]): only the members a type reads
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

#[cfg(test)]
mod tests {
    use super::types::{read_fields, Json};
    use super::*;
    use serde_json::Value;

    /// The typed form of `v` through `read_fields`, from a `Value` or from text.
    fn typed(resource_type: &str, v: Json<'_>) -> Resource {
        fn read<T: Fields>(v: Json<'_>, wrap: fn(Box<T>) -> Resource) -> Resource {
            read_fields(v).map(|t| wrap(Box::new(t))).unwrap_or(Resource::Invalid)
        }
        match resource_type {
            "Patient" => read(v, Resource::Patient),
            "AllergyIntolerance" => read(v, Resource::AllergyIntolerance),
            "Condition" => read(v, Resource::Condition),
            "MedicationRequest" => read(v, Resource::MedicationRequest),
            "MedicationStatement" => read(v, Resource::MedicationStatement),
            "Medication" => read(v, Resource::Medication),
            "Observation" => read(v, Resource::Observation),
            "Immunization" => read(v, Resource::Immunization),
            "Encounter" => read(v, Resource::Encounter),
            "Procedure" => read(v, Resource::Procedure),
            "DiagnosticReport" => read(v, Resource::DiagnosticReport),
            "DocumentReference" => read(v, Resource::DocumentReference),
            "CarePlan" => read(v, Resource::CarePlan),
            _ => Resource::Other,
        }
    }

    /// Every object with a `resourceType` in `v`, at any depth.
    fn resources<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
        match v {
            Value::Object(map) => {
                if map.get("resourceType").is_some_and(Value::is_string) {
                    out.push(v);
                }
                map.values().for_each(|v| resources(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| resources(v, out)),
            _ => {}
        }
    }

    /// Reads the resource `text` (any JSON) both ways: its `Value` through
    /// `read_fields`, and its compact text (as the record keeps it) through
    /// `read_fields` and through `from_members` as a record's entry is read.
    fn same_both_ways(text: &str) {
        let Ok(value) = serde_json::from_str::<Value>(text) else { return };
        let Some(resource_type) = value.get("resourceType").and_then(Value::as_str) else { return };
        let mut compact = Vec::new();
        assert!(compact::compact(text.as_bytes(), &mut compact), "{text}");
        let compact = String::from_utf8(compact).unwrap();
        let by_value = typed(resource_type, Json::Value(&value));
        assert_eq!(typed(resource_type, Json::Text(&compact)), by_value, "{compact}");
        let members = scan::members(compact.as_bytes()).unwrap();
        assert_eq!(Resource::from_members(resource_type, &compact, &members), by_value, "{compact}");
    }

    #[test]
    fn the_text_reader_reads_every_resource_as_the_value_reader_does_even_with_members_replaced() {
        let files = crate::util::reference_json_files();
        assert!(files.len() >= 30, "{} reference files", files.len());
        // Values of every JSON type and shape, escapes, repeats, numbers in several forms.
        let replacements = [
            "null",
            "0",
            "-1.50",
            "1E5",
            "12345678901234567890",
            "4294967296",
            r#""x""#,
            r#""caf\u00e9 \"q\" \\ \n""#,
            r#""2019-07-04T23:30:00-05:00""#,
            "true",
            "[]",
            "{}",
            "[null]",
            r#"["a",1,{"b":[]}]"#,
            r#"{"text":"t","coding":[{"code":"c","display":"d","system":"s"}]}"#,
            r#"[{"text":"t","text":5}]"#,
            r#"{"value":7.20,"unit":"mg","value":"x","value":1}"#,
            r##"[{"reference":"#m","display":"\u0044"}]"##,
            r#"{"start":"2001","end":false}"#,
        ];
        let (mut resources_read, mut variants) = (0, 0);
        for path in &files {
            let text = std::fs::read_to_string(path).unwrap();
            let Ok(doc) = serde_json::from_str::<Value>(&text) else { continue };
            let mut found = Vec::new();
            resources(&doc, &mut found);
            // Every member replaced on the records short enough; the largest Synthea records as they are.
            let replace = text.len() < 1_000_000;
            for resource in found {
                resources_read += 1;
                let text = serde_json::to_string(resource).unwrap();
                same_both_ways(&text);
                if !replace {
                    continue;
                }
                let map = resource.as_object().unwrap();
                for key in map.keys().filter(|k| *k != "resourceType") {
                    let member = |value: &str| {
                        let rest: Vec<String> =
                            map.iter().filter(|(k, _)| *k != key).map(|(k, v)| format!("{}:{}", serde_json::to_string(k).unwrap(), v)).collect();
                        format!("{{{},{}:{value}}}", rest.join(","), serde_json::to_string(key).unwrap())
                    };
                    for value in replacements {
                        variants += 1;
                        same_both_ways(&member(value));
                        // The same member earlier too, with another value: the last one counts.
                        let original = serde_json::to_string(&map[key]).unwrap();
                        same_both_ways(&format!("{{{}:{value},{}", serde_json::to_string(key).unwrap(), &member(&original)[1..]));
                    }
                }
            }
        }
        assert!(resources_read > 4_000 && variants > 50_000, "{resources_read} resources, {variants} variants");
    }
}
