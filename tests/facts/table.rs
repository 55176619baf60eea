//! The fact table: resource type → the facts its row must show, each
//! derived from the raw FHIR R4 JSON.

use patient_portal_sdk::render::Locale;
use serde_json::Value;

use super::source::{at, codes, concept, date, first_date, human_name, number, quantity, string, Ctx, Expect, Fact};

/// The resource whose facts are being read.
pub struct Src<'a> {
    pub ctx: &'a Ctx<'a>,
    pub r: &'a Value,
    pub locale: Locale,
    pub facts: Vec<Fact>,
}

impl Src<'_> {
    fn en(&self) -> bool {
        self.locale == Locale::EnUs
    }
    fn push(&mut self, name: &'static str, expect: Option<Expect>) {
        if let Some(expect) = expect {
            self.facts.push(Fact { name, expect });
        }
    }
    fn text(&mut self, name: &'static str, text: Option<String>) {
        self.push(name, text.map(Expect::Text));
    }
    fn concept(&mut self, name: &'static str, path: &[&str]) {
        let c = concept(at(self.r, path));
        self.text(name, c);
    }
    fn date(&mut self, paths: &[&[&str]]) {
        let d = first_date(self.r, paths, self.locale);
        self.text("date", d);
    }
    fn reference(&mut self, name: &'static str, path: &[&str]) {
        let n = self.ctx.reference_name(at(self.r, path), self.r);
        self.text(name, n);
    }
    /// A negation marker: (en-US, de-DE or None when the catalogue has no German word).
    fn marker(&mut self, when: bool, en: &str, de: Option<&str>) {
        let word = if self.en() { Some(en) } else { de };
        if when {
            self.text("negation", word.map(str::to_string));
        }
    }
    fn status_is(&self, code: &str) -> bool {
        self.r["status"].as_str() == Some(code)
    }
    fn has_code(&self, path: &[&str], code: &str) -> bool {
        codes(at(self.r, path)).iter().any(|c| c == code)
    }
}

type Extractor = fn(&mut Src);

/// Resource type → fact extractors ("what" first).
pub const TABLE: &[(&str, &[Extractor])] = &[
    ("Observation", &[what_code, obs_value, obs_components, obs_flag, obs_range, obs_date]),
    ("Condition", &[what_code, condition_status, refuted, condition_date]),
    ("AllergyIntolerance", &[what_code, allergy_reactions, refuted, allergy_date]),
    ("DiagnosticReport", &[what_code, report_date, report_conclusion, report_forms]),
    ("ServiceRequest", &[what_code, service_negation, service_date]),
    ("DeviceRequest", &[what_code]),
    ("Procedure", &[what_code, procedure_negation, procedure_date, procedure_who]),
    ("MedicationRequest", &[what_medication, med_request_dosage, med_request_who, med_request_negation, med_request_date]),
    ("MedicationStatement", &[what_medication, med_statement_dosage, med_statement_date]),
    ("MedicationDispense", &[what_medication, dispense_negation, dispense_date, dispense_quantity]),
    ("MedicationAdministration", &[what_medication, administration_negation, administration_dose, administration_date]),
    ("Immunization", &[|s| s.concept("what", &["vaccineCode"]), immunization_negation, |s| s.date(&[&["occurrenceDateTime"]])]),
    ("Encounter", &[|s| s.concept("what", &["type", "0"]), encounter_class, |s| s.date(&[&["period", "start"]])]),
    ("DocumentReference", &[document_what, |s| s.date(&[&["date"]])]),
    ("CarePlan", &[|s| first_text(s, &[&["title"]], &[&["category", "0"]])]),
    ("Goal", &[|s| s.concept("what", &["description"]), goal_due]),
    ("Patient", &[patient_name, |s| s.date(&[&["birthDate"]]), patient_identifiers]),
    ("Practitioner", &[person_name]),
    ("RelatedPerson", &[person_name]),
    ("Organization", &[|s| first_text(s, &[&["name"]], &[])]),
    ("Location", &[|s| first_text(s, &[&["name"]], &[])]),
    ("Device", &[|s| first_text(s, &[&["deviceName", "0", "name"]], &[&["type"]])]),
    ("Coverage", &[coverage_what]),
    ("CareTeam", &[|s| first_text(s, &[&["name"]], &[&["category", "0"]])]),
    ("FamilyMemberHistory", &[|s| s.concept("what", &["relationship"])]),
    ("NutritionOrder", &[|s| s.concept("what", &["oralDiet", "type", "0"])]),
    ("Specimen", &[|s| s.concept("what", &["type"])]),
    ("Composition", &[|s| first_text(s, &[&["title"]], &[])]),
    ("ImagingStudy", &[|s| first_text(s, &[&["description"]], &[&["procedureCode", "0"]])]),
    ("QuestionnaireResponse", &[|s| s.date(&[&["authored"]])]),
    ("Medication", &[what_code]),
    ("Claim", &[|s| s.concept("what", &["type"]), |s| s.date(&[&["created"]])]),
    ("ExplanationOfBenefit", &[|s| s.concept("what", &["type"]), |s| s.date(&[&["created"]])]),
    ("Consent", &[|s| s.concept("what", &["scope"]), |s| s.date(&[&["dateTime"]])]),
    ("Media", &[|s| s.concept("what", &["modality"]), |s| s.date(&[&["createdDateTime"]])]),
    ("PractitionerRole", &[|s| s.reference("who", &["practitioner"]), |s| s.concept("what", &["code", "0"])]),
    ("Provenance", &[|s| s.date(&[&["recorded"]]), |s| s.reference("who", &["agent", "0", "who"])]),
];

