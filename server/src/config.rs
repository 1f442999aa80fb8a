//! The command line: subcommands and every option, each also read from an environment variable.
//!
//! Parsed once in `main`; nothing else in the server reads the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Classify: find the blurred photos in a photo library.
#[derive(Debug, Parser)]
#[command(name = "classify", version, about, long_about = None)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of `classify`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app and the REST API on one port, with an embedded queue worker.
    Serve(ServeArgs),
    /// Run queue consumers only (scale these out beside `serve --workers 0`).
    Worker(WorkerArgs),
    /// Apply the database migrations and exit.
    Migrate(StorageArgs),
}

/// Where state lives: the database, the queue and the data folder.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// Folder for the embedded database and stored files. Created if missing.
    /// Default: the platform data folder, e.g. ~/.local/share/classify on Linux.
    #[arg(long, env = "CLASSIFY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// Database URL: postgres://user:pass@host/db for PostgreSQL, or sqlite://path.
    /// Default: the embedded SQLite file <data dir>/classify.db.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Maximum connections in the database pool.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 10)]
    pub database_max_connections: u32,

    /// Redis URL (redis://host:port/db) for the job queue. Default: an in-process queue,
    /// which only works while `serve` runs its embedded worker.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Prefix of every Redis key, so several deployments (or tests) can share one Redis.
    #[arg(long, env = "CLASSIFY_REDIS_PREFIX", default_value = "classify")]
    pub redis_prefix: String,
}

/// Options of `classify serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on. Keep the loopback default unless sign-in is configured.
    #[arg(long, env = "CLASSIFY_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Folder of the built web client (Trunk's output). Default: client/dist under the
    /// current folder, else next to the executable.
    #[arg(long, env = "CLASSIFY_CLIENT_DIR")]
    pub client_dir: Option<PathBuf>,

    /// Number of embedded queue workers; 0 runs none (use separate `classify worker` processes).
    #[arg(long, env = "CLASSIFY_WORKERS", default_value_t = 1)]
    pub workers: usize,

    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(flatten)]
    pub storage: StorageArgs,
}

/// Options of `classify worker`.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// Number of consumers in this process.
    #[arg(long, env = "CLASSIFY_WORKERS", default_value_t = 1)]
    pub workers: usize,

    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(flatten)]
    pub storage: StorageArgs,
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl StorageArgs {
    /// The data folder: the option, else the platform data folder, else `./classify-data`.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(|| {
            dirs::data_dir()
                .map(|d| d.join("classify"))
                .unwrap_or_else(|| PathBuf::from("classify-data"))
        })
    }

    /// Options with everything defaulted: the embedded database in `data_dir`, in-process queue.
    pub fn embedded(data_dir: PathBuf) -> Self {
        Self {
            data_dir: Some(data_dir),
            database_url: None,
            database_max_connections: 10,
            redis_url: None,
            redis_prefix: "classify".into(),
        }
    }
}

impl ServeArgs {
    /// Serve options with defaults, for tests and embedding.
    pub fn new(storage: StorageArgs) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            client_dir: None,
            workers: 1,
            log_format: LogFormat::Text,
            storage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_defaults_to_loopback_8080_with_one_worker() {
        let cli = Cli::try_parse_from(["classify", "serve"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("expected serve");
        };
        assert_eq!(args.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(args.workers, 1);
        assert_eq!(args.log_format, LogFormat::Text);
    }

    #[test]
    fn serve_accepts_workers_zero() {
        let cli = Cli::try_parse_from(["classify", "serve", "--workers", "0"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("expected serve");
        };
        assert_eq!(args.workers, 0);
    }

    #[test]
    fn data_dir_falls_back_to_a_classify_folder() {
        let storage = StorageArgs {
            data_dir: None,
            ..StorageArgs::embedded(PathBuf::new())
        };
        assert!(
            storage.data_dir().ends_with("classify")
                || storage.data_dir().ends_with("classify-data")
        );
    }
}
