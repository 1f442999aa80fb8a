//! The `classify` command: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use server::config::{Cli, Command, LogFormat};
use server::db::Database;
use server::startup::{Server, run_worker_process, shutdown_on_signal};
use server::telemetry;
use server::{eval, scan};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = match &cli.command {
        Command::Serve(a) => a.log_format,
        Command::Worker(a) => a.log_format,
        Command::Migrate(_) | Command::Scan(_) | Command::Eval(_) => LogFormat::Text,
    };
    telemetry::init_logging(format);
    match run(cli.command).await {
        Ok(code) => code,
        Err(err) => {
            // One short line with the cause chain; no backtrace for a configuration mistake.
            eprintln!("error: {}", describe(&err));
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => {
            let server = Server::build(&args).await?;
            server.run(shutdown_on_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Worker(args) => {
            run_worker_process(&args.storage, args.workers, shutdown_on_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Scan(args) => {
            // CPU-bound on its own threads; nothing else runs on the runtime meanwhile.
            let summary =
                tokio::task::block_in_place(|| scan::run(&args, &mut std::io::stdout().lock()))?;
            eprintln!(
                "{} blurred, {} sharp, {} unreadable",
                summary.blurred, summary.sharp, summary.failed
            );
            Ok(if summary.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Eval(args) => {
            let report = tokio::task::block_in_place(|| eval::run(&args))?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", eval::render(&report));
            }
            Ok(if report.unreadable.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Migrate(storage) => {
            let db = Database::connect(&storage).await?;
            db.migrate().await?;
            println!("migrations applied ({} database)", db.backend().name());
            db.close().await;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The error and its causes on one line, dropping causes that the previous message already
/// quotes (sqlx and others repeat their source in their own message).
fn describe(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn repeated_causes_are_printed_once() {
        let err = anyhow::anyhow!("refused")
            .context("io: refused")
            .context("cannot connect");
        assert_eq!(describe(&err), "cannot connect: io: refused");
    }
}
