//! AES-GCM through WebCrypto (`crypto.subtle`): hardware AES, about an order
//! of magnitude faster than AES in WebAssembly. Where `crypto.subtle` is
//! missing (non-secure contexts, some webviews, old runtimes) or the host
//! asks for it (`crypto: "wasm"`), the portable RustCrypto backend decrypts.
//! Both give one opaque failure and release no plaintext on a bad tag.

use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::unseal::{AeadFailure, AsyncCipher, ContentCipher, ContentKey, RustCryptoCipher};

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

/// Decrypts with `crypto.subtle`: `importKey("raw")` then `decrypt` of
/// ciphertext‖tag with the AAD and a 128-bit tag.
pub async fn webcrypto_decrypt(
    subtle: &Object,
    key: &ContentKey,
    iv: &[u8; 12],
    aad: &[u8],
    ciphertext: &[u8],
    tag: &[u8; 16],
) -> Result<Vec<u8>, AeadFailure> {
    let fail = |_| AeadFailure;
    let import_key = method(subtle, "importKey").ok_or(AeadFailure)?;
    let decrypt = method(subtle, "decrypt").ok_or(AeadFailure)?;

    let algorithm = Object::new();
    Reflect::set(&algorithm, &"name".into(), &"AES-GCM".into()).map_err(fail)?;
    let raw = Uint8Array::from(key.as_bytes());
    let usages = js_sys::Array::of1(&"decrypt".into());
    let args = js_sys::Array::of5(&"raw".into(), &raw, &algorithm, &JsValue::FALSE, &usages);
    let imported = import_key.apply(subtle, &args).map_err(fail)?;
    // The copy of the key handed to WebCrypto is wiped at once.
    raw.fill(0, 0, raw.length());
    let crypto_key = JsFuture::from(Promise::from(imported)).await.map_err(fail)?;

    let params = Object::new();
    Reflect::set(&params, &"name".into(), &"AES-GCM".into()).map_err(fail)?;
    Reflect::set(&params, &"iv".into(), &Uint8Array::from(&iv[..])).map_err(fail)?;
    Reflect::set(&params, &"additionalData".into(), &Uint8Array::from(aad)).map_err(fail)?;
    Reflect::set(&params, &"tagLength".into(), &128.into()).map_err(fail)?;
    let data = Uint8Array::new_with_length((ciphertext.len() + 16) as u32);
    data.subarray(0, ciphertext.len() as u32).copy_from(ciphertext);
    data.subarray(ciphertext.len() as u32, data.length()).copy_from(tag);
    let pending = decrypt.call3(subtle, &params, &crypto_key, &data).map_err(fail)?;
    let plain = JsFuture::from(Promise::from(pending)).await.map_err(fail)?;
    let plain = Uint8Array::new(&plain);
    let out = plain.to_vec();
    plain.fill(0, 0, plain.length());
    Ok(out)
}

impl AsyncCipher for PlatformCipher {
    async fn decrypt_async(&self, key: &ContentKey, iv: &[u8; 12], aad: &[u8], ciphertext: &[u8], tag: &[u8; 16]) -> Result<Vec<u8>, AeadFailure> {
        match subtle().filter(|_| self.backend == Backend::Auto) {
            Some(subtle) => webcrypto_decrypt(&subtle, key, iv, aad, ciphertext, tag).await,
            None => RustCryptoCipher.decrypt(key, iv, aad, ciphertext, tag),
        }
    }
}

/// Encrypts with `crypto.subtle` (`importKey("raw")`, then `encrypt` with
/// the AAD and a 128-bit tag): the ciphertext and the tag, detached. The
/// copies of the key and the plaintext handed to WebCrypto are wiped.
pub async fn webcrypto_encrypt(subtle: &Object, key: &ContentKey, iv: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Result<(Vec<u8>, [u8; 16]), AeadFailure> {
    let fail = |_| AeadFailure;
    let import_key = method(subtle, "importKey").ok_or(AeadFailure)?;
    let encrypt = method(subtle, "encrypt").ok_or(AeadFailure)?;
    let algorithm = Object::new();
    Reflect::set(&algorithm, &"name".into(), &"AES-GCM".into()).map_err(fail)?;
    let raw = Uint8Array::from(key.as_bytes());
    let usages = js_sys::Array::of1(&"encrypt".into());
    let args = js_sys::Array::of5(&"raw".into(), &raw, &algorithm, &JsValue::FALSE, &usages);
    let imported = import_key.apply(subtle, &args);
    raw.fill(0, 0, raw.length());
    let crypto_key = JsFuture::from(Promise::from(imported.map_err(fail)?)).await.map_err(fail)?;

    let params = Object::new();
    Reflect::set(&params, &"name".into(), &"AES-GCM".into()).map_err(fail)?;
    Reflect::set(&params, &"iv".into(), &Uint8Array::from(&iv[..])).map_err(fail)?;
    Reflect::set(&params, &"additionalData".into(), &Uint8Array::from(aad)).map_err(fail)?;
    Reflect::set(&params, &"tagLength".into(), &128.into()).map_err(fail)?;
    let data = Uint8Array::from(plaintext);
    let pending = encrypt.call3(subtle, &params, &crypto_key, &data);
    let sealed = match pending {
        Ok(p) => JsFuture::from(Promise::from(p)).await,
        Err(e) => Err(e),
    };
    data.fill(0, 0, data.length());
    let sealed = Uint8Array::new(&sealed.map_err(fail)?).to_vec();
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
