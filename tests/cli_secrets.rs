//! `synckit backends …` with secrets at rest, on SQLite and PostgreSQL: encrypted with
//! `SYNCKIT_SECRET_KEY`, refused without it unless `--plaintext-secrets`, rotated with
//! `rotate-key`; no key or secret ever printed.

use std::process::Command;

use synckit::backend::SecretCipher;
use synckit::testing::{TestDatabase, test_databases};

const TOKEN: &str = "tok-cli-5a4b3c-secret";

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs the binary on `db` with these environment variables (and `MAGENTO_TOKEN`).
fn synckit(db: &TestDatabase, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_synckit"));
    command
        .args(["--database-url", db.url.as_str()])
        .args(args)
        .env_remove("SYNCKIT_SECRET_KEY")
        .env_remove("SYNCKIT_NEW_SECRET_KEY")
        .env_remove("RUST_LOG")
        .env("MAGENTO_TOKEN", TOKEN);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("the binary runs");
    Run {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn add(name: &str) -> Vec<&str> {
    vec![
        "backends",
        "add",
        "--name",
        name,
        "--kind",
        "magento",
        "--secret-env",
        "token=MAGENTO_TOKEN",
    ]
}

async fn raw_secrets(db: &TestDatabase, name: &str) -> String {
    let (text,): (String,) = sqlx::query_as("SELECT secrets FROM sync_backends WHERE name = $1")
        .bind(name)
        .fetch_one(db.storage.pool())
        .await
        .unwrap();
    text
}

#[tokio::test]
async fn backends_secrets_are_encrypted_refused_or_plain_by_choice_and_rotated() {
    let old = SecretCipher::generate_key_text();
    let new = SecretCipher::generate_key_text();
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let printed = |run: &Run| format!("{}{}", run.stdout, run.stderr);

        // No key, no permission: refused, and told what to do.
        let refused = synckit(&db, &[], &add("plain"));
        assert!(!refused.ok, "{name}: {}", printed(&refused));
        assert!(
            refused
                .stderr
                .contains("refusing to store its secrets (token) unencrypted")
                && refused.stderr.contains("SYNCKIT_SECRET_KEY")
                && refused.stderr.contains("--plaintext-secrets"),
            "{name}: {}",
            refused.stderr
        );

        // Plain text when asked for, with a warning.
        let mut args = add("plain");
        args.push("--plaintext-secrets");
        let plain = synckit(&db, &[], &args);
        assert!(plain.ok, "{name}: {}", printed(&plain));
        assert!(
            plain
                .stdout
                .contains("warning: SYNCKIT_SECRET_KEY is not set")
        );
        assert_eq!(
            raw_secrets(&db, "plain").await,
            format!(r#"{{"token":"{TOKEN}"}}"#)
        );

        // With a key: encrypted.
        let with_old = [("SYNCKIT_SECRET_KEY", old.as_str())];
        let run = synckit(&db, &with_old, &add("shop"));
        assert!(run.ok, "{name}: {}", printed(&run));
        assert!(!raw_secrets(&db, "shop").await.contains(TOKEN), "{name}");
        let list = synckit(&db, &with_old, &["backends", "list"]);
        assert!(
            list.ok && list.stdout.contains("shop"),
            "{name}: {}",
            printed(&list)
        );

        // Without the key, the encrypted backend cannot be read: named, key asked for.
        let no_key = synckit(&db, &[], &["backends", "list"]);
        assert!(!no_key.ok);
        assert!(
            no_key.stderr.contains("backend `shop`")
                && no_key.stderr.contains("no secret key is set"),
            "{name}: {}",
            no_key.stderr
        );
        // A malformed key is refused before anything runs, without being repeated.
        let bad = synckit(
            &db,
            &[("SYNCKIT_SECRET_KEY", "not-a-key")],
            &["backends", "list"],
        );
        assert!(
            !bad.ok
                && bad
                    .stderr
                    .contains("SYNCKIT_SECRET_KEY is not a valid secret key")
        );
        assert!(!bad.stderr.contains("not-a-key"), "{}", bad.stderr);

        // Rotation: both backends end under the new key, the old one no longer reads.
        let rotate = synckit(
            &db,
            &[
                ("SYNCKIT_SECRET_KEY", old.as_str()),
                ("SYNCKIT_NEW_SECRET_KEY", new.as_str()),
            ],
            &["backends", "rotate-key"],
        );
        assert!(rotate.ok, "{name}: {}", printed(&rotate));
        assert!(
            rotate
                .stdout
                .contains("the secrets of 2 backends are encrypted with the new key"),
            "{name}: {}",
            rotate.stdout
        );
        assert!(!raw_secrets(&db, "plain").await.contains(TOKEN), "{name}");
        let with_new = [("SYNCKIT_SECRET_KEY", new.as_str())];
        let list = synckit(&db, &with_new, &["backends", "list"]);
        assert!(list.ok, "{name}: {}", printed(&list));
        let stale = synckit(&db, &with_old, &["backends", "list"]);
        assert!(
            !stale.ok && stale.stderr.contains("wrong key"),
            "{}",
            stale.stderr
        );

        for run in [refused, plain, list, no_key, bad, rotate, stale] {
            let all = printed(&run);
            assert!(
                !all.contains(TOKEN) && !all.contains(&old) && !all.contains(&new),
                "{name}: a secret or key was printed: {all}"
            );
        }
        db.cleanup().await;
    }
}
