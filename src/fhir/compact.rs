//! A resource's JSON text made compact in one pass, without building a
//! `serde_json::Value` tree and writing it out again.
//!
//! The text written is what `serde_json` writes for the value, except that
//! an object's members stay in the order received (a `Value` sorts them):
//! no whitespace, strings with the escapes `serde_json` writes (`"`, `\`
//! and control characters only, so a key such as `"security"` is always
//! written as it reads) and numbers as `serde_json` keeps them (the digits
//! received, the exponent written `e+N` or `e-N`). What this reader refuses
//! is everything `serde_json` refuses, and a little more (nesting deeper
//! than [`MAX_DEPTH`], a lone surrogate escape): the caller then reads the
//! text with `serde_json`, which gives the error or the value.

use std::ops::Range;

/// Deeper nesting is left to `serde_json` (whose own limit is 128 levels,
/// counted from the document's root).
pub const MAX_DEPTH: usize = 100;

/// The character of JSON's one-letter escape `\\kind` (`None` for `u` and
/// for what is not an escape).
pub(super) fn short_escape(kind: u8) -> Option<char> {
    Some(match kind {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        _ => return None,
    })
}

/// Whether a string's fast path stops at `c`: the quote, the backslash
/// and control characters (which JSON refuses unescaped).
#[inline(always)]
fn stops(c: u8) -> bool {
    c < 0x20 || c == b'"' || c == b'\\'
}

