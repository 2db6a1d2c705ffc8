//! The health probes of the components that have no event store: `orderflow push-hub`
//! (ready once its broker subscription is in place) and `orderflow idp` (ready once its
//! signing key is loaded), in server mode on RabbitMQ.

use std::time::Duration;

use crate::support::{ServerMode, http};

/// `GET url`'s status and body.
async fn probe(url: &str) -> (u16, serde_json::Value) {
    let response = http().get(url).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

/// Polls `/health/ready` of `base` until it answers 200 (the hub subscribes in the
/// background); fails after 10 s.
async fn eventually_ready(base: &str) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = probe(&format!("{base}/health/ready")).await;
        if status == 200 {
            return body;
        }
        assert_eq!(status, 503, "not ready is a 503: {body}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "{base} not ready within 10 s: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn push_hub_and_idp_answer_live_and_ready() {
    let deployment = ServerMode::new().await;
    let hub = deployment.start("push-hub", "127.0.0.1:0").await;
    for base in [deployment.idp.url(""), hub.url("")] {
        let (status, body) = probe(&format!("{base}/health/live")).await;
        assert_eq!((status, &body["status"]), (200, &"live".into()), "{base}");
        let body = eventually_ready(&base).await;
        assert_eq!(body["status"], "ready", "{base}");
    }
    deployment.finish().await;
}
