//! The FHIR server source (`openFhir`'s core) against an in-process FHIR
//! server holding the real Synthea, US Core and IPS bundles of
//! `../shared/data/fhir/`: `$everything` and US Core searches, paging, the
//! chart equal to the sealed file's, and every fault a server can answer.
//! The real-HTTP runs (a FHIR engine on loopback, in Chromium) are in
//! `tests/js/fhir.test.mjs`.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;

use patient_portal_sdk::consent::{Policy, Role, Viewer};
use patient_portal_sdk::fhir::parse_record;
use patient_portal_sdk::fhir_api::{AccessTokens, CapabilityCache, FetchCounts, FetchReport, FhirOptions, FhirServer, ServerError};
use patient_portal_sdk::pipeline::{open, Audience, Stage};
use patient_portal_sdk::render::{build_chart, to_html, RenderOptions};
use patient_portal_sdk::source::{HttpClient, HttpRequest, HttpResponse, Scheduler, SourceError};
use patient_portal_sdk::Error;
use serde_json::{json, Value};
use zeroize::Zeroizing;

const BASE: &str = "https://ehr.example/fhir/r4";

fn shared(path: &str) -> Value {
    let full = format!("{}/../shared/data/fhir/{path}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))).unwrap()
}

/// `urn:uuid:X` references as `Type/X`, ids from `urn:uuid:` fullUrls: what
/// a server makes of a transaction Bundle.
fn as_stored(bundle: &Value) -> Vec<Value> {
    let mut ids = std::collections::HashMap::new();
    for e in bundle["entry"].as_array().unwrap() {
        if let (Some(url), Some(t)) = (e["fullUrl"].as_str(), e["resource"]["resourceType"].as_str()) {
            let id = e["resource"]["id"].as_str().map(str::to_string).unwrap_or_else(|| url.rsplit(':').next().unwrap().to_string());
            ids.insert(url.to_string(), format!("{t}/{id}"));
        }
    }
    fn rewrite(v: &mut Value, ids: &std::collections::HashMap<String, String>) {
        match v {
            Value::Object(map) => {
                for (k, x) in map.iter_mut() {
                    if k == "reference" {
                        if let Some(target) = x.as_str().and_then(|r| ids.get(r)) {
                            *x = Value::String(target.clone());
                            continue;
                        }
                    }
                    rewrite(x, ids);
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| rewrite(x, ids)),
            _ => {}
        }
    }
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut r = e["resource"].clone();
            if r.get("id").is_none() {
                let url = e["fullUrl"].as_str().unwrap();
                r["id"] = Value::String(url.rsplit(':').next().unwrap().to_string());
            }
            rewrite(&mut r, &ids);
            r
        })
        .collect()
}

fn patient_of(r: &Value) -> Option<String> {
    if r["resourceType"] == "Patient" {
        return r["id"].as_str().map(str::to_string);
    }
    ["subject", "patient", "beneficiary"].iter().find_map(|f| r[f]["reference"].as_str()?.strip_prefix("Patient/").map(str::to_string))
}

#[derive(Default)]
struct Faults {
    unauthorized_once: bool,
    rate_limit: Option<(u32, String)>,
    server_error_once: Option<u16>,
    outcome: Option<u16>,
    oversized: bool,
    foreign_next: bool,
    wrong_patient: bool,
    not_bundle: bool,
    no_everything: bool,
    network_once: bool,
}

/// A FHIR server in the test's process: search by patient (and category),
/// `_include`, `$everything`, paging by `_offset`, a bearer token.
struct Server {
    resources: Vec<Value>,
    token: RefCell<String>,
    faults: RefCell<Faults>,
    /// (path and query, with a token?, status)
    log: RefCell<Vec<(String, bool, u16)>>,
    sleeps: RefCell<Vec<u32>>,
    aborted: Cell<bool>,
}

fn answer(status: u16, body: &Value) -> Result<HttpResponse, SourceError> {
    Ok(HttpResponse { status, content_type: Some("application/fhir+json".into()), retry_after: None, body: body.to_string().into_bytes() })
}

