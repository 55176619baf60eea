//! A resource's JSON as received, kept as compact text rather than as a
//! tree of `serde_json::Value`s.
//!
//! A `Value` tree takes several times the size of its JSON (every object is
//! a B-tree node of room for eleven members), so a record holding one per
//! resource needed about five times its plaintext in memory. [`Raw`] holds
//! the compact text instead (what `serde_json` writes for the value, with
//! the members in the order received: see [`super::compact`]) and reads it
//! back when asked:
//! [`Raw::at`] reads one top-level member and keeps it; dereferencing reads
//! the whole resource once and keeps it (for the few resources that need
//! all of it: those the chart describes generically, `resources()`);
//! [`Raw::value`] reads it without keeping it (consent, sharing).

use std::borrow::Cow;
use std::cell::OnceCell;
use std::ops::Range;

use serde_json::Value;

use super::types::Json;

/// The resource's JSON: compact text, read back on demand.
#[derive(Debug, Clone)]
pub struct Raw {
    text: Box<str>,
    whole: OnceCell<Value>,
    /// `None`: not an object the member reader reads (the whole value is read instead).
    members: OnceCell<Option<Box<[Member]>>>,
}

/// One top-level member of the text: where its key (inside the quotes) and
/// its value are, and the value once read.
pub(super) type Member = (Range<usize>, Range<usize>, OnceCell<Value>);

static NULL: Value = Value::Null;

fn read(text: &str) -> Value {
    super::value::parse(text.as_bytes()).unwrap_or(Value::Null)
}

impl Raw {
    /// Keeps `value` as compact JSON text (`fhir::value::write`: what `serde_json` writes for it).
    pub fn new(value: &Value) -> Raw {
        Raw::from_text(&super::value::write(value))
    }

    /// Keeps `text`, the compact text of a JSON value (as [`Raw::new`]
    /// writes it, or as [`super::compact`] does, members in the order
    /// received).
    pub(super) fn from_text(text: &str) -> Raw {
        Raw { text: text.into(), whole: OnceCell::new(), members: OnceCell::new() }
    }

    /// The compact JSON text (see [`super::compact`]).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The whole resource: the one already read, else read now and not kept.
    pub fn value(&self) -> Cow<'_, Value> {
        match self.whole.get() {
            Some(value) => Cow::Borrowed(value),
            None => Cow::Owned(read(self.text())),
        }
    }

    /// The top-level member `key` (`Null` when absent), as
    /// [`super::JsonAt::at`] gives it from the whole value; read on first
    /// use and kept, without reading the rest of the resource.
    pub fn at(&self, key: &str) -> &Value {
        member(&self.text, &self.whole, &self.members, key)
    }

    /// A reader of the resource's members that keeps what it reads only as
    /// long as it lives (the chart reads most resources once: what it reads
    /// need not stay with the record). A whole resource already kept is
    /// read from there.
    pub fn reader(&self) -> Reader<'_> {
        Reader { raw: self, whole: OnceCell::new(), members: OnceCell::new() }
    }
}

/// [`Raw::at`] over `text`, keeping what it reads in `whole` and `members`.
fn member<'s>(text: &'s str, whole: &'s OnceCell<Value>, members: &'s OnceCell<Option<Box<[Member]>>>, key: &str) -> &'s Value {
    if let Some(whole) = whole.get() {
        return whole.get(key).unwrap_or(&NULL);
    }
    let members = members.get_or_init(|| delimit(text));
    let plain = !key.bytes().any(|c| c == b'"' || c == b'\\' || c < 0x20);
    let Some(members) = members.as_deref().filter(|_| plain) else {
        return whole.get_or_init(|| read(text)).get(key).unwrap_or(&NULL);
    };
    match find(text, members, key) {
        Some((_, value, read)) => read.get_or_init(|| text.get(value.clone()).map_or(Value::Null, self::read)),
        None => &NULL,
    }
}

/// A resource's top-level members as compact text, read no further than
/// the caller reads them: no `Value` is built.
pub trait Members {
    /// The member `key` (`None` when absent): the same member
    /// [`Raw::at`] gives, as its compact text.
    fn json(&self, key: &str) -> Option<Json<'_>>;
}

fn delimit(text: &str) -> Option<Box<[Member]>> {
    super::scan::members(text.as_bytes()).map(Vec::into_boxed_slice)
}

/// The member `key` among `members` of the compact object `text`: the
/// last of a repeated name, as a `Value` keeps. Compact text escapes only
/// quotes, backslashes and control characters in a key, so a key with none
/// of those is found as it is written.
fn find<'m>(text: &str, members: &'m [Member], key: &str) -> Option<&'m Member> {
    members.iter().rev().find(|(k, _, _)| text.get(k.clone()) == Some(key))
}

