//! A read-only FHIR R4 API over the embedded sample patients, under `/fhir/`.
//!
//! The index is built once at start from the sample bundles
//! ([`crate::demo::SAMPLES`]): every entry becomes the resource `Type/id`
//! (its own `id`, or the uuid of its `urn:uuid:` fullUrl), and every reference
//! inside it that names another entry's fullUrl (`urn:uuid:X`) is rewritten to
//! that entry's `Type/id`. A bundle's Patient is a patient of the API; its
//! compartment is every resource of its bundle.
//!
//! | route | answer |
//! |---|---|
//! | `GET /fhir/metadata` | the CapabilityStatement (no token needed) |
//! | `GET /fhir/{Type}/{id}` | read |
//! | `GET /fhir/Patient/{id}/$everything` | the patient's whole bundle, paged (`_count`, `_offset`, `_type`) |
//! | `GET /fhir/{Type}?patient={id}` | search (`patient`/`subject`, `_id`, `category`, `_include`, `_count`, `_offset`) |
//! | `OPTIONS /fhir/...` | CORS preflight (204) |
//!
//! Everything but `metadata` needs `Authorization: Bearer <token>`, a token
//! drawn at each start and printed with the demo links; without it the answer
//! is 401 with `WWW-Authenticate: Bearer`. Searches answer searchset Bundles
//! with `total`, absolute `self` and `next` links (paging by `_offset`) and
//! `search.mode`. Errors are OperationOutcomes: 404 for unknown types, ids and
//! routes, 400 for bad parameter values and for parameters the route does not
//! know (unless the request says `Prefer: handling=lenient`, which ignores
//! them), 405 for methods other than GET, HEAD and OPTIONS.

use std::collections::{BTreeSet, HashMap, HashSet};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::http::{header, json_text, percent_decode, preflight};
use crate::links::FHIR_JSON;
use crate::web::{Method, Request, ResponseBox};

mod search;

use search::{capability, Context, Params};

/// Page size when a search sets no `_count`.
pub const DEFAULT_COUNT: usize = 50;
/// Largest page; a larger `_count` is served as this.
pub const MAX_COUNT: usize = 500;
/// Types searchable by `category`.
const CATEGORY_TYPES: &[&str] = &["CarePlan", "Condition", "DiagnosticReport", "Observation"];
/// The one `_include` supported.
const INCLUDE_MEDICATION: &str = "MedicationRequest:medication";
const EVERYTHING: &str = "http://hl7.org/fhir/OperationDefinition/Patient-everything";
/// Parameters every search and `$everything` accept.
const PAGING: &[&str] = &["_count", "_offset", "_format", "_pretty"];

/// The element behind the R4 `patient` search parameter, by resource type.
const PATIENT_ELEMENTS: &[(&str, &str)] = &[
    ("AllergyIntolerance", "patient"),
    ("CarePlan", "subject"),
    ("CareTeam", "subject"),
    ("Claim", "patient"),
    ("Condition", "subject"),
    ("Coverage", "beneficiary"),
    ("Device", "patient"),
    ("DiagnosticReport", "subject"),
    ("DocumentReference", "subject"),
    ("Encounter", "subject"),
    ("ExplanationOfBenefit", "patient"),
    ("Goal", "subject"),
    ("ImagingStudy", "subject"),
    ("Immunization", "patient"),
    ("MedicationAdministration", "subject"),
    ("MedicationDispense", "subject"),
    ("MedicationRequest", "subject"),
    ("MedicationStatement", "subject"),
    ("Observation", "subject"),
    ("Procedure", "subject"),
    ("ServiceRequest", "subject"),
];

fn patient_element(kind: &str) -> Option<&'static str> {
    PATIENT_ELEMENTS.iter().find(|(t, _)| *t == kind).map(|&(_, element)| element)
}