/// "what": the first present string field, else the first concept.
fn first_text(s: &mut Src, strings: &[&[&str]], concepts: &[&[&str]]) {
    let t = strings.iter().find_map(|p| string(at(s.r, p))).or_else(|| concepts.iter().find_map(|p| concept(at(s.r, p))));
    s.text("what", t);
}

fn what_code(s: &mut Src) {
    s.concept("what", &["code"]);
}

fn what_medication(s: &mut Src) {
    let m = s.ctx.medication(s.r);
    s.text("what", m);
}

// Observation

fn obs_value(s: &mut Src) {
    let name = if s.r["hasMember"].as_array().is_some_and(|m| !m.is_empty()) { "panel value" } else { "value" };
    let value = observation_value(s.r, s.locale);
    s.push(name, value);
}

fn observation_value(r: &Value, locale: Locale) -> Option<Expect> {
    if r["valueQuantity"].is_object() {
        return quantity(&r["valueQuantity"], locale);
    }
    if let Some(c) = concept(&r["valueCodeableConcept"]) {
        return Some(Expect::Text(c));
    }
    if let Some(t) = string(&r["valueString"]) {
        return Some(Expect::Text(t));
    }
    number(&r["valueInteger"], locale).map(Expect::Any)
}

/// A number as the README says the chart writes it: as written, but a
/// fraction of more than four digits rounded to four significant digits
/// (never fewer than two decimals).
fn shown_number(v: &Value, locale: Locale) -> Option<String> {
    let text = v.as_number()?.to_string();
    let fraction = text.split_once('.').map_or(0, |(_, f)| f.len());
    let shown = if fraction <= 4 || text.contains(['e', 'E']) {
        text
    } else {
        let x: f64 = text.parse().ok()?;
        let magnitude = if x == 0.0 { 0 } else { x.abs().log10().floor() as i32 };
        let decimals = (3 - magnitude).clamp(2, fraction as i32) as usize;
        format!("{x:.decimals$}")
    };
    Some(if locale == Locale::DeDe { shown.replace('.', ",") } else { shown })
}

/// LOINC systolic and diastolic blood pressure.
const SYSTOLIC: &str = "8480-6";
const DIASTOLIC: &str = "8462-4";

