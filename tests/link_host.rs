//! The development backend (`examples/dev_server`) as a SMART Health Links
//! host, driven as a process over loopback HTTP: manifest requests, passcodes
//! and lockout, inactive links, `U` links, one-time file locations, rate
//! limits, CORS, the JWKS and the cards it signs, the `create-link` and
//! `revoke` commands, restarts, and what must never reach the database or the
//! logs.
//!
//! Each test starts its own server (`--port 0 --json --db <temp>`) and reads
//! the `DEMO_LINKS` line it prints. The binary is built once per run with
//! `cargo build --example dev_server`.

#![cfg(not(target_arch = "wasm32"))]


mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::dev_server::*;
use serde_json::{json, Value};

#[test]
fn plain_link_embeds_or_points_to_one_time_locations() {
    let db = TempDb::new();
    let server = Server::start(&db, &[]);
    let link = server.demo_link("plain");
    assert!(link.payload.get("flag").is_none(), "a plain link has no flags");
    assert_eq!(link.payload["url"], format!("{}{}", server.base(), link.path()));

    // No embeddedLengthMax: the full record is over 16 KiB, so it is a location.
    let by_default = files(&server.manifest(&link, &recipient()));
    assert_eq!(by_default.len(), 1);
    assert_eq!(by_default[0]["contentType"], "application/fhir+json");
    assert!(by_default[0]["location"].is_string(), "{}", by_default[0]);

    let embedded = files(&server.manifest(&link, &json!({ "recipient": "r", "embeddedLengthMax": 100_000_000 })));
    let jwe = embedded[0]["embedded"].as_str().expect("embedded when it fits").to_owned();
    assert_jwe(&jwe, "application/fhir+json");

    let small = files(&server.manifest(&link, &json!({ "recipient": "r", "embeddedLengthMax": 10 })));
    let path = location_path(&server, &small[0]);
    let first = server.get(&path);
    first.assert_status(200, "first location fetch").assert_cors();
    assert_eq!(first.header("Content-Type"), Some("application/jose"));
    assert_eq!(first.header("Cache-Control"), Some("no-store"));
    assert_eq!(first.text(), jwe, "the location serves the same ciphertext");
    server.get(&path).assert_status(404, "a location is single-use").assert_cors();
    server.get(&format!("/shl/files/{}", "A".repeat(43))).assert_status(404, "unknown token");

    // Each manifest hands out fresh tokens.
    let again = files(&server.manifest(&link, &json!({ "recipient": "r", "embeddedLengthMax": 0 })));
    assert_ne!(location_path(&server, &again[0]), path);

    // The key decrypts what the host serves, and the host still never saw it.
    let bundle: Value = serde_json::from_slice(&decrypt(&jwe, &link.key())).expect("FHIR JSON");
    assert_eq!(bundle["resourceType"], "Bundle");
    assert!(!server.output().contains(&link.id), "full ids never appear in the log");
}

#[test]
fn passcode_link_counts_attempts_and_locks_out() {
    let db = TempDb::new();
    let server = Server::start(&db, &[]);
    let entry = server.demo["links"].as_array().unwrap().iter().find(|l| l["kind"] == "passcode").unwrap().clone();
    assert_eq!(entry["passcode"], "1234");
    let link = server.demo_link("passcode");
    assert_eq!(link.payload["flag"], "P");

    let remaining = |reply: Reply| {
        reply.assert_status(401, "passcode").assert_cors();
        assert_eq!(reply.header("Content-Type"), Some("application/json"));
        reply.json()["remainingAttempts"].as_i64().expect("remainingAttempts")
    };
    assert_eq!(remaining(server.manifest(&link, &recipient())), 3, "missing passcode spends nothing");
    assert_eq!(remaining(server.manifest(&link, &recipient())), 3);
    assert_eq!(remaining(server.manifest(&link, &json!({ "recipient": "r", "passcode": "0000" }))), 2);
    let good = json!({ "recipient": "r", "passcode": "1234" });
    assert_eq!(files(&server.manifest(&link, &good)).len(), 1, "the right passcode opens it");
    assert_eq!(remaining(server.manifest(&link, &json!({ "recipient": "r", "passcode": "1235" }))), 1);
    assert_eq!(remaining(server.manifest(&link, &json!({ "recipient": "r", "passcode": "" }))), 0);
    server.manifest(&link, &good).assert_status(404, "locked out for good, even with the right passcode").assert_cors();
    server.manifest(&link, &recipient()).assert_status(404, "locked out");
}

