//! The command line of the contract in `DESIGN.md`: every command is listed,
//! and a command whose component has not landed yet says so and exits with
//! status 2 instead of pretending.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// orderflow: an event-sourced order platform with real-time push.
#[derive(Debug, Parser)]
#[command(name = "orderflow", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Everything in one process on embedded defaults (not yet: arrives with the orders API).
    Up {
        /// Where the event store, search index and keys live.
        #[arg(long, env = "ORDERFLOW_DATA_DIR", default_value = "./data")]
        data_dir: PathBuf,
        /// Address of the one HTTP listener.
        #[arg(long, env = "ORDERFLOW_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
    /// The orders service alone, in server mode (not yet).
    Orders,
    /// The API gateway (BFF) alone, in server mode (not yet).
    Gateway,
    /// The SignalR push hub alone, in server mode (not yet).
    PushHub,
    /// The built-in dev identity provider alone (not yet).
    Idp,
    /// Print an access token from the dev issuer (not yet).
    Token {
        /// A user of the dev issuer, e.g. alice.
        #[arg(long)]
        user: String,
    },
}

/// Exit status of a command that is not built yet.
const NOT_YET: i32 = 2;

pub(crate) fn run(cli: Cli) -> anyhow::Result<()> {
    let (name, arrives_with) = match cli.command {
        Command::Up { .. } => ("up", "the orders API (issue: identity and the orders API)"),
        Command::Orders => (
            "orders",
            "the orders API (issue: identity and the orders API)",
        ),
        Command::Gateway => ("gateway", "the gateway (issue: gateway/BFF)"),
        Command::PushHub => ("push-hub", "the push hub (issue: real-time)"),
        Command::Idp => ("idp", "the dev issuer (issue: identity and the orders API)"),
        Command::Token { .. } => (
            "token",
            "the dev issuer (issue: identity and the orders API)",
        ),
    };
    eprintln!("orderflow {name}: not yet built; it arrives with {arrives_with}.");
    std::process::exit(NOT_YET);
}