fn obs_components(s: &mut Src) {
    let components: Vec<&Value> = s.r["component"].as_array().into_iter().flatten().collect();
    let of = |code: &str| components.iter().copied().find(|c| codes(&c["code"]).iter().any(|k| k == code));
    // Blood pressure is written systolic/diastolic: the order names the parts.
    let bp = match (of(SYSTOLIC), of(DIASTOLIC)) {
        (Some(sys), Some(dia)) if sys["valueQuantity"]["comparator"].is_null() && dia["valueQuantity"]["comparator"].is_null() => {
            match (shown_number(&sys["valueQuantity"]["value"], s.locale), shown_number(&dia["valueQuantity"]["value"], s.locale)) {
                (Some(sys), Some(dia)) => {
                    s.push("component", Some(Expect::Text(format!("{sys}/{dia}"))));
                    true
                }
                _ => false,
            }
        }
        _ => false,
    };
    for c in components {
        if bp && codes(&c["code"]).iter().any(|k| k == SYSTOLIC || k == DIASTOLIC) {
            continue;
        }
        s.text("component", concept(&c["code"]));
        let v = observation_value(c, s.locale);
        s.push("component value", v);
    }
}

fn obs_flag(s: &mut Src) {
    let i = &s.r["interpretation"][0];
    let words = |code: &str| -> Option<(&str, &str)> {
        Some(match code {
            "H" => ("High", "Hoch"),
            "L" => ("Low", "Niedrig"),
            "HH" => ("Critically high", "Kritisch hoch"),
            "LL" => ("Critically low", "Kritisch niedrig"),
            "A" => ("Abnormal", "Auffällig"),
            "AA" => ("Critically abnormal", "Kritisch auffällig"),
            "N" => ("Normal", "Normal"),
            _ => return None,
        })
    };
    let flag = codes(i).iter().find_map(|c| words(c)).map(|(en, de)| if s.en() { en.to_string() } else { de.to_string() }).or_else(|| concept(i));
    s.text("flag", flag);
}

fn obs_range(s: &mut Src) {
    for r in s.r["referenceRange"].as_array().cloned().unwrap_or_default() {
        if let Some(t) = string(&r["text"]) {
            s.text("range", Some(t));
            continue;
        }
        let bounds: Vec<Expect> = ["low", "high"].iter().filter_map(|b| number(&r[*b]["value"], s.locale)).map(Expect::Any).collect();
        s.push("range", (!bounds.is_empty()).then_some(Expect::All(bounds)));
    }
}

fn obs_date(s: &mut Src) {
    s.date(&[&["effectiveDateTime"], &["effectivePeriod", "start"], &["effectiveInstant"], &["issued"]]);
}

// Condition, AllergyIntolerance

fn condition_status(s: &mut Src) {
    let c = &s.r["clinicalStatus"];
    let word = codes(c).iter().find_map(|code| {
        Some(match code.as_str() {
            "active" => ("Active", "Aktiv"),
            "inactive" => ("Inactive", "Inaktiv"),
            "resolved" => ("Resolved", "Abgeklungen"),
            "recurrence" => ("Recurrence", "Wiederauftreten"),
            "relapse" => ("Relapse", "Rückfall"),
            "remission" => ("Remission", "Remission"),
            _ => return None,
        })
    });
    let expect = match word {
        // The code's words, or the concept's own label.
        Some((en, _)) if s.en() => Some(Expect::Any([Some(en.to_string()), concept(c)].into_iter().flatten().collect())),
        Some((_, de)) => Some(Expect::Text(de.to_string())),
        None if s.en() => concept(c).map(Expect::Text),
        None => None,
    };
    s.push("status", expect);
}

fn refuted(s: &mut Src) {
    let refuted = s.has_code(&["verificationStatus"], "refuted");
    s.marker(refuted, "Refuted", Some("Widerlegt"));
}

fn condition_date(s: &mut Src) {
    s.date(&[&["onsetDateTime"], &["onsetPeriod", "start"], &["recordedDate"]]);
}

fn allergy_reactions(s: &mut Src) {
    for r in s.r["reaction"].as_array().cloned().unwrap_or_default() {
        for m in r["manifestation"].as_array().into_iter().flatten() {
            s.text("reaction", concept(m));
        }
    }
}