fn outcome(severity: &str, code: &str, text: &str) -> Value {
    json!({"resourceType": "OperationOutcome", "issue": [{"severity": severity, "code": code, "details": {"text": text}, "diagnostics": "SECRET-DIAGNOSTICS at Search.run"}]})
}

impl Server {
    fn new(resources: Vec<Value>) -> Self {
        Server {
            resources,
            token: RefCell::new("t1".into()),
            faults: RefCell::default(),
            log: RefCell::default(),
            sleeps: RefCell::default(),
            aborted: Cell::new(false),
        }
    }

    fn find(&self, key: &str) -> Option<&Value> {
        self.resources.iter().find(|r| format!("{}/{}", r["resourceType"].as_str().unwrap(), r["id"].as_str().unwrap()) == key)
    }

    fn page(&self, path: &str, params: &[(String, String)], matches: Vec<Value>) -> Value {
        let get = |n: &str| params.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        let count: usize = get("_count").and_then(|c| c.parse().ok()).unwrap_or(50);
        let offset: usize = get("_offset").and_then(|c| c.parse().ok()).unwrap_or(0);
        let total = matches.len();
        let entries: Vec<Value> = matches
            .into_iter()
            .skip(offset)
            .take(count)
            .map(|r| json!({"fullUrl": format!("{BASE}/{}/{}", r["resourceType"].as_str().unwrap(), r["id"].as_str().unwrap()), "resource": r, "search": {"mode": "match"}}))
            .collect();
        let query: Vec<String> = params.iter().filter(|(k, _)| k != "_offset").map(|(k, v)| format!("{k}={v}")).collect();
        let mut links = vec![json!({"relation": "self", "url": format!("{BASE}/{path}?{}", query.join("&"))})];
        if offset + count < total {
            let origin = if self.faults.borrow().foreign_next { "https://elsewhere.example/fhir/r4" } else { BASE };
            links.push(json!({"relation": "next", "url": format!("{origin}/{path}?{}&_offset={}", query.join("&"), offset + count)}));
        }
        let page = json!({"resourceType": "Bundle", "type": "searchset", "total": total, "link": links, "entry": entries});
        if self.faults.borrow().wrong_patient {
            // Another patient's records (the server mixed up its compartments).
            let text = page.to_string();
            let p = self.resources.iter().find(|r| r["resourceType"] == "Patient").unwrap()["id"].as_str().unwrap();
            return serde_json::from_str(&text.replace(&format!("Patient/{p}"), "Patient/someone-else")).unwrap();
        }
        page
    }

