//! The HTTP stack: hyper connections on a tokio runtime, routed by axum.
//!
//! * At most `max_connections` connections are served at once; further ones
//!   wait in the listen backlog until one closes.
//! * A connection must send a request's whole header within `header_timeout`
//!   (slow-header clients are dropped), and headers are limited to 64 KiB
//!   (431 beyond).
//! * Request bodies are read within `body_timeout` (408 beyond) and never past
//!   their route's limit (413): 64 KiB, or `--max-upload` for uploads. A
//!   declared length over the limit is refused before reading anything.
//! * Handlers that touch the store or the file system run on blocking threads,
//!   so a slow client or a slow query never holds up others.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header::CONTENT_LENGTH, HeaderMap};
use axum::Router;
use http_body_util::BodyExt as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use crate::http::{self, App, MAX_BODY};
use crate::web::{self, BodyError, Method};

/// Connection and request limits.
#[derive(Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub request_timeout: Duration,
}

/// Largest request head (request line and headers).
const MAX_HEAD: usize = 64 * 1024;

/// Reads a body of at most `limit` bytes within `timeout`: 413 if the declared
/// or actual length is larger, 408 if it is too slow, 400 if it breaks off.
pub async fn read_limited(body: Body, headers: &HeaderMap, limit: usize, timeout: Duration) -> Result<Zeroizing<Vec<u8>>, BodyError> {
    let declared = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(BodyError(413));
    }
    let read = async move {
        let mut body = body;
        let mut out = Zeroizing::new(Vec::with_capacity(declared.map_or(0, |n| n as usize).min(limit)));
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| BodyError(400))?;
            if let Ok(data) = frame.into_data() {
                if out.len() + data.len() > limit {
                    return Err(BodyError(413));
                }
                out.extend_from_slice(&data);
            }
        }
        Ok(out)
    };
    tokio::time::timeout(timeout, read).await.unwrap_or(Err(BodyError(408)))
}

/// Everything outside `/api/`: the synchronous handler of [`http::handle`] on
/// a blocking thread, after reading a POST or PUT body of at most [`MAX_BODY`].
async fn legacy(State(app): State<Arc<App>>, request: axum::extract::Request) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let method = Method::from_http(&parts.method);
    let url = parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let body = if matches!(method, Method::Post | Method::Put) {
        read_limited(body, &parts.headers, MAX_BODY, app.api.body_timeout).await
    } else {
        Ok(Zeroizing::new(Vec::new()))
    };
    let request = web::Request { method, url, headers: parts.headers, body };
    match tokio::task::spawn_blocking(move || http::handle(request, &app)).await {
        Ok(response) => response.into_http(),
        Err(_) => {
            eprintln!("a request handler panicked");
            web::Response::from_string("Internal Server Error\n").with_status_code(500).into_http()
        }
    }
}

/// Answers 503 when a request takes longer than `request_timeout` as a
/// whole, and tells clients how long an idle connection is kept (the header
/// timeout), so they do not reuse one the server is closing.
async fn deadline(State(limits): State<Limits>, request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let mut response = match tokio::time::timeout(limits.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => web::Response::from_string("Service Unavailable: the request took too long\n").with_status_code(503).into_http(),
    };
    if let Ok(value) = axum::http::HeaderValue::from_str(&format!("timeout={}", limits.header_timeout.as_secs())) {
        response.headers_mut().insert("keep-alive", value);
    }
    response
}

/// Serves `app` on `listener` until the process ends.
pub fn run(listener: TcpListener, app: Arc<App>, limits: Limits) -> Result<(), String> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().max_blocking_threads(128).build().map_err(|e| format!("starting the runtime: {e}"))?;
    runtime.block_on(async move {
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let listener = tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?;
        let router: Router = crate::api::router().fallback(legacy).with_state(app).layer(axum::middleware::from_fn_with_state(limits, deadline));
        let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
        loop {
            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                return Ok(());
            };
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(err) => {
                    // Out of file descriptors and the like: wait, then go on.
                    eprintln!("accept error: {err}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let service = TowerToHyperService::new(router.clone());
            tokio::spawn(async move {
                let _permit = permit;
                let mut builder = hyper::server::conn::http1::Builder::new();
                builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).max_buf_size(MAX_HEAD);
                // Errors here are the client's (closed early, malformed, too slow).
                let _ = builder.serve_connection(TokioIo::new(stream), service).await;
            });
        }
    })
}
