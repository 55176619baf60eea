//! `openFhir`'s options from JavaScript: the server, the host's token
//! callback and fetch progress.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use zeroize::Zeroizing;

use super::bad_input;
use super::screening::{absent, member, now_seconds};
use crate::fhir_api::{AccessTokens, FetchCounts, FhirOptions, ServerError};
use crate::pipeline::OpenOptions;

fn count_option(options: &JsValue, name: &str, max: f64) -> Result<Option<usize>, JsValue> {
    Ok(super::portal::number_option(options, name, 1.0)?.map(|n| n.min(max) as usize))
}

/// `FhirOptions` from JavaScript (`baseUrl` and `patient` required; limits
/// default to the portal's `maxRecordBytes` and `retries`).
pub(crate) fn fhir_options(options: &JsValue, open: &OpenOptions) -> Result<FhirOptions, JsValue> {
    if !options.is_object() {
        return Err(bad_input("openFhir needs an options object with baseUrl and patient"));
    }
    let base = member(options, "baseUrl").as_string().ok_or_else(|| bad_input("openFhir needs options.baseUrl: the FHIR server's base URL"))?;
    let patient = member(options, "patient").as_string().ok_or_else(|| bad_input("openFhir needs options.patient: the patient's id on that server"))?;
    let mut fhir = FhirOptions::new(&base, &patient, now_seconds()).map_err(|e| super::to_js_error(&e))?;
    fhir.max_bytes = open.fetch.max_bytes;
    fhir.retries = open.fetch.retries;
    if let Some(n) = count_option(options, "maxRecordBytes", usize::MAX as f64)? {
        fhir.max_bytes = n;
    }
    if let Some(n) = count_option(options, "maxResources", 10_000_000.0)? {
        fhir.max_resources = n;
    }
    if let Some(n) = count_option(options, "maxPages", 100_000.0)? {
        fhir.max_pages = n;
    }
    if let Some(n) = count_option(options, "pageSize", 1000.0)? {
        fhir.page_size = n as u32;
    }
    Ok(fhir)
}

/// The host's `getAccessToken({ forceRefresh })`, called for each request.
pub(crate) struct TokenCallback {
    callback: Option<js_sys::Function>,
}

impl TokenCallback {
    pub(crate) fn from_options(options: &JsValue) -> Result<Self, JsValue> {
        let callback = member(options, "getAccessToken");
        if absent(&callback) {
            return Ok(Self { callback: None });
        }
        callback.dyn_into::<js_sys::Function>().map(|f| Self { callback: Some(f) }).map_err(|_| bad_input("getAccessToken must be a function"))
    }
}

impl AccessTokens for TokenCallback {
    async fn token(&self, force_refresh: bool) -> Result<Option<Zeroizing<String>>, ServerError> {
        let Some(callback) = &self.callback else {
            return Ok(None);
        };
        let argument = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&argument, &"forceRefresh".into(), &force_refresh.into());
        // A throw, a rejection or anything but a string is `unauthorized`;
        // the host's own error is not repeated (it may quote the token).
        let value = callback.call1(&JsValue::NULL, &argument).map_err(|_| ServerError::NoToken)?;
        let value = JsFuture::from(js_sys::Promise::resolve(&value)).await.map_err(|_| ServerError::NoToken)?;
        value.as_string().map(|t| Some(Zeroizing::new(t))).ok_or(ServerError::NoToken)
    }
}

/// `onProgress({ stage: "fetch", pages, resources, total })` after each page.
pub(crate) fn fetch_progress(options: &JsValue) -> Box<dyn FnMut(FetchCounts)> {
    let callback = member(options, "onProgress").dyn_into::<js_sys::Function>().ok();
    Box::new(move |counts: FetchCounts| {
        let Some(f) = &callback else { return };
        let event = js_sys::Object::new();
        let set = |name: &str, value: JsValue| {
            let _ = js_sys::Reflect::set(&event, &name.into(), &value);
        };
        set("stage", "fetch".into());
        set("pages", (counts.pages as f64).into());
        set("resources", (counts.resources as f64).into());
        if let Some(total) = counts.total {
            set("total", (total as f64).into());
        }
        let _ = f.call1(&JsValue::NULL, &event);
    })
}
