//! A compact JWE: parsed, then unsealed with the SMART Health Links spec example's key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use patient_portal_sdk::unseal::{parse, parse_without_ciphertext, unseal, ContentKey, UnsealOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = parse(text);
    let _ = parse_without_ciphertext(text);
    let key = ContentKey::from_base64url("rxTgYlOaKJPFtcEd0qcceN8wEU4p94SqAwIWQe6uX7Q").expect("the spec example's key");
    let options = UnsealOptions { max_plaintext: 1 << 20 };
    let _ = unseal(text, &key, &options);
});
