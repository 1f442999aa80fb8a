//! Files only the server's user may read: the data folder (0700), the embedded database and
//! its journal files, the generated signing secret and token key (0600).

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

/// Creates `dir` (and its parents) if needed and makes it 0700 on Unix. A folder the server
/// does not own (a mounted volume) may refuse the change: that is logged, not fatal, since its
/// owner chose its mode.
pub fn ensure_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Err(e) = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)) {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot make the data folder private (0700)");
        }
    }
    Ok(())
}

/// Creates `path` empty with mode 0600 if it is missing, and narrows an existing file to 0600.
/// SQLite gives its `-wal` and `-shm` files the mode of the database file, so creating the
/// database this way keeps all three private.
pub fn ensure_file(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
    }
    #[cfg(not(unix))]
    {
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .map(drop)
    }
}
