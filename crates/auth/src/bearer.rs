//! Extracting the token from an `Authorization: Bearer …` header value (RFC 6750 §2.1).
//!
//! The scheme is matched case-insensitively; anything that is not a single non-empty
//! token after it is refused without looking at the token's content. A request carrying
//! more than one `Authorization` header is refused as ambiguous
//! ([`RepeatedAuthorization`]): no header is preferred over another.

use axum::http::{HeaderMap, HeaderValue, header};

use crate::AuthError;

/// A request carried `Authorization` more than once; which one counts is not guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request carries {0} Authorization headers; send exactly one")]
pub struct RepeatedAuthorization(pub usize);

/// The request's one `Authorization` header, `None` without one.
pub fn single_authorization_header(
    headers: &HeaderMap,
) -> Result<Option<&HeaderValue>, RepeatedAuthorization> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let first = values.next();
    match values.count() {
        0 => Ok(first),
        more => Err(RepeatedAuthorization(more + 1)),
    }
}

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
    fn two_authorization_headers_are_refused_whatever_their_order() {
        let mut headers = HeaderMap::new();
        assert_eq!(single_authorization_header(&headers), Ok(None));
        headers.append(header::AUTHORIZATION, HeaderValue::from_static("Bearer a"));
        assert_eq!(
            single_authorization_header(&headers),
            Ok(Some(&HeaderValue::from_static("Bearer a")))
        );
        headers.append(header::AUTHORIZATION, HeaderValue::from_static("Bearer b"));
        assert_eq!(
            single_authorization_header(&headers),
            Err(RepeatedAuthorization(2))
        );
    }

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
