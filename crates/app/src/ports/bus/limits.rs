//! The limits every adapter relies on: AMQP carries routing keys, kinds,
//! header names and queue names as short strings (at most 255 bytes).

use super::BusError;

/// The longest routing key, kind or queue name AMQP can carry (a short string).
pub const MAX_NAME_LEN: usize = 255;

pub(super) fn check_name(what: &str, value: &str, may_be_empty: bool) -> Result<(), BusError> {
    if !may_be_empty && value.is_empty() {
        return Err(BusError::Invalid(format!("{what} is empty")));
    }
    if value.len() > MAX_NAME_LEN {
        return Err(BusError::Invalid(format!(
            "{what} is {} bytes long, at most {MAX_NAME_LEN} allowed",
            value.len()
        )));
    }
    Ok(())
}
