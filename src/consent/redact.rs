//! What a screened record's resources say about what was withheld: nothing.
//! A resource that is shown may still point at one that is not, and name it
//! there (a Reference's `display`, its narrative): those go.

use serde_json::Value;

use crate::fhir::{Record, Reference};

/// Removes `display` from every Reference (an object with a `reference`)
/// that points at a withheld resource; whether there was one.
fn strip(value: &mut Value, record: &Record, from: usize) -> bool {
    match value {
        Value::Object(map) => {
            let mut found = false;
            if let Some(Value::String(r)) = map.get("reference") {
                if record.is_withheld(from, &Reference { reference: Some(r.clone()), display: None }) {
                    without(map, "display");
                    found = true;
                }
            }
            map.values_mut().fold(found, |found, v| strip(v, record, from) | found)
        }
        Value::Array(items) => items.iter_mut().fold(false, |found, v| strip(v, record, from) | found),
        _ => false,
    }
}

/// `map` without `key`, rebuilt rather than removed from (the map's removal
/// code is large in the WebAssembly module; these objects are small).
fn without(map: &mut serde_json::Map<String, Value>, key: &str) {
    for (k, v) in std::mem::take(map) {
        if k != key {
            map.insert(k, v);
        }
    }
}

/// Drops every narrative (a `text` with a `div`): the resource's, those of
/// the resources inside it, a Composition's sections'.
fn drop_narrative(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("text").is_some_and(|t| t.get("div").is_some()) {
                without(map, "text");
            }
            map.values_mut().for_each(drop_narrative);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_narrative),
        _ => {}
    }
}

/// Entry `i` of a screened `record` as it may be shown, when that differs
/// from its JSON: when it refers to a withheld resource (by any form of
/// reference: relative, absolute, versioned, `urn:uuid:`, from a contained
/// resource or a Bundle inside it), each such Reference loses its
/// `display`, and the narratives (`text.div`, a Composition's sections'
/// too), which may name the withheld resource in words, are dropped. `None` when nothing refers to one.
pub fn redacted(record: &Record, i: usize) -> Option<Value> {
    if record.withheld_count() == 0 {
        return None;
    }
    let mut raw = record.entries.get(i)?.raw.value().into_owned();
    if !strip(&mut raw, record, i) {
        return None;
    }
    drop_narrative(&mut raw);
    Some(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir::parse_record;
    use serde_json::json;

    fn screened(entries: Vec<Value>, keep: &[bool]) -> Record {
        let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": entries.into_iter().map(|r| {
            let url = r.get("fullUrl").cloned();
            let mut e = json!({"resource": r});
            if let Some(u) = url { e["fullUrl"] = u; e["resource"].as_object_mut().unwrap().remove("fullUrl"); }
            e
        }).collect::<Vec<_>>()});
        parse_record(bundle.to_string().as_bytes()).unwrap().retain(keep)
    }

    #[test]
    fn references_to_withheld_resources_lose_their_display_and_the_narrative_goes() {
        let order = json!({"resourceType": "MedicationRequest", "id": "o", "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Buprenorphine</div>"},
            "medicationReference": {"reference": "Medication/m1/_history/2", "display": "Buprenorphine"},
            "reasonReference": [{"reference": "https://ehr.example/fhir/Condition/c1", "display": "Opioid use disorder"}, {"reference": "urn:uuid:9f1c", "display": "Withdrawal"}],
            "requester": {"reference": "Practitioner/p", "display": "Dr. Rivera"},
            "contained": [{"resourceType": "Provenance", "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}, "target": [{"reference": "Medication/m1", "display": "Buprenorphine 8 mg"}]}]});
        let med = json!({"resourceType": "Medication", "id": "m1", "code": {"text": "Buprenorphine"}});
        let c1 = json!({"resourceType": "Condition", "id": "c1", "code": {"text": "Opioid use disorder"}});
        let c2 = json!({"resourceType": "Condition", "fullUrl": "urn:uuid:9f1c", "code": {"text": "Withdrawal"}});
        let plain = json!({"resourceType": "Observation", "id": "x", "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">ok</div>"}, "subject": {"reference": "Patient/p", "display": "Pat"}});
        let r = screened(vec![order, med, c1, c2, plain], &[true, false, false, false, true]);
        let out = redacted(&r, 0).expect("the order refers to withheld resources");
        let text = out.to_string();
        for secret in ["Buprenorphine", "Opioid use disorder", "Withdrawal"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(out["medicationReference"], json!({"reference": "Medication/m1/_history/2"}));
        assert_eq!(out["requester"]["display"], "Dr. Rivera", "a shown resource keeps its name");
        assert!(out.get("text").is_none() && out["contained"][0].get("text").is_none());
        assert_eq!(out["contained"][0]["target"][0], json!({"reference": "Medication/m1"}), "from a contained resource too");
        assert_eq!(redacted(&r, 1), None, "nothing refers to a withheld resource");
        // Nothing withheld: nothing changes.
        let all = screened(vec![json!({"resourceType": "Observation", "id": "x", "subject": {"reference": "Patient/p", "display": "Pat"}})], &[true]);
        assert_eq!(redacted(&all, 0), None);
    }
}
