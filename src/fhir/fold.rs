//! Folding a pretty-printed document's indentation before it is read, so a
//! large plaintext takes less memory while the record is built beside it.
//!
//! Indentation is most of a pretty-printed record's whitespace (3.6 of the
//! 9.1 MB Synthea record's bytes). Each run of whitespace outside strings
//! that holds a line break keeps everything up to its last line break, and
//! the `n` bytes after it (the next line's indentation) become `n` written
//! in base 3 with the other three JSON whitespace bytes (`' '` 0, `'\t'` 1,
//! `'\r'` 2; most significant first, none for 0). Runs without a line
//! break, strings and tokens are kept byte for byte, so the document reads
//! as the same JSON (the same tokens, never joined), it is invalid exactly
//! where it was, and the line of an error is the line in the original. (A
//! line break inside a string, which JSON does not allow, is folded as any
//! other: the reader fails at it, before any byte the fold changed.)
//! Its column is [`unfold_column`]'s: the line's code says how wide the
//! indentation was.

use zeroize::Zeroizing;

/// Plaintexts from this size are folded. A smaller record takes little
/// memory, and the pass would only cost it time.
pub(crate) const FOLD_FROM: usize = 1 << 20;

/// Input bytes between turns of the event loop: a quarter megabyte, about
/// 14 ms in a browser's first, unoptimised compilation at 4x CPU slowdown.
const STEP: usize = 1 << 18;

#[inline(always)]
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

const DIGITS: [u8; 3] = [b' ', b'\t', b'\r'];

/// Where a fold has got to: bytes before `r` are read, and their folded
/// form is the first `w` bytes (`w <= r`: folding never lengthens).
#[derive(Default)]
struct Folder {
    r: usize,
    w: usize,
}

impl Folder {
    /// Moves `bytes[from..to]` to the write position.
    #[inline(always)]
    fn keep(&mut self, bytes: &mut [u8], from: usize, to: usize) {
        if from != self.w {
            bytes.copy_within(from..to, self.w);
        }
        self.w += to - from;
    }

    /// Folds on (see the module) until `until` bytes are read (or the end),
    /// a line at a time: a valid document's line breaks all lie outside
    /// strings (JSON allows none inside one), so each line break starts a
    /// run of whitespace outside strings, and the bytes from one such run to
    /// the next line break are kept as they are, in one move. A line break
    /// inside a string (an invalid document) is folded as well: its reader
    /// fails at that line break, before any byte the fold changed.
    fn run(&mut self, bytes: &mut [u8], until: usize) {
        let len = bytes.len();
        while self.r < until.min(len) {
            let Some(at) = bytes.get(self.r..).and_then(|rest| memchr::memchr(b'\n', rest)) else {
                self.keep(bytes, self.r, len);
                self.r = len;
                return;
            };
            // The run of whitespace from this line break: kept up to its
            // last line break, the next line's indentation written as its width.
            let (mut end, mut line_start) = (self.r + at + 1, self.r + at + 1);
            while let Some(&c) = bytes.get(end) {
                if c == b'\n' {
                    line_start = end + 1;
                } else if !is_space(c) {
                    break;
                }
                end += 1;
            }
            self.keep(bytes, self.r, line_start);
            self.code(bytes, end - line_start);
            self.r = end;
        }
    }

    /// Writes `n` in base 3 with [`DIGITS`], most significant first (nothing for 0).
    fn code(&mut self, bytes: &mut [u8], mut n: usize) {
        let mut code = [0u8; 48];
        let mut digits = 0;
        while n > 0 {
            if let Some(d) = code.get_mut(digits) {
                *d = DIGITS.get(n % 3).copied().unwrap_or(b' ');
            }
            digits += 1;
            n /= 3;
        }
        for &d in code.get(..digits).unwrap_or_default().iter().rev() {
            if let Some(out) = bytes.get_mut(self.w) {
                *out = d;
            }
            self.w += 1;
        }
    }
}

/// Folds a plaintext of [`FOLD_FROM`] bytes or more (see the module) in
/// place, wipes what is left after the folded document, and shrinks the
/// buffer to it (in the browser's allocator the buffer stays where it is
/// and the room it gives up is free at once); a smaller one is left as it
/// is (`false`). Awaits `between` every [`STEP`] bytes read.
pub(crate) async fn fold_paced<'t>(plaintext: &mut Zeroizing<Vec<u8>>, between: &mut (dyn FnMut() -> crate::source::Turn<'t> + '_)) -> bool {
    let len = plaintext.len();
    if len < FOLD_FROM {
        return false;
    }
    let mut folder = Folder::default();
    while folder.r < len {
        folder.run(plaintext, folder.r + STEP);
        between().await;
    }
    crate::unseal::cut_wiped(plaintext, folder.w);
    true
}

