//! The `orderflow` binary: parses the command line, sets up logging and
//! hands over to the command. Everything else lives in the modules.

mod cli;
mod commands;
mod health;
mod prometheus;
mod settings;
mod shutdown;
mod startup;
mod telemetry;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    telemetry::init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(commands::run(cli))
}
