//! Backends: the external systems Synckit talks to, their kinds and their stored records.

mod kind;
mod record;
mod secret;
mod secret_cipher;
mod secrets_at_rest;
mod store;

pub use kind::{BackendKind, KindRegistry};
pub use record::{Backend, NewBackend};
pub use secret::{Secret, Secrets};
pub use secret_cipher::{NEW_SECRET_KEY_ENV, SECRET_KEY_ENV, SecretCipher};
pub use secrets_at_rest::SecretsAtRest;
pub use store::Backends;
