//! SMART Health Links (HL7 SMART Health Cards and Links IG): parse a link,
//! resolve it with its host, decrypt every file with the link's key, read
//! FHIR JSON and SMART Health Cards, check card signatures, and merge it
//! all into one record.
//!
//! What is accepted beyond the letter of the spec (real files are
//! imperfect), and why it is safe: a JWE without `cty` (the manifest's
//! `contentType` says what it is; for a `U` file the JSON shape does); a
//! `kid` on a `dir` JWE (ignored: there is one key); `exp` as a numeric
//! string; padding on the payload. A `cty` that contradicts the manifest is
//! refused.

mod card;
mod link;
mod resolve;

use serde_json::Value;

pub use card::{decode_jws, jwks_url, read_card_file, verify_with, CardError, Credential, Es256Key, Es256Verifier, Unverified, Verification};
#[cfg(not(target_arch = "wasm32"))]
pub use card::{verify, P256Verifier};

/// The platform's ES256 verifier: WebCrypto in WebAssembly, `p256` natively.
#[cfg(target_arch = "wasm32")]
type PlatformVerifier = crate::wasm::webcrypto::WebCryptoEs256;
#[cfg(not(target_arch = "wasm32"))]
type PlatformVerifier = P256Verifier;
pub(crate) use link::url_allowed;
pub use link::{parse_link, Flags, Link, LinkError, SUPPORTED_VERSION};
pub(crate) use resolve::essence;
pub use resolve::{read_manifest, resolve, Delivery, ResolveOptions, Resolved, SharedFile, SkipReason, SkippedFile};

use crate::error::Error;
use crate::fhir::Record;
use crate::pipeline::Stage;
use crate::pipeline::{Loaded, RecordSource};
use crate::render::{SkippedWhy, SourceNote, SourceNoteKind, SourceSummary, Trust};
use crate::source::{send_with_retries, FetchOptions, HttpClient, HttpRequest, Scheduler};
use crate::unseal::{unseal_async_owned, AsyncCipher, RustCryptoCipher, UnsealOptions};
use resolve::{FHIR_JSON, HEALTH_CARD};

/// Why a link did not resolve. Messages never include the passcode or key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShlError {
    #[error("the link expired (at {exp} seconds since 1970); ask the sharer for a new one")]
    Expired { exp: i64 },
    #[error("the link needs a passcode")]
    PasscodeRequired { remaining_attempts: Option<u32> },
    #[error("the passcode is not right")]
    PasscodeWrong { remaining_attempts: Option<u32> },
    #[error("the link is no longer active (revoked, expired, or locked after too many wrong passcodes)")]
    Inactive,
    #[error("the link's host asks to wait before trying again")]
    RateLimited { retry_after_secs: Option<u64> },
    #[error("the link's manifest is not valid: {0}")]
    BadManifest(&'static str),
    #[error("the link holds no files")]
    NoFiles,
    #[error("a file's encrypted content type does not match what the manifest says it is")]
    ContentTypeMismatch,
    #[error("a file is neither FHIR JSON nor a SMART Health Card")]
    UnknownContent,
    #[error(transparent)]
    Card(#[from] CardError),
}

/// Issuer keys the host vouches for, and whether fetching them is allowed.
#[derive(Debug, Clone, Default)]
pub struct IssuerKeys {
    /// Issuer (`iss`, compared without a trailing slash) → JWKS.
    pub known: Vec<(String, Value)>,
    /// Fetch `<iss>/.well-known/jwks.json` for issuers not in `known`.
    pub fetch: bool,
}

impl IssuerKeys {
    fn known_for(&self, issuer: &str) -> Option<&Value> {
        let issuer = issuer.trim_end_matches('/');
        self.known.iter().find(|(iss, _)| iss.trim_end_matches('/') == issuer).map(|(_, jwks)| jwks)
    }
}

/// A health card found in the link, with its signature check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardReport {
    pub issuer: String,
    pub issued_at: Option<i64>,
    pub types: Vec<String>,
    pub verification: Verification,
    /// How many resources its Bundle holds.
    pub resources: usize,
}

