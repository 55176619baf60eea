//! Sharing an open record as a SMART Health Link: the Bundle a chosen
//! audience may see (screened by the consent engine over what the record's
//! own viewer sees, narrowed to chosen chart sections), sealed as a compact
//! JWE, and the `shlink:/` payload that carries its key.
//!
//! Only the Bundle building and the payload are here; the key, the
//! encryption backend and the host calls are the binding's (src/wasm/share.rs).

use serde_json::Value;
use zeroize::Zeroizing;

use crate::consent::{redacted, screen_paced, Policy, Viewer};
use crate::fhir::{parse_record_paced, Record, Reference};
use crate::render::i18n::{Fmt, Locale, TimeZone};
use crate::render::{Chart, Section};
use crate::unseal::{ContentKey, SealOptions};

/// The chart's section keys a share may be narrowed to (`include`): those
/// of the chart, then `other` ("Other records").
pub const SECTION_KEYS: &[&str] =
    &["allergies", "problems", "medications", "results", "vitals", "immunizations", "procedures", "encounters", "documents", "care-plans", "other"];

/// The content type of the shared file (and the JWE's `cty`).
pub const CONTENT_TYPE: &str = "application/fhir+json";

/// Longest label a link may carry (SHL IG).
pub const MAX_LABEL_CHARS: usize = 80;

/// What to share, and with whom.
#[derive(Debug, Clone)]
pub struct ShareRequest<'a> {
    /// The recipient's viewing context, screened by the consent engine.
    pub audience: &'a Viewer,
    pub policy: &'a Policy,
    /// Consent resources from the host, with those in the record.
    pub consents: &'a [Value],
    /// Section keys (`SECTION_KEYS`); `None`: every section.
    pub include: Option<&'a [String]>,
}

/// The shared record and its Bundle.
#[derive(Debug)]
pub struct Shared {
    /// Only what is shared, references to the rest redacted.
    pub record: Record,
    /// The Bundle (type `collection`) as JSON bytes: what is sealed.
    pub bundle: Zeroizing<Vec<u8>>,
    /// Resources of the source record left out (by consent or by `include`).
    pub withheld: usize,
}

/// The section key of each entry as the chart places it (`None` for a
/// Patient, which heads the chart and is always shared).
fn section_keys(record: &Record) -> Vec<Option<&'static str>> {
    let zone = TimeZone::recorded();
    let fmt = Fmt { locale: Locale::EnUs, zone: &zone };
    let mut builder = crate::render::sections::Builder::new(record, fmt);
    record
        .entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            if entry.resource_type == "Patient" {
                return None;
            }
            Some(match builder.place(i, entry) {
                crate::render::sections::Placement::Section(s, _) => SECTION_KEYS.get(s).copied().unwrap_or("other"),
                crate::render::sections::Placement::Grouped => "results",
                crate::render::sections::Placement::Other(_) => "other",
            })
        })
        .collect()
}

