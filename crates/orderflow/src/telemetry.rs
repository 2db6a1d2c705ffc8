//! Logging: `tracing` to stderr, filtered by `RUST_LOG` (default: info for
//! orderflow, warnings for libraries), as JSON lines when
//! `ORDERFLOW_LOG_FORMAT=json`.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn,hyper=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let json = std::env::var("ORDERFLOW_LOG_FORMAT").is_ok_and(|format| format == "json");
    let result = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    if let Err(error) = result {
        eprintln!("logging not initialised: {error}");
    }
}
