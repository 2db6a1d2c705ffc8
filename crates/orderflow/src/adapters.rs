//! Opening the adapters the settings name, as running parts: the public
//! URL, the event store, the gateway's read model and the hub's push inbox
//! (SQLite unless a database URL is set), the bus
//! (in-process unless an AMQP URL is set) and the token validator (the dev
//! issuer unless an OIDC issuer is set — then that one, and only that one).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use orderflow_app::ports::bus::MessageBus;
use orderflow_app::ports::{
    CheckpointStore, EventStore, InboxBounds, Leases, OrderReadModel, Position, PushInbox,
    SearchIndex,
};
use orderflow_auth::{DEV_AUDIENCE, TokenValidator, ValidatorConfig, default_http_client};
use orderflow_bus::{InProcessBus, InProcessConfig, RabbitBus, RabbitConfig};
use orderflow_inbox::{PostgresInbox, SharedClock, SqliteInbox};
use orderflow_read_model::{PostgresReadModel, SqliteReadModel};
use orderflow_search::tantivy_index::generations::directory_in_use;
use orderflow_search::{PostgresSearchIndex, TantivySearchIndex};
use orderflow_store::postgres::PostgresOptions;
use orderflow_store::{PostgresEventStore, PostgresLeases, SqliteEventStore};

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

/// The event store and, on the same storage, the subscriptions' checkpoints.
#[derive(Clone)]
pub(crate) struct Stores {
    pub(crate) events: Arc<dyn EventStore>,
    pub(crate) checkpoints: Arc<dyn CheckpointStore>,
    /// Cluster-wide leases (server mode), so that one instance runs each
    /// outbox; `None` where one process owns the store (SQLite).
    pub(crate) leases: Option<Arc<dyn Leases>>,
    pub(crate) description: String,
}

pub(crate) async fn open_stores(backend: &BackendArgs, data_dir: &Path) -> anyhow::Result<Stores> {
    match &backend.database_url {
        Some(url) => {
            let store = PostgresEventStore::connect(url, PostgresOptions::default())
                .await
                .context("cannot open the PostgreSQL event store")?;
            Ok(Stores {
                events: Arc::new(store.clone()),
                leases: Some(Arc::new(PostgresLeases::new(store.pool()))),
                checkpoints: Arc::new(store),
                description: "PostgreSQL (ORDERFLOW_DATABASE_URL)".to_owned(),
            })
        }
        None => {
            std::fs::create_dir_all(data_dir)
                .with_context(|| format!("cannot create the data dir {}", data_dir.display()))?;
            let path = data_dir.join("events.sqlite");
            let store = SqliteEventStore::open(&path)
                .await
                .context("cannot open the SQLite event store")?;
            Ok(Stores {
                events: Arc::new(store.clone()),
                checkpoints: Arc::new(store),
                leases: None,
                description: format!("SQLite {}", path.display()),
            })
        }
    }
}

/// The PostgreSQL URL of the search index, or `None` for tantivy.
fn postgres_search_url(backend: &BackendArgs) -> anyhow::Result<Option<&str>> {
    let postgres = match backend.search.as_deref() {
        Some("postgres") => true,
        Some(_) => false,
        None => backend.database_url.is_some(),
    };
    if !postgres {
        return Ok(None);
    }
    backend
        .database_url
        .as_deref()
        .map(Some)
        .context("ORDERFLOW_SEARCH=postgres needs ORDERFLOW_DATABASE_URL")
}

/// The search projection's committed position, read without opening the
/// index for writing (a running service holds it).
pub(crate) async fn search_checkpoint(
    backend: &BackendArgs,
    data_dir: &Path,
) -> anyhow::Result<Position> {
    if let Some(url) = postgres_search_url(backend)? {
        let index = PostgresSearchIndex::connect(url, 1)
            .await
            .context("cannot open the PostgreSQL search index")?;
        return index
            .checkpoint(orderflow_app::projections::search::SEARCH_PROJECTION)
            .await
            .context("cannot read the search projection's checkpoint");
    }
    TantivySearchIndex::committed_checkpoint(
        &directory_in_use(data_dir),
        orderflow_app::projections::search::SEARCH_PROJECTION,
    )
    .context("cannot read the tantivy index's checkpoint")
}

