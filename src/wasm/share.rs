//! `record.sharePreview(options)` and `record.share(options)`: the binding
//! of src/share.rs. The key is made with `crypto.getRandomValues`, the
//! Bundle sealed with WebCrypto (the portable backend where it is missing),
//! and only ciphertext handed to the host (`ShlHost`, a JavaScript object).

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use zeroize::Zeroizing;

use super::record::PatientRecord;
use super::screening::{absent, known_only, member, now_seconds, stage_reporter, viewer_profile};
use super::webcrypto::encrypt_with;
use super::{bad_input, to_js_error};
use crate::consent::{screen_paced, Policy, Viewer};
use crate::error::Error;
use crate::fhir::parse_record_paced;
use crate::share::{build_paced, link, seal_options, viewer_url, Payload, ShareRequest, CONTENT_TYPE, MAX_LABEL_CHARS, SECTION_KEYS};
use crate::source::Scheduler as _;
use crate::unseal::{seal_compact, seal_header, ContentKey, SealOptions};

#[wasm_bindgen]
extern "C" {
    /// `ShareOptions & { signal }` from the TypeScript section.
    #[wasm_bindgen(typescript_type = "SharePreviewOptions")]
    pub type SharePreviewArg;
    /// `ShareOptions & { host, onProgress, signal }` from the TypeScript section.
    #[wasm_bindgen(typescript_type = "ShareRequest")]
    pub type ShareRequestArg;
}

/// Options `sharePreview` takes (it also accepts, and ignores, `host` and
/// `onProgress`, which only `share` uses).
const PREVIEW_OPTIONS: &[&str] = &["audience", "include", "label", "passcode", "expiresAt", "viewerUrl", "signal"];
/// … and those of `share`.
const SHARE_OPTIONS: &[&str] = &["host", "onProgress"];

/// Checked options of a share.
struct Options {
    audience: Viewer,
    include: Option<Vec<String>>,
    label: Option<String>,
    passcode: Option<Zeroizing<String>>,
    /// Epoch milliseconds, as given.
    expires_ms: Option<f64>,
    viewer_url: Option<String>,
}

impl Options {
    fn expires_seconds(&self) -> Option<i64> {
        self.expires_ms.map(|ms| (ms / 1000.0).floor() as i64)
    }
}

fn parse_options(value: &JsValue, call: &str) -> Result<Options, JsValue> {
    if absent(value) {
        return Err(bad_input(&format!("{call} needs options with an audience, e.g. {{ audience: {{ role: \"clinician\" }} }}")));
    }
    known_only(value, call, &[PREVIEW_OPTIONS, SHARE_OPTIONS])?;
    let audience = member(value, "audience");
    if absent(&audience) {
        return Err(bad_input(&format!("{call} needs options.audience: who the link is for, e.g. {{ role: \"clinician\" }}")));
    }
    let audience = viewer_profile(&audience, "audience")?;

    let include = member(value, "include");
    let include = if absent(&include) {
        None
    } else {
        let list: &Array = include.dyn_ref().filter(|_| Array::is_array(&include)).ok_or_else(|| bad_input("include must be an array of section keys"))?;
        let mut keys = Vec::new();
        for item in list.iter() {
            let key = item.as_string().ok_or_else(|| bad_input("include must be an array of section keys"))?;
            if !SECTION_KEYS.contains(&key.as_str()) {
                let shown: String = key.chars().take(40).collect();
                return Err(bad_input(&format!("include: unknown section {} (known: {})", crate::fhir::value::quoted(&shown), SECTION_KEYS.join(", "))));
            }
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(bad_input("include must name at least one section (leave it out to share every section)"));
        }
        Some(keys)
    };

    let label = member(value, "label");
    let label = if absent(&label) {
        None
    } else {
        let text = label.as_string().ok_or_else(|| bad_input("label must be a string"))?;
        if text.chars().count() > MAX_LABEL_CHARS {
            return Err(bad_input(&format!("label must be at most {MAX_LABEL_CHARS} characters")));
        }
        Some(text).filter(|t| !t.trim().is_empty())
    };

    let passcode = member(value, "passcode");
    let passcode = if absent(&passcode) {
        None
    } else {
        let text = Zeroizing::new(passcode.as_string().ok_or_else(|| bad_input("passcode must be a string"))?);
        if text.is_empty() || text.chars().count() > 256 {
            return Err(bad_input("passcode must be 1 to 256 characters"));
        }
        Some(text)
    };

    let expires = member(value, "expiresAt");
    let expires_ms = if absent(&expires) {
        None
    } else {
        let ms = match expires.dyn_ref::<js_sys::Date>() {
            Some(date) => date.get_time(),
            None => expires.as_f64().ok_or_else(|| bad_input("expiresAt must be a Date or epoch milliseconds"))?,
        };
        if !ms.is_finite() || ms > 8.64e15 {
            return Err(bad_input("expiresAt must be a valid Date or epoch milliseconds"));
        }
        if ms <= js_sys::Date::now() {
            return Err(bad_input("expiresAt must be in the future"));
        }
        Some(ms)
    };

    let base = member(value, "viewerUrl");
    let viewer_url = if absent(&base) { None } else { Some(http_url(&base).ok_or_else(|| bad_input("viewerUrl must be an http or https URL"))?) };
    Ok(Options { audience, include, label, passcode, expires_ms, viewer_url })
}

