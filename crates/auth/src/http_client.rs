//! The HTTP client used for discovery and JWKS fetches: rustls with the `ring` provider.
//!
//! reqwest is built without a bundled crypto provider (no aws-lc, no native build beyond
//! `ring`); [`install_tls_crypto_provider`] installs `ring` as the process default once, and
//! leaves any provider someone else installed first in place.

use std::sync::Once;
use std::time::Duration;

use crate::AuthError;

/// How long to wait for the provider to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one discovery or JWKS request may take in total.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Installs rustls' `ring` crypto provider as the process default, once. Idempotent, and a
/// no-op when another provider was installed first.
pub fn install_tls_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // An error means another provider is already the default: that one serves as well.
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A client with sane timeouts for talking to an identity provider (HTTP and HTTPS).
pub fn default_http_client() -> Result<reqwest::Client, AuthError> {
    install_tls_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|error| {
            AuthError::ProviderUnavailable(format!("cannot build the http client: {error}"))
        })
}
