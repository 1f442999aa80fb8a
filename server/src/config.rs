//! The command line: subcommands and every option, each also read from an environment variable.
//!
//! Parsed once in `main`; nothing else in the server reads the environment. Values that carry a
//! password or key are [`Secret`]s, so no `Debug` print, log line or panic message shows them.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::{ExposeSecret, SecretString};

/// A configuration value that must never be printed: `Debug` shows `[redacted]`; the value
/// comes out only through [`Secret::expose`], at the one place that uses it.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// The value, for the code that connects or signs with it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(SecretString::from(value))
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::from(s.to_string()))
    }
}

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
#[expect(
    clippy::large_enum_variant,
    reason = "parsed once at start-up; boxing would only add noise where it is matched"
)]
pub enum Command {
    /// Serve the web app and the REST API on one port, with an embedded queue worker.
    Serve(ServeArgs),
    /// Run queue consumers only (scale these out beside `serve --workers 0`).
    Worker(WorkerArgs),
    /// Apply the database migrations and exit.
    Migrate(StorageArgs),
    /// Judge photos on this computer and print one line per photo (nothing is stored).
    Scan(ScanArgs),
    /// Measure the blur judgement on a labelled set, beside the Laplacian-variance baseline.
    Eval(EvalArgs),
    /// Ask a running server's `GET /health` and exit 0 when it answers 200 (for container
    /// health checks: no curl needed in the image).
    Health(HealthArgs),
}

/// Options of `classify health`.
#[derive(Debug, Clone, Args)]
pub struct HealthArgs {
    /// The server's address; an unspecified one (0.0.0.0, [::]) means this machine.
    #[arg(long, env = "CLASSIFY_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Give up after this many seconds.
    #[arg(long, default_value_t = 3)]
    pub timeout_secs: u64,
}

/// Options of `classify scan`.
#[derive(Debug, Clone, Args)]
pub struct ScanArgs {
    /// Photos or folders. Folders are searched recursively for .jpg, .jpeg, .png, .webp and
    /// .gif files; files named explicitly are always tried, whatever their extension.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// A photo is blurred when its score (0 to 1) is at least this.
    #[arg(long, env = "CLASSIFY_THRESHOLD", default_value_t = 0.5, value_parser = parse_threshold)]
    pub threshold: f32,

    /// Photos analysed in parallel. Default: one per CPU core.
    #[arg(long, short = 'j', env = "CLASSIFY_JOBS", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,

    /// One JSON object per line: file, blur_score, is_blurred, blur_type, motion_angle_deg, error.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,

    /// CSV with a header line, same columns as --json.
    #[arg(long)]
    pub csv: bool,

    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Options of `classify eval`.
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// CSV with columns file,label,blur_type[,source,license,synthetic,subset]; label is
    /// `blurred` or `sharp`; files are relative to the manifest's folder.
    #[arg(value_name = "MANIFEST")]
    pub manifest: PathBuf,

    /// Threshold at which balanced accuracy and the confusion matrix are reported.
    #[arg(long, env = "CLASSIFY_THRESHOLD", default_value_t = 0.5, value_parser = parse_threshold)]
    pub threshold: f32,

    /// Photos analysed in parallel. Default: one per CPU core.
    #[arg(long, short = 'j', env = "CLASSIFY_JOBS", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,

    /// Print one JSON document instead of the report.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Decoding limits (protection against decompression bombs).
#[derive(Debug, Clone, Copy, Args)]
pub struct LimitArgs {
    /// Largest file accepted, in MiB.
    #[arg(long, env = "CLASSIFY_MAX_FILE_MIB", default_value_t = 64)]
    pub max_file_mib: u64,

    /// Largest image accepted, in megapixels.
    #[arg(long, env = "CLASSIFY_MAX_MEGAPIXELS", default_value_t = 100)]
    pub max_megapixels: u64,
}

impl LimitArgs {
    /// The limits in the decoder's units.
    pub fn media_limits(&self) -> crate::media::MediaLimits {
        crate::media::MediaLimits {
            max_bytes: self.max_file_mib.saturating_mul(1024 * 1024),
            max_pixels: self.max_megapixels.saturating_mul(1_000_000),
        }
    }
}

/// Number of worker threads: the option, else one per core.
pub fn jobs_or_cores(jobs: Option<u16>) -> usize {
    jobs.map_or_else(crate::media::cores, usize::from)
}

fn parse_threshold(s: &str) -> Result<f32, String> {
    let v: f32 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is outside 0..=1"))
    }
}

