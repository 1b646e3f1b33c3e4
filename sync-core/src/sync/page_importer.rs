//! The page import flow: a search page's records imported in one transaction.
//!
//! Importing a page record by record costs a transaction, a lock and a handful of look-ups
//! per record; on a database that makes each commit durable, the commits alone bound the
//! throughput. A page import does the same work with a constant number of round trips per
//! page for everything but the writes themselves:
//!
//! 1. decode every record and apply the skip rules;
//! 2. read the page's bindings with one query, and drop the records that are up to date;
//! 3. import the dependencies no record of the page has bound yet (each in its own record
//!    import), then read the local ids of every dependency with one query per model, for the
//!    mappers to find in [`PrefetchedBindings`];
//! 4. in one transaction: take the records' locks, read their bindings again (another
//!    worker may have bound one meanwhile), look the unbound ones up by natural key together
//!    ([`ImportSpec::existing_locals`]), map and write each record, bind them all with one
//!    statement ([`Binder::bind_many`](crate::binder::Binder::bind_many)), run the
//!    after-import hooks, commit.
//!
//! A record whose data is bad fails alone: it is reported and the rest of the page is
//! written. When the transaction cannot go on (a lock held by another worker, a failed
//! write, a failed commit), it is rolled back and the page's records are imported one by one
//! with [`import_record_data`], so each gets its own outcome and nothing is lost.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::components::{binder_for, repository_for};
use super::importer::{
    Dependency, ImportOutcome, ImportSpec, LocalWrite, Target, WriteError, finish_writes,
    import_dependency, import_lock_key, import_record_data, is_up_to_date, write_local,
};
use crate::binding_cache::PrefetchedBindings;
use crate::context::WorkContext;
use crate::error::SyncResult;
use crate::ids::ExternalId;
use crate::storage::Binding;
use crate::values::from_value_ref;

/// A record of the page still to be written.
struct Pending<R> {
    /// Its position in the page.
    index: usize,
    /// `<model> <external id>`, for errors.
    label: String,
    remote: R,
}

/// Imports a page of records read at `read_at` (see the module documentation). Returns one
/// outcome per record, in the page's order.
pub async fn import_page_data<S: ImportSpec>(
    spec: &S,
    ctx: &WorkContext,
    records: &[(ExternalId, Value)],
    read_at: DateTime<Utc>,
) -> Vec<SyncResult<ImportOutcome>> {
    let mut outcomes: Vec<Option<SyncResult<ImportOutcome>>> =
        records.iter().map(|_| None).collect();
    let pending = decode_and_skip(spec, ctx, records, &mut outcomes).await;
    if !pending.is_empty() {
        let leftover = import_pending(spec, ctx, records, pending, &mut outcomes, read_at).await;
        // What the page transaction could not take is imported record by record.
        for index in leftover {
            let (external_id, data) = &records[index];
            outcomes[index] = Some(
                import_record_data(spec, ctx, external_id, data.clone(), read_at, false).await,
            );
        }
    }
    outcomes
        .into_iter()
        .map(|outcome| {
            outcome.unwrap_or_else(|| {
                Err(crate::SyncError::Failed(
                    "a page import left a record without an outcome".into(),
                ))
            })
        })
        .collect()
}

/// Step 1: decodes the records and applies the skip rules; returns the others.
async fn decode_and_skip<S: ImportSpec>(
    spec: &S,
    ctx: &WorkContext,
    records: &[(ExternalId, Value)],
    outcomes: &mut [Option<SyncResult<ImportOutcome>>],
) -> Vec<Pending<S::Remote>> {
    let mut pending = Vec::with_capacity(records.len());
    for (index, (external_id, data)) in records.iter().enumerate() {
        let label = format!("{} {external_id}", ctx.model());
        let remote = match from_value_ref::<S::Remote>(&label, data) {
            Ok(remote) => remote,
            Err(error) => {
                outcomes[index] = Some(Err(error));
                continue;
            }
        };
        match spec.skip_reason(ctx, &remote).await {
            Ok(None) => pending.push(Pending {
                index,
                label,
                remote,
            }),
            Ok(Some(reason)) => outcomes[index] = Some(Ok(ImportOutcome::Skipped(reason))),
            Err(error) => outcomes[index] = Some(Err(error)),
        }
    }
    pending
}

