//! Consent and proxy access: one table of cases per rule (ARCHITECTURE.md,
//! "Consent rules"), every official R4 Consent example and every labelled
//! DS4P / R4 security-label example with a stated outcome, a property test
//! (a deny provision never makes more visible), and the chart's handling of
//! references to withheld resources.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use patient_portal_sdk::consent::{decide, screen, Policy, Role, Viewer};
use patient_portal_sdk::fhir::{parse_record, Record};
use patient_portal_sdk::render::{build_chart, to_html, RenderOptions};
use serde_json::{json, Value};

const CONF: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
const ACT: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const PT: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
const CA: &str = "http://terminology.hl7.org/CodeSystem/consentaction";

/// Seconds since 1970 for an RFC 3339 time.
fn at(t: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(t).unwrap().timestamp()
}
const NOW: &str = "2026-11-22T12:00:00Z";

fn viewer(role: Role, actor: Option<&str>) -> Viewer {
    Viewer { role, relationship: None, actor: actor.map(str::to_string), purpose: None, at: at(NOW) }
}
fn proxy(relationship: &str, actor: Option<&str>) -> Viewer {
    Viewer { relationship: Some(relationship.into()), ..viewer(Role::Proxy, actor) }
}
fn clinician(actor: &str) -> Viewer {
    viewer(Role::Clinician, Some(actor))
}

fn labelled(mut resource: Value, labels: &[(&str, &str)]) -> Value {
    resource["meta"] = json!({"security": labels.iter().map(|(s, c)| json!({"system": s, "code": c})).collect::<Vec<_>>()});
    resource
}

/// The standard test record: patient `pid` (born `birth`), and resources
/// whose ids say what they are.
fn record_of(pid: &str, birth: &str, extra: Vec<Value>) -> Record {
    let mut entries = vec![
        json!({"resourceType": "Patient", "id": pid, "birthDate": birth, "name": [{"family": "Test", "given": ["Pat"]}]}),
        json!({"resourceType": "Observation", "id": "o-normal", "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
               "effectiveDateTime": "2015-06-01", "performer": [{"reference": "Practitioner/f204"}], "subject": {"reference": format!("Patient/{pid}")}}),
        labelled(json!({"resourceType": "Condition", "id": "c-psy", "code": {"text": "Depressive episode"}, "onsetDateTime": "2015-03-01"}), &[(ACT, "PSY")]),
        labelled(json!({"resourceType": "Observation", "id": "o-r", "status": "final", "code": {"text": "Restricted result"}, "effectiveDateTime": "2016-02-01"}), &[(CONF, "R")]),
        json!({"resourceType": "MedicationRequest", "id": "m1", "status": "active", "intent": "order", "medicationCodeableConcept": {"text": "Amoxicillin"},
               "authoredOn": "2016-06-23", "requester": {"reference": "Practitioner/13"}}),
        json!({"resourceType": "DocumentReference", "id": "d1", "status": "current", "type": {"coding": [{"system": "http://loinc.org", "code": "34133-9"}]},
               "date": "2016-01-01T00:00:00Z", "content": [{"attachment": {"contentType": "application/hl7-cda+xml", "url": "https://x.example/d1"}}]}),
        json!({"resourceType": "Immunization", "id": "i1", "status": "completed", "vaccineCode": {"text": "Influenza"}, "occurrenceDateTime": "2016-10-01"}),
        json!({"resourceType": "Task", "id": "example3", "status": "requested", "intent": "order", "focus": {"reference": "Observation/o-normal"}}),
    ];
    entries.extend(extra);
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": entries.into_iter().map(|r| json!({"resource": r})).collect::<Vec<_>>()});
    parse_record(bundle.to_string().as_bytes()).unwrap()
}

fn record() -> Record {
    record_of("f001", "1980-01-01", vec![])
}

/// Ids of the resources `viewer` may see.
fn visible(record: &Record, viewer: &Viewer, policy: &Policy, consents: &[Value]) -> Vec<String> {
    decide(record, viewer, policy, consents)
        .iter()
        .filter(|d| d.permit)
        .map(|d| record.entries[d.entry].id.clone().unwrap_or_default())
        .collect()
}

fn hidden(record: &Record, viewer: &Viewer, consents: &[Value]) -> Vec<String> {
    let all: Vec<String> = record.entries.iter().map(|e| e.id.clone().unwrap_or_default()).collect();
    let shown = visible(record, viewer, &Policy::default(), consents);
    all.into_iter().filter(|id| !shown.contains(id)).collect()
}

/// (reason, rule) of the decision on the entry with `id`.
fn why(record: &Record, viewer: &Viewer, consents: &[Value], id: &str) -> (bool, String, String) {
    let d = decide(record, viewer, &Policy::default(), consents);
    let d = d.iter().find(|d| record.entries[d.entry].id.as_deref() == Some(id)).unwrap();
    (d.permit, d.reason.name().to_string(), d.rule.clone())
}

