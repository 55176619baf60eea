//! Unseal against published vectors: Wycheproof AES-GCM and JWE, RFC 7520,
//! the SMART Health Links spec example and the HL7 IG's IPS file.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use patient_portal_sdk::unseal::{
    parse, seal, unseal, AeadFailure, ContentCipher, ContentKey, GcmSeal, RustCryptoCipher, SealOptions, UnsealError, UnsealOptions,
};

fn opts() -> UnsealOptions {
    UnsealOptions::default()
}

#[test]
fn wycheproof_aes_256_gcm_96_bit_iv_vectors() {
    let doc = read_json("wycheproof/aes_gcm_test.json");
    let (mut valid, mut invalid) = (0, 0);
    for group in doc["testGroups"].as_array().unwrap() {
        if group["keySize"] != 256 || group["ivSize"] != 96 || group["tagSize"] != 128 {
            continue;
        }
        for t in group["tests"].as_array().unwrap() {
            let key = ContentKey::from_bytes(&hex(t["key"].as_str().unwrap())).unwrap();
            let iv: [u8; 12] = hex(t["iv"].as_str().unwrap()).try_into().unwrap();
            let tag: [u8; 16] = hex(t["tag"].as_str().unwrap()).try_into().unwrap();
            let out = RustCryptoCipher.decrypt(&GcmSeal { key: &key, iv: &iv, tag: &tag }, &hex(t["aad"].as_str().unwrap()), &hex(t["ct"].as_str().unwrap()));
            let id = &t["tcId"];
            match t["result"].as_str().unwrap() {
                "valid" | "acceptable" => {
                    assert_eq!(out.unwrap(), hex(t["msg"].as_str().unwrap()), "tcId {id}");
                    valid += 1;
                }
                _ => {
                    assert_eq!(out, Err(AeadFailure), "tcId {id} must be refused");
                    invalid += 1;
                }
            }
        }
    }
    assert_eq!((valid, invalid), (39, 27), "the A256GCM + 96-bit IV subset");
}

#[test]
fn wycheproof_vectors_also_pass_through_the_jwe_layer() {
    // Each valid A256GCM vector with empty AAD is not expressible as a JWE
    // (the AAD is the header), so instead: every valid vector's plaintext
    // sealed and unsealed with its key round-trips.
    let doc = read_json("wycheproof/aes_gcm_test.json");
    let mut n = 0;
    for group in doc["testGroups"].as_array().unwrap() {
        if group["keySize"] != 256 || group["ivSize"] != 96 {
            continue;
        }
        for t in group["tests"].as_array().unwrap().iter().filter(|t| t["result"] == "valid") {
            let key = ContentKey::from_bytes(&hex(t["key"].as_str().unwrap())).unwrap();
            let iv: [u8; 12] = hex(t["iv"].as_str().unwrap()).try_into().unwrap();
            let msg = hex(t["msg"].as_str().unwrap());
            let jwe = seal(&msg, &key, iv, &SealOptions::default()).unwrap();
            assert_eq!(unseal(&jwe, &key, &opts()).unwrap().1.as_slice(), msg.as_slice());
            n += 1;
        }
    }
    assert_eq!(n, 39);
}

#[test]
fn rfc7520_5_6_direct_encryption_decrypts() {
    let v = read_json("jose/rfc7520_gcm_content_layer_vectors.json");
    let five_six = &v["vectors"][0];
    assert_eq!(five_six["alg"], "dir");
    let key = ContentKey::from_base64url(five_six["cek_b64u"].as_str().unwrap()).unwrap();
    let (header, pt) = unseal(five_six["compact"].as_str().unwrap(), &key, &opts()).unwrap();
    assert_eq!(header.key_id.as_deref(), Some("77c7e2b8-6e13-45cf-8672-617b5b45243a"));
    assert_eq!(pt.as_slice(), five_six["plaintext_utf8"].as_str().unwrap().as_bytes());

    // The cookbook file itself, independently of the derived vectors.
    let cookbook = read_json("jose/cookbook_5_6.direct_encryption_using_aes-gcm.json");
    let key = ContentKey::from_base64url(cookbook["input"]["key"]["k"].as_str().unwrap()).unwrap();
    let (_, pt) = unseal(cookbook["output"]["compact"].as_str().unwrap(), &key, &opts()).unwrap();
    assert_eq!(pt.as_slice(), cookbook["input"]["plaintext"].as_str().unwrap().as_bytes());
}

