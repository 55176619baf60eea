//! The browser's `fetch`, through `gloo-net`, as the core's `HttpClient`,
//! and the event loop (`setTimeout`, `Date.now`) as its `Scheduler`.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::source::{HttpClient, HttpRequest, HttpResponse, Scheduler, SourceError};

/// `fetch`, cancelled by the host's `AbortSignal` when one is given.
#[derive(Default)]
pub(crate) struct BrowserHttp {
    pub signal: Option<web_sys::AbortSignal>,
}

/// The page's event loop.
pub(crate) struct EventLoop;

/// Reads a response body chunk by chunk with a running byte count, and
/// abandons it (cancelling the stream) once it passes `max_bytes`, whatever
/// `Content-Length` said: a chunked or compressed body is never buffered
/// past the limit. The reading loop is JavaScript's (`readBody` in
/// `js/runtime.js`: no crossing into WebAssembly per read); the chunks stay
/// JavaScript's until the body is whole, then are copied into one block of
/// the body's size (a buffer grown by doubling leaves holes that linear
/// memory keeps), chunk by chunk with turns of the event loop between
/// slices of the copy: joined in one step, a 12 MB body was a task of 100 ms
/// at 4x CPU slowdown (a second copy and a zeroed block in JavaScript,
/// then the copy into linear memory).
async fn read_limited(stream: web_sys::ReadableStream, max_bytes: usize) -> Result<Vec<u8>, SourceError> {
    let network = |_| SourceError::Network("the connection ended before the whole answer arrived".into());
    let chunks = JsFuture::from(super::read_body(&stream, max_bytes as f64)).await.map_err(network)?;
    if chunks.is_null() {
        return Err(SourceError::TooLarge { limit: max_bytes });
    }
    let chunks: Vec<js_sys::Uint8Array> = chunks.unchecked_into::<js_sys::Array>().iter().map(JsCast::unchecked_into).collect();
    let mut body = Vec::with_capacity(chunks.iter().map(|c| c.length() as usize).sum());
    let pacer = crate::source::Pacer::new(&EventLoop);
    for chunk in chunks {
        let at = body.len();
        body.resize(at + chunk.length() as usize, 0);
        if let Some(room) = body.get_mut(at..) {
            chunk.copy_to(room);
        }
        pacer.tick().await;
    }
    Ok(body)
}

impl BrowserHttp {
    async fn send_inner(&self, request: HttpRequest<'_>, max_bytes: usize) -> Result<HttpResponse, SourceError> {
        let network = |_| SourceError::Network("the server could not be reached, or the browser blocked the request".into());
        let mut builder = match request.json_body {
            None => gloo_net::http::Request::get(request.url),
            Some(_) => gloo_net::http::Request::post(request.url).header("Content-Type", "application/json"),
        }
        .header("Accept", request.accept)
        .abort_signal(self.signal.as_ref());
        if let Some(authorization) = request.authorization {
            // A token never follows a redirect: the core decided where it may go.
            builder = builder.header("Authorization", authorization).redirect(web_sys::RequestRedirect::Error).cache(web_sys::RequestCache::NoStore);
        }
        let response = match request.json_body {
            None => builder.send().await,
            Some(body) => builder.body(js_sys::Uint8Array::from(body)).map_err(network)?.send().await,
        }
        .map_err(network)?;
        let declared = response.headers().get("content-length").and_then(|l| l.trim().parse::<u64>().ok());
        if declared.is_some_and(|l| l > max_bytes as u64) {
            return Err(SourceError::TooLarge { limit: max_bytes });
        }
        let status = response.status();
        let content_type = response.headers().get("content-type");
        let retry_after = response.headers().get("retry-after");
        let body = match response.body() {
            Some(stream) => read_limited(stream, max_bytes).await?,
            None => response.binary().await.map_err(network)?,
        };
        Ok(HttpResponse { status, content_type, retry_after, body })
    }
}

impl HttpClient for BrowserHttp {
    async fn send(&self, request: HttpRequest<'_>, max_bytes: usize) -> Result<HttpResponse, SourceError> {
        if self.aborted() {
            return Err(SourceError::Aborted);
        }
        match self.send_inner(request, max_bytes).await {
            Err(SourceError::Network(_)) if self.aborted() => Err(SourceError::Aborted),
            result => result,
        }
    }

    fn aborted(&self) -> bool {
        self.signal.as_ref().is_some_and(web_sys::AbortSignal::aborted)
    }
}

impl Scheduler for EventLoop {
    fn now_ms(&self) -> Option<f64> {
        Some(js_sys::Date::now())
    }

    async fn sleep(&self, millis: u32) {
        // A turn of the event loop: nested timers are clamped to 4 ms, a
        // third of a 12 ms slice, where a yield is not.
        if millis == 0 {
            let _ = JsFuture::from(super::yield_turn()).await;
            return;
        }
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
