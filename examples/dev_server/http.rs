//! Request handling: static files, the `/records/` demo files, the SMART
//! Health Links routes and the read-only FHIR API ([`crate::fhir`]).
//!
//! | route | answer |
//! |---|---|
//! | `POST /shl/<id>` | manifest (`application/json`), 400/401/404/413/429 |
//! | `GET /shl/<id>?recipient=…` | the file of a `U` link (`application/jose`) |
//! | `GET /shl/files/<token>` | a manifest file location: one use, 60 s |
//! | `GET /.well-known/jwks.json` | the card issuer public key |
//! | `OPTIONS` on those | CORS preflight, 204 |
//! | `GET /fhir/metadata` | CapabilityStatement (no token) |
//! | `GET /fhir/{Type}/{id}`, `GET /fhir/Patient/{id}/$everything`, `GET /fhir/{Type}?patient=…` | the sample patients as FHIR R4, `Authorization: Bearer <token>` |
//! | `OPTIONS /fhir/…` | CORS preflight, 204 |
//! | `GET /records/<id>.jwe` | the demo records sealed at start |
//! | `GET /pkg/<file>`, `GET /<path>` | `pkg/` and `www/` |
//!
//! Every `/shl/`, `/fhir/` and JWKS answer carries `Access-Control-Allow-Origin: *`.
//! The access log shows method, path and status only: no query strings, no
//! bodies, no headers (so never the FHIR bearer token), at most six characters
//! of a link id or file token, and FHIR ids cut to six characters.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::fhir;
use crate::links::{self, is_id};
use crate::now;
use crate::store::{self, Manifest, Outcome, Store, StoreError};
pub use crate::web::header;
use crate::web::{BodyError, Method, Request, Response, ResponseBox};

/// The demo page runs under the policy portals use: no inline script or
/// style, and Trusted Types enforced with only the SDK's policy allowed.
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
connect-src 'self' https: http://127.0.0.1:* http://localhost:*; \
require-trusted-types-for 'script'; trusted-types patient-portal-sdk";

/// Largest request body read outside uploads (manifest requests are tiny).
pub const MAX_BODY: usize = 64 * 1024;
/// Files up to this length are embedded when the client sets no `embeddedLengthMax`.
const DEFAULT_EMBED_MAX: u64 = 16 * 1024;
/// Lifetime of a manifest file location.
const LOCATION_TTL: Duration = Duration::from_secs(60);
/// Prune the in-memory tables when they grow past this.
const PRUNE_AT: usize = 1024;

/// Everything a worker needs.
pub struct App {
    pub store: Box<dyn Store>,
    /// `/records/<id>.jwe` demo files.
    pub records: HashMap<String, Arc<str>>,
    /// Repository root with `www/` and `pkg/`.
    pub root: PathBuf,
    /// Public base URL (no trailing slash) for file locations.
    pub public_base: String,
    /// The JWKS document.
    pub jwks: String,
    pub locations: Locations,
    pub limiter: RateLimiter,
    /// The `/fhir/` API over the samples.
    pub fhir: fhir::Api,
    /// The `/api/` settings and per-account rate limit.
    pub api: crate::api::Settings,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One-time manifest file locations: token → (link id, file position, deadline).
#[derive(Default)]
pub struct Locations(Mutex<HashMap<String, (String, i64, Instant)>>);

impl Locations {
    fn issue(&self, link: &str, position: i64) -> String {
        let token = links::random_id();
        let now = Instant::now();
        let mut map = lock(&self.0);
        if map.len() >= PRUNE_AT {
            map.retain(|_, (_, _, deadline)| *deadline > now);
        }
        map.insert(token.clone(), (link.to_owned(), position, now + LOCATION_TTL));
        token
    }

