//! The command line, and its validation into a [`Config`].
//!
//! Guarantees: a [`Config`] only exists for a loopback target (and loopback token
//! endpoint), a valid plan (see [`Plan::validate`]) and well-formed headers; everything
//! else is refused here with a message naming the flag, before any request is sent.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use hyper::Method;
use hyper::header::{CONTENT_LENGTH, HeaderMap, HeaderName, HeaderValue, TRANSFER_ENCODING};

use crate::Error;
use crate::schedule::Plan;
use crate::target::Target;
use crate::token::{Secret, TokenSource};

/// Default run length when neither `--duration` nor `--requests` is given.
const DEFAULT_DURATION: Duration = Duration::from_secs(10);

/// HTTP load generator for orderflow benchmarks; targets loopback addresses only.
#[derive(Debug, Clone, Parser)]
#[command(name = "orderflow-loadtest", version, about, long_about = None)]
pub struct Args {
    /// Target URL: http:// on 127.0.0.0/8, [::1] or localhost.
    #[arg(long)]
    pub url: String,
    /// HTTP method.
    #[arg(long, short = 'X', default_value = "GET")]
    pub method: String,
    /// Request body, sent as given.
    #[arg(long, conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Read the request body from a file.
    #[arg(long, value_name = "PATH")]
    pub body_file: Option<PathBuf>,
    /// Extra header, `Name: value` (repeatable).
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Send `Authorization: Bearer TOKEN` on every request.
    #[arg(long, value_name = "TOKEN", conflicts_with = "bearer_from")]
    pub bearer: Option<String>,
    /// Fetch a token once from this token endpoint (OAuth2 password grant).
    #[arg(long, value_name = "TOKEN_URL", requires_all = ["user", "password"])]
    pub bearer_from: Option<String>,
    /// User name for --bearer-from.
    #[arg(long, requires = "bearer_from")]
    pub user: Option<String>,
    /// Password for --bearer-from.
    #[arg(long, requires = "bearer_from")]
    pub password: Option<String>,
    /// OAuth2 client id for --bearer-from.
    #[arg(long, default_value = "orderflow-web")]
    pub client_id: String,
    /// Number of workers, each with its own keep-alive connection.
    #[arg(long, short = 'c', default_value_t = 64)]
    pub concurrency: usize,
    /// Measured period, e.g. `20s`, `500ms`, `2m` [default: 10s unless --requests].
    #[arg(long, short = 'd', value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Number of measured requests (with --duration: whichever comes first).
    #[arg(long, short = 'n')]
    pub requests: Option<u64>,
    /// Leading period whose results are discarded.
    #[arg(long, value_parser = parse_duration, default_value = "0s")]
    pub warmup: Duration,
    /// Open loop: a constant total rate in requests/s; latency counts from the intended
    /// send time (no coordinated omission).
    #[arg(long, value_name = "REQ_PER_SEC")]
    pub rate: Option<f64>,
    /// Bound on one exchange (connect, send, read the response).
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub timeout: Duration,
    /// Put a fresh UUID v4 in this header on every request (e.g. Idempotency-Key).
    #[arg(long, value_name = "NAME")]
    pub unique_header: Option<String>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Exit 0 even if non-2xx responses or transport errors occurred.
    #[arg(long)]
    pub allow_errors: bool,
}

/// A validated run: what to send, where, how often, and how to report.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where requests go.
    pub target: Target,
    /// HTTP method.
    pub method: Method,
    /// Headers from `--header` (the `Host` and `Authorization` headers are added later).
    pub headers: HeaderMap,
    /// Request body.
    pub body: Bytes,
    /// Header that gets a fresh UUID per request.
    pub unique_header: Option<HeaderName>,
    /// Where the bearer token comes from.
    pub token: TokenSource,
    /// Concurrency, pacing and length.
    pub plan: Plan,
    /// JSON output.
    pub json: bool,
    /// Whether failures still exit 0.
    pub allow_errors: bool,
}

impl Args {
    /// Validates the arguments (reads `--body-file`).
    pub fn into_config(self) -> Result<Config, Error> {
        let invalid = Error::InvalidArgument;
        let target = Target::parse(&self.url)?;
        let method = Method::from_bytes(self.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| invalid(format!("--method {:?}", self.method)))?;
        let mut headers = HeaderMap::new();
        for line in &self.headers {
            let (name, value) = parse_header(line)?;
            headers.append(name, value);
        }
        let unique_header = self
            .unique_header
            .as_deref()
            .map(|name| {
                HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| invalid(format!("--unique-header {name:?}")))
            })
            .transpose()?;
        let body = match (self.body, &self.body_file) {
            (Some(body), _) => Bytes::from(body),
            (None, Some(path)) => Bytes::from(
                std::fs::read(path)
                    .map_err(|e| invalid(format!("--body-file {}: {e}", path.display())))?,
            ),
            (None, None) => Bytes::new(),
        };
        let token = match (self.bearer, self.bearer_from, self.user, self.password) {
            (Some(token), ..) => TokenSource::Static(Secret(token)),
            (None, Some(url), Some(username), Some(password)) => TokenSource::PasswordGrant {
                endpoint: Box::new(Target::parse(&url)?),
                client_id: self.client_id,
                username,
                password: Secret(password),
            },
            (None, Some(_), ..) => {
                return Err(invalid("--bearer-from needs --user and --password".into()));
            }
            (None, None, ..) => TokenSource::None,
        };
        let duration = match (self.duration, self.requests) {
            (None, None) => Some(DEFAULT_DURATION),
            (duration, _) => duration,
        };
        let plan = Plan {
            concurrency: self.concurrency,
            warmup: self.warmup,
            duration,
            requests: self.requests,
            rate: self.rate,
            timeout: self.timeout,
        };
        plan.validate()?;
        Ok(Config {
            target,
            method,
            headers,
            body,
            unique_header,
            token,
            plan,
            json: self.json,
            allow_errors: self.allow_errors,
        })
    }
}