    fn route(&self, url: &str, authorized: bool) -> Result<HttpResponse, SourceError> {
        let rest = url.strip_prefix(BASE).expect("only the base URL is ever asked").trim_start_matches('/');
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let params: Vec<(String, String)> =
            query.split('&').filter(|p| !p.is_empty()).map(|p| p.split_once('=').map(|(k, v)| (k.into(), v.into())).unwrap()).collect();
        let get = |n: &str| params.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        if path == "metadata" {
            let mut patient = json!({"type": "Patient"});
            if !self.faults.borrow().no_everything {
                patient["operation"] = json!([{"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}]);
            }
            let mut types: BTreeSet<&str> = self.resources.iter().map(|r| r["resourceType"].as_str().unwrap()).collect();
            types.remove("Patient");
            let mut resources = vec![patient];
            resources.extend(types.into_iter().map(|t| json!({"type": t})));
            return answer(
                200,
                &json!({"resourceType": "CapabilityStatement", "status": "active", "fhirVersion": "4.0.1", "rest": [{"mode": "server", "resource": resources}]}),
            );
        }
        if !authorized {
            return answer(401, &outcome("error", "login", "token refused"));
        }
        {
            let mut f = self.faults.borrow_mut();
            if std::mem::take(&mut f.unauthorized_once) {
                return answer(401, &outcome("error", "expired", "token expired"));
            }
            if let Some((n, after)) = f.rate_limit.take() {
                if n > 1 {
                    f.rate_limit = Some((n - 1, after.clone()));
                }
                let mut r = answer(429, &outcome("error", "throttled", "slow down"))?;
                r.retry_after = Some(after);
                return Ok(r);
            }
            if let Some(status) = f.server_error_once.take() {
                return Ok(HttpResponse { status, content_type: Some("text/html".into()), retry_after: None, body: b"<h1>busy</h1>".to_vec() });
            }
            if std::mem::take(&mut f.network_once) {
                return Err(SourceError::Network("reset".into()));
            }
            if f.not_bundle {
                return answer(200, &json!({"resourceType": "Patient", "id": "x"}));
            }
        }
        let patient = get("patient").map(|p| p.trim_start_matches("Patient/").to_string());
        let mut parts = path.split('/');
        let (kind, id, op) = (parts.next().unwrap_or_default(), parts.next(), parts.next());
        if let Some(status) = self.faults.borrow().outcome {
            if id.is_none() || op.is_some() {
                return answer(status, &outcome("error", "not-supported", "The search parameter category is not supported"));
            }
        }
        let owner = |r: &Value, p: &str| patient_of(r).as_deref() == Some(p);
        let mut body = match (kind, id, op) {
            ("Patient", Some(p), Some("$everything")) => {
                if self.faults.borrow().no_everything {
                    return answer(404, &outcome("error", "not-found", "Unknown operation"));
                }
                // The compartment and what it refers to: here, the whole bundle of that patient, in its order.
                let all = self.resources.iter().filter(|r| patient_of(r).is_none_or(|_| owner(r, p))).cloned().collect();
                self.page(path, &params, all)
            }
            ("Patient", Some(p), None) => match self.find(&format!("Patient/{p}")) {
                Some(r) => r.clone(),
                None => return answer(404, &outcome("error", "not-found", "no such patient")),
            },
            (t, None, None) => {
                let p = patient.expect("searches are by patient");
                let category = get("category");
                let mut found: Vec<Value> = self
                    .resources
                    .iter()
                    .filter(|r| r["resourceType"] == t && owner(r, &p))
                    .filter(|r| category.as_ref().is_none_or(|c| r["category"].to_string().contains(&format!("\"code\":\"{c}\""))))
                    .cloned()
                    .collect();
                if get("_include").as_deref() == Some("MedicationRequest:medication") {
                    let included: Vec<Value> =
                        found.iter().filter_map(|r| r["medicationReference"]["reference"].as_str()).filter_map(|k| self.find(k)).cloned().collect();
                    found.extend(included);
                }
                self.page(path, &params, found)
            }
            _ => return answer(404, &outcome("error", "not-found", "unknown route")),
        };
        if std::mem::take(&mut self.faults.borrow_mut().oversized) {
            body["padding"] = Value::String("x".repeat(3 << 20));
        }
        answer(200, &body)
    }
}

impl HttpClient for Server {
    async fn send(&self, request: HttpRequest<'_>, max_bytes: usize) -> Result<HttpResponse, SourceError> {
        let token = format!("Bearer {}", self.token.borrow());
        let authorized = request.authorization == Some(token.as_str());
        let path = request.url.strip_prefix(BASE).unwrap_or(request.url).to_string();
        let result = self.route(request.url, authorized);
        self.log.borrow_mut().push((path, request.authorization.is_some(), result.as_ref().map_or(0, |r| r.status)));
        // As the browser's reader: a body past the limit is abandoned.
        match result {
            Ok(r) if r.body.len() > max_bytes => Err(SourceError::TooLarge { limit: max_bytes }),
            other => other,
        }
    }

    fn aborted(&self) -> bool {
        self.aborted.get()
    }
}

impl Scheduler for Server {
    async fn sleep(&self, millis: u32) {
        self.sleeps.borrow_mut().push(millis);
    }
}

/// The host's token callback: a current token, a fresh one on request.
struct Tokens<'a> {
    server: &'a Server,
    calls: RefCell<Vec<bool>>,
    refresh_to: Option<&'static str>,
}

impl AccessTokens for Tokens<'_> {
    async fn token(&self, force_refresh: bool) -> Result<Option<Zeroizing<String>>, ServerError> {
        self.calls.borrow_mut().push(force_refresh);
        if force_refresh {
            if let Some(fresh) = self.refresh_to {
                *self.server.token.borrow_mut() = fresh.into();
                return Ok(Some(Zeroizing::new(fresh.into())));
            }
        }
        Ok(Some(Zeroizing::new(if force_refresh { "stale" } else { "t1" }.into())))
    }
}

struct Run {
    result: Result<patient_portal_sdk::pipeline::Opened, Error>,
    stages: Vec<Stage>,
    counts: Vec<FetchCounts>,
    report: FetchReport,
}

fn run(server: &Server, patient: &str, tweak: impl FnOnce(&mut FhirOptions), refresh_to: Option<&'static str>, viewer: &Viewer) -> Run {
    let mut options = FhirOptions::new(BASE, patient, 1_790_000_000).unwrap();
    options.page_size = 100;
    tweak(&mut options);
    let tokens = Tokens { server, calls: RefCell::default(), refresh_to };
    let cache = CapabilityCache::default();
    let counts = RefCell::new(Vec::new());
    let report = RefCell::new(FetchReport::default());
    let policy = Policy::default();
    let mut stages = Vec::new();
    let result = {
        let on_fetch = RefCell::new(|c: FetchCounts| counts.borrow_mut().push(c));
        let source = FhirServer { client: server, tokens: &tokens, options: &options, cache: &cache, on_fetch: &on_fetch, report: &report };
        pollster::block_on(open(&source, server, Audience { viewer, policy: &policy, consents: &[] }, &mut |s| stages.push(s)))
    };
    Run { result, stages, counts: counts.into_inner(), report: report.into_inner() }
}

fn patient_viewer() -> Viewer {
    Viewer::patient(1_790_000_000)
}

fn chart_html(record: &patient_portal_sdk::fhir::Record) -> String {
    let options = RenderOptions::new(patient_portal_sdk::fhir::Date::from_ymd(2026, 11, 30).unwrap());
    to_html(&build_chart(record, &options))
}

fn synthea(name: &str) -> (Value, String) {
    let dir = format!("{}/../shared/data/fhir/synthea", env!("CARGO_MANIFEST_DIR"));
    let file = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).find(|f| f.starts_with(name)).unwrap();
    let bundle = shared(&format!("synthea/{file}"));
    let patient = bundle["entry"].as_array().unwrap().iter().find(|e| e["resource"]["resourceType"] == "Patient").unwrap()["resource"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    (bundle, patient)
}

/// `$everything`, every page: the chart is the sealed file's, byte for byte,
/// for each of the four Synthea patients; progress counts up to the total.
#[test]
fn everything_gives_the_sealed_files_chart() {
    for name in ["Christian", "Dusty", "Vito", "Zackary"] {
        let (bundle, patient) = synthea(name);
        let server = Server::new(as_stored(&bundle));
        let run = run(&server, &patient, |_| {}, None, &patient_viewer());
        let opened = run.result.unwrap_or_else(|e| panic!("{name}: {e}"));
        let entries = bundle["entry"].as_array().unwrap().len();
        assert_eq!(opened.screened.record.entries.len(), entries, "{name}");
        let sealed = parse_record(bundle.to_string().as_bytes()).unwrap();
        assert_eq!(chart_html(&opened.screened.record), chart_html(&sealed), "{name}: the chart from the server is the sealed file's");
        assert!(run.report.everything);
        assert_eq!(run.report.pages, entries.div_ceil(100), "{name}");
        assert_eq!(run.counts.last().map(|c| (c.resources, c.total)), Some((entries, Some(entries as u64))), "{name}");
        assert_eq!(run.stages, [Stage::Fetch, Stage::Parse, Stage::Consent, Stage::Ready]);
        // Every request under the base URL, with the token; metadata first.
        let log = server.log.borrow();
        assert_eq!(log.first().map(|l| l.0.as_str()), Some("/metadata"));
        assert!(log.iter().all(|(_, auth, status)| *auth && *status == 200));
    }
}

/// Without `$everything`: the US Core searches per type, in parallel, every
/// page; what they return equals the sealed file of those resources.
#[test]
fn searches_per_type_when_everything_is_missing() {
    let (bundle, patient) = synthea("Dusty");
    let server = Server::new(as_stored(&bundle));
    server.faults.borrow_mut().no_everything = true;
    let run = run(&server, &patient, |o| o.page_size = 20, None, &patient_viewer());
    let opened = run.result.unwrap();
    assert!(!run.report.everything);
    let searched = [
        "AllergyIntolerance",
        "Condition",
        "MedicationRequest",
        "Observation",
        "Immunization",
        "Procedure",
        "Encounter",
        "DiagnosticReport",
        "CarePlan",
        "Goal",
        "CareTeam",
        "Device",
        "Patient",
    ];
    let expected: BTreeSet<String> = as_stored(&bundle)
        .iter()
        .filter(|r| searched.contains(&r["resourceType"].as_str().unwrap()))
        .map(|r| format!("{}/{}", r["resourceType"].as_str().unwrap(), r["id"].as_str().unwrap()))
        .collect();
    let got: BTreeSet<String> = opened.screened.record.entries.iter().map(|e| format!("{}/{}", e.resource_type, e.id.as_deref().unwrap())).collect();
    assert_eq!(got, expected);
    // Observations of several categories arrive once each (de-duplicated across searches).
    assert_eq!(opened.screened.record.entries.len(), expected.len());
    let log = server.log.borrow();
    assert!(log.iter().any(|(p, _, _)| p.starts_with("/Observation?patient=") && p.contains("category=vital-signs")));
    assert!(log.iter().any(|(p, _, _)| p.contains("_offset=")), "pages were followed");
    assert!(log.iter().any(|(p, _, _)| p == &format!("/Patient/{patient}")), "the Patient is read");
    // The chart of these resources equals the sealed file of the same resources (as stored).
    let kept: Vec<Value> = as_stored(&bundle).into_iter().filter(|r| searched.contains(&r["resourceType"].as_str().unwrap())).collect();
    let sealed = json!({"resourceType": "Bundle", "type": "collection", "entry": kept.iter().map(|r| json!({"resource": r})).collect::<Vec<_>>()});
    let sealed = parse_record(sealed.to_string().as_bytes()).unwrap();
    let (from_server, from_file) = (rows(&chart_html(&opened.screened.record)), rows(&chart_html(&sealed)));
    assert!(from_file.len() > 200, "{}", from_file.len());
    assert_eq!(from_server, from_file);
}

/// The chart's rows and list items, without their entry numbers, sorted:
/// the same chart whatever order the resources arrived in.
fn rows(html: &str) -> Vec<String> {
    let mut out: Vec<String> = html
        .split("<tr")
        .flat_map(|part| part.split("<li"))
        .map(|part| {
            let mut s = part.to_string();
            while let Some(at) = s.find("data-entry=\"") {
                let end = s[at + 12..].find('"').map_or(s.len(), |e| at + 12 + e + 1);
                s.replace_range(at..end, "");
            }
            s
        })
        .collect();
    out.sort();
    out
}

/// Real-world shapes (US Core, IPS) come through whole, consent applies.
#[test]
fn us_core_and_ips_records() {
    for (file, patient) in [("us-core/patient-example.collection.json", "example"), ("ips/bundle-minimal.json", "")] {
        let bundle = shared(file);
        let resources: Vec<Value> = as_stored(&bundle);
        let patient = if patient.is_empty() {
            resources.iter().find(|r| r["resourceType"] == "Patient").unwrap()["id"].as_str().unwrap().to_string()
        } else {
            patient.to_string()
        };
        let mine: Vec<Value> = resources.iter().filter(|r| patient_of(r).is_none_or(|p| p == patient)).cloned().collect();
        let server = Server::new(mine.clone());
        let run = run(&server, &patient, |_| {}, None, &patient_viewer());
        let opened = run.result.unwrap_or_else(|e| panic!("{file}: {e}"));
        let distinct: BTreeSet<String> = mine.iter().map(|r| format!("{}/{}", r["resourceType"].as_str().unwrap(), r["id"].as_str().unwrap())).collect();
        assert_eq!(opened.screened.record.entries.len(), distinct.len(), "{file}");
    }
    // A caregiver: what a proxy may not see never leaves the core.
    let (bundle, patient) = synthea("Christian");
    let server = Server::new(as_stored(&bundle));
    let caregiver = Viewer { role: Role::Proxy, relationship: Some("caregiver".into()), actor: None, purpose: None, at: 1_790_000_000 };
    let opened = run(&server, &patient, |_| {}, None, &caregiver).result.unwrap();
    assert_eq!(opened.screened.decisions.len(), bundle["entry"].as_array().unwrap().len());
}

fn code_of(run: &Run) -> &'static str {
    run.result.as_ref().map(|_| "ok").unwrap_or_else(|e| e.code())
}

