//! The listener's limits, driven by a raw TCP client: a trickled request head is cut
//! off at the header read timeout, an idle keep-alive connection is closed, and the
//! connection cap holds further clients back until a slot frees.

use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{get, post};
use orderflow_http::{ConnectionLimits, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const HEAD: &[u8] = b"GET /ok HTTP/1.1\r\nHost: test\r\n\r\n";

/// A listener serving `GET /ok` under `limits`; its address.
async fn listening(limits: ConnectionLimits) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = Router::new()
        .route("/ok", get(|| async { "ok" }))
        .route("/echo", post(|body: String| async move { body }));
    tokio::spawn(serve(listener, router, limits, std::future::pending()));
    address
}

fn limits(header_read_ms: u64, keep_alive_ms: u64, max_connections: usize) -> ConnectionLimits {
    ConnectionLimits {
        header_read_timeout: Duration::from_millis(header_read_ms),
        keep_alive_timeout: Duration::from_millis(keep_alive_ms),
        max_connections,
        ..ConnectionLimits::default()
    }
}

/// Reads until the server closes the connection (or `within` passes: `None`).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buffer = [0_u8; 1024];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| received)
}

/// Sends one request and reads its answer (the body is "ok").
async fn request_ok(stream: &mut TcpStream) {
    stream.write_all(HEAD).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0_u8; 1024];
    while !answer.ends_with(b"ok") {
        let n = stream.read(&mut buffer).await.unwrap();
        assert_ne!(n, 0, "closed before answering");
        answer.extend_from_slice(&buffer[..n]);
    }
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

#[tokio::test]
async fn a_head_trickled_one_byte_at_a_time_is_cut_off_at_the_header_read_timeout() {
    // The idle timeout is far away: every byte is activity, only the head's deadline counts.
    let address = listening(limits(1_000, 60_000, 16)).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    let started = Instant::now();
    let mut cut_off = false;
    for byte in HEAD.iter().cycle().take(40) {
        if stream.write_all(&[*byte]).await.is_err() {
            cut_off = true;
            break;
        }
        if let Some(received) = closed_within(&mut stream, Duration::from_millis(200)).await {
            assert!(received.is_empty() || !received.starts_with(b"HTTP/1.1 200"));
            cut_off = true;
            break;
        }
    }
    let elapsed = started.elapsed();
    assert!(
        cut_off,
        "the trickling client was still connected after {elapsed:?}"
    );
    assert!(
        elapsed >= Duration::from_millis(900),
        "cut off too early: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(3),
        "cut off too late: {elapsed:?}"
    );
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed() {
    let address = listening(limits(60_000, 500, 16)).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    let received = closed_within(&mut stream, Duration::from_secs(3)).await;
    assert_eq!(
        received,
        Some(Vec::new()),
        "an idle new connection was kept open"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let address = listening(limits(60_000, 500, 16)).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    request_ok(&mut stream).await;
    // Still usable within the timeout…
    tokio::time::sleep(Duration::from_millis(200)).await;
    request_ok(&mut stream).await;
    // …and closed once idle for longer.
    let started = Instant::now();
    let received = closed_within(&mut stream, Duration::from_secs(3)).await;
    assert_eq!(
        received,
        Some(Vec::new()),
        "the idle connection was kept open"
    );
    assert!(started.elapsed() >= Duration::from_millis(400));
}

#[tokio::test]
async fn clients_beyond_the_connection_cap_wait_for_a_free_slot() {
    let address = listening(limits(60_000, 60_000, 2)).await;
    let mut first = TcpStream::connect(address).await.unwrap();
    let mut second = TcpStream::connect(address).await.unwrap();
    request_ok(&mut first).await;
    request_ok(&mut second).await;

    // The kernel accepts the third connection, the server does not serve it…
    let mut third = TcpStream::connect(address).await.unwrap();
    third.write_all(HEAD).await.unwrap();
    let mut buffer = [0_u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buffer)).await;
    assert!(
        early.is_err(),
        "a third connection was served beside two open ones"
    );

    // …until one of the two closes.
    drop(first);
    let answered = tokio::time::timeout(Duration::from_secs(3), third.read(&mut buffer))
        .await
        .expect("the third connection was not served after a slot freed")
        .unwrap();
    assert!(buffer[..answered].starts_with(b"HTTP/1.1 200"));
}

/// Sends a request with one header of `bytes` bytes; the raw answer, read to the end.
async fn answer_to_header_of(address: std::net::SocketAddr, bytes: usize) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "GET /ok HTTP/1.1\r\nHost: test\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(bytes)
    );
    // The server may answer and close before it has read everything.
    let _ = stream.write_all(head.as_bytes()).await;
    let received = closed_within(&mut stream, Duration::from_secs(5)).await;
    String::from_utf8_lossy(&received.expect("the connection stayed open")).into_owned()
}

#[tokio::test]
async fn oversized_headers_are_a_431_problem_up_to_what_hyper_reads() {
    let address = listening(limits(10_000, 10_000, 16)).await;
    let fits = answer_to_header_of(address, orderflow_http::MAX_HEADER_BYTES - 100).await;
    assert!(fits.starts_with("HTTP/1.1 200"), "{fits}");

    let answer = answer_to_header_of(address, orderflow_http::MAX_HEADER_BYTES + 1).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(
        lower.contains("content-type: application/problem+json"),
        "{answer}"
    );
    assert!(answer.contains(r#""code":"headers_too_large""#), "{answer}");

    // Beyond hyper's own limit the 431 is hyper's: no body, and the connection closes.
    let answer = answer_to_header_of(address, orderflow_http::HYPER_MAX_HEADER_BYTES + 1).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_body_trickled_in_is_cut_off_at_the_request_deadline() {
    // Each byte is activity, so only the request's deadline ends this.
    let address = listening(ConnectionLimits {
        request_deadline: Duration::from_millis(1_000),
        ..limits(60_000, 60_000, 16)
    })
    .await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut answer = None;
    for _ in 0..40 {
        if stream.write_all(b"x").await.is_err() {
            break;
        }
        if let Some(received) = closed_within(&mut stream, Duration::from_millis(200)).await {
            answer = Some(String::from_utf8_lossy(&received).into_owned());
            break;
        }
    }
    let elapsed = started.elapsed();
    let answer = answer.expect("the trickling client was still connected");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
    assert!(
        elapsed < Duration::from_secs(3),
        "cut off too late: {elapsed:?}"
    );
}
