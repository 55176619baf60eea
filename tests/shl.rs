//! SMART Health Links against the reference data in `../shared/data/shl/`:
//! every example link parses, the spec's file and card open and verify, the
//! IG's `U` link opens byte for byte, the truncated manifest is refused, and
//! the protocol's answers (401, 404, 429, stale locations) are handled.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::*;
use patient_portal_sdk::pipeline::Stage;
use patient_portal_sdk::shl::{
    decode_jws, open_link, parse_link, read_card_file, resolve, verify, CardError, Delivery, IssuerKeys, LinkError, LinkOptions, ResolveOptions, SkipReason,
    Unverified, Verification,
};
use patient_portal_sdk::source::{HttpClient, HttpRequest, HttpResponse, Scheduler, SourceError};
use patient_portal_sdk::unseal::{seal, ContentKey, SealOptions, UnsealOptions};
use patient_portal_sdk::Error;
use serde_json::{json, Value};

const NOW: i64 = 1_795_000_000; // 2026-11-18

/// Answers by "METHOD url", each from its own queue; records what was asked.
#[derive(Default)]
struct Host {
    answers: RefCell<HashMap<String, VecDeque<HttpResponse>>>,
    asked: RefCell<Vec<String>>,
    bodies: RefCell<Vec<Value>>,
    sleeps: RefCell<Vec<u32>>,
}

impl Host {
    fn on(self, method: &str, url: &str, status: u16, body: impl Into<Vec<u8>>) -> Self {
        self.on_with(method, url, HttpResponse { status, body: body.into(), ..HttpResponse::default() })
    }
    fn on_with(self, method: &str, url: &str, response: HttpResponse) -> Self {
        self.answers.borrow_mut().entry(format!("{method} {url}")).or_default().push_back(response);
        self
    }
    fn asked(&self) -> Vec<String> {
        self.asked.borrow().clone()
    }
}

impl HttpClient for Host {
    async fn send(&self, request: HttpRequest<'_>, _max: usize) -> Result<HttpResponse, SourceError> {
        let method = if request.json_body.is_some() { "POST" } else { "GET" };
        let key = format!("{method} {}", request.url);
        self.asked.borrow_mut().push(key.clone());
        if let Some(body) = request.json_body {
            self.bodies.borrow_mut().push(serde_json::from_slice(body).expect("request bodies are JSON"));
        }
        let answer = self.answers.borrow_mut().get_mut(&key).and_then(VecDeque::pop_front);
        answer.ok_or_else(|| SourceError::Network(format!("nothing scripted for {key}")))
    }
}

impl Scheduler for Host {
    async fn sleep(&self, millis: u32) {
        self.sleeps.borrow_mut().push(millis);
    }
}

fn options(recipient: &str) -> LinkOptions {
    LinkOptions { resolve: ResolveOptions::new(recipient), unseal: UnsealOptions::default(), issuer_keys: IssuerKeys::default() }
}

fn open(host: &Host, link: &str, options: &LinkOptions) -> Result<patient_portal_sdk::shl::SharedRecord, Error> {
    let link = parse_link(link)?;
    pollster::block_on(open_link(host, host, &link, options, NOW, &mut |_| {}))
}

fn spec_vector() -> Value {
    read_json("shl/spec-example/spec_example_vector.json")
}

fn link_from(payload: &Value) -> String {
    format!("shlink:/{}", URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).unwrap()))
}

