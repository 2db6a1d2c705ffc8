//! What the API writes to the log while it serves: no credential from a URL, and no
//! ERROR for a client's mistake (a lost race, a bad request, a refused token).

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::MakeWriter;

use crate::support::{TestApp, coffee_order};

/// Everything logged on this test's thread, as text.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// Logs at DEBUG into a buffer for as long as the guard lives (a `#[tokio::test]` runs
/// the server on this very thread).
fn capture_logs() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(captured.clone())
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

const SECRET: &str = "s3cr3t-token-value";

#[tokio::test]
async fn an_access_token_in_a_query_string_never_reaches_the_log() {
    let app = TestApp::spawn().await;
    let alice = app.token("alice").await;
    let id = app.place_order("alice").await;
    let (captured, _guard) = capture_logs();
    for path in [
        format!("/orders/{id}?access_token={SECRET}"),
        format!("/orders?status=pending&access_token={SECRET}&q=coffee"),
        format!("/api/orders?Access_Token={SECRET}"),
        format!("/nowhere?x=1&access%5Ftoken={SECRET}"),
    ] {
        // Sent raw: some of these paths are not the API's (not held to its document).
        let request = app.http.get(app.url(&path)).bearer_auth(&alice);
        request.send().await.unwrap();
    }
    let text = captured.text();
    assert!(
        text.contains("access_token=REDACTED"),
        "the URI is not logged: {text}"
    );
    assert!(!text.contains(SECRET), "a token reached the log:\n{text}");
}

#[tokio::test]
async fn client_errors_are_never_logged_as_errors() {
    let app = TestApp::spawn().await;
    let id = app.place_order("alice").await;
    let admin = app.token("admin").await;
    let alice = app.token("alice").await;
    let (captured, _guard) = capture_logs();

    let path = format!("/orders/{id}/confirm");
    let answers = futures::future::join_all((0..16).map(|_| app.post_empty(&path, &admin))).await;
    assert!(answers.iter().any(|answer| answer.status == 409));
    assert_eq!(app.post_empty(&path, &admin).await.status, 409);
    assert_eq!(app.post_empty(&path, &alice).await.status, 403);
    assert_eq!(app.post_empty(&path, "junk").await.status, 401);
    assert_eq!(app.get("/orders/not-a-uuid", &alice).await.status / 100, 4);
    let bad = app
        .post_json("/orders", &alice, &serde_json::json!({"currency": 1}))
        .await;
    assert_eq!(bad.status / 100, 4);
    let ok = app.post_json("/orders", &alice, &coffee_order()).await;
    assert_eq!(ok.status, 201);

    let text = captured.text();
    let errors: Vec<&str> = text
        .lines()
        .filter(|line| line.contains(" ERROR "))
        .collect();
    assert!(
        errors.is_empty(),
        "client errors logged as errors:\n{}",
        errors.join("\n")
    );
    assert!(
        text.contains("409"),
        "the answers are not logged at all: {text}"
    );
}
