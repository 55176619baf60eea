//! The browser's `fetch`, through `gloo-net`, as the core's `HttpClient`.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::source::{HttpClient, HttpResponse, SourceError};

pub(crate) struct BrowserHttp;

impl HttpClient for BrowserHttp {
    async fn get(&self, url: &str, accept: &str, max_bytes: usize) -> Result<HttpResponse, SourceError> {
        let network = |_| SourceError::Network("the server could not be reached, or the browser blocked the request".into());
        let response = gloo_net::http::Request::get(url).header("Accept", accept).send().await.map_err(network)?;
        let declared = response.headers().get("content-length").and_then(|l| l.trim().parse::<u64>().ok());
        if declared.is_some_and(|l| l > max_bytes as u64) {
            return Err(SourceError::TooLarge { limit: max_bytes });
        }
        let status = response.status();
        let content_type = response.headers().get("content-type");
        let body = response.binary().await.map_err(network)?;
        Ok(HttpResponse { status, content_type, body })
    }

    async fn sleep(&self, millis: u32) {
        let promise = js_sys::Promise::new(&mut |resolve, _reject| {
            let global = js_sys::global();
            let set_timeout = js_sys::Reflect::get(&global, &"setTimeout".into()).ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok());
            match set_timeout {
                Some(f) => {
                    let _ = f.call2(&global, &resolve, &millis.into());
                }
                None => {
                    let _ = resolve.call0(&wasm_bindgen::JsValue::UNDEFINED);
                }
            }
        });
        let _ = JsFuture::from(promise).await;
    }
}
