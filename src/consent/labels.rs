//! What a resource is, as far as consent rules look: its security labels,
//! every coding it carries, its clinical date, its authors and the
//! references it makes. Read from the raw JSON, so every resource type is
//! covered, not only the ones the chart renders.

use serde_json::Value;

use crate::fhir::DateTime;

pub const CONFIDENTIALITY: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
pub const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
/// Other names of the same code systems: the pre-R4 (DSTU2/STU3) URIs and
/// the HL7 v3 OIDs. Labels are read under the R4 URI whichever is used.
const SYSTEM_ALIASES: &[(&str, &str)] = &[
    ("http://hl7.org/fhir/v3/Confidentiality", CONFIDENTIALITY),
    ("urn:oid:2.16.840.1.113883.5.25", CONFIDENTIALITY),
    ("http://hl7.org/fhir/v3/ActCode", ACT_CODE),
    ("urn:oid:2.16.840.1.113883.5.4", ACT_CODE),
];

/// The R4 URI of a code system known under several names (trimmed, and
/// without a trailing `/`); any other system as written.
pub fn canonical_system(system: &str) -> &str {
    let s = system.trim();
    let bare = s.trim_end_matches('/');
    [(CONFIDENTIALITY, CONFIDENTIALITY), (ACT_CODE, ACT_CODE)]
        .iter()
        .chain(SYSTEM_ALIASES)
        .find(|(name, _)| bare.eq_ignore_ascii_case(name))
        .map_or(s, |(_, canonical)| canonical)
}
const INLINE_LABEL: &str = "http://hl7.org/fhir/uv/security-label-ds4p/StructureDefinition/extension-inline-sec-label";

/// Confidentiality codes in order (v3-Confidentiality): a high-water mark.
const LEVELS: [&str; 6] = ["U", "L", "M", "N", "R", "V"];

/// The level of a confidentiality code (`U` 0 … `V` 5).
pub fn level(code: &str) -> Option<u8> {
    LEVELS.iter().position(|l| *l == code).map(|p| p as u8)
}

/// The name of a level.
pub fn level_name(level: u8) -> &'static str {
    LEVELS.get(level as usize).copied().unwrap_or("N")
}

/// A security label or code: system (may be empty) and code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Code {
    pub system: String,
    pub code: String,
}

impl Code {
    /// A Coding's system (under its R4 URI, see [`canonical_system`]) and code.
    pub fn from_coding(coding: &Value) -> Option<Code> {
        let code = coding.get("code")?.as_str()?.trim();
        if code.is_empty() {
            return None;
        }
        let system = coding.get("system").and_then(Value::as_str).unwrap_or_default();
        Some(Code { system: canonical_system(system).to_string(), code: code.to_string() })
    }

    /// Whether `self` (from a rule) matches `other` (from data): same code,
    /// and same system when the rule names one.
    pub fn matches(&self, other: &Code) -> bool {
        self.code == other.code && (self.system.is_empty() || self.system == other.system)
    }
}

/// Facts about one resource.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Security labels: `meta.security`, `DocumentReference.securityLabel`,
    /// `Composition.confidentiality`, and DS4P inline labels anywhere in the
    /// resource (applied to the whole resource: the SDK cannot show part of
    /// one, so it fails closed).
    pub labels: Vec<Code>,
    /// Highest confidentiality (`N` when unlabelled).
    pub confidentiality: u8,
    /// Every coding anywhere in the resource, once each.
    pub codings: Vec<Code>,
    /// `codings` as texts: the system's length, the system, the code (unambiguous).
    seen_codings: crate::util::TextSet,
    /// The clinical or operational date's span, when the resource has one.
    pub when: Option<(i64, i64)>,
    /// References in author-like elements.
    pub authors: Vec<String>,
    /// Every reference the resource makes.
    pub references: Vec<String>,
    /// `meta.profile`.
    pub profiles: Vec<String>,
    /// Attachment content types (`content.attachment.contentType`, `contentType`).
    pub mime_types: Vec<String>,
}

const DATE_FIELDS: &[&str] = &[
    "effectiveDateTime",
    "effectiveInstant",
    "onsetDateTime",
    "occurrenceDateTime",
    "performedDateTime",
    "authoredOn",
    "recordedDate",
    "dateAsserted",
    "assertedDate",
    "issued",
    "date",
    "created",
    "recorded",
];
const PERIOD_FIELDS: &[&str] = &["effectivePeriod", "onsetPeriod", "performedPeriod", "period", "occurrencePeriod"];
const AUTHOR_FIELDS: &[&str] = &["author", "recorder", "asserter", "requester", "performer", "informationSource", "authenticator", "sender"];

