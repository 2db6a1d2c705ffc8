//! Turning a provider's JWKS into the keys that may verify access-token signatures.
//!
//! Guarantees: only signature keys survive (`use` absent or `"sig"`, `key_ops` absent or
//! containing `"verify"`), so Keycloak's RSA-OAEP encryption key is never used to verify.
//! Each key carries the exact algorithms it may verify: its own `alg` when published, else
//! what its type allows (RSA → RS*/PS*, EC P-256 → ES256, EC P-384 → ES384). RSA keys under
//! 2048 bits, symmetric (`oct`) keys and unknown key types are dropped. One unreadable key
//! does not spoil the others.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

/// RSA keys shorter than this are not trusted.
const MIN_RSA_MODULUS_BITS: usize = 2048;

const RSA_ALGORITHMS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

/// A published key that may verify signatures made with `algorithms`.
#[derive(Clone)]
pub(crate) struct VerificationKey {
    pub(crate) key_id: Option<String>,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) decoding_key: DecodingKey,
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationKey")
            .field("key_id", &self.key_id)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct JwkSetDocument {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct JwkDocument {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    public_key_use: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

/// The signature keys of a JWKS document, or why the document itself is unreadable.
pub(crate) fn verification_keys_from_jwks(
    document: &[u8],
) -> Result<Vec<VerificationKey>, serde_json::Error> {
    let set: JwkSetDocument = serde_json::from_slice(document)?;
    let keys = set
        .keys
        .into_iter()
        .filter_map(|value| match serde_json::from_value::<JwkDocument>(value) {
            Ok(jwk) => verification_key(jwk),
            Err(error) => {
                tracing::debug!(%error, "skipping an unreadable jwk");
                None
            }
        })
        .collect();
    Ok(keys)
}

fn verification_key(jwk: JwkDocument) -> Option<VerificationKey> {
    if jwk
        .public_key_use
        .as_deref()
        .is_some_and(|usage| usage != "sig")
    {
        return None;
    }
    if let Some(operations) = &jwk.key_ops
        && !operations.iter().any(|operation| operation == "verify")
    {
        return None;
    }
    let (type_algorithms, decoding_key) = match jwk.kty.as_str() {
        "RSA" => rsa_key(jwk.n.as_deref()?, jwk.e.as_deref()?)?,
        "EC" => ec_key(jwk.crv.as_deref()?, jwk.x.as_deref()?, jwk.y.as_deref()?)?,
        _ => return None,
    };
    let algorithms = match jwk.alg.as_deref() {
        None => type_algorithms,
        Some(published) => {
            let allowed = type_algorithms
                .into_iter()
                .find(|algorithm| algorithm_name(*algorithm) == published)?;
            vec![allowed]
        }
    };
    Some(VerificationKey {
        key_id: jwk.kid,
        algorithms,
        decoding_key,
    })
}

fn rsa_key(modulus: &str, exponent: &str) -> Option<(Vec<Algorithm>, DecodingKey)> {
    let modulus_bytes = URL_SAFE_NO_PAD.decode(modulus).ok()?;
    let significant_bytes = modulus_bytes.iter().skip_while(|byte| **byte == 0).count();
    if significant_bytes * 8 < MIN_RSA_MODULUS_BITS {
        tracing::debug!("skipping an rsa jwk shorter than 2048 bits");
        return None;
    }
    let key = DecodingKey::from_rsa_components(modulus, exponent).ok()?;
    Some((RSA_ALGORITHMS.to_vec(), key))
}

fn ec_key(curve: &str, x: &str, y: &str) -> Option<(Vec<Algorithm>, DecodingKey)> {
    let algorithm = match curve {
        "P-256" => Algorithm::ES256,
        "P-384" => Algorithm::ES384,
        _ => return None,
    };
    let key = DecodingKey::from_ec_components(x, y).ok()?;
    Some((vec![algorithm], key))
}

fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        _ => "unsupported",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_modulus(bits: usize) -> String {
        URL_SAFE_NO_PAD.encode(vec![0xC5_u8; bits / 8])
    }

    fn rsa_jwk(kid: &str, extra: &str) -> String {
        format!(
            r#"{{"kty":"RSA","kid":"{kid}","n":"{}","e":"AQAB"{extra}}}"#,
            fake_modulus(2048)
        )
    }

    fn keys(document: &str) -> Vec<VerificationKey> {
        verification_keys_from_jwks(document.as_bytes()).unwrap()
    }

    #[test]
    fn a_keycloak_jwks_yields_only_the_signature_key() {
        let document = format!(
            r#"{{"keys":[{},{}]}}"#,
            rsa_jwk("sig-key", r#","use":"sig","alg":"RS256""#),
            rsa_jwk("enc-key", r#","use":"enc","alg":"RSA-OAEP""#)
        );
        let keys = keys(&document);
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].key_id.as_deref(), Some("sig-key"));
        assert_eq!(keys[0].algorithms, vec![Algorithm::RS256]);
    }

    #[test]
    fn an_rsa_key_without_alg_allows_every_rsa_signature_algorithm() {
        let keys = keys(&format!(r#"{{"keys":[{}]}}"#, rsa_jwk("k", "")));
        assert_eq!(keys[0].algorithms, RSA_ALGORITHMS.to_vec());
    }

    #[test]
    fn a_key_whose_alg_does_not_fit_its_type_is_dropped() {
        let document = format!(r#"{{"keys":[{}]}}"#, rsa_jwk("k", r#","alg":"ES256""#));
        assert!(keys(&document).is_empty());
        let document = format!(r#"{{"keys":[{}]}}"#, rsa_jwk("k", r#","alg":"HS256""#));
        assert!(keys(&document).is_empty());
    }

    #[test]
    fn keys_not_meant_for_verification_are_dropped() {
        let document = format!(
            r#"{{"keys":[{}]}}"#,
            rsa_jwk("k", r#","key_ops":["encrypt"]"#)
        );
        assert!(keys(&document).is_empty());
    }

    #[test]
    fn symmetric_short_and_unreadable_keys_are_dropped_without_spoiling_the_set() {
        let short = format!(
            r#"{{"kty":"RSA","kid":"short","n":"{}","e":"AQAB"}}"#,
            fake_modulus(1024)
        );
        let document = format!(
            r#"{{"keys":[{{"kty":"oct","k":"c2VjcmV0"}},{short},{{"kty":42}},{}]}}"#,
            rsa_jwk("good", "")
        );
        let keys = keys(&document);
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].key_id.as_deref(), Some("good"));
    }

    #[test]
    fn a_document_without_keys_is_an_error() {
        assert!(verification_keys_from_jwks(b"{}").is_err());
        assert!(verification_keys_from_jwks(b"<html>").is_err());
    }
}
