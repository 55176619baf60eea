//! The pipeline end to end: a [`RecordSource`] (a sealed file, a SMART
//! Health Link, a FHIR server) fetches, decrypts and reads the record; then
//! one paced path screens it for its audience ([`open`]). Rendering is
//! separate (it needs the viewer's date and, in the browser, an element).

use zeroize::Zeroizing;

use crate::consent::{screen_paced, Policy, Screened, Viewer};
use crate::error::Error;
use crate::fhir::{parse_plaintext_paced, Record};
use crate::shl::LinkSource;
use crate::source::{fetch_jwe, run_now, FetchOptions, HttpClient, Immediate, Pacer, Scheduler};
use crate::unseal::{unseal, unseal_async_owned, AsyncCipher, ContentKey, Header, RustCryptoCipher, UnsealOptions};

/// Limits for opening a record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenOptions {
    pub unseal: UnsealOptions,
    pub fetch: FetchOptions,
}

/// A stage of opening, reported to progress callbacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Fetch,
    Decrypt,
    Parse,
    /// Checking SMART Health Card signatures.
    Verify,
    /// Deciding what this viewer may see.
    Consent,
    /// Building the chart (in the browser, while opening).
    Chart,
    Ready,
}

impl Stage {
    /// The name JavaScript sees.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Fetch => "fetch",
            Stage::Decrypt => "decrypt",
            Stage::Parse => "parse",
            Stage::Verify => "verify",
            Stage::Consent => "consent",
            Stage::Chart => "chart",
            Stage::Ready => "ready",
        }
    }
}

/// Content types accepted as FHIR JSON in a JWE `cty` (absent is accepted:
/// real files often omit it).
fn is_fhir_json(cty: &str) -> bool {
    let essence = cty.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    matches!(essence.as_str(), "application/fhir+json" | "application/json" | "json" | "fhir+json")
}

fn check_content_type(header: &Header) -> Result<(), Error> {
    match header.content_type.as_deref() {
        None => Ok(()),
        Some(cty) if is_fhir_json(cty) => Ok(()),
        Some(cty) => Err(Error::UnsupportedContent(crate::unseal::clip(cty))),
    }
}

/// Who a record is opened for: the viewer, the host's policy and the
/// host's Consents (besides those in the record).
#[derive(Debug, Clone, Copy)]
pub struct Audience<'a> {
    pub viewer: &'a Viewer,
    pub policy: &'a Policy,
    pub consents: &'a [serde_json::Value],
}

/// `progress`, without the `ready` stage: for a step whose caller has more
/// to do before the record is ready.
pub fn until_ready(progress: &mut dyn FnMut(Stage)) -> impl FnMut(Stage) + '_ {
    move |stage| {
        if stage != Stage::Ready {
            progress(stage);
        }
    }
}

/// A record as its source delivered it, before consent.
#[derive(Debug, Default)]
pub struct Loaded {
    pub record: Record,
    /// Where a SMART Health Link's record came from.
    pub link: Option<LinkSource>,
}

/// A record screened for its audience.
#[derive(Debug)]
pub struct Opened {
    pub screened: Screened,
    pub link: Option<LinkSource>,
}

/// Where a record comes from. Each source fetches (with its own transport),
/// decrypts and reads its documents into one [`Record`], pacing its long
/// steps with `sched`, and reports its stages up to `parse` (or `verify`);
/// [`open`] does the rest the same way for all.
#[allow(async_fn_in_trait)]
pub trait RecordSource {
    async fn load<S: Scheduler>(&self, sched: &S, progress: &mut dyn FnMut(Stage)) -> Result<Loaded, Error>;
}