/// Parses `Name: value`. Framing headers are refused: the client computes them.
pub fn parse_header(line: &str) -> Result<(HeaderName, HeaderValue), Error> {
    let invalid = || Error::InvalidArgument(format!("--header {line:?}: expected `Name: value`"));
    let (name, value) = line.split_once(':').ok_or_else(invalid)?;
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| invalid())?;
    let value = HeaderValue::from_str(value.trim()).map_err(|_| invalid())?;
    if name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
        return Err(Error::InvalidArgument(format!(
            "--header {name}: set by the client from the body"
        )));
    }
    Ok((name, value))
}

/// Parses `500ms`, `20s`, `1.5s`, `2m`, `1h`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (try 500ms, 20s, 2m)"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?} (use ms, s, m, h)"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("{text:?} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(extra: &[&str]) -> Result<Config, Error> {
        let mut argv = vec![
            "orderflow-loadtest",
            "--url",
            "http://127.0.0.1:8080/orders",
        ];
        argv.extend_from_slice(extra);
        Args::try_parse_from(argv)
            .map_err(|e| Error::InvalidArgument(e.to_string()))?
            .into_config()
    }

    #[test]
    fn the_documented_benchmark_command_line_parses() {
        let config = parse(&[
            "--method",
            "post",
            "--body",
            r#"{"currency":"EUR","items":[]}"#,
            "--header",
            "Content-Type: application/json",
            "--bearer-from",
            "http://127.0.0.1:8080/realms/orderflow/protocol/openid-connect/token",
            "--user",
            "alice",
            "--password",
            "alice",
            "--client-id",
            "orderflow-web",
            "--concurrency",
            "64",
            "--duration",
            "20s",
            "--warmup",
            "3s",
            "--unique-header",
            "Idempotency-Key",
            "--json",
        ])
        .expect("valid");
        assert_eq!(config.method, Method::POST);
        assert_eq!(config.headers["content-type"], "application/json");
        assert_eq!(
            config.unique_header,
            Some(HeaderName::from_static("idempotency-key"))
        );
        assert!(matches!(
            &config.token,
            TokenSource::PasswordGrant { username, client_id, .. }
                if username == "alice" && client_id == "orderflow-web"
        ));
        assert_eq!(
            config.plan,
            Plan {
                concurrency: 64,
                warmup: Duration::from_secs(3),
                duration: Some(Duration::from_secs(20)),
                requests: None,
                rate: None,
                timeout: Duration::from_secs(10),
            }
        );
        assert!(config.json && !config.allow_errors);
    }

    #[test]
    fn without_duration_or_requests_a_run_lasts_ten_seconds() {
        let config = parse(&[]).expect("valid");
        assert_eq!(config.plan.duration, Some(DEFAULT_DURATION));
        let counted = parse(&["--requests", "1000"]).expect("valid");
        assert_eq!(
            (counted.plan.duration, counted.plan.requests),
            (None, Some(1000))
        );
    }

    #[test]
    fn a_non_loopback_target_or_token_endpoint_is_refused() {
        let argv = [
            "orderflow-loadtest",
            "--url",
            "http://203.0.113.7:8080/orders",
        ];
        let args = Args::try_parse_from(argv).expect("clap accepts it");
        assert!(matches!(args.into_config(), Err(Error::NotLoopback { .. })));
        let remote_token = parse(&[
            "--bearer-from",
            "http://idp.example.com/token",
            "--user",
            "a",
            "--password",
            "a",
        ]);
        assert!(matches!(remote_token, Err(Error::NotLoopback { .. })));
    }

    #[test]
    fn conflicting_or_incomplete_flags_are_refused() {
        assert!(parse(&["--bearer", "t", "--bearer-from", "http://127.0.0.1/t"]).is_err());
        assert!(parse(&["--bearer-from", "http://127.0.0.1/t", "--user", "alice"]).is_err());
        assert!(parse(&["--body", "x", "--body-file", "/dev/null"]).is_err());
        assert!(parse(&["--concurrency", "0"]).is_err());
        assert!(parse(&["--rate", "-5"]).is_err());
        assert!(parse(&["--requests", "0"]).is_err());
        assert!(parse(&["--header", "no colon"]).is_err());
        assert!(parse(&["--header", "Content-Length: 5"]).is_err());
        assert!(parse(&["--unique-header", "bad header"]).is_err());
        assert!(parse(&["--method", "GE T"]).is_err());
    }

    #[test]
    fn durations_accept_common_units() {
        let ok = |text: &str, expected: Duration| {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        };
        ok("20s", Duration::from_secs(20));
        ok("500ms", Duration::from_millis(500));
        ok("1.5s", Duration::from_millis(1500));
        ok("2m", Duration::from_secs(120));
        ok("1h", Duration::from_secs(3600));
        ok("3", Duration::from_secs(3));
        ok("0s", Duration::ZERO);
        for bad in ["", "s", "10x", "-1s", "abc", "1e400s"] {
            assert!(parse_duration(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn headers_split_at_the_first_colon_and_are_trimmed() {
        let (name, value) = parse_header("X-Trace:  a:b ").expect("valid");
        assert_eq!(name, "x-trace");
        assert_eq!(value, "a:b");
    }
}
