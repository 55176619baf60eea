//! Development backend for the Patient Portal SDK demo, and a SMART Health
//! Links host.
//!
//! A loopback-only HTTP server (axum on tokio, with connection, header, body
//! and time limits: [`server`]) that:
//!
//! * serves the demo page from `<root>/www/` and the built SDK from
//!   `<root>/pkg/` (`make pkg`);
//! * at start seals the embedded Synthea samples (`examples/data/`) into
//!   compact JWEs under fresh keys, serves them at `/records/<id>.jwe` with a
//!   tampered copy, and prints `#record=…&key=…` demo links ([`demo`]);
//! * hosts SMART Health Links (HL7 SMART Health Links IG) stored in SQLite or
//!   PostgreSQL ([`store`], [`pg`]): manifest requests with passcodes,
//!   lifetime attempt counts and rate limits, one-time file locations,
//!   `U`-flag direct files and the JWKS of the SMART Health Cards it signs
//!   ([`http`], [`card`]), recording every request in the link's access trail;
//! * lets accounts create, list and revoke links and read their access trails
//!   through an authenticated JSON API under `/api/` ([`api`]); the `demo`
//!   account's token is printed at start;
//! * at start replaces its demo links (one of each kind) and prints them;
//! * serves the samples as a read-only FHIR R4 API under `/fhir/`, behind a
//!   bearer token drawn at start and printed with the demo links ([`fhir`]);
//! * as `create-link`, `revoke` and `create-account` subcommands, manages
//!   links and accounts in the same database while a server runs ([`links`],
//!   [`cli`]).
//!
//! Content keys never reach the database: they exist only in the process that
//! creates a link, long enough to seal the files and print the link.
//!
//! ```text
//! cargo run --example dev_server -- [--port N] [--root DIR] [--json]
//!                                   [--db PATH | --postgres URL] [--public-url URL] …
//! cargo run --example dev_server -- create-link [OPTIONS] FILE...
//! cargo run --example dev_server -- revoke [--db PATH | --postgres URL] ID
//! cargo run --example dev_server -- create-account [--db PATH | --postgres URL] NAME
//! ```
//!
//! `--help` lists every option and route. Development use only.

mod api;
mod card;
mod cli;
mod demo;
mod fhir;
mod http;
mod links;
mod pg;
mod server;
mod store;
mod web;

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use zeroize::Zeroizing;

use card::Issuer;
use cli::{Command, CreateOptions, Expiry, ServeOptions, StoreChoice, USAGE};
use links::{LinkSpec, PlainFile, FHIR_JSON};
use store::Store;

/// Name of the account that owns the demo links.
const DEMO_ACCOUNT: &str = "demo";

/// `N` bytes from the operating system's random number generator.
pub fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("operating system random number generator");
    bytes
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}

fn main() {
    let command = match cli::parse(std::env::args().skip(1)) {
        Ok(Some(command)) => command,
        Ok(None) => {
            println!("{USAGE}");
            return;
        }
        Err(message) => {
            eprintln!("error: {message}\n\nRun with --help for usage.");
            std::process::exit(2);
        }
    };
    match command {
        Command::Serve(options) => serve(options),
        Command::CreateLink(options) => create_link(options).unwrap_or_else(|e| fail(e)),
        Command::Revoke { store, id } => revoke(&store, &id).unwrap_or_else(|e| fail(e)),
        Command::CreateAccount { store, name } => create_account(&store, &name).unwrap_or_else(|e| fail(e)),
    }
}

/// Opens the chosen store.
fn open_store(choice: &StoreChoice) -> Result<Box<dyn Store>, String> {
    match &choice.postgres {
        Some(url) => Ok(Box::new(pg::Postgres::open(url)?)),
        None => Ok(Box::new(store::Sqlite::open(&choice.db)?)),
    }
}

/// The issuer key from the database, created on first use.
fn issuer(store: &dyn Store) -> Result<Issuer, String> {
    let candidate = Issuer::generate_secret();
    let secret = store.issuer_secret(&candidate, &Issuer::kid_of(&candidate), now()).map_err(|e| format!("issuer key: {e}"))?;
    Issuer::from_secret(&secret)
}

/// Creates account `name` (or gives it a fresh token): the token, shown once.
fn account_token(store: &dyn Store, name: &str) -> Result<(i64, String), String> {
    let token = links::random_id();
    let id = store.upsert_account(name, &store::token_hash(&token), now()).map_err(|e| format!("account {name}: {e}"))?;
    Ok((id, token))
}

fn create_account(choice: &StoreChoice, name: &str) -> Result<(), String> {
    let store = open_store(choice)?;
    let (_, token) = account_token(store.as_ref(), name)?;
    println!("{}", json!({ "account": name, "token": token }));
    Ok(())
}

