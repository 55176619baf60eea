//! SMART Health Link payloads: `shlink:/…` and viewer URLs ending in
//! `#shlink:/…` (HL7 SHL IG, "Construct a SMART Health Link Payload").

use serde_json::Value;

use crate::unseal::ContentKey;

/// The newest payload version this SDK understands.
pub const SUPPORTED_VERSION: u64 = 1;

/// Longest link text accepted (real links are a few hundred characters).
const MAX_LINK_CHARS: usize = 16 * 1024;

/// Why a link cannot be used. Messages never include the key or the link.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this is not a SMART Health Link (no \"shlink:/\" part)")]
    NotALink,
    #[error("the link is longer than {MAX_LINK_CHARS} characters")]
    TooLong,
    #[error("the link's payload is not base64url-encoded JSON")]
    Payload,
    #[error("the link's payload has no \"url\"")]
    MissingUrl,
    #[error("the link's \"url\" must be an https URL (http only on this device's loopback)")]
    BadUrl,
    #[error("the link's \"key\" must be 43 base64url characters (32 bytes)")]
    BadKey,
    #[error("the link's \"exp\" is not a time in epoch seconds")]
    BadExpiry,
    #[error("the link's \"flag\" is not text, or combines U with P, which the specification forbids")]
    BadFlags,
    #[error("the link's \"label\" is not text of at most 80 characters")]
    BadLabel,
    #[error("the link's \"v\" is not a positive whole number")]
    BadVersion,
    #[error("the link needs SMART Health Links version {0}; this viewer supports version {SUPPORTED_VERSION}")]
    NewerVersion(u64),
}

/// The flags a link carries (unknown flags are ignored, as the spec requires).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    /// `L`: long-term; the manifest may change over time.
    pub long_term: bool,
    /// `P`: a passcode is needed.
    pub passcode: bool,
    /// `U`: `url` is the single file itself (`GET`), no manifest.
    pub direct: bool,
}

impl Flags {
    /// The flags in the spec's form (alphabetical), e.g. `"LP"`.
    pub fn as_text(&self) -> String {
        [(self.long_term, 'L'), (self.passcode, 'P'), (self.direct, 'U')].iter().filter(|f| f.0).map(|f| f.1).collect()
    }
}

/// A parsed SMART Health Link.
#[derive(Debug, Clone)]
pub struct Link {
    /// The manifest URL (or, with `U`, the file URL).
    pub url: String,
    /// The key every file of the link is encrypted with.
    pub key: ContentKey,
    /// Expiry in epoch seconds, when the link has one.
    pub exp: Option<i64>,
    pub flags: Flags,
    pub label: Option<String>,
    pub version: u64,
}

impl Link {
    /// Whether the link has expired at `now` (epoch seconds).
    pub fn is_expired(&self, now: i64) -> bool {
        self.exp.is_some_and(|exp| exp <= now)
    }
}