    /// Consumes a token: the file it names, if it was valid.
    fn redeem(&self, token: &str) -> Option<(String, i64)> {
        let (link, position, deadline) = lock(&self.0).remove(token)?;
        (Instant::now() < deadline).then_some((link, position))
    }
}

/// Per-link request rate limit over a sliding one-second window.
pub struct RateLimiter {
    per_second: usize,
    hits: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub fn new(per_second: u32) -> Self {
        Self { per_second: per_second.max(1) as usize, hits: Mutex::default() }
    }

    /// Records a request for `id`; false if it exceeds the rate.
    fn allow(&self, id: &str) -> bool {
        let now = Instant::now();
        let window = Duration::from_secs(1);
        let mut hits = lock(&self.hits);
        if hits.len() >= PRUNE_AT {
            hits.retain(|_, times| times.back().is_some_and(|&t| now.duration_since(t) < window));
        }
        let times = hits.entry(id.to_owned()).or_default();
        while times.front().is_some_and(|&t| now.duration_since(t) >= window) {
            times.pop_front();
        }
        if times.len() >= self.per_second {
            return false;
        }
        times.push_back(now);
        true
    }
}

fn text(status: u16, message: &str) -> ResponseBox {
    Response::from_string(format!("{message}\n")).with_status_code(status).with_header(header("Content-Type", "text/plain; charset=utf-8")).boxed()
}

fn json_response(status: u16, value: &Value) -> ResponseBox {
    json_text(status, "application/json", value.to_string())
}

/// JSON text as an answer that is never cached.
pub(crate) fn json_text(status: u16, content_type: &str, body: String) -> ResponseBox {
    Response::from_string(body)
        .with_status_code(status)
        .with_header(header("Content-Type", content_type))
        .with_header(header("Cache-Control", "no-store"))
        .boxed()
}

fn jose(jwe: String) -> ResponseBox {
    Response::from_data(jwe.into_bytes()).with_header(header("Content-Type", "application/jose")).with_header(header("Cache-Control", "no-store")).boxed()
}

fn method_not_allowed(allow: &str) -> ResponseBox {
    text(405, "Method Not Allowed").with_header(header("Allow", allow))
}

/// Answers one request (its body already read) and logs it.
pub fn handle(request: Request, app: &App) -> ResponseBox {
    let method = request.method;
    let raw = request.url().to_owned();
    let path = raw.split(['?', '#']).next().unwrap_or("").to_owned();
    let query = raw.split_once('?').map(|(_, q)| q.split('#').next().unwrap_or("").to_owned());
    let link_route = path.starts_with("/shl/") || path == "/.well-known/jwks.json";
    let response = if link_route {
        let mut response = shl_route(&request, method, &path, query.as_deref(), app);
        response.add_header(header("Access-Control-Allow-Origin", "*"));
        response.add_header(header("Access-Control-Expose-Headers", "Retry-After"));
        response
    } else if path == "/fhir" || path.starts_with("/fhir/") {
        let mut response = fhir::route(&request, method, &path, query.as_deref(), &app.fhir);
        response.add_header(header("Access-Control-Allow-Origin", "*"));
        response
    } else if method != Method::Get && method != Method::Head {
        method_not_allowed("GET, HEAD")
    } else {
        static_route(&path, app)
    }
    .with_header(header("X-Content-Type-Options", "nosniff"))
    .with_header(header("Referrer-Policy", "no-referrer"));
    let status = response.status_code().0;
    eprintln!("{method} {} {status}", log_path(&path));
    response
}

/// The path as logged: link ids and file tokens cut to six characters, and
/// under `/fhir/` every segment after the resource type but operations.
fn log_path(path: &str) -> String {
    if let Some(rest) = path.strip_prefix("/fhir/") {
        let mut segments = rest.split('/');
        let mut logged = vec![segments.next().unwrap_or("").to_owned()];
        logged.extend(segments.map(|s| if s.starts_with('$') || s.starts_with("%24") { s.to_owned() } else { short(s) }));
        return format!("/fhir/{}", logged.join("/"));
    }
    for prefix in ["/shl/files/", "/shl/"] {
        if let Some(rest) = path.strip_prefix(prefix) {
            return format!("{prefix}{}", short(rest));
        }
    }
    path.to_owned()
}

/// At most six characters, with `…` when cut.
fn short(text: &str) -> String {
    let mut cut: String = text.chars().take(6).collect();
    if text.chars().count() > 6 {
        cut.push('…');
    }
    cut
}

fn static_route(raw_path: &str, app: &App) -> ResponseBox {
    let Some(path) = decode_path(raw_path) else {
        return text(400, "Bad Request");
    };
    if let Some(name) = path.strip_prefix("/records/") {
        let record = name.strip_suffix(".jwe").and_then(|id| app.records.get(id));
        return match record {
            Some(jwe) => jose(jwe.to_string()).with_header(header("Access-Control-Allow-Origin", "*")),
            None => text(404, "Not Found").with_header(header("Access-Control-Allow-Origin", "*")),
        };
    }
    let (dir, relative) = match path.strip_prefix("/pkg/") {
        Some(rest) => ("pkg", rest.to_owned()),
        None if path.ends_with('/') => ("www", format!("{}index.html", &path[1..])),
        None => ("www", path[1..].to_owned()),
    };
    serve_file(&app.root.join(dir), &relative)
}

/// A CORS preflight's answer allowing `methods` and request `headers`.
pub fn preflight(methods: &str, headers: &str) -> ResponseBox {
    Response::empty(204)
        .with_header(header("Access-Control-Allow-Methods", methods))
        .with_header(header("Access-Control-Allow-Headers", headers))
        .with_header(header("Access-Control-Max-Age", "600"))
        .boxed()
}

fn not_found() -> ResponseBox {
    text(404, "Not Found")
}

fn too_many_requests() -> ResponseBox {
    text(429, "Too Many Requests").with_header(header("Retry-After", "1"))
}

fn storage_error(err: StoreError) -> ResponseBox {
    eprintln!("database error: {err}");
    text(500, "Internal Server Error")
}

fn shl_route(request: &Request, method: Method, path: &str, query: Option<&str>, app: &App) -> ResponseBox {
    if method == Method::Options {
        return preflight("GET, POST, OPTIONS", "content-type");
    }
    if path == "/.well-known/jwks.json" {
        return match method {
            Method::Get | Method::Head => Response::from_string(app.jwks.clone())
                .with_header(header("Content-Type", "application/json"))
                .with_header(header("Cache-Control", "no-cache"))
                .boxed(),
            _ => method_not_allowed("GET, HEAD, OPTIONS"),
        };
    }
    if let Some(token) = path.strip_prefix("/shl/files/") {
        if method != Method::Get {
            return method_not_allowed("GET, OPTIONS");
        }
        return location_file(token, app);
    }
    let id = path.strip_prefix("/shl/").unwrap_or("");
    match method {
        Method::Post | Method::Get => {}
        _ => return method_not_allowed("GET, POST, OPTIONS"),
    }
    if !is_id(id) {
        return not_found();
    }
    if method == Method::Post {
        manifest(request, id, app)
    } else {
        direct_file(id, query, app)
    }
}

fn location_file(token: &str, app: &App) -> ResponseBox {
    let Some((link, position)) = is_id(token).then(|| app.locations.redeem(token)).flatten() else {
        return not_found();
    };
    match store::active_file(app.store.as_ref(), &link, position, now()) {
        Ok(Some(jwe)) => jose(jwe),
        Ok(None) => not_found(),
        Err(err) => storage_error(err),
    }
}

/// `GET /shl/<id>?recipient=…` for `U` links.
fn direct_file(id: &str, query: Option<&str>, app: &App) -> ResponseBox {
    let link = match app.store.link(id) {
        Ok(Some(link)) if link.has_flag('U') => link,
        Ok(_) => return not_found(),
        Err(err) => return storage_error(err),
    };
    let recipient = match query_param(query.unwrap_or(""), "recipient") {
        Some(Ok(recipient)) if !recipient.trim().is_empty() => recipient,
        Some(Err(())) => return text(400, "Bad Request: the query is not valid percent-encoded UTF-8"),
        _ => return text(400, "Bad Request: recipient is required"),
    };
    let now = now();
    let outcome = if !app.limiter.allow(id) { Some(Outcome::RateLimited) } else { link.inactive(now) };
    let answer = match outcome {
        Some(Outcome::RateLimited) => too_many_requests(),
        Some(_) => not_found(),
        None => match app.store.file_at(id, 0) {
            Ok(Some(jwe)) => jose(jwe),
            Ok(None) => not_found(),
            Err(err) => return storage_error(err),
        },
    };
    let outcome = outcome.unwrap_or(if answer.status_code().0 == 200 { Outcome::Served } else { Outcome::Revoked });
    if let Err(err) = app.store.record_access(id, &recipient, now, outcome) {
        return storage_error(err);
    }
    answer
}

/// A parsed manifest request body.
struct ManifestRequest {
    recipient: String,
    passcode: Option<Zeroizing<String>>,
    embedded_length_max: Option<u64>,
}

/// Checks `{recipient, passcode?, embeddedLengthMax?}`.
fn parse_manifest_request(body: &[u8]) -> Result<ManifestRequest, &'static str> {
    let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(body) else {
        return Err("the body must be a JSON object");
    };
    let recipient = match object.remove("recipient") {
        Some(Value::String(recipient)) if !recipient.trim().is_empty() => recipient,
        _ => return Err("recipient (a non-empty string) is required"),
    };
    let passcode = match object.remove("passcode") {
        None | Some(Value::Null) => None,
        Some(Value::String(passcode)) => Some(Zeroizing::new(passcode)),
        Some(_) => return Err("passcode must be a string"),
    };
    let embedded_length_max = match object.get("embeddedLengthMax") {
        None | Some(Value::Null) => None,
        Some(value) => Some(value.as_u64().ok_or("embeddedLengthMax must be a non-negative integer")?),
    };
    Ok(ManifestRequest { recipient, passcode, embedded_length_max })
}

