//! Backend secrets at rest, on SQLite and PostgreSQL: encrypted with the storage's key,
//! refused without one unless plain text is allowed, legacy plain rows still read, keys
//! rotated in one transaction, and a wrong key a clear error that never shows a key.

use sync_core::backend::{NewBackend, SecretCipher, Secrets, SecretsAtRest};
use sync_core::storage::Storage;
use sync_core::testing::{TestDatabase, test_databases};

const TOKEN: &str = "tok-9f8e7d-very-secret";

fn key() -> (String, SecretCipher) {
    let text = SecretCipher::generate_key_text();
    let cipher = SecretCipher::from_key_text(&text).unwrap();
    (text, cipher)
}

fn encrypted(db: &TestDatabase, cipher: &SecretCipher) -> Storage {
    db.storage
        .with_secrets_at_rest(SecretsAtRest::Encrypted(cipher.clone()))
}

fn shop(name: &str) -> NewBackend {
    NewBackend::new("magento", name).secrets(Secrets::new().with("token", TOKEN))
}

async fn raw_secrets(db: &TestDatabase, name: &str) -> String {
    let (text,): (String,) = sqlx::query_as("SELECT secrets FROM sync_backends WHERE name = $1")
        .bind(name)
        .fetch_one(db.storage.pool())
        .await
        .unwrap();
    text
}

async fn token_of(storage: &Storage, name: &str) -> sync_core::SyncResult<String> {
    let backend = storage.backends().by_name(name).await?.unwrap();
    Ok(backend.secrets.get("token").unwrap().expose().to_owned())
}

