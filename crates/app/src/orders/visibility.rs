//! Who may see an order: the one rule every read and write path calls.
//!
//! An order is visible to its buyer and to admins. To anyone else it does
//! not exist: reads and writes answer "not found", never "forbidden", so a
//! caller cannot probe which order ids exist. Lists and searches are scoped
//! the same way: an admin's cover every order, anyone else's only their own.

use orderflow_domain::UserId;

use crate::context::Actor;

/// Whether `actor` may see (and, role permitting, change) an order of `buyer_id`.
pub fn may_see(actor: &Actor, buyer_id: &str) -> bool {
    match own_orders_only(actor) {
        None => true,
        Some(own) => own.as_str() == buyer_id,
    }
}

/// The buyer a list or search of `actor` is locked to: `None` for an admin
/// (every order), the caller's own id for anyone else.
pub fn own_orders_only(actor: &Actor) -> Option<&UserId> {
    (!actor.is_admin).then_some(&actor.user_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(name: &str, is_admin: bool) -> Actor {
        Actor {
            user_id: UserId::parse(name).unwrap(),
            is_admin,
            is_buyer: !is_admin,
        }
    }

    #[test]
    fn a_buyer_sees_their_own_orders_only() {
        let alice = actor("alice", false);
        assert!(may_see(&alice, "alice"));
        assert!(!may_see(&alice, "bob"));
        assert_eq!(own_orders_only(&alice).map(UserId::as_str), Some("alice"));
    }

    #[test]
    fn an_admin_sees_every_order() {
        let admin = actor("admin", true);
        assert!(may_see(&admin, "alice"));
        assert_eq!(own_orders_only(&admin), None);
    }
}