/// Default lease of a running job (`CLASSIFY_JOB_TIMEOUT_SECS`): short, because a live worker
/// renews it; a dead worker's job is taken over about this long after its last renewal.
pub const DEFAULT_JOB_LEASE_SECS: u64 = 10;

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
    pub database_url: Option<Secret>,

    /// Maximum connections in the database pool.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 10)]
    pub database_max_connections: u32,

    /// Redis URL (redis://host:port/db) for the job queue. Default: an in-process queue,
    /// which only works while `serve` runs its embedded worker.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<Secret>,

    /// Prefix of every Redis key, so several deployments (or tests) can share one Redis.
    #[arg(long, env = "CLASSIFY_REDIS_PREFIX", default_value = "classify")]
    pub redis_prefix: String,

    /// Folder for uploaded photos and their thumbnails. Default: <data dir>/blobs. Every
    /// server and worker replica must see the same folder (a shared volume).
    #[arg(long, env = "CLASSIFY_BLOB_DIR")]
    pub blob_dir: Option<PathBuf>,

    /// A running job's lease, in seconds: its worker renews it every third of this while the
    /// job runs, so a job whose worker died (no renewal for this long) runs again soon after,
    /// and a slow job whose worker is alive is never run twice at once.
    #[arg(long, env = "CLASSIFY_JOB_TIMEOUT_SECS", default_value_t = DEFAULT_JOB_LEASE_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub job_timeout_secs: u64,

    /// Apply pending database migrations at start (`serve`, `worker`). Set it to false where
    /// migrations run once per release (`classify migrate`, a Kubernetes Job): the process then
    /// only checks that none is pending, and refuses to start if one is.
    #[arg(long, env = "CLASSIFY_MIGRATE_AT_START", default_value_t = true, action = clap::ArgAction::Set)]
    pub migrate_at_start: bool,

    /// Memory every image decode in this process may hold at once, in MiB (photos wait their
    /// turn; one that alone needs more is refused with the figures).
    #[arg(long, env = "CLASSIFY_DECODE_MEMORY_MIB", default_value_t = crate::media::budget::DEFAULT_DECODE_MEMORY_MIB, value_parser = clap::value_parser!(u64).range(16..))]
    pub decode_memory_mib: u64,

    #[command(flatten)]
    pub limits: LimitArgs,
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

    /// Secret (32+ characters) that signs API tokens. Default: generated once and kept in
    /// <data dir>/secret.key; set it when several replicas serve the same users.
    #[arg(long, env = "CLASSIFY_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<Secret>,

    /// Mark the session cookie `Secure` (serve over HTTPS).
    #[arg(long, env = "CLASSIFY_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// The origin users reach this server at (https://photos.example.com), which Google
    /// redirects back to: the redirect URI is {CLASSIFY_PUBLIC_URL}/api/v1/auth/google/callback.
    /// Default: http://<addr> when listening on loopback; required otherwise with Google.
    #[arg(long, env = "CLASSIFY_PUBLIC_URL")]
    pub public_url: Option<url::Url>,

    /// Host names (comma-separated, port ignored) that local mode answers to besides this
    /// machine's loopback names, e.g. the name a reverse proxy forwards. Every other `Host` is
    /// refused with 403, so a web page cannot reach the local user through DNS rebinding.
    #[arg(long, env = "CLASSIFY_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,

    /// Start local mode (no sign-in) on a non-loopback address. Refused without this: anyone
    /// who can reach the address would use the local user's photos. Only for a container whose
    /// port is published on loopback.
    #[arg(
        long,
        env = "CLASSIFY_ALLOW_PUBLIC_LOCAL_MODE",
        value_parser = clap::builder::BoolishValueParser::new(),
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_value_t = false,
        default_missing_value = "true"
    )]
    pub allow_public_local_mode: bool,

    /// Connections served at once; more clients wait in the accept queue until one closes.
    #[arg(long, env = "CLASSIFY_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// A request's line and headers must arrive within this (slowloris); fixed, tests shorten it.
    #[arg(skip = std::time::Duration::from_secs(10))]
    pub header_read_timeout: std::time::Duration,

    /// Progress streams (server-sent events) one user may hold open at once; one more answers
    /// 429 too_many_requests.
    #[arg(long, env = "CLASSIFY_MAX_STREAMS_PER_USER", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_streams_per_user: u32,

    /// A progress stream ends after this long (the browser's EventSource reconnects), so no
    /// connection is held forever.
    #[arg(long, env = "CLASSIFY_STREAM_MAX_SECS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    pub stream_max_secs: u64,

    #[command(flatten)]
    pub quota: QuotaArgs,

    #[command(flatten)]
    pub google: GoogleArgs,

    #[command(flatten)]
    pub tagging: TaggingArgs,

    #[command(flatten)]
    pub storage: StorageArgs,
}

