//! Why a token was refused, one variant per reason, and whose fault it is.
//!
//! Every variant is either the caller's fault (answer 401 and let them fetch a new token) or
//! the identity provider's (answer 503 and retry later); [`AuthError::is_caller_fault`] tells
//! which. Messages never contain the token itself.

use axum::http::StatusCode;

/// A bearer token was refused, or the identity provider could not be consulted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No bearer token was presented.
    #[error("no bearer token was presented")]
    Missing,
    /// The token is not a compact JWS (three base64url parts of JSON) we can read.
    #[error("the token is malformed: {0}")]
    Malformed(&'static str),
    /// The header names an algorithm that is not accepted (`none`, HMAC, unknown), or one the
    /// selected key does not allow.
    #[error("the token's signing algorithm is not accepted")]
    UnsupportedAlgorithm,
    /// No signing key published by the provider matches the token's `kid`.
    #[error("the token names a signing key the provider does not publish")]
    UnknownKey,
    /// The signature does not verify with the provider's key.
    #[error("the token's signature does not verify")]
    BadSignature,
    /// `exp` is in the past, beyond the allowed clock leeway.
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future, beyond the allowed clock leeway.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iat` is in the future, beyond the allowed clock leeway.
    #[error("the token claims to be issued in the future")]
    IssuedInTheFuture,
    /// `iss` is missing or is not the configured issuer.
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    /// Neither `aud` nor `azp` names the configured audience.
    #[error("the token was issued for another audience")]
    WrongAudience,
    /// Not an access token: an ID or refresh token, or an unexpected header `typ`.
    #[error("the token is not an access token")]
    WrongTokenType,
    /// `sub` is missing or empty.
    #[error("the token has no subject")]
    MissingSubject,
    /// Discovery or the JWKS could not be fetched or read.
    #[error("the identity provider is unavailable: {0}")]
    ProviderUnavailable(String),
    /// The provider's discovery document names another issuer than the configured one.
    #[error("the provider's discovery document names issuer {found:?}, expected {expected:?}")]
    DiscoveryIssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The issuer the discovery document announced.
        found: String,
    },
}

impl AuthError {
    /// True when the caller should get a new token (HTTP 401); false when the identity
    /// provider is at fault and the request may succeed later (HTTP 503).
    pub fn is_caller_fault(&self) -> bool {
        !matches!(
            self,
            Self::ProviderUnavailable(_) | Self::DiscoveryIssuerMismatch { .. }
        )
    }

    /// The HTTP status an API answers with: 401 for the caller's fault, 503 otherwise.
    pub fn status_code(&self) -> StatusCode {
        if self.is_caller_fault() {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        }
    }

    /// A short, stable, lowercase code for logs and metrics labels.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Malformed(_) => "malformed",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::UnknownKey => "unknown_key",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssuedInTheFuture => "issued_in_the_future",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::WrongTokenType => "wrong_token_type",
            Self::MissingSubject => "missing_subject",
            Self::ProviderUnavailable(_) => "provider_unavailable",
            Self::DiscoveryIssuerMismatch { .. } => "discovery_issuer_mismatch",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_problems_are_the_callers_fault_and_provider_problems_are_not() {
        assert_eq!(AuthError::Expired.status_code(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            AuthError::ProviderUnavailable("down".into()).status_code(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert!(
            !AuthError::DiscoveryIssuerMismatch {
                expected: "a".into(),
                found: "b".into()
            }
            .is_caller_fault()
        );
    }
}
