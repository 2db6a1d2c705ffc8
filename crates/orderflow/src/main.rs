//! The `orderflow` binary. `main` only parses the command line; each command
//! lives in [`cli`] and says honestly when it is not built yet.

mod cli;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let command = cli::Cli::parse();
    cli::run(command)
}
