//! Consent over the whole FHIR structure, adversarially: generated records
//! with Bundles inside Bundles, contained resources, every form of
//! reference (relative, versioned, absolute, `urn:uuid:`), a reference's
//! `display` and a narrative naming what it points at, security labels
//! under every name of their code system, and proxy relationships written
//! every way. Each resource carries a unique marker; for every viewer the
//! policy restricts, no marker of a withheld resource may reach the chart,
//! the resources handed to JavaScript, or the decisions and audit record,
//! and every marker of a shown resource must still be there.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::consent_fixtures::*;
use common::rng::Rng;
use patient_portal_sdk::consent::{screen, Policy, Role, Screened, Viewer, DEFAULT_CLINICIAN_SENSITIVE, DEFAULT_PROXY_SENSITIVE};
use patient_portal_sdk::render::{build_chart, to_html, RenderOptions};
use serde_json::{json, Value};

const CONF_SYSTEMS: [&str; 3] = [CONF, "http://hl7.org/fhir/v3/Confidentiality", "urn:oid:2.16.840.1.113883.5.25"];
const ACT_SYSTEMS: [&str; 3] = [ACT, "http://hl7.org/fhir/v3/ActCode", "urn:oid:2.16.840.1.113883.5.4"];
const PARENTAL: &[Option<&str>] = &[
    Some("parent"),
    Some("parent "),
    Some(" Parent"),
    Some("PRN"),
    Some("prn"),
    Some("MTH"),
    Some("FTH"),
    Some("GRD"),
    Some("STPPRN"),
    Some("NMTH"),
    Some("NFTH"),
    Some("stepparent"),
    Some("Step-parent"),
    Some("Legal Guardian"),
    Some("http://terminology.hl7.org/CodeSystem/v3-RoleCode|FTH"),
    // Unknown or absent: counted as a parent's.
    Some("auntie"),
    None,
];
const NOT_PARENTAL: &[&str] = &["caregiver", "Caregiver ", "FRND", "spouse"];
/// What a parent still sees of an adolescent's record.
const ADOLESCENT_VISIBLE: [&str; 3] = ["Patient", "Immunization", "AllergyIntolerance"];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Parent,
    Caregiver,
    Clinician,
}

#[derive(Debug, Clone)]
enum Label {
    None,
    Conf(&'static str, &'static str),
    Act(&'static str, &'static str),
    /// A code of another system (never a restriction).
    Other(&'static str, &'static str),
}

impl Label {
    fn restricts(&self, kind: Kind) -> bool {
        match (self, kind) {
            (Label::None | Label::Other(..), _) => false,
            (Label::Conf(_, "V"), _) => true,
            (Label::Conf(_, "R"), Kind::Parent | Kind::Caregiver) => true,
            (Label::Conf(..), _) => false,
            (Label::Act(_, code), Kind::Clinician) => DEFAULT_CLINICIAN_SENSITIVE.contains(code),
            (Label::Act(_, code), _) => DEFAULT_PROXY_SENSITIVE.contains(code),
        }
    }
}

/// One generated resource.
#[derive(Debug, Clone)]
struct Node {
    ty: &'static str,
    id: String,
    full_url: Option<String>,
    marker: Option<String>,
    label: Label,
    contained: Vec<Node>,
    /// A Bundle's entries.
    entries: Vec<Node>,
    /// References this resource makes (with their display), and whether a narrative names their targets.
    refs: Vec<Value>,
    narrative: Vec<String>,
}