/// A file of the link that was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    pub content_type: String,
    pub delivery: Delivery,
}

/// Where a link's record came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkSource {
    pub label: Option<String>,
    pub files: Vec<FileReport>,
    pub skipped: Vec<SkippedFile>,
    pub cards: Vec<CardReport>,
}

/// Everything a link gave: one record, plus where it came from.
#[derive(Debug, Clone)]
pub struct SharedRecord {
    pub record: Record,
    pub source: LinkSource,
}

impl LinkSource {
    /// What the chart says about the record's source: the link's label,
    /// each health card's signature check, unsigned FHIR files, and files
    /// not opened.
    pub fn summary(&self) -> SourceSummary {
        let mut notes = Vec::new();
        for card in &self.cards {
            let trust = match card.verification {
                Verification::Verified => Trust::Verified,
                Verification::SignedUntrusted => Trust::Signed,
                Verification::Unverified(_) => Trust::Unverified,
                Verification::Invalid => Trust::Invalid,
            };
            let keys_unavailable = card.verification == Verification::Unverified(Unverified::KeysUnavailable);
            notes.push(SourceNote { trust, what: SourceNoteKind::Card { issuer: card.issuer.clone(), keys_unavailable } });
        }
        let unsigned = self.files.iter().filter(|f| f.content_type == FHIR_JSON).count();
        if unsigned > 0 {
            notes.push(SourceNote { trust: Trust::Unsigned, what: SourceNoteKind::Unsigned(unsigned) });
        }
        for skipped in &self.skipped {
            let reason = match skipped.reason {
                SkipReason::NoLongerValid => SkippedWhy::NoLongerValid,
                SkipReason::ApiAccessNotFollowed => SkippedWhy::ApiAccess,
                SkipReason::UnsupportedType => SkippedWhy::Unsupported,
            };
            notes.push(SourceNote { trust: Trust::Unverified, what: SourceNoteKind::Skipped { content_type: skipped.content_type.clone(), reason } });
        }
        SourceSummary { label: self.label.clone(), notes }
    }
}

/// Options for opening a link.
#[derive(Debug, Clone)]
pub struct LinkOptions {
    pub resolve: ResolveOptions,
    pub unseal: UnsealOptions,
    pub issuer_keys: IssuerKeys,
}

/// What a decrypted file is, from the manifest or the JWE `cty`; only when
/// both are silent (or name something else) from its JSON shape, read by
/// [`sniff`]. A declared kind is not read twice: the file's own reader
/// reports broken or unexpected content.
async fn file_kind<S: Scheduler>(manifest: Option<&str>, cty: Option<&str>, bytes: &[u8], sched: &S) -> Result<&'static str, Error> {
    let known = |t: &str| match essence(t).as_str() {
        FHIR_JSON | "application/json" => Some(FHIR_JSON),
        HEALTH_CARD => Some(HEALTH_CARD),
        _ => None,
    };
    match (manifest.map(known), cty.map(known)) {
        (Some(Some(m)), Some(Some(c))) if m != c => Err(ShlError::ContentTypeMismatch.into()),
        (Some(Some(_)), Some(None)) | (None, Some(None)) => Err(ShlError::ContentTypeMismatch.into()),
        (Some(Some(m)), _) | (None, Some(Some(m))) => Ok(m),
        (Some(None), _) | (None, None) => sniff(bytes, sched).await,
    }
}