fn serve(options: ServeOptions) {
    if !options.root.join("www").is_dir() {
        eprintln!("warning: {} not found; pages will 404 (use --root)", options.root.join("www").display());
    }
    if !options.root.join("pkg").is_dir() {
        eprintln!("warning: {} does not exist: run `make pkg` to build the SDK", options.root.join("pkg").display());
    }
    let store = open_store(&options.store).unwrap_or_else(|e| fail(e));
    let issuer = issuer(store.as_ref()).unwrap_or_else(|e| fail(e));
    let listener = std::net::TcpListener::bind(("127.0.0.1", options.port)).unwrap_or_else(|err| {
        fail(format_args!("cannot listen on 127.0.0.1:{}: {err}", options.port));
    });
    let port = listener.local_addr().map_or(options.port, |addr| addr.port());
    let base = format!("http://127.0.0.1:{port}/");
    let public = options.public_url.clone().unwrap_or_else(|| format!("http://127.0.0.1:{port}"));

    let records = demo::seal_records();
    let (demo_account, api_token) = account_token(store.as_ref(), DEMO_ACCOUNT).unwrap_or_else(|e| fail(e));
    let links = demo::create_links(store.as_ref(), &issuer, &public, demo_account, now()).unwrap_or_else(|e| fail(e));
    let api_base = format!("{public}/api/");
    let index = fhir::Index::build(demo::SAMPLES).unwrap_or_else(|e| fail(e));
    let fhir_api = fhir::Api::new(index, options.public_url.clone(), public.clone());
    let fhir_base = format!("{public}/fhir");
    let fhir_url = |id: &str| format!("{public}/?fhir={fhir_base}&patient={id}");

    // Startup text, then the machine-readable line (after listening).
    let url = |r: &demo::Record| Zeroizing::new(format!("{base}#record={}&key={}", r.record, r.key.as_str()));
    let labels: Vec<String> = records.records.iter().map(|r| format!("{} ({} entries):", r.name, r.entries)).collect();
    let width = labels.iter().map(String::len).max().unwrap_or(0) + 1;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "Patient Portal SDK development backend on {base}");
    let _ = writeln!(out, "Demo records (the key is in the URL fragment, which browsers never send to the server):");
    for (label, record) in labels.iter().zip(&records.records) {
        let _ = writeln!(out, "  {label:<width$}{}", url(record).as_str());
    }
    let _ = writeln!(out, "Error screen (tampered file): {}", url(&records.tampered).as_str());
    let _ = writeln!(out, "SMART Health Links (database {}, issuer {public}, kid {}):", store.describe(), issuer.kid);
    for link in &links {
        let passcode = link.passcode.map(|p| format!(", passcode {p}")).unwrap_or_default();
        let _ = writeln!(out, "  {} [{}{passcode}]:\n    {}", link.name, link.kind, link.viewer_url.as_str());
    }
    let _ = writeln!(out, "Link API (create, list and revoke links; access trails) of the account `{DEMO_ACCOUNT}`:");
    let _ = writeln!(out, "  base:  {api_base}");
    let _ = writeln!(out, "  token: {api_token}  (send Authorization: Bearer <token>)");
    let _ = writeln!(out, "FHIR API (read-only, the samples; every route but /fhir/metadata needs the token):");
    let _ = writeln!(out, "  base:  {fhir_base}");
    let _ = writeln!(out, "  token: {}  (send Authorization: Bearer <token>; type it into the page)", fhir_api.token());
    let patients = fhir_api.index().patients();
    let width = patients.iter().map(|p| p.name.len()).max().unwrap_or(0) + 2;
    for patient in patients {
        let label = format!("{}:", patient.name);
        let _ = writeln!(out, "  {label:<width$}{}", fhir_url(&patient.id));
    }
    if options.json {
        let record_json = |r: &demo::Record| json!({ "url": *url(r), "record": r.record, "key": *r.key });
        let records_json: Vec<Value> = records.records.iter().map(|r| json!({ "name": r.name, "url": *url(r), "record": r.record, "key": *r.key })).collect();
        let links_json: Vec<Value> = links
            .iter()
            .map(|l| {
                let mut entry = json!({ "name": l.name, "kind": l.kind, "link": *l.shlink, "viewerUrl": *l.viewer_url });
                if let Some(passcode) = l.passcode {
                    entry["passcode"] = passcode.into();
                }
                entry
            })
            .collect();
        let patients_json: Vec<Value> = patients.iter().map(|p| json!({ "name": p.name, "id": p.id, "url": fhir_url(&p.id) })).collect();
        let json = json!({
            "base": base,
            "records": records_json,
            "tampered": record_json(&records.tampered),
            "links": links_json,
            "fhir": { "base": fhir_base, "token": fhir_api.token(), "patients": patients_json },
            "host": { "api": api_base, "token": api_token, "viewerUrl": format!("{public}/") },
        });
        let _ = writeln!(out, "DEMO_LINKS {json}");
    }
    let _ = out.flush();
    drop(out);
    let demo::Records { files, records, tampered } = records;
    drop((records, tampered, links)); // the server does not keep the keys

    drop(api_token);
    let app = Arc::new(http::App {
        store,
        records: files,
        root: options.root,
        public_base: public.clone(),
        jwks: issuer.jwks().to_string(),
        locations: http::Locations::default(),
        limiter: http::RateLimiter::new(options.manifest_rate),
        fhir: fhir_api,
        api: api::Settings {
            public,
            max_upload: options.max_upload,
            attempts: options.attempts,
            body_timeout: Duration::from_secs(options.body_timeout),
            limiter: api::AccountLimiter::new(options.api_rate),
        },
    });
    drop(issuer);
    let limits = server::Limits {
        max_connections: options.max_connections,
        header_timeout: Duration::from_secs(options.header_timeout),
        request_timeout: Duration::from_secs(options.body_timeout.saturating_add(60)),
    };
    server::run(listener, app, limits).unwrap_or_else(|e| fail(e));
}

