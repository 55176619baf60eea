//! A FHIR R4 server as a record source (SMART on FHIR patient access): the
//! patient's records read with `Patient/$everything` where the server offers
//! it, else with one search per type (US Core), pages followed to the end,
//! checked page by page, and merged into one [`Record`].
//!
//! The host owns OAuth: [`AccessTokens`] hands a bearer token for each
//! request, and a fresh one once after a `401`. The token goes only to URLs
//! under the base URL (same scheme, host, port and path prefix); a `next`
//! link elsewhere is not followed at all and the open fails (`format`),
//! since a partial record must not pass for the whole one.

mod page;
mod plan;

use crate::util::TextSet;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use serde_json::Value;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::fhir::Record;
use crate::pipeline::{Loaded, RecordSource, Stage};
use crate::source::{rate_limit_wait, send_with_retries, FetchOptions, HttpClient, HttpRequest, Pacer, Scheduler, SourceError};

pub use page::{belongs_to_other_patient, Issue};
pub use plan::{Capabilities, Query};

/// The `Accept` header of every request.
pub const ACCEPT_FHIR: &str = "application/fhir+json, application/json;q=0.9";

/// Why a FHIR server's record could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerError {
    /// The server refused the token, also after one refresh.
    #[error("the FHIR server refused the access token (also after a refresh)")]
    Unauthorized,
    /// The host's `getAccessToken` failed or gave something that is not a token.
    #[error("getAccessToken did not give a bearer token")]
    NoToken,
    /// The server answered an error with an `OperationOutcome`.
    #[error("the FHIR server answered {status}: {}", issues_text(.issues))]
    Outcome { status: u16, issues: Vec<Issue> },
    /// A page that is not a Bundle (nor an OperationOutcome).
    #[error("the FHIR server's answer is not a Bundle")]
    NotBundle,
    /// A resource that belongs to another patient.
    #[error("the FHIR server's answer holds a resource of another patient; nothing of it was kept")]
    WrongPatient,
    /// A `next` link outside the base URL: not followed.
    #[error("the FHIR server's next link leads outside baseUrl ({origin}); it was not followed and nothing partial was kept")]
    OffBase { origin: String },
    /// More resources or pages than allowed.
    #[error("the record has more than {limit} {what}")]
    TooMany { what: &'static str, limit: usize },
    /// Still rate limited after the waits allowed.
    #[error("the FHIR server kept answering 429 (too many requests)")]
    RateLimited { retry_after_secs: Option<u64> },
}

fn issues_text(issues: &[Issue]) -> String {
    if issues.is_empty() {
        return "an OperationOutcome without issues".into();
    }
    issues.iter().map(Issue::to_string).collect::<Vec<_>>().join("; ")
}

/// Where and how to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FhirOptions {
    /// The server's base URL (https, or http on loopback), without a trailing slash.
    pub base_url: String,
    /// The patient's logical id.
    pub patient: String,
    /// `_count` asked for each page.
    pub page_size: u32,
    /// Largest number of distinct resources.
    pub max_resources: usize,
    /// Largest number of bytes over all answers, counted as they arrive.
    pub max_bytes: usize,
    /// Largest number of pages over all searches.
    pub max_pages: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Extra attempts after a network error or a 5xx.
    pub retries: u32,
    /// Delay before the first retry; doubled for each further one.
    pub retry_delay_ms: u32,
    /// How many `429` answers are waited out per request.
    pub rate_limit_waits: u32,
    /// The longest `Retry-After` waited out.
    pub max_wait_ms: u32,
    /// The current time in epoch seconds (for `Retry-After` dates).
    pub now: i64,
}

