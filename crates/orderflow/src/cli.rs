//! The command line of the contract in `DESIGN.md`: every command, its flags
//! and the `ORDERFLOW_*` variables that set them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use orderflow_http::ConnectionLimits;

/// orderflow: an event-sourced order platform with real-time push.
#[derive(Debug, Parser)]
#[command(name = "orderflow", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Everything in one process on embedded defaults: dev issuer, orders API, gateway,
    /// push hub.
    Up(UpArgs),
    /// The orders service alone, in server mode (PostgreSQL, external OIDC issuer).
    Orders(ServiceArgs),
    /// The API gateway (BFF) alone, in server mode (RabbitMQ, PostgreSQL read model,
    /// external OIDC issuer).
    Gateway(GatewayArgs),
    /// The SignalR push hub alone, in server mode (RabbitMQ, external OIDC issuer).
    PushHub(ServiceArgs),
    /// The built-in dev identity provider alone.
    Idp(IdpArgs),
    /// Print an access token from the dev issuer.
    Token(TokenArgs),
    /// Inspect the event-store subscriptions (search projection, outboxes).
    Projections(ProjectionsArgs),
}

impl Command {
    /// The command's name on the command line (`push-hub`), e.g. for the trace service name.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Up(_) => "up",
            Command::Orders(_) => "orders",
            Command::Gateway(_) => "gateway",
            Command::PushHub(_) => "push-hub",
            Command::Idp(_) => "idp",
            Command::Token(_) => "token",
            Command::Projections(_) => "projections",
        }
    }
}

#[derive(Debug, Args)]
pub struct ProjectionsArgs {
    #[command(subcommand)]
    pub command: ProjectionsCommand,
    /// Where the embedded event store and search index live.
    #[arg(
        long,
        env = "ORDERFLOW_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub backend: BackendArgs,
}

#[derive(Debug, Subcommand)]
pub enum ProjectionsCommand {
    /// Each subscription's position and its lag behind the event store's head; safe
    /// beside a running service.
    Status,
    /// Re-create a projection from the event store inside the running service, which
    /// keeps answering from the old index until the fresh one is swapped in.
    Rebuild(RebuildArgs),
}

#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// The projection to rebuild.
    #[arg(value_parser = ["search"])]
    pub projection: String,
    /// Base URL of the running service (`orderflow up` or `orderflow orders`).
    #[arg(long, env = "ORDERFLOW_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// An admin's access token; without one, a token for `admin` is issued by the dev
    /// issuer whose key is in the data dir (as `orderflow token` does).
    #[arg(long, env = "ORDERFLOW_TOKEN")]
    pub token: Option<String>,
}

/// Where data lives and where to listen.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Where the embedded event store and the dev issuer's key live.
    #[arg(long, env = "ORDERFLOW_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Address of the HTTP listener.
    #[arg(long, env = "ORDERFLOW_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Base URL clients use to reach this listener (default: from --listen).
    #[arg(long, env = "ORDERFLOW_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// How long a request's head may take to arrive, counted from when the listener starts
    /// waiting for it; slower clients are disconnected.
    #[arg(long, env = "ORDERFLOW_HEADER_READ_TIMEOUT_MS",
          default_value_t = millis(ConnectionLimits::DEFAULT_HEADER_READ_TIMEOUT),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout_ms: u64,
    /// How long a connection may sit without reading or writing a byte before it is closed
    /// (between requests at once, during one after its response).
    #[arg(long, env = "ORDERFLOW_KEEP_ALIVE_TIMEOUT_MS",
          default_value_t = millis(ConnectionLimits::DEFAULT_KEEP_ALIVE_TIMEOUT),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub keep_alive_timeout_ms: u64,
    /// The most connections (WebSockets included) the listener holds at once; further
    /// clients wait to be accepted.
    #[arg(long, env = "ORDERFLOW_MAX_CONNECTIONS",
          default_value_t = ConnectionLimits::DEFAULT_MAX_CONNECTIONS as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: u64,
    /// The longest a request may take from its head to its answer (a body sent too
    /// slowly is answered 408).
    #[arg(long, env = "ORDERFLOW_REQUEST_DEADLINE_MS",
          default_value_t = millis(ConnectionLimits::DEFAULT_REQUEST_DEADLINE),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub request_deadline_ms: u64,
}

/// A default duration as a flag's milliseconds.
const fn millis(duration: Duration) -> u64 {
    duration.as_secs() * 1000 + duration.subsec_millis() as u64
}

impl CommonArgs {
    /// The listener's limits, from the flags.
    pub fn connection_limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout: Duration::from_millis(self.header_read_timeout_ms),
            keep_alive_timeout: Duration::from_millis(self.keep_alive_timeout_ms),
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
            request_deadline: Duration::from_millis(self.request_deadline_ms),
        }
    }
}

