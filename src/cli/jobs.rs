//! `synckit jobs …`: list, show, reschedule, requeue, set done, cancel and purge jobs.

use std::fmt::Write as _;

use clap::Subcommand;
use sync_core::queue::{
    ChannelConfig, Eta, JobChanges, JobFilter, JobId, JobRecord, JobState, Queue,
};
use sync_core::{SyncError, SyncResult};

/// The `jobs` subcommands.
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List jobs, newest first.
    List {
        /// Only these states (repeatable): wait_dependencies, pending, enqueued, started,
        /// done, failed, cancelled.
        #[arg(long = "state")]
        states: Vec<String>,
        /// Only this channel and its subchannels.
        #[arg(long)]
        channel: Option<String>,
        /// Only this job function.
        #[arg(long)]
        name: Option<String>,
        /// Only this graph.
        #[arg(long)]
        graph: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Skip this many.
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
    /// Count jobs per state.
    Stats,
    /// Show one job: arguments, error chain, dependencies and history.
    Show {
        /// The job id.
        id: i64,
    },
    /// Change the priority, ETA or channel of jobs not claimed, running or done, chosen by
    /// id or by a filter.
    Set {
        /// Job ids (or choose them with --state, --name, --in-channel).
        ids: Vec<i64>,
        /// Choose the jobs in these states (repeatable).
        #[arg(long = "state")]
        states: Vec<String>,
        /// Choose the jobs of this job function.
        #[arg(long)]
        name: Option<String>,
        /// Choose the jobs of this channel and its subchannels.
        #[arg(long)]
        in_channel: Option<String>,
        /// The new priority (lower runs first).
        #[arg(long, allow_negative_numbers = true)]
        priority: Option<i32>,
        /// The new earliest start: an RFC 3339 instant, seconds from now, or `now`.
        #[arg(long)]
        eta: Option<String>,
        /// The new channel.
        #[arg(long)]
        channel: Option<String>,
    },
    /// Requeue jobs (retries reset; a running try is fenced out).
    Requeue {
        /// Job ids.
        #[arg(required = true)]
        ids: Vec<i64>,
    },
    /// Set jobs done (their waiting children may start).
    Done {
        /// Job ids.
        #[arg(required = true)]
        ids: Vec<i64>,
    },
    /// Cancel jobs.
    Cancel {
        /// Job ids.
        #[arg(required = true)]
        ids: Vec<i64>,
    },
    /// Delete done and cancelled jobs older than their channel's retention, in batches.
    Purge {
        /// The channel tree with `retention=<days>` options (default 30 days).
        #[arg(long, env = "SYNCKIT_CHANNELS", default_value = "root:*")]
        channels: String,
        /// Rows deleted per transaction.
        #[arg(long, default_value_t = 1000)]
        batch: u32,
    },
}

/// Parses `--eta` (see [`Eta`]'s `FromStr`), naming the flag in the error.
fn parse_eta(raw: &str) -> SyncResult<Eta> {
    raw.parse().map_err(|e| match e {
        SyncError::Failed(message) => SyncError::Failed(format!("--{message}")),
        other => other,
    })
}

fn ids(raw: &[i64]) -> Vec<JobId> {
    raw.iter().copied().map(JobId).collect()
}

