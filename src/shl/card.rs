//! SMART Health Cards inside links: the `.smart-health-card` file
//! (`{"verifiableCredential": [JWS, …]}`), each JWS's FHIR Bundle, and the
//! issuer's ES256 signature checked against its JWKS.
//!
//! Rules (SMART Health Cards Framework): compact JWS, header `alg: "ES256"`,
//! `zip: "DEF"` (raw DEFLATE payload), `kid` = the key's RFC 7638 thumbprint;
//! payload `{iss, nbf, vc: {credentialSubject: {fhirBundle}}}`; the issuer's
//! keys are at `<iss>/.well-known/jwks.json` (EC P-256 keys).

use serde_json::Value;
use zeroize::Zeroizing;

use crate::unseal::{inflate, UnsealError};

/// Why a health card file could not be read. Messages never quote content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error("the health card file is not JSON with a \"verifiableCredential\" list of text")]
    NotACardFile,
    #[error("a health card is not a compact JWS (three base64url segments)")]
    NotAJws,
    #[error("a health card's JWS header is not valid JSON")]
    Header,
    #[error("a health card's payload could not be inflated or read as JSON")]
    Payload,
    #[error("a health card's decompressed payload is larger than the {limit}-byte limit")]
    TooLarge { limit: usize },
    #[error("a health card has no issuer (\"iss\") or no FHIR Bundle (\"vc.credentialSubject.fhirBundle\")")]
    Incomplete,
}

/// One verifiable credential, decoded (not yet verified).
#[derive(Debug, Clone)]
pub struct Credential {
    /// `iss`: the issuer's base URL.
    pub issuer: String,
    /// `nbf`: when it was issued (epoch seconds), when given.
    pub issued_at: Option<i64>,
    /// `vc.type`.
    pub types: Vec<String>,
    /// The FHIR Bundle it carries.
    pub bundle: Value,
    alg: Option<String>,
    kid: Option<String>,
    signing_input: String,
    signature: Vec<u8>,
}

/// The outcome of checking a credential's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// The signature verifies with a key the host trusts (its trust list,
    /// `issuerKeys`).
    Verified,
    /// The signature verifies with keys fetched from the card's own `iss`,
    /// but the issuer is not in the host's trust list: anyone with a domain
    /// can sign so. "Signed by <iss>", never "verified".
    SignedUntrusted,
    /// The signature was not checked: no keys for the issuer (or no way to
    /// check here).
    Unverified(Unverified),
    /// The issuer's keys were available and the signature does not verify
    /// with them (or the card names a key or algorithm they do not have).
    Invalid,
}

/// Why a signature could not be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unverified {
    /// The host supplied no keys for this issuer and did not allow
    /// fetching; or the platform cannot check ES256 signatures (WebCrypto
    /// is missing, as in a page served over plain http).
    NoKeys,
    /// Fetching the issuer's JWKS failed or gave no usable JSON.
    KeysUnavailable,
}

impl Verification {
    /// The name JavaScript sees: `verified`, `untrustedIssuer`, `unverified`, `invalid`.
    pub fn name(&self) -> &'static str {
        match self {
            Verification::Verified => "verified",
            Verification::SignedUntrusted => "untrustedIssuer",
            Verification::Unverified(_) => "unverified",
            Verification::Invalid => "invalid",
        }
    }
}

/// Reads a `.smart-health-card` file into its credentials. `limit` caps
/// each inflated payload.
pub fn read_card_file(bytes: &[u8], limit: usize) -> Result<Vec<Credential>, CardError> {
    let file: Value = crate::fhir::value::parse(bytes).map_err(|_| CardError::NotACardFile)?;
    let list = file.get("verifiableCredential").and_then(Value::as_array).ok_or(CardError::NotACardFile)?;
    list.iter().map(|jws| decode_jws(jws.as_str().ok_or(CardError::NotACardFile)?, limit)).collect()
}

