//! Reading facts out of the raw FHIR R4 JSON, independently of the SDK:
//! labels of CodeableConcepts, reference names, numbers as written and
//! dates as the chart writes them (with the test's own month tables).

use patient_portal_sdk::fhir::Entry;
use patient_portal_sdk::render::Locale;
use serde_json::Value;

/// What a row must show for one fact.
#[derive(Debug, Clone)]
pub enum Expect {
    /// This text (case-insensitive, whitespace normalised).
    Text(String),
    /// Any one of these texts.
    Any(Vec<String>),
    /// Every one of these.
    All(Vec<Expect>),
    /// An `<a` element in the row's markup.
    Link,
    /// A banner identifier: a `<dd>` containing `value` whose `<dt>` holds
    /// `label` (when the source names the type in words) or, when the
    /// type is only a code, words rather than the bare code.
    Ident { value: String, label: Option<String>, code: Option<String> },
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expect::Text(t) => write!(f, "{t:?}"),
            Expect::Any(v) => write!(f, "any of {}", v.iter().map(|t| format!("{t:?}")).collect::<Vec<_>>().join(" | ")),
            Expect::All(v) => write!(f, "{}", v.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(" + ")),
            Expect::Link => write!(f, "a link (<a>)"),
            Expect::Ident { value, label, code } => {
                write!(f, "identifier {value:?}")?;
                match (label, code) {
                    (Some(l), _) => write!(f, " labelled {l:?}"),
                    (None, Some(c)) => write!(f, " labelled in words, not the bare code {c:?}"),
                    _ => Ok(()),
                }
            }
        }
    }
}

/// One fact of one resource.
#[derive(Debug, Clone)]
pub struct Fact {
    pub name: &'static str,
    pub expect: Expect,
}

/// The record, for resolving references.
pub struct Ctx<'a> {
    pub entries: &'a [Entry],
}

