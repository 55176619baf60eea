//! The SMART Health Links viewer protocol: manifest `POST`, `U`-flag `GET`,
//! `.files.location` downloads, passcode, inactive-link and rate-limit
//! answers (HL7 SHL IG, "SMART Health Link Manifest Request" onwards).

use serde_json::Value;
use zeroize::Zeroizing;

use super::link::{url_allowed, Link};
use super::ShlError;
use crate::error::Error;
use crate::source::rate_limit_wait;
use crate::source::{jwe_text, send_with_retries, FetchOptions, HttpClient, HttpRequest, HttpResponse, Scheduler, SourceError, ACCEPT_JWE};

/// What a viewer sends and how patient it is.
#[derive(Debug, Clone)]
pub struct ResolveOptions {
    /// Who is viewing: shown to the sharer (required, non-empty).
    pub recipient: String,
    /// The passcode, for `P` links.
    pub passcode: Option<Zeroizing<String>>,
    /// Asks the host to embed files up to this many characters.
    pub embedded_length_max: Option<u64>,
    pub fetch: FetchOptions,
    /// How many `429 Too Many Requests` answers are waited out.
    pub rate_limit_retries: u32,
    /// The longest single wait a `Retry-After` may ask for, in milliseconds;
    /// a longer one ends the attempt with `RateLimited`.
    pub max_wait_ms: u32,
}

impl ResolveOptions {
    pub fn new(recipient: impl Into<String>) -> Self {
        Self {
            recipient: recipient.into(),
            passcode: None,
            embedded_length_max: None,
            fetch: FetchOptions::default(),
            rate_limit_retries: 2,
            max_wait_ms: 30_000,
        }
    }
}

/// How a file reached the viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// `files[].embedded` in the manifest.
    Embedded,
    /// Downloaded from `files[].location`.
    Location,
    /// The `U`-flag file itself.
    Direct,
}

impl Delivery {
    pub fn name(self) -> &'static str {
        match self {
            Delivery::Embedded => "embedded",
            Delivery::Location => "location",
            Delivery::Direct => "direct",
        }
    }
}

/// An encrypted file of the link.
#[derive(Debug, Clone)]
pub struct SharedFile {
    /// From the manifest (`None` for a `U` file: its JWE `cty` tells).
    pub content_type: Option<String>,
    /// The compact JWE's text as bytes: a fetched body keeps any leading or
    /// trailing ASCII whitespace, which [`crate::unseal::unseal_async_owned`] ignores.
    pub jwe: Vec<u8>,
    pub delivery: Delivery,
}

/// A manifest entry the viewer did not open, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedFile {
    pub content_type: String,
    pub reason: SkipReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// `status: "no-longer-valid"`.
    NoLongerValid,
    /// `application/smart-api-access`: the SDK does not use access tokens.
    ApiAccessNotFollowed,
    /// A content type this SDK does not open.
    UnsupportedType,
}

impl SkipReason {
    pub fn name(self) -> &'static str {
        match self {
            SkipReason::NoLongerValid => "noLongerValid",
            SkipReason::ApiAccessNotFollowed => "apiAccessNotFollowed",
            SkipReason::UnsupportedType => "unsupportedType",
        }
    }
}

/// The files a link resolved to.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    pub files: Vec<SharedFile>,
    pub skipped: Vec<SkippedFile>,
}

pub(crate) const FHIR_JSON: &str = "application/fhir+json";
pub(crate) const HEALTH_CARD: &str = "application/smart-health-card";
pub(crate) const API_ACCESS: &str = "application/smart-api-access";

