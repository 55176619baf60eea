//! The Patient Portal SDK's portable AES-GCM core (NIST SP 800-38D, 96-bit
//! IV, 128-bit tag): AES in counter mode with GCM's 32-bit counter over
//! RustCrypto's `aes`, and the SDK's own constant-time GHASH ([`ghash`]),
//! taken a piece at a time so the SDK can pause between pieces.
//!
//! It is a crate of its own so that it is compiled for speed
//! (`opt-level = 3` in the SDK's release profile) while the SDK itself is
//! compiled for size: these loops are where the portable decrypt spends its
//! time (ARCHITECTURE "Build"). The SDK's `unseal::cipher` drives it and
//! its tests compare it with RustCrypto's `aes-gcm`, `ctr` and `ghash`.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::string_slice))]

pub mod ghash;

use aes_gcm::aead::array::Array;
use aes_gcm::aes::cipher::consts::U16;
use aes_gcm::aes::cipher::{BlockCipherEncrypt, BlockSizeUser};
use aes_gcm::aes::{Aes128, Aes256};
use aes_gcm::KeyInit;
use ghash::Ghash;
use zeroize::Zeroize;

/// The largest plaintext GCM allows: 2^39 − 256 bits.
const P_MAX: u64 = (1 << 36) - 32;

/// Counter blocks encrypted per call to the block cipher: a multiple of
/// `aes`'s parallel blocks (four in its 64-bit fixslice).
pub const CTR_BATCH: usize = 8;

/// AES in counter mode with GCM's 32-bit big-endian counter (`inc32`): the
/// counter blocks encrypted `CTR_BATCH` at a time through the block
/// cipher's parallel path, the keystream XORed a word at a time. Every call
/// but the last is whole blocks (the keystream left of a partial block is
/// dropped). The counter block is wiped when dropped (the cipher wipes its
/// round keys).
pub struct Ctr32<A> {
    aes: A,
    /// The counter block's first twelve bytes (the IV).
    prefix: [u8; 12],
    /// The next counter value.
    counter: u32,
}

impl<A> Drop for Ctr32<A> {
    fn drop(&mut self) {
        self.prefix.zeroize();
        self.counter.zeroize();
    }
}

impl<A: BlockCipherEncrypt + BlockSizeUser<BlockSize = U16>> Ctr32<A> {
    /// Counter mode under `aes` from the counter block `prefix ‖ counter`.
    pub fn new(aes: A, prefix: [u8; 12], counter: u32) -> Self {
        Ctr32 { aes, prefix, counter }
    }

    /// XORs the next bytes of the keystream into `buffer`.
    #[inline(never)]
    pub fn apply(&mut self, buffer: &mut [u8]) {
        let mut keystream = [Array::<u8, U16>::default(); CTR_BATCH];
        for chunk in buffer.chunks_mut(16 * CTR_BATCH) {
            for block in keystream.iter_mut() {
                if let Some((head, tail)) = block.split_first_chunk_mut::<12>() {
                    *head = self.prefix;
                    tail.copy_from_slice(&self.counter.to_be_bytes());
                }
                self.counter = self.counter.wrapping_add(1);
            }
            self.aes.encrypt_blocks(&mut keystream);
            let words = keystream.iter().flat_map(|block| block.chunks_exact(8));
            for (text, key) in chunk.chunks_exact_mut(8).zip(words) {
                if let (Ok(text), Ok(key)) = (<&mut [u8; 8]>::try_from(text), <&[u8; 8]>::try_from(key)) {
                    *text = (u64::from_ne_bytes(*text) ^ u64::from_ne_bytes(*key)).to_ne_bytes();
                }
            }
            let done = chunk.len() / 8 * 8;
            if let (Some(rest), Some(key)) = (chunk.get_mut(done..), keystream.get(done / 16)) {
                for (text, key) in rest.iter_mut().zip(key.iter().skip(done % 16)) {
                    *text ^= key;
                }
            }
            // A partial batch (the last call) used fewer counters than it made.
            let used = chunk.len().div_ceil(16) as u32;
            self.counter = self.counter.wrapping_sub(CTR_BATCH as u32 - used);
        }
        for block in keystream.iter_mut() {
            block.zeroize();
        }
    }
}

