//! Remembering verified tokens so the hot path skips RSA.
//!
//! Guarantees: entries are keyed by the SHA-256 of the token, never the token itself; an
//! entry is served only while its token is unexpired (`exp`, no leeway); the cache never
//! holds more than its capacity — when full, expired entries go first, then the oldest
//! tenth. Failures are never cached.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Mutex, PoisonError};

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::Principal;

/// The SHA-256 of a token.
pub(crate) type TokenFingerprint = [u8; 32];

/// Fingerprints a token for cache lookups.
pub(crate) fn fingerprint(token: &str) -> TokenFingerprint {
    Sha256::digest(token.as_bytes()).into()
}

/// Verified principals by token fingerprint.
pub(crate) struct VerifiedTokenCache {
    capacity: usize,
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    principals: HashMap<TokenFingerprint, Principal>,
    /// Fingerprints in insertion order, for evicting the oldest.
    insertion_order: VecDeque<TokenFingerprint>,
}

impl fmt::Debug for VerifiedTokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedTokenCache")
            .field("capacity", &self.capacity)
            .field(
                "entries",
                &self
                    .state
                    .try_lock()
                    .ok()
                    .map(|state| state.principals.len()),
            )
            .finish()
    }
}

impl VerifiedTokenCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            state: Mutex::new(CacheState::default()),
        }
    }

    /// The principal of an unexpired verified token, if remembered.
    pub(crate) fn get(&self, token: &TokenFingerprint, now: OffsetDateTime) -> Option<Principal> {
        let mut state = self.lock();
        let principal = state.principals.get(token)?;
        if principal.expires_at > now {
            return Some(principal.clone());
        }
        state.principals.remove(token);
        None
    }

    /// Remembers a verified token's principal until its `exp`.
    pub(crate) fn insert(
        &self,
        token: TokenFingerprint,
        principal: Principal,
        now: OffsetDateTime,
    ) {
        if self.capacity == 0 || principal.expires_at <= now {
            return;
        }
        let mut state = self.lock();
        if state.principals.len() >= self.capacity {
            state.make_room(self.capacity, now);
        }
        if state.principals.insert(token, principal).is_none() {
            state.insertion_order.push_back(token);
        }
        debug_assert!(state.principals.len() <= self.capacity);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().principals.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl CacheState {
    /// Drops expired entries, then the oldest until at most 90% of `capacity` is used.
    fn make_room(&mut self, capacity: usize, now: OffsetDateTime) {
        self.principals
            .retain(|_, principal| principal.expires_at > now);
        let principals = &self.principals;
        self.insertion_order
            .retain(|fingerprint| principals.contains_key(fingerprint));
        let target = capacity - capacity.div_ceil(10);
        while self.principals.len() > target {
            let Some(oldest) = self.insertion_order.pop_front() else {
                break;
            };
            self.principals.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use time::Duration;

    use super::*;

    fn principal(user: &str, expires_at: OffsetDateTime) -> Principal {
        Principal {
            user_id: user.into(),
            username: None,
            roles: BTreeSet::new(),
            client_id: None,
            expires_at,
        }
    }

    #[test]
    fn a_remembered_token_is_served_until_it_expires() {
        let now = OffsetDateTime::now_utc();
        let cache = VerifiedTokenCache::new(10);
        let token = fingerprint("a.b.c");
        cache.insert(token, principal("u1", now + Duration::seconds(60)), now);
        assert_eq!(cache.get(&token, now).map(|p| p.user_id), Some("u1".into()));
        assert_eq!(cache.get(&token, now + Duration::seconds(60)), None);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn the_cache_never_grows_past_its_capacity_and_evicts_expired_entries_first() {
        let now = OffsetDateTime::now_utc();
        let cache = VerifiedTokenCache::new(10);
        let keep = fingerprint("long-lived");
        cache.insert(keep, principal("keep", now + Duration::hours(1)), now);
        for index in 0..9 {
            let soon = now + Duration::seconds(1);
            cache.insert(
                fingerprint(&format!("short-{index}")),
                principal("s", soon),
                now,
            );
        }
        let later = now + Duration::seconds(2);
        for index in 0..25 {
            let token = fingerprint(&format!("new-{index}"));
            cache.insert(token, principal("n", now + Duration::hours(1)), later);
            assert!(cache.len() <= 10);
        }
        assert_eq!(
            cache.get(&fingerprint("new-24"), later).map(|p| p.user_id),
            Some("n".into())
        );
    }

    #[test]
    fn expired_principals_and_a_zero_capacity_cache_store_nothing() {
        let now = OffsetDateTime::now_utc();
        let cache = VerifiedTokenCache::new(10);
        cache.insert(fingerprint("x"), principal("u", now), now);
        assert_eq!(cache.len(), 0);
        let disabled = VerifiedTokenCache::new(0);
        disabled.insert(
            fingerprint("x"),
            principal("u", now + Duration::hours(1)),
            now,
        );
        assert_eq!(disabled.len(), 0);
    }
}
