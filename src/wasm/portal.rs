//! `PatientPortal`: opens records.

use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use zeroize::Zeroizing;

use super::display::Display;
use super::http::{BrowserHttp, EventLoop};
use super::record::{Origin, PatientRecord};
use super::screening::{self, absent, known_only, member, now_seconds, DISPLAY_OPTIONS, OPEN_OPTIONS};
use super::webcrypto::{Backend, PlatformCipher};
use super::{bad_input, to_js_error};
use crate::consent::Screened;
use crate::consent::{Policy, Viewer};
use crate::fhir_api::{CapabilityCache, FetchReport, FhirServer};
use crate::pipeline::{open, open_jwe_screened, until_ready, OpenOptions, SealedFile, Stage};
use crate::shl::{parse_link, IssuerKeys, LinkOptions, ResolveOptions, SharedLink};
use crate::source::{HttpClient as _, Scheduler as _};
use crate::unseal::ContentKey;

/// The SDK's entry point. Create one per page (or per viewer) and open
/// records with it.
///
/// ```js
/// import init, { PatientPortal } from "patient-portal-sdk";
/// await init();
/// const portal = new PatientPortal();
/// const record = await portal.openUrl(url, key, { onProgress: (p) => show(p.stage) });
/// record.render(document.querySelector("#chart"));
/// ```
#[wasm_bindgen]
extern "C" {
    /// `PortalOptions` from the TypeScript section.
    #[wasm_bindgen(typescript_type = "PortalOptions")]
    pub type PortalOptionsArg;
    /// `OpenOptions` from the TypeScript section.
    #[wasm_bindgen(typescript_type = "OpenOptions")]
    pub type OpenOptionsArg;
    /// `LinkOptions` from the TypeScript section.
    #[wasm_bindgen(typescript_type = "LinkOptions")]
    pub type LinkOptionsArg;
    /// `FhirOptions` from the TypeScript section.
    #[wasm_bindgen(typescript_type = "FhirOptions")]
    pub type FhirOptionsArg;
}

/// `LinkOptions` from JavaScript into the core's options.
fn link_options(options: &JsValue, open: &OpenOptions) -> Result<LinkOptions, JsValue> {
    let recipient = member(options, "recipient")
        .as_string()
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| bad_input("openLink needs options.recipient: who is viewing, as the sharer will see it"))?;
    let mut resolve = ResolveOptions::new(recipient);
    resolve.fetch = open.fetch;
    let passcode = member(options, "passcode");
    if !absent(&passcode) {
        resolve.passcode = Some(Zeroizing::new(passcode.as_string().ok_or_else(|| bad_input("passcode must be a string"))?));
    }
    if let Some(max) = number_option(options, "embeddedLengthMax", 0.0)? {
        resolve.embedded_length_max = Some(max.min(u32::MAX as f64) as u64);
    }
    let mut issuer_keys = IssuerKeys { fetch: member(options, "fetchIssuerKeys").is_truthy(), ..IssuerKeys::default() };
    let keys = member(options, "issuerKeys");
    if !absent(&keys) {
        let text =
            js_sys::JSON::stringify(&keys).ok().and_then(|t| t.as_string()).ok_or_else(|| bad_input("issuerKeys must be an object of JWKS by issuer"))?;
        let Ok(serde_json::Value::Object(map)) = crate::fhir::value::parse(text.as_bytes()) else {
            return Err(bad_input("issuerKeys must be an object of JWKS by issuer"));
        };
        issuer_keys.known = map.into_iter().collect();
    }
    Ok(LinkOptions { resolve, unseal: open.unseal, issuer_keys })
}

