//! A minimal blocking HTTP/1.1 client over a real socket: the native
//! `HttpClient` for loopback tests (GET, POST of JSON, Content-Length or
//! chunked bodies, `Content-Type` and `Retry-After` headers). It records
//! every request line and body, and the sleeps it was asked for.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::TcpStream;

use patient_portal_sdk::source::{HttpClient, HttpRequest, HttpResponse, Scheduler, SourceError};

#[derive(Default)]
pub struct Loopback {
    /// `METHOD path` of each request, in order.
    pub requests: RefCell<Vec<String>>,
    /// Bodies of POST requests, in order.
    pub bodies: RefCell<Vec<Vec<u8>>>,
    /// Sleeps asked for, in milliseconds (they really happen, capped at 1.5 s).
    pub sleeps: RefCell<Vec<u32>>,
}

fn network(e: std::io::Error) -> SourceError {
    SourceError::Network(e.kind().to_string())
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") else { return out };
        let size = usize::from_str_radix(String::from_utf8_lossy(&body[..line_end]).split(';').next().unwrap().trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = line_end + 2;
        out.extend_from_slice(&body[start..(start + size).min(body.len())]);
        body = &body[(start + size + 2).min(body.len())..];
    }
}

impl HttpClient for Loopback {
    async fn send(&self, request: HttpRequest<'_>, _max: usize) -> Result<HttpResponse, SourceError> {
        let rest = request.url.strip_prefix("http://").expect("loopback URLs are http");
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let mut stream = TcpStream::connect(host).map_err(network)?;
        let method = if request.json_body.is_some() { "POST" } else { "GET" };
        self.requests.borrow_mut().push(format!("{method} /{path}"));
        let mut head = format!("{method} /{path} HTTP/1.1\r\nHost: {host}\r\nAccept: {}\r\nConnection: close\r\n", request.accept);
        if let Some(authorization) = request.authorization {
            head.push_str(&format!("Authorization: {authorization}\r\n"));
        }
        if let Some(body) = request.json_body {
            self.bodies.borrow_mut().push(body.to_vec());
            head.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).map_err(network)?;
        if let Some(body) = request.json_body {
            stream.write_all(body).map_err(network)?;
        }
        let mut raw = vec![];
        stream.read_to_end(&mut raw).map_err(network)?;
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| SourceError::Network("no response head".into()))?;
        let head = String::from_utf8_lossy(&raw[..split]).to_string();
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| SourceError::Network("bad status line".into()))?;
        let header = |name: &str| {
            head.lines().skip(1).find_map(|l| l.split_once(':').filter(|(n, _)| n.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_string()))
        };
        let mut body = raw[split + 4..].to_vec();
        if header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
            body = dechunk(&body);
        }
        Ok(HttpResponse { status, content_type: header("content-type"), retry_after: header("retry-after"), body })
    }
}

impl Scheduler for Loopback {
    async fn sleep(&self, millis: u32) {
        self.sleeps.borrow_mut().push(millis);
        std::thread::sleep(std::time::Duration::from_millis(u64::from(millis.min(1500))));
    }
}
