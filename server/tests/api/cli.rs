//! The `classify` binary as an operator meets it: help, migrate, and short clear errors.

use std::process::Command;

/// Waits for the child to exit, killing it (and failing) after `secs`: a server that ignores
/// SIGTERM must fail the test, not hang it.
fn wait_at_most(child: &mut std::process::Child, secs: u64) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server did not exit within {secs} s of SIGTERM");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn classify() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_classify"));
    // Tests must not pick up the developer's own configuration.
    for var in [
        "DATABASE_URL",
        "REDIS_URL",
        "CLASSIFY_DATA_DIR",
        "CLASSIFY_ADDR",
        "CLASSIFY_WORKERS",
        "RUST_BACKTRACE",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

#[test]
fn serve_help_documents_every_option_with_its_environment_variable() {
    let out = classify().args(["serve", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for var in [
        "CLASSIFY_ADDR",
        "CLASSIFY_DATA_DIR",
        "CLASSIFY_CLIENT_DIR",
        "CLASSIFY_WORKERS",
        "DATABASE_URL",
        "REDIS_URL",
        "LOG_FORMAT",
    ] {
        assert!(
            help.contains(var),
            "serve --help does not mention {var}:\n{help}"
        );
    }
}

#[test]
fn migrate_creates_the_embedded_database_in_the_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = classify()
        .arg("migrate")
        .env("CLASSIFY_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("classify.db").is_file());
    assert!(String::from_utf8_lossy(&out.stdout).contains("sqlite"));
}

fn assert_short_clear_error(out: &std::process::Output, expect: &str) {
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<_> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "expected one error line:\n{stderr}");
    assert!(errors[0].contains(expect), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("backtrace"), "{stderr}");
    assert!(stderr.len() < 600, "error too long:\n{stderr}");
}

#[test]
fn an_unreachable_database_url_is_a_one_line_error_with_the_cause_and_no_password() {
    let out = classify()
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env(
            "DATABASE_URL",
            "postgres://classify:hunter2@127.0.0.1:1/classify",
        )
        .output()
        .unwrap();
    assert_short_clear_error(
        &out,
        "cannot connect to the database at postgres://classify:***@127.0.0.1:1/classify",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refused"), "{stderr}");
    assert!(!stderr.contains("hunter2"));
}

#[test]
fn an_unsupported_database_url_says_which_ones_work() {
    let out = classify()
        .arg("migrate")
        .env("DATABASE_URL", "mysql://root@localhost/db")
        .output()
        .unwrap();
    assert_short_clear_error(&out, "unsupported DATABASE_URL");
}

#[test]
fn an_unreachable_redis_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = classify()
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("CLASSIFY_DATA_DIR", dir.path())
        .env("REDIS_URL", "redis://127.0.0.1:1")
        .output()
        .unwrap();
    assert_short_clear_error(&out, "cannot connect to Redis at redis://127.0.0.1:1");
}

#[test]
fn a_worker_process_without_redis_explains_why_it_cannot_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = classify()
        .arg("worker")
        .env("CLASSIFY_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert_short_clear_error(&out, "needs REDIS_URL");
}

#[test]
fn serve_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = classify()
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("CLASSIFY_DATA_DIR", dir.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the start-up line, then ask it to stop the way Kubernetes does.
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let serving = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains("serving on"));
    assert!(serving, "the server never said it was serving");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = wait_at_most(&mut child, 15);
    assert!(exit.success(), "exit after SIGTERM: {exit:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("stopped")), "{rest:?}");
}

#[test]
fn log_format_json_writes_one_json_object_per_line_and_sigterm_works_without_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = classify()
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("CLASSIFY_DATA_DIR", dir.path())
        .env("LOG_FORMAT", "json")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let first = std::io::BufRead::lines(std::io::BufReader::new(stderr))
        .map_while(Result::ok)
        .find(|l| l.contains("serving on"))
        .expect("no start-up line");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    // The log pipe is closed by now: shutdown must not depend on being able to log.
    let exit = wait_at_most(&mut child, 15);
    assert!(exit.success(), "exit after SIGTERM: {exit:?}");
    let line: serde_json::Value =
        serde_json::from_str(&first).unwrap_or_else(|e| panic!("not JSON ({e}): {first}"));
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["database"], "sqlite");
    assert_eq!(line["queue"], "memory");
}

/// `classify health` is the container's health check: 0 while the server answers, 1 when
/// nothing listens (both with a one-line reason).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_command_passes_on_a_live_server_and_fails_on_a_closed_port() {
    let app = crate::helpers::TestApp::spawn(crate::helpers::Backend::Embedded).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let out = classify()
        .args(["health", "--addr", &addr])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("200"));
    // The same port once the server is gone.
    app.stop().await;
    let out = classify()
        .args(["health", "--addr", &addr])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("unhealthy"));
}

/// Where migrations run once per release, `serve` and `worker` only check: a database with a
/// pending migration is refused with the command to run; once migrated, they start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_migrate_at_start_a_pending_migration_stops_start_up_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let mut storage = server::config::StorageArgs::embedded(dir.path().to_path_buf());
    storage.migrate_at_start = false;
    let err = server::app::Deps::connect(&storage).await.unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("pending migration") && text.contains("classify migrate"),
        "{text}"
    );
    let out = classify()
        .arg("migrate")
        .env("CLASSIFY_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let deps = server::app::Deps::connect(&storage).await.unwrap();
    assert_eq!(deps.db.pending_migrations().await.unwrap(), 0);
    deps.db.close().await;
}
