//! One trial: a simulator with faults on, a fresh database, imports and exports run by worker
//! processes that are SIGKILLed at random moments, one clean drain, then the checks.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use magento_sim::data::rng::Rng;
use magento_sim::{ApiVersion, Faults, Simulator};
use serde_json::{Value, json};
use synckit::backend::{Backend, NewBackend, Secrets};
use synckit::batch::{NewIntegration, SyncPriority, schedule_forward_sync};
use synckit::prelude::*;
use synckit::queue::JobFunction;
use synckit::sync::{ImportBatchArgs, ImportBatchJob, ImportMode, repository_for};
use tokio::process::Child;

use crate::backoffice;
use crate::database::{DatabaseKind, TrialDatabase, restart_postgres};
use crate::findings::Findings;
use crate::verify::{Changes, Coverage, verify};
use crate::workers::{LEASE_SECS, WorkerLauncher, kill, stop};

/// The simulator's integration token: a fixed value of this in-process shop, never printed.
const TOKEN: &str = "crash-suite-token";
/// How long the drain may take before the jobs still open count as stuck: longer than any
/// lease a killed worker can leave behind when leases are kept short and renewed.
const DRAIN_BUDGET: Duration = Duration::from_secs(90);

/// What one trial does.
#[derive(Debug, Clone)]
pub struct TrialPlan {
    /// The trial's number, from 1.
    pub number: u32,
    /// The database.
    pub kind: DatabaseKind,
    /// Seed of the simulator's data, the faults and the kill schedule.
    pub seed: u64,
    /// Workers SIGKILLed in this trial.
    pub kills: u32,
    /// Worker processes running at once.
    pub workers: u32,
    /// Magento customers, products and orders.
    pub size: (u32, u32, u32),
    /// What happens to PostgreSQL in the middle of the kills.
    pub postgres_fault: PostgresFault,
}

/// What a trial does to PostgreSQL once, in the middle of its kills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostgresFault {
    /// Nothing.
    None,
    /// End this trial's connections (what a restart does to them; nobody else's).
    TerminateConnections,
    /// Restart the whole cluster.
    Restart,
}

/// What one trial found.
#[derive(Debug, Default)]
pub struct TrialOutcome {
    /// Workers SIGKILLed.
    pub kills: u32,
    /// The defects found.
    pub findings: Findings,
    /// What the checks covered.
    pub coverage: Coverage,
    /// Requests the simulator received, and the faults it injected into them.
    pub requests: (u64, u64),
    /// Facts worth reporting that are no defect by themselves (a worker that stopped on its
    /// own, the drain passes, the PostgreSQL restart).
    pub notes: Vec<String>,
}

/// The faults of every trial: errors, rate limits, latency, dropped connections and answers
/// lost after the write, on every route.
fn faults() -> Faults {
    Faults {
        latency_ms: 1,
        latency_jitter_ms: 4,
        error_500_rate: 0.02,
        error_503_rate: 0.03,
        rate_limit_rate: 0.03,
        retry_after_secs: 1,
        drop_rate: 0.02,
        lost_answer_rate: 0.03,
        ..Faults::none()
    }
}

fn object(value: Value) -> Values {
    match value {
        Value::Object(map) => map,
        _ => Values::new(),
    }
}

/// The shop, the database and the app the harness writes with.
struct Stage {
    sim: Simulator,
    db: TrialDatabase,
    app: App,
    backend: Backend,
}

