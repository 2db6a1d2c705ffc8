//! Parsing a JSON request body into its type, every refusal a 400 `malformed_body` problem
//! naming what is wrong.
//!
//! Guarantees:
//! - not JSON, a syntax error, trailing data, a wrong type, a missing field → naming the field
//!   (`items/0/quantity`) when serde can tell;
//! - members the body's type does not know → one `unknown_field` error per member
//!   (`discount`, `items/0/colour`, `items/1/colour`…), every one of them up to
//!   [`MAX_NAMED_UNKNOWN`] (the detail counts the rest), whatever the type declares: they are
//!   found here (`serde_ignored`), so a body type needs no `deny_unknown_fields`. A body that
//!   also breaks its type names the unknown members found before the break, then the break.

use axum::http::StatusCode;
use orderflow_domain::FieldError;
use serde::de::DeserializeOwned;

use crate::problem::Problem;

/// The most unknown members one refusal names (a 64 KiB body holds thousands).
pub(crate) const MAX_NAMED_UNKNOWN: usize = 100;

/// 400 `malformed_body`.
pub(super) fn malformed(detail: impl Into<String>) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "malformed_body",
        "Malformed request body",
        detail,
    )
}

/// Deserializes `bytes` as one JSON document into `T`, refusing members `T` does not know.
pub(super) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut unknown = UnknownMembers::default();
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let mut note_unknown = |path: serde_ignored::Path<'_>| unknown.note(&path);
    let parsed = serde_path_to_error::deserialize(serde_ignored::Deserializer::new(
        &mut deserializer,
        &mut note_unknown,
    ));
    let value = match parsed {
        Ok(value) => value,
        Err(error) => {
            let path = pointer_of(error.path());
            return Err(unknown.with(problem_for(error.into_inner(), path)));
        }
    };
    deserializer
        .end()
        .map_err(|error| malformed(format!("the body is not valid JSON: {error}")))?;
    match unknown.refusal() {
        Some(problem) => Err(problem),
        None => Ok(value),
    }
}

/// The members a body's type ignored, as paths (`items/0/colour`).
#[derive(Debug, Default)]
struct UnknownMembers {
    named: Vec<String>,
    count: usize,
}

impl UnknownMembers {
    fn note(&mut self, path: &serde_ignored::Path<'_>) {
        self.count += 1;
        if self.named.len() < MAX_NAMED_UNKNOWN {
            self.named.push(ignored_pointer(path));
        }
    }

    fn errors(&self) -> Vec<FieldError> {
        self.named
            .iter()
            .map(|path| FieldError::new(path.clone(), "unknown_field", "unknown field"))
            .collect()
    }

    /// A refusal naming every unknown member, if there was one.
    fn refusal(&self) -> Option<Problem> {
        if self.count == 0 {
            return None;
        }
        let mut detail = format!("unknown members: {}", self.named.join(", "));
        if self.count > self.named.len() {
            detail.push_str(&format!(" and {} more", self.count - self.named.len()));
        }
        Some(malformed(detail).with_errors(self.errors()))
    }

    /// `problem` (a body that broke its type), naming the unknown members met before.
    fn with(&self, problem: Problem) -> Problem {
        if self.count == 0 {
            return problem;
        }
        let mut errors = self.errors();
        errors.extend(problem.errors().iter().cloned());
        problem.with_errors(errors)
    }
}

/// A path as serde_ignored reports it, written as the domain writes paths.
fn ignored_pointer(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    let mut segments = Vec::new();
    let mut at = path;
    loop {
        at = match at {
            Path::Root => break,
            Path::Seq { parent, index } => {
                segments.push(index.to_string());
                parent
            }
            Path::Map { parent, key } => {
                segments.push(key.clone());
                parent
            }
            Path::Some { parent }
            | Path::NewtypeStruct { parent }
            | Path::NewtypeVariant { parent } => parent,
        };
    }
    segments.reverse();
    segments.join("/")
}

/// `items[0].quantity` as the domain writes paths: `items/0/quantity` (root: empty).
fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|segment| match segment {
            Segment::Seq { index } => Some(index.to_string()),
            Segment::Map { key } => Some(key.clone()),
            Segment::Enum { variant } => Some(variant.clone()),
            Segment::Unknown => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn problem_for(error: serde_json::Error, path: String) -> Problem {
    use serde_json::error::Category;
    match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            malformed(format!("the body is not valid JSON: {error}"))
        }
        Category::Data => {
            let full = error.to_string();
            let message = match full.rfind(" at line ") {
                Some(end) if error.line() > 0 => full[..end].to_owned(),
                _ => full,
            };
            let (path, code) = if let Some(field) = missing_field_name(&message) {
                (join(&path, field), "missing_field")
            } else if message.starts_with("unknown field `") {
                // The path already ends with the unknown member's name.
                (path, "unknown_field")
            } else if message.starts_with("invalid type") {
                (path, "invalid_type")
            } else {
                (path, "invalid_value")
            };
            let detail = if path.is_empty() {
                format!("the body does not fit: {message}")
            } else {
                format!("{path}: {message}")
            };
            malformed(detail).with_errors(vec![FieldError::new(path, code, message)])
        }
    }
}