/// Parses `shlink:/…`, or a viewer URL containing `#shlink:/…`.
pub fn parse_link(text: &str) -> Result<Link, LinkError> {
    let text = text.trim();
    if text.len() > MAX_LINK_CHARS {
        return Err(LinkError::TooLong);
    }
    let encoded = payload_text(text).ok_or(LinkError::NotALink)?;
    let json = crate::b64::decode_url(encoded.trim_end_matches('=').as_bytes()).ok_or(LinkError::Payload)?;
    let payload: Value = crate::fhir::value::parse(&json).map_err(|_| LinkError::Payload)?;
    let payload = payload.as_object().ok_or(LinkError::Payload)?;

    // The version first: a newer link may use the other fields differently.
    let version = match payload.get("v") {
        None | Some(Value::Null) => SUPPORTED_VERSION,
        Some(v) => v.as_u64().filter(|&v| v >= 1).ok_or(LinkError::BadVersion)?,
    };
    if version > SUPPORTED_VERSION {
        return Err(LinkError::NewerVersion(version));
    }
    let url = payload.get("url").ok_or(LinkError::MissingUrl)?.as_str().ok_or(LinkError::BadUrl)?;
    if !url_allowed(url) {
        return Err(LinkError::BadUrl);
    }
    let key_text = payload.get("key").and_then(Value::as_str).ok_or(LinkError::BadKey)?;
    if key_text.len() != 43 {
        return Err(LinkError::BadKey);
    }
    let key = ContentKey::from_base64url(key_text).map_err(|_| LinkError::BadKey)?;
    let exp = match payload.get("exp") {
        None | Some(Value::Null) => None,
        Some(v) => Some(epoch_seconds(v).ok_or(LinkError::BadExpiry)?),
    };
    let flags = match payload.get("flag") {
        None | Some(Value::Null) => Flags::default(),
        Some(Value::String(f)) => Flags { long_term: f.contains('L'), passcode: f.contains('P'), direct: f.contains('U') },
        Some(_) => return Err(LinkError::BadFlags),
    };
    if flags.direct && flags.passcode {
        return Err(LinkError::BadFlags);
    }
    let label = match payload.get("label") {
        None | Some(Value::Null) => None,
        Some(Value::String(l)) if l.chars().count() <= 80 => Some(l.clone()),
        Some(_) => return Err(LinkError::BadLabel),
    };
    Ok(Link { url: url.to_string(), key, exp, flags, label, version })
}

/// The base64url payload after `shlink:/` (the scheme in any case), either
/// at the start or after a viewer URL's `#`.
fn payload_text(text: &str) -> Option<&str> {
    const SCHEME: &str = "shlink:/";
    fn after_scheme(s: &str) -> Option<&str> {
        s.get(..SCHEME.len()).filter(|head| head.eq_ignore_ascii_case(SCHEME)).and(s.get(SCHEME.len()..))
    }
    if let Some(rest) = after_scheme(text) {
        return Some(rest);
    }
    let (_, fragment) = text.split_once('#')?;
    after_scheme(fragment)
}

/// `exp` as epoch seconds: a JSON number, or a numeric string (seen in real
/// payloads). Fractions are truncated; values beyond 64 bits are refused.
fn epoch_seconds(value: &Value) -> Option<i64> {
    let number = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => return None,
    };
    if let Ok(n) = number.parse::<i64>() {
        return Some(n);
    }
    let f = crate::numtext::parse_f64(&number).filter(|f| f.is_finite() && f.abs() < 9.0e15)?;
    Some(f.trunc() as i64)
}

/// Links must point at `https:` URLs; `http:` only on the loopback host
/// (development servers). No user-info, no whitespace or control characters.
pub(crate) fn url_allowed(url: &str) -> bool {
    if url.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let lower = url.to_ascii_lowercase();
    let (secure, rest) = if let Some(rest) = lower.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = lower.strip_prefix("http://") {
        (false, rest)
    } else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return false;
    }
    if secure {
        return true;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host == "localhost"
        || host == "::1"
        || host.strip_prefix("127.").is_some_and(|r| r.split('.').count() == 3 && r.split('.').all(|p| p.parse::<u8>().is_ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_policy() {
        assert!(url_allowed("https://ehr.example.org/qr/abc/m"));
        assert!(url_allowed("http://127.0.0.1:8080/shl/x"));
        assert!(url_allowed("http://localhost/shl/x"));
        assert!(url_allowed("http://[::1]:9/x"));
        assert!(!url_allowed("http://example.org/shl/x"));
        assert!(!url_allowed("http://127.0.0.1.evil.example/x"));
        assert!(!url_allowed("https://user@host/x"));
        assert!(!url_allowed("javascript:alert(1)"));
        assert!(!url_allowed("https:// host/x"));
        assert!(!url_allowed("https:///x"));
    }

    #[test]
    fn flags_text() {
        assert_eq!(Flags { long_term: true, passcode: true, direct: false }.as_text(), "LP");
        assert_eq!(Flags::default().as_text(), "");
    }
}
