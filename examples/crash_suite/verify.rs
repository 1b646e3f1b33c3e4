//! The checks after the drain: every remote record has exactly one binding and one local
//! record, every change made on either side reached the other exactly once, and no job or
//! reverse-sync request is left.

use std::collections::HashMap;

use magento_sim::SimState;
use synckit::storage::Storage;
use synckit::{BackendId, LocalId, SyncResult};

use crate::findings::{Findings, redact};

/// What a trial changed on purpose, to check that each change arrived.
#[derive(Debug, Default)]
pub struct Changes {
    /// Customers created in the back office, with their e-mail (looked up, never printed).
    pub created_customers: Vec<(LocalId, String)>,
    /// Customers whose last name the back office changed, with the new last name.
    pub local_edits: Vec<(LocalId, String)>,
    /// Magento customers whose first name the shop admin changed, with the new first name.
    pub remote_edits: Vec<(u32, String)>,
    /// Orders invoiced in the back office: local order, Magento order, Magento's invoice
    /// count before.
    pub invoices: Vec<(LocalId, u32, usize)>,
}

/// How much the checks covered, so a run that checked nothing cannot pass unnoticed.
#[derive(Debug, Default, Clone, Copy)]
pub struct Coverage {
    /// Magento customers, products (configurable parents excluded) and orders checked.
    pub remote_records: usize,
    /// Changes made on purpose and checked: customers created, renamed on either side,
    /// orders invoiced.
    pub changes: usize,
}

/// One local customer row.
struct LocalCustomer {
    email: String,
    firstname: String,
    lastname: String,
}

/// The bindings of one backend, both ways.
struct Bindings {
    by_external: HashMap<(String, String), i64>,
    by_local: HashMap<(String, i64), Option<String>>,
}

impl Bindings {
    async fn load(storage: &Storage, backend: BackendId) -> SyncResult<Self> {
        let rows: Vec<(String, Option<String>, i64)> = sqlx::query_as(
            "SELECT model, external_id, local_id FROM sync_bindings WHERE backend_id = $1",
        )
        .bind(backend.0)
        .fetch_all(storage.pool())
        .await?;
        let mut bindings = Bindings {
            by_external: HashMap::new(),
            by_local: HashMap::new(),
        };
        for (model, external, local) in rows {
            if let Some(external) = &external {
                bindings
                    .by_external
                    .insert((model.clone(), external.clone()), local);
            }
            bindings.by_local.insert((model, local), external);
        }
        Ok(bindings)
    }

    fn local_of(&self, model: &str, external: impl ToString) -> Option<i64> {
        self.by_external
            .get(&(model.to_owned(), external.to_string()))
            .copied()
    }

    fn external_of(&self, model: &str, local: i64) -> Option<&Option<String>> {
        self.by_local.get(&(model.to_owned(), local))
    }
}

/// How many local rows of `table` share each value of `column`.
async fn counts_by(
    storage: &Storage,
    table: &str,
    column: &str,
) -> SyncResult<HashMap<String, (i64, i64)>> {
    let sql = format!("SELECT {column}, COUNT(*), MIN(id) FROM {table} GROUP BY {column}");
    let rows: Vec<(Option<String>, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(storage.pool())
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(value, n, min)| value.map(|v| (v.to_lowercase(), (n, min))))
        .collect())
}

