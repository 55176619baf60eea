//! The SDK's JSON reader against serde_json's: the same `Value` for every
//! document serde_json reads, and the same error (message, line, column)
//! for every one it refuses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use patient_portal_sdk::fhir::value::parse;

fuzz_target!(|data: &[u8]| {
    // serde_json reads an object keyed by its private tokens as a number or a raw value.
    if data.windows(20).any(|w| w == b"$serde_json::private") {
        return;
    }
    match (parse(data), serde_json::from_slice::<serde_json::Value>(data)) {
        (Ok(ours), Ok(theirs)) => assert_eq!(ours, theirs),
        (Err(ours), Err(theirs)) => {
            assert_eq!(ours.to_string(), theirs.to_string());
            assert_eq!((ours.line(), ours.column()), (theirs.line(), theirs.column()));
        }
        (ours, theirs) => panic!("ours {ours:?}, serde_json {theirs:?}"),
    }
});