#[test]
fn rfc7520_key_wrapping_examples_are_refused_as_unsupported() {
    let v = read_json("jose/rfc7520_gcm_content_layer_vectors.json");
    for vector in v["vectors"].as_array().unwrap().iter().skip(1) {
        let Some(compact) = vector["compact"].as_str() else { continue };
        let key = ContentKey::from_base64url(vector["cek_b64u"].as_str().unwrap()).unwrap();
        let err = unseal(compact, &key, &opts()).unwrap_err();
        assert!(matches!(err, UnsealError::UnsupportedAlgorithm(_)), "{err:?}");
    }
}

#[test]
fn shl_spec_example_decrypts_byte_for_byte() {
    let key = ContentKey::from_base64url(read_json("shl/spec-example/spec_example_vector.json")["decoded_payload"]["key"].as_str().unwrap()).unwrap();
    let jwe = read_text("shl/spec-example/spec_example_file.jwe");
    let (header, pt) = unseal(&jwe, &key, &opts()).unwrap();
    assert_eq!(header.content_type.as_deref(), Some("application/smart-health-card"));
    assert_eq!(pt.as_slice(), read("shl/spec-example/spec_example_file.decrypted.smart-health-card").as_slice());
}

#[test]
fn hl7_ig_ips_file_decrypts_byte_for_byte() {
    let details = read_json("shl/hl7-ig/IPS_IG-bundle-01-shl-details.json");
    let key = ContentKey::from_base64url(details["shlinkJsonPayload"]["key"].as_str().unwrap()).unwrap();
    let (header, pt) = unseal(&read_text("shl/hl7-ig/IPS_IG-bundle-01-enc.txt"), &key, &opts()).unwrap();
    assert_eq!(header.content_type, None, "the IG file has no cty");
    assert!(header.key_id.is_some(), "the IG file carries a kid on a dir key");
    assert_eq!(pt.as_slice(), read("shl/hl7-ig/IPS_IG-bundle-01.json").as_slice());
}

#[test]
fn hl7_ig_carin_jws_is_refused() {
    let key = ContentKey::from_bytes(&[7; 32]).unwrap();
    let err = unseal(&read_text("shl/hl7-ig/CARIN_INS_CD-bundle-01-enc.txt"), &key, &opts()).unwrap_err();
    assert_eq!(err, UnsealError::SegmentCount { found: 3 });
    assert!(err.to_string().contains("JWS"));
}

fn ips() -> (String, ContentKey) {
    let details = read_json("shl/hl7-ig/IPS_IG-bundle-01-shl-details.json");
    let key = ContentKey::from_base64url(details["shlinkJsonPayload"]["key"].as_str().unwrap()).unwrap();
    (read_text("shl/hl7-ig/IPS_IG-bundle-01-enc.txt").trim().to_string(), key)
}

#[test]
fn one_bit_flipped_in_any_segment_is_refused() {
    let (jwe, key) = ips();
    let bytes = jwe.as_bytes();
    let dots: Vec<usize> = jwe.match_indices('.').map(|(i, _)| i).collect();
    // A position inside each non-empty segment: header, iv, ciphertext (start,
    // middle, end), tag.
    let positions = [0, dots[0] / 2, dots[1] + 1, dots[2] + 1, (dots[2] + dots[3]) / 2, dots[3] - 2, dots[3] + 1, jwe.len() - 3];
    for &pos in &positions {
        for bit in 0..6 {
            // Flip one bit of the 6-bit base64url value at `pos`.
            const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let idx = ALPHABET.iter().position(|&c| c == bytes[pos]).unwrap();
            let mut tampered = bytes.to_vec();
            tampered[pos] = ALPHABET[idx ^ (1 << bit)];
            let tampered = String::from_utf8(tampered).unwrap();
            assert!(unseal(&tampered, &key, &opts()).is_err(), "bit {bit} at {pos} accepted");
        }
    }
    // Anything in the encrypted-key segment is refused too.
    let with_key = format!("{}.AA{}", &jwe[..dots[0]], &jwe[dots[0] + 1..]);
    assert_eq!(unseal(&with_key, &key, &opts()).unwrap_err(), UnsealError::EncryptedKeyPresent);
}

