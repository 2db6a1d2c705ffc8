//! The provider's signing keys: found by discovery, cached, refetched sparingly.
//!
//! Guarantees:
//! - Discovery happens on first need and is retried at most once per
//!   [`DISCOVERY_RETRY_INTERVAL`] while the provider is down, so a service may start before
//!   its identity provider (requests meanwhile get `ProviderUnavailable`, i.e. 503).
//! - The discovery document must name exactly the configured issuer.
//! - A token naming an unknown `kid` triggers at most one JWKS refetch per
//!   `jwks_refresh_min_interval`; concurrent misses wait for and share that one fetch, so a
//!   flood of made-up `kid`s cannot hammer the provider.
//! - A key set older than [`JWKS_MAX_AGE`] is refreshed in passing (by whoever finds the
//!   provider lock free, under the same rate limit); on failure the old keys stay in use.
//! - Keys are only ever taken from the JWKS, never from the token.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use tokio::time::Instant;

use super::jwks::{VerificationKey, verification_keys_from_jwks};
use crate::AuthError;

/// While discovery keeps failing, try again at most this often.
pub(crate) const DISCOVERY_RETRY_INTERVAL: Duration = Duration::from_secs(2);
/// A key set older than this is refreshed on the next validation that finds the lock free.
pub(crate) const JWKS_MAX_AGE: Duration = Duration::from_secs(600);
/// Discovery documents and key sets larger than this are refused.
const MAX_PROVIDER_DOCUMENT_BYTES: usize = 1024 * 1024;

/// The signing keys of one provider, and how to get fresh ones.
#[derive(Debug)]
pub(crate) struct KeyStore {
    issuer: String,
    discovery_url: String,
    http: reqwest::Client,
    refetch_min_interval: Duration,
    /// The keys in use; replaced whole on every successful fetch.
    current: RwLock<Arc<KeySnapshot>>,
    /// Serialises every conversation with the provider; holds its bookkeeping.
    provider: tokio::sync::Mutex<ProviderContact>,
}

#[derive(Debug, Default)]
struct KeySnapshot {
    /// Bumped on every successful fetch, so waiters can tell someone else fetched.
    generation: u64,
    /// When these keys were fetched; `None` until discovery succeeded.
    fetched_at: Option<Instant>,
    keys: Vec<VerificationKey>,
}

#[derive(Debug, Default)]
struct ProviderContact {
    jwks_uri: Option<String>,
    last_discovery_attempt: Option<Instant>,
    last_refetch: Option<Instant>,
}

enum KeyLookup {
    Found(DecodingKey),
    NoSuchKey,
    AlgorithmNotAllowed,
}

#[derive(Deserialize)]
struct DiscoveryDocument {
    issuer: String,
    jwks_uri: String,
}

impl KeyStore {
    pub(crate) fn new(
        issuer: String,
        discovery_url: String,
        http: reqwest::Client,
        refetch_min_interval: Duration,
    ) -> Self {
        Self {
            issuer,
            discovery_url,
            http,
            refetch_min_interval,
            current: RwLock::new(Arc::new(KeySnapshot::default())),
            provider: tokio::sync::Mutex::new(ProviderContact::default()),
        }
    }

    /// Runs discovery and fetches the JWKS now, unless that already happened.
    pub(crate) async fn ensure_discovered(&self) -> Result<(), AuthError> {
        if self.snapshot().fetched_at.is_some() {
            return Ok(());
        }
        let mut contact = self.provider.lock().await;
        if self.snapshot().fetched_at.is_some() {
            return Ok(());
        }
        contact.last_discovery_attempt = Some(Instant::now());
        self.discover_and_fetch(&mut contact).await.map(drop)
    }

    /// The key that may verify a token with this `kid` and `alg`.
    pub(crate) async fn key_for(
        &self,
        key_id: Option<&str>,
        algorithm: Algorithm,
    ) -> Result<DecodingKey, AuthError> {
        let seen = self.snapshot();
        if let Some(fetched_at) = seen.fetched_at {
            if fetched_at.elapsed() > JWKS_MAX_AGE {
                self.refresh_stale_keys(seen.generation).await;
            }
            match self.snapshot().lookup(key_id, algorithm) {
                KeyLookup::NoSuchKey => {}
                found_or_refused => return found_or_refused.into_result(),
            }
        }

        let mut contact = self.provider.lock().await;
        let latest = self.snapshot();
        if latest.generation != seen.generation {
            // Someone fetched while we waited for the lock: share their result.
            return latest.lookup(key_id, algorithm).into_result();
        }
        if latest.fetched_at.is_none() {
            if contact
                .last_discovery_attempt
                .is_some_and(|attempt| attempt.elapsed() < DISCOVERY_RETRY_INTERVAL)
            {
                return Err(AuthError::ProviderUnavailable(
                    "discovery failed moments ago; retrying shortly".into(),
                ));
            }
            contact.last_discovery_attempt = Some(Instant::now());
            let snapshot = self.discover_and_fetch(&mut contact).await?;
            return snapshot.lookup(key_id, algorithm).into_result();
        }
        if contact
            .last_refetch
            .is_some_and(|refetch| refetch.elapsed() < self.refetch_min_interval)
        {
            return Err(AuthError::UnknownKey);
        }
        tracing::debug!("unknown signing key; refetching the jwks");
        let snapshot = self.refetch(&mut contact).await?;
        snapshot.lookup(key_id, algorithm).into_result()
    }

