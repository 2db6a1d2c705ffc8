//! Who may sign in to the dev issuer: demo users and the two clients.
//!
//! Guarantees: passwords and client secrets are compared in constant time, and an unknown
//! username costs the same comparison as a known one; neither appears in `Debug` output.
//! Users without an explicit id get a stable one (UUID v5 of the username under
//! [`DEV_USER_ID_NAMESPACE`]), so ids survive restarts and match across machines.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use serde::Deserialize;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::DevIssuerError;
use crate::{ADMIN_ROLE, BUYER_ROLE, SERVICE_ROLE};

/// The public client (no secret) used by browsers and the CLI: password grant.
pub const WEB_CLIENT_ID: &str = "orderflow-web";
/// The confidential client for service-to-service calls: client_credentials grant.
pub const SERVICE_CLIENT_ID: &str = "orderflow-service";
/// The service client's secret unless configured otherwise. A documented dev value: never
/// use the dev issuer outside development.
pub const DEFAULT_SERVICE_CLIENT_SECRET: &str = "orderflow-dev-service-secret";
/// The namespace of the UUID v5 user ids derived from usernames.
pub const DEV_USER_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6f72_6465_7266_6c6f_772d_6465_762d_6964);

/// A user of the dev issuer.
#[derive(Clone)]
pub struct DevUser {
    username: String,
    password: String,
    id: Uuid,
    roles: Vec<String>,
}

impl fmt::Debug for DevUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevUser")
            .field("username", &self.username)
            .field("id", &self.id)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

impl DevUser {
    /// A user whose id is derived from the username.
    pub fn new(username: &str, password: &str, roles: &[&str]) -> Self {
        Self {
            username: username.to_owned(),
            password: password.to_owned(),
            id: stable_user_id(username),
            roles: roles.iter().map(|role| (*role).to_owned()).collect(),
        }
    }

    /// The login name (`preferred_username`).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The stable id (`sub`).
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// Realm roles (`realm_access.roles`).
    pub fn roles(&self) -> &[String] {
        &self.roles
    }
}

/// The id a user without an explicit one gets: UUID v5 of the username.
pub fn stable_user_id(username: &str) -> Uuid {
    Uuid::new_v5(&DEV_USER_ID_NAMESPACE, username.as_bytes())
}

/// `alice`/`alice` and `bob`/`bob` (buyers), `admin`/`admin` (admin).
pub(crate) fn default_users() -> Vec<DevUser> {
    vec![
        DevUser::new("alice", "alice", &[BUYER_ROLE]),
        DevUser::new("bob", "bob", &[BUYER_ROLE]),
        DevUser::new("admin", "admin", &[ADMIN_ROLE]),
    ]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFileEntry {
    username: String,
    password: String,
    id: Option<Uuid>,
    #[serde(default)]
    roles: Vec<String>,
}

/// Reads `[{ "username", "password", "id"?, "roles": [..] }]`; usernames must be unique
/// and non-empty.
pub(crate) fn users_from_file(path: &Path) -> Result<Vec<DevUser>, DevIssuerError> {
    let invalid = |reason: String| DevIssuerError::UsersFileInvalid {
        path: path.to_path_buf(),
        reason,
    };
    let text =
        std::fs::read_to_string(path).map_err(|source| DevIssuerError::UsersFileUnreadable {
            path: path.to_path_buf(),
            source,
        })?;
    let entries: Vec<UserFileEntry> =
        serde_json::from_str(&text).map_err(|error| invalid(error.to_string()))?;
    let mut seen = BTreeSet::new();
    let mut users = Vec::with_capacity(entries.len());
    for entry in entries {
        if entry.username.trim().is_empty() {
            return Err(invalid("a username is empty".into()));
        }
        if !seen.insert(entry.username.clone()) {
            return Err(invalid(format!(
                "username {:?} appears twice",
                entry.username
            )));
        }
        users.push(DevUser {
            id: entry.id.unwrap_or_else(|| stable_user_id(&entry.username)),
            username: entry.username,
            password: entry.password,
            roles: entry.roles,
        });
    }
    Ok(users)
}

/// Finds the user whose username and password both match, in constant time per
/// comparison (an unknown username still costs a password comparison).
pub(crate) fn authenticate<'a>(
    users: &'a [DevUser],
    username: &str,
    password: &str,
) -> Option<&'a DevUser> {
    let Some(user) = users.iter().find(|user| user.username == username) else {
        let _same_cost = constant_time_eq("not a user's password", password);
        return None;
    };
    constant_time_eq(&user.password, password).then_some(user)
}

/// The confidential client allowed the client_credentials grant.
#[derive(Clone)]
pub(crate) struct ServiceClient {
    pub(crate) secret: String,
    pub(crate) roles: Vec<String>,
}

impl fmt::Debug for ServiceClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceClient")
            .field("client_id", &SERVICE_CLIENT_ID)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

impl Default for ServiceClient {
    fn default() -> Self {
        Self {
            secret: DEFAULT_SERVICE_CLIENT_SECRET.to_owned(),
            roles: vec![SERVICE_ROLE.to_owned()],
        }
    }
}

impl ServiceClient {
    /// The service account's username, as Keycloak names it.
    pub(crate) fn username() -> String {
        format!("service-account-{SERVICE_CLIENT_ID}")
    }

    /// The service account's stable `sub`.
    pub(crate) fn subject() -> Uuid {
        stable_user_id(&Self::username())
    }

    pub(crate) fn secret_matches(&self, presented: &str) -> bool {
        constant_time_eq(&self.secret, presented)
    }
}

fn constant_time_eq(expected: &str, presented: &str) -> bool {
    bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_users_sign_in_with_their_own_password_only() {
        let users = default_users();
        assert_eq!(
            authenticate(&users, "alice", "alice").map(DevUser::username),
            Some("alice")
        );
        assert!(authenticate(&users, "alice", "bob").is_none());
        assert!(authenticate(&users, "mallory", "mallory").is_none());
    }

    #[test]
    fn user_ids_are_stable_and_distinct() {
        assert_eq!(stable_user_id("alice"), stable_user_id("alice"));
        assert_ne!(stable_user_id("alice"), stable_user_id("bob"));
        assert_eq!(default_users()[0].id(), stable_user_id("alice"));
    }

    #[test]
    fn debug_output_never_shows_passwords_or_secrets() {
        let user = DevUser::new("carol", "hunter2-secret", &["buyer"]);
        assert!(!format!("{user:?}").contains("hunter2"));
        assert!(!format!("{:?}", ServiceClient::default()).contains(DEFAULT_SERVICE_CLIENT_SECRET));
    }
}
