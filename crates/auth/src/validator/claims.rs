//! Verifying a token's signature and claims, and reading the caller out of them.
//!
//! Order of checks: signature first (jsonwebtoken, with exactly the header's algorithm,
//! already vetted against the key), then `exp` (required) / `nbf` with the leeway and `iss`
//! (required, exact string), then — ours — `iat` not in the future beyond the leeway,
//! token type (`typ` claim absent or `Bearer`),
//! audience (`aud` contains it or `azp` equals it), and a non-empty `sub`. A forged token is
//! therefore always `BadSignature`, never a claim error.

use std::collections::{BTreeSet, HashMap};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use time::OffsetDateTime;

use super::ValidatorConfig;
use crate::{AuthError, Principal};

/// The claims we read; unknown claims are ignored, known ones must have the right shape.
#[derive(Debug, Deserialize)]
struct AccessTokenClaims {
    sub: Option<String>,
    exp: Option<i64>,
    iat: Option<i64>,
    aud: Option<Audience>,
    azp: Option<String>,
    typ: Option<String>,
    preferred_username: Option<String>,
    realm_access: Option<RoleList>,
    #[serde(default)]
    resource_access: HashMap<String, RoleList>,
    // `iss` is checked by jsonwebtoken; requiring a string here refuses issuer arrays.
    #[serde(rename = "iss")]
    _issuer: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Default, Deserialize)]
struct RoleList {
    #[serde(default)]
    roles: Vec<String>,
}

/// Verifies `token` with `key` and returns who it names.
pub(crate) fn verify_access_token(
    token: &str,
    key: &DecodingKey,
    algorithm: Algorithm,
    config: &ValidatorConfig,
) -> Result<Principal, AuthError> {
    let mut validation = Validation::new(algorithm);
    validation.set_required_spec_claims(&["exp", "iss"]);
    validation.set_issuer(&[config.issuer.as_str()]);
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = false; // ours below: Keycloak's client is in `azp`
    validation.leeway = config.effective_leeway().as_secs();

    let claims = jsonwebtoken::decode::<AccessTokenClaims>(token, key, &validation)
        .map_err(|error| auth_error_from(error.into_kind()))?
        .claims;

    let latest_issue = OffsetDateTime::now_utc().unix_timestamp()
        + i64::try_from(config.effective_leeway().as_secs()).unwrap_or(0);
    if claims.iat.is_some_and(|iat| iat > latest_issue) {
        return Err(AuthError::IssuedInTheFuture);
    }
    if claims
        .typ
        .as_deref()
        .is_some_and(|typ| !typ.eq_ignore_ascii_case("Bearer"))
    {
        return Err(AuthError::WrongTokenType);
    }
    if let Some(audience) = &config.audience
        && !claims.is_meant_for(audience)
    {
        return Err(AuthError::WrongAudience);
    }
    let user_id = match claims.sub {
        Some(sub) if !sub.trim().is_empty() => sub,
        _ => return Err(AuthError::MissingSubject),
    };
    let expires_at = claims
        .exp
        .and_then(|exp| OffsetDateTime::from_unix_timestamp(exp).ok())
        .ok_or(AuthError::Malformed("exp is not a valid timestamp"))?;
    let role_list = match &config.client_roles_from {
        Some(client) => claims.resource_access.get(client),
        None => claims.realm_access.as_ref(),
    };
    let roles: BTreeSet<String> = role_list
        .map(|list| list.roles.iter().cloned().collect())
        .unwrap_or_default();

    Ok(Principal {
        user_id,
        username: claims.preferred_username,
        roles,
        client_id: claims.azp,
        expires_at,
    })
}

impl AccessTokenClaims {
    fn is_meant_for(&self, audience: &str) -> bool {
        let in_aud = match &self.aud {
            Some(Audience::One(aud)) => aud == audience,
            Some(Audience::Many(auds)) => auds.iter().any(|aud| aud == audience),
            None => false,
        };
        in_aud || self.azp.as_deref() == Some(audience)
    }
}

fn auth_error_from(kind: ErrorKind) -> AuthError {
    match kind {
        ErrorKind::InvalidSignature => AuthError::BadSignature,
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::MissingRequiredClaim(claim) if claim == "iss" => AuthError::WrongIssuer,
        ErrorKind::MissingRequiredClaim(_) => AuthError::Malformed("exp is missing"),
        ErrorKind::InvalidClaimFormat(_) => AuthError::Malformed("a time claim is not a number"),
        ErrorKind::InvalidAlgorithm | ErrorKind::UnsupportedAlgorithm => {
            AuthError::UnsupportedAlgorithm
        }
        ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidEcdsaKey | ErrorKind::InvalidKeyFormat => {
            AuthError::ProviderUnavailable("the provider published an unusable key".into())
        }
        ErrorKind::Json(_) => AuthError::Malformed("claims are not the expected JSON"),
        _ => AuthError::Malformed("token cannot be decoded"),
    }
}
