//! The dev issuer's RSA signing key: made once, kept on disk, reused on every start.
//!
//! Guarantees: the key lives in `{data_dir}/dev-issuer/signing-key.pem` as PKCS#8 PEM with
//! mode 0600 (directory 0700) on unix; a fresh key is written to a private temporary file and
//! hard-linked into place, so two processes starting at once end up using the same key; the
//! `kid` is the RFC 7638 JWK thumbprint (SHA-256) of the public key, hence stable across
//! restarts. The private key never appears in `Debug` output or logs.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, rand_core::OsRng};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::DevIssuerError;

/// The modulus size of a newly generated key.
const KEY_BITS: usize = 2048;
/// The key's directory under the data dir.
const KEY_DIR: &str = "dev-issuer";
/// The key's file name.
const KEY_FILE: &str = "signing-key.pem";

/// The key that signs every token the dev issuer mints.
pub(crate) struct SigningKey {
    pub(crate) key_id: String,
    pub(crate) encoding_key: EncodingKey,
    /// For checking our own refresh tokens.
    pub(crate) decoding_key: DecodingKey,
    pub(crate) public_jwk: PublicJwk,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// The public half as published in the JWKS, Keycloak-style.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PublicJwk {
    pub(crate) kid: String,
    pub(crate) kty: &'static str,
    pub(crate) alg: &'static str,
    #[serde(rename = "use")]
    pub(crate) public_key_use: &'static str,
    pub(crate) n: String,
    pub(crate) e: String,
}

/// Where the key of `data_dir` lives.
pub(crate) fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEY_DIR).join(KEY_FILE)
}

/// Loads the key of `data_dir`, generating and storing one first if there is none.
/// Blocking: file I/O and (first start only) about a second of key generation.
pub(crate) fn load_or_create_signing_key(data_dir: &Path) -> Result<SigningKey, DevIssuerError> {
    let path = key_path(data_dir);
    let pem = match fs::read_to_string(&path) {
        Ok(pem) => {
            restrict_permissions(&path);
            pem
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => create_key_file(&path)?,
        Err(source) => return Err(DevIssuerError::KeyFile { path, source }),
    };
    signing_key_from_pem(&pem).map_err(|reason| DevIssuerError::InvalidKey { path, reason })
}

fn create_key_file(path: &Path) -> Result<String, DevIssuerError> {
    let key_file_error = |source| DevIssuerError::KeyFile {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir).map_err(|source| DevIssuerError::KeyFile {
        path: dir.to_path_buf(),
        source,
    })?;

    tracing::info!(path = %path.display(), "generating the dev issuer's signing key");
    let private_key = RsaPrivateKey::new(&mut OsRng, KEY_BITS)
        .map_err(|error| DevIssuerError::KeyGeneration(error.to_string()))?;
    let pem = private_key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|error| DevIssuerError::KeyGeneration(error.to_string()))?;

    let temporary = dir.join(format!(".{KEY_FILE}.{}.tmp", uuid::Uuid::new_v4()));
    write_private_file(&temporary, pem.as_bytes()).map_err(key_file_error)?;
    let linked = fs::hard_link(&temporary, path);
    let _ignored = fs::remove_file(&temporary);
    match linked {
        Ok(()) => Ok(pem.to_string()),
        // Another process created the key first: use theirs.
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            fs::read_to_string(path).map_err(key_file_error)
        }
        Err(source) => Err(key_file_error(source)),
    }
}

/// Parses a PKCS#8 PEM RSA private key into signing material and its public JWK.
pub(crate) fn signing_key_from_pem(pem: &str) -> Result<SigningKey, String> {
    let private_key = RsaPrivateKey::from_pkcs8_pem(pem).map_err(|error| error.to_string())?;
    let n = URL_SAFE_NO_PAD.encode(private_key.n().to_bytes_be());
    let e = URL_SAFE_NO_PAD.encode(private_key.e().to_bytes_be());
    let key_id = rfc7638_thumbprint(&n, &e);
    let encoding_key =
        EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|error| error.to_string())?;
    let decoding_key =
        DecodingKey::from_rsa_components(&n, &e).map_err(|error| error.to_string())?;
    Ok(SigningKey {
        public_jwk: PublicJwk {
            kid: key_id.clone(),
            kty: "RSA",
            alg: "RS256",
            public_key_use: "sig",
            n,
            e,
        },
        key_id,
        encoding_key,
        decoding_key,
    })
}

/// RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
fn rfc7638_thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

fn write_private_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Tightens a key file someone made readable by others back to 0600 (unix only).
fn restrict_permissions(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(metadata) = fs::metadata(path) else {
            return;
        };
        if metadata.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "signing key readable by others; restricting to 0600");
            if let Err(error) = fs::set_permissions(path, fs::Permissions::from_mode(0o600)) {
                tracing::warn!(%error, "cannot restrict the signing key's permissions");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thumbprint_matches_rfc_7638s_example() {
        // RFC 7638 §3.1.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(
            rfc7638_thumbprint(n, "AQAB"),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
