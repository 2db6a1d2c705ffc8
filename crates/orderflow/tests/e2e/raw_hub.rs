//! A raw SignalR client of the push hub over a WebSocket (tokio-tungstenite), for what the
//! official clients do not show: the invocation frames exactly as they arrive on the wire
//! (the JSON hub protocol), `headers` included. It negotiates (version 1), connects, does
//! the JSON handshake, and answers each `PushUpdate` as a client with results does.

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::support::http;

/// The SignalR record separator.
const RS: char = '\u{1e}';

/// How long a frame may take to arrive.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

pub struct RawHubClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Records received but not looked at yet.
    received: std::collections::VecDeque<Value>,
}

impl RawHubClient {
    /// Negotiates at `hub_url` (`http://…/hubs/push-updates`) with `token`, opens the
    /// WebSocket and completes the JSON handshake.
    pub async fn connect(hub_url: &str, token: &str) -> Self {
        let negotiated: Value = http()
            .post(format!("{hub_url}/negotiate?negotiateVersion=1"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        let connection_token = negotiated["connectionToken"].as_str().unwrap();
        let url = format!(
            "{}?id={connection_token}",
            hub_url.replacen("http", "ws", 1)
        );
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        let (socket, _response) = tokio_tungstenite::connect_async(request).await.unwrap();
        let mut client = RawHubClient {
            socket,
            received: std::collections::VecDeque::new(),
        };
        client.send(json!({"protocol": "json", "version": 1})).await;
        assert_eq!(client.next_record().await, json!({}), "handshake answer");
        client
    }

    async fn send(&mut self, record: Value) {
        self.socket
            .send(Message::text(format!("{record}{RS}")))
            .await
            .unwrap();
    }

    async fn next_record(&mut self) -> Value {
        loop {
            if let Some(record) = self.received.pop_front() {
                return record;
            }
            let frame = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("a frame from the hub in time")
                .expect("the hub's socket is open")
                .unwrap();
            if let Message::Text(text) = frame {
                for record in text.as_str().split_terminator(RS) {
                    self.received
                        .push_back(serde_json::from_str(record).unwrap());
                }
            }
        }
    }

    /// The next `PushUpdate` invocation whose argument has `type` `update_type`, as
    /// received; every `PushUpdate` on the way is answered (pings are skipped).
    pub async fn push_of_type(&mut self, update_type: &str) -> Value {
        loop {
            let record = self.next_record().await;
            if record["type"] != 1 || record["target"] != "PushUpdate" {
                continue;
            }
            if let Some(id) = record.get("invocationId") {
                let answer = json!({"type": 3, "invocationId": id, "result": {"by": "raw"}});
                self.send(answer).await;
            }
            if record["arguments"][0]["type"] == update_type {
                return record;
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}