fn christian() -> (Server, String) {
    let (bundle, patient) = synthea("Christian");
    (Server::new(as_stored(&bundle)), patient)
}

#[test]
fn a_401_gets_one_fresh_token() {
    // Expired mid-session: refreshed once, then it goes on.
    let (server, patient) = christian();
    server.faults.borrow_mut().unauthorized_once = true;
    *server.token.borrow_mut() = "t1".into();
    let r = run(&server, &patient, |_| {}, Some("t2"), &patient_viewer());
    assert_eq!(code_of(&r), "ok");
    // Refused again after the refresh: `unauthorized`, and only one refresh asked.
    let (server, patient) = christian();
    *server.token.borrow_mut() = "never".into();
    let r = run(&server, &patient, |_| {}, None, &patient_viewer());
    assert_eq!(code_of(&r), "unauthorized");
    assert_eq!(server.log.borrow().iter().filter(|(_, _, s)| *s == 401).count(), 2);
}

#[test]
fn rate_limits_and_server_errors_are_waited_out_within_bounds() {
    let (server, patient) = christian();
    server.faults.borrow_mut().rate_limit = Some((2, "3".into()));
    assert_eq!(code_of(&run(&server, &patient, |_| {}, None, &patient_viewer())), "ok");
    assert_eq!(*server.sleeps.borrow(), [3000, 3000]);
    // An HTTP date: waited until then.
    let (server, patient) = christian();
    server.faults.borrow_mut().rate_limit = Some((1, "Sun, 20 Sep 2026 12:00:05 GMT".into()));
    let r =
        run(&server, &patient, |o| o.now = chrono::DateTime::parse_from_rfc2822("Sun, 20 Sep 2026 12:00:00 GMT").unwrap().timestamp(), None, &patient_viewer());
    assert_eq!(code_of(&r), "ok");
    assert_eq!(*server.sleeps.borrow(), [5000]);
    // Longer than allowed: `httpStatus` 429 with `retryAfter`.
    let (server, patient) = christian();
    server.faults.borrow_mut().rate_limit = Some((1, "3600".into()));
    let r = run(&server, &patient, |_| {}, None, &patient_viewer());
    let e = r.result.unwrap_err();
    assert_eq!((e.code(), e.status(), e.retry_after()), ("httpStatus", Some(429), Some(3600)));
    // 500, 503 and a dropped connection: retried with backoff.
    for fault in [Some(500), Some(503), None] {
        let (server, patient) = christian();
        match fault {
            Some(status) => server.faults.borrow_mut().server_error_once = Some(status),
            None => server.faults.borrow_mut().network_once = true,
        }
        assert_eq!(code_of(&run(&server, &patient, |_| {}, None, &patient_viewer())), "ok", "{fault:?}");
        assert_eq!(*server.sleeps.borrow(), [300]);
    }
}

