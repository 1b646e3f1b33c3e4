//! The key that encrypts backend secrets at rest (XChaCha20-Poly1305).

use std::fmt;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha1::{Digest, Sha1};

use crate::error::{SyncError, SyncResult};

/// The environment variable holding the secret key, read by [`SecretCipher::from_env`].
pub const SECRET_KEY_ENV: &str = "SYNCKIT_SECRET_KEY";

/// The environment variable holding the new key of a rotation (`synckit backends
/// rotate-key`).
pub const NEW_SECRET_KEY_ENV: &str = "SYNCKIT_NEW_SECRET_KEY";

/// Base64 with either alphabet's padding optional, so that keys pasted from
/// `openssl rand -base64 32` or written without `=` both read.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A 32-byte key that encrypts backend secrets (XChaCha20-Poly1305, a random 24-byte nonce
/// per write).
///
/// The key is written as 32 bytes in base64 (44 characters, e.g. the output of
/// `openssl rand -base64 32`) or in hex (64 characters). It is identified by a key id, a
/// short hash stored beside each ciphertext so that a wrong key is told apart from altered
/// data. `Debug` shows the key id only; no error ever contains the key.
///
/// ```
/// use sync_core::backend::SecretCipher;
///
/// let cipher = SecretCipher::from_key_text(&"ab".repeat(32))?;
/// assert_eq!(cipher.key_id().len(), 16);
/// assert!(!format!("{cipher:?}").contains("abab"));
/// # Ok::<(), sync_core::SyncError>(())
/// ```
#[derive(Clone)]
pub struct SecretCipher {
    cipher: XChaCha20Poly1305,
    key_id: String,
}

impl SecretCipher {
    /// A cipher with these key bytes.
    pub fn from_bytes(key: &[u8; 32]) -> Self {
        let mut hash = Sha1::new();
        // A domain prefix: the id is a hash of the key for this use only.
        hash.update(b"synckit secret key id\0");
        hash.update(key);
        let digest = hash.finalize();
        let key_id = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        SecretCipher {
            cipher: XChaCha20Poly1305::new(key.into()),
            key_id,
        }
    }

    /// A cipher from a key written in base64 or hex (surrounding whitespace ignored).
    ///
    /// # Errors
    /// When the text is not 32 bytes in base64 or hex; the error never repeats the text.
    pub fn from_key_text(text: &str) -> SyncResult<Self> {
        Self::parse(text, "the secret key")
    }

    /// A cipher from the key in the environment variable [`SECRET_KEY_ENV`]
    /// (`SYNCKIT_SECRET_KEY`), or `None` when it is not set. The library reads the
    /// environment only here and in [`SecretCipher::from_env_var`].
    ///
    /// # Errors
    /// When the variable is set but does not hold a valid key.
    pub fn from_env() -> SyncResult<Option<Self>> {
        Self::from_env_var(SECRET_KEY_ENV)
    }

    /// A cipher from the key in the environment variable `name`, or `None` when it is
    /// unset or empty.
    ///
    /// # Errors
    /// When the variable is set but does not hold a valid key.
    pub fn from_env_var(name: &str) -> SyncResult<Option<Self>> {
        match std::env::var(name) {
            Ok(text) if !text.trim().is_empty() => Self::parse(&text, name).map(Some),
            Ok(_) | Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(SyncError::Failed(format!(
                "{name} is not a valid secret key: it is not UTF-8 text"
            ))),
        }
    }

    /// A new random key, as base64 text (for tests and for operators who need one).
    pub fn generate_key_text() -> String {
        let key = chacha20poly1305::Key::generate();
        LENIENT_BASE64.encode(key.as_slice())
    }

    /// The key id stored beside each ciphertext: a hash of the key, never the key.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    fn parse(text: &str, what: &str) -> SyncResult<Self> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            decode_hex(text)
        } else {
            LENIENT_BASE64.decode(text).ok()
        };
        match bytes.as_deref().map(<[u8; 32]>::try_from) {
            Some(Ok(key)) => Ok(Self::from_bytes(&key)),
            _ => Err(SyncError::Failed(format!(
                "{what} is not a valid secret key: expected 32 bytes written in base64 \
                 (44 characters) or hex (64 characters), got {} characters",
                text.chars().count()
            ))),
        }
    }

    /// Encrypts `plaintext`, binding it to `context` (authenticated, not stored); returns
    /// the random nonce and the ciphertext.
    pub(crate) fn seal(&self, plaintext: &[u8], context: &[u8]) -> SyncResult<(Vec<u8>, Vec<u8>)> {
        let nonce = XNonce::generate();
        let ciphertext = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .map_err(|_| SyncError::Failed("cannot encrypt the secrets".into()))?;
        Ok((nonce.to_vec(), ciphertext))
    }

    /// Decrypts what [`SecretCipher::seal`] returned for the same `context`; `None` when
    /// the key is wrong or the data was altered.
    pub(crate) fn open(&self, nonce: &[u8], ciphertext: &[u8], context: &[u8]) -> Option<Vec<u8>> {
        let nonce = XNonce::try_from(nonce).ok()?;
        self.cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: context,
                },
            )
            .ok()
    }
}

impl fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretCipher")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// Base64 in the envelope (standard alphabet, padded).
pub(crate) fn to_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Reads [`to_base64`]'s output.
pub(crate) fn from_base64(text: &str) -> Option<Vec<u8>> {
    LENIENT_BASE64.decode(text).ok()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_from_base64_or_hex_and_errors_never_repeat_them() {
        let text = SecretCipher::generate_key_text();
        let b64 = SecretCipher::from_key_text(&format!(" {text}\n")).unwrap();
        let bytes = from_base64(&text).unwrap();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let from_hex = SecretCipher::from_key_text(&hex).unwrap();
        assert_eq!(b64.key_id(), from_hex.key_id());
        let (nonce, ct) = b64.seal(b"{\"token\":\"t\"}", b"backend 1").unwrap();
        assert_eq!(
            from_hex.open(&nonce, &ct, b"backend 1").as_deref(),
            Some(&b"{\"token\":\"t\"}"[..])
        );
        assert!(from_hex.open(&nonce, &ct, b"backend 2").is_none());
        assert!(!format!("{b64:?}").contains(&text));

        let short = "c2hvcnQta2V5LXRleHQ=";
        let error = SecretCipher::from_key_text(short).unwrap_err().to_string();
        assert!(error.contains("expected 32 bytes"), "{error}");
        assert!(!error.contains(short), "{error}");
    }
}