impl Node {
    fn json(&self) -> Value {
        let mut r = json!({"resourceType": self.ty, "id": self.id});
        match &self.label {
            Label::None => {}
            Label::Conf(s, c) | Label::Act(s, c) | Label::Other(s, c) => r["meta"] = json!({"security": [{"system": s, "code": c}]}),
        }
        if let Some(m) = &self.marker {
            let concept = json!({"coding": [{"system": "http://snomed.info/sct", "code": "000000", "display": m}], "text": m});
            match self.ty {
                "Immunization" => {
                    r["vaccineCode"] = concept;
                    r["status"] = json!("completed");
                    r["occurrenceDateTime"] = json!("2020-01-01");
                }
                "MedicationRequest" => {
                    r["medicationCodeableConcept"] = concept;
                    r["status"] = json!("active");
                    r["intent"] = json!("order");
                }
                "Observation" => {
                    r["code"] = concept;
                    r["status"] = json!("final");
                    r["effectiveDateTime"] = json!("2020-01-01");
                }
                _ => r["code"] = concept,
            }
            if self.ty != "Medication" {
                r["subject"] = json!({"reference": "Patient/f001"});
            }
        }
        if !self.refs.is_empty() {
            let field = match self.ty {
                "Observation" => "derivedFrom",
                "Condition" => "evidence",
                "Provenance" => "target",
                _ => "reasonReference",
            };
            r[field] = if field == "evidence" { json!([{"detail": self.refs}]) } else { json!(self.refs) };
        }
        if !self.narrative.is_empty() {
            r["text"] =
                json!({"status": "generated", "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>{}</p></div>", self.narrative.join("; "))});
        }
        if !self.contained.is_empty() {
            r["contained"] = Value::Array(self.contained.iter().map(Node::json).collect());
        }
        if self.ty == "Bundle" {
            r["type"] = json!("document");
            r["entry"] = Value::Array(self.entries.iter().map(Node::entry).collect());
        }
        r
    }

    fn entry(&self) -> Value {
        let mut e = json!({"resource": self.json()});
        if let Some(u) = &self.full_url {
            e["fullUrl"] = json!(u);
        }
        e
    }

    /// Whether the policy withholds this resource on its own from `kind`;
    /// `age_type` is the type the adolescent rule looks at.
    fn restricted(&self, kind: Kind, age_type: &str) -> bool {
        self.label.restricts(kind) || (kind == Kind::Parent && !ADOLESCENT_VISIBLE.contains(&age_type))
    }

    /// Whether a top-level entry is withheld: it, or anything inside it.
    fn withheld(&self, kind: Kind, age_type: &str) -> bool {
        self.restricted(kind, age_type) || self.contained.iter().any(|c| c.withheld(kind, age_type)) || self.entries.iter().any(|e| e.withheld(kind, e.ty))
    }

    fn markers(&self, out: &mut Vec<String>) {
        out.extend(self.marker.clone());
        self.contained.iter().chain(&self.entries).for_each(|n| n.markers(out));
    }
}

struct Gen<'a> {
    rng: &'a mut Rng,
    case: usize,
    count: usize,
    /// Resources that can be referred to: (type, id, fullUrl, marker).
    targets: Vec<(&'static str, String, Option<String>, Option<String>)>,
}

