//! FHIR R4 data types used by the rendered resources.

#[cfg(test)]
use serde_json::Value;

use super::DateTime;

/// Reading a FHIR element from JSON by hand, without a derived deserialiser
/// per type (one small reader per struct instead of serde's visitor code
/// monomorphised for every type). Strict as R4's structure: a value of the
/// wrong JSON type makes the whole resource unreadable (`None`), unknown
/// members are ignored, a missing or `null` optional member is absent, a
/// missing list is empty.
pub trait FromJson: Sized {
    fn from_json(v: Json<'_>) -> Option<Self>;
}

/// How a struct's member is read from the member's JSON value, when present.
pub trait Member: Sized + Default {
    fn member(v: Json<'_>) -> Option<Self>;
}

/// A JSON value an element is read from: a `serde_json::Value`, or compact
/// JSON text as [`super::compact`] writes it (valid JSON without
/// whitespace, numbers as serde_json keeps them), read where it lies
/// without building a tree: a resource's members are read from the
/// record's text this way, each string that holds no escape borrowed.
/// (Tests also read a `Value` through the same accessors, to check the
/// text reader against serde_json's tree.)
#[derive(Debug, Clone, Copy)]
pub enum Json<'a> {
    Text(&'a str),
    #[cfg(test)]
    Value(&'a Value),
}

/// Reads `v` as `T` (through its compact text, as serde_json writes it).
/// The chart reads members as text ([`super::Members`]); tests build
/// elements from `json!` values this way.
#[cfg(test)]
pub fn from_value<T: FromJson>(v: &Value) -> Option<T> {
    T::from_json(Json::Text(&serde_json::to_string(v).ok()?))
}

impl<'a> Json<'a> {
    pub fn is_null(self) -> bool {
        match self {
            #[cfg(test)]
            Json::Value(v) => v.is_null(),
            Json::Text(t) => t == "null",
        }
    }

    #[inline(never)]
    pub fn as_str(self) -> Option<std::borrow::Cow<'a, str>> {
        match self {
            #[cfg(test)]
            Json::Value(v) => v.as_str().map(std::borrow::Cow::Borrowed),
            Json::Text(t) => text_string(t),
        }
    }

    pub fn as_bool(self) -> Option<bool> {
        match self {
            #[cfg(test)]
            Json::Value(v) => v.as_bool(),
            Json::Text("true") => Some(true),
            Json::Text("false") => Some(false),
            Json::Text(_) => None,
        }
    }

    /// A number's text as serde_json keeps it (`arbitrary_precision`).
    #[inline(never)]
    pub fn number_text(self) -> Option<std::borrow::Cow<'a, str>> {
        match self {
            #[cfg(test)]
            Json::Value(Value::Number(n)) => Some(n.to_string().into()),
            #[cfg(test)]
            Json::Value(_) => None,
            Json::Text(t) => t.starts_with(|c: char| c == '-' || c.is_ascii_digit()).then_some(t.into()),
        }
    }

    /// The member `key` of an object (the last of a repeated name, as a
    /// `Value` keeps); `None` when absent or not an object.
    #[inline(never)]
    pub fn get(self, key: &str) -> Option<Json<'a>> {
        match self {
            #[cfg(test)]
            Json::Value(v) => v.get(key).map(Json::Value),
            Json::Text(t) => super::raw::member_text(t, &super::scan::members(t.as_bytes())?, key).map(Json::Text),
        }
    }

    /// Whether this is a JSON object.
    pub fn is_object(self) -> bool {
        match self {
            #[cfg(test)]
            Json::Value(v) => v.is_object(),
            Json::Text(t) => t.starts_with('{'),
        }
    }

    /// Whether this is a JSON array.
    pub fn is_array(self) -> bool {
        match self {
            #[cfg(test)]
            Json::Value(v) => v.is_array(),
            Json::Text(t) => t.starts_with('['),
        }
    }

    /// The elements of an array.
    #[inline(never)]
    pub fn items(self) -> Option<Vec<Json<'a>>> {
        match self {
            #[cfg(test)]
            Json::Value(v) => Some(v.as_array()?.iter().map(Json::Value).collect()),
            Json::Text(t) => text_items(t),
        }
    }
}

/// The string `text` (with its quotes) holds: borrowed unless it has an escape.
#[inline(never)]
fn text_string(text: &str) -> Option<std::borrow::Cow<'_, str>> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains('\\') {
        return Some(inner.into());
    }
    super::value::string_literal(text).map(Into::into)
}

/// The elements of the compact JSON array `text`.
#[inline(never)]
fn text_items(text: &str) -> Option<Vec<Json<'_>>> {
    super::scan::items(text.as_bytes())?.into_iter().map(|at| text.get(at).map(Json::Text)).collect()
}

