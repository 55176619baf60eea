//! Consent and proxy access: one table of cases per rule (ARCHITECTURE.md,
//! "Consent rules"). Official examples, labelled examples, the property
//! test and the chart are in `consent_examples.rs`.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::consent_fixtures::*;
use patient_portal_sdk::consent::{decide, Policy, Role, Viewer};
use serde_json::json;
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