/// `value` when it is an absolute http(s) URL without spaces.
fn http_url(value: &JsValue) -> Option<String> {
    let text = value.as_string()?;
    let lower = text.to_ascii_lowercase();
    let ok = (lower.starts_with("https://") || lower.starts_with("http://")) && text.len() > 8 && !text.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then_some(text)
}

fn set(object: &Object, name: &str, value: &JsValue) {
    let _ = Reflect::set(object, &name.into(), value);
}

/// `n` random bytes from `crypto.getRandomValues`; the JavaScript copy is wiped.
fn random_bytes(n: u32) -> Result<Zeroizing<Vec<u8>>, JsValue> {
    let none = || to_js_error(&Error::NoRandom);
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).ok().filter(|c| c.is_object()).ok_or_else(none)?;
    let get: Function = Reflect::get(&crypto, &"getRandomValues".into()).ok().and_then(|f| f.dyn_into().ok()).ok_or_else(none)?;
    let array = Uint8Array::new_with_length(n);
    get.call1(&crypto, &array).map_err(|_| none())?;
    let out = Zeroizing::new(array.to_vec());
    array.fill(0, 0, n);
    if out.iter().all(|&b| b == 0) {
        return Err(none());
    }
    Ok(out)
}

/// A host's failure as the SDK's error: a `PatientPortalError` from the
/// host (`HttpShlHost`) as it is; anything else as `hostError`, with the
/// host's `status` when it has one and the original as `cause`.
fn host_error(call: &'static str, error: JsValue) -> JsValue {
    let is_ours = error.is_object()
        && Reflect::get(&error, &"name".into()).ok().and_then(|n| n.as_string()).as_deref() == Some("PatientPortalError")
        && Reflect::get(&error, &"code".into()).ok().is_some_and(|c| c.is_string());
    if is_ours {
        return error;
    }
    let status = Reflect::get(&error, &"status".into()).ok().and_then(|s| s.as_f64()).filter(|s| (100.0..600.0).contains(s)).map(|s| s as u16);
    let js = to_js_error(&Error::Host { call, status });
    if let Some(object) = js.dyn_ref::<Object>() {
        set(object, "cause", &error);
    }
    js
}

