//! What the dev issuer remembers between token requests: failed logins (brute-force
//! protection) and used refresh tokens (rotation with reuse detection).
//!
//! Guarantees:
//! * **Failed logins are limited** per username and per client address: after
//!   [`LoginLimits::per_user`] failures for a known username, or [`LoginLimits::per_address`]
//!   from one address, within [`LoginLimits::window`], the password
//!   grant for that username, or from that address, is refused (429, `Retry-After`)
//!   until the window ends, even with the right password. A success clears the username's
//!   count (not the address's).
//! * **A refresh token is good once** (Keycloak's "revoke refresh token"): using it marks
//!   it used, and the answer carries a new one. Presenting a used one again is taken as
//!   theft: the whole session (`sid`) is revoked, so the thief's and the owner's newer
//!   refresh tokens stop working too. Access tokens already issued stay valid until they
//!   expire (services check them without asking the issuer).
//! * **Memory is bounded**: at most [`MAX_TRACKED`] entries of each kind; expired entries
//!   go first, then the oldest. State lives in memory: a restart forgets it.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

/// The most entries each table holds.
pub(crate) const MAX_TRACKED: usize = 10_000;

/// How many failed logins are tolerated, and for how long they count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Failures per known username within one window.
    pub per_user: u32,
    /// Failures per client address within one window (all usernames together).
    pub per_address: u32,
    /// How long a window lasts, from its first failure.
    pub window: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            per_user: 5,
            per_address: 20,
            window: Duration::from_secs(60),
        }
    }
}

/// A key of the failed-login table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum LoginKey {
    User(String),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    since: Instant,
    count: u32,
}

/// The dev issuer's memory of token requests.
#[derive(Debug)]
pub(crate) struct TokenGuard {
    limits: LoginLimits,
    failures: Mutex<HashMap<LoginKey, Failures>>,
    /// Used refresh tokens (`jti`) until they expire.
    used_refresh_tokens: Mutex<HashMap<Uuid, Instant>>,
    /// Revoked sessions (`sid`) until their refresh tokens have expired.
    revoked_sessions: Mutex<HashMap<Uuid, Instant>>,
}

/// Why a refresh token is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshRefusal {
    /// The token was used before: its session is now revoked.
    Reused,
    /// The token's session was revoked.
    SessionRevoked,
}

impl TokenGuard {
    pub(crate) fn new(limits: LoginLimits) -> Self {
        TokenGuard {
            limits,
            failures: Mutex::new(HashMap::new()),
            used_refresh_tokens: Mutex::new(HashMap::new()),
            revoked_sessions: Mutex::new(HashMap::new()),
        }
    }

    /// How long until `username` (or `address`) may try a password again; `None` if now.
    pub(crate) fn login_blocked_for(
        &self,
        username: &str,
        address: Option<IpAddr>,
    ) -> Option<Duration> {
        let now = Instant::now();
        let failures = lock(&self.failures);
        keys(username, address)
            .filter_map(|key| Some((self.limit_of(&key), *failures.get(&key)?)))
            .filter(|(limit, entry)| entry.count >= *limit)
            .map(|(_, entry)| entry)
            .filter_map(|entry| (entry.since + self.limits.window).checked_duration_since(now))
            .filter(|left| !left.is_zero())
            .max()
    }

    fn limit_of(&self, key: &LoginKey) -> u32 {
        match key {
            LoginKey::User(_) => self.limits.per_user,
            LoginKey::Address(_) => self.limits.per_address,
        }
    }

    /// Counts a failed login for `username` (a known one) and `address`.
    pub(crate) fn login_failed(&self, username: Option<&str>, address: Option<IpAddr>) {
        let now = Instant::now();
        let window = self.limits.window;
        let mut failures = lock(&self.failures);
        let user = username.map(|name| LoginKey::User(name.to_owned()));
        for key in user.into_iter().chain(address.map(LoginKey::Address)) {
            make_room(
                &mut failures,
                &key,
                |entry| entry.since + window <= now,
                |e| e.since,
            );
            let entry = failures.entry(key).or_insert(Failures {
                since: now,
                count: 0,
            });
            if entry.since + window <= now {
                *entry = Failures {
                    since: now,
                    count: 0,
                };
            }
            entry.count = entry.count.saturating_add(1);
        }
    }

    /// A successful login clears the username's failures.
    pub(crate) fn login_succeeded(&self, username: &str) {
        lock(&self.failures).remove(&LoginKey::User(username.to_owned()));
    }