/// A file's kind from its top-level object, read by the paced Bundle
/// scanner: a `verifiableCredential` makes it a health card file, a
/// `resourceType` FHIR JSON.
async fn sniff<S: Scheduler>(bytes: &[u8], sched: &S) -> Result<&'static str, Error> {
    let pacer = crate::source::Pacer::new(sched);
    let bytes = crate::fhir::Shell::repair(bytes, || pacer.tick()).await;
    match crate::fhir::Shell::scan(&bytes, || pacer.tick()).await {
        Some(shell) if shell.credentials => Ok(HEALTH_CARD),
        Some(shell) if shell.resource_type.is_some() => Ok(FHIR_JSON),
        Some(_) => Err(ShlError::UnknownContent.into()),
        // Not an object the scanner reads: the whole-document reader says where the JSON is broken.
        None => match crate::fhir::value::parse(&bytes) {
            Err(e) => Err(crate::fhir::ParseError::Json { line: e.line(), column: e.column() }.into()),
            Ok(_) => Err(ShlError::UnknownContent.into()),
        },
    }
}

/// Decrypts and reads resolved files into one record. Cards are decoded
/// here; their signatures are checked by [`check_cards`].
pub async fn read_files<S: Scheduler, A: AsyncCipher>(
    sched: &S,
    cipher: &A,
    link: &Link,
    resolved: Resolved,
    unseal_options: &UnsealOptions,
) -> Result<(SharedRecord, Vec<Credential>), Error> {
    let mut record = Record::default();
    let mut files = Vec::new();
    let mut credentials = Vec::new();
    for file in resolved.files {
        let pacer = crate::source::Pacer::new(sched);
        let (header, mut plaintext) = unseal_async_owned(cipher, file.jwe, &link.key, unseal_options, &mut || Box::pin(pacer.tick())).await?;
        let kind = file_kind(file.content_type.as_deref(), header.content_type.as_deref(), &plaintext, sched).await?;
        if kind == HEALTH_CARD {
            for credential in read_card_file(&plaintext, unseal_options.max_plaintext).map_err(ShlError::from)? {
                credentials.push(credential);
            }
        } else {
            record.add_plaintext_paced(&mut plaintext, true, sched).await?;
        }
        crate::unseal::wipe_paced(plaintext, || pacer.tick()).await;
        files.push(FileReport { content_type: kind.to_string(), delivery: file.delivery });
    }
    let mut cards = Vec::new();
    for credential in &mut credentials {
        let bundle = std::mem::take(&mut credential.bundle);
        let before = record.entries.len();
        record.merge_json(bundle)?;
        cards.push(CardReport {
            issuer: credential.issuer.clone(),
            issued_at: credential.issued_at,
            types: credential.types.clone(),
            verification: Verification::Unverified(Unverified::NoKeys),
            resources: record.entries.len() - before,
        });
    }
    let source = LinkSource { label: link.label.clone(), files, skipped: resolved.skipped, cards };
    let shared = SharedRecord { record, source };
    Ok((shared, credentials))
}

/// Checks each card's signature with the host's keys, or the issuer's
/// published JWKS when fetching is allowed (one request per issuer). Only
/// the host's keys (its trust list) make a card `Verified`; a signature
/// that checks with keys fetched from the card's own `iss` is
/// `SignedUntrusted`. Where the platform cannot check signatures
/// (WebCrypto missing), every card stays `Unverified(NoKeys)` and no keys
/// are fetched.
pub async fn check_cards<C: HttpClient, S: Scheduler>(
    client: &C,
    sched: &S,
    shared: &mut SharedRecord,
    credentials: &[Credential],
    keys: &IssuerKeys,
    fetch: &FetchOptions,
) {
    let verifier = PlatformVerifier::default();
    if !verifier.available() {
        return;
    }
    // Null: none could be fetched (a fetched JWKS is an object).
    let mut fetched: Vec<(String, Value)> = Vec::new();
    for (report, credential) in shared.source.cards.iter_mut().zip(credentials) {
        let jwks = match keys.known_for(&credential.issuer) {
            Some(jwks) => Some(jwks.clone()),
            None if keys.fetch => {
                if !fetched.iter().any(|(iss, _)| *iss == credential.issuer) {
                    let jwks = fetch_jwks(client, sched, &credential.issuer, fetch).await;
                    fetched.push((credential.issuer.clone(), jwks.unwrap_or_default()));
                }
                match fetched.iter().find(|(iss, _)| *iss == credential.issuer).map(|(_, v)| v).filter(|v| !v.is_null()).cloned() {
                    Some(jwks) => Some(jwks),
                    None => {
                        report.verification = Verification::Unverified(Unverified::KeysUnavailable);
                        continue;
                    }
                }
            }
            None => None,
        };
        let trusted = keys.known_for(&credential.issuer).is_some();
        let checked = match jwks {
            Some(jwks) => Some(verify_with(&verifier, credential, &jwks).await),
            None => None,
        };
        report.verification = match (checked, trusted) {
            (Some(Verification::Verified), false) => Verification::SignedUntrusted,
            (Some(v), _) => v,
            (None, _) => Verification::Unverified(Unverified::NoKeys),
        };
    }
}