/// `POST /shl/<id>`.
fn manifest(request: &Request, id: &str, app: &App) -> ResponseBox {
    let body = match &request.body {
        Ok(body) => body,
        Err(BodyError(413)) => return text(413, "Payload Too Large"),
        Err(BodyError(408)) => return text(408, "Request Timeout"),
        Err(_) => return text(400, "Bad Request"),
    };
    let parsed = match parse_manifest_request(body.as_slice()) {
        Ok(parsed) => parsed,
        Err(message) => return text(400, &format!("Bad Request: {message}")),
    };
    let now = now();
    if !app.limiter.allow(id) {
        if let Err(err) = app.store.record_access(id, &parsed.recipient, now, Outcome::RateLimited) {
            return storage_error(err);
        }
        return too_many_requests();
    }
    let passcode = parsed.passcode.as_deref().map(String::as_str);
    let files = match store::manifest(app.store.as_ref(), id, passcode, &parsed.recipient, now) {
        Ok(Manifest::Files(files)) => files,
        Ok(Manifest::NotFound) => return not_found(),
        Ok(Manifest::PasscodeRequired { remaining } | Manifest::WrongPasscode { remaining }) => {
            return json_response(401, &json!({ "remainingAttempts": remaining }));
        }
        Err(err) => return storage_error(err),
    };
    let limit = parsed.embedded_length_max.unwrap_or(DEFAULT_EMBED_MAX);
    let entries: Vec<Value> = files
        .into_iter()
        .map(|file| {
            let mut entry = serde_json::Map::new();
            entry.insert("contentType".into(), file.content_type.as_str().into());
            if file.jwe.len() as u64 <= limit {
                entry.insert("embedded".into(), file.jwe.into());
            } else {
                let token = app.locations.issue(id, file.position);
                entry.insert("location".into(), format!("{}/shl/files/{token}", app.public_base).into());
            }
            entry.insert("lastUpdated".into(), rfc3339(file.last_updated).into());
            if file.content_type == links::FHIR_JSON {
                entry.insert("fhirVersion".into(), "4.0.1".into());
            }
            Value::Object(entry)
        })
        .collect();
    json_response(200, &json!({ "files": entries }))
}

