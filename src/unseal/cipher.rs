//! AES-GCM behind a small trait, so a platform backend (WebCrypto) can stand
//! in for the portable one without the JWE logic knowing.

use patient_portal_gcm::Gcm;
use std::ops::Range;

use zeroize::Zeroizing;

use super::ContentKey;

/// Why an AEAD operation failed. Deliberately carries nothing: a wrong key, a
/// flipped bit and a truncated tag are indistinguishable to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AeadFailure;

/// What a ciphertext was sealed with, besides its AAD: the key, the 96-bit
/// IV and the 128-bit tag (detached).
#[derive(Clone, Copy)]
pub struct GcmSeal<'a> {
    pub key: &'a ContentKey,
    pub iv: &'a [u8; 12],
    pub tag: &'a [u8; 16],
}

/// AES-GCM with a 96-bit IV and a 128-bit tag, detached.
pub trait ContentCipher {
    /// Decrypts `ciphertext` and checks the tag over it and `aad`. Returns the
    /// whole plaintext or nothing.
    fn decrypt(&self, seal: &GcmSeal<'_>, aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, AeadFailure>;

    /// As [`ContentCipher::decrypt`], for callers that can give the event
    /// loop a turn: `between` is awaited between pieces of the work. By
    /// default the work is done in one call.
    fn decrypt_paced<F: std::future::Future<Output = ()>>(
        &self,
        seal: &GcmSeal<'_>,
        aad: &[u8],
        ciphertext: &[u8],
        between: impl FnMut() -> F,
    ) -> impl std::future::Future<Output = Result<Vec<u8>, AeadFailure>>
    where
        Self: Sized,
    {
        drop(between);
        std::future::ready(self.decrypt(seal, aad, ciphertext))
    }

    /// As [`ContentCipher::decrypt_paced`], for a ciphertext in a buffer the
    /// caller gives up: `buffer[ciphertext]`, with the AAD at `buffer[aad]`
    /// (a token decoded in place). A backend may decrypt in the buffer
    /// itself; by default the slices are decrypted and the buffer freed.
    fn decrypt_owned<F: std::future::Future<Output = ()>>(
        &self,
        seal: &GcmSeal<'_>,
        buffer: Vec<u8>,
        aad: Range<usize>,
        ciphertext: Range<usize>,
        between: impl FnMut() -> F,
    ) -> impl std::future::Future<Output = Result<Vec<u8>, AeadFailure>>
    where
        Self: Sized,
    {
        async move {
            let (aad, text) = (buffer.get(aad).ok_or(AeadFailure)?, buffer.get(ciphertext).ok_or(AeadFailure)?);
            self.decrypt_paced(seal, aad, text, between).await
        }
    }
}

/// An AES-GCM backend that may finish later (WebCrypto's `crypto.subtle` is
/// promise-based). Every [`ContentCipher`] is one that finishes at once.
pub trait AsyncCipher {
    /// As [`ContentCipher::decrypt`]; a backend doing the work itself awaits
    /// `between` between pieces of it (the browser pipeline gives the event
    /// loop a turn there).
    fn decrypt_async<F: std::future::Future<Output = ()>>(
        &self,
        seal: &GcmSeal<'_>,
        aad: &[u8],
        ciphertext: &[u8],
        between: impl FnMut() -> F,
    ) -> impl std::future::Future<Output = Result<Vec<u8>, AeadFailure>>;

    /// As [`ContentCipher::decrypt_owned`]: the buffer holding the
    /// ciphertext is given up, so a backend can free it (or decrypt in it)
    /// before the plaintext takes room of its own.
    fn decrypt_owned_async<F: std::future::Future<Output = ()>>(
        &self,
        seal: &GcmSeal<'_>,
        buffer: Vec<u8>,
        aad: Range<usize>,
        ciphertext: Range<usize>,
        between: impl FnMut() -> F,
    ) -> impl std::future::Future<Output = Result<Vec<u8>, AeadFailure>>;
}

impl<T: ContentCipher> AsyncCipher for T {
    fn decrypt_async<F: std::future::Future<Output = ()>>(
        &self,
        seal: &GcmSeal<'_>,
        aad: &[u8],
        ciphertext: &[u8],
        between: impl FnMut() -> F,
    ) -> impl std::future::Future<Output = Result<Vec<u8>, AeadFailure>> {
        self.decrypt_paced(seal, aad, ciphertext, between)
    }