    /// Marks refresh token `token_id` of session `session` used; refuses a reused one (and
    /// then revokes its session) or one of a revoked session. `expires_in` is how long the
    /// token is valid, so it need not be remembered longer; `refresh_lifetime` how long the
    /// newest refresh token of the session may still be, so its revocation lasts as long.
    pub(crate) fn use_refresh_token(
        &self,
        token_id: Uuid,
        session: Uuid,
        expires_in: Duration,
        refresh_lifetime: Duration,
    ) -> Result<(), RefreshRefusal> {
        let now = Instant::now();
        let forget_at = now + expires_in;
        let revoked = lock(&self.revoked_sessions);
        if revoked.get(&session).is_some_and(|until| *until > now) {
            return Err(RefreshRefusal::SessionRevoked);
        }
        drop(revoked);
        let mut used = lock(&self.used_refresh_tokens);
        if used.get(&token_id).is_some_and(|until| *until > now) {
            drop(used);
            self.revoke_session(session, refresh_lifetime);
            return Err(RefreshRefusal::Reused);
        }
        make_room(&mut used, &token_id, |until| *until <= now, |until| *until);
        used.insert(token_id, forget_at);
        Ok(())
    }
}

impl TokenGuard {
    /// Revokes `session` (logout, or a reused authorization code): its refresh tokens,
    /// which expire within `refresh_lifetime`, stop working.
    pub(crate) fn revoke_session(&self, session: Uuid, refresh_lifetime: Duration) {
        let now = Instant::now();
        // Every refresh token of the session expires within a refresh lifetime.
        let mut revoked = lock(&self.revoked_sessions);
        make_room(
            &mut revoked,
            &session,
            |until| *until <= now,
            |until| *until,
        );
        revoked.insert(session, now + refresh_lifetime);
    }
}

fn keys(username: &str, address: Option<IpAddr>) -> impl Iterator<Item = LoginKey> {
    std::iter::once(LoginKey::User(username.to_owned())).chain(address.map(LoginKey::Address))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The tables stay consistent even if a holder panicked: every update is one insert.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Before inserting `key` into a full `table`: drops expired entries, else the oldest.
fn make_room<K: Eq + Hash + Clone, V, O: Ord>(
    table: &mut HashMap<K, V>,
    key: &K,
    expired: impl Fn(&V) -> bool,
    age: impl Fn(&V) -> O,
) {
    if table.len() < MAX_TRACKED || table.contains_key(key) {
        return;
    }
    table.retain(|_, value| !expired(value));
    if table.len() >= MAX_TRACKED
        && let Some(oldest) = table
            .iter()
            .min_by_key(|(_, value)| age(value))
            .map(|(key, _)| key.clone())
    {
        table.remove(&oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDRESS: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));

    #[test]
    fn failures_beyond_the_limit_block_the_user_and_the_address() {
        let guard = TokenGuard::new(LoginLimits {
            per_user: 3,
            per_address: 3,
            window: Duration::from_secs(60),
        });
        for _ in 0..3 {
            assert_eq!(guard.login_blocked_for("alice", ADDRESS), None);
            guard.login_failed(Some("alice"), ADDRESS);
        }
        assert!(guard.login_blocked_for("alice", None).is_some(), "the user");
        assert!(
            guard.login_blocked_for("bob", ADDRESS).is_some(),
            "the address"
        );
        assert_eq!(guard.login_blocked_for("bob", None), None);
    }

    #[test]
    fn a_window_ends() {
        let guard = TokenGuard::new(LoginLimits {
            per_user: 1,
            per_address: 1,
            window: Duration::from_millis(50),
        });
        guard.login_failed(Some("alice"), None);
        assert!(guard.login_blocked_for("alice", None).is_some());
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(guard.login_blocked_for("alice", None), None);
    }

    #[test]
    fn a_refresh_token_is_good_once_and_its_reuse_revokes_the_session() {
        let guard = TokenGuard::new(LoginLimits::default());
        let (first, second, session) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let lifetime = Duration::from_secs(60);
        assert_eq!(
            guard.use_refresh_token(first, session, lifetime, lifetime),
            Ok(())
        );
        assert_eq!(
            guard.use_refresh_token(first, session, lifetime, lifetime),
            Err(RefreshRefusal::Reused)
        );
        assert_eq!(
            guard.use_refresh_token(second, session, lifetime, lifetime),
            Err(RefreshRefusal::SessionRevoked)
        );
        assert_eq!(
            guard.use_refresh_token(second, Uuid::new_v4(), lifetime, lifetime),
            Ok(())
        );
    }

    #[test]
    fn the_tables_stay_bounded() {
        let guard = TokenGuard::new(LoginLimits::default());
        for n in 0..(MAX_TRACKED + 50) {
            guard.login_failed(Some(&format!("user-{n}")), None);
            let _ = guard.use_refresh_token(
                Uuid::new_v4(),
                Uuid::new_v4(),
                Duration::from_secs(60),
                Duration::from_secs(60),
            );
        }
        assert!(lock(&guard.failures).len() <= MAX_TRACKED);
        assert!(lock(&guard.used_refresh_tokens).len() <= MAX_TRACKED);
    }
}
