//! Entry points for the fuzzer (`fuzz/`) and the replay of its seed corpus; not an API.
//!
//! Compiled for this crate's tests and with the `fuzzing` feature only. The claims target signs
//! whatever payload it is given with a throwaway P-256 key made for the fuzzer (it signs
//! nothing else and is trusted nowhere), so the claim checks behind the signature are reached.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::Value;
use time::OffsetDateTime;

use super::ValidatorConfig;
use super::claims::verify_access_token;
use super::token_header::{ACCEPTED_ALGORITHMS, MAX_TOKEN_BYTES, read_token_header};

/// The issuer and audience the claims target trusts.
pub const ISSUER: &str = "https://issuer.fuzz";
pub const AUDIENCE: &str = "orderflow-api";

const FUZZ_SIGNING_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgnVGXPR6WO5djmWXc
S3BAI8DZ9XaTtPanoIlBa+5notGhRANCAATv2oSBZKdJZuBUkrHuG5p+WuMHx9jU
GE106r0EnEULFS6Nnp016w6moB65ish4w4sKeRdcycNW1zff2Su8HGRZ
-----END PRIVATE KEY-----";

const FUZZ_VERIFYING_KEY: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE79qEgWSnSWbgVJKx7huaflrjB8fY
1BhNdOq9BJxFCxUujZ6dNesOpqAeuYrIeMOLCnkXXMnDVtc339krvBxkWQ==
-----END PUBLIC KEY-----";

/// `data` as a whole token: a header that is read is one of ours, of a token within the size
/// limit made of three parts with a signature.
pub fn token_header(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else {
        return; // header values reach the validator as text
    };
    if let Ok(header) = read_token_header(token) {
        assert!(ACCEPTED_ALGORITHMS.contains(&header.algorithm));
        assert!(token.len() <= MAX_TOKEN_BYTES);
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3, "a token read from {} parts", parts.len());
        assert!(!parts[1].is_empty() && !parts[2].is_empty());
    }
}

/// `data` as the payload of an ES256 token correctly signed by the trusted key: a principal
/// comes only from claims of the trusted issuer, for the audience, unexpired, with a subject.
pub fn claims(data: &[u8]) {
    let token = signed_token(data);
    // The validator reads the header first: an empty payload, one that is not UTF-8 and a
    // token over the limit end there; any other is read.
    let Ok(header) = read_token_header(&token) else {
        let refusable = data.is_empty() || std::str::from_utf8(data).is_err();
        assert!(
            refusable || token.len() > MAX_TOKEN_BYTES,
            "our header refused"
        );
        return;
    };
    assert_eq!(header.algorithm, Algorithm::ES256);
    let Ok(principal) = verify(&token) else {
        return;
    };
    let claims: Value = serde_json::from_slice(data).expect("accepted claims are JSON");
    assert_eq!(
        claims["iss"].as_str(),
        Some(ISSUER),
        "another issuer accepted"
    );
    let audiences = match &claims["aud"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let for_us = audiences.contains(&AUDIENCE) || claims["azp"].as_str() == Some(AUDIENCE);
    assert!(for_us, "a token for another audience accepted");
    assert!(
        !principal.user_id.trim().is_empty(),
        "a blank subject accepted"
    );
    let leeway = time::Duration::seconds(60);
    let valid_until = principal.expires_at.checked_add(leeway); // `None`: past year 9999
    let expired = valid_until.is_some_and(|until| until < OffsetDateTime::now_utc());
    assert!(!expired, "an expired token accepted");
}

/// An ES256 token of `payload`, signed by the trusted key.
fn signed_token(payload: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","typ":"JWT","kid":"fuzz"}"#);
    let message = format!("{header}.{}", URL_SAFE_NO_PAD.encode(payload));
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &keys().0, Algorithm::ES256).expect("signs");
    format!("{message}.{signature}")
}

fn verify(token: &str) -> Result<crate::Principal, crate::AuthError> {
    let config = ValidatorConfig::new(ISSUER).with_audience(AUDIENCE);
    verify_access_token(token, &keys().1, Algorithm::ES256, &config)
}

fn keys() -> &'static (EncodingKey, DecodingKey) {
    static KEYS: OnceLock<(EncodingKey, DecodingKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let signing = EncodingKey::from_ec_pem(FUZZ_SIGNING_KEY.as_bytes()).expect("a P-256 key");
        let verifying =
            DecodingKey::from_ec_pem(FUZZ_VERIFYING_KEY.as_bytes()).expect("a P-256 key");
        (signing, verifying)
    })
}

#[cfg(test)]
#[path = "../../../../fuzz/seeds.rs"]
mod seeds;

#[cfg(test)]
mod tests {
    use super::seeds::seeds;
    use super::*;

    #[test]
    fn every_seed_of_the_token_header_corpus_is_read_without_a_panic() {
        seeds("token_header")
            .iter()
            .for_each(|seed| token_header(seed));
    }

    #[test]
    fn every_seed_of_the_claims_corpus_is_checked_without_a_panic() {
        seeds("claims").iter().for_each(|seed| claims(seed));
    }

    #[test]
    fn the_claims_target_accepts_good_claims_so_the_fuzzer_reaches_past_the_signature() {
        let claims =
            format!(r#"{{"iss":"{ISSUER}","aud":"{AUDIENCE}","sub":"alice","exp":4102444800}}"#);
        let principal = verify(&signed_token(claims.as_bytes()));
        assert_eq!(principal.map(|p| p.user_id), Ok("alice".to_owned()));
    }
}