    fn snapshot(&self) -> Arc<KeySnapshot> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn publish(&self, keys: Vec<VerificationKey>) -> Arc<KeySnapshot> {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        let snapshot = Arc::new(KeySnapshot {
            generation: current.generation + 1,
            fetched_at: Some(Instant::now()),
            keys,
        });
        *current = Arc::clone(&snapshot);
        snapshot
    }

    async fn refresh_stale_keys(&self, seen_generation: u64) {
        // Whoever holds the lock is already talking to the provider: use the old keys.
        let Ok(mut contact) = self.provider.try_lock() else {
            return;
        };
        if self.snapshot().generation != seen_generation
            || contact
                .last_refetch
                .is_some_and(|refetch| refetch.elapsed() < self.refetch_min_interval)
        {
            return;
        }
        if let Err(error) = self.refetch(&mut contact).await {
            tracing::warn!(%error, "cannot refresh the jwks; keeping the keys we have");
        }
    }

    async fn discover_and_fetch(
        &self,
        contact: &mut ProviderContact,
    ) -> Result<Arc<KeySnapshot>, AuthError> {
        let document: DiscoveryDocument =
            serde_json::from_slice(&self.get_document(&self.discovery_url, "discovery").await?)
                .map_err(|error| {
                    AuthError::ProviderUnavailable(format!(
                        "unreadable discovery document: {error}"
                    ))
                })?;
        if document.issuer != self.issuer {
            return Err(AuthError::DiscoveryIssuerMismatch {
                expected: self.issuer.clone(),
                found: document.issuer,
            });
        }
        let jwks_uri_is_acceptable = document.jwks_uri.starts_with("https://")
            || (document.jwks_uri.starts_with("http://") && self.issuer.starts_with("http://"));
        if !jwks_uri_is_acceptable {
            return Err(AuthError::ProviderUnavailable(format!(
                "discovery names an unacceptable jwks_uri {:?}",
                document.jwks_uri
            )));
        }
        let keys = self.fetch_keys(&document.jwks_uri).await?;
        tracing::info!(issuer = %self.issuer, keys = keys.len(), "discovered the identity provider");
        contact.jwks_uri = Some(document.jwks_uri);
        Ok(self.publish(keys))
    }

    async fn refetch(&self, contact: &mut ProviderContact) -> Result<Arc<KeySnapshot>, AuthError> {
        contact.last_refetch = Some(Instant::now());
        let Some(jwks_uri) = contact.jwks_uri.clone() else {
            return self.discover_and_fetch(contact).await;
        };
        let keys = self.fetch_keys(&jwks_uri).await?;
        Ok(self.publish(keys))
    }

    async fn fetch_keys(&self, jwks_uri: &str) -> Result<Vec<VerificationKey>, AuthError> {
        let document = self.get_document(jwks_uri, "jwks").await?;
        verification_keys_from_jwks(&document)
            .map_err(|error| AuthError::ProviderUnavailable(format!("unreadable jwks: {error}")))
    }

    async fn get_document(&self, url: &str, what: &str) -> Result<Vec<u8>, AuthError> {
        let unavailable =
            |detail: String| AuthError::ProviderUnavailable(format!("{what}: {detail}"));
        let mut response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| unavailable(error.to_string()))?;
        if !response.status().is_success() {
            return Err(unavailable(format!("answered {}", response.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| unavailable(error.to_string()))?
        {
            if body.len() + chunk.len() > MAX_PROVIDER_DOCUMENT_BYTES {
                return Err(unavailable("document larger than 1 MiB".into()));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

impl KeySnapshot {
    /// Keys named by `key_id` (or, without one, the only key allowing `algorithm`).
    fn lookup(&self, key_id: Option<&str>, algorithm: Algorithm) -> KeyLookup {
        let mut named = self
            .keys
            .iter()
            .filter(|key| key_id.is_none() || key.key_id.as_deref() == key_id)
            .peekable();
        if named.peek().is_none() {
            return KeyLookup::NoSuchKey;
        }
        let mut allowing = named.filter(|key| key.algorithms.contains(&algorithm));
        match (allowing.next(), allowing.next(), key_id) {
            (None, _, _) => KeyLookup::AlgorithmNotAllowed,
            // Without a kid, more than one candidate is ambiguous: refuse rather than guess.
            (Some(_), Some(_), None) => KeyLookup::NoSuchKey,
            (Some(key), _, _) => KeyLookup::Found(key.decoding_key.clone()),
        }
    }
}

impl KeyLookup {
    fn into_result(self) -> Result<DecodingKey, AuthError> {
        match self {
            Self::Found(key) => Ok(key),
            Self::NoSuchKey => Err(AuthError::UnknownKey),
            Self::AlgorithmNotAllowed => Err(AuthError::UnsupportedAlgorithm),
        }
    }
}
