//! Every kind of bad body gets its documented 4xx as problem+json, never a 5xx, and writes
//! nothing: syntax and shape → 400, rule violations → 422 with the field list, oversize → 413,
//! another media type → 415.

use serde_json::{Value, json};

use crate::support::{Answer, TestApp, coffee_order};

/// A one-line order with `line` merged over the contract's line.
fn order_with_line(changes: Value) -> Value {
    let mut order = coffee_order();
    for (name, value) in changes.as_object().unwrap() {
        order["items"][0][name] = value.clone();
    }
    order
}

async fn post_raw(app: &TestApp, content_type: &str, body: impl Into<reqwest::Body>) -> Answer {
    let alice = app.token("alice").await;
    app.send(
        app.http
            .post(app.url("/orders"))
            .bearer_auth(alice)
            .header("content-type", content_type)
            .body(body),
    )
    .await
}

async fn post_order(app: &TestApp, body: &Value) -> Answer {
    let alice = app.token("alice").await;
    app.post_json("/orders", &alice, body).await
}

/// Asserts a 422 whose field list names `path` with `code`.
fn assert_invalid_field(answer: &Answer, path: &str, code: &str) {
    let body = answer.assert_problem(422);
    assert_eq!(body["code"], "validation_failed");
    let errors = body["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|error| error["path"] == path && error["code"] == code),
        "expected {path}/{code} in {errors:?}"
    );
}