fn collect(value: &Value, facts: &mut Facts) {
    match value {
        Value::Object(map) => {
            if let Some(code) = map.get("code").and_then(Value::as_str) {
                if !code.trim().is_empty() && (map.contains_key("system") || map.contains_key("display")) {
                    if let Some(c) = Code::from_coding(value) {
                        let mut key = crate::util::pair_key(c.system.len(), &c.system);
                        key.push_str(&c.code);
                        if facts.seen_codings.insert(key) {
                            facts.codings.push(c);
                        }
                    }
                }
            }
            if let Some(Value::String(r)) = map.get("reference") {
                facts.references.push(r.clone());
            }
            if let Some(Value::Array(extensions)) = map.get("extension") {
                for e in extensions {
                    if e.get("url").and_then(Value::as_str) == Some(INLINE_LABEL) {
                        if let Some(c) = e.get("valueCoding").and_then(Code::from_coding) {
                            facts.labels.push(c);
                        }
                    }
                }
            }
            for v in map.values() {
                collect(v, facts);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, facts)),
        _ => {}
    }
}

fn references_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("reference") {
                out.push(r.clone());
            }
            for v in map.values() {
                references_in(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| references_in(v, out)),
        _ => {}
    }
}

fn span_of(text: Option<&Value>) -> Option<(i64, i64)> {
    DateTime::parse(text?.as_str()?).span()
}

fn inline_labels(value: &Value, out: &mut Vec<Code>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(extensions)) = map.get("extension") {
                out.extend(
                    extensions
                        .iter()
                        .filter(|e| e.get("url").and_then(Value::as_str) == Some(INLINE_LABEL))
                        .filter_map(|e| e.get("valueCoding").and_then(Code::from_coding)),
                );
            }
            map.values().for_each(|v| inline_labels(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| inline_labels(v, out)),
        _ => {}
    }
}

/// The security labels alone (as in [`Facts::labels`]), without the rest of
/// the facts: what an audit record needs when no rule has to be evaluated.
pub fn labels(resource: &Value) -> Vec<Code> {
    let mut labels = Vec::new();
    resource_labels(resource, &mut labels);
    inline_labels(resource, &mut labels);
    labels
}

/// [`labels`] of a resource kept as text (of type `resource_type`), read
/// (and not kept) only when its text names a member labels come from: most
/// resources carry none.
pub fn labels_of(raw: &crate::fhir::Raw, resource_type: &str) -> Vec<Code> {
    // Keys, and a string equal to the extension's URL, are written as they are (nothing in them is escaped).
    // "security" is in `"security":` (`meta.security`, not any `meta`: most resources have one),
    // `"securityLabel":` and the inline label extension's URL; `confidentiality` counts on a Composition only.
    let text = raw.text();
    if text.contains("security") || (resource_type == "Composition" && text.contains("\"confidentiality\":")) {
        labels(&raw.value())
    } else {
        Vec::new()
    }
}

fn resource_labels(resource: &Value, labels: &mut Vec<Code>) {
    for label in resource.get("meta").and_then(|m| m.get("security")).and_then(Value::as_array).into_iter().flatten() {
        labels.extend(Code::from_coding(label));
    }
    for concept in resource.get("securityLabel").and_then(Value::as_array).into_iter().flatten() {
        for coding in concept.get("coding").and_then(Value::as_array).into_iter().flatten() {
            labels.extend(Code::from_coding(coding));
        }
    }
    if resource.get("resourceType").and_then(Value::as_str) == Some("Composition") {
        if let Some(code) = resource.get("confidentiality").and_then(Value::as_str) {
            labels.push(Code { system: CONFIDENTIALITY.to_string(), code: code.to_string() });
        }
    }
}

