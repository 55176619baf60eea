//! Where each resource goes in the chart, and the row it becomes.

use serde::Deserialize;

use crate::fhir::{
    first_label, CodeableConcept, DateTime, Entry, HumanName, MedicationChoice, Observation, ObservationValue, Record, Reference, Resource,
    When,
};

use super::view::{Cell, Flag, OtherItem, Row, Section};

const ALLERGIES: usize = 0;
const PROBLEMS: usize = 1;
const MEDICATIONS: usize = 2;
const RESULTS: usize = 3;
const VITALS: usize = 4;
const IMMUNIZATIONS: usize = 5;
const PROCEDURES: usize = 6;
const ENCOUNTERS: usize = 7;

/// The chart's sections, in display order, with no rows yet.
pub fn empty() -> Vec<Section> {
    let s = |id, title, columns| Section { id, title, columns, rows: Vec::new() };
    vec![
        s("allergies", "Allergies and intolerances", &["Substance", "Reactions", "Criticality", "Status", "Recorded"]),
        s("problems", "Problems", &["Problem", "Status", "Onset", "Resolved"]),
        s("medications", "Medications", &["Medication", "Dosage", "Status", "Date", "Prescriber"]),
        s("results", "Results", &["Test", "Result", "Reference range", "Flag", "Date"]),
        s("vitals", "Vital signs", &["Measurement", "Value", "Date"]),
        s("immunizations", "Immunizations", &["Vaccine", "Status", "Date"]),
        s("procedures", "Procedures", &["Procedure", "Status", "Date"]),
        s("encounters", "Visits", &["Visit", "Class", "Date", "Reason", "Provider"]),
    ]
}

/// Where one entry is shown.
pub enum Placement {
    Section(usize, Row),
    Other(OtherItem),
}

