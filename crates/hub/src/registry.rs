//! Who is connected: user id → live connections, within per-user and global limits.
//!
//! Guarantees:
//! - a connection is listed only between the end of its handshake and the end of its task,
//!   so nothing is ever queued to a connection before its handshake was answered;
//! - a user holds at most [`crate::HubConfig::max_connections_per_user`] live connections and
//!   the hub at most [`crate::HubConfig::max_connections`]: one user's tabs never take
//!   another user's place except through the global bound;
//! - deregistering fails the connection's waiting invocations at once;
//! - a connection registered as seeing every order (an admin's) is also listed apart, so a
//!   push reaches it whoever it is for, until it is deregistered;
//! - once shutdown has begun, no connection is admitted any more.
//!
//! Locks are `std` mutexes held for map operations only, never across an `.await`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use crate::handle::ConnectionHandle;

#[derive(Debug, Default)]
struct RegistryState {
    by_user: HashMap<String, HashMap<String, Arc<ConnectionHandle>>>,
    /// The connections that see every order (admins'), by connection id.
    seeing_every_order: HashMap<String, Arc<ConnectionHandle>>,
    shutting_down: bool,
}

/// Why a connection is not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AdmissionRefused {
    /// Shutdown has begun.
    #[error("the hub is shutting down")]
    ShuttingDown,
    /// The user already has as many live connections as allowed.
    #[error("too many connections for this user; close another tab first")]
    UserFull,
    /// The hub has as many live connections as allowed.
    #[error("this hub has too many connections; retry shortly")]
    HubFull,
}

/// Every live connection, by user.
#[derive(Debug)]
pub(crate) struct Registry {
    state: Mutex<RegistryState>,
    /// The number of live connections, for shutdown to wait on.
    live: watch::Sender<usize>,
    max_connections: usize,
    max_per_user: usize,
}

impl Registry {
    pub(crate) fn new(max_connections: usize, max_per_user: usize) -> Self {
        Self {
            state: Mutex::new(RegistryState::default()),
            live: watch::Sender::new(0),
            max_connections,
            max_per_user,
        }
    }

    /// Whether a connection of `user_id` would be admitted now (checked again at
    /// [`Self::register`]).
    pub(crate) fn admits(&self, user_id: &str) -> Result<(), AdmissionRefused> {
        let state = self.lock();
        self.check(&state, user_id)
    }

    fn check(&self, state: &RegistryState, user_id: &str) -> Result<(), AdmissionRefused> {
        if state.shutting_down {
            return Err(AdmissionRefused::ShuttingDown);
        }
        if state.by_user.get(user_id).map_or(0, HashMap::len) >= self.max_per_user {
            return Err(AdmissionRefused::UserFull);
        }
        if *self.live.borrow() >= self.max_connections {
            return Err(AdmissionRefused::HubFull);
        }
        Ok(())
    }

    /// Lists a connection whose handshake is being answered; `sees_every_order` for an
    /// admin's, which every push reaches.
    pub(crate) fn register(
        &self,
        handle: Arc<ConnectionHandle>,
        sees_every_order: bool,
    ) -> Result<(), AdmissionRefused> {
        let mut state = self.lock();
        self.check(&state, &handle.id.user_id)?;
        if sees_every_order {
            state
                .seeing_every_order
                .insert(handle.id.connection_id.clone(), handle.clone());
        }
        let previous = state
            .by_user
            .entry(handle.id.user_id.clone())
            .or_default()
            .insert(handle.id.connection_id.clone(), handle);
        debug_assert!(previous.is_none(), "connection ids are unique");
        self.live.send_modify(|count| *count += 1);
        Ok(())
    }

    /// Removes an ended connection and fails its waiting invocations.
    pub(crate) fn deregister(&self, handle: &ConnectionHandle) {
        let removed = {
            let mut state = self.lock();
            let user_id = &handle.id.user_id;
            state.seeing_every_order.remove(&handle.id.connection_id);
            let removed = state
                .by_user
                .get_mut(user_id)
                .and_then(|connections| connections.remove(&handle.id.connection_id));
            if state.by_user.get(user_id).is_some_and(HashMap::is_empty) {
                state.by_user.remove(user_id);
            }
            removed.is_some()
        };
        handle.fail_pending();
        if removed {
            self.live
                .send_modify(|count| *count = count.saturating_sub(1));
        }
    }

