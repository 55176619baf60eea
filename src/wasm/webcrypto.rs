//! AES-GCM through WebCrypto (`crypto.subtle`): hardware AES, about an order
//! of magnitude faster than AES in WebAssembly. Where `crypto.subtle` is
//! missing (non-secure contexts, some webviews, old runtimes) or the host
//! asks for it (`crypto: "wasm"`), the portable RustCrypto backend decrypts.
//! Both give one opaque failure and release no plaintext on a bad tag.
//!
//! SMART Health Card signatures (ES256) are checked here too, with no
//! portable fallback: without `crypto.subtle` a card is reported unverified
//! (`noKeys`), as when no issuer keys are at hand.

use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::shl::{Es256Key, Es256Verifier};
use crate::unseal::{cut_wiped, decrypt_pieced, AeadFailure, AesPieces, AsyncCipher, Block, ContentCipher, ContentKey, GcmSeal, RustCryptoCipher, CALL_PIECE};

/// Which AES-GCM backend a portal uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// WebCrypto when available, else WebAssembly.
    Auto,
    /// Always the WebAssembly (RustCrypto) backend.
    Wasm,
}

/// `globalThis.crypto.subtle`, when the platform offers it.
pub fn subtle() -> Option<Object> {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).ok().filter(|c| c.is_object())?;
    Reflect::get(&crypto, &"subtle".into()).ok().filter(|s| s.is_object()).map(JsValue::unchecked_into)
}

fn method(target: &Object, name: &str) -> Option<Function> {
    Reflect::get(target, &name.into()).ok()?.dyn_into().ok()
}

/// The cipher the binding decrypts with.
#[derive(Debug, Clone, Copy)]
pub struct PlatformCipher {
    pub backend: Backend,
}

impl PlatformCipher {
    /// The backend that will actually run: `webcrypto` or `wasm`.
    pub fn effective(&self) -> &'static str {
        if self.backend == Backend::Auto && subtle().is_some() {
            "webcrypto"
        } else {
            "wasm"
        }
    }
}

/// Runs `crypto.subtle[usage]` ("encrypt" or "decrypt") over `data` with
/// AES-GCM: `importKey("raw")` for that one usage (the copy of the key
/// handed to WebCrypto wiped at once), then the call with the IV, the AAD
/// and a 128-bit tag. Resolves to WebCrypto's output.
async fn aes_gcm(subtle: &Object, usage: &str, key: &ContentKey, iv: &[u8; 12], aad: &[u8], data: &Uint8Array) -> Result<Uint8Array, AeadFailure> {
    let fail = |_| AeadFailure;
    let run = method(subtle, usage).ok_or(AeadFailure)?;
    let crypto_key = import_key(subtle, key, "AES-GCM", usage).await?;

    let params = Object::new();
    Reflect::set(&params, &"name".into(), &"AES-GCM".into()).map_err(fail)?;
    Reflect::set(&params, &"iv".into(), &Uint8Array::from(&iv[..])).map_err(fail)?;
    Reflect::set(&params, &"additionalData".into(), &Uint8Array::from(aad)).map_err(fail)?;
    Reflect::set(&params, &"tagLength".into(), &128.into()).map_err(fail)?;
    let pending = run.call3(subtle, &params, &crypto_key, data).map_err(fail)?;
    let out = JsFuture::from(Promise::from(pending)).await.map_err(fail)?;
    Ok(Uint8Array::new(&out))
}

/// `importKey("raw")` of the content key for `algorithm` and one usage
/// (the copy of the key handed to WebCrypto wiped at once).
async fn import_key(subtle: &Object, key: &ContentKey, algorithm: &str, usage: &str) -> Result<JsValue, AeadFailure> {
    let import_key = method(subtle, "importKey").ok_or(AeadFailure)?;
    let raw = Uint8Array::from(key.as_bytes());
    let args = js_sys::Array::of5(&"raw".into(), &raw, &algorithm.into(), &JsValue::FALSE, &js_sys::Array::of1(&usage.into()));
    let imported = import_key.apply(subtle, &args);
    raw.fill(0, 0, raw.length());
    JsFuture::from(Promise::from(imported.map_err(|_| AeadFailure)?)).await.map_err(|_| AeadFailure)
}

