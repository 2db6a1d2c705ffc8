//! `openapi.json` holds: it is valid OpenAPI 3.1 (by `openapi-spec-validator`,
//! a validator nobody here wrote), it names every route the routers serve and
//! nothing else, and — through [`assert_conforms`], which
//! `TestApp::send` calls on every answer of every API test — each answer's
//! status is documented for its operation and its body validates against the
//! schema documented for that status and media type.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use orderflow_http::OPENAPI_JSON;
use orderflow_testkit::openapi::Received;
use serde_json::{Value, json};

use crate::support::{Answer, TestApp};

pub(crate) fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| serde_json::from_str(OPENAPI_JSON).unwrap())
}

/// [`orderflow_testkit::openapi::assert_conforms`] on one of the API tests'
/// answers.
pub(crate) fn assert_conforms(method: &str, path: &str, answer: &Answer) {
    let received = Received {
        status: answer.status,
        content_type: answer.header("content-type"),
        body: &answer.body,
    };
    orderflow_testkit::openapi::assert_conforms(document(), method, path, received);
}

#[tokio::test]
async fn the_document_is_valid_openapi_3_1() {
    let python = orderflow_testkit::python::interpreter().await;
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
    let output = tokio::process::Command::new(python)
        .args(["-m", "openapi_spec_validator", file])
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "openapi-spec-validator refused openapi.json:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(document()["openapi"], "3.1.0");
}

/// The paths given to `.route(` in `source`, up to its tests.
fn routed_paths(source: &str) -> BTreeSet<String> {
    let source = source.split("#[cfg(test)]").next().unwrap();
    source
        .split(".route(")
        .skip(1)
        .filter_map(|call| {
            let literal = call.trim_start().strip_prefix('"')?;
            Some(literal[..literal.find('"')?].to_owned())
        })
        .collect()
}

#[test]
fn the_document_names_exactly_the_routes_the_routers_serve() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut served = BTreeSet::new();
    for file in ["http/src/router.rs", "orderflow/src/prometheus.rs"] {
        let source = std::fs::read_to_string(format!("{root}/{file}")).unwrap();
        served.extend(routed_paths(&source));
    }
    assert!(served.contains("/orders/{id}/confirm"), "{served:?}");
    let documented: BTreeSet<String> = document()["paths"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(documented, served);
}

#[tokio::test]
async fn the_document_is_served_as_written() {
    let app = TestApp::spawn().await;
    let answer = app.send(app.http.get(app.url("/openapi.json"))).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(&answer.body, document());
}

#[test]
fn a_body_that_breaks_the_schema_is_caught() {
    let answer = Answer {
        status: 201,
        headers: [(
            reqwest::header::CONTENT_TYPE,
            "application/json".parse().unwrap(),
        )]
        .into_iter()
        .collect(),
        body: json!({ "id": "not-a-uuid", "status": "shipped" }),
    };
    let caught = std::panic::catch_unwind(|| assert_conforms("POST", "/orders", &answer));
    let message = caught.unwrap_err();
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("does not match the OpenAPI document"),
        "{message}"
    );
}