fn rfc3339(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The first `name=` parameter of a query string, percent- and `+`-decoded.
/// `Some(Err)` when it is not valid percent-encoded UTF-8.
pub(crate) fn query_param(query: &str, name: &str) -> Option<Result<String, ()>> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(key, true).as_deref() == Some(name)).then(|| percent_decode(value, true).ok_or(()))
    })
}

pub(crate) fn percent_decode(text: &str, plus_is_space: bool) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let pair = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(pair, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Percent-decodes a request path and refuses anything that could leave the
/// served directory: non-origin-form targets, `.`/`..`/empty segments,
/// backslashes, NUL, colons and invalid UTF-8.
fn decode_path(raw: &str) -> Option<String> {
    if !raw.starts_with('/') {
        return None;
    }
    let path = percent_decode(raw, false)?;
    let segments: Vec<&str> = path[1..].split('/').collect();
    let last = segments.len() - 1;
    let bad = segments.iter().enumerate().any(|(n, s)| (s.is_empty() && n != last) || *s == "." || *s == ".." || s.contains(['\\', '\0', ':']));
    (!bad).then_some(path)
}

fn serve_file(base: &Path, relative: &str) -> ResponseBox {
    let (Ok(base), Ok(target)) = (base.canonicalize(), base.join(relative).canonicalize()) else {
        return not_found();
    };
    if !target.starts_with(&base) || !target.is_file() {
        return not_found();
    }
    let Ok(bytes) = std::fs::read(&target) else {
        return not_found();
    };
    let kind = content_type(relative);
    let mut response = Response::from_data(bytes).with_header(header("Content-Type", kind)).with_header(header("Cache-Control", "no-cache")).boxed();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_request_validation() {
        assert!(parse_manifest_request(b"").is_err());
        assert!(parse_manifest_request(b"[]").is_err());
        assert!(parse_manifest_request(b"{\"recipient\":\"\"}").is_err());
        assert!(parse_manifest_request(b"{\"recipient\":1}").is_err());
        assert!(parse_manifest_request(b"{\"recipient\":\"a\",\"embeddedLengthMax\":-1}").is_err());
        assert!(parse_manifest_request(b"{\"recipient\":\"a\",\"passcode\":7}").is_err());
        assert!(parse_manifest_request(&[0xff, 0xfe]).is_err());
        let ok = parse_manifest_request(b"{\"recipient\":\"a\",\"passcode\":\"p\",\"embeddedLengthMax\":9}").expect("valid");
        assert_eq!(ok.embedded_length_max, Some(9));
        assert_eq!(ok.passcode.as_deref().map(String::as_str), Some("p"));
    }

    #[test]
    fn query_and_log() {
        assert_eq!(query_param("a=1&recipient=Dr+J%C3%BC", "recipient"), Some(Ok("Dr Jü".into())));
        assert_eq!(query_param("recipient=%ff", "recipient"), Some(Err(())));
        assert_eq!(query_param("x=1", "recipient"), None);
        assert_eq!(log_path("/shl/abcdefghij"), "/shl/abcdef…");
        assert_eq!(log_path("/shl/files/abcdefghij"), "/shl/files/abcdef…");
        assert_eq!(log_path("/fhir/Patient/68eec23c-3211/$everything"), "/fhir/Patient/68eec2…/$everything");
        assert_eq!(log_path("/fhir/metadata"), "/fhir/metadata");
        assert_eq!(log_path("/fhir/Observation/abc"), "/fhir/Observation/abc");
        assert_eq!(decode_path("/a/../b"), None);
    }
}
