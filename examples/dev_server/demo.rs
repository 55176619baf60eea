//! Demo content made fresh at every start from the embedded Synthea samples
//! (`examples/data/`):
//!
//! * the `/records/<id>.jwe` files (held in memory) and their
//!   `#record=…&key=…` links, plus a tampered copy of the first record;
//! * one SMART Health Link of each kind (see [`create_links`]), stored in the
//!   database with the `demo` marker after deleting the previous start's.
//!
//! The keys exist only in the values returned here, which the caller prints
//! and drops.

use std::collections::HashMap;
use std::sync::Arc;

use patient_portal_sdk::unseal::{seal, ContentKey, SealOptions};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::card::{self, Issuer};
use crate::links::{self, LinkSpec, PlainFile, FHIR_JSON};
use crate::store::Store;

/// The embedded samples: display name and FHIR bundle bytes.
pub const SAMPLES: &[(&str, &[u8])] = &[
    ("Christian Balistreri", include_bytes!("../data/christian-balistreri.json")),
    ("Dusty Stracke", include_bytes!("../data/dusty-stracke.json")),
    ("Alex Rivera", include_bytes!("../data/alex-rivera.json")),
];

/// Passcode of the `passcode` demo link, and its attempts.
const DEMO_PASSCODE: &str = "1234";
const DEMO_ATTEMPTS: u32 = 3;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Flips one bit in the middle of the ciphertext (4th) segment, keeping the
/// text valid base64url (each alphabet index is XORed with 1).
pub fn tamper(jwe: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
    let middle = parts[3].len() / 2;
    let index = ALPHABET.iter().position(|&c| c == parts[3].as_bytes()[middle]).expect("base64url ciphertext");
    parts[3].replace_range(middle..=middle, &char::from(ALPHABET[index ^ 1]).to_string());
    parts.join(".")
}

/// One `/records/` demo record. Holds the key only until startup output is done.
pub struct Record {
    pub name: String,
    pub entries: usize,
    pub record: String,
    pub key: Zeroizing<String>,
}

/// The `/records/` files: id → JWE, the records, and the tampered copy.
pub struct Records {
    pub files: HashMap<String, Arc<str>>,
    pub records: Vec<Record>,
    pub tampered: Record,
}

/// Seals every sample under its own fresh key; keeps only the ciphertext.
pub fn seal_records() -> Records {
    let mut files: HashMap<String, Arc<str>> = HashMap::new();
    let mut records = Vec::new();
    let mut tampered = None;
    let seal_options = SealOptions { deflate: true, content_type: Some(FHIR_JSON.into()) };
    for &(name, bundle) in SAMPLES {
        let parsed: Value = serde_json::from_slice(bundle).expect("embedded sample is JSON");
        let entries = parsed["entry"].as_array().map_or(0, Vec::len);
        let key = ContentKey::from_bytes(&crate::random::<32>()).expect("32-byte key");
        let jwe = seal(bundle, &key, crate::random::<12>(), &seal_options).expect("sealing the sample");
        let id = hex(&crate::random::<16>());
        let record = Record { name: name.into(), entries, record: format!("/records/{id}.jwe"), key: key.to_base64url() };
        if tampered.is_none() {
            let bad_id = hex(&crate::random::<16>());
            files.insert(bad_id.clone(), tamper(&jwe).into());
            let path = format!("/records/{bad_id}.jwe");
            tampered = Some(Record { name: String::new(), entries: 0, record: path, key: record.key.clone() });
        }
        files.insert(id, jwe.into());
        records.push(record);
    }
    Records { files, records, tampered: tampered.expect("at least one sample") }
}

/// One demo SMART Health Link.
pub struct DemoLink {
    pub name: &'static str,
    pub kind: &'static str,
    pub shlink: Zeroizing<String>,
    pub viewer_url: Zeroizing<String>,
    pub passcode: Option<&'static str>,
}

/// What a demo link is made of.
struct Plan {
    sample: usize,
    kind: &'static str,
    label: String,
    files: Vec<PlainFile>,
    passcode: Option<&'static str>,
    attempts: u32,
    exp: Option<i64>,
    direct: bool,
    tamper: bool,
    revoke: bool,
}

