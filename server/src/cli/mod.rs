//! The `classify` subcommands: `serve` and `worker` (the service), `migrate`, and the local
//! tools `scan` and `eval` that judge files without a server.

pub mod eval;
pub mod health;
pub mod scan;
pub mod serve;

use std::process::ExitCode;

use crate::config::Command;
use crate::db::Database;

/// Runs one subcommand to the end.
pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => {
            let server = serve::Server::build(&args).await?;
            server.run(serve::shutdown_on_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Worker(args) => {
            serve::run_worker_process(&args, serve::shutdown_on_signal()).await?;
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
        Command::Health(args) => Ok(health::run(&args).await),
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
pub fn describe(err: &anyhow::Error) -> String {
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