fn summary(job: &JobRecord) -> String {
    let mut line = format!(
        "{:>8}  {:<17} {:<24} {:<24} p{:<3} retry {}/{}",
        job.id,
        job.state,
        truncate(&job.name, 24),
        truncate(&job.channel, 24),
        job.priority,
        job.retry,
        job.max_retries
    );
    if let Some(eta) = job.eta {
        let _ = write!(line, "  eta {}", eta.format("%Y-%m-%d %H:%M:%S"));
    }
    if let Some(message) = job.exc_message.as_deref().or(job.result.as_deref()) {
        let _ = write!(line, "  {}", truncate(message, 60));
    }
    line
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let cut: String = s.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// Runs a `jobs` subcommand and returns what to print.
pub async fn run(queue: &Queue, command: JobsCommand) -> SyncResult<String> {
    let mut out = String::new();
    match command {
        JobsCommand::List {
            states,
            channel,
            name,
            graph,
            limit,
            offset,
        } => {
            let filter = JobFilter {
                states: states
                    .iter()
                    .map(|s| s.parse::<JobState>())
                    .collect::<SyncResult<_>>()?,
                channel,
                name,
                graph_id: graph,
                limit,
                offset,
            };
            let jobs = queue.list_jobs(&filter).await?;
            if jobs.is_empty() {
                out.push_str("no jobs\n");
            }
            for job in jobs {
                let _ = writeln!(out, "{}", summary(&job));
            }
        }
        JobsCommand::Stats => {
            for (state, n) in queue.count_by_state().await? {
                let _ = writeln!(out, "{state:<17} {n}");
            }
        }
        JobsCommand::Show { id } => {
            let id = JobId(id);
            let job = queue.job(id).await?;
            let _ = writeln!(out, "job {}: {}", job.id, job.name);
            if let Some(d) = &job.description {
                let _ = writeln!(out, "description: {d}");
            }
            let _ = writeln!(out, "state:       {}", job.state);
            let _ = writeln!(out, "channel:     {}", job.channel);
            let _ = writeln!(out, "priority:    {}", job.priority);
            let _ = writeln!(
                out,
                "retries:     {} of {} (0 = forever)",
                job.retry, job.max_retries
            );
            let _ = writeln!(out, "attempt:     {}", job.attempt);
            let _ = writeln!(out, "arguments:   {}", job.args);
            for (label, value) in [
                ("identity:", job.identity_key.clone()),
                ("graph:", job.graph_id.clone()),
                ("worker:", job.worker_id.clone()),
                ("result:", job.result.clone()),
                ("error:", job.exc_message.clone()),
            ] {
                if let Some(value) = value {
                    let _ = writeln!(out, "{label:<12} {value}");
                }
            }
            for (label, at) in [
                ("created:", Some(job.date_created)),
                ("eta:", job.eta),
                ("enqueued:", job.date_enqueued),
                ("started:", job.date_started),
                ("done:", job.date_done),
                ("failed:", job.date_failed),
                ("cancelled:", job.date_cancelled),
                ("lease until:", job.lease_expires_at),
            ] {
                if let Some(at) = at {
                    let _ = writeln!(out, "{label:<12} {}", at.to_rfc3339());
                }
            }
            if let Some(exec) = job.exec_time {
                let _ = writeln!(out, "exec time:   {exec:?}");
            }
            if let Some(info) = &job.exc_info {
                let _ = writeln!(out, "error chain:\n  {}", info.replace('\n', "\n  "));
            }
            let (parents, children) = queue.job_dependencies(id).await?;
            if !parents.is_empty() {
                let _ = writeln!(out, "waits for:   {parents:?}");
            }
            if !children.is_empty() {
                let _ = writeln!(out, "then:        {children:?}");
            }
            let history = queue.job_history(id).await?;
            if !history.is_empty() {
                let _ = writeln!(out, "history:");
            }
            for h in history {
                let _ = writeln!(
                    out,
                    "  {}  {:<17} attempt {}  {}{}",
                    h.at.to_rfc3339(),
                    h.state,
                    h.attempt,
                    h.message.unwrap_or_default(),
                    h.worker_id.map(|w| format!(" ({w})")).unwrap_or_default()
                );
            }
        }
        JobsCommand::Set {
            ids: raw,
            states,
            name,
            in_channel,
            priority,
            eta,
            channel,
        } => {
            let mut changes = JobChanges {
                priority,
                eta: eta.as_deref().map(parse_eta).transpose()?,
                channel: None,
            };
            if let Some(channel) = &channel {
                changes = changes.channel(channel);
            }
            let chosen = if raw.is_empty() {
                if states.is_empty() && name.is_none() && in_channel.is_none() {
                    return Err(SyncError::Failed(
                        "jobs set: give job ids or a filter (--state, --name, --in-channel)".into(),
                    ));
                }
                let filter = JobFilter {
                    states: states
                        .iter()
                        .map(|s| s.parse::<JobState>())
                        .collect::<SyncResult<_>>()?,
                    channel: in_channel,
                    name,
                    graph_id: None,
                    limit: u32::MAX,
                    offset: 0,
                };
                queue
                    .list_jobs(&filter)
                    .await?
                    .into_iter()
                    .map(|job| job.id)
                    .collect()
            } else {
                if !states.is_empty() || name.is_some() || in_channel.is_some() {
                    return Err(SyncError::Failed(
                        "jobs set: give job ids or a filter, not both".into(),
                    ));
                }
                ids(&raw)
            };
            let n = queue.set_job_options(&chosen, &changes).await?;
            let _ = writeln!(
                out,
                "changed {n} of {} job(s) (claimed, running and done jobs are left alone)",
                chosen.len()
            );
        }
        JobsCommand::Requeue { ids: raw } => {
            let n = queue.requeue(&ids(&raw)).await?;
            let _ = writeln!(out, "requeued {n} job(s)");
        }
        JobsCommand::Done { ids: raw } => {
            let n = queue.set_done(&ids(&raw)).await?;
            let _ = writeln!(out, "set {n} job(s) done");
        }
        JobsCommand::Cancel { ids: raw } => {
            let n = queue.cancel(&ids(&raw)).await?;
            let _ = writeln!(out, "cancelled {n} job(s)");
        }
        JobsCommand::Purge { channels, batch } => {
            let channels: ChannelConfig = channels.parse()?;
            let n = queue.purge(&channels, batch).await?;
            let _ = writeln!(out, "purged {n} job(s)");
        }
    }
    Ok(out)
}