/// Asserts a 400 `malformed_body`; returns the problem's body.
fn assert_malformed(answer: &Answer) -> &Value {
    let body = answer.assert_problem(400);
    assert_eq!(body["code"], "malformed_body");
    body
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_bad_request() {
    let app = TestApp::spawn().await;
    for body in [
        "currency=EUR",
        "{",
        "",
        "{\"currency\":\"EUR\"} trailing",
        "null",
    ] {
        assert_malformed(&post_raw(&app, "application/json", body).await);
    }
}

#[tokio::test]
async fn a_value_of_the_wrong_type_is_a_bad_request_naming_the_field() {
    let app = TestApp::spawn().await;
    let answer = post_order(&app, &order_with_line(json!({ "quantity": "two" }))).await;
    let body = assert_malformed(&answer);
    assert_eq!(body["errors"][0]["path"], "items/0/quantity");
    assert_eq!(body["errors"][0]["code"], "invalid_type");

    let answer = post_order(&app, &json!({ "currency": 978, "items": [] })).await;
    assert_eq!(assert_malformed(&answer)["errors"][0]["path"], "currency");

    let answer = post_order(&app, &order_with_line(json!({ "unitPrice": 12.5 }))).await;
    assert_eq!(
        assert_malformed(&answer)["errors"][0]["path"],
        "items/0/unitPrice",
        "money is a decimal string, never a float"
    );
}

#[tokio::test]
async fn a_missing_field_is_a_bad_request_naming_the_field() {
    let app = TestApp::spawn().await;
    let answer = post_order(&app, &json!({ "items": coffee_order()["items"] })).await;
    let body = assert_malformed(&answer);
    assert_eq!(body["errors"][0]["path"], "currency");
    assert_eq!(body["errors"][0]["code"], "missing_field");

    let mut order = coffee_order();
    order["items"][0].as_object_mut().unwrap().remove("sku");
    let answer = post_order(&app, &order).await;
    assert_eq!(
        assert_malformed(&answer)["errors"][0]["path"],
        "items/0/sku"
    );
}

#[tokio::test]
async fn an_order_without_items_is_unprocessable() {
    let app = TestApp::spawn().await;
    let answer = post_order(&app, &json!({ "currency": "EUR", "items": [] })).await;
    assert_invalid_field(&answer, "items", "too_few_items");
}

#[tokio::test]
async fn a_zero_quantity_is_unprocessable() {
    let app = TestApp::spawn().await;
    let answer = post_order(&app, &order_with_line(json!({ "quantity": 0 }))).await;
    let body = answer.assert_problem(422);
    assert_eq!(body["errors"][0]["path"], "items/0/quantity");
}

#[tokio::test]
async fn a_negative_quantity_is_unprocessable() {
    let app = TestApp::spawn().await;
    let answer = post_order(&app, &order_with_line(json!({ "quantity": -2 }))).await;
    let body = answer.assert_problem(422);
    assert_eq!(body["errors"][0]["path"], "items/0/quantity");
}

#[tokio::test]
async fn a_negative_price_is_unprocessable() {
    let app = TestApp::spawn().await;
    let answer = post_order(&app, &order_with_line(json!({ "unitPrice": "-12.50" }))).await;
    let body = answer.assert_problem(422);
    assert_eq!(body["errors"][0]["path"], "items/0/unitPrice");
}

#[tokio::test]
async fn a_price_with_more_decimals_than_the_currency_is_unprocessable() {
    let app = TestApp::spawn().await;
    let answer = post_order(&app, &order_with_line(json!({ "unitPrice": "12.505" }))).await;
    assert_invalid_field(&answer, "items/0/unitPrice", "too_many_decimals");
}

#[tokio::test]
async fn an_unknown_currency_is_unprocessable() {
    let app = TestApp::spawn().await;
    let mut order = coffee_order();
    order["currency"] = json!("XYZ");
    let answer = post_order(&app, &order).await;
    let body = answer.assert_problem(422);
    assert_eq!(body["errors"][0]["path"], "currency");
}

#[tokio::test]
async fn huge_numbers_are_refused_without_a_server_error() {
    let app = TestApp::spawn().await;
    // Not an i64 at all: refused by the parser.
    for quantity in ["1e30", "99999999999999999999", "2.5"] {
        let body = format!(
            r#"{{"currency":"EUR","items":[{{"sku":"SKU-1","name":"Coffee","quantity":{quantity},"unitPrice":"1.00"}}]}}"#
        );
        let answer = post_raw(&app, "application/json", body).await;
        assert_eq!(
            assert_malformed(&answer)["errors"][0]["path"],
            "items/0/quantity",
            "{quantity}"
        );
    }
    // Valid JSON, but beyond what the domain accepts: refused by validation.
    let answer = post_order(
        &app,
        &order_with_line(json!({ "quantity": 1_000_000_000_i64 })),
    )
    .await;
    answer.assert_problem(422);
    let answer = post_order(
        &app,
        &order_with_line(json!({ "unitPrice": "99999999999999999999" })),
    )
    .await;
    answer.assert_problem(422);
    let answer = post_order(
        &app,
        &order_with_line(json!({ "unitPrice": "90000000000000000.00", "quantity": 10_000 })),
    )
    .await;
    answer.assert_problem(422);
}

#[tokio::test]
async fn more_than_a_hundred_items_is_unprocessable() {
    let app = TestApp::spawn().await;
    let line = coffee_order()["items"][0].clone();
    let order = json!({ "currency": "EUR", "items": vec![line; 101] });
    let answer = post_order(&app, &order).await;
    assert_invalid_field(&answer, "items", "too_many_items");
}

#[tokio::test]
async fn a_body_over_64_kib_is_too_large() {
    let app = TestApp::spawn().await;
    let mut order = coffee_order();
    order["padding"] = json!("x".repeat(70 * 1024));
    let answer = post_order(&app, &order).await;
    assert_eq!(answer.assert_problem(413)["code"], "body_too_large");

    // Streamed in chunks without a Content-Length, it is cut at the limit all the same.
    let alice = app.token("alice").await;
    let body = serde_json::to_vec(&order).unwrap();
    let mut request = format!(
        "POST /orders HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {alice}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n",
        app.base_url.trim_start_matches("http://")
    )
    .into_bytes();
    for chunk in body.chunks(8 * 1024) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let answer = raw_exchange(&app, &request).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{answer}"
    );
}

/// Writes `request` on a fresh connection and reads the answer's head (lossy text).
async fn raw_exchange(app: &TestApp, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.base_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    // The server may answer (and close) before the whole body is written.
    let _ignored = stream.write_all(request).await;
    let mut answer = vec![0; 4096];
    let mut read = 0;
    while read < answer.len() {
        match stream.read(&mut answer[read..]).await {
            Ok(0) | Err(_) => break,
            Ok(n) => read += n,
        }
        if answer[..read]
            .windows(4)
            .any(|window| window == b"\r\n\r\n")
        {
            break;
        }
    }
    String::from_utf8_lossy(&answer[..read]).into_owned()
}

