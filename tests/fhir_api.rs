//! The development backend's read-only FHIR R4 API (`/fhir/`), driven as a
//! process over loopback HTTP: the CapabilityStatement, the bearer token,
//! reads, `$everything` paged to the end against the sample bundles in
//! `examples/data/`, searches by patient, category and `_include`, the
//! OperationOutcomes of bad requests, CORS, and the token kept out of the log.
//!
//! Each test starts its own server (`--port 0 --json --db <temp>`) and reads
//! the `fhir` member of the `DEMO_LINKS` line it prints:
//! `{"base": "<origin>/fhir", "token": "<bearer token>", "patients": [{"name", "id", "url"}]}`.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::dev_server::*;
use serde_json::Value;

const FHIR_JSON: &str = "application/fhir+json";
const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data");

// ------------------------------------------------------------ sample data

/// One sample bundle as the API should serve it.
struct Sample {
    patient: String,
    /// `Type/id` → the resource with its `urn:uuid:` references rewritten.
    resources: BTreeMap<String, Value>,
}

impl Sample {
    fn of_type(&self, kind: &str) -> Vec<&Value> {
        self.resources.iter().filter(|(key, _)| key.starts_with(&format!("{kind}/"))).map(|(_, r)| r).collect()
    }
}

fn rewrite(value: &mut Value, targets: &HashMap<String, String>) {
    match value {
        Value::Object(map) => {
            for (name, item) in map.iter_mut() {
                match item {
                    Value::String(text) if name == "reference" => {
                        if let Some(target) = targets.get(text.as_str()) {
                            *text = target.clone();
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

/// Every `examples/data/*.json` bundle, read independently of the server.
fn samples() -> Vec<Sample> {
    let mut paths: Vec<_> = std::fs::read_dir(SAMPLES)
        .expect("examples/data")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 3, "three sample bundles");
    paths
        .iter()
        .map(|path| {
            let bundle: Value = serde_json::from_slice(&std::fs::read(path).expect("sample")).expect("sample JSON");
            let entries = bundle["entry"].as_array().expect("entries");
            let mut targets = HashMap::new();
            for entry in entries {
                let resource = &entry["resource"];
                let uuid =
                    entry["fullUrl"].as_str().and_then(|u| u.strip_prefix("urn:uuid:")).expect("urn:uuid fullUrl");
                let id = resource["id"].as_str().unwrap_or(uuid);
                targets.insert(
                    entry["fullUrl"].as_str().unwrap().to_owned(),
                    format!("{}/{id}", resource["resourceType"].as_str().unwrap()),
                );
            }
            let mut resources = BTreeMap::new();
            let mut patient = None;
            for entry in entries {
                let key = targets[entry["fullUrl"].as_str().unwrap()].clone();
                let mut resource = entry["resource"].clone();
                resource["id"] = key.split('/').nth(1).unwrap().into();
                rewrite(&mut resource, &targets);
                if let Some(id) = key.strip_prefix("Patient/") {
                    patient = Some(id.to_owned());
                }
                assert!(resources.insert(key, resource).is_none(), "unique Type/id in {}", path.display());
            }
            Sample { patient: patient.expect("a Patient"), resources }
        })
        .collect()
}

/// `(system, code)` of a category coding.
type Coding<'a> = (Option<&'a str>, &'a str);

fn codes(resource: &Value) -> Vec<Coding<'_>> {
    resource["category"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["coding"].as_array().into_iter().flatten())
        .map(|coding| (coding["system"].as_str(), coding["code"].as_str().unwrap_or("")))
        .collect()
}

// ------------------------------------------------------------------ client

struct Fhir {
    server: Server,
    base: String,
    token: String,
    patients: Vec<(String, String)>,
}

impl Fhir {
    fn start(db: &TempDb, extra: &[&str]) -> Self {
        let server = Server::start(db, extra);
        let fhir = server.demo["fhir"].clone();
        let base = fhir["base"].as_str().expect("fhir.base").to_owned();
        let token = fhir["token"].as_str().expect("fhir.token").to_owned();
        let patients = fhir["patients"]
            .as_array()
            .expect("fhir.patients")
            .iter()
            .map(|p| (p["name"].as_str().unwrap().to_owned(), p["id"].as_str().unwrap().to_owned()))
            .collect();
        Self { server, base, token, patients }
    }

    /// A target on this server: a path, or an absolute URL under the base.
    fn target(&self, url: &str) -> String {
        match url.strip_prefix(&self.server.base()) {
            Some(path) => path.to_owned(),
            None => {
                assert!(url.starts_with('/'), "not on this server: {url}");
                url.to_owned()
            }
        }
    }

    fn get(&self, url: &str) -> Reply {
        let auth = format!("Bearer {}", self.token);
        self.server.request("GET", &self.target(url), &[("Authorization", &auth)], b"")
    }

    fn get_with(&self, url: &str, headers: &[(&str, &str)]) -> Reply {
        self.server.request("GET", &self.target(url), headers, b"")
    }

    /// A 200 searchset Bundle.
    fn bundle(&self, url: &str) -> Value {
        let reply = self.get(url);
        reply.assert_status(200, url);
        assert_eq!(reply.header("Content-Type"), Some(FHIR_JSON), "{url}");
        assert_eq!(reply.header("Access-Control-Allow-Origin"), Some("*"), "{url}");
        let bundle = reply.json();
        assert_eq!(bundle["resourceType"], "Bundle");
        assert_eq!(bundle["type"], "searchset");
        bundle
    }

    /// Follows `next` from `url` to the end: every page's entries, the pages
    /// seen and the total each page announced.
    fn all_pages(&self, url: &str, count: usize) -> (Vec<Value>, usize, usize) {
        let mut next = Some(url.to_owned());
        let (mut entries, mut pages, mut total) = (Vec::new(), 0, None);
        while let Some(url) = next.take() {
            let bundle = self.bundle(&url);
            pages += 1;
            assert!(pages < 1000, "paging does not end");
            let this_total = bundle["total"].as_u64().expect("total") as usize;
            assert_eq!(*total.get_or_insert(this_total), this_total, "the total is the same on every page");
            let page = bundle["entry"].as_array().cloned().unwrap_or_default();
            let matches = page.iter().filter(|e| e["search"]["mode"] == "match").count();
            assert!(matches <= count, "at most _count={count} matches per page, got {matches}");
            let links = bundle["link"].as_array().expect("links");
            let link =
                |relation: &str| links.iter().find(|l| l["relation"] == relation).and_then(|l| l["url"].as_str());
            let self_link = link("self").expect("self link");
            assert!(self_link.starts_with(&format!("{}/", self.base)), "absolute self link: {self_link}");
            if let Some(url) = link("next") {
                assert!(url.starts_with(&format!("{}/", self.base)), "absolute next link: {url}");
                assert_eq!(matches, count, "full pages before the last");
                next = Some(url.to_owned());
            }
            entries.extend(page);
        }
        (entries, pages, total.unwrap_or(0))
    }

    fn patient(&self, name: &str) -> &str {
        &self.patients.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no patient {name}")).1
    }
}

/// `Type/id` of an entry, checked against its fullUrl.
fn entry_key(fhir: &Fhir, entry: &Value) -> String {
    let resource = &entry["resource"];
    let key = format!("{}/{}", resource["resourceType"].as_str().expect("type"), resource["id"].as_str().expect("id"));
    assert_eq!(entry["fullUrl"], format!("{}/{key}", fhir.base), "fullUrl is {{base}}/{{Type}}/{{id}}");
    key
}

fn assert_outcome(reply: &Reply, status: u16, what: &str) {
    reply.assert_status(status, what);
    assert_eq!(reply.header("Content-Type"), Some(FHIR_JSON), "{what}");
    assert_eq!(reply.header("Access-Control-Allow-Origin"), Some("*"), "{what}");
    let outcome = reply.json();
    assert_eq!(outcome["resourceType"], "OperationOutcome", "{what}");
    assert_eq!(outcome["issue"][0]["severity"], "error", "{what}");
    assert!(outcome["issue"][0]["code"].is_string(), "{what}");
}

// ------------------------------------------------------------------- tests

#[test]
fn metadata_is_open_and_everything_else_needs_the_token() {
    let db = TempDb::new();
    let fhir = Fhir::start(&db, &[]);
    assert_eq!(fhir.base, format!("{}/fhir", fhir.server.base()));
    assert_eq!(fhir.token.len(), 43, "256 random bits, base64url");
    assert!(fhir.token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    let samples = samples();
    let expected_ids: BTreeSet<&str> = samples.iter().map(|s| s.patient.as_str()).collect();
    let printed_ids: BTreeSet<&str> = fhir.patients.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(printed_ids, expected_ids, "one printed patient per sample, by its Patient id");
    let text = fhir.server.output();
    for entry in fhir.server.demo["fhir"]["patients"].as_array().unwrap() {
        let url = format!("{}/?fhir={}&patient={}", fhir.server.base(), fhir.base, entry["id"].as_str().unwrap());
        assert_eq!(entry["url"], url.as_str());
        assert!(text.contains(&url), "the demo page URL is printed: {url}");
    }
    assert!(text.contains(&format!("  token: {}", fhir.token)), "the token is printed");

    // The CapabilityStatement, without a token.
    let reply = fhir.server.get("/fhir/metadata");
    reply.assert_status(200, "metadata");
    assert_eq!(reply.header("Content-Type"), Some(FHIR_JSON));
    assert_eq!(reply.header("Access-Control-Allow-Origin"), Some("*"));
    let statement = reply.json();
    assert_eq!(statement["resourceType"], "CapabilityStatement");
    assert_eq!(statement["fhirVersion"], "4.0.1");
    assert_eq!(statement["kind"], "instance");
    assert!(statement["format"].as_array().unwrap().iter().any(|f| f == "json"));
    assert_eq!(statement["implementation"]["url"], fhir.base.as_str());
    let rest = &statement["rest"][0];
    assert_eq!(rest["mode"], "server");
    let resources: BTreeMap<&str, &Value> =
        rest["resource"].as_array().unwrap().iter().map(|r| (r["type"].as_str().unwrap(), r)).collect();
    let types: BTreeSet<&str> =
        samples.iter().flat_map(|s| s.resources.keys()).map(|k| k.split('/').next().unwrap()).collect();
    assert_eq!(resources.keys().copied().collect::<BTreeSet<_>>(), types, "the types of the samples");
    let params = |kind: &str| -> BTreeSet<String> {
        resources[kind]["searchParam"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    for kind in ["Observation", "Condition", "CarePlan", "DiagnosticReport"] {
        assert!(
            ["patient", "category", "_count"].iter().all(|p| params(kind).contains(*p)),
            "{kind}: {:?}",
            params(kind)
        );
    }
    assert!(params("Encounter").contains("patient") && !params("Encounter").contains("category"));
    assert_eq!(resources["MedicationRequest"]["searchInclude"][0], "MedicationRequest:medication");
    let operation = &resources["Patient"]["operation"][0];
    assert_eq!(operation["name"], "everything");
    assert_eq!(operation["definition"], "http://hl7.org/fhir/OperationDefinition/Patient-everything");

    // No token, another scheme, a wrong token, the token in the query: 401.
    let christian = fhir.patient("Christian Balistreri").to_owned();
    let read = format!("/fhir/Patient/{christian}");
    let missing = fhir.get_with(&read, &[]);
    assert_outcome(&missing, 401, "no token");
    assert_eq!(missing.header("WWW-Authenticate"), Some(r#"Bearer realm="fhir""#));
    let basic = fhir.get_with(&read, &[("Authorization", "Basic dXNlcjpwYXNz")]);
    assert_outcome(&basic, 401, "Basic credentials");
    let mut wrong = fhir.token.clone();
    let last = if wrong.ends_with('A') { "B" } else { "A" };
    wrong.replace_range(wrong.len() - 1.., last);
    let wrong_reply = fhir.get_with(&read, &[("Authorization", &format!("Bearer {wrong}"))]);
    assert_outcome(&wrong_reply, 401, "wrong token");
    assert!(wrong_reply
        .header("WWW-Authenticate")
        .is_some_and(|h| h.starts_with("Bearer") && h.contains("invalid_token")));
    let short = fhir.get_with(&read, &[("Authorization", &format!("Bearer {}", &fhir.token[..42]))]);
    assert_outcome(&short, 401, "a prefix of the token");
    let in_query = fhir.get_with(&format!("{read}?access_token={}", fhir.token), &[]);
    assert_outcome(&in_query, 401, "the token in the query string");
    assert_outcome(&fhir.get_with(&format!("/fhir/Patient/{christian}/$everything"), &[]), 401, "$everything");
    assert_outcome(&fhir.get_with(&format!("/fhir/Observation?patient={christian}"), &[]), 401, "search");
    assert_outcome(&fhir.get_with("/fhir/Nope", &[]), 401, "unknown types are not revealed without the token");

    // The right token, with the scheme in any case.
    let patient = fhir.get(&read);
    patient.assert_status(200, "read");
    assert_eq!(patient.header("Content-Type"), Some(FHIR_JSON));
    assert_eq!(patient.json()["id"], christian.as_str());
    let lower = fhir.get_with(&read, &[("Authorization", &format!("bearer {}", fhir.token))]);
    lower.assert_status(200, "lower-case scheme");

    // The access log names method, path and status; never the token or a query.
    let marker = "/fhir/Patient/zzzzzzzzzz-end-of-test";
    fhir.get(marker).assert_status(404, "unknown id");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !fhir.server.output().contains("GET /fhir/Patient/zzzzzz… 404") {
        assert!(Instant::now() < deadline, "the access log line of the last request:\n{}", fhir.server.output());
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = fhir.server.output();
    assert_eq!(
        output.matches(fhir.token.as_str()).count(),
        2,
        "the token appears only in the start-up text and DEMO_LINKS"
    );
    assert!(!output.contains(&wrong), "a wrong token is not logged");
    assert!(!output.contains("access_token"), "query strings are not logged");
    assert!(output.contains(&format!("GET /fhir/Patient/{}… 200", &christian[..6])), "ids are cut in the log");
    assert!(!output.lines().any(|l| l.starts_with("GET") && l.contains(&christian)), "full ids are not logged");
}

#[test]
fn reads_and_everything_serve_exactly_the_sample_bundles() {
    let db = TempDb::new();
    let fhir = Fhir::start(&db, &[]);
    for sample in samples() {
        let id = &sample.patient;
        let patient = fhir.get(&format!("/fhir/Patient/{id}"));
        patient.assert_status(200, "Patient read");
        assert_eq!(&patient.json(), &sample.resources[&format!("Patient/{id}")], "the Patient as in the sample");

        // $everything, seven per page, followed to the end.
        let (entries, pages, total) = fhir.all_pages(&format!("/fhir/Patient/{id}/$everything?_count=7"), 7);
        assert_eq!(total, sample.resources.len(), "total of {id}");
        assert_eq!(pages, sample.resources.len().div_ceil(7), "pages of {id}");
        let mut served = BTreeMap::new();
        for entry in &entries {
            assert_eq!(entry["search"]["mode"], "match");
            let key = entry_key(&fhir, entry);
            assert!(served.insert(key.clone(), entry["resource"].clone()).is_none(), "{key} served twice");
        }
        assert_eq!(
            served.keys().collect::<Vec<_>>(),
            sample.resources.keys().collect::<Vec<_>>(),
            "$everything of {id} is exactly its bundle"
        );
        for (key, resource) in &served {
            assert_eq!(resource, &sample.resources[key], "{key}: the sample resource, references rewritten");
            assert!(!resource.to_string().contains("\"urn:uuid:"), "{key}: no urn:uuid reference left");
        }

        // Every reference names a resource served to this patient (or a contained one).
        for (key, resource) in &served {
            let text = resource.to_string();
            for reference in text.split("\"reference\":\"").skip(1).map(|rest| rest.split('"').next().unwrap()) {
                assert!(reference.starts_with('#') || served.contains_key(reference), "{key}: dangling {reference}");
            }
        }

        // A read of another type answers the same resource as $everything.
        let (key, resource) = served.iter().find(|(k, _)| k.starts_with("Observation/")).expect("an Observation");
        let read = fhir.get(&format!("/fhir/{key}"));
        read.assert_status(200, "Observation read");
        assert_eq!(&read.json(), resource);

        // The default page is 50; _count above 500 is served as 500.
        let first = fhir.bundle(&format!("/fhir/Patient/{id}/$everything"));
        assert_eq!(first["entry"].as_array().map_or(0, Vec::len), sample.resources.len().min(50));
        let big = fhir.bundle(&format!("/fhir/Patient/{id}/$everything?_count=100000"));
        assert_eq!(big["entry"].as_array().unwrap().len(), sample.resources.len().min(500));
        assert!(big["link"].as_array().unwrap().iter().all(|l| l["relation"] != "next"), "no next after the last page");
        let self_link = big["link"][0]["url"].as_str().unwrap();
        assert_eq!(self_link, format!("{}/Patient/{id}/$everything?_count=500", fhir.base));

        // _count=0: the total only; _type narrows.
        let counted = fhir.bundle(&format!("/fhir/Patient/{id}/$everything?_count=0"));
        assert_eq!(counted["total"], sample.resources.len());
        assert!(counted.get("entry").is_none());
        let (typed, _, typed_total) =
            fhir.all_pages(&format!("/fhir/Patient/{id}/$everything?_type=Patient,Immunization&_count=4"), 4);
        let expected = sample.of_type("Patient").len() + sample.of_type("Immunization").len();
        assert_eq!((typed.len(), typed_total), (expected, expected));
    }
}

#[test]
fn searches_filter_by_patient_category_and_include() {
    let db = TempDb::new();
    let fhir = Fhir::start(&db, &[]);
    let samples = samples();
    for sample in &samples {
        let id = &sample.patient;
        // Every type with a patient search parameter: the sample's resources of that type.
        for kind in ["Observation", "Condition", "Encounter", "Immunization", "MedicationRequest", "CarePlan"] {
            let expected: BTreeSet<String> =
                sample.of_type(kind).iter().map(|r| format!("{kind}/{}", r["id"].as_str().unwrap())).collect();
            for query in [format!("patient={id}"), format!("patient=Patient/{id}")] {
                let (entries, pages, total) = fhir.all_pages(&format!("/fhir/{kind}?{query}&_count=5"), 5);
                let served: BTreeSet<String> = entries.iter().map(|e| entry_key(&fhir, e)).collect();
                assert_eq!(served, expected, "{kind}?{query}");
                assert_eq!(total, expected.len());
                assert_eq!(pages, expected.len().div_ceil(5).max(1));
            }
        }
        let subject = fhir.bundle(&format!("/fhir/Observation?subject=Patient/{id}&_count=0"));
        assert_eq!(subject["total"], sample.of_type("Observation").len());

        // category: code, system|code, |code, system|, OR within a value, AND across values.
        for kind in ["Observation", "Condition", "CarePlan", "DiagnosticReport"] {
            let resources = sample.of_type(kind);
            let mut tokens: BTreeSet<Coding> = resources.iter().flat_map(|r| codes(r)).collect();
            tokens.insert((Some("http://example.org/none"), "none"));
            for (system, code) in tokens {
                let count =
                    |matches: &dyn Fn(&[Coding]) -> bool| resources.iter().filter(|r| matches(&codes(r))).count();
                let mut cases = vec![(code.to_owned(), count(&|c| c.iter().any(|t| t.1 == code)))];
                if let Some(system) = system {
                    cases.push((format!("{system}|{code}"), count(&|c| c.contains(&(Some(system), code)))));
                    cases.push((format!("{system}|"), count(&|c| c.iter().any(|t| t.0 == Some(system)))));
                }
                cases.push((format!("|{code}"), count(&|c| c.contains(&(None, code)))));
                cases.push((format!("{code},none-such"), count(&|c| c.iter().any(|t| t.1 == code))));
                for (value, expected) in cases {
                    let url = format!("/fhir/{kind}?patient={id}&category={}&_count=3", encode(&value));
                    let (entries, _, total) = fhir.all_pages(&url, 3);
                    assert_eq!((total, entries.len()), (expected, expected), "{url}");
                    for entry in &entries {
                        let served = codes(&entry["resource"]);
                        let (system, code) = value
                            .split_once('|')
                            .map_or((None, value.split(',').next().unwrap()), |(s, c)| (Some(s), c));
                        assert!(
                            served
                                .iter()
                                .any(|t| (code.is_empty() || t.1 == code)
                                    && system.is_none_or(|s| t.0.unwrap_or("") == s)),
                            "{url}: {served:?}"
                        );
                    }
                }
            }
        }
        let both = fhir.bundle(&format!("/fhir/Observation?patient={id}&category=laboratory&category=vital-signs"));
        let expected = sample
            .of_type("Observation")
            .iter()
            .filter(|r| codes(r).iter().any(|t| t.1 == "laboratory") && codes(r).iter().any(|t| t.1 == "vital-signs"))
            .count();
        assert_eq!(both["total"], expected, "repeated category parameters must all match");

        // _include=MedicationRequest:medication: the requests, then the Medications they reference.
        let requests = sample.of_type("MedicationRequest");
        let referenced: BTreeSet<&str> = requests
            .iter()
            .filter_map(|r| r["medicationReference"]["reference"].as_str())
            .filter(|r| sample.resources.contains_key(*r))
            .collect();
        let (entries, _, total) = fhir.all_pages(
            &format!("/fhir/MedicationRequest?patient={id}&_include=MedicationRequest:medication&_count=500"),
            500,
        );
        assert_eq!(total, requests.len(), "total counts matches only");
        let included: BTreeSet<String> =
            entries.iter().filter(|e| e["search"]["mode"] == "include").map(|e| entry_key(&fhir, e)).collect();
        assert_eq!(included, referenced.iter().map(|r| r.to_string()).collect(), "included Medications of {id}");
        assert_eq!(entries.len(), requests.len() + referenced.len());
    }

    // A patient's search never returns another patient's resources.
    let alex = fhir.patient("Alex Rivera");
    let bundle = fhir.bundle(&format!("/fhir/Observation?patient={alex}&_count=500"));
    for entry in bundle["entry"].as_array().unwrap() {
        assert_eq!(entry["resource"]["subject"]["reference"], format!("Patient/{alex}"));
    }
    let unknown = fhir.bundle("/fhir/Observation?patient=no-such-patient");
    assert_eq!(unknown["total"], 0);
    assert!(unknown.get("entry").is_none(), "no empty entry array");

    // Paging links keep the parameters, and an offset past the end is an empty page.
    let christian = fhir.patient("Christian Balistreri");
    let page = fhir.bundle(&format!("/fhir/Observation?patient={christian}&category=vital-signs&_count=2&_offset=2"));
    let next = page["link"].as_array().unwrap().iter().find(|l| l["relation"] == "next").expect("next")["url"]
        .as_str()
        .unwrap();
    assert_eq!(next, format!("{}/Observation?patient={christian}&category=vital-signs&_count=2&_offset=4", fhir.base));
    let past = fhir.bundle(&format!("/fhir/Observation?patient={christian}&_offset=100000"));
    assert!(past.get("entry").is_none() && past["total"].as_u64().unwrap() > 0);

    // Types without a patient parameter list their resources.
    let organizations = fhir.bundle("/fhir/Organization");
    let expected: BTreeSet<&String> =
        samples.iter().flat_map(|s| s.resources.keys()).filter(|k| k.starts_with("Organization/")).collect();
    assert_eq!(organizations["total"], expected.len());
    let first = expected.iter().next().unwrap().split('/').nth(1).unwrap();
    assert_eq!(fhir.bundle(&format!("/fhir/Organization?_id={first}"))["total"], 1);
}

#[test]
fn bad_requests_are_operation_outcomes_and_cors_is_open() {
    let db = TempDb::new();
    let fhir = Fhir::start(&db, &[]);
    let id = fhir.patient("Dusty Stracke").to_owned();

    assert_outcome(&fhir.get("/fhir/Nope"), 404, "unknown type");
    assert_outcome(&fhir.get(&format!("/fhir/Nope?patient={id}")), 404, "unknown type, searched");
    assert_outcome(&fhir.get("/fhir/Nope/1"), 404, "unknown type, read");
    assert_outcome(&fhir.get("/fhir/Patient/no-such-id"), 404, "unknown id");
    assert_outcome(&fhir.get("/fhir/Patient/no-such-id/$everything"), 404, "unknown patient");
    assert_outcome(&fhir.get(&format!("/fhir/Patient/{id}/$nothing")), 404, "unknown operation");
    assert_outcome(&fhir.get("/fhir/"), 404, "the bare base");

    for query in [
        format!("Observation?patient={id}&_count=abc"),
        format!("Observation?patient={id}&_count=-1"),
        format!("Observation?patient={id}&_count=1&_count=2"),
        format!("Observation?patient={id}&_offset=x"),
        "Observation".to_owned(),
        "Observation?patient=".to_owned(),
        "Observation?patient=Organization/x".to_owned(),
        format!("Observation?patient={id}&subject={id}"),
        format!("Observation?patient={id}&category=|"),
        format!("Observation?patient={id}&category="),
        format!("Observation?patient={id}&foo=1"),
        format!("Encounter?patient={id}&category=x"),
        format!("Observation?patient={id}&_include=MedicationRequest:medication"),
        format!("MedicationRequest?patient={id}&_include=MedicationRequest:requester"),
        format!("MedicationRequest?patient={id}&_include=*"),
        format!("Observation?patient={id}&_sort=date"),
        format!("Observation?patient=%ff{id}"),
        format!("Patient/{id}/$everything?_count=x"),
        format!("Patient/{id}/$everything?_type=not%20a%20type"),
        format!("Patient/{id}/$everything?start=2020"),
    ] {
        assert_outcome(&fhir.get(&format!("/fhir/{query}")), 400, &query);
    }
    assert_outcome(&fhir.get(&format!("/fhir/Observation?patient={id}&_format=xml")), 406, "XML");
    fhir.bundle(&format!("/fhir/Observation?patient={id}&_format=json"));

    // Prefer: handling=lenient ignores unknown parameters, and the self link says so.
    let auth = format!("Bearer {}", fhir.token);
    let lenient = fhir.get_with(
        &format!("/fhir/Observation?patient={id}&foo=1&_count=1"),
        &[("Authorization", &auth), ("Prefer", "handling=lenient")],
    );
    lenient.assert_status(200, "lenient");
    let self_link = lenient.json()["link"][0]["url"].as_str().unwrap().to_owned();
    assert_eq!(self_link, format!("{}/Observation?patient={id}&_count=1", fhir.base));

    // Other methods: 405, read-only.
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let reply = fhir.server.request(method, &format!("/fhir/Patient/{id}"), &[("Authorization", &auth)], b"{}");
        assert_outcome(&reply, 405, method);
        assert_eq!(reply.header("Allow"), Some("GET, HEAD, OPTIONS"));
    }

    // CORS preflight, without a token.
    let preflight = fhir.server.request(
        "OPTIONS",
        &format!("/fhir/Patient/{id}/$everything"),
        &[
            ("Origin", "http://localhost:5173"),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "authorization, accept"),
        ],
        b"",
    );
    preflight.assert_status(204, "preflight");
    assert_eq!(preflight.header("Access-Control-Allow-Origin"), Some("*"));
    assert!(preflight.header("Access-Control-Allow-Methods").is_some_and(|m| m.contains("GET")));
    let allowed = preflight.header("Access-Control-Allow-Headers").unwrap_or("").to_ascii_lowercase();
    assert!(allowed.contains("authorization") && allowed.contains("accept"), "{allowed}");
    let read =
        fhir.get_with(&format!("/fhir/Patient/{id}"), &[("Authorization", &auth), ("Origin", "http://localhost:5173")]);
    read.assert_status(200, "cross-origin read");
    assert_eq!(read.header("Access-Control-Allow-Origin"), Some("*"));
}

#[test]
fn links_follow_the_host_header_or_the_public_url() {
    let db = TempDb::new();
    let fhir = Fhir::start(&db, &[]);
    let id = fhir.patient("Alex Rivera").to_owned();
    let raw = format!(
        "GET /fhir/Patient/{id}/$everything?_count=1 HTTP/1.1\r\nHost: localhost:{}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        fhir.server.port, fhir.token
    );
    let mut stream = TcpStream::connect(("127.0.0.1", fhir.server.port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    stream.write_all(raw.as_bytes()).unwrap();
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    let reply = parse_reply(&bytes);
    reply.assert_status(200, "via localhost");
    let bundle = reply.json();
    let origin = format!("http://localhost:{}/fhir", fhir.server.port);
    assert_eq!(bundle["link"][1]["url"], format!("{origin}/Patient/{id}/$everything?_count=1&_offset=1"));
    assert!(bundle["entry"][0]["fullUrl"].as_str().unwrap().starts_with(&format!("{origin}/")));
    drop(fhir);

    let db = TempDb::new();
    let public = Fhir::start(&db, &["--public-url", "https://portal.example/dev"]);
    assert_eq!(public.base, "https://portal.example/dev/fhir");
    let id = public.patient("Alex Rivera").to_owned();
    assert_eq!(
        public.server.demo["fhir"]["patients"][2]["url"],
        format!("https://portal.example/dev/?fhir=https://portal.example/dev/fhir&patient={id}")
    );
    let bundle = public.bundle(&format!("/fhir/Patient/{id}/$everything?_count=1"));
    assert_eq!(
        bundle["link"][1]["url"],
        format!("https://portal.example/dev/fhir/Patient/{id}/$everything?_count=1&_offset=1")
    );
    let metadata = public.server.get("/fhir/metadata").json();
    assert_eq!(metadata["implementation"]["url"], "https://portal.example/dev/fhir");
}

/// Percent-encodes a query value the way a client would.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
