//! `keiko-portal`: the command line of the Keiko observability portal.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use server::config::Config;

#[derive(Parser)]
#[command(
    name = "keiko-portal",
    version,
    about = "The Keiko observability portal"
)]
struct Cli {
    /// TOML configuration file; `KEIKO_*` environment variables override its values.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the portal (HTTP, pages, API, /metrics).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("keiko-portal: configuration error: {err:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("keiko-portal: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let telemetry = server::telemetry::init(&config)?;
        let result = match cli.command {
            Command::Serve => server::serve(config).await,
            Command::Migrate => server::migrate(&config).await,
        };
        if let Err(err) = &result {
            tracing::error!(
                error = format!("{err:#}"),
                error_type = "StartupError",
                "Portal stopped with an error"
            );
        }
        telemetry.shutdown();
        result
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("keiko-portal: {err:#}");
            ExitCode::FAILURE
        }
    }
}
