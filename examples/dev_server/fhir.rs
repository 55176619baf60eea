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
use tiny_http::{Method, Request, Response, ResponseBox};
use zeroize::Zeroizing;

use crate::http::{header, percent_decode};
use crate::links::FHIR_JSON;

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
    (1..=64).contains(&text.len())
        && text.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
        && text.bytes().all(|b| b.is_ascii_alphanumeric())
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
        let patient = patient_element(kind)
            .and_then(reference)
            .and_then(|r| r.strip_prefix("Patient/"))
            .filter(|id| is_id(id))
            .map(str::to_owned);
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
            let patient = keyed
                .iter()
                .find(|((kind, _), _)| kind == "Patient")
                .map(|((_, id), _)| id.clone())
                .ok_or_else(|| format!("sample {name}: no Patient"))?;
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
        let started = chrono::DateTime::from_timestamp(crate::now(), 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
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
        let host = request_header(request, "Host").filter(|host| {
            (1..=255).contains(&host.len())
                && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
        });
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
        let same =
            given.len() == expected.len() && given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
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
    request.headers().iter().find(|h| h.field.equiv(name)).map(|h| h.value.as_str())
}

// ------------------------------------------------------------------ answers

fn fhir_json(status: u16, body: String) -> ResponseBox {
    Response::from_string(body)
        .with_status_code(status)
        .with_header(header("Content-Type", FHIR_JSON))
        .with_header(header("Cache-Control", "no-store"))
        .boxed()
}

/// An OperationOutcome with one error issue.
fn outcome(status: u16, code: &str, message: &str) -> ResponseBox {
    let body = json!({
        "resourceType": "OperationOutcome",
        "issue": [{ "severity": "error", "code": code, "diagnostics": message }],
    });
    fhir_json(status, body.to_string())
}

fn bad_request(message: &str) -> ResponseBox {
    outcome(400, "invalid", message)
}

fn preflight() -> ResponseBox {
    Response::empty(204)
        .with_header(header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"))
        .with_header(header("Access-Control-Allow-Headers", "Authorization, Accept"))
        .with_header(header("Access-Control-Max-Age", "600"))
        .boxed()
}

fn unauthorized(auth: &Auth) -> ResponseBox {
    let (challenge, message) = match auth {
        Auth::Wrong => (r#"Bearer realm="fhir", error="invalid_token""#, "the access token is not valid"),
        _ => (r#"Bearer realm="fhir""#, "an access token is required: Authorization: Bearer <token>"),
    };
    outcome(401, "login", message).with_header(header("WWW-Authenticate", challenge))
}

/// Answers one request under `/fhir` (the caller adds the CORS origin header).
pub fn route(request: &Request, method: &Method, path: &str, query: Option<&str>, api: &Api) -> ResponseBox {
    if *method == Method::Options {
        return preflight();
    }
    if !matches!(method, Method::Get | Method::Head) {
        return outcome(405, "not-supported", "this FHIR API is read-only (GET, HEAD, OPTIONS)")
            .with_header(header("Allow", "GET, HEAD, OPTIONS"));
    }
    let segments: Option<Vec<String>> =
        path.strip_prefix("/fhir/").unwrap_or("").split('/').map(|s| percent_decode(s, false)).collect();
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
    let lenient = request_header(request, "Prefer")
        .is_some_and(|p| p.split([';', ',']).any(|part| part.trim().eq_ignore_ascii_case("handling=lenient")));
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

// --------------------------------------------------------------- parameters

/// A query string, percent- and `+`-decoded, in order.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(query: &str) -> Option<Self> {
        query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                Some((percent_decode(name, true)?, percent_decode(value, true)?))
            })
            .collect::<Option<Vec<_>>>()
            .map(Self)
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The value of a parameter given at most once.
    fn single<'a>(&'a self, name: &'a str) -> Result<Option<&'a str>, ResponseBox> {
        let mut values = self.all(name);
        let first = values.next();
        if values.next().is_some() {
            return Err(bad_request(&format!("{name} is given more than once")));
        }
        Ok(first)
    }
}

/// Percent-encodes a query value (unreserved characters and `/ : , $` stay).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/:,$".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn number(name: &str, value: &str) -> Result<usize, ResponseBox> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_request(&format!("{name} must be a non-negative integer")));
    }
    Ok(value.parse().unwrap_or(usize::MAX))
}

/// `system|code`, `|code`, `system|` or `code`.
struct TokenParam {
    /// `None`: any system; `Some(None)`: no system; `Some(Some(s))`: system `s`.
    system: Option<Option<String>>,
    code: Option<String>,
}

