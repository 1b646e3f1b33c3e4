//! Order routes: search, get, lines, comments, status, hold/unhold/cancel.

use super::Ctx;
use super::input::{body, path_int};
use crate::condition::FieldValue;
use crate::data::Db;
use crate::data::sales::{Order, OrderItem, StatusHistory};
use crate::data::time::now;
use crate::errors::{ApiError, ApiResult};
use crate::json_out::{JsonOut, write_escaped};
use crate::search_criteria::{FilterSpec, SearchCriteria};

/// The default status of an order state.
pub(crate) fn default_status(state: &str) -> &'static str {
    match state {
        "new" => "pending",
        "pending_payment" => "pending_payment",
        "processing" => "processing",
        "complete" => "complete",
        "closed" => "closed",
        "canceled" => "canceled",
        "holded" => "holded",
        "payment_review" => "payment_review",
        _ => "pending",
    }
}

/// Moves an order to `processing` or `complete` after an invoice or a shipment.
pub(crate) fn settle_state(o: &mut Order) {
    let invoiced = o.items.iter().all(|i| i.qty_to_invoice() <= 0.0);
    let shipped = o.is_virtual()
        || o.items
            .iter()
            .filter(|i| !i.is_virtual)
            .all(|i| i.qty_to_ship() <= 0.0);
    let state = if invoiced && shipped {
        "complete"
    } else {
        "processing"
    };
    o.state = state.into();
    o.status = default_status(state).into();
}

/// Reads the order id of path segment `i`: 0 is "An ID is needed", unknown ids are 404.
pub(crate) fn order_id(ctx: &Ctx<'_>, i: usize, db: &Db) -> ApiResult<u32> {
    let id = path_int(ctx.seg(i))?;
    if id == 0 {
        return Err(ApiError::id_needed());
    }
    u32::try_from(id)
        .ok()
        .filter(|id| db.order(*id).is_some())
        .ok_or_else(ApiError::entity_not_found)
}

/// `GET /V1/orders`.
pub fn search(ctx: &Ctx<'_>) -> ApiResult<String> {
    let sc = SearchCriteria::from_query(&ctx.query, true)?;
    let db = ctx.state.db.read().unwrap_or_else(|e| e.into_inner());
    let page = sc.apply(db.orders.iter(), |o, f| o.field(f), ctx.version())?;
    Ok(sc.write_results(&page, |out, o| o.write_json(out)))
}

/// `GET /V1/orders/{id}`.
pub fn get(ctx: &Ctx<'_>) -> ApiResult<String> {
    let db = ctx.state.db.read().unwrap_or_else(|e| e.into_inner());
    let id = order_id(ctx, 1, &db)?;
    let o = db.order(id).ok_or_else(ApiError::entity_not_found)?;
    let mut out = JsonOut::with_capacity(8192);
    o.write_json(&mut out);
    Ok(out.finish())
}

/// An order line with its order, for `GET /V1/orders/items`.
struct ItemRow<'a> {
    order: &'a Order,
    item: &'a OrderItem,
}

impl ItemRow<'_> {
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        let i = self.item;
        Some(match name {
            "item_id" => FieldValue::Int(i.item_id.into()),
            "order_id" => FieldValue::Int(self.order.entity_id.into()),
            "parent_item_id" => i
                .parent_item_id
                .map_or(FieldValue::Null, |p| FieldValue::Int(p.into())),
            "product_id" => FieldValue::Int(i.product_id.into()),
            "product_type" => FieldValue::from(i.product_type.as_str()),
            "sku" => FieldValue::from(i.sku.as_str()),
            "name" => FieldValue::from(i.name.as_str()),
            "store_id" => FieldValue::Int(self.order.store_id.into()),
            "qty_ordered" => FieldValue::Num(i.qty_ordered),
            "qty_invoiced" => FieldValue::Num(i.qty_invoiced),
            "qty_shipped" => FieldValue::Num(i.qty_shipped),
            "qty_canceled" => FieldValue::Num(i.qty_canceled),
            "qty_refunded" => FieldValue::Num(i.qty_refunded),
            "price" => FieldValue::Num(i.price),
            "row_total" => FieldValue::Num(i.row_total()),
            "created_at" => FieldValue::Date(self.order.created_at),
            "updated_at" => FieldValue::Date(self.order.updated_at),
            _ => return None,
        })
    }
}

/// `GET /V1/orders/items`.
pub fn item_search(ctx: &Ctx<'_>) -> ApiResult<String> {
    let sc = SearchCriteria::from_query(&ctx.query, true)?;
    let db = ctx.state.db.read().unwrap_or_else(|e| e.into_inner());
    let rows: Vec<ItemRow<'_>> = db
        .orders
        .iter()
        .flat_map(|order| order.items.iter().map(move |item| ItemRow { order, item }))
        .collect();
    let page = sc.apply(rows.iter(), |r, f| r.field(f), ctx.version())?;
    Ok(sc.write_results(&page, |o, r| r.order.write_item(o, r.item)))
}

/// `GET /V1/orders/items/{id}`.
pub fn item_get(ctx: &Ctx<'_>) -> ApiResult<String> {
    let id = path_int(ctx.seg(2))?;
    if id == 0 {
        return Err(ApiError::id_needed());
    }
    let db = ctx.state.db.read().unwrap_or_else(|e| e.into_inner());
    for order in &db.orders {
        if let Some(item) = order.items.iter().find(|i| i64::from(i.item_id) == id) {
            let mut o = JsonOut::with_capacity(2048);
            order.write_item(&mut o, item);
            return Ok(o.finish());
        }
    }
    Err(ApiError::entity_not_found())
}

