//! The worker processes of a trial: `magento_cli worker` children that the harness SIGKILLs
//! at random moments and starts again, and the one clean worker that drains at the end.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use synckit::{SyncError, SyncResult};
use tokio::process::{Child, Command};

/// Seconds a claimed job stays leased without a heartbeat: short, so that the jobs of a
/// killed worker run again within the trial.
pub const LEASE_SECS: u64 = 3;

/// How long one drain pass may take before it counts as hanging.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(180);

/// Finds (and, under cargo, first builds) the `magento_cli` example next to this program.
///
/// # Errors
/// The build failed, or the program is not where it should be.
pub async fn worker_program(explicit: Option<PathBuf>, build: bool) -> SyncResult<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path);
    }
    let exe = std::env::current_exe()
        .map_err(|e| SyncError::Failed(format!("cannot find this program's path: {e}")))?;
    // target/<profile>/examples/crash_suite: the worker is built with the same profile.
    let examples = exe
        .parent()
        .ok_or_else(|| SyncError::Failed("this program has no parent directory".into()))?;
    let program = examples.join(format!("magento_cli{}", std::env::consts::EXE_SUFFIX));
    if build {
        let profile = examples
            .parent()
            .and_then(Path::file_name)
            .and_then(|name| name.to_str())
            .map_or("dev", |name| if name == "debug" { "dev" } else { name });
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "--example", "magento_cli", "--profile"])
            .arg(profile)
            .status()
            .await
            .map_err(|e| SyncError::Failed(format!("cannot run cargo: {e}")))?;
        if !status.success() {
            return Err(SyncError::Failed(format!(
                "building the magento_cli example failed ({status})"
            )));
        }
    }
    if !program.exists() {
        return Err(SyncError::Failed(format!(
            "{} is missing: build it with `cargo build --example magento_cli`",
            program.display()
        )));
    }
    Ok(program)
}

/// Starts `magento_cli worker` processes on one database.
pub struct WorkerLauncher {
    program: PathBuf,
    database_url: String,
    log_dir: PathBuf,
    started: u32,
}

impl WorkerLauncher {
    /// Workers of `program` on `database_url`, logging into `log_dir`.
    pub fn new(program: PathBuf, database_url: String, log_dir: PathBuf) -> Self {
        WorkerLauncher {
            program,
            database_url,
            log_dir,
            started: 0,
        }
    }

    fn command(&mut self, extra: &[&str]) -> SyncResult<Command> {
        self.started += 1;
        let log_path = self.log_dir.join(format!("worker-{}.log", self.started));
        let log = std::fs::File::create(&log_path)
            .map_err(|e| SyncError::Failed(format!("cannot create a worker log: {e}")))?;
        let mut command = Command::new(&self.program);
        command
            .args([
                "worker",
                "--concurrency",
                "4",
                "--poll-ms",
                "200",
                "--grace",
            ])
            .arg("3")
            .arg("--lease")
            .arg(LEASE_SECS.to_string())
            .args(extra)
            .env("SYNCKIT_DATABASE_URL", &self.database_url)
            .env("RUST_LOG", "warn")
            // The backend exists already: a `MAGENTO_URL` of the caller's shell must not
            // create another one.
            .env_remove("MAGENTO_URL")
            .env_remove("MAGENTO_TOKEN")
            .env_remove("MAGENTO_BACKEND")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true);
        Ok(command)
    }

    /// Starts a worker that runs until it is killed or stopped.
    pub fn spawn(&mut self) -> SyncResult<Child> {
        self.command(&[])?
            .spawn()
            .map_err(|e| SyncError::Failed(format!("cannot start a worker: {e}")))
    }

    /// Runs one clean `worker --until-idle` to its end; returns whether it ended well.
    pub async fn drain_once(&mut self) -> SyncResult<bool> {
        let mut child = self
            .command(&["--until-idle"])?
            .spawn()
            .map_err(|e| SyncError::Failed(format!("cannot start the drain worker: {e}")))?;
        match tokio::time::timeout(DRAIN_TIMEOUT, child.wait()).await {
            Ok(Ok(status)) => Ok(status.success()),
            Ok(Err(e)) => Err(SyncError::Failed(format!("waiting for the drain: {e}"))),
            Err(_) => {
                let _ = child.kill().await;
                Ok(false)
            }
        }
    }
}

/// SIGKILLs a worker and reaps it.
pub async fn kill(child: &mut Child) {
    // `kill` sends SIGKILL on Unix: the worker gets no chance to give its jobs back.
    let _ = child.kill().await;
}

/// Stops a worker gracefully (SIGTERM), killing it when it does not stop within its grace.
pub async fn stop(child: &mut Child) {
    if let Some(pid) = child.id() {
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
    }
    if tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .is_err()
    {
        kill(child).await;
    }
}