    /// The live connections of `user_id`.
    pub(crate) fn connections_of(&self, user_id: &str) -> Vec<Arc<ConnectionHandle>> {
        self.lock()
            .by_user
            .get(user_id)
            .map(|connections| connections.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The live connections that see every order (admins').
    pub(crate) fn seeing_every_order(&self) -> Vec<Arc<ConnectionHandle>> {
        self.lock().seeing_every_order.values().cloned().collect()
    }

    /// How many connections are live.
    pub(crate) fn live_count(&self) -> usize {
        *self.live.borrow()
    }

    /// Refuses new connections from now on, and returns every live one.
    pub(crate) fn begin_shutdown(&self) -> Vec<Arc<ConnectionHandle>> {
        let mut state = self.lock();
        state.shutting_down = true;
        state
            .by_user
            .values()
            .flat_map(|connections| connections.values().cloned())
            .collect()
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.lock().shutting_down
    }

    /// Resolves when no connection is live any more.
    pub(crate) async fn all_closed(&self) {
        let mut live = self.live.subscribe();
        // An error means the sender is gone, which cannot happen while `self` lives.
        let _outcome = live.wait_for(|count| *count == 0).await;
    }

    fn lock(&self) -> MutexGuard<'_, RegistryState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HubConfig;
    use crate::handle::ConnectionMailbox;
    use crate::report::{ConnectionRef, FailureReason};

    fn handle(user: &str, connection: &str) -> (Arc<ConnectionHandle>, ConnectionMailbox) {
        let id = ConnectionRef {
            user_id: user.into(),
            connection_id: connection.into(),
        };
        ConnectionHandle::new(id, &HubConfig::default())
    }

    #[tokio::test]
    async fn an_ended_connection_answers_its_waiting_invocations_at_once() {
        let registry = Registry::new(10, 10);
        let (connection, _mailbox) = handle("alice", "c1");
        registry.register(connection.clone(), false).unwrap();
        let Ok(crate::handle::Invoked::Awaiting { completion, .. }) =
            connection.invoke("PushUpdate", "1", true)
        else {
            panic!("an awaited invocation");
        };
        registry.deregister(&connection);
        assert!(completion.await.is_err());
        assert_eq!(
            connection.invoke("PushUpdate", "2", true).unwrap_err(),
            FailureReason::Disconnected
        );
        assert!(registry.connections_of("alice").is_empty());
        assert_eq!(registry.live_count(), 0);
    }

    #[test]
    fn no_connection_is_admitted_once_shutdown_began() {
        let registry = Registry::new(10, 10);
        let (first, _first_mailbox) = handle("alice", "c1");
        registry.register(first, false).unwrap();
        assert_eq!(registry.begin_shutdown().len(), 1);
        let (second, _second_mailbox) = handle("alice", "c2");
        assert_eq!(
            registry.register(second, false),
            Err(AdmissionRefused::ShuttingDown)
        );
    }

    #[test]
    fn a_user_at_their_limit_is_refused_while_others_are_admitted_up_to_the_global_one() {
        let registry = Registry::new(3, 2);
        let mailboxes: Vec<_> = ["a1", "a2"]
            .into_iter()
            .map(|id| {
                let (connection, mailbox) = handle("alice", id);
                registry.register(connection, false).unwrap();
                mailbox
            })
            .collect();
        let (third, _third_mailbox) = handle("alice", "a3");
        assert_eq!(
            registry.register(third, false),
            Err(AdmissionRefused::UserFull)
        );
        assert_eq!(registry.admits("bob"), Ok(()));
        let (bob, _bob_mailbox) = handle("bob", "b1");
        registry.register(bob, false).unwrap();
        assert_eq!(registry.admits("carol"), Err(AdmissionRefused::HubFull));
        drop(mailboxes);
    }
}
