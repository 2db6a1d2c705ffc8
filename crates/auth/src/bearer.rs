//! Extracting the token from an `Authorization: Bearer …` header value (RFC 6750 §2.1).
//!
//! The scheme is matched case-insensitively; anything that is not a single non-empty
//! token after it is refused without looking at the token's content.

use crate::AuthError;

/// Returns the token of an `Authorization` header value such as `Bearer eyJ…`.
///
/// Another scheme (e.g. `Basic`) or an empty token is [`AuthError::Missing`]; a token with
/// inner whitespace is [`AuthError::Malformed`].
pub fn bearer_token_from_header(value: &str) -> Result<&str, AuthError> {
    let value = value.trim();
    let Some((scheme, rest)) = value.split_once(char::is_whitespace) else {
        return Err(AuthError::Missing);
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Missing);
    }
    let token = rest.trim();
    if token.is_empty() {
        return Err(AuthError::Missing);
    }
    if token.contains(char::is_whitespace) {
        return Err(AuthError::Malformed("whitespace inside the bearer token"));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_matched_case_insensitively() {
        assert_eq!(
            bearer_token_from_header("Bearer abc.def.ghi"),
            Ok("abc.def.ghi")
        );
        assert_eq!(bearer_token_from_header("bearer  abc "), Ok("abc"));
        assert_eq!(bearer_token_from_header("BEARER abc"), Ok("abc"));
    }

    #[test]
    fn other_schemes_and_empty_tokens_count_as_missing() {
        assert_eq!(
            bearer_token_from_header("Basic YTpi"),
            Err(AuthError::Missing)
        );
        assert_eq!(bearer_token_from_header("Bearer"), Err(AuthError::Missing));
        assert_eq!(
            bearer_token_from_header("Bearer   "),
            Err(AuthError::Missing)
        );
        assert_eq!(bearer_token_from_header(""), Err(AuthError::Missing));
        assert_eq!(
            bearer_token_from_header("Bearerabc"),
            Err(AuthError::Missing)
        );
    }

    #[test]
    fn a_token_with_inner_whitespace_is_malformed() {
        assert!(matches!(
            bearer_token_from_header("Bearer abc def"),
            Err(AuthError::Malformed(_))
        ));
    }
}
