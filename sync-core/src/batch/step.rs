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
//! After every chunk the step execution is saved with its counters and new warnings, and a
//! stop request (the job execution set to `stopping`) is honoured.

use chrono::Utc;
use serde_json::Value;

use super::components::{ItemProcessor, ItemReader, ItemStream, ItemWriter};
use super::context::{StepContext, StepScope};
use super::definition::StepDefinition;
use super::execution::{Counters, StepExecution};
use super::execution_status::{BatchStatus, ExitStatus};
use crate::error::{SyncError, SyncResult};
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
}

/// The step's inputs from its job.
pub(crate) struct StepInput<'a> {
    pub scope: &'a StepScope,
    pub definition: &'a StepDefinition,
    pub job_execution_id: i64,
    pub position: i64,
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

    let result = item_loop(&mut ctx, input.definition, &mut execution).await;
    execution.counters = ctx.counters;
    match result {
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

async fn item_loop(
    ctx: &mut StepContext,
    definition: &StepDefinition,
    execution: &mut StepExecution,
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
    let mut chunk: Vec<Value> = Vec::with_capacity(batch_size.min(1024));
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
        match processor.process(ctx, item).await {
            Ok(Some(processed)) => chunk.push(processed),
            Ok(None) => ctx.counters.skipped += 1,
            Err(error) if error.is_record_level() => skip_invalid(ctx, original, &error),
            Err(error) => return Err(Interrupt::Failed(error)),
        }
        if chunk.len() >= batch_size {
            write_chunk(ctx, writer.as_ref(), std::mem::take(&mut chunk)).await?;
            checkpoint(ctx, execution).await?;
        }
    }
    if !chunk.is_empty() {
        write_chunk(ctx, writer.as_ref(), chunk).await?;
    }
    Ok(())
}

fn skip_invalid(ctx: &mut StepContext, item: Value, error: &SyncError) {
    ctx.counters.skipped += 1;
    ctx.counters.errors += 1;
    ctx.warn(item, error.to_string());
}

async fn write_chunk(
    ctx: &mut StepContext,
    writer: &dyn ItemWriter,
    items: Vec<Value>,
) -> Result<(), Interrupt> {
    // Counts the writer made in a chunk that rolls back must go with it.
    let before: Counters = ctx.counters;
    let mut tx = ctx.storage().begin().await.map_err(Interrupt::Failed)?;
    match writer.write(ctx, &mut tx, &items).await {
        Ok(()) => {
            tx.commit()
                .await
                .map_err(|e| Interrupt::Failed(SyncError::from(e)))?;
            ctx.counters.processed += items.len() as u64;
            Ok(())
        }
        Err(error) => {
            // A rollback that fails leaves nothing committed either: the connection is
            // discarded with the transaction.
            let _ = tx.rollback().await;
            if !error.is_record_level() {
                return Err(Interrupt::Failed(error));
            }
            ctx.counters = before;
            let n = items.len() as u64;
            ctx.counters.skipped += n;
            ctx.counters.errors += n;
            ctx.warn(
                Value::Array(items),
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
