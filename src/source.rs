//! Source: fetching a sealed record over HTTP. The transport is a trait
//! (`fetch` in the browser, a fake or a loopback client in tests); status
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
    /// The `Authorization` header's value (`Bearer …`), sent only where the
    /// caller decided it may go.
    pub authorization: Option<&'a str>,
}

impl<'a> HttpRequest<'a> {
    pub fn get(url: &'a str, accept: &'a str) -> Self {
        Self { url, accept, json_body: None, authorization: None }
    }

    pub fn post_json(url: &'a str, accept: &'a str, body: &'a [u8]) -> Self {
        Self { url, accept, json_body: Some(body), authorization: None }
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
    /// The host cancelled the work (its `AbortSignal`).
    #[error("opening the record was cancelled")]
    Aborted,
}

/// An HTTP transport.
#[allow(async_fn_in_trait)]
pub trait HttpClient {
    /// Sends `request` (a `GET`, or a `POST` of JSON). Transport failures
    /// (DNS, connection refused, CORS) are `SourceError::Network`; a request
    /// the host cancelled is `SourceError::Aborted`. A client may refuse
    /// early with `SourceError::TooLarge` when `Content-Length` exceeds
    /// `max_bytes`, and must stop reading a body once it passes `max_bytes`.
    /// Redirects are followed by the transport.
    fn send(&self, request: HttpRequest<'_>, max_bytes: usize) -> impl Future<Output = Result<HttpResponse, SourceError>>;

    /// Whether the host has cancelled the work this client serves.
    fn aborted(&self) -> bool {
        false
    }
}

/// The clock and the turns of the event loop that paced work needs,
/// separate from any transport: parsing, consent and the chart are paced
/// with a scheduler alone.
#[allow(async_fn_in_trait)]
pub trait Scheduler {
    /// Waits; `sleep(0)` gives the event loop a turn.
    fn sleep(&self, millis: u32) -> impl Future<Output = ()>;

    /// A monotonic clock in milliseconds, for work that yields to the event
    /// loop every few milliseconds (`None`: never yield, as natively).
    fn now_ms(&self) -> Option<f64> {
        None
    }
}

/// A scheduler that never waits and never yields: paced work runs through
/// in one go (synchronous callers, native code).
#[derive(Debug, Clone, Copy, Default)]
pub struct Immediate;

impl Scheduler for Immediate {
    async fn sleep(&self, _millis: u32) {}
}

/// Runs `future` to completion on this thread. Meant for futures that never
/// wait for anything outside themselves (paced work under [`Immediate`]):
/// such a future completes on its first poll.
pub fn run_now<F: Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Noop;
    impl Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    let waker = Waker::from(std::sync::Arc::new(Noop));
    let mut context = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

/// Splits long work into slices of about `SLICE_MS`, giving the event loop
/// a turn between them so the page stays responsive.
pub(crate) struct Pacer<'a, S: Scheduler> {
    scheduler: &'a S,
    slice_start: std::cell::Cell<Option<f64>>,
    /// The clock read at the last reading, the ticks between two readings,
    /// and the ticks left before the next (see `tick`).
    last_read: std::cell::Cell<f64>,
    stride: std::cell::Cell<u32>,
    countdown: std::cell::Cell<u32>,
}

/// The longest stretch of work between two turns of the event loop.
pub const SLICE_MS: f64 = 12.0;

/// The most ticks between two readings of the clock.
const MAX_STRIDE: u32 = 16;

impl<'a, S: Scheduler> Pacer<'a, S> {
    pub(crate) fn new(scheduler: &'a S) -> Self {
        let now = scheduler.now_ms();
        Self { scheduler, slice_start: now.into(), last_read: now.unwrap_or(0.0).into(), stride: 1.into(), countdown: 0.into() }
    }

    /// Yields if the current slice has run long enough. Reading the clock
    /// (`Date.now()` from WebAssembly) costs about as much as a small step,
    /// so while steps are quick (under a quarter of a millisecond from one
    /// reading to the next) the clock is read every second, fourth, … up to
    /// every 16th tick, and again every tick as soon as steps slow down: a
    /// slice overruns by at most 15 steps.
    pub(crate) async fn tick(&self) {
        let left = self.countdown.get();
        if left > 0 {
            self.countdown.set(left - 1);
            return;
        }
        if let (Some(start), Some(now)) = (self.slice_start.get(), self.scheduler.now_ms()) {
            let stride = self.stride.get();
            let since = now - self.last_read.replace(now);
            let stride = if since < 0.25 {
                (stride * 2).min(MAX_STRIDE)
            } else if since > 1.0 {
                1
            } else {
                stride
            };
            self.stride.set(stride);
            self.countdown.set(stride - 1);
            if now - start >= SLICE_MS {
                self.pause().await;
            }
        }
    }

