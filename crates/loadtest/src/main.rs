//! `orderflow-loadtest`: parses the command line, runs, prints the report.
//!
//! Exit status: 0 when the figures can be trusted, 1 when the run measured something
//! that makes them misleading (non-2xx, transport errors, missed sends, interrupted or
//! empty; see `Report::failures`), 2 when the run could not start (bad arguments,
//! non-loopback target, token or connection failure).

use std::process::ExitCode;

use clap::Parser;
use orderflow_loadtest::cli::Args;
use orderflow_loadtest::run::execute;
use orderflow_loadtest::stop::StopSignal;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();

    let config = match Args::parse().into_config() {
        Ok(config) => config,
        Err(error) => return fail_to_start(&error),
    };
    let (json, allow_errors) = (config.json, config.allow_errors);
    let stop = StopSignal::new();
    tokio::spawn({
        let stop = stop.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.stop();
            }
        }
    });

    let report = match execute(config, stop).await {
        Ok(report) => report,
        Err(error) => return fail_to_start(&error),
    };
    if json {
        match serde_json::to_string(&report) {
            Ok(line) => println!("{line}"),
            Err(error) => return fail_to_start(&error),
        }
    } else {
        println!("{report}");
    }
    let failures = report.failures(allow_errors);
    if failures.is_empty() {
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "orderflow-loadtest: not a clean run: {}",
        failures.join("; ")
    );
    if !allow_errors && (report.non_2xx > 0 || report.errors > 0) {
        eprintln!("orderflow-loadtest: pass --allow-errors to accept non-2xx responses and errors");
    }
    ExitCode::FAILURE
}

fn fail_to_start(error: &dyn std::error::Error) -> ExitCode {
    eprintln!("orderflow-loadtest: {error}");
    ExitCode::from(2)
}
