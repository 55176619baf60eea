//! AES-GCM decryption through a platform's AES a piece at a time.
//!
//! WebCrypto's AES-GCM takes a whole message in one call, and Chromium runs
//! it on the calling thread: for a 9 MB record one call is a task of about
//! 125 ms at 4x CPU slowdown (the decryption, its reply and the copies;
//! ARCHITECTURE "Staying responsive"). GCM is counter mode plus GHASH, and
//! both can be had from the platform in pieces:
//!
//! - GHASH over a piece: AES-GCM encrypting nothing with the piece as its
//!   AAD gives `Q = (P ⊕ L)·H ⊕ E(K, Z0)`, where `P` is GHASH's running
//!   state over the piece's blocks, `L` its lengths block and `Z0` the
//!   zero IV's first counter block. Knowing `E(K, Z0)`, `H` and `L`, the
//!   pieces' states chain as GHASH does: with `Y' = Y·H`,
//!   `Y'` after a piece of `m` blocks is `Y'·Hᵐ ⊕ (Q ⊕ E(K, Z0)) ⊕ L·H`. A
//!   few field multiplications per piece, here; the hashing is the platform's.
//! - The keystream: AES-CTR with GCM's 32-bit counter, from `inc32(J0)`.
//!
//! As with the portable backend, the whole ciphertext is authenticated (the
//! tag compared in constant time) before anything is decrypted; on a
//! mismatch the text is left as it was.

use std::ops::Range;
use zeroize::{Zeroize, Zeroizing};

use super::cipher::AeadFailure;
use super::ghash::{mul, Ghash};

/// A block of 16 bytes.
pub type Block = [u8; 16];

/// What the platform's AES (under the content key) is asked for.
pub trait AesPieces {
    /// `E(K, block)`: one block through the block cipher.
    fn block(&self, block: Block) -> impl std::future::Future<Output = Result<Block, AeadFailure>>;
    /// The tag AES-GCM gives `aad` with the all-zero 96-bit IV and nothing
    /// to encrypt.
    fn aad_tag(&self, aad: &[u8]) -> impl std::future::Future<Output = Result<Block, AeadFailure>>;
    /// `buffer[from]` XORed with AES-CTR's keystream from the counter block
    /// `counter` (a 32-bit big-endian counter in its last four bytes),
    /// written to `buffer` at `to` (`to ≤ from.start`: the two may overlap).
    fn ctr(&self, counter: Block, buffer: &mut [u8], from: Range<usize>, to: usize) -> impl std::future::Future<Output = Result<(), AeadFailure>>;
}

/// Ciphertext handed to the platform per call: a megabyte (a multiple of
/// the block), 10–15 ms of a call at 4x CPU slowdown.
pub const CALL_PIECE: usize = 1 << 20;

/// The largest plaintext GCM allows: 2^39 − 256 bits.
const P_MAX: u64 = (1 << 36) - 32;

fn xor(a: &Block, b: &Block) -> Block {
    (u128::from_ne_bytes(*a) ^ u128::from_ne_bytes(*b)).to_ne_bytes()
}

/// `hⁿ` for `n ≥ 1`, by squaring.
fn pow(h: &Block, n: usize) -> Block {
    let (mut result, mut square, mut n) = (None::<Block>, *h, n);
    while n > 0 {
        if n & 1 == 1 {
            result = Some(result.map_or(square, |r| mul(&r, &square)));
        }
        n >>= 1;
        if n > 0 {
            square = mul(&square, &square);
        }
    }
    square.zeroize();
    result.unwrap_or(*h)
}

/// GHASH's lengths block: the two lengths in bits, big-endian.
fn lengths(first: usize, second: usize) -> Block {
    (u128::from(first as u64 * 8) << 64 | u128::from(second as u64 * 8)).to_be_bytes()
}

/// The counter block `prefix ‖ n` (`n` big-endian).
fn counter(prefix: &[u8; 12], n: u32) -> Block {
    (prefix.iter().fold(0u128, |block, &b| block << 8 | u128::from(b)) << 32 | u128::from(n)).to_be_bytes()
}

/// GHASH over the AAD and the pieces, kept as `Y' = Y·H` (see the
/// module's notes), with what chaining a piece needs; wiped when dropped.
struct Chain {
    h: Block,
    y: Block,
    /// `Hᵐ` for a whole piece of `m` blocks.
    whole: Block,
    /// `E(K, Z0)`, in each piece's tag.
    zero_mask: Block,
    piece: usize,
}

impl Drop for Chain {
    fn drop(&mut self) {
        for block in [&mut self.h, &mut self.y, &mut self.whole, &mut self.zero_mask] {
            block.zeroize();
        }
    }
}

impl Chain {
    #[inline(never)]
    fn new(h: Block, zero_mask: Block, aad: &[u8], piece: usize) -> Self {
        let mut ghash = Ghash::new(&h);
        ghash.update_padded(aad);
        let mut chain = Chain { h, y: ghash.finalize(), whole: pow(&h, piece / 16), zero_mask, piece };
        chain.y = mul(&chain.y, &h);
        chain
    }

