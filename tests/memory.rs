//! Peak heap while opening and charting the largest Synthea record
//! (9.1 MB of FHIR JSON), counted by a global allocator: the path the
//! browser's `openUrl` takes (a body read in 64 KiB chunks, the JWE's text,
//! its ciphertext, the plaintext, the parsed record, consent, the chart and
//! its markup). WebAssembly memory never shrinks, so the peak of live bytes
//! is a floor for the page's `memory.buffer` high-water.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use patient_portal_sdk::consent::{Policy, Viewer};
use patient_portal_sdk::pipeline::{open, Audience, OpenOptions, SealedFile, Stage};
use patient_portal_sdk::render::{build_chart, to_html, RenderOptions};
use patient_portal_sdk::source::{HttpClient, HttpRequest, HttpResponse, Immediate, SourceError};
use patient_portal_sdk::unseal::{seal, AeadFailure, AsyncCipher, ContentCipher, ContentKey, GcmSeal, RustCryptoCipher, SealOptions};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
            PEAK.fetch_max(now, Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    // As the WebAssembly build's allocator: growing, a new block, a copy, the
    // old one freed; shrinking, in place.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size <= layout.size() {
            let p = System.realloc(ptr, layout, new_size);
            if !p.is_null() {
                LIVE.fetch_sub(layout.size() - new_size, Relaxed);
            }
            return p;
        }
        let new = self.alloc(Layout::from_size_align_unchecked(new_size, layout.align()));
        if !new.is_null() {
            std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Serves one sealed body, handed over as the browser transport builds it:
/// room for the declared `Content-Length`, then 64 KiB chunks appended.
struct OneFile(Vec<u8>);

impl HttpClient for OneFile {
    async fn send(&self, _request: HttpRequest<'_>, _max: usize) -> Result<HttpResponse, SourceError> {
        let mut body = Vec::with_capacity(self.0.len());
        for chunk in self.0.chunks(64 * 1024) {
            let start = body.len();
            body.resize(start + chunk.len(), 0);
            body[start..].copy_from_slice(chunk);
        }
        Ok(HttpResponse { status: 200, content_type: Some("application/jose".into()), retry_after: None, body })
    }
}

fn mb(bytes: usize) -> f64 {
    (bytes as f64 / 1e5).round() / 10.0
}

/// Bytes outside the counted heap: JavaScript's memory, where the browser's
/// WebCrypto backend keeps its copy of the ciphertext.
struct Outside(*mut u8, Layout);

impl Outside {
    fn copy(bytes: &[u8]) -> Outside {
        let layout = Layout::from_size_align(bytes.len().max(1), 1).unwrap();
        unsafe {
            let ptr = System.alloc(layout);
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr, bytes.len());
            Outside(ptr, layout)
        }
    }

    fn bytes(&self) -> &[u8] {
        unsafe { std::slice::from_raw_parts(self.0, self.1.size()) }
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        unsafe { System.dealloc(self.0, self.1) }
    }
}

/// The browser's default backend (WebCrypto) as WebAssembly memory sees it:
/// the ciphertext is copied out to JavaScript, the token's buffer freed,
/// and the plaintext copied back in (a block of its own size).
struct Platform;

impl AsyncCipher for Platform {
    async fn decrypt_async<F: std::future::Future<Output = ()>>(
        &self,
        seal: &GcmSeal<'_>,
        aad: &[u8],
        ciphertext: &[u8],
        _between: impl FnMut() -> F,
    ) -> Result<Vec<u8>, AeadFailure> {
        RustCryptoCipher.decrypt(seal, aad, ciphertext)
    }

    async fn decrypt_owned_async<F: std::future::Future<Output = ()>>(
        &self,
        seal: &GcmSeal<'_>,
        buffer: Vec<u8>,
        aad: Range<usize>,
        ciphertext: Range<usize>,
        _between: impl FnMut() -> F,
    ) -> Result<Vec<u8>, AeadFailure> {
        let outside = Outside::copy(&buffer);
        drop(buffer);
        RustCryptoCipher.decrypt(seal, &outside.bytes()[aad], &outside.bytes()[ciphertext])
    }
}