/// Decodes one health card JWS: header, (inflated) payload, signature.
pub fn decode_jws(jws: &str, limit: usize) -> Result<Credential, CardError> {
    let jws = jws.trim();
    let mut parts = jws.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(CardError::NotAJws);
    };
    let decode = |s: &str| crate::b64::decode_url(s.as_bytes()).ok_or(CardError::NotAJws);
    let header_json: Value = crate::fhir::value::parse(&decode(header)?).map_err(|_| CardError::Header)?;
    if !header_json.is_object() {
        return Err(CardError::Header);
    }
    let raw_payload = Zeroizing::new(decode(payload)?);
    let payload_bytes = match header_json.get("zip").and_then(Value::as_str) {
        Some("DEF") => Zeroizing::new(inflate(&raw_payload, limit).map_err(|e| match e {
            UnsealError::TooLarge { limit } => CardError::TooLarge { limit },
            _ => CardError::Payload,
        })?),
        Some(_) => return Err(CardError::Payload),
        None => raw_payload,
    };
    let mut payload_json: Value = crate::fhir::value::parse(&crate::fhir::repair_unicode(&payload_bytes)).map_err(|_| CardError::Payload)?;
    let issuer = payload_json.get("iss").and_then(Value::as_str).ok_or(CardError::Incomplete)?.to_string();
    let issued_at = payload_json.get("nbf").and_then(|n| n.as_i64().or_else(|| n.as_number().and_then(crate::numtext::json_f64).map(|f| f as i64)));
    let vc = payload_json.get_mut("vc").ok_or(CardError::Incomplete)?;
    let types = vc.get("type").and_then(Value::as_array).map(|t| t.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default();
    let bundle = vc.get_mut("credentialSubject").and_then(|s| s.get_mut("fhirBundle")).map(Value::take).ok_or(CardError::Incomplete)?;
    if !bundle.is_object() {
        return Err(CardError::Incomplete);
    }
    Ok(Credential {
        issuer,
        issued_at,
        types,
        bundle,
        alg: header_json.get("alg").and_then(Value::as_str).map(str::to_string),
        kid: header_json.get("kid").and_then(Value::as_str).map(str::to_string),
        signing_input: format!("{header}.{payload}"),
        signature: decode(signature)?,
    })
}

/// An EC P-256 public key from a JWK: its affine coordinates, not yet
/// checked to be a point of the curve (the verifier refuses those that are
/// not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Es256Key {
    pub x: [u8; 32],
    pub y: [u8; 32],
}

/// ES256 (ECDSA over P-256 with SHA-256) signature checks: the platform's
/// implementation. Natively the RustCrypto `p256` crate; in WebAssembly
/// WebCrypto (`crypto.subtle`), so no elliptic-curve code ships in the module.
pub trait Es256Verifier {
    /// Whether this platform can check signatures at all (no: WebCrypto is
    /// missing, as in a page served over plain http).
    fn available(&self) -> bool;
    /// Whether `signature` (JWS form: r‖s, 32 bytes each) over `message`
    /// verifies with `key`. False for a key that is not a point of P-256.
    fn verify_es256(&self, key: &Es256Key, message: &[u8], signature: &[u8; 64]) -> impl std::future::Future<Output = bool>;
}

/// A JWK's key, if it is an EC P-256 signing key.
fn es256_key(jwk: &Value) -> Option<Es256Key> {
    let field = |name: &str| jwk.get(name).and_then(Value::as_str);
    if field("kty") != Some("EC") || field("crv") != Some("P-256") {
        return None;
    }
    if field("use").is_some_and(|u| u != "sig") || field("alg").is_some_and(|a| a != "ES256") {
        return None;
    }
    let coordinate = |name: &str| -> Option<[u8; 32]> { crate::b64::decode_url(field(name)?.as_bytes())?.try_into().ok() };
    Some(Es256Key { x: coordinate("x")?, y: coordinate("y")? })
}

/// What a check needs: the signature and the candidate keys (chosen by
/// `kid` when the card names one), or the outcome when the card cannot
/// verify whatever the keys (not ES256, or a signature of the wrong size).
fn candidates<'a>(credential: &'a Credential, jwks: &'a Value) -> Result<([u8; 64], impl Iterator<Item = Es256Key> + 'a), Verification> {
    if credential.alg.as_deref() != Some("ES256") {
        return Err(Verification::Invalid);
    }
    let signature: [u8; 64] = credential.signature.as_slice().try_into().map_err(|_| Verification::Invalid)?;
    let keys = jwks.get("keys").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let keys = keys
        .iter()
        .filter(|k| match &credential.kid {
            Some(kid) => k.get("kid").and_then(Value::as_str) == Some(kid.as_str()),
            None => true,
        })
        .filter_map(es256_key);
    Ok((signature, keys))
}

