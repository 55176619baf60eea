//! The browser's `fetch`, through `gloo-net`, as the core's `HttpClient`.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::source::{HttpClient, HttpRequest, HttpResponse, SourceError};

pub(crate) struct BrowserHttp;

impl HttpClient for BrowserHttp {
    async fn send(&self, request: HttpRequest<'_>, max_bytes: usize) -> Result<HttpResponse, SourceError> {
        let network = |_| SourceError::Network("the server could not be reached, or the browser blocked the request".into());
        let response = match request.json_body {
            None => gloo_net::http::Request::get(request.url).header("Accept", request.accept).send().await,
            Some(body) => {
                let body = js_sys::Uint8Array::from(body);
                gloo_net::http::Request::post(request.url)
                    .header("Accept", request.accept)
                    .header("Content-Type", "application/json")
                    .body(body)
                    .map_err(network)?
                    .send()
                    .await
            }
        }
        .map_err(network)?;
        let declared = response.headers().get("content-length").and_then(|l| l.trim().parse::<u64>().ok());
        if declared.is_some_and(|l| l > max_bytes as u64) {
            return Err(SourceError::TooLarge { limit: max_bytes });
        }
        let status = response.status();
        let content_type = response.headers().get("content-type");
        let retry_after = response.headers().get("retry-after");
        let body = response.binary().await.map_err(network)?;
        Ok(HttpResponse { status, content_type, retry_after, body })
    }

    fn now_ms(&self) -> Option<f64> {
        Some(js_sys::Date::now())
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