/// Every `reference` in `value`.
fn references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("reference") {
                out.push(r.clone());
            }
            map.values().for_each(|v| references(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

/// Which entries `include` keeps: those of the chosen sections, every
/// Patient, and the supporting resources ("Other records": practitioners,
/// organizations, medications, …) that a kept resource refers to, at any depth.
fn narrowed(record: &Record, include: &[String]) -> Vec<bool> {
    let keys = section_keys(record);
    let mut keep: Vec<bool> = keys.iter().map(|k| k.is_none_or(|k| include.iter().any(|i| i == k))).collect();
    let mut todo: Vec<usize> = (0..keep.len()).filter(|&i| keep.get(i).copied().unwrap_or(false)).collect();
    while let Some(from) = todo.pop() {
        let Some(entry) = record.entries.get(from) else { continue };
        let mut refs = Vec::new();
        references(&entry.raw.value(), &mut refs);
        for r in refs {
            let Some(to) = record.resolve_index(from, &Reference { reference: Some(r), display: None }) else { continue };
            if keys.get(to) == Some(&Some("other")) && keep.get(to) == Some(&false) {
                if let Some(k) = keep.get_mut(to) {
                    *k = true;
                }
                todo.push(to);
            }
        }
    }
    keep
}

/// Redacts, as the chart does, every reference to a resource that is not in
/// `record` (its `display` and the narratives go).
fn redact_all(record: &mut Record) {
    let changed: Vec<(usize, Value)> = (0..record.entries.len()).filter_map(|i| Some((i, redacted(record, i)?))).collect();
    for (i, raw) in changed {
        if let Some(entry) = record.entries.get_mut(i) {
            entry.set_raw(raw);
        }
    }
}

/// Builds what `request` shares of `record` (a record as its own viewer
/// sees it): the audience's screening, then `include`, the Patient always
/// kept, references to anything not shared redacted; and its Bundle.
pub fn build(record: &Record, request: &ShareRequest<'_>) -> Shared {
    crate::source::run_now(build_paced(record, request, &crate::source::Immediate))
}

/// [`build`], giving the event loop a turn every few milliseconds while the
/// copy is read and screened (the bulk of the work on a large record).
pub async fn build_paced<S: crate::source::Scheduler>(record: &Record, request: &ShareRequest<'_>, sched: &S) -> Shared {
    // A copy to screen, read again from the record's JSON (what its viewer
    // sees, already redacted for them): smaller code than a deep clone.
    let copy = parse_record_paced(&bundle_of(record, sched).await, sched).await.unwrap_or_default();
    let screened = screen_paced(copy, request.audience, request.policy, request.consents, sched).await;
    let mut shared = screened.record;
    if let Some(include) = request.include {
        let keep = narrowed(&shared, include);
        shared = shared.retain(&keep);
        redact_all(&mut shared);
    }
    let bundle = bundle_of(&shared, sched).await;
    let withheld = record.entries.len().saturating_sub(shared.entries.len());
    Shared { record: shared, bundle, withheld }
}

/// The record's resources as a Bundle of type `collection`, as JSON bytes:
/// written entry by entry (no copy of the resources), giving the event
/// loop a turn every few milliseconds.
async fn bundle_of<S: crate::source::Scheduler>(record: &Record, sched: &S) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::new());
    out.extend_from_slice(br#"{"resourceType":"Bundle","type":"collection","entry":["#);
    let pacer = crate::source::Pacer::new(sched);
    for (i, entry) in record.entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'{');
        if let Some(url) = &entry.full_url {
            out.extend_from_slice(br#""fullUrl":"#);
            out.extend_from_slice(crate::fhir::value::quoted(url).as_bytes());
            out.push(b',');
        }
        out.extend_from_slice(br#""resource":"#);
        out.extend_from_slice(entry.raw.text().as_bytes());
        out.push(b'}');
        pacer.tick().await;
    }
    out.extend_from_slice(b"]}");
    out
}

/// The sections of a chart as its table of contents lists them (those with
/// something in them, then "Other records"): key, title, resources listed.
pub fn section_counts(chart: &Chart) -> Vec<(&'static str, String, usize)> {
    let mut out: Vec<(&'static str, String, usize)> =
        chart.sections.iter().filter(|s| !s.is_empty()).map(|s: &Section| (s.id, s.title.to_string(), s.len())).collect();
    let other: usize = chart.other.iter().map(|g| g.items.len()).sum();
    if other > 0 {
        out.push(("other", chart.locale.t(crate::render::i18n::T::OtherRecords).to_string(), other));
    }
    out
}

/// How the shared file is sealed: raw DEFLATE, then `dir`/`A256GCM`, `cty` FHIR JSON.
pub fn seal_options() -> SealOptions {
    SealOptions { deflate: true, content_type: Some(CONTENT_TYPE.into()) }
}

/// What a link says: the manifest URL, the key, and the optional parts.
#[derive(Debug)]
pub struct Payload<'a> {
    pub url: &'a str,
    pub key: &'a ContentKey,
    /// Epoch seconds.
    pub exp: Option<i64>,
    /// E.g. `"P"`; empty for none.
    pub flag: &'a str,
    pub label: Option<&'a str>,
}

/// `shlink:/` + base64url(JSON `{url, key, exp?, flag?, label?, v: 1}`).
pub fn link(payload: &Payload<'_>) -> Zeroizing<String> {
    let mut object = serde_json::Map::new();
    object.insert("url".into(), payload.url.into());
    object.insert("key".into(), payload.key.to_base64url().as_str().into());
    if let Some(exp) = payload.exp {
        object.insert("exp".into(), exp.into());
    }
    if !payload.flag.is_empty() {
        object.insert("flag".into(), payload.flag.into());
    }
    if let Some(label) = payload.label {
        object.insert("label".into(), label.into());
    }
    object.insert("v".into(), 1.into());
    let json = Zeroizing::new(crate::fhir::value::write(&Value::Object(object)));
    Zeroizing::new(format!("shlink:/{}", crate::b64::encode_url(json.as_bytes())))
}

/// The viewer URL for `link`: `base` without its fragment, `#`, the link.
pub fn viewer_url(base: &str, link: &str) -> Zeroizing<String> {
    let base = base.split('#').next().unwrap_or(base);
    Zeroizing::new(format!("{base}#{link}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::{screen, Role, Viewer};
    use crate::fhir::parse_record;
    use serde_json::json;
    use std::path::PathBuf;

    fn data(path: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
    }

    fn open(path: &str) -> Record {
        parse_record(&std::fs::read(data(path)).unwrap()).unwrap()
    }

    /// A record as its patient sees it (what `PatientRecord` holds).
    fn as_patient(record: Record) -> Record {
        screen(record, &Viewer::patient(NOW), &Policy::default(), &[]).record
    }

    const NOW: i64 = 1_795_000_000;

    fn viewer(role: Role, relationship: Option<&str>) -> Viewer {
        Viewer { role, relationship: relationship.map(str::to_string), actor: None, purpose: None, at: NOW }
    }

    fn shared_ids(shared: &Shared) -> Vec<String> {
        let bundle: Value = serde_json::from_slice(&shared.bundle).unwrap();
        bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| format!("{}/{}", e["resource"]["resourceType"].as_str().unwrap(), e["resource"]["id"].as_str().unwrap_or("")))
            .collect()
    }

    fn labelled_texts(record: &Record, codes: &[&str]) -> Vec<String> {
        record
            .entries
            .iter()
            .filter(|e| e.raw["meta"]["security"].as_array().is_some_and(|l| l.iter().any(|c| codes.contains(&c["code"].as_str().unwrap_or("")))))
            .filter_map(|e| e.raw["code"]["text"].as_str().or(e.raw["code"]["coding"][0]["display"].as_str()).map(str::to_string))
            .collect()
    }

    #[test]
    fn a_caregiver_gets_no_sensitive_resource_nor_a_word_about_it() {
        let record = as_patient(open("examples/data/alex-rivera.json"));
        let caregiver = viewer(Role::Proxy, Some("caregiver"));
        let shared = build(&record, &ShareRequest { audience: &caregiver, policy: &Policy::default(), consents: &[], include: None });
        let text = String::from_utf8(shared.bundle.to_vec()).unwrap();
        let secrets = labelled_texts(&record, &["PSY", "STD"]);
        assert!(!secrets.is_empty(), "the sample has labelled resources");
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{secret} shared with a caregiver");
        }
        assert!(shared.withheld > 0);
        assert_eq!(shared.withheld + shared.record.entries.len(), record.entries.len());
        assert!(shared_ids(&shared).iter().any(|id| id.starts_with("Patient/")));
        // The Bundle opens as a record of exactly those resources.
        let reopened = parse_record(&shared.bundle).unwrap();
        assert_eq!(reopened.entries.len(), shared.record.entries.len());
        assert_eq!(reopened.bundle_type.as_deref(), Some("collection"));
    }

    #[test]
    fn a_clinician_gets_what_the_policy_lets_a_clinician_see() {
        let record = as_patient(open("examples/data/alex-rivera.json"));
        let clinician = viewer(Role::Clinician, None);
        // By default PSY and STD are not reserved from clinicians: all is shared.
        let all = build(&record, &ShareRequest { audience: &clinician, policy: &Policy::default(), consents: &[], include: None });
        assert_eq!(all.withheld, 0);
        assert_eq!(all.record.entries.len(), record.entries.len());
        // A policy reserving PSY from clinicians withholds exactly those.
        let policy = Policy { clinician_sensitive: vec!["PSY".into()], ..Policy::default() };
        let some = build(&record, &ShareRequest { audience: &clinician, policy: &policy, consents: &[], include: None });
        let psy = labelled_texts(&record, &["PSY"]);
        assert_eq!(some.withheld, record.entries.iter().filter(|e| e.raw["meta"]["security"].to_string().contains("\"PSY\"")).count());
        let text = String::from_utf8(some.bundle.to_vec()).unwrap();
        for secret in &psy {
            assert!(!text.contains(secret.as_str()), "{secret} shared");
        }
        for secret in labelled_texts(&record, &["STD"]) {
            assert!(text.contains(secret.as_str()), "{secret} (STD) is the clinician's to see");
        }
    }

    #[test]
    fn a_parent_of_an_adolescent_gets_what_the_adolescent_rule_leaves() {
        let record = as_patient(open("examples/data/alex-rivera.json"));
        let parent = viewer(Role::Proxy, Some("parent"));
        let shared = build(&record, &ShareRequest { audience: &parent, policy: &Policy::default(), consents: &[], include: None });
        let mut types: Vec<String> = shared.record.entries.iter().map(|e| e.resource_type.clone()).collect();
        types.sort();
        types.dedup();
        assert_eq!(types, ["AllergyIntolerance", "Immunization", "Patient"]);
    }

    #[test]
    fn include_narrows_to_sections_keeps_the_patient_and_what_is_referred_to() {
        let record = as_patient(open("../shared/data/fhir/synthea/Christian_Balistreri_59339691-0270-4c4a-a34d-338e3008b9c3.json"));
        let patient = viewer(Role::Patient, None);
        let include = vec!["immunizations".to_string()];
        let shared = build(&record, &ShareRequest { audience: &patient, policy: &Policy::default(), consents: &[], include: Some(&include) });
        let types: std::collections::BTreeSet<String> = shared.record.entries.iter().map(|e| e.resource_type.clone()).collect();
        assert!(types.contains("Patient") && types.contains("Immunization"), "{types:?}");
        for t in ["Condition", "Observation", "MedicationRequest", "Encounter", "Claim"] {
            assert!(!types.contains(t), "{t} shared with include [immunizations]: {types:?}");
        }
        let immunizations = record.of_type("Immunization").count();
        assert_eq!(shared.record.of_type("Immunization").count(), immunizations);
        assert_eq!(shared.withheld, record.entries.len() - shared.record.entries.len());
        // The Synthea immunizations refer to their encounters, not shared: the references lose their display, if any.
        let text = String::from_utf8(shared.bundle.to_vec()).unwrap();
        for e in record.of_type("Encounter") {
            let id = e.id.as_deref().or(e.full_url.as_deref()).unwrap();
            assert!(!text.contains(&format!("\"resourceType\":\"Encounter\",\"id\":\"{id}\"")));
        }
        // The chart of the shared record lists immunizations only.
        let chart = crate::render::build_chart(
            &parse_record(&shared.bundle).unwrap(),
            &crate::render::RenderOptions::new(crate::fhir::Date::from_ymd(2026, 11, 30).unwrap()),
        );
        let counts = section_counts(&chart);
        assert_eq!(counts.iter().map(|c| c.0).collect::<Vec<_>>(), ["immunizations"]);
        assert_eq!(counts[0].2, immunizations);
    }

    #[test]
    fn supporting_resources_follow_what_refers_to_them_and_references_to_the_rest_are_redacted() {
        let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": {"resourceType": "Patient", "id": "p", "name": [{"family": "Doe"}]}},
            {"resource": {"resourceType": "MedicationRequest", "id": "mr", "status": "active", "intent": "order", "subject": {"reference": "Patient/p"},
                "medicationReference": {"reference": "Medication/m", "display": "Sertraline"}, "requester": {"reference": "Practitioner/dr", "display": "Dr. Who"},
                "reasonReference": [{"reference": "Condition/c", "display": "Major depression"}],
                "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Sertraline for major depression</div>"}}},
            {"resource": {"resourceType": "Medication", "id": "m", "code": {"text": "Sertraline"}}},
            {"resource": {"resourceType": "Practitioner", "id": "dr", "name": [{"family": "Who"}]}},
            {"resource": {"resourceType": "Organization", "id": "unrelated", "name": "Acme"}},
            {"resource": {"resourceType": "Condition", "id": "c", "code": {"text": "Major depression"}, "subject": {"reference": "Patient/p"}}}
        ]});
        let record = as_patient(parse_record(bundle.to_string().as_bytes()).unwrap());
        let me = viewer(Role::Patient, None);
        let include = vec!["medications".to_string()];
        let shared = build(&record, &ShareRequest { audience: &me, policy: &Policy::default(), consents: &[], include: Some(&include) });
        assert_eq!(shared_ids(&shared), ["Patient/p", "MedicationRequest/mr", "Medication/m", "Practitioner/dr"]);
        let text = String::from_utf8(shared.bundle.to_vec()).unwrap();
        assert!(!text.contains("depression"), "{text}");
        assert!(text.contains("\"reasonReference\":[{\"reference\":\"Condition/c\"}]"), "{text}");
        assert!(text.contains("Dr. Who"), "a shared resource keeps its name");
        assert_eq!(shared.withheld, 2);
        // `other` brings the supporting resources themselves.
        let include = vec!["other".to_string()];
        let others = build(&record, &ShareRequest { audience: &me, policy: &Policy::default(), consents: &[], include: Some(&include) });
        assert_eq!(shared_ids(&others), ["Patient/p", "Medication/m", "Practitioner/dr", "Organization/unrelated"]);
    }

    #[test]
    fn the_link_payload_reads_back_as_the_same_link() {
        let key = ContentKey::from_bytes(&[9u8; 32]).unwrap();
        let text = link(&Payload { url: "https://shl.example/shl/abc", key: &key, exp: Some(1_900_000_000), flag: "P", label: Some("For Dr. Rivera") });
        let parsed = crate::shl::parse_link(&text).unwrap();
        assert_eq!(parsed.url, "https://shl.example/shl/abc");
        assert_eq!(parsed.key.as_bytes(), key.as_bytes());
        assert_eq!(parsed.exp, Some(1_900_000_000));
        assert!(parsed.flags.passcode && !parsed.flags.long_term && !parsed.flags.direct);
        assert_eq!(parsed.label.as_deref(), Some("For Dr. Rivera"));
        let bare = link(&Payload { url: "https://shl.example/shl/abc", key: &key, exp: None, flag: "", label: None });
        let json: Value = serde_json::from_slice(&crate::b64::decode_url(bare.strip_prefix("shlink:/").unwrap().as_bytes()).unwrap()).unwrap();
        assert_eq!(json, json!({"url": "https://shl.example/shl/abc", "key": key.to_base64url().as_str(), "v": 1}));
        let viewer = viewer_url("https://viewer.example/app?x=1#old", &text);
        assert_eq!(crate::shl::parse_link(&viewer).unwrap().url, parsed.url);
        assert!(viewer.starts_with("https://viewer.example/app?x=1#shlink:/"));
    }

    #[test]
    fn the_sealed_bundle_opens_with_its_key() {
        let record = as_patient(open("examples/data/alex-rivera.json"));
        let me = viewer(Role::Patient, None);
        let shared = build(&record, &ShareRequest { audience: &me, policy: &Policy::default(), consents: &[], include: None });
        let key = ContentKey::from_bytes(&[3u8; 32]).unwrap();
        let jwe = crate::unseal::seal(&shared.bundle, &key, [1u8; 12], &seal_options()).unwrap();
        let (header, plain) = crate::unseal::unseal(&jwe, &key, &Default::default()).unwrap();
        assert!(header.deflated);
        assert_eq!(header.content_type.as_deref(), Some(CONTENT_TYPE));
        assert_eq!(plain.as_slice(), shared.bundle.as_slice());
        let wrong = ContentKey::from_bytes(&[4u8; 32]).unwrap();
        assert_eq!(crate::unseal::unseal(&jwe, &wrong, &Default::default()).unwrap_err(), crate::unseal::UnsealError::Decrypt);
    }
}
