//! Command-line definitions (flag names follow Prometheus's where the meaning
//! is the same) and dispatch.

mod check;
mod demo;
mod import;
mod serve;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use self::serve::{CommonArgs, ServeArgs};

/// promlite: a Prometheus-compatible time-series database.
#[derive(Parser, Debug)]
#[command(name = "promlite", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Scrape targets, store samples, answer the Prometheus HTTP API.
    Serve {
        #[command(flatten)]
        args: ServeArgs,
        /// Data directory.
        #[arg(long = "storage.tsdb.path", default_value = "data/")]
        storage_path: PathBuf,
        /// Address of the HTTP API.
        #[arg(long = "web.listen-address", default_value = "0.0.0.0:9090")]
        listen_address: String,
    },
    /// Run a simulated ML model with traffic and promlite scraping it: no set-up needed.
    Demo {
        #[command(flatten)]
        common: CommonArgs,
        /// Data directory.
        #[arg(long = "storage.tsdb.path", default_value = "data-demo")]
        storage_path: PathBuf,
        /// Address of promlite's HTTP API.
        #[arg(long = "web.listen-address", default_value = "127.0.0.1:9090")]
        listen_address: String,
        /// Address of the demo model (a free port is used if taken).
        #[arg(long = "model.listen-address", default_value = "127.0.0.1:8000")]
        model_address: String,
        /// Start model drift after this long (e.g. `10m`); default: only on `POST /admin/drift`.
        #[arg(long = "drift-after")]
        drift_after: Option<String>,
        /// How long drift takes to reach full strength (e.g. `0s`: at once).
        #[arg(long = "drift-ramp", default_value = "60s")]
        drift_ramp: String,
        /// Scrape interval of the embedded configuration.
        #[arg(long = "scrape-interval", default_value = "5s")]
        scrape_interval: String,
        /// Requests per second sent to the model.
        #[arg(long = "rps", default_value_t = 20.0)]
        rps: f64,
    },
    /// Backfill data into a data directory.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Validate configuration and rule files (like `promtool check`).
    #[command(subcommand)]
    Check(CheckCommand),
}

#[derive(Subcommand, Debug)]
enum CheckCommand {
    /// Check configuration files and the rule files they reference.
    Config {
        /// The configuration files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Check rule files.
    Rules {
        /// The rule files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum ImportCommand {
    /// Write blocks from an OpenMetrics file (like `promtool tsdb create-blocks-from openmetrics`).
    Openmetrics {
        /// The OpenMetrics file; every sample needs a timestamp; ends with `# EOF`.
        file: PathBuf,
        /// The data directory to write blocks into.
        #[arg(long = "storage.tsdb.path", default_value = "data/")]
        storage_path: PathBuf,
        /// Block duration (Prometheus duration, e.g. `2h`).
        #[arg(long = "block-duration", default_value = "2h")]
        block_duration: String,
    },
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            args,
            storage_path,
            listen_address,
        } => serve::run(args, storage_path, listen_address),
        Command::Demo {
            common,
            storage_path,
            listen_address,
            model_address,
            drift_after,
            drift_ramp,
            scrape_interval,
            rps,
        } => demo::run(demo::DemoArgs {
            listen_address,
            storage_path,
            model_address,
            drift_after,
            drift_ramp,
            scrape_interval,
            rps,
            common,
        }),
        Command::Import(ImportCommand::Openmetrics {
            file,
            storage_path,
            block_duration,
        }) => import::run(&file, &storage_path, &block_duration),
        Command::Check(c) => {
            let args = match c {
                CheckCommand::Config { files } => check::CheckArgs::Config(files),
                CheckCommand::Rules { files } => check::CheckArgs::Rules(files),
            };
            if !check::run(args)? {
                // promtool's convention: problems were reported, exit code 1.
                std::process::exit(1);
            }
            Ok(())
        }
    }
}
