//! Creating SMART Health Links: a random id, a fresh key, the files sealed
//! under it, the link stored, and the `shlink:/` URI built.
//!
//! The key lives only in the returned [`CreatedLink`] (zeroized on drop): the
//! caller prints it and drops it. The store gets the ciphertext alone.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use patient_portal_sdk::unseal::{seal, ContentKey, SealOptions};
use qrcode::render::{svg, unicode::Dense1x2};
use qrcode::{EcLevel, QrCode};
use zeroize::Zeroizing;

use crate::store::{NewFile, NewLink, Store};

/// Content type of FHIR JSON files.
pub const FHIR_JSON: &str = "application/fhir+json";

/// One plaintext file of a new link.
pub struct PlainFile {
    pub content_type: &'static str,
    pub bytes: Zeroizing<Vec<u8>>,
}

/// What to create.
pub struct LinkSpec<'a> {
    /// Public base URL of the host, without a trailing slash.
    pub base: &'a str,
    pub passcode: Option<&'a str>,
    pub attempts: u32,
    pub exp: Option<i64>,
    pub label: Option<&'a str>,
    pub long_term: bool,
    pub direct: bool,
    pub demo: bool,
    /// Demo only: flip one bit of the first stored ciphertext.
    pub tamper: bool,
    /// The owning account of the link API, if any.
    pub account: Option<i64>,
    pub files: Vec<PlainFile>,
}

/// A created link. Holds the key: print it, then drop it.
pub struct CreatedLink {
    pub id: String,
    pub manifest_url: String,
    /// `shlink:/…` (contains the key).
    pub shlink: Zeroizing<String>,
}

impl CreatedLink {
    /// `<viewer>#shlink:/…`.
    pub fn viewer_url(&self, viewer: &str) -> Zeroizing<String> {
        let separator = if viewer.ends_with('#') { "" } else { "#" };
        Zeroizing::new(format!("{viewer}{separator}{}", self.shlink.as_str()))
    }
}

/// A random 256-bit id or token: 43 characters of base64url.
pub fn random_id() -> String {
    URL_SAFE_NO_PAD.encode(crate::random::<32>())
}

/// True for strings shaped like [`random_id`] output.
pub fn is_id(text: &str) -> bool {
    text.len() == 43 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The flag string: single letters in alphabetical order.
fn flags(spec: &LinkSpec<'_>) -> String {
    [(spec.long_term, 'L'), (spec.passcode.is_some(), 'P'), (spec.direct, 'U')].iter().filter_map(|&(on, letter)| on.then_some(letter)).collect()
}

/// Seals the files under a fresh key, stores the link and returns its URI.
pub fn create(store: &dyn Store, spec: &LinkSpec<'_>, now: i64) -> Result<CreatedLink, String> {
    if spec.direct && (spec.files.len() != 1 || spec.passcode.is_some()) {
        return Err("a U link has exactly one file and no passcode".into());
    }
    if spec.files.is_empty() {
        return Err("a link needs at least one file".into());
    }
    let key = ContentKey::from_bytes(Zeroizing::new(crate::random::<32>()).as_slice()).map_err(|e| e.to_string())?;
    let mut files = Vec::with_capacity(spec.files.len());
    for file in &spec.files {
        let options = SealOptions { deflate: true, content_type: Some(file.content_type.into()) };
        let jwe = seal(&file.bytes, &key, crate::random::<12>(), &options).map_err(|e| format!("sealing: {e}"))?;
        files.push(NewFile { content_type: file.content_type.into(), jwe });
    }
    if spec.tamper {
        if let Some(first) = files.first_mut() {
            first.jwe = crate::demo::tamper(&first.jwe);
        }
    }
    let id = random_id();
    let flags = flags(spec);
    store
        .insert_link(&NewLink {
            id: &id,
            passcode: spec.passcode,
            attempts: spec.attempts,
            exp: spec.exp,
            flags: &flags,
            label: spec.label,
            demo: spec.demo,
            created: now,
            account: spec.account,
            files,
        })
        .map_err(|e| format!("storing the link: {e}"))?;
    let manifest_url = format!("{}/shl/{id}", spec.base);
    let payload = payload_json(&manifest_url, &key.to_base64url(), spec.exp, &flags, spec.label);
    // Encode straight into a zeroizing buffer sized up front (no reallocation copies).
    let mut shlink = Zeroizing::new(String::with_capacity(8 + payload.len().div_ceil(3) * 4));
    shlink.push_str("shlink:/");
    URL_SAFE_NO_PAD.encode_string(payload.as_bytes(), &mut shlink);
    Ok(CreatedLink { id, manifest_url, shlink })
}

/// The minified payload `{"url","key","exp"?,"flag"?,"label"?,"v":1}`, built
/// by hand so the key is only ever in zeroizing buffers.
fn payload_json(url: &str, key: &str, exp: Option<i64>, flags: &str, label: Option<&str>) -> Zeroizing<String> {
    let quote = |text: &str| serde_json::Value::from(text).to_string();
    let mut json = Zeroizing::new(String::with_capacity(128 + url.len() + key.len() + label.map_or(0, str::len) * 6));
    json.push_str("{\"url\":");
    json.push_str(&quote(url));
    json.push_str(",\"key\":\"");
    json.push_str(key); // base64url: nothing to escape
    json.push('"');
    if let Some(exp) = exp {
        json.push_str(&format!(",\"exp\":{exp}"));
    }
    if !flags.is_empty() {
        json.push_str(&format!(",\"flag\":\"{flags}\""));
    }
    if let Some(label) = label {
        json.push_str(",\"label\":");
        json.push_str(&quote(label));
    }
    json.push_str(",\"v\":1}");
    json
}

fn qr(data: &str) -> Result<QrCode, String> {
    QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).map_err(|e| format!("QR code: {e}"))
}

/// The QR code of `data` as terminal art (two modules per character cell).
pub fn qr_text(data: &str) -> Result<String, String> {
    Ok(qr(data)?.render::<Dense1x2>().dark_color(Dense1x2::Light).light_color(Dense1x2::Dark).quiet_zone(true).build())
}

/// The QR code of `data` as an SVG document.
pub fn qr_svg(data: &str) -> Result<String, String> {
    Ok(qr(data)?.render::<svg::Color<'_>>().min_dimensions(256, 256).quiet_zone(true).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_minified_json() {
        let json = payload_json("https://h/shl/x", "k", Some(5), "LP", Some("a \"b\""));
        let value: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        assert_eq!(value["label"], "a \"b\"");
        assert_eq!(value["flag"], "LP");
        assert_eq!(value["v"], 1);
        assert!(json.starts_with("{\"url\":\"https://h/shl/x\",\"key\":\"k\""));
    }
}