#[test]
fn flipped_ciphertext_bit_is_one_opaque_error() {
    let (jwe, key) = ips();
    let parsed = parse(&jwe).unwrap();
    let mut ct = parsed.ciphertext.clone();
    ct[100] ^= 1;
    let err = RustCryptoCipher.decrypt(&GcmSeal { key: &key, iv: &parsed.iv, tag: &parsed.tag }, parsed.aad, &ct).unwrap_err();
    assert_eq!(err, AeadFailure);
    let wrong_key = ContentKey::from_bytes(&[1; 32]).unwrap();
    assert_eq!(unseal(&jwe, &wrong_key, &opts()).unwrap_err(), UnsealError::Decrypt);
    assert_eq!(UnsealError::Decrypt.to_string(), "the record could not be decrypted: wrong key or altered data");
}

#[test]
fn every_non_dir_wycheproof_jwe_is_refused_and_the_dir_one_opens() {
    let doc = read_json("wycheproof/json_web_encryption_test.json");
    let mut refused = 0;
    for group in doc["testGroups"].as_array().unwrap() {
        let group_key = group["private"]["k"].as_str().and_then(|k| ContentKey::from_base64url(k).ok());
        for t in group["tests"].as_array().unwrap() {
            let jwe = t["jwe"].as_str().unwrap_or_default();
            let key = group_key.clone().unwrap_or_else(|| ContentKey::from_bytes(&[9; 32]).unwrap());
            let result = std::panic::catch_unwind(|| unseal(jwe, &key, &opts())).expect("no panic");
            if t["tcId"] == 132 {
                assert_eq!(result.unwrap().1.as_slice(), hex(t["pt"].as_str().unwrap()).as_slice());
            } else {
                assert!(result.is_err(), "tcId {} accepted", t["tcId"]);
                refused += 1;
            }
        }
    }
    assert_eq!(refused, 138);
}

