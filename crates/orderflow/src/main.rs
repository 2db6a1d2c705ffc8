//! The `orderflow` binary: parses the command line, sets up logging and tracing,
//! hands over to the command ([`orderflow::run`]), and flushes the traces at the end.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = orderflow::cli::Cli::parse();
    let telemetry = orderflow::telemetry::init(cli.command.name());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(orderflow::run(cli));
    drop(runtime);
    telemetry.shutdown();
    outcome
}
