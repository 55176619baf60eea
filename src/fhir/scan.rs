//! Reading a document's top-level JSON object without building it: where
//! each member's value starts and ends, the members a Bundle's [`Shell`]
//! keeps, and each `entry` element one at a time (see [`Scanner`]). Also
//! the extents of an object's members ([`members`]) and of an array's
//! elements ([`items`]), which the typed readers use.

/// The parts of a Bundle read at once (a file's Bundle, a server's page),
/// with each `entry` element left as its (checked) JSON text, to be read
/// on its own.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Shell<'a> {
    pub resource_type: Option<String>,
    pub kind: Option<String>,
    /// A searchset's `total`.
    pub total: Option<serde_json::Value>,
    /// A searchset's `link`s (`next`).
    pub link: Option<serde_json::Value>,
    pub entry: Option<Vec<&'a [u8]>>,
    /// A non-null `verifiableCredential` (a SMART Health Card file).
    pub credentials: bool,
}

/// serde_json refuses a document nested this deep (its recursion limit).
const DEPTH_LIMIT: usize = 128;

/// A hand-written reader of a document's top-level object: it finds where
/// each member's value starts and ends (string-aware, counting brackets),
/// reads the members a [`Shell`] keeps with [`super::value::parse`],
/// checks the others with [`super::value::check`] (on repaired text, as
/// serde's `IgnoredAny` did),
/// and reads `entry` one element at a time, giving the event loop turns
/// between them. `None` for anything that is not a well-formed object with
/// string or null `resourceType` and `type` and an array or null `entry`,
/// each named at most once, nested less deep than serde_json allows: the
/// caller then reads the whole document, which gives the precise error (or,
/// for a repeated member, keeps the last one, as serde_json's `Value` does).
/// A root that is not an object is never a shell (serde's derived reader
/// took a five-element array as one).
pub(super) struct Scanner<'a> {
    pub(super) b: &'a [u8],
    pub(super) i: usize,
    /// Whether `entry` elements are checked as JSON here (a caller that
    /// reads each element with serde_json anyway checks them there).
    pub(super) check: bool,
}

impl<'a> Scanner<'a> {
    #[inline(always)]
    pub(super) fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline(always)]
    pub(super) fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.i += 1;
        }
    }

    /// Past the string starting at `from` (its opening quote).
    #[inline(always)]
    fn string_end(&self, from: usize) -> Option<usize> {
        let mut j = from + 1;
        loop {
            let off = memchr::memchr2(b'"', b'\\', self.b.get(j..)?)?;
            let at = j + off;
            if self.b.get(at) == Some(&b'"') {
                return Some(at + 1);
            }
            j = at + 2;
        }
    }

    /// The value at the cursor (after whitespace), of nesting `depth`
    /// within the document: its text; the cursor moves past it.
    pub(super) fn value(&mut self, depth: usize) -> Option<&'a [u8]> {
        self.skip_ws();
        let from = self.i;
        let end = match self.peek()? {
            b'"' => self.string_end(from)?,
            b'{' | b'[' => {
                let mut open = 0usize;
                let mut j = from;
                loop {
                    match *self.b.get(j)? {
                        b'"' => {
                            j = self.string_end(j)?;
                            continue;
                        }
                        b'{' | b'[' => {
                            open += 1;
                            if depth + open >= DEPTH_LIMIT {
                                return None;
                            }
                        }
                        b'}' | b']' => {
                            open = open.checked_sub(1)?;
                            if open == 0 {
                                break j + 1;
                            }
                        }
                        _ => {}
                    }
                    // On to the next quote or bracket (a tight loop over whitespace, names and numbers).
                    j += 1 + self.b.get(j + 1..)?.iter().position(|&c| matches!(c, b'"' | b'{' | b'[' | b'}' | b']'))?;
                }
            }
            _ => {
                let len =
                    self.b.get(from..)?.iter().position(|c| matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')).unwrap_or(self.b.len() - from);
                from + len
            }
        };
        self.i = end;
        self.b.get(from..end).filter(|text| !text.is_empty())
    }

    /// Expects `byte` (after whitespace) and moves past it.
    #[inline(always)]
    fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_ws();
        (self.peek()? == byte).then(|| self.i += 1)
    }
}

/// One JSON value read as a `Value` (see [`super::value`]).
pub(super) fn json(text: &[u8]) -> Option<serde_json::Value> {
    super::value::parse(text).ok()
}

/// A string member that may be `null` (absent); `None` for another type.
fn text_or_null(value: serde_json::Value) -> Option<Option<String>> {
    match value {
        serde_json::Value::Null => Some(None),
        serde_json::Value::String(s) => Some(Some(s)),
        _ => None,
    }
}

