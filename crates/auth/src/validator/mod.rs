//! Validating access tokens as an OIDC resource server.
//!
//! A [`TokenValidator`] trusts exactly one issuer, found by OIDC discovery over HTTP(S). It
//! accepts only asymmetric signatures (RS*/PS*/ES256/ES384) by a signature key the issuer
//! publishes in its JWKS, with the one algorithm that key allows; `none` and `HS*` are
//! refused before any key is looked up. It then checks `exp`/`nbf` (leeway ≤ 60 s), `iss`
//! (exact), the audience (`aud` or `azp`) when configured, that the token is an access token
//! (not an ID or refresh token), and a non-empty `sub`.
//!
//! Startup: [`TokenValidator::discover`] contacts the provider now and fails if it cannot;
//! [`TokenValidator::lazy`] contacts it on first use and keeps retrying (at most every two
//! seconds) while it is down — for services that start before their identity provider.
//!
//! Verified tokens are remembered by SHA-256 fingerprint until their `exp`, so repeated
//! requests with the same token skip signature verification. Rejections are logged at debug
//! level by reason, never with the token.

mod claims;
mod config;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod jwks;
mod key_store;
mod token_header;
mod verified_cache;

use std::sync::Arc;

use time::OffsetDateTime;

pub use config::ValidatorConfig;
use key_store::KeyStore;
use verified_cache::{VerifiedTokenCache, fingerprint};

use crate::{AuthError, Principal, bearer_token_from_header};

/// Turns bearer tokens into [`Principal`]s. Cheap to clone; clones share keys and cache.
#[derive(Debug, Clone)]
pub struct TokenValidator {
    inner: Arc<ValidatorState>,
}

#[derive(Debug)]
struct ValidatorState {
    config: ValidatorConfig,
    keys: KeyStore,
    verified: VerifiedTokenCache,
}

impl TokenValidator {
    /// Discovers the provider now: fetches `{issuer}/.well-known/openid-configuration`,
    /// checks it names the configured issuer, and fetches its JWKS.
    ///
    /// Fails with [`AuthError::ProviderUnavailable`] or
    /// [`AuthError::DiscoveryIssuerMismatch`] when that does not work.
    pub async fn discover(
        config: ValidatorConfig,
        http_client: reqwest::Client,
    ) -> Result<Self, AuthError> {
        let validator = Self::lazy(config, http_client);
        validator.inner.keys.ensure_discovered().await?;
        Ok(validator)
    }

    /// Builds a validator without contacting the provider; discovery runs on first use and
    /// is retried (at most every two seconds) until it succeeds. Until then validation fails
    /// with a provider error (503), not a caller error.
    pub fn lazy(config: ValidatorConfig, http_client: reqwest::Client) -> Self {
        if config.leeway > ValidatorConfig::MAX_LEEWAY {
            tracing::warn!(
                configured_secs = config.leeway.as_secs(),
                "token leeway above 60 s; clamping to 60 s"
            );
        }
        let keys = KeyStore::new(
            config.issuer.clone(),
            config.discovery_url(),
            http_client,
            config.jwks_refresh_min_interval,
        );
        let verified = VerifiedTokenCache::new(config.verified_cache_capacity);
        Self {
            inner: Arc::new(ValidatorState {
                config,
                keys,
                verified,
            }),
        }
    }

    /// What this validator trusts.
    pub fn config(&self) -> &ValidatorConfig {
        &self.inner.config
    }

    /// Validates a raw access token (without the `Bearer ` prefix).
    pub async fn validate(&self, token: &str) -> Result<Principal, AuthError> {
        let outcome = self.validate_uncached_or_cached(token).await;
        if let Err(error) = &outcome {
            tracing::debug!(reason = error.reason(), %error, "access token rejected");
        }
        outcome
    }

    /// Validates the token of an `Authorization` header value; `None` is
    /// [`AuthError::Missing`].
    pub async fn validate_authorization_header(
        &self,
        header_value: Option<&str>,
    ) -> Result<Principal, AuthError> {
        let token = bearer_token_from_header(header_value.ok_or(AuthError::Missing)?)?;
        self.validate(token).await
    }

    async fn validate_uncached_or_cached(&self, token: &str) -> Result<Principal, AuthError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(AuthError::Missing);
        }
        let header = token_header::read_token_header(token)?;
        let token_fingerprint = fingerprint(token);
        if let Some(principal) = self
            .inner
            .verified
            .get(&token_fingerprint, OffsetDateTime::now_utc())
        {
            return Ok(principal);
        }
        let key = self
            .inner
            .keys
            .key_for(header.key_id.as_deref(), header.algorithm)
            .await?;
        let principal =
            claims::verify_access_token(token, &key, header.algorithm, &self.inner.config)?;
        self.inner.verified.insert(
            token_fingerprint,
            principal.clone(),
            OffsetDateTime::now_utc(),
        );
        Ok(principal)
    }
}
