//! What one process runs, and how: the typed settings
//! [`Application::build`](crate::Application::build) takes, loaded from the
//! command line and the `ORDERFLOW_*` variables (`cli` names each flag and
//! variable once, with its default).

use crate::cli::{Cli, Command, GatewayArgs, IdpArgs, ServiceArgs, UpArgs};

/// One process's settings: which component, where it listens, which
/// adapters and identity provider it uses.
#[derive(Debug)]
pub enum Settings {
    /// Everything on one listener, embedded defaults.
    Up(UpArgs),
    /// The orders service alone (server mode).
    Orders(ServiceArgs),
    /// The API gateway alone (server mode).
    Gateway(GatewayArgs),
    /// The push hub alone (server mode).
    PushHub(ServiceArgs),
    /// The dev identity provider alone.
    Idp(IdpArgs),
}

impl Settings {
    /// The settings of a command that runs a service; the one-shot commands
    /// (`token`, `projections`) come back as they were.
    pub fn of_command(command: Command) -> Result<Settings, Box<Command>> {
        match command {
            Command::Up(args) => Ok(Settings::Up(args)),
            Command::Orders(args) => Ok(Settings::Orders(args)),
            Command::Gateway(args) => Ok(Settings::Gateway(args)),
            Command::PushHub(args) => Ok(Settings::PushHub(args)),
            Command::Idp(args) => Ok(Settings::Idp(args)),
            other => Err(Box::new(other)),
        }
    }

    /// Settings from command-line words (`["orderflow", "up", "--listen",
    /// "127.0.0.1:0"]`) and the environment, as `main` reads them: for tests
    /// that build the application in process.
    pub fn from_args<I, T>(args: I) -> Result<Settings, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::Parser;
        let cli = Cli::try_parse_from(args)?;
        Settings::of_command(cli.command).map_err(|_| {
            clap::Error::raw(
                clap::error::ErrorKind::InvalidSubcommand,
                "not a command that runs a service",
            )
        })
    }
}