    /// Yields now.
    pub(crate) async fn pause(&self) {
        if self.slice_start.get().is_some() {
            self.scheduler.sleep(0).await;
            let now = self.scheduler.now_ms();
            self.slice_start.set(now);
            self.last_read.set(now.unwrap_or(0.0));
        }
    }
}

/// A turn of the event loop, awaited between two steps of paced work, as
/// one boxed future type: paced code taking `&mut dyn FnMut() -> Turn` is
/// compiled once rather than once per scheduler.
pub type Turn<'a> = std::pin::Pin<Box<dyn Future<Output = ()> + 'a>>;

/// Limits and retry policy for fetching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchOptions {
    /// Largest body accepted.
    pub max_bytes: usize,
    /// Extra attempts after a network error or a 502/503/504.
    pub retries: u32,
    /// Delay before the first retry; doubled for each further one.
    pub retry_delay_ms: u32,
    /// Also retry the other server errors (500, 505-599; not 501), as a
    /// FHIR server's GETs are.
    pub retry_server_errors: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self { max_bytes: 64 * 1024 * 1024, retries: 2, retry_delay_ms: 300, retry_server_errors: false }
    }
}

fn transient(result: &Result<HttpResponse, SourceError>, options: &FetchOptions) -> bool {
    match result {
        Err(SourceError::Network(_)) => true,
        Ok(r) => matches!(r.status, 502..=504) || (options.retry_server_errors && r.status != 501 && (500..=599).contains(&r.status)),
        Err(_) => false,
    }
}

/// The `Accept` header for JWE downloads.
pub(crate) const ACCEPT_JWE: &str = "application/jose, text/plain;q=0.9, */*;q=0.1";