async fn fetch_jwks<C: HttpClient, S: Scheduler>(client: &C, sched: &S, issuer: &str, fetch: &FetchOptions) -> Option<Value> {
    let url = jwks_url(issuer);
    if !link::url_allowed(&url) {
        return None;
    }
    let options = FetchOptions { max_bytes: fetch.max_bytes.min(1024 * 1024), ..*fetch };
    let response = send_with_retries(client, sched, HttpRequest::get(&url, "application/json"), &options).await.ok()?;
    if !(200..300).contains(&response.status) {
        return None;
    }
    crate::fhir::value::parse(&response.body).ok().filter(|v| v.get("keys").is_some_and(Value::is_array))
}

/// Opens a SMART Health Link end to end (portable AES-GCM): resolve,
/// decrypt, read, verify. `now` is the current time in epoch seconds
/// (expiry is checked first, before any request).
pub async fn open_link<C: HttpClient, S: Scheduler>(
    client: &C,
    sched: &S,
    link: &Link,
    options: &LinkOptions,
    now: i64,
    progress: &mut dyn FnMut(Stage),
) -> Result<SharedRecord, Error> {
    open_link_with(client, sched, &RustCryptoCipher, link, options, now, progress).await
}

/// [`open_link`] with a chosen AES-GCM backend (WebCrypto in the browser).
pub async fn open_link_with<C: HttpClient, S: Scheduler, A: AsyncCipher>(
    client: &C,
    sched: &S,
    cipher: &A,
    link: &Link,
    options: &LinkOptions,
    now: i64,
    progress: &mut dyn FnMut(Stage),
) -> Result<SharedRecord, Error> {
    progress(Stage::Fetch);
    let resolved = resolve(client, sched, link, &options.resolve, now).await?;
    progress(Stage::Decrypt);
    let (mut shared, credentials) = read_files(sched, cipher, link, resolved, &options.unseal).await?;
    if !credentials.is_empty() {
        progress(Stage::Verify);
        check_cards(client, sched, &mut shared, &credentials, &options.issuer_keys, &options.resolve.fetch).await;
    }
    progress(Stage::Ready);
    Ok(shared)
}

/// A SMART Health Link as a [`RecordSource`].
pub struct SharedLink<'a, C, A> {
    pub client: &'a C,
    pub cipher: &'a A,
    pub link: &'a Link,
    pub options: &'a LinkOptions,
    /// The current time in epoch seconds.
    pub now: i64,
}

impl<C: HttpClient, A: AsyncCipher> RecordSource for SharedLink<'_, C, A> {
    async fn load<S: Scheduler>(&self, sched: &S, progress: &mut dyn FnMut(Stage)) -> Result<Loaded, Error> {
        let shared = open_link_with(self.client, sched, self.cipher, self.link, self.options, self.now, progress).await?;
        Ok(Loaded { record: shared.record, link: Some(shared.source) })
    }
}
