//! The upcaster chain: where an old stored event body is lifted to the current schema.
//!
//! Guarantees: [`upcast`] applies exactly one [`Upcaster`] per version step, in order
//! (v1 → v2 → v3 ...), and fails with a typed error when a step is missing, when a step fails,
//! or when the stored version is newer than the code. Stored events are never rewritten: old
//! bodies stay in the store and are lifted every time they are read.
//!
//! How to evolve an event type, say `OrderCancelled` gains a field in version 2:
//! 1. change the body and bump its version in `stored.rs` (`ORDER_CANCELLED_VERSION = 2`),
//! 2. add `Upcaster { event_type: "OrderCancelled", from_version: 1, upcast: cancelled_v1_to_v2 }`
//!    to [`UPCASTERS`], where `cancelled_v1_to_v2` rewrites a v1 JSON body into a v2 one,
//! 3. keep a v1 body in the tests and check it decodes.
//!
//! Today every event type is at version 1, so [`UPCASTERS`] is empty; the tests below run the
//! same chain with an example table.

use serde_json::Value;

use super::stored::EventDecodeError;

/// Rewrites a body of version `n` into a body of version `n + 1`.
pub type UpcastFn = fn(Value) -> Result<Value, EventDecodeError>;

/// One step of the chain: lifts `event_type` bodies from `from_version` to `from_version + 1`.
#[derive(Debug, Clone, Copy)]
pub struct Upcaster {
    /// The stored event type, such as `"OrderCancelled"`.
    pub event_type: &'static str,
    /// The version this step reads.
    pub from_version: u16,
    /// The rewrite.
    pub upcast: UpcastFn,
}

/// The upcasters production code runs. Empty: every event type is at its first version.
pub static UPCASTERS: &[Upcaster] = &[];

/// Lifts `data`, stored as `event_type` at `from_version`, to `to_version` using `table`.
pub fn upcast(
    table: &[Upcaster],
    event_type: &str,
    from_version: u16,
    to_version: u16,
    mut data: Value,
) -> Result<Value, EventDecodeError> {
    if from_version > to_version {
        return Err(EventDecodeError::FutureVersion {
            event_type: event_type.to_owned(),
            version: from_version,
            current: to_version,
        });
    }
    for version in from_version..to_version {
        let step = table
            .iter()
            .find(|step| step.event_type == event_type && step.from_version == version)
            .ok_or_else(|| EventDecodeError::MissingUpcaster {
                event_type: event_type.to_owned(),
                from_version: version,
            })?;
        data = (step.upcast)(data)?;
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Example v1 → v2: the field `note` was renamed `comment`.
    fn rename_note(mut data: Value) -> Result<Value, EventDecodeError> {
        let object = data
            .as_object_mut()
            .ok_or_else(|| EventDecodeError::UpcastFailed {
                event_type: "Example".to_owned(),
                from_version: 1,
                reason: "the body is not an object".to_owned(),
            })?;
        if let Some(note) = object.remove("note") {
            object.insert("comment".to_owned(), note);
        }
        Ok(data)
    }

    /// Example v2 → v3: `tags` became required, defaulting to none.
    fn add_tags(mut data: Value) -> Result<Value, EventDecodeError> {
        if let Some(object) = data.as_object_mut() {
            object.entry("tags").or_insert_with(|| json!([]));
        }
        Ok(data)
    }

    const EXAMPLE_TABLE: &[Upcaster] = &[
        Upcaster {
            event_type: "Example",
            from_version: 2,
            upcast: add_tags,
        },
        Upcaster {
            event_type: "Example",
            from_version: 1,
            upcast: rename_note,
        },
    ];

    #[test]
    fn an_old_body_is_lifted_one_version_at_a_time_to_the_current_one() {
        let lifted = upcast(EXAMPLE_TABLE, "Example", 1, 3, json!({"note": "hi"}));
        assert_eq!(lifted, Ok(json!({"comment": "hi", "tags": []})));
        let from_v2 = upcast(EXAMPLE_TABLE, "Example", 2, 3, json!({"comment": "hi"}));
        assert_eq!(from_v2, Ok(json!({"comment": "hi", "tags": []})));
    }

    #[test]
    fn a_current_body_passes_through_untouched() {
        let body = json!({"comment": "hi", "tags": ["x"]});
        assert_eq!(
            upcast(EXAMPLE_TABLE, "Example", 3, 3, body.clone()),
            Ok(body)
        );
        assert_eq!(
            upcast(UPCASTERS, "OrderCreated", 1, 1, json!({})),
            Ok(json!({}))
        );
    }

    #[test]
    fn a_missing_step_is_an_error_not_a_silent_pass() {
        let result = upcast(EXAMPLE_TABLE, "Other", 1, 2, json!({}));
        assert!(matches!(
            result,
            Err(EventDecodeError::MissingUpcaster {
                from_version: 1,
                ..
            })
        ));
    }

    #[test]
    fn a_failing_step_stops_the_chain() {
        let result = upcast(EXAMPLE_TABLE, "Example", 1, 3, json!("not an object"));
        assert!(matches!(result, Err(EventDecodeError::UpcastFailed { .. })));
    }

    #[test]
    fn a_version_newer_than_the_code_is_refused() {
        let result = upcast(EXAMPLE_TABLE, "Example", 4, 3, json!({}));
        assert!(matches!(
            result,
            Err(EventDecodeError::FutureVersion {
                version: 4,
                current: 3,
                ..
            })
        ));
    }
}
