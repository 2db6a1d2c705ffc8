//! The browser login (authorization code + PKCE S256) over HTTP, with a test client doing
//! what a browser does: GET the authorization endpoint, read the login form, POST it,
//! read the redirect, and exchange the code at the token endpoint.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use orderflow_auth::DevIssuer;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::{RunningIssuer, shared_data_dir, start_dev_issuer, token_part};

const VERIFIER: &str = "a-long-enough-pkce-verifier-of-the-test-client-0123456789";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A browser without JavaScript: it never follows redirects by itself, so each is seen.
struct Browser {
    http: reqwest::Client,
    issuer_url: String,
    redirect_uri: String,
}

/// An answer as the browser saw it.
struct Page {
    status: u16,
    location: Option<String>,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Browser {
    fn for_issuer(running: &RunningIssuer) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            issuer_url: running.issuer_url(),
            redirect_uri: format!("{}/callback", running.base_url),
        }
    }

    fn authorize_url(&self, redirect_uri: &str, method: &str) -> String {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("response_type", "code"),
                ("client_id", "orderflow-web"),
                ("redirect_uri", redirect_uri),
                ("scope", "openid"),
                ("state", "state-42"),
                ("nonce", "nonce-7"),
                ("code_challenge", &challenge(VERIFIER)),
                ("code_challenge_method", method),
            ])
            .finish();
        format!("{}/protocol/openid-connect/auth?{query}", self.issuer_url)
    }

    async fn get(&self, url: &str) -> Page {
        read(self.http.get(url).send().await.unwrap()).await
    }

    async fn post_form(&self, url: &str, fields: &[(String, String)]) -> Page {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let response = self
            .http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        read(response).await
    }

    /// Fills in and submits the login form of `page`.
    async fn log_in(&self, page: &Page, username: &str, password: &str) -> Page {
        let (action, mut fields) = login_form(&page.body);
        fields.push(("username".into(), username.into()));
        fields.push(("password".into(), password.into()));
        fields.push(("login".into(), String::new()));
        self.post_form(&action, &fields).await
    }

    /// The whole login up to the redirect back; returns the code.
    async fn code_for(&self, username: &str) -> String {
        let page = self
            .get(&self.authorize_url(&self.redirect_uri, "S256"))
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        let redirected = self.log_in(&page, username, username).await;
        assert_eq!(redirected.status, 302, "{}", redirected.body);
        let location = redirected.location.unwrap();
        query_of(&location, &self.redirect_uri)["code"].clone()
    }

    async fn exchange(&self, running: &RunningIssuer, code: &str, verifier: &str) -> (u16, Value) {
        running
            .token_request(&[
                ("grant_type", "authorization_code"),
                ("client_id", "orderflow-web"),
                ("code", code),
                ("redirect_uri", &self.redirect_uri),
                ("code_verifier", verifier),
            ])
            .await
    }
}

async fn read(response: reqwest::Response) -> Page {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let location = headers
        .get("location")
        .map(|value| value.to_str().unwrap().to_owned());
    Page {
        status,
        location,
        headers,
        body: response.text().await.unwrap(),
    }
}

/// The form's action and its hidden fields, as a browser would read them.
fn login_form(html: &str) -> (String, Vec<(String, String)>) {
    let form = &html[html.find("<form").expect("a form")..];
    let action = attribute(form, "action").expect("an action");
    let fields = form
        .split("<input")
        .skip(1)
        .filter(|input| attribute(input, "type").as_deref() == Some("hidden"))
        .map(|input| {
            (
                attribute(input, "name").unwrap(),
                attribute(input, "value").unwrap_or_default(),
            )
        })
        .collect();
    (action, fields)
}

