//! The JWE compact serialization: parse, unseal, seal.

use std::ops::Range;

use zeroize::Zeroizing;

use super::inflate::{deflate_paced, inflate};
use super::{clip, AsyncCipher, ContentCipher, ContentKey, GcmSeal, RustCryptoCipher, Segment, UnsealError, UnsealOptions};

/// The content-encryption algorithms accepted with `alg: "dir"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encryption {
    A256Gcm,
    A128Gcm,
}

impl Encryption {
    /// The JOSE name.
    pub fn name(self) -> &'static str {
        match self {
            Encryption::A256Gcm => "A256GCM",
            Encryption::A128Gcm => "A128GCM",
        }
    }

    fn key_len(self) -> usize {
        match self {
            Encryption::A256Gcm => 32,
            Encryption::A128Gcm => 16,
        }
    }
}

/// The protected header fields this crate acts on. Others (`kid`, `typ`, …)
/// are ignored, as RFC 7516 allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub enc: Encryption,
    /// `zip: "DEF"` was present.
    pub deflated: bool,
    /// The content type (`cty`), when given. Real files often omit it.
    pub content_type: Option<String>,
    /// The key id (`kid`), when given; informational with `dir`.
    pub key_id: Option<String>,
}

fn as_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => clip(s),
        other => clip(&crate::fhir::value::write(other)),
    }
}

impl Header {
    fn from_json(bytes: &[u8]) -> Result<Self, UnsealError> {
        let raw: serde_json::Value = crate::fhir::value::parse(bytes).map_err(|e| UnsealError::Header(clip(&e.to_string())))?;
        let Some(members) = raw.as_object() else {
            return Err(UnsealError::Header("it is not a JSON object".into()));
        };
        // A member given as `null` counts as absent, as it always has.
        let member = |name: &str| members.get(name).filter(|v| !v.is_null());
        let text = |name: &str| match member(name) {
            None => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(UnsealError::Header(format!("\"{name}\" is not a string"))),
        };
        let (cty, kid) = (text("cty")?, text("kid")?);
        if let Some(crit) = member("crit") {
            return Err(UnsealError::UnsupportedCritical(as_text(crit)));
        }
        match member("alg") {
            Some(serde_json::Value::String(a)) if a == "dir" => {}
            Some(other) => return Err(UnsealError::UnsupportedAlgorithm(as_text(other))),
            None => return Err(UnsealError::Header("missing \"alg\"".into())),
        }
        let enc = match member("enc") {
            Some(serde_json::Value::String(e)) if e == "A256GCM" => Encryption::A256Gcm,
            Some(serde_json::Value::String(e)) if e == "A128GCM" => Encryption::A128Gcm,
            Some(other) => return Err(UnsealError::UnsupportedEncryption(as_text(other))),
            None => return Err(UnsealError::Header("missing \"enc\"".into())),
        };
        let deflated = match member("zip") {
            None => false,
            Some(serde_json::Value::String(z)) if z == "DEF" => true,
            Some(other) => return Err(UnsealError::UnsupportedCompression(as_text(other))),
        };
        Ok(Header { enc, deflated, content_type: cty, key_id: kid })
    }
}

/// A structurally valid `dir` JWE, not yet decrypted.
#[derive(Debug, Clone)]
pub struct ParsedJwe<'a> {
    pub header: Header,
    /// The protected header segment exactly as received: the AAD.
    pub aad: &'a [u8],
    pub iv: [u8; 12],
    pub ciphertext: Vec<u8>,
    pub tag: [u8; 16],
}

fn decode(segment: &[u8], which: Segment) -> Result<Vec<u8>, UnsealError> {
    crate::b64::decode_url(segment).ok_or(UnsealError::Base64(which))
}

/// Checks the structure and header of a compact JWE and decodes its parts.
/// Leading and trailing ASCII whitespace (a trailing newline in a file) is ignored.
pub fn parse(compact: &str) -> Result<ParsedJwe<'_>, UnsealError> {
    let (mut jwe, text) = segments(compact.as_bytes())?;
    let text = compact.as_bytes().get(text).unwrap_or_default();
    jwe.ciphertext = decode(text, Segment::Ciphertext).map_err(|_| ciphertext_error(text))?;
    Ok(jwe)
}

