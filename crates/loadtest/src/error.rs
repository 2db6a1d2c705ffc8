//! The crate's one error type: everything that stops a run before it starts.
//!
//! Failures *during* a run are not errors: they are counted per kind in
//! [`crate::stats::Recorder`] and reported.

use std::net::SocketAddr;

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A command-line value is malformed or out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The URL points somewhere other than this machine's loopback interface.
    #[error(
        "refusing to target {url}: only loopback hosts (127.0.0.0/8, ::1, localhost) are allowed"
    )]
    NotLoopback {
        /// The URL as given.
        url: String,
    },
    /// No loopback address of the target accepted a TCP connection.
    #[error("cannot connect to {addr}: {cause}")]
    Connect {
        /// The last address tried.
        addr: SocketAddr,
        /// What the operating system said.
        cause: std::io::Error,
    },
    /// The token endpoint did not give us an access token.
    #[error("fetching the access token failed: {0}")]
    Token(String),
    /// A worker task panicked or was cancelled.
    #[error("a worker failed: {0}")]
    Worker(String),
}