/// What a link says about itself, without the key and without contacting
/// its host. Throws a `PatientPortalError` (`badLink`, or `unsupported` for
/// a newer protocol version).
#[wasm_bindgen(js_name = parseLink, unchecked_return_type = "LinkInfo")]
pub fn parse_link_info(#[wasm_bindgen(js_name = linkOrViewerUrl, unchecked_param_type = "string")] link_or_viewer_url: JsValue) -> Result<JsValue, JsValue> {
    let link = parse_link(&text_argument(&link_or_viewer_url, "parseLink", "the link")?).map_err(|e| to_js_error(&e.into()))?;
    let info = js_sys::Object::new();
    let set = |name: &str, value: JsValue| {
        let _ = js_sys::Reflect::set(&info, &name.into(), &value);
    };
    set("url", link.url.as_str().into());
    if let Some(label) = &link.label {
        set("label", label.as_str().into());
    }
    if let Some(exp) = link.exp {
        set("expiresAt", (exp as f64).into());
    }
    set("expired", link.is_expired(now_seconds()).into());
    set("flags", link.flags.as_text().into());
    set("passcodeRequired", link.flags.passcode.into());
    set("longTerm", link.flags.long_term.into());
    set("direct", link.flags.direct.into());
    set("version", (link.version as f64).into());
    Ok(info.into())
}

#[wasm_bindgen(js_name = PatientPortal)]
pub struct Portal {
    options: Rc<OpenOptions>,
    display: Display,
    policy: Rc<Policy>,
    cipher: PlatformCipher,
    /// FHIR servers' capability statements, by base URL.
    capabilities: Rc<CapabilityCache>,
}

/// Who is viewing, and the host's Consents, from one open's options.
struct Audience {
    viewer: Viewer,
    consents: Rc<Vec<serde_json::Value>>,
}

impl Audience {
    fn from(options: &JsValue) -> Result<Self, JsValue> {
        Ok(Audience { viewer: screening::viewer(options)?, consents: Rc::new(screening::consents(options)?) })
    }

    /// Who the core screens for.
    fn for_whom<'a>(&'a self, policy: &'a Policy) -> crate::pipeline::Audience<'a> {
        crate::pipeline::Audience { viewer: &self.viewer, policy, consents: &self.consents }
    }
}

/// Wraps a screened record for JavaScript and builds its chart's view
/// model, resolving in a fresh turn of the event loop so the host's
/// rendering starts a new task.
/// A cancelled open rejects with `aborted` and keeps nothing (the record,
/// dropped, is wiped by the allocator).
async fn record_paced(
    screened: Screened,
    origin: Option<Origin>,
    display: Display,
    screened_with: (Rc<Policy>, Rc<Vec<serde_json::Value>>, Backend),
    http: &BrowserHttp,
    progress: &mut dyn FnMut(Stage),
) -> Result<PatientRecord, JsValue> {
    let aborted = || to_js_error(&crate::source::SourceError::Aborted.into());
    if http.aborted() {
        return Err(aborted());
    }
    let record = PatientRecord::new(screened, origin, display).screened_with(screened_with.0, screened_with.1, screened_with.2);
    EventLoop.sleep(0).await;
    progress(Stage::Chart);
    record.prepare_chart().await;
    EventLoop.sleep(0).await;
    if http.aborted() {
        return Err(aborted());
    }
    progress(Stage::Ready);
    Ok(record)
}

/// Resolves the portal's display defaults in a task of its own while the
/// record downloads: the page's first `Intl.DateTimeFormat` (the browser's
/// time zone, and the zone's formatter) costs tens of milliseconds, which
/// building the chart would otherwise pay in one task. The page's copy of
/// the chart's stylesheet is parsed in another (about 28 ms of `render()`'s
/// task at 4x CPU slowdown on a fresh page, where it was parsed on first use).
fn warm_display(display: &Display) {
    let display = display.clone();
    wasm_bindgen_futures::spawn_local(async move {
        EventLoop.sleep(0).await;
        let _ = display.resolved().zone();
        EventLoop.sleep(0).await;
        let _ = super::prepare_styles(crate::render::STYLESHEET);
    });
}

