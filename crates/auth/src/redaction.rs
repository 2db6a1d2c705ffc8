//! Rendering a request URI for logs without the credentials a client may have put in
//! its query string.
//!
//! Guarantees: the value of every query parameter whose name — percent-decoded, in any
//! letter case — is one of [`CREDENTIAL_PARAMETERS`] is replaced by `REDACTED`; the path
//! and every other parameter are kept as sent.

use axum::http::Uri;

/// Query parameters that carry credentials: the hub's `access_token` (browsers cannot set
/// headers on WebSockets), logout's `id_token_hint`, and OAuth's other tokens and secrets
/// sent by mistake.
pub const CREDENTIAL_PARAMETERS: [&str; 7] = [
    "access_token",
    "refresh_token",
    "id_token",
    "id_token_hint",
    "client_secret",
    "password",
    "code",
];

/// `uri` as text, with the value of every credential parameter replaced by `REDACTED`.
pub fn redact_access_token(uri: &Uri) -> String {
    let Some(query) = uri.query() else {
        return uri.to_string();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| {
            let name = form_urlencoded::parse(pair.as_bytes())
                .next()
                .map(|(name, _)| name.to_ascii_lowercase());
            match name {
                Some(name) if CREDENTIAL_PARAMETERS.contains(&name.as_str()) => {
                    format!("{name}=REDACTED")
                }
                _ => pair.to_owned(),
            }
        })
        .collect();
    format!("{}?{}", uri.path(), pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redacted(uri: &str) -> String {
        redact_access_token(&uri.parse().unwrap())
    }

    #[test]
    fn the_access_token_is_redacted_from_a_rendered_uri() {
        assert_eq!(
            redacted("/hubs/push-updates?id=abc&access_token=eyJ.secret.sig"),
            "/hubs/push-updates?id=abc&access_token=REDACTED"
        );
        assert_eq!(
            redacted("/hubs/push-updates?id=abc"),
            "/hubs/push-updates?id=abc"
        );
        assert_eq!(
            redacted("/hubs/push-updates?access%5Ftoken=secret"),
            "/hubs/push-updates?access_token=REDACTED"
        );
    }

    #[test]
    fn any_letter_case_and_other_credentials_are_redacted_too() {
        assert_eq!(
            redacted("/orders?Access_Token=a&q=coffee&REFRESH_TOKEN=b&password=c"),
            "/orders?access_token=REDACTED&q=coffee&refresh_token=REDACTED&password=REDACTED"
        );
    }
}
