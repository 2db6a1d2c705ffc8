//! What a [`super::TokenValidator`] trusts: one issuer, optionally one audience.
//!
//! The clock leeway is clamped to [`ValidatorConfig::MAX_LEEWAY`] so a configuration mistake
//! cannot stretch token lifetimes by more than a minute.

use std::time::Duration;

/// What a token must look like to be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorConfig {
    /// The issuer, exactly as tokens carry it in `iss` and as discovery announces it, e.g.
    /// `http://127.0.0.1:8080/realms/orderflow`.
    pub issuer: String,
    /// When set, a token is accepted only if `aud` (string or array) contains it or `azp`
    /// equals it (Keycloak puts the client in `azp` and `account` in `aud`).
    pub audience: Option<String>,
    /// When set, roles come from `resource_access.{client}.roles` instead of
    /// `realm_access.roles`.
    pub client_roles_from: Option<String>,
    /// Clock skew allowed on `exp` and `nbf`; values above [`Self::MAX_LEEWAY`] are clamped.
    pub leeway: Duration,
    /// At most one JWKS refetch for unknown `kid`s per this interval.
    pub jwks_refresh_min_interval: Duration,
    /// How many verified tokens to remember (0 disables the cache).
    pub verified_cache_capacity: usize,
}

impl ValidatorConfig {
    /// The largest clock leeway honoured.
    pub const MAX_LEEWAY: Duration = Duration::from_secs(60);
    /// The default clock leeway.
    pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
    /// The default minimum interval between JWKS refetches.
    pub const DEFAULT_JWKS_REFRESH_MIN_INTERVAL: Duration = Duration::from_secs(30);
    /// The default size of the verified-token cache.
    pub const DEFAULT_VERIFIED_CACHE_CAPACITY: usize = 100_000;

    /// Trust `issuer`, with no audience check, realm roles and default timings.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: None,
            client_roles_from: None,
            leeway: Self::DEFAULT_LEEWAY,
            jwks_refresh_min_interval: Self::DEFAULT_JWKS_REFRESH_MIN_INTERVAL,
            verified_cache_capacity: Self::DEFAULT_VERIFIED_CACHE_CAPACITY,
        }
    }

    /// Require this audience (in `aud` or as `azp`).
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Take roles from `resource_access.{client_id}.roles`.
    pub fn with_client_roles_from(mut self, client_id: impl Into<String>) -> Self {
        self.client_roles_from = Some(client_id.into());
        self
    }

    /// Allow this much clock skew (clamped to [`Self::MAX_LEEWAY`]).
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Refetch the JWKS for unknown `kid`s at most once per `interval`.
    pub fn with_jwks_refresh_min_interval(mut self, interval: Duration) -> Self {
        self.jwks_refresh_min_interval = interval;
        self
    }

    /// Remember up to `capacity` verified tokens (0 disables the cache).
    pub fn with_verified_cache_capacity(mut self, capacity: usize) -> Self {
        self.verified_cache_capacity = capacity;
        self
    }

    /// The leeway actually applied.
    pub fn effective_leeway(&self) -> Duration {
        self.leeway.min(Self::MAX_LEEWAY)
    }

    /// Where the provider's discovery document lives (OIDC Discovery §4).
    pub(crate) fn discovery_url(&self) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leeway_is_clamped_to_one_minute() {
        let config = ValidatorConfig::new("https://idp").with_leeway(Duration::from_secs(3600));
        assert_eq!(config.effective_leeway(), Duration::from_secs(60));
    }

    #[test]
    fn the_discovery_url_ignores_a_trailing_slash() {
        assert_eq!(
            ValidatorConfig::new("https://idp/realms/x/").discovery_url(),
            "https://idp/realms/x/.well-known/openid-configuration"
        );
    }
}
