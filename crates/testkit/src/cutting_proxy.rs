//! A TCP proxy in front of a server that can cut the network: every forwarded connection is
//! dropped on both sides mid-stream (no WebSocket Close, no close frame: the TCP connections
//! just end), and new connections are held back or refused until it is reopened.
//!
//! Guarantees: after [`CuttingProxy::cut`] returns, no byte of an earlier connection reaches
//! either side any more; while cut, nothing new reaches the server (a held connection is
//! forwarded once reopened, a refused one is closed as soon as it is accepted).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, watch};
use tokio::task::JoinSet;

/// What happens to a connection accepted now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Forwarded to the server.
    Open,
    /// Kept waiting, then forwarded when the proxy reopens.
    Holding,
    /// Closed at once, as a network that is down would fail it.
    Refusing,
}

/// The proxy; it stops accepting when dropped.
#[derive(Debug)]
pub struct CuttingProxy {
    /// Where clients connect.
    pub address: SocketAddr,
    /// The forwarding of every live pair of sockets.
    pairs: Arc<Mutex<JoinSet<()>>>,
    gate: watch::Sender<Gate>,
    /// Connections accepted so far.
    accepted: Arc<AtomicUsize>,
    acceptor: tokio::task::JoinHandle<()>,
}

impl CuttingProxy {
    /// A proxy on `127.0.0.1:0` forwarding to `upstream`, open.
    pub async fn start(upstream: SocketAddr) -> Self {
        Self::start_on(TcpListener::bind("127.0.0.1:0").await.unwrap(), upstream)
    }

    /// A proxy accepting on `listener` (bound before the server, when the server must know
    /// the proxy's address) forwarding to `upstream`, open.
    pub fn start_on(listener: TcpListener, upstream: SocketAddr) -> Self {
        let address = listener.local_addr().unwrap();
        let pairs = Arc::new(Mutex::new(JoinSet::new()));
        let (gate, watched) = watch::channel(Gate::Open);
        let accepted = Arc::new(AtomicUsize::new(0));
        let acceptor = tokio::spawn({
            let pairs = pairs.clone();
            let accepted = accepted.clone();
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    accepted.fetch_add(1, Ordering::SeqCst);
                    let mut watched = watched.clone();
                    pairs.lock().await.spawn(async move {
                        let refused = match watched.wait_for(|gate| *gate != Gate::Holding).await {
                            Ok(gate) => *gate == Gate::Refusing,
                            Err(_proxy_gone) => return,
                        };
                        if refused {
                            return;
                        }
                        let Ok(mut server) = TcpStream::connect(upstream).await else {
                            return;
                        };
                        let _ended = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    });
                }
            }
        });
        Self {
            address,
            pairs,
            gate,
            accepted,
            acceptor,
        }
    }

    /// `http://{address}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Drops both sides of every forwarded connection; new ones meet `while_cut`
    /// ([`Gate::Holding`] or [`Gate::Refusing`]) until [`Self::reopen`].
    pub async fn cut(&self, while_cut: Gate) {
        debug_assert_ne!(while_cut, Gate::Open, "a cut holds or refuses");
        self.gate.send_replace(while_cut);
        let mut pairs = self.pairs.lock().await;
        pairs.abort_all();
        while pairs.join_next().await.is_some() {}
    }

    /// Forwards new connections (and held ones) again.
    pub fn reopen(&self) {
        self.gate.send_replace(Gate::Open);
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}