/// Per-user quotas on uploads. An upload that would go over one is refused with 409
/// `quota_exceeded` and nothing of it is stored.
#[derive(Debug, Clone, Copy, Args)]
pub struct QuotaArgs {
    /// Photos one user may have (uploads and Google photos together); 0 = no limit.
    #[arg(long, env = "CLASSIFY_QUOTA_PHOTOS", default_value_t = 100_000)]
    pub quota_photos: u64,

    /// MiB of uploaded originals one user may keep (thumbnails not counted); 0 = no limit.
    #[arg(long, env = "CLASSIFY_QUOTA_STORAGE_MIB", default_value_t = 100 * 1024)]
    pub quota_storage_mib: u64,
}

impl QuotaArgs {
    /// The quotas in the photos service's units.
    pub fn quota(&self) -> crate::photos::Quota {
        crate::photos::Quota {
            max_photos: self.quota_photos,
            max_bytes: self.quota_storage_mib.saturating_mul(1024 * 1024),
        }
    }
}

/// Google sign-in, the Photos Picker and Google's media: credentials and every endpoint
/// (Google's own by default; tests and demos point them at a fake).
#[derive(Debug, Clone, Args)]
pub struct GoogleArgs {
    /// Google OAuth client id. When unset, the server runs in local mode: one local user,
    /// no sign-in (keep it on loopback).
    #[arg(long, env = "GOOGLE_CLIENT_ID")]
    pub google_client_id: Option<String>,

    /// Google OAuth client secret (required with GOOGLE_CLIENT_ID).
    #[arg(long, env = "GOOGLE_CLIENT_SECRET", hide_env_values = true)]
    pub google_client_secret: Option<Secret>,

    /// Google's authorization endpoint.
    #[arg(
        long,
        env = "GOOGLE_AUTH_URL",
        default_value = "https://accounts.google.com/o/oauth2/v2/auth"
    )]
    pub google_auth_url: url::Url,

    /// Google's token endpoint.
    #[arg(
        long,
        env = "GOOGLE_TOKEN_URL",
        default_value = "https://oauth2.googleapis.com/token"
    )]
    pub google_token_url: url::Url,

    /// Google's token revocation endpoint.
    #[arg(
        long,
        env = "GOOGLE_REVOKE_URL",
        default_value = "https://oauth2.googleapis.com/revoke"
    )]
    pub google_revoke_url: url::Url,

    /// Google's OpenID Connect userinfo endpoint.
    #[arg(
        long,
        env = "GOOGLE_USERINFO_URL",
        default_value = "https://openidconnect.googleapis.com/v1/userinfo"
    )]
    pub google_userinfo_url: url::Url,

    /// The Google Photos Picker API.
    #[arg(
        long,
        env = "GOOGLE_PICKER_URL",
        default_value = "https://photospicker.googleapis.com"
    )]
    pub google_picker_url: url::Url,

    /// The Google Photos Library API (albums).
    #[arg(
        long,
        env = "GOOGLE_LIBRARY_URL",
        default_value = "https://photoslibrary.googleapis.com"
    )]
    pub google_library_url: url::Url,

    /// Hosts (host or host:port, comma-separated) that Google media may be fetched from; base
    /// URLs on any other host are refused. Plain http is allowed only for loopback hosts.
    #[arg(long, env = "CLASSIFY_GOOGLE_MEDIA_HOSTS", value_delimiter = ',', default_value = DEFAULT_MEDIA_HOSTS)]
    pub google_media_hosts: Vec<String>,

    /// Keys that encrypt Google tokens at rest: `id:base64-of-32-bytes`, comma-separated; the
    /// first encrypts, all decrypt (add a new key first to rotate). Default: generated once and
    /// kept in <data dir>/token.key. Every replica and worker must share it.
    #[arg(long, env = "CLASSIFY_TOKEN_KEY", hide_env_values = true)]
    pub token_key: Option<Secret>,

    /// Google Photos Library API requests the whole deployment may send per day (Google's
    /// default project quota is 10,000, counting every upload, album and batchCreate call).
    /// Counted in the database; an album job stops when the next request would pass it and
    /// resumes at midnight Pacific time (when Google's day turns) or on request.
    #[arg(long, env = "CLASSIFY_LIBRARY_DAILY_QUOTA", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub library_daily_quota: u64,

    /// Longest a single Google request may take. It also bounds how long a resumed album job
    /// waits before it trusts that a `batchCreate` of a worker that died has ended.
    #[arg(long, env = "CLASSIFY_GOOGLE_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub google_timeout_secs: u64,
}

