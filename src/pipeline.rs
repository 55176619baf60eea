//! The pipeline end to end: source → unseal → parse → consent. Rendering is
//! separate (it needs the viewer's date and, in the browser, an element).

use zeroize::Zeroizing;

use crate::consent::{screen, Policy, Screened, Viewer};
use crate::error::Error;
use crate::fhir::{parse_record, parse_record_paced, Record};
use crate::source::{fetch_jwe, FetchOptions, HttpClient, Pacer};
use crate::unseal::{unseal, unseal_async, AsyncCipher, ContentKey, Header, RustCryptoCipher, UnsealOptions};

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

/// Decrypts and parses a compact JWE holding FHIR JSON.
pub fn open_jwe(jwe: &str, key: &ContentKey, options: &OpenOptions, progress: &mut dyn FnMut(Stage)) -> Result<Record, Error> {
    progress(Stage::Decrypt);
    let (header, plaintext): (Header, Zeroizing<Vec<u8>>) = unseal(jwe, key, &options.unseal)?;
    read(&header, &plaintext, progress)
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

/// [`open_jwe`], screened for `audience`: only what the viewer may see (see
/// [`crate::consent`]), with every decision. Stages: … `parse`, `consent`, `ready`.
pub fn open_jwe_screened(
    jwe: &str,
    key: &ContentKey,
    options: &OpenOptions,
    audience: Audience<'_>,
    progress: &mut dyn FnMut(Stage),
) -> Result<Screened, Error> {
    let record = open_jwe(jwe, key, options, &mut until_ready(progress))?;
    progress(Stage::Consent);
    let screened = screen(record, audience.viewer, audience.policy, audience.consents);
    progress(Stage::Ready);
    Ok(screened)
}

fn read(header: &Header, plaintext: &[u8], progress: &mut dyn FnMut(Stage)) -> Result<Record, Error> {
    check_content_type(header)?;
    progress(Stage::Parse);
    let record = parse_record(plaintext)?;
    progress(Stage::Ready);
    Ok(record)
}

/// [`open_url_with`], screened for `audience` (paced like the rest):
/// only what the viewer may see, with every decision. Stages: `fetch`,
/// `decrypt`, `parse`, `consent`, `ready`.
pub async fn open_url_screened<C: HttpClient, A: AsyncCipher>(
    client: &C,
    cipher: &A,
    url: &str,
    key: &ContentKey,
    options: &OpenOptions,
    audience: Audience<'_>,
    progress: &mut dyn FnMut(Stage),
) -> Result<Screened, Error> {
    let record = open_url_with(client, cipher, url, key, options, &mut until_ready(progress)).await?;
    Ok(screen_for(client, record, audience, progress).await)
}

/// Screens an opened record for `audience`, a resource at a time with
/// turns of the event loop (the `consent` stage, then `ready`).
pub(crate) async fn screen_for<C: HttpClient>(client: &C, record: Record, audience: Audience<'_>, progress: &mut dyn FnMut(Stage)) -> Screened {
    Pacer::new(client).pause().await;
    progress(Stage::Consent);
    let screened = crate::consent::screen_paced(record, audience.viewer, audience.policy, audience.consents, client).await;
    progress(Stage::Ready);
    screened
}

/// Fetches a compact JWE from `url`, then decrypts and parses it.
pub async fn open_url<C: HttpClient>(client: &C, url: &str, key: &ContentKey, options: &OpenOptions, progress: &mut dyn FnMut(Stage)) -> Result<Record, Error> {
    open_url_with(client, &RustCryptoCipher, url, key, options, progress).await
}

/// [`open_url`] with a chosen AES-GCM backend (WebCrypto in the browser).
pub async fn open_url_with<C: HttpClient, A: AsyncCipher>(
    client: &C,
    cipher: &A,
    url: &str,
    key: &ContentKey,
    options: &OpenOptions,
    progress: &mut dyn FnMut(Stage),
) -> Result<Record, Error> {
    progress(Stage::Fetch);
    let jwe = fetch_jwe(client, url, &options.fetch).await?;
    Pacer::new(client).pause().await;
    progress(Stage::Decrypt);
    let pacer = Pacer::new(client);
    let (header, plaintext) = unseal_async(cipher, &jwe, key, &options.unseal, || pacer.tick()).await?;
    drop(jwe);
    check_content_type(&header)?;
    Pacer::new(client).pause().await;
    progress(Stage::Parse);
    let record = parse_record_paced(&plaintext, client).await?;
    progress(Stage::Ready);
    Ok(record)
}
