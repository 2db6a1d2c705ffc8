//! One function per command of the command line: the services through
//! [`Application::build`], and the one-shot commands.

mod projections;

use anyhow::Context;
use orderflow_auth::DevIssuer;

use crate::cli::{Cli, Command, ProjectionsCommand, TokenArgs};
use crate::settings::Settings;
use crate::{Application, shutdown};

/// Runs the command `cli` names, until it ends or a signal stops it.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = match Settings::of_command(cli.command).map_err(|command| *command) {
        Ok(settings) => settings,
        Err(Command::Token(args)) => return print_token(args).await,
        Err(Command::Projections(args)) => {
            return match args.command {
                ProjectionsCommand::Status => projections::status(args).await,
                ProjectionsCommand::Rebuild(ref rebuild) => {
                    projections::rebuild(rebuild, &args.data_dir).await
                }
            };
        }
        Err(_) => unreachable!("every command that runs a service has settings"),
    };
    let application = Application::build(settings).await?;
    let shutdown = shutdown::install().context("cannot install the signal handlers")?;
    println!("orderflow is listening on {}", application.local_addr()?);
    for line in application.banner() {
        println!("  {line}");
    }
    println!("  stop with Ctrl-C");
    tracing::info!(url = %application.base_url(), "started");
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