/// Google's photo hosts: where Picker base URLs point.
pub const DEFAULT_MEDIA_HOSTS: &str = "lh3.googleusercontent.com,lh4.googleusercontent.com,lh5.googleusercontent.com,lh6.googleusercontent.com";

impl GoogleArgs {
    /// Sign-in is configured (a non-empty client id).
    pub fn enabled(&self) -> bool {
        self.google_client_id
            .as_deref()
            .is_some_and(|id| !id.trim().is_empty())
    }

    /// Google's real endpoints, no credentials (local mode).
    pub fn disabled() -> Self {
        use clap::Parser;
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            google: GoogleArgs,
        }
        // Parsing no arguments yields the documented defaults; clap only fails on bad input.
        Only::try_parse_from(["classify"]).map_or_else(
            |_| unreachable!("the defaults of GoogleArgs parse"),
            |o| GoogleArgs {
                google_client_id: None,
                ..o.google
            },
        )
    }
}

/// Consumers a `classify worker` process runs unless told: three per core (of its CPU quota in
/// a container). The decodes themselves run one per core on the process's decode threads.
pub fn default_worker_consumers() -> usize {
    3 * crate::media::cores()
}

/// Options of `classify worker`.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// Number of consumers in this process. The default, three per core, keeps every core
    /// decoding while other consumers wait on the database, the queue or the blob store.
    #[arg(long, env = "CLASSIFY_WORKERS", default_value_t = default_worker_consumers())]
    pub workers: usize,

    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(flatten)]
    pub google: GoogleArgs,

    #[command(flatten)]
    pub tagging: TaggingArgs,

    #[command(flatten)]
    pub storage: StorageArgs,
}

/// AI tagging (issue 14): the vision model, where it is, what it may spend. With neither a key
/// nor a base URL tagging is off and the API says so (503 `tagging_disabled`).
#[derive(Debug, Clone, Args)]
pub struct TaggingArgs {
    /// OpenAI API key (or the key of another OpenAI-compatible server). Empty = none.
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    pub openai_api_key: Option<Secret>,

    /// The OpenAI-compatible API to send photos to, up to and including `/v1`. Default:
    /// https://api.openai.com/v1 when a key is set. A local server (Ollama, llama.cpp, vLLM)
    /// needs no key: setting this alone turns tagging on.
    #[arg(long, env = "OPENAI_BASE_URL")]
    pub openai_base_url: Option<String>,

    /// The vision model.
    #[arg(long, env = "CLASSIFY_TAG_MODEL", default_value = DEFAULT_TAG_MODEL)]
    pub tag_model: String,

    /// How closely the model looks: `low` (a 512-px view, one flat price), `high` (512-px
    /// tiles of a 768-px view, several times the price) or `auto`.
    #[arg(long, env = "CLASSIFY_TAG_DETAIL", value_enum, default_value_t = TagDetail::Low)]
    pub tag_detail: TagDetail,

    /// Tokens the whole deployment may send per minute (every worker shares one budget, kept
    /// in the database); photos wait their turn when it is spent. Default: OpenAI's smallest
    /// paid tier for gpt-4o-mini.
    #[arg(long, env = "CLASSIFY_TAG_TPM", default_value_t = DEFAULT_TAG_TPM, value_parser = clap::value_parser!(u64).range(1..))]
    pub tag_tpm: u64,

    /// The operator's switch: `false` keeps tagging off even with a key (photos then never
    /// leave the server).
    #[arg(
        long,
        env = "CLASSIFY_TAGGING",
        value_parser = clap::builder::BoolishValueParser::new(),
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_value_t = true,
        default_missing_value = "true"
    )]
    pub tagging: bool,

    /// The budget's period: `tag_tpm` tokens per this long. A minute; tests shorten it.
    #[arg(skip = std::time::Duration::from_secs(60))]
    pub tag_budget_window: std::time::Duration,

    /// The first pause before retrying a 5xx or a 429 without `Retry-After` (doubled each
    /// time, with jitter). Fixed; tests shorten it.
    #[arg(skip = std::time::Duration::from_secs(1))]
    pub tag_backoff_base: std::time::Duration,
}

