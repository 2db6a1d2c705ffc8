//! The command line of the contract in `DESIGN.md`: every command, its flags
//! and the `ORDERFLOW_*` variables that set them.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// orderflow: an event-sourced order platform with real-time push.
#[derive(Debug, Parser)]
#[command(name = "orderflow", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Everything in one process on embedded defaults: dev issuer, orders API, gateway,
    /// push hub.
    Up(UpArgs),
    /// The orders service alone, in server mode (PostgreSQL, external OIDC issuer).
    Orders(ServiceArgs),
    /// The API gateway (BFF) alone, in server mode (RabbitMQ, PostgreSQL read model,
    /// external OIDC issuer).
    Gateway(ServiceArgs),
    /// The SignalR push hub alone, in server mode (RabbitMQ, external OIDC issuer).
    PushHub(ServiceArgs),
    /// The built-in dev identity provider alone.
    Idp(IdpArgs),
    /// Print an access token from the dev issuer.
    Token(TokenArgs),
    /// Inspect the event-store subscriptions (search projection, outboxes).
    Projections(ProjectionsArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ProjectionsArgs {
    #[command(subcommand)]
    pub(crate) command: ProjectionsCommand,
    /// Where the embedded event store and search index live.
    #[arg(
        long,
        env = "ORDERFLOW_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub(crate) data_dir: PathBuf,
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProjectionsCommand {
    /// Each subscription's position and its lag behind the event store's head; safe
    /// beside a running service.
    Status,
    /// Re-create a projection from the event store inside the running service, which
    /// keeps answering from the old index until the fresh one is swapped in.
    Rebuild(RebuildArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RebuildArgs {
    /// The projection to rebuild.
    #[arg(value_parser = ["search"])]
    pub(crate) projection: String,
    /// Base URL of the running service (`orderflow up` or `orderflow orders`).
    #[arg(long, env = "ORDERFLOW_URL", default_value = "http://127.0.0.1:8080")]
    pub(crate) url: String,
    /// An admin's access token; without one, a token for `admin` is issued by the dev
    /// issuer whose key is in the data dir (as `orderflow token` does).
    #[arg(long, env = "ORDERFLOW_TOKEN")]
    pub(crate) token: Option<String>,
}

/// Where data lives and where to listen.
#[derive(Debug, Args)]
pub(crate) struct CommonArgs {
    /// Where the embedded event store and the dev issuer's key live.
    #[arg(long, env = "ORDERFLOW_DATA_DIR", default_value = "./data")]
    pub(crate) data_dir: PathBuf,
    /// Address of the HTTP listener.
    #[arg(long, env = "ORDERFLOW_LISTEN", default_value = "127.0.0.1:8080")]
    pub(crate) listen: SocketAddr,
    /// Base URL clients use to reach this listener (default: from --listen).
    #[arg(long, env = "ORDERFLOW_PUBLIC_URL")]
    pub(crate) public_url: Option<String>,
}

/// How a service finds its database and its identity provider.
#[derive(Debug, Args)]
pub(crate) struct BackendArgs {
    /// PostgreSQL URL for the event store; unset means the embedded SQLite file.
    #[arg(long, env = "ORDERFLOW_DATABASE_URL")]
    pub(crate) database_url: Option<String>,
    /// Issuer URL of the OIDC provider to trust (e.g. a Keycloak realm).
    #[arg(long, env = "ORDERFLOW_OIDC_ISSUER")]
    pub(crate) oidc_issuer: Option<String>,
    /// Required audience (matched against `aud` or `azp`); unset means not checked.
    #[arg(long, env = "ORDERFLOW_OIDC_AUDIENCE")]
    pub(crate) oidc_audience: Option<String>,
    /// Take roles from `resource_access.<client>.roles` instead of `realm_access.roles`.
    #[arg(long, env = "ORDERFLOW_OIDC_ROLES_CLIENT")]
    pub(crate) oidc_roles_client: Option<String>,
    /// Search index: `tantivy` (in the data dir) or `postgres` (the event store's
    /// database, shared by every instance). Default: postgres with a database URL,
    /// else tantivy.
    #[arg(long, env = "ORDERFLOW_SEARCH", value_parser = ["tantivy", "postgres"])]
    pub(crate) search: Option<String>,
    /// RabbitMQ URL (`amqp://user:password@host:5672/%2f`); unset means the in-process bus.
    #[arg(long, env = "ORDERFLOW_AMQP_URL")]
    pub(crate) amqp_url: Option<String>,
    /// The RabbitMQ topic exchange orderflow publishes to.
    #[arg(long, env = "ORDERFLOW_AMQP_EXCHANGE", default_value = "orderflow")]
    pub(crate) amqp_exchange: String,
    /// How long the gateway waits for the order service to answer a command before it
    /// answers 504 (the command stays queued and is processed once).
    #[arg(long, env = "ORDERFLOW_COMMAND_TIMEOUT_MS", default_value_t = 5000)]
    pub(crate) command_timeout_ms: u64,
    /// How long a rebuild keeps the PostgreSQL search tables it replaced, for instances
    /// that have not switched to the rebuilt ones yet (they switch within seconds).
    #[arg(
        long,
        env = "ORDERFLOW_SEARCH_REBUILD_GRACE_MS",
        default_value_t = 60_000
    )]
    pub(crate) search_rebuild_grace_ms: u64,
    /// Unacknowledged pushes the hub's inbox keeps per user; past it the oldest are dropped.
    #[arg(long, env = "ORDERFLOW_INBOX_MAX_PER_USER", default_value_t = 1_000)]
    pub(crate) inbox_max_per_user: u32,
    /// How long the hub's inbox keeps an unacknowledged push, in hours (default 7 days).
    #[arg(long, env = "ORDERFLOW_INBOX_MAX_AGE_HOURS", default_value_t = 168)]
    pub(crate) inbox_max_age_hours: u64,
}

#[derive(Debug, Args)]
pub(crate) struct UpArgs {
    #[command(flatten)]
    pub(crate) common: CommonArgs,
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// JSON users file replacing the dev issuer's demo users.
    #[arg(long, env = "ORDERFLOW_DEV_USERS")]
    pub(crate) users: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ServiceArgs {
    #[command(flatten)]
    pub(crate) common: CommonArgs,
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
}

#[derive(Debug, Args)]
pub(crate) struct IdpArgs {
    #[command(flatten)]
    pub(crate) common: CommonArgs,
    /// JSON users file replacing the demo users.
    #[arg(long, env = "ORDERFLOW_DEV_USERS")]
    pub(crate) users: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    /// A user of the dev issuer, e.g. alice.
    #[arg(long)]
    pub(crate) user: String,
    /// Where the dev issuer's key lives (the same as `orderflow up`'s).
    #[arg(long, env = "ORDERFLOW_DATA_DIR", default_value = "./data")]
    pub(crate) data_dir: PathBuf,
    /// Issuer URL the token is for: the `up` or `idp` that will check it.
    #[arg(
        long,
        env = "ORDERFLOW_DEV_ISSUER_URL",
        default_value = "http://127.0.0.1:8080/realms/orderflow"
    )]
    pub(crate) issuer: String,
    /// JSON users file, if the issuer uses one.
    #[arg(long, env = "ORDERFLOW_DEV_USERS")]
    pub(crate) users: Option<PathBuf>,
}