#[test]
fn every_example_link_parses() {
    let vector = spec_vector();
    for text in [vector["shlink_viewer_url"].as_str().unwrap(), vector["shlink_bare"].as_str().unwrap()] {
        let link = parse_link(text).unwrap();
        assert_eq!(link.url, "https://ehr.example.org/qr/Y9xwkUdtmN9wwoJoN3ffJIhX2UGvCL1JnlPVNL3kDWM/m");
        assert_eq!(link.key.to_base64url().as_str(), "rxTgYlOaKJPFtcEd0qcceN8wEU4p94SqAwIWQe6uX7Q");
        assert!(link.flags.long_term && link.flags.passcode && !link.flags.direct);
        assert_eq!(link.label.as_deref(), Some("Back-to-school immunizations for Oliver Brown"));
        assert_eq!((link.exp, link.version), (None, 1));
    }
    let ips = read_json("shl/hl7-ig/IPS_IG-bundle-01-shl-details.json");
    for field in ["shlink", "shlinkBare"] {
        let link = parse_link(ips[field].as_str().unwrap()).unwrap();
        assert_eq!(link.url, ips["shlinkJsonPayload"]["url"].as_str().unwrap());
        assert_eq!(link.label.as_deref(), Some("Demo SHL for IPS_IG-bundle-01"));
        assert!(link.flags.direct && link.flags.long_term && !link.flags.passcode);
    }
    // The CARIN details file is the payload itself.
    for (text, payload) in [
        ("IPS_IG-bundle-01-shl.txt", &ips["shlinkJsonPayload"]),
        ("CARIN_INS_CD-bundle-01-shl.txt", &read_json("shl/hl7-ig/CARIN_INS_CD-bundle-01-shl-details.json")),
    ] {
        let link = parse_link(&read_text(&format!("shl/hl7-ig/{text}"))).unwrap();
        assert_eq!(link.url, payload["url"].as_str().unwrap());
        assert_eq!(link.key.to_base64url().as_str(), payload["key"].as_str().unwrap());
        assert_eq!(link.flags.as_text(), payload["flag"].as_str().unwrap());
        assert_eq!(link.label.as_deref(), payload["label"].as_str());
    }
    let cgm = read_json("shl/hl7-ig/120day_raw_obs_unguessable_shl_id0000000000.details.json");
    for field in ["shlink", "shlinkBare"] {
        let link = parse_link(cgm[field].as_str().unwrap()).unwrap();
        assert_eq!(link.label.as_deref(), Some("Josh's CGM Data"));
        assert_eq!(link.key.as_bytes().len(), 32);
    }
    // exp as a numeric string, v: 1, and an unknown field (ignored).
    let payload = read_json("shl/hl7-ig/shl-payload-1.json");
    let link = parse_link(&link_from(&payload)).unwrap();
    assert_eq!(link.exp, Some(1_767_225_600_000));
    assert_eq!(link.label, None);
    assert!(!link.is_expired(NOW));
}

#[test]
fn malformed_links_are_refused_with_reasons() {
    let good = json!({"url": "https://host.example/m", "key": "rxTgYlOaKJPFtcEd0qcceN8wEU4p94SqAwIWQe6uX7Q"});
    let with = |field: &str, value: Value| {
        let mut p = good.clone();
        p[field] = value;
        parse_link(&link_from(&p)).map(|_| ()).unwrap_err()
    };
    assert_eq!(parse_link("https://viewer.example/#nothing").unwrap_err(), LinkError::NotALink);
    assert_eq!(parse_link("shlink:/!!!").unwrap_err(), LinkError::Payload);
    assert_eq!(parse_link(&format!("shlink:/{}", URL_SAFE_NO_PAD.encode("[1]"))).unwrap_err(), LinkError::Payload);
    assert_eq!(parse_link(&format!("shlink:/{}", "A".repeat(20_000))).unwrap_err(), LinkError::TooLong);
    assert_eq!(with("key", json!("rxTgYlOaKJPFtcEd0qcceN8wEU4p94SqAwIWQe6uX7")), LinkError::BadKey);
    assert_eq!(with("key", json!("rxTgYlOaKJPFtcEd0qcceN8wEU4p94SqAwIWQe6uX7Q=")), LinkError::BadKey);
    assert_eq!(with("key", json!(42)), LinkError::BadKey);
    assert_eq!(with("url", json!("http://ehr.example.org/m")), LinkError::BadUrl);
    assert_eq!(with("url", json!("javascript:alert(1)")), LinkError::BadUrl);
    assert_eq!(with("exp", json!("tomorrow")), LinkError::BadExpiry);
    assert_eq!(with("exp", json!(true)), LinkError::BadExpiry);
    assert_eq!(with("flag", json!("PU")), LinkError::BadFlags);
    assert_eq!(with("label", json!("x".repeat(81))), LinkError::BadLabel);
    assert_eq!(with("v", json!(2)), LinkError::NewerVersion(2));
    assert_eq!(with("v", json!(0)), LinkError::BadVersion);
    let mut no_url = good.clone();
    no_url.as_object_mut().unwrap().remove("url");
    assert_eq!(parse_link(&link_from(&no_url)).unwrap_err(), LinkError::MissingUrl);
    // Allowed: 80 characters of label (counted as characters), unknown flags,
    // a numeric float exp, padding on the payload, a loopback http URL.
    let mut p = good.clone();
    p["label"] = json!("é".repeat(80));
    p["flag"] = json!("LXZ");
    p["exp"] = json!(1_900_000_000.5);
    p["url"] = json!("http://127.0.0.1:8080/shl/x");
    let link = parse_link(&format!("{}==", link_from(&p))).unwrap();
    assert_eq!((link.exp, link.flags.long_term, link.flags.passcode), (Some(1_900_000_000), true, false));
    // Error codes JavaScript sees.
    assert_eq!(Error::from(LinkError::BadKey).code(), "badLink");
    assert_eq!(Error::from(LinkError::NewerVersion(2)).code(), "unsupported");
    // Messages never carry the key.
    for e in [LinkError::BadKey, LinkError::Payload, LinkError::BadUrl] {
        assert!(!e.to_string().contains("rxTgYlOa"));
    }
}