async fn stage(plan: &TrialPlan) -> SyncResult<Stage> {
    let (customers, products, orders) = plan.size;
    let sim = Simulator::builder()
        .seed(plan.seed)
        .customers(customers)
        .products(products)
        .orders(orders)
        .version(ApiVersion::V2_4)
        .token(TOKEN)
        .faults(faults())
        .start()
        .await
        .map_err(|e| SyncError::Failed(format!("the simulator did not start: {e}")))?;
    let db = TrialDatabase::create(plan.kind).await?;
    let backend = db
        .storage
        .backends()
        .create(
            NewBackend::new("magento", "magento")
                .version("2.4")
                .settings(json!({ "base_url": sim.base_url(), "timeout_secs": 5 }))
                .secrets(Secrets::new().with("token", TOKEN)),
        )
        .await?;
    // The Oro-style integration on the same backend: its forward sync imports customers
    // next to the per-record jobs, and a local customer change also requests its reverse
    // sync.
    let integration = db
        .storage
        .integrations()
        .create(NewIntegration::new(backend.id, "shop", ["customer"]).two_way(SyncPriority::Remote))
        .await?;
    let mut registry = ComponentRegistry::new();
    synckit_magento::register(&mut registry);
    synckit_magento::register_integration(&mut registry)?;
    backoffice::install(&db.storage, &mut registry).await?;
    let app = App::new(registry, db.storage.clone()).await?;

    // Every model's import, handed to the workers as one job per record.
    for (model, _) in synckit_magento::models::batch_imports() {
        app.queue().enqueue(import_job(&backend, model)?).await?;
    }
    schedule_forward_sync(app.queue(), integration.id, None, false).await?;
    // The periodic imports of what the shop admin changes: each drain pass enqueues them.
    for model in ["magento.customer", "magento.product"] {
        db.storage
            .import_cursors()
            .schedule(backend.id, model, Duration::from_secs(1))
            .await?;
    }
    Ok(Stage {
        sim,
        db,
        app,
        backend,
    })
}

fn import_job(backend: &Backend, model: &str) -> SyncResult<synckit::queue::Delayable> {
    Ok(ImportBatchJob::with_args(ImportBatchArgs {
        backend_id: backend.id,
        model: model.to_owned(),
        mode: ImportMode::Jobs,
        full: false,
    })?
    .identity_key(ImportBatchJob::identity_key(backend.id, model)))
}

/// Customers created in the back office: each emits its export job (and a reverse-sync
/// request) in the creating transaction.
async fn create_customers(
    stage: &Stage,
    trial: u32,
    count: u32,
    changes: &mut Changes,
) -> SyncResult<()> {
    let ctx = stage.app.context(stage.backend.clone(), "customer");
    let customers = repository_for(&ctx, "customer")?;
    for i in 0..count {
        let email = format!("crash-{trial}-{i}@example.com");
        let values = object(json!({
            "email": email,
            "firstname": format!("New{i}"),
            "lastname": format!("Created{trial}x{i}"),
        }));
        let mut tx = stage.db.storage.begin().await?;
        let id = stage
            .app
            .session(&mut tx, Origin::Local)
            .create(&*customers, &values)
            .await?;
        tx.commit().await?;
        changes.created_customers.push((id, email));
    }
    stage.app.queue().wake();
    Ok(())
}

/// The shop admin renames customers that exist from the start.
fn edit_remotely(stage: &Stage, rng: &mut Rng, trial: u32, count: u32, changes: &mut Changes) {
    let state = stage.sim.state();
    let total = state.config().customers;
    for _ in 0..count {
        let id = 1 + rng.below(u64::from(total)) as u32;
        if changes.remote_edits.iter().any(|(done, _)| *done == id) {
            continue;
        }
        let firstname = format!("Remote{trial}x{id}");
        let name = firstname.clone();
        if state.edit_customer(id, move |c| c.firstname = name) {
            changes.remote_edits.push((id, firstname));
        }
    }
}

