//! The link creation API under `/api/`: accounts authenticate with a bearer
//! token (stored as its SHA-256), create links, upload their encrypted files,
//! list and revoke them, and read each link's access trail.
//!
//! | route | answer |
//! |---|---|
//! | `POST /api/links` | 201 the new link (`{label?, passcode?, expiresAt?, flag?}`) |
//! | `POST /api/links/{id}/files?contentType=…` | 201 `{files}`: appends a compact JWE (body limit `--max-upload`) |
//! | `GET /api/links` | 200 `{links}`: the account's links, newest first |
//! | `DELETE /api/links/{id}` | 204: revoked |
//! | `GET /api/links/{id}/accesses` | 200 `{accesses}`: the link's access trail, oldest first |
//!
//! Errors are `{error, message}`: 401 with `WWW-Authenticate: Bearer` for a
//! missing or unknown token, 404 for an unknown link or another account's
//! (existence is not revealed), 413 past a body limit, 429 with
//! `Retry-After` past the account's rate limit, 400 for bad input. Every
//! answer allows any origin (bearer tokens, no cookies).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post};
use axum::Router;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::http::{lock, App, MAX_BODY};
use crate::links::{is_id, random_id, FHIR_JSON};
use crate::now;
use crate::store::{self, NewFile, NewLink, Store};
use crate::web::BodyError;

/// Longest label, in characters.
const MAX_LABEL: usize = 80;
/// Longest passcode, in characters.
const MAX_PASSCODE: usize = 256;
/// Latest accepted expiry (9999-12-31T23:59:59Z).
const MAX_EXP: i64 = 253_402_300_799;
/// File content types a link may carry.
const CONTENT_TYPES: &[&str] = &[FHIR_JSON, "application/smart-health-card", "application/smart-api-access"];

/// `/api/` settings.
pub struct Settings {
    /// Public base URL, without a trailing slash.
    pub public: String,
    /// Upload body limit in bytes.
    pub max_upload: usize,
    /// Wrong passcodes allowed over the life of a link made through the API.
    pub attempts: u32,
    /// Time allowed for reading a request body.
    pub body_timeout: Duration,
    pub limiter: AccountLimiter,
}

/// Per-account request limit over a sliding one-minute window.
pub struct AccountLimiter {
    per_minute: usize,
    hits: Mutex<HashMap<i64, VecDeque<Instant>>>,
}

impl AccountLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self { per_minute: per_minute.max(1) as usize, hits: Mutex::default() }
    }

    /// Records a request of `account`; `Err(seconds to wait)` past the limit.
    fn check(&self, account: i64) -> Result<(), u64> {
        let now = Instant::now();
        let window = Duration::from_secs(60);
        let mut hits = lock(&self.hits);
        if hits.len() >= 1024 {
            hits.retain(|_, times| times.back().is_some_and(|&t| now.duration_since(t) < window));
        }
        let times = hits.entry(account).or_default();
        while times.front().is_some_and(|&t| now.duration_since(t) >= window) {
            times.pop_front();
        }
        if times.len() >= self.per_minute {
            let oldest = times.front().copied().unwrap_or(now);
            let wait = window.saturating_sub(now.duration_since(oldest));
            return Err(wait.as_secs() + 1);
        }
        times.push_back(now);
        Ok(())
    }
}

/// An error answer: `{error, message}`.
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after: None }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such link")
    }

    fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
    }

    fn body(error: BodyError, limit: usize) -> Self {
        match error.0 {
            413 => Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", format!("the body exceeds {limit} bytes")),
            408 => Self::new(StatusCode::REQUEST_TIMEOUT, "timeout", "the body was not received in time"),
            _ => Self::bad_request("the body could not be read"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, json_body(&json!({ "error": self.code, "message": self.message }))).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"api\""));
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

type Answer = Result<Response, ApiError>;

fn json_body(value: &Value) -> String {
    value.to_string()
}

fn json_answer(status: StatusCode, value: &Value) -> Response {
    let mut response = (status, json_body(value)).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Runs `work` on the store on a blocking thread.
async fn blocking<T: Send + 'static>(app: &Arc<App>, work: impl FnOnce(&dyn Store) -> store::Result<T> + Send + 'static) -> Result<T, ApiError> {
    let app = Arc::clone(app);
    match tokio::task::spawn_blocking(move || work(app.store.as_ref())).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => {
            eprintln!("database error: {err}");
            Err(ApiError::internal())
        }
        Err(_) => {
            eprintln!("a request handler panicked");
            Err(ApiError::internal())
        }
    }
}

/// The account of the request's bearer token, within its rate limit.
async fn authenticate(app: &Arc<App>, headers: &HeaderMap) -> Result<i64, ApiError> {
    let unauthorized = |message: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message);
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|token| !token.is_empty())
        .ok_or_else(|| unauthorized("an access token is required: Authorization: Bearer <token>"))?;
    if token.len() > 512 {
        return Err(unauthorized("the access token is not valid"));
    }
    let hash = store::token_hash(token);
    let account = blocking(app, move |store| store.account_by_token(&hash)).await?.ok_or_else(|| unauthorized("the access token is not valid"))?;
    app.api.limiter.check(account).map_err(|seconds| ApiError {
        retry_after: Some(seconds),
        ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests for this account")
    })?;
    Ok(account)
}

