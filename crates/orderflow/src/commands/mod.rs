//! One function per command of the command line.

mod projections;

use anyhow::Context;
use orderflow_auth::DevIssuer;

use crate::cli::{Cli, Command, ProjectionsCommand, TokenArgs};
use crate::shutdown;
use crate::startup::Application;

pub(crate) async fn run(cli: Cli) -> anyhow::Result<()> {
    let application = match cli.command {
        Command::Up(args) => Application::up(args).await?,
        Command::Orders(args) => Application::orders(args).await?,
        Command::Idp(args) => Application::idp(args).await?,
        Command::Token(args) => return print_token(args).await,
        Command::Projections(args) => {
            return match args.command {
                ProjectionsCommand::Status => projections::status(args).await,
                ProjectionsCommand::Rebuild(ref rebuild) => {
                    projections::rebuild(rebuild, &args.data_dir).await
                }
            };
        }
        Command::Gateway(args) => Application::gateway(args).await?,
        Command::PushHub(args) => Application::push_hub(args).await?,
    };
    let shutdown = shutdown::install().context("cannot install the signal handlers")?;
    println!("orderflow is listening on {}", application.local_addr()?);
    for line in &application.banner {
        println!("  {line}");
    }
    println!("  stop with Ctrl-C");
    tracing::info!(url = %application.base_url, "started");
    application.run_until(shutdown).await
}

async fn print_token(args: TokenArgs) -> anyhow::Result<()> {
    let token = dev_token(
        &args.data_dir,
        args.issuer,
        args.users.as_deref(),
        &args.user,
    )
    .await?;
    println!("{token}");
    Ok(())
}

/// An access token for `user` from the dev issuer whose key is in `data_dir`,
/// for the issuer at `issuer_url`.
pub(crate) async fn dev_token(
    data_dir: &std::path::Path,
    issuer_url: String,
    users: Option<&std::path::Path>,
    user: &str,
) -> anyhow::Result<String> {
    let issuer = DevIssuer::load_or_create(data_dir, issuer_url, users)
        .await
        .context("cannot load the dev issuer from the data dir")?;
    let token = issuer
        .issue_for_user(user)
        .with_context(|| format!("cannot issue a token for {user:?}"))?;
    Ok(token.access_token)
}
