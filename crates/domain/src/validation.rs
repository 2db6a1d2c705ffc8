//! Field-level validation errors, collected all at once.
//!
//! Guarantees: a [`ValidationErrors`] is never empty; every [`FieldError`] names the field by
//! a JSON-pointer-like path into the request body (`currency`, `items`, `items/0/unitPrice`),
//! carries a stable machine code (`too_many_decimals`) and a message meant for people. The HTTP
//! layer can serialize the list as is into a problem+json body.

use std::fmt;

use serde::Serialize;

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Where in the request: `currency`, `items`, `items/3/quantity`, `reason`.
    pub path: String,
    /// Stable machine code, such as `too_many_decimals`.
    pub code: &'static str,
    /// What is wrong, for people.
    pub message: String,
}

impl FieldError {
    /// A field error from its parts.
    pub fn new(path: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            path: path.into(),
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.path, self.message, self.code)
    }
}

/// Every invalid field of one request (at least one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid input: {}", list(.errors))]
pub struct ValidationErrors {
    errors: Vec<FieldError>,
}

fn list(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl ValidationErrors {
    /// `None` when there is nothing to report.
    pub fn from_errors(errors: Vec<FieldError>) -> Option<ValidationErrors> {
        if errors.is_empty() {
            return None;
        }
        Some(ValidationErrors { errors })
    }

    /// Exactly one invalid field.
    pub fn single(error: FieldError) -> ValidationErrors {
        ValidationErrors {
            errors: vec![error],
        }
    }

    /// The invalid fields, in the order of the request.
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// Takes the list out.
    pub fn into_errors(self) -> Vec<FieldError> {
        self.errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_list_is_not_a_validation_error() {
        assert_eq!(ValidationErrors::from_errors(Vec::new()), None);
    }

    #[test]
    fn the_message_lists_every_field() {
        let errors = ValidationErrors::from_errors(vec![
            FieldError::new("currency", "unknown_currency", "`ABC` is not a currency"),
            FieldError::new("items/0/quantity", "zero", "a quantity must be at least 1"),
        ])
        .expect("non-empty");
        assert_eq!(
            errors.to_string(),
            "invalid input: currency: `ABC` is not a currency (unknown_currency); \
             items/0/quantity: a quantity must be at least 1 (zero)"
        );
    }

    #[test]
    fn field_errors_serialize_as_path_code_message() {
        let json = serde_json::to_value(FieldError::new("items", "too_few_items", "none"))
            .expect("serialize");
        assert_eq!(
            json,
            serde_json::json!({"path": "items", "code": "too_few_items", "message": "none"})
        );
    }
}
