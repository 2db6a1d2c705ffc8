//! Authorization codes of the code flow with PKCE (RFC 6749 §4.1, RFC 7636, S256 only).
//!
//! Guarantees:
//! * A code is 256 random bits, lives [`CODE_LIFETIME`] (60 s) and is good **once**: the
//!   first redemption consumes it, whatever its outcome (a wrong verifier burns the code).
//! * It is bound to the client, the redirect URI and the PKCE challenge it was issued for;
//!   redeeming it needs all three to match (`BASE64URL(SHA-256(code_verifier))`, compared in
//!   constant time).
//! * A code presented again after its redemption is taken as stolen: its session is
//!   reported so the caller revokes it (RFC 6749 §4.1.2), and the refresh tokens minted from
//!   it stop working.
//! * Memory is bounded: at most [`MAX_CODES`] codes; expired ones go first, then the oldest.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

/// How long a code may wait for its redemption.
pub(crate) const CODE_LIFETIME: Duration = Duration::from_secs(60);
/// The most codes remembered at once.
pub(crate) const MAX_CODES: usize = 10_000;

/// What a code was issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CodeGrant {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    /// The S256 `code_challenge`.
    pub(crate) code_challenge: String,
    pub(crate) user_id: Uuid,
    pub(crate) nonce: Option<String>,
    /// The session the tokens will carry (`sid`).
    pub(crate) session: Uuid,
}

/// What a redemption presents.
#[derive(Debug)]
pub(crate) struct Redemption<'a> {
    pub(crate) code: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) redirect_uri: &'a str,
    pub(crate) code_verifier: &'a str,
}

/// Why a code is not redeemed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CodeRefusal {
    /// Unknown or expired.
    #[error("unknown or expired code")]
    Unknown,
    /// Redeemed before: the session of its tokens must be revoked.
    #[error("code already used")]
    Reused {
        /// The session minted from the first redemption.
        session: Uuid,
    },
    /// Another client, another redirect URI, or a verifier that does not match.
    #[error("code not issued for this client, redirect URI or verifier")]
    Mismatch,
}

#[derive(Debug)]
enum Entry {
    Issued { grant: CodeGrant, until: Instant },
    Redeemed { session: Uuid, until: Instant },
}

impl Entry {
    fn until(&self) -> Instant {
        match self {
            Self::Issued { until, .. } | Self::Redeemed { until, .. } => *until,
        }
    }
}

/// The codes issued and not yet forgotten.
#[derive(Debug, Default)]
pub(crate) struct CodeStore {
    codes: Mutex<HashMap<String, Entry>>,
}

impl CodeStore {
    /// A fresh code for `grant`.
    pub(crate) fn issue(&self, grant: CodeGrant) -> String {
        let mut bytes = [0_u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let code = URL_SAFE_NO_PAD.encode(bytes);
        let now = Instant::now();
        let mut codes = self.lock();
        if codes.len() >= MAX_CODES {
            codes.retain(|_, entry| entry.until() > now);
        }
        if codes.len() >= MAX_CODES
            && let Some(oldest) = codes
                .iter()
                .min_by_key(|(_, entry)| entry.until())
                .map(|(code, _)| code.clone())
        {
            codes.remove(&oldest);
        }
        let until = now + CODE_LIFETIME;
        codes.insert(code.clone(), Entry::Issued { grant, until });
        code
    }

    /// Consumes the code and returns its grant if everything presented matches.
    pub(crate) fn redeem(&self, presented: &Redemption<'_>) -> Result<CodeGrant, CodeRefusal> {
        let now = Instant::now();
        let mut codes = self.lock();
        let entry = codes
            .get_mut(presented.code)
            .filter(|entry| entry.until() > now)
            .ok_or(CodeRefusal::Unknown)?;
        let grant = match entry {
            Entry::Redeemed { session, .. } => {
                return Err(CodeRefusal::Reused { session: *session });
            }
            Entry::Issued { grant, .. } => grant.clone(),
        };
        // Remembered as redeemed until it would have expired, to recognise a replay.
        *entry = Entry::Redeemed {
            session: grant.session,
            until: entry.until(),
        };
        let matches = grant.client_id == presented.client_id
            && grant.redirect_uri == presented.redirect_uri
            && s256_matches(&grant.code_challenge, presented.code_verifier);
        if matches {
            Ok(grant)
        } else {
            Err(CodeRefusal::Mismatch)
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // Every update is one insert or one replacement: consistent even after a panic.
        self.codes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether `text` is a well-formed PKCE value (verifier or S256 challenge): 43 to 128
/// characters of `[A-Za-z0-9-._~]` (RFC 7636 §4.1).
pub(crate) fn is_pkce_value(text: &str) -> bool {
    (43..=128).contains(&text.len())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-._~".contains(&byte))
}

/// `BASE64URL(SHA-256(verifier)) == challenge`, in constant time.
pub(crate) fn s256_matches(challenge: &str, verifier: &str) -> bool {
    if !is_pkce_value(verifier) {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn grant() -> CodeGrant {
        CodeGrant {
            client_id: "orderflow-web".into(),
            redirect_uri: "http://x/callback".into(),
            code_challenge: CHALLENGE.into(),
            user_id: Uuid::new_v4(),
            nonce: None,
            session: Uuid::new_v4(),
        }
    }

    fn redemption(code: &str) -> Redemption<'_> {
        Redemption {
            code,
            client_id: "orderflow-web",
            redirect_uri: "http://x/callback",
            code_verifier: VERIFIER,
        }
    }

    #[test]
    fn the_rfc_7636_example_verifier_matches_its_challenge() {
        assert!(s256_matches(CHALLENGE, VERIFIER));
        assert!(!s256_matches(CHALLENGE, &VERIFIER.replace('d', "e")));
    }

    #[test]
    fn a_code_is_good_once_and_its_replay_names_its_session() {
        let store = CodeStore::default();
        let issued = grant();
        let code = store.issue(issued.clone());
        assert_eq!(store.redeem(&redemption(&code)), Ok(issued.clone()));
        assert_eq!(
            store.redeem(&redemption(&code)),
            Err(CodeRefusal::Reused {
                session: issued.session
            })
        );
        assert_eq!(
            store.redeem(&redemption("no-such-code")),
            Err(CodeRefusal::Unknown)
        );
    }

    #[test]
    fn a_code_is_bound_to_its_redirect_uri_and_a_failed_redemption_burns_it() {
        let store = CodeStore::default();
        let code = store.issue(grant());
        let mut wrong = redemption(&code);
        wrong.redirect_uri = "http://x/elsewhere";
        assert_eq!(store.redeem(&wrong), Err(CodeRefusal::Mismatch));
        assert!(matches!(
            store.redeem(&redemption(&code)),
            Err(CodeRefusal::Reused { .. })
        ));
    }
}