#[test]
fn parallel_wrong_passcodes_never_exceed_the_lifetime_count() {
    let db = TempDb::new();
    let server = Server::start(&db, &["--manifest-rate", "1000"]);
    let out = stdout(&cli(&[
        "create-link",
        "--db",
        db.arg(),
        "--base",
        &server.base(),
        "--passcode",
        "right-one",
        "--attempts",
        "3",
        "--json",
        CHRISTIAN,
    ]));
    let link = Link::parse(serde_json::from_str::<Value>(&out).unwrap()["link"].as_str().unwrap());
    let server = Arc::new(server);
    let threads: Vec<_> = (0..10)
        .map(|i| {
            let (server, path) = (Arc::clone(&server), link.path());
            std::thread::spawn(move || {
                let body = json!({ "recipient": "r", "passcode": format!("guess-{i}") }).to_string();
                let reply = server.request("POST", &path, &[], body.as_bytes());
                let remaining = (reply.status == 401).then(|| reply.json()["remainingAttempts"].as_i64().unwrap());
                (reply.status, remaining)
            })
        })
        .collect();
    let mut results: Vec<(u16, Option<i64>)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    results.sort();
    let wrong: Vec<i64> = results.iter().filter_map(|r| r.1).collect();
    assert_eq!(wrong, vec![0, 1, 2], "exactly three wrong guesses counted: {results:?}");
    assert!(results.iter().all(|r| r.0 == 401 || r.0 == 404), "{results:?}");
    let right = json!({ "recipient": "r", "passcode": "right-one" });
    server.manifest(&link, &right).assert_status(404, "disabled");
}