/// [`parse`] with the ciphertext left as base64url text (returned beside an
/// empty `ciphertext`), for callers that decode it in pieces.
///
/// The segments are found from the ends: the three short ones from the
/// start and the tag from the end. The ciphertext between them (megabytes
/// for a large record, a long task to scan on a slow phone) is not read
/// here; a `.` in it (more than five segments) fails its decoding, which
/// then reports the segment count (see [`ciphertext_error`]). Any error
/// found here is the segment count when that is not five, as before.
pub fn parse_without_ciphertext(compact: &str) -> Result<(ParsedJwe<'_>, &str), UnsealError> {
    let (jwe, text) = segments(compact.as_bytes())?;
    Ok((jwe, compact.get(text).unwrap_or_default()))
}

/// [`parse_without_ciphertext`] over a token's bytes: the parsed parts and
/// where the ciphertext's text lies in `compact`.
fn segments(compact: &[u8]) -> Result<(ParsedJwe<'_>, Range<usize>), UnsealError> {
    let token = compact.trim_ascii();
    let found = || UnsealError::SegmentCount { found: dots(token) + 1 };
    let [protected, encrypted_key, iv, ciphertext, tag] = split_ends(token).ok_or_else(found)?;
    let (header, iv, tag) = parts(protected, encrypted_key, iv, tag).map_err(|err| if dots(ciphertext) == 0 { err } else { found() })?;
    // The segments are slices of `compact`: the ciphertext's offset is where it starts.
    let at = ciphertext.as_ptr() as usize - compact.as_ptr() as usize;
    Ok((ParsedJwe { header, aad: protected, iv, ciphertext: Vec::new(), tag }, at..at + ciphertext.len()))
}

/// The header, the IV and the tag from their segments.
fn parts(protected: &[u8], encrypted_key: &[u8], iv: &[u8], tag: &[u8]) -> Result<(Header, [u8; 12], [u8; 16]), UnsealError> {
    let header = Header::from_json(&decode(protected, Segment::ProtectedHeader)?)?;
    if !encrypted_key.is_empty() {
        return Err(UnsealError::EncryptedKeyPresent);
    }
    let iv = decode(iv, Segment::Iv)?;
    let iv: [u8; 12] = iv.as_slice().try_into().map_err(|_| UnsealError::IvLength { bits: iv.len() * 8 })?;
    let tag = decode(tag, Segment::Tag)?;
    let tag: [u8; 16] = tag.as_slice().try_into().map_err(|_| UnsealError::TagLength { bits: tag.len() * 8 })?;
    Ok((header, iv, tag))
}

/// The five segments of a compact JWE if the first three and the last are
/// where five would be, found from its two ends: the fourth (the
/// ciphertext) may still hold a `.`.
fn split_ends(compact: &[u8]) -> Option<[&[u8]; 5]> {
    let (head, tag) = cut(compact, compact.iter().rposition(|&b| b == b'.')?)?;
    fn cut_first(text: &[u8]) -> Option<(&[u8], &[u8])> {
        cut(text, text.iter().position(|&b| b == b'.')?)
    }
    let (protected, rest) = cut_first(head)?;
    let (encrypted_key, rest) = cut_first(rest)?;
    let (iv, ciphertext) = cut_first(rest)?;
    Some([protected, encrypted_key, iv, ciphertext, tag])
}

/// `text` before and after the byte at `at` (a `.`).
fn cut(text: &[u8], at: usize) -> Option<(&[u8], &[u8])> {
    Some((text.get(..at)?, text.get(at + 1..)?))
}

/// The error for ciphertext text (what is still to decode of it) that does
/// not decode: the segment count when it holds a `.` (the token had more
/// than five segments), else invalid base64url.
fn ciphertext_error(text: &[u8]) -> UnsealError {
    match dots(text) {
        0 => UnsealError::Base64(Segment::Ciphertext),
        n => UnsealError::SegmentCount { found: 5 + n },
    }
}

fn dots(text: &[u8]) -> usize {
    text.iter().filter(|&&b| b == b'.').count()
}

/// Base64url characters decoded between two turns of the event loop: a
/// multiple of 4, so pieces decode on their own. A megabyte at a time was
/// tens of milliseconds a piece in a browser's first, unoptimised
/// compilation at 4x CPU slowdown (ARCHITECTURE "Staying responsive").
const DECODE_PIECE: usize = 1 << 18;