/// Which adapter a search index is, with what rebuilding it needs.
pub(crate) enum IndexKind {
    /// The embedded index, in this directory.
    Tantivy(std::path::PathBuf),
    /// The shared index, on its generation in use.
    Postgres(PostgresSearchIndex),
}

/// The search index, a line describing it, and which kind it is.
pub(crate) async fn open_search_index(
    backend: &BackendArgs,
    data_dir: &Path,
) -> anyhow::Result<(Arc<dyn SearchIndex>, String, IndexKind)> {
    if let Some(url) = postgres_search_url(backend)? {
        let index = PostgresSearchIndex::connect(url, 8)
            .await
            .context("cannot open the PostgreSQL search index")?;
        let description = format!("PostgreSQL full-text (generation {})", index.generation());
        return Ok((
            Arc::new(index.clone()),
            description,
            IndexKind::Postgres(index),
        ));
    }
    let directory = directory_in_use(data_dir);
    std::fs::create_dir_all(&directory)
        .with_context(|| format!("cannot create {}", directory.display()))?;
    let index = TantivySearchIndex::open(&directory).context("cannot open the tantivy index")?;
    let description = format!("tantivy {}", directory.display());
    Ok((Arc::new(index), description, IndexKind::Tantivy(directory)))
}

/// The gateway's read model (PostgreSQL with a database URL, else SQLite in
/// the data dir), and a line describing it.
pub(crate) async fn open_read_model(
    backend: &BackendArgs,
    data_dir: &Path,
) -> anyhow::Result<(Arc<dyn OrderReadModel>, String)> {
    if let Some(url) = &backend.database_url {
        let read_model = PostgresReadModel::connect(url)
            .await
            .context("cannot open the gateway's PostgreSQL read model")?;
        return Ok((Arc::new(read_model), "PostgreSQL".to_owned()));
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data dir {}", data_dir.display()))?;
    let path = data_dir.join("gateway.sqlite");
    let read_model = SqliteReadModel::open(&path)
        .await
        .context("cannot open the gateway's SQLite read model")?;
    Ok((Arc::new(read_model), format!("SQLite {}", path.display())))
}

/// The hub's push inbox (PostgreSQL with a database URL, shared by every hub instance, else
/// SQLite in the data dir), and a line describing it.
pub(crate) async fn open_inbox(
    backend: &BackendArgs,
    data_dir: &Path,
) -> anyhow::Result<(Arc<dyn PushInbox>, String)> {
    let bounds = InboxBounds {
        max_per_user: backend.inbox_max_per_user,
        max_age: std::time::Duration::from_secs(backend.inbox_max_age_hours.max(1) * 3600),
    };
    let limits = format!(
        "{} per user, {} h",
        bounds.max_per_user, backend.inbox_max_age_hours
    );
    if let Some(url) = &backend.database_url {
        let inbox = PostgresInbox::connect(url, bounds, SharedClock::system())
            .await
            .context("cannot open the hub's PostgreSQL push inbox")?;
        return Ok((Arc::new(inbox), format!("PostgreSQL ({limits})")));
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data dir {}", data_dir.display()))?;
    let path = data_dir.join("inbox.sqlite");
    let inbox = SqliteInbox::open(&path, bounds, SharedClock::system())
        .await
        .context("cannot open the hub's SQLite push inbox")?;
    Ok((
        Arc::new(inbox),
        format!("SQLite {} ({limits})", path.display()),
    ))
}

/// The message bus, and a line describing it.
pub(crate) async fn open_bus(
    backend: &BackendArgs,
) -> anyhow::Result<(Arc<dyn MessageBus>, String)> {
    match &backend.amqp_url {
        Some(url) => {
            let config = RabbitConfig {
                exchange: backend.amqp_exchange.clone(),
                ..RabbitConfig::new(url.clone())
            };
            let bus = RabbitBus::connect(config)
                .await
                .context("cannot connect to RabbitMQ (ORDERFLOW_AMQP_URL)")?;
            Ok((Arc::new(bus), "RabbitMQ (ORDERFLOW_AMQP_URL)".to_owned()))
        }
        None => Ok((
            Arc::new(InProcessBus::new(InProcessConfig::default())),
            "in-process".to_owned(),
        )),
    }
}

/// A validator for `issuer`, discovering its keys over HTTP on first use (so
/// a service may start before its provider, or serve the provider itself).
/// The audience follows [`required_audience`]; accepting any is logged as a
/// warning.
pub(crate) fn token_validator(
    backend: &BackendArgs,
    issuer: &str,
) -> anyhow::Result<TokenValidator> {
    let mut config = ValidatorConfig::new(issuer);
    match required_audience(backend)? {
        Some(audience) => config = config.with_audience(audience),
        None => tracing::warn!(
            issuer,
            "ORDERFLOW_OIDC_ANY_AUDIENCE: tokens of this issuer are accepted whatever \
             service they were issued for"
        ),
    }
    if let Some(client) = &backend.oidc_roles_client {
        config = config.with_client_roles_from(client);
    }
    let http = default_http_client().context("cannot build the HTTP client for OIDC discovery")?;
    Ok(TokenValidator::lazy(config, http))
}

/// An external issuer without an audience to require, and no explicit
/// permission to accept any.
#[derive(Debug, thiserror::Error)]
#[error(
    "ORDERFLOW_OIDC_ISSUER needs ORDERFLOW_OIDC_AUDIENCE: the audience (in `aud`, or as \
     `azp`) this service's tokens carry, so tokens issued for other services are refused; \
     set ORDERFLOW_OIDC_ANY_AUDIENCE=true to accept tokens for any audience"
)]
pub(crate) struct AudienceNotConfigured;

