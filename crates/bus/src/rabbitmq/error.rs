//! How `lapin` errors become the port's [`BusError`]: a refusal by the broker
//! on a channel (precondition failed, not found, resource locked, access
//! refused) is `Rejected` and retrying will not help; anything else (I/O,
//! closed connection or channel, forced close, missed heartbeats) is
//! `Unavailable`, which the adapter and its callers retry.

use lapin::ErrorKind;
use lapin::protocol::{AMQPErrorKind, AMQPSoftError};
use orderflow_app::ports::bus::{BusCause, BusError};

pub(crate) fn from_lapin(context: &str, error: &lapin::Error) -> BusError {
    if let ErrorKind::ProtocolError(amqp) = error.kind()
        && let AMQPErrorKind::Soft(soft) = amqp.kind()
        && matches!(
            soft,
            AMQPSoftError::PRECONDITIONFAILED
                | AMQPSoftError::NOTFOUND
                | AMQPSoftError::RESOURCELOCKED
                | AMQPSoftError::ACCESSREFUSED
        )
    {
        return BusError::Rejected(format!("{context}: {}", amqp.get_message()));
    }
    BusError::Unavailable(BusCause::new(context, error.clone()))
}