/// `CLASSIFY_TAG_MODEL`'s default.
pub const DEFAULT_TAG_MODEL: &str = "gpt-4o-mini";
/// `CLASSIFY_TAG_TPM`'s default: OpenAI's usage tier 1 for gpt-4o-mini (200,000 tokens a
/// minute): a burst of 6 photos, then about 58 a minute at low detail (3,077 tokens each).
pub const DEFAULT_TAG_TPM: u64 = 200_000;

/// The `detail` of the image sent to the vision model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TagDetail {
    /// A 512×512 view at a flat price.
    Low,
    /// 512-px tiles of a view whose shortest side is 768 px.
    High,
    /// The model chooses.
    Auto,
}

impl TagDetail {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            TagDetail::Low => "low",
            TagDetail::High => "high",
            TagDetail::Auto => "auto",
        }
    }
}

impl TaggingArgs {
    /// Tagging not configured: no key, no base URL, the documented defaults (environment not
    /// read, so a developer's OPENAI_API_KEY never reaches a test).
    pub fn disabled() -> Self {
        Self {
            openai_api_key: None,
            openai_base_url: None,
            tag_model: DEFAULT_TAG_MODEL.into(),
            tag_detail: TagDetail::Low,
            tag_tpm: DEFAULT_TAG_TPM,
            tagging: true,
            tag_budget_window: std::time::Duration::from_secs(60),
            tag_backoff_base: std::time::Duration::from_secs(1),
        }
    }
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

    /// The blob folder: the option, else `<data dir>/blobs`.
    pub fn blob_dir(&self) -> PathBuf {
        self.blob_dir
            .clone()
            .unwrap_or_else(|| self.data_dir().join("blobs"))
    }