impl Gen<'_> {
    fn label(&mut self) -> Label {
        match self.rng.below(10) {
            0..=2 => Label::None,
            3 => Label::Conf(self.rng.one(&CONF_SYSTEMS), self.rng.one(&["R", "V", "N", "R", "V"])),
            4 => Label::Other("http://example.org/not-confidentiality", "V"),
            _ => Label::Act(self.rng.one(&ACT_SYSTEMS), self.rng.one(&["PSY", "HIV", "SUD", "ETH", "OPIOIDUD", "PSYTHPN", "TBOO", "SDV", "TREAT", "HIV"])),
        }
    }

    fn node(&mut self, depth: u32, in_bundle: bool) -> Node {
        self.count += 1;
        let n = self.count;
        let ty = *self.rng.pick(&["Condition", "Observation", "Medication", "Immunization", "AllergyIntolerance", "MedicationRequest", "Procedure"]);
        let full_url = match self.rng.below(4) {
            0 => None,
            1 => Some(format!("https://ehr.example/fhir/{ty}/r{n}")),
            _ => Some(format!("urn:uuid:7d6c{:04}-{:04}-4c1e-9a3b-{:012}", self.case % 10_000, n, self.rng.below(1_000_000_000_000))),
        };
        let mut node = Node {
            ty,
            id: format!("r{n}"),
            full_url,
            marker: Some(format!("SECRET{:05}X{n:03}", self.case)),
            label: self.label(),
            contained: Vec::new(),
            entries: Vec::new(),
            refs: Vec::new(),
            narrative: Vec::new(),
        };
        if depth < 2 && self.rng.chance(30) {
            let k = 1 + self.rng.below(2);
            for _ in 0..k {
                self.count += 1;
                let c = self.count;
                let cty = *self.rng.pick(&["Condition", "Medication", "Observation", "Organization"]);
                let label = self.label();
                node.contained.push(Node {
                    ty: cty,
                    id: format!("c{c}"),
                    full_url: None,
                    marker: Some(format!("SECRET{:05}X{c:03}", self.case)),
                    label,
                    contained: Vec::new(),
                    entries: Vec::new(),
                    refs: Vec::new(),
                    narrative: Vec::new(),
                });
                // The container names its contained resource.
                let m = node.contained.last().unwrap().marker.clone().unwrap();
                node.refs.push(json!({"reference": format!("#c{c}"), "display": m}));
            }
        }
        if in_bundle || depth == 0 {
            self.targets.push((ty, node.id.clone(), node.full_url.clone(), node.marker.clone()));
        }
        node
    }

    fn bundle(&mut self, depth: u32) -> Node {
        self.count += 1;
        let n = self.count;
        let k = 1 + self.rng.below(3);
        let mut entries = Vec::new();
        for _ in 0..k {
            if depth < 2 && self.rng.chance(25) {
                entries.push(self.bundle(depth + 1));
            } else {
                entries.push(self.node(1, true));
            }
        }
        Node {
            ty: "Bundle",
            id: format!("b{n}"),
            full_url: self.rng.chance(50).then(|| format!("urn:uuid:0b0b{:04}-{n:04}-4c1e-9a3b-000000000000", self.case % 10_000)),
            marker: None,
            label: if self.rng.chance(15) { self.label() } else { Label::None },
            contained: Vec::new(),
            entries,
            refs: Vec::new(),
            narrative: Vec::new(),
        }
    }

    /// A reference to a target, in one of the forms that reach it.
    fn reference(&mut self, target: &(&'static str, String, Option<String>, Option<String>)) -> Value {
        let (ty, id, url, marker) = target;
        let v = 1 + self.rng.below(9);
        let mut forms = vec![
            format!("{ty}/{id}"),
            format!("{ty}/{id}/_history/{v}"),
            format!("https://other.example/fhir/R4/{ty}/{id}"),
            format!("https://other.example/fhir/{ty}/{id}/_history/{v}"),
        ];
        if let Some(u) = url {
            forms.push(u.clone());
            forms.push(u.clone());
        }
        let mut r = json!({"reference": self.rng.pick(&forms)});
        if let Some(m) = marker {
            r["display"] = json!(m);
        }
        r
    }

    /// Resources that refer to the others, naming them in `display` and in their narrative.
    fn referrer(&mut self) -> Node {
        let mut node = self.node(1, false);
        node.ty = *self.rng.pick(&["Immunization", "Immunization", "AllergyIntolerance", "Observation", "MedicationRequest"]);
        node.label = if self.rng.chance(20) { self.label() } else { Label::None };
        node.contained.clear();
        node.refs.clear();
        let k = 1 + self.rng.below(3);
        for _ in 0..k {
            let t = self.rng.pick(&self.targets.clone()).clone();
            let r = self.reference(&t);
            node.narrative.extend(t.3.clone());
            if self.rng.chance(25) {
                // From a contained resource of the referrer.
                self.count += 1;
                node.contained.push(Node {
                    ty: "Provenance",
                    id: format!("p{}", self.count),
                    full_url: None,
                    marker: None,
                    label: Label::None,
                    contained: Vec::new(),
                    entries: Vec::new(),
                    refs: vec![r],
                    narrative: Vec::new(),
                });
            } else {
                node.refs.push(r);
            }
        }
        node
    }
}

