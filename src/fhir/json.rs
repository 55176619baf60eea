//! Imperfect text in otherwise good JSON: a lone UTF-16 surrogate escape
//! (`"\ud800"`) or bytes that are not UTF-8 make a strict JSON reader
//! refuse the whole document. One bad string should not lose every other
//! resource, so each is replaced by U+FFFD where it occurs.

use std::borrow::Cow;

const REPLACEMENT: &[u8] = b"\\ufffd";

fn hex4(bytes: &[u8], at: usize) -> Option<u16> {
    let digits = bytes.get(at..at + 4)?;
    let text = std::str::from_utf8(digits).ok()?;
    u16::from_str_radix(text, 16).ok()
}

fn is_high(u: u16) -> bool {
    (0xD800..0xDC00).contains(&u)
}

fn is_low(u: u16) -> bool {
    (0xDC00..0xE000).contains(&u)
}

/// `bytes` with invalid UTF-8 and unpaired surrogate escapes replaced by
/// U+FFFD; borrowed unchanged when there is nothing to repair.
pub fn repair_unicode(bytes: &[u8]) -> Cow<'_, [u8]> {
    crate::source::run_now(repair_unicode_paced(bytes, || std::future::ready(())))
}

/// How many bytes [`repair_unicode_paced`] reads between two calls of `between`.
const STRETCH: usize = 1 << 20;

/// [`repair_unicode`], reading a megabyte at a time and awaiting `between`
/// after each (the browser gives the event loop a turn there).
pub async fn repair_unicode_paced<F: std::future::Future<Output = ()>>(bytes: &[u8], mut between: impl FnMut() -> F) -> Cow<'_, [u8]> {
    let mut at = Some(0);
    while let Some(from) = at.filter(|&from| from < bytes.len()) {
        at = utf8_stretch(bytes, from);
        between().await;
    }
    let text: Cow<'_, [u8]> = if at.is_some() { Cow::Borrowed(bytes) } else { Cow::Owned(String::from_utf8_lossy(bytes).into_owned().into_bytes()) };
    let mut fixes: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while let Some(next) = escapes(&text, i, &mut fixes) {
        i = next;
        between().await;
    }
    if fixes.is_empty() {
        return text;
    }
    Cow::Owned(apply_fixes(&text, &fixes))
}

/// Checks the stretch of UTF-8 from `at`: where the next stretch starts,
/// or `None` when the text is not UTF-8.
#[inline(never)]
fn utf8_stretch(bytes: &[u8], at: usize) -> Option<usize> {
    let end = (at + STRETCH).min(bytes.len());
    match std::str::from_utf8(bytes.get(at..end).unwrap_or_default()) {
        Ok(_) => Some(end),
        // A character cut at the end of the stretch: the next one starts with it.
        Err(e) if e.error_len().is_none() && end < bytes.len() && e.valid_up_to() > 0 => Some(at + e.valid_up_to()),
        Err(_) => None,
    }
}

/// Notes in `fixes` the unpaired surrogate escapes among those starting in
/// the stretch from `i`: where to go on, or `None` at the end of the text.
/// Backslashes occur only inside strings in JSON, so escapes can be read
/// without tracking where strings start and end.
#[inline(never)]
fn escapes(b: &[u8], mut i: usize, fixes: &mut Vec<(usize, usize)>) -> Option<usize> {
    let turn = i + STRETCH;
    while let Some(off) = b.get(i..).and_then(|rest| memchr::memchr(b'\\', rest)) {
        let at = i + off;
        if at >= turn {
            return Some(at);
        }
        match b.get(at + 1) {
            Some(b'u') => match hex4(b, at + 2) {
                Some(u) if is_high(u) => {
                    let paired = b.get(at + 6) == Some(&b'\\') && b.get(at + 7) == Some(&b'u') && hex4(b, at + 8).is_some_and(is_low);
                    if paired {
                        i = at + 12;
                    } else {
                        fixes.push((at, at + 6));
                        i = at + 6;
                    }
                }
                Some(u) if is_low(u) => {
                    fixes.push((at, at + 6));
                    i = at + 6;
                }
                _ => i = at + 2,
            },
            _ => i = at + 2,
        }
    }
    None
}