impl FhirOptions {
    /// Options for `patient` on the server at `base_url`, checked: the URL must
    /// be absolute `https` (or `http` on loopback) without user, query or
    /// fragment; the id a FHIR id (`[A-Za-z0-9-.]{1,64}`).
    pub fn new(base_url: &str, patient: &str, now: i64) -> Result<Self, Error> {
        let base = base_url.trim().trim_end_matches('/');
        if !crate::shl::url_allowed(base) || base.contains(['?', '#']) || base.contains('\\') {
            return Err(Error::BadInput("baseUrl must be an absolute https URL (http only on loopback) without user, query or fragment".into()));
        }
        if base.split('/').skip(3).any(|s| s == "." || s == ".." || s.to_ascii_lowercase().contains("%2e")) {
            return Err(Error::BadInput("baseUrl must not contain dot segments".into()));
        }
        if patient.is_empty() || patient.len() > 64 || !patient.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') {
            return Err(Error::BadInput("patient must be a FHIR id: 1 to 64 letters, digits, '-' or '.'".into()));
        }
        Ok(Self {
            base_url: base.to_string(),
            patient: patient.to_string(),
            page_size: 200,
            max_resources: 100_000,
            max_bytes: 256 * 1024 * 1024,
            max_pages: 2_000,
            concurrency: 4,
            retries: 2,
            retry_delay_ms: 300,
            rate_limit_waits: 3,
            max_wait_ms: 30_000,
            now,
        })
    }

    /// Whether `url` is under the base URL: the same scheme, host and port
    /// (compared as written, case aside) and the base's path as a prefix
    /// that ends at a segment, with no dot segments after it.
    pub fn is_under_base(&self, url: &str) -> bool {
        let Some(rest) = url.get(..self.base_url.len()).filter(|head| head.eq_ignore_ascii_case(&self.base_url)).and(url.get(self.base_url.len()..)) else {
            return false;
        };
        if !(rest.is_empty() || rest.starts_with('/') || rest.starts_with('?')) {
            return false;
        }
        if rest.chars().any(|c| c.is_whitespace() || c.is_control() || c == '\\' || c == '#') {
            return false;
        }
        let path = rest.split('?').next().unwrap_or_default();
        !path.split('/').any(|s| s == "." || s == ".." || s.to_ascii_lowercase().contains("%2e"))
    }
}

/// The scheme, host and port of `url`, for messages (never its path or query).
pub fn origin_of(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "another address".into();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    crate::unseal::clip(&format!("{scheme}://{authority}"))
}

/// Bearer tokens for the server, from the host (which owns OAuth).
#[allow(async_fn_in_trait)]
pub trait AccessTokens {
    /// A token (`None`: the server is open, send none); `force_refresh`
    /// when the last one was refused with a `401`.
    async fn token(&self, force_refresh: bool) -> Result<Option<Zeroizing<String>>, ServerError>;
}

/// How far fetching has come, for progress reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchCounts {
    /// Pages (and single reads) received.
    pub pages: usize,
    /// Distinct resources received.
    pub resources: usize,
    /// What the servers' `Bundle.total`s add up to, once every search in flight has said.
    pub total: Option<u64>,
}

/// What was done to read the record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchReport {
    /// `true`: `Patient/$everything`; `false`: searches per type.
    pub everything: bool,
    /// Requests sent (retries included).
    pub requests: usize,
    pub pages: usize,
    pub resources: usize,
    /// Bytes received.
    pub bytes: usize,
    /// Optional searches the server refused (type and status), skipped.
    pub skipped: Vec<(String, u16)>,
}

/// Capability statements already read, by base URL.
pub type CapabilityCache = RefCell<Vec<(String, Capabilities)>>;

/// A FHIR R4 server as a [`RecordSource`].
pub struct FhirServer<'a, C, T> {
    pub client: &'a C,
    pub tokens: &'a T,
    pub options: &'a FhirOptions,
    pub cache: &'a CapabilityCache,
    /// Called after every page.
    pub on_fetch: &'a RefCell<dyn FnMut(FetchCounts) + 'a>,
    /// Filled in as the record is read.
    pub report: &'a RefCell<FetchReport>,
}

/// One resource as received, with where it came from (for a stable order).
struct Received {
    order: (usize, usize, usize),
    key: Option<String>,
    full_url: String,
    resource: Value,
}

/// What the concurrent searches share.
#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    keys: TextSet,
    pages: usize,
    bytes: usize,
    /// `Bundle.total` of each query's first page, by query index (a list: one map type less in the module).
    totals: Vec<(usize, Option<u64>)>,
    error: Option<Error>,
}

