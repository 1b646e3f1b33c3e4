//! The item step: read → process → write in chunks, with Oro's skip rules.
//!
//! - the reader returns items until `None`; a record-level error from it is a warning;
//! - the processor's `None` filters the item (skipped, no warning); a record-level error
//!   skips the item with a warning naming it and the reason;
//! - processed items are written `batch_size` at a time, each chunk in its own transaction;
//!   a record-level error from the writer rolls the chunk back and skips it with one
//!   warning listing its items;
//! - any other error fails the step (chunks already committed stay, as in Oro's
//!   integration executor).
//!
//! The items of an **export** step settle one by one instead (see the `settlement` module):
//! an item whose processor or chunk succeeded, or had nothing to do, is synced; any error a
//! retry does not fix refuses that item alone (a warning, and the step ends failed listing
//! the refused items once the others went through, so a failed export is never a silent
//! success); a retryable error stops the step at that item, leaving it and the items not
//! read yet for a retry; a storage error fails the step.
//!
//! After every chunk the step execution is saved with its counters and new warnings, and a
//! stop request (the job execution set to `stopping`) is honoured.

use chrono::Utc;
use serde_json::Value;

use super::components::{ItemProcessor, ItemReader, ItemStream, ItemWriter};
use super::context::{StepContext, StepScope};
use super::definition::StepDefinition;
use super::execution::{Counters, StepExecution};
use super::execution_status::{BatchStatus, ExitStatus};
use super::settlement::{ItemFailure, ItemSettlements, RetryLater};
use crate::error::{SyncError, SyncResult};
use crate::ids::LocalId;
use crate::values::Values;

/// What a step run leaves for the job: its execution and the data its components shared.
pub(crate) struct StepOutcome {
    pub execution: StepExecution,
    pub job_data: Values,
    pub status_data: Values,
}

/// Why the loop ended early.
enum Interrupt {
    Failed(SyncError),
    Stopped,
    /// An export step met a retryable error: the items not settled are left for a retry.
    RetryLater(SyncError),
}

/// The step's inputs from its job.
pub(crate) struct StepInput<'a> {
    pub scope: &'a StepScope,
    pub definition: &'a StepDefinition,
    pub job_execution_id: i64,
    pub position: i64,
    /// Whether items settle one by one (an export step).
    pub settles_items: bool,
    pub run_parameters: &'a Values,
    pub job_data: Values,
    pub status_data: Values,
    pub previous_status_data: &'a Values,
}

/// Runs one item step and persists its execution. Errors are only storage errors of the
/// bookkeeping itself; component errors end in a failed execution.
pub(crate) async fn run_step(input: StepInput<'_>) -> SyncResult<StepOutcome> {
    let storage = input.scope.work.storage().clone();
    let executions = storage.batch_executions();
    let mut execution = executions
        .create_step(
            input.job_execution_id,
            input.position,
            &input.definition.name,
        )
        .await?;
    execution.status = BatchStatus::Started;
    execution.started_at = Some(Utc::now());
    executions.update_step(&execution).await?;

    // Run parameters override the step's own, as Oro's job configuration does.
    let mut parameters = input.definition.parameters.clone();
    for (name, value) in input.run_parameters {
        parameters.insert(name.clone(), value.clone());
    }
    let mut ctx = StepContext::new(
        input.scope,
        input.job_execution_id,
        &input.definition.name,
        parameters,
    );
    ctx.job_data = input.job_data;
    ctx.status_data = input.status_data;
    ctx.previous_status_data = input.previous_status_data.clone();

    let mut settling = input.settles_items.then(|| Settling {
        log: input.scope.settlements.clone(),
        refused: Vec::new(),
    });
    let result = item_loop(
        &mut ctx,
        input.definition,
        &mut execution,
        settling.as_mut(),
    )
    .await;
    execution.counters = ctx.counters;
    let refused = settling.map(|s| s.refused).unwrap_or_default();
    match result {
        Ok(()) if !refused.is_empty() => {
            let n = refused.len();
            tracing::warn!(
                job = %ctx.job_name(),
                step = %ctx.step_name(),
                refused = n,
                "export items refused"
            );
            execution.status = BatchStatus::Failed;
            execution.exit_status = ExitStatus::new(ExitStatus::FAILED)
                .with_description(format!("{n} item(s) could not be exported"));
            execution.failures.extend(refused);
        }
        Ok(()) => {
            execution.status = execution.status.upgrade_to(BatchStatus::Completed);
            execution.exit_status = execution
                .exit_status
                .and(&ExitStatus::new(ExitStatus::COMPLETED));
        }
        Err(Interrupt::Stopped) => {
            execution.status = BatchStatus::Stopped;
            execution.exit_status =
                ExitStatus::new(ExitStatus::STOPPED).with_description("stopped on request");
            execution.failures.extend(refused);
        }
        Err(Interrupt::RetryLater(error)) => {
            let message = format!("stopped for a retry: {error}");
            tracing::warn!(
                job = %ctx.job_name(),
                step = %ctx.step_name(),
                error = %message,
                "batch step interrupted"
            );
            if let Some(log) = &input.scope.settlements {
                log.retry_later(RetryLater::of(&error));
            }
            execution.status = BatchStatus::Failed;
            execution.exit_status =
                ExitStatus::new(ExitStatus::FAILED).with_description(message.clone());
            execution.failures.extend(refused);
            execution.failures.push(message);
        }
        Err(Interrupt::Failed(error)) => {
            let message = error.to_string();
            tracing::warn!(
                job = %ctx.job_name(),
                step = %ctx.step_name(),
                error = %message,
                "batch step failed"
            );
            execution.status = BatchStatus::Failed;
            execution.exit_status =
                ExitStatus::new(ExitStatus::FAILED).with_description(message.clone());
            // The entities not settled yet are retried under the job's retry pattern.
            if let Some(log) = &input.scope.settlements {
                log.retry_later(RetryLater::of(&error));
            }
            // Items refused before the failure stay listed: none is a silent success.
            execution.failures.extend(refused);
            execution.failures.push(message);
        }
    }
    execution.ended_at = Some(Utc::now());
    executions
        .add_warnings(execution.id, &std::mem::take(&mut ctx.warnings))
        .await?;
    executions.update_step(&execution).await?;
    Ok(StepOutcome {
        execution,
        job_data: std::mem::take(&mut ctx.job_data),
        status_data: std::mem::take(&mut ctx.status_data),
    })
}

