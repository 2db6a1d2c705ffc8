//! One HTTP/1.1 exchange over a worker's own keep-alive connection.
//!
//! Guarantees: a [`Connection`] holds at most one TCP connection and reuses it for every
//! request; it reconnects only when the server has closed it or an exchange failed (a
//! failed exchange leaves the connection in an unknown state, so it is dropped). Every
//! exchange — reconnecting included — is bounded by the timeout it is given, and reads the
//! whole response body, so the latency covers the full response.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::Error;
use crate::stats::ErrorKind;

/// Everything needed to build each request; cheap to turn into a [`Request`].
#[derive(Debug, Clone)]
pub struct RequestTemplate {
    /// HTTP method.
    pub method: Method,
    /// Origin-form target (`/orders`).
    pub path_and_query: Uri,
    /// Headers sent on every request, `Host` and `Authorization` included.
    pub headers: HeaderMap,
    /// Request body (shared, not copied, per request).
    pub body: Bytes,
    /// Header that gets a fresh UUID v4 on every request (idempotency keys).
    pub unique_header: Option<HeaderName>,
}

impl RequestTemplate {
    /// A new request from the template.
    pub fn build(&self) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.path_and_query.clone();
        *request.headers_mut() = self.headers.clone();
        if let Some(name) = &self.unique_header {
            let id = uuid::Uuid::new_v4().hyphenated().to_string();
            // A hyphenated UUID is always a valid header value.
            if let Ok(value) = HeaderValue::from_str(&id) {
                request.headers_mut().insert(name.clone(), value);
            }
        }
        request
    }
}

/// What came back from one exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exchange {
    /// Response status.
    pub status: StatusCode,
    /// Length of the response body.
    pub body_bytes: u64,
}

/// A worker's connection to the target; opened lazily, reopened when needed.
#[derive(Debug)]
pub struct Connection {
    addr: SocketAddr,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// Connections opened so far; more than one means keep-alive was broken.
    opened: u64,
}

impl Connection {
    /// A connection to `addr`, not opened yet.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            sender: None,
            opened: 0,
        }
    }

    /// How many TCP connections this has opened (1 when keep-alive held throughout).
    pub fn opened(&self) -> u64 {
        self.opened
    }

    /// Sends `request` and reads the whole response, within `timeout`.
    pub async fn exchange(
        &mut self,
        request: Request<Full<Bytes>>,
        timeout: Duration,
    ) -> Result<Exchange, ErrorKind> {
        match tokio::time::timeout(timeout, self.exchange_unbounded(request)).await {
            Ok(Ok(exchange)) => Ok(exchange),
            Ok(Err(kind)) => {
                self.sender = None;
                Err(kind)
            }
            Err(_elapsed) => {
                self.sender = None;
                Err(ErrorKind::Timeout)
            }
        }
    }

    async fn exchange_unbounded(
        &mut self,
        request: Request<Full<Bytes>>,
    ) -> Result<Exchange, ErrorKind> {
        let sender = self.ready_sender().await?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|_| ErrorKind::Io)?;
        let status = response.status();
        let mut body = response.into_body();
        let mut body_bytes = 0u64;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| ErrorKind::Io)?;
            if let Some(data) = frame.data_ref() {
                body_bytes += data.len() as u64;
            }
        }
        Ok(Exchange { status, body_bytes })
    }

    /// The open connection, ready for a request; reconnects if the server closed it.
    async fn ready_sender(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, ErrorKind> {
        if let Some(sender) = &mut self.sender
            && sender.ready().await.is_err()
        {
            // Closed by the server between requests (keep-alive timeout,
            // `Connection: close`): not a failed request, just reconnect.
            self.sender = None;
        }
        if self.sender.is_none() {
            let sender = open(self.addr).await.map_err(|_| ErrorKind::Connect)?;
            self.opened += 1;
            self.sender = Some(sender);
        }
        self.sender.as_mut().ok_or(ErrorKind::Connect)
    }
}

/// Opens a TCP connection with `TCP_NODELAY` and performs the HTTP/1.1 handshake.
///
/// The connection is driven by a spawned task that ends when the returned sender is
/// dropped and the connection has closed.
pub async fn open(addr: SocketAddr) -> io::Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(io::Error::other)?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "connection ended with an error");
        }
    });
    Ok(sender)
}

/// The first of `addrs` that accepts a connection within `timeout`.
pub async fn probe(addrs: &[SocketAddr], timeout: Duration) -> Result<SocketAddr, Error> {
    let mut last = None;
    for &addr in addrs {
        let attempt = tokio::time::timeout(timeout, TcpStream::connect(addr)).await;
        match attempt {
            Ok(Ok(_stream)) => return Ok(addr),
            Ok(Err(cause)) => last = Some((addr, cause)),
            Err(_elapsed) => {
                last = Some((addr, io::Error::new(io::ErrorKind::TimedOut, "timed out")));
            }
        }
    }
    let (addr, cause) = last.ok_or_else(|| Error::InvalidArgument("no address to try".into()))?;
    Err(Error::Connect { addr, cause })
}

/// Sends one request on a fresh connection and returns the status and body, reading at
/// most `limit` body bytes. For one-off calls such as fetching a token.
pub async fn fetch(
    addr: SocketAddr,
    request: Request<Full<Bytes>>,
    timeout: Duration,
    limit: usize,
) -> io::Result<(StatusCode, Bytes)> {
    let exchange = async {
        let mut sender = open(addr).await?;
        let response = sender
            .send_request(request)
            .await
            .map_err(io::Error::other)?;
        let status = response.status();
        let body = http_body_util::Limited::new(response.into_body(), limit)
            .collect()
            .await
            .map_err(io::Error::other)?
            .to_bytes();
        Ok((status, body))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "timed out"))?
}
