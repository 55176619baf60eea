//! `shlink:/…` and viewer URLs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use patient_portal_sdk::shl::parse_link;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(link) = parse_link(text) {
        let _ = link.flags.as_text();
        let _ = link.is_expired(i64::MAX);
        let _ = link.is_expired(i64::MIN);
    }
});
