//! The authenticated caller, as proven by a validated access token.
//!
//! A `Principal` only ever comes out of [`crate::TokenValidator::validate`]: holding one means
//! the token was signed by the trusted issuer, meant for this audience, and unexpired at the
//! time of validation.

use std::collections::BTreeSet;

use time::OffsetDateTime;

/// The role that lets a user search and confirm every order.
pub const ADMIN_ROLE: &str = "admin";
/// The role that lets a user place orders and see their own.
pub const BUYER_ROLE: &str = "buyer";
/// The role the dev issuer gives its service-to-service client by default.
pub const SERVICE_ROLE: &str = "service";

/// Who is calling, taken from a validated access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's `sub`: the stable user id (never empty).
    pub user_id: String,
    /// The token's `preferred_username`, for display only (it may change; `user_id` does not).
    pub username: Option<String>,
    /// Realm roles (`realm_access.roles`), or one client's roles when so configured.
    pub roles: BTreeSet<String>,
    /// The client the token was issued to (`azp`).
    pub client_id: Option<String>,
    /// When the token stops being valid (`exp`).
    pub expires_at: OffsetDateTime,
}

impl Principal {
    /// Whether the caller holds `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.contains(role)
    }

    /// Whether the caller holds the `admin` role.
    pub fn is_admin(&self) -> bool {
        self.has_role(ADMIN_ROLE)
    }

    /// Whether the caller holds the `buyer` role.
    pub fn is_buyer(&self) -> bool {
        self.has_role(BUYER_ROLE)
    }
}
