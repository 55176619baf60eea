//! What references and people are called in the chart. Every reference is
//! resolved through the record's one resolver ([`Record::resolve`]), from
//! the resource that makes it (so `#id` finds its contained resources and a
//! `fullUrl` stays within its own file or card); a reference to a resource
//! withheld from this viewer is "Not shown", never its `display`.

use crate::fhir::{CodeableConcept, FromJson, HumanName, Json, MedicationChoice, Member, Members, Record, Reference, Resource};

use super::i18n::{Fmt, T};

/// A person's or organisation's name from raw JSON: `name` as a string
/// (Organization, Location, CareTeam) or a list of HumanName (official first).
pub fn name_of(raw: &(impl Members + ?Sized)) -> Option<String> {
    let name = raw.json("name")?;
    if let Some(s) = name.as_str() {
        return Some(s.trim().to_string()).filter(|s| !s.is_empty());
    }
    if !name.is_array() {
        return None;
    }
    let names = Vec::<HumanName>::member(name)?;
    let official = names.iter().find(|n| n.use_.as_deref() == Some("official"));
    official.into_iter().chain(&names).find_map(HumanName::display)
}

/// The name of what a reference made by entry `from` points to: its
/// `display`, else the resolved resource's name (or code, for things).
pub fn reference_name(fmt: Fmt<'_>, record: &Record, from: usize, reference: &Option<Reference>) -> String {
    reference.as_ref().map(|r| name(fmt, record, from, r)).unwrap_or_default()
}

pub fn name(fmt: Fmt<'_>, record: &Record, from: usize, reference: &Reference) -> String {
    if record.is_withheld(from, reference) {
        return fmt.t(T::NotShown).to_string();
    }
    if let Some(d) = reference.display.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        return d.to_string();
    }
    let Some(target) = record.resolve(from, reference) else {
        return String::new();
    };
    name_of(&target.raw).or_else(|| concept(target.raw.json("code"))).unwrap_or_default()
}

/// Names of several references, `, `-separated, without repeats.
pub fn names(fmt: Fmt<'_>, record: &Record, from: usize, references: impl IntoIterator<Item = Reference>) -> String {
    let mut out: Vec<String> = Vec::new();
    for r in references {
        let n = name(fmt, record, from, &r);
        if !n.is_empty() && !out.contains(&n) {
            out.push(n);
        }
    }
    out.join(", ")
}

/// The label of a CodeableConcept (or the first of a list) in raw JSON.
pub fn concept(v: Option<Json<'_>>) -> Option<String> {
    let v = v?;
    let v = match v.items() {
        Some(items) => items.into_iter().find(|c| c.is_object())?,
        None => v,
    };
    CodeableConcept::from_json(v)?.label().map(str::to_string)
}

/// "N results" or "N results; M not shown", counting withheld references.
pub fn result_count(fmt: Fmt<'_>, record: &Record, from: usize, references: &[Reference]) -> String {
    let hidden = references.iter().filter(|r| record.is_withheld(from, r)).count();
    let shown = fmt.count(references.len() - hidden, T::ResultOne, T::ResultMany);
    match hidden {
        0 => shown,
        _ if hidden == references.len() => fmt.t_with(T::CountNotShown, &hidden.to_string()),
        _ => format!("{shown}; {}", fmt.t_with(T::CountNotShown, &hidden.to_string())),
    }
}

/// The medication of a request, statement, dispense or administration: its
/// code, or the Medication it refers to (contained ones included), else the
/// reference's `display`.
pub fn medication_name(fmt: Fmt<'_>, record: &Record, from: usize, choice: Option<MedicationChoice<'_>>) -> String {
    match choice {
        Some(MedicationChoice::Reference(r)) if record.is_withheld(from, r) => fmt.t(T::NotShown).to_string(),
        Some(MedicationChoice::Code(c)) => c.label().unwrap_or_default().to_string(),
        Some(MedicationChoice::Reference(r)) => {
            let resolved = match record.resolve(from, r).map(|e| &e.resource) {
                Some(Resource::Medication(m)) => m.code.as_ref().and_then(CodeableConcept::label).map(str::to_string),
                _ => None,
            };
            resolved.or_else(|| r.display.clone().filter(|d| !d.trim().is_empty())).unwrap_or_default()
        }
        None => String::new(),
    }
}

/// `medication[x]` of a resource given as raw JSON.
pub fn raw_medication(fmt: Fmt<'_>, record: &Record, from: usize, raw: &(impl Members + ?Sized)) -> String {
    if let Some(c) = raw.json("medicationCodeableConcept").and_then(CodeableConcept::from_json) {
        return medication_name(fmt, record, from, Some(MedicationChoice::Code(&c)));
    }
    match raw.json("medicationReference").and_then(Reference::from_json) {
        Some(r) => medication_name(fmt, record, from, Some(MedicationChoice::Reference(&r))),
        None => String::new(),
    }
}

/// A Reference in raw JSON.
pub fn reference(v: Json<'_>) -> Option<Reference> {
    Reference::from_json(v).filter(|r| r.reference.is_some() || r.display.is_some())
}
