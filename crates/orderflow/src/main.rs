//! The `orderflow` binary: parses the command line, sets up logging and tracing,
//! hands over to the command ([`orderflow::run`]), and flushes the traces at the end.

use clap::Parser;

/// mimalloc instead of glibc's malloc: under `POST /orders` load glibc's allocator took
/// about a fifth of the CPU (`_int_malloc`, `malloc_consolidate`, `_int_free`); see
/// docs/BENCHMARKS.md, "The allocator".
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
