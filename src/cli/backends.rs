//! `synckit backends …`: the backends (remote systems) a database synchronizes with.
//!
//! Secrets never come from the command line, where other users see them (`ps`) and shells
//! keep them: `--secret-env token=MAGENTO_TOKEN` reads the secret `token` from the
//! environment variable `MAGENTO_TOKEN`. They are never printed either.
//!
//! At rest they are encrypted with the key in `SYNCKIT_SECRET_KEY` (32 bytes, base64 or
//! hex, e.g. `openssl rand -base64 32`); without a key a secret is refused unless
//! `--plaintext-secrets` is given. `rotate-key` re-encrypts every backend's secrets with
//! the key in `SYNCKIT_NEW_SECRET_KEY`.

use std::fmt::Write as _;

use clap::{Args, Subcommand};
use sync_core::backend::{
    Backend, NEW_SECRET_KEY_ENV, NewBackend, SECRET_KEY_ENV, SecretCipher, Secrets, SecretsAtRest,
};
use sync_core::storage::Storage;
use sync_core::{SyncError, SyncResult};

/// The `backends` subcommands.
#[derive(Debug, Subcommand)]
pub enum BackendsCommand {
    /// List the backends.
    List,
    /// Add a backend.
    Add(AddArgs),
    /// Replace a backend's settings, or some of its secrets.
    Update(UpdateArgs),
    /// Enable a backend.
    Enable {
        /// The backend's name.
        backend: String,
    },
    /// Disable a backend (its listeners and imports stop).
    Disable {
        /// The backend's name.
        backend: String,
    },
    /// Re-encrypt every backend's secrets, in one transaction, with the key in
    /// SYNCKIT_NEW_SECRET_KEY; they are read with SYNCKIT_SECRET_KEY (plain-text ones need
    /// none). Then make the new key SYNCKIT_SECRET_KEY.
    RotateKey,
}

/// Arguments of `backends add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// A unique name.
    #[arg(long)]
    pub name: String,
    /// The kind family, e.g. `magento`.
    #[arg(long)]
    pub kind: String,
    /// The version, e.g. `2.4` (selects the version's components).
    #[arg(long)]
    pub version: Option<String>,
    /// The settings, as a JSON object (base URL, page size, …; no secrets).
    #[arg(long, default_value = "{}")]
    pub settings: String,
    /// A secret read from the environment: `NAME=ENV_VAR`, repeatable.
    #[arg(long = "secret-env", value_name = "NAME=ENV_VAR")]
    pub secret_env: Vec<String>,
    /// Store the secrets in plain text when SYNCKIT_SECRET_KEY is not set.
    #[arg(long)]
    pub plaintext_secrets: bool,
}

/// Arguments of `backends update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The backend's name.
    pub backend: String,
    /// New settings, as a JSON object (replaces the old ones).
    #[arg(long)]
    pub settings: Option<String>,
    /// A secret to set from the environment: `NAME=ENV_VAR`, repeatable; the others stay.
    #[arg(long = "secret-env", value_name = "NAME=ENV_VAR")]
    pub secret_env: Vec<String>,
    /// Store the secrets in plain text when SYNCKIT_SECRET_KEY is not set.
    #[arg(long)]
    pub plaintext_secrets: bool,
}

fn settings(text: &str) -> SyncResult<serde_json::Value> {
    match serde_json::from_str(text) {
        Ok(value @ serde_json::Value::Object(_)) => Ok(value),
        Ok(_) => Err(SyncError::Failed("--settings must be a JSON object".into())),
        Err(e) => Err(SyncError::Failed(format!("--settings is not JSON: {e}"))),
    }
}

/// Reads `NAME=ENV_VAR` pairs into `secrets`; errors name the variable, never a value.
fn read_secrets(mut secrets: Secrets, pairs: &[String]) -> SyncResult<Secrets> {
    for pair in pairs {
        let (name, variable) = pair.split_once('=').ok_or_else(|| {
            SyncError::Failed(format!("--secret-env `{pair}`: expected NAME=ENV_VAR"))
        })?;
        let value = std::env::var(variable).map_err(|_| {
            SyncError::Failed(format!(
                "--secret-env {name}: the environment variable `{variable}` is not set"
            ))
        })?;
        secrets = secrets.with(name, value);
    }
    Ok(secrets)
}

