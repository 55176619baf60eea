//! One line for each resource listed under "Other records": what it is,
//! in the terms its type uses (a person's name, a dispense's drug and
//! quantity, a goal's description, a relative's conditions), its date, and
//! whether it states a negation.

use serde::Deserialize;
use serde_json::Value;

use crate::fhir::{DateTime, Dosage, Entry, Quantity, Record};

use super::dosage;
use super::i18n::{Fmt, T};
use super::names::{concept, name_of, names, raw_medication, reference};
use super::view::Negation;

/// An "Other records" line.
pub struct Described {
    pub description: String,
    pub date: Option<DateTime>,
    pub negation: Option<Negation>,
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

fn quantity(fmt: Fmt<'_>, v: &Value) -> Option<String> {
    Quantity::deserialize(v).ok().map(|q| fmt.quantity(&q)).filter(|q| !q.is_empty())
}

fn references(v: &Value) -> Vec<crate::fhir::Reference> {
    match v {
        Value::Array(items) => items.iter().filter_map(reference).collect(),
        Value::Object(_) => reference(v).into_iter().collect(),
        _ => Vec::new(),
    }
}

fn join(parts: impl IntoIterator<Item = Option<String>>) -> String {
    parts.into_iter().flatten().filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" · ")
}

/// The first date among these paths (`a.b` for nested members).
fn first_date(raw: &Value, paths: &[&str]) -> Option<DateTime> {
    paths.iter().find_map(|p| p.split('.').try_fold(raw, |v, k| v.get(k)).and_then(Value::as_str)).map(DateTime::parse)
}

const DATES: &[&str] = &[
    "authoredOn",
    "effectiveDateTime",
    "effectivePeriod.start",
    "occurrenceDateTime",
    "occurrencePeriod.start",
    "performedDateTime",
    "performedPeriod.start",
    "whenHandedOver",
    "whenPrepared",
    "authored",
    "recorded",
    "recordedDate",
    "onsetDateTime",
    "date",
    "dateTime",
    "created",
    "createdDateTime",
    "issued",
    "started",
    "startDate",
    "statusDate",
    "collection.collectedDateTime",
    "period.start",
    "billablePeriod.start",
];

/// The generic line: code, title, name, description, type or category.
fn generic(raw: &Value) -> String {
    concept(&raw["code"])
        .or_else(|| text(&raw["title"]))
        .or_else(|| name_of(raw))
        .or_else(|| text(&raw["description"]))
        .or_else(|| concept(&raw["type"]))
        .or_else(|| concept(&raw["category"]))
        .unwrap_or_default()
}

