//! How backend secrets are kept in `sync_backends.secrets`: encrypted in a versioned
//! envelope, or (when explicitly allowed) as plain JSON; and refused otherwise.

use serde::{Deserialize, Serialize};

use super::secret::Secrets;
use super::secret_cipher::{SECRET_KEY_ENV, SecretCipher, from_base64, to_base64};
use crate::error::{SyncError, SyncResult};

/// The envelope's algorithm name.
const ALGORITHM: &str = "xchacha20poly1305";

/// How a [`Storage`](crate::storage::Storage) keeps backend secrets at rest; set with
/// [`StorageOptions::secrets_at_rest`](crate::storage::StorageOptions::secrets_at_rest)
/// or [`Storage::with_secrets_at_rest`](crate::storage::Storage::with_secrets_at_rest).
///
/// Whatever the policy, rows stored in plain JSON before encryption was turned on keep
/// reading; they are encrypted on their next write or by a key rotation.
#[derive(Debug, Clone, Default)]
pub enum SecretsAtRest {
    /// No key and no permission to store plain text: storing a secret is an error that
    /// says so. Backends without secrets are stored as usual.
    #[default]
    Refuse,
    /// Secrets are stored as plain JSON: an explicit choice (`--plaintext-secrets`, test
    /// databases), for databases nobody else can read.
    Plaintext,
    /// Secrets are encrypted with this key.
    Encrypted(SecretCipher),
}

impl SecretsAtRest {
    /// Encrypted with `cipher` when there is one, refused otherwise.
    pub fn from_cipher(cipher: Option<SecretCipher>) -> Self {
        cipher.map_or(SecretsAtRest::Refuse, SecretsAtRest::Encrypted)
    }

    /// The cipher, when secrets are encrypted.
    pub fn cipher(&self) -> Option<&SecretCipher> {
        match self {
            SecretsAtRest::Encrypted(cipher) => Some(cipher),
            _ => None,
        }
    }
}

/// The stored form of encrypted secrets (version 1).
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    v: u32,
    alg: String,
    kid: String,
    nonce: String,
    ct: String,
}

/// The backend a secrets column belongs to, for errors and as the ciphertext's context.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Owner<'a> {
    pub(crate) id: i64,
    pub(crate) name: &'a str,
}

impl Owner<'_> {
    /// Binds a ciphertext to its row: copied into another backend's row it does not open.
    fn context(&self) -> Vec<u8> {
        format!("synckit sync_backends.secrets {}", self.id).into_bytes()
    }

    fn error(&self, message: impl std::fmt::Display) -> SyncError {
        SyncError::Failed(format!(
            "backend `{}` (id {}): {message}",
            self.name, self.id
        ))
    }
}

/// The column text for `secrets` under `policy`.
pub(crate) fn encode(
    policy: &SecretsAtRest,
    owner: Owner<'_>,
    secrets: &Secrets,
) -> SyncResult<String> {
    let json = serde_json::to_string(secrets)
        .map_err(|e| owner.error(format!("cannot store the secrets: {e}")))?;
    if secrets.names().next().is_none() {
        // Nothing secret to protect.
        return Ok(json);
    }
    match policy {
        SecretsAtRest::Plaintext => Ok(json),
        SecretsAtRest::Refuse => {
            let names: Vec<&str> = secrets.names().collect();
            Err(owner.error(format!(
                "refusing to store its secrets ({}) unencrypted: no secret key is set. Set \
                 {SECRET_KEY_ENV} to a 32-byte key (base64 or hex, e.g. from `openssl rand \
                 -base64 32`), or allow plain-text secrets explicitly (--plaintext-secrets)",
                names.join(", ")
            )))
        }
        SecretsAtRest::Encrypted(cipher) => seal(cipher, owner, &json),
    }
}

fn seal(cipher: &SecretCipher, owner: Owner<'_>, json: &str) -> SyncResult<String> {
    let (nonce, ct) = cipher
        .seal(json.as_bytes(), &owner.context())
        .map_err(|e| owner.error(e))?;
    let envelope = Envelope {
        v: 1,
        alg: ALGORITHM.to_owned(),
        kid: cipher.key_id().to_owned(),
        nonce: to_base64(&nonce),
        ct: to_base64(&ct),
    };
    serde_json::to_string(&envelope)
        .map_err(|e| owner.error(format!("cannot store the secrets: {e}")))
}