/// AES in counter mode with GCM's 32-bit big-endian counter.
enum Keystream {
    Aes128(Ctr32<Aes128>),
    Aes256(Ctr32<Aes256>),
}

/// GCM's hash subkey (H = E(K, 0¹²⁸)) and its counter mode started at `j0`.
/// H is the keystream of the all-zero counter block, so the one-block
/// encryption is not compiled a second time beside the counter mode's.
fn gcm_start<A: BlockCipherEncrypt + KeyInit + BlockSizeUser<BlockSize = U16>>(key: &[u8], iv: &[u8; 12]) -> Option<(Ghash, Ctr32<A>)> {
    let mut ctr = Ctr32 { aes: A::new_from_slice(key).ok()?, prefix: [0; 12], counter: 0 };
    let mut h = [0u8; 16];
    ctr.apply(&mut h);
    let ghash = Ghash::new(&h);
    h.zeroize();
    // J0 = IV ‖ 0³¹ ‖ 1.
    ctr.prefix = *iv;
    ctr.counter = 1;
    Some((ghash, ctr))
}

/// AES-GCM (NIST SP 800-38D) with a 96-bit IV and a 128-bit tag, taken a
/// piece at a time: GHASH over the AAD, then over each piece of ciphertext,
/// and the keystream over each piece of text. Its parts are wiped when dropped.
pub struct Gcm {
    ghash: Ghash,
    stream: Keystream,
    /// E(K, J0): masks the tag.
    mask: [u8; 16],
}

impl Drop for Gcm {
    fn drop(&mut self) {
        self.mask.zeroize();
    }
}

impl Gcm {
    /// Starts with J0 = IV ‖ 0³¹ ‖ 1 and hashes the AAD. `None` for a key
    /// that is not 16 or 32 bytes, or a text longer than GCM allows.
    #[inline(never)]
    pub fn new(key: &[u8], iv: &[u8; 12], aad: &[u8], text_len: usize) -> Option<Gcm> {
        if text_len as u64 > P_MAX {
            return None;
        }
        let (ghash, stream) = match key.len() {
            32 => gcm_start::<Aes256>(key, iv).map(|(g, c)| (g, Keystream::Aes256(c)))?,
            16 => gcm_start::<Aes128>(key, iv).map(|(g, c)| (g, Keystream::Aes128(c)))?,
            _ => return None,
        };
        let mut gcm = Gcm { ghash, stream, mask: [0; 16] };
        let mut mask = [0; 16];
        gcm.apply(&mut mask);
        gcm.mask = mask;
        mask.zeroize();
        gcm.ghash.update_padded(aad);
        Some(gcm)
    }

    /// Hashes the next piece of ciphertext: whole blocks but for the last
    /// piece, so padding each is padding the whole.
    #[inline(never)]
    pub fn hash(&mut self, ciphertext: &[u8]) {
        self.ghash.update_padded(ciphertext);
    }

    /// XORs the next bytes of the keystream into `buffer`: whole blocks but
    /// for the last call.
    #[inline(never)]
    pub fn apply(&mut self, buffer: &mut [u8]) {
        match &mut self.stream {
            Keystream::Aes128(ctr) => ctr.apply(buffer),
            Keystream::Aes256(ctr) => ctr.apply(buffer),
        }
    }

    /// The tag, once the AAD and all `text_len` bytes of ciphertext are hashed.
    #[inline(never)]
    pub fn tag(&self, aad_len: usize, text_len: usize) -> [u8; 16] {
        let mut ghash = self.ghash.clone();
        ghash.update_padded(&(u128::from(aad_len as u64 * 8) << 64 | u128::from(text_len as u64 * 8)).to_be_bytes());
        let mut tag: [u8; 16] = ghash.finalize();
        for (a, b) in tag.iter_mut().zip(self.mask.iter()) {
            *a ^= *b;
        }
        tag
    }

    /// Whether `tag` is the tag (compared in constant time).
    #[inline(never)]
    pub fn check(&self, aad_len: usize, text_len: usize, tag: &[u8; 16]) -> bool {
        let mut expected = self.tag(aad_len, text_len);
        let matches = ctutils::CtEq::ct_eq(expected.as_slice(), tag.as_slice()).into();
        expected.zeroize();
        matches
    }
}
