//! Source and the pipeline: status codes, retries, size limits and the
//! whole open path, over a scripted transport and over real loopback HTTP.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::TcpListener;

use common::loopback::Loopback;
use common::*;
use patient_portal_sdk::pipeline::{open_jwe, open_url, OpenOptions, Stage};
use patient_portal_sdk::source::{fetch_jwe, FetchOptions, HttpClient, HttpRequest, HttpResponse, Scheduler, SourceError};
use patient_portal_sdk::unseal::{seal, ContentKey, SealOptions};
use patient_portal_sdk::Error;

/// Answers from a script, recording requests and sleeps.
struct Scripted {
    answers: RefCell<VecDeque<Result<HttpResponse, SourceError>>>,
    requests: RefCell<usize>,
    sleeps: RefCell<Vec<u32>>,
}

impl Scripted {
    fn new(answers: Vec<Result<HttpResponse, SourceError>>) -> Self {
        Self { answers: RefCell::new(answers.into()), requests: RefCell::new(0), sleeps: RefCell::new(vec![]) }
    }
}

fn ok(status: u16, body: &[u8]) -> Result<HttpResponse, SourceError> {
    Ok(HttpResponse { status, content_type: Some("application/jose".into()), retry_after: None, body: body.to_vec() })
}

impl HttpClient for Scripted {
    async fn send(&self, _request: HttpRequest<'_>, _max: usize) -> Result<HttpResponse, SourceError> {
        *self.requests.borrow_mut() += 1;
        self.answers.borrow_mut().pop_front().expect("an unexpected extra request")
    }
}

impl Scheduler for Scripted {
    async fn sleep(&self, millis: u32) {
        self.sleeps.borrow_mut().push(millis);
    }
}

fn fetch(client: &Scripted) -> Result<String, SourceError> {
    let body = pollster::block_on(fetch_jwe(client, client, "https://records.example/r.jwe", &FetchOptions::default()))?;
    Ok(String::from_utf8(body).expect("a checked JWE body is ASCII").trim().to_string())
}

#[test]
fn statuses_and_bodies() {
    assert_eq!(fetch(&Scripted::new(vec![ok(200, b"  aa.bb.cc.dd.ee\n")])), Ok("aa.bb.cc.dd.ee".into()));
    assert_eq!(fetch(&Scripted::new(vec![ok(404, b"")])), Err(SourceError::Status { status: 404 }));
    assert_eq!(fetch(&Scripted::new(vec![ok(500, b"oops")])), Err(SourceError::Status { status: 500 }));
    assert_eq!(fetch(&Scripted::new(vec![ok(200, b"<html>login</html>")])), Err(SourceError::NotJwe));
    assert_eq!(fetch(&Scripted::new(vec![ok(200, b"")])), Err(SourceError::NotJwe));
    assert_eq!(fetch(&Scripted::new(vec![ok(200, &[0xff, 0xfe])])), Err(SourceError::NotJwe));
}

#[test]
fn transient_failures_retry_with_backoff_and_stop() {
    let client = Scripted::new(vec![Err(SourceError::Network("down".into())), ok(503, b""), ok(200, b"a.b.c.d.e")]);
    assert_eq!(fetch(&client), Ok("a.b.c.d.e".into()));
    assert_eq!(*client.requests.borrow(), 3);
    assert_eq!(*client.sleeps.borrow(), vec![300, 600]);
    // Retries are bounded: the third failure is reported.
    let client = Scripted::new(vec![ok(502, b""), ok(503, b""), ok(504, b"")]);
    assert_eq!(fetch(&client), Err(SourceError::Status { status: 504 }));
    // A 4xx is not retried.
    let client = Scripted::new(vec![ok(403, b"")]);
    assert_eq!(fetch(&client), Err(SourceError::Status { status: 403 }));
    assert_eq!(*client.requests.borrow(), 1);
}

#[test]
fn size_limit() {
    let options = FetchOptions { max_bytes: 10, ..FetchOptions::default() };
    let client = Scripted::new(vec![ok(200, b"aaaa.bbbb.cccc")]);
    let result = pollster::block_on(fetch_jwe(&client, &client, "u", &options));
    assert_eq!(result, Err(SourceError::TooLarge { limit: 10 }));
}

fn sealed_christian() -> (String, ContentKey) {
    let key = ContentKey::from_bytes(&[42; 32]).unwrap();
    let bundle = read("fhir/synthea/Christian_Balistreri_59339691-0270-4c4a-a34d-338e3008b9c3.json");
    let options = SealOptions { deflate: true, content_type: Some("application/fhir+json".into()) };
    (seal(&bundle, &key, [7; 12], &options).unwrap(), key)
}