pub fn describe(fmt: Fmt<'_>, record: &Record, from: usize, entry: &Entry) -> Described {
    let raw = &entry.raw;
    let by = |v: &Value| Some(names(fmt, record, from, references(v))).filter(|n| !n.is_empty()).map(|n| fmt.t_with(T::By, &n));
    let status = raw["status"].as_str();
    let mut negation = None;
    let description = match entry.resource_type.as_str() {
        "Practitioner" | "Person" | "Organization" | "Location" | "HealthcareService" | "Group" => {
            join([name_of(raw).or_else(|| Some(generic(raw))), concept(&raw["type"]).filter(|_| raw["name"].is_string())])
        }
        "RelatedPerson" => match (name_of(raw), concept(&raw["relationship"])) {
            (Some(n), Some(r)) => format!("{n} ({r})"),
            (n, r) => n.or(r).unwrap_or_default(),
        },
        "PractitionerRole" => join([
            names(fmt, record, from, references(&raw["practitioner"])).into(),
            concept(&raw["code"]),
            names(fmt, record, from, references(&raw["organization"])).into(),
        ]),
        "CareTeam" => {
            let members = raw["participant"].as_array().map(|p| p.iter().map(|p| &p["member"]).filter_map(reference).collect::<Vec<_>>()).unwrap_or_default();
            let members = names(fmt, record, from, members);
            join([text(&raw["name"]).or_else(|| concept(&raw["category"])), Some(members).filter(|m| !m.is_empty()).map(|m| fmt.t_with(T::Members, &m))])
        }
        "Coverage" => {
            let payors = names(fmt, record, from, references(&raw["payor"]));
            join([concept(&raw["type"]), Some(payors).filter(|p| !p.is_empty()).map(|p| fmt.t_with(T::Payor, &p)), text(&raw["subscriberId"])])
        }
        "Provenance" => {
            let targets = names(fmt, record, from, references(&raw["target"]));
            let agents = raw["agent"].as_array().map(|a| a.iter().map(|a| &a["who"]).filter_map(reference).collect::<Vec<_>>()).unwrap_or_default();
            let agents = names(fmt, record, from, agents);
            join([
                concept(&raw["activity"]),
                Some(targets).filter(|t| !t.is_empty()).map(|t| fmt.t_with(T::Targets, &t)),
                Some(agents).filter(|a| !a.is_empty()).map(|a| fmt.t_with(T::By, &a)),
            ])
        }
        "Goal" => {
            let due =
                raw["target"].as_array().and_then(|t| t.iter().find_map(|t| t["dueDate"].as_str())).map(|d| fmt.t_with(T::Due, &fmt.date(&DateTime::parse(d))));
            let status = raw["lifecycleStatus"].as_str().map(|s| fmt.code(Some(s)));
            join([concept(&raw["description"]), status, due])
        }
        "FamilyMemberHistory" => {
            let who = concept(&raw["relationship"]).or_else(|| text(&raw["name"]));
            let conditions =
                raw["condition"].as_array().map(|c| c.iter().filter_map(|c| concept(&c["code"])).collect::<Vec<_>>().join(", ")).unwrap_or_default();
            match (who, conditions.is_empty()) {
                (Some(w), false) => format!("{w}: {conditions}"),
                (Some(w), true) => w,
                (None, _) => conditions,
            }
        }
        "MedicationDispense" => {
            if status == Some("declined") {
                negation = Some(Negation::Declined);
            }
            let dosages = Vec::<Dosage>::deserialize(&raw["dosageInstruction"]).map(|d| dosage::dosages(fmt, &d)).unwrap_or_default();
            join([
                Some(raw_medication(fmt, record, from, raw)),
                quantity(fmt, &raw["quantity"]).map(|q| fmt.t_with(T::QuantityOf, &q)),
                Some(dosages),
                status.filter(|s| *s != "declined").map(|s| fmt.code(Some(s))),
            ])
        }
        "MedicationAdministration" => {
            if status == Some("not-done") {
                negation = Some(Negation::NotDone);
            }
            let dose = quantity(fmt, &raw["dosage"]["dose"]).map(|d| fmt.t_with(T::DoseOf, &d));
            let route = concept(&raw["dosage"]["route"]).map(|r| fmt.t_with(T::Route, &r));
            join([
                Some(raw_medication(fmt, record, from, raw)),
                dose,
                text(&raw["dosage"]["text"]),
                route,
                status.filter(|s| !matches!(*s, "not-done" | "completed")).map(|s| fmt.code(Some(s))),
            ])
        }
        "MedicationRequest" | "MedicationStatement" => raw_medication(fmt, record, from, raw),
        "ServiceRequest" | "DeviceRequest" => {
            if raw["doNotPerform"] == Value::Bool(true) {
                negation = Some(Negation::DoNotPerform);
            }
            let what = concept(&raw["code"])
                .or_else(|| concept(&raw["codeCodeableConcept"]))
                .or_else(|| references(&raw["codeReference"]).first().map(|r| super::names::name(fmt, record, from, r)));
            join([what, status.filter(|s| *s != "active").map(|s| fmt.code(Some(s))), by(&raw["requester"])])
        }
        "NutritionOrder" => {
            let diet = raw["oralDiet"]["type"].as_array().map(|t| t.iter().filter_map(concept).collect::<Vec<_>>().join(", "));
            let supplements = raw["supplement"]
                .as_array()
                .map(|s| s.iter().filter_map(|s| concept(&s["type"]).or_else(|| text(&s["productName"]))).collect::<Vec<_>>().join(", "));
            let formula = concept(&raw["enteralFormula"]["baseFormulaType"]).or_else(|| text(&raw["enteralFormula"]["baseFormulaProductName"]));
            join([diet, supplements, formula])
        }
        "Device" => {
            let name = raw["deviceName"].as_array().and_then(|n| n.iter().find_map(|n| text(&n["name"])));
            join([
                name.or_else(|| concept(&raw["type"])),
                text(&raw["udiCarrier"][0]["carrierHRF"]).or_else(|| text(&raw["udiCarrier"][0]["deviceIdentifier"])),
            ])
        }
        "Specimen" => join([concept(&raw["type"]), concept(&raw["collection"]["bodySite"])]),
        "Media" => join([text(&raw["content"]["title"]), concept(&raw["modality"]).or_else(|| concept(&raw["type"])), concept(&raw["bodySite"])]),
        "ImagingStudy" => {
            let modality =
                raw["modality"].as_array().map(|m| m.iter().filter_map(|c| c["display"].as_str().or(c["code"].as_str())).collect::<Vec<_>>().join(", "));
            join([text(&raw["description"]).or_else(|| concept(&raw["procedureCode"])), modality])
        }
        "QuestionnaireResponse" => {
            let answers = raw["item"].as_array().map_or(0, Vec::len);
            join([
                raw["questionnaire"].as_str().and_then(|q| q.rsplit('/').next()).map(str::to_string),
                Some(answers.to_string()).filter(|_| answers > 0).map(|n| format!("{n} ×")),
            ])
        }
        "Consent" => join([concept(&raw["scope"]), concept(&raw["category"]), status.map(|s| fmt.code(Some(s)))]),
        "Claim" | "ExplanationOfBenefit" => {
            let items = raw["item"].as_array().map(|i| i.iter().filter_map(|i| concept(&i["productOrService"])).take(3).collect::<Vec<_>>().join(", "));
            join([concept(&raw["type"]), items, names(fmt, record, from, references(&raw["provider"])).into()])
        }
        _ => generic(raw),
    };
    let description = if description.is_empty() { generic(raw) } else { description };
    Described { description, date: first_date(raw, DATES), negation }
}
