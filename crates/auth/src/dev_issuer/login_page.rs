//! The server-rendered pages of the browser flow: the login form (Keycloak's field names:
//! `username`, `password`, submit `id="kc-login" name="login"`), error and logged-out pages,
//! their stylesheet, and the redirects back to the client.
//!
//! Guarantees: every value is HTML-escaped; every page is `no-store`, `X-Frame-Options:
//! DENY`, `nosniff`, `Referrer-Policy: same-origin` and under a CSP that allows only our
//! own stylesheet (no script at all) and form posts to ourselves (plus the origin of the
//! checked redirect URI, where the post ends up after its redirect). Labels name every
//! field; the first empty field has focus; an error is announced (`role="alert"`) and tied
//! to the fields it concerns.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::DevIssuer;
use super::authorize::AuthorizationRequest;
use super::directory::WEB_CLIENT_ID;
use crate::origin_of;

/// Where the pages' stylesheet is served.
pub(crate) const STYLESHEET_PATH: &str = "/realms/orderflow/login-resources/login.css";

const STYLESHEET: &str = "\
:root{color-scheme:light;font-family:system-ui,-apple-system,'Segoe UI',sans-serif;color:#1b1f24;background:#f3f4f6}
body{margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}
main{background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0003;width:min(22rem,calc(100vw - 2rem));box-sizing:border-box}
h1{font-size:1.4rem;margin:0 0 1.25rem}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.6rem;font-size:1rem;border:1px solid #6b7280;border-radius:4px}
input:focus,button:focus{outline:3px solid #1d4ed8;outline-offset:2px}
input[aria-invalid=true]{border-color:#b91c1c}
button{margin-top:1.25rem;width:100%;padding:.7rem;font-size:1rem;font-weight:600;color:#fff;background:#1d4ed8;border:0;border-radius:4px;cursor:pointer}
.error{color:#8f1515;background:#fde8e8;border:1px solid #b91c1c;padding:.6rem;border-radius:4px}
";

/// What the login page shows.
#[derive(Debug)]
pub(crate) struct LoginView<'a> {
    pub(crate) request: &'a AuthorizationRequest,
    pub(crate) username: &'a str,
    pub(crate) error: Option<&'a str>,
}

impl<'a> LoginView<'a> {
    pub(crate) fn fresh(request: &'a AuthorizationRequest) -> Self {
        Self {
            request,
            username: "",
            error: None,
        }
    }
}

/// The login form for `view.request`.
pub(crate) fn login_page(issuer: &DevIssuer, view: &LoginView<'_>, status: StatusCode) -> Response {
    let request = view.request;
    let mut hidden = vec![
        ("client_id", WEB_CLIENT_ID),
        ("response_type", "code"),
        ("redirect_uri", request.redirect_uri.as_str()),
        ("scope", request.scope.as_str()),
        ("code_challenge", request.code_challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    if let Some(state) = &request.state {
        hidden.push(("state", state));
    }
    if let Some(nonce) = &request.nonce {
        hidden.push(("nonce", nonce));
    }
    let hidden: String = hidden
        .into_iter()
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n",
                escape(value)
            )
        })
        .collect();
    let (alert, invalid) = match view.error {
        Some(error) => (
            format!(
                "<p id=\"input-error\" class=\"error\" role=\"alert\">{}</p>\n",
                escape(error)
            ),
            " aria-invalid=\"true\" aria-describedby=\"input-error\"",
        ),
        None => (String::new(), ""),
    };
    let (user_focus, password_focus) = if view.username.is_empty() {
        (" autofocus", "")
    } else {
        ("", " autofocus")
    };
    let body = format!(
        "<h1>Sign in to orderflow</h1>\n{alert}\
<form id=\"kc-form-login\" method=\"post\" action=\"{action}\">\n{hidden}\
<label for=\"username\">Username</label>\n\
<input id=\"username\" name=\"username\" type=\"text\" value=\"{username}\" autocomplete=\"username\" required{invalid}{user_focus}>\n\
<label for=\"password\">Password</label>\n\
<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required{invalid}{password_focus}>\n\
<button id=\"kc-login\" name=\"login\" type=\"submit\">Sign in</button>\n</form>",
        action = escape(&format!(
            "{}/protocol/openid-connect/auth",
            issuer.issuer_url()
        )),
        username = escape(view.username),
    );
    let redirect_origin = origin_of(&request.redirect_uri);
    page(status, "Sign in to orderflow", &body, Some(redirect_origin))
}

/// A page that explains a refusal; it links nowhere.
pub(crate) fn error_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<h1>We are sorry…</h1>\n<p id=\"error-message\" role=\"alert\">{}</p>",
        escape(message)
    );
    page(status, "orderflow: error", &body, None)
}

/// The page after a logout without a redirect.
pub(crate) fn logged_out_page() -> Response {
    page(
        StatusCode::OK,
        "orderflow: logged out",
        "<h1>You are logged out</h1>",
        None,
    )
}

/// `GET {STYLESHEET_PATH}`.
pub(crate) async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// A `302` to `target` with `query` appended (after its own query, if it has one).
pub(crate) fn redirect(target: &str, query: &[(&str, &str)]) -> Response {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    let separator = if target.contains('?') { '&' } else { '?' };
    let location = format!("{target}{separator}{query}");
    match HeaderValue::from_str(&location) {
        Ok(location) => {
            let mut response = StatusCode::FOUND.into_response();
            let headers = response.headers_mut();
            headers.insert(header::LOCATION, location);
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => error_page(StatusCode::BAD_REQUEST, "Invalid parameter: redirect_uri"),
    }
}

fn page(status: StatusCode, title: &str, body: &str, post_to: Option<&str>) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>{}</title>\n<link rel=\"stylesheet\" href=\"{STYLESHEET_PATH}\">\n</head>\n\
<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n",
        escape(title)
    );
    // A redirect after a form post is held to form-action too, so the checked redirect
    // URI's origin is allowed beside ours (only if it is a plain origin).
    let extra = post_to
        .filter(|origin| {
            origin
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b":/.-[]".contains(&byte))
        })
        .map(|origin| format!(" {origin}"))
        .unwrap_or_default();
    let policy = format!(
        "default-src 'none'; style-src 'self'; form-action 'self'{extra}; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            // `same-origin`, not `no-referrer`: under `no-referrer` a browser sends
            // `Origin: null` with the form post, and the login-CSRF check could not tell
            // ours from a foreign one.
            (header::REFERRER_POLICY, "same-origin"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response();
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    response
}

/// Escapes text for HTML content and double-quoted attributes.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(
            escape("\"><script>x</script>&'"),
            "&quot;&gt;&lt;script&gt;x&lt;/script&gt;&amp;&#39;"
        );
    }
}
