//! kefu's start-up story: read the configuration, set up logging, then run the
//! command (`serve` when none is given). Everything else lives in the library.

use clap::Parser;
use kefu::commands;
use kefu::config::{AccountCommand, Cli, Command, Config, LogFormat, UserCommand, unknown_env};
use std::process::ExitCode;

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match config.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::resolve(&cli.opts) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kefu: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config);
    for var in unknown_env(std::env::vars().map(|(k, _)| k)) {
        tracing::warn!(variable = %var, "unknown KEFU_ environment variable ignored (typo?)");
    }

    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => commands::serve(config).await,
        Command::User(UserCommand::Add {
            name,
            role,
            display_name,
            password_stdin,
        }) => commands::user_add(config, name, role.into(), display_name, password_stdin).await,
        Command::User(UserCommand::Passwd {
            name,
            password_stdin,
        }) => commands::user_passwd(config, name, password_stdin).await,
        Command::User(UserCommand::List) => commands::user_list(config).await,
        Command::Account(AccountCommand::Add {
            name,
            appid,
            secret,
            token,
            aes_key,
            mode,
            simulation,
        }) => {
            let args = commands::AccountArgs {
                name,
                appid,
                secret,
                token,
                aes_key,
                mode: mode.as_str(),
                simulation,
            };
            commands::account_add(config, args).await
        }
        Command::Account(AccountCommand::List) => commands::account_list(config).await,
        Command::Backup { file } => commands::backup(&config, &file),
        Command::Healthcheck => commands::healthcheck(&config).await,
        Command::Fixture {
            conversations,
            messages,
            days,
            password,
            seed,
        } => commands::fixture(config, conversations, messages, days, &password, seed).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kefu: {e:#}");
            ExitCode::FAILURE
        }
    }
}
