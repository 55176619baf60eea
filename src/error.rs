//! The pipeline's error: one enum over the stages, each with a stable,
//! machine-readable code for JavaScript.

use crate::fhir::ParseError;
use crate::fhir_api::{Issue, ServerError};
use crate::shl::{LinkError, ShlError};
use crate::source::SourceError;
use crate::unseal::UnsealError;

/// Anything that stops a record from opening.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Unseal(#[from] UnsealError),
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error(transparent)]
    Shl(#[from] ShlError),
    #[error(transparent)]
    Fhir(#[from] ServerError),
    /// The decrypted content is of a type this SDK does not open.
    #[error("the record's content type {} is not supported (FHIR JSON is)", crate::fhir::value::quoted(.0))]
    UnsupportedContent(String),
    /// An argument from the host was unusable (a missing element, a bad option).
    #[error("{0}")]
    BadInput(String),
    /// The link host (`ShlHost`) failed a call while sharing: which call,
    /// and the HTTP status when the host gave one. Nothing of the record,
    /// key or passcode is in the message.
    #[error("the link host failed at {call}{}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Host { call: &'static str, status: Option<u16> },
    /// The platform's AES-GCM failed to seal a shared record.
    #[error("the record could not be sealed: the platform's AES-GCM failed")]
    Seal,
    /// The platform has no `crypto.getRandomValues`: no key can be made.
    #[error("this platform has no crypto.getRandomValues: a link key cannot be made")]
    NoRandom,
}

impl Error {
    /// The stable code JavaScript sees as `error.code`:
    /// `badKey`, `malformedJwe`, `unsupported`, `decrypt`, `tooLarge`,
    /// `format`, `network`, `httpStatus`, `badInput`, and for SMART Health
    /// Links `badLink`, `expired`, `passcodeRequired`, `passcodeWrong`,
    /// `linkInactive` (a `429` that outlasts the waits is `httpStatus`), and
    /// for FHIR servers `unauthorized`, `fhirError` and `aborted`, and for
    /// sharing `hostError`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Source(SourceError::Network(_)) => "network",
            Error::Source(SourceError::Status { .. }) => "httpStatus",
            Error::Source(SourceError::TooLarge { .. }) => "tooLarge",
            Error::Source(SourceError::NotJwe) => "malformedJwe",
            Error::Source(SourceError::Aborted) => "aborted",
            Error::Fhir(e) => match e {
                ServerError::Unauthorized | ServerError::NoToken => "unauthorized",
                ServerError::Outcome { .. } => "fhirError",
                ServerError::NotBundle | ServerError::WrongPatient | ServerError::OffBase { .. } => "format",
                ServerError::TooMany { .. } => "tooLarge",
                ServerError::RateLimited { .. } => "httpStatus",
            },
            Error::Unseal(e) => match e {
                UnsealError::KeyLength { .. } | UnsealError::KeyMismatch { .. } | UnsealError::KeyEncoding => "badKey",
                UnsealError::SegmentCount { .. }
                | UnsealError::Base64(_)
                | UnsealError::Header(_)
                | UnsealError::EncryptedKeyPresent
                | UnsealError::IvLength { .. }
                | UnsealError::TagLength { .. } => "malformedJwe",
                UnsealError::UnsupportedAlgorithm(_)
                | UnsealError::UnsupportedEncryption(_)
                | UnsealError::UnsupportedCompression(_)
                | UnsealError::UnsupportedCritical(_) => "unsupported",
                UnsealError::Decrypt => "decrypt",
                UnsealError::Inflate => "format",
                UnsealError::TooLarge { .. } => "tooLarge",
            },
            Error::Parse(_) => "format",
            Error::Link(LinkError::NewerVersion(_)) => "unsupported",
            Error::Link(_) => "badLink",
            Error::Shl(e) => match e {
                ShlError::Expired { .. } => "expired",
                ShlError::PasscodeRequired { .. } => "passcodeRequired",
                ShlError::PasscodeWrong { .. } => "passcodeWrong",
                ShlError::Inactive => "linkInactive",
                ShlError::RateLimited { .. } => "httpStatus",
                ShlError::BadManifest(_) | ShlError::NoFiles | ShlError::ContentTypeMismatch | ShlError::UnknownContent | ShlError::Card(_) => "format",
            },
            Error::UnsupportedContent(_) => "unsupported",
            Error::BadInput(_) => "badInput",
            Error::Host { .. } => "hostError",
            Error::NoRandom | Error::Seal => "unsupported",
        }
    }

    /// The HTTP status, for `httpStatus` errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Source(SourceError::Status { status }) => Some(*status),
            Error::Shl(ShlError::RateLimited { .. }) | Error::Fhir(ServerError::RateLimited { .. }) => Some(429),
            Error::Fhir(ServerError::Outcome { status, .. }) => Some(*status),
            Error::Host { status, .. } => *status,
            _ => None,
        }
    }

    /// Passcode attempts left, when the link's host said.
    pub fn remaining_attempts(&self) -> Option<u32> {
        match self {
            Error::Shl(ShlError::PasscodeRequired { remaining_attempts } | ShlError::PasscodeWrong { remaining_attempts }) => *remaining_attempts,
            _ => None,
        }
    }

    /// Seconds the host asked to wait, for rate-limited link requests.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::Shl(ShlError::RateLimited { retry_after_secs }) | Error::Fhir(ServerError::RateLimited { retry_after_secs }) => *retry_after_secs,
            _ => None,
        }
    }

    /// The issues of a FHIR server's `OperationOutcome`, for `fhirError`.
    pub fn issues(&self) -> &[Issue] {
        match self {
            Error::Fhir(ServerError::Outcome { issues, .. }) => issues,
            _ => &[],
        }
    }
}