fn allergy_date(s: &mut Src) {
    s.date(&[&["recordedDate"], &["onsetDateTime"], &["onsetPeriod", "start"]]);
}

// DiagnosticReport, DocumentReference, Goal

fn report_date(s: &mut Src) {
    s.date(&[&["effectiveDateTime"], &["effectivePeriod", "start"], &["issued"]]);
}

fn report_conclusion(s: &mut Src) {
    let c = string(&s.r["conclusion"]);
    s.text("conclusion", c);
}

fn report_forms(s: &mut Src) {
    for a in s.r["presentedForm"].as_array().cloned().unwrap_or_default() {
        let expect = match string(&a["title"]) {
            Some(t) => Some(Expect::Text(t)),
            None if a["url"].is_string() || a["data"].is_string() => Some(Expect::Link),
            None => None,
        };
        s.push("presentedForm", expect);
    }
}

fn document_what(s: &mut Src) {
    let title = s.r["content"].as_array().into_iter().flatten().find_map(|c| string(&c["attachment"]["title"]));
    let t = string(&s.r["description"]).or(title).or_else(|| concept(&s.r["type"]));
    s.text("what", t);
}

fn goal_due(s: &mut Src) {
    for t in s.r["target"].as_array().cloned().unwrap_or_default() {
        s.text("due", date(&t["dueDate"], s.locale));
    }
}

// Medications

/// Dosage texts, else the dose and frequency of each dosage.
fn dosage(s: &mut Src, field: &str) {
    for d in s.r[field].as_array().cloned().unwrap_or_default() {
        if let Some(t) = string(&d["text"]) {
            s.text("dosage", Some(t));
            continue;
        }
        for dr in d["doseAndRate"].as_array().into_iter().flatten() {
            let q = quantity(&dr["doseQuantity"], s.locale).or_else(|| ["low", "high"].iter().find_map(|b| quantity(&dr["doseRange"][*b], s.locale)));
            s.push("dosage", q);
        }
        let f = number(&d["timing"]["repeat"]["frequency"], s.locale);
        s.push("dosage frequency", f.map(Expect::Any));
    }
}

fn med_request_dosage(s: &mut Src) {
    dosage(s, "dosageInstruction");
}

fn med_request_who(s: &mut Src) {
    s.reference("who", &["requester"]);
}

fn med_request_negation(s: &mut Src) {
    let dnp = s.r["doNotPerform"].as_bool() == Some(true);
    s.marker(dnp, "Do not give", Some("Nicht geben"));
}

fn med_request_date(s: &mut Src) {
    s.date(&[&["authoredOn"]]);
}

fn med_statement_dosage(s: &mut Src) {
    dosage(s, "dosage");
}

fn med_statement_date(s: &mut Src) {
    s.date(&[&["effectiveDateTime"], &["effectivePeriod", "start"], &["dateAsserted"]]);
}

fn dispense_negation(s: &mut Src) {
    let declined = s.status_is("declined");
    s.marker(declined, "Declined", Some("Abgelehnt"));
}

fn dispense_date(s: &mut Src) {
    s.date(&[&["whenHandedOver"], &["whenPrepared"]]);
}

fn dispense_quantity(s: &mut Src) {
    let q = number(&s.r["quantity"]["value"], s.locale);
    s.push("quantity", q.map(Expect::Any));
}

fn administration_negation(s: &mut Src) {
    let not_done = s.status_is("not-done");
    s.marker(not_done, "Not done", Some("Nicht durchgeführt"));
}

fn administration_dose(s: &mut Src) {
    let q = quantity(&s.r["dosage"]["dose"], s.locale);
    s.push("dose", q);
}

fn administration_date(s: &mut Src) {
    s.date(&[&["effectiveDateTime"], &["effectivePeriod", "start"]]);
}

// Procedure, Immunization, ServiceRequest, Encounter

