//! The simulator's own admin API, outside `/rest` and never faulted:
//!
//! | route | what |
//! | --- | --- |
//! | `GET /__sim/health` | version, base URL, record counts |
//! | `GET/PUT/POST/DELETE /__sim/faults` | read, replace (JSON [`Faults`]) or clear the faults |
//! | `GET/DELETE /__sim/requests` | request counters per route and the recent log; reset |
//! | `POST/PATCH /__sim/customers/{id}` | edit a customer as a shop admin would (bumps `updated_at`) |
//! | `DELETE /__sim/customers/{id}` | delete a customer as a shop admin would |
//! | `POST/PATCH /__sim/products/{sku}` | edit a product (name, price, status, qty, ...) |
//! | `POST/PATCH /__sim/orders/{id}` | change an order's status/state or add a comment |
//! | `DELETE /__sim/tokens` | revoke every issued admin token |

use crate::faults::Faults;
use crate::json_out::JsonOut;
use crate::state::SimState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};

/// The whole application: the admin routes plus the `/rest` front controller as fallback.
pub(crate) fn router(state: SimState) -> Router {
    Router::new()
        .route("/__sim/health", get(health))
        .route(
            "/__sim/faults",
            get(faults_get)
                .put(faults_put)
                .post(faults_put)
                .delete(faults_clear),
        )
        .route("/__sim/requests", get(requests_get).delete(requests_reset))
        .route(
            "/__sim/customers/{id}",
            post(customer_edit)
                .patch(customer_edit)
                .delete(customer_delete),
        )
        .route(
            "/__sim/products/{sku}",
            post(product_edit).patch(product_edit),
        )
        .route("/__sim/orders/{id}", post(order_edit).patch(order_edit))
        .route("/__sim/tokens", axum::routing::delete(tokens_revoke))
        .fallback(crate::server::rest)
        .with_state(state)
}

fn bad(msg: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": msg.into() })),
    )
        .into_response()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({ "error": "not found" }))).into_response()
}

fn raw_json(body: String) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

async fn health(State(s): State<SimState>) -> Response {
    let db = s.read();
    Json(json!({
        "ok": true,
        "version": s.version().as_str(),
        "base_url": s.inner.base_url.get(),
        "customers": db.customer_count(),
        "products": db.product_count(),
        "orders": db.orders.len(),
        "invoices": db.invoices.len(),
        "shipments": db.shipments.len(),
    }))
    .into_response()
}

async fn faults_get(State(s): State<SimState>) -> Response {
    Json(s.faults()).into_response()
}

async fn faults_put(State(s): State<SimState>, body: axum::body::Bytes) -> Response {
    let faults: Faults = if body.is_empty() {
        Faults::none()
    } else {
        match serde_json::from_slice(&body) {
            Ok(f) => f,
            Err(e) => return bad(format!("invalid faults: {e}")),
        }
    };
    if let Err(e) = faults.validate() {
        return bad(e);
    }
    s.set_faults(faults.clone());
    Json(faults).into_response()
}

async fn faults_clear(State(s): State<SimState>) -> Response {
    s.set_faults(Faults::none());
    Json(Faults::none()).into_response()
}

async fn requests_get(State(s): State<SimState>) -> Response {
    Json(s.request_stats()).into_response()
}

async fn requests_reset(State(s): State<SimState>) -> Response {
    s.reset_requests();
    Json(json!({ "ok": true })).into_response()
}

async fn tokens_revoke(State(s): State<SimState>) -> Response {
    s.revoke_admin_tokens();
    Json(json!({ "ok": true })).into_response()
}