/// A FHIR id: 1 to 64 of `A-Z a-z 0-9 - .`.
pub fn is_id(text: &str) -> bool {
    (1..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// Shaped like a resource type name.
fn is_type(text: &str) -> bool {
    (1..=64).contains(&text.len()) && text.bytes().next().is_some_and(|b| b.is_ascii_uppercase()) && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `Type`, `id`.
type Key = (String, String);

/// One resource as served, with what the searches look at.
struct Stored {
    json: Box<RawValue>,
    /// The patient its `patient` search parameter points to.
    patient: Option<String>,
    /// `(system, code)` of every category coding.
    categories: Vec<(Option<String>, Option<String>)>,
    /// The Medication of a MedicationRequest's `medicationReference`.
    medication: Option<String>,
}

impl Stored {
    fn new(kind: &str, resource: &Value) -> Result<Self, String> {
        let reference = |element: &str| resource.get(element)?.get("reference")?.as_str();
        let patient = patient_element(kind).and_then(reference).and_then(|r| r.strip_prefix("Patient/")).filter(|id| is_id(id)).map(str::to_owned);
        let medication = (kind == "MedicationRequest")
            .then(|| reference("medicationReference"))
            .flatten()
            .and_then(|r| r.strip_prefix("Medication/"))
            .filter(|id| is_id(id))
            .map(str::to_owned);
        let concepts: Vec<&Value> = match resource.get("category") {
            Some(Value::Array(list)) => list.iter().collect(),
            Some(concept @ Value::Object(_)) => vec![concept],
            _ => Vec::new(),
        };
        let text = |coding: &Value, name: &str| coding.get(name).and_then(Value::as_str).map(str::to_owned);
        let categories = concepts
            .iter()
            .filter_map(|c| c.get("coding").and_then(Value::as_array))
            .flatten()
            .map(|coding| (text(coding, "system"), text(coding, "code")))
            .collect();
        let json = serde_json::value::to_raw_value(resource).map_err(|e| e.to_string())?;
        Ok(Self { json, patient, categories, medication })
    }
}

/// A sample patient: the sample's display name and the Patient id.
pub struct SamplePatient {
    pub name: String,
    pub id: String,
}

/// Every resource of the samples, by `Type/id`, and the patients' compartments.
#[derive(Default)]
pub struct Index {
    resources: HashMap<Key, Stored>,
    /// Keys in the order first seen (the order of type searches).
    order: Vec<Key>,
    /// Patient id → the keys of its bundle, in bundle order.
    compartments: HashMap<String, Vec<Key>>,
    patients: Vec<SamplePatient>,
    types: BTreeSet<String>,
}

/// Replaces every `reference` that names an entry's fullUrl with its `Type/id`.
fn rewrite(value: &mut Value, targets: &HashMap<String, String>) {
    match value {
        Value::Object(map) => {
            for (name, item) in map.iter_mut() {
                match item {
                    Value::String(text) if name == "reference" => {
                        if let Some(target) = targets.get(text.as_str()) {
                            target.clone_into(text);
                        }
                    }
                    _ => rewrite(item, targets),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rewrite(item, targets)),
        _ => {}
    }
}

impl Index {
    /// Indexes bundles given as (display name, JSON bytes). Entries without a
    /// resource type or a usable id are left out; each bundle needs a Patient.
    pub fn build(samples: &[(&str, &[u8])]) -> Result<Self, String> {
        let mut index = Self::default();
        for &(name, bytes) in samples {
            let bundle: Value = serde_json::from_slice(bytes).map_err(|e| format!("sample {name}: {e}"))?;
            let entries = bundle.get("entry").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            let mut targets = HashMap::new();
            let mut keyed = Vec::new();
            for entry in entries {
                let Some(resource) = entry.get("resource").filter(|r| r.is_object()) else { continue };
                let Some(kind) = resource.get("resourceType").and_then(Value::as_str).filter(|t| is_type(t)) else {
                    continue;
                };
                let full_url = entry.get("fullUrl").and_then(Value::as_str);
                let id = match resource.get("id").and_then(Value::as_str) {
                    Some(id) => Some(id),
                    None => full_url.and_then(|url| url.strip_prefix("urn:uuid:")),
                };
                let Some(id) = id.filter(|id| is_id(id)) else { continue };
                if let Some(url) = full_url {
                    targets.insert(url.to_owned(), format!("{kind}/{id}"));
                }
                keyed.push(((kind.to_owned(), id.to_owned()), resource));
            }
            let patient =
                keyed.iter().find(|((kind, _), _)| kind == "Patient").map(|((_, id), _)| id.clone()).ok_or_else(|| format!("sample {name}: no Patient"))?;
            let compartment = index.compartments.entry(patient.clone()).or_default();
            let mut members: HashSet<Key> = compartment.iter().cloned().collect();
            for (key, resource) in keyed {
                if !index.resources.contains_key(&key) {
                    let mut resource = resource.clone();
                    if let Some(object) = resource.as_object_mut() {
                        object.insert("id".into(), Value::String(key.1.clone()));
                    }
                    rewrite(&mut resource, &targets);
                    let stored = Stored::new(&key.0, &resource).map_err(|e| format!("sample {name}: {e}"))?;
                    index.resources.insert(key.clone(), stored);
                    index.order.push(key.clone());
                    index.types.insert(key.0.clone());
                }
                if members.insert(key.clone()) {
                    compartment.push(key);
                }
            }
            index.patients.push(SamplePatient { name: name.to_owned(), id: patient });
        }
        Ok(index)
    }

    /// The samples' patients, in sample order.
    pub fn patients(&self) -> &[SamplePatient] {
        &self.patients
    }

    fn get(&self, kind: &str, id: &str) -> Option<&Stored> {
        self.resources.get(&(kind.to_owned(), id.to_owned()))
    }
}

/// The API: the index, the bearer token and how to build absolute URLs.
pub struct Api {
    index: Index,
    token: Zeroizing<String>,
    /// `--public-url`, when given: links are built on it.
    public_base: Option<String>,
    /// Used when there is no `--public-url` and no usable `Host` header.
    fallback_base: String,
    /// `date` of the CapabilityStatement: the start time.
    started: String,
}

impl Api {
    /// Draws a fresh token.
    pub fn new(index: Index, public_base: Option<String>, fallback_base: String) -> Self {
        let token = Zeroizing::new(URL_SAFE_NO_PAD.encode(crate::random::<32>()));
        let started = chrono::DateTime::from_timestamp(crate::now(), 0).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        Self { index, token, public_base, fallback_base, started }
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The FHIR base URL as the client sees it: `--public-url`, else the
    /// request's `Host`, else the loopback address; with `/fhir`.
    fn base(&self, request: &Request) -> String {
        if let Some(public) = &self.public_base {
            return format!("{public}/fhir");
        }
        let host = request_header(request, "Host")
            .filter(|host| (1..=255).contains(&host.len()) && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')));
        match host {
            Some(host) => format!("http://{host}/fhir"),
            None => format!("{}/fhir", self.fallback_base),
        }
    }

    fn authorize(&self, request: &Request) -> Auth {
        let Some(value) = request_header(request, "Authorization") else { return Auth::Missing };
        let Some((scheme, token)) = value.trim().split_once(' ') else { return Auth::Missing };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Auth::Missing;
        }
        let (given, expected) = (token.trim().as_bytes(), self.token.as_bytes());
        let same = given.len() == expected.len() && given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        if same {
            Auth::Granted
        } else {
            Auth::Wrong
        }
    }
}

enum Auth {
    Granted,
    Missing,
    Wrong,
}

fn request_header<'r>(request: &'r Request, name: &'static str) -> Option<&'r str> {
    request.header(name)
}

// ------------------------------------------------------------------ answers

fn fhir_json(status: u16, body: String) -> ResponseBox {
    json_text(status, FHIR_JSON, body)
}

/// An OperationOutcome with one error issue.
fn outcome(status: u16, code: &str, message: &str) -> ResponseBox {
    let body = json!({
        "resourceType": "OperationOutcome",
        "issue": [{ "severity": "error", "code": code, "details": { "text": message } }],
    });
    fhir_json(status, body.to_string())
}

fn bad_request(message: &str) -> ResponseBox {
    outcome(400, "invalid", message)
}

fn unauthorized(auth: &Auth) -> ResponseBox {
    let (challenge, message) = match auth {
        Auth::Wrong => (r#"Bearer realm="fhir", error="invalid_token""#, "the access token is not valid"),
        _ => (r#"Bearer realm="fhir""#, "an access token is required: Authorization: Bearer <token>"),
    };
    outcome(401, "login", message).with_header(header("WWW-Authenticate", challenge))
}

/// Answers one request under `/fhir` (the caller adds the CORS origin header).
pub fn route(request: &Request, method: Method, path: &str, query: Option<&str>, api: &Api) -> ResponseBox {
    if method == Method::Options {
        return preflight("GET, HEAD, OPTIONS", "Authorization, Accept");
    }
    if !matches!(method, Method::Get | Method::Head) {
        return outcome(405, "not-supported", "this FHIR API is read-only (GET, HEAD, OPTIONS)").with_header(header("Allow", "GET, HEAD, OPTIONS"));
    }
    let segments: Option<Vec<String>> = path.strip_prefix("/fhir/").unwrap_or("").split('/').map(|s| percent_decode(s, false)).collect();
    let Some(segments) = segments else {
        return bad_request("the path is not valid percent-encoded UTF-8");
    };
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    if segments == ["metadata"] {
        return fhir_json(200, capability(api, &api.base(request)).to_string());
    }
    match api.authorize(request) {
        Auth::Granted => {}
        denied => return unauthorized(&denied),
    }
    let Some(params) = Params::parse(query.unwrap_or("")) else {
        return bad_request("the query is not valid percent-encoded UTF-8");
    };
    let lenient = request_header(request, "Prefer").is_some_and(|p| p.split([';', ',']).any(|part| part.trim().eq_ignore_ascii_case("handling=lenient")));
    let ctx = Context { api, base: api.base(request), params, lenient };
    let known = |kind: &str| api.index.types.contains(kind);
    let answer = match segments.as_slice() {
        [kind, ..] if !known(kind) => Err(outcome(404, "not-supported", "unknown resource type")),
        [kind] => ctx.search(kind),
        [kind, id] => ctx.read(kind, id),
        ["Patient", id, "$everything"] => ctx.everything(id),
        _ => Err(outcome(404, "not-found", "no such route")),
    };
    answer.unwrap_or_else(|response| response)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const BUNDLE: &str = r#"{"resourceType":"Bundle","type":"transaction","entry":[
        {"fullUrl":"urn:uuid:p-1","resource":{"resourceType":"Patient","id":"p-1"}},
        {"fullUrl":"urn:uuid:m-1","resource":{"resourceType":"Medication","code":{"text":"x"}}},
        {"fullUrl":"urn:uuid:r-1","resource":{"resourceType":"MedicationRequest","id":"r-1",
            "subject":{"reference":"urn:uuid:p-1"},"medicationReference":{"reference":"urn:uuid:m-1"}}},
        {"fullUrl":"urn:uuid:o-1","resource":{"resourceType":"Observation","id":"o-1",
            "subject":{"reference":"urn:uuid:p-1"},"hasMember":[{"reference":"urn:uuid:elsewhere"}],
            "category":[{"coding":[{"system":"http://s","code":"vital-signs"}]}]}},
        {"resource":{"resourceType":"Observation"}}
    ]}"#;

    #[test]
    fn index_rewrites_references_and_keeps_ids() {
        let index = Index::build(&[("Test", BUNDLE.as_bytes())]).expect("index");
        assert_eq!(index.patients().len(), 1);
        assert_eq!(index.patients()[0].id, "p-1");
        let request = index.get("MedicationRequest", "r-1").expect("request");
        assert_eq!(request.patient.as_deref(), Some("p-1"));
        assert_eq!(request.medication.as_deref(), Some("m-1"), "the id of a resource without one is its uuid");
        let medication: Value = serde_json::from_str(index.get("Medication", "m-1").expect("medication").json.get()).unwrap();
        assert_eq!(medication["id"], "m-1");
        let observation: Value = serde_json::from_str(index.get("Observation", "o-1").expect("obs").json.get()).unwrap();
        assert_eq!(observation["subject"]["reference"], "Patient/p-1");
        assert_eq!(observation["hasMember"][0]["reference"], "urn:uuid:elsewhere", "unknown targets stay");
        assert_eq!(index.compartments["p-1"].len(), 4, "the entry without an id is left out");
    }
}