/// The host's `signal` option, if any.
fn abort_signal(options: &JsValue) -> Result<BrowserHttp, JsValue> {
    let signal = member(options, "signal");
    if absent(&signal) {
        return Ok(BrowserHttp::default());
    }
    match signal.dyn_into::<web_sys::AbortSignal>() {
        Ok(signal) => Ok(BrowserHttp { signal: Some(signal) }),
        Err(_) => Err(bad_input("signal must be an AbortSignal")),
    }
}

/// A string argument, or `badInput` naming it (a bare TypeError otherwise).
fn text_argument(value: &JsValue, call: &str, what: &str) -> Result<String, JsValue> {
    value.as_string().ok_or_else(|| bad_input(&format!("{call} needs {what} as a string")))
}

/// A number option, when given: finite and at least `min`.
pub(super) fn number_option(options: &JsValue, name: &str, min: f64) -> Result<Option<f64>, JsValue> {
    let value = member(options, name);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    match value.as_f64() {
        Some(n) if n.is_finite() && n >= min => Ok(Some(n)),
        _ if min > 0.0 => Err(bad_input(&format!("option {name} must be a positive number"))),
        _ => Err(bad_input(&format!("option {name} must be a non-negative number"))),
    }
}

/// The key as bytes, from base64url text or a `Uint8Array`.
fn content_key(key: &JsValue) -> Result<ContentKey, JsValue> {
    let parsed = if let Some(text) = key.as_string() {
        ContentKey::from_base64url(&Zeroizing::new(text))
    } else if let Some(bytes) = key.dyn_ref::<js_sys::Uint8Array>() {
        ContentKey::from_bytes(&Zeroizing::new(bytes.to_vec()))
    } else {
        return Err(bad_input("the key must be a base64url string or a Uint8Array"));
    };
    parsed.map_err(|e| to_js_error(&e.into()))
}

/// A progress reporter calling `options.onProgress({ stage })`, if given.
fn progress_callback(options: &JsValue) -> Result<impl FnMut(Stage), JsValue> {
    let report = screening::stage_reporter(options)?;
    Ok(move |stage: Stage| report(stage.name()))
}

#[wasm_bindgen(js_class = PatientPortal)]
impl Portal {
    /// Creates a portal. `options` may set `maxRecordBytes` and `retries`.
    #[wasm_bindgen(constructor)]
    pub fn new(options: Option<PortalOptionsArg>) -> Result<Portal, JsValue> {
        let mut open = OpenOptions::default();
        let options = options.map(JsValue::from);
        if let Some(options) = &options {
            known_only(options, "new PatientPortal", &[&["maxRecordBytes", "retries", "policy", "crypto"], DISPLAY_OPTIONS])?;
        }
        let options = options.filter(|o| o.is_object());
        let policy = screening::policy(options.as_ref().unwrap_or(&JsValue::UNDEFINED))?;
        if let Some(options) = &options {
            if let Some(max) = number_option(options, "maxRecordBytes", 0.0)? {
                let max = max.min(usize::MAX as f64) as usize;
                open.unseal.max_plaintext = max;
                open.fetch.max_bytes = max;
            }
            if let Some(retries) = number_option(options, "retries", 0.0)? {
                open.fetch.retries = retries.min(10.0) as u32;
            }
        }
        let backend = match options.as_ref().map(|o| member(o, "crypto")).filter(|c| !absent(c)) {
            None => Backend::Auto,
            Some(c) => match c.as_string().as_deref() {
                Some("auto") => Backend::Auto,
                Some("wasm") => Backend::Wasm,
                _ => return Err(bad_input("option crypto must be \"auto\" or \"wasm\"")),
            },
        };
        let display = Display::from_options(options.as_ref().unwrap_or(&JsValue::UNDEFINED))?;
        Ok(Portal { options: Rc::new(open), display, policy: Rc::new(policy), cipher: PlatformCipher { backend }, capabilities: Rc::default() })
    }