/// Calls `host[name](...args)` and waits for it (a plain value counts as
/// done), or until `signal` aborts: then `Err(Stopped::Aborted(pending))`,
/// the host's promise still running.
async fn call_host(host: &JsValue, name: &'static str, args: &[&JsValue], signal: &Option<web_sys::AbortSignal>) -> Result<JsValue, Stopped> {
    let function: Function = Reflect::get(host, &name.into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| Stopped::Failed(bad_input(&format!("host.{name} must be a function (see the ShlHost interface)"))))?;
    let args: Array = args.iter().map(|a| JsValue::from(*a)).collect();
    let returned = function.apply(host, &args).map_err(|e| Stopped::Failed(host_error(name, e)))?;
    let pending = Promise::resolve(&returned);
    let Some(signal) = signal else {
        return JsFuture::from(pending).await.map_err(|e| Stopped::Failed(host_error(name, e)));
    };
    // Race the host's promise with the signal's "abort" event.
    let mut listener: Option<Function> = None;
    let abort = Promise::new(&mut |_, reject: Function| {
        if signal.aborted() {
            let _ = reject.call0(&JsValue::NULL);
        } else {
            let _ = signal.add_event_listener_with_callback("abort", &reject);
            listener = Some(reject);
        }
    });
    let outcome = JsFuture::from(Promise::race(&Array::of2(&pending, &abort))).await;
    if let Some(listener) = &listener {
        let _ = signal.remove_event_listener_with_callback("abort", listener);
    }
    match outcome {
        _ if signal.aborted() => Err(Stopped::Aborted(pending)),
        Ok(value) => Ok(value),
        Err(e) => Err(Stopped::Failed(host_error(name, e))),
    }
}

/// Why a host call did not give its answer.
enum Stopped {
    /// It failed: the error to reject with.
    Failed(JsValue),
    /// The signal aborted while it ran: its promise, still running.
    Aborted(Promise),
}

impl Stopped {
    fn error(self) -> JsValue {
        match self {
            Stopped::Failed(e) => e,
            Stopped::Aborted(pending) => {
                // Its outcome is no longer wanted; a later rejection is handled here.
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = JsFuture::from(pending).await;
                });
                aborted_error()
            }
        }
    }
}

/// The `signal` option, if any.
fn signal_of(value: &JsValue) -> Result<Option<web_sys::AbortSignal>, JsValue> {
    let signal = member(value, "signal");
    if absent(&signal) {
        return Ok(None);
    }
    signal.dyn_into::<web_sys::AbortSignal>().map(Some).map_err(|_| bad_input("signal must be an AbortSignal"))
}

fn aborted(signal: &Option<web_sys::AbortSignal>) -> bool {
    signal.as_ref().is_some_and(web_sys::AbortSignal::aborted)
}

fn aborted_error() -> JsValue {
    to_js_error(&crate::source::SourceError::Aborted.into())
}

