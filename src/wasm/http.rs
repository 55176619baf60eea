//! The browser's `fetch` (`request` in `js/runtime.js`) as the core's `HttpClient`,
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

/// The chunks of a response body, copied into one block of the body's
/// size (a buffer grown by doubling leaves holes that linear memory keeps),
/// chunk by chunk with turns of the event loop between slices of the copy:
/// joined in one step, a 12 MB body was a task of 100 ms at 4x CPU slowdown
/// (a second copy and a zeroed block in JavaScript, then the copy into
/// linear memory). The reading loop is JavaScript's (`request` in
/// `js/runtime.js`: no crossing into WebAssembly per read), with a running
/// byte count that abandons the body once it passes the limit, whatever
/// `Content-Length` said.
async fn copy_in(chunks: js_sys::Array) -> Vec<u8> {
    let chunks: Vec<js_sys::Uint8Array> = chunks.iter().map(JsCast::unchecked_into).collect();
    let mut body = Vec::with_capacity(chunks.iter().map(|c| c.length() as usize).sum());
    let pacer = crate::source::Pacer::new(&EventLoop);
    for chunk in chunks {
        let at = body.len();
        crate::util::zero_extend(&mut body, at + chunk.length() as usize);
        if let Some(room) = body.get_mut(at..) {
            chunk.copy_to(room);
        }
        pacer.tick().await;
    }
    body
}

impl BrowserHttp {
    /// One `fetch` through `request` in `js/runtime.js`: a token never
    /// follows a redirect (the core decided where it may go) and its answer
    /// is not cached.
    async fn send_inner(&self, request: HttpRequest<'_>, max_bytes: usize) -> Result<HttpResponse, SourceError> {
        let body = request.json_body.map(js_sys::Uint8Array::from);
        let answer = super::request(request.url, request.accept, request.authorization, body, self.signal.as_ref(), max_bytes as f64);
        let answer: js_sys::Array = JsFuture::from(answer)
            .await
            .map_err(|_| SourceError::Network("the server could not be reached, or the browser blocked the request".into()))?
            .unchecked_into();
        let chunks = answer.get(3);
        if chunks.is_null() {
            return Err(SourceError::TooLarge { limit: max_bytes });
        }
        if !chunks.is_array() {
            return Err(SourceError::Network("the connection ended before the whole answer arrived".into()));
        }
        Ok(HttpResponse {
            status: answer.get(0).as_f64().unwrap_or(0.0) as u16,
            content_type: answer.get(1).as_string(),
            retry_after: answer.get(2).as_string(),
            body: copy_in(chunks.unchecked_into()).await,
        })
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
