//! Leases: one holder of a named job across every instance of a deployment
//! (the outbox publishers, so that a cluster of orders services publishes
//! each stored event once instead of once per instance).
//!
//! Guarantees an adapter gives: [`Leases::acquire`] returns only once this
//! process holds the lease, and waits (never fails) while another holds it;
//! at most one [`Lease`] per name is held at a time while the adapter's
//! backend works; [`Lease::lost`] resolves once the lease may have passed to
//! someone else (the backend connection broke), after which the holder must
//! stop the job. Dropping a lease releases it.
//!
//! What it does not promise: that two holders never overlap by a moment
//! (the old one notices the loss only at its next check), so leased jobs stay
//! at-least-once and idempotent, as every subscription is.

use async_trait::async_trait;

/// Hands out leases by name.
#[async_trait]
pub trait Leases: Send + Sync {
    /// Waits until this process holds the lease `name`.
    async fn acquire(&self, name: &str) -> Box<dyn Lease>;
}

/// A held lease; dropping it releases it.
#[async_trait]
pub trait Lease: Send {
    /// Resolves when the lease may have been lost.
    async fn lost(&mut self);
}