/// How a service finds its database and its identity provider.
#[derive(Debug, Args)]
pub struct BackendArgs {
    /// PostgreSQL URL for the event store; unset means the embedded SQLite file.
    #[arg(long, env = "ORDERFLOW_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Issuer URL of the OIDC provider to trust (e.g. a Keycloak realm).
    #[arg(long, env = "ORDERFLOW_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// Required audience (matched against `aud` or `azp`). Required with --oidc-issuer
    /// unless --oidc-any-audience; with the dev issuer it defaults to the audience the
    /// dev issuer mints (`orderflow-api`).
    #[arg(long, env = "ORDERFLOW_OIDC_AUDIENCE")]
    pub oidc_audience: Option<String>,
    /// Accept the external issuer's tokens whatever their audience (logged as a warning at
    /// start); only for a provider that issues tokens to nothing else.
    #[arg(
        long,
        env = "ORDERFLOW_OIDC_ANY_AUDIENCE",
        conflicts_with = "oidc_audience"
    )]
    pub oidc_any_audience: bool,
    /// Take roles from `resource_access.<client>.roles` instead of `realm_access.roles`.
    #[arg(long, env = "ORDERFLOW_OIDC_ROLES_CLIENT")]
    pub oidc_roles_client: Option<String>,
    /// Search index: `tantivy` (in the data dir) or `postgres` (the event store's
    /// database, shared by every instance). Default: postgres with a database URL,
    /// else tantivy.
    #[arg(long, env = "ORDERFLOW_SEARCH", value_parser = ["tantivy", "postgres"])]
    pub search: Option<String>,
    /// RabbitMQ URL (`amqp://user:password@host:5672/%2f`); unset means the in-process bus.
    #[arg(long, env = "ORDERFLOW_AMQP_URL")]
    pub amqp_url: Option<String>,
    /// The RabbitMQ topic exchange orderflow publishes to.
    #[arg(long, env = "ORDERFLOW_AMQP_EXCHANGE", default_value = "orderflow")]
    pub amqp_exchange: String,
    /// How long the gateway waits for the order service to answer a command before it
    /// answers 504 (the command stays queued and is processed once).
    #[arg(long, env = "ORDERFLOW_COMMAND_TIMEOUT_MS", default_value_t = 5000)]
    pub command_timeout_ms: u64,
    /// How long a rebuild keeps the PostgreSQL search tables it replaced, for instances
    /// that have not switched to the rebuilt ones yet (they switch within seconds).
    #[arg(
        long,
        env = "ORDERFLOW_SEARCH_REBUILD_GRACE_MS",
        default_value_t = 60_000
    )]
    pub search_rebuild_grace_ms: u64,
    /// Unacknowledged pushes the hub's inbox keeps per user; past it the oldest are dropped.
    /// 0 turns the inbox off: a push then reaches only the users connected when it comes.
    #[arg(long, env = "ORDERFLOW_INBOX_MAX_PER_USER", default_value_t = 1_000)]
    pub inbox_max_per_user: u32,
    /// How long the hub's inbox keeps an unacknowledged push, in hours (default 7 days).
    #[arg(long, env = "ORDERFLOW_INBOX_MAX_AGE_HOURS", default_value_t = 168)]
    pub inbox_max_age_hours: u64,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub backend: BackendArgs,
    /// The dev issuer's settings (unused with `ORDERFLOW_OIDC_ISSUER`).
    #[command(flatten)]
    pub dev_issuer: DevIssuerArgs,
}

/// What the dev issuer serves, and whom it believes.
#[derive(Debug, Args)]
pub struct DevIssuerArgs {
    /// JSON users file replacing the dev issuer's demo users.
    #[arg(long, env = "ORDERFLOW_DEV_USERS")]
    pub users: Option<PathBuf>,
    /// Redirect URIs the dev issuer allows `orderflow-web` beside its own `{base}/` and
    /// `{base}/callback` (comma-separated, exact), e.g. `http://127.0.0.1:8084/callback` for
    /// a console served by a gateway.
    #[arg(long, env = "ORDERFLOW_DEV_REDIRECT_URIS", value_delimiter = ',')]
    pub redirect_uris: Vec<String>,
    /// Reverse proxies (addresses or CIDR ranges, comma-separated) whose `X-Forwarded-For`
    /// names the client for the per-address limit on failed logins. Unset: nobody's is
    /// believed, and the peer's address counts.
    #[arg(long, env = "ORDERFLOW_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ServiceArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub backend: BackendArgs,
}

/// The gateway alone: a service, and where the console's other calls go.
#[derive(Debug, Args)]
pub struct GatewayArgs {
    #[command(flatten)]
    pub service: ServiceArgs,
    /// Base URL of the orders service (`http://host:port`): the console served here calls
    /// `/orders…` (search, confirm, cancel, subscribe) on this origin, and they are forwarded
    /// there. Unset: not served here.
    #[arg(long, env = "ORDERFLOW_ORDERS_URL")]
    pub orders_url: Option<String>,
    /// Base URL of a push hub (`http://host:port`): the console's `/hubs/…` (negotiate and
    /// WebSocket) are forwarded there. Unset: not served here.
    #[arg(long, env = "ORDERFLOW_HUB_URL")]
    pub hub_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct IdpArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub dev_issuer: DevIssuerArgs,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// A user of the dev issuer, e.g. alice.
    #[arg(long)]
    pub user: String,
    /// Where the dev issuer's key lives (the same as `orderflow up`'s).
    #[arg(long, env = "ORDERFLOW_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Issuer URL the token is for: the `up` or `idp` that will check it.
    #[arg(
        long,
        env = "ORDERFLOW_DEV_ISSUER_URL",
        default_value = "http://127.0.0.1:8080/realms/orderflow"
    )]
    pub issuer: String,
    /// JSON users file, if the issuer uses one.
    #[arg(long, env = "ORDERFLOW_DEV_USERS")]
    pub users: Option<PathBuf>,
}