async fn local_ids(storage: &Storage, table: &str) -> SyncResult<Vec<i64>> {
    let sql = format!("SELECT id FROM {table} ORDER BY id");
    let rows: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(storage.pool())
        .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Runs every check.
pub async fn verify(
    storage: &Storage,
    backend: BackendId,
    sim: &SimState,
    changes: &Changes,
) -> SyncResult<(Findings, Coverage)> {
    let mut findings = Findings::default();
    let bindings = Bindings::load(storage, backend).await?;
    check_customers(storage, &bindings, sim, changes, &mut findings).await?;
    check_catalog_and_orders(storage, &bindings, sim, changes, &mut findings).await?;
    check_queue(storage, &mut findings).await?;
    let db = sim.read();
    let coverage = Coverage {
        remote_records: db.live_customers().count()
            + db.live_products()
                .filter(|p| p.type_id != "configurable")
                .count()
            + db.orders.len(),
        changes: changes.created_customers.len()
            + changes.local_edits.len()
            + changes.remote_edits.len()
            + changes.invoices.len(),
    };
    Ok((findings, coverage))
}

async fn check_customers(
    storage: &Storage,
    bindings: &Bindings,
    sim: &SimState,
    changes: &Changes,
    findings: &mut Findings,
) -> SyncResult<()> {
    const MODEL: &str = "magento.customer";
    type CustomerRow = (i64, Option<String>, Option<String>, Option<String>);
    let rows: Vec<CustomerRow> =
        sqlx::query_as("SELECT id, email, firstname, lastname FROM customers")
            .fetch_all(storage.pool())
            .await?;
    let locals: HashMap<i64, LocalCustomer> = rows
        .into_iter()
        .map(|(id, email, firstname, lastname)| {
            (
                id,
                LocalCustomer {
                    email: email.unwrap_or_default().to_lowercase(),
                    firstname: firstname.unwrap_or_default(),
                    lastname: lastname.unwrap_or_default(),
                },
            )
        })
        .collect();
    let mut local_by_email: HashMap<&str, Vec<i64>> = HashMap::new();
    for (id, local) in &locals {
        local_by_email.entry(&local.email).or_default().push(*id);
    }

    let db = sim.read();
    let mut remote_by_email: HashMap<String, Vec<u32>> = HashMap::new();
    for remote in db.live_customers() {
        remote_by_email
            .entry(remote.email.to_lowercase())
            .or_default()
            .push(remote.id);
        let id = remote.id;
        let Some(local_id) = bindings.local_of(MODEL, id) else {
            findings
                .lost
                .push(format!("Magento customer {id} has no binding"));
            continue;
        };
        let Some(local) = locals.get(&local_id) else {
            findings.lost.push(format!(
                "Magento customer {id} is bound to local customer {local_id}, which does not exist"
            ));
            continue;
        };
        for (field, here, there) in [
            ("firstname", &local.firstname, &remote.firstname),
            ("lastname", &local.lastname, &remote.lastname),
        ] {
            if here != there {
                findings.lost.push(format!(
                    "customer {local_id} / Magento {id}: {field} differs between the sides"
                ));
            }
        }
        let same_email = local_by_email
            .get(remote.email.to_lowercase().as_str())
            .map_or(0, Vec::len);
        if same_email > 1 {
            findings.duplicated.push(format!(
                "Magento customer {id} has {same_email} local customers"
            ));
        }
    }
    for ids in remote_by_email.values().filter(|ids| ids.len() > 1) {
        findings
            .duplicated
            .push(format!("Magento customers {ids:?} share one e-mail"));
    }
    let mut local_ids: Vec<&i64> = locals.keys().collect();
    local_ids.sort();
    for &local_id in local_ids {
        match bindings.external_of(MODEL, local_id) {
            None => findings.lost.push(format!(
                "local customer {local_id} has no binding: it never reached Magento"
            )),
            Some(None) => findings.lost.push(format!(
                "local customer {local_id}: its export intent was never resolved"
            )),
            Some(Some(external)) => {
                let exists = external
                    .parse()
                    .ok()
                    .and_then(|id| db.customer(id))
                    .is_some();
                if !exists {
                    findings.lost.push(format!(
                        "local customer {local_id} is bound to Magento customer {external}, which does not exist"
                    ));
                }
            }
        }
    }
    for (local_id, email) in &changes.created_customers {
        match remote_by_email
            .get(&email.to_lowercase())
            .map_or(0, Vec::len)
        {
            0 => findings.lost.push(format!(
                "local customer {local_id} (created) is not in Magento"
            )),
            1 => {}
            n => findings.duplicated.push(format!(
                "local customer {local_id} (created) is {n} times in Magento"
            )),
        }
    }
    for (local_id, lastname) in &changes.local_edits {
        let remote = bindings
            .external_of(MODEL, local_id.0)
            .cloned()
            .flatten()
            .and_then(|external| external.parse().ok())
            .and_then(|id| db.customer(id));
        if remote.is_none_or(|remote| &remote.lastname != lastname) {
            findings.lost.push(format!(
                "the back office's change of customer {local_id} (lastname) is not in Magento"
            ));
        }
    }
    for (remote_id, firstname) in &changes.remote_edits {
        let local = bindings
            .local_of(MODEL, remote_id)
            .and_then(|id| locals.get(&id));
        if local.is_none_or(|local| &local.firstname != firstname) {
            findings.lost.push(format!(
                "the shop admin's change of Magento customer {remote_id} (firstname) is not in the back office"
            ));
        }
    }
    Ok(())
}

async fn check_catalog_and_orders(
    storage: &Storage,
    bindings: &Bindings,
    sim: &SimState,
    changes: &Changes,
    findings: &mut Findings,
) -> SyncResult<()> {
    let products = counts_by(storage, "products", "sku").await?;
    let product_ids = local_ids(storage, "products").await?;
    let orders = counts_by(storage, "sale_orders", "name").await?;
    let order_ids = local_ids(storage, "sale_orders").await?;
    let db = sim.read();
    for product in db.live_products() {
        // Configurable parents are not imported: their variants are the products sold.
        if product.type_id == "configurable" {
            continue;
        }
        let sku = &product.sku;
        let id = product.id;
        match bindings.local_of("magento.product", sku) {
            None => findings
                .lost
                .push(format!("Magento product {id} has no binding")),
            Some(local) if product_ids.binary_search(&local).is_err() => {
                findings.lost.push(format!(
                    "Magento product {id} is bound to local product {local}, which does not exist"
                ))
            }
            Some(_) => {}
        }
        if let Some((n, _)) = products.get(&sku.to_lowercase())
            && *n > 1
        {
            findings
                .duplicated
                .push(format!("Magento product {id} has {n} local products"));
        }
    }
    for order in &db.orders {
        let id = order.entity_id;
        match bindings.local_of("magento.sale.order", id) {
            None => findings
                .lost
                .push(format!("Magento order {id} has no binding")),
            Some(local) if order_ids.binary_search(&local).is_err() => findings.lost.push(format!(
                "Magento order {id} is bound to local order {local}, which does not exist"
            )),
            Some(_) => {}
        }
        if let Some((n, _)) = orders.get(&order.increment_id.to_lowercase())
            && *n > 1
        {
            findings
                .duplicated
                .push(format!("Magento order {id} has {n} local orders"));
        }
    }
    for (local_order, remote_order, before) in &changes.invoices {
        let now = db
            .invoices
            .iter()
            .filter(|invoice| invoice.order_id == *remote_order)
            .count();
        match now.saturating_sub(*before) {
            0 => findings.lost.push(format!(
                "the invoice of local order {local_order} is not in Magento (order {remote_order})"
            )),
            1 => {}
            n => findings.duplicated.push(format!(
                "the invoice of local order {local_order} is {n} times in Magento (order {remote_order})"
            )),
        }
    }
    Ok(())
}

async fn check_queue(storage: &Storage, findings: &mut Findings) -> SyncResult<()> {
    type JobRow = (
        i64,
        String,
        String,
        String,
        i64,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let jobs: Vec<JobRow> = sqlx::query_as(
        "SELECT id, name, args, state, retry, exc_name, exc_message, result FROM queue_jobs \
         WHERE state NOT IN ('done', 'cancelled') ORDER BY id",
    )
    .fetch_all(storage.pool())
    .await?;
    for (id, name, args, state, retry, exc_name, exc_message, result) in jobs {
        let why = match (exc_name, exc_message, result) {
            (Some(kind), Some(message), _) => format!("{kind}: {}", redact(&message)),
            (_, Some(message), _) | (_, None, Some(message)) => redact(&message),
            _ => "no error recorded".to_owned(),
        };
        findings.stuck.push(format!(
            "job {id} {name} {args} is {state} after the drain (retry {retry}): {why}"
        ));
    }
    let left: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT job_id, entity_id FROM sync_reverse_entities ORDER BY job_id, entity_id",
    )
    .fetch_all(storage.pool())
    .await?;
    let mut waiting: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
    for (job, entity) in left {
        waiting.entry(job).or_default().push(entity);
    }
    for (job, entities) in waiting {
        findings.stuck.push(format!(
            "the reverse sync of local customers {entities:?} still waits in job {job}"
        ));
    }
    Ok(())
}