/// What an export step keeps while its items settle.
struct Settling {
    log: Option<std::sync::Arc<dyn ItemSettlements>>,
    /// One line per refused item: the item and the error.
    refused: Vec<String>,
}

impl Settling {
    async fn synced(&self, entity: Option<LocalId>) -> Result<(), Interrupt> {
        match (&self.log, entity) {
            (Some(log), Some(entity)) => log.synced(entity).await.map_err(Interrupt::Failed),
            _ => Ok(()),
        }
    }

    async fn refuse(
        &mut self,
        ctx: &mut StepContext,
        entity: Option<LocalId>,
        item: Value,
        error: &SyncError,
    ) -> Result<(), Interrupt> {
        skip_invalid(ctx, item, error);
        let line = match entity {
            Some(entity) => format!("{} {entity}: {error}", ctx.local_model()),
            None => error.to_string(),
        };
        if let (Some(log), Some(entity)) = (&self.log, entity) {
            log.refused(entity, &line)
                .await
                .map_err(Interrupt::Failed)?;
        }
        self.refused.push(line);
        Ok(())
    }
}

/// The entity an export item is about: its `id` (items of `entity_by_id`).
fn entity_of(item: &Value) -> Option<LocalId> {
    item.get("id").and_then(Value::as_i64).map(LocalId)
}

async fn item_loop(
    ctx: &mut StepContext,
    definition: &StepDefinition,
    execution: &mut StepExecution,
    mut settling: Option<&mut Settling>,
) -> Result<(), Interrupt> {
    let work = ctx.work().clone();
    let reader = work
        .component::<dyn ItemReader>(&definition.reader)
        .map_err(Interrupt::Failed)?;
    let processor = work
        .component::<dyn ItemProcessor>(&definition.processor)
        .map_err(Interrupt::Failed)?;
    let writer = work
        .component::<dyn ItemWriter>(&definition.writer)
        .map_err(Interrupt::Failed)?;
    let mut stream: Box<dyn ItemStream> = reader.open(ctx).await.map_err(Interrupt::Failed)?;
    let batch_size = definition.batch_size.max(1);
    let mut chunk = Chunk::with_capacity(batch_size.min(1024));
    loop {
        let item = match stream.next(ctx).await {
            Ok(Some(item)) => item,
            Ok(None) => break,
            Err(error) if error.is_record_level() => {
                // The reader could not produce the item: the warning names the record.
                ctx.counters.read += 1;
                let item = error.record().map_or(Value::Null, Value::from);
                skip_invalid(ctx, item, &error);
                continue;
            }
            Err(error) => return Err(Interrupt::Failed(error)),
        };
        ctx.counters.read += 1;
        let original = item.clone();
        let entity = entity_of(&original);
        match (processor.process(ctx, item).await, settling.as_deref_mut()) {
            (Ok(Some(processed)), _) => chunk.push(processed, original),
            (Ok(None), settling) => {
                ctx.counters.skipped += 1;
                if let Some(settling) = settling {
                    settling.synced(entity).await?;
                }
            }
            (Err(error), None) if error.is_record_level() => skip_invalid(ctx, original, &error),
            (Err(error), None) => return Err(Interrupt::Failed(error)),
            (Err(error), Some(settling)) => match ItemFailure::of(&error) {
                ItemFailure::NothingToDo => {
                    ctx.counters.skipped += 1;
                    settling.synced(entity).await?;
                }
                ItemFailure::Refused => settling.refuse(ctx, entity, original, &error).await?,
                ItemFailure::RetryLater => {
                    // What was processed before goes through first; this item and the
                    // ones not read yet wait for the retry.
                    if !chunk.is_empty() {
                        let items = std::mem::take(&mut chunk);
                        write_chunk(ctx, writer.as_ref(), items, Some(settling)).await?;
                    }
                    return Err(Interrupt::RetryLater(error));
                }
                ItemFailure::FailsTheStep => return Err(Interrupt::Failed(error)),
            },
        }
        if chunk.len() >= batch_size {
            let items = std::mem::take(&mut chunk);
            write_chunk(ctx, writer.as_ref(), items, settling.as_deref_mut()).await?;
            checkpoint(ctx, execution).await?;
        }
    }
    if !chunk.is_empty() {
        write_chunk(ctx, writer.as_ref(), chunk, settling).await?;
    }
    Ok(())
}

