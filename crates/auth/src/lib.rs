//! Authentication for orderflow: who is calling, proven by an OIDC access token.
//!
//! Two halves, one contract:
//! - [`validator`]: an OIDC *resource server*. It finds the provider by discovery, caches its
//!   JWKS, and turns a bearer token into a [`Principal`] — or into an [`AuthError`] that says
//!   exactly why not and whether the caller (401) or the provider (503) is at fault. Only
//!   asymmetric signatures by a published signing key are accepted.
//! - [`dev_issuer`]: the built-in, Keycloak-shaped identity provider used by `orderflow up`.
//!   Services validate its tokens through the same HTTP discovery path as any other
//!   provider's; there is no in-process back door.
//!
//! Keys, secrets and tokens never appear in `Debug` output or logs.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod bearer;
pub mod dev_issuer;
mod error;
mod http_client;
mod principal;
mod redaction;
pub mod validator;

pub use bearer::{RepeatedAuthorization, bearer_token_from_header, single_authorization_header};
pub use dev_issuer::{
    DEV_AUDIENCE, DevIssuer, DevIssuerError, TokenResponse, TrustedProxies, TrustedProxyError,
};
pub use error::AuthError;
pub use http_client::{default_http_client, install_tls_crypto_provider};
pub use principal::{ADMIN_ROLE, BUYER_ROLE, Principal, SERVICE_ROLE};
pub use redaction::{CREDENTIAL_PARAMETERS, redact_access_token};
pub use validator::{TokenValidator, ValidatorConfig};

/// `scheme://host[:port]` of an absolute URL (the whole text if it has no path), e.g. for
/// a content-security policy's sources.
pub fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |index| index + 3);
    match url[after_scheme..].find(['/', '?', '#']) {
        Some(end) => &url[..after_scheme + end],
        None => url,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_origin_of_a_url_is_its_scheme_host_and_port() {
        assert_eq!(
            super::origin_of("http://127.0.0.1:8080/callback?x=1"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            super::origin_of("https://example.com"),
            "https://example.com"
        );
    }
}
