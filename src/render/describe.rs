//! One line for each resource listed under "Other records": what it is,
//! in the terms its type uses (a person's name, a dispense's drug and
//! quantity, a goal's description, a relative's conditions), its date, and
//! whether it states a negation.

use serde_json::Value;

use crate::fhir::JsonAt;
use crate::fhir::{DateTime, Dosage, Entry, Quantity, Reader, Record};

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
    crate::fhir::from_value::<Quantity>(v).map(|q| fmt.quantity(&q)).filter(|q| !q.is_empty())
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
fn first_date(raw: &(impl JsonAt + ?Sized), paths: &[&str]) -> Option<DateTime> {
    paths
        .iter()
        .find_map(|p| {
            // The first member read alone (a kept resource reads no more of itself).
            let mut keys = p.split('.');
            let first = keys.next()?;
            keys.try_fold(raw.at(first), |v, k| v.get(k)).and_then(Value::as_str)
        })
        .map(DateTime::parse)
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
fn generic(raw: &(impl JsonAt + ?Sized)) -> String {
    concept(raw.at("code"))
        .or_else(|| text(raw.at("title")))
        .or_else(|| name_of(raw))
        .or_else(|| text(raw.at("description")))
        .or_else(|| concept(raw.at("type")))
        .or_else(|| concept(raw.at("category")))
        .unwrap_or_default()
}

/// `raw` reads the entry's members (see [`crate::fhir::Raw::reader`]).
pub fn describe(fmt: Fmt<'_>, record: &Record, from: usize, entry: &Entry, raw: &Reader<'_>) -> Described {
    let by = |v: &Value| Some(names(fmt, record, from, references(v))).filter(|n| !n.is_empty()).map(|n| fmt.t_with(T::By, &n));
    let status = raw.at("status").as_str();
    let mut negation = None;
    let description = match entry.resource_type.as_str() {
        "Practitioner" | "Person" | "Organization" | "Location" | "HealthcareService" | "Group" => {
            join([name_of(raw).or_else(|| Some(generic(raw))), concept(raw.at("type")).filter(|_| raw.at("name").is_string())])
        }
        "RelatedPerson" => match (name_of(raw), concept(raw.at("relationship"))) {
            (Some(n), Some(r)) => format!("{n} ({r})"),
            (n, r) => n.or(r).unwrap_or_default(),
        },
        "PractitionerRole" => join([
            names(fmt, record, from, references(raw.at("practitioner"))).into(),
            concept(raw.at("code")),
            names(fmt, record, from, references(raw.at("organization"))).into(),
        ]),
        "CareTeam" => {
            let members =
                raw.at("participant").as_array().map(|p| p.iter().map(|p| p.at("member")).filter_map(reference).collect::<Vec<_>>()).unwrap_or_default();
            let members = names(fmt, record, from, members);
            join([text(raw.at("name")).or_else(|| concept(raw.at("category"))), Some(members).filter(|m| !m.is_empty()).map(|m| fmt.t_with(T::Members, &m))])
        }
        "Coverage" => {
            let payors = names(fmt, record, from, references(raw.at("payor")));
            join([concept(raw.at("type")), Some(payors).filter(|p| !p.is_empty()).map(|p| fmt.t_with(T::Payor, &p)), text(raw.at("subscriberId"))])
        }
        "Provenance" => {
            let targets = names(fmt, record, from, references(raw.at("target")));
            let agents = raw.at("agent").as_array().map(|a| a.iter().map(|a| a.at("who")).filter_map(reference).collect::<Vec<_>>()).unwrap_or_default();
            let agents = names(fmt, record, from, agents);
            join([
                concept(raw.at("activity")),
                Some(targets).filter(|t| !t.is_empty()).map(|t| fmt.t_with(T::Targets, &t)),
                Some(agents).filter(|a| !a.is_empty()).map(|a| fmt.t_with(T::By, &a)),
            ])
        }
        "Goal" => {
            let due = raw
                .at("target")
                .as_array()
                .and_then(|t| t.iter().find_map(|t| t.at("dueDate").as_str()))
                .map(|d| fmt.t_with(T::Due, &fmt.date(&DateTime::parse(d))));
            let status = raw.at("lifecycleStatus").as_str().map(|s| fmt.code(Some(s)));
            join([concept(raw.at("description")), status, due])
        }
        "FamilyMemberHistory" => {
            let who = concept(raw.at("relationship")).or_else(|| text(raw.at("name")));
            let conditions =
                raw.at("condition").as_array().map(|c| c.iter().filter_map(|c| concept(c.at("code"))).collect::<Vec<_>>().join(", ")).unwrap_or_default();
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
            let dosages = crate::fhir::member_from_value::<Vec<Dosage>>(raw.at("dosageInstruction")).map(|d| dosage::dosages(fmt, &d)).unwrap_or_default();
            join([
                Some(raw_medication(fmt, record, from, raw)),
                quantity(fmt, raw.at("quantity")).map(|q| fmt.t_with(T::QuantityOf, &q)),
                Some(dosages),
                status.filter(|s| *s != "declined").map(|s| fmt.code(Some(s))),
            ])
        }
        "MedicationAdministration" => {
            if status == Some("not-done") {
                negation = Some(Negation::NotDone);
            }
            let dose = quantity(fmt, raw.at("dosage").at("dose")).map(|d| fmt.t_with(T::DoseOf, &d));
            let route = concept(raw.at("dosage").at("route")).map(|r| fmt.t_with(T::Route, &r));
            join([
                Some(raw_medication(fmt, record, from, raw)),
                dose,
                text(raw.at("dosage").at("text")),
                route,
                status.filter(|s| !matches!(*s, "not-done" | "completed")).map(|s| fmt.code(Some(s))),
            ])
        }
        "MedicationRequest" | "MedicationStatement" => raw_medication(fmt, record, from, raw),
        "ServiceRequest" | "DeviceRequest" => {
            if raw.at("doNotPerform") == &Value::Bool(true) {
                negation = Some(Negation::DoNotPerform);
            }
            let what = concept(raw.at("code"))
                .or_else(|| concept(raw.at("codeCodeableConcept")))
                .or_else(|| references(raw.at("codeReference")).first().map(|r| super::names::name(fmt, record, from, r)));
            join([what, status.filter(|s| *s != "active").map(|s| fmt.code(Some(s))), by(raw.at("requester"))])
        }
        "NutritionOrder" => {
            let diet = raw.at("oralDiet").at("type").as_array().map(|t| t.iter().filter_map(concept).collect::<Vec<_>>().join(", "));
            let supplements = raw
                .at("supplement")
                .as_array()
                .map(|s| s.iter().filter_map(|s| concept(s.at("type")).or_else(|| text(s.at("productName")))).collect::<Vec<_>>().join(", "));
            let formula = concept(raw.at("enteralFormula").at("baseFormulaType")).or_else(|| text(raw.at("enteralFormula").at("baseFormulaProductName")));
            join([diet, supplements, formula])
        }
        "Device" => {
            let name = raw.at("deviceName").as_array().and_then(|n| n.iter().find_map(|n| text(n.at("name"))));
            join([
                name.or_else(|| concept(raw.at("type"))),
                text(raw.at("udiCarrier").nth(0).at("carrierHRF")).or_else(|| text(raw.at("udiCarrier").nth(0).at("deviceIdentifier"))),
            ])
        }
        "Specimen" => join([concept(raw.at("type")), concept(raw.at("collection").at("bodySite"))]),
        "Media" => join([text(raw.at("content").at("title")), concept(raw.at("modality")).or_else(|| concept(raw.at("type"))), concept(raw.at("bodySite"))]),
        "ImagingStudy" => {
            let modality = raw
                .at("modality")
                .as_array()
                .map(|m| m.iter().filter_map(|c| c.at("display").as_str().or(c.at("code").as_str())).collect::<Vec<_>>().join(", "));
            join([text(raw.at("description")).or_else(|| concept(raw.at("procedureCode"))), modality])
        }
        "QuestionnaireResponse" => {
            let answers = raw.at("item").as_array().map_or(0, Vec::len);
            join([
                raw.at("questionnaire").as_str().and_then(|q| q.rsplit('/').next()).map(str::to_string),
                Some(answers.to_string()).filter(|_| answers > 0).map(|n| format!("{n} ×")),
            ])
        }
        "Consent" => join([concept(raw.at("scope")), concept(raw.at("category")), status.map(|s| fmt.code(Some(s)))]),
        "Claim" | "ExplanationOfBenefit" => {
            let items = raw.at("item").as_array().map(|i| i.iter().filter_map(|i| concept(i.at("productOrService"))).take(3).collect::<Vec<_>>().join(", "));
            join([concept(raw.at("type")), items, names(fmt, record, from, references(raw.at("provider"))).into()])
        }
        _ => generic(raw),
    };
    let description = if description.is_empty() { generic(raw) } else { description };
    Described { description, date: first_date(raw, DATES), negation }
}