/// Checks `credential`'s ES256 signature with the issuer's JWKS
/// (`{"keys": [...]}`) through `verifier`. Keys are chosen by `kid` when the
/// card names one. Where the platform cannot check signatures the card is
/// `Unverified(NoKeys)`, as when no keys are at hand.
pub async fn verify_with<V: Es256Verifier>(verifier: &V, credential: &Credential, jwks: &Value) -> Verification {
    if !verifier.available() {
        return Verification::Unverified(Unverified::NoKeys);
    }
    let (signature, keys) = match candidates(credential, jwks) {
        Ok(found) => found,
        Err(outcome) => return outcome,
    };
    for key in keys {
        if verifier.verify_es256(&key, credential.signing_input.as_bytes(), &signature).await {
            return Verification::Verified;
        }
    }
    Verification::Invalid
}

/// ES256 with the RustCrypto `p256` crate (native builds).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Default, Clone, Copy)]
pub struct P256Verifier;

#[cfg(not(target_arch = "wasm32"))]
impl P256Verifier {
    fn check(key: &Es256Key, message: &[u8], signature: &[u8; 64]) -> bool {
        use p256::ecdsa::signature::Verifier as _;
        use p256::ecdsa::{Signature, VerifyingKey};
        use p256::EncodedPoint;
        let point = EncodedPoint::from_affine_coordinates(&key.x.into(), &key.y.into(), false);
        let (Ok(key), Ok(signature)) = (VerifyingKey::from_encoded_point(&point), Signature::from_slice(signature)) else {
            return false;
        };
        key.verify(message, &signature).is_ok()
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Es256Verifier for P256Verifier {
    fn available(&self) -> bool {
        true
    }

    fn verify_es256(&self, key: &Es256Key, message: &[u8], signature: &[u8; 64]) -> impl std::future::Future<Output = bool> {
        std::future::ready(Self::check(key, message, signature))
    }
}

/// [`verify_with`] the `p256` crate, at once (native builds).
#[cfg(not(target_arch = "wasm32"))]
pub fn verify(credential: &Credential, jwks: &Value) -> Verification {
    let (signature, mut keys) = match candidates(credential, jwks) {
        Ok(found) => found,
        Err(outcome) => return outcome,
    };
    if keys.any(|key| P256Verifier::check(&key, credential.signing_input.as_bytes(), &signature)) {
        Verification::Verified
    } else {
        Verification::Invalid
    }
}

/// The issuer's JWKS address: `<iss>/.well-known/jwks.json`.
pub fn jwks_url(issuer: &str) -> String {
    format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A platform without ES256 (WebCrypto missing).
    struct Unavailable;

    impl Es256Verifier for Unavailable {
        fn available(&self) -> bool {
            false
        }

        async fn verify_es256(&self, _: &Es256Key, _: &[u8], _: &[u8; 64]) -> bool {
            unreachable!("never asked when unavailable")
        }
    }

    fn spec_card() -> (Credential, Value) {
        let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/shl");
        let jws = std::fs::read_to_string(data.join("hl7-ig/example-00-d-jws.txt")).unwrap();
        let jwks = serde_json::from_slice(&std::fs::read(data.join("spec-example/shc_issuer_jwks.json")).unwrap()).unwrap();
        (decode_jws(&jws, 1 << 20).unwrap(), jwks)
    }

    #[test]
    fn without_es256_on_the_platform_a_card_is_unverified_as_with_no_keys() {
        let (mut credential, jwks) = spec_card();
        assert_eq!(crate::source::run_now(verify_with(&P256Verifier, &credential, &jwks)), Verification::Verified);
        assert_eq!(crate::source::run_now(verify_with(&Unavailable, &credential, &jwks)), Verification::Unverified(Unverified::NoKeys));
        credential.signature[0] ^= 1;
        assert_eq!(crate::source::run_now(verify_with(&P256Verifier, &credential, &jwks)), Verification::Invalid);
        assert_eq!(verify(&credential, &jwks), Verification::Invalid);
        assert_eq!(crate::source::run_now(verify_with(&Unavailable, &credential, &jwks)), Verification::Unverified(Unverified::NoKeys));
    }
}