impl<T: FromJson> Member for Option<T> {
    #[inline(never)]
    fn member(v: Json<'_>) -> Option<Self> {
        if v.is_null() {
            return Some(None);
        }
        T::from_json(v).map(Some)
    }
}

/// A list takes the room of its elements and no more (collecting through
/// `Option` would start at room for four and grow by doubling).
impl<T: FromJson> Member for Vec<T> {
    #[inline(never)]
    fn member(v: Json<'_>) -> Option<Self> {
        let items = v.items()?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(T::from_json(item)?);
        }
        Some(out)
    }
}

/// A rarely present element kept out of line: its room is taken only when present.
impl<T: FromJson> FromJson for Box<T> {
    fn from_json(v: Json<'_>) -> Option<Self> {
        T::from_json(v).map(Box::new)
    }
}

/// A struct read member by member: the names it reads, and how one
/// member's value is set (see [`from_json!`]).
pub trait Fields: Default {
    /// The member names read; others are skipped unread.
    const KEYS: &'static [&'static str];
    /// Reads the value of the member named `KEYS[index]` into its field
    /// (`None`: a value of the wrong JSON type). Members are told by their
    /// place in `KEYS`: names are compared once, in code shared by every
    /// struct, not in a `match` of each struct's own.
    fn set(&mut self, index: usize, value: Json<'_>) -> Option<()>;
}

/// A JSON object's members read into a [`Fields`] struct.
pub(crate) fn read_fields<T: Fields>(v: Json<'_>) -> Option<T> {
    let mut out = T::default();
    match v {
        #[cfg(test)]
        Json::Value(v) => {
            for (key, value) in v.as_object()? {
                if let Some(index) = T::KEYS.iter().position(|k| k == key) {
                    out.set(index, Json::Value(value))?;
                }
            }
        }
        Json::Text(text) => each_member(text, T::KEYS, &mut |index, value| out.set(index, value))?,
    }
    Some(out)
}

