//! Consent and proxy access on real examples: every official R4 Consent
//! example and every labelled DS4P / R4 security-label example with a stated
//! outcome, a property test (a deny provision never makes more visible), and
//! the chart's handling of references to withheld resources.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::consent_fixtures::*;
use common::rng::Rng;
use common::*;
use patient_portal_sdk::consent::{decide, screen, Policy, Role, Viewer};
use patient_portal_sdk::fhir::parse_record;
use patient_portal_sdk::render::{build_chart, to_html, RenderOptions};
use serde_json::{json, Value};

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
        p["class"] =
            json!([{"system": "http://hl7.org/fhir/resource-types", "code": rng.pick(&["Observation", "Condition", "MedicationRequest", "Task", "Patient"])}]);
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
                assert!(
                    after.iter().all(|id| before.contains(id)),
                    "a deny revealed {:?}\nbefore: {before:?}\nconsents: {}",
                    after,
                    serde_json::to_string(&with_deny).unwrap()
                );
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
    let hiv = labelled(
        json!({"resourceType": "Observation", "id": "hiv", "status": "final", "code": {"text": "HIV 1 antibody"}, "valueString": "Negative"}),
        &[(ACT, "HIV")],
    );
    let order = json!({"resourceType": "MedicationRequest", "id": "m2", "status": "active", "intent": "order",
        "medicationReference": {"reference": "Medication/secret", "display": "Buprenorphine"}, "requester": {"reference": "Practitioner/x", "display": "Dr. Addiction Clinic"}});
    let med = labelled(json!({"resourceType": "Medication", "id": "secret", "code": {"text": "Buprenorphine"}}), &[(ACT, "SUD")]);
    let r = record_of("f001", "1980-01-01", vec![report, hiv, order, med]);
    let screened = screen(r, &proxy("caregiver", Some("RelatedPerson/rp")), &Policy::default(), &[]);
    let mut options = RenderOptions::new(patient_portal_sdk::fhir::Date::from_ymd(2026, 11, 22).unwrap());
    options.withheld = screened.notice;
    let html = to_html(&build_chart(&screened.record, &options));
    for secret in ["HIV 1 antibody", "Negative", "Buprenorphine", "Depressive episode", "Restricted result"] {
        assert!(!html.contains(secret), "{secret} is in the chart");
    }
    assert!(html.contains("<span class=\"group-title\">Panel</span> <span class=\"detail\">1 not shown</span>"), "the report says a result is not shown");
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
    let screened = screen(
        record(),
        &clinician("Practitioner/p1"),
        &Policy::default(),
        &[consent(None, json!({"type": "deny", "class": [{"system": "http://hl7.org/fhir/resource-types", "code": "Task"}]}))],
    );
    assert_eq!(screened.notice.unwrap().count, Some(1));
}