/// A media type's essence, lower-cased (`Application/FHIR+JSON; fhirVersion=4.0` → `application/fhir+json`).
pub(crate) fn essence(media_type: &str) -> String {
    media_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// Percent-encodes a query value (RFC 3986 unreserved characters kept).
fn query_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Sends a link request, waiting out `429` answers within the limits, and
/// maps the statuses every link request shares: `404` inactive, `401`
/// passcode, `429` rate limited, other non-2xx `SourceError::Status`.
async fn link_request<C: HttpClient, S: Scheduler>(
    client: &C,
    sched: &S,
    request: HttpRequest<'_>,
    options: &ResolveOptions,
    now: i64,
) -> Result<HttpResponse, Error> {
    // A manifest POST with a passcode may spend one of the link's lifetime
    // attempts each time it reaches the host: it is sent once, never
    // retried (not after a network error, a 502-504 or a 429).
    let spends_attempt = request.json_body.is_some() && options.passcode.as_ref().is_some_and(|p| !p.is_empty());
    let fetch = FetchOptions { retries: if spends_attempt { 0 } else { options.fetch.retries }, ..options.fetch };
    let mut waits = 0;
    loop {
        let response = send_with_retries(client, sched, request, &fetch).await?;
        match response.status {
            200..=299 => return Ok(response),
            401 => {
                let remaining_attempts = crate::fhir::value::parse(&response.body)
                    .ok()
                    .and_then(|v| v.get("remainingAttempts").and_then(Value::as_u64))
                    .map(|n| n.min(u32::MAX as u64) as u32);
                let sent = options.passcode.as_ref().is_some_and(|p| !p.is_empty());
                return Err(if sent { ShlError::PasscodeWrong { remaining_attempts } } else { ShlError::PasscodeRequired { remaining_attempts } }.into());
            }
            404 => return Err(ShlError::Inactive.into()),
            429 => {
                let max_waits = if spends_attempt { 0 } else { options.rate_limit_retries };
                match rate_limit_wait(response.retry_after.as_deref(), now, waits, max_waits, options.max_wait_ms) {
                    Ok(wait_ms) => {
                        sched.sleep(wait_ms).await;
                        waits += 1;
                    }
                    Err(retry_after_secs) => return Err(ShlError::RateLimited { retry_after_secs }.into()),
                }
            }
            status => return Err(SourceError::Status { status }.into()),
        }
    }
}

/// One manifest entry.
enum Entry {
    Embedded(String, String),
    Location(String, String),
    Skipped(SkippedFile),
}

fn parse_manifest(body: &[u8]) -> Result<Vec<Entry>, ShlError> {
    let manifest: Value = crate::fhir::value::parse(body).map_err(|_| ShlError::BadManifest("it is not JSON"))?;
    let manifest = manifest.as_object().ok_or(ShlError::BadManifest("it is not a JSON object"))?;
    let files = match manifest.get("files") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(files)) => files,
        Some(_) => return Err(ShlError::BadManifest("\"files\" is not a list")),
    };
    files
        .iter()
        .map(|file| {
            let content_type = file.get("contentType").and_then(Value::as_str).ok_or(ShlError::BadManifest("a file has no \"contentType\""))?;
            let kind = essence(content_type);
            let skip = |reason| Ok(Entry::Skipped(SkippedFile { content_type: crate::unseal::clip(&kind), reason }));
            if file.get("status").and_then(Value::as_str) == Some("no-longer-valid") {
                return skip(SkipReason::NoLongerValid);
            }
            match kind.as_str() {
                FHIR_JSON | HEALTH_CARD => {}
                API_ACCESS => return skip(SkipReason::ApiAccessNotFollowed),
                _ => return skip(SkipReason::UnsupportedType),
            }
            if let Some(embedded) = file.get("embedded").and_then(Value::as_str) {
                return Ok(Entry::Embedded(kind, embedded.trim().to_string()));
            }
            match file.get("location").and_then(Value::as_str) {
                Some(location) if url_allowed(location) => Ok(Entry::Location(kind, location.to_string())),
                Some(_) => Err(ShlError::BadManifest("a file's \"location\" is not an https URL")),
                None => Err(ShlError::BadManifest("a file has neither \"embedded\" nor \"location\"")),
            }
        })
        .collect()
}

/// Reads a manifest body as [`resolve`] does and says how many files it
/// lists (opened or skipped). For fuzzing and tests: the entries themselves
/// stay private.
#[doc(hidden)]
pub fn read_manifest(body: &[u8]) -> Result<usize, ShlError> {
    parse_manifest(body).map(|entries| entries.len())
}

