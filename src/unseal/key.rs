//! Content-encryption keys: held in zeroizing memory, never printed.

use zeroize::Zeroizing;

use super::UnsealError;

/// A symmetric content-encryption key (`alg: "dir"`): 16 bytes for `A128GCM`,
/// 32 bytes for `A256GCM`. The bytes are wiped from memory when the key is
/// dropped, and `Debug` never shows them.
#[derive(Clone)]
pub struct ContentKey(Zeroizing<Vec<u8>>);

impl ContentKey {
    /// A key from raw bytes (16 or 32 of them).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, UnsealError> {
        match bytes.len() {
            16 | 32 => Ok(Self(Zeroizing::new(bytes.to_vec()))),
            found => Err(UnsealError::KeyLength { found }),
        }
    }

    /// A key written as unpadded base64url (43 characters for 32 bytes, as in
    /// a SMART Health Link), surrounding whitespace ignored.
    pub fn from_base64url(text: &str) -> Result<Self, UnsealError> {
        let text = text.trim();
        let decoded = Zeroizing::new(crate::b64::decode_url(text.trim_end_matches('=').as_bytes()).ok_or(UnsealError::KeyEncoding)?);
        Self::from_bytes(&decoded)
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The key as unpadded base64url.
    pub fn to_base64url(&self) -> Zeroizing<String> {
        Zeroizing::new(crate::b64::encode_url(self.0.as_slice()))
    }
}

impl core::fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ContentKey({} bits, redacted)", self.0.len() * 8)
    }
}