/// The length of the run of string text `rest` starts with, up to the
/// first byte that [`stops`] it (`None`: none does), eight bytes at a time
/// (one 64-bit test per eight: a byte equal to the quote or the backslash,
/// or below 0x20; the lowest byte a word flags is exact, as a borrow only
/// runs towards higher bytes). Shared by this writer and the JSON reader
/// (`super::value`).
pub(super) fn run_len(rest: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Nonzero exactly when some byte of `x` is below `n` (n at most 0x80).
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
    let mut words = rest.chunks_exact(8);
    let mut at = 0;
    for word in words.by_ref() {
        let x = u64::from_le_bytes(word.try_into().unwrap_or_default());
        let flags = below(x ^ (ONES * u64::from(b'"')), 1) | below(x ^ (ONES * u64::from(b'\\')), 1) | below(x, 0x20);
        if flags != 0 {
            return Some(at + flags.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    words.remainder().iter().position(|&c| stops(c)).map(|run| at + run)
}

/// Writes the JSON value `input` (whitespace around it allowed) to `out`
/// in compact form; `false` when it is not JSON this reader takes (what
/// was written to `out` is then meaningless).
#[cfg(test)]
pub fn compact(input: &[u8], out: &mut Vec<u8>) -> bool {
    compact_noting(input, out, &mut Vec::new())
}

/// A member of an object at the first or second level of nesting (the
/// outermost object is at the first), written by [`compact_noting`]: its
/// level, where its key is in the output (inside the quotes) and where its
/// value is.
pub type Noted = (usize, Range<usize>, Range<usize>);

/// [`compact`], noting in `members` (in the order written) the members of
/// the objects at the first two levels: a Bundle entry's members and its
/// resource's, found without reading the text again.
pub fn compact_noting(input: &[u8], out: &mut Vec<u8>, members: &mut Vec<Noted>) -> bool {
    compact_prefix(input, out, members).and_then(|len| input.get(len..)).is_some_and(|rest| rest.iter().all(|c| matches!(c, b' ' | b'\n' | b'\r' | b'\t')))
}

/// [`compact_noting`] over the JSON value `input` starts with (what follows
/// it is not read): how many bytes of `input` it took, or `None` where
/// [`compact_noting`] would refuse that value alone.
pub fn compact_prefix(input: &[u8], out: &mut Vec<u8>, members: &mut Vec<Noted>) -> Option<usize> {
    members.clear();
    let mut c = Compactor { b: input, i: 0, out, members };
    c.value(0)?;
    Some(c.i)
}

struct Compactor<'a, 'o> {
    b: &'a [u8],
    i: usize,
    out: &'o mut Vec<u8>,
    members: &'o mut Vec<Noted>,
}

impl Compactor<'_, '_> {
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline(always)]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.i += 1;
        }
    }

    /// Takes `byte`, writing it.
    #[inline(always)]
    fn take(&mut self, byte: u8) {
        self.i += 1;
        self.out.push(byte);
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        self.ws();
        match self.peek()? {
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'"' => self.string(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn object(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.take(b'{');
        self.ws();
        if self.peek()? == b'}' {
            self.take(b'}');
            return Some(());
        }
        loop {
            self.ws();
            if self.peek()? != b'"' {
                return None;
            }
            let key_at = self.out.len() + 1;
            self.string()?;
            let key = key_at..self.out.len() - 1;
            self.ws();
            if self.peek()? != b':' {
                return None;
            }
            self.take(b':');
            self.ws();
            let value_at = self.out.len();
            self.value(depth)?;
            if depth <= 2 {
                self.members.push((depth, key, value_at..self.out.len()));
            }
            self.ws();
            match self.peek()? {
                b',' => self.take(b','),
                b'}' => {
                    self.take(b'}');
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.take(b'[');
        self.ws();
        if self.peek()? == b']' {
            self.take(b']');
            return Some(());
        }
        loop {
            self.value(depth)?;
            self.ws();
            match self.peek()? {
                b',' => self.take(b','),
                b']' => {
                    self.take(b']');
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.i + word.len();
        if self.b.get(self.i..end)? != word {
            return None;
        }
        self.out.extend_from_slice(word);
        self.i = end;
        Some(())
    }

    /// Digits from the cursor, written; how many.
    fn digits(&mut self) -> usize {
        let from = self.i;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            self.take(c);
        }
        self.i - from
    }

    /// JSON's number grammar; written as `serde_json` keeps it.
    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.take(b'-');
        }
        match self.peek()? {
            b'0' => {
                self.take(b'0');
                // One leading zero only (a digit after it is refused by the caller).
            }
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.take(b'.');
            if self.digits() == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.take(b'e');
            match self.peek()? {
                sign @ (b'+' | b'-') => self.take(sign),
                _ => self.out.push(b'+'),
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let mut n = 0u32;
        for &c in self.b.get(at..at + 4)? {
            n = n * 16 + char::from(c).to_digit(16)?;
        }
        Some(n)
    }

    /// A string, its escapes rewritten as `serde_json` writes them.
    fn string(&mut self) -> Option<()> {
        self.take(b'"');
        loop {
            let from = self.i;
            let rest = self.b.get(from..)?;
            let run = run_len(rest)?;
            self.out.extend_from_slice(rest.get(..run)?);
            self.i = from + run;
            match self.peek()? {
                b'"' => {
                    self.take(b'"');
                    return Some(());
                }
                b'\\' => self.escape()?,
                // A control character written as it is: JSON refuses it.
                _ => return None,
            }
        }
    }

    fn escape(&mut self) -> Option<()> {
        let kind = *self.b.get(self.i + 1)?;
        let c = match short_escape(kind) {
            Some(c) => c,
            None if kind == b'u' => {
                let high = self.hex4(self.i + 2)?;
                let code = if (0xD800..0xDC00).contains(&high) {
                    if self.b.get(self.i + 6..self.i + 8)? != b"\\u" {
                        return None;
                    }
                    let low = self.hex4(self.i + 8)?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return None;
                    }
                    self.i += 6;
                    0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                } else {
                    high
                };
                self.i += 4;
                char::from_u32(code)?
            }
            None => return None,
        };
        self.i += 2;
        self.write_char(c);
        Some(())
    }

    /// One character of a string, escaped as `serde_json` escapes it.
    fn write_char(&mut self, c: char) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let short = match c {
            '"' => Some(b'"'),
            '\\' => Some(b'\\'),
            '\u{8}' => Some(b'b'),
            '\u{c}' => Some(b'f'),
            '\n' => Some(b'n'),
            '\r' => Some(b'r'),
            '\t' => Some(b't'),
            _ => None,
        };
        if let Some(s) = short {
            self.out.extend_from_slice(&[b'\\', s]);
        } else if u32::from(c) < 0x20 {
            let n = usize::from(c as u8);
            let hex = |d: usize| HEX.get(d).copied().unwrap_or(b'0');
            self.out.extend_from_slice(&[b'\\', b'u', b'0', b'0', hex(n >> 4), hex(n & 15)]);
        } else {
            let mut buf = [0u8; 4];
            self.out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::compact;
    use serde_json::Value;

    #[test]
    fn a_run_of_string_text_ends_where_byte_by_byte_it_would() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..200_000 {
            let len = (next() % 40) as usize;
            // Mostly plain text, with now and then any byte, or a quote, a backslash, a control character or a high byte.
            let text: Vec<u8> = (0..len)
                .map(|_| match next() % 16 {
                    0 => (next() % 256) as u8,
                    1 => [b'"', b'\\', 0x1f, 0x20, 0x00, 0x7f, 0x80, 0xff][(next() % 8) as usize],
                    _ => b'a' + (next() % 26) as u8,
                })
                .collect();
            assert_eq!(super::run_len(&text), text.iter().position(|&c| super::stops(c)), "{text:?}");
        }
    }

    /// `text` compacted here and read by serde_json agree: a text taken
    /// here is taken there, reads as the same value, and is as long as
    /// serde_json's own text (the members are the same, reordered); serde_json's
    /// own text compacts to itself, byte for byte.
    fn check(text: &str) {
        let mut out = Vec::new();
        let ours = compact(text.as_bytes(), &mut out).then(|| String::from_utf8(out).unwrap());
        let theirs = serde_json::from_str::<Value>(text);
        match (&ours, &theirs) {
            (Some(ours), Ok(value)) => {
                let canonical = value.to_string();
                assert_eq!(&serde_json::from_str::<Value>(ours).unwrap(), value, "{text}");
                assert_eq!(ours.len(), canonical.len(), "{text}\n{ours}\n{canonical}");
                let mut again = Vec::new();
                assert!(compact(canonical.as_bytes(), &mut again), "{canonical}");
                assert_eq!(String::from_utf8(again).unwrap(), canonical);
            }
            (Some(_), Err(e)) => panic!("taken, but serde_json refuses it ({e}): {text}"),
            (None, Ok(_)) => {
                // Refused here and taken by serde_json: only what this reader leaves to it.
                assert!(text.contains("\\u") || text.matches(['[', '{']).count() > super::MAX_DEPTH, "refused: {text}");
            }
            (None, Err(_)) => {}
        }
    }

    #[test]
    fn writes_what_serde_json_writes_in_received_order() {
        for text in [
            r#"{"resourceType": "Observation", "b": 1, "a": [1, 2.50, -0, 1E5, 1e+5, 1.5e-07, 12345678901234567890123, 0e0, -0.0E-0], "c": {"z": null, "y": true, "x": false}}"#,
            r#" { "k\u0065y" : "a\/b\u00e9\u001F\u007f\ud83d\ude00\"\\\b\f\n\r\t\u0000" } "#,
            "[]",
            "{}",
            "[[], {}, [{}], \"\"]",
            "\"é€😀\"",
            "123",
            "-1.0",
        ] {
            check(text);
        }
        let mut out = Vec::new();
        assert!(compact(br#"{"dup": 1, "dup": 2}"#, &mut out));
        assert_eq!(out, br#"{"dup":1,"dup":2}"#);
    }

    #[test]
    fn refuses_what_serde_json_refuses() {
        for text in [
            "",
            " ",
            "01",
            "1.",
            ".5",
            "+1",
            "1e",
            "1e+",
            "-",
            "--1",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{a:1}",
            "[1 2]",
            "tru",
            "nul",
            "True",
            "\"a",
            "\"a\u{1}\"",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\u12g4\"",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\ud800\\u0041\"",
            "[1] [2]",
            "{\"a\":1}}",
            "[",
            "{",
            "{\"a\"",
            "{\"a\":",
            "0x10",
            "Infinity",
            "NaN",
            "1.5.5",
            "[-]",
            "{\"a\":1 \"b\":2}",
            "\u{feff}1",
        ] {
            check(text);
            let mut out = Vec::new();
            assert!(!compact(text.as_bytes(), &mut out), "{text:?}");
        }
    }

    #[test]
    fn every_cut_and_replaced_byte_agrees_with_serde_json() {
        let doc = r#"{"resourceType":"Observation","id":"a\"1","valueQuantity":{"value":-7.20e-1,"unit":"mg/dL"},"component":[{"code":{"text":"x\u00e9\ud83d\ude00"}},null,true,false,[]],"n":0}"#;
        for cut in 0..=doc.len() {
            if doc.is_char_boundary(cut) {
                check(&doc[..cut]);
            }
        }
        let bytes = doc.as_bytes();
        for at in 0..bytes.len() {
            for with in [b' ', b'"', b'\\', b'{', b'}', b'[', b']', b',', b':', b'0', b'-', b'e', b'.', b'u', b'x', 0x01] {
                let mut b = bytes.to_vec();
                b[at] = with;
                if let Ok(text) = std::str::from_utf8(&b) {
                    check(text);
                }
            }
        }
    }

    #[test]
    fn the_first_two_levels_members_are_noted_where_they_are_written() {
        let doc = br#" { "fullUrl" : "u", "resource" : { "resourceType" : "Observation", "code" : { "text" : "\u0041" }, "x" : [ { "y" : 1 } ] }, "request" : { "method" : "GET" } } "#;
        let (mut out, mut noted) = (Vec::new(), Vec::new());
        assert!(super::compact_noting(doc, &mut out, &mut noted));
        let text = std::str::from_utf8(&out).unwrap();
        let seen: Vec<(usize, &str, &str)> = noted.iter().map(|(d, k, v)| (*d, &text[k.clone()], &text[v.clone()])).collect();
        assert_eq!(
            seen,
            [
                (1, "fullUrl", "\"u\""),
                (2, "resourceType", "\"Observation\""),
                (2, "code", "{\"text\":\"A\"}"),
                (2, "x", "[{\"y\":1}]"),
                (1, "resource", r#"{"resourceType":"Observation","code":{"text":"A"},"x":[{"y":1}]}"#),
                (2, "method", "\"GET\""),
                (1, "request", "{\"method\":\"GET\"}"),
            ]
        );
        // The outermost object's members are those the member reader finds.
        let members = crate::fhir::scan::members(&out).unwrap();
        let ones: Vec<_> = noted.iter().filter(|(d, _, _)| *d == 1).map(|(_, k, v)| (k.clone(), v.clone())).collect();
        assert_eq!(ones, members.into_iter().map(|(k, v, _)| (k, v)).collect::<Vec<_>>());
    }

    #[test]
    fn deep_nesting_is_left_to_serde_json() {
        let deep = format!("{}1{}", "[".repeat(super::MAX_DEPTH + 1), "]".repeat(super::MAX_DEPTH + 1));
        assert!(!compact(deep.as_bytes(), &mut Vec::new()));
        let ok = format!("{}1{}", "[".repeat(super::MAX_DEPTH), "]".repeat(super::MAX_DEPTH));
        assert!(compact(ok.as_bytes(), &mut Vec::new()));
    }

    #[test]
    fn real_records_compact_to_serde_json_text_in_received_order() {
        fn walk(dir: &std::path::Path, files: &mut usize) {
            for f in std::fs::read_dir(dir).unwrap().flatten() {
                let path = f.path();
                if path.is_dir() {
                    walk(&path, files);
                } else if path.extension().is_some_and(|e| e == "json") && std::fs::metadata(&path).unwrap().len() < 4_000_000 {
                    check(&std::fs::read_to_string(&path).unwrap());
                    *files += 1;
                }
            }
        }
        let mut files = 0;
        walk(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/fhir")), &mut files);
        assert!(files > 20, "{files}");
    }
}