#[tokio::test]
async fn secrets_are_encrypted_with_the_key_and_read_back() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let (text, cipher) = key();
        let storage = encrypted(&db, &cipher);
        let created = storage.backends().create(shop("shop")).await.unwrap();
        assert_eq!(created.secrets.get("token").unwrap().expose(), TOKEN);

        let raw = raw_secrets(&db, "shop").await;
        assert!(!raw.contains(TOKEN), "{name}: stored in clear: {raw}");
        let envelope: serde_json::Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(envelope["v"], 1, "{name}: {raw}");
        assert_eq!(envelope["alg"], "xchacha20poly1305");
        assert_eq!(envelope["kid"], cipher.key_id());

        assert_eq!(token_of(&storage, "shop").await.unwrap(), TOKEN, "{name}");
        let listed = storage.backends().list().await.unwrap();
        assert_eq!(listed[0].secrets.get("token").unwrap().expose(), TOKEN);
        let replaced = Secrets::new().with("token", "tok-2");
        storage
            .backends()
            .update_secrets(created.id, &replaced)
            .await
            .unwrap();
        assert_eq!(token_of(&storage, "shop").await.unwrap(), "tok-2");
        assert!(!raw_secrets(&db, "shop").await.contains("tok-2"));

        // Neither the key nor the secret shows in what may be logged.
        let shown = format!(
            "{storage:?} {cipher:?} {:?} {listed:?}",
            storage.secrets_at_rest()
        );
        assert!(
            !shown.contains(&text) && !shown.contains(TOKEN),
            "{name}: {shown}"
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_wrong_or_missing_key_is_a_clear_error_naming_the_backend() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let (_, cipher) = key();
        encrypted(&db, &cipher)
            .backends()
            .create(shop("shop"))
            .await
            .unwrap();

        let (wrong_text, wrong) = key();
        let error = token_of(&encrypted(&db, &wrong), "shop")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("backend `shop` (id 1)") && error.contains("wrong key"),
            "{name}: {error}"
        );
        assert!(error.contains(cipher.key_id()) && error.contains(wrong.key_id()));
        assert!(
            !error.contains(&wrong_text) && !error.contains(TOKEN),
            "{error}"
        );

        let no_key = db.storage.with_secrets_at_rest(SecretsAtRest::Refuse);
        let error = no_key.backends().list().await.unwrap_err().to_string();
        assert!(
            error.contains("backend `shop`")
                && error.contains("no secret key is set")
                && error.contains("SYNCKIT_SECRET_KEY"),
            "{name}: {error}"
        );

        // Altered ciphertext: the key is right, the data is not.
        let raw = raw_secrets(&db, "shop").await;
        let mut envelope: serde_json::Value = serde_json::from_str(&raw).unwrap();
        envelope["ct"] = serde_json::Value::from("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        sqlx::query("UPDATE sync_backends SET secrets = $1")
            .bind(envelope.to_string())
            .execute(db.storage.pool())
            .await
            .unwrap();
        let error = token_of(&encrypted(&db, &cipher), "shop")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("backend `shop`") && error.contains("do not decrypt"),
            "{name}: {error}"
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn without_a_key_secrets_are_refused_unless_plain_text_is_allowed() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let refusing = db.storage.with_secrets_at_rest(SecretsAtRest::Refuse);
        let error = refusing
            .backends()
            .create(shop("shop"))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("backend `shop`")
                && error.contains("refusing to store its secrets (token) unencrypted")
                && error.contains("SYNCKIT_SECRET_KEY")
                && error.contains("--plaintext-secrets"),
            "{name}: {error}"
        );
        assert!(
            refusing.backends().by_name("shop").await.unwrap().is_none(),
            "{name}: nothing is stored"
        );
        // A backend without secrets needs no key.
        refusing
            .backends()
            .create(NewBackend::new("magento", "open"))
            .await
            .unwrap();

        let plain = db.storage.with_secrets_at_rest(SecretsAtRest::Plaintext);
        plain.backends().create(shop("shop")).await.unwrap();
        assert_eq!(
            raw_secrets(&db, "shop").await,
            format!(r#"{{"token":"{TOKEN}"}}"#),
            "{name}: plain text when allowed"
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn legacy_plain_rows_read_with_a_key_and_are_encrypted_on_the_next_write() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        // A row written before encryption existed.
        let now = db.storage.now_micros().await.unwrap();
        sqlx::query(
            "INSERT INTO sync_backends (kind, name, settings, secrets, enabled, created_at, updated_at) \
             VALUES ('magento', 'old', '{}', $1, 1, $2, $2)",
        )
        .bind(format!(r#"{{"token":"{TOKEN}"}}"#))
        .bind(now)
        .execute(db.storage.pool())
        .await
        .unwrap();
        let (_, cipher) = key();
        let storage = encrypted(&db, &cipher);
        assert_eq!(token_of(&storage, "old").await.unwrap(), TOKEN, "{name}");
        // Read without any key too.
        let no_key = db.storage.with_secrets_at_rest(SecretsAtRest::Refuse);
        assert_eq!(token_of(&no_key, "old").await.unwrap(), TOKEN, "{name}");

        let old = storage.backends().by_name("old").await.unwrap().unwrap();
        storage
            .backends()
            .update_secrets(old.id, &old.secrets)
            .await
            .unwrap();
        let raw = raw_secrets(&db, "old").await;
        assert!(
            raw.contains("xchacha20poly1305") && !raw.contains(TOKEN),
            "{name}: {raw}"
        );
        assert_eq!(token_of(&storage, "old").await.unwrap(), TOKEN);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_rotation_reencrypts_every_backend_in_one_transaction() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let (_, old) = key();
        let (_, new) = key();
        let plain = db.storage.with_secrets_at_rest(SecretsAtRest::Plaintext);
        plain.backends().create(shop("legacy")).await.unwrap();
        let with_old = encrypted(&db, &old);
        with_old.backends().create(shop("a")).await.unwrap();
        with_old
            .backends()
            .create(NewBackend::new("magento", "none"))
            .await
            .unwrap();

        assert_eq!(with_old.backends().rotate_key(&new).await.unwrap(), 3);
        let with_new = encrypted(&db, &new);
        for backend in ["legacy", "a"] {
            assert_eq!(token_of(&with_new, backend).await.unwrap(), TOKEN, "{name}");
            let raw = raw_secrets(&db, backend).await;
            assert!(
                raw.contains(new.key_id()) && !raw.contains(TOKEN),
                "{name}: {raw}"
            );
            let error = token_of(&with_old, backend).await.unwrap_err().to_string();
            assert!(error.contains("wrong key"), "{name}: {error}");
        }
        // Run again (e.g. after a crash before the operator switched keys): still fine.
        assert_eq!(with_old.backends().rotate_key(&new).await.unwrap(), 3);
        assert_eq!(token_of(&with_new, "a").await.unwrap(), TOKEN);

        // A backend under a third key stops the rotation, named, and nothing changes.
        let (_, third) = key();
        encrypted(&db, &third)
            .backends()
            .create(shop("stranger"))
            .await
            .unwrap();
        let before = raw_secrets(&db, "a").await;
        let (_, newer) = key();
        let error = with_new
            .backends()
            .rotate_key(&newer)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("backend `stranger`") && error.contains("wrong key"),
            "{name}: {error}"
        );
        assert_eq!(raw_secrets(&db, "a").await, before, "{name}: rolled back");
        db.cleanup().await;
    }
}