/// Steps 2 to 4. Returns the indexes of the records left to import one by one.
async fn import_pending<S: ImportSpec>(
    spec: &S,
    ctx: &WorkContext,
    records: &[(ExternalId, Value)],
    pending: Vec<Pending<S::Remote>>,
    outcomes: &mut [Option<SyncResult<ImportOutcome>>],
    read_at: DateTime<Utc>,
) -> Vec<usize> {
    let all: Vec<usize> = pending.iter().map(|p| p.index).collect();
    let external_id = |index: usize| records[index].0.clone();

    // Step 2: the up-to-date check, on bindings read before any lock.
    let ids: Vec<ExternalId> = all.iter().map(|&i| external_id(i)).collect();
    let Ok(bindings) = read_bindings(ctx, &ids).await else {
        return all;
    };
    let mut to_write = Vec::with_capacity(pending.len());
    for record in pending {
        match bindings.get(&records[record.index].0) {
            Some(binding) if is_up_to_date(spec, binding, &record.remote) => {
                outcomes[record.index] = Some(Ok(ImportOutcome::UpToDate(binding.local_id)));
            }
            _ => to_write.push(record),
        }
    }
    if to_write.is_empty() {
        return Vec::new();
    }

    // Step 3: dependencies first, then their local ids for the mappers.
    let (to_write, mut leftover, prefetched) = match prepare_dependencies(spec, ctx, to_write).await
    {
        Ok(prepared) => prepared,
        Err(_) => return all_indexes(&all, outcomes),
    };
    if to_write.is_empty() {
        return leftover;
    }
    let page_ctx = ctx.clone().with_extra(prefetched);

    // Step 4: one transaction for the page.
    match write_page(spec, &page_ctx, records, &to_write, read_at).await {
        Ok(written) => {
            for (index, outcome) in written {
                outcomes[index] = Some(outcome);
            }
        }
        Err(()) => leftover.extend(to_write.iter().map(|p| p.index)),
    }
    leftover
}

/// The indexes in `all` that have no outcome yet.
fn all_indexes(all: &[usize], outcomes: &[Option<SyncResult<ImportOutcome>>]) -> Vec<usize> {
    all.iter()
        .copied()
        .filter(|&i| outcomes[i].is_none())
        .collect()
}

async fn read_bindings(
    ctx: &WorkContext,
    ids: &[ExternalId],
) -> SyncResult<HashMap<ExternalId, Binding>> {
    let binder = binder_for(ctx)?;
    let mut conn = ctx.storage().pool().acquire().await?;
    binder.bindings_of_externals(&mut conn, ids).await
}

/// Imports the dependencies that are not bound yet (or always re-imported), then reads the
/// local ids of all of them. Returns the records ready to write, the indexes of those whose
/// dependencies failed (left for the record-by-record import, which reports the precise
/// error), and the prefetched bindings.
async fn prepare_dependencies<S: ImportSpec>(
    spec: &S,
    ctx: &WorkContext,
    records: Vec<Pending<S::Remote>>,
) -> SyncResult<(Vec<Pending<S::Remote>>, Vec<usize>, PrefetchedBindings)> {
    let mut needs: Vec<Vec<Dependency>> = Vec::with_capacity(records.len());
    let mut leftover = Vec::new();
    let mut ready = Vec::with_capacity(records.len());
    for record in records {
        match spec.dependencies(ctx, &record.remote).await {
            Ok(dependencies) => {
                needs.push(dependencies);
                ready.push(record);
            }
            Err(_) => leftover.push(record.index),
        }
    }
    // Every dependency of the page, once, grouped by model.
    let mut by_model: HashMap<String, Vec<ExternalId>> = HashMap::new();
    let mut seen = HashSet::new();
    let mut always = HashSet::new();
    for dependency in needs.iter().flatten() {
        if dependency.always {
            always.insert((dependency.model.clone(), dependency.external_id.clone()));
        }
        if seen.insert((dependency.model.clone(), dependency.external_id.clone())) {
            by_model
                .entry(dependency.model.clone())
                .or_default()
                .push(dependency.external_id.clone());
        }
    }
    let mut prefetched = PrefetchedBindings::new();
    let mut failed = HashSet::new();
    for (model, ids) in &by_model {
        let dep_ctx = ctx.work_on(model);
        let mut bound = read_bindings(&dep_ctx, ids).await?;
        let mut imported = false;
        for id in ids {
            let key = (model.clone(), id.clone());
            if bound.contains_key(id) && !always.contains(&key) {
                continue;
            }
            let dependency = Dependency {
                model: model.clone(),
                external_id: id.clone(),
                always: true,
            };
            imported = true;
            if import_dependency(ctx, &dependency).await.is_err() {
                failed.insert(key);
            }
        }
        if imported {
            // The imports above bound new ones.
            bound = read_bindings(&dep_ctx, ids).await?;
        }
        for (id, binding) in bound {
            prefetched.insert(model, id, binding.local_id);
        }
    }
    let mut to_write = Vec::with_capacity(ready.len());
    for (record, dependencies) in ready.into_iter().zip(needs) {
        let blocked = dependencies
            .iter()
            .any(|d| failed.contains(&(d.model.clone(), d.external_id.clone())));
        if blocked {
            leftover.push(record.index);
        } else {
            to_write.push(record);
        }
    }
    Ok((to_write, leftover, prefetched))
}