/// Reads one FILE for `create-link`: a `.smart-health-card` file (an object
/// with a `verifiableCredential` array) as is, a FHIR resource as
/// `application/fhir+json`, or with `--health-card` a FHIR Bundle wrapped as a
/// card signed by the backend.
fn read_file(path: &Path, options: &CreateOptions, issuer: &mut Option<Issuer>, store: &dyn Store) -> Result<PlainFile, String> {
    let shown = path.display();
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| format!("{shown}: {e}"))?);
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| format!("{shown}: not JSON: {e}"))?;
    if value.get("verifiableCredential").is_some_and(Value::is_array) {
        return Ok(PlainFile { content_type: card::CONTENT_TYPE, bytes });
    }
    let Some(resource_type) = value.get("resourceType").and_then(Value::as_str) else {
        return Err(format!("{shown}: neither a FHIR resource (no resourceType) nor a .smart-health-card file"));
    };
    if !options.health_card {
        return Ok(PlainFile { content_type: FHIR_JSON, bytes });
    }
    if resource_type != "Bundle" {
        return Err(format!("{shown}: --health-card needs a FHIR Bundle, found {resource_type}"));
    }
    if issuer.is_none() {
        *issuer = Some(self::issuer(store)?);
    }
    let issuer = issuer.as_ref().ok_or("issuer key unavailable")?;
    let card = issuer.health_card_file(&options.base, &value, now());
    Ok(PlainFile { content_type: card::CONTENT_TYPE, bytes: Zeroizing::new(card) })
}

fn create_link(options: CreateOptions) -> Result<(), String> {
    let store = open_store(&options.store)?;
    let mut issuer = None;
    let files = options.files.iter().map(|path| read_file(path, &options, &mut issuer, store.as_ref())).collect::<Result<Vec<_>, _>>()?;
    let now = now();
    let exp = match options.expiry {
        Some(Expiry::In(seconds)) => Some(now.saturating_add(i64::try_from(seconds).unwrap_or(i64::MAX))),
        Some(Expiry::At(epoch)) => Some(epoch),
        None => None,
    };
    let spec = LinkSpec {
        base: &options.base,
        passcode: options.passcode.as_deref().map(String::as_str),
        attempts: options.attempts,
        exp,
        label: options.label.as_deref(),
        long_term: options.long_term,
        direct: options.direct,
        demo: false,
        tamper: false,
        account: None,
        files,
    };
    let link = links::create(store.as_ref(), &spec, now)?;
    let viewer_url = link.viewer_url(&options.viewer);
    if let Some(path) = &options.qr_svg {
        std::fs::write(path, links::qr_svg(&viewer_url)?).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let mut out = std::io::stdout().lock();
    if options.json {
        let line = json!({
            "id": link.id,
            "link": *link.shlink,
            "viewerUrl": *viewer_url,
            "manifestUrl": link.manifest_url,
        });
        let _ = writeln!(out, "{line}");
    } else {
        let _ = writeln!(out, "Link {} stored in {}.", link.id, store.describe());
        let _ = writeln!(out, "The key is only in this output: keep it, or create a new link.\n");
        let _ = writeln!(out, "SMART Health Link:\n{}\n", link.shlink.as_str());
        let _ = writeln!(out, "Viewer URL:\n{}\n", viewer_url.as_str());
        let _ = writeln!(out, "{}", links::qr_text(&viewer_url)?);
        if let Some(path) = &options.qr_svg {
            let _ = writeln!(out, "QR code written to {}", path.display());
        }
    }
    let _ = out.flush();
    Ok(())
}

fn revoke(choice: &StoreChoice, id: &str) -> Result<(), String> {
    let store = open_store(choice)?;
    let mut short: String = id.chars().take(6).collect();
    if id.chars().count() > 6 {
        short.push('…');
    }
    if store.revoke(id, None).map_err(|e| format!("revoking: {e}"))? {
        println!("Revoked link {short}");
        Ok(())
    } else {
        Err(format!("no link with id {short} in {}", store.describe()))
    }
}