impl<C: HttpClient, T: AccessTokens> RecordSource for FhirServer<'_, C, T> {
    async fn load<S: Scheduler>(&self, sched: &S, progress: &mut dyn FnMut(Stage)) -> Result<Loaded, Error> {
        progress(Stage::Fetch);
        let capabilities = self.capabilities(sched).await?;
        let shared = RefCell::new(Shared::default());
        let mut everything = capabilities.everything;
        if everything {
            let query = Query::everything(self.options);
            match self.run_query(sched, &shared, 0, &query).await {
                Ok(()) => {}
                // Announced but not there: searches instead.
                Err(e) if matches!(e.status(), Some(400 | 404 | 405 | 501)) => {
                    everything = false;
                    shared.replace(Shared::default());
                }
                Err(e) => return Err(e),
            }
        }
        if !everything {
            let queries = plan::searches(self.options, &capabilities);
            self.run_all(sched, &shared, &queries).await?;
        }
        let mut shared = shared.into_inner();
        if !shared.keys.contains(&format!("Patient/{}", self.options.patient)) {
            self.read_patient(sched, &mut shared).await?;
        }
        {
            let mut report = self.report.borrow_mut();
            report.everything = everything;
            report.pages = shared.pages;
            report.bytes = shared.bytes;
            report.resources = shared.keys.len();
        }
        if self.client.aborted() {
            return Err(SourceError::Aborted.into());
        }
        progress(Stage::Parse);
        let record = self.record(sched, shared.received).await?;
        progress(Stage::Ready);
        Ok(Loaded { record, link: None })
    }
}

/// The transport, counting every request sent (retries included).
struct Counted<'a, C> {
    client: &'a C,
    report: &'a RefCell<FetchReport>,
}

impl<C: HttpClient> HttpClient for Counted<'_, C> {
    async fn send(&self, request: HttpRequest<'_>, max_bytes: usize) -> Result<crate::source::HttpResponse, SourceError> {
        self.report.borrow_mut().requests += 1;
        self.client.send(request, max_bytes).await
    }

    fn aborted(&self) -> bool {
        self.client.aborted()
    }
}

/// Polls every future until all are done (requests in flight at once on
/// one thread).
struct JoinAll<'a> {
    futures: Vec<Option<Pin<Box<dyn Future<Output = ()> + 'a>>>>,
}