    /// The AES-GCM backend `openUrl` and `openLink` decrypt with (and a
    /// record's `share` seals with):
    /// `"webcrypto"` (hardware AES through `crypto.subtle`) or `"wasm"`
    /// (portable; used where `crypto.subtle` is missing, or with
    /// `crypto: "wasm"`). `openJwe` is synchronous and always uses `"wasm"`.
    #[wasm_bindgen(getter, js_name = cryptoBackend, unchecked_return_type = "CryptoBackend")]
    pub fn crypto_backend(&self) -> String {
        self.cipher.effective().to_string()
    }

    /// Decrypts and reads a record given as a compact JWE string.
    /// Throws a `PatientPortalError`.
    #[wasm_bindgen(js_name = openJwe)]
    pub fn open_jwe(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] jwe: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ContentKeyInput")] key: JsValue,
        options: Option<OpenOptionsArg>,
    ) -> Result<PatientRecord, JsValue> {
        let jwe = text_argument(&jwe, "openJwe", "the compact JWE")?;
        let key = content_key(&key)?;
        let options = options.map_or(JsValue::UNDEFINED, JsValue::from);
        known_only(&options, "openJwe", &[OPEN_OPTIONS])?;
        let audience = Audience::from(&options)?;
        let mut progress = progress_callback(&options)?;
        let for_whom = crate::pipeline::Audience { viewer: &audience.viewer, policy: &self.policy, consents: &audience.consents };
        let screened = open_jwe_screened(&jwe, &key, &self.options, for_whom, &mut until_ready(&mut progress)).map_err(|e| to_js_error(&e))?;
        let record = PatientRecord::new(screened, None, self.display.clone()).screened_with(Rc::clone(&self.policy), audience.consents, self.cipher.backend);
        progress(Stage::Ready);
        Ok(record)
    }

    /// Fetches a compact JWE from `url` (relative URLs resolve against the
    /// page), then decrypts and reads it. Rejects with a `PatientPortalError`.
    #[wasm_bindgen(js_name = openUrl, unchecked_return_type = "Promise<PatientRecord>")]
    pub fn open_url(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] url: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ContentKeyInput")] key: JsValue,
        options: Option<OpenOptionsArg>,
    ) -> js_sys::Promise {
        let options = options.map_or(JsValue::UNDEFINED, JsValue::from);
        let prepared = known_only(&options, "openUrl", &[OPEN_OPTIONS])
            .and_then(|()| Ok((text_argument(&url, "openUrl", "the file's URL")?, content_key(&key)?)))
            .and_then(|(url, key)| Ok((url, key, Audience::from(&options)?, progress_callback(&options)?, abort_signal(&options)?)));
        // Clone the shared options into the future: never hold `&self` across an await.
        let (open_options, policy, cipher, display) = (Rc::clone(&self.options), Rc::clone(&self.policy), self.cipher, self.display.clone());
        let promise = wasm_bindgen_futures::future_to_promise(async move {
            let (url, key, audience, mut progress, http) = prepared?;
            let source = SealedFile { client: &http, cipher: &cipher, url: &url, key: &key, options: &open_options };
            let opened = open(&source, &EventLoop, audience.for_whom(&policy), &mut until_ready(&mut progress)).await.map_err(|e| to_js_error(&e))?;
            Ok(record_paced(opened.screened, None, display, (policy, audience.consents, cipher.backend), &http, &mut progress).await?.into())
        });
        warm_display(&self.display);
        promise
    }

    /// Opens a SMART Health Link (`shlink:/…`, or a viewer URL with
    /// `#shlink:/…`): checks expiry, asks the host for the manifest (or the
    /// single file of a `U` link), downloads, decrypts and reads every file
    /// into one record, and checks health card signatures. `recipient` is
    /// required; `passcode` for `P` links. Rejects with a
    /// `PatientPortalError`; a wrong passcode carries `remainingAttempts`.
    #[wasm_bindgen(js_name = openLink, unchecked_return_type = "Promise<PatientRecord>")]
    pub fn open_link(
        &self,
        #[wasm_bindgen(js_name = linkOrViewerUrl, unchecked_param_type = "string")] link_or_viewer_url: JsValue,
        #[wasm_bindgen(unchecked_param_type = "LinkOptions")] options: JsValue,
    ) -> js_sys::Promise {
        let prepared = (|| {
            known_only(&options, "openLink", &[OPEN_OPTIONS, &["recipient", "passcode", "embeddedLengthMax", "issuerKeys", "fetchIssuerKeys"]])?;
            let link = parse_link(&text_argument(&link_or_viewer_url, "openLink", "the link")?).map_err(|e| to_js_error(&e.into()))?;
            Ok::<_, JsValue>((link, link_options(&options, &self.options)?, Audience::from(&options)?, progress_callback(&options)?, abort_signal(&options)?))
        })();
        let (policy, cipher, display) = (Rc::clone(&self.policy), self.cipher, self.display.clone());
        let promise = wasm_bindgen_futures::future_to_promise(async move {
            let (link, options, audience, mut progress, http) = prepared?;
            let source = SharedLink { client: &http, cipher: &cipher, link: &link, options: &options, now: now_seconds() };
            let opened = open(&source, &EventLoop, audience.for_whom(&policy), &mut until_ready(&mut progress)).await.map_err(|e| to_js_error(&e))?;
            Ok(record_paced(opened.screened, opened.link.map(Origin::Link), display, (policy, audience.consents, cipher.backend), &http, &mut progress)
                .await?
                .into())
        });
        warm_display(&self.display);
        promise
    }

    /// Reads a patient's records from a FHIR R4 server (SMART on FHIR
    /// patient access): `Patient/$everything` where the server offers it,
    /// else the US Core searches per type, every page; then consent and the
    /// chart as for the other opens. `getAccessToken({ forceRefresh })`
    /// gives the bearer token for each request (the host owns OAuth); it is
    /// sent only to URLs under `baseUrl`. Rejects with a `PatientPortalError`
    /// (`unauthorized`, `fhirError` with `issues`, `format`, `tooLarge`,
    /// `aborted`, `network`, `httpStatus`, `badInput`).
    #[wasm_bindgen(js_name = openFhir, unchecked_return_type = "Promise<PatientRecord>")]
    pub fn open_fhir(&self, options: FhirOptionsArg) -> js_sys::Promise {
        let options = JsValue::from(options);
        let prepared = (|| {
            known_only(
                &options,
                "openFhir",
                &[OPEN_OPTIONS, &["baseUrl", "patient", "getAccessToken", "maxResources", "maxRecordBytes", "maxPages", "pageSize"]],
            )?;
            let fhir = super::fhir::fhir_options(&options, &self.options)?;
            let tokens = super::fhir::TokenCallback::from_options(&options)?;
            Ok::<_, JsValue>((fhir, tokens, Audience::from(&options)?, progress_callback(&options)?, abort_signal(&options)?))
        })();
        let counts = super::fhir::fetch_progress(&options);
        let (policy, display, cache, backend) = (Rc::clone(&self.policy), self.display.clone(), Rc::clone(&self.capabilities), self.cipher.backend);
        let promise = wasm_bindgen_futures::future_to_promise(async move {
            let (fhir, tokens, audience, mut progress, http) = prepared?;
            let on_fetch: std::cell::RefCell<Box<dyn FnMut(crate::fhir_api::FetchCounts)>> = std::cell::RefCell::new(counts);
            let report = std::cell::RefCell::new(FetchReport::default());
            let source = FhirServer { client: &http, tokens: &tokens, options: &fhir, cache: &cache, on_fetch: &on_fetch, report: &report };
            let opened = open(&source, &EventLoop, audience.for_whom(&policy), &mut until_ready(&mut progress)).await.map_err(|e| to_js_error(&e))?;
            let origin = Origin::Fhir { base_url: fhir.base_url.clone(), report: report.into_inner() };
            Ok(record_paced(opened.screened, Some(origin), display, (policy, audience.consents, backend), &http, &mut progress).await?.into())
        });
        warm_display(&self.display);
        promise
    }
}