#[test]
fn expired_and_passcode_links_stop_before_any_request() {
    let mut payload = json!({"url": "https://host.example/m", "key": "rxTgYlOaKJPFtcEd0qcceN8wEU4p94SqAwIWQe6uX7Q", "exp": NOW - 1});
    let host = Host::default();
    let err = open(&host, &link_from(&payload), &options("Dr. A")).unwrap_err();
    assert_eq!(err.code(), "expired");
    payload["exp"] = json!((NOW - 1).to_string());
    assert_eq!(open(&host, &link_from(&payload), &options("Dr. A")).unwrap_err().code(), "expired");
    payload["exp"] = json!(NOW + 60);
    payload["flag"] = json!("P");
    let err = open(&host, &link_from(&payload), &options("Dr. A")).unwrap_err();
    assert_eq!((err.code(), err.remaining_attempts()), ("passcodeRequired", None));
    let err = open(&host, &link_from(&payload), &options("  ")).unwrap_err();
    assert_eq!(err.code(), "badInput");
    assert!(host.asked().is_empty(), "no request for an expired link, a missing passcode or recipient");
}

/// The spec's example link (flags LP) with its real encrypted card: the
/// manifest request carries recipient and passcode; the card verifies with
/// its issuer's keys and not with others.
#[test]
fn spec_example_card_opens_and_verifies() {
    let vector = spec_vector();
    let url = vector["decoded_payload"]["url"].as_str().unwrap();
    let jwe = read_text("shl/spec-example/spec_example_file.jwe");
    assert_eq!(jwe.trim(), vector["file_jwe_compact"].as_str().unwrap().trim());
    let manifest = json!({"files": [{"contentType": "application/smart-health-card", "embedded": jwe.trim()}]}).to_string();
    let jwks = read_json("shl/spec-example/shc_issuer_jwks.json");
    let expected = read_json("shl/spec-example/spec_example_file.fhirBundle.json");
    let link = vector["shlink_viewer_url"].as_str().unwrap();

    let mut opts = options("Example Clinic");
    opts.resolve.passcode = Some("1234".to_string().into());
    let host = Host::default().on("POST", url, 200, manifest.clone());
    let shared = open(&host, link, &opts).unwrap();
    assert_eq!(host.bodies.borrow()[0], json!({"recipient": "Example Clinic", "passcode": "1234"}));
    assert_eq!(shared.source.label.as_deref(), Some("Back-to-school immunizations for Oliver Brown"));
    assert_eq!(shared.source.cards.len(), 1);
    assert_eq!(shared.source.cards[0].verification, Verification::Unverified(Unverified::NoKeys));
    let issuer = shared.source.cards[0].issuer.clone();
    assert_eq!(issuer, "https://spec.smarthealth.cards/examples/issuer");
    let raw: Vec<&Value> = shared.record.entries.iter().map(|e| &*e.raw).collect();
    let expected_resources: Vec<&Value> = expected["entry"].as_array().unwrap().iter().map(|e| &e["resource"]).collect();
    assert_eq!(raw, expected_resources, "the card's bundle, resource for resource");
    assert_eq!(shared.source.files[0].delivery, Delivery::Embedded);

    // Host-supplied keys (the trust list): verified. Keys fetched from the
    // card's own `iss`: signed, but not verified (anyone with a domain can
    // publish keys), one request.
    opts.issuer_keys.known.push((issuer.clone(), jwks.clone()));
    let host = Host::default().on("POST", url, 200, manifest.clone());
    assert_eq!(open(&host, link, &opts).unwrap().source.cards[0].verification, Verification::Verified);
    opts.issuer_keys.known.clear();
    opts.issuer_keys.fetch = true;
    let jwks_url = format!("{issuer}/.well-known/jwks.json");
    let host = Host::default().on("POST", url, 200, manifest.clone()).on("GET", &jwks_url, 200, jwks.to_string());
    let mut stages = vec![];
    let parsed = parse_link(link).unwrap();
    let shared = pollster::block_on(open_link(&host, &host, &parsed, &opts, NOW, &mut |s| stages.push(s))).unwrap();
    assert_eq!(shared.source.cards[0].verification, Verification::SignedUntrusted);
    let note = shared.source.summary().notes[0].text(patient_portal_sdk::render::Locale::EnUs);
    assert_eq!(note, format!("SMART Health Card: signed by {issuer}; this issuer is not in your trust list"));
    // The same fetch with the issuer in the trust list: verified.
    opts.issuer_keys.known.push((issuer.clone(), jwks.clone()));
    let host = Host::default().on("POST", url, 200, manifest.clone());
    assert_eq!(open(&host, link, &opts).unwrap().source.cards[0].verification, Verification::Verified);
    opts.issuer_keys.known.clear();
    assert_eq!(stages, [Stage::Fetch, Stage::Decrypt, Stage::Verify, Stage::Ready]);
    // The issuer's key server is down: unverified, the record still opens.
    let host = Host::default().on("POST", url, 200, manifest.clone()).on("GET", &jwks_url, 500, "");
    assert_eq!(open(&host, link, &opts).unwrap().source.cards[0].verification, Verification::Unverified(Unverified::KeysUnavailable));
    // Someone else's keys: invalid.
    opts.issuer_keys.fetch = false;
    let mut other = jwks.clone();
    other["keys"][0]["x"] = other["keys"][0]["y"].clone();
    opts.issuer_keys.known = vec![(issuer.clone(), other)];
    let host = Host::default().on("POST", url, 200, manifest);
    assert_eq!(open(&host, link, &opts).unwrap().source.cards[0].verification, Verification::Invalid);
}

