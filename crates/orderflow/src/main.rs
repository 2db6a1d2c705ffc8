//! The `orderflow` binary: parses the command line, sets up logging and
//! hands over to the command ([`orderflow::run`]).

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = orderflow::cli::Cli::parse();
    orderflow::telemetry::init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(orderflow::run(cli))
}
