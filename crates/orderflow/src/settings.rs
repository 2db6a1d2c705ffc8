//! Turning flags and `ORDERFLOW_*` variables into running parts: the public
//! URL, the event store (SQLite unless a database URL is set) and the token
//! validator (the dev issuer unless an OIDC issuer is set — then that one,
//! and only that one).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use orderflow_app::ports::EventStore;
use orderflow_auth::{TokenValidator, ValidatorConfig, default_http_client};
use orderflow_store::postgres::PostgresOptions;
use orderflow_store::{PostgresEventStore, SqliteEventStore};

use crate::cli::BackendArgs;

/// The base URL clients reach a listener at: the configured public URL, or
/// `http://{address}` with an unspecified address (0.0.0.0) shown as loopback.
pub(crate) fn public_url(configured: Option<&str>, bound: SocketAddr) -> String {
    if let Some(url) = configured {
        return url.trim_end_matches('/').to_owned();
    }
    let mut shown = bound;
    if shown.ip().is_unspecified() {
        shown.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    format!("http://{shown}")
}

/// Which event store runs, for the banner.
pub(crate) fn event_store_description(backend: &BackendArgs, data_dir: &Path) -> String {
    match &backend.database_url {
        Some(_) => "PostgreSQL (ORDERFLOW_DATABASE_URL)".to_owned(),
        None => format!("SQLite {}", data_dir.join("events.sqlite").display()),
    }
}

pub(crate) async fn open_event_store(
    backend: &BackendArgs,
    data_dir: &Path,
) -> anyhow::Result<Arc<dyn EventStore>> {
    match &backend.database_url {
        Some(url) => {
            let store = PostgresEventStore::connect(url, PostgresOptions::default())
                .await
                .context("cannot open the PostgreSQL event store")?;
            Ok(Arc::new(store))
        }
        None => {
            std::fs::create_dir_all(data_dir)
                .with_context(|| format!("cannot create the data dir {}", data_dir.display()))?;
            let store = SqliteEventStore::open(data_dir.join("events.sqlite"))
                .await
                .context("cannot open the SQLite event store")?;
            Ok(Arc::new(store))
        }
    }
}

/// A validator for `issuer`, discovering its keys over HTTP on first use (so
/// a service may start before its provider, or serve the provider itself).
pub(crate) fn token_validator(
    backend: &BackendArgs,
    issuer: &str,
) -> anyhow::Result<TokenValidator> {
    let mut config = ValidatorConfig::new(issuer);
    if let Some(audience) = &backend.oidc_audience {
        config = config.with_audience(audience);
    }
    if let Some(client) = &backend.oidc_roles_client {
        config = config.with_client_roles_from(client);
    }
    let http = default_http_client().context("cannot build the HTTP client for OIDC discovery")?;
    Ok(TokenValidator::lazy(config, http))
}
