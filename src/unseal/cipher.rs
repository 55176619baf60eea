//! AES-GCM behind a small trait, so a platform backend (WebCrypto) can stand
//! in for the portable one without the JWE logic knowing.

use aes_gcm::aead::array::Array;
use aes_gcm::{AeadInOut, Aes128Gcm, Aes256Gcm, KeyInit};

use super::ContentKey;

/// Why an AEAD operation failed. Deliberately carries nothing: a wrong key, a
/// flipped bit and a truncated tag are indistinguishable to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AeadFailure;

/// AES-GCM with a 96-bit IV and a 128-bit tag, detached.
pub trait ContentCipher {
    /// Decrypts `ciphertext` and checks `tag` over it and `aad`. Returns the
    /// whole plaintext or nothing.
    fn decrypt(
        &self,
        key: &ContentKey,
        iv: &[u8; 12],
        aad: &[u8],
        ciphertext: &[u8],
        tag: &[u8; 16],
    ) -> Result<Vec<u8>, AeadFailure>;
}

/// An AES-GCM backend that may finish later (WebCrypto's `crypto.subtle` is
/// promise-based). Every [`ContentCipher`] is one that finishes at once.
pub trait AsyncCipher {
    /// As [`ContentCipher::decrypt`].
    fn decrypt_async(
        &self,
        key: &ContentKey,
        iv: &[u8; 12],
        aad: &[u8],
        ciphertext: &[u8],
        tag: &[u8; 16],
    ) -> impl std::future::Future<Output = Result<Vec<u8>, AeadFailure>>;
}

impl<T: ContentCipher> AsyncCipher for T {
    fn decrypt_async(
        &self,
        key: &ContentKey,
        iv: &[u8; 12],
        aad: &[u8],
        ciphertext: &[u8],
        tag: &[u8; 16],
    ) -> impl std::future::Future<Output = Result<Vec<u8>, AeadFailure>> {
        std::future::ready(self.decrypt(key, iv, aad, ciphertext, tag))
    }
}

/// The portable backend: RustCrypto's `aes-gcm`, constant-time, works in every
/// JavaScript engine and natively.
#[derive(Debug, Default, Clone, Copy)]
pub struct RustCryptoCipher;

impl ContentCipher for RustCryptoCipher {
    fn decrypt(
        &self,
        key: &ContentKey,
        iv: &[u8; 12],
        aad: &[u8],
        ciphertext: &[u8],
        tag: &[u8; 16],
    ) -> Result<Vec<u8>, AeadFailure> {
        let mut buffer = ciphertext.to_vec();
        let nonce = Array::from(*iv);
        let tag = Array::from(*tag);
        let outcome = match key.as_bytes().len() {
            32 => Aes256Gcm::new_from_slice(key.as_bytes())
                .map_err(|_| AeadFailure)?
                .decrypt_inout_detached(&nonce, aad, buffer.as_mut_slice().into(), &tag),
            16 => Aes128Gcm::new_from_slice(key.as_bytes())
                .map_err(|_| AeadFailure)?
                .decrypt_inout_detached(&nonce, aad, buffer.as_mut_slice().into(), &tag),
            _ => return Err(AeadFailure),
        };
        match outcome {
            Ok(()) => Ok(buffer),
            Err(_) => {
                // aes-gcm leaves the buffer as ciphertext on failure; wipe it anyway.
                zeroize::Zeroize::zeroize(&mut buffer);
                Err(AeadFailure)
            }
        }
    }
}

/// Encrypts `buffer` in place and returns the tag (used by `seal`, and by
/// sharing where WebCrypto is missing).
pub fn encrypt(
    key: &ContentKey,
    iv: &[u8; 12],
    aad: &[u8],
    buffer: &mut [u8],
) -> Result<[u8; 16], AeadFailure> {
    let nonce = Array::from(*iv);
    let tag = match key.as_bytes().len() {
        32 => Aes256Gcm::new_from_slice(key.as_bytes())
            .map_err(|_| AeadFailure)?
            .encrypt_inout_detached(&nonce, aad, buffer.into()),
        16 => Aes128Gcm::new_from_slice(key.as_bytes())
            .map_err(|_| AeadFailure)?
            .encrypt_inout_detached(&nonce, aad, buffer.into()),
        _ => return Err(AeadFailure),
    }
    .map_err(|_| AeadFailure)?;
    Ok(tag.into())
}