/// The parts of AES-GCM that [`decrypt_pieced`] asks `crypto.subtle` for, a
/// piece per call: AES-GCM's tag of a piece given as the AAD, and AES-CTR
/// (single blocks, and the keystream with GCM's 32-bit counter).
struct SubtlePieces {
    subtle: Object,
    encrypt: Function,
    gcm: JsValue,
    ctr: JsValue,
}

impl SubtlePieces {
    async fn new(subtle: &Object, key: &ContentKey) -> Result<Self, AeadFailure> {
        let encrypt = method(subtle, "encrypt").ok_or(AeadFailure)?;
        let gcm = import_key(subtle, key, "AES-GCM", "encrypt").await?;
        let ctr = import_key(subtle, key, "AES-CTR", "encrypt").await?;
        Ok(Self { subtle: subtle.clone(), encrypt, gcm, ctr })
    }

    /// `encrypt(params, key, data)`: its answer, wiped when dropped.
    async fn run(&self, params: &Object, key: &JsValue, data: &Uint8Array) -> Result<WipeOnDrop, AeadFailure> {
        let pending = self.encrypt.call3(&self.subtle, params, key, data).map_err(|_| AeadFailure)?;
        Ok(WipeOnDrop(Uint8Array::new(&JsFuture::from(Promise::from(pending)).await.map_err(|_| AeadFailure)?)))
    }
}

/// An object of `members`.
fn object(members: &[(&str, JsValue)]) -> Result<Object, AeadFailure> {
    let object = Object::new();
    for (name, value) in members {
        Reflect::set(&object, &(*name).into(), value).map_err(|_| AeadFailure)?;
    }
    Ok(object)
}

fn ctr_params(counter: &Block) -> Result<Object, AeadFailure> {
    object(&[("name", "AES-CTR".into()), ("counter", Uint8Array::from(&counter[..]).into()), ("length", 32.into())])
}

/// A view of `bytes` in WebAssembly memory, without a copy: only for an
/// argument of a WebCrypto call made at once, which copies what it is
/// given when called (nothing allocates in between, so memory cannot grow
/// and detach the view).
fn view(bytes: &[u8]) -> Uint8Array {
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    Uint8Array::new_with_byte_offset_and_length(&memory.buffer(), bytes.as_ptr() as u32, bytes.len() as u32)
}

/// A 16-byte answer as a block.
fn block_of(answer: &WipeOnDrop) -> Result<Block, AeadFailure> {
    let mut block = [0; 16];
    if answer.0.length() != 16 {
        return Err(AeadFailure);
    }
    answer.0.copy_to(&mut block);
    Ok(block)
}

impl AesPieces for SubtlePieces {
    async fn block(&self, block: Block) -> Result<Block, AeadFailure> {
        block_of(&self.run(&ctr_params(&block)?, &self.ctr, &Uint8Array::new_with_length(16)).await?)
    }

    async fn aad_tag(&self, aad: &[u8]) -> Result<Block, AeadFailure> {
        let params = object(&[("name", "AES-GCM".into()), ("iv", Uint8Array::new_with_length(12).into()), ("tagLength", 128.into())])?;
        let nothing = Uint8Array::new_with_length(0);
        Reflect::set(&params, &"additionalData".into(), &view(aad)).map_err(|_| AeadFailure)?;
        block_of(&self.run(&params, &self.gcm, &nothing).await?)
    }

