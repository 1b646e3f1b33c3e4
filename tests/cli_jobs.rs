//! `synckit jobs set …` on SQLite and PostgreSQL: the priority, ETA and channel of jobs not
//! claimed, running or done change, chosen by id or by a filter.

use synckit::cli::run_args;
use synckit::queue::{Delayable, JobState, Queue};
use synckit::testing::{TestDatabase, test_databases};

/// Runs one command of the plain command line (no connector) on `db`.
async fn cli(db: &TestDatabase, args: &[&str]) -> synckit::SyncResult<String> {
    let mut all = vec!["synckit", "--database-url", db.url.as_str()];
    all.extend_from_slice(args);
    run_args(all, async |_: &mut synckit::cli::Setup<'_>| Ok(())).await
}

#[tokio::test]
async fn jobs_set_changes_priority_eta_and_channel_by_id_or_filter() {
    for db in test_databases().await.unwrap() {
        let name = db.name;
        let queue = Queue::new(db.storage.clone());
        let job = |tag: &str| Delayable::from_parts("record", serde_json::json!({ "tag": tag }));
        let a = queue.enqueue(job("a").unwrap()).await.unwrap();
        let b = queue
            .enqueue(job("b").unwrap().channel("bulk"))
            .await
            .unwrap();
        let done = queue.enqueue(job("done").unwrap()).await.unwrap();
        queue.set_done(&[done]).await.unwrap();

        let ids = [a.to_string(), done.to_string()];
        let out = cli(
            &db,
            &[
                "jobs",
                "set",
                &ids[0],
                &ids[1],
                "--priority",
                "-1",
                "--eta",
                "2030-01-01T00:00:00Z",
                "--channel",
                "urgent",
            ],
        )
        .await
        .unwrap();
        assert!(out.contains("changed 1 of 2 job(s)"), "{name}: {out}");
        let changed = queue.job(a).await.unwrap();
        assert_eq!(
            (changed.priority, changed.channel.as_str()),
            (-1, "root.urgent")
        );
        assert_eq!(
            changed.eta.map(|eta| eta.to_rfc3339()).as_deref(),
            Some("2030-01-01T00:00:00+00:00"),
            "{name}"
        );
        assert_eq!(queue.job(done).await.unwrap().state, JobState::Done);
        assert_eq!(queue.job(done).await.unwrap().channel, "root", "{name}");

        // By filter: the pending jobs of channel `bulk`.
        let out = cli(
            &db,
            &[
                "jobs",
                "set",
                "--state",
                "pending",
                "--in-channel",
                "bulk",
                "--eta",
                "now",
                "--priority",
                "3",
            ],
        )
        .await
        .unwrap();
        assert!(out.contains("changed 1 of 1 job(s)"), "{name}: {out}");
        assert_eq!(queue.job(b).await.unwrap().priority, 3, "{name}");
        assert_eq!(queue.job(a).await.unwrap().priority, -1, "{name}");

        // Bad input: errors that say what is wrong.
        let bad_eta = cli(&db, &["jobs", "set", &ids[0], "--eta", "tomorrow"]).await;
        assert!(
            bad_eta
                .as_ref()
                .is_err_and(|e| e.to_string().contains("--eta `tomorrow`")),
            "{name}: {bad_eta:?}"
        );
        let nothing = cli(&db, &["jobs", "set", &ids[0]]).await;
        assert!(
            nothing
                .as_ref()
                .is_err_and(|e| e.to_string().contains("nothing to change")),
            "{name}: {nothing:?}"
        );
        let unchosen = cli(&db, &["jobs", "set", "--priority", "1"]).await;
        assert!(
            unchosen
                .as_ref()
                .is_err_and(|e| e.to_string().contains("give job ids or a filter")),
            "{name}: {unchosen:?}"
        );
        db.cleanup().await;
    }
}
