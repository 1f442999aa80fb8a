//! `fake-openai`: serves the fake on a fixed address and prints the environment for Classify.
//!
//! `fake-openai [--addr 127.0.0.1:9877] [--api-key KEY]`

use std::process::ExitCode;

use fake_openai::{FakeOpenAi, Options};

const USAGE: &str = "usage: fake-openai [--addr HOST:PORT] [--api-key KEY]";

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut opts = Options {
        addr: ([127, 0, 0, 1], 9877).into(),
        ..Options::default()
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => {
                let v = value()?;
                opts.addr = v.parse().map_err(|e| format!("--addr {v}: {e}"))?;
            }
            "--api-key" => opts.api_key = value()?,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(opts)
}

#[tokio::main]
async fn main() -> ExitCode {
    let opts = match parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let fake = match FakeOpenAi::start(opts).await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("fake-openai: cannot listen: {e}");
            return ExitCode::FAILURE;
        }
    };
    for (key, value) in fake.env_vars() {
        println!("{key}={value}");
    }
    eprintln!(
        "fake-openai on {} (control API at {}/_fake). Ctrl-C stops.",
        fake.url(),
        fake.url()
    );
    let _ = tokio::signal::ctrl_c().await;
    fake.shutdown().await;
    ExitCode::SUCCESS
}