fn procedure_negation(s: &mut Src) {
    let not_done = s.status_is("not-done");
    s.marker(not_done, "Not done", Some("Nicht durchgeführt"));
}

fn procedure_date(s: &mut Src) {
    s.date(&[&["performedDateTime"], &["performedPeriod", "start"], &["performedPeriod", "end"]]);
}

fn procedure_who(s: &mut Src) {
    s.reference("who", &["performer", "0", "actor"]);
}

fn immunization_negation(s: &mut Src) {
    let not_done = s.status_is("not-done");
    s.marker(not_done, "Not given", Some("Nicht verabreicht"));
}

fn service_negation(s: &mut Src) {
    let dnp = s.r["doNotPerform"].as_bool() == Some(true);
    s.marker(dnp, "Do not perform", Some("Nicht durchführen"));
}

fn service_date(s: &mut Src) {
    s.date(&[&["authoredOn"], &["occurrenceDateTime"], &["occurrencePeriod", "start"], &["occurrencePeriod", "end"]]);
}

fn encounter_class(s: &mut Src) {
    if !s.en() {
        return;
    }
    let class = &s.r["class"];
    let word = string(&class["code"]).and_then(|c| {
        Some(match c.as_str() {
            "AMB" => "Ambulatory",
            "EMER" => "Emergency",
            "IMP" => "Inpatient",
            "ACUTE" => "Inpatient (acute)",
            "NONAC" => "Inpatient (non-acute)",
            "OBSENC" => "Observation",
            "PRENC" => "Pre-admission",
            "SS" => "Short stay",
            "VR" => "Virtual",
            "HH" => "Home health",
            "FLD" => "Field",
            _ => return None,
        })
    });
    let texts: Vec<String> = [string(&class["display"]), word.map(str::to_string)].into_iter().flatten().collect();
    let texts = if texts.is_empty() { string(&class["code"]).into_iter().collect() } else { texts };
    s.push("class", (!texts.is_empty()).then_some(Expect::Any(texts)));
}

// People, coverage

fn person_name(s: &mut Src) {
    let names: Vec<String> = s.r["name"].as_array().into_iter().flatten().filter_map(human_name).collect();
    s.push("what", (!names.is_empty()).then_some(Expect::Any(names)));
}

fn patient_name(s: &mut Src) {
    person_name(s);
}

fn patient_identifiers(s: &mut Src) {
    for id in s.r["identifier"].as_array().cloned().unwrap_or_default() {
        let Some(value) = string(&id["value"]) else {
            continue;
        };
        let ssn = id["system"].as_str() == Some("http://hl7.org/fhir/sid/us-ssn");
        let value = if ssn { value.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect() } else { value };
        let ty = &id["type"];
        let label = string(&ty["text"]).or_else(|| ty["coding"].as_array().into_iter().flatten().find_map(|c| string(&c["display"])));
        let code = if label.is_none() { codes(ty).into_iter().next() } else { None };
        // A type given only as a code is checked in en-US (words required).
        let code = code.filter(|_| s.en());
        s.push("identifier", Some(Expect::Ident { value, label, code }));
    }
}

fn coverage_what(s: &mut Src) {
    let t = concept(&s.r["type"]).or_else(|| s.ctx.reference_name(&s.r["payor"][0], s.r));
    s.text("what", t);
}

/// The facts of one resource (only "what" for one entered in error).
pub fn facts(ctx: &Ctx, r: &Value, locale: Locale) -> Option<Vec<Fact>> {
    let ty = r["resourceType"].as_str().unwrap_or_default();
    let extractors = TABLE.iter().find(|(t, _)| *t == ty)?.1;
    let mut src = Src { ctx, r, locale, facts: Vec::new() };
    let in_error = r["status"] == "entered-in-error" || codes(&r["verificationStatus"]).iter().any(|c| c == "entered-in-error");
    for (i, extract) in extractors.iter().enumerate() {
        if in_error && i > 0 {
            break;
        }
        extract(&mut src);
    }
    if in_error {
        src.facts.retain(|f| f.name == "what");
    }
    Some(src.facts)
}
