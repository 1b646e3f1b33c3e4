//! The `synckit` binary on a database it cannot open: it fails at once, with a non-zero exit
//! and the cause on stderr, once.

use std::process::Command;
use std::time::{Duration, Instant};

/// Runs the binary with `args`; returns its exit success, stderr and how long it took.
fn synckit(args: &[&str]) -> (bool, String, Duration) {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_synckit"))
        .args(args)
        .env_remove("SYNCKIT_DATABASE_URL")
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        started.elapsed(),
    )
}

#[test]
fn a_corrupt_database_file_fails_at_once_with_its_cause() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    std::fs::write(&path, vec![0x5a_u8; 4096]).unwrap();
    let url = format!("sqlite://{}", path.display());
    let (ok, stderr, took) = synckit(&["--database-url", &url, "backends", "list"]);
    assert!(!ok, "{stderr}");
    let message = format!(
        "cannot open the SQLite database {}: file is not a database",
        path.display()
    );
    assert_eq!(stderr.matches(&message).count(), 1, "{stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "nothing else is printed: {stderr}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn an_unreachable_server_fails_at_once_naming_host_and_port() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://synckit:hunter2@127.0.0.1:{port}/shop");
    let (ok, stderr, took) = synckit(&["--database-url", &url, "jobs", "list"]);
    assert!(!ok, "{stderr}");
    let message = format!(
        "cannot connect to PostgreSQL at 127.0.0.1:{port} (database shop): connection refused"
    );
    assert_eq!(stderr.matches(&message).count(), 1, "{stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "nothing else is printed: {stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}
