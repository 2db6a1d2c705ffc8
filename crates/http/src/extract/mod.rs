//! Extractors of the orders API. Guarantees: every refusal is a [`crate::Problem`], never one
//! of axum's plain-text rejections.

mod caller;
mod idempotency;
mod json;
mod json_parse;
mod order_id;

pub use caller::Caller;
pub use idempotency::{IDEMPOTENCY_KEY_HEADER, IdempotencyKeyHeader};
pub use json::{JsonBody, MAX_BODY_BYTES, OptionalJsonBody};
pub use order_id::OrderIdPath;