fn consent(policy_rule: Option<&str>, provision: Value) -> Value {
    let mut c = json!({
        "resourceType": "Consent", "id": "t", "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": "Patient/f001"}, "provision": provision
    });
    if let Some(rule) = policy_rule {
        c["policyRule"] = json!({"coding": [{"system": ACT, "code": rule}]});
    }
    c
}

fn actor(role: &str, reference: &str) -> Value {
    json!({"role": {"coding": [{"system": PT, "code": role}]}, "reference": {"reference": reference}})
}

const EVERYTHING_BUT_PATIENT: [&str; 7] = ["o-normal", "c-psy", "o-r", "m1", "d1", "i1", "example3"];

// ---------------------------------------------------------------------------
// Rule tables.

#[test]
fn rule_patient_right_of_access() {
    let r = record();
    let deny_all = consent(None, json!({"type": "deny"}));
    for consents in [vec![], vec![deny_all]] {
        assert!(hidden(&r, &viewer(Role::Patient, None), &consents).is_empty(), "the patient sees their whole record");
    }
    assert_eq!(why(&r, &viewer(Role::Patient, None), &[], "c-psy").1, "patientAccess");
}

#[test]
fn rule_defaults_by_role() {
    let r = record();
    // No Consent: a proxy sees what is not sensitive or restricted; a clinician all but V and Part 2.
    assert_eq!(hidden(&r, &proxy("caregiver", Some("RelatedPerson/rp1")), &[]), ["c-psy", "o-r"]);
    assert!(hidden(&r, &clinician("Practitioner/p1"), &[]).is_empty());
    assert_eq!(why(&r, &clinician("Practitioner/p1"), &[], "o-normal"), (true, "default".into(), "default: clinician".into()));
    let sud = labelled(json!({"resourceType": "Observation", "id": "o-sud", "status": "final", "code": {"text": "x"}}), &[(ACT, "SUD")]);
    let v = labelled(json!({"resourceType": "Observation", "id": "o-v", "status": "final", "code": {"text": "x"}}), &[(CONF, "V")]);
    let r = record_of("f001", "1980-01-01", vec![sud, v]);
    assert_eq!(hidden(&r, &clinician("Practitioner/p1"), &[]), ["o-sud", "o-v"]);
    assert_eq!(why(&r, &clinician("Practitioner/p1"), &[], "o-sud").2, "policy.clinicianSensitive: SUD");
    assert_eq!(why(&r, &clinician("Practitioner/p1"), &[], "o-v").1, "confidentiality");
}

#[test]
fn rule_proxy_sensitive_labels_need_a_consent_naming_the_proxy() {
    let r = record();
    let mom = proxy("caregiver", Some("RelatedPerson/mom"));
    assert_eq!(why(&r, &mom, &[], "c-psy"), (false, "sensitive".into(), "policy.proxySensitive: PSY".into()));
    // A generic opt-in does not reveal sensitive data to a proxy...
    let generic = consent(Some("OPTIN"), json!({}));
    assert_eq!(hidden(&r, &mom, &[generic]), ["c-psy", "o-r"]);
    // ...a permit that names this proxy does.
    let named = consent(None, json!({"type": "permit", "actor": [actor("IRCP", "RelatedPerson/mom")], "securityLabel": [{"system": ACT, "code": "PSY"}]}));
    assert_eq!(why(&r, &mom, std::slice::from_ref(&named), "c-psy"), (true, "consentPermit".into(), "Consent/t provision".into()));
    // Not another proxy.
    assert!(!why(&r, &proxy("caregiver", Some("RelatedPerson/dad")), &[named], "c-psy").0);
    // Every default code is withheld.
    for code in patient_portal_sdk::consent::DEFAULT_PROXY_SENSITIVE {
        let res = labelled(json!({"resourceType": "Observation", "id": "x", "status": "final", "code": {"text": "x"}}), &[(ACT, code)]);
        let r = record_of("f001", "1980-01-01", vec![res]);
        assert!(!why(&r, &mom, &[], "x").0, "{code}");
    }
}

#[test]
fn rule_confidentiality_r_and_v() {
    let v = labelled(json!({"resourceType": "Observation", "id": "o-v", "status": "final", "code": {"text": "x"}}), &[(CONF, "V")]);
    let r = record_of("f001", "1980-01-01", vec![v]);
    let mom = proxy("caregiver", Some("RelatedPerson/mom"));
    assert_eq!(why(&r, &mom, &[], "o-r").2, "policy.restricted: confidentiality R");
    assert!(why(&r, &clinician("Practitioner/p1"), &[], "o-r").0, "R is shown to clinicians by default");
    assert!(!why(&r, &clinician("Practitioner/p1"), &[], "o-v").0, "V is not");
    // A host policy can change who R and V are hidden from; V is above R, so
    // hiding R from a role hides V too.
    let open_v = Policy { very_restricted_hidden_from: vec![Role::Proxy], ..Policy::default() };
    let shown = visible(&r, &clinician("Practitioner/p1"), &open_v, &[]);
    assert!(shown.contains(&"o-r".to_string()) && shown.contains(&"o-v".to_string()));
    let closed_r = Policy { restricted_hidden_from: vec![Role::Proxy, Role::Clinician], very_restricted_hidden_from: vec![Role::Proxy], ..Policy::default() };
    let shown = visible(&r, &clinician("Practitioner/p1"), &closed_r, &[]);
    assert!(!shown.contains(&"o-r".to_string()) && !shown.contains(&"o-v".to_string()));
}