/// `POST /V1/orders/{id}/comments` `{"statusHistory": {...}}` → `true`.
pub fn comment_add(ctx: &Ctx<'_>) -> ApiResult<String> {
    let b = body(&ctx.body)?;
    let h = b
        .obj(
            "status_history",
            "sales-data-order-status-history-interface",
        )?
        .ok_or_else(|| ApiError::required("statusHistory"))?;
    h.check_known(&[
        "comment",
        "created_at",
        "entity_id",
        "entity_name",
        "is_customer_notified",
        "is_visible_on_front",
        "parent_id",
        "status",
        "extension_attributes",
    ])?;
    let comment = h.str("comment")?.unwrap_or_default();
    let notified = h.int("is_customer_notified")?;
    let visible = h.int("is_visible_on_front")?.unwrap_or(0);
    let status = h.str("status")?.filter(|s| !s.is_empty());
    let mut db = ctx.state.db.write().unwrap_or_else(|e| e.into_inner());
    let id = order_id(ctx, 1, &db)?;
    db.seq.history += 1;
    let entity_id = db.seq.history;
    let o = db.order_mut(id).ok_or_else(ApiError::entity_not_found)?;
    if let Some(s) = &status {
        o.status = s.clone();
    }
    let t = now();
    o.status_histories.insert(
        0,
        StatusHistory {
            entity_id,
            comment,
            created_at: t,
            is_customer_notified: notified.map(|n| u8::from(n != 0)),
            is_visible_on_front: u8::from(visible != 0),
            status: Some(o.status.clone()),
        },
    );
    o.updated_at = t.max(o.updated_at);
    Ok("true".into())
}

/// `GET /V1/orders/{id}/comments`.
pub fn comment_list(ctx: &Ctx<'_>) -> ApiResult<String> {
    let db = ctx.state.db.read().unwrap_or_else(|e| e.into_inner());
    let id = order_id(ctx, 1, &db)?;
    let o = db.order(id).ok_or_else(ApiError::entity_not_found)?;
    let sc = SearchCriteria {
        filter_groups: vec![vec![FilterSpec {
            field: "parent_id".into(),
            value: Some(id.to_string()),
            condition_type: Some("eq".into()),
        }]],
        ..SearchCriteria::default()
    };
    let page = crate::search_criteria::Page {
        items: o.status_histories.iter().collect(),
        total: o.status_histories.len(),
    };
    Ok(sc.write_results(&page, |out, h| o.write_history(out, h)))
}

/// `GET /V1/orders/{id}/statuses` → the status as a JSON string.
pub fn status(ctx: &Ctx<'_>) -> ApiResult<String> {
    let db = ctx.state.db.read().unwrap_or_else(|e| e.into_inner());
    let id = order_id(ctx, 1, &db)?;
    let o = db.order(id).ok_or_else(ApiError::entity_not_found)?;
    let mut s = String::new();
    write_escaped(&mut s, &o.status);
    Ok(s)
}

/// `POST /V1/orders/{id}/hold` → `true`.
pub fn hold(ctx: &Ctx<'_>) -> ApiResult<String> {
    let mut db = ctx.state.db.write().unwrap_or_else(|e| e.into_inner());
    let id = order_id(ctx, 1, &db)?;
    let o = db.order_mut(id).ok_or_else(ApiError::entity_not_found)?;
    if matches!(
        o.state.as_str(),
        "holded" | "canceled" | "complete" | "closed" | "payment_review"
    ) {
        return Err(ApiError::new(400, "A hold action is not available."));
    }
    o.hold_before_state = Some(o.state.clone());
    o.hold_before_status = Some(o.status.clone());
    o.state = "holded".into();
    o.status = "holded".into();
    o.updated_at = now().max(o.updated_at);
    Ok("true".into())
}

/// `POST /V1/orders/{id}/unhold` → `true`.
pub fn unhold(ctx: &Ctx<'_>) -> ApiResult<String> {
    let mut db = ctx.state.db.write().unwrap_or_else(|e| e.into_inner());
    let id = order_id(ctx, 1, &db)?;
    let o = db.order_mut(id).ok_or_else(ApiError::entity_not_found)?;
    if o.state != "holded" {
        return Err(ApiError::new(400, "You cannot remove the hold."));
    }
    o.state = o.hold_before_state.take().unwrap_or_else(|| "new".into());
    o.status = o
        .hold_before_status
        .take()
        .unwrap_or_else(|| default_status(&o.state).into());
    o.updated_at = now().max(o.updated_at);
    Ok("true".into())
}

/// `POST /V1/orders/{id}/cancel` → `true`, or `false` when the order cannot be canceled.
pub fn cancel(ctx: &Ctx<'_>) -> ApiResult<String> {
    let mut db = ctx.state.db.write().unwrap_or_else(|e| e.into_inner());
    let id = order_id(ctx, 1, &db)?;
    let o = db.order_mut(id).ok_or_else(ApiError::entity_not_found)?;
    let cancelable = matches!(o.state.as_str(), "new" | "pending_payment" | "processing")
        && o.items.iter().any(|i| i.qty_to_invoice() > 0.0);
    if !cancelable {
        return Ok("false".into());
    }
    for i in &mut o.items {
        i.qty_canceled = i.qty_to_invoice();
    }
    o.state = "canceled".into();
    o.status = "canceled".into();
    o.updated_at = now().max(o.updated_at);
    Ok("true".into())
}