/// Decodes base64url `text` in pieces of [`DECODE_PIECE`] characters,
/// calling `between` after each (the browser pipeline gives the event loop
/// a turn there).
pub async fn decode_ciphertext_paced<F: std::future::Future<Output = ()>>(text: &str, mut between: impl FnMut() -> F) -> Result<Vec<u8>, UnsealError> {
    let text = text.as_bytes();
    if text.len() % 4 == 1 {
        return Err(ciphertext_error(text));
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    for start in (0..text.len()).step_by(DECODE_PIECE) {
        let piece = text.get(start..(start + DECODE_PIECE).min(text.len())).unwrap_or_default();
        crate::b64::decode_url_into(piece, &mut out).ok_or_else(|| ciphertext_error(text.get(start..).unwrap_or_default()))?;
        between().await;
    }
    Ok(out)
}

impl ParsedJwe<'_> {
    /// Checks that `key` fits the header's `enc`.
    pub fn check_key(&self, key: &ContentKey) -> Result<(), UnsealError> {
        let expected = self.header.enc.key_len();
        let found = key.as_bytes().len();
        if found == expected {
            Ok(())
        } else {
            Err(UnsealError::KeyMismatch { enc: self.header.enc.name(), expected, found })
        }
    }

    /// Applies `zip` and the size limit to a decrypted payload.
    pub fn finish(&self, plaintext: Zeroizing<Vec<u8>>, options: &UnsealOptions) -> Result<Zeroizing<Vec<u8>>, UnsealError> {
        let limit = options.max_plaintext;
        if self.header.deflated {
            Ok(Zeroizing::new(inflate(&plaintext, limit)?))
        } else if plaintext.len() > limit {
            Err(UnsealError::TooLarge { limit })
        } else {
            Ok(plaintext)
        }
    }
}

/// Decrypts a compact JWE with the portable AES-GCM backend.
pub fn unseal(compact: &str, key: &ContentKey, options: &UnsealOptions) -> Result<(Header, Zeroizing<Vec<u8>>), UnsealError> {
    unseal_with(&RustCryptoCipher, compact, key, options)
}

/// Parses `compact` and checks it against the key and the size limit.
fn prepare<'a>(compact: &'a str, key: &ContentKey, options: &UnsealOptions) -> Result<ParsedJwe<'a>, UnsealError> {
    let jwe = parse(compact)?;
    jwe.check_key(key)?;
    // Refuse obviously oversized input before spending time on it (without
    // zip the plaintext is as long as the ciphertext).
    if !jwe.header.deflated && jwe.ciphertext.len() > options.max_plaintext {
        return Err(UnsealError::TooLarge { limit: options.max_plaintext });
    }
    Ok(jwe)
}

/// Decrypts a compact JWE with an asynchronous backend (WebCrypto in the
/// browser); the same checks and limits as [`unseal_with`].
/// The ciphertext is decoded (and, with the portable backend, decrypted) in
/// pieces, calling `between` after each (the browser pipeline gives the
/// event loop a turn there).
pub async fn unseal_async<C: AsyncCipher, F: std::future::Future<Output = ()>>(
    cipher: &C,
    compact: &str,
    key: &ContentKey,
    options: &UnsealOptions,
    mut between: impl FnMut() -> F,
) -> Result<(Header, Zeroizing<Vec<u8>>), UnsealError> {
    let (mut jwe, text) = parse_without_ciphertext(compact)?;
    jwe.check_key(key)?;
    if !jwe.header.deflated && text.len() * 3 / 4 > options.max_plaintext {
        return Err(UnsealError::TooLarge { limit: options.max_plaintext });
    }
    jwe.ciphertext = decode_ciphertext_paced(text, &mut between).await?;
    let plaintext =
        cipher.decrypt_async(&GcmSeal { key, iv: &jwe.iv, tag: &jwe.tag }, jwe.aad, &jwe.ciphertext, &mut between).await.map_err(|_| UnsealError::Decrypt)?;
    drop(std::mem::take(&mut jwe.ciphertext));
    between().await;
    let plaintext = jwe.finish(Zeroizing::new(plaintext), options)?;
    Ok((jwe.header, plaintext))
}