/// The value of `name="…"` in the first tag of `html`, unescaped.
fn attribute(html: &str, name: &str) -> Option<String> {
    let tag = &html[..html.find('>')?];
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = start + tag[start..].find('"')?;
    Some(
        tag[start..end]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// The query parameters of a redirect to `target`.
fn query_of(location: &str, target: &str) -> std::collections::HashMap<String, String> {
    let query = location
        .strip_prefix(target)
        .and_then(|rest| rest.strip_prefix('?'))
        .unwrap_or_else(|| panic!("{location} is not a redirect to {target}"));
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

#[tokio::test]
async fn the_code_flow_with_pkce_signs_in_at_the_login_page() {
    let running = start_dev_issuer().await;
    let browser = Browser::for_issuer(&running);
    let page = browser
        .get(&browser.authorize_url(&browser.redirect_uri, "S256"))
        .await;
    assert_eq!(page.status, 200);
    for needle in [
        "name=\"username\"",
        "name=\"password\"",
        "id=\"kc-login\" name=\"login\"",
        "<label for=\"username\">",
        "<label for=\"password\">",
    ] {
        assert!(page.body.contains(needle), "{needle} in {}", page.body);
    }
    assert_eq!(page.headers["x-frame-options"], "DENY");
    let policy = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        policy.starts_with("default-src 'none'; style-src 'self'"),
        "{policy}"
    );
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");

    let redirected = browser.log_in(&page, "alice", "alice").await;
    assert_eq!(redirected.status, 302, "{}", redirected.body);
    let query = query_of(
        redirected.location.as_deref().unwrap(),
        &browser.redirect_uri,
    );
    assert_eq!(query["state"], "state-42");
    assert_eq!(query["iss"], running.issuer_url());

    let (status, tokens) = browser.exchange(&running, &query["code"], VERIFIER).await;
    assert_eq!(status, 200, "{tokens}");
    let principal = running
        .default_validator()
        .await
        .validate(tokens["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(principal.username.as_deref(), Some("alice"));
    let id_token = tokens["id_token"].as_str().unwrap();
    let id_claims = token_part(id_token, 1);
    assert_eq!(
        (id_claims["typ"].as_str(), id_claims["aud"].as_str()),
        (Some("ID"), Some("orderflow-web"))
    );
    assert_eq!(id_claims["nonce"], "nonce-7");
    assert_eq!(id_claims["sid"], tokens["session_state"]);

    // The refresh token rotates; after logout the session's refresh tokens are dead.
    let (status, refreshed) = running
        .refresh_grant(tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, 200, "{refreshed}");
    let back = format!("{}/", running.base_url);
    let logout = format!(
        "{}/protocol/openid-connect/logout?{}",
        running.issuer_url(),
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("id_token_hint", id_token),
                ("post_logout_redirect_uri", &back)
            ])
            .finish()
    );
    let logged_out = browser.get(&logout).await;
    assert_eq!(logged_out.status, 302, "{}", logged_out.body);
    assert_eq!(
        logged_out.location.as_deref(),
        Some(format!("{back}?").as_str())
    );
    let (status, _) = running
        .refresh_grant(refreshed["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, 400, "logout revokes the session");
}

#[tokio::test]
async fn a_wrong_verifier_is_refused_and_burns_the_code() {
    let running = start_dev_issuer().await;
    let browser = Browser::for_issuer(&running);
    let code = browser.code_for("bob").await;
    let wrong = format!("{VERIFIER}-but-not-quite");
    let (status, body) = browser.exchange(&running, &code, &wrong).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = browser.exchange(&running, &code, VERIFIER).await;
    assert_eq!(status, 400, "the code was burnt by the failed try");
    let (status, body) = running
        .token_request(&[
            ("grant_type", "authorization_code"),
            ("client_id", "orderflow-web"),
            ("code", &browser.code_for("bob").await),
            ("redirect_uri", &browser.redirect_uri),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test]
async fn a_code_is_good_once_and_its_replay_revokes_the_session() {
    let running = start_dev_issuer().await;
    let browser = Browser::for_issuer(&running);
    let code = browser.code_for("alice").await;
    let (status, first) = browser.exchange(&running, &code, VERIFIER).await;
    assert_eq!(status, 200, "{first}");
    let (status, body) = browser.exchange(&running, &code, VERIFIER).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = running
        .refresh_grant(first["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(
        status, 400,
        "the replay revoked the first redemption's session"
    );
}

#[tokio::test]
async fn a_foreign_redirect_uri_gets_an_error_page_and_never_a_redirect() {
    let running = start_dev_issuer().await;
    let browser = Browser::for_issuer(&running);
    let port_neighbour = format!("{}0/callback", running.base_url);
    for foreign in [
        "http://evil.example/callback",
        port_neighbour.as_str(),
        &format!("{}/elsewhere", running.base_url),
    ] {
        let page = browser.get(&browser.authorize_url(foreign, "S256")).await;
        assert_eq!(
            (page.status, page.location.as_deref()),
            (400, None),
            "{foreign}"
        );
        assert!(
            page.body.contains("Invalid parameter: redirect_uri"),
            "{}",
            page.body
        );

        let (action, mut fields) = login_form(
            &browser
                .get(&browser.authorize_url(&browser.redirect_uri, "S256"))
                .await
                .body,
        );
        for (name, value) in &mut fields {
            if name == "redirect_uri" {
                *value = foreign.to_owned();
            }
        }
        fields.extend([
            ("username".into(), "alice".into()),
            ("password".into(), "alice".into()),
        ]);
        let posted = browser.post_form(&action, &fields).await;
        assert_eq!(
            (posted.status, posted.location.as_deref()),
            (400, None),
            "{foreign}"
        );

        let logout = format!(
            "{}/protocol/openid-connect/logout?client_id=orderflow-web&post_logout_redirect_uri={}",
            running.issuer_url(),
            form_urlencoded::byte_serialize(foreign.as_bytes()).collect::<String>()
        );
        let page = browser.get(&logout).await;
        assert_eq!(
            (page.status, page.location.as_deref()),
            (400, None),
            "{foreign}"
        );
    }
}

#[tokio::test]
async fn a_configured_redirect_uri_is_allowed_too() {
    let data_dir = shared_data_dir().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let issuer =
        DevIssuer::load_or_create(data_dir, DevIssuer::issuer_url_for_base(&base_url), None)
            .await
            .unwrap()
            .with_redirect_uris(vec!["http://console.example:8084/callback".into()]);
    let router = issuer.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let running = RunningIssuer {
        base_url,
        http: orderflow_auth::default_http_client().unwrap(),
        issuer,
    };
    let browser = Browser::for_issuer(&running);
    let page = browser
        .get(&browser.authorize_url("http://console.example:8084/callback", "S256"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let policy = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains("form-action 'self' http://console.example:8084;"),
        "{policy}"
    );

    // The token endpoint and discovery let that origin's page read their answers, and no
    // other's.
    for (origin, allowed) in [
        ("http://console.example:8084", true),
        ("http://evil.example", false),
    ] {
        let answer = running
            .http
            .post(running.token_endpoint())
            .header("origin", origin)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=password&client_id=orderflow-web&username=bob&password=bob")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        let allow = answer.headers().get("access-control-allow-origin");
        assert_eq!(
            allow.is_some_and(|value| value == origin),
            allowed,
            "token, {origin}"
        );
        let discovery = running
            .http
            .get(format!(
                "{}/realms/orderflow/.well-known/openid-configuration",
                running.base_url
            ))
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(discovery.status(), 200);
        let allow = discovery.headers().get("access-control-allow-origin");
        assert_eq!(
            allow.is_some_and(|value| value == origin),
            allowed,
            "discovery, {origin}"
        );
    }
}

#[tokio::test]
async fn a_wrong_password_shows_the_page_again_and_the_guard_counts_it() {
    let running = start_dev_issuer().await;
    let browser = Browser::for_issuer(&running);
    let page = browser
        .get(&browser.authorize_url(&browser.redirect_uri, "S256"))
        .await;
    let again = browser.log_in(&page, "alice", "not-alice").await;
    assert_eq!((again.status, again.location.as_deref()), (200, None));
    assert!(
        again
            .body
            .contains("role=\"alert\">Invalid username or password."),
        "{}",
        again.body
    );
    assert!(
        again.body.contains("value=\"alice\""),
        "the username is kept"
    );
    for _ in 0..4 {
        assert_eq!(browser.log_in(&again, "alice", "guess").await.status, 200);
    }
    let locked = browser.log_in(&again, "alice", "alice").await;
    assert_eq!((locked.status, locked.location.as_deref()), (429, None));
    assert!(
        locked.body.contains("Too many failed logins"),
        "{}",
        locked.body
    );
}

#[tokio::test]
async fn pkce_is_required_and_only_s256() {
    let running = start_dev_issuer().await;
    let browser = Browser::for_issuer(&running);
    for method in ["plain", ""] {
        let page = browser
            .get(&browser.authorize_url(&browser.redirect_uri, method))
            .await;
        assert_eq!(page.status, 302, "{method}");
        let query = query_of(page.location.as_deref().unwrap(), &browser.redirect_uri);
        assert_eq!(query["error"], "invalid_request", "{method}");
        assert_eq!(query["state"], "state-42");
    }
}