/// A generated record: the Patient (14 on the evaluation date), labelled
/// resources, Bundles inside it, and resources referring to all of these.
fn generate(rng: &mut Rng, case: usize) -> (Vec<Node>, Value) {
    let mut g = Gen { rng, case, count: 0, targets: Vec::new() };
    let mut nodes = Vec::new();
    for _ in 0..2 + g.rng.below(4) {
        let n = if g.rng.chance(25) { g.bundle(0) } else { g.node(0, false) };
        nodes.push(n);
    }
    for _ in 0..1 + g.rng.below(3) {
        let r = g.referrer();
        nodes.push(r);
    }
    let patient = json!({"resourceType": "Patient", "id": "f001", "birthDate": "2012-05-01", "name": [{"family": "Test", "given": ["Pat"]}]});
    let mut entries = vec![json!({"fullUrl": "https://ehr.example/fhir/Patient/f001", "resource": patient})];
    entries.extend(nodes.iter().map(Node::entry));
    (nodes, json!({"resourceType": "Bundle", "type": "collection", "entry": entries}))
}

fn viewer_of(rng: &mut Rng, kind: Kind) -> Viewer {
    let v = match kind {
        Kind::Parent => Viewer { relationship: rng.pick(PARENTAL).map(str::to_string), ..viewer(Role::Proxy, Some("RelatedPerson/rp")) },
        Kind::Caregiver => proxy(rng.one(NOT_PARENTAL), Some("RelatedPerson/rp")),
        Kind::Clinician => clinician("Practitioner/p1"),
    };
    Viewer { at: at(NOW), ..v }
}

/// Everything a host sees of a screening: the chart, the resources handed
/// to JavaScript (`resources()`), the decisions (`decisions()`) and the audit record.
fn surfaces(screened: &Screened) -> [(&'static str, String); 3] {
    let mut options = RenderOptions::new(patient_portal_sdk::fhir::Date::from_ymd(2026, 11, 22).unwrap());
    options.withheld = screened.notice;
    let html = to_html(&build_chart(&screened.record, &options));
    let resources = screened.record.entries.iter().map(|e| e.raw.to_string()).collect::<Vec<_>>().join("\n");
    let decisions = screened
        .decisions
        .iter()
        .map(|d| format!("{} {:?} {:?} {} {} {}", d.resource_type, d.id, d.full_url, d.permit, d.reason.name(), d.rule))
        .chain([screened.audit().to_string()])
        .collect::<Vec<_>>()
        .join("\n");
    [("chart", html), ("resources()", resources), ("decisions()/auditEvent()", decisions)]
}

#[test]
fn property_no_withheld_text_reaches_any_surface() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let cases = 1000;
    let (mut screenings, mut withheld_total, mut shown_total) = (0, 0, 0);
    let mut nested_withheld = 0;
    let mut contained_withheld = 0;
    for case in 0..cases {
        let (nodes, bundle) = generate(&mut rng, case);
        let record = patient_portal_sdk::fhir::parse_record(bundle.to_string().as_bytes()).unwrap();
        for kind in [Kind::Parent, Kind::Caregiver, Kind::Clinician] {
            let v = viewer_of(&mut rng, kind);
            let screened = screen(record.clone(), &v, &Policy::default(), &[]);
            screenings += 1;
            let (mut secret, mut shown) = (Vec::new(), Vec::new());
            for n in &nodes {
                let out = if n.withheld(kind, n.ty) { &mut secret } else { &mut shown };
                n.markers(out);
                if n.withheld(kind, n.ty) && !n.restricted(kind, n.ty) {
                    if n.ty == "Bundle" {
                        nested_withheld += 1;
                    } else {
                        contained_withheld += 1;
                    }
                }
            }
            withheld_total += secret.len();
            shown_total += shown.len();
            let context = || format!("case {case}, {kind:?} {:?}\nrecord: {bundle}", v.relationship);
            let surfaces = surfaces(&screened);
            for (name, text) in &surfaces {
                for s in &secret {
                    assert!(!text.contains(s.as_str()), "{s} (withheld) reaches {name}; {}", context());
                }
            }
            // Not vacuous: what is shown is there, as it was received.
            for s in &shown {
                assert!(surfaces[1].1.contains(s.as_str()), "{s} (shown) is missing from resources(); {}", context());
            }
            let expected_withheld = nodes.iter().filter(|n| n.withheld(kind, n.ty)).count();
            assert_eq!(screened.decisions.iter().filter(|d| !d.permit).count(), expected_withheld, "{}", context());
        }
    }
    assert_eq!(screenings, cases * 3);
    // The generator exercises what it means to: many withheld and shown
    // markers, and resources withheld only for what is inside them.
    assert!(withheld_total > 5_000 && shown_total > 2_000, "withheld {withheld_total}, shown {shown_total}");
    assert!(nested_withheld > 100 && contained_withheld > 100, "nested {nested_withheld}, contained {contained_withheld}");
}