/// The storage that writes secrets: in plain text only when no key is set and the
/// operator asked for it, with a warning added to `out`.
fn secrets_storage(storage: &Storage, plaintext: bool, out: &mut String) -> Storage {
    if plaintext && matches!(storage.secrets_at_rest(), SecretsAtRest::Refuse) {
        let _ = writeln!(
            out,
            "warning: {SECRET_KEY_ENV} is not set: secrets are stored in plain text"
        );
        storage.with_secrets_at_rest(SecretsAtRest::Plaintext)
    } else {
        storage.clone()
    }
}

async fn by_name(storage: &Storage, name: &str) -> SyncResult<Backend> {
    storage
        .backends()
        .by_name(name)
        .await?
        .ok_or_else(|| SyncError::Failed(format!("no backend named `{name}`")))
}

/// Runs a `backends` subcommand; returns what to print.
pub async fn run(storage: &Storage, command: BackendsCommand) -> SyncResult<String> {
    let mut out = String::new();
    match command {
        BackendsCommand::List => {
            for backend in storage.backends().list().await? {
                let _ = writeln!(
                    out,
                    "{:>4}  {:<20} {}{}  {}  settings {}",
                    backend.id,
                    backend.name,
                    backend.kind,
                    backend
                        .version
                        .as_deref()
                        .map(|v| format!(" {v}"))
                        .unwrap_or_default(),
                    if backend.enabled {
                        "enabled"
                    } else {
                        "disabled"
                    },
                    backend.settings
                );
            }
            if out.is_empty() {
                out.push_str("no backends\n");
            }
        }
        BackendsCommand::Add(args) => {
            let mut new = NewBackend::new(&args.kind, &args.name)
                .settings(settings(&args.settings)?)
                .secrets(read_secrets(Secrets::new(), &args.secret_env)?);
            if let Some(version) = &args.version {
                new = new.version(version);
            }
            let storage = secrets_storage(storage, args.plaintext_secrets, &mut out);
            let backend = storage.backends().create(new).await?;
            let _ = writeln!(out, "backend {} added (id {})", backend.name, backend.id);
        }
        BackendsCommand::Update(args) => {
            let backend = by_name(storage, &args.backend).await?;
            if let Some(text) = &args.settings {
                storage
                    .backends()
                    .update_settings(backend.id, &settings(text)?)
                    .await?;
            }
            if !args.secret_env.is_empty() {
                let secrets = read_secrets(backend.secrets.clone(), &args.secret_env)?;
                secrets_storage(storage, args.plaintext_secrets, &mut out)
                    .backends()
                    .update_secrets(backend.id, &secrets)
                    .await?;
            }
            let _ = writeln!(out, "backend {} updated", backend.name);
        }
        BackendsCommand::Enable { backend } => {
            let backend = by_name(storage, &backend).await?;
            storage.backends().enable(backend.id).await?;
            let _ = writeln!(out, "backend {} enabled", backend.name);
        }
        BackendsCommand::Disable { backend } => {
            let backend = by_name(storage, &backend).await?;
            storage.backends().disable(backend.id).await?;
            let _ = writeln!(out, "backend {} disabled", backend.name);
        }
        BackendsCommand::RotateKey => {
            let new = SecretCipher::from_env_var(NEW_SECRET_KEY_ENV)?.ok_or_else(|| {
                SyncError::Failed(format!(
                    "rotate-key: set {NEW_SECRET_KEY_ENV} to the new key (32 bytes, base64 or hex)"
                ))
            })?;
            let count = storage.backends().rotate_key(&new).await?;
            let _ = writeln!(
                out,
                "the secrets of {count} backends are encrypted with the new key (key id {}): \
                 set {SECRET_KEY_ENV} to it now",
                new.key_id()
            );
        }
    }
    Ok(out)
}
