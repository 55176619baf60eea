//! A `.smart-health-card` file, or one JWS: decoded (inflating its payload), then verified with the spec example issuer's keys.
#![no_main]

use libfuzzer_sys::fuzz_target;
use patient_portal_sdk::shl::{decode_jws, jwks_url, read_card_file, verify};

const JWKS: &str = include_str!("../data/shc_issuer_jwks.json");

fuzz_target!(|data: &[u8]| {
    let jwks: serde_json::Value = serde_json::from_str(JWKS).expect("the spec example's JWKS");
    let limit = 1 << 20;
    let mut credentials = read_card_file(data, limit).unwrap_or_default();
    if let Ok(text) = std::str::from_utf8(data) {
        credentials.extend(decode_jws(text, limit));
    }
    for credential in &credentials {
        let _ = verify(credential, &jwks);
        let _ = jwks_url(&credential.issuer);
        let _ = patient_portal_sdk::fhir::parse_record(credential.bundle.to_string().as_bytes());
    }
});
