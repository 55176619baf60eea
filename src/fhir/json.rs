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
    let text: Cow<'_, [u8]> = match String::from_utf8_lossy(bytes) {
        Cow::Borrowed(_) => Cow::Borrowed(bytes),
        Cow::Owned(s) => Cow::Owned(s.into_bytes()),
    };
    let b: &[u8] = &text;
    // Backslashes occur only inside strings in JSON, so escapes can be read
    // without tracking where strings start and end.
    let mut fixes: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while let Some(off) = b.get(i..).and_then(|rest| rest.iter().position(|&c| c == b'\\')) {
        let at = i + off;
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
    if fixes.is_empty() {
        return text;
    }
    let mut out = Vec::with_capacity(b.len());
    let mut from = 0;
    for (start, end) in fixes {
        out.extend_from_slice(b.get(from..start).unwrap_or_default());
        out.extend_from_slice(REPLACEMENT);
        from = end;
    }
    out.extend_from_slice(b.get(from..).unwrap_or_default());
    Cow::Owned(out)
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
}
