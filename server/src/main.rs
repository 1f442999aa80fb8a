//! The `classify` command: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use server::cli;
use server::config::{Cli, Command, LogFormat};
use server::telemetry;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = match &cli.command {
        Command::Serve(a) => a.log_format,
        Command::Worker(a) => a.log_format,
        Command::Migrate(_) | Command::Scan(_) | Command::Eval(_) | Command::Health(_) => {
            LogFormat::Text
        }
    };
    telemetry::init_logging(format);
    match cli::run(cli.command).await {
        Ok(code) => code,
        Err(err) => {
            // One short line with the cause chain; no backtrace for a configuration mistake.
            eprintln!("error: {}", cli::describe(&err));
            ExitCode::FAILURE
        }
    }
}
