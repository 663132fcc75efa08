//! Command-line definitions (flag names follow Prometheus's where the meaning
//! is the same) and dispatch.

mod import;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// promlite: a Prometheus-compatible time-series database.
#[derive(Parser, Debug)]
#[command(name = "promlite", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Backfill data into a data directory.
    #[command(subcommand)]
    Import(ImportCommand),
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
        Command::Import(ImportCommand::Openmetrics { file, storage_path, block_duration }) => {
            import::run(&file, &storage_path, &block_duration)
        }
    }
}
