//! The `promlite` command: `serve`, `demo`, `import`, `check`.

mod cli;
mod server;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("promlite: {e:#}");
            ExitCode::FAILURE
        }
    }
}