/// [`unseal_async`] for a token the caller gives up, as bytes (a fetched
/// body, checked to be base64url and dots, is not copied or checked again
/// as UTF-8; leading and trailing ASCII whitespace is ignored): its
/// ciphertext is decoded into the token's own buffer (base64url text is
/// longer than the bytes it encodes), a quarter megabyte at a time, so the
/// text and the ciphertext never take room side by side; the cipher then
/// takes the buffer (see [`AsyncCipher::decrypt_owned_async`]), so the
/// token and the plaintext need not either.
/// `between` is awaited for each turn (see [`crate::source::Turn`]).
pub async fn unseal_async_owned<'t, C: AsyncCipher>(
    cipher: &C,
    compact: Vec<u8>,
    key: &ContentKey,
    options: &UnsealOptions,
    between: &mut (dyn FnMut() -> crate::source::Turn<'t> + '_),
) -> Result<(Header, Zeroizing<Vec<u8>>), UnsealError> {
    let (header, iv, tag, aad, text) = {
        let (jwe, text) = segments(&compact)?;
        jwe.check_key(key)?;
        if !jwe.header.deflated && text.len() * 3 / 4 > options.max_plaintext {
            return Err(UnsealError::TooLarge { limit: options.max_plaintext });
        }
        if text.len() % 4 == 1 {
            return Err(ciphertext_error(compact.get(text).unwrap_or_default()));
        }
        // Where the AAD lies in the token.
        let aad = jwe.aad.as_ptr() as usize - compact.as_ptr() as usize;
        (jwe.header, jwe.iv, jwe.tag, aad..aad + jwe.aad.len(), text)
    };
    let mut buffer = compact;
    let mut end = text.start;
    for start in text.clone().step_by(DECODE_PIECE) {
        // The bytes decoded so far end before the text still to decode starts.
        // What did not decode lies intact from where it failed: a `.` there makes the segment count the error.
        end += crate::b64::decode_url_in_place(&mut buffer, start..(start + DECODE_PIECE).min(text.end), end)
            .map_err(|at| ciphertext_error(buffer.get(at..text.end).unwrap_or_default()))?;
        between().await;
    }
    // The buffer goes to the cipher: it frees it (or decrypts in it) before
    // the plaintext takes room of its own.
    let plaintext = cipher
        .decrypt_owned_async(&GcmSeal { key, iv: &iv, tag: &tag }, buffer, aad, text.start..end, &mut *between)
        .await
        .map_err(|_| UnsealError::Decrypt)?;
    let jwe = ParsedJwe { header, aad: &[], iv, ciphertext: Vec::new(), tag };
    let plaintext = jwe.finish(Zeroizing::new(plaintext), options)?;
    Ok((jwe.header, plaintext))
}

/// Decrypts a compact JWE with the given cipher backend.
pub fn unseal_with(cipher: &dyn ContentCipher, compact: &str, key: &ContentKey, options: &UnsealOptions) -> Result<(Header, Zeroizing<Vec<u8>>), UnsealError> {
    let jwe = prepare(compact, key, options)?;
    let plaintext = cipher.decrypt(&GcmSeal { key, iv: &jwe.iv, tag: &jwe.tag }, jwe.aad, &jwe.ciphertext).map_err(|_| UnsealError::Decrypt)?;
    let plaintext = jwe.finish(Zeroizing::new(plaintext), options)?;
    Ok((jwe.header, plaintext))
}

/// How to seal a record.
#[derive(Debug, Clone, Default)]
pub struct SealOptions {
    /// Compress with raw DEFLATE (`zip: "DEF"`) before encrypting.
    pub deflate: bool,
    /// The `cty` header, e.g. `application/fhir+json`.
    pub content_type: Option<String>,
}

/// The first step of sealing: the protected header (base64url, the AAD)
/// and the bytes to encrypt (deflated when asked). The key's length
/// chooses `A256GCM` or `A128GCM`.
pub fn seal_prepare(plaintext: &[u8], key: &ContentKey, options: &SealOptions) -> Result<(String, Zeroizing<Vec<u8>>), UnsealError> {
    crate::source::run_now(seal_prepare_paced(plaintext, key, options, &crate::source::Immediate))
}

/// [`seal_prepare`], compressing in slices that give the event loop a turn.
pub async fn seal_prepare_paced<S: crate::source::Scheduler>(
    plaintext: &[u8],
    key: &ContentKey,
    options: &SealOptions,
    sched: &S,
) -> Result<(String, Zeroizing<Vec<u8>>), UnsealError> {
    let protected = seal_header(key, options)?;
    let bytes = if options.deflate { deflate_paced(plaintext, sched).await.ok_or(UnsealError::Inflate)? } else { Zeroizing::new(plaintext.to_vec()) };
    Ok((protected, bytes))
}

/// The protected header of a sealed `dir` JWE, base64url (the AAD):
/// `A256GCM` or `A128GCM` by the key's length, `zip: "DEF"` when
/// `options.deflate` (the caller then encrypts raw DEFLATE data).
pub fn seal_header(key: &ContentKey, options: &SealOptions) -> Result<String, UnsealError> {
    let enc = match key.as_bytes().len() {
        32 => Encryption::A256Gcm,
        16 => Encryption::A128Gcm,
        found => return Err(UnsealError::KeyLength { found }),
    };
    let mut header = serde_json::Map::new();
    header.insert("alg".into(), "dir".into());
    header.insert("enc".into(), enc.name().into());
    if options.deflate {
        header.insert("zip".into(), "DEF".into());
    }
    if let Some(cty) = &options.content_type {
        header.insert("cty".into(), cty.clone().into());
    }
    let header_json = crate::fhir::value::write(&serde_json::Value::Object(header));
    Ok(crate::b64::encode_url(header_json.as_bytes()))
}