    async fn ctr(&self, counter: Block, buffer: &mut [u8], from: std::ops::Range<usize>, to: usize) -> Result<(), AeadFailure> {
        let params = ctr_params(&counter)?;
        let out = self.run(&params, &self.ctr, &view(buffer.get(from.clone()).ok_or(AeadFailure)?)).await?;
        let room = buffer.get_mut(to..to + from.len()).filter(|room| room.len() == out.0.length() as usize).ok_or(AeadFailure)?;
        out.0.copy_to(room);
        Ok(())
    }
}

/// [`decrypt_pieced`] through `crypto.subtle`, `piece` bytes per call, of
/// `ciphertext` with `aad`: for the tests, which hand it short pieces.
#[doc(hidden)]
pub async fn webcrypto_decrypt_pieced(subtle: &Object, seal: &GcmSeal<'_>, aad: &[u8], ciphertext: &[u8], piece: usize) -> Result<Vec<u8>, AeadFailure> {
    let at = aad.len();
    let text = at..at + ciphertext.len();
    decrypt_in_buffer(subtle, seal, [aad, ciphertext].concat(), 0..at, text, piece, || std::future::ready(())).await
}

/// Decrypts `buffer[ciphertext]` through [`SubtlePieces`], `piece` bytes
/// per call (the tag first, over the whole), the plaintext written to the
/// buffer's start, then gives the rest back, as the portable backend's
/// `decrypt_owned` does. The buffer is wiped if anything fails.
async fn decrypt_in_buffer<F: std::future::Future<Output = ()>>(
    subtle: &Object,
    seal: &GcmSeal<'_>,
    buffer: Vec<u8>,
    aad: std::ops::Range<usize>,
    ciphertext: std::ops::Range<usize>,
    piece: usize,
    between: impl FnMut() -> F,
) -> Result<Vec<u8>, AeadFailure> {
    let pieces = SubtlePieces::new(subtle, seal.key).await?;
    let mut buffer = zeroize::Zeroizing::new(buffer);
    let len = ciphertext.len();
    decrypt_pieced(&pieces, piece, seal.iv, &mut buffer, aad, ciphertext, seal.tag, between).await?;
    cut_wiped(&mut buffer, len);
    Ok(std::mem::take(&mut *buffer))
}

/// How much is copied between WebAssembly and JavaScript between two turns
/// of the event loop.
const COPY_PIECE: usize = 1 << 20;

/// Wipes a JavaScript copy of a plaintext when dropped (also when the open
/// is cancelled half-way through copying it out).
struct WipeOnDrop(Uint8Array);

impl Drop for WipeOnDrop {
    fn drop(&mut self) {
        self.0.fill(0, 0, self.0.length());
    }
}

/// Decrypts with `crypto.subtle`: ciphertext‖tag through [`aes_gcm`]; the
/// plaintext's copy on the JavaScript side is wiped.
pub async fn webcrypto_decrypt(subtle: &Object, seal: &GcmSeal<'_>, aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, AeadFailure> {
    webcrypto_decrypt_paced(subtle, seal, aad, ciphertext, || std::future::ready(())).await
}

/// [`webcrypto_decrypt`], copying in and out a megabyte at a time and
/// awaiting `between` after each.
pub async fn webcrypto_decrypt_paced<F: std::future::Future<Output = ()>>(
    subtle: &Object,
    seal: &GcmSeal<'_>,
    aad: &[u8],
    ciphertext: &[u8],
    mut between: impl FnMut() -> F,
) -> Result<Vec<u8>, AeadFailure> {
    let data = to_js(ciphertext, seal.tag, &mut between).await;
    let plain = WipeOnDrop(aes_gcm(subtle, "decrypt", seal.key, seal.iv, aad, &data.0).await?);
    drop(data);
    Ok(from_js(plain, between).await)
}

/// `bytes` and then `tail` copied into a new JavaScript array (wiped when
/// dropped), a megabyte at a time, awaiting `between` after each.
async fn to_js<F: std::future::Future<Output = ()>>(bytes: &[u8], tail: &[u8], between: &mut impl FnMut() -> F) -> WipeOnDrop {
    let data = WipeOnDrop(Uint8Array::new_with_length((bytes.len() + tail.len()) as u32));
    for (n, piece) in bytes.chunks(COPY_PIECE).enumerate() {
        let at = (n * COPY_PIECE) as u32;
        data.0.subarray(at, at + piece.len() as u32).copy_from(piece);
        between().await;
    }
    data.0.subarray(bytes.len() as u32, data.0.length()).copy_from(tail);
    data
}