/// `entered-in-error` → `Entered in error`.
fn humanize(code: &str) -> String {
    let text = code.replace('-', " ");
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn label(concept: &Option<CodeableConcept>) -> String {
    concept.as_ref().and_then(CodeableConcept::label).unwrap_or_default().to_string()
}

fn status_label(concept: &Option<CodeableConcept>) -> Option<String> {
    concept.as_ref().and_then(|c| c.label()).map(humanize)
}

/// `Active`, or `Active (unconfirmed)` when the verification status is
/// anything but `confirmed`.
fn clinical_status(clinical: &Option<CodeableConcept>, verification: &Option<CodeableConcept>) -> String {
    let status = status_label(clinical).unwrap_or_default();
    match verification.as_ref().filter(|v| !v.has_code("confirmed")).and_then(|v| v.label()) {
        Some(v) => format!("{status} ({})", v.to_lowercase()).trim().to_string(),
        None => status,
    }
}

/// With the time of day, for results, vitals and visits.
fn when(w: Option<When<'_>>) -> (String, Option<i64>) {
    w.map(|w| (w.display(), w.sort_key())).unwrap_or_default()
}

/// The day only, for problems, allergies, medications, immunizations and procedures.
fn day(w: Option<When<'_>>) -> (String, Option<i64>) {
    w.map(|w| (w.display_date(), w.sort_key())).unwrap_or_default()
}

fn date(d: &Option<DateTime>) -> (String, Option<i64>) {
    d.as_ref().map(|d| (d.display_date(), d.sort_key())).unwrap_or_default()
}

fn row(cells: Vec<Cell>, sort_key: Option<i64>) -> Row {
    Row { cells, sort_key }
}

/// The name of what a reference points to: its `display`, else the
/// resolved resource's name.
fn reference_name(record: &Record, reference: &Option<Reference>) -> String {
    let Some(reference) = reference else { return String::new() };
    if record.is_withheld(reference) {
        return NOT_SHOWN.to_string();
    }
    if let Some(d) = reference.display.as_deref().filter(|d| !d.trim().is_empty()) {
        return d.to_string();
    }
    let Some(target) = record.resolve(reference) else { return String::new() };
    match &target.raw["name"] {
        serde_json::Value::String(s) => s.clone(),
        names @ serde_json::Value::Array(_) => Vec::<HumanName>::deserialize(names)
            .ok()
            .and_then(|n| n.iter().find_map(HumanName::display))
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// What the chart says where a reference leads to a resource withheld from
/// this viewer (its `display` is not shown either).
const NOT_SHOWN: &str = "Not shown";

/// "N results" or "N results (M not shown)", counting withheld references.
fn result_count(record: &Record, references: &[Reference]) -> String {
    let hidden = references.iter().filter(|r| record.is_withheld(r)).count();
    let shown = references.len() - hidden;
    let noun = |n: usize| if n == 1 { "result" } else { "results" };
    match hidden {
        0 => format!("{shown} {}", noun(shown)),
        _ if shown == 0 => format!("{hidden} {} not shown", noun(hidden)),
        _ => format!("{shown} {}; {hidden} not shown", noun(shown)),
    }
}

fn medication_name(record: &Record, choice: Option<MedicationChoice<'_>>) -> String {
    match choice {
        Some(MedicationChoice::Reference(r)) if record.is_withheld(r) => NOT_SHOWN.to_string(),
        Some(MedicationChoice::Code(c)) => c.label().unwrap_or_default().to_string(),
        Some(MedicationChoice::Reference(r)) => match record.resolve(r).map(|e| &e.resource) {
            Some(Resource::Medication(m)) => label(&m.code),
            _ => r.display.clone().unwrap_or_default(),
        },
        None => String::new(),
    }
}

fn flag_of(concepts: &[CodeableConcept]) -> Option<Flag> {
    let c = concepts.first()?;
    let code = c.coding.iter().find_map(|c| c.code.as_deref());
    Some(match code {
        Some("H") => Flag::High,
        Some("L") => Flag::Low,
        Some("HH" | "HU" | ">") => Flag::CriticalHigh,
        Some("LL" | "LU" | "<") => Flag::CriticalLow,
        Some("A") => Flag::Abnormal,
        Some("AA") => Flag::CriticalAbnormal,
        Some("N") => Flag::Normal,
        _ => Flag::Other(c.label()?.to_string()),
    })
}

fn observation_value(record: &Record, o: &Observation) -> String {
    let status_note = match o.status.as_deref() {
        None | Some("final" | "amended" | "corrected") => String::new(),
        Some(s) => format!(" ({})", humanize(s).to_lowercase()),
    };
    let value = if let Some(v) = o.value() {
        v.display()
    } else if let Some(bp) = blood_pressure(o) {
        bp
    } else if !o.component.is_empty() {
        o.component
            .iter()
            .map(|c| {
                let v = c.value().map(|v| v.display()).or_else(|| c.data_absent_reason.as_ref().and_then(|r| r.label()).map(|r| format!("not available ({r})")));
                format!("{}: {}", label(&c.code), v.unwrap_or_default())
            })
            .collect::<Vec<_>>()
            .join("; ")
    } else if let Some(reason) = o.data_absent_reason.as_ref().and_then(|r| r.label()) {
        format!("Not available ({reason})")
    } else if !o.has_member.is_empty() {
        format!("Panel of {}", result_count(record, &o.has_member))
    } else {
        String::new()
    };
    value + &status_note
}

/// `120/80 mm[Hg]` from the systolic (8480-6) and diastolic (8462-4) components.
fn blood_pressure(o: &Observation) -> Option<String> {
    let part = |loinc: &str| {
        o.component.iter().find(|c| c.code.as_ref().is_some_and(|k| k.has_code(loinc))).and_then(|c| match c.value() {
            Some(ObservationValue::Quantity(q)) => Some(q),
            _ => None,
        })
    };
    let (sys, dia) = (part("8480-6")?, part("8462-4")?);
    let number = |q: &crate::fhir::Quantity| q.value.as_ref().map(|v| format!("{:.0}", v.to_f64().unwrap_or_default())).unwrap_or_default();
    Some(format!("{}/{} {}", number(sys), number(dia), sys.unit_label().unwrap_or("mm[Hg]")))
}

/// A description and date for a resource with no section, from its raw JSON.
fn raw_summary(raw: &serde_json::Value) -> (String, Option<DateTime>) {
    let concept = |v: &serde_json::Value| -> Option<String> {
        let v = if let serde_json::Value::Array(a) = v { a.first()? } else { v };
        CodeableConcept::deserialize(v).ok()?.label().map(str::to_string)
    };
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    let description = concept(&raw["code"])
        .or_else(|| text(&raw["title"]))
        .or_else(|| text(&raw["name"]))
        .or_else(|| text(&raw["description"]))
        .or_else(|| concept(&raw["type"]))
        .or_else(|| concept(&raw["category"]))
        .unwrap_or_default();
    let date = ["date", "authoredOn", "created", "recorded", "issued", "started", "effectiveDateTime", "occurrenceDateTime"]
        .iter()
        .find_map(|k| raw[*k].as_str())
        .or_else(|| ["period", "billablePeriod", "effectivePeriod"].iter().find_map(|k| raw[*k]["start"].as_str()))
        .map(DateTime::parse);
    (description, date)
}

fn other(description: String, date: Option<&DateTime>, note: Option<&'static str>) -> Placement {
    Placement::Other(OtherItem {
        description,
        date: date.map(DateTime::display_date),
        note,
        sort_key: date.and_then(DateTime::sort_key),
    })
}

fn is_entered_in_error(entry: &Entry) -> bool {
    entry.raw["status"] == "entered-in-error"
        || entry.raw["verificationStatus"]["coding"].as_array().is_some_and(|c| c.iter().any(|c| c["code"] == "entered-in-error"))
}

/// Decides where `entry` is shown and builds its row.
pub fn place(record: &Record, entry: &Entry) -> Placement {
    if matches!(entry.resource, Resource::Invalid) {
        let (d, date) = raw_summary(&entry.raw);
        return other(d, date.as_ref(), Some("Could not be read: not valid FHIR R4"));
    }
    if is_entered_in_error(entry) {
        let (d, date) = raw_summary(&entry.raw);
        return other(d, date.as_ref(), Some("Entered in error"));
    }
    match &entry.resource {
        Resource::AllergyIntolerance(a) => {
            let reactions = a
                .reaction
                .iter()
                .map(|r| {
                    let what = r.manifestation.iter().filter_map(|m| m.label()).collect::<Vec<_>>().join(", ");
                    let what = if what.is_empty() { r.description.clone().unwrap_or_default() } else { what };
                    match &r.severity {
                        Some(s) => format!("{what} ({s})"),
                        None => what,
                    }
                })
                .collect::<Vec<_>>()
                .join("; ");
            let status = clinical_status(&a.clinical_status, &a.verification_status);
            let (recorded, key) = date(&a.recorded_date);
            let (recorded, key) = if recorded.is_empty() { day(a.onset()) } else { (recorded, key) };
            let criticality = a.criticality.as_deref().map(humanize).unwrap_or_default();
            Placement::Section(ALLERGIES, row(vec![label(&a.code).into(), reactions.into(), criticality.into(), status.into(), recorded.into()], key))
        }
        Resource::Condition(c) => {
            let status = clinical_status(&c.clinical_status, &c.verification_status);
            let (onset, key) = day(c.onset());
            let key = key.or_else(|| c.recorded_date.as_ref().and_then(DateTime::sort_key));
            let (resolved, _) = day(c.abatement());
            Placement::Section(PROBLEMS, row(vec![label(&c.code).into(), status.into(), onset.into(), resolved.into()], key))
        }
        Resource::MedicationRequest(m) => {
            let dosage = m.dosage_instruction.iter().filter_map(|d| d.text.clone()).collect::<Vec<_>>().join("; ");
            let (on, key) = date(&m.authored_on);
            let status = m.status.as_deref().map(humanize).unwrap_or_default();
            let cells = vec![medication_name(record, m.medication()).into(), dosage.into(), status.into(), on.into(), reference_name(record, &m.requester).into()];
            Placement::Section(MEDICATIONS, row(cells, key))
        }
        Resource::MedicationStatement(m) => {
            let dosage = m.dosage.iter().filter_map(|d| d.text.clone()).collect::<Vec<_>>().join("; ");
            let (on, key) = day(m.effective());
            let (on, key) = if on.is_empty() { date(&m.date_asserted) } else { (on, key) };
            let status = m.status.as_deref().map(humanize).unwrap_or_default();
            Placement::Section(MEDICATIONS, row(vec![medication_name(record, m.medication()).into(), dosage.into(), status.into(), on.into(), String::new().into()], key))
        }
        Resource::Observation(o) => {
            let (on, key) = when(o.effective());
            if o.in_category("vital-signs") {
                Placement::Section(VITALS, row(vec![label(&o.code).into(), observation_value(record, o).into(), on.into()], key))
            } else {
                let range = o.reference_range.iter().map(|r| r.display()).filter(|r| !r.is_empty()).collect::<Vec<_>>().join("; ");
                let flag = flag_of(&o.interpretation);
                let flag_cell = Cell { text: flag.as_ref().map(|f| f.label().to_string()).unwrap_or_default(), flag };
                Placement::Section(RESULTS, row(vec![label(&o.code).into(), observation_value(record, o).into(), range.into(), flag_cell, on.into()], key))
            }
        }
        Resource::Immunization(i) => {
            let status = match i.status.as_deref() {
                Some("completed") => "Given".to_string(),
                Some("not-done") => match i.status_reason.as_ref().and_then(|r| r.label()) {
                    Some(reason) => format!("Not given ({reason})"),
                    None => "Not given".to_string(),
                },
                Some(other) => humanize(other),
                None => String::new(),
            };
            let (on, key) = day(i.occurrence());
            Placement::Section(IMMUNIZATIONS, row(vec![label(&i.vaccine_code).into(), status.into(), on.into()], key))
        }
        Resource::Procedure(p) => {
            let (on, key) = day(p.performed());
            let status = p.status.as_deref().map(humanize).unwrap_or_default();
            Placement::Section(PROCEDURES, row(vec![label(&p.code).into(), status.into(), on.into()], key))
        }
        Resource::Encounter(e) => {
            let class = e.class.as_ref().map(|c| encounter_class(c.code.as_deref(), c.label())).unwrap_or_default();
            let (on, key) = e.period.as_ref().map(|p| (p.display(), p.start.as_ref().and_then(DateTime::sort_key))).unwrap_or_default();
            let reason = e.reason_code.iter().filter_map(|r| r.label()).collect::<Vec<_>>().join("; ");
            let cells = vec![first_label(&e.type_).unwrap_or_default().into(), class.into(), on.into(), reason.into(), reference_name(record, &e.service_provider).into()];
            Placement::Section(ENCOUNTERS, row(cells, key))
        }
        Resource::DiagnosticReport(d) => {
            let mut description = label(&d.code);
            if !d.result.is_empty() {
                description = format!("{description} ({}, listed under Results)", result_count(record, &d.result));
            }
            let effective = match d.effective() {
                Some(When::DateTime(dt)) => Some(dt),
                Some(When::Period(p)) => p.start.as_ref(),
                _ => None,
            };
            other(description, effective, None)
        }
        Resource::DocumentReference(d) => {
            let description = d.description.clone().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| label(&d.type_));
            other(description, d.date.as_ref(), None)
        }
        Resource::Medication(m) => other(label(&m.code), None, None),
        Resource::Patient(_) | Resource::Other | Resource::Invalid => {
            let (d, date) = raw_summary(&entry.raw);
            other(d, date.as_ref(), None)
        }
    }
}

/// HL7 v3 ActCode encounter classes, by code, when the coding has no display.
fn encounter_class(code: Option<&str>, label: Option<&str>) -> String {
    let known = match code {
        Some("AMB") => "Ambulatory",
        Some("EMER") => "Emergency",
        Some("IMP") => "Inpatient",
        Some("ACUTE") => "Inpatient (acute)",
        Some("NONAC") => "Inpatient (non-acute)",
        Some("OBSENC") => "Observation",
        Some("PRENC") => "Pre-admission",
        Some("SS") => "Short stay",
        Some("VR") => "Virtual",
        Some("HH") => "Home health",
        Some("FLD") => "Field",
        _ => return label.map(humanize).unwrap_or_default(),
    };
    match label {
        Some(l) if l != code.unwrap_or_default() => l.to_string(),
        _ => known.to_string(),
    }
}