/// The compact serialization of a sealed `dir` JWE.
pub fn seal_compact(protected: &str, iv: &[u8; 12], ciphertext: &[u8], tag: &[u8; 16]) -> String {
    format!("{protected}..{}.{}.{}", crate::b64::encode_url(iv), crate::b64::encode_url(ciphertext), crate::b64::encode_url(tag))
}

/// Encrypts `plaintext` as a compact JWE (`dir`, A256GCM or A128GCM by key
/// length). The caller supplies a fresh random 96-bit `iv`: never reuse one
/// with the same key.
pub fn seal(plaintext: &[u8], key: &ContentKey, iv: [u8; 12], options: &SealOptions) -> Result<String, UnsealError> {
    let (protected, mut buffer) = seal_prepare(plaintext, key, options)?;
    let tag = super::cipher::encrypt(key, &iv, protected.as_bytes(), &mut buffer).map_err(|_| UnsealError::Decrypt)?;
    Ok(seal_compact(&protected, &iv, &buffer, &tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(jwe: &str, key: &ContentKey) -> Result<(Header, Zeroizing<Vec<u8>>), UnsealError> {
        let mut turns = 0;
        let out = crate::source::run_now(unseal_async_owned(&RustCryptoCipher, jwe.as_bytes().to_vec(), key, &UnsealOptions::default(), &mut || {
            turns += 1;
            Box::pin(std::future::ready(()))
        }));
        // At least a turn per megabyte of text decoded and per megabyte decrypted.
        assert!(turns >= 2 * (jwe.len() >> 20), "{turns}");
        out
    }

    #[test]
    fn decoding_in_the_tokens_own_buffer_unseals_as_before() {
        let key = ContentKey::from_bytes(&[9u8; 32]).unwrap();
        let options = SealOptions { deflate: false, content_type: Some("application/fhir+json".into()) };
        // Sizes around the megabyte pieces of base64url text (3 bytes to 4 characters).
        for len in [0, 1, 2, 3, 786_431, 786_432, 786_433, 3 * 786_432 + 2] {
            let plaintext: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let jwe = seal(&plaintext, &key, [3u8; 12], &options).unwrap();
            let expected = unseal(&jwe, &key, &UnsealOptions::default()).unwrap();
            let (header, got) = owned(&format!("\n {jwe}\n"), &key).unwrap();
            assert_eq!((header, &*got), (expected.0, &*expected.1), "{len}");
            assert_eq!(*got, plaintext);
        }
        // The same refusals, in the same order.
        let jwe = seal(&[5u8; 2_000_000], &key, [3u8; 12], &options).unwrap();
        let parts: Vec<&str> = jwe.split('.').collect();
        let mut bad = parts[3].to_string();
        bad.replace_range(1_500_000..1_500_001, "*");
        let with = |ciphertext: &str| [parts[0], parts[1], parts[2], ciphertext, parts[4]].join(".");
        for jwe in [with(&bad), with(&parts[3][..parts[3].len() - 1]), with(&format!("{}A", parts[3])), jwe.replace(".", ".."), String::from("x")] {
            let expected = unseal(&jwe, &key, &UnsealOptions::default()).unwrap_err();
            let got = crate::source::run_now(unseal_async_owned(&RustCryptoCipher, jwe.into_bytes(), &key, &UnsealOptions::default(), &mut || {
                Box::pin(std::future::ready(()))
            }));
            assert_eq!(got.unwrap_err(), expected);
        }
        let wrong = ContentKey::from_bytes(&[8u8; 32]).unwrap();
        assert_eq!(owned(&jwe, &wrong).unwrap_err(), UnsealError::Decrypt);
        // Bytes that are not text (the token is taken as bytes) are refused as the segment's base64url.
        for (at, segment) in [(1, Segment::ProtectedHeader), (jwe.len() - 1_000_000, Segment::Ciphertext), (jwe.len() - 2, Segment::Tag)] {
            let mut bytes = jwe.clone().into_bytes();
            bytes[at] = 0xff;
            let got =
                crate::source::run_now(unseal_async_owned(&RustCryptoCipher, bytes, &key, &UnsealOptions::default(), &mut || Box::pin(std::future::ready(()))));
            assert_eq!(got.unwrap_err(), UnsealError::Base64(segment), "{at}");
        }
    }
}