#[test]
fn rule_adolescent_record_narrows_for_parents_and_guardians() {
    let fourteen = record_of("f001", "2012-05-01", vec![]);
    let eight = record_of("f001", "2018-05-01", vec![]);
    let unknown = record_of("f001", "", vec![]);
    let parent = proxy("parent", Some("RelatedPerson/mom"));
    assert_eq!(visible(&fourteen, &parent, &Policy::default(), &[]), ["f001", "i1"]);
    assert_eq!(why(&fourteen, &parent, &[], "m1"), (false, "adolescent".into(), "policy.adolescentAge: patient is 14 (from 12)".into()));
    assert_eq!(hidden(&eight, &parent, &[]), ["c-psy", "o-r"]);
    assert_eq!(visible(&unknown, &proxy("guardian", None), &Policy::default(), &[]), ["f001", "i1"], "an unknown age counts as reached");
    assert_eq!(hidden(&fourteen, &proxy("caregiver", None), &[]), ["c-psy", "o-r"], "a caregiver is not narrowed by age");
    // The host sets the age and what stays visible.
    let policy = Policy { adolescent_age: 16, ..Policy::default() };
    assert!(visible(&fourteen, &parent, &policy, &[]).contains(&"m1".to_string()));
    // The adolescent can permit a parent by name.
    let permit = consent(None, json!({"type": "permit", "actor": [actor("IRCP", "RelatedPerson/mom")], "class": [{"system": "http://hl7.org/fhir/resource-types", "code": "MedicationRequest"}]}));
    assert!(why(&fourteen, &parent, &[permit], "m1").0);
}

#[test]
fn rule_consent_resources_are_not_shown_to_proxies() {
    let c = consent(Some("OPTIN"), json!({}));
    let r = record_of("f001", "1980-01-01", vec![c]);
    let mom = proxy("caregiver", Some("RelatedPerson/mom"));
    let d = decide(&r, &mom, &Policy::default(), &[]);
    let consent_decision = d.iter().find(|d| r.entries[d.entry].resource_type == "Consent").unwrap();
    assert!(!consent_decision.permit);
    assert_eq!(consent_decision.reason.name(), "consentResource");
    assert!(decide(&r, &clinician("Practitioner/p1"), &Policy::default(), &[]).iter().all(|d| d.permit || r.entries[d.entry].resource_type != "Consent"));
}

#[test]
fn rule_consent_in_force() {
    let r = record();
    let doc = clinician("Practitioner/p1");
    let deny = consent(None, json!({"type": "deny"}));
    assert_eq!(hidden(&r, &doc, std::slice::from_ref(&deny)), ["f001"].iter().chain(EVERYTHING_BUT_PATIENT.iter()).map(|s| s.to_string()).collect::<Vec<_>>());
    let mut inactive = deny.clone();
    inactive["status"] = json!("inactive");
    assert!(hidden(&r, &doc, &[inactive]).is_empty(), "only active consents");
    let mut research = deny.clone();
    research["scope"] = json!({"coding": [{"code": "research"}]});
    assert!(hidden(&r, &doc, &[research]).is_empty(), "only privacy consents");
    let mut other = deny.clone();
    other["patient"] = json!({"reference": "Patient/someone-else"});
    assert!(hidden(&r, &doc, &[other]).is_empty(), "only this patient's");
    // No patient named: a deny still applies (uncertain), a permit does not.
    let mut anonymous = deny.clone();
    anonymous.as_object_mut().unwrap().remove("patient");
    assert_eq!(why(&r, &doc, &[anonymous], "o-normal").1, "unevaluable");
    let mut anonymous_permit = consent(None, json!({"type": "permit", "actor": [actor("IRCP", "Practitioner/p1")]}));
    anonymous_permit.as_object_mut().unwrap().remove("patient");
    assert_eq!(why(&r, &doc, &[anonymous_permit], "o-normal").1, "default");
}

#[test]
fn rule_base_from_type_or_policy_rule() {
    let r = record();
    let doc = clinician("Practitioner/p1");
    assert_eq!(why(&r, &doc, &[consent(Some("OPTIN"), json!({}))], "o-normal").1, "consentPermit");
    assert_eq!(why(&r, &doc, &[consent(Some("OPTOUT"), json!({}))], "o-normal").1, "consentDeny");
    // An explicit root type wins over the policy rule.
    assert_eq!(why(&r, &doc, &[consent(Some("OPTOUT"), json!({"type": "permit"}))], "o-normal").1, "consentPermit");
    // Neither: the effect is unknown, and unknown withholds.
    assert_eq!(why(&r, &doc, &[consent(Some("HIPAA-Auth"), json!({}))], "o-normal"), (false, "unevaluable".into(), "Consent/t provision".into()));
    assert_eq!(why(&r, &doc, &[consent(None, json!({}))], "o-normal").1, "unevaluable");
}