/// The processed items waiting for the writer, with the items they were read as.
#[derive(Default)]
struct Chunk {
    processed: Vec<Value>,
    read: Vec<Value>,
}

impl Chunk {
    fn with_capacity(n: usize) -> Self {
        Chunk {
            processed: Vec::with_capacity(n),
            read: Vec::with_capacity(n),
        }
    }

    fn push(&mut self, processed: Value, read: Value) {
        self.processed.push(processed);
        self.read.push(read);
    }

    fn len(&self) -> usize {
        self.processed.len()
    }

    fn is_empty(&self) -> bool {
        self.processed.is_empty()
    }
}

fn skip_invalid(ctx: &mut StepContext, item: Value, error: &SyncError) {
    ctx.counters.skipped += 1;
    ctx.counters.errors += 1;
    ctx.warn(item, error.to_string());
}

async fn write_chunk(
    ctx: &mut StepContext,
    writer: &dyn ItemWriter,
    chunk: Chunk,
    settling: Option<&mut Settling>,
) -> Result<(), Interrupt> {
    let Chunk { processed, read } = chunk;
    // Counts the writer made in a chunk that rolls back must go with it.
    let before: Counters = ctx.counters;
    let mut tx = ctx.storage().begin().await.map_err(Interrupt::Failed)?;
    match writer.write(ctx, &mut tx, &processed).await {
        Ok(()) => {
            tx.commit()
                .await
                .map_err(|e| Interrupt::Failed(SyncError::from(e)))?;
            ctx.counters.processed += processed.len() as u64;
            if let Some(settling) = settling {
                for item in &read {
                    settling.synced(entity_of(item)).await?;
                }
            }
            Ok(())
        }
        Err(error) => {
            // A rollback that fails leaves nothing committed either: the connection is
            // discarded with the transaction.
            let _ = tx.rollback().await;
            match settling {
                None if error.is_record_level() => {}
                None => return Err(Interrupt::Failed(error)),
                Some(settling) => match ItemFailure::of(&error) {
                    ItemFailure::RetryLater => {
                        ctx.counters = before;
                        return Err(Interrupt::RetryLater(error));
                    }
                    ItemFailure::FailsTheStep => return Err(Interrupt::Failed(error)),
                    ItemFailure::NothingToDo => {
                        ctx.counters = before;
                        ctx.counters.skipped += read.len() as u64;
                        for item in &read {
                            settling.synced(entity_of(item)).await?;
                        }
                        return Ok(());
                    }
                    ItemFailure::Refused => {
                        ctx.counters = before;
                        for item in read {
                            let entity = entity_of(&item);
                            settling.refuse(ctx, entity, item, &error).await?;
                        }
                        return Ok(());
                    }
                },
            }
            ctx.counters = before;
            let n = processed.len() as u64;
            ctx.counters.skipped += n;
            ctx.counters.errors += n;
            ctx.warn(
                Value::Array(processed),
                format!("the chunk of {n} item(s) was not written: {error}"),
            );
            Ok(())
        }
    }
}

/// Saves progress and warnings, and tells whether the job was asked to stop.
async fn checkpoint(ctx: &mut StepContext, execution: &mut StepExecution) -> Result<(), Interrupt> {
    let storage = ctx.storage().clone();
    let executions = storage.batch_executions();
    execution.counters = ctx.counters;
    let warnings = std::mem::take(&mut ctx.warnings);
    let saved = async {
        executions.add_warnings(execution.id, &warnings).await?;
        executions.update_step(execution).await?;
        executions
            .is_stop_requested(execution.job_execution_id)
            .await
    };
    match saved.await {
        Ok(true) => Err(Interrupt::Stopped),
        Ok(false) => Ok(()),
        Err(error) => Err(Interrupt::Failed(error)),
    }
}