#[test]
fn inactive_unknown_and_malformed_requests() {
    let db = TempDb::new();
    // Many requests to one link in quick succession: lift the rate limit.
    let server = Server::start(&db, &["--manifest-rate", "1000"]);
    let expired = server.demo_link("expired");
    assert!(expired.payload["exp"].as_i64().is_some(), "exp in the payload");
    server.manifest(&expired, &recipient()).assert_status(404, "expired").assert_cors();
    server.manifest(&server.demo_link("revoked"), &recipient()).assert_status(404, "revoked");
    let unknown = format!("/shl/{}", URL_SAFE_NO_PAD.encode([7u8; 32]));
    server.request("POST", &unknown, &[], recipient().to_string().as_bytes()).assert_status(404, "unknown id");
    server.request("POST", "/shl/short", &[], recipient().to_string().as_bytes()).assert_status(404, "not an id");

    // The tampered link is served as stored: only the client can tell.
    let tampered = server.demo_link("tampered");
    let file = &files(&server.manifest(&tampered, &json!({ "recipient": "r", "embeddedLengthMax": 100_000_000 })))[0];
    assert_jwe(file["embedded"].as_str().unwrap(), "application/fhir+json");

    let plain = server.demo_link("plain");
    let bad = |body: &[u8], what: &str| {
        server.request("POST", &plain.path(), &[], body).assert_status(400, what).assert_cors();
    };
    bad(b"{}", "missing recipient");
    bad(br#"{"recipient":""}"#, "empty recipient");
    bad(br#"{"recipient":42}"#, "recipient not a string");
    bad(br#"{"recipient":"r","embeddedLengthMax":"big"}"#, "embeddedLengthMax not a number");
    bad(br#"{"recipient":"r","passcode":1234}"#, "passcode not a string");
    bad(b"not json", "bad JSON");
    bad(b"", "empty body");
    bad(&[b'{', 0xff, 0xfe, b'}'], "not UTF-8");
    bad(&[b'['; 10_000], "deeply nested");
    let huge = vec![b' '; 70 * 1024];
    server.request("POST", &plain.path(), &[], &huge).assert_status(413, "body over 64 KiB").assert_cors();
    // A declared body far beyond memory: refused without the server trying to drain it.
    let head = status_line(
        server.port,
        &format!("POST {} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000000\r\n\r\n{{", plain.path()),
    );
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    let chunked = [
        format!("POST {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n", plain.path())
            .into_bytes(),
        format!("{:x}\r\n", 80 * 1024).into_bytes(),
        vec![b' '; 80 * 1024],
        b"\r\n0\r\n\r\n".to_vec(),
    ]
    .concat();
    assert!(status_line_bytes(server.port, &chunked).starts_with("HTTP/1.1 413"), "chunked body over 64 KiB");
    server.request("PUT", &plain.path(), &[], b"x").assert_status(405, "PUT").assert_cors();
    // The server survived all of that.
    files(&server.manifest(&plain, &recipient()));
}

#[test]
fn direct_file_link() {
    let db = TempDb::new();
    let server = Server::start(&db, &[]);
    let direct = server.demo_link("direct");
    assert_eq!(direct.payload["flag"], "U");
    let reply = server.get(&format!("{}?recipient=Dr%20Test", direct.path()));
    reply.assert_status(200, "U link with recipient").assert_cors();
    assert_eq!(reply.header("Content-Type"), Some("application/jose"));
    assert_jwe(&reply.text(), "application/fhir+json");
    server.get(&direct.path()).assert_status(400, "no recipient").assert_cors();
    server.get(&format!("{}?recipient=", direct.path())).assert_status(400, "empty recipient");
    server.get(&format!("{}?recipient=%ff", direct.path())).assert_status(400, "not UTF-8");
    server.manifest(&direct, &recipient()).assert_status(404, "no manifest for a U link");
    let plain = server.demo_link("plain");
    server.get(&format!("{}?recipient=x", plain.path())).assert_status(404, "GET on a manifest link");
    assert!(!server.output().contains("recipient"), "query strings are not logged");
}

#[test]
fn manifest_rate_limit_answers_429_with_retry_after() {
    let db = TempDb::new();
    let server = Server::start(&db, &["--manifest-rate", "2"]);
    let link = server.demo_link("multi");
    let statuses: Vec<Reply> = (0..6).map(|_| server.manifest(&link, &recipient())).collect();
    let limited = statuses.iter().find(|r| r.status == 429).expect("a 429 within one second");
    limited.assert_cors();
    assert_eq!(limited.header("Retry-After"), Some("1"));
    assert!(statuses.iter().filter(|r| r.status == 200).count() >= 1);
    // Another link has its own budget.
    files(&server.manifest(&server.demo_link("plain"), &recipient()));
    std::thread::sleep(Duration::from_millis(1100));
    files(&server.manifest(&link, &recipient()));
}

#[test]
fn cors_preflight_static_files_and_records() {
    let db = TempDb::new();
    let server = Server::start(&db, &[]);
    let link = server.demo_link("plain");
    for path in [link.path(), "/shl/files/x".to_owned(), "/.well-known/jwks.json".to_owned()] {
        let reply = server.request("OPTIONS", &path, &[("Access-Control-Request-Method", "POST")], b"");
        reply.assert_status(204, "preflight").assert_cors();
        assert_eq!(reply.header("Access-Control-Allow-Methods"), Some("GET, POST, OPTIONS"));
        assert_eq!(reply.header("Access-Control-Allow-Headers"), Some("content-type"));
        assert_eq!(reply.header("Access-Control-Max-Age"), Some("600"));
    }
    // What the server did before links: records, pages, traversal refusal.
    let record = server.demo["records"][0]["record"].as_str().expect("record path").to_owned();
    let reply = server.get(&record);
    reply.assert_status(200, "record");
    assert_jwe(&reply.text(), "application/fhir+json");
    assert!(server.demo["tampered"]["record"].is_string());
    let page = server.get("/");
    if page.status == 200 {
        let csp = page.header("Content-Security-Policy").expect("CSP on HTML");
        assert!(csp.contains("connect-src 'self' https: http://127.0.0.1:* http://localhost:*"), "{csp}");
    }
    assert!(matches!(server.get("/../Cargo.toml").status, 400 | 404));
    assert!(matches!(server.get("/%2e%2e/Cargo.toml").status, 400 | 404));
    server.request("POST", "/", &[], b"x").assert_status(405, "POST on a page");
}

#[test]
fn jwks_and_the_backend_signed_health_card() {
    use p256::ecdsa::{signature::Verifier as _, Signature, VerifyingKey};
    use sha2::{Digest as _, Sha256};

    let db = TempDb::new();
    let server = Server::start(&db, &[]);
    let reply = server.get("/.well-known/jwks.json");
    reply.assert_status(200, "JWKS").assert_cors();
    let jwks = reply.json();
    let keys = jwks["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    let jwk = &keys[0];
    for (name, value) in [("kty", "EC"), ("crv", "P-256"), ("use", "sig"), ("alg", "ES256")] {
        assert_eq!(jwk[name], value, "{name}");
    }
    let (x, y) = (jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap());
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    assert_eq!(
        jwk["kid"],
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())),
        "kid is the RFC 7638 thumbprint"
    );
    assert!(jwk.get("d").is_none(), "no private part");

    // The multi link: the record without immunizations, and a card.
    let link = server.demo_link("multi");
    let files = files(&server.manifest(&link, &json!({ "recipient": "r", "embeddedLengthMax": 100_000_000 })));
    let types: Vec<&str> = files.iter().map(|f| f["contentType"].as_str().unwrap()).collect();
    assert_eq!(types, ["application/fhir+json", "application/smart-health-card"]);
    let record: Value = serde_json::from_slice(&decrypt(files[0]["embedded"].as_str().unwrap(), &link.key())).unwrap();
    let kinds = |bundle: &Value| -> Vec<String> {
        bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["resource"]["resourceType"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(!kinds(&record).contains(&"Immunization".to_owned()));
    assert_jwe(files[1]["embedded"].as_str().unwrap(), "application/smart-health-card");
    let card: Value = serde_json::from_slice(&decrypt(files[1]["embedded"].as_str().unwrap(), &link.key())).unwrap();
    let jws = card["verifiableCredential"][0].as_str().expect("one credential");
    let parts: Vec<&str> = jws.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header, json!({ "alg": "ES256", "zip": "DEF", "kid": jwk["kid"] }));
    let key = VerifyingKey::from_sec1_bytes(
        &[&[4u8][..], &URL_SAFE_NO_PAD.decode(x).unwrap(), &URL_SAFE_NO_PAD.decode(y).unwrap()].concat(),
    )
    .expect("public key");
    let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).expect("64-byte r||s");
    key.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature).expect("valid ES256 signature");
    let payload = miniz_oxide::inflate::decompress_to_vec(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).expect("DEF");
    let claims: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(claims["iss"], server.base(), "iss is the public base without a trailing slash");
    assert!(claims["nbf"].as_i64().is_some());
    assert_eq!(claims["vc"]["type"], json!(["https://smarthealth.cards#health-card"]));
    assert_eq!(claims["vc"]["credentialSubject"]["fhirVersion"], "4.0.1");
    let card_kinds = kinds(&claims["vc"]["credentialSubject"]["fhirBundle"]);
    assert_eq!(card_kinds[0], "Patient");
    assert!(card_kinds.len() > 1 && card_kinds[1..].iter().all(|k| k == "Immunization"), "{card_kinds:?}");
}

#[test]
fn cli_links_survive_restarts_and_keep_secrets_out_of_storage_and_logs() {
    const PASSCODE: &str = "Quokka-Lantern-5081";
    let db = TempDb::new();
    let first = Server::start(&db, &[]);
    let base = first.base();

    let out = stdout(&cli(&[
        "create-link",
        "--db",
        db.arg(),
        "--base",
        &base,
        "--passcode",
        PASSCODE,
        "--label",
        "CLI test link",
        "--long-term",
        "--expires-in",
        "3600",
        "--json",
        CHRISTIAN,
    ]));
    assert_eq!(out.lines().count(), 1, "--json prints one line");
    assert!(!out.contains(PASSCODE), "the passcode is not echoed");
    let created: Value = serde_json::from_str(&out).expect("JSON line");
    let link = Link::parse(created["link"].as_str().unwrap());
    assert_eq!(created["id"], link.id.as_str());
    assert_eq!(created["manifestUrl"], format!("{base}/shl/{}", link.id));
    assert_eq!(created["viewerUrl"], format!("{base}/#{}", link.shlink));
    assert_eq!(link.payload["flag"], "LP");
    assert_eq!(link.payload["label"], "CLI test link");
    assert!(link.payload["exp"].as_i64().is_some());

    // The running server serves it without a restart.
    let wrong = first.manifest(&link, &json!({ "recipient": "r", "passcode": "nope" }));
    wrong.assert_status(401, "wrong passcode");
    assert_eq!(wrong.json()["remainingAttempts"], 4, "default 5 attempts");
    let with_passcode = json!({ "recipient": "r", "passcode": PASSCODE });
    assert_eq!(files(&first.manifest(&link, &with_passcode)).len(), 1);

    // A card made by the CLI, as a direct link.
    let bundle = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("link-host-bundle-{}.json", std::process::id()));
    let small = json!({ "resourceType": "Bundle", "type": "collection", "entry": [
        { "fullUrl": "resource:0", "resource": { "resourceType": "Patient", "name": [{ "family": "Test" }] } },
    ]});
    std::fs::write(&bundle, small.to_string()).unwrap();
    let out = stdout(&cli(&[
        "create-link",
        "--db",
        db.arg(),
        "--base",
        &base,
        "--direct",
        "--health-card",
        "--json",
        bundle.to_str().unwrap(),
    ]));
    let _ = std::fs::remove_file(&bundle);
    let card_link = Link::parse(serde_json::from_str::<Value>(&out).unwrap()["link"].as_str().unwrap());
    assert_eq!(card_link.payload["flag"], "U");
    let reply = first.get(&format!("{}?recipient=r", card_link.path()));
    reply.assert_status(200, "CLI direct card");
    assert_jwe(&reply.text(), "application/smart-health-card");

    // Human-readable output: link, viewer URL, QR code, and an SVG.
    let svg = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("link-host-qr-{}.svg", std::process::id()));
    let text = stdout(&cli(&["create-link", "--db", db.arg(), "--qr-svg", svg.to_str().unwrap(), CHRISTIAN]));
    assert!(text.contains("shlink:/") && text.contains("http://127.0.0.1:8080/#shlink:/"), "{text}");
    assert!(text.contains('█') || text.contains('▀'), "terminal QR code");
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    let _ = std::fs::remove_file(&svg);

    // Refused combinations.
    let refused = cli(&["create-link", "--db", db.arg(), "--direct", "--passcode", "x", CHRISTIAN]);
    assert!(!refused.status.success());
    let refused = cli(&["create-link", "--db", db.arg(), "--label", &"x".repeat(81), CHRISTIAN]);
    assert!(!refused.status.success());
    assert!(stdout(&cli(&["--help"])).contains("create-link"));

    // Revoke.
    let out = stdout(&cli(&["create-link", "--db", db.arg(), "--base", &base, "--json", CHRISTIAN]));
    let doomed = Link::parse(serde_json::from_str::<Value>(&out).unwrap()["link"].as_str().unwrap());
    files(&first.manifest(&doomed, &recipient()));
    stdout(&cli(&["revoke", "--db", db.arg(), &doomed.id]));
    first.manifest(&doomed, &recipient()).assert_status(404, "revoked by the CLI");
    assert!(!cli(&["revoke", "--db", db.arg(), "no-such-link"]).status.success());

    // Restart on the same database: CLI links live on, demo links are replaced.
    let old_demo = first.demo_link("plain");
    let first_output = first.output();
    drop(first);
    let second = Server::start(&db, &[]);
    assert_eq!(files(&second.manifest(&link, &with_passcode)).len(), 1, "a CLI link survives a restart");
    let wrong = second.manifest(&link, &json!({ "recipient": "r", "passcode": "still-wrong" }));
    assert_eq!(wrong.json()["remainingAttempts"], 3, "the attempt count survives too");
    second.manifest(&old_demo, &recipient()).assert_status(404, "the previous start's demo links are gone");
    files(&second.manifest(&second.demo_link("plain"), &recipient()));
    second.manifest(&doomed, &recipient()).assert_status(404, "still revoked");

    // Nothing secret in storage or in the logs.
    let stored = db.bytes();
    assert!(!stored.is_empty());
    assert!(!contains(&stored, PASSCODE.as_bytes()), "the passcode is not stored");
    for secret in [&link, &card_link, &doomed, &old_demo] {
        let key = secret.key();
        assert!(!contains(&stored, key.as_bytes()), "a key is not stored (base64url)");
        assert!(!contains(&stored, &URL_SAFE_NO_PAD.decode(&key).unwrap()), "a key is not stored (raw)");
    }
    for output in [first_output, second.output()] {
        assert!(!output.contains(PASSCODE), "the passcode never reaches the server output");
        assert!(!output.contains(&link.id), "full link ids are not logged");
        assert!(output.contains(&format!("POST /shl/{}", &link.id[..6])), "requests are logged by id prefix");
    }
}