/// Writes the records in one transaction. `Err(())` when it had to be rolled back: the
/// caller imports them one by one.
async fn write_page<S: ImportSpec>(
    spec: &S,
    ctx: &WorkContext,
    records: &[(ExternalId, Value)],
    to_write: &[Pending<S::Remote>],
    read_at: DateTime<Utc>,
) -> Result<Vec<(usize, SyncResult<ImportOutcome>)>, ()> {
    let storage = ctx.storage();
    let binder = binder_for(ctx).map_err(|_| ())?;
    let mut tx = storage.begin().await.map_err(|_| ())?;
    let ids: Vec<ExternalId> = to_write
        .iter()
        .map(|p| records[p.index].0.clone())
        .collect();
    let keys: Vec<String> = ids.iter().map(|id| import_lock_key(ctx, id)).collect();
    if let Err(error) = storage.try_lock_in_transaction(&mut tx, &keys).await {
        tracing::debug!(%error, "a page import met a held lock; importing its records one by one");
        return Err(());
    }
    let mut bindings = binder
        .bindings_of_externals(&mut tx, &ids)
        .await
        .map_err(|_| ())?;
    let repository = repository_for(ctx, spec.local_model(ctx)).map_err(|_| ())?;
    // The unbound records' local matches (natural keys), looked up together.
    let unbound: Vec<usize> = (0..to_write.len())
        .filter(|&i| !bindings.contains_key(&ids[i]))
        .collect();
    let mut existing = HashMap::new();
    if !unbound.is_empty() {
        let remotes: Vec<&S::Remote> = unbound.iter().map(|&i| &to_write[i].remote).collect();
        let found = spec
            .existing_locals(ctx, &mut tx, &*repository, &remotes)
            .await
            .map_err(|_| ())?;
        if found.len() != unbound.len() {
            return Err(());
        }
        existing.extend(
            unbound
                .into_iter()
                .zip(found)
                .filter_map(|(i, local)| local.map(|local| (i, local))),
        );
    }
    let mut outcomes = Vec::with_capacity(to_write.len());
    let mut written = Vec::with_capacity(to_write.len());
    for (i, (record, external_id)) in to_write.iter().zip(&ids).enumerate() {
        let target = match (bindings.remove(external_id), existing.get(&i)) {
            (Some(binding), _) => Target::Bound(Box::new(binding)),
            (None, Some(&local_id)) => Target::Existing(local_id),
            (None, None) => Target::New,
        };
        let write = write_local(
            spec,
            ctx,
            &mut tx,
            &*repository,
            external_id,
            &record.label,
            &record.remote,
            target,
            read_at,
        )
        .await;
        match write {
            Ok(write) => written.push((record, write)),
            Err(WriteError::Record(error)) => outcomes.push((record.index, Err(error))),
            Err(WriteError::Transaction(error)) => {
                tracing::debug!(record = %record.label, %error, "a page import rolls back; importing its records one by one");
                return Err(());
            }
        }
    }
    let indexes: Vec<usize> = written.iter().map(|(record, _)| record.index).collect();
    let finishing: Vec<(&S::Remote, LocalWrite)> = written
        .into_iter()
        .map(|(record, write)| (&record.remote, write))
        .collect();
    let finished = match finish_writes(spec, ctx, &mut tx, finishing).await {
        Ok(finished) => finished,
        Err(error) => {
            tracing::debug!(%error, "a page import rolls back; importing its records one by one");
            return Err(());
        }
    };
    tx.commit().await.map_err(|_| ())?;
    outcomes.extend(indexes.into_iter().zip(finished.into_iter().map(Ok)));
    Ok(outcomes)
}