impl TokenParam {
    fn parse(text: &str) -> Option<Self> {
        let token = match text.split_once('|') {
            None => Self { system: None, code: Some(text.to_owned()) },
            Some(("", "")) => return None,
            Some(("", code)) => Self { system: Some(None), code: Some(code.to_owned()) },
            Some((system, "")) => Self { system: Some(Some(system.to_owned())), code: None },
            Some((system, code)) => Self { system: Some(Some(system.to_owned())), code: Some(code.to_owned()) },
        };
        (token.code.as_deref() != Some("")).then_some(token)
    }

    fn matches(&self, system: Option<&String>, code: Option<&String>) -> bool {
        let system_ok = match &self.system {
            None => true,
            Some(wanted) => wanted.as_ref() == system,
        };
        system_ok && self.code.as_ref().is_none_or(|wanted| Some(wanted) == code)
    }
}

/// One page of matches and includes.
struct Page<'a> {
    total: usize,
    matches: Vec<&'a Key>,
    includes: Vec<&'a Key>,
}

#[derive(Serialize)]
struct Bundle<'a> {
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    total: usize,
    link: Vec<Link>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    entry: Vec<Entry<'a>>,
}

#[derive(Serialize)]
struct Link {
    relation: &'static str,
    url: String,
}

#[derive(Serialize)]
struct Entry<'a> {
    #[serde(rename = "fullUrl")]
    full_url: String,
    resource: &'a RawValue,
    search: SearchMode,
}

#[derive(Serialize)]
struct SearchMode {
    mode: &'static str,
}

/// One authorised request.
struct Context<'a> {
    api: &'a Api,
    base: String,
    params: Params,
    lenient: bool,
}

type Answer = Result<ResponseBox, ResponseBox>;