impl Plan {
    fn new(sample: usize, kind: &'static str, label: String, files: Vec<PlainFile>) -> Self {
        Self { sample, kind, label, files, passcode: None, attempts: 5, exp: None, direct: false, tamper: false, revoke: false }
    }
}

fn fhir(bytes: &[u8]) -> PlainFile {
    PlainFile { content_type: FHIR_JSON, bytes: Zeroizing::new(bytes.to_vec()) }
}

/// Deletes the previous demo links and creates, with `base` as public URL and
/// `<base>/` as viewer: `plain` (one per sample), `passcode` (first sample,
/// passcode 1234, 3 attempts), `direct` (second sample, flag U), `multi`
/// (first sample: the bundle minus immunizations and a health card of the
/// patient and immunizations signed by `issuer`), `expired` (an hour ago),
/// `revoked` and `tampered` (one ciphertext bit flipped).
pub fn create_links(store: &dyn Store, issuer: &Issuer, base: &str, account: i64, now: i64) -> Result<Vec<DemoLink>, String> {
    store.delete_demo_links().map_err(|e| format!("deleting old demo links: {e}"))?;
    let (first, second) = (SAMPLES[0], SAMPLES[1 % SAMPLES.len()]);
    let first_bundle: Value = serde_json::from_slice(first.1).map_err(|e| format!("sample {}: {e}", first.0))?;
    let rest = serde_json::to_vec(&card::without_immunizations(&first_bundle)).map_err(|e| e.to_string())?;
    let card = issuer.health_card_file(base, &card::immunization_bundle(&first_bundle), now);

    let mut plans: Vec<Plan> =
        SAMPLES.iter().enumerate().map(|(i, (name, bytes))| Plan::new(i, "plain", format!("{name} (demo)"), vec![fhir(bytes)])).collect();
    plans.push(Plan {
        passcode: Some(DEMO_PASSCODE),
        attempts: DEMO_ATTEMPTS,
        ..Plan::new(0, "passcode", format!("{} (passcode demo)", first.0), vec![fhir(first.1)])
    });
    plans.push(Plan { direct: true, ..Plan::new(1 % SAMPLES.len(), "direct", format!("{} (direct file demo)", second.0), vec![fhir(second.1)]) });
    let multi_files = vec![fhir(&rest), PlainFile { content_type: card::CONTENT_TYPE, bytes: Zeroizing::new(card) }];
    plans.push(Plan::new(0, "multi", format!("{}: record and immunization card", first.0), multi_files));
    plans.push(Plan { exp: Some(now - 3600), ..Plan::new(0, "expired", format!("{} (expired)", first.0), vec![fhir(first.1)]) });
    plans.push(Plan { revoke: true, ..Plan::new(0, "revoked", format!("{} (revoked)", first.0), vec![fhir(first.1)]) });
    plans.push(Plan { tamper: true, ..Plan::new(0, "tampered", format!("{} (tampered)", first.0), vec![fhir(first.1)]) });

    // Sealing large bundles dominates start-up: create the links in parallel.
    let viewer = format!("{base}/");
    std::thread::scope(|scope| {
        let handles: Vec<_> = plans
            .into_iter()
            .map(|plan| {
                let viewer = viewer.as_str();
                scope.spawn(move || -> Result<DemoLink, String> {
                    let spec = LinkSpec {
                        base,
                        passcode: plan.passcode,
                        attempts: plan.attempts,
                        exp: plan.exp,
                        label: Some(&plan.label),
                        long_term: false,
                        direct: plan.direct,
                        demo: true,
                        tamper: plan.tamper,
                        account: Some(account),
                        files: plan.files,
                    };
                    let link = links::create(store, &spec, now)?;
                    if plan.revoke {
                        store.revoke(&link.id, None).map_err(|e| format!("revoking the demo link: {e}"))?;
                    }
                    let viewer_url = link.viewer_url(viewer);
                    Ok(DemoLink { name: SAMPLES[plan.sample].0, kind: plan.kind, shlink: link.shlink, viewer_url, passcode: plan.passcode })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().map_err(|_| "a demo link thread panicked".to_owned())?).collect()
    })
}