/// Reads the facts of one resource.
pub fn facts(resource: &Value) -> Facts {
    let mut facts = Facts::default();
    collect(resource, &mut facts);
    let meta = resource.get("meta");
    resource_labels(resource, &mut facts.labels);
    facts.confidentiality =
        facts.labels.iter().filter(|l| l.system == CONFIDENTIALITY || l.system.is_empty()).filter_map(|l| level(&l.code)).max().unwrap_or(3);
    facts.when = DATE_FIELDS.iter().find_map(|f| span_of(resource.get(*f))).or_else(|| {
        PERIOD_FIELDS.iter().find_map(|f| {
            let period = resource.get(*f)?;
            let start = span_of(period.get("start"));
            let end = span_of(period.get("end"));
            match (start, end) {
                (Some((s, _)), Some((_, e))) => Some((s, e)),
                (Some(s), None) => Some(s),
                (None, Some(e)) => Some(e),
                (None, None) => None,
            }
        })
    });
    for field in AUTHOR_FIELDS {
        if let Some(v) = resource.get(*field) {
            references_in(v, &mut facts.authors);
        }
    }
    facts.profiles =
        meta.and_then(|m| m.get("profile")).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect();
    if let Some(t) = resource.get("contentType").and_then(Value::as_str) {
        facts.mime_types.push(t.to_string());
    }
    for content in resource.get("content").and_then(Value::as_array).into_iter().flatten() {
        if let Some(t) = content.get("attachment").and_then(|a| a.get("contentType")).and_then(Value::as_str) {
            facts.mime_types.push(t.to_string());
        }
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_dates_and_codes() {
        let r = serde_json::json!({
            "resourceType": "Observation",
            "meta": {"security": [{"system": CONFIDENTIALITY, "code": "R"}, {"system": ACT_CODE, "code": "PSY"}]},
            "code": {"coding": [{"system": "http://loinc.org", "code": "1234-5"}]},
            "valueString": "x",
            "effectivePeriod": {"start": "2020-01", "end": "2020-03-04"},
            "performer": [{"reference": "Practitioner/1"}],
            "subject": {"reference": "Patient/p", "extension": [{"url": INLINE_LABEL, "valueCoding": {"system": ACT_CODE, "code": "HIV"}}]}
        });
        let f = facts(&r);
        assert_eq!(f.confidentiality, 4);
        assert!(f.labels.iter().any(|l| l.code == "PSY") && f.labels.iter().any(|l| l.code == "HIV"));
        assert!(f.codings.contains(&Code { system: "http://loinc.org".into(), code: "1234-5".into() }));
        let (s, e) = f.when.unwrap();
        assert_eq!((s, e), (1_577_836_800, 1_583_366_400));
        assert_eq!(f.authors, ["Practitioner/1"]);
        assert!(f.references.contains(&"Patient/p".to_string()));
        assert_eq!(facts(&serde_json::json!({"resourceType": "Patient"})).confidentiality, 3);
    }

    #[test]
    fn labels_of_text_reads_the_resources_that_carry_labels() {
        let inline = serde_json::json!({"url": INLINE_LABEL, "valueCoding": {"system": ACT_CODE, "code": "HIV"}});
        for r in [
            serde_json::json!({"resourceType": "Observation", "meta": {"profile": ["http://example.org/p"], "versionId": "1"}}),
            serde_json::json!({"resourceType": "Observation", "meta": {"security": [{"system": CONFIDENTIALITY, "code": "R"}]}}),
            serde_json::json!({"resourceType": "Observation", "meta": {"profile": [], "security": [{"code": "PSY"}]}, "securityLabel": []}),
            serde_json::json!({"resourceType": "DocumentReference", "securityLabel": [{"coding": [{"system": ACT_CODE, "code": "ETH"}]}]}),
            serde_json::json!({"resourceType": "Composition", "confidentiality": "V"}),
            serde_json::json!({"resourceType": "Observation", "confidentiality": "V"}),
            serde_json::json!({"resourceType": "Observation", "subject": {"reference": "Patient/p", "extension": [inline]}}),
            serde_json::json!({"resourceType": "Observation", "note": [{"text": "\"security\": none here"}]}),
        ] {
            assert_eq!(labels_of(&crate::fhir::Raw::new(&r), r["resourceType"].as_str().unwrap()), labels(&r), "{r}");
        }
        let profiled = serde_json::json!({"resourceType": "Observation", "meta": {"security": [{"system": ACT_CODE, "code": "PSY"}]}});
        assert_eq!(labels_of(&crate::fhir::Raw::new(&profiled), "Observation"), [Code { system: ACT_CODE.into(), code: "PSY".into() }]);
    }

    #[test]
    fn label_systems_under_every_name() {
        for system in [CONFIDENTIALITY, "http://hl7.org/fhir/v3/Confidentiality", "urn:oid:2.16.840.1.113883.5.25", " http://hl7.org/fhir/v3/Confidentiality/ "]
        {
            let r = serde_json::json!({"resourceType": "Observation", "meta": {"security": [{"system": system, "code": "V"}]}});
            assert_eq!(facts(&r).confidentiality, 5, "{system}");
            assert_eq!(labels(&r)[0].system, CONFIDENTIALITY);
        }
        for system in [ACT_CODE, "http://hl7.org/fhir/v3/ActCode", "urn:oid:2.16.840.1.113883.5.4"] {
            let r = serde_json::json!({"resourceType": "Observation", "meta": {"security": [{"system": system, "code": "PSY"}]}});
            assert_eq!(labels(&r), [Code { system: ACT_CODE.into(), code: "PSY".into() }], "{system}");
        }
        // Another system keeps its name (and a V from it is not confidentiality).
        let r = serde_json::json!({"resourceType": "Observation", "meta": {"security": [{"system": "http://example.org/levels", "code": "V"}]}});
        assert_eq!(facts(&r).confidentiality, 3);
        assert_eq!(labels(&r)[0].system, "http://example.org/levels");
    }

    #[test]
    fn codings_that_differ_only_where_system_ends_are_both_kept() {
        let r = serde_json::json!({"resourceType": "Observation", "code": {"coding": [
            {"system": "urn:a b", "code": "c"},
            {"system": "urn:a", "code": "b c"},
            {"system": "urn:a", "code": "b c"}
        ]}});
        let f = facts(&r);
        assert_eq!(f.codings.len(), 2);
        assert!(f.codings.contains(&Code { system: "urn:a".into(), code: "b c".into() }));
    }
}