/// Re-encrypts the column text with `new`, reading it under `policy` (or with `new` itself
/// when it already is encrypted with it, so a rotation can run again).
pub(crate) fn reencrypt(
    policy: &SecretsAtRest,
    new: &SecretCipher,
    owner: Owner<'_>,
    text: &str,
) -> SyncResult<String> {
    let already_new = envelope_key_id(text).is_some_and(|kid| kid == new.key_id());
    let secrets = if already_new {
        decode(&SecretsAtRest::Encrypted(new.clone()), owner, text)?
    } else {
        decode(policy, owner, text)?
    };
    let json = serde_json::to_string(&secrets)
        .map_err(|e| owner.error(format!("cannot store the secrets: {e}")))?;
    seal(new, owner, &json)
}

/// The key id of an envelope, or `None` for plain JSON.
fn envelope_key_id(text: &str) -> Option<String> {
    serde_json::from_str::<Envelope>(text).ok().map(|e| e.kid)
}

/// The secrets of a column text: an envelope opened with the policy's key, or plain JSON
/// (stored before encryption was turned on, or by choice).
pub(crate) fn decode(policy: &SecretsAtRest, owner: Owner<'_>, text: &str) -> SyncResult<Secrets> {
    let value: serde_json::Value = serde_json::from_str(text)
        // The message names the column only: the text may hold a secret.
        .map_err(|_| owner.error("its stored secrets are not JSON"))?;
    // Plain secrets are an object of strings: a numeric `v` marks an envelope.
    if !value.get("v").is_some_and(serde_json::Value::is_number) {
        return serde_json::from_value(value)
            .map_err(|_| owner.error("its stored secrets are not a JSON object of strings"));
    }
    let envelope: Envelope = serde_json::from_value(value)
        .map_err(|_| owner.error("its stored secrets are not a valid encrypted envelope"))?;
    if envelope.v != 1 || envelope.alg != ALGORITHM {
        return Err(owner.error(format!(
            "its secrets are encrypted in an envelope this version does not read \
             (version {}, algorithm {})",
            envelope.v, envelope.alg
        )));
    }
    let Some(cipher) = policy.cipher() else {
        return Err(owner.error(format!(
            "its secrets are encrypted (key id {}) and no secret key is set: set \
             {SECRET_KEY_ENV} to the key they were encrypted with",
            envelope.kid
        )));
    };
    if envelope.kid != cipher.key_id() {
        return Err(owner.error(format!(
            "its secrets are encrypted with another key (key id {}) than the secret key \
             given (key id {}): wrong key",
            envelope.kid,
            cipher.key_id()
        )));
    }
    let (Some(nonce), Some(ct)) = (from_base64(&envelope.nonce), from_base64(&envelope.ct)) else {
        return Err(owner.error("its encrypted secrets are not valid base64"));
    };
    let plain = cipher
        .open(&nonce, &ct, &owner.context())
        .ok_or_else(|| owner.error("its encrypted secrets do not decrypt with the secret key given: they were altered or belong to another backend"))?;
    serde_json::from_slice(&plain)
        .map_err(|_| owner.error("its decrypted secrets are not a JSON object of strings"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_legacy_object_with_a_text_v_is_plain_secrets() {
        let owner = Owner {
            id: 1,
            name: "shop",
        };
        let text = r#"{"v":"1","alg":"x","ct":"y"}"#;
        let secrets = decode(&SecretsAtRest::Refuse, owner, text).unwrap();
        assert_eq!(secrets.get("v").map(|s| s.expose()), Some("1"));
    }

    #[test]
    fn an_envelope_copied_to_another_backend_does_not_open() {
        let cipher = SecretCipher::from_key_text(&SecretCipher::generate_key_text()).unwrap();
        let policy = SecretsAtRest::Encrypted(cipher);
        let secrets = Secrets::new().with("token", "tok");
        let text = encode(&policy, Owner { id: 1, name: "a" }, &secrets).unwrap();
        assert!(decode(&policy, Owner { id: 1, name: "a" }, &text).is_ok());
        let error = decode(&policy, Owner { id: 2, name: "b" }, &text).unwrap_err();
        assert!(error.to_string().contains("backend `b` (id 2)"), "{error}");
    }
}
