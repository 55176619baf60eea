//! Unseal: JWE compact serialization with `alg: "dir"`, `enc: "A256GCM"` (or
//! `A128GCM`), optional `zip: "DEF"`.
//!
//! Rules (RFC 7516, RFC 7518): five segments; the encrypted-key segment of a
//! `dir` token is empty; the AAD is the ASCII of the protected header segment
//! exactly as received; IV 96 bits, tag 128 bits; `crit` is refused (no
//! extension is understood). Authentication failure is one opaque error and no
//! plaintext is released.

mod cipher;
mod ghash;
mod inflate;
mod jwe;
mod key;
mod pieced;

pub use cipher::{cut_wiped, decrypt_in_place, encrypt, wipe, wipe_paced, AeadFailure, AsyncCipher, ContentCipher, GcmSeal, RustCryptoCipher};
pub use jwe::{
    decode_ciphertext_paced, parse, parse_without_ciphertext, seal, seal_compact, seal_header, seal_prepare, seal_prepare_paced, unseal, unseal_async,
    unseal_async_owned, unseal_with, Encryption, Header, ParsedJwe, SealOptions,
};
pub use key::ContentKey;
pub use pieced::{decrypt_pieced, AesPieces, Block, CALL_PIECE};

pub(crate) use inflate::inflate;

/// Default ceiling on the size of a decrypted (and inflated) record: 64 MiB.
pub const DEFAULT_MAX_PLAINTEXT: usize = 64 * 1024 * 1024;

/// Limits applied while unsealing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsealOptions {
    /// Largest plaintext accepted, after inflating `zip: "DEF"` content.
    /// Guards against decompression bombs.
    pub max_plaintext: usize,
}

impl Default for UnsealOptions {
    fn default() -> Self {
        Self { max_plaintext: DEFAULT_MAX_PLAINTEXT }
    }
}

/// A segment of a JWE compact serialization, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    ProtectedHeader,
    EncryptedKey,
    Iv,
    Ciphertext,
    Tag,
}

impl core::fmt::Display for Segment {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Segment::ProtectedHeader => "protected header",
            Segment::EncryptedKey => "encrypted key",
            Segment::Iv => "initialization vector",
            Segment::Ciphertext => "ciphertext",
            Segment::Tag => "authentication tag",
        })
    }
}

/// Why a sealed record could not be opened. Messages never contain key
/// material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsealError {
    #[error("not a JWE: expected 5 dot-separated segments, found {found}{}", if *.found == 3 { " (this looks like a signed JWS, not an encrypted JWE)" } else { "" })]
    SegmentCount { found: usize },
    #[error("the JWE {0} is not valid base64url")]
    Base64(Segment),
    #[error("the JWE protected header is not a JSON object: {0}")]
    Header(String),
    #[error("the JWE encrypted-key segment must be empty for alg \"dir\"")]
    EncryptedKeyPresent,
    #[error("unsupported JWE key management algorithm {} (only \"dir\" is supported)", crate::fhir::value::quoted(.0))]
    UnsupportedAlgorithm(String),
    #[error("unsupported JWE content encryption {} (A256GCM and A128GCM are supported)", crate::fhir::value::quoted(.0))]
    UnsupportedEncryption(String),
    #[error("unsupported JWE compression {} (only \"DEF\" is supported)", crate::fhir::value::quoted(.0))]
    UnsupportedCompression(String),
    #[error("the JWE lists critical extensions ({0}) that are not understood")]
    UnsupportedCritical(String),
    #[error("the JWE initialization vector is {bits} bits; AES-GCM needs 96")]
    IvLength { bits: usize },
    #[error("the JWE authentication tag is {bits} bits; 128 are required")]
    TagLength { bits: usize },
    #[error("the key is {found} bytes; it must be 32 bytes (A256GCM) or 16 bytes (A128GCM)")]
    KeyLength { found: usize },
    #[error("the key is {found} bytes but {enc} needs {expected}")]
    KeyMismatch { enc: &'static str, expected: usize, found: usize },
    #[error("the key is not valid base64url")]
    KeyEncoding,
    #[error("the record could not be decrypted: wrong key or altered data")]
    Decrypt,
    #[error("the decrypted record is not a valid DEFLATE stream")]
    Inflate,
    #[error("the decrypted record is larger than the {limit}-byte limit")]
    TooLarge { limit: usize },
}

/// Shortens an attacker-controlled value before it is put in a message.
pub(crate) fn clip(value: &str) -> String {
    const MAX: usize = 40;
    let mut out: String = value.chars().filter(|c| !c.is_control()).take(MAX).collect();
    if value.chars().count() > MAX {
        out.push('…');
    }
    out
}