/// `missing field `currency`` → `currency`.
fn missing_field_name(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
}

fn join(parent: &str, field: &str) -> String {
    if parent.is_empty() {
        field.to_owned()
    } else {
        format!("{parent}/{field}")
    }
}

#[cfg(test)]
mod tests {
    use orderflow_domain::RawOrder;

    use super::*;

    #[test]
    fn a_wrong_type_names_its_field() {
        let body = br#"{"currency":"EUR","items":[{"sku":"A","name":"B","quantity":"two","unitPrice":"1.00"}]}"#;
        let problem = parse::<RawOrder>(body).unwrap_err();
        assert_eq!(problem.status(), StatusCode::BAD_REQUEST);
        assert_eq!(problem.errors()[0].path, "items/0/quantity");
        assert_eq!(problem.errors()[0].code, "invalid_type");
    }

    #[test]
    fn a_missing_field_names_the_field() {
        let problem = parse::<RawOrder>(br#"{"items":[]}"#).unwrap_err();
        assert_eq!(problem.errors()[0].path, "currency");
        assert_eq!(problem.errors()[0].code, "missing_field");
        let problem =
            parse::<RawOrder>(br#"{"currency":"EUR","items":[{"sku":"A"}]}"#).unwrap_err();
        assert_eq!(problem.errors()[0].path, "items/0/name");
    }

    #[test]
    fn an_unknown_member_is_refused_and_named_with_its_path() {
        let body = br#"{"currency":"EUR","discount":"100%","items":[]}"#;
        let problem = parse::<RawOrder>(body).unwrap_err();
        assert_eq!(problem.status(), StatusCode::BAD_REQUEST);
        assert_eq!(problem.errors()[0].path, "discount");
        assert_eq!(problem.errors()[0].code, "unknown_field");
        let body = br#"{"currency":"EUR","items":[{"sku":"A","name":"B","quantity":1,"unitPrice":"1.00","unitPriceOverride":"0.01"}]}"#;
        let problem = parse::<RawOrder>(body).unwrap_err();
        assert_eq!(problem.errors()[0].path, "items/0/unitPriceOverride");
        assert_eq!(problem.errors()[0].code, "unknown_field");
    }

    /// Each field error of `problem`: its path and code.
    fn named(problem: &Problem) -> Vec<(&str, &'static str)> {
        problem
            .errors()
            .iter()
            .map(|error| (error.path.as_str(), error.code))
            .collect()
    }

    #[test]
    fn every_unknown_member_is_named_at_every_depth() {
        let body = br#"{"currency":"EUR","discount":"100%","items":[{"sku":"A","name":"B","quantity":1,"unitPrice":"1.00","colour":"red"},{"sku":"C","name":"D","quantity":1,"unitPrice":"1.00","colour":"blue","size":{"x":1}}],"coupon":null}"#;
        let problem = parse::<RawOrder>(body).unwrap_err();
        assert_eq!(problem.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            named(&problem),
            [
                ("discount", "unknown_field"),
                ("items/0/colour", "unknown_field"),
                ("items/1/colour", "unknown_field"),
                ("items/1/size", "unknown_field"),
                ("coupon", "unknown_field"),
            ]
        );
        assert!(problem.detail().contains("items/1/size"), "{problem:?}");
    }

    #[test]
    fn unknown_members_beside_a_broken_field_are_named_with_it() {
        let body = br#"{"currency":"EUR","discount":"100%","items":[{"sku":"A","name":"B","quantity":"two","unitPrice":"1.00"}]}"#;
        let problem = parse::<RawOrder>(body).unwrap_err();
        assert_eq!(
            named(&problem),
            [
                ("discount", "unknown_field"),
                ("items/0/quantity", "invalid_type")
            ]
        );
    }

    #[test]
    fn a_body_of_thousands_of_unknown_members_names_a_bounded_number() {
        let mut body = String::from(r#"{"currency":"EUR","items":[]"#);
        for member in 0..5_000 {
            body.push_str(&format!(r#","m{member}":0"#));
        }
        body.push('}');
        let problem = parse::<RawOrder>(body.as_bytes()).unwrap_err();
        assert_eq!(problem.errors().len(), MAX_NAMED_UNKNOWN);
        assert!(
            problem.detail().ends_with(" and 4900 more"),
            "{}",
            problem.detail()
        );
    }

    #[test]
    fn syntax_errors_and_trailing_data_are_malformed() {
        for body in [
            &b"{"[..],
            b"not json",
            b"",
            br#"{"currency":"EUR","items":[]} x"#,
        ] {
            let problem = parse::<RawOrder>(body).unwrap_err();
            assert_eq!(problem.code(), "malformed_body");
        }
    }
}
