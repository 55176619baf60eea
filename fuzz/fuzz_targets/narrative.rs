//! A resource's narrative XHTML through the sanitiser, standalone and for a table cell.
#![no_main]

use libfuzzer_sys::fuzz_target;
use patient_portal_sdk::render::narrative::{sanitize, sanitize_in_cell};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = sanitize(text);
    let _ = sanitize_in_cell(text);
});
