//! JSON documents read into `serde_json::Value` trees by a small reader of
//! our own, so that the WebAssembly module carries no `serde` deserialiser
//! for `Value` (with its error paths, which print floating-point numbers,
//! about 48 KB of code before compression).
//!
//! [`parse`] takes and refuses exactly what `serde_json::from_slice::<Value>`
//! does (this crate enables `arbitrary_precision`): the same strings, the
//! same number text kept (the digits received, the exponent written `e+N`
//! or `e-N`), the same nesting limit (127 arrays or objects inside one
//! another), the last of a repeated member kept. One exception: an object
//! whose first key is serde_json's private number or raw-value token is an
//! object here, not a number. When the text is not JSON, the error is the
//! one serde_json gives: its message, line and column. `tests::reads_as_serde_json_does` compares the two
//! over the reference records, their parts and thousands of variants.
//!
//! [`write`] and [`quoted`] write JSON text as `serde_json::to_string` does,
//! so serde's serialiser is not in the module either.

use serde_json::{Map, Number, Value};

/// serde_json's nesting limit: its 128th array or object inside another is refused.
const DEPTH: usize = 128;

/// serde_json's messages (its `ErrorCode`s as it prints them).
const EOF_LIST: &str = "EOF while parsing a list";
const EOF_OBJECT: &str = "EOF while parsing an object";
const EOF_STRING: &str = "EOF while parsing a string";
const EOF_VALUE: &str = "EOF while parsing a value";
const COLON: &str = "expected `:`";
const LIST_COMMA: &str = "expected `,` or `]`";
const OBJECT_COMMA: &str = "expected `,` or `}`";
const IDENT: &str = "expected ident";
const VALUE: &str = "expected value";
const ESCAPE: &str = "invalid escape";
const NUMBER: &str = "invalid number";
const UTF8: &str = "invalid unicode code point";
const CONTROL: &str = "control character (\\u0000-\\u001F) found while parsing a string";
const KEY: &str = "key must be a string";
const LONE: &str = "lone leading surrogate in hex escape";
const HEX_END: &str = "unexpected end of hex escape";
const TRAILING_COMMA: &str = "trailing comma";
const TRAILING: &str = "trailing characters";
const DEEP: &str = "recursion limit exceeded";

/// Why a document is not JSON, as serde_json says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    message: String,
    line: usize,
    column: usize,
}

impl JsonError {
    /// The line of the error (from 1).
    pub fn line(&self) -> usize {
        self.line
    }

    /// The column of the error: bytes from the start of its line.
    pub fn column(&self) -> usize {
        self.column
    }
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for JsonError {}

/// The JSON document `bytes` (whitespace around it allowed) as a `Value`.
pub fn parse(bytes: &[u8]) -> Result<Value, JsonError> {
    let mut reader = Reader { b: bytes, i: 0, depth: DEPTH, fail: (EOF_VALUE, 0, 0), build: true };
    let value = reader.value().and_then(|value| {
        reader.ws();
        match reader.peek() {
            None => Some(value),
            Some(_) => reader.at_next(TRAILING),
        }
    });
    value.ok_or_else(|| {
        let (code, at, back) = reader.fail;
        let before = bytes.get(..at).unwrap_or_default();
        let start = before.iter().rposition(|&c| c == b'\n').map_or(0, |n| n + 1);
        let line = 1 + before.iter().take(start).filter(|&&c| c == b'\n').count();
        let column = (at - start).saturating_sub(back);
        JsonError { message: format!("{code} at line {line} column {column}"), line, column }
    })
}

/// Whether `bytes` is one JSON value [`parse`] reads, checked without
/// building it: what `serde::de::IgnoredAny` accepted, on text with no
/// invalid UTF-8 or unpaired surrogate escape (see
/// [`super::repair_unicode`]), which it did not check.
pub fn check(bytes: &[u8]) -> bool {
    let mut reader = Reader { b: bytes, i: 0, depth: DEPTH, fail: (EOF_VALUE, 0, 0), build: false };
    reader.value().is_some() && {
        reader.ws();
        reader.peek().is_none()
    }
}

/// The JSON string literal `text` (quotes included), unescaped.
pub fn string_literal(text: &str) -> Option<String> {
    match parse(text.as_bytes()).ok()? {
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// `value` as compact JSON text, exactly as `serde_json::to_string` writes
/// it (members in the map's order, numbers as their received text, the same
/// escapes), without serde's serialiser in the module.
pub fn write(value: &Value) -> String {
    let mut out = String::new();
    write_into(value, &mut out);
    out
}

/// `text` as a JSON string literal, quotes included (as `serde_json::to_string(text)`).
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    write_string(text, &mut out);
    out
}

/// Appends `value` as compact JSON text to `out`.
fn write_into(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => out.push_str(n.as_str()),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_into(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (n, (key, item)) in members.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_into(item, out);
            }
            out.push('}');
        }
    }
}

