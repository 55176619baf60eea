//! Source: fetching a sealed record over HTTP. The transport is a trait
//! (`gloo-net` in the browser, a fake or a loopback client in tests); status
//! handling, retries and size limits live here.

use std::future::Future;

/// What the transport returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub content_type: Option<String>,
    /// The `Retry-After` header, as sent (seconds or an HTTP date).
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
}

/// What the core asks the transport to do: a `GET`, or a `POST` of JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpRequest<'a> {
    pub url: &'a str,
    pub accept: &'a str,
    /// `Some` makes the request a `POST` with `Content-Type: application/json`.
    pub json_body: Option<&'a [u8]>,
}

impl<'a> HttpRequest<'a> {
    pub fn get(url: &'a str, accept: &'a str) -> Self {
        Self { url, accept, json_body: None }
    }

    pub fn post_json(url: &'a str, accept: &'a str, body: &'a [u8]) -> Self {
        Self { url, accept, json_body: Some(body) }
    }
}

/// Why a record could not be fetched. Messages hold the URL's origin and
/// path only when safe: query strings and fragments are never included.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("the record could not be fetched: {0}")]
    Network(String),
    #[error("the server answered {status} for the record")]
    Status { status: u16 },
    #[error("the record is larger than the {limit}-byte download limit")]
    TooLarge { limit: usize },
    #[error("the server's answer is not a compact JWE (text of base64url segments)")]
    NotJwe,
}

/// An HTTP transport.
#[allow(async_fn_in_trait)]
pub trait HttpClient {
    /// Sends `request` (a `GET`, or a `POST` of JSON). Transport failures
    /// (DNS, connection refused, CORS) are `SourceError::Network`. A client
    /// may refuse early with `SourceError::TooLarge` when `Content-Length`
    /// exceeds `max_bytes`. Redirects are followed by the transport.
    fn send(&self, request: HttpRequest<'_>, max_bytes: usize) -> impl Future<Output = Result<HttpResponse, SourceError>>;

    /// Waits before a retry; `sleep(0)` gives the event loop a turn.
    fn sleep(&self, millis: u32) -> impl Future<Output = ()>;

    /// A monotonic clock in milliseconds, for work that yields to the event
    /// loop every few milliseconds (`None`: never yield, as natively).
    fn now_ms(&self) -> Option<f64> {
        None
    }
}

/// Splits long work into slices of about `SLICE_MS`, giving the event loop
/// a turn between them so the page stays responsive.
pub(crate) struct Pacer<'a, C: HttpClient> {
    client: &'a C,
    slice_start: std::cell::Cell<Option<f64>>,
}

/// The longest stretch of work between two turns of the event loop.
pub const SLICE_MS: f64 = 12.0;

impl<'a, C: HttpClient> Pacer<'a, C> {
    pub(crate) fn new(client: &'a C) -> Self {
        Self { client, slice_start: client.now_ms().into() }
    }

    /// Yields if the current slice has run long enough.
    pub(crate) async fn tick(&self) {
        if let (Some(start), Some(now)) = (self.slice_start.get(), self.client.now_ms()) {
            if now - start >= SLICE_MS {
                self.pause().await;
            }
        }
    }

    /// Yields now.
    pub(crate) async fn pause(&self) {
        if self.slice_start.get().is_some() {
            self.client.sleep(0).await;
            self.slice_start.set(self.client.now_ms());
        }
    }
}

/// Limits and retry policy for fetching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchOptions {
    /// Largest body accepted.
    pub max_bytes: usize,
    /// Extra attempts after a network error or a 502/503/504.
    pub retries: u32,
    /// Delay before the first retry; doubled for each further one.
    pub retry_delay_ms: u32,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self { max_bytes: 64 * 1024 * 1024, retries: 2, retry_delay_ms: 300 }
    }
}

pub(crate) fn transient(result: &Result<HttpResponse, SourceError>) -> bool {
    match result {
        Err(SourceError::Network(_)) => true,
        Ok(r) => matches!(r.status, 502..=504),
        Err(_) => false,
    }
}

/// The `Accept` header for JWE downloads.
pub(crate) const ACCEPT_JWE: &str = "application/jose, text/plain;q=0.9, */*;q=0.1";

/// Sends `request`, retrying transient failures (network errors, 502, 503,
/// 504) with doubling backoff. Any answer is returned, whatever its status;
/// a body over the limit is `TooLarge`.
pub async fn send_with_retries<C: HttpClient>(client: &C, request: HttpRequest<'_>, options: &FetchOptions) -> Result<HttpResponse, SourceError> {
    let mut attempt = 0;
    let response = loop {
        let result = client.send(request, options.max_bytes).await;
        if attempt < options.retries && transient(&result) {
            client.sleep(options.retry_delay_ms.saturating_mul(1 << attempt.min(16))).await;
            attempt += 1;
            continue;
        }
        break result?;
    };
    if response.body.len() > options.max_bytes {
        return Err(SourceError::TooLarge { limit: options.max_bytes });
    }
    Ok(response)
}

/// Fetches a compact JWE from `url`: 2xx with a body of base64url segments
/// within the size limit. Retries transient failures with backoff.
pub async fn fetch_jwe<C: HttpClient>(client: &C, url: &str, options: &FetchOptions) -> Result<String, SourceError> {
    let response = send_with_retries(client, HttpRequest::get(url, ACCEPT_JWE), options).await?;
    if !(200..300).contains(&response.status) {
        return Err(SourceError::Status { status: response.status });
    }
    let pacer = Pacer::new(client);
    pacer.pause().await;
    let body = trim(response.body);
    // Checked a megabyte at a time, with turns of the event loop between.
    for chunk in body.chunks(1 << 20) {
        if !chunk.iter().all(|&b| jwe_byte(b)) {
            return Err(SourceError::NotJwe);
        }
        pacer.tick().await;
    }
    token(body)
}

fn jwe_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

/// Strips leading and trailing ASCII whitespace in place.
fn trim(mut body: Vec<u8>) -> Vec<u8> {
    let end = body.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(0, |p| p + 1);
    body.truncate(end);
    let start = body.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(body.len());
    body.drain(..start);
    body
}

/// Checked JWE bytes (base64url and dots only) as text.
fn token(body: Vec<u8>) -> Result<String, SourceError> {
    if body.is_empty() {
        return Err(SourceError::NotJwe);
    }
    String::from_utf8(body).map_err(|_| SourceError::NotJwe)
}

/// The body as a compact JWE token: trimmed, only base64url and dots.
pub(crate) fn jwe_text(body: Vec<u8>) -> Result<String, SourceError> {
    let body = trim(body);
    if !body.iter().all(|&b| jwe_byte(b)) {
        return Err(SourceError::NotJwe);
    }
    token(body)
}