#[test]
fn an_operation_outcome_is_a_typed_error_without_diagnostics() {
    let (server, patient) = christian();
    server.faults.borrow_mut().outcome = Some(400);
    let e = run(&server, &patient, |_| {}, None, &patient_viewer()).result.unwrap_err();
    assert_eq!((e.code(), e.status()), ("fhirError", Some(400)));
    assert_eq!(e.issues().len(), 1);
    assert_eq!((e.issues()[0].severity.as_str(), e.issues()[0].code.as_str()), ("error", "not-supported"));
    assert!(!e.to_string().contains("SECRET"), "{e}");
    assert!(e.to_string().contains("category is not supported"), "{e}");
}

#[test]
fn pages_that_are_wrong_are_refused_whole() {
    for (fault, code) in [("notBundle", "format"), ("wrongPatient", "format"), ("foreignNext", "format"), ("oversized", "tooLarge")] {
        let (server, patient) = christian();
        {
            let mut f = server.faults.borrow_mut();
            match fault {
                "notBundle" => f.not_bundle = true,
                "wrongPatient" => f.wrong_patient = true,
                "foreignNext" => f.foreign_next = true,
                _ => f.oversized = true,
            }
        }
        let r = run(
            &server,
            &patient,
            |o| {
                o.max_bytes = 2 << 20;
                o.page_size = 30
            },
            None,
            &patient_viewer(),
        );
        assert_eq!(code_of(&r), code, "{fault}");
        // Nothing outside the base URL was ever asked, let alone with the token.
        assert!(server.log.borrow().iter().all(|(p, _, _)| p.starts_with('/')), "{fault}");
        if fault == "foreignNext" {
            let e = r.result.unwrap_err();
            assert!(e.to_string().contains("https://elsewhere.example") && !e.to_string().contains("patient="), "{e}");
        }
    }
}

