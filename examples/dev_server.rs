//! Development backend for the Patient Portal SDK demo.
//!
//! A small loopback-only HTTP server that plays the part of a record host:
//!
//! * at start it seals the embedded Synthea sample bundles (`examples/data/`)
//!   into compact JWEs (`dir`/`A256GCM`, `zip: DEF`) under fresh random keys,
//!   keeps only the ciphertext in memory and prints one demo link per record
//!   (the key travels in the URL fragment, which browsers never send);
//! * it also hosts a tampered copy of the first record (one ciphertext bit
//!   flipped) so the demo can show its error screen;
//! * it serves the demo page from `<root>/www/` and the built SDK from
//!   `<root>/pkg/` (`make pkg`).
//!
//! ```text
//! cargo run --example dev_server -- [--port N] [--root DIR] [--json]
//! ```
//!
//! Routes: `GET /records/<id>.jwe` (the JWE, `application/jose`, no-store,
//! CORS `*`), `GET /pkg/<file>`, every other `GET` path from `www/` (`/` is
//! `www/index.html`). Only `GET` and `HEAD` are accepted. Development use only.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;

use patient_portal_sdk::unseal::{seal, ContentKey, SealOptions};
use tiny_http::{Header, Method, Request, Response, ResponseBox, Server};
use zeroize::Zeroizing;

/// The embedded samples: display name and FHIR bundle bytes.
const SAMPLES: &[(&str, &[u8])] = &[
    ("Christian Balistreri", include_bytes!("data/christian-balistreri.json")),
    ("Dusty Stracke", include_bytes!("data/dusty-stracke.json")),
];

const WORKERS: usize = 4;
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
const USAGE: &str = "\
Patient Portal SDK development backend (loopback only)

Usage: cargo run --example dev_server -- [OPTIONS]

Options:
  --port N     port on 127.0.0.1 (default 8080; 0 picks a free port)
  --root DIR   repository root holding www/ and pkg/ (default: this crate)
  --json       also print one line `DEMO_LINKS {json}` with the demo links
  -h, --help   show this help";

struct Options {
    port: u16,
    root: PathBuf,
    json: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options { port: 8080, root: PathBuf::from(env!("CARGO_MANIFEST_DIR")), json: false };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--json" => options.json = true,
            "--port" => {
                let value = args.next().ok_or("--port needs a value")?;
                options.port = value.parse().map_err(|_| format!("invalid port: {value}"))?;
            }
            "--root" => options.root = PathBuf::from(args.next().ok_or("--root needs a directory")?),
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(options)
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("operating system random number generator");
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Flips one bit in the middle of the ciphertext (4th) segment, keeping the
/// text valid base64url (each alphabet index is XORed with 1).
fn tamper(jwe: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
    let middle = parts[3].len() / 2;
    let index = ALPHABET.iter().position(|&c| c == parts[3].as_bytes()[middle]).expect("base64url ciphertext");
    parts[3].replace_range(middle..=middle, &char::from(ALPHABET[index ^ 1]).to_string());
    parts.join(".")
}

/// One printed demo link. Holds the key only until startup output is done.
struct Link {
    name: String,
    entries: usize,
    record: String,
    key: Zeroizing<String>,
}

fn main() {
    let options = parse_args().unwrap_or_else(|message| {
        eprintln!("error: {message}\n\n{USAGE}");
        std::process::exit(2);
    });
    if !options.root.join("www").is_dir() {
        eprintln!("warning: {} not found; pages will 404 (use --root)", options.root.join("www").display());
    }
    if !options.root.join("pkg").is_dir() {
        eprintln!("warning: {} does not exist: run `make pkg` to build the SDK", options.root.join("pkg").display());
    }
    let server = Server::http(("127.0.0.1", options.port)).unwrap_or_else(|err| {
        eprintln!("error: cannot listen on 127.0.0.1:{}: {err}", options.port);
        std::process::exit(1);
    });
    let port = server.server_addr().to_ip().map_or(options.port, |addr| addr.port());
    let base = format!("http://127.0.0.1:{port}/");

    // Seal every sample under its own fresh key; keep only the ciphertext.
    let mut records: HashMap<String, Arc<str>> = HashMap::new();
    let mut links = Vec::new();
    let mut tampered = None;
    let seal_options = SealOptions { deflate: true, content_type: Some("application/fhir+json".into()) };
    for &(name, bundle) in SAMPLES {
        let parsed: serde_json::Value = serde_json::from_slice(bundle).expect("embedded sample is JSON");
        let entries = parsed["entry"].as_array().map_or(0, Vec::len);
        let key = ContentKey::from_bytes(&random::<32>()).expect("32-byte key");
        let jwe = seal(bundle, &key, random::<12>(), &seal_options).expect("sealing the sample");
        let id = hex(&random::<16>());
        let link = Link { name: name.into(), entries, record: format!("/records/{id}.jwe"), key: key.to_base64url() };
        if tampered.is_none() {
            let bad_id = hex(&random::<16>());
            records.insert(bad_id.clone(), tamper(&jwe).into());
            let record = format!("/records/{bad_id}.jwe");
            tampered = Some(Link { name: String::new(), entries: 0, record, key: link.key.clone() });
        }
        records.insert(id, jwe.into());
        links.push(link);
    }
    let tampered = tampered.expect("at least one sample");

    let url = |link: &Link| Zeroizing::new(format!("{base}#record={}&key={}", link.record, link.key.as_str()));
    let labels: Vec<String> = links.iter().map(|l| format!("{} ({} entries):", l.name, l.entries)).collect();
    let width = labels.iter().map(String::len).max().unwrap_or(0) + 1;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "Patient Portal SDK development backend on {base}");
    let _ = writeln!(out, "Demo records (the key is in the URL fragment, which browsers never send to the server):");
    for (label, link) in labels.iter().zip(&links) {
        let _ = writeln!(out, "  {label:<width$}{}", url(link).as_str());
    }
    let _ = writeln!(out, "Error screen (tampered file): {}", url(&tampered).as_str());
    if options.json {
        let entry = |l: &Link| serde_json::json!({ "url": *url(l), "record": l.record, "key": *l.key });
        let records_json: Vec<_> = links
            .iter()
            .map(|l| serde_json::json!({ "name": l.name, "url": *url(l), "record": l.record, "key": *l.key }))
            .collect();
        let json = serde_json::json!({ "base": base, "records": records_json, "tampered": entry(&tampered) });
        let _ = writeln!(out, "DEMO_LINKS {json}");
    }
    let _ = out.flush();
    drop(out);
    drop((links, tampered)); // the server does not keep the keys