#[test]
fn rule_provision_period() {
    let r = record();
    let c = consent(None, json!({"type": "deny", "period": {"start": "2015-01-01", "end": "2015-12-31"}}));
    assert!(hidden(&r, &clinician("Practitioner/p1"), std::slice::from_ref(&c)).is_empty(), "not in force now");
    let in_2015 = Viewer { at: at("2015-06-01T00:00:00Z"), ..clinician("Practitioner/p1") };
    assert_eq!(hidden(&r, &in_2015, std::slice::from_ref(&c)).len(), 8);
    let last_day = Viewer { at: at("2015-12-31T23:59:59Z"), ..clinician("Practitioner/p1") };
    assert_eq!(hidden(&r, &last_day, &[c]).len(), 8, "the end date is inclusive of its day");
}

#[test]
fn rule_actor() {
    let r = record();
    let c = consent(None, json!({"type": "deny", "actor": [actor("PRCP", "Practitioner/p1")]}));
    assert_eq!(why(&r, &clinician("Practitioner/p1"), std::slice::from_ref(&c), "o-normal"), (false, "consentDeny".into(), "Consent/t provision".into()));
    assert_eq!(why(&r, &clinician("https://ehr.example/fhir/Practitioner/p1"), std::slice::from_ref(&c), "o-normal").1, "consentDeny", "absolute URL, same party");
    assert!(why(&r, &clinician("Practitioner/p2"), std::slice::from_ref(&c), "o-normal").0);
    // A viewer without an actor reference might be the named party: a deny applies.
    assert_eq!(why(&r, &viewer(Role::Clinician, None), &[c], "o-normal").1, "unevaluable");
    // A custodian (CST) is not a recipient: unknown, so a deny applies and a permit does not.
    let custodian_deny = consent(None, json!({"type": "deny", "actor": [actor("CST", "Organization/f001")]}));
    assert_eq!(why(&r, &clinician("Practitioner/p2"), &[custodian_deny], "o-normal").1, "unevaluable");
    let custodian_permit = consent(None, json!({"type": "permit", "actor": [actor("CST", "Organization/f001")]}));
    assert_eq!(why(&r, &clinician("Practitioner/p2"), &[custodian_permit], "o-normal").1, "default");
}

#[test]
fn rule_action() {
    let r = record();
    let doc = clinician("Practitioner/p1");
    let with = |code: &str| consent(None, json!({"type": "deny", "action": [{"coding": [{"system": CA, "code": code}]}]}));
    assert!(!why(&r, &doc, &[with("access")], "o-normal").0, "viewing is access");
    assert!(why(&r, &doc, &[with("correct")], "o-normal").0);
    assert_eq!(why(&r, &doc, &[consent(None, json!({"type": "deny", "action": [{"coding": [{"system": "urn:x", "code": "view"}]}]}))], "o-normal").1, "unevaluable");
}

#[test]
fn rule_security_label_high_water_mark() {
    let r = record();
    let doc = clinician("Practitioner/p1");
    let with = |system: &str, code: &str| consent(None, json!({"type": "deny", "securityLabel": [{"system": system, "code": code}]}));
    // N covers unlabelled (normal) data and PSY-coded data at N, not R.
    let h = hidden(&r, &doc, &[with(CONF, "N")]);
    assert!(h.contains(&"o-normal".to_string()) && h.contains(&"c-psy".to_string()) && !h.contains(&"o-r".to_string()));
    assert!(hidden(&r, &doc, &[with(CONF, "R")]).contains(&"o-r".to_string()));
    assert!(!hidden(&r, &doc, &[with(CONF, "L")]).contains(&"o-normal".to_string()), "L is below normal");
    assert_eq!(hidden(&r, &doc, &[with(ACT, "PSY")]), ["c-psy"]);
}

