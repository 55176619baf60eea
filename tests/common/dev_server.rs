//! The development backend as a process for the link-host tests: a
//! temporary database, a server on a free port with its `DEMO_LINKS`, the
//! CLI, and a small HTTP/1.1 client over `std::net::TcpStream`.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

pub const STARTUP: Duration = Duration::from_secs(120);
pub const CHRISTIAN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/christian-balistreri.json");

// ---------------------------------------------------------------- processes

/// The example binary, built (or brought up to date) once per test run.
pub fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "--example", "dev_server"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("running cargo build --example dev_server");
        assert!(status.success(), "cargo build --example dev_server failed");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
        let binary = target.join("debug/examples").join(format!("dev_server{}", std::env::consts::EXE_SUFFIX));
        assert!(binary.is_file(), "{} is missing", binary.display());
        binary
    })
}

/// A database path under the test temp dir, removed (with its WAL files) on drop.
pub struct TempDb(pub PathBuf);

impl TempDb {
    pub fn new() -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let name = format!("link-host-{}-{}.sqlite3", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        let db = Self(path);
        db.remove();
        db
    }

    pub fn files(&self) -> Vec<PathBuf> {
        ["", "-wal", "-shm", "-journal"].iter().map(|s| PathBuf::from(format!("{}{s}", self.0.display()))).collect()
    }

    /// Every byte SQLite keeps for this database.
    pub fn bytes(&self) -> Vec<u8> {
        self.files().iter().filter_map(|f| std::fs::read(f).ok()).flatten().collect()
    }

    pub fn remove(&self) {
        for file in self.files() {
            let _ = std::fs::remove_file(file);
        }
    }

    pub fn arg(&self) -> &str {
        self.0.to_str().expect("UTF-8 temp path")
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        self.remove();
    }
}

/// A running server; killed on drop.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub demo: Value,
    pub output: Arc<Mutex<String>>,
}

impl Server {
    pub fn start(db: &TempDb, extra: &[&str]) -> Self {
        let mut child = Command::new(binary())
            .args(["--port", "0", "--json", "--db", db.arg()])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting dev_server");
        let output = Arc::new(Mutex::new(String::new()));
        let (found, demo_line) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let log = Arc::clone(&output);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(json) = line.strip_prefix("DEMO_LINKS ") {
                    let _ = found.send(json.to_owned());
                }
                log.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::clone(&output);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                log.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let mut server = Self { child, port: 0, demo: Value::Null, output };
        let line = demo_line
            .recv_timeout(STARTUP)
            .unwrap_or_else(|_| panic!("no DEMO_LINKS line; output:\n{}", server.output()));
        server.demo = serde_json::from_str(&line).expect("DEMO_LINKS is JSON");
        let base = server.demo["base"].as_str().expect("base").to_owned();
        server.port = base.trim_start_matches("http://127.0.0.1:").trim_end_matches('/').parse().expect("port in base");
        server
    }

    /// Everything the server printed so far, stdout and stderr.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The demo link of `kind` (the first one, for `plain`).
    pub fn demo_link(&self, kind: &str) -> Link {
        let entry = self.demo["links"]
            .as_array()
            .expect("links array")
            .iter()
            .find(|l| l["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} demo link"));
        let link = Link::parse(entry["link"].as_str().expect("link"));
        assert_eq!(entry["viewerUrl"], format!("{}/#{}", self.base(), link.shlink));
        link
    }

    pub fn request(&self, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        http(self.port, method, target, headers, body)
    }

    pub fn manifest(&self, link: &Link, body: &Value) -> Reply {
        self.request("POST", &link.path(), &[("Content-Type", "application/json")], body.to_string().as_bytes())
    }

    pub fn get(&self, target: &str) -> Reply {
        self.request("GET", target, &[], b"")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the binary with `args` (a CLI subcommand).
pub fn cli(args: &[&str]) -> Output {
    Command::new(binary()).args(args).stdin(Stdio::null()).output().expect("running dev_server")
}

pub fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "command failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

// ------------------------------------------------------------------- links

/// A decoded `shlink:/` URI.
pub struct Link {
    pub shlink: String,
    pub payload: Value,
    pub id: String,
}

impl Link {
    pub fn parse(shlink: &str) -> Self {
        let encoded = shlink.strip_prefix("shlink:/").expect("shlink:/ prefix");
        let payload: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded).expect("base64url payload")).expect("JSON payload");
        let url = payload["url"].as_str().expect("url");
        let id = url.rsplit('/').next().expect("id").to_owned();
        assert_eq!(id.len(), 43, "256-bit id: {id}");
        assert_eq!(payload["key"].as_str().map(str::len), Some(43), "43-character key");
        assert_eq!(payload["v"], 1);
        Self { shlink: shlink.to_owned(), payload, id }
    }

