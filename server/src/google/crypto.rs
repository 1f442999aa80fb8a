//! Google tokens at rest: AES-256-GCM with a key id in every ciphertext, so keys can be
//! rotated (new key first in `CLASSIFY_TOKEN_KEY`, old ones kept to decrypt), and the owner
//! and field as associated data, so a ciphertext copied to another user's row does not open.
//!
//! Layout: `b'v1'`, the key id's length (1 byte), the key id, a 12-byte random nonce, then the
//! ciphertext with its tag.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

const VERSION: &[u8; 2] = b"v1";
const NONCE_LEN: usize = 12;

/// Why a key could not be loaded or a token not decrypted.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// `CLASSIFY_TOKEN_KEY` (or the key file) is malformed.
    #[error("invalid token key: {0} (expected id:base64-of-32-bytes[,id:base64...])")]
    BadKey(String),
    /// The key file could not be read or written.
    #[error("cannot read or create the token key file {path}: {source}")]
    File {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The ciphertext names a key this server does not have.
    #[error("a stored token was encrypted with key '{0}', which is not configured")]
    UnknownKey(String),
    /// Tampered, truncated, or for another owner.
    #[error("a stored token cannot be decrypted")]
    Corrupt,
}

/// Encrypts with the current key; decrypts with any configured key.
#[derive(Clone)]
pub struct TokenCipher {
    keys: Vec<(String, Aes256Gcm)>,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        write!(f, "TokenCipher(keys: {ids:?})")
    }
}

