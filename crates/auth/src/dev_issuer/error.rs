//! What can go wrong setting up or using the dev issuer (not token validation: that is
//! [`crate::AuthError`]).

use std::path::PathBuf;

/// The dev issuer could not start, or could not mint a token.
#[derive(Debug, thiserror::Error)]
pub enum DevIssuerError {
    /// The signing key file or its directory could not be read or written.
    #[error("cannot read or write the dev issuer's signing key at {path}: {source}")]
    KeyFile {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying failure.
        source: std::io::Error,
    },
    /// The signing key file exists but is not a PKCS#8 PEM RSA private key.
    #[error("the dev issuer's signing key at {path} is not a PKCS#8 PEM RSA key: {reason}")]
    InvalidKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A new signing key could not be generated.
    #[error("cannot generate the dev issuer's signing key: {0}")]
    KeyGeneration(String),
    /// The users file could not be read.
    #[error("cannot read the dev issuer's users file {path}: {source}")]
    UsersFileUnreadable {
        /// The users file.
        path: PathBuf,
        /// The underlying failure.
        source: std::io::Error,
    },
    /// The users file is not a valid list of users.
    #[error("the dev issuer's users file {path} is invalid: {reason}")]
    UsersFileInvalid {
        /// The users file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The issuer URL is not an absolute http(s) URL.
    #[error("the issuer URL {0:?} must be an absolute http:// or https:// URL")]
    InvalidIssuerUrl(String),
    /// No such user.
    #[error("the dev issuer has no user {0:?}")]
    UnknownUser(String),
    /// A token could not be signed.
    #[error("cannot sign a token: {0}")]
    Signing(String),
}