    let server = Arc::new(server);
    let records = Arc::new(records);
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (server, records, root) = (Arc::clone(&server), Arc::clone(&records), options.root.clone());
            thread::spawn(move || loop {
                match server.recv() {
                    Ok(request) => handle(request, &records, &root),
                    Err(err) => eprintln!("receive error: {err}"),
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("static ASCII header")
}

fn text(status: u16, message: &str) -> ResponseBox {
    Response::from_string(format!("{message}\n"))
        .with_status_code(status)
        .with_header(header("Content-Type", "text/plain; charset=utf-8"))
        .boxed()
}

fn handle(request: Request, records: &HashMap<String, Arc<str>>, root: &Path) {
    let method = request.method().clone();
    let raw = request.url().to_owned();
    let response = if method != Method::Get && method != Method::Head {
        text(405, "Method Not Allowed").with_header(header("Allow", "GET, HEAD"))
    } else {
        route(&raw, records, root)
    }
    .with_header(header("X-Content-Type-Options", "nosniff"))
    .with_header(header("Referrer-Policy", "no-referrer"));
    let status = response.status_code().0;
    let path = raw.split(['?', '#']).next().unwrap_or("");
    eprintln!("{method} {path} {status}");
    if let Err(err) = request.respond(response) {
        eprintln!("response error: {err}");
    }
}

fn route(raw: &str, records: &HashMap<String, Arc<str>>, root: &Path) -> ResponseBox {
    let Some(path) = decode_path(raw.split(['?', '#']).next().unwrap_or("")) else {
        return text(400, "Bad Request");
    };
    if let Some(name) = path.strip_prefix("/records/") {
        let record = name.strip_suffix(".jwe").and_then(|id| records.get(id));
        return match record {
            Some(jwe) => Response::from_data(jwe.as_bytes().to_vec())
                .with_header(header("Content-Type", "application/jose"))
                .with_header(header("Cache-Control", "no-store"))
                .with_header(header("Access-Control-Allow-Origin", "*"))
                .boxed(),
            None => text(404, "Not Found").with_header(header("Access-Control-Allow-Origin", "*")),
        };
    }
    let (dir, relative) = match path.strip_prefix("/pkg/") {
        Some(rest) => ("pkg", rest.to_owned()),
        None if path.ends_with('/') => ("www", format!("{}index.html", &path[1..])),
        None => ("www", path[1..].to_owned()),
    };
    serve_file(&root.join(dir), &relative)
}

/// Percent-decodes a request path and refuses anything that could leave the
/// served directory: non-origin-form targets, `.`/`..`/empty segments,
/// backslashes, NUL, colons and invalid UTF-8.
fn decode_path(raw: &str) -> Option<String> {
    if !raw.starts_with('/') {
        return None;
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let pair = raw.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(pair, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let path = String::from_utf8(out).ok()?;
    let segments: Vec<&str> = path[1..].split('/').collect();
    let last = segments.len() - 1;
    let bad = segments
        .iter()
        .enumerate()
        .any(|(n, s)| (s.is_empty() && n != last) || *s == "." || *s == ".." || s.contains(['\\', '\0', ':']));
    (!bad).then_some(path)
}

fn serve_file(base: &Path, relative: &str) -> ResponseBox {
    let not_found = || text(404, "Not Found");
    let (Ok(base), Ok(target)) = (base.canonicalize(), base.join(relative).canonicalize()) else {
        return not_found();
    };
    if !target.starts_with(&base) || !target.is_file() {
        return not_found();
    }
    let Ok(file) = File::open(&target) else {
        return not_found();
    };
    let kind = content_type(relative);
    let mut response = Response::from_file(file)
        .with_header(header("Content-Type", kind))
        .with_header(header("Cache-Control", "no-cache"))
        .boxed();
    if kind.starts_with("text/html") {
        response.add_header(header("Content-Security-Policy", CSP));
    }
    response
}

fn content_type(path: &str) -> &'static str {
    if path.ends_with(".d.ts") {
        return "text/plain";
    }
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("txt" | "md") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}