impl Future for JoinAll<'_> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut pending = false;
        for slot in self.futures.iter_mut() {
            if let Some(future) = slot {
                if future.as_mut().poll(cx).is_ready() {
                    *slot = None;
                } else {
                    pending = true;
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }
}

impl<C: HttpClient, T: AccessTokens> FhirServer<'_, C, T> {
    /// The server's capabilities, from its `metadata` (cached per base URL).
    /// A server without a usable CapabilityStatement is searched type by type.
    async fn capabilities<S: Scheduler>(&self, sched: &S) -> Result<Capabilities, Error> {
        if let Some((_, known)) = self.cache.borrow().iter().find(|(url, _)| *url == self.options.base_url) {
            return Ok(known.clone());
        }
        let url = format!("{}/metadata", self.options.base_url);
        let capabilities = match self.get(sched, &url, 1024 * 1024).await {
            Ok(body) => Capabilities::read(&body),
            Err(e @ (Error::Fhir(ServerError::Unauthorized | ServerError::NoToken) | Error::Source(SourceError::Aborted))) => return Err(e),
            Err(_) => None,
        };
        let Some(capabilities) = capabilities else {
            return Ok(Capabilities::default());
        };
        let mut cache = self.cache.borrow_mut();
        cache.retain(|(url, _)| *url != self.options.base_url);
        cache.push((self.options.base_url.clone(), capabilities.clone()));
        Ok(capabilities)
    }

    /// Runs `queries`, a bounded number at a time.
    async fn run_all<S: Scheduler>(&self, sched: &S, shared: &RefCell<Shared>, queries: &[Query]) -> Result<(), Error> {
        let next = &Cell::new(0usize);
        let worker = move || async move {
            loop {
                let i = next.get();
                let Some(query) = queries.get(i) else { return };
                next.set(i + 1);
                if shared.borrow().error.is_some() {
                    return;
                }
                match self.run_query(sched, shared, i, query).await {
                    Ok(()) => {}
                    Err(e) => match optional_refusal(query, &e) {
                        Some(status) => self.report.borrow_mut().skipped.push((query.resource_type.to_string(), status)),
                        None => {
                            let mut shared = shared.borrow_mut();
                            if shared.error.is_none() {
                                shared.error = Some(e);
                            }
                            return;
                        }
                    },
                }
            }
        };
        let workers = self.options.concurrency.clamp(1, 8);
        JoinAll { futures: (0..workers).map(|_| Some(Box::pin(worker()) as Pin<Box<dyn Future<Output = ()> + '_>>)).collect() }.await;
        match shared.borrow_mut().error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Every page of one query, in order.
    async fn run_query<S: Scheduler>(&self, sched: &S, shared: &RefCell<Shared>, index: usize, query: &Query) -> Result<(), Error> {
        let mut url = query.url.clone();
        let pacer = Pacer::new(sched);
        let mut page_number = 0;
        loop {
            if shared.borrow().error.is_some() {
                return Ok(());
            }
            {
                let mut shared = shared.borrow_mut();
                if shared.pages >= self.options.max_pages {
                    return Err(ServerError::TooMany { what: "pages", limit: self.options.max_pages }.into());
                }
                shared.pages += 1;
            }
            let remaining = self.options.max_bytes.saturating_sub(shared.borrow().bytes);
            let body = self.get(sched, &url, remaining).await?;
            self.count_bytes(shared, body.len())?;
            pacer.pause().await;
            let page = page::read_page(&body, self.options, sched).await?;
            drop(body);
            if page_number == 0 {
                let totals = &mut shared.borrow_mut().totals;
                match totals.iter_mut().find(|t| t.0 == index) {
                    Some(t) => t.1 = page.total,
                    None => totals.push((index, page.total)),
                }
            }
            for (position, entry) in page.entries.into_iter().enumerate() {
                self.keep(shared, Received { order: (index, page_number, position), key: entry.key, full_url: entry.full_url, resource: entry.resource })?;
                pacer.tick().await;
            }
            self.report_progress(shared);
            match page.next {
                None => return Ok(()),
                Some(next) if self.options.is_under_base(&next) => url = next,
                Some(next) => return Err(ServerError::OffBase { origin: origin_of(&next) }.into()),
            }
            page_number += 1;
        }
    }

    /// Reads the Patient resource itself (searches do not return it).
    async fn read_patient<S: Scheduler>(&self, sched: &S, shared: &mut Shared) -> Result<(), Error> {
        let url = format!("{}/Patient/{}", self.options.base_url, self.options.patient);
        let remaining = self.options.max_bytes.saturating_sub(shared.bytes);
        let body = self.get(sched, &url, remaining).await?;
        shared.bytes += body.len();
        shared.pages += 1;
        let patient = page::read_patient(&body, self.options)?;
        shared.keys.insert(format!("Patient/{}", self.options.patient));
        shared.received.push(Received { order: (0, 0, 0), key: Some(format!("Patient/{}", self.options.patient)), full_url: url, resource: patient });
        Ok(())
    }

    fn keep(&self, shared: &RefCell<Shared>, received: Received) -> Result<(), Error> {
        let mut shared = shared.borrow_mut();
        if let Some(key) = &received.key {
            if shared.keys.insert(key.clone()) && shared.keys.len() > self.options.max_resources {
                return Err(ServerError::TooMany { what: "resources", limit: self.options.max_resources }.into());
            }
        }
        shared.received.push(received);
        Ok(())
    }

    fn count_bytes(&self, shared: &RefCell<Shared>, len: usize) -> Result<(), Error> {
        let mut shared = shared.borrow_mut();
        shared.bytes = shared.bytes.saturating_add(len);
        if shared.bytes > self.options.max_bytes {
            return Err(SourceError::TooLarge { limit: self.options.max_bytes }.into());
        }
        Ok(())
    }

    fn report_progress(&self, shared: &RefCell<Shared>) {
        let counts = {
            let shared = shared.borrow();
            let total = if shared.totals.iter().all(|t| t.1.is_some()) && !shared.totals.is_empty() {
                Some(shared.totals.iter().filter_map(|t| t.1).sum())
            } else {
                None
            };
            FetchCounts { pages: shared.pages, resources: shared.keys.len(), total }
        };
        if let Ok(mut callback) = self.on_fetch.try_borrow_mut() {
            callback(counts);
        }
    }

    /// One `GET` under the base URL with the host's token: a `401` gets one
    /// fresh token; `429` is waited out within the bounds; network errors and
    /// server errors are retried with doubling backoff (`send_with_retries`);
    /// other answers that are not 2xx fail (an `OperationOutcome` body as
    /// `fhirError`).
    async fn get<S: Scheduler>(&self, sched: &S, url: &str, max_bytes: usize) -> Result<Vec<u8>, Error> {
        if !self.options.is_under_base(url) {
            return Err(ServerError::OffBase { origin: origin_of(url) }.into());
        }
        let fetch = FetchOptions { max_bytes, retries: self.options.retries, retry_delay_ms: self.options.retry_delay_ms, retry_server_errors: true };
        let client = Counted { client: self.client, report: self.report };
        let (mut refreshed, mut waits) = (false, 0u32);
        loop {
            if self.client.aborted() {
                return Err(SourceError::Aborted.into());
            }
            let token = self.tokens.token(refreshed).await?;
            if token.as_ref().is_some_and(|t| t.is_empty() || !t.bytes().all(|b| b.is_ascii_graphic())) {
                return Err(ServerError::NoToken.into());
            }
            let authorization = token.map(|t| Zeroizing::new(format!("Bearer {}", t.as_str())));
            let request = HttpRequest { url, accept: ACCEPT_FHIR, json_body: None, authorization: authorization.as_deref().map(String::as_str) };
            let result = send_with_retries(&client, sched, request, &fetch).await;
            let authorization_sent = authorization.is_some();
            drop(authorization);
            let response = match result {
                Err(SourceError::TooLarge { .. }) => return Err(SourceError::TooLarge { limit: self.options.max_bytes }.into()),
                Err(e) => return Err(e.into()),
                Ok(response) => response,
            };
            match response.status {
                200..=299 => return Ok(response.body),
                401 if !refreshed && authorization_sent => refreshed = true,
                401 => return Err(ServerError::Unauthorized.into()),
                429 => match rate_limit_wait(response.retry_after.as_deref(), self.options.now, waits, self.options.rate_limit_waits, self.options.max_wait_ms)
                {
                    Ok(wait_ms) => {
                        sched.sleep(wait_ms).await;
                        waits += 1;
                    }
                    Err(retry_after_secs) => return Err(ServerError::RateLimited { retry_after_secs }.into()),
                },
                status => {
                    return Err(match page::outcome_issues(&response.body) {
                        Some(issues) => ServerError::Outcome { status, issues }.into(),
                        None => SourceError::Status { status }.into(),
                    })
                }
            }
        }
    }

    /// The record: resources in a stable order (query, page, position),
    /// each `Type/id` once.
    async fn record<S: Scheduler>(&self, sched: &S, mut received: Vec<Received>) -> Result<Record, Error> {
        // The Patient first, then in the order of the plan.
        let patient_key = format!("Patient/{}", self.options.patient);
        crate::util::sort_by_key(&mut received, |r| (r.key.as_deref() != Some(patient_key.as_str()), r.order));
        let mut seen = TextSet::default();
        let mut kept = Vec::with_capacity(received.len());
        for r in received {
            if r.key.as_ref().is_none_or(|k| seen.insert(k.clone())) {
                kept.push((Some(r.full_url), r.resource));
            }
        }
        Pacer::new(sched).pause().await;
        Ok(Record::from_fetched(kept, "searchset", sched).await?)
    }
}

/// An optional search the server refused (by status): skipped, not fatal.
fn optional_refusal(query: &Query, error: &Error) -> Option<u16> {
    error.status().filter(|status| query.optional && matches!(status, 400 | 403 | 404 | 405 | 501))
}