    /// Chains the piece of `len` bytes whose AAD-only tag is `tag`.
    #[inline(never)]
    fn add(&mut self, tag: &Block, len: usize) {
        let mut q = xor(tag, &self.zero_mask);
        let mut h_m = if len == self.piece { self.whole } else { pow(&self.h, len.div_ceil(16)) };
        self.y = xor(&xor(&mul(&self.y, &h_m), &q), &mul(&lengths(len, 0), &self.h));
        q.zeroize();
        h_m.zeroize();
    }

    /// Whether `tag` is GCM's tag (compared in constant time) once all
    /// `text_len` bytes are chained; `mask` is `E(K, J0)`.
    #[inline(never)]
    fn check(&self, aad_len: usize, text_len: usize, mask: &Block, tag: &Block) -> bool {
        let mut expected = xor(&xor(&self.y, &mul(&lengths(aad_len, text_len), &self.h)), mask);
        let matches = ctutils::CtEq::ct_eq(expected.as_slice(), tag.as_slice()).into();
        expected.zeroize();
        matches
    }
}

/// Decrypts `buffer[text]` (96-bit IV, 128-bit tag, the AAD at
/// `buffer[aad]`) through `aes`, `piece` bytes per call (a multiple of the
/// block; [`CALL_PIECE`] in the browser), awaiting `between` after each:
/// first the tag, over the AAD and every piece, compared in constant time;
/// only when it matches, the keystream, each piece's plaintext written to
/// the buffer's start (so it never needs moving there). On an error before
/// that, the buffer is unchanged.
#[allow(clippy::too_many_arguments)]
pub async fn decrypt_pieced<A: AesPieces, F: std::future::Future<Output = ()>>(
    aes: &A,
    piece: usize,
    iv: &[u8; 12],
    buffer: &mut [u8],
    aad: Range<usize>,
    text: Range<usize>,
    tag: &Block,
    mut between: impl FnMut() -> F,
) -> Result<(), AeadFailure> {
    let len = text.len();
    if len as u64 > P_MAX || aad.len() as u64 > P_MAX || piece == 0 || piece % 16 != 0 || buffer.get(text.clone()).is_none() {
        return Err(AeadFailure);
    }
    let aad_bytes = buffer.get(aad).ok_or(AeadFailure)?;
    let mask = Zeroizing::new(aes.block(counter(iv, 1)).await?);
    let mut chain = Chain::new(aes.block([0; 16]).await?, aes.block(counter(&[0; 12], 1)).await?, aad_bytes, piece);
    let aad_len = aad_bytes.len();
    for start in text.clone().step_by(piece) {
        let part = buffer.get(start..(start + piece).min(text.end)).unwrap_or_default();
        chain.add(&aes.aad_tag(part).await?, part.len());
        between().await;
    }
    if !chain.check(aad_len, len, &mask, tag) {
        return Err(AeadFailure);
    }
    for (n, start) in text.clone().step_by(piece).enumerate() {
        // GCM's keystream starts at inc32(J0): the block counter 2.
        let first = ((n * (piece / 16)) as u32).wrapping_add(2);
        aes.ctr(counter(iv, first), buffer, start..(start + piece).min(text.end), n * piece).await?;
        between().await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unseal::cipher::tests::bytes;
    use aes_gcm::aead::array::Array;
    use aes_gcm::aes::Aes256;
    use aes_gcm::{AeadInOut, Aes256Gcm, KeyInit};
    use ctr::cipher::{BlockCipherEncrypt, KeyIvInit, StreamCipher};

    /// The platform, played by RustCrypto.
    struct Reference([u8; 32]);

    impl AesPieces for Reference {
        async fn block(&self, block: Block) -> Result<Block, AeadFailure> {
            let mut out = Array::from(block);
            Aes256::new_from_slice(&self.0).unwrap().encrypt_block(&mut out);
            Ok(out.into())
        }

        async fn aad_tag(&self, aad: &[u8]) -> Result<Block, AeadFailure> {
            let cipher = Aes256Gcm::new_from_slice(&self.0).unwrap();
            let mut nothing: [u8; 0] = [];
            Ok(cipher.encrypt_inout_detached(&Array::from([0u8; 12]), aad, (&mut nothing[..]).into()).unwrap().into())
        }

        async fn ctr(&self, counter: Block, buffer: &mut [u8], from: Range<usize>, to: usize) -> Result<(), AeadFailure> {
            let mut text = buffer[from].to_vec();
            ctr::Ctr32BE::<Aes256>::new_from_slices(&self.0, &counter).unwrap().apply_keystream(&mut text);
            buffer[to..to + text.len()].copy_from_slice(&text);
            Ok(())
        }
    }

    fn seal(key: &[u8; 32], iv: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> (Vec<u8>, Block) {
        let mut buffer = plaintext.to_vec();
        let tag = Aes256Gcm::new_from_slice(key).unwrap().encrypt_inout_detached(&Array::from(*iv), aad, buffer.as_mut_slice().into()).unwrap();
        (buffer, tag.into())
    }

    /// Opens a token-like buffer: the AAD, a dot, then the ciphertext;
    /// the plaintext comes back from the buffer's start.
    fn open(piece: usize, key: &[u8; 32], iv: &[u8; 12], aad: &[u8], text: &[u8], tag: &Block) -> (Result<Vec<u8>, AeadFailure>, usize, Vec<u8>) {
        let mut buffer = [aad, b".", text].concat();
        let start = aad.len() + 1;
        let mut turns = 0;
        let out = crate::source::run_now(decrypt_pieced(&Reference(*key), piece, iv, &mut buffer, 0..aad.len(), start..start + text.len(), tag, || {
            turns += 1;
            std::future::ready(())
        }));
        (out.map(|()| buffer[..text.len()].to_vec()), turns, buffer)
    }

    #[test]
    fn field_arithmetic_is_ghash() {
        let (h, x): (Block, Block) = (bytes(1, 16).try_into().unwrap(), bytes(2, 16).try_into().unwrap());
        // The identity: 1 is the block 0x80 00 … 00 in GHASH's bit order.
        let mut one = [0; 16];
        one[0] = 0x80;
        assert_eq!(mul(&one, &x), x);
        assert_eq!(mul(&x, &h), mul(&h, &x));
        let mut power = h;
        for n in 1..40 {
            assert_eq!(pow(&h, n), power, "h^{n}");
            power = mul(&power, &h);
        }
    }

    #[test]
    fn decrypts_as_aes_gcm_across_piece_boundaries() {
        let key: [u8; 32] = bytes(3, 32).try_into().unwrap();
        let iv: [u8; 12] = bytes(4, 12).try_into().unwrap();
        for piece in [16, 32, 48, 1024] {
            for len in [0, 1, 15, 16, 17, 31, 32, 33, 47, 48, 49, 100, 1023, 1024, 1025, 3000] {
                for aad_len in [0, 1, 16, 17, 40] {
                    let (plaintext, aad) = (bytes(len as u64 + 5, len), bytes(aad_len as u64 + 6, aad_len));
                    let (ciphertext, tag) = seal(&key, &iv, &aad, &plaintext);
                    let (out, turns, _) = open(piece, &key, &iv, &aad, &ciphertext, &tag);
                    assert_eq!(out, Ok(plaintext), "piece {piece}, {len} bytes, AAD {aad_len}");
                    assert_eq!(turns, 2 * len.div_ceil(piece), "a turn after each call");
                }
            }
        }
    }

    #[test]
    fn any_change_is_refused_before_anything_is_decrypted() {
        let key: [u8; 32] = bytes(7, 32).try_into().unwrap();
        let iv: [u8; 12] = bytes(8, 12).try_into().unwrap();
        let (plaintext, aad) = (bytes(9, 200), bytes(10, 33));
        let (ciphertext, tag) = seal(&key, &iv, &aad, &plaintext);
        let refused = |key: &[u8; 32], iv: &[u8; 12], aad: &[u8], text: &[u8], tag: &Block| {
            let (out, _, buffer) = open(48, key, iv, aad, text, tag);
            assert_eq!(out, Err(AeadFailure));
            assert_eq!(buffer, [aad, b".", text].concat(), "nothing decrypted");
        };
        for at in [0, 47, 48, 199] {
            let mut text = ciphertext.clone();
            text[at] ^= 1;
            refused(&key, &iv, &aad, &text, &tag);
        }
        refused(&key, &iv, &aad, &ciphertext[..199], &tag);
        refused(&key, &iv, &aad, &[ciphertext.as_slice(), &[0]].concat(), &tag);
        let mut other = aad.clone();
        other[32] ^= 0x80;
        refused(&key, &iv, &other, &ciphertext, &tag);
        refused(&key, &iv, &aad[..32], &ciphertext, &tag);
        let mut bad = tag;
        bad[15] ^= 1;
        refused(&key, &iv, &aad, &ciphertext, &bad);
        let mut wrong = iv;
        wrong[0] ^= 1;
        refused(&key, &wrong, &aad, &ciphertext, &tag);
        let mut wrong = key;
        wrong[31] ^= 1;
        refused(&wrong, &iv, &aad, &ciphertext, &tag);
    }

    #[test]
    fn the_megabyte_piece_decrypts_a_record_sized_text() {
        let key: [u8; 32] = bytes(11, 32).try_into().unwrap();
        let iv: [u8; 12] = bytes(12, 12).try_into().unwrap();
        let plaintext = bytes(13, 3 * CALL_PIECE + 21);
        let (text, tag) = seal(&key, &iv, b"header", &plaintext);
        let mut buffer = [&b"header"[..], &text].concat();
        let end = buffer.len();
        let out = crate::source::run_now(decrypt_pieced(&Reference(key), CALL_PIECE, &iv, &mut buffer, 0..6, 6..end, &tag, || std::future::ready(())));
        assert_eq!(out, Ok(()));
        assert!(buffer[..plaintext.len()] == plaintext);
    }
}