/// A JavaScript copy of a plaintext copied into WebAssembly memory a
/// megabyte at a time, each piece wiped once copied, awaiting `between`
/// after each.
async fn from_js<F: std::future::Future<Output = ()>>(plain: WipeOnDrop, mut between: impl FnMut() -> F) -> Vec<u8> {
    let len = plain.0.length() as usize;
    let mut out = zeroize::Zeroizing::new(Vec::with_capacity(len));
    while out.len() < len {
        let (from, to) = (out.len(), (out.len() + COPY_PIECE).min(len));
        let piece = plain.0.subarray(from as u32, to as u32);
        crate::util::zero_extend(&mut out, to);
        piece.copy_to(out.get_mut(from..to).unwrap_or_default());
        piece.fill(0, 0, piece.length());
        between().await;
    }
    std::mem::take(&mut *out)
}

impl AsyncCipher for PlatformCipher {
    async fn decrypt_async<F: std::future::Future<Output = ()>>(
        &self,
        seal: &GcmSeal<'_>,
        aad: &[u8],
        ciphertext: &[u8],
        between: impl FnMut() -> F,
    ) -> Result<Vec<u8>, AeadFailure> {
        match subtle().filter(|_| self.backend == Backend::Auto) {
            Some(subtle) => webcrypto_decrypt_paced(&subtle, seal, aad, ciphertext, between).await,
            None => RustCryptoCipher.decrypt_paced(seal, aad, ciphertext, between).await,
        }
    }

    /// With WebCrypto, a ciphertext of up to a megabyte goes in one AES-GCM
    /// call and the token's buffer is freed before the plaintext takes room
    /// in WebAssembly memory (WebCrypto holds a copy of the ciphertext); a
    /// larger one is decrypted in the buffer a megabyte per call
    /// ([`decrypt_pieced`]: Chromium runs each call on the page's thread,
    /// and one call over megabytes is a long task on a phone). The portable
    /// backend decrypts in the buffer itself and keeps the plaintext there
    /// (see `RustCryptoCipher::decrypt_owned`).
    async fn decrypt_owned_async<F: std::future::Future<Output = ()>>(
        &self,
        seal: &GcmSeal<'_>,
        buffer: Vec<u8>,
        aad: std::ops::Range<usize>,
        ciphertext: std::ops::Range<usize>,
        mut between: impl FnMut() -> F,
    ) -> Result<Vec<u8>, AeadFailure> {
        let (Some(subtle), Some(text)) = (subtle().filter(|_| self.backend == Backend::Auto), buffer.get(ciphertext.clone())) else {
            return RustCryptoCipher.decrypt_owned(seal, buffer, aad, ciphertext, between).await;
        };
        // More than a call's piece: in pieces, none of them a long task on a phone.
        if text.len() > CALL_PIECE {
            return decrypt_in_buffer(&subtle, seal, buffer, aad, ciphertext, CALL_PIECE, between).await;
        }
        let data = to_js(text, seal.tag, &mut between).await;
        let aad = buffer.get(aad).ok_or(AeadFailure)?.to_vec();
        drop(buffer);
        let plain = WipeOnDrop(aes_gcm(&subtle, "decrypt", seal.key, seal.iv, &aad, &data.0).await?);
        drop(data);
        Ok(from_js(plain, between).await)
    }
}

