//! Files only the server's user may read: the generated signing secret and token key.

use std::path::Path;

/// Writes `text` to `path`, created (or truncated) with mode 0600 on Unix.
#[cfg(unix)]
pub fn write(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

/// Writes `text` to `path` (no permission bits to set off Unix).
#[cfg(not(unix))]
pub fn write(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}