#[wasm_bindgen]
impl PatientRecord {
    /// The chart exactly as the recipient of `share(options)` will see it:
    /// `record` (a `PatientRecord` of the shared Bundle, opened with the
    /// default viewer as the recipient's SDK opens it, its chart built;
    /// `free()` it), the sections with their counts, the resources shared
    /// and left out, and the Bundle's size. Nothing leaves the page. The
    /// work is done in slices that give the event loop a turn, as opening
    /// does. Rejects with a `PatientPortalError`: `badInput` for unusable
    /// options, `aborted` when `options.signal` aborts.
    #[wasm_bindgen(js_name = sharePreview, unchecked_return_type = "Promise<SharePreview>")]
    pub fn share_preview(&self, options: SharePreviewArg) -> Promise {
        let value = JsValue::from(options);
        let prepared = parse_options(&value, "sharePreview").and_then(|options| Ok((options, signal_of(&value)?)));
        let source = self.share_source();
        wasm_bindgen_futures::future_to_promise(async move {
            let (options, signal) = prepared?;
            let (record, policy, consents, display) = source;
            let stop = |signal: &Option<web_sys::AbortSignal>| if aborted(signal) { Err(aborted_error()) } else { Ok(()) };
            stop(&signal)?;
            let request = ShareRequest { audience: &options.audience, policy: &policy, consents: &consents, include: options.include.as_deref() };
            let shared = build_paced(&record, &request, &super::http::EventLoop).await;
            drop(record);
            super::http::EventLoop.sleep(0).await;
            stop(&signal)?;
            let reopened = parse_record_paced(&shared.bundle, &super::http::EventLoop).await.map_err(|e| to_js_error(&e.into()))?;
            super::http::EventLoop.sleep(0).await;
            stop(&signal)?;
            let screened = screen_paced(reopened, &Viewer::patient(now_seconds()), &Policy::default(), &[], &super::http::EventLoop).await;
            let preview = PatientRecord::new(screened, None, display);
            super::http::EventLoop.sleep(0).await;
            stop(&signal)?;
            // The chart's view model, as opening builds it: `render` then only writes markup.
            preview.prepare_chart().await;
            super::http::EventLoop.sleep(0).await;
            stop(&signal)?;
            let sections: Array = preview
                .section_counts()?
                .into_iter()
                .map(|(section, title, count)| {
                    let o = Object::new();
                    set(&o, "section", &section.into());
                    set(&o, "title", &title.into());
                    set(&o, "count", &(count as f64).into());
                    JsValue::from(o)
                })
                .collect();
            let out = Object::new();
            set(&out, "resourceCount", &(shared.record.entries.len() as f64).into());
            set(&out, "withheldCount", &(shared.withheld as f64).into());
            set(&out, "bytes", &(shared.bundle.len() as f64).into());
            set(&out, "sections", &sections);
            set(&out, "record", &preview.into());
            Ok(out.into())
        })
    }