/// Opens `source` for `audience`: load, then consent (a resource at a time,
/// with turns of the event loop), then `ready`. The one path every source
/// and every caller (the synchronous `openJwe` too, with [`Immediate`]) goes through.
pub async fn open<R: RecordSource, S: Scheduler>(source: &R, sched: &S, audience: Audience<'_>, progress: &mut dyn FnMut(Stage)) -> Result<Opened, Error> {
    let loaded = source.load(sched, &mut until_ready(progress)).await?;
    Pacer::new(sched).pause().await;
    progress(Stage::Consent);
    let screened = screen_paced(loaded.record, audience.viewer, audience.policy, audience.consents, sched).await;
    progress(Stage::Ready);
    Ok(Opened { screened, link: loaded.link })
}

/// A compact JWE already in memory (decrypted with the portable AES-GCM,
/// synchronously).
pub struct SealedText<'a> {
    pub jwe: &'a str,
    pub key: &'a ContentKey,
    pub options: &'a OpenOptions,
}

impl RecordSource for SealedText<'_> {
    async fn load<S: Scheduler>(&self, sched: &S, progress: &mut dyn FnMut(Stage)) -> Result<Loaded, Error> {
        progress(Stage::Decrypt);
        let (header, mut plaintext): (Header, Zeroizing<Vec<u8>>) = unseal(self.jwe, self.key, &self.options.unseal)?;
        check_content_type(&header)?;
        progress(Stage::Parse);
        let record = parse_plaintext_paced(&mut plaintext, sched).await?;
        progress(Stage::Ready);
        Ok(Loaded { record, link: None })
    }
}

/// A compact JWE at a URL, fetched with `client` and decrypted with `cipher`.
pub struct SealedFile<'a, C, A> {
    pub client: &'a C,
    pub cipher: &'a A,
    pub url: &'a str,
    pub key: &'a ContentKey,
    pub options: &'a OpenOptions,
}

impl<C: HttpClient, A: AsyncCipher> RecordSource for SealedFile<'_, C, A> {
    async fn load<S: Scheduler>(&self, sched: &S, progress: &mut dyn FnMut(Stage)) -> Result<Loaded, Error> {
        progress(Stage::Fetch);
        let jwe = fetch_jwe(self.client, sched, self.url, &self.options.fetch).await?;
        Pacer::new(sched).pause().await;
        progress(Stage::Decrypt);
        let pacer = Pacer::new(sched);
        let (header, mut plaintext) = unseal_async_owned(self.cipher, jwe, self.key, &self.options.unseal, &mut || Box::pin(pacer.tick())).await?;
        check_content_type(&header)?;
        Pacer::new(sched).pause().await;
        progress(Stage::Parse);
        let record = parse_plaintext_paced(&mut plaintext, sched).await?;
        crate::unseal::wipe_paced(plaintext, || pacer.tick()).await;
        progress(Stage::Ready);
        Ok(Loaded { record, link: None })
    }
}

/// Decrypts and parses a compact JWE holding FHIR JSON (synchronously).
pub fn open_jwe(jwe: &str, key: &ContentKey, options: &OpenOptions, progress: &mut dyn FnMut(Stage)) -> Result<Record, Error> {
    run_now(SealedText { jwe, key, options }.load(&Immediate, progress)).map(|l| l.record)
}

/// [`open_jwe`], screened for `audience`: only what the viewer may see (see
/// [`crate::consent`]), with every decision. Stages: … `parse`, `consent`, `ready`.
pub fn open_jwe_screened(
    jwe: &str,
    key: &ContentKey,
    options: &OpenOptions,
    audience: Audience<'_>,
    progress: &mut dyn FnMut(Stage),
) -> Result<Screened, Error> {
    run_now(open(&SealedText { jwe, key, options }, &Immediate, audience, progress)).map(|o| o.screened)
}

/// Fetches a compact JWE from `url`, then decrypts (portable AES-GCM) and parses it.
pub async fn open_url<C: HttpClient, S: Scheduler>(
    client: &C,
    sched: &S,
    url: &str,
    key: &ContentKey,
    options: &OpenOptions,
    progress: &mut dyn FnMut(Stage),
) -> Result<Record, Error> {
    SealedFile { client, cipher: &RustCryptoCipher, url, key, options }.load(sched, progress).await.map(|l| l.record)
}