#[test]
fn rule_purpose() {
    let r = record();
    let c = consent(None, json!({"type": "deny", "purpose": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HMARKT"}]}));
    let marketing = Viewer { purpose: Some("HMARKT".into()), ..clinician("Practitioner/p1") };
    assert!(!why(&r, &marketing, std::slice::from_ref(&c), "o-normal").0);
    let treatment = Viewer { purpose: Some("TREAT".into()), ..clinician("Practitioner/p1") };
    assert!(why(&r, &treatment, std::slice::from_ref(&c), "o-normal").0);
    assert!(why(&r, &clinician("Practitioner/p1"), &[c], "o-normal").0, "no purpose given: not this rule's purpose");
}

#[test]
fn rule_class() {
    let r = record();
    let doc = clinician("Practitioner/p1");
    let with = |system: &str, code: &str| consent(None, json!({"type": "deny", "class": [{"system": system, "code": code}]}));
    assert_eq!(hidden(&r, &doc, &[with("http://hl7.org/fhir/resource-types", "MedicationRequest")]), ["m1"]);
    assert_eq!(hidden(&r, &doc, &[with("urn:ietf:bcp:13", "application/hl7-cda+xml")]), ["d1"]);
    assert_eq!(hidden(&r, &doc, &[with("urn:example:classes", "labs")]).len(), 8, "an unknown class system: the deny applies");
}

#[test]
fn rule_code() {
    let r = record();
    let c = consent(None, json!({"type": "deny", "code": [{"coding": [{"system": "http://loinc.org", "code": "34133-9"}]}, {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}]}));
    assert_eq!(hidden(&r, &clinician("Practitioner/p1"), &[c]), ["o-normal", "d1"]);
}

#[test]
fn rule_data_period() {
    let r = record();
    let c = consent(None, json!({"type": "deny", "dataPeriod": {"start": "2016-01-01", "end": "2016-12-31"}}));
    // Data dated in 2016 is denied; undated data (Patient, Task) cannot be placed: withheld.
    assert_eq!(hidden(&r, &clinician("Practitioner/p1"), std::slice::from_ref(&c)), ["f001", "o-r", "m1", "d1", "i1", "example3"]);
    assert_eq!(why(&r, &clinician("Practitioner/p1"), &[c], "example3").1, "unevaluable");
}

#[test]
fn rule_data_references() {
    let r = record();
    let doc = clinician("Practitioner/p1");
    let with = |meaning: &str, reference: &str| consent(None, json!({"type": "deny", "data": [{"meaning": meaning, "reference": {"reference": reference}}]}));
    assert_eq!(hidden(&r, &doc, &[with("instance", "Observation/o-normal")]), ["o-normal"]);
    // related: the instance and what it refers to.
    assert_eq!(hidden(&r, &doc, &[with("related", "Task/example3")]), ["o-normal", "example3"]);
    // dependents: the instance and what refers to it.
    assert_eq!(hidden(&r, &doc, &[with("dependents", "Observation/o-normal")]), ["o-normal", "example3"]);
    assert_eq!(hidden(&r, &doc, &[with("authoredby", "Practitioner/13")]), ["m1"]);
}

#[test]
fn rule_nested_provisions_are_exceptions_and_deny_overrides_permit() {
    let r = record();
    let doc = clinician("Practitioner/p1");
    let class = |code: &str| json!([{"system": "http://hl7.org/fhir/resource-types", "code": code}]);
    // Opt out, except medication requests.
    let out_but_meds = consent(Some("OPTOUT"), json!({"provision": [{"type": "permit", "class": class("MedicationRequest")}]}));
    assert_eq!(visible(&r, &doc, &Policy::default(), &[out_but_meds]), ["m1"]);
    assert_eq!(why(&r, &doc, &[consent(Some("OPTOUT"), json!({"provision": [{"type": "permit", "class": class("MedicationRequest")}]}))], "m1").2, "Consent/t provision.provision[0]");
    // Opt in, except immunizations; and an exception's exception.
    let nested = consent(Some("OPTIN"), json!({"provision": [{"type": "deny", "class": class("Immunization"), "provision": [{"type": "permit", "period": {"start": "2000-01-01"}}]}, {"type": "deny", "class": class("Task")}]}));
    assert_eq!(hidden(&r, &doc, &[nested]), ["example3"]);
    // Permit and deny exceptions both matching: deny wins.
    let both = consent(Some("OPTIN"), json!({"provision": [{"type": "permit", "class": class("Task")}, {"type": "deny", "class": class("Task")}]}));
    assert_eq!(hidden(&r, &doc, &[both]), ["example3"]);
    // Across consents too.
    let permit = consent(Some("OPTIN"), json!({}));
    let deny = consent(None, json!({"type": "deny", "class": class("Task")}));
    assert_eq!(hidden(&r, &doc, &[permit, deny]), ["example3"]);
    // A nested provision without a type cannot be evaluated: withheld when it matches.
    let untyped = consent(Some("OPTIN"), json!({"provision": [{"class": class("Task")}]}));
    assert_eq!(why(&r, &doc, &[untyped], "example3"), (false, "unevaluable".into(), "Consent/t provision.provision[0]".into()));
}

// ---------------------------------------------------------------------------
// Official examples.

fn official(name: &str) -> Value {
    read_json(&format!("fhir/hl7-r4/consent/Consent-consent-example-{name}.json"))
}

fn patient_of(consent: &Value) -> String {
    consent["patient"]["reference"].as_str().unwrap().trim_start_matches("Patient/").to_string()
}

/// Every official R4 Consent example, with the viewers its structure speaks
/// about and the outcome this SDK gives (the narrative of some examples says
/// otherwise; the structured elements are what is evaluated).
#[test]
fn official_consent_examples() {
    let mut checked = 0;
    for name in ["Emergency", "Out", "basic", "grantor", "notAuthor", "notOrg", "notThem", "notThis", "notTime", "pkb", "signature", "smartonfhir"] {
        let c = official(name);
        let r = record_of(&patient_of(&c), "1980-01-01", vec![]);
        let cs = std::slice::from_ref(&c);
        let all: Vec<String> = r.entries.iter().map(|e| e.id.clone().unwrap()).collect();
        let none: Vec<String> = vec![];
        let only = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let f001 = clinician("Organization/f001");
        let other_org = clinician("Organization/other");
        let when = |t: &str, v: Viewer| Viewer { at: at(t), ..v };
        // The patient always sees everything.
        assert!(hidden(&r, &viewer(Role::Patient, None), cs).is_empty(), "{name}: patient");
        match name {
            // OPTOUT for custodian f001 in an emergency (ETREAT): the custodian
            // cannot be matched to a viewer, so with that purpose all is withheld.
            "Emergency" => {
                let etreat = Viewer { purpose: Some("ETREAT".into()), ..f001.clone() };
                assert_eq!(hidden(&r, &etreat, cs), all);
                assert_eq!(why(&r, &etreat, cs, "o-normal").1, "unevaluable");
                let treat = Viewer { purpose: Some("TREAT".into()), ..f001.clone() };
                assert_eq!(hidden(&r, &treat, cs), none, "{name}: other purposes are outside it");
            }
            // OPTOUT of sharing by custodian f001: withheld from every non-patient viewer.
            "Out" | "grantor" => {
                assert_eq!(hidden(&r, &f001, cs), all, "{name}");
                assert_eq!(hidden(&r, &proxy("caregiver", Some("RelatedPerson/x")), cs), all, "{name}");
            }
            // OPTIN, 1964–2016: in force in 2015, not now.
            "basic" => {
                assert_eq!(hidden(&r, &other_org, cs), none);
                assert_eq!(why(&r, &other_org, cs, "o-normal").1, "default");
                let then = when("2015-06-01T00:00:00Z", other_org.clone());
                assert_eq!(why(&r, &then, cs, "o-normal").1, "consentPermit");
                // A permit that names no one does not open sensitive data to a proxy.
                assert_eq!(hidden(&r, &when("2015-06-01T00:00:00Z", proxy("caregiver", Some("RelatedPerson/x"))), cs), only(&["c-psy", "o-r"]));
            }
            // OPTIN whose only actor is the custodian: a permit that cannot be matched does not apply.
            "notAuthor" => assert_eq!(why(&r, &other_org, cs, "o-normal").1, "default"),
            // Deny access to Organization/f001.
            "notOrg" => {
                assert_eq!(hidden(&r, &f001, cs), all);
                assert_eq!(why(&r, &f001, cs, "m1").1, "consentDeny");
                assert_eq!(hidden(&r, &other_org, cs), none);
            }
            // OPTIN naming Practitioner/f204: permits f204 by name (sensitive data included).
            "notThem" => {
                let f204 = clinician("Practitioner/f204");
                assert_eq!(why(&r, &f204, cs, "c-psy"), (true, "consentPermit".into(), "Consent/consent-example-notThem provision".into()));
                assert_eq!(why(&r, &other_org, cs, "c-psy").1, "default");
            }
            // OPTIN for Task/example3 and what it refers to.
            "notThis" => {
                assert_eq!(why(&r, &other_org, cs, "example3").1, "consentPermit");
                assert_eq!(why(&r, &other_org, cs, "o-normal").1, "consentPermit");
                assert_eq!(why(&r, &other_org, cs, "m1").1, "default");
            }
            // OPTIN in January 2015 only.
            "notTime" => {
                assert_eq!(why(&r, &other_org, cs, "o-normal").1, "default");
                assert_eq!(why(&r, &when("2015-01-15T00:00:00Z", other_org.clone()), cs, "o-normal").1, "consentPermit");
            }
            // OPTOUT for f001 up to confidentiality N, with nested provisions
            // that have no type: what they match is withheld as unevaluable;
            // the R-labelled result is above the root's N and falls to the default.
            "pkb" => {
                let h = hidden(&r, &f001, cs);
                assert!(h.contains(&"o-normal".to_string()) && h.contains(&"c-psy".to_string()) && !h.contains(&"o-r".to_string()), "{h:?}");
                assert_eq!(why(&r, &f001, cs, "c-psy").1, "unevaluable");
                assert_eq!(hidden(&r, &other_org, cs), none);
            }
            // OPTIN for Practitioner/13, Oct 2015 – Oct 2016.
            "signature" => {
                let p13 = clinician("Practitioner/13");
                assert_eq!(why(&r, &p13, cs, "o-normal").1, "default", "expired");
                let then = when("2016-01-01T00:00:00Z", p13.clone());
                assert_eq!(why(&r, &then, cs, "c-psy"), (true, "consentPermit".into(), "Consent/consent-example-signature provision".into()));
            }
            // OPTIN for 30 minutes on 2016-06-23, access to MedicationRequests.
            "smartonfhir" => {
                let peter = when("2016-06-23T17:10:00+10:00", proxy("caregiver", Some("RelatedPerson/peter")));
                assert_eq!(why(&r, &peter, cs, "m1"), (true, "consentPermit".into(), "Consent/consent-example-smartonfhir provision.provision[0]".into()));
                assert!(!why(&r, &peter, cs, "c-psy").0, "a permit naming no one does not open PSY to a proxy");
                let later = proxy("caregiver", Some("RelatedPerson/peter"));
                assert_eq!(why(&r, &later, cs, "m1").1, "default");
            }
            _ => unreachable!(),
        }
        checked += 1;
    }
    assert_eq!(checked, 12);
}

/// Every labelled example (DS4P IG, R4 security labels), for a patient, a
/// caregiver and a clinician: (file, resource id, caregiver sees, clinician sees).
#[test]
fn labelled_examples() {
    let cases: &[(&str, bool, bool)] = &[
        ("ds4p/extension-display-observation.json", true, true),
        ("ds4p/extension-display-patient.json", true, true),
        // Inline labels UNCERTREL, PATRPT: not sensitive.
        ("ds4p/extension-inline-sec-label-immunization.json", true, true),
        // Inline R on the SSN: the whole resource is treated as R.
        ("ds4p/extension-inline-sec-label-patient.json", false, true),
        ("ds4p/extension-sec-label-basis.json", false, true),
        ("ds4p/extension-sec-label-related-artifact-consent.json", false, true),
        ("ds4p/extension-sec-label-related-artifact-provenance.json", true, true),
        ("ds4p/extensions-sec-label-classifier.json", false, true),
        // TBOO is on the proxy list; V is withheld from clinicians too.
        ("hl7-r4/security-labels/Condition-f202.json", false, true),
        ("hl7-r4/security-labels/DocumentReference-example.json", false, false),
        // The entity labels describe the disclosed data, not the AuditEvent.
        ("hl7-r4/security-labels/AuditEvent-example-disclosure.json", true, true),
    ];
    for (file, caregiver_sees, clinician_sees) in cases {
        let resource = read_json(&format!("fhir/{file}"));
        let r = parse_record(resource.to_string().as_bytes()).unwrap();
        let sees = |v: &Viewer| decide(&r, v, &Policy::default(), &[])[0].permit;
        assert!(sees(&viewer(Role::Patient, None)), "{file}: patient");
        assert_eq!(sees(&proxy("caregiver", Some("RelatedPerson/rp"))), *caregiver_sees, "{file}: caregiver");
        assert_eq!(sees(&clinician("Practitioner/p")), *clinician_sees, "{file}: clinician");
    }
    // The XDS bundle: its DocumentReference is labelled N; everything is shown.
    let r = parse_record(&read("fhir/hl7-r4/security-labels/Bundle-xds.json")).unwrap();
    assert!(decide(&r, &proxy("caregiver", Some("RelatedPerson/rp")), &Policy::default(), &[]).iter().all(|d| d.permit));
}

// ---------------------------------------------------------------------------
// Property: adding a deny provision never makes more resources visible.

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn random_provision(rng: &mut Rng, depth: u32, nested: bool) -> Value {
    let mut p = json!({});
    if nested || rng.chance(50) {
        p["type"] = json!(*rng.pick(&["permit", "deny", "permit", "deny", "bogus"]));
        if nested && rng.chance(5) {
            p.as_object_mut().unwrap().remove("type");
        }
    }
    if rng.chance(30) {
        let role = *rng.pick(&["IRCP", "PRCP", "CST"]);
        let who = *rng.pick(&["RelatedPerson/mom", "Practitioner/p1", "Organization/f001", "Patient/f001"]);
        p["actor"] = json!([actor(role, who)]);
    }
    if rng.chance(25) {
        p["class"] = json!([{"system": "http://hl7.org/fhir/resource-types", "code": rng.pick(&["Observation", "Condition", "MedicationRequest", "Task", "Patient"])}]);
    }
    if rng.chance(25) {
        let (system, code) = *rng.pick(&[(CONF, "N"), (CONF, "R"), (ACT, "PSY"), (ACT, "HIV")]);
        p["securityLabel"] = json!([{"system": system, "code": code}]);
    }
    if rng.chance(15) {
        p["period"] = json!({"start": rng.pick(&["2010-01-01", "2020-01-01", "2030-01-01"])});
    }
    if rng.chance(15) {
        p["dataPeriod"] = json!({"end": rng.pick(&["2015-12-31", "2016-06-30"])});
    }
    if rng.chance(15) {
        p["action"] = json!([{"coding": [{"system": CA, "code": rng.pick(&["access", "correct"])}]}]);
    }
    if rng.chance(10) {
        p["data"] = json!([{"meaning": rng.pick(&["instance", "related", "dependents"]), "reference": {"reference": rng.pick(&["Task/example3", "Observation/o-normal"])}}]);
    }
    if depth < 2 && rng.chance(50) {
        let n = 1 + rng.next() % 3;
        p["provision"] = Value::Array((0..n).map(|_| random_provision(rng, depth + 1, true)).collect());
    }
    p
}

/// Adds `deny` somewhere in the provision tree (at the root's list or deeper).
fn add_deny(provision: &mut Value, deny: Value, rng: &mut Rng) {
    let children = provision.as_object_mut().unwrap().entry("provision").or_insert_with(|| json!([]));
    let list = children.as_array_mut().unwrap();
    if !list.is_empty() && rng.chance(50) {
        let i = (rng.next() % list.len() as u64) as usize;
        add_deny(&mut list[i], deny, rng);
    } else {
        list.push(deny);
    }
}

#[test]
fn property_a_deny_provision_never_reveals_more() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let records = [record(), record_of("f001", "2012-05-01", vec![])];
    let viewers = [
        viewer(Role::Patient, None),
        proxy("parent", Some("RelatedPerson/mom")),
        proxy("caregiver", None),
        clinician("Practitioner/p1"),
        clinician("Organization/f001"),
        Viewer { purpose: Some("TREAT".into()), ..viewer(Role::Clinician, None) },
    ];
    let mut cases = 0;
    let mut changed = 0;
    for _ in 0..400 {
        let rule = *rng.pick(&[Some("OPTIN"), Some("OPTOUT"), None]);
        let consents: Vec<Value> = (0..1 + rng.next() % 2).map(|_| consent(rule, random_provision(&mut rng, 0, false))).collect();
        let mut with_deny = consents.clone();
        let target = (rng.next() % with_deny.len() as u64) as usize;
        let mut deny = random_provision(&mut rng, 2, true);
        deny["type"] = json!("deny");
        add_deny(&mut with_deny[target]["provision"], deny, &mut rng);
        for r in &records {
            for v in &viewers {
                let before = visible(r, v, &Policy::default(), &consents);
                let after = visible(r, v, &Policy::default(), &with_deny);
                assert!(after.iter().all(|id| before.contains(id)), "a deny revealed {:?}\nbefore: {before:?}\nconsents: {}", after, serde_json::to_string(&with_deny).unwrap());
                cases += 1;
                changed += usize::from(after.len() < before.len());
            }
        }
    }
    assert_eq!(cases, 400 * 2 * 6);
    assert!(changed > 200, "the generated denies do withhold something often enough ({changed})");
}

// ---------------------------------------------------------------------------
// The chart after screening.

#[test]
fn withheld_references_are_not_followed_into_the_chart() {
    let report = json!({"resourceType": "DiagnosticReport", "id": "dr", "status": "final", "code": {"text": "Panel"},
        "result": [{"reference": "Observation/o-normal"}, {"reference": "Observation/hiv", "display": "HIV 1 antibody"}]});
    let hiv = labelled(json!({"resourceType": "Observation", "id": "hiv", "status": "final", "code": {"text": "HIV 1 antibody"}, "valueString": "Negative"}), &[(ACT, "HIV")]);
    let order = json!({"resourceType": "MedicationRequest", "id": "m2", "status": "active", "intent": "order",
        "medicationReference": {"reference": "Medication/secret", "display": "Buprenorphine"}, "requester": {"reference": "Practitioner/x", "display": "Dr. Addiction Clinic"}});
    let med = labelled(json!({"resourceType": "Medication", "id": "secret", "code": {"text": "Buprenorphine"}}), &[(ACT, "SUD")]);
    let r = record_of("f001", "1980-01-01", vec![report, hiv, order, med]);
    let screened = screen(r, &proxy("caregiver", Some("RelatedPerson/rp")), &Policy::default(), &[]);
    let mut options = RenderOptions::new(chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap());
    options.withheld = screened.notice;
    let html = to_html(&build_chart(&screened.record, &options));
    for secret in ["HIV 1 antibody", "Negative", "Buprenorphine", "Depressive episode", "Restricted result"] {
        assert!(!html.contains(secret), "{secret} is in the chart");
    }
    assert!(html.contains("Panel (1 result; 1 not shown, listed under Results)"), "the report says a result is not shown");
    assert!(html.contains("Some items in this record are not shown to you."));
    assert_eq!(screened.notice.unwrap().count, None);
    // The audit event lists every resource with its decision.
    let audit = &screened.audit();
    assert_eq!(audit["resourceType"], "AuditEvent");
    assert_eq!(audit["entity"].as_array().unwrap().len(), 12);
    let hiv_entity = audit["entity"].as_array().unwrap().iter().find(|e| e["what"]["reference"] == "Observation/hiv").unwrap();
    assert_eq!(hiv_entity["detail"][0]["valueString"], "withhold");
    assert_eq!(hiv_entity["detail"][2]["valueString"], "policy.proxySensitive: HIV");
    assert_eq!(hiv_entity["securityLabel"][0]["code"], "HIV");
    assert_eq!(audit["agent"][0]["who"]["reference"], "RelatedPerson/rp");
    // PSY condition, R result, HIV result, SUD medication.
    assert_eq!(screened.decisions.iter().filter(|d| !d.permit).count(), 4);
    // A clinician is told how many.
    let screened = screen(record(), &clinician("Practitioner/p1"), &Policy::default(), &[consent(None, json!({"type": "deny", "class": [{"system": "http://hl7.org/fhir/resource-types", "code": "Task"}]}))]);
    assert_eq!(screened.notice.unwrap().count, Some(1));
}
