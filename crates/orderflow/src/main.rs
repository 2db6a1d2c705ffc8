//! The `orderflow` binary: parses the command line, sets up logging and
//! hands over to the command ([`orderflow::run`]).

use clap::Parser;

/// mimalloc instead of glibc's malloc: under `POST /orders` load glibc's allocator took
/// about a fifth of the CPU (`_int_malloc`, `malloc_consolidate`, `_int_free`); see
/// docs/BENCHMARKS.md, "The allocator".
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = orderflow::cli::Cli::parse();
    orderflow::telemetry::init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(orderflow::run(cli))
}