fn rfc3339(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A checked `POST /api/links` body.
struct CreateRequest {
    label: Option<String>,
    passcode: Option<Zeroizing<String>>,
    exp: Option<i64>,
    flags: String,
}

fn parse_create(body: &[u8], now: i64) -> Result<CreateRequest, String> {
    let mut object = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Map::new()
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(object)) => object,
            _ => return Err("the body must be a JSON object".into()),
        }
    };
    let label = match object.remove("label") {
        None | Some(Value::Null) => None,
        Some(Value::String(label)) if label.chars().count() <= MAX_LABEL => Some(label),
        Some(_) => return Err(format!("label must be a string of at most {MAX_LABEL} characters")),
    };
    let passcode = match object.remove("passcode") {
        None | Some(Value::Null) => None,
        Some(Value::String(passcode)) => {
            let passcode = Zeroizing::new(passcode);
            if !(1..=MAX_PASSCODE).contains(&passcode.chars().count()) {
                return Err(format!("passcode must be 1 to {MAX_PASSCODE} characters"));
            }
            Some(passcode)
        }
        Some(_) => return Err("passcode must be a string".into()),
    };
    let exp = match object.remove("expiresAt") {
        None | Some(Value::Null) => None,
        Some(value) => {
            let seconds = value.as_f64().filter(|s| s.is_finite()).ok_or("expiresAt must be a number (epoch seconds)")?;
            if seconds <= now as f64 {
                return Err("expiresAt must be in the future (epoch seconds)".into());
            }
            if seconds > MAX_EXP as f64 {
                return Err("expiresAt is too far in the future (epoch seconds, not milliseconds)".into());
            }
            Some(seconds.floor() as i64)
        }
    };
    let flag = match object.remove("flag") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(flag)) if ["", "P", "L", "LP"].contains(&flag.as_str()) => flag,
        Some(_) => return Err("flag must be one of \"\", \"P\", \"L\", \"LP\"".into()),
    };
    if flag.contains('P') && passcode.is_none() {
        return Err("flag P needs a passcode".into());
    }
    let mut flags = String::new();
    if flag.contains('L') {
        flags.push('L');
    }
    if passcode.is_some() {
        flags.push('P');
    }
    Ok(CreateRequest { label, passcode, exp, flags })
}

/// True for a compact JWE: five base64url parts, all but the encrypted key non-empty.
fn is_compact_jwe(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    parts.len() == 5
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        && parts.iter().enumerate().all(|(i, p)| i == 1 || !p.is_empty())
}

async fn create(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Answer {
    let account = authenticate(&app, &headers).await?;
    let body = crate::server::read_limited(body, &headers, MAX_BODY, app.api.body_timeout).await.map_err(|e| ApiError::body(e, MAX_BODY))?;
    let now = now();
    let request = parse_create(&body, now).map_err(ApiError::bad_request)?;
    let id = random_id();
    let attempts = app.api.attempts;
    let CreateRequest { label, passcode, exp, flags } = request;
    let stored = (id.clone(), label.clone(), flags.clone());
    blocking(&app, move |store| {
        let (id, label, flags) = stored;
        store.insert_link(&NewLink {
            id: &id,
            passcode: passcode.as_deref().map(String::as_str),
            attempts,
            exp,
            flags: &flags,
            label: label.as_deref(),
            demo: false,
            created: now,
            account: Some(account),
            files: Vec::new(),
        })
    })
    .await?;
    let public = &app.api.public;
    Ok(json_answer(
        StatusCode::CREATED,
        &json!({
            "id": id,
            "url": format!("{public}/shl/{id}"),
            "viewerUrl": format!("{public}/"),
            "label": label,
            "flag": flags,
            "expiresAt": exp,
            "createdAt": now,
        }),
    ))
}

async fn upload(State(app): State<Arc<App>>, Path(id): Path<String>, RawQuery(query): RawQuery, headers: HeaderMap, body: Body) -> Answer {
    let account = authenticate(&app, &headers).await?;
    let content_type = match query.as_deref().and_then(|q| crate::http::query_param(q, "contentType")) {
        None => FHIR_JSON.to_owned(),
        Some(Ok(kind)) if CONTENT_TYPES.contains(&kind.as_str()) => kind,
        Some(_) => return Err(ApiError::bad_request(format!("contentType must be one of {}", CONTENT_TYPES.join(", ")))),
    };
    if !is_id(&id) {
        return Err(ApiError::not_found());
    }
    let limit = app.api.max_upload;
    let body = crate::server::read_limited(body, &headers, limit, app.api.body_timeout).await.map_err(|e| ApiError::body(e, limit))?;
    let jwe = std::str::from_utf8(&body).map(str::trim).unwrap_or("");
    if !is_compact_jwe(jwe) {
        return Err(ApiError::bad_request("the body must be a compact JWE (five base64url parts)"));
    }
    let file = NewFile { content_type, jwe: jwe.to_owned() };
    drop(body);
    let count = blocking(&app, move |store| store.add_file(&id, account, &file, now())).await?;
    match count {
        Some(files) => Ok(json_answer(StatusCode::CREATED, &json!({ "files": files }))),
        None => Err(ApiError::not_found()),
    }
}

async fn list(State(app): State<Arc<App>>, headers: HeaderMap) -> Answer {
    let account = authenticate(&app, &headers).await?;
    let links = blocking(&app, move |store| store.list_links(account)).await?;
    let public = &app.api.public;
    let links: Vec<Value> = links
        .into_iter()
        .map(|link| {
            json!({
                "id": link.id,
                "url": format!("{public}/shl/{}", link.id),
                "label": link.label,
                "flag": link.flags,
                "expiresAt": link.exp,
                "createdAt": link.created,
                "revoked": link.revoked,
                "files": link.files,
                "attemptsLeft": link.flags.contains('P').then_some(link.attempts_left),
                "accesses": link.accesses,
            })
        })
        .collect();
    Ok(json_answer(StatusCode::OK, &json!({ "links": links })))
}

async fn revoke(State(app): State<Arc<App>>, Path(id): Path<String>, headers: HeaderMap) -> Answer {
    let account = authenticate(&app, &headers).await?;
    if !is_id(&id) {
        return Err(ApiError::not_found());
    }
    if blocking(&app, move |store| store.revoke(&id, Some(account))).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found())
    }
}