/// The column in the original document of a position the folded document's
/// reader reported at `line` and `column` (1-based line, columns counted
/// in bytes from the line's start as serde_json counts them).
pub(crate) fn unfold_column(folded: &[u8], line: usize, column: usize) -> usize {
    // Line 1 has no code: the document's first bytes were not after a line break.
    let mut start = 0;
    for _ in 1..line {
        match folded.get(start..).and_then(|rest| memchr::memchr(b'\n', rest)) {
            Some(at) => start += at + 1,
            None => return column,
        }
    }
    let code = folded.get(start..).unwrap_or_default().iter().take_while(|&&c| line > 1 && matches!(c, b' ' | b'\t' | b'\r'));
    let (mut width, mut digits) = (0usize, 0);
    for c in code {
        width = width.saturating_mul(3).saturating_add(DIGITS.iter().position(|d| d == c).unwrap_or(0));
        digits += 1;
    }
    if column < digits {
        return column;
    }
    column - digits + width
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fold as it was first written, token by token (strings read to
    /// their closing quote): the model the line-by-line fold must equal on
    /// every valid document.
    fn fold_by_tokens(text: &[u8]) -> Vec<u8> {
        let mut bytes = text.to_vec();
        let mut folder = Folder::default();
        let len = bytes.len();
        while folder.r < len {
            let start = folder.r;
            let mut r = start + 1;
            match bytes.get(start) {
                Some(b'"') => {
                    r = loop {
                        match bytes.get(r..).and_then(|rest| memchr::memchr2(b'"', b'\\', rest)) {
                            Some(at) if bytes.get(r + at) == Some(&b'\\') => r += at + 2,
                            Some(at) => break r + at + 1,
                            None => break len,
                        }
                    }
                    .min(len);
                    folder.keep(&mut bytes, start, r);
                }
                Some(&c) if is_space(c) => {
                    while bytes.get(r).is_some_and(|&c| is_space(c)) {
                        r += 1;
                    }
                    match bytes.get(start..r).and_then(|run| run.iter().rposition(|&c| c == b'\n')) {
                        None => folder.keep(&mut bytes, start, r),
                        Some(last) => {
                            folder.keep(&mut bytes, start, start + last + 1);
                            folder.code(&mut bytes, r - (start + last + 1));
                        }
                    }
                }
                _ => {
                    while bytes.get(r).is_some_and(|&c| c != b'"' && !is_space(c)) {
                        r += 1;
                    }
                    folder.keep(&mut bytes, start, r);
                }
            }
            folder.r = r;
        }
        bytes.truncate(folder.w);
        bytes
    }

    /// Every reference record, as received and pretty-printed with spaces
    /// and with tabs, folds line by line exactly as token by token, in one
    /// step and in steps of every few bytes.
    #[test]
    fn line_by_line_equals_token_by_token_on_every_reference_record() {
        let root = format!("{}/../shared/data/fhir", env!("CARGO_MANIFEST_DIR"));
        let mut files = 0;
        for dir in std::fs::read_dir(&root).unwrap() {
            for file in std::fs::read_dir(dir.unwrap().path()).unwrap() {
                let path = file.unwrap().path();
                if path.extension().is_none_or(|e| e != "json") {
                    continue;
                }
                let text = std::fs::read(&path).unwrap();
                let Ok(value) = serde_json::from_slice::<serde_json::Value>(&text) else { continue };
                let pretty = serde_json::to_string_pretty(&value).unwrap();
                let tabs = pretty.replace("  ", "\t");
                let crlf = pretty.replace('\n', "\r\n");
                for doc in [text.clone(), pretty.into_bytes(), tabs.into_bytes(), crlf.into_bytes()] {
                    let expected = fold_by_tokens(&doc);
                    for step in [usize::MAX, 1, 7, 4096] {
                        let mut bytes = doc.clone();
                        let mut folder = Folder::default();
                        while folder.r < bytes.len() {
                            folder.run(&mut bytes, folder.r.saturating_add(step));
                        }
                        bytes.truncate(folder.w);
                        assert!(bytes == expected, "{} (steps of {step})", path.display());
                    }
                }
                files += 1;
            }
        }
        assert!(files >= 20, "{files}");
    }

    fn fold(text: &str) -> Vec<u8> {
        let mut bytes = text.as_bytes().to_vec();
        let mut folder = Folder::default();
        folder.run(&mut bytes, usize::MAX);
        bytes.truncate(folder.w);
        bytes
    }

    #[test]
    fn indentation_becomes_its_width_in_base_3() {
        assert_eq!(fold("{\n  \"a\": [1,\n      2],\n\"b\" : \"x  \\\" \\n  y\"\n}"), b"{\n\r\"a\": [1,\n\r 2],\n\"b\" : \"x  \\\" \\n  y\"\n}".to_vec());
        // A line break inside a string (invalid JSON, which fails there) is folded as any other.
        assert_eq!(fold("[\"x  \n  y\"]"), b"[\"x  \n\ry\"]".to_vec());
        assert_eq!(fold("[\r\n\t\t\t1, 2 ,\n\n   \n 3]"), b"[\r\n\t 1, 2 ,\n\n   \n\t3]".to_vec());
        assert_eq!(fold("\"unterminated\n   x"), b"\"unterminated\n\t x".to_vec());
        assert_eq!(fold("[1\n         \n"), b"[1\n         \n".to_vec());
        assert_eq!(fold("[1\n         "), b"[1\n\t  ".to_vec());
        assert_eq!(fold(""), b"".to_vec());
        for width in 0..200 {
            let text = format!("[\n{}1]", " ".repeat(width));
            let folded = fold(&text);
            assert!(folded.len() <= text.len());
            assert_eq!(unfold_column(&folded, 2, folded.len() - 3), width + 1, "{width}");
        }
    }

    /// A folded document reads as the same JSON, and its errors, unfolded,
    /// are where the original's are.
    #[test]
    fn folded_documents_read_and_fail_as_the_original() {
        let good = serde_json::json!({"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient", "name": [{"text": "A  \n b"}], "n": [1, -2.5e3, true, null]}}]});
        let mut docs = vec![serde_json::to_string_pretty(&good).unwrap(), good.to_string(), "{\n\t\"a\":\r\n\t\t1\r\n}".into()];
        let pretty = serde_json::to_string_pretty(&good).unwrap();
        // Broken at every byte: cut short, a byte replaced, a byte inserted.
        for (at, _) in pretty.char_indices() {
            docs.push(pretty[..at].to_string());
            for c in ["x", " ", "\n", "\"", "1", "}", ","] {
                docs.push(format!("{}{c}{}", &pretty[..at], &pretty[at..]));
                let next = pretty[at..].chars().next().map_or(0, char::len_utf8);
                docs.push(format!("{}{c}{}", &pretty[..at], &pretty[at + next..]));
            }
        }
        for doc in docs {
            let folded = fold(&doc);
            let original = serde_json::from_str::<serde_json::Value>(&doc);
            let read = serde_json::from_slice::<serde_json::Value>(&folded);
            match (original, read) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{doc:?}"),
                (Err(a), Err(b)) => {
                    assert_eq!((a.line(), a.column()), (b.line(), unfold_column(&folded, b.line(), b.column())), "{doc:?}");
                }
                (a, b) => panic!("{doc:?}: {a:?} / {b:?}"),
            }
        }
    }

    /// A large record, whole and broken, reads through the fold as it reads without it.
    #[test]
    fn large_records_read_and_fail_as_without_folding() {
        let dir = format!("{}/../shared/data/fhir/synthea", env!("CARGO_MANIFEST_DIR"));
        let path = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).find(|p| p.file_name().unwrap().to_string_lossy().starts_with("Vito")).unwrap();
        let original = std::fs::read(path).unwrap();
        assert!(original.len() >= FOLD_FROM);
        let read = |bytes: &[u8]| {
            let mut plaintext = Zeroizing::new(bytes.to_vec());
            let record = crate::source::run_now(crate::fhir::parse_plaintext_paced(&mut plaintext, &crate::source::Immediate));
            (record, plaintext.len())
        };
        let same = |a: &crate::fhir::Record, b: &crate::fhir::Record| {
            a.entries.len() == b.entries.len() && a.entries.iter().zip(&b.entries).all(|(a, b)| a.raw == b.raw && a.full_url == b.full_url)
        };
        let (folded, left) = read(&original);
        assert!(same(&folded.unwrap(), &crate::fhir::parse_record(&original).unwrap()));
        assert!(left < original.len() * 3 / 4, "{left}");
        let mut broken = Vec::new();
        for at in [original.len() / 2 + 7, original.len() - 3] {
            broken.push(original[..at].to_vec());
            for byte in [b'x', b'"', b'\n', b'}', b','] {
                for at in [at, original[..at].iter().rposition(|&c| c == b'\n').unwrap() + 1] {
                    let mut doc = original.clone();
                    doc[at] = byte;
                    broken.push(doc);
                }
            }
        }
        let mut errors = 0;
        for doc in broken {
            match (read(&doc).0, crate::fhir::parse_record(&doc)) {
                (Ok(a), Ok(b)) => assert!(same(&a, &b)),
                (Err(a), Err(b)) => {
                    assert_eq!(a, b);
                    errors += 1;
                }
                (a, b) => panic!("{:?} / {:?}", a.err(), b.err()),
            }
        }
        assert!(errors >= 10, "{errors}");
    }
}