#[tokio::test]
async fn a_body_of_another_media_type_is_unsupported() {
    let app = TestApp::spawn().await;
    let json_text = coffee_order().to_string();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let answer = post_raw(&app, content_type, json_text.clone()).await;
        assert_eq!(answer.assert_problem(415)["code"], "unsupported_media_type");
    }
    let alice = app.token("alice").await;
    let answer = app
        .send(
            app.http
                .post(app.url("/orders"))
                .bearer_auth(alice)
                .body(json_text),
        )
        .await;
    answer.assert_problem(415);
}

#[tokio::test]
async fn every_invalid_field_is_listed_at_once() {
    let app = TestApp::spawn().await;
    let order = json!({
        "currency": "XYZ",
        "items": [
            { "sku": "", "name": "Coffee", "quantity": 0, "unitPrice": "-1" },
            { "sku": "SKU-2", "name": "Tea", "quantity": 1, "unitPrice": "1.00" }
        ]
    });
    let answer = post_order(&app, &order).await;
    let errors = answer.assert_problem(422)["errors"]
        .as_array()
        .unwrap()
        .clone();
    assert!(errors.len() >= 4, "{errors:?}");
}

#[tokio::test]
async fn bad_bodies_on_the_other_writes_are_problems_too() {
    let app = TestApp::spawn().await;
    let id = app.place_order("alice").await;
    let alice = app.token("alice").await;

    let answer = app
        .post_json(&format!("/orders/{id}/subscribers"), &alice, &json!({}))
        .await;
    assert_eq!(
        assert_malformed(&answer)["errors"][0]["path"],
        "subscriberId"
    );
    let answer = app
        .post_json(
            &format!("/orders/{id}/subscribers"),
            &alice,
            &json!({ "subscriberId": "" }),
        )
        .await;
    answer.assert_problem(422);
    let answer = app
        .post_empty(&format!("/orders/{id}/subscribers"), &alice)
        .await;
    answer.assert_problem(415);

    let answer = app
        .post_json(
            &format!("/orders/{id}/cancel"),
            &alice,
            &json!({ "reason": 42 }),
        )
        .await;
    assert_malformed(&answer);
    let answer = app
        .post_json(
            &format!("/orders/{id}/cancel"),
            &alice,
            &json!({ "reason": "x".repeat(501) }),
        )
        .await;
    answer.assert_problem(422);
    assert_eq!(app.stream_length(&id).await, 2, "nothing was written");
}

#[tokio::test]
async fn an_invalid_idempotency_key_is_a_bad_request() {
    let app = TestApp::spawn().await;
    let alice = app.token("alice").await;
    let answer = app
        .send(
            app.http
                .post(app.url("/orders"))
                .bearer_auth(alice)
                .header("idempotency-key", "k".repeat(300))
                .json(&coffee_order()),
        )
        .await;
    assert_eq!(
        answer.assert_problem(400)["code"],
        "invalid_idempotency_key"
    );
}

#[tokio::test]
async fn an_unknown_member_is_a_bad_request_naming_it_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let mut with_discount = coffee_order();
    with_discount["discount"] = json!("100%");
    let answer = post_order(&app, &with_discount).await;
    let body = assert_malformed(&answer);
    assert_eq!(body["errors"][0]["path"], "discount");
    assert_eq!(body["errors"][0]["code"], "unknown_field");

    let answer = post_order(
        &app,
        &order_with_line(json!({ "unitPriceOverride": "0.01" })),
    )
    .await;
    let body = assert_malformed(&answer);
    assert_eq!(body["errors"][0]["path"], "items/0/unitPriceOverride");

    let id = app.place_order("alice").await;
    let alice = app.token("alice").await;
    for (path, body, member) in [
        ("cancel", json!({ "reason": "x", "refund": true }), "refund"),
        (
            "subscribers",
            json!({ "subscriberId": "bob", "role": "admin" }),
            "role",
        ),
    ] {
        let answer = app
            .post_json(&format!("/orders/{id}/{path}"), &alice, &body)
            .await;
        let problem = assert_malformed(&answer);
        assert_eq!(problem["errors"][0]["path"], member, "{problem}");
        assert_eq!(problem["errors"][0]["code"], "unknown_field");
    }
    assert_eq!(app.stream_length(&id).await, 2, "nothing was written");
}