/// [`each_noted_member`] over the members of the compact object `text`
/// (one copy for every struct). Compact text writes a key with escapes
/// only where it holds a quote, a backslash or a control character, so
/// each key reads as written.
#[inline(never)]
fn each_member(text: &str, keys: &[&str], set: &mut dyn FnMut(usize, Json<'_>) -> Option<()>) -> Option<()> {
    each_noted_member(text, &super::scan::members(text.as_bytes())?, keys, set)
}

/// A resource's members read into a [`Fields`] struct from its compact
/// text: each member it names read alone (the last of a repeated name, as
/// a `Value` keeps), the others never read. The same struct as
/// [`read_fields`] over the whole value.
pub(crate) fn read_members<T: Fields>(text: &str, members: &[super::raw::Member]) -> Option<T> {
    let mut out = T::default();
    each_noted_member(text, members, T::KEYS, &mut |index, value| out.set(index, value))?;
    Some(out)
}

/// Calls `set` with the place in `keys` of each of `members` (of the
/// compact object `text`) whose name is there, and its value; the last of
/// a repeated name only (as a `Value` keeps). One copy for every struct.
#[inline(never)]
fn each_noted_member(text: &str, members: &[super::raw::Member], keys: &[&str], set: &mut dyn FnMut(usize, Json<'_>) -> Option<()>) -> Option<()> {
    for (n, (key, value, _)) in members.iter().enumerate() {
        let key = text.get(key.clone())?;
        let Some(index) = keys.iter().position(|k| *k == key) else { continue };
        if members.iter().skip(n + 1).any(|(later, _, _)| text.get(later.clone()) == Some(key)) {
            continue;
        }
        set(index, Json::Text(text.get(value.clone())?))?;
    }
    Some(())
}

/// Reads a JSON object's members into a `Default` struct: for each member
/// whose name is listed, the field is read with [`Member`].
macro_rules! from_json {
    ($name:ident { $($field:ident : $key:literal),* $(,)? }) => {
        impl $crate::fhir::Fields for $name {
            const KEYS: &'static [&'static str] = &[$($key),*];
            fn set(&mut self, index: usize, value: $crate::fhir::Json<'_>) -> Option<()> {
                let mut at = 0;
                $(
                    if index == at {
                        self.$field = $crate::fhir::Member::member(value)?;
                        return Some(());
                    }
                    at += 1;
                )*
                let _ = at;
                Some(())
            }
        }

        impl $crate::fhir::FromJson for $name {
            fn from_json(v: $crate::fhir::Json<'_>) -> Option<Self> {
                $crate::fhir::types::read_fields(v)
            }
        }
    };
}
pub(crate) use from_json;

impl FromJson for String {
    fn from_json(v: Json<'_>) -> Option<Self> {
        v.as_str().map(std::borrow::Cow::into_owned)
    }
}

impl FromJson for bool {
    fn from_json(v: Json<'_>) -> Option<Self> {
        v.as_bool()
    }
}

impl FromJson for i64 {
    fn from_json(v: Json<'_>) -> Option<Self> {
        v.number_text()?.parse().ok()
    }
}

impl FromJson for u64 {
    fn from_json(v: Json<'_>) -> Option<Self> {
        v.number_text()?.parse().ok()
    }
}

impl FromJson for u32 {
    fn from_json(v: Json<'_>) -> Option<Self> {
        v.number_text()?.parse().ok()
    }
}

impl FromJson for DateTime {
    fn from_json(v: Json<'_>) -> Option<Self> {
        v.as_str().map(|s| DateTime::parse(&s))
    }
}

impl FromJson for Decimal {
    fn from_json(v: Json<'_>) -> Option<Self> {
        v.number_text().map(|n| Decimal(n.into_owned()))
    }
}

/// `DocumentReference.content.attachment`: required, so a struct rather
/// than an `Option` (missing reads as empty, `null` as the wrong type).
impl Member for Attachment {
    fn member(v: Json<'_>) -> Option<Self> {
        Attachment::from_json(v)
    }
}

/// A FHIR `decimal`, kept as written (`7.20` stays `7.20`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal(String);

impl Decimal {
    /// A decimal from its text (for computed values).
    pub fn from_text(text: &str) -> Decimal {
        Decimal(text.to_string())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn to_f64(&self) -> Option<f64> {
        self.0.parse().ok()
    }

    /// For display: as written, unless the fraction is longer than a person
    /// can use (machine-generated values such as `139.28477650494352`), which
    /// is rounded to four significant digits but never fewer than two
    /// decimals, so `0.000123456` stays `0.0001235`.
    pub fn display(&self) -> String {
        let text = self.0.as_str();
        let fraction = text.split_once('.').map_or(0, |(_, f)| f.trim_end_matches(|c: char| !c.is_ascii_digit()).len());
        if fraction <= 4 || text.contains(['e', 'E']) {
            return text.to_string();
        }
        let Some(v) = crate::numtext::parse_f64(text) else {
            return text.to_string();
        };
        let magnitude = if v == 0.0 { 0 } else { v.abs().log10().floor() as i32 };
        let decimals = (3 - magnitude).clamp(2, fraction as i32) as usize;
        crate::numtext::fixed(v, decimals)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Coding {
    pub system: Option<String>,
    pub code: Option<String>,
    pub display: Option<String>,
}

from_json!(Coding { system: "system", code: "code", display: "display" });

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CodeableConcept {
    pub coding: Vec<Coding>,
    pub text: Option<String>,
}

from_json!(CodeableConcept { coding: "coding", text: "text" });

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl CodeableConcept {
    /// What to show: `text`, else the first coding's `display`, else its `code`.
    pub fn label(&self) -> Option<&str> {
        non_empty(&self.text).or_else(|| self.coding.iter().find_map(|c| non_empty(&c.display))).or_else(|| self.coding.iter().find_map(|c| non_empty(&c.code)))
    }

    /// Whether any coding has this code (any system).
    pub fn has_code(&self, code: &str) -> bool {
        self.coding.iter().any(|c| c.code.as_deref() == Some(code))
    }
}

impl Coding {
    pub fn label(&self) -> Option<&str> {
        non_empty(&self.display).or_else(|| non_empty(&self.code))
    }
}

/// Label of the first concept in a list that has one.
pub fn first_label(concepts: &[CodeableConcept]) -> Option<&str> {
    concepts.iter().find_map(CodeableConcept::label)
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Quantity {
    pub value: Option<Decimal>,
    pub comparator: Option<String>,
    pub unit: Option<String>,
    pub system: Option<String>,
    pub code: Option<String>,
}

from_json!(Quantity { value: "value", comparator: "comparator", unit: "unit", system: "system", code: "code" });

impl Quantity {
    pub fn unit_label(&self) -> Option<&str> {
        non_empty(&self.unit).or_else(|| non_empty(&self.code))
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Range {
    pub low: Option<Quantity>,
    pub high: Option<Quantity>,
}

from_json!(Range { low: "low", high: "high" });

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ratio {
    pub numerator: Option<Quantity>,
    pub denominator: Option<Quantity>,
}

from_json!(Ratio { numerator: "numerator", denominator: "denominator" });

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Period {
    pub start: Option<DateTime>,
    pub end: Option<DateTime>,
}

from_json!(Period { start: "start", end: "end" });

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reference {
    pub reference: Option<String>,
    pub display: Option<String>,
}

from_json!(Reference { reference: "reference", display: "display" });

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HumanName {
    pub use_: Option<String>,
    pub text: Option<String>,
    pub family: Option<String>,
    pub given: Vec<String>,
    pub prefix: Vec<String>,
    pub suffix: Vec<String>,
}

from_json!(HumanName { use_: "use", text: "text", family: "family", given: "given", prefix: "prefix", suffix: "suffix" });

impl HumanName {
    /// `text`, else prefix given family suffix.
    pub fn display(&self) -> Option<String> {
        if let Some(t) = non_empty(&self.text) {
            return Some(t.to_string());
        }
        let parts: Vec<&str> = self
            .prefix
            .iter()
            .chain(&self.given)
            .map(String::as_str)
            .chain(self.family.as_deref())
            .chain(self.suffix.iter().map(String::as_str))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Identifier {
    pub use_: Option<String>,
    pub type_: Option<CodeableConcept>,
    pub system: Option<String>,
    pub value: Option<String>,
}

from_json!(Identifier { use_: "use", type_: "type", system: "system", value: "value" });

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Annotation {
    pub text: Option<String>,
}

from_json!(Annotation { text: "text" });

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Meta {
    pub security: Vec<Coding>,
}

from_json!(Meta { security: "security" });

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dosage {
    pub text: Option<String>,
    pub timing: Option<Timing>,
    pub as_needed_boolean: Option<bool>,
    pub as_needed_codeable_concept: Option<CodeableConcept>,
    pub route: Option<CodeableConcept>,
    pub method: Option<CodeableConcept>,
    pub site: Option<CodeableConcept>,
    pub dose_and_rate: Vec<DoseAndRate>,
    pub patient_instruction: Option<String>,
}

from_json!(Dosage {
    text: "text",
    timing: "timing",
    as_needed_boolean: "asNeededBoolean",
    as_needed_codeable_concept: "asNeededCodeableConcept",
    route: "route",
    method: "method",
    site: "site",
    dose_and_rate: "doseAndRate",
    patient_instruction: "patientInstruction"
});

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timing {
    pub repeat: Option<TimingRepeat>,
    pub code: Option<CodeableConcept>,
}

from_json!(Timing { repeat: "repeat", code: "code" });

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimingRepeat {
    pub frequency: Option<u32>,
    pub frequency_max: Option<u32>,
    pub period: Option<Decimal>,
    pub period_max: Option<Decimal>,
    pub period_unit: Option<String>,
    pub when: Vec<String>,
    pub time_of_day: Vec<String>,
    pub day_of_week: Vec<String>,
}

from_json!(TimingRepeat {
    frequency: "frequency",
    frequency_max: "frequencyMax",
    period: "period",
    period_max: "periodMax",
    period_unit: "periodUnit",
    when: "when",
    time_of_day: "timeOfDay",
    day_of_week: "dayOfWeek"
});

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DoseAndRate {
    pub dose_quantity: Option<Quantity>,
    pub dose_range: Option<Range>,
    pub rate_quantity: Option<Quantity>,
    pub rate_range: Option<Range>,
    pub rate_ratio: Option<Ratio>,
}

from_json!(DoseAndRate {
    dose_quantity: "doseQuantity",
    dose_range: "doseRange",
    rate_quantity: "rateQuantity",
    rate_range: "rateRange",
    rate_ratio: "rateRatio"
});

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attachment {
    pub content_type: Option<String>,
    /// Inline content, base64.
    pub data: Option<String>,
    pub url: Option<String>,
    pub title: Option<String>,
    pub size: Option<u64>,
    pub creation: Option<DateTime>,
}

from_json!(Attachment { content_type: "contentType", data: "data", url: "url", title: "title", size: "size", creation: "creation" });

#[cfg(test)]
mod tests {
    use super::Decimal;

    #[test]
    fn decimal_display() {
        let d = |s: &str| Decimal(s.to_string()).display();
        assert_eq!(d("4.10"), "4.10");
        assert_eq!(d("120"), "120");
        assert_eq!(d("0.0035"), "0.0035");
        assert_eq!(d("139.28477650494352"), "139.28");
        assert_eq!(d("87.29578601962908"), "87.30");
        assert_eq!(d("1234.56789"), "1234.57");
        assert_eq!(d("0.000123456"), "0.0001235");
        assert_eq!(d("-5.123456"), "-5.123");
        assert_eq!(d("1e3"), "1e3");
    }
}