impl TokenCipher {
    /// Keys from `id:base64,id:base64...`; the first one encrypts.
    pub fn parse(spec: &str) -> Result<Self, CryptoError> {
        let mut keys = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, b64) = entry
                .split_once(':')
                .ok_or_else(|| CryptoError::BadKey("an entry has no ':'".into()))?;
            if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(CryptoError::BadKey(
                    "a key id must be 1 to 32 letters or digits".into(),
                ));
            }
            let bytes = STANDARD
                .decode(b64.trim())
                .map_err(|_| CryptoError::BadKey(format!("key '{id}' is not base64")))?;
            let cipher = Aes256Gcm::new_from_slice(&bytes)
                .map_err(|_| CryptoError::BadKey(format!("key '{id}' is not 32 bytes")))?;
            // 32 random bytes hold about 30 distinct values (fewer than 16: odds below 1e-9);
            // all zeros or a repeated pattern is a placeholder, not a key.
            let distinct = bytes.iter().collect::<std::collections::HashSet<_>>().len();
            if distinct < 16 {
                return Err(CryptoError::BadKey(format!(
                    "key '{id}' is not random (generate one: openssl rand -base64 32)"
                )));
            }
            if keys.iter().any(|(k, _)| k == id) {
                return Err(CryptoError::BadKey(format!("key id '{id}' appears twice")));
            }
            keys.push((id.to_string(), cipher));
        }
        if keys.is_empty() {
            return Err(CryptoError::BadKey("no key".into()));
        }
        Ok(Self { keys })
    }

    /// The configured keys, else `<data dir>/token.key`, created with a random key (mode
    /// 0600) on first start.
    pub fn load_or_create(configured: Option<&str>, data_dir: &Path) -> Result<Self, CryptoError> {
        if let Some(spec) = configured.filter(|s| !s.trim().is_empty()) {
            return Self::parse(spec);
        }
        let path = data_dir.join("token.key");
        let file_error = |source| CryptoError::File {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => return Self::parse(text.trim()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(file_error(e)),
        }
        crate::private_file::ensure_dir(data_dir).map_err(file_error)?;
        let id = format!("k{}", hex::encode(rand::random::<[u8; 4]>()));
        let spec = format!("{id}:{}", STANDARD.encode(rand::random::<[u8; 32]>()));
        crate::private_file::write(&path, &spec).map_err(file_error)?;
        Self::parse(&spec)
    }

    /// A new random key spec, for operators (`id:base64`).
    pub fn generate_spec(id: &str) -> String {
        format!("{id}:{}", STANDARD.encode(rand::random::<[u8; 32]>()))
    }

    /// Encrypts `plain`, bound to `context` (the owner and the field).
    pub fn seal(&self, plain: &str, context: &str) -> Result<Vec<u8>, CryptoError> {
        let (id, cipher) = self.keys.first().ok_or(CryptoError::Corrupt)?;
        let nonce_bytes = rand::random::<[u8; NONCE_LEN]>();
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce_bytes),
                Payload {
                    msg: plain.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Corrupt)?;
        let mut out = Vec::with_capacity(3 + id.len() + NONCE_LEN + sealed.len());
        out.extend_from_slice(VERSION);
        out.push(id.len() as u8);
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decrypts what [`seal`](Self::seal) made with the same `context`.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<String, CryptoError> {
        let rest = sealed.strip_prefix(VERSION).ok_or(CryptoError::Corrupt)?;
        let (&id_len, rest) = rest.split_first().ok_or(CryptoError::Corrupt)?;
        let id_len = usize::from(id_len);
        if rest.len() < id_len + NONCE_LEN {
            return Err(CryptoError::Corrupt);
        }
        let (id, rest) = rest.split_at(id_len);
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let id = std::str::from_utf8(id).map_err(|_| CryptoError::Corrupt)?;
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(k, _)| k == id)
            .ok_or_else(|| CryptoError::UnknownKey(id.to_string()))?;
        let plain = cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Corrupt)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_and_hides_its_text() {
        let cipher = TokenCipher::parse(&TokenCipher::generate_spec("a")).unwrap();
        let sealed = cipher.seal("ya29.secret-token", "user:1:access").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(
            cipher.open(&sealed, "user:1:access").unwrap(),
            "ya29.secret-token"
        );
        // Another owner's row, or another field, does not open it.
        assert!(matches!(
            cipher.open(&sealed, "user:2:access"),
            Err(CryptoError::Corrupt)
        ));
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(matches!(
            cipher.open(&tampered, "user:1:access"),
            Err(CryptoError::Corrupt)
        ));
        assert!(cipher.open(b"v1", "x").is_err());
        assert!(cipher.open(b"", "x").is_err());
    }

    #[test]
    fn rotation_keeps_old_tokens_readable() {
        let old_spec = TokenCipher::generate_spec("old");
        let old = TokenCipher::parse(&old_spec).unwrap();
        let sealed = old.seal("refresh", "ctx").unwrap();
        let rotated =
            TokenCipher::parse(&format!("{},{old_spec}", TokenCipher::generate_spec("new")))
                .unwrap();
        assert_eq!(rotated.open(&sealed, "ctx").unwrap(), "refresh");
        let resealed = rotated.seal("refresh", "ctx").unwrap();
        assert!(
            matches!(old.open(&resealed, "ctx"), Err(CryptoError::UnknownKey(id)) if id == "new")
        );
    }

    #[test]
    fn malformed_keys_are_refused_with_a_reason() {
        let zeros = format!("a:{}", STANDARD.encode([0u8; 32]));
        let pattern = format!("a:{}", STANDARD.encode([1u8, 2, 3, 4].repeat(8)));
        for spec in [
            "",
            "nocolon",
            "a:notbase64!",
            "a:c2hvcnQ=",
            "bad id:AAAA",
            &zeros,
            &pattern,
        ] {
            assert!(TokenCipher::parse(spec).is_err(), "{spec}");
        }
        let twice = format!(
            "{},{}",
            TokenCipher::generate_spec("a"),
            TokenCipher::generate_spec("a")
        );
        assert!(TokenCipher::parse(&twice).is_err());
    }

    #[test]
    fn a_generated_key_file_is_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = TokenCipher::load_or_create(None, dir.path()).unwrap();
        let sealed = a.seal("t", "c").unwrap();
        let b = TokenCipher::load_or_create(None, dir.path()).unwrap();
        assert_eq!(b.open(&sealed, "c").unwrap(), "t");
    }
}