fn non_empty(v: &Value) -> Option<String> {
    v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

pub fn string(v: &Value) -> Option<String> {
    non_empty(v)
}

/// A CodeableConcept's label: `text`, else the first non-empty
/// `coding.display`, else the first `coding.code`.
pub fn concept(c: &Value) -> Option<String> {
    if let Some(t) = non_empty(&c["text"]) {
        return Some(t);
    }
    let codings = c["coding"].as_array()?;
    codings.iter().find_map(|x| non_empty(&x["display"])).or_else(|| codings.iter().find_map(|x| non_empty(&x["code"])))
}

/// The codes of a CodeableConcept (or of a bare Coding).
pub fn codes(c: &Value) -> Vec<String> {
    let mut out: Vec<String> = c["coding"].as_array().into_iter().flatten().filter_map(|x| non_empty(&x["code"])).collect();
    out.extend(non_empty(&c["code"]));
    out
}

/// A HumanName: `text`, else given names and family.
pub fn human_name(n: &Value) -> Option<String> {
    if let Some(t) = non_empty(&n["text"]) {
        return Some(t);
    }
    let mut parts: Vec<String> = n["given"].as_array().into_iter().flatten().filter_map(non_empty).collect();
    parts.extend(non_empty(&n["family"]));
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The name of a resource a reference points to.
pub fn resource_name(r: &Value) -> Option<String> {
    match r["resourceType"].as_str()? {
        "Patient" | "Practitioner" | "RelatedPerson" => r["name"].as_array()?.iter().find_map(human_name),
        "Organization" | "Location" | "HealthcareService" => non_empty(&r["name"]),
        "Medication" => concept(&r["code"]),
        _ => None,
    }
}

impl<'a> Ctx<'a> {
    /// The resource a Reference points to: `#id` in `container.contained`,
    /// a `fullUrl` (`urn:uuid:…`, absolute URL), or `Type/id` (also at the
    /// end of an absolute or versioned URL).
    pub fn resolve<'v>(&'v self, reference: &Value, container: &'v Value) -> Option<&'v Value> {
        let r = reference["reference"].as_str()?.trim();
        if let Some(id) = r.strip_prefix('#') {
            return container["contained"].as_array()?.iter().find(|c| c["id"].as_str() == Some(id));
        }
        let r = r.split("/_history/").next().unwrap_or(r);
        if let Some(e) = self.entries.iter().find(|e| e.full_url.as_deref().is_some_and(|u| u == r)) {
            return Some(&e.raw);
        }
        if r.starts_with("urn:") {
            return None;
        }
        let mut parts = r.rsplit('/');
        let id = parts.next()?;
        let ty = parts.next()?;
        self.entries.iter().find(|e| e.resource_type == ty && e.raw["id"].as_str() == Some(id)).map(|e| &*e.raw)
    }

    /// A Reference's name: its `display`, else the target's name.
    pub fn reference_name(&self, reference: &Value, container: &Value) -> Option<String> {
        non_empty(&reference["display"]).or_else(|| self.resolve(reference, container).and_then(resource_name))
    }

    /// A medication[x]: the concept, or the referenced Medication's code,
    /// else the reference's display.
    pub fn medication(&self, r: &Value) -> Option<String> {
        if let Some(c) = concept(&r["medicationCodeableConcept"]) {
            return Some(c);
        }
        let reference = &r["medicationReference"];
        self.resolve(reference, r).and_then(|m| concept(&m["code"])).or_else(|| non_empty(&reference["display"]))
    }
}

/// A decimal as the chart may write it: the digits as written (with the
/// locale's separator); for fractions of more than 4 digits, which may be
/// rounded, the integer part (or the next one up, for values rounded up).
pub fn number(v: &Value, locale: Locale) -> Option<Vec<String>> {
    let n = v.as_number()?;
    let s = n.to_string();
    let sep = |s: String| {
        if locale == Locale::DeDe {
            s.replace('.', ",")
        } else {
            s
        }
    };
    match s.split_once('.') {
        Some((int, frac)) if frac.len() > 4 && !frac.contains(['e', 'E']) => {
            let i: i64 = int.parse().ok()?;
            let up = if s.starts_with('-') { i - 1 } else { i + 1 };
            Some(vec![int.to_string(), up.to_string()])
        }
        _ => Some(vec![sep(s)]),
    }
}

/// A Quantity: comparator and value, and its unit (`unit`, else `code`).
pub fn quantity(q: &Value, locale: Locale) -> Option<Expect> {
    let values = number(&q["value"], locale)?;
    let values = match non_empty(&q["comparator"]) {
        Some(c) => values.iter().flat_map(|v| [format!("{c}{v}"), format!("{c} {v}")]).collect(),
        None => values,
    };
    let mut all = vec![Expect::Any(values)];
    all.extend(non_empty(&q["unit"]).or_else(|| non_empty(&q["code"])).map(Expect::Text));
    Some(if all.len() == 1 { all.pop().unwrap() } else { Expect::All(all) })
}

const MONTHS_EN: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MONTHS_DE: [&str; 12] = ["Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.", "Dez."];

/// A date, dateTime or instant at day precision as the chart writes it
/// (the day written in the source: its first 10 characters).
pub fn date(v: &Value, locale: Locale) -> Option<String> {
    let s = non_empty(v)?;
    let day = &s[..s.len().min(10)];
    let mut parts = day.split('-');
    let year: u32 = parts.next()?.parse().ok()?;
    let month = parts.next().and_then(|m| m.parse::<usize>().ok()).filter(|m| (1..=12).contains(m));
    let dom = parts.next().and_then(|d| d.parse::<u32>().ok());
    let months = if locale == Locale::DeDe { &MONTHS_DE } else { &MONTHS_EN };
    Some(match (month, dom) {
        (Some(m), Some(d)) if locale == Locale::DeDe => format!("{d}. {} {year}", months[m - 1]),
        (Some(m), Some(d)) => format!("{} {d}, {year}", months[m - 1]),
        (Some(m), None) => format!("{} {year}", months[m - 1]),
        _ => year.to_string(),
    })
}

/// The first of several date-valued fields that is present.
pub fn first_date(r: &Value, paths: &[&[&str]], locale: Locale) -> Option<String> {
    paths.iter().find_map(|p| date(at(r, p), locale))
}

/// `r[a][b]…`; numeric segments index arrays.
pub fn at<'v>(r: &'v Value, path: &[&str]) -> &'v Value {
    path.iter().fold(r, |v, k| match k.parse::<usize>() {
        Ok(i) => &v[i],
        Err(_) => &v[*k],
    })
}