/// Sets a member read once; a repeated one is refused.
fn once<T>(slot: &mut Option<T>, seen: &mut bool, value: Option<T>) -> Option<()> {
    if std::mem::replace(seen, true) {
        return None;
    }
    *slot = value;
    Some(())
}

/// What one step of the [`Scanner`] read.
pub(super) enum Step {
    /// A member of the top-level object.
    Member,
    /// An element of `entry`.
    Entry,
    /// The end of the document.
    Done,
}

impl<'a> Scanner<'a> {
    /// Reads the next member of the top-level object, or the next element
    /// of `entry` when inside it, into `shell`. `None`: not a well-formed
    /// shell (see [`Scanner`]).
    #[inline(never)]
    pub(super) fn step(&mut self, shell: &mut Shell<'a>, seen: &mut [bool; 5], state: &mut State) -> Option<Step> {
        match state {
            State::Start => {
                self.expect(b'{')?;
                self.skip_ws();
                *state = if self.peek()? == b'}' {
                    self.i += 1;
                    State::End
                } else {
                    State::Members
                };
                Some(Step::Member)
            }
            State::End => {
                self.skip_ws();
                (self.i == self.b.len()).then_some(Step::Done)
            }
            State::Entries => {
                let raw = self.value(2)?;
                if self.check {
                    super::value::check(raw).then_some(())?;
                }
                shell.entry.get_or_insert_with(Vec::new).push(raw);
                self.skip_ws();
                match self.peek()? {
                    b',' => self.i += 1,
                    b']' => {
                        self.i += 1;
                        *state = self.after_member()?;
                    }
                    _ => return None,
                }
                Some(Step::Entry)
            }
            State::Members => {
                self.skip_ws();
                let key = self.value(1).filter(|k| k.first() == Some(&b'"'))?;
                let key = match json(key)? {
                    serde_json::Value::String(key) => key,
                    _ => return None,
                };
                self.expect(b':')?;
                let [seen_type, seen_kind, seen_total, seen_link, seen_entry] = seen;
                match key.as_str() {
                    "resourceType" => once(&mut shell.resource_type, seen_type, text_or_null(json(self.value(1)?)?)?)?,
                    "type" => once(&mut shell.kind, seen_kind, text_or_null(json(self.value(1)?)?)?)?,
                    "total" => once(&mut shell.total, seen_total, Some(json(self.value(1)?)?).filter(|v| !v.is_null()))?,
                    "link" => once(&mut shell.link, seen_link, Some(json(self.value(1)?)?).filter(|v| !v.is_null()))?,
                    "entry" => {
                        self.skip_ws();
                        if self.peek()? == b'[' {
                            once(&mut shell.entry, seen_entry, Some(Vec::new()))?;
                            self.i += 1;
                            self.skip_ws();
                            if self.peek()? != b']' {
                                *state = State::Entries;
                                return Some(Step::Member);
                            }
                            self.i += 1;
                        } else {
                            // `null`, as serde reads an absent list; anything else is refused.
                            if !json(self.value(1)?)?.is_null() {
                                return None;
                            }
                            once(&mut shell.entry, seen_entry, None)?;
                        }
                    }
                    "verifiableCredential" => shell.credentials = !json(self.value(1)?)?.is_null(),
                    _ => {
                        super::value::check(self.value(1)?).then_some(())?;
                    }
                }
                *state = self.after_member()?;
                Some(Step::Member)
            }
        }
    }

    /// After a member's value: another member, or the end of the object.
    pub(super) fn after_member(&mut self) -> Option<State> {
        self.skip_ws();
        let next = match self.peek()? {
            b',' => State::Members,
            b'}' => State::End,
            _ => return None,
        };
        self.i += 1;
        Some(next)
    }
}

/// A checking scanner past the `open` byte `text` starts with (after
/// whitespace), and whether `close` follows at once (an empty container).
fn opened(text: &[u8], open: u8, close: u8) -> Option<(Scanner<'_>, bool)> {
    let mut s = Scanner { b: text, i: 0, check: true };
    s.expect(open)?;
    s.skip_ws();
    let empty = s.peek()? == close;
    Some((s, empty))
}

/// The members of the JSON object `text`, in order: each key's extent
/// (inside its quotes) and its value's. `None` when `text` is not an
/// object the [`Scanner`] reads.
pub(super) fn members(text: &[u8]) -> Option<Vec<super::raw::Member>> {
    let (mut s, empty) = opened(text, b'{', b'}')?;
    let mut out = Vec::new();
    if empty {
        return Some(out);
    }
    loop {
        s.skip_ws();
        let key_at = s.i;
        // Level 0: any value serde_json reads (at most 128 levels deep) is taken whole.
        let key = s.value(0).filter(|k| k.first() == Some(&b'"') && k.len() >= 2)?;
        let key = key_at + 1..key_at + key.len() - 1;
        s.expect(b':')?;
        s.skip_ws();
        let value_at = s.i;
        let value = s.value(0)?;
        out.push((key, value_at..value_at + value.len(), std::cell::OnceCell::new()));
        if s.after_member()? == State::End {
            return Some(out);
        }
    }
}