/// `b` with each range of `fixes` replaced by U+FFFD.
fn apply_fixes(b: &[u8], fixes: &[(usize, usize)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut from = 0;
    for &(start, end) in fixes {
        out.extend_from_slice(b.get(from..start).unwrap_or_default());
        out.extend_from_slice(REPLACEMENT);
        from = end;
    }
    out.extend_from_slice(b.get(from..).unwrap_or_default());
    out
}

/// Reading JSON without indexing: `value.at("key")` is `value["key"]`
/// (`Null` when missing or not an object) and `value.nth(0)` is
/// `value[0]`, written so the core can deny `clippy::indexing_slicing`.
pub trait JsonAt {
    fn at(&self, key: &str) -> &serde_json::Value;
    fn nth(&self, index: usize) -> &serde_json::Value;
}

static NULL: serde_json::Value = serde_json::Value::Null;

impl JsonAt for serde_json::Value {
    fn at(&self, key: &str) -> &serde_json::Value {
        self.get(key).unwrap_or(&NULL)
    }

    fn nth(&self, index: usize) -> &serde_json::Value {
        self.get(index).unwrap_or(&NULL)
    }
}

#[cfg(test)]
mod tests {
    use super::repair_unicode;

    fn repaired(s: &[u8]) -> String {
        let v: serde_json::Value = serde_json::from_slice(&repair_unicode(s)).unwrap();
        v["a"].as_str().unwrap().to_string()
    }

    #[test]
    fn lone_surrogates_and_bad_bytes_become_replacement_characters() {
        assert_eq!(repaired(br#"{"a": "x\ud800y"}"#), "x\u{fffd}y");
        assert_eq!(repaired(br#"{"a": "x\udc00"}"#), "x\u{fffd}");
        assert_eq!(repaired(br#"{"a": "\ud800\ud800\udc00"}"#), "\u{fffd}\u{10000}");
        assert_eq!(repaired(br#"{"a": "\ud83d\ude00 ok"}"#), "\u{1f600} ok");
        // An escaped backslash followed by "ud800" is text, not an escape.
        assert_eq!(repaired(br#"{"a": "\\ud800"}"#), "\\ud800");
        assert_eq!(repaired(b"{\"a\": \"caf\xe9\"}"), "caf\u{fffd}");
        assert!(matches!(repair_unicode(br#"{"a": "fine"}"#), std::borrow::Cow::Borrowed(_)));
        // A truncated escape is left for the JSON reader to refuse.
        assert!(serde_json::from_slice::<serde_json::Value>(&repair_unicode(br#"{"a": "\ud8"}"#)).is_err());
    }

    #[test]
    fn stretches_join_up() {
        // Multi-byte characters and escapes across the megabyte boundaries.
        let mut doc = b"{\"a\": \"".to_vec();
        while doc.len() < 3 * super::STRETCH + 10 {
            doc.extend_from_slice("é€😀\\ud800x\\ud83d\\ude00".as_bytes());
        }
        doc.extend_from_slice(b"\"}");
        let mut turns = 0;
        let paced = crate::source::run_now(super::repair_unicode_paced(&doc, || {
            turns += 1;
            std::future::ready(())
        }));
        assert!(turns >= 6, "{turns}");
        let text: serde_json::Value = serde_json::from_slice(&paced).unwrap();
        let text = text["a"].as_str().unwrap();
        assert!(text.starts_with("é€😀\u{fffd}x😀é"));
        assert_eq!(text.matches('\u{fffd}').count(), text.matches('😀').count() / 2);
        // A byte that is not UTF-8 far into the text.
        let mut bad = doc.clone();
        let x = bad.iter().skip(2 * super::STRETCH).position(|&c| c == b'x').unwrap() + 2 * super::STRETCH;
        bad[x] = 0xff;
        let repaired = repair_unicode(&bad);
        assert!(serde_json::from_slice::<serde_json::Value>(&repaired).is_ok());
        assert!(std::str::from_utf8(&repaired).is_ok());
    }
}
