//! Holding HTTP answers to an OpenAPI 3.1 document: [`assert_conforms`]
//! checks that an answer's status is documented for its operation and that
//! its JSON body validates (JSON Schema 2020-12, formats included) against
//! the schema documented for that status and media type.
//!
//! Guarantees: a path or method the document does not have is not checked
//! (404 and 405 fallbacks are nobody's operation); anything else that
//! differs from the document fails the test with the answer in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

/// One answer as a test received it.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    pub body: &'a Value,
}

/// The documented path template `path` is an instance of (`/orders/{id}`
/// for `/orders/3f…`), if any.
pub fn template_of<'d>(document: &'d Value, path: &str) -> Option<&'d str> {
    let segments: Vec<&str> = path.split('/').collect();
    document["paths"]
        .as_object()?
        .keys()
        .find(|template| {
            let parts: Vec<&str> = template.split('/').collect();
            parts.len() == segments.len()
                && parts.iter().zip(&segments).all(|(part, segment)| {
                    part == segment || (part.starts_with('{') && !segment.is_empty())
                })
        })
        .map(String::as_str)
}

/// Follows a `$ref` to `#/components/…` once.
fn resolved<'d>(document: &'d Value, value: &'d Value) -> &'d Value {
    match value["$ref"].as_str() {
        Some(reference) => document
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling reference {reference}")),
        None => value,
    }
}

/// Asserts that `received`, the answer to `method path`, is what `document`
/// says (see the module header).
pub fn assert_conforms(document: &Value, method: &str, path: &str, received: Received<'_>) {
    let Some(template) = template_of(document, path) else {
        return;
    };
    let Some(operation) = document["paths"][template].get(method.to_lowercase()) else {
        return;
    };
    let status = received.status.to_string();
    let response = operation["responses"]
        .get(&status)
        .or_else(|| operation["responses"].get("default"))
        .unwrap_or_else(|| {
            panic!("{method} {template} answered {status}, which the OpenAPI document does not list: {received:?}")
        });
    let Some(content) = resolved(document, response).get("content") else {
        return;
    };
    let media_type = received
        .content_type
        .and_then(|value| value.split(';').next())
        .unwrap_or("");
    let schema = &content.get(media_type).unwrap_or_else(|| {
        panic!("{method} {template} {status} answered {media_type:?}, not documented: {received:?}")
    })["schema"];
    if !media_type.ends_with("json") {
        return;
    }
    let mut root = schema.clone();
    root["components"] = document["components"].clone();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|error| panic!("the schema of {method} {template} {status}: {error}"));
    let errors: Vec<String> = validator
        .iter_errors(received.body)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {template} {status} does not match the OpenAPI document: {errors:?}\n{received:?}"
    );
}