/// The text of [`find`]'s member's value.
pub(super) fn member_text<'a>(text: &'a str, members: &[Member], key: &str) -> Option<&'a str> {
    find(text, members, key).and_then(|(_, value, _)| text.get(value.clone()))
}

/// Delimited once and kept with the resource (as [`Raw::at`] keeps them).
impl Members for Raw {
    fn json(&self, key: &str) -> Option<Json<'_>> {
        member_text(&self.text, self.members.get_or_init(|| delimit(&self.text)).as_deref()?, key).map(Json::Text)
    }
}

/// Delimited once per reader (shared with its `at`), unless the resource
/// keeps them already.
impl Members for Reader<'_> {
    fn json(&self, key: &str) -> Option<Json<'_>> {
        let text = self.raw.text();
        let members = match self.raw.members.get() {
            Some(kept) => kept,
            None => self.members.get_or_init(|| delimit(text)),
        };
        member_text(text, members.as_deref()?, key).map(Json::Text)
    }
}

/// A passing reader of a [`Raw`]'s members (see [`Raw::reader`]).
#[derive(Debug)]
pub struct Reader<'a> {
    raw: &'a Raw,
    whole: OnceCell<Value>,
    members: OnceCell<Option<Box<[Member]>>>,
}

/// As [`Raw::at`]: from the whole resource when it is kept, else read here.
impl super::JsonAt for Reader<'_> {
    fn at(&self, key: &str) -> &Value {
        match self.raw.whole.get() {
            Some(whole) => whole.get(key).unwrap_or(&NULL),
            None => member(self.raw.text(), &self.whole, &self.members, key),
        }
    }

    /// A resource is an object: no element is at any index.
    fn nth(&self, _index: usize) -> &Value {
        &NULL
    }
}

/// The members of a resource kept as text, read as [`Raw::at`] reads them
/// (code written over `JsonAt` reads either form).
impl super::JsonAt for Raw {
    fn at(&self, key: &str) -> &Value {
        Raw::at(self, key)
    }

    /// A resource is an object: no element is at any index.
    fn nth(&self, _index: usize) -> &Value {
        &NULL
    }
}

impl std::ops::Deref for Raw {
    type Target = Value;

    /// The whole resource, read on first use and kept.
    fn deref(&self) -> &Value {
        self.whole.get_or_init(|| read(self.text()))
    }
}

/// The same JSON value. Equal texts are equal values; texts with the
/// same members in another order are as long as each other, and only then
/// are both read to compare (a repeated member may make equal values
/// differ in length: those count as different).
impl PartialEq for Raw {
    fn eq(&self, other: &Raw) -> bool {
        self.text() == other.text() || (self.text.len() == other.text.len() && *self.value() == *other.value())
    }
}

impl PartialEq<Value> for Raw {
    fn eq(&self, other: &Value) -> bool {
        *self.value() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::Raw;
    use serde_json::{json, Value};

    #[test]
    fn members_read_alone_are_the_whole_values_members() {
        let value = json!({"resourceType": "Observation", "status": "final", "a\"b": [1, {"c": 1.50e2}], "text": {"div": "<div>x</div>"}, "n": null});
        let raw = Raw::new(&value);
        for key in ["resourceType", "status", "text", "n", "missing", ""] {
            assert_eq!(raw.at(key), value.get(key).unwrap_or(&Value::Null), "{key}");
        }
        assert!(raw.whole.get().is_none());
        // A key the text escapes is read from the whole value.
        assert_eq!(raw.at("a\"b"), &value["a\"b"]);
        assert!(raw.whole.get().is_some());
        assert_eq!(*raw.value(), value);
        assert_eq!(raw, value);
        assert_eq!(&*raw, &value);
        assert_eq!(raw.at("status"), "final");
        assert_eq!(raw.text(), value.to_string());
        let numbers: Value = serde_json::from_str(r#"{"v":1.50e2,"w":-0.0,"x":12345678901234567890123}"#).unwrap();
        // The text reads back as the same value, digits and all.
        assert_eq!(Raw::new(&numbers).text(), numbers.to_string());
        assert_eq!(*Raw::new(&numbers).value(), numbers);
        assert_eq!(Raw::new(&numbers).at("x").to_string(), "12345678901234567890123");
        let empty = Raw::new(&json!({}));
        assert_eq!(empty.at("a"), &Value::Null);
    }
}