fn patch_of(body: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("the body must be a JSON object".into()),
        Err(e) => Err(format!("invalid JSON: {e}")),
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

async fn customer_edit(
    State(s): State<SimState>,
    Path(id): Path<u32>,
    body: axum::body::Bytes,
) -> Response {
    let patch = match patch_of(&body) {
        Ok(p) => p,
        Err(e) => return bad(e),
    };
    let known = [
        "firstname",
        "lastname",
        "middlename",
        "email",
        "group_id",
        "dob",
        "gender",
        "taxvat",
        "is_subscribed",
        "street",
        "city",
        "postcode",
        "telephone",
    ];
    if let Some(k) = patch.keys().find(|k| !known.contains(&k.as_str())) {
        return bad(format!("unknown field {k}"));
    }
    if let Some(email) = patch.get("email").and_then(Value::as_str)
        && let Some(other) = s.read().customer_by_email(1, email)
        && other != id
    {
        return bad("another customer has this email");
    }
    let ok = s.edit_customer(id, |c| {
        for (k, v) in &patch {
            match k.as_str() {
                "firstname" => c.firstname = text(v).unwrap_or_default(),
                "lastname" => c.lastname = text(v).unwrap_or_default(),
                "middlename" => c.middlename = text(v),
                "email" => c.email = text(v).unwrap_or_default(),
                "group_id" => c.group_id = v.as_u64().unwrap_or(1) as u32,
                "dob" => c.dob = text(v).and_then(|d| crate::data::time::parse_date(&d)),
                "gender" => c.gender = v.as_u64().map(|g| g as u8),
                "taxvat" => c.taxvat = text(v),
                "is_subscribed" => c.is_subscribed = v.as_bool().unwrap_or(false),
                field => {
                    let default = c.default_billing;
                    if let Some(a) = c.addresses.iter_mut().find(|a| Some(a.id) == default) {
                        let t = text(v).unwrap_or_default();
                        match field {
                            "street" => a.street = vec![t],
                            "city" => a.city = t,
                            "postcode" => a.postcode = t,
                            _ => a.telephone = t,
                        }
                    }
                }
            }
        }
    });
    if !ok {
        return not_found();
    }
    match s.read().customer(id) {
        Some(c) => {
            let mut o = JsonOut::default();
            c.write_json(&mut o);
            raw_json(o.finish())
        }
        None => not_found(),
    }
}

async fn customer_delete(State(s): State<SimState>, Path(id): Path<u32>) -> Response {
    if s.delete_customer(id) {
        Json(json!({ "ok": true })).into_response()
    } else {
        not_found()
    }
}

async fn product_edit(
    State(s): State<SimState>,
    Path(sku): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let patch = match patch_of(&body) {
        Ok(p) => p,
        Err(e) => return bad(e),
    };
    let known = [
        "name",
        "price",
        "status",
        "visibility",
        "qty",
        "is_in_stock",
        "weight",
    ];
    if let Some(k) = patch.keys().find(|k| !known.contains(&k.as_str())) {
        return bad(format!("unknown field {k}"));
    }
    let ok = s.edit_product(&sku, |p| {
        let mut qty = None;
        let mut in_stock = None;
        for (k, v) in &patch {
            match k.as_str() {
                "name" => p.name = text(v).unwrap_or_default(),
                "price" => p.price = v.as_f64().unwrap_or(p.price),
                "status" => p.status = v.as_u64().unwrap_or(1) as u8,
                "visibility" => p.visibility = v.as_u64().unwrap_or(4) as u8,
                "weight" => p.weight = v.as_f64(),
                "qty" => qty = v.as_f64(),
                _ => in_stock = v.as_bool(),
            }
        }
        if qty.is_some() || in_stock.is_some() {
            crate::routes::set_stock_pub(p, qty, in_stock);
        }
    });
    if !ok {
        return not_found();
    }
    match s.read().product_by_sku(&sku) {
        Some(p) => {
            let mut o = JsonOut::default();
            p.write_json(&mut o, 1, true);
            raw_json(o.finish())
        }
        None => not_found(),
    }
}

async fn order_edit(
    State(s): State<SimState>,
    Path(id): Path<u32>,
    body: axum::body::Bytes,
) -> Response {
    let patch = match patch_of(&body) {
        Ok(p) => p,
        Err(e) => return bad(e),
    };
    let known = ["status", "state", "comment"];
    if let Some(k) = patch.keys().find(|k| !known.contains(&k.as_str())) {
        return bad(format!("unknown field {k}"));
    }
    let history_id = {
        let mut db = s.write();
        db.seq.history += 1;
        db.seq.history
    };
    let ok = s.edit_order(id, |o| {
        if let Some(state) = patch.get("state").and_then(text) {
            o.state = state;
        }
        if let Some(status) = patch.get("status").and_then(text) {
            o.status = status;
        }
        if let Some(comment) = patch.get("comment").and_then(text) {
            o.status_histories.insert(
                0,
                crate::data::sales::StatusHistory {
                    entity_id: history_id,
                    comment,
                    created_at: crate::data::time::now(),
                    is_customer_notified: None,
                    is_visible_on_front: 0,
                    status: Some(o.status.clone()),
                },
            );
        }
    });
    if !ok {
        return not_found();
    }
    match s.read().order(id) {
        Some(o) => {
            let mut out = JsonOut::default();
            o.write_json(&mut out);
            raw_json(out.finish())
        }
        None => not_found(),
    }
}