    /// Shares what `options.audience` may see of this record (narrowed to
    /// `options.include`) as a SMART Health Link: a fresh 256-bit key, the
    /// Bundle sealed (`dir`, `A256GCM`; `zip: "DEF"` where the platform has
    /// `CompressionStream`), only ciphertext given
    /// to `options.host` (`createLink`, then `addFile`; a failed upload
    /// revokes the link, best effort). Resolves to the link, the viewer URL
    /// with the link in its fragment, and a QR code of it as SVG (EC level
    /// M). Rejects with a `PatientPortalError`: `badInput`, `hostError`
    /// (or the host's own `PatientPortalError`), `aborted`.
    #[wasm_bindgen(unchecked_return_type = "Promise<SharedLink>")]
    pub fn share(&self, options: ShareRequestArg) -> Promise {
        let value = JsValue::from(options);
        let prepared = (|| {
            let options = parse_options(&value, "share")?;
            let host = member(&value, "host");
            if !host.is_object() {
                return Err(bad_input("share needs options.host: a ShlHost (e.g. new HttpShlHost({ baseUrl, token }))"));
            }
            for name in ["createLink", "addFile", "revoke"] {
                if !member(&host, name).is_function() {
                    return Err(bad_input(&format!("host.{name} must be a function (see the ShlHost interface)")));
                }
            }
            Ok((options, host, signal_of(&value)?, stage_reporter(&value)?))
        })();
        let source = self.share_source();
        let backend = self.backend();
        wasm_bindgen_futures::future_to_promise(async move {
            let (options, host, signal, progress) = prepared?;
            let (record, policy, consents, _) = source;
            if aborted(&signal) {
                return Err(aborted_error());
            }
            progress("bundle");
            let request = ShareRequest { audience: &options.audience, policy: &policy, consents: &consents, include: options.include.as_deref() };
            let shared = build_paced(&record, &request, &super::http::EventLoop).await;
            super::http::EventLoop.sleep(0).await;
            if aborted(&signal) {
                return Err(aborted_error());
            }

            progress("seal");
            let key = ContentKey::from_bytes(&random_bytes(32)?).map_err(|e| to_js_error(&e.into()))?;
            let iv: [u8; 12] = random_bytes(12)?.as_slice().try_into().map_err(|_| to_js_error(&Error::NoRandom))?;
            // Compressed where the platform can (`zip: "DEF"`), else sealed
            // as it is, without `zip` (optional in SMART Health Links).
            let deflated = deflate_raw(&shared.bundle).await;
            let sealing = SealOptions { deflate: deflated.is_some(), ..seal_options() };
            let protected = seal_header(&key, &sealing).map_err(|e| to_js_error(&e.into()))?;
            let plaintext: &[u8] = deflated.as_deref().map_or(&shared.bundle, Vec::as_slice);
            let (ciphertext, tag) = encrypt_with(backend, &key, &iv, protected.as_bytes(), plaintext).await.map_err(|_| to_js_error(&Error::Seal))?;
            drop(deflated);
            let jwe = seal_compact(&protected, &iv, &ciphertext, &tag);
            let plaintext_bytes = shared.bundle.len();
            let resource_count = shared.record.entries.len();
            drop(shared);
            if aborted(&signal) {
                return Err(aborted_error());
            }

            progress("upload");
            let flag = if options.passcode.is_some() { "P" } else { "" };
            let create = Object::new();
            if let Some(label) = &options.label {
                set(&create, "label", &label.as_str().into());
            }
            if let Some(passcode) = &options.passcode {
                set(&create, "passcode", &passcode.as_str().into());
            }
            if let Some(exp) = options.expires_seconds() {
                set(&create, "expiresAt", &(exp as f64).into());
            }
            set(&create, "flag", &flag.into());
            let created = match call_host(&host, "createLink", &[&create.into()], &signal).await {
                Ok(created) => created,
                Err(Stopped::Aborted(pending)) => {
                    // The link may still be made: revoke it once it is.
                    let host = host.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        if let Some(id) = JsFuture::from(pending).await.ok().and_then(|c| member(&c, "id").as_string()) {
                            let _ = call_host(&host, "revoke", &[&JsValue::from_str(&id)], &None).await;
                        }
                    });
                    return Err(aborted_error());
                }
                Err(stopped) => return Err(stopped.error()),
            };
            let id = member(&created, "id").as_string().filter(|id| !id.is_empty());
            let url = http_url(&member(&created, "url"));
            let (Some(id), Some(url)) = (id, url) else {
                return Err(host_error("createLink", JsValue::UNDEFINED));
            };
            let revoke = |host: JsValue, id: String| async move {
                let _ = call_host(&host, "revoke", &[&JsValue::from_str(&id)], &None).await;
            };
            let host_viewer = http_url(&member(&created, "viewerUrl"));
            if aborted(&signal) {
                revoke(host, id).await;
                return Err(aborted_error());
            }
            let file = Object::new();
            set(&file, "contentType", &CONTENT_TYPE.into());
            set(&file, "jwe", &jwe.as_str().into());
            if let Err(stopped) = call_host(&host, "addFile", &[&JsValue::from_str(&id), &file.into()], &signal).await {
                revoke(host, id).await;
                return Err(stopped.error());
            }
            if aborted(&signal) {
                revoke(host, id).await;
                return Err(aborted_error());
            }

            let payload = Payload { url: &url, key: &key, exp: options.expires_seconds(), flag, label: options.label.as_deref() };
            let link = link(&payload);
            // The link must open in a viewer: the host's manifest URL is
            // https (http only on loopback), as `parse_link` requires.
            if crate::shl::parse_link(&link).is_err() {
                revoke(host, id).await;
                return Err(host_error("createLink", JsValue::UNDEFINED));
            }
            let shown = match options.viewer_url.as_deref().or(host_viewer.as_deref()) {
                Some(base) => viewer_url(base, &link),
                None => link.clone(),
            };
            let qr = qr_svg(&shown)?;
            let out = Object::new();
            set(&out, "link", &link.as_str().into());
            set(&out, "viewerUrl", &shown.as_str().into());
            set(&out, "qrSvg", &qr.as_str().into());
            set(&out, "id", &id.into());
            if let Some(ms) = options.expires_ms {
                set(&out, "expiresAt", &js_sys::Date::new(&ms.into()).into());
            }
            set(&out, "resourceCount", &(resource_count as f64).into());
            let bytes = Object::new();
            set(&bytes, "plaintext", &(plaintext_bytes as f64).into());
            set(&bytes, "ciphertext", &(jwe.len() as f64).into());
            set(&out, "bytes", &bytes);
            progress("done");
            Ok(out.into())
        })
    }
}

