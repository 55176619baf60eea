//! A link's manifest body as the host returns it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use patient_portal_sdk::shl::read_manifest;

fuzz_target!(|data: &[u8]| {
    let _ = read_manifest(data);
});