/// The elements of the JSON array `text`, in order: each one's extent.
/// `None` when `text` is not an array the [`Scanner`] reads.
pub(super) fn items(text: &[u8]) -> Option<Vec<std::ops::Range<usize>>> {
    let (mut s, empty) = opened(text, b'[', b']')?;
    let mut out = Vec::new();
    if empty {
        return Some(out);
    }
    loop {
        s.skip_ws();
        let at = s.i;
        let value = s.value(0)?;
        out.push(at..at + value.len());
        s.skip_ws();
        match s.peek()? {
            b',' => s.i += 1,
            b']' => return Some(out),
            _ => return None,
        }
    }
}

/// Where the [`Scanner`] is.
#[derive(PartialEq, Eq)]
pub(super) enum State {
    Start,
    Members,
    Entries,
    End,
}

impl<'a> Shell<'a> {
    /// `bytes` repaired (see [`super::repair_unicode`]) a megabyte at a
    /// time, awaiting `between` after each.
    pub(crate) async fn repair<F: std::future::Future<Output = ()>>(bytes: &[u8], between: impl FnMut() -> F) -> std::borrow::Cow<'_, [u8]> {
        super::json::repair_unicode_paced(bytes, between).await
    }

    /// Reads the top-level object of `bytes` (see [`Scanner`]), each `entry`
    /// element checked as JSON, awaiting `between` after each.
    pub(crate) async fn scan<F: std::future::Future<Output = ()>>(bytes: &'a [u8], mut between: impl FnMut() -> F) -> Option<Shell<'a>> {
        let mut scanner = Scanner { b: bytes, i: 0, check: true };
        let (mut shell, mut seen, mut state) = (Shell::default(), [false; 5], State::Start);
        loop {
            match scanner.step(&mut shell, &mut seen, &mut state)? {
                Step::Member => {}
                Step::Entry => between().await,
                Step::Done => return Some(shell),
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The reader the scanner replaces: serde over the whole document.
    #[derive(serde::Deserialize, Debug)]
    struct SerdeShell {
        #[serde(rename = "resourceType")]
        resource_type: Option<String>,
        #[serde(rename = "type")]
        kind: Option<String>,
        total: Option<serde_json::Value>,
        link: Option<serde_json::Value>,
        entry: Option<Vec<Box<serde_json::value::RawValue>>>,
    }

    pub(in crate::fhir) fn scan(doc: &str) -> (Option<Shell<'_>>, usize) {
        let mut turns = 0;
        let shell = crate::source::run_now(Shell::scan(doc.as_bytes(), || {
            turns += 1;
            std::future::ready(())
        }));
        (shell, turns)
    }

    /// The scanner reads what serde reads, and refuses what serde refuses.
    /// A shell's members, its entries read.
    type Read = (Option<String>, Option<String>, Option<serde_json::Value>, Option<serde_json::Value>, Option<Vec<serde_json::Value>>);

    fn same_as_serde(doc: &str) -> Option<Read> {
        let (shell, turns) = scan(doc);
        assert_eq!(turns, shell.as_ref().and_then(|s| s.entry.as_ref()).map_or(0, Vec::len));
        let shell = shell.map(|s| {
            let entry = s.entry.map(|e| e.iter().map(|raw| serde_json::from_slice(raw).unwrap()).collect());
            (s.resource_type, s.kind, s.total, s.link, entry)
        });
        let expected = serde_json::from_str::<SerdeShell>(doc).ok().map(|s| {
            let entry = s.entry.map(|e| e.iter().map(|raw| serde_json::from_str(raw.get()).unwrap()).collect());
            (s.resource_type, s.kind, s.total, s.link, entry)
        });
        assert_eq!(shell, expected, "{doc}");
        shell
    }

    /// A Bundle with every JSON turn a scanner can trip on (the record's tests read it too).
    pub(in crate::fhir) const TRICKY: &str = r#" {
        "id" : "b{[\"}]" ,"meta":{"tag":[[],[{}],"]"],"x":"\\"},
        "resourceType":"Bundle",	"type"
        :
        "collection", "total": 2,"link":[{"relation":"next","url":"http://x/?a=[1]&b={"}],
        "entry" : [ {"fullUrl":"urn:a}","resource":{"resourceType":"Patient","id":"p","name":[{"text":"Ann \"}\" [O'Neil]\\"}]}}
          ,{"resource":{"resourceType":"Observation","valueQuantity":{"value":1.50e2},"note":[{"text":"\u007b\ud83d\ude00"}]}} , {} ,
          [1,[2,[3]]], "text", 12, true, null
        ] , "signature": null, "entr\u0079x": 1
    } "#;

    #[test]
    fn reads_tricky_json_like_serde() {
        let (resource_type, kind, total, _, entry) = same_as_serde(TRICKY).unwrap();
        assert_eq!((resource_type.as_deref(), kind.as_deref(), total), (Some("Bundle"), Some("collection"), Some(2.into())));
        assert_eq!(entry.as_ref().map(Vec::len), Some(8));
        assert_eq!(entry.unwrap()[0]["resource"]["name"][0]["text"], "Ann \"}\" [O'Neil]\\");
        // Escaped key names are the members they spell.
        assert_eq!(same_as_serde(r#"{"resourceT\u0079pe":"Bundle","\u0065ntry":[{}]}"#).unwrap().4.unwrap().len(), 1);
        for doc in [
            "{}",
            " {\n}\r\n",
            r#"{"entry":null,"resourceType":null}"#,
            r#"{"entry":[]}"#,
            r#"{"entry" : [ ] }"#,
            r#"{"resourceType":"Patient","entry":{"a":1},"total":null}"#,
            r#"{"a":[[[[[["]]]]"]]]]]],"resourceType":"Bundle"}"#,
            r#"{"a":-0.5e-3,"b":true,"c":null,"d":"","resourceType":"Bundle","entry":[0,-1e5,"",false]}"#,
        ] {
            same_as_serde(doc);
        }
    }

    #[test]
    fn refuses_what_serde_refuses() {
        let mut refused = vec![
            String::new(),
            " ".into(),
            "{".into(),
            "}".into(),
            "[]".into(),
            r#""Bundle""#.into(),
            "null".into(),
            "12".into(),
            r#"["Bundle","collection",null,null,[]]"#.into(),
            r#"{"resourceType":"Bundle","entry":{"resource":{}}}"#.into(),
            r#"{"resourceType":"Bundle","entry":"x"}"#.into(),
            r#"{"resourceType":"Bundle","entry":5}"#.into(),
            r#"{"resourceType":"Bundle","entry":[{}],"entry":[]}"#.into(),
            r#"{"resourceType":"Bundle","resourceType":"Bundle"}"#.into(),
            r#"{"resourceType":1}"#.into(),
            r#"{"type":["collection"]}"#.into(),
            r#"{"resourceType":"Bundle"} {}"#.into(),
            r#"{"resourceType":"Bundle"}x"#.into(),
            r#"{"resourceType":"Bundle",}"#.into(),
            r#"{"resourceType":"Bundle","entry":[{},]}"#.into(),
            r#"{"resourceType":"Bundle","entry":[{} {}]}"#.into(),
            r#"{"resourceType":"Bundle","entry":[{]}"#.into(),
            r#"{"resourceType":"Bundle","entry":[[}]]}"#.into(),
            r#"{"resourceType":"Bundle","entry":[tru]}"#.into(),
            r#"{"resourceType":"Bundle","entry":[01]}"#.into(),
            r#"{"resourceType":"Bundle","x":"a\qb"}"#.into(),
            "{\"resourceType\":\"Bundle\",\"x\":\"a\tb\"}".into(),
            r#"{"resourceType" "Bundle"}"#.into(),
            r#"{resourceType:"Bundle"}"#.into(),
            r#"{"resourceType":"Bundle","x":}"#.into(),
            r#"{"resourceType":"Bundle""x":1}"#.into(),
            "\u{feff}{}".into(),
        ];
        // Every prefix of a good document is truncated.
        refused.extend((0..TRICKY.trim_end().len() - 1).filter(|&n| TRICKY.is_char_boundary(n)).map(|n| TRICKY[..n].to_string()));
        for doc in &refused {
            let (shell, _) = scan(doc);
            assert_eq!(shell, None, "{doc}");
            // Object roots: serde refuses them too (the array root is the one
            // shape serde's derived reader took that the scanner does not).
            if doc.trim_start().starts_with('{') {
                assert!(serde_json::from_str::<SerdeShell>(doc).is_err(), "{doc}");
            }
        }
    }

    #[test]
    fn nesting_too_deep_for_serde_is_left_to_the_whole_document_reader() {
        let deep = |n: usize| format!(r#"{{"resourceType":"Bundle","entry":[{}{}]}}"#, "[".repeat(n), "]".repeat(n));
        assert!(scan(&deep(125)).0.is_some());
        assert!(serde_json::from_str::<serde_json::Value>(&deep(125)).is_ok());
        assert!(scan(&deep(126)).0.is_none());
        assert!(serde_json::from_str::<serde_json::Value>(&deep(126)).is_err());
        assert!(matches!(super::super::parse_record(deep(400).as_bytes()), Err(super::super::ParseError::Json { .. })));
    }
}