/// Encrypts with `crypto.subtle` through [`aes_gcm`]: the ciphertext and
/// the tag, detached. The copy of the plaintext handed to WebCrypto is wiped.
pub async fn webcrypto_encrypt(subtle: &Object, key: &ContentKey, iv: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Result<(Vec<u8>, [u8; 16]), AeadFailure> {
    let data = Uint8Array::from(plaintext);
    let sealed = aes_gcm(subtle, "encrypt", key, iv, aad, &data).await;
    data.fill(0, 0, data.length());
    let sealed = sealed?.to_vec();
    let split = sealed.len().checked_sub(16).ok_or(AeadFailure)?;
    let (ciphertext, tag) = sealed.split_at(split);
    let tag: [u8; 16] = tag.try_into().map_err(|_| AeadFailure)?;
    Ok((ciphertext.to_vec(), tag))
}

/// Encrypts with WebCrypto where the backend allows it, else with the
/// portable backend: the ciphertext and the tag.
pub async fn encrypt_with(backend: Backend, key: &ContentKey, iv: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Result<(Vec<u8>, [u8; 16]), AeadFailure> {
    match subtle().filter(|_| backend == Backend::Auto) {
        Some(subtle) => webcrypto_encrypt(&subtle, key, iv, aad, plaintext).await,
        None => {
            let mut buffer = plaintext.to_vec();
            let tag = crate::unseal::encrypt(key, iv, aad, &mut buffer)?;
            Ok((buffer, tag))
        }
    }
}

/// ES256 through WebCrypto: `importKey("jwk")` of the issuer's P-256 key,
/// then `verify` with ECDSA/SHA-256 (WebCrypto takes JWS's r‖s form as it
/// is). Without `crypto.subtle` signatures cannot be checked here.
#[derive(Debug, Default, Clone, Copy)]
pub struct WebCryptoEs256;

/// `crypto.subtle.verify` of one ES256 signature; false on any failure (a
/// key that is not a point of P-256 is refused by `importKey`).
async fn webcrypto_es256(subtle: &Object, key: &Es256Key, message: &[u8], signature: &[u8; 64]) -> Result<bool, JsValue> {
    let import_key = method(subtle, "importKey").ok_or(JsValue::UNDEFINED)?;
    let verify = method(subtle, "verify").ok_or(JsValue::UNDEFINED)?;
    let jwk = Object::new();
    Reflect::set(&jwk, &"kty".into(), &"EC".into())?;
    Reflect::set(&jwk, &"crv".into(), &"P-256".into())?;
    Reflect::set(&jwk, &"x".into(), &crate::b64::encode_url(&key.x).into())?;
    Reflect::set(&jwk, &"y".into(), &crate::b64::encode_url(&key.y).into())?;
    let algorithm = Object::new();
    Reflect::set(&algorithm, &"name".into(), &"ECDSA".into())?;
    Reflect::set(&algorithm, &"namedCurve".into(), &"P-256".into())?;
    let usages = js_sys::Array::of1(&"verify".into());
    let args = js_sys::Array::of5(&"jwk".into(), &jwk, &algorithm, &JsValue::FALSE, &usages);
    let crypto_key = JsFuture::from(Promise::from(import_key.apply(subtle, &args)?)).await?;

    let params = Object::new();
    Reflect::set(&params, &"name".into(), &"ECDSA".into())?;
    Reflect::set(&params, &"hash".into(), &"SHA-256".into())?;
    let args = js_sys::Array::of4(&params, &crypto_key, &Uint8Array::from(&signature[..]), &Uint8Array::from(message));
    let verified = JsFuture::from(Promise::from(verify.apply(subtle, &args)?)).await?;
    Ok(verified.as_bool() == Some(true))
}

impl Es256Verifier for WebCryptoEs256 {
    fn available(&self) -> bool {
        subtle().is_some_and(|s| method(&s, "importKey").is_some() && method(&s, "verify").is_some())
    }

    async fn verify_es256(&self, key: &Es256Key, message: &[u8], signature: &[u8; 64]) -> bool {
        match subtle() {
            Some(subtle) => webcrypto_es256(&subtle, key, message, signature).await.unwrap_or(false),
            None => false,
        }
    }
}