    /// Options with everything defaulted: the embedded database in `data_dir`, in-process queue.
    pub fn embedded(data_dir: PathBuf) -> Self {
        Self {
            data_dir: Some(data_dir),
            database_url: None,
            database_max_connections: 10,
            redis_url: None,
            redis_prefix: "classify".into(),
            blob_dir: None,
            job_timeout_secs: DEFAULT_JOB_LEASE_SECS,
            migrate_at_start: true,
            decode_memory_mib: crate::media::budget::DEFAULT_DECODE_MEMORY_MIB,
            limits: LimitArgs {
                max_file_mib: 64,
                max_megapixels: 100,
            },
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
            secret_key: None,
            secure_cookies: false,
            public_url: None,
            allowed_hosts: Vec::new(),
            allow_public_local_mode: false,
            max_connections: 1024,
            header_read_timeout: std::time::Duration::from_secs(10),
            max_streams_per_user: 8,
            stream_max_secs: 600,
            quota: QuotaArgs {
                quota_photos: 100_000,
                quota_storage_mib: 100 * 1024,
            },
            google: GoogleArgs::disabled(),
            tagging: TaggingArgs::disabled(),
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
        // ServeArgs::new (tests, embedding) has the command line's defaults.
        assert_eq!(
            args.quota.quota(),
            ServeArgs::new(StorageArgs::embedded(PathBuf::new()))
                .quota
                .quota()
        );
    }

    #[test]
    fn quotas_default_to_100_000_photos_and_100_gib_and_zero_lifts_them() {
        let cli = Cli::try_parse_from([
            "classify",
            "serve",
            "--quota-photos",
            "0",
            "--quota-storage-mib",
            "3",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("expected serve");
        };
        let quota = args.quota.quota();
        assert_eq!((quota.max_photos, quota.max_bytes), (0, 3 * 1024 * 1024));
        let default = ServeArgs::new(StorageArgs::embedded(PathBuf::new()))
            .quota
            .quota();
        assert_eq!(
            (default.max_photos, default.max_bytes),
            (100_000, 100 << 30)
        );
    }

    #[test]
    fn public_local_mode_is_off_unless_asked_and_allowed_hosts_split_on_commas() {
        let parse = |args: &[&str]| {
            let cli = Cli::try_parse_from(args).unwrap();
            let Command::Serve(args) = cli.command else {
                panic!("expected serve");
            };
            args
        };
        let args = parse(&["classify", "serve"]);
        assert!(!args.allow_public_local_mode);
        assert!(args.allowed_hosts.is_empty());
        assert!(parse(&["classify", "serve", "--allow-public-local-mode"]).allow_public_local_mode);
        for (value, expected) in [("1", true), ("true", true), ("0", false), ("false", false)] {
            let args = parse(&["classify", "serve", "--allow-public-local-mode", value]);
            assert_eq!(args.allow_public_local_mode, expected, "{value}");
        }
        let args = parse(&[
            "classify",
            "serve",
            "--allowed-hosts",
            "photos.lan,nas.local",
        ]);
        assert_eq!(args.allowed_hosts, ["photos.lan", "nas.local"]);
    }

    #[test]
    fn a_worker_runs_three_consumers_per_core_unless_told() {
        let consumers = |argv: &[&str]| {
            let Command::Worker(args) = Cli::try_parse_from(argv).unwrap().command else {
                panic!("expected worker");
            };
            args.workers
        };
        assert_eq!(
            consumers(&["classify", "worker"]),
            3 * crate::media::cores()
        );
        assert_eq!(consumers(&["classify", "worker", "--workers", "1"]), 1);
    }

    #[test]
    fn tagging_defaults_match_the_documentation_and_parse_from_flags() {
        let cli = Cli::try_parse_from(["classify", "worker"]).unwrap();
        let Command::Worker(args) = cli.command else {
            panic!("expected worker");
        };
        // The environment may hold a developer's key; the defaults of the rest are fixed.
        assert_eq!(args.tagging.tag_model, "gpt-4o-mini");
        assert_eq!(args.tagging.tag_detail, TagDetail::Low);
        assert_eq!(args.tagging.tag_tpm, 200_000);
        let cli = Cli::try_parse_from([
            "classify",
            "serve",
            "--openai-base-url",
            "http://127.0.0.1:11434/v1",
            "--tag-detail",
            "high",
            "--tag-tpm",
            "5000",
            "--tagging",
            "false",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("expected serve");
        };
        assert_eq!(args.tagging.tag_detail.as_str(), "high");
        assert_eq!(args.tagging.tag_tpm, 5000);
        assert!(!args.tagging.tagging);
        assert!(Cli::try_parse_from(["classify", "serve", "--tag-tpm", "0"]).is_err());
        assert!(Cli::try_parse_from(["classify", "serve", "--tag-detail", "medium"]).is_err());
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
    fn scan_takes_paths_threshold_jobs_and_one_output_format() {
        let cli =
            Cli::try_parse_from(["classify", "scan", "a.jpg", "dir", "--json", "-j", "3"]).unwrap();
        let Command::Scan(args) = cli.command else {
            panic!("expected scan");
        };
        assert_eq!(args.paths.len(), 2);
        assert_eq!(args.threshold, 0.5);
        assert_eq!(args.jobs, Some(3));
        assert!(args.json && !args.csv);
        assert_eq!(
            args.limits.media_limits(),
            crate::media::MediaLimits::default()
        );
        assert!(Cli::try_parse_from(["classify", "scan", "a", "--json", "--csv"]).is_err());
        assert!(Cli::try_parse_from(["classify", "scan", "a", "--threshold", "1.5"]).is_err());
        assert!(Cli::try_parse_from(["classify", "scan", "a", "--jobs", "0"]).is_err());
        assert!(Cli::try_parse_from(["classify", "scan"]).is_err());
    }

    #[test]
    fn no_secret_shows_in_the_printed_configuration() {
        let cli = Cli::try_parse_from([
            "classify",
            "serve",
            "--database-url",
            "postgres://classify:db-password-1@db/classify",
            "--redis-url",
            "redis://:redis-password-2@cache:6379",
            "--secret-key",
            "token-signing-secret-3-with-enough-characters",
        ])
        .unwrap();
        let printed = format!("{cli:?} {cli:#?}");
        for secret in [
            "db-password-1",
            "redis-password-2",
            "token-signing-secret-3",
        ] {
            assert!(!printed.contains(secret), "{secret} printed in {printed}");
        }
        let Command::Serve(args) = cli.command else {
            panic!("expected serve");
        };
        // The values are still there for the code that needs them.
        assert_eq!(
            args.secret_key.as_ref().map(Secret::expose),
            Some("token-signing-secret-3-with-enough-characters")
        );
        assert!(
            args.storage
                .database_url
                .as_ref()
                .is_some_and(|u| u.expose().contains("db-password-1"))
        );
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
