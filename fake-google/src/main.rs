//! `fake-google`: serves the fake on a fixed address and prints the environment for Classify.
//!
//! `fake-google [--addr 127.0.0.1:9876] [--public-url URL] [--photos DIR] [--client-id X]
//! [--client-secret Y] [--poll-interval-ms N] [--empty-pages]`

use std::process::ExitCode;
use std::time::Duration;

use fake_google::{FakeGoogle, Options};

const USAGE: &str = "usage: fake-google [--addr HOST:PORT] [--public-url URL] [--photos DIR] \
[--client-id ID] [--client-secret SECRET] [--poll-interval-ms N] [--empty-pages]";

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut opts = Options {
        addr: ([127, 0, 0, 1], 9876).into(),
        ..Options::default()
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => {
                let v = value()?;
                opts.addr = v.parse().map_err(|e| format!("--addr {v}: {e}"))?;
            }
            "--public-url" => {
                let v = value()?;
                let url = url::Url::parse(&v).map_err(|e| format!("--public-url {v}: {e}"))?;
                if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                    return Err(format!("--public-url {v}: not an http(s) origin"));
                }
                opts.public_origin = Some(url.origin().ascii_serialization());
            }
            "--photos" => {
                let v = value()?;
                opts = opts
                    .photos_dir(&v)
                    .map_err(|e| format!("--photos {v}: {e}"))?;
            }
            "--client-id" => opts.client_id = value()?,
            "--client-secret" => opts.client_secret = value()?,
            "--poll-interval-ms" => {
                let v = value()?;
                let ms: u64 = v
                    .parse()
                    .map_err(|e| format!("--poll-interval-ms {v}: {e}"))?;
                opts.poll_interval = Duration::from_millis(ms);
            }
            "--empty-pages" => opts.empty_pages = true,
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
    let users: Vec<String> = opts.users.iter().map(|u| u.email.clone()).collect();
    let photos = opts.photos.len();
    let fake = match FakeGoogle::start(opts).await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("fake-google: cannot listen: {e}");
            return ExitCode::FAILURE;
        }
    };
    for (key, value) in fake.env_vars() {
        println!("{key}={value}");
    }
    eprintln!(
        "fake-google on {} ({} photos; users: {}; control API at {}/_fake). Ctrl-C stops.",
        fake.url(),
        photos,
        users.join(", "),
        fake.url()
    );
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("fake-google: cannot wait for Ctrl-C ({e}); serving until killed");
        fake.wait().await;
        return ExitCode::SUCCESS;
    }
    fake.shutdown().await;
    ExitCode::SUCCESS
}