#[test]
fn health_card_files_and_signatures() {
    let jwks = read_json("shl/spec-example/shc_issuer_jwks.json");
    for (file, bundle) in
        [("example-00-e-file.smart-health-card", "example-00-a-fhirBundle.json"), ("example-02-e-file.smart-health-card", "example-02-a-fhirBundle.json")]
    {
        let credentials = read_card_file(&read(&format!("shl/hl7-ig/{file}")), 1 << 20).unwrap();
        assert_eq!(credentials.len(), 1);
        assert_eq!(credentials[0].bundle, read_json(&format!("shl/hl7-ig/{bundle}")));
        assert_eq!(verify(&credentials[0], &jwks), Verification::Verified, "{file}");
    }
    let jws = read_text("shl/hl7-ig/example-00-d-jws.txt");
    let credential = decode_jws(&jws, 1 << 20).unwrap();
    assert_eq!(verify(&credential, &jwks), Verification::Verified);
    assert!(credential.types.iter().any(|t| t == "https://smarthealth.cards#health-card"));
    // One changed character in the signature, or in the payload, fails.
    let parts: Vec<&str> = jws.trim().split('.').collect();
    let flip = |s: &str| {
        let mut b = s.as_bytes().to_vec();
        let i = b.len() / 2;
        b[i] = if b[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(b).unwrap()
    };
    let bad_signature = format!("{}.{}.{}", parts[0], parts[1], flip(parts[2]));
    assert_eq!(verify(&decode_jws(&bad_signature, 1 << 20).unwrap(), &jwks), Verification::Invalid);
    let bad_payload = format!("{}.{}.{}", parts[0], flip(parts[1]), parts[2]);
    match decode_jws(&bad_payload, 1 << 20) {
        Ok(c) => assert_eq!(verify(&c, &jwks), Verification::Invalid),
        Err(e) => assert_eq!(e, CardError::Payload),
    }
    // A key set without the card's kid: invalid, not verified.
    let mut other = jwks.clone();
    other["keys"].as_array_mut().unwrap().remove(0);
    assert_eq!(verify(&credential, &other), Verification::Invalid);
    // Not cards at all.
    assert_eq!(read_card_file(b"{\"verifiableCredential\": [1]}", 1 << 20).unwrap_err(), CardError::NotACardFile);
    assert_eq!(read_card_file(b"[]", 1 << 20).unwrap_err(), CardError::NotACardFile);
    assert_eq!(decode_jws("a.b", 1 << 20).unwrap_err(), CardError::NotAJws);
    // A card that inflates past the limit stops at the limit.
    assert!(matches!(decode_jws(&jws, 100).unwrap_err(), CardError::TooLarge { limit: 100 }));
}

/// The IG's `U` link, with its real file (a `kid` on a `dir` key, no `cty`):
/// one GET with the recipient, byte-for-byte resources.
#[test]
fn ig_direct_link_opens_the_ips_bundle() {
    let link_text = read_text("shl/hl7-ig/IPS_IG-bundle-01-shl.txt");
    let link = parse_link(&link_text).unwrap();
    let file = read("shl/hl7-ig/IPS_IG-bundle-01-enc.txt");
    let url = format!("{}?recipient=Dr.%20Ana%20%26%20team", link.url);
    let host = Host::default().on("GET", &url, 200, file);
    let shared = open(&host, &link_text, &options("Dr. Ana & team")).unwrap();
    assert_eq!(host.asked(), [format!("GET {url}")]);
    let expected = read_json("shl/hl7-ig/IPS_IG-bundle-01.json");
    let raw: Vec<&Value> = shared.record.entries.iter().map(|e| &*e.raw).collect();
    let want: Vec<&Value> = expected["entry"].as_array().unwrap().iter().map(|e| &e["resource"]).collect();
    assert_eq!(raw.len(), 20);
    assert_eq!(raw, want);
    assert_eq!(shared.source.files[0].delivery, Delivery::Direct);
    assert_eq!(shared.source.files[0].content_type, "application/fhir+json");

    // The CARIN link's "file" is a JWS, not a JWE: refused, nothing opened.
    let carin = read_text("shl/hl7-ig/CARIN_INS_CD-bundle-01-shl.txt");
    let carin_link = parse_link(&carin).unwrap();
    let host = Host::default().on("GET", &format!("{}?recipient=me", carin_link.url), 200, read("shl/hl7-ig/CARIN_INS_CD-bundle-01-enc.txt"));
    assert_eq!(open(&host, &carin, &options("me")).unwrap_err().code(), "malformedJwe");
    // A U file whose host says the link is gone.
    let host = Host::default().on("GET", &url, 404, "");
    assert_eq!(open(&host, &link_text, &options("Dr. Ana & team")).unwrap_err().code(), "linkInactive");
}

/// The IG's manifest example: a `location` file, a truncated `embedded` one
/// and a FHIR file. The truncated one fails the whole link (no partial record).
#[test]
fn truncated_embedded_file_fails_the_whole_link() {
    let manifest = read("shl/hl7-ig/shl-manifest-1.json");
    let link = link_from(&json!({"url": "https://ehr.example.org/m", "key": "rxTgYlOaKJPFtcEd0qcceN8wEU4p94SqAwIWQe6uX7Q"}));
    let card_jwe = read_text("shl/spec-example/spec_example_file.jwe");
    let host = Host::default()
        .on("POST", "https://ehr.example.org/m", 200, manifest)
        .on("GET", "https://bucket.cloud.example.org/file1?sas=MFXK6jL3oL3SI_lRfi_-cEfzIs5oHs6rRWmrsCAFzvk", 200, card_jwe)
        .on("GET", "https://bucket.cloud.example.org/file2?sas=T34xzj1XtqTYb2lzcgj59XCY4I6vLN3AwrTUIT9GuSc", 200, "x.y");
    let err = open(&host, &link, &options("me")).unwrap_err();
    assert_eq!(err.code(), "malformedJwe");
}

fn sealed(key: &ContentKey, json: &Value, cty: Option<&str>, iv: u8) -> String {
    seal(&serde_json::to_vec(json).unwrap(), key, [iv; 12], &SealOptions { deflate: true, content_type: cty.map(str::to_string) }).unwrap()
}

#[test]
fn manifest_answers_and_multi_file_links() {
    let key = ContentKey::from_bytes(&[9; 32]).unwrap();
    let link = link_from(&json!({"url": "https://h.example/m", "key": key.to_base64url().as_str(), "flag": "P"}));
    let patient = json!({"resourceType": "Patient", "id": "p1", "name": [{"family": "Ruiz", "given": ["Ana"]}]});
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:1", "resource": patient},
        {"resource": {"resourceType": "Condition", "id": "c1", "code": {"text": "Asthma"}}}]});
    let single = json!({"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "Weight"}});
    let manifest = json!({"files": [
        {"contentType": "application/fhir+json", "embedded": sealed(&key, &bundle, Some("application/fhir+json"), 1)},
        {"contentType": "application/fhir+json", "location": "https://files.example/2"},
        {"contentType": "application/fhir+json", "location": "https://files.example/3"},
        {"contentType": "application/smart-api-access", "location": "https://files.example/token"},
        {"contentType": "application/fhir+json", "status": "no-longer-valid", "location": "https://files.example/old"},
        {"contentType": "text/csv", "location": "https://files.example/csv"}
    ]})
    .to_string();
    let mut opts = options("Dr. B");
    opts.resolve.passcode = Some("wrong".to_string().into());
    // 401 with attempts left, then 401 with none left, then 404 after lockout.
    let host = Host::default()
        .on("POST", "https://h.example/m", 401, r#"{"remainingAttempts": 2}"#)
        .on("POST", "https://h.example/m", 401, r#"{"remainingAttempts": 0}"#)
        .on("POST", "https://h.example/m", 404, "");
    let err = open(&host, &link, &opts).unwrap_err();
    assert_eq!((err.code(), err.remaining_attempts()), ("passcodeWrong", Some(2)));
    assert!(!err.to_string().contains("wrong"), "the passcode is not in the message");
    assert_eq!(open(&host, &link, &opts).unwrap_err().remaining_attempts(), Some(0));
    assert_eq!(open(&host, &link, &opts).unwrap_err().code(), "linkInactive");

    // With a passcode, the manifest POST is sent once: a 429, a 503 or a
    // network error is reported, never retried (each try may spend one of
    // the link's attempts).
    let retry = |after: &str| HttpResponse { status: 429, retry_after: Some(after.into()), ..HttpResponse::default() };
    opts.resolve.passcode = Some("1234".to_string().into());
    let host = Host::default().on_with("POST", "https://h.example/m", retry("1")).on("POST", "https://h.example/m", 200, manifest.clone());
    let err = open(&host, &link, &opts).unwrap_err();
    assert_eq!((err.code(), err.status(), err.retry_after()), ("httpStatus", Some(429), Some(1)));
    assert!(host.sleeps.borrow().is_empty());
    assert_eq!(host.asked().len(), 1, "{:?}", host.asked());
    let host = Host::default().on("POST", "https://h.example/m", 503, "").on("POST", "https://h.example/m", 200, manifest.clone());
    assert_eq!(open(&host, &link, &opts).unwrap_err().status(), Some(503));
    assert_eq!(host.asked().len(), 1, "{:?}", host.asked());

    // Without a passcode (a link without P): 429 twice (Retry-After 1 s,
    // then an HTTP date), then the manifest. The second location was
    // already used: 410, so the manifest is asked again.
    let link = link_from(&json!({"url": "https://h.example/m", "key": key.to_base64url().as_str()}));
    opts.resolve.passcode = None;
    let patient_again = json!({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": patient}, {"resource": single}]});
    let renewed = manifest.replace("https://files.example/3", "https://files.example/3b");
    let host = Host::default()
        .on_with("POST", "https://h.example/m", retry("1"))
        .on_with("POST", "https://h.example/m", retry(&chrono::DateTime::from_timestamp(NOW + 2, 0).unwrap().to_rfc2822()))
        .on("POST", "https://h.example/m", 200, manifest.clone())
        .on("GET", "https://files.example/2", 200, sealed(&key, &patient_again, None, 2))
        .on("GET", "https://files.example/3", 410, "")
        .on("POST", "https://h.example/m", 200, renewed)
        .on("GET", "https://files.example/3b", 200, sealed(&key, &single, Some("application/fhir+json; fhirVersion=4.0.1"), 3));
    let shared = open(&host, &link, &opts).unwrap();
    assert_eq!(*host.sleeps.borrow(), vec![1000, 2000]);
    assert!(!host.asked().iter().any(|a| a.contains("token") || a.contains("old") || a.contains("csv")), "skipped files are not fetched");
    let types: Vec<&str> = shared.record.entries.iter().map(|e| e.resource_type.as_str()).collect();
    // The Patient sent twice (same id, same JSON) is merged; the Observation
    // sent twice (once per file) likewise.
    assert_eq!(types, ["Patient", "Condition", "Observation"]);
    let deliveries: Vec<Delivery> = shared.source.files.iter().map(|f| f.delivery).collect();
    assert_eq!(deliveries, [Delivery::Embedded, Delivery::Location, Delivery::Location]);
    let skipped: Vec<SkipReason> = shared.source.skipped.iter().map(|s| s.reason).collect();
    assert_eq!(skipped, [SkipReason::ApiAccessNotFollowed, SkipReason::NoLongerValid, SkipReason::UnsupportedType]);

    // A Retry-After beyond the longest wait ends with the status and the wait.
    let host = Host::default().on_with("POST", "https://h.example/m", retry("3600"));
    let err = open(&host, &link, &opts).unwrap_err();
    assert_eq!((err.code(), err.status(), err.retry_after()), ("httpStatus", Some(429), Some(3600)));
    // Other statuses are HTTP errors with the status; 503 is retried first.
    let host = Host::default().on("POST", "https://h.example/m", 503, "").on("POST", "https://h.example/m", 503, "").on("POST", "https://h.example/m", 500, "");
    let err = open(&host, &link, &opts).unwrap_err();
    assert_eq!((err.code(), err.status()), ("httpStatus", Some(500)));
}

#[test]
fn bad_manifests_and_mismatched_files_are_refused() {
    let key = ContentKey::from_bytes(&[9; 32]).unwrap();
    let link = link_from(&json!({"url": "https://h.example/m", "key": key.to_base64url().as_str()}));
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": []});
    let cases: Vec<(String, &str)> = vec![
        ("<html>".into(), "format"),
        ("[]".into(), "format"),
        (json!({"files": {}}).to_string(), "format"),
        (json!({"files": []}).to_string(), "format"),
        (json!({"files": [{"embedded": "a.b.c.d.e"}]}).to_string(), "format"),
        (json!({"files": [{"contentType": "application/fhir+json"}]}).to_string(), "format"),
        (json!({"files": [{"contentType": "application/fhir+json", "location": "javascript:alert(1)"}]}).to_string(), "format"),
        (json!({"files": [{"contentType": "application/fhir+json", "location": "http://evil.example/f"}]}).to_string(), "format"),
        // The JWE says it is a card; the manifest says FHIR.
        (json!({"files": [{"contentType": "application/fhir+json", "embedded": sealed(&key, &bundle, Some("application/smart-health-card"), 4)}]}).to_string(), "format"),
        // Sealed under another key.
        (json!({"files": [{"contentType": "application/fhir+json", "embedded": sealed(&ContentKey::from_bytes(&[8; 32]).unwrap(), &bundle, None, 5)}]}).to_string(), "decrypt"),
        // Decrypts, but is not FHIR.
        (json!({"files": [{"contentType": "application/fhir+json", "embedded": sealed(&key, &json!({"hello": 1}), None, 6)}]}).to_string(), "format"),
        // A card file that is not a card.
        (json!({"files": [{"contentType": "application/smart-health-card", "embedded": sealed(&key, &json!({"verifiableCredential": ["x.y.z"]}), None, 7)}]}).to_string(), "format"),
    ];
    for (manifest, code) in cases {
        let host = Host::default().on("POST", "https://h.example/m", 200, manifest.clone());
        let err = open(&host, &link, &options("me")).unwrap_err();
        assert_eq!(err.code(), code, "{manifest}");
    }
    // resolve() alone reports the embedded files without decrypting them.
    let manifest = json!({"files": [{"contentType": "application/fhir+json", "embedded": "a.b.c.d.e"}]}).to_string();
    let host = Host::default().on("POST", "https://h.example/m", 200, manifest);
    let resolved = pollster::block_on(resolve(&host, &host, &parse_link(&link).unwrap(), &ResolveOptions::new("me"), NOW)).unwrap();
    assert_eq!(resolved.files.len(), 1);
}

/// The chart's source notes: the sharer's label and the issuer are hostile
/// text like any other, and each verdict is worded plainly.
#[test]
fn source_notes_are_escaped_and_worded_by_verdict() {
    use patient_portal_sdk::render::{build_chart, to_html, RenderOptions};
    use patient_portal_sdk::shl::{CardReport, FileReport, LinkSource, SkippedFile};
    let hostile = "<img src=x onerror=alert(1)>\"'&";
    let card = |verification| CardReport { issuer: format!("https://i.example/{hostile}"), issued_at: None, types: vec![], verification, resources: 2 };
    let source = LinkSource {
        label: Some(hostile.to_string()),
        files: vec![FileReport { content_type: "application/fhir+json".into(), delivery: Delivery::Location }],
        skipped: vec![SkippedFile { content_type: "application/smart-api-access".into(), reason: SkipReason::ApiAccessNotFollowed }],
        cards: vec![card(Verification::Verified), card(Verification::Unverified(Unverified::NoKeys)), card(Verification::Invalid)],
    };
    let mut options = RenderOptions::new(patient_portal_sdk::fhir::Date::from_ymd(2026, 11, 22).unwrap());
    options.source = Some(source.summary());
    let record = patient_portal_sdk::fhir::parse_record(br#"{"resourceType":"Patient","id":"p"}"#).unwrap();
    let html = to_html(&build_chart(&record, &options));
    assert!(!html.contains("<img"), "no markup from the label or issuer");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;"));
    assert!(html.contains("trust-verified\">SMART Health Card: verified issuer: https://i.example/&lt;img"));
    assert!(html.contains("trust-unverified\">SMART Health Card: unverified"));
    assert!(html.contains("trust-invalid\">SMART Health Card: the signature does not match issuer"));
    assert!(html.contains("FHIR data (1 file): not signed by an issuer"));
    assert!(html.contains("Not shown: one application/smart-api-access file"));
}