    fn decrypt_owned_async<F: std::future::Future<Output = ()>>(
        &self,
        seal: &GcmSeal<'_>,
        buffer: Vec<u8>,
        aad: Range<usize>,
        ciphertext: Range<usize>,
        between: impl FnMut() -> F,
    ) -> impl std::future::Future<Output = Result<Vec<u8>, AeadFailure>> {
        self.decrypt_owned(seal, buffer, aad, ciphertext, between)
    }
}

/// The portable backend: RustCrypto's `aes-gcm`, constant-time, works in every
/// JavaScript engine and natively.
#[derive(Debug, Default, Clone, Copy)]
pub struct RustCryptoCipher;

impl ContentCipher for RustCryptoCipher {
    fn decrypt(&self, seal: &GcmSeal<'_>, aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, AeadFailure> {
        crate::source::run_now(decrypt_in_pieces(seal, aad, ciphertext, || std::future::ready(())))
    }

    fn decrypt_paced<F: std::future::Future<Output = ()>>(
        &self,
        seal: &GcmSeal<'_>,
        aad: &[u8],
        ciphertext: &[u8],
        between: impl FnMut() -> F,
    ) -> impl std::future::Future<Output = Result<Vec<u8>, AeadFailure>> {
        decrypt_in_pieces(seal, aad, ciphertext, between)
    }