async fn accesses(State(app): State<Arc<App>>, Path(id): Path<String>, headers: HeaderMap) -> Answer {
    let account = authenticate(&app, &headers).await?;
    if !is_id(&id) {
        return Err(ApiError::not_found());
    }
    let trail = blocking(&app, move |store| store.accesses(&id, account)).await?.ok_or_else(ApiError::not_found)?;
    let accesses: Vec<Value> = trail.into_iter().map(|a| json!({ "recipient": a.recipient, "at": rfc3339(a.at), "outcome": a.outcome })).collect();
    Ok(json_answer(StatusCode::OK, &json!({ "accesses": accesses })))
}

async fn preflight() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, DELETE, OPTIONS"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("Authorization, Content-Type"));
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    response
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not take that method")
}

async fn unknown() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

/// CORS and caching headers on every answer, and the access log line (method,
/// path with ids cut to six characters, status; never headers or bodies).
async fn finish(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let method = request.method().clone();
    let path: String = request
        .uri()
        .path()
        .split('/')
        .enumerate()
        .map(|(n, segment)| match segment.char_indices().nth(6) {
            Some((cut, _)) if n == 3 => format!("{}…", segment.get(..cut).unwrap_or("")),
            _ => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("Retry-After, WWW-Authenticate"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    eprintln!("{method} {path} {}", response.status().as_u16());
    response
}

/// The `/api/` routes.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/api/links", get(list).post(create).options(preflight).fallback(method_not_allowed))
        .route("/api/links/{id}", delete(revoke).options(preflight).fallback(method_not_allowed))
        .route("/api/links/{id}/files", post(upload).options(preflight).fallback(method_not_allowed))
        .route("/api/links/{id}/accesses", get(accesses).options(preflight).fallback(method_not_allowed))
        .route("/api", any(unknown))
        .route("/api/", any(unknown))
        .route("/api/{*rest}", any(unknown))
        .layer(axum::middleware::from_fn(finish))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_request_validation() {
        let now = 1_000;
        assert!(parse_create(b"[]", now).is_err());
        assert!(parse_create(b"{\"label\":1}", now).is_err());
        assert!(parse_create(format!("{{\"label\":\"{}\"}}", "x".repeat(81)).as_bytes(), now).is_err());
        assert!(parse_create(b"{\"passcode\":\"\"}", now).is_err());
        assert!(parse_create(b"{\"expiresAt\":999}", now).is_err());
        assert!(parse_create(b"{\"expiresAt\":1e15}", now).is_err());
        assert!(parse_create(b"{\"flag\":\"U\"}", now).is_err());
        assert!(parse_create(b"{\"flag\":\"P\"}", now).is_err());
        let ok = parse_create(b"{\"passcode\":\"p\",\"flag\":\"L\",\"expiresAt\":2000.5}", now).expect("valid");
        assert_eq!((ok.flags.as_str(), ok.exp), ("LP", Some(2000)));
        assert_eq!(parse_create(b"", now).expect("empty is {}").flags, "");
    }

    #[test]
    fn compact_jwe_shape() {
        assert!(is_compact_jwe("eyJhbGciOiJkaXIifQ..aXY.Y2lwaGVy.dGFn"));
        assert!(!is_compact_jwe("a.b.c.d"));
        assert!(!is_compact_jwe("a..c.d."));
        assert!(!is_compact_jwe("a..c.d+.e"));
    }

    #[test]
    fn account_limit() {
        let limiter = AccountLimiter::new(2);
        assert!(limiter.check(1).is_ok() && limiter.check(1).is_ok());
        assert!(limiter.check(1).is_err_and(|wait| (1..=61).contains(&wait)));
        assert!(limiter.check(2).is_ok());
    }
}