impl Context<'_> {
    /// Refuses parameters outside `allowed` (unless lenient) and formats other than JSON.
    fn check_names(&self, allowed: &[&str]) -> Result<(), ResponseBox> {
        if let Some((name, _)) = self.params.0.iter().find(|(name, _)| !allowed.contains(&name.as_str())) {
            if !self.lenient {
                return Err(bad_request(&format!(
                    "unknown or unsupported parameter {name:?} (Prefer: handling=lenient ignores it)"
                )));
            }
        }
        for format in self.params.all("_format") {
            let mime = format.split(';').next().unwrap_or("").trim();
            if !["json", "application/json", "application/fhir+json"].contains(&mime) {
                return Err(outcome(406, "not-supported", "only JSON is served"));
            }
        }
        Ok(())
    }

    /// `(_count, _offset)`.
    fn paging(&self) -> Result<(usize, usize), ResponseBox> {
        let count = match self.params.single("_count")? {
            Some(value) => number("_count", value)?.min(MAX_COUNT),
            None => DEFAULT_COUNT,
        };
        let offset = match self.params.single("_offset")? {
            Some(value) => number("_offset", value)?,
            None => 0,
        };
        Ok((count, offset))
    }

    fn read(&self, kind: &str, id: &str) -> Answer {
        match self.api.index.get(kind, id) {
            Some(stored) => Ok(fhir_json(200, stored.json.get().to_owned())),
            None => Err(outcome(404, "not-found", &format!("no {kind} with this id"))),
        }
    }

    fn everything(&self, id: &str) -> Answer {
        self.check_names(&[PAGING, &["_type"]].concat())?;
        let Some(members) = self.api.index.compartments.get(id) else {
            return Err(outcome(404, "not-found", "no Patient with this id"));
        };
        let mut types: Option<HashSet<&str>> = None;
        for value in self.params.all("_type") {
            let list: HashSet<&str> = value.split(',').map(str::trim).collect();
            if !list.iter().all(|t| is_type(t)) {
                return Err(bad_request("_type must be a comma-separated list of resource types"));
            }
            types = Some(match types {
                Some(before) => before.intersection(&list).copied().collect(),
                None => list,
            });
        }
        let (count, offset) = self.paging()?;
        let found: Vec<&Key> =
            members.iter().filter(|(kind, _)| types.as_ref().is_none_or(|t| t.contains(kind.as_str()))).collect();
        let used: Vec<(&str, &str)> = self.params.all("_type").map(|v| ("_type", v)).collect();
        let page = page(found, count, offset, false, &self.api.index);
        Ok(self.bundle(&format!("Patient/{id}/$everything"), &used, count, offset, page))
    }

    fn search(&self, kind: &str) -> Answer {
        let element = patient_element(kind);
        let mut allowed = [PAGING, &["_id", "_include"]].concat();
        if element.is_some() {
            allowed.push("patient");
        }
        if element == Some("subject") {
            allowed.push("subject");
        }
        if CATEGORY_TYPES.contains(&kind) {
            allowed.push("category");
        }
        self.check_names(&allowed)?;

        let mut used: Vec<(&str, &str)> = Vec::new();
        let subjects: Vec<(&str, &str)> = self
            .params
            .0
            .iter()
            .filter(|(n, _)| (n == "patient" || n == "subject") && allowed.contains(&n.as_str()))
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let patient = match subjects.as_slice() {
            [] => None,
            [(name, value)] => {
                let id = value.strip_prefix("Patient/").unwrap_or(value);
                if !is_id(id) {
                    return Err(bad_request(&format!("{name} must be a Patient id or Patient/<id>")));
                }
                used.push((name, value));
                Some(id)
            }
            _ => return Err(bad_request("give the patient once (patient or subject)")),
        };
        let ids = self.params.single("_id")?;
        if let Some(value) = ids {
            used.push(("_id", value));
        }
        let ids: Option<HashSet<&str>> = ids.map(|v| v.split(',').map(str::trim).collect());
        if element.is_some() && patient.is_none() && ids.is_none() {
            return Err(bad_request(&format!("searching {kind} needs the patient: ?patient=<id>")));
        }
        let mut categories: Vec<Vec<TokenParam>> = Vec::new();
        if CATEGORY_TYPES.contains(&kind) {
            for value in self.params.all("category") {
                let tokens = value.split(',').map(TokenParam::parse).collect::<Option<Vec<_>>>();
                let Some(tokens) = tokens else {
                    return Err(bad_request("category must be code, system|code, |code or system|"));
                };
                categories.push(tokens);
                used.push(("category", value));
            }
        }
        let mut include = false;
        for value in self.params.all("_include") {
            if kind != "MedicationRequest"
                || (value != INCLUDE_MEDICATION && value != "MedicationRequest:medication:Medication")
            {
                return Err(bad_request(&format!("the only _include supported is {INCLUDE_MEDICATION}")));
            }
            include = true;
            used.push(("_include", value));
        }
        let (count, offset) = self.paging()?;

        let index = &self.api.index;
        let candidates: Box<dyn Iterator<Item = &Key>> = match patient {
            Some(id) => Box::new(index.compartments.get(id).into_iter().flatten()),
            None => Box::new(index.order.iter()),
        };
        let found: Vec<&Key> = candidates
            .filter(|key| key.0 == kind)
            .filter(|key| ids.as_ref().is_none_or(|ids| ids.contains(key.1.as_str())))
            .filter(|key| {
                let Some(stored) = index.resources.get(*key) else { return false };
                patient.is_none_or(|id| stored.patient.as_deref() == Some(id))
                    && categories.iter().all(|any| {
                        any.iter()
                            .any(|token| stored.categories.iter().any(|(s, c)| token.matches(s.as_ref(), c.as_ref())))
                    })
            })
            .collect();
        let page = page(found, count, offset, include, index);
        Ok(self.bundle(kind, &used, count, offset, page))
    }

    /// A searchset Bundle of `page`, with `self` and (when more follow) `next`.
    fn bundle(&self, path: &str, used: &[(&str, &str)], count: usize, offset: usize, page: Page<'_>) -> ResponseBox {
        let link = |offset: usize| {
            let mut query: Vec<String> = used.iter().map(|(n, v)| format!("{n}={}", encode(v))).collect();
            query.push(format!("_count={count}"));
            if offset > 0 {
                query.push(format!("_offset={offset}"));
            }
            format!("{}/{path}?{}", self.base, query.join("&"))
        };
        let mut links = vec![Link { relation: "self", url: link(offset) }];
        let next = offset.saturating_add(count);
        if count > 0 && next < page.total {
            links.push(Link { relation: "next", url: link(next) });
        }
        let index = &self.api.index;
        let entry = |key: &Key, mode| {
            let stored = index.resources.get(key)?;
            Some(Entry {
                full_url: format!("{}/{}/{}", self.base, key.0, key.1),
                resource: &stored.json,
                search: SearchMode { mode },
            })
        };
        let entries = page
            .matches
            .iter()
            .filter_map(|key| entry(key, "match"))
            .chain(page.includes.iter().filter_map(|key| entry(key, "include")))
            .collect();
        let bundle =
            Bundle { resource_type: "Bundle", kind: "searchset", total: page.total, link: links, entry: entries };
        match serde_json::to_string(&bundle) {
            Ok(body) => fhir_json(200, body),
            Err(_) => outcome(500, "exception", "the Bundle could not be written"),
        }
    }
}

