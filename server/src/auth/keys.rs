//! The server's secret: it signs API tokens (and, with Google sign-in, encrypts stored tokens).
//!
//! From `CLASSIFY_SECRET_KEY` when set (required when several replicas must accept each other's
//! tokens); otherwise generated once and kept in `<data dir>/secret.key`, readable only by the
//! server's user.

use std::path::Path;

/// Fewest bytes a configured secret may have.
pub const MIN_SECRET_LEN: usize = 32;

/// Why the secret could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The configured secret is too short to be safe.
    #[error("CLASSIFY_SECRET_KEY must be at least {MIN_SECRET_LEN} characters")]
    TooShort,
    /// The key file could not be read or written.
    #[error("cannot read or create the secret key file {path}")]
    File {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// The secret bytes: the configured value, else the key file (created if missing).
pub fn load_or_create(configured: Option<&str>, data_dir: &Path) -> Result<Vec<u8>, KeyError> {
    if let Some(secret) = configured.filter(|s| !s.trim().is_empty()) {
        if secret.len() < MIN_SECRET_LEN {
            return Err(KeyError::TooShort);
        }
        return Ok(secret.as_bytes().to_vec());
    }
    let path = data_dir.join("secret.key");
    let file_error = |source| KeyError::File {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= MIN_SECRET_LEN => {
            return Ok(text.trim().as_bytes().to_vec());
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(file_error(e)),
    }
    std::fs::create_dir_all(data_dir).map_err(file_error)?;
    let secret = hex::encode(rand::random::<[u8; 32]>());
    crate::private_file::write(&path, &secret).map_err(file_error)?;
    Ok(secret.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_is_kept_across_starts() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(None, dir.path()).unwrap();
        let second = load_or_create(None, dir.path()).unwrap();
        assert_eq!(first, second);
        assert!(first.len() >= MIN_SECRET_LEN);
    }

    #[test]
    fn a_configured_key_wins_and_must_be_long_enough() {
        let dir = tempfile::tempdir().unwrap();
        let key = "k".repeat(40);
        assert_eq!(
            load_or_create(Some(&key), dir.path()).unwrap(),
            key.as_bytes()
        );
        assert!(matches!(
            load_or_create(Some("short"), dir.path()),
            Err(KeyError::TooShort)
        ));
    }
}