/// The manifest request body, built as text so the passcode can be wiped.
fn manifest_body(options: &ResolveOptions) -> Zeroizing<Vec<u8>> {
    let quote = crate::fhir::value::quoted;
    let mut body = Zeroizing::new(format!("{{\"recipient\":{}", quote(&options.recipient)));
    if let Some(passcode) = &options.passcode {
        let quoted = Zeroizing::new(quote(passcode));
        body.push_str(",\"passcode\":");
        body.push_str(&quoted);
    }
    if let Some(max) = options.embedded_length_max {
        body.push_str(&format!(",\"embeddedLengthMax\":{max}"));
    }
    body.push('}');
    Zeroizing::new(body.as_bytes().to_vec())
}

/// Resolves `link` to its encrypted files. Checks expiry and the passcode
/// requirement before any request. Location URLs that have been used up or
/// have expired (`401`, `403`, `404`, `410`) are renewed once by asking for
/// the manifest again, as the spec requires viewers to be able to.
pub async fn resolve<C: HttpClient, S: Scheduler>(client: &C, sched: &S, link: &Link, options: &ResolveOptions, now: i64) -> Result<Resolved, Error> {
    if options.recipient.trim().is_empty() {
        return Err(Error::BadInput("a recipient (who is viewing) is required to open a SMART Health Link".into()));
    }
    if let Some(exp) = link.exp.filter(|_| link.is_expired(now)) {
        return Err(ShlError::Expired { exp }.into());
    }
    if link.flags.passcode && options.passcode.as_ref().is_none_or(|p| p.is_empty()) {
        return Err(ShlError::PasscodeRequired { remaining_attempts: None }.into());
    }
    if link.flags.direct {
        let separator = if link.url.contains('?') { '&' } else { '?' };
        let url = format!("{}{separator}recipient={}", link.url, query_escape(&options.recipient));
        let response = link_request(client, sched, HttpRequest::get(&url, ACCEPT_JWE), options, now).await?;
        let jwe = jwe_text(response.body)?;
        return Ok(Resolved { files: vec![SharedFile { content_type: None, jwe, delivery: Delivery::Direct }], skipped: Vec::new() });
    }

    let body = manifest_body(options);
    let mut done: Vec<Option<SharedFile>> = Vec::new();
    let mut skipped = Vec::new();
    for renewal in 0..2 {
        let response = link_request(client, sched, HttpRequest::post_json(&link.url, "application/json", &body), options, now).await?;
        let entries = parse_manifest(&response.body)?;
        done.resize(entries.len().max(done.len()), None);
        skipped.clear();
        let mut stale = false;
        for (entry, slot) in entries.into_iter().zip(done.iter_mut()) {
            match entry {
                Entry::Skipped(s) => skipped.push(s),
                _ if slot.is_some() => {}
                Entry::Embedded(content_type, jwe) => {
                    *slot = Some(SharedFile { content_type: Some(content_type), jwe: jwe.into_bytes(), delivery: Delivery::Embedded });
                }
                Entry::Location(content_type, url) => {
                    let response = send_with_retries(client, sched, HttpRequest::get(&url, ACCEPT_JWE), &options.fetch).await?;
                    match response.status {
                        200..=299 => {
                            let jwe = jwe_text(response.body)?;
                            *slot = Some(SharedFile { content_type: Some(content_type), jwe, delivery: Delivery::Location });
                        }
                        401 | 403 | 404 | 410 if renewal == 0 => {
                            stale = true;
                            break;
                        }
                        status => return Err(SourceError::Status { status }.into()),
                    }
                }
            }
        }
        if !stale {
            break;
        }
    }
    let files: Vec<SharedFile> = done.into_iter().flatten().collect();
    if files.is_empty() && skipped.is_empty() {
        return Err(ShlError::NoFiles.into());
    }
    Ok(Resolved { files, skipped })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_escaped() {
        assert_eq!(query_escape("Dr. Ana & Co/…"), "Dr.%20Ana%20%26%20Co%2F%E2%80%A6");
    }

    #[test]
    fn manifest_body_carries_what_was_given() {
        let mut options = ResolveOptions::new("Dr \"A\"");
        assert_eq!(&**manifest_body(&options), br#"{"recipient":"Dr \"A\""}"#);
        options.passcode = Some(Zeroizing::new("12 34".into()));
        options.embedded_length_max = Some(0);
        assert_eq!(&**manifest_body(&options), br#"{"recipient":"Dr \"A\"","passcode":"12 34","embeddedLengthMax":0}"#);
    }
}