impl Stage {
    /// Bound customers as (local id, Magento id), waiting up to `wait` for at least `want`.
    async fn bound_customers(&self, want: usize, wait: Duration) -> SyncResult<Vec<(i64, u32)>> {
        let deadline = Instant::now() + wait;
        loop {
            let rows: Vec<(i64, String)> = sqlx::query_as(
                "SELECT local_id, external_id FROM sync_bindings \
                 WHERE backend_id = $1 AND model = 'magento.customer' AND external_id IS NOT NULL \
                 ORDER BY local_id",
            )
            .bind(self.backend.id.0)
            .fetch_all(self.db.storage.pool())
            .await?;
            let bound: Vec<(i64, u32)> = rows
                .into_iter()
                .filter_map(|(local, external)| external.parse().ok().map(|e| (local, e)))
                .collect();
            if bound.len() >= want || Instant::now() > deadline {
                return Ok(bound);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// The back office renames customers already bound (neither created here nor renamed by
/// the shop admin, so no conflict is expected), and invoices open orders.
async fn edit_locally(
    stage: &Stage,
    rng: &mut Rng,
    trial: u32,
    count: u32,
    changes: &mut Changes,
) -> SyncResult<()> {
    let bound = stage
        .bound_customers(count as usize * 3, Duration::from_secs(20))
        .await?;
    let candidates: Vec<i64> = bound
        .into_iter()
        .filter(|(local, remote)| {
            !changes.remote_edits.iter().any(|(r, _)| r == remote)
                && !changes.created_customers.iter().any(|(l, _)| l.0 == *local)
        })
        .map(|(local, _)| local)
        .collect();
    let ctx = stage.app.context(stage.backend.clone(), "customer");
    let customers = repository_for(&ctx, "customer")?;
    let mut picked: Vec<i64> = Vec::new();
    for _ in 0..count {
        if candidates.is_empty() {
            break;
        }
        let local = *rng.pick(&candidates);
        if !picked.contains(&local) {
            picked.push(local);
        }
    }
    for local in picked {
        let lastname = format!("Local{trial}x{local}");
        let mut tx = stage.db.storage.begin().await?;
        stage
            .app
            .session(&mut tx, Origin::Local)
            .write(
                &*customers,
                LocalId(local),
                &object(json!({ "lastname": lastname })),
            )
            .await?;
        tx.commit().await?;
        changes.local_edits.push((LocalId(local), lastname));
    }

    // Orders Magento can still invoice.
    let open: Vec<(i64, String)> = sqlx::query_as(
        "SELECT o.id, b.external_id FROM sale_orders o \
         JOIN sync_bindings b ON b.local_id = o.id AND b.model = 'magento.sale.order' AND b.backend_id = $1 \
         WHERE o.status = 'pending' AND o.payment_method = 'checkmo' AND b.external_id IS NOT NULL \
         ORDER BY o.id LIMIT $2",
    )
    .bind(stage.backend.id.0)
    .bind(i64::from(count))
    .fetch_all(stage.db.storage.pool())
    .await?;
    let ctx = stage.app.context(stage.backend.clone(), "account.invoice");
    let invoices = repository_for(&ctx, "account.invoice")?;
    for (order, external) in open {
        let Ok(remote) = external.parse::<u32>() else {
            continue;
        };
        let before = stage.sim.state().invoices_for_order(remote).len();
        let mut tx = stage.db.storage.begin().await?;
        stage
            .app
            .session(&mut tx, Origin::Local)
            .create(
                &*invoices,
                &object(json!({ "order_id": order, "capture": false })),
            )
            .await?;
        tx.commit().await?;
        changes.invoices.push((LocalId(order), remote, before));
    }
    stage.app.queue().wake();
    Ok(())
}

/// Restarts a worker that stopped by itself (a defect in itself: noted).
fn reap_exited(
    workers: &mut [Child],
    launcher: &mut WorkerLauncher,
    notes: &mut Vec<String>,
) -> SyncResult<()> {
    for worker in workers.iter_mut() {
        if let Ok(Some(status)) = worker.try_wait() {
            notes.push(format!(
                "a worker stopped by itself ({status}); started again"
            ));
            *worker = launcher.spawn()?;
        }
    }
    Ok(())
}

/// Gives the remaining jobs to clean drain workers, one pass after the other, until none is
/// open or [`DRAIN_BUDGET`] is spent. A retry waiting for its delay is made due at once:
/// waiting is what the queue would do, only slower (a network error waits ten minutes).
async fn drain(
    stage: &Stage,
    launcher: &mut WorkerLauncher,
    notes: &mut Vec<String>,
) -> SyncResult<()> {
    let pool = stage.db.storage.pool();
    let started = Instant::now();
    let mut passes = 0;
    loop {
        passes += 1;
        sqlx::query("UPDATE queue_jobs SET eta = NULL WHERE state = 'pending' AND eta IS NOT NULL")
            .execute(pool)
            .await?;
        if !launcher.drain_once().await? {
            notes.push(format!(
                "drain pass {passes}: the worker did not end cleanly"
            ));
        }
        let (open,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM queue_jobs WHERE state NOT IN ('done', 'cancelled', 'failed')",
        )
        .fetch_one(pool)
        .await?;
        if open == 0 {
            if passes > 1 {
                notes.push(format!(
                    "the drain took {passes} passes ({:.0} s)",
                    started.elapsed().as_secs_f64()
                ));
            }
            return Ok(());
        }
        if started.elapsed() > DRAIN_BUDGET {
            notes.push(format!(
                "{open} jobs still open after {passes} drain passes ({:.0} s)",
                started.elapsed().as_secs_f64()
            ));
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Runs one trial with the worker program `program`; the simulator and the database are
/// removed whatever happens.
pub async fn run_trial(plan: &TrialPlan, program: PathBuf) -> SyncResult<TrialOutcome> {
    let stage = stage(plan).await?;
    let result = exercise(plan, &stage, program).await;
    let Stage { sim, db, .. } = stage;
    sim.shutdown().await;
    db.drop_all().await;
    result
}

async fn exercise(plan: &TrialPlan, stage: &Stage, program: PathBuf) -> SyncResult<TrialOutcome> {
    let mut rng = Rng::new(plan.seed, u64::from(plan.number));
    let mut outcome = TrialOutcome::default();
    let mut changes = Changes::default();
    let customers = plan.size.0;
    let per_change = (customers / 8).max(2);
    create_customers(stage, plan.number, per_change, &mut changes).await?;

    let mut launcher = WorkerLauncher::new(
        program,
        stage.db.url.clone(),
        stage.db.dir.path().to_path_buf(),
    );
    // Dropping a worker kills it: an error below leaves no process behind.
    let mut workers: Vec<Child> = Vec::new();
    for _ in 0..plan.workers.max(1) {
        workers.push(launcher.spawn()?);
    }

    let remote_at = plan.kills / 3;
    let local_at = (2 * plan.kills) / 3;
    let restart_at = plan.kills / 2;
    for k in 0..plan.kills {
        tokio::time::sleep(Duration::from_millis(rng.range(300, 1500) as u64)).await;
        if k == remote_at {
            edit_remotely(stage, &mut rng, plan.number, per_change, &mut changes);
            // Magento stamps changes to the second; an import window ends before the current
            // second, so the import that must see them starts after it.
            tokio::time::sleep(Duration::from_millis(1100)).await;
            stage
                .app
                .queue()
                .enqueue(import_job(&stage.backend, "magento.customer")?)
                .await?;
        }
        if k == local_at {
            edit_locally(stage, &mut rng, plan.number, per_change, &mut changes).await?;
        }
        if k == restart_at {
            match plan.postgres_fault {
                PostgresFault::None => {}
                PostgresFault::TerminateConnections => {
                    let ended = stage.db.terminate_connections().await?;
                    outcome.notes.push(format!(
                        "{ended} PostgreSQL connections of the trial terminated before kill {}",
                        k + 1
                    ));
                }
                PostgresFault::Restart => {
                    let took = restart_postgres().await?;
                    outcome.notes.push(format!(
                        "PostgreSQL restarted before kill {} (answering again after {:.1} s)",
                        k + 1,
                        took.as_secs_f64()
                    ));
                }
            }
        }
        reap_exited(&mut workers, &mut launcher, &mut outcome.notes)?;
        let victim = rng.below(workers.len() as u64) as usize;
        kill(&mut workers[victim]).await;
        outcome.kills += 1;
        workers[victim] = launcher.spawn()?;
    }
    // Let the workers finish what the last kill handed back, then stop them gracefully.
    tokio::time::sleep(Duration::from_millis(rng.range(500, 1500) as u64)).await;
    reap_exited(&mut workers, &mut launcher, &mut outcome.notes)?;
    for worker in &mut workers {
        stop(worker).await;
    }
    // The leases of the last killed worker's jobs run out, so the drain rescues them.
    tokio::time::sleep(Duration::from_secs(LEASE_SECS + 1)).await;
    drain(stage, &mut launcher, &mut outcome.notes).await?;

    (outcome.findings, outcome.coverage) = verify(
        &stage.db.storage,
        stage.backend.id,
        stage.sim.state(),
        &changes,
    )
    .await?;
    let stats = stage.sim.state().request_stats();
    outcome.requests = (stats.total, stats.faults.values().sum());
    Ok(outcome)
}
