//! SMART Health Cards signed by the backend, and its public key set.
//!
//! The issuer key is an ES256 (P-256) key kept in the database. Its public
//! half is served as a JWKS at `/.well-known/jwks.json`; its `kid` is the
//! RFC 7638 JWK thumbprint. A card is a compact JWS:
//! `base64url(header).base64url(payload).base64url(r || s)` with the header
//! `{"alg":"ES256","zip":"DEF","kid":…}` and the payload the raw DEFLATE of
//! the minified `{"iss","nbf","vc"}` claims.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::{signature::Signer as _, Signature, SigningKey};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

/// Content type of a `.smart-health-card` file.
pub const CONTENT_TYPE: &str = "application/smart-health-card";

/// The backend's card issuer: signing key and public coordinates.
pub struct Issuer {
    key: SigningKey,
    x: String,
    y: String,
    /// RFC 7638 thumbprint of the public key.
    pub kid: String,
}

impl Issuer {
    /// Fresh random secret bytes that form a valid P-256 private key.
    pub fn generate_secret() -> Zeroizing<[u8; 32]> {
        loop {
            let secret = Zeroizing::new(crate::random::<32>());
            // Zero and values ≥ the group order are refused; retry (p ≈ 2^-32).
            if SigningKey::from_bytes(&(*secret).into()).is_ok() {
                return secret;
            }
        }
    }

    /// The issuer for stored secret bytes.
    pub fn from_secret(secret: &[u8; 32]) -> Result<Self, String> {
        let key =
            SigningKey::from_bytes(&(*secret).into()).map_err(|_| "the stored issuer key is invalid".to_owned())?;
        let point = key.verifying_key().to_encoded_point(false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err("the issuer public key has no coordinates".into());
        };
        let (x, y) = (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y));
        let kid = thumbprint(&x, &y);
        Ok(Self { key, x, y, kid })
    }

    /// The `kid` a secret would have (to label it in the database).
    pub fn kid_of(secret: &[u8; 32]) -> String {
        Self::from_secret(secret).map(|issuer| issuer.kid).unwrap_or_default()
    }

    /// `{"keys":[…]}` with the public key.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [{
            "kty": "EC", "crv": "P-256", "x": self.x, "y": self.y,
            "kid": self.kid, "use": "sig", "alg": "ES256",
        }] })
    }

    /// The compact JWS of a health card holding `bundle`.
    pub fn sign_card(&self, iss: &str, bundle: &Value, nbf: i64) -> String {
        let header = format!(r#"{{"alg":"ES256","zip":"DEF","kid":"{}"}}"#, self.kid);
        let claims = json!({
            "iss": iss,
            "nbf": nbf,
            "vc": {
                "type": ["https://smarthealth.cards#health-card"],
                "credentialSubject": { "fhirVersion": "4.0.1", "fhirBundle": bundle },
            },
        });
        let payload = miniz_oxide::deflate::compress_to_vec(claims.to_string().as_bytes(), 9);
        let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
        let signature: Signature = self.key.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    /// A `.smart-health-card` file (`{"verifiableCredential":[jws]}`) holding `bundle`.
    pub fn health_card_file(&self, iss: &str, bundle: &Value, nbf: i64) -> Vec<u8> {
        json!({ "verifiableCredential": [self.sign_card(iss, bundle, nbf)] }).to_string().into_bytes()
    }
}

/// RFC 7638 thumbprint of a P-256 public key: base64url SHA-256 of the
/// required members in lexicographic order, no whitespace.
pub fn thumbprint(x: &str, y: &str) -> String {
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// A `collection` Bundle of the `Patient` and `Immunization` entries of
/// `bundle` (without transaction `request`s), for a demo card.
pub fn immunization_bundle(bundle: &Value) -> Value {
    let entries: Vec<Value> = bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|entry| matches!(entry["resource"]["resourceType"].as_str(), Some("Patient" | "Immunization")))
        .map(|entry| {
            let mut entry = entry.clone();
            if let Some(object) = entry.as_object_mut() {
                object.remove("request");
            }
            entry
        })
        .collect();
    json!({ "resourceType": "Bundle", "type": "collection", "entry": entries })
}

/// `bundle` without its `Immunization` entries.
pub fn without_immunizations(bundle: &Value) -> Value {
    let mut rest = bundle.clone();
    if let Some(entries) = rest.get_mut("entry").and_then(Value::as_array_mut) {
        entries.retain(|entry| entry["resource"]["resourceType"].as_str() != Some("Immunization"));
    }
    rest
}