    pub fn path(&self) -> String {
        format!("/shl/{}", self.id)
    }

    pub fn key(&self) -> String {
        self.payload["key"].as_str().expect("key").to_owned()
    }
}

pub fn recipient() -> Value {
    json!({ "recipient": "Dr. Test, Example Clinic" })
}

// -------------------------------------------------------------------- HTTP

/// A parsed HTTP response.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn assert_status(&self, status: u16, what: &str) -> &Self {
        assert_eq!(self.status, status, "{what}: {}", self.text());
        self
    }

    pub fn assert_cors(&self) -> &Self {
        assert_eq!(self.header("Access-Control-Allow-Origin"), Some("*"));
        assert_eq!(self.header("Access-Control-Expose-Headers"), Some("Retry-After"));
        self
    }
}

/// One HTTP/1.1 request over a fresh connection (`Connection: close`).
pub fn http(port: u16, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("write head");
    // The server may answer (413) before reading a large body.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_reply(&raw)
}

/// Sends raw bytes and returns the status line only (the server may keep the
/// connection open).
pub fn status_line_bytes(port: u16, raw: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    stream.write_all(raw).expect("write");
    let mut line = String::new();
    let _ = BufReader::new(stream).read_line(&mut line);
    line.trim_end().to_owned()
}

pub fn status_line(port: u16, raw: &str) -> String {
    status_line_bytes(port, raw.as_bytes())
}

pub fn parse_reply(raw: &[u8]) -> Reply {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("end of headers");
    let head = std::str::from_utf8(&raw[..split]).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("status");
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned())).collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(n, v)| n.eq_ignore_ascii_case("Transfer-Encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Reply { status, headers, body }
}

pub fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").expect("chunk size line");
        let size_text = std::str::from_utf8(&data[..line_end]).expect("chunk size");
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16).expect("hex size");
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Checks that `text` is a compact JWE (`dir`, `A256GCM`) with content type `cty`.
pub fn assert_jwe(text: &str, cty: &str) {
    let parts: Vec<&str> = text.split('.').collect();
    assert_eq!(parts.len(), 5, "five segments");
    assert!(
        parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')),
        "base64url segments"
    );
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("header base64url")).expect("header JSON");
    assert_eq!(header["alg"], "dir");
    assert_eq!(header["enc"], "A256GCM");
    assert_eq!(header["cty"], cty);
    assert!(parts[1].is_empty(), "no encrypted key with dir");
}

/// Decrypts a JWE with the link key (test-only, straight from `aes-gcm`; the
/// SDK's own code is not used here) and inflates it.
pub fn decrypt(jwe: &str, key: &str) -> Vec<u8> {
    use aes_gcm::aead::array::Array;
    use aes_gcm::{AeadInOut, Aes256Gcm, KeyInit};
    let parts: Vec<&str> = jwe.split('.').collect();
    let decode = |s: &str| URL_SAFE_NO_PAD.decode(s).expect("base64url");
    let (iv, mut buffer, tag) = (decode(parts[2]), decode(parts[3]), decode(parts[4]));
    let cipher = Aes256Gcm::new_from_slice(&decode(key)).expect("32-byte key");
    let nonce = Array::try_from(iv.as_slice()).expect("96-bit iv");
    let tag = Array::try_from(tag.as_slice()).expect("128-bit tag");
    cipher
        .decrypt_inout_detached(&nonce, parts[0].as_bytes(), buffer.as_mut_slice().into(), &tag)
        .expect("authentic ciphertext");
    miniz_oxide::inflate::decompress_to_vec(&buffer).expect("raw DEFLATE")
}

/// The files of a 200 manifest.
pub fn files(reply: &Reply) -> Vec<Value> {
    reply.assert_status(200, "manifest").assert_cors();
    assert_eq!(reply.header("Content-Type"), Some("application/json"));
    let files = reply.json()["files"].as_array().expect("files array").clone();
    for file in &files {
        assert!(file["embedded"].is_string() != file["location"].is_string(), "embedded xor location: {file}");
        let updated = file["lastUpdated"].as_str().expect("lastUpdated");
        assert!(updated.len() == 20 && updated.ends_with('Z') && &updated[10..11] == "T", "RFC 3339: {updated}");
    }
    files
}

/// The path of a `location` URL on this server.
pub fn location_path(server: &Server, file: &Value) -> String {
    let location = file["location"].as_str().expect("location");
    let path = location.strip_prefix(&server.base()).expect("location on this server");
    assert!(path.starts_with("/shl/files/") && path.len() == "/shl/files/".len() + 43, "{path}");
    path.to_owned()
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
