//! One line for each resource listed under "Other records": what it is,
//! in the terms its type uses (a person's name, a dispense's drug and
//! quantity, a goal's description, a relative's conditions), its date, and
//! whether it states a negation. Each member is read from the resource's
//! compact text as far as the line needs it, without a `Value` tree.

use crate::fhir::{DateTime, Dosage, Entry, FromJson, Json, Member, Members, Quantity, Reader, Record};

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

/// Reading on into a member: what is absent stays absent, as a `Value`'s
/// `Null` does.
trait Walk<'a> {
    /// The member `key` of an object.
    fn at(self, key: &str) -> Option<Json<'a>>;
    /// The elements of an array.
    fn list(self) -> Option<Vec<Json<'a>>>;
}

impl<'a> Walk<'a> for Option<Json<'a>> {
    fn at(self, key: &str) -> Option<Json<'a>> {
        self?.get(key)
    }

    fn list(self) -> Option<Vec<Json<'a>>> {
        self?.items()
    }
}

/// What `f` reads from each element of the list `v` (the first `most`
/// found), `, `-separated; `None` when `v` is not a list. (One copy for
/// every caller: `f` is not generic.)
fn listed(v: Option<Json<'_>>, most: usize, f: &dyn Fn(Json<'_>) -> Option<String>) -> Option<String> {
    Some(v.list()?.into_iter().filter_map(f).take(most).collect::<Vec<_>>().join(", "))
}

/// The first thing `f` reads from an element of the list `v`.
fn first_in(v: Option<Json<'_>>, f: &dyn Fn(Json<'_>) -> Option<String>) -> Option<String> {
    v.list()?.into_iter().find_map(f)
}

/// The references at `key` of each element of the list `v`.
fn referred(v: Option<Json<'_>>, key: &str) -> Vec<crate::fhir::Reference> {
    v.list().map(|l| l.into_iter().filter_map(|e| reference(e.get(key)?)).collect()).unwrap_or_default()
}

fn text(v: Option<Json<'_>>) -> Option<String> {
    v?.as_str().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn quantity(fmt: Fmt<'_>, v: Option<Json<'_>>) -> Option<String> {
    Quantity::from_json(v?).map(|q| fmt.quantity(&q)).filter(|q| !q.is_empty())
}

fn references(v: Option<Json<'_>>) -> Vec<crate::fhir::Reference> {
    match v {
        Some(v) if v.is_object() => reference(v).into_iter().collect(),
        v => v.list().map(|items| items.into_iter().filter_map(reference).collect()).unwrap_or_default(),
    }
}

fn join(parts: impl IntoIterator<Item = Option<String>>) -> String {
    parts.into_iter().flatten().filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" · ")
}