#[test]
fn malformed_tokens_get_typed_errors() {
    let key = ContentKey::from_bytes(&[3; 32]).unwrap();
    let h = |json: &str| base64_url(json.as_bytes());
    let iv = base64_url(&[0; 12]);
    let tag = base64_url(&[0; 16]);
    let good_header = h(r#"{"alg":"dir","enc":"A256GCM"}"#);
    type Check = fn(&UnsealError) -> bool;
    let cases: Vec<(String, Check)> = vec![
        ("a.b.c.d".into(), |e| matches!(e, UnsealError::SegmentCount { found: 4 })),
        ("".into(), |e| matches!(e, UnsealError::SegmentCount { found: 1 })),
        (format!("{good_header}..{iv}.AAAA.{tag}.x"), |e| matches!(e, UnsealError::SegmentCount { found: 6 })),
        (format!("***..{iv}.AAAA.{tag}"), |e| matches!(e, UnsealError::Base64(_))),
        (format!("{}..{iv}.AAAA.{tag}", h("[1]")), |e| matches!(e, UnsealError::Header(_))),
        (format!("{}..{iv}.AAAA.{tag}", h(r#"{"alg":"A256KW","enc":"A256GCM"}"#)), |e| matches!(e, UnsealError::UnsupportedAlgorithm(_))),
        (format!("{}..{iv}.AAAA.{tag}", h(r#"{"alg":"dir","enc":"A256CBC-HS512"}"#)), |e| matches!(e, UnsealError::UnsupportedEncryption(_))),
        (format!("{}..{iv}.AAAA.{tag}", h(r#"{"alg":"dir","enc":"A256GCM","zip":"GZIP"}"#)), |e| matches!(e, UnsealError::UnsupportedCompression(_))),
        (format!("{}..{iv}.AAAA.{tag}", h(r#"{"alg":"dir","enc":"A256GCM","crit":["exp"]}"#)), |e| matches!(e, UnsealError::UnsupportedCritical(_))),
        (format!("{}..{iv}.AAAA.{tag}", h(r#"{"enc":"A256GCM"}"#)), |e| matches!(e, UnsealError::Header(_))),
        (format!("{good_header}..{}.AAAA.{tag}", base64_url(&[0; 16])), |e| matches!(e, UnsealError::IvLength { bits: 128 })),
        (format!("{good_header}..{iv}.AAAA.{}", base64_url(&[0; 12])), |e| matches!(e, UnsealError::TagLength { bits: 96 })),
        (format!("{good_header}..{iv}.AA=A.{tag}"), |e| matches!(e, UnsealError::Base64(_))),
        (format!("{}..{iv}.AAAA.{tag}", h(r#"{"alg":"dir","enc":"A128GCM"}"#)), |e| matches!(e, UnsealError::KeyMismatch { expected: 16, found: 32, .. })),
    ];
    for (token, check) in cases {
        let err = unseal(&token, &key, &opts()).unwrap_err();
        assert!(check(&err), "{token}: {err:?}");
    }
    // The ciphertext is not scanned for '.' before it is decoded; a token
    // with more than five segments is still refused as such, by every path,
    // wherever the extra '.' is (the last one past the first decoded piece).
    let long = "A".repeat(600_000);
    let ciphertexts = ["AA.AA".to_string(), "AAAA.BBBB.CCCC".to_string(), format!("{long}.AAA"), format!("{long}."), format!(".{long}")];
    for (ciphertext, found) in ciphertexts.iter().zip([6, 7, 6, 6, 6]) {
        let token = format!("{good_header}..{iv}.{ciphertext}.{tag}");
        let expected = UnsealError::SegmentCount { found };
        assert_eq!(unseal(&token, &key, &opts()).unwrap_err(), expected, "{found} segments");
        let paced = pollster::block_on(patient_portal_sdk::unseal::unseal_async(&patient_portal_sdk::unseal::RustCryptoCipher, &token, &key, &opts(), || {
            std::future::ready(())
        }));
        assert_eq!(paced.unwrap_err(), expected, "{found} segments, paced");
        let mut between = || -> patient_portal_sdk::source::Turn<'static> { Box::pin(std::future::ready(())) };
        let cipher = patient_portal_sdk::unseal::RustCryptoCipher;
        let owned = pollster::block_on(patient_portal_sdk::unseal::unseal_async_owned(&cipher, token.clone().into_bytes(), &key, &opts(), &mut between));
        assert_eq!(owned.unwrap_err(), expected, "{found} segments, in the token's buffer");
    }
}

#[test]
fn deflated_records_round_trip_and_bombs_are_refused() {
    let key = ContentKey::from_bytes(&[5; 32]).unwrap();
    let bundle = read("fhir/synthea/Christian_Balistreri_59339691-0270-4c4a-a34d-338e3008b9c3.json");
    let options = SealOptions { deflate: true, content_type: Some("application/fhir+json".into()) };
    let jwe = seal(&bundle, &key, [1; 12], &options).unwrap();
    assert!(jwe.len() < bundle.len() / 4, "DEFLATE should shrink FHIR JSON");
    let (header, pt) = unseal(&jwe, &key, &opts()).unwrap();
    assert!(header.deflated);
    assert_eq!(pt.as_slice(), bundle.as_slice());

    // 50 MB of zeros deflate to ~50 KB; with a 1 MB ceiling it is refused.
    let bomb = seal(&vec![0u8; 50_000_000], &key, [2; 12], &SealOptions { deflate: true, content_type: None }).unwrap();
    let small = UnsealOptions { max_plaintext: 1_000_000 };
    assert_eq!(unseal(&bomb, &key, &small).unwrap_err(), UnsealError::TooLarge { limit: 1_000_000 });
    // Without zip, the same limit applies to the plaintext.
    let plain = seal(&vec![0u8; 2_000_000], &key, [3; 12], &SealOptions::default()).unwrap();
    assert_eq!(unseal(&plain, &key, &small).unwrap_err(), UnsealError::TooLarge { limit: 1_000_000 });
}

#[test]
fn zip_def_content_that_is_not_deflate_is_refused() {
    // A valid AEAD over bytes that are not a DEFLATE stream: authentic but broken.
    let key = ContentKey::from_bytes(&[6; 32]).unwrap();
    let header = base64_url(br#"{"alg":"dir","enc":"A256GCM","zip":"DEF"}"#);
    let token = seal_raw(&header, b"\xff\xff\xff\xff not deflate", &key);
    assert_eq!(unseal(&token, &key, &opts()).unwrap_err(), UnsealError::Inflate);
}

#[test]
fn keys_never_print() {
    let key = ContentKey::from_bytes(&[0xAB; 32]).unwrap();
    let shown = format!("{key:?}");
    assert!(!shown.to_lowercase().contains("ab, ") && !shown.contains("171"), "{shown}");
    assert!(shown.contains("redacted"));
    assert_eq!(ContentKey::from_base64url("shortkey").unwrap_err(), UnsealError::KeyLength { found: 6 });
    assert_eq!(ContentKey::from_base64url("not base64!").unwrap_err(), UnsealError::KeyEncoding);
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Seals with an arbitrary protected header, using the `aes-gcm` crate directly.
fn seal_raw(protected_b64: &str, plaintext: &[u8], key: &ContentKey) -> String {
    use aes_gcm::{AeadInOut, Aes256Gcm, KeyInit};
    let cipher = Aes256Gcm::new_from_slice(key.as_bytes()).unwrap();
    let mut buf = plaintext.to_vec();
    let iv = [8u8; 12];
    let tag = cipher.encrypt_inout_detached(&iv.into(), protected_b64.as_bytes(), buf.as_mut_slice().into()).unwrap();
    format!("{protected_b64}..{}.{}.{}", base64_url(&iv), base64_url(&buf), base64_url(&tag))
}

/// The asynchronous path decodes the ciphertext a quarter megabyte at a time, and
/// the portable backend hashes, then decrypts, it 64 KiB at a time: same
/// plaintext as the one-piece path, the same refusals, a pause per piece.
#[test]
fn paced_unseal_equals_unseal() {
    use patient_portal_sdk::unseal::{unseal_async, RustCryptoCipher, Segment, UnsealError, UnsealOptions};
    let key = ContentKey::from_bytes(&[3; 32]).unwrap();
    let plaintext: Vec<u8> = (0..2_500_000u32).map(|i| (i % 251) as u8).collect();
    let jwe = seal(&plaintext, &key, [4; 12], &SealOptions::default()).unwrap();
    let pauses = std::cell::Cell::new(0);
    let between = || {
        pauses.set(pauses.get() + 1);
        std::future::ready(())
    };
    let (_, paced) = pollster::block_on(unseal_async(&RustCryptoCipher, &jwe, &key, &UnsealOptions::default(), between)).unwrap();
    assert_eq!(*paced, plaintext);
    let ciphertext_chars = jwe.split('.').nth(3).unwrap().len();
    let aead_pieces = plaintext.len().div_ceil(64 * 1024);
    assert_eq!(
        pauses.get(),
        ciphertext_chars.div_ceil(1 << 18) + 2 * aead_pieces + 1,
        "one pause per 256 KiB of text, two per piece of ciphertext, one as the ciphertext is freed"
    );
    // A bad character past the first piece, and a wrong key, are refused as before.
    let mut bad = jwe.clone().into_bytes();
    let at = jwe.find('.').unwrap() + 2 + jwe.split('.').nth(2).unwrap().len() + 1_500_000;
    bad[at] = b'!';
    let bad = String::from_utf8(bad).unwrap();
    let err = pollster::block_on(unseal_async(&RustCryptoCipher, &bad, &key, &UnsealOptions::default(), || std::future::ready(()))).unwrap_err();
    assert_eq!(err, UnsealError::Base64(Segment::Ciphertext));
    assert_eq!(unseal(&bad, &key, &UnsealOptions::default()).unwrap_err(), err);
    let wrong = ContentKey::from_bytes(&[9; 32]).unwrap();
    let err = pollster::block_on(unseal_async(&RustCryptoCipher, &jwe, &wrong, &UnsealOptions::default(), || std::future::ready(()))).unwrap_err();
    assert_eq!(err, UnsealError::Decrypt);
}