/// The audience tokens must carry, `None` for any:
/// * with an external issuer, `ORDERFLOW_OIDC_AUDIENCE`; without it the
///   service refuses to start unless `ORDERFLOW_OIDC_ANY_AUDIENCE` is set;
/// * with the dev issuer of `orderflow up`, the configured audience or the
///   one the dev issuer mints ([`DEV_AUDIENCE`]).
pub(crate) fn required_audience(
    backend: &BackendArgs,
) -> Result<Option<String>, AudienceNotConfigured> {
    match (&backend.oidc_audience, &backend.oidc_issuer) {
        (Some(audience), _) => Ok(Some(audience.clone())),
        (None, None) => Ok(Some(DEV_AUDIENCE.to_owned())),
        (None, Some(_)) if backend.oidc_any_audience => Ok(None),
        (None, Some(_)) => Err(AudienceNotConfigured),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Backend {
        #[command(flatten)]
        backend: BackendArgs,
    }

    fn backend(flags: &[&str]) -> BackendArgs {
        let arguments = std::iter::once("test").chain(flags.iter().copied());
        Backend::try_parse_from(arguments)
            .map(|parsed| parsed.backend)
            .unwrap()
    }

    const ISSUER: &str = "--oidc-issuer=https://idp.example/realms/x";

    #[test]
    fn an_external_issuer_without_an_audience_is_refused() {
        assert!(required_audience(&backend(&[ISSUER])).is_err());
    }

    #[test]
    fn an_external_issuer_takes_the_configured_audience_or_any_when_told_so() {
        let configured = backend(&[ISSUER, "--oidc-audience=billing"]);
        assert_eq!(
            required_audience(&configured).unwrap().as_deref(),
            Some("billing")
        );
        let any = backend(&[ISSUER, "--oidc-any-audience"]);
        assert_eq!(required_audience(&any).unwrap(), None);
        let contradiction = [
            "test",
            ISSUER,
            "--oidc-any-audience",
            "--oidc-audience=billing",
        ];
        assert!(Backend::try_parse_from(contradiction).is_err());
    }

    #[test]
    fn the_dev_issuer_requires_the_audience_it_mints() {
        assert_eq!(
            required_audience(&backend(&[])).unwrap().as_deref(),
            Some(DEV_AUDIENCE)
        );
    }
}