/// The first date among these paths (`a.b` for nested members).
fn first_date(raw: &Reader<'_>, paths: &[&str]) -> Option<DateTime> {
    paths.iter().find_map(|p| {
        // Each member read no further than the path goes.
        let mut keys = p.split('.');
        let first = raw.json(keys.next()?)?;
        keys.try_fold(first, |v, k| v.get(k))?.as_str().map(|d| DateTime::parse(&d))
    })
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
fn generic(raw: &Reader<'_>) -> String {
    concept(raw.json("code"))
        .or_else(|| text(raw.json("title")))
        .or_else(|| name_of(raw))
        .or_else(|| text(raw.json("description")))
        .or_else(|| concept(raw.json("type")))
        .or_else(|| concept(raw.json("category")))
        .unwrap_or_default()
}

/// `raw` reads the entry's members (see [`crate::fhir::Raw::reader`]).
pub fn describe(fmt: Fmt<'_>, record: &Record, from: usize, entry: &Entry, raw: &Reader<'_>) -> Described {
    let by = |v: Option<Json<'_>>| Some(names(fmt, record, from, references(v))).filter(|n| !n.is_empty()).map(|n| fmt.t_with(T::By, &n));
    let status = raw.json("status").and_then(Json::as_str);
    let status = status.as_deref();
    let mut negation = None;
    let description = match entry.resource_type.as_str() {
        "Practitioner" | "Person" | "Organization" | "Location" | "HealthcareService" | "Group" => {
            let named = raw.json("name").and_then(Json::as_str).is_some();
            join([name_of(raw).or_else(|| Some(generic(raw))), concept(raw.json("type")).filter(|_| named)])
        }
        "RelatedPerson" => match (name_of(raw), concept(raw.json("relationship"))) {
            (Some(n), Some(r)) => format!("{n} ({r})"),
            (n, r) => n.or(r).unwrap_or_default(),
        },
        "PractitionerRole" => join([
            names(fmt, record, from, references(raw.json("practitioner"))).into(),
            concept(raw.json("code")),
            names(fmt, record, from, references(raw.json("organization"))).into(),
        ]),
        "CareTeam" => {
            let members = names(fmt, record, from, referred(raw.json("participant"), "member"));
            join([
                text(raw.json("name")).or_else(|| concept(raw.json("category"))),
                Some(members).filter(|m| !m.is_empty()).map(|m| fmt.t_with(T::Members, &m)),
            ])
        }
        "Coverage" => {
            let payors = names(fmt, record, from, references(raw.json("payor")));
            join([concept(raw.json("type")), Some(payors).filter(|p| !p.is_empty()).map(|p| fmt.t_with(T::Payor, &p)), text(raw.json("subscriberId"))])
        }
        "Provenance" => {
            let targets = names(fmt, record, from, references(raw.json("target")));
            let agents = names(fmt, record, from, referred(raw.json("agent"), "who"));
            join([
                concept(raw.json("activity")),
                Some(targets).filter(|t| !t.is_empty()).map(|t| fmt.t_with(T::Targets, &t)),
                Some(agents).filter(|a| !a.is_empty()).map(|a| fmt.t_with(T::By, &a)),
            ])
        }
        "Goal" => {
            let due = first_in(raw.json("target"), &|t| t.get("dueDate")?.as_str().map(|d| fmt.t_with(T::Due, &fmt.date(&DateTime::parse(&d)))));
            let status = raw.json("lifecycleStatus").and_then(Json::as_str).map(|s| fmt.code(Some(&s)));
            join([concept(raw.json("description")), status, due])
        }
        "FamilyMemberHistory" => {
            let who = concept(raw.json("relationship")).or_else(|| text(raw.json("name")));
            let conditions = listed(raw.json("condition"), usize::MAX, &|c| concept(c.get("code"))).unwrap_or_default();
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
            let dosages = raw.json("dosageInstruction").and_then(Vec::<Dosage>::member).map(|d| dosage::dosages(fmt, &d)).unwrap_or_default();
            join([
                Some(raw_medication(fmt, record, from, raw)),
                quantity(fmt, raw.json("quantity")).map(|q| fmt.t_with(T::QuantityOf, &q)),
                Some(dosages),
                status.filter(|s| *s != "declined").map(|s| fmt.code(Some(s))),
            ])
        }
        "MedicationAdministration" => {
            if status == Some("not-done") {
                negation = Some(Negation::NotDone);
            }
            let dosage = raw.json("dosage");
            let dose = quantity(fmt, dosage.at("dose")).map(|d| fmt.t_with(T::DoseOf, &d));
            let route = concept(dosage.at("route")).map(|r| fmt.t_with(T::Route, &r));
            join([
                Some(raw_medication(fmt, record, from, raw)),
                dose,
                text(dosage.at("text")),
                route,
                status.filter(|s| !matches!(*s, "not-done" | "completed")).map(|s| fmt.code(Some(s))),
            ])
        }
        "MedicationRequest" | "MedicationStatement" => raw_medication(fmt, record, from, raw),
        "ServiceRequest" | "DeviceRequest" => {
            if raw.json("doNotPerform").and_then(Json::as_bool) == Some(true) {
                negation = Some(Negation::DoNotPerform);
            }
            let what = concept(raw.json("code"))
                .or_else(|| concept(raw.json("codeCodeableConcept")))
                .or_else(|| references(raw.json("codeReference")).first().map(|r| super::names::name(fmt, record, from, r)));
            join([what, status.filter(|s| *s != "active").map(|s| fmt.code(Some(s))), by(raw.json("requester"))])
        }
        "NutritionOrder" => {
            let diet = listed(raw.json("oralDiet").at("type"), usize::MAX, &|c| concept(Some(c)));
            let supplements = listed(raw.json("supplement"), usize::MAX, &|s| concept(s.get("type")).or_else(|| text(s.get("productName"))));
            let formula = raw.json("enteralFormula");
            let formula = concept(formula.at("baseFormulaType")).or_else(|| text(formula.at("baseFormulaProductName")));
            join([diet, supplements, formula])
        }
        "Device" => {
            let name = first_in(raw.json("deviceName"), &|n| text(n.get("name")));
            let carrier = raw.json("udiCarrier").list().and_then(|c| c.into_iter().next());
            join([name.or_else(|| concept(raw.json("type"))), text(carrier.at("carrierHRF")).or_else(|| text(carrier.at("deviceIdentifier")))])
        }
        "Specimen" => join([concept(raw.json("type")), concept(raw.json("collection").at("bodySite"))]),
        "Media" => {
            join([text(raw.json("content").at("title")), concept(raw.json("modality")).or_else(|| concept(raw.json("type"))), concept(raw.json("bodySite"))])
        }
        "ImagingStudy" => {
            let modality = listed(raw.json("modality"), usize::MAX, &|c| {
                c.get("display").and_then(Json::as_str).or_else(|| c.get("code").and_then(Json::as_str)).map(Into::into)
            });
            join([text(raw.json("description")).or_else(|| concept(raw.json("procedureCode"))), modality])
        }
        "QuestionnaireResponse" => {
            let answers = raw.json("item").list().map_or(0, |i| i.len());
            join([
                raw.json("questionnaire").and_then(Json::as_str).and_then(|q| q.rsplit('/').next().map(str::to_string)),
                Some(answers.to_string()).filter(|_| answers > 0).map(|n| format!("{n} ×")),
            ])
        }
        "Consent" => join([concept(raw.json("scope")), concept(raw.json("category")), status.map(|s| fmt.code(Some(s)))]),
        "Claim" | "ExplanationOfBenefit" => {
            let items = listed(raw.json("item"), 3, &|i| concept(i.get("productOrService")));
            join([concept(raw.json("type")), items, names(fmt, record, from, references(raw.json("provider"))).into()])
        }
        _ => generic(raw),
    };
    let description = if description.is_empty() { generic(raw) } else { description };
    Described { description, date: first_date(raw, DATES), negation }
}

#[cfg(test)]
mod tests {
    use super::describe;
    use crate::fhir::parse_record;
    use crate::render::i18n::{Fmt, Locale, TimeZone};
    use crate::render::view::Negation;
    use serde_json::json;

    /// The "Other records" line of `resource`, in a record that also holds
    /// a practitioner (`urn:uuid:p`) for references to name.
    fn line(resource: serde_json::Value) -> (String, Option<Negation>, bool) {
        let practitioner = json!({"resourceType": "Practitioner", "id": "p", "name": [{"family": "Kildare", "given": ["Richard"]}]});
        let bundle =
            json!({"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "urn:uuid:p", "resource": practitioner}, {"resource": resource}]});
        let record = parse_record(bundle.to_string().as_bytes()).unwrap();
        let entry = &record.entries[1];
        let zone = TimeZone::recorded();
        let d = describe(Fmt { locale: Locale::EnUs, zone: &zone }, &record, 1, entry, &entry.raw.reader());
        (d.description, d.negation, entry.entered_in_error)
    }

    #[test]
    fn each_type_names_what_it_is_and_members_of_the_wrong_shape_are_passed_over() {
        let claim = json!({"resourceType": "Claim", "type": {"coding": [{"display": "Institutional"}]},
            "item": [{"productOrService": {"text": "A"}}, {"productOrService": {"coding": [{"code": "B"}]}}, {"productOrService": 5}, "x",
                     {"productOrService": {"text": "C"}}, {"productOrService": {"text": "D"}}],
            "provider": {"reference": "urn:uuid:p"}});
        assert_eq!(line(claim).0, "Institutional · A, B, C · Richard Kildare");
        let care_team = json!({"resourceType": "CareTeam", "name": "  Team  ",
            "participant": [{"member": {"display": "Ann"}}, {"member": "oops"}, 7, {"member": {"reference": "urn:uuid:p"}}]});
        assert_eq!(line(care_team).0, "Team · members: Ann, Richard Kildare");
        let order =
            json!({"resourceType": "ServiceRequest", "doNotPerform": true, "code": {"text": "X-ray"}, "status": "active", "requester": {"display": "Dr A"}});
        assert_eq!(line(order), ("X-ray · by Dr A".to_string(), Some(Negation::DoNotPerform), false));
        let not_a_flag = json!({"resourceType": "ServiceRequest", "doNotPerform": "true", "code": {"text": "X-ray"}});
        assert_eq!(line(not_a_flag).1, None);
        let study = json!({"resourceType": "ImagingStudy", "description": "Head", "modality": [{"display": 5, "code": "CT"}, {"display": "MR"}, {}]});
        assert_eq!(line(study).0, "Head · CT, MR");
        let device = json!({"resourceType": "Device", "deviceName": [{"name": " "}, {"name": "Pump"}], "udiCarrier": [{"carrierHRF": "(01)123"}]});
        assert_eq!(line(device).0, "Pump · (01)123");
        let goal = json!({"resourceType": "Goal", "description": {"text": "Walk daily"}, "target": [{"dueDate": 7}, {"dueDate": "2030-01-02"}]});
        assert_eq!(line(goal).0, "Walk daily · due Jan 2, 2030");
        // A list where one concept is expected: its first object.
        let basic = json!({"resourceType": "Basic", "code": ["x", {"text": "first"}, {"text": "second"}], "created": "2021-03-04"});
        assert_eq!(line(basic).0, "first");
        // Entered in error: by status or by a verification status coding, and only as a string.
        assert!(line(json!({"resourceType": "Basic", "status": "entered-in-error"})).2);
        assert!(line(json!({"resourceType": "Condition", "verificationStatus": {"coding": [{"code": "x"}, {"code": "entered-in-error"}]}})).2);
        assert!(!line(json!({"resourceType": "Basic", "status": ["entered-in-error"]})).2);
        assert!(!line(json!({"resourceType": "Condition", "verificationStatus": {"coding": {"code": "entered-in-error"}}})).2);
    }
}