/// Appends `text` as a JSON string literal: `"` and `\` escaped, control
/// characters as `\b \t \n \f \r` or `\u00xx`, everything else as it is.
fn write_string(text: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut plain = 0;
    for (at, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0C => "\\f",
            0..=0x1F => "",
            _ => continue,
        };
        out.push_str(text.get(plain..at).unwrap_or_default());
        plain = at + 1;
        if escape.is_empty() {
            out.push_str("\\u00");
            for digit in [byte >> 4, byte & 15] {
                out.push(char::from(HEX.get(usize::from(digit)).copied().unwrap_or(b'0')));
            }
        } else {
            out.push_str(escape);
        }
    }
    out.push_str(text.get(plain..).unwrap_or_default());
    out.push('"');
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
    /// How many more arrays or objects may open.
    depth: usize,
    /// Why the document was refused: serde_json's message, the offset its
    /// position is taken at, and how many bytes its column steps back.
    fail: (&'static str, usize, usize),
    /// Whether values are built; otherwise only checked (strings and
    /// numbers read as empty, containers as empty).
    build: bool,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.i += 1;
        }
    }

    /// Refused with `code`, its position taken at offset `at`.
    fn refuse<T>(&mut self, code: &'static str, at: usize) -> Option<T> {
        self.fail = (code, at.min(self.b.len()), 0);
        None
    }

    /// Refused at the byte after the cursor (serde_json's errors about the byte it peeked at,
    /// and about a byte it took).
    fn at_next<T>(&mut self, code: &'static str) -> Option<T> {
        self.refuse(code, self.i + 1)
    }

    /// The next byte after whitespace; at the end, refused with `eof`.
    fn next_or(&mut self, eof: &'static str) -> Option<u8> {
        self.ws();
        match self.peek() {
            Some(c) => Some(c),
            None => self.refuse(eof, self.b.len()),
        }
    }

    fn value(&mut self) -> Option<Value> {
        Some(match self.next_or(EOF_VALUE)? {
            b'{' => self.nested(Reader::object)?,
            b'[' => self.nested(Reader::array)?,
            b'"' => Value::String(self.string()?),
            b't' => self.literal(b"true", Value::Bool(true))?,
            b'f' => self.literal(b"false", Value::Bool(false))?,
            b'n' => self.literal(b"null", Value::Null)?,
            b'-' | b'0'..=b'9' => Value::Number(self.number()?),
            _ => return self.at_next(VALUE),
        })
    }

    fn nested(&mut self, read: fn(&mut Self) -> Option<Value>) -> Option<Value> {
        self.depth -= 1;
        if self.depth == 0 {
            return self.at_next(DEEP);
        }
        self.i += 1;
        let value = read(self);
        self.depth += 1;
        value
    }

    fn object(&mut self) -> Option<Value> {
        let mut map = Map::new();
        let mut first = true;
        loop {
            match self.next_or(EOF_OBJECT)? {
                b'}' => {
                    self.i += 1;
                    return Some(Value::Object(map));
                }
                b'"' if first => first = false,
                _ if first => return self.at_next(KEY),
                b',' => {
                    self.i += 1;
                    match self.next_or(EOF_VALUE)? {
                        b'"' => {}
                        b'}' => return self.at_next(TRAILING_COMMA),
                        _ => return self.at_next(KEY),
                    }
                }
                _ => return self.at_next(OBJECT_COMMA),
            }
            let key = self.string()?;
            if self.next_or(EOF_OBJECT)? != b':' {
                return self.at_next(COLON);
            }
            self.i += 1;
            let value = self.value()?;
            if self.build {
                map.insert(key, value);
            }
        }
    }

    fn array(&mut self) -> Option<Value> {
        let mut items = Vec::new();
        let mut first = true;
        loop {
            match self.next_or(EOF_LIST)? {
                b']' => {
                    self.i += 1;
                    return Some(Value::Array(items));
                }
                _ if first => first = false,
                b',' => {
                    self.i += 1;
                    if self.next_or(EOF_VALUE)? == b']' {
                        return self.at_next(TRAILING_COMMA);
                    }
                }
                _ => return self.at_next(LIST_COMMA),
            }
            let value = self.value()?;
            if self.build {
                items.push(value);
            }
        }
    }

    fn literal(&mut self, word: &[u8], value: Value) -> Option<Value> {
        for &expected in word {
            match self.peek() {
                None => return self.refuse(EOF_VALUE, self.i),
                Some(c) if c != expected => return self.at_next(IDENT),
                Some(_) => self.i += 1,
            }
        }
        Some(value)
    }

    /// Digits from the cursor, appended to `out`.
    fn digits(&mut self, out: &mut String) {
        let from = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        if self.build {
            out.extend(self.b.get(from..self.i).unwrap_or_default().iter().map(|&c| char::from(c)));
        }
    }

    /// At least one digit (after a sign, a `.` or an exponent's `e` and sign).
    fn some_digits(&mut self, out: &mut String) -> Option<()> {
        match self.peek() {
            None => self.refuse(EOF_VALUE, self.i),
            Some(b'0'..=b'9') => {
                self.digits(out);
                Some(())
            }
            Some(_) => self.at_next(NUMBER),
        }
    }

    /// JSON's number grammar, kept as serde_json keeps it.
    fn number(&mut self) -> Option<Number> {
        let mut n = String::new();
        let build = self.build;
        if self.peek() == Some(b'-') {
            self.i += 1;
            if build {
                n.push('-');
            }
        }
        if self.peek() == Some(b'0') {
            self.i += 1;
            if build {
                n.push('0');
            }
            if let Some(b'0'..=b'9') = self.peek() {
                return self.at_next(NUMBER);
            }
        } else {
            self.some_digits(&mut n)?;
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if build {
                n.push('.');
            }
            self.some_digits(&mut n)?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if build {
                n.push('e');
            }
            match self.peek() {
                Some(sign @ (b'-' | b'+')) => {
                    self.i += 1;
                    if build {
                        n.push(char::from(sign));
                    }
                }
                _ if build => n.push('+'),
                _ => {}
            }
            self.some_digits(&mut n)?;
        }
        Some(Number::from_string_unchecked(n))
    }

    /// Four hex digits at `at`: the value, or refused as serde_json refuses
    /// them (a string cut short, or not hex: its position after the four).
    fn hex4(&mut self, at: usize) -> Option<u32> {
        let Some(digits) = self.b.get(at..at + 4) else {
            return self.refuse(EOF_STRING, self.b.len());
        };
        let mut n = 0u32;
        for &c in digits {
            match char::from(c).to_digit(16) {
                Some(d) => n = n * 16 + d,
                None => return self.refuse(ESCAPE, at + 4),
            }
        }
        Some(n)
    }

    /// A string from its opening quote, its escapes read; lone surrogates
    /// and bytes that are not UTF-8 refused where serde_json refuses them.
    fn string(&mut self) -> Option<String> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let from = self.i;
            let rest = self.b.get(from..).unwrap_or_default();
            let Some(run) = super::compact::run_len(rest) else {
                return self.refuse(EOF_STRING, self.b.len());
            };
            let text = rest.get(..run).unwrap_or_default();
            if self.build {
                out.extend_from_slice(text);
            } else if let Err(e) = std::str::from_utf8(text) {
                // Checked run by run (an escape never completes a character).
                let back = run - e.valid_up_to();
                self.i = from + run;
                self.refuse::<()>(UTF8, self.i);
                self.fail.2 = back;
                return None;
            }
            self.i = from + run;
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return match String::from_utf8(out) {
                        Ok(s) => Some(s),
                        Err(e) => {
                            // serde_json points back from the closing quote by the bytes from the first bad one.
                            let back = e.as_bytes().len() - e.utf8_error().valid_up_to();
                            self.refuse::<()>(UTF8, self.i);
                            self.fail.2 = back;
                            None
                        }
                    };
                }
                Some(b'\\') => {
                    let c = self.escape()?;
                    if self.build {
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                }
                // A control character written as it is: JSON refuses it.
                _ => return self.at_next(CONTROL),
            }
        }
    }

    /// An escape from its backslash.
    fn escape(&mut self) -> Option<char> {
        let at = self.i;
        let Some(&kind) = self.b.get(at + 1) else {
            return self.refuse(EOF_STRING, self.b.len());
        };
        let c = match super::compact::short_escape(kind) {
            Some(c) => c,
            None if kind == b'u' => {
                let high = self.hex4(at + 2)?;
                let code = match high {
                    0xDC00..=0xDFFF => return self.refuse(LONE, at + 6),
                    0xD800..=0xDBFF => {
                        match self.b.get(at + 6) {
                            None => return self.refuse(EOF_STRING, self.b.len()),
                            Some(b'\\') => {}
                            Some(_) => return self.refuse(HEX_END, at + 7),
                        }
                        match self.b.get(at + 7) {
                            None => return self.refuse(EOF_STRING, self.b.len()),
                            Some(b'u') => {}
                            Some(_) => return self.refuse(HEX_END, at + 8),
                        }
                        let low = self.hex4(at + 8)?;
                        if !(0xDC00..0xE000).contains(&low) {
                            return self.refuse(LONE, at + 12);
                        }
                        self.i += 6;
                        0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                    }
                    _ => high,
                };
                self.i += 4;
                char::from_u32(code)?
            }
            None => return self.refuse(ESCAPE, at + 2),
        };
        self.i += 2;
        Some(c)
    }
}

#[cfg(test)]
mod tests;
