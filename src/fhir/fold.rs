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
//! where it was, and the line of an error is the line in the original.
//! Its column is [`unfold_column`]'s: the line's code says how wide the
//! indentation was.

use zeroize::Zeroizing;

/// Plaintexts from this size are folded. A smaller record takes little
/// memory, and the pass would only cost it time.
pub(crate) const FOLD_FROM: usize = 1 << 20;

/// Input bytes between turns of the event loop: a quarter megabyte, about
/// 14 ms in a browser's first, unoptimised compilation at 4x CPU slowdown.
const STEP: usize = 1 << 18;

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
    fn keep(&mut self, bytes: &mut [u8], from: usize, to: usize) {
        if from != self.w {
            bytes.copy_within(from..to, self.w);
        }
        self.w += to - from;
    }

    /// Folds on (see the module) until `until` bytes are read (or the end;
    /// a string, run or token is read whole).
    fn run(&mut self, bytes: &mut [u8], until: usize) {
        let len = bytes.len();
        while self.r < until.min(len) {
            let start = self.r;
            let mut r = start + 1;
            match bytes.get(start) {
                Some(b'"') => {
                    // To the closing quote (an escape's next byte is never one).
                    r = loop {
                        match bytes.get(r..).and_then(|rest| memchr::memchr2(b'"', b'\\', rest)) {
                            Some(at) if bytes.get(r + at) == Some(&b'\\') => r += at + 2,
                            Some(at) => break r + at + 1,
                            None => break len,
                        }
                    }
                    .min(len);
                    self.keep(bytes, start, r);
                }
                Some(&c) if is_space(c) => {
                    while bytes.get(r).is_some_and(|&c| is_space(c)) {
                        r += 1;
                    }
                    match bytes.get(start..r).and_then(|run| run.iter().rposition(|&c| c == b'\n')) {
                        None => self.keep(bytes, start, r),
                        Some(last) => {
                            let line_start = start + last + 1;
                            self.keep(bytes, start, line_start);
                            let mut code = [0u8; 48];
                            let (mut n, mut digits) = (r - line_start, 0);
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
                }
                _ => {
                    while bytes.get(r).is_some_and(|&c| c != b'"' && !is_space(c)) {
                        r += 1;
                    }
                    self.keep(bytes, start, r);
                }
            }
            self.r = r;
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

    fn fold(text: &str) -> Vec<u8> {
        let mut bytes = text.as_bytes().to_vec();
        let mut folder = Folder::default();
        folder.run(&mut bytes, usize::MAX);
        bytes.truncate(folder.w);
        bytes
    }

    #[test]
    fn indentation_becomes_its_width_in_base_3() {
        assert_eq!(fold("{\n  \"a\": [1,\n      2],\n\"b\" : \"x  \\\" \n  y\"\n}"), b"{\n\r\"a\": [1,\n\r 2],\n\"b\" : \"x  \\\" \n  y\"\n}".to_vec());
        assert_eq!(fold("[\r\n\t\t\t1, 2 ,\n\n   \n 3]"), b"[\r\n\t 1, 2 ,\n\n   \n\t3]".to_vec());
        assert_eq!(fold("\"unterminated\n   x"), b"\"unterminated\n   x".to_vec());
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