#[test]
fn limits_on_resources_bytes_and_pages() {
    let (server, patient) = christian();
    assert_eq!(code_of(&run(&server, &patient, |o| o.max_resources = 50, None, &patient_viewer())), "tooLarge");
    let (server, patient) = christian();
    assert_eq!(code_of(&run(&server, &patient, |o| o.max_pages = 0, None, &patient_viewer())), "tooLarge");
    let (server, patient) = christian();
    assert_eq!(code_of(&run(&server, &patient, |o| o.max_bytes = 100_000, None, &patient_viewer())), "tooLarge");
}

#[test]
fn abort_stops_before_the_next_request() {
    let (server, patient) = christian();
    server.aborted.set(true);
    assert_eq!(code_of(&run(&server, &patient, |_| {}, None, &patient_viewer())), "aborted");
    assert!(server.log.borrow().is_empty());
}

#[test]
fn base_urls_and_ids_are_checked() {
    for bad in
        ["ftp://x/fhir", "http://ehr.example/fhir", "https://u@ehr.example/fhir", "https://ehr.example/fhir?x=1", "https://ehr.example/a/../fhir", "fhir"]
    {
        assert_eq!(FhirOptions::new(bad, "p", 0).unwrap_err().code(), "badInput", "{bad}");
    }
    for bad in ["", "a/b", "../x", "a?b", &"x".repeat(65)] {
        assert_eq!(FhirOptions::new(BASE, bad, 0).unwrap_err().code(), "badInput", "{bad:?}");
    }
    let o = FhirOptions::new("https://ehr.example/fhir/r4/", "p", 0).unwrap();
    assert!(o.is_under_base("https://ehr.example/fhir/r4/Observation?patient=p"));
    assert!(o.is_under_base("HTTPS://EHR.EXAMPLE/fhir/r4/Observation"));
    for outside in [
        "https://ehr.example/fhir/r4x/Observation",
        "https://ehr.example/fhir/r4/../admin",
        "https://ehr.example/fhir/r4/%2e%2e/admin",
        "https://ehr.example.evil/fhir/r4/Observation",
        "https://ehr.example:444/fhir/r4/Observation",
        "http://ehr.example/fhir/r4/Observation",
        "https://ehr.example/fhir/",
    ] {
        assert!(!o.is_under_base(outside), "{outside}");
    }
    assert!(FhirOptions::new("http://127.0.0.1:8080/fhir", "p", 0).is_ok());
}