/// Calls `target[name](...args)`.
fn call_method(target: &JsValue, name: &str, args: &Array) -> Option<JsValue> {
    let method: Function = Reflect::get(target, &name.into()).ok()?.dyn_into().ok()?;
    method.apply(target, args).ok()
}

/// Raw DEFLATE (RFC 1951) through the platform's
/// `CompressionStream("deflate-raw")`, so no compressor ships in the module.
/// `None` where there is none (or the stream fails): the caller then seals
/// uncompressed. The copies on the JavaScript side (input and output
/// chunks) are wiped, the output is gathered in zeroized buffers.
async fn deflate_raw(data: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let constructor: Function = Reflect::get(&js_sys::global(), &"CompressionStream".into()).ok()?.dyn_into().ok()?;
    let stream = Reflect::construct(&constructor, &Array::of1(&"deflate-raw".into())).ok()?;
    let writer = call_method(&Reflect::get(&stream, &"writable".into()).ok()?, "getWriter", &Array::new())?;
    let reader = call_method(&Reflect::get(&stream, &"readable".into()).ok()?, "getReader", &Array::new())?;
    let input = Uint8Array::from(data);
    // Written and closed without waiting: the output is read meanwhile
    // (the stream holds back writes until its output is taken).
    let written = call_method(&writer, "write", &Array::of1(&input));
    let closed = call_method(&writer, "close", &Array::new());
    let mut chunks: Vec<Zeroizing<Vec<u8>>> = Vec::new();
    let complete = async {
        loop {
            let next = JsFuture::from(Promise::from(call_method(&reader, "read", &Array::new())?)).await.ok()?;
            if Reflect::get(&next, &"done".into()).ok()?.is_truthy() {
                return Some(());
            }
            let chunk: Uint8Array = Reflect::get(&next, &"value".into()).ok()?.dyn_into().ok()?;
            chunks.push(Zeroizing::new(chunk.to_vec()));
            chunk.fill(0, 0, chunk.length());
        }
    }
    .await;
    if complete.is_none() {
        // Errors the stream, so the pending write and close settle.
        let _ = call_method(&reader, "cancel", &Array::new());
    }
    let settled = [written, closed].into_iter().map(|p| p.map(|p| JsFuture::from(Promise::from(p))));
    let mut all_ok = complete.is_some();
    for pending in settled {
        all_ok &= match pending {
            Some(pending) => pending.await.is_ok(),
            None => false,
        };
    }
    input.fill(0, 0, input.length());
    if !all_ok {
        return None;
    }
    let mut out = Zeroizing::new(Vec::with_capacity(chunks.iter().map(|c| c.len()).sum()));
    for chunk in &chunks {
        out.extend_from_slice(chunk);
    }
    Some(out)
}

/// `text` as a QR code (error correction M) in SVG, with its quiet zone,
/// ready to place inline: a whole number of pixels a module, at least
/// 232 pixels wide.
fn qr_svg(text: &str) -> Result<Zeroizing<String>, JsValue> {
    let code = crate::qr::QrCode::new(text.as_bytes()).ok_or_else(|| bad_input("the link is too long for a QR code (shorten the label or the viewer URL)"))?;
    // Its buffers hold the link's key: the allocator wipes each one when it is freed.
    Ok(Zeroizing::new(code.svg(232, "role=\"img\" aria-label=\"SMART Health Link QR code\" ")))
}