/// Sends `request`, retrying transient failures (network errors, 502, 503,
/// 504) with doubling backoff. Any answer is returned, whatever its status;
/// a body over the limit is `TooLarge`.
pub async fn send_with_retries<C: HttpClient, S: Scheduler>(
    client: &C,
    sched: &S,
    request: HttpRequest<'_>,
    options: &FetchOptions,
) -> Result<HttpResponse, SourceError> {
    let mut attempt = 0;
    let response = loop {
        let result = client.send(request, options.max_bytes).await;
        if attempt < options.retries && transient(&result, options) {
            sched.sleep(options.retry_delay_ms.saturating_mul(1 << attempt.min(16))).await;
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
/// (leading and trailing ASCII whitespace aside) within the size limit,
/// returned as the body's bytes, untrimmed (all ASCII: no copy into a
/// `String`, whose UTF-8 check would be a second pass over megabytes;
/// [`crate::unseal::unseal_async_owned`] ignores the whitespace). Retries
/// transient failures with backoff.
pub async fn fetch_jwe<C: HttpClient, S: Scheduler>(client: &C, sched: &S, url: &str, options: &FetchOptions) -> Result<Vec<u8>, SourceError> {
    let response = send_with_retries(client, sched, HttpRequest::get(url, ACCEPT_JWE), options).await?;
    if !(200..300).contains(&response.status) {
        return Err(SourceError::Status { status: response.status });
    }
    let pacer = Pacer::new(sched);
    let body = response.body;
    // Checked a megabyte at a time, with turns of the event loop between
    // (the first after the first megabyte: the body arrived in a task of its own).
    for chunk in token(&body)?.chunks(1 << 20) {
        if !jwe_bytes(chunk) {
            return Err(SourceError::NotJwe);
        }
        pacer.tick().await;
    }
    Ok(body)
}

/// Base64url characters and the dot, by byte value.
// Evaluated when compiling: an index out of range fails the build, not a run.
#[allow(clippy::indexing_slicing)]
static JWE_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric() || matches!(b as u8, b'-' | b'_' | b'.');
        b += 1;
    }
    table
};

/// Whether `bytes` are all base64url characters or dots: a lookup per
/// byte, without a branch per byte.
fn jwe_bytes(bytes: &[u8]) -> bool {
    bytes.iter().fold(true, |ok, &b| ok & JWE_BYTES.get(usize::from(b)).copied().unwrap_or(false))
}

/// The token in a body (its leading and trailing ASCII whitespace aside),
/// unless there is none.
fn token(body: &[u8]) -> Result<&[u8], SourceError> {
    Some(body.trim_ascii()).filter(|text| !text.is_empty()).ok_or(SourceError::NotJwe)
}

/// The body as a compact JWE token: only base64url and dots (leading and
/// trailing ASCII whitespace aside), returned untrimmed as [`fetch_jwe`] does.
pub(crate) fn jwe_text(body: Vec<u8>) -> Result<Vec<u8>, SourceError> {
    if !jwe_bytes(token(&body)?) {
        return Err(SourceError::NotJwe);
    }
    Ok(body)
}

/// How long to wait after a `429` before asking again: `Ok(ms)` when the
/// wait is allowed (fewer than `max_waits` so far, and at most
/// `max_wait_ms`; 1 s when the server did not say), else `Err` with the
/// seconds the server asked for, if it said.
pub(crate) fn rate_limit_wait(retry_after: Option<&str>, now: i64, waited: u32, max_waits: u32, max_wait_ms: u32) -> Result<u32, Option<u64>> {
    let wait = retry_after_ms(retry_after, now);
    let wait_ms = wait.unwrap_or(1000);
    if waited < max_waits && wait_ms <= u64::from(max_wait_ms) {
        Ok(wait_ms as u32)
    } else {
        Err(wait.map(|ms| ms.div_ceil(1000)))
    }
}

/// `Retry-After` in milliseconds: delta-seconds or an HTTP date.
pub(crate) fn retry_after_ms(header: Option<&str>, now: i64) -> Option<u64> {
    let header = header?.trim();
    if let Ok(seconds) = header.parse::<u64>() {
        return Some(seconds.saturating_mul(1000));
    }
    let date = crate::fhir::OffsetDateTime::parse_rfc2822(header)?;
    Some((date.timestamp() - now).max(0) as u64 * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A clock the test moves, counting its readings and the turns given.
    struct Clock {
        now: std::cell::Cell<f64>,
        reads: std::cell::Cell<u32>,
        turns: std::cell::RefCell<Vec<f64>>,
    }

    impl Scheduler for Clock {
        async fn sleep(&self, _millis: u32) {
            self.turns.borrow_mut().push(self.now.get());
        }
        fn now_ms(&self) -> Option<f64> {
            self.reads.set(self.reads.get() + 1);
            Some(self.now.get())
        }
    }

    #[test]
    fn the_pacer_reads_the_clock_less_often_while_steps_are_quick_and_every_step_once_they_slow() {
        let clock = Clock { now: 0.0.into(), reads: 0.into(), turns: Vec::new().into() };
        let pacer = Pacer::new(&clock);
        // Quick steps: 10 µs each, 100 ms in all.
        let (mut last_turn, mut longest) = (0.0, 0.0f64);
        for _ in 0..10_000 {
            clock.now.set(clock.now.get() + 0.01);
            pollster::block_on(pacer.tick());
            if let Some(&at) = clock.turns.borrow().last() {
                if at > last_turn {
                    longest = longest.max(at - last_turn);
                    last_turn = at;
                }
            }
        }
        assert!(clock.reads.get() < 10_000 / 8, "{} readings for 10,000 quick steps", clock.reads.get());
        let turns = clock.turns.borrow().len();
        assert!((7..=9).contains(&turns), "{turns} turns in 100 ms");
        assert!(longest <= SLICE_MS + 16.0 * 0.01 + 1e-9, "a slice of {longest} ms");
        // Then slow steps of 3 ms: a turn at least every five steps (12 ms),
        // at most one stride of quick reckoning late.
        let (start, before) = (clock.now.get(), clock.turns.borrow().len());
        let mut since_turn = 0.0f64;
        let mut longest = 0.0f64;
        for _ in 0..100 {
            clock.now.set(clock.now.get() + 3.0);
            since_turn += 3.0;
            let turns = clock.turns.borrow().len();
            pollster::block_on(pacer.tick());
            if clock.turns.borrow().len() > turns {
                longest = longest.max(since_turn);
                since_turn = 0.0;
            }
        }
        assert!(clock.now.get() - start >= 300.0 && clock.turns.borrow().len() - before >= 20, "{} turns in 300 ms", clock.turns.borrow().len() - before);
        assert!(longest <= SLICE_MS + 16.0 * 3.0, "a slice of {longest} ms after the slow-down");
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(retry_after_ms(Some(" 3 "), 0), Some(3000));
        let now = crate::fhir::OffsetDateTime::parse_rfc2822("Sun, 06 Nov 1994 08:49:37 GMT").unwrap().timestamp();
        assert_eq!(retry_after_ms(Some("Sun, 06 Nov 1994 08:49:39 GMT"), now), Some(2000));
        assert_eq!(retry_after_ms(Some("Sun, 06 Nov 1994 08:49:30 GMT"), now), Some(0));
        assert_eq!(retry_after_ms(Some("soon"), now), None);
        assert_eq!(retry_after_ms(None, now), None);
    }

    #[test]
    fn rate_limit_waits_are_bounded() {
        assert_eq!(rate_limit_wait(Some("3"), 0, 0, 2, 30_000), Ok(3000));
        assert_eq!(rate_limit_wait(None, 0, 1, 2, 30_000), Ok(1000));
        assert_eq!(rate_limit_wait(Some("3"), 0, 2, 2, 30_000), Err(Some(3)));
        assert_eq!(rate_limit_wait(Some("3600"), 0, 0, 2, 30_000), Err(Some(3600)));
        assert_eq!(rate_limit_wait(None, 0, 0, 0, 30_000), Err(None));
    }
}
