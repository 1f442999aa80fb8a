//! The server's secret: it signs API tokens (and, with Google sign-in, encrypts stored tokens).
//!
//! From `CLASSIFY_SECRET_KEY` when set (required when several replicas must accept each other's
//! tokens); otherwise generated once and kept in `<data dir>/secret.key`, readable only by the
//! server's user.

use std::path::Path;

/// Fewest bytes a configured secret may have.
pub const MIN_SECRET_LEN: usize = 32;

/// Fewest bits a configured secret must show by its own character statistics (length times the
/// Shannon entropy of its characters). 64 random hex digits (`openssl rand -hex 32`) show about
/// 240, 32 show 93 or more (100,000 draws); a run of a few characters shows far less.
pub const MIN_SECRET_BITS: f64 = 88.0;

/// Words that mark a value as a placeholder someone forgot to replace.
const PLACEHOLDER_WORDS: &[&str] = &[
    "change",
    "replace",
    "placeholder",
    "example",
    "secret",
    "password",
    "insert",
    "your",
    "default",
    "sample",
    "dummy",
    "todo",
    "fixme",
    "xxxx",
];

/// Why the secret could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The configured secret is too short to be safe.
    #[error(
        "CLASSIFY_SECRET_KEY must be at least {MIN_SECRET_LEN} characters (openssl rand -hex 32)"
    )]
    TooShort,
    /// The configured secret looks like a placeholder or is too regular to be random.
    #[error(
        "CLASSIFY_SECRET_KEY looks like a placeholder or a made-up value ({0}); anyone who guesses it can sign in as any user. Use a random one: openssl rand -hex 32"
    )]
    Weak(&'static str),
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
        check_strength(secret)?;
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
    crate::private_file::ensure_dir(data_dir).map_err(file_error)?;
    let secret = hex::encode(rand::random::<[u8; 32]>());
    crate::private_file::write(&path, &secret).map_err(file_error)?;
    Ok(secret.into_bytes())
}

/// Refuses a configured secret that is short, names itself a placeholder, or is too regular to
/// have come from a random generator. A heuristic, not a proof: it catches the values people
/// type, not a determined attempt to pass it.
pub fn check_strength(secret: &str) -> Result<(), KeyError> {
    if secret.len() < MIN_SECRET_LEN {
        return Err(KeyError::TooShort);
    }
    let lower = secret.to_ascii_lowercase();
    if PLACEHOLDER_WORDS.iter().any(|w| lower.contains(w)) {
        return Err(KeyError::Weak("it contains a placeholder word"));
    }
    if entropy_bits(secret) < MIN_SECRET_BITS {
        return Err(KeyError::Weak("too few distinct characters for its length"));
    }
    let bytes = secret.as_bytes();
    if (1..=bytes.len() / 2).any(|p| bytes[p..].iter().zip(bytes).all(|(a, b)| a == b)) {
        return Err(KeyError::Weak("it repeats a shorter string"));
    }
    Ok(())
}

/// Length times the Shannon entropy of the string's byte distribution.
fn entropy_bits(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[usize::from(b)] += 1;
    }
    let n = s.len() as f64;
    let per_char: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum();
    per_char * n
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
    fn placeholders_and_regular_values_are_refused_random_ones_pass() {
        for weak in [
            "change-me-change-me-change-me-change-me",
            "replace_with_a_long_random_string_please",
            "your-secret-key-goes-here-0123456789abcdef",
            "0000000000000000000000000000000000000000",
            "abababababababababababababababababababab",
            "abcdabcdabcdabcdabcdabcdabcdabcdabcdabcd",
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "0123456789abcdef0123456789abcdef",
            "q3N0b8pZ1xWm9TgKq3N0b8pZ1xWm9TgKq3N0b8pZ",
        ] {
            assert!(
                matches!(check_strength(weak), Err(KeyError::Weak(_))),
                "{weak} passed"
            );
        }
        assert!(matches!(check_strength("short"), Err(KeyError::TooShort)));
        // 64 random hex digits (openssl rand -hex 32), 32 bytes of base64, and the generator's own.
        for _ in 0..200 {
            let hex = hex::encode(rand::random::<[u8; 32]>());
            assert!(check_strength(&hex).is_ok(), "{hex}");
        }
        assert!(check_strength("q3N0b8pZ1xWm9TgKc2Lr7YvAe5HsJd4U").is_ok());
    }

    #[test]
    fn a_configured_key_wins_and_must_be_strong_enough() {
        let dir = tempfile::tempdir().unwrap();
        let key = "q3N0b8pZ1xWm9TgKc2Lr7YvAe5HsJd4U-7fE2kQ";
        assert_eq!(
            load_or_create(Some(key), dir.path()).unwrap(),
            key.as_bytes()
        );
        assert!(matches!(
            load_or_create(Some("short"), dir.path()),
            Err(KeyError::TooShort)
        ));
    }
}