/// Live and peak heap (above what was live before) at each stage of one open and render.
struct Figures {
    stages: Vec<(Stage, usize, usize, f64)>,
    opened_peak: usize,
    opened_live: usize,
    charted_live: usize,
    rendered_live: usize,
    peak: usize,
}

fn measure(server: &OneFile, key: &ContentKey, cipher: &impl AsyncCipher) -> Figures {
    let started = std::time::Instant::now();
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let mut stages: Vec<(Stage, usize, usize, f64)> = Vec::new();
    let open_options = OpenOptions::default();
    let (viewer, policy) = (Viewer::patient(1_790_000_000), Policy::default());
    let opened = {
        let source = SealedFile { client: server, cipher, url: "https://records.example/r.jwe", key, options: &open_options };
        let mut progress = |stage| {
            stages.push((stage, LIVE.load(Relaxed) - base, PEAK.load(Relaxed) - base, started.elapsed().as_secs_f64() * 1e3));
        };
        pollster::block_on(open(&source, &Immediate, Audience { viewer: &viewer, policy: &policy, consents: &[] }, &mut progress)).unwrap()
    };
    let (opened_live, opened_peak) = (LIVE.load(Relaxed) - base, PEAK.load(Relaxed) - base);
    let record = opened.screened.record;
    let chart = build_chart(&record, &RenderOptions::new(patient_portal_sdk::fhir::Date::from_ymd(2026, 11, 30).unwrap()));
    let charted_live = LIVE.load(Relaxed) - base;
    let html = to_html(&chart);
    let peak = PEAK.load(Relaxed) - base;
    let rendered_live = LIVE.load(Relaxed) - base;
    assert!(html.len() > 100_000);
    Figures { stages, opened_peak, opened_live, charted_live, rendered_live, peak }
}

#[test]
fn opening_the_largest_record_peaks_within_bounds() {
    let dir = format!("{}/../shared/data/fhir/synthea", env!("CARGO_MANIFEST_DIR"));
    let file =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).find(|p| p.file_name().unwrap().to_string_lossy().starts_with("Zackary401")).unwrap();
    let plaintext = std::fs::read(&file).unwrap();
    let key = ContentKey::from_bytes(&[7u8; 32]).unwrap();
    let options = SealOptions { deflate: false, content_type: Some("application/fhir+json".into()) };
    let server = OneFile(seal(&plaintext, &key, [1u8; 12], &options).unwrap().into_bytes());
    let plain_len = plaintext.len();
    drop(plaintext);
    let ratio = |bytes: usize| bytes as f64 / plain_len as f64;

    for (name, figures) in [("platform (WebCrypto)", measure(&server, &key, &Platform)), ("portable (RustCrypto)", measure(&server, &key, &RustCryptoCipher))] {
        eprintln!("{name}:");
        for (stage, live, peak, ms) in &figures.stages {
            eprintln!("at {:<8} {ms:>7.1} ms: live {:>6} MB, peak so far {:>6} MB", stage.name(), mb(*live), mb(*peak));
        }
        let Figures { opened_peak, opened_live, charted_live, rendered_live, peak, .. } = figures;
        eprintln!("opened: live {} MB; chart built: live {} MB; markup: live {} MB", mb(opened_live), mb(charted_live), mb(rendered_live));
        eprintln!("plaintext {} MB; peak {} MB = {:.2}x", mb(plain_len), mb(peak), ratio(peak));
        // With the platform's cipher the token's buffer is gone before the
        // plaintext is copied back; the portable one decrypts in the buffer
        // and cuts it down to the plaintext. Either way the peak is the
        // plaintext (its indentation folded: 9.1 MB to 6.3) beside the
        // record being read.
        let bound = 1.8;
        assert!(ratio(opened_peak) <= bound, "{name}: open: peak {} MB", mb(opened_peak));
        // The record keeps compact text, not a tree of values per resource,
        // and lists and rare elements take no room they do not use.
        assert!(ratio(opened_live) <= 1.15, "{name}: opened record: {} MB", mb(opened_live));
        // The chart reads members of the resources it describes without
        // keeping them: its view model is small beside the record.
        assert!(ratio(charted_live - opened_live) <= 0.25, "{name}: chart: {} MB", mb(charted_live - opened_live));
        // Chart and markup stay below the open's peak.
        assert!(ratio(peak) <= bound, "{name}: peak {} MB", mb(peak));
    }
}