    /// Decrypts in the buffer itself (see [`decrypt_in_place`]), then moves
    /// the plaintext to the buffer's start, wipes what follows it and gives
    /// that back: the plaintext never takes a second block.
    async fn decrypt_owned<F: std::future::Future<Output = ()>>(
        &self,
        seal: &GcmSeal<'_>,
        buffer: Vec<u8>,
        aad: Range<usize>,
        ciphertext: Range<usize>,
        between: impl FnMut() -> F,
    ) -> Result<Vec<u8>, AeadFailure> {
        let len = ciphertext.len();
        let mut buffer = decrypt_in_place(seal, buffer, aad, ciphertext.clone(), between).await?;
        buffer.copy_within(ciphertext, 0);
        cut_wiped(&mut buffer, len);
        Ok(std::mem::take(&mut *buffer))
    }
}

/// Decrypts `buffer[ciphertext]` where it lies (the AAD at `buffer[aad]`),
/// in pieces as [`decrypt_in_pieces`] does: the tag checked over the whole
/// ciphertext first; when it does not match, nothing is decrypted and the
/// buffer is wiped and freed. The buffer comes back holding the plaintext,
/// wiped when dropped (also half-way, by a cancelled open).
pub async fn decrypt_in_place<F: std::future::Future<Output = ()>>(
    seal: &GcmSeal<'_>,
    buffer: Vec<u8>,
    aad: Range<usize>,
    ciphertext: Range<usize>,
    mut between: impl FnMut() -> F,
) -> Result<Zeroizing<Vec<u8>>, AeadFailure> {
    let mut buffer = Zeroizing::new(buffer);
    if aad.end > ciphertext.start || buffer.get(ciphertext.clone()).is_none() {
        return Err(AeadFailure);
    }
    let (head, tail) = buffer.split_at_mut(ciphertext.start);
    let aad = head.get(aad).ok_or(AeadFailure)?;
    let text = tail.get_mut(..ciphertext.len()).ok_or(AeadFailure)?;
    let mut gcm = authenticate(seal, aad, text, &mut between).await?;
    for piece in text.chunks_mut(PIECE) {
        gcm.apply(piece);
        between().await;
    }
    Ok(buffer)
}

/// How much ciphertext the portable backend hashes or decrypts between two
/// turns of the event loop (a multiple of the 16-byte block).
pub const PIECE: usize = 64 * 1024;

/// GCM over the content key (see [`Gcm::new`]).
fn gcm(key: &ContentKey, iv: &[u8; 12], aad: &[u8], text_len: usize) -> Result<Gcm, AeadFailure> {
    Gcm::new(key.as_bytes(), iv, aad, text_len).ok_or(AeadFailure)
}

/// AES-GCM decryption (96-bit IV, 128-bit tag) in pieces of [`PIECE`]
/// bytes, awaiting `between` after each: first GHASH over the AAD, the
/// whole ciphertext and the lengths block, and the tag compared in
/// constant time; only when it matches, the ciphertext is decrypted. No
/// plaintext exists before the tag is checked, and a plaintext dropped
/// half-way (a cancelled open) is wiped.
async fn decrypt_in_pieces<F: std::future::Future<Output = ()>>(
    seal: &GcmSeal<'_>,
    aad: &[u8],
    ciphertext: &[u8],
    mut between: impl FnMut() -> F,
) -> Result<Vec<u8>, AeadFailure> {
    let mut gcm = authenticate(seal, aad, ciphertext, &mut between).await?;
    let mut plaintext = Zeroizing::new(ciphertext.to_vec());
    for piece in plaintext.chunks_mut(PIECE) {
        gcm.apply(piece);
        between().await;
    }
    Ok(std::mem::take(&mut *plaintext))
}

/// GHASH over the AAD and `ciphertext` in pieces, awaiting `between` after
/// each, and the tag compared in constant time: the cipher, ready to
/// decrypt, only when it matches.
async fn authenticate<F: std::future::Future<Output = ()>>(
    seal: &GcmSeal<'_>,
    aad: &[u8],
    ciphertext: &[u8],
    between: &mut impl FnMut() -> F,
) -> Result<Gcm, AeadFailure> {
    let mut gcm = gcm(seal.key, seal.iv, aad, ciphertext.len())?;
    for piece in ciphertext.chunks(PIECE) {
        gcm.hash(piece);
        between().await;
    }
    if !gcm.check(aad.len(), ciphertext.len(), seal.tag) {
        return Err(AeadFailure);
    }
    Ok(gcm)
}

/// Zeroes `bytes` with one bulk fill (`memory.fill` in WebAssembly, `memset`
/// natively) that `black_box` keeps from being dropped as a store to memory
/// about to be given up. `zeroize` writes a byte slice one volatile byte at
/// a time: in a browser's first, unoptimised compilation of the module that
/// took about 27 ns a byte at 4x CPU slowdown, 75 ms for the 2.8 MB a folded
/// 9.1 MB record gives up (ARCHITECTURE "Staying responsive").
pub fn wipe(bytes: &mut [u8]) {
    bytes.fill(0);
    std::hint::black_box(bytes);
}

/// Whether the global allocator wipes every block it takes back: the
/// WebAssembly build's does (`wasm::alloc`), so there a buffer about to be
/// freed or shrunk is not wiped first as well (that was a second fill of
/// the same megabytes). Natively the platform's allocator does not.
const FREEING_WIPES: bool = cfg!(target_arch = "wasm32");

/// Wipes a plaintext (its whole capacity) four megabytes at a time,
/// awaiting `between` after each, and frees it: dropping a `Zeroizing`
/// buffer of megabytes wipes it byte by byte in one go. Where the allocator
/// wipes what it takes back ([`FREEING_WIPES`]) it is freed at once: one
/// bulk fill there.
pub async fn wipe_paced<F: std::future::Future<Output = ()>>(mut plaintext: Zeroizing<Vec<u8>>, mut between: impl FnMut() -> F) {
    let mut bytes = std::mem::take(&mut *plaintext);
    if FREEING_WIPES {
        return;
    }
    bytes.resize(bytes.capacity(), 0);
    for chunk in bytes.chunks_mut(4 << 20) {
        wipe(chunk);
        between().await;
    }
}

/// Keeps the first `len` bytes of `buffer`: wipes the rest (with a fill the
/// compiler keeps, though the room is given up next; or, where the
/// allocator wipes what it takes back, by that) and shrinks the buffer to
/// them (in the browser's allocator it stays where it is and the room is
/// free at once).
pub fn cut_wiped(buffer: &mut Vec<u8>, len: usize) {
    if !FREEING_WIPES {
        wipe(buffer.get_mut(len..).unwrap_or_default());
    }
    buffer.truncate(len);
    buffer.shrink_to_fit();
}

/// Encrypts `buffer` in place and returns the tag (used by `seal`, and by
/// sharing where WebCrypto is missing).
pub fn encrypt(key: &ContentKey, iv: &[u8; 12], aad: &[u8], buffer: &mut [u8]) -> Result<[u8; 16], AeadFailure> {
    let mut gcm = gcm(key, iv, aad, buffer.len())?;
    gcm.apply(buffer);
    gcm.hash(buffer);
    Ok(gcm.tag(aad.len(), buffer.len()))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use aes_gcm::aead::array::Array;
    use aes_gcm::aes::Aes256;
    use aes_gcm::{AeadInOut, Aes128Gcm, Aes256Gcm, KeyInit};
    use patient_portal_gcm::{Ctr32, CTR_BATCH};

    pub(crate) use crate::util::test_bytes as bytes;

    /// Seals with RustCrypto's `aes-gcm` (the reference).
    fn reference_seal(key: &[u8], iv: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> (Vec<u8>, [u8; 16]) {
        let mut buffer = plaintext.to_vec();
        let nonce = Array::from(*iv);
        let tag = match key.len() {
            32 => Aes256Gcm::new_from_slice(key).unwrap().encrypt_inout_detached(&nonce, aad, buffer.as_mut_slice().into()),
            _ => Aes128Gcm::new_from_slice(key).unwrap().encrypt_inout_detached(&nonce, aad, buffer.as_mut_slice().into()),
        }
        .unwrap();
        (buffer, tag.into())
    }

    /// Decrypts in pieces, counting the turns given to the event loop.
    fn paced(key: &ContentKey, iv: &[u8; 12], aad: &[u8], ciphertext: &[u8], tag: &[u8; 16]) -> (Result<Vec<u8>, AeadFailure>, usize) {
        let mut turns = 0;
        let out = crate::source::run_now(RustCryptoCipher.decrypt_async(&GcmSeal { key, iv, tag }, aad, ciphertext, || {
            turns += 1;
            std::future::ready(())
        }));
        (out, turns)
    }

    #[test]
    fn the_counter_mode_is_ctr32_even_where_the_counter_wraps() {
        use ctr::cipher::{KeyIvInit, StreamCipher};
        let key: [u8; 32] = bytes(7, 32).try_into().unwrap();
        let prefix: [u8; 12] = bytes(8, 12).try_into().unwrap();
        for start in [1, 0xFFFF_FFF0, u32::MAX] {
            for len in [0, 5, 16, 100, 16 * CTR_BATCH, 16 * CTR_BATCH + 3, 1000] {
                let text = bytes(u64::from(start) + len as u64, len);
                let mut ours = text.clone();
                let mut stream = Ctr32::new(Aes256::new_from_slice(&key).unwrap(), prefix, start);
                // Whole blocks first, then the rest, as the pieces come.
                let cut = len / 3 / 16 * 16;
                stream.apply(&mut ours[..cut]);
                stream.apply(&mut ours[cut..]);
                let mut iv = [0; 16];
                iv[..12].copy_from_slice(&prefix);
                iv[12..].copy_from_slice(&start.to_be_bytes());
                let mut reference = text.clone();
                ctr::Ctr32BE::<Aes256>::new_from_slices(&key, &iv).unwrap().apply_keystream(&mut reference);
                assert_eq!(ours, reference, "counter from {start:#x}, {len} bytes");
            }
        }
    }

    #[test]
    fn pieces_match_aes_gcm_at_every_size() {
        let sizes = [
            0,
            1,
            15,
            16,
            17,
            31,
            33,
            16 * CTR_BATCH - 1,
            16 * CTR_BATCH,
            16 * CTR_BATCH + 1,
            16 * CTR_BATCH + 8,
            32 * CTR_BATCH - 9,
            PIECE - 17,
            PIECE - 16,
            PIECE - 1,
            PIECE,
            PIECE + 1,
            PIECE + 15,
            PIECE + 16,
            2 * PIECE - 1,
            2 * PIECE + 1,
            3 * 1024 * 1024 + 5,
        ];
        for (n, &size) in sizes.iter().enumerate() {
            for key_len in [16, 32] {
                let seed = (n * 2 + key_len) as u64;
                let key_bytes = bytes(seed, key_len);
                let key = ContentKey::from_bytes(&key_bytes).unwrap();
                let iv: [u8; 12] = bytes(seed + 100, 12).try_into().unwrap();
                let aad = bytes(seed + 200, size % 50);
                let plaintext = bytes(seed + 300, size);
                let (ciphertext, tag) = reference_seal(&key_bytes, &iv, &aad, &plaintext);

                let (out, turns) = paced(&key, &iv, &aad, &ciphertext, &tag);
                assert_eq!(out.as_deref(), Ok(plaintext.as_slice()), "size {size}, key {key_len}");
                // Hashing and decrypting each take one turn per piece.
                assert_eq!(turns, 2 * size.div_ceil(PIECE), "size {size}");
                assert_eq!(RustCryptoCipher.decrypt(&GcmSeal { key: &key, iv: &iv, tag: &tag }, &aad, &ciphertext).as_deref(), Ok(plaintext.as_slice()));

                // Our own encryption decrypts with the reference too.
                let mut sealed = plaintext.clone();
                let own_tag = encrypt(&key, &iv, &aad, &mut sealed).unwrap();
                assert_eq!((sealed.as_slice(), own_tag), (ciphertext.as_slice(), tag));
            }
        }
    }

    #[test]
    fn any_tampering_fails_without_plaintext() {
        let key_bytes = bytes(7, 32);
        let key = ContentKey::from_bytes(&key_bytes).unwrap();
        let iv: [u8; 12] = bytes(8, 12).try_into().unwrap();
        let aad = b"eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0".to_vec();
        let plaintext = bytes(9, PIECE + 100);
        let (ciphertext, tag) = reference_seal(&key_bytes, &iv, &aad, &plaintext);
        assert!(paced(&key, &iv, &aad, &ciphertext, &tag).0.is_ok());

        for at in [0, 15, 16, PIECE - 1, PIECE, ciphertext.len() - 1] {
            let mut bad = ciphertext.clone();
            bad[at] ^= 0x01;
            let (out, turns) = paced(&key, &iv, &aad, &bad, &tag);
            assert_eq!(out, Err(AeadFailure), "ciphertext bit at {at}");
            // Only the hashing pass ran: nothing was decrypted.
            assert_eq!(turns, 2);
        }
        // A truncated or extended ciphertext.
        assert_eq!(paced(&key, &iv, &aad, &ciphertext[..ciphertext.len() - 1], &tag).0, Err(AeadFailure));
        let mut longer = ciphertext.clone();
        longer.push(0);
        assert_eq!(paced(&key, &iv, &aad, &longer, &tag).0, Err(AeadFailure));
        for at in [0, 7, 15] {
            let mut bad = tag;
            bad[at] ^= 0x80;
            assert_eq!(paced(&key, &iv, &aad, &ciphertext, &bad).0, Err(AeadFailure), "tag byte {at}");
        }
        let mut bad_aad = aad.clone();
        bad_aad[3] ^= 0x20;
        assert_eq!(paced(&key, &iv, &bad_aad, &ciphertext, &tag).0, Err(AeadFailure));
        assert_eq!(paced(&key, &iv, &aad[1..], &ciphertext, &tag).0, Err(AeadFailure));
        let mut bad_iv = iv;
        bad_iv[11] ^= 1;
        assert_eq!(paced(&key, &bad_iv, &aad, &ciphertext, &tag).0, Err(AeadFailure));
        let other = ContentKey::from_bytes(&bytes(10, 32)).unwrap();
        assert_eq!(paced(&other, &iv, &aad, &ciphertext, &tag).0, Err(AeadFailure));
        let short = ContentKey::from_bytes(&bytes(10, 16)).unwrap();
        assert_eq!(paced(&short, &iv, &aad, &ciphertext, &tag).0, Err(AeadFailure));
    }

    #[test]
    fn decrypting_in_the_buffer_matches_and_refuses_alike() {
        let key_bytes = bytes(11, 32);
        let key = ContentKey::from_bytes(&key_bytes).unwrap();
        let iv: [u8; 12] = bytes(12, 12).try_into().unwrap();
        let aad = b"eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0".to_vec();
        for size in [0, 1, 17, PIECE, PIECE + 1, 3 * PIECE + 5] {
            let plaintext = bytes(13 + size as u64, size);
            let (ciphertext, tag) = reference_seal(&key_bytes, &iv, &aad, &plaintext);
            // A token's layout: the AAD, other text, the ciphertext, more text.
            let buffer = [&aad[..], b"..iv.", &ciphertext, b".tag"].concat();
            let at = aad.len() + 5;
            let owned = |buffer: Vec<u8>, aad: Range<usize>, text: Range<usize>, tag: &[u8; 16]| {
                let mut turns = 0;
                let out = crate::source::run_now(RustCryptoCipher.decrypt_owned_async(&GcmSeal { key: &key, iv: &iv, tag }, buffer, aad, text, || {
                    turns += 1;
                    std::future::ready(())
                }));
                (out, turns)
            };
            let (out, turns) = owned(buffer.clone(), 0..aad.len(), at..at + size, &tag);
            let out = out.unwrap();
            assert_eq!(out, plaintext, "size {size}");
            // The buffer was cut down to the plaintext: no room beyond it.
            assert_eq!(out.capacity(), size);
            assert!(turns >= 2 * size.div_ceil(PIECE), "size {size}");
            if size > 0 {
                let mut bad = buffer.clone();
                bad[at + size - 1] ^= 1;
                let (out, turns) = owned(bad, 0..aad.len(), at..at + size, &tag);
                // Only the hashing pass ran: nothing was decrypted.
                assert_eq!((out, turns), (Err(AeadFailure), size.div_ceil(PIECE)), "size {size}");
            }
            let mut bad_tag = tag;
            bad_tag[0] ^= 1;
            assert_eq!(owned(buffer.clone(), 0..aad.len(), at..at + size, &bad_tag).0, Err(AeadFailure));
            // The wrong AAD, a range past the end, an AAD over the ciphertext.
            assert_eq!(owned(buffer.clone(), 1..aad.len(), at..at + size, &tag).0, Err(AeadFailure));
            assert_eq!(owned(buffer.clone(), 0..aad.len(), at..buffer.len() + 1, &tag).0, Err(AeadFailure));
            assert_eq!(owned(buffer.clone(), 0..at + 1, at..at + size, &tag).0, Err(AeadFailure));
            // A reversed range, an empty one past the end.
            #[allow(clippy::reversed_empty_ranges)]
            let reversed = at + 1..at;
            assert_eq!(owned(buffer.clone(), 0..aad.len(), reversed, &tag).0, Err(AeadFailure));
            assert_eq!(owned(buffer.clone(), 0..aad.len(), buffer.len() + 3..buffer.len() + 3, &tag).0, Err(AeadFailure));
        }
    }

    #[test]
    fn wipe_in_steps() {
        let mut text = Vec::with_capacity(9 << 20);
        text.extend_from_slice(&bytes(1, (8 << 20) + 5));
        let mut turns = 0;
        crate::source::run_now(wipe_paced(Zeroizing::new(text), || {
            turns += 1;
            std::future::ready(())
        }));
        assert_eq!(turns, 3);
    }

    #[test]
    fn wipe_zeroes_every_byte_and_cut_keeps_the_head() {
        let mut text = bytes(2, 1000);
        let head = text.get(..10).unwrap().to_vec();
        wipe(text.get_mut(10..).unwrap());
        assert_eq!(text.get(..10).unwrap(), head.as_slice());
        assert!(text.get(10..).unwrap().iter().all(|&b| b == 0));
        let mut text = bytes(3, 1000);
        let head = text.get(..7).unwrap().to_vec();
        cut_wiped(&mut text, 7);
        assert_eq!((text.as_slice(), text.capacity()), (head.as_slice(), 7));
    }

    #[test]
    fn known_answer() {
        // NIST GCM test vector (gcmEncryptExtIV256, Count 0 with 128-bit plaintext): key 0, IV 0.
        let key = ContentKey::from_bytes(&[0u8; 32]).unwrap();
        let iv = [0u8; 12];
        let ciphertext = [0xce, 0xa7, 0x40, 0x3d, 0x4d, 0x60, 0x6b, 0x6e, 0x07, 0x4e, 0xc5, 0xd3, 0xba, 0xf3, 0x9d, 0x18];
        let tag = [0xd0, 0xd1, 0xc8, 0xa7, 0x99, 0x99, 0x6b, 0xf0, 0x26, 0x5b, 0x98, 0xb5, 0xd4, 0x8a, 0xb9, 0x19];
        assert_eq!(paced(&key, &iv, &[], &ciphertext, &tag).0, Ok(vec![0u8; 16]));
    }
}