#[test]
fn open_reports_stages_and_codes() {
    let (jwe, key) = sealed_christian();
    let client = Scripted::new(vec![ok(200, jwe.as_bytes())]);
    let mut stages = vec![];
    let record = pollster::block_on(open_url(&client, &client, "u", &key, &OpenOptions::default(), &mut |s| stages.push(s))).unwrap();
    assert_eq!(record.entries.len(), 99);
    assert_eq!(stages, [Stage::Fetch, Stage::Decrypt, Stage::Parse, Stage::Ready]);

    let wrong = ContentKey::from_bytes(&[1; 32]).unwrap();
    let err = open_jwe(&jwe, &wrong, &OpenOptions::default(), &mut |_| {}).unwrap_err();
    assert_eq!(err.code(), "decrypt");
    let client = Scripted::new(vec![ok(404, b"")]);
    let err = pollster::block_on(open_url(&client, &client, "u", &key, &OpenOptions::default(), &mut |_| {})).unwrap_err();
    assert_eq!((err.code(), err.status()), ("httpStatus", Some(404)));

    // A SMART Health Card payload is not FHIR JSON: refused as unsupported here.
    let shc = seal(b"{}", &key, [9; 12], &SealOptions { deflate: false, content_type: Some("application/smart-health-card".into()) }).unwrap();
    let err = open_jwe(&shc, &key, &OpenOptions::default(), &mut |_| {}).unwrap_err();
    assert!(matches!(err, Error::UnsupportedContent(_)));
    assert_eq!(err.code(), "unsupported");
    // Authentic but not JSON.
    let text = seal(b"hello", &key, [9; 12], &SealOptions::default()).unwrap();
    assert_eq!(open_jwe(&text, &key, &OpenOptions::default(), &mut |_| {}).unwrap_err().code(), "format");
}

/// Serves the given (status, body) answers, one per connection, on 127.0.0.1.
fn serve(answers: Vec<(u16, Vec<u8>)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for (status, body) in answers {
            let (mut s, _) = listener.accept().unwrap();
            // Read the whole request head before answering.
            let mut head = vec![];
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let _ = write!(s, "HTTP/1.1 {status} X\r\nContent-Type: application/jose\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = s.write_all(&body);
        }
    });
    format!("http://{addr}/record.jwe")
}

#[test]
fn whole_pipeline_over_real_loopback_http() {
    let (jwe, key) = sealed_christian();
    let url = serve(vec![(503, vec![]), (200, jwe.into_bytes())]);
    let record = pollster::block_on(open_url(&Loopback::default(), &Loopback::default(), &url, &key, &OpenOptions::default(), &mut |_| {})).unwrap();
    assert_eq!(record.of_type("Immunization").count(), 10);
    let url = serve(vec![(410, vec![])]);
    let err = pollster::block_on(open_url(&Loopback::default(), &Loopback::default(), &url, &key, &OpenOptions::default(), &mut |_| {})).unwrap_err();
    assert_eq!(err.status(), Some(410));
    // Nothing listening: a network error after the bounded retries.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let err =
        pollster::block_on(open_url(&Loopback::default(), &Loopback::default(), &format!("http://{closed}/x"), &key, &OpenOptions::default(), &mut |_| {}))
            .unwrap_err();
    assert_eq!(err.code(), "network");
}

/// The core opens a fetched record already screened for its viewer: a
/// caregiver never receives the labelled resource, and the stages say so.
#[test]
fn open_url_screened_returns_only_what_the_viewer_may_see() {
    use patient_portal_sdk::consent::{Policy, Role, Viewer};
    use patient_portal_sdk::pipeline::{open, Audience, SealedFile};
    use patient_portal_sdk::unseal::RustCryptoCipher;
    let key = ContentKey::from_bytes(&[42; 32]).unwrap();
    let act = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
    let bundle = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p", "birthDate": "1980-01-01", "name": [{"family": "Test"}]}},
        {"resource": {"resourceType": "Condition", "id": "c-psy", "meta": {"security": [{"system": act, "code": "PSY"}]}, "code": {"text": "Depressive episode"}}},
        {"resource": {"resourceType": "Immunization", "id": "i1", "status": "completed", "vaccineCode": {"text": "Influenza"}, "occurrenceDateTime": "2016-10-01"}}
    ]});
    let jwe = seal(bundle.to_string().as_bytes(), &key, [7; 12], &SealOptions::default()).unwrap();
    let caregiver = Viewer { role: Role::Proxy, relationship: Some("caregiver".into()), actor: None, purpose: None, at: 1_790_000_000 };
    let policy = Policy::default();
    let client = Scripted::new(vec![ok(200, jwe.as_bytes())]);
    let mut stages = vec![];
    let audience = Audience { viewer: &caregiver, policy: &policy, consents: &[] };
    let options = OpenOptions::default();
    let source = SealedFile { client: &client, cipher: &RustCryptoCipher, url: "u", key: &key, options: &options };
    let screened = pollster::block_on(open(&source, &client, audience, &mut |s| stages.push(s))).unwrap().screened;
    let types: Vec<&str> = screened.record.entries.iter().map(|e| e.resource_type.as_str()).collect();
    assert_eq!(types, ["Patient", "Immunization"]);
    assert_eq!(screened.decisions.iter().filter(|d| !d.permit).count(), 1);
    assert_eq!(stages, [Stage::Fetch, Stage::Decrypt, Stage::Parse, Stage::Consent, Stage::Ready]);
}