/// The slice `offset..offset + count` of `found`, and with `include` the
/// Medications its MedicationRequests name (once each, present ones only).
fn page<'a>(found: Vec<&'a Key>, count: usize, offset: usize, include: bool, index: &'a Index) -> Page<'a> {
    let total = found.len();
    let matches: Vec<&Key> = found.into_iter().skip(offset).take(count).collect();
    let mut includes: Vec<&Key> = Vec::new();
    if include {
        for key in &matches {
            let medication = index.resources.get(*key).and_then(|s| s.medication.as_ref());
            let Some((included, _)) =
                medication.and_then(|id| index.resources.get_key_value(&("Medication".to_owned(), id.clone())))
            else {
                continue;
            };
            if !includes.contains(&included) {
                includes.push(included);
            }
        }
    }
    Page { total, matches, includes }
}

/// The CapabilityStatement: every type present, its interactions, search
/// parameters and includes, and `$everything` on Patient.
fn capability(api: &Api, base: &str) -> Value {
    let param = |name: &str, kind: &str| json!({ "name": name, "type": kind });
    let resources: Vec<Value> = api
        .index
        .types
        .iter()
        .map(|kind| {
            let element = patient_element(kind);
            let mut params = vec![param("_id", "token"), param("_count", "number")];
            if element.is_some() {
                params.push(param("patient", "reference"));
            }
            if element == Some("subject") {
                params.push(param("subject", "reference"));
            }
            if CATEGORY_TYPES.contains(&kind.as_str()) {
                params.push(param("category", "token"));
            }
            let mut resource = json!({
                "type": kind,
                "interaction": [{ "code": "read" }, { "code": "search-type" }],
                "searchParam": params,
            });
            if kind == "MedicationRequest" {
                resource["searchInclude"] = json!([INCLUDE_MEDICATION]);
            }
            if kind == "Patient" {
                resource["operation"] = json!([{ "name": "everything", "definition": EVERYTHING }]);
            }
            resource
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": api.started,
        "kind": "instance",
        "software": { "name": "Patient Portal SDK development backend" },
        "implementation": {
            "description": "Read-only FHIR API over the embedded sample patients (development use only)",
            "url": base,
        },
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "security": {
                "cors": true,
                "description": "Send Authorization: Bearer <token>, the token the server printed at start.",
            },
            "resource": resources,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUNDLE: &str = r#"{"resourceType":"Bundle","type":"transaction","entry":[
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
        let medication: Value =
            serde_json::from_str(index.get("Medication", "m-1").expect("medication").json.get()).unwrap();
        assert_eq!(medication["id"], "m-1");
        let observation: Value =
            serde_json::from_str(index.get("Observation", "o-1").expect("obs").json.get()).unwrap();
        assert_eq!(observation["subject"]["reference"], "Patient/p-1");
        assert_eq!(observation["hasMember"][0]["reference"], "urn:uuid:elsewhere", "unknown targets stay");
        assert_eq!(index.compartments["p-1"].len(), 4, "the entry without an id is left out");
    }

    #[test]
    fn include_names_the_medication_once() {
        let index = Index::build(&[("Test", BUNDLE.as_bytes())]).expect("index");
        let key = ("MedicationRequest".to_owned(), "r-1".to_owned());
        let paged = page(vec![&key, &key], 10, 0, true, &index);
        assert_eq!(paged.includes.len(), 1);
        assert_eq!(paged.includes[0].1, "m-1");
        assert!(page(vec![&key], 10, 0, false, &index).includes.is_empty());
    }

    #[test]
    fn tokens() {
        let token = |t: &str| TokenParam::parse(t).expect("valid token");
        let (s, c) = (Some("http://s".to_owned()), Some("a".to_owned()));
        assert!(token("a").matches(s.as_ref(), c.as_ref()));
        assert!(token("http://s|a").matches(s.as_ref(), c.as_ref()));
        assert!(token("http://s|").matches(s.as_ref(), c.as_ref()));
        assert!(!token("|a").matches(s.as_ref(), c.as_ref()));
        assert!(token("|a").matches(None, c.as_ref()));
        assert!(!token("http://t|a").matches(s.as_ref(), c.as_ref()));
        assert!(!token("b").matches(s.as_ref(), c.as_ref()));
        assert!(TokenParam::parse("").is_none());
        assert!(TokenParam::parse("|").is_none());
        assert_eq!(encode("http://s|a b"), "http://s%7Ca%20b");
    }
}
