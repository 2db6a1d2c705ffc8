//! Reading a compact JWS's header *before* any key is looked up or any crypto runs.
//!
//! Guarantees: a token that is not three base64url parts, whose header is not JSON, whose
//! `alg` is not an asymmetric signature algorithm we accept (`none` and every `HS*` are
//! refused here), whose `typ` is not a JWT/access-token type, or that carries `crit`
//! extensions, never reaches key selection. Header-supplied keys (`jwk`, `jku`, `x5u`,
//! `x5c`) are ignored: keys only ever come from the provider's JWKS.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserialize;

use crate::AuthError;

/// Tokens longer than this are refused unread (Keycloak tokens are a few KiB at most).
pub(crate) const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The signature algorithms a token may use; the selected key narrows this further.
pub(crate) const ACCEPTED_ALGORITHMS: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// What key selection needs from the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenHeader {
    /// The accepted asymmetric algorithm the token claims.
    pub(crate) algorithm: Algorithm,
    /// The key id, if the token names one.
    pub(crate) key_id: Option<String>,
}

#[derive(Deserialize)]
struct RawHeader {
    alg: Option<String>,
    kid: Option<String>,
    typ: Option<String>,
    crit: Option<serde_json::Value>,
}

/// Parses and vets the header of `token` (see the module docs for what is refused).
pub(crate) fn read_token_header(token: &str) -> Result<TokenHeader, AuthError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::Malformed("token too long"));
    }
    let mut parts = token.split('.');
    let (Some(header_part), Some(payload_part), Some(signature_part), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed("not three dot-separated parts"));
    };
    if payload_part.is_empty() || !is_base64url(payload_part) || !is_base64url(signature_part) {
        return Err(AuthError::Malformed(
            "payload or signature is not base64url",
        ));
    }
    // JSON text is UTF-8 (RFC 8259 §8.1); serde_json does not check the members it skips, so
    // without this a signed payload with stray bytes in an unknown claim would be accepted.
    let payload_is_utf8 = URL_SAFE_NO_PAD
        .decode(payload_part)
        .is_ok_and(|payload| std::str::from_utf8(&payload).is_ok());
    if !payload_is_utf8 {
        return Err(AuthError::Malformed("payload is not base64url UTF-8"));
    }
    let header_json = URL_SAFE_NO_PAD
        .decode(header_part)
        .map_err(|_| AuthError::Malformed("header is not base64url"))?;
    let header: RawHeader = serde_json::from_slice(&header_json)
        .map_err(|_| AuthError::Malformed("header is not a JSON object"))?;

    let algorithm = accepted_algorithm(header.alg.as_deref())?;
    if !header_type_is_acceptable(header.typ.as_deref()) {
        return Err(AuthError::WrongTokenType);
    }
    if header.crit.is_some() {
        return Err(AuthError::Malformed(
            "critical header extensions are not supported",
        ));
    }
    if signature_part.is_empty() {
        return Err(AuthError::Malformed("empty signature"));
    }
    Ok(TokenHeader {
        algorithm,
        key_id: header.kid,
    })
}

/// Maps the header's `alg` to one of [`ACCEPTED_ALGORITHMS`]; anything else is refused.
fn accepted_algorithm(alg: Option<&str>) -> Result<Algorithm, AuthError> {
    let algorithm = match alg {
        Some("RS256") => Algorithm::RS256,
        Some("RS384") => Algorithm::RS384,
        Some("RS512") => Algorithm::RS512,
        Some("PS256") => Algorithm::PS256,
        Some("PS384") => Algorithm::PS384,
        Some("PS512") => Algorithm::PS512,
        Some("ES256") => Algorithm::ES256,
        Some("ES384") => Algorithm::ES384,
        // `none`, every HMAC variant, EdDSA, typos and a missing alg.
        _ => return Err(AuthError::UnsupportedAlgorithm),
    };
    debug_assert!(ACCEPTED_ALGORITHMS.contains(&algorithm));
    Ok(algorithm)
}

/// Absent, `JWT` or the RFC 9068 access-token types, case-insensitively.
fn header_type_is_acceptable(typ: Option<&str>) -> bool {
    match typ {
        None => true,
        Some(typ) => ["JWT", "at+jwt", "application/at+jwt"]
            .iter()
            .any(|accepted| typ.eq_ignore_ascii_case(accepted)),
    }
}

fn is_base64url(part: &str) -> bool {
    part.bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_header(json: &str) -> String {
        format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(json))
    }

    #[test]
    fn an_rs256_header_with_a_kid_is_read() {
        let header = read_token_header(&encode_header(r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#));
        assert_eq!(
            header,
            Ok(TokenHeader {
                algorithm: Algorithm::RS256,
                key_id: Some("k1".into())
            })
        );
    }

    #[test]
    fn none_and_hmac_algorithms_are_refused_before_key_lookup() {
        for alg in ["none", "None", "HS256", "HS384", "HS512", "EdDSA", ""] {
            let token = encode_header(&format!(r#"{{"alg":"{alg}","kid":"k1"}}"#));
            assert_eq!(
                read_token_header(&token),
                Err(AuthError::UnsupportedAlgorithm),
                "{alg}"
            );
        }
        assert_eq!(
            read_token_header(&encode_header(r#"{"kid":"k1"}"#)),
            Err(AuthError::UnsupportedAlgorithm)
        );
    }

    #[test]
    fn an_unsigned_token_with_alg_none_is_an_unsupported_algorithm() {
        let token = format!("{}.e30.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#));
        assert_eq!(
            read_token_header(&token),
            Err(AuthError::UnsupportedAlgorithm)
        );
    }

    #[test]
    fn header_types_other_than_jwt_or_access_token_are_refused() {
        for typ in ["jwt", "at+JWT", "application/at+jwt"] {
            let token = encode_header(&format!(r#"{{"alg":"RS256","typ":"{typ}"}}"#));
            assert!(read_token_header(&token).is_ok(), "{typ}");
        }
        let token = encode_header(r#"{"alg":"RS256","typ":"logout+jwt"}"#);
        assert_eq!(read_token_header(&token), Err(AuthError::WrongTokenType));
    }

    #[test]
    fn tokens_that_are_not_three_base64url_parts_are_malformed() {
        for token in [
            "abc",
            "a.b",
            "a.b.c.d",
            "!!!.e30.c2ln",
            "e30.***.c2ln",
            "e30..c2ln",
        ] {
            assert!(
                matches!(read_token_header(token), Err(AuthError::Malformed(_))),
                "{token}"
            );
        }
        let not_json = format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode("not json"));
        assert!(matches!(
            read_token_header(&not_json),
            Err(AuthError::Malformed(_))
        ));
    }

    #[test]
    fn a_payload_that_is_not_utf8_is_malformed_even_in_a_claim_nobody_reads() {
        // found by fuzzing the claims: serde_json skips unknown members without checking them
        let payload = URL_SAFE_NO_PAD.encode(b"{\"sub\":\"alice\",\"x\":\"\xff\"}");
        let token = format!(
            "{}.{payload}.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#)
        );
        assert_eq!(
            read_token_header(&token),
            Err(AuthError::Malformed("payload is not base64url UTF-8"))
        );
    }

    #[test]
    fn critical_extensions_are_refused() {
        let token = encode_header(r#"{"alg":"RS256","crit":["b64"],"b64":false}"#);
        assert!(matches!(
            read_token_header(&token),
            Err(AuthError::Malformed(_))
        ));
    }

    #[test]
    fn oversized_tokens_are_refused_unread() {
        let token = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert!(matches!(
            read_token_header(&token),
            Err(AuthError::Malformed(_))
        ));
    }
}