// ---------------------------------------------------------------------------
// The review's findings, one by one, on a real IPS document (HL7 fhir-ips).

fn ips() -> Value {
    common::read_json("fhir/ips/bundle-minimal.json")
}

fn entry_mut<'a>(bundle: &'a mut Value, ty: &str) -> &'a mut Value {
    bundle["entry"].as_array_mut().unwrap().iter_mut().map(|e| &mut e["resource"]).find(|r| r["resourceType"] == ty).unwrap()
}

fn open(bundle: &Value, v: &Viewer) -> Screened {
    screen(patient_portal_sdk::fhir::parse_record(bundle.to_string().as_bytes()).unwrap(), v, &Policy::default(), &[])
}

const CONDITION: &str = "Menopausal flushing";

#[test]
fn an_ips_document_inside_a_collection_is_withheld_with_its_labelled_condition() {
    let mut document = ips();
    entry_mut(&mut document, "Condition")["meta"] = json!({"security": [{"system": "http://hl7.org/fhir/v3/ActCode", "code": "PSY"}]});
    let patient = entry_mut(&mut document, "Patient").clone();
    let collection = json!({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": patient}, {"resource": document}]});
    let caregiver = proxy("caregiver", Some("RelatedPerson/rp"));
    let screened = open(&collection, &caregiver);
    let bundle = screened.decisions.iter().find(|d| d.resource_type == "Bundle").unwrap();
    assert!(!bundle.permit);
    assert_eq!(bundle.reason.name(), "sensitive");
    assert_eq!(bundle.rule, "entry Condition/ad84b7a2-b4dd-474e-bef3-0779e6cb595f: policy.proxySensitive: PSY");
    for (name, text) in surfaces(&screened) {
        assert!(!text.contains(CONDITION), "{name}");
    }
    // The patient sees it all.
    let own = open(&collection, &viewer(Role::Patient, None));
    assert!(own.decisions.iter().all(|d| d.permit) && surfaces(&own)[1].1.contains(CONDITION));
}

#[test]
fn an_ips_resource_with_a_labelled_contained_resource_is_withheld() {
    let mut document = ips();
    let statement = entry_mut(&mut document, "MedicationStatement");
    statement["contained"] = json!([{"resourceType": "Condition", "id": "why", "code": {"text": "Opioid use disorder"},
        "meta": {"security": [{"system": "urn:oid:2.16.840.1.113883.5.4", "code": "OPIOIDUD"}]}}]);
    statement["reasonReference"] = json!([{"reference": "#why", "display": "Opioid use disorder"}]);
    for v in [proxy("caregiver", None), clinician("Practitioner/p1")] {
        let screened = open(&document, &v);
        let d = screened.decisions.iter().find(|d| d.resource_type == "MedicationStatement").unwrap();
        assert_eq!(
            (d.permit, d.rule.as_str()),
            (
                false,
                if v.role == Role::Proxy {
                    "contained Condition/why: policy.proxySensitive: OPIOIDUD"
                } else {
                    "contained Condition/why: policy.clinicianSensitive: OPIOIDUD"
                }
            )
        );
        for (name, text) in surfaces(&screened) {
            assert!(!text.contains("Opioid use disorder"), "{name}");
        }
    }
}

#[test]
fn a_versioned_reference_to_a_withheld_resource_keeps_no_display_and_its_narratives_go() {
    let mut document = ips();
    let med_id = entry_mut(&mut document, "Medication")["id"].as_str().unwrap().to_string();
    entry_mut(&mut document, "Medication")["meta"] = json!({"security": [{"system": "http://hl7.org/fhir/v3/Confidentiality", "code": "R"}]});
    let statement = entry_mut(&mut document, "MedicationStatement");
    statement["medicationReference"] = json!({"reference": format!("Medication/{med_id}/_history/2"), "display": "Arimidex 1 mg tablet"});
    statement["text"] = json!({"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Arimidex 1 mg tablet daily</div>"});
    entry_mut(&mut document, "Condition")["meta"] = json!({"security": [{"system": "urn:oid:2.16.840.1.113883.5.25", "code": "V"}]});
    let screened = open(&document, &clinician("Practitioner/p1"));
    let resources = &surfaces(&screened)[1].1;
    // V (under its OID) is withheld from a clinician; R (under the DSTU2 URI) is not.
    assert!(!resources.contains(CONDITION) && resources.contains("Arimidex"));
    let composition = &screened.record.entries.iter().find(|e| e.resource_type == "Composition").unwrap().raw;
    assert!(
        composition["section"].as_array().unwrap().iter().all(|s| s.get("text").is_none()),
        "the Composition refers to the withheld Condition: its narratives go"
    );
    let caregiver = open(&document, &proxy("Caregiver ", None));
    let statement = &caregiver.record.entries.iter().find(|e| e.resource_type == "MedicationStatement").unwrap().raw;
    assert_eq!(statement["medicationReference"], json!({"reference": format!("Medication/{med_id}/_history/2")}));
    assert!(statement.get("text").is_none());
    for (name, text) in surfaces(&caregiver) {
        assert!(!text.contains("Arimidex") && !text.contains(CONDITION), "{name}");
    }
}

#[test]
fn the_adolescent_rule_reads_every_way_of_writing_a_parent() {
    let r = record_of("f001", "2012-05-01", vec![]);
    for relationship in PARENTAL.iter().copied() {
        let v = Viewer { relationship: relationship.map(str::to_string), ..proxy("", Some("RelatedPerson/rp")) };
        assert_eq!(visible(&r, &v, &Policy::default(), &[]), ["f001", "i1"], "{relationship:?}");
    }
    for relationship in NOT_PARENTAL {
        assert_eq!(hidden(&r, &proxy(relationship, None), &[]), ["c-psy", "o-r"], "{relationship:?}");
    }
    // The audit record names the relationship by its v3 RoleCode.
    let audit = screen(r, &proxy("Step-parent", None), &Policy::default(), &[]).audit();
    assert_eq!(audit["agent"][0]["role"][0]["coding"][0]["code"], "STPPRN");
}

#[test]
fn open_jwe_screened_returns_only_what_the_viewer_may_see() {
    use patient_portal_sdk::pipeline::{open_jwe_screened, Audience, OpenOptions, Stage};
    use patient_portal_sdk::unseal::{seal, ContentKey, SealOptions};
    let mut document = ips();
    entry_mut(&mut document, "Condition")["meta"] = json!({"security": [{"system": "http://hl7.org/fhir/v3/Confidentiality", "code": "R"}]});
    let key = ContentKey::from_bytes(&[7; 32]).unwrap();
    let jwe = seal(document.to_string().as_bytes(), &key, [3; 12], &SealOptions { deflate: true, content_type: None }).unwrap();
    let caregiver = proxy("caregiver", None);
    let audience = Audience { viewer: &caregiver, policy: &Policy::default(), consents: &[] };
    let mut stages = Vec::new();
    let screened = open_jwe_screened(&jwe, &key, &OpenOptions::default(), audience, &mut |s| stages.push(s)).unwrap();
    assert_eq!(stages, [Stage::Decrypt, Stage::Parse, Stage::Consent, Stage::Ready]);
    assert_eq!(screened.record.withheld_count(), 1);
    for (name, text) in surfaces(&screened) {
        assert!(!text.contains(CONDITION), "{name}");
    }
}
