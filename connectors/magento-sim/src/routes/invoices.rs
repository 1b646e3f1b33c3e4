//! Invoicing (`POST /V1/order/{orderId}/invoice`) and invoice reads.

use super::Ctx;
use super::input::{Obj, body, path_int};
use super::orders::{order_id, settle_state};
use crate::data::DocKind;
use crate::data::sales::{DocComment, DocItem, Invoice, round2};
use crate::data::time::now;
use crate::errors::{ApiError, ApiResult};
use crate::json_out::JsonOut;
use crate::search_criteria::SearchCriteria;

/// Reads `items: [{order_item_id, qty}]` of an invoice or shipment request.
pub(crate) fn requested_items(b: Obj<'_>, type_name: &str) -> ApiResult<Vec<(u32, f64)>> {
    let mut out = Vec::new();
    for v in b.arr("items")?.map(Vec::as_slice).unwrap_or(&[]) {
        let o = Obj::of(v, type_name)?;
        o.check_known(&["order_item_id", "qty", "extension_attributes"])?;
        let id = o
            .id("order_item_id")?
            .ok_or_else(|| ApiError::required("orderItemId"))?;
        let qty = o.num("qty")?.ok_or_else(|| ApiError::required("qty"))?;
        out.push((id, qty));
    }
    Ok(out)
}

/// Reads the optional `comment` of an invoice or shipment request.
pub(crate) fn requested_comment(b: Obj<'_>, type_name: &str) -> ApiResult<Option<(String, u8)>> {
    let Some(c) = b.obj("comment", type_name)? else {
        return Ok(None);
    };
    c.check_known(&["comment", "is_visible_on_front", "extension_attributes"])?;
    let text = c.str("comment")?.unwrap_or_default();
    let visible = c.int("is_visible_on_front")?.unwrap_or(0);
    Ok(Some((text, u8::from(visible != 0))))
}

/// `POST /V1/order/{orderId}/invoice` → the new invoice id as a JSON string.
pub fn create(ctx: &Ctx<'_>) -> ApiResult<String> {
    let b = body(&ctx.body)?;
    b.check_known(&[
        "capture",
        "items",
        "notify",
        "append_comment",
        "comment",
        "arguments",
    ])?;
    b.bool("capture")?;
    b.bool("notify")?;
    let append = b.bool("append_comment")?.unwrap_or(false);
    let requested = requested_items(b, "sales-data-invoice-item-creation-interface")?;
    let comment = requested_comment(b, "sales-data-invoice-comment-creation-interface")?;
    let mut db = ctx.state.db.write().unwrap_or_else(|e| e.into_inner());
    let id = order_id(ctx, 1, &db)?;
    let order = db.order(id).ok_or_else(ApiError::entity_not_found)?;
    let mut errors: Vec<String> = Vec::new();
    match order.state.as_str() {
        "canceled" | "holded" | "payment_review" => {
            errors.push("The order does not allow an invoice to be created.".into());
        }
        "complete" | "closed" => errors.push(format!(
            "An invoice cannot be created when an order has a status of {}",
            order.status
        )),
        _ if order.items.iter().all(|i| i.qty_to_invoice() <= 0.0) => {
            errors.push("The order does not allow an invoice to be created.".into());
        }
        _ => {}
    }
    let mut lines: Vec<(u32, f64)> = Vec::new();
    if requested.is_empty() {
        lines = order
            .items
            .iter()
            .filter(|i| i.qty_to_invoice() > 0.0)
            .map(|i| (i.item_id, i.qty_to_invoice()))
            .collect();
    } else {
        let mut foreign = false;
        for (item_id, qty) in &requested {
            match order.item(*item_id) {
                None => foreign = true,
                Some(it) => {
                    if *qty > it.qty_to_invoice() + 1e-9 {
                        errors.push(format!(
                            "The quantity to invoice must not be greater than the uninvoiced quantity for product SKU \"{}\".",
                            it.sku
                        ));
                    } else if *qty > 0.0 {
                        lines.push((*item_id, *qty));
                        // A configurable line invoices its child line along.
                        for child in order
                            .items
                            .iter()
                            .filter(|c| c.parent_item_id == Some(*item_id))
                        {
                            if !requested.iter().any(|(r, _)| *r == child.item_id) {
                                lines.push((child.item_id, qty.min(child.qty_to_invoice())));
                            }
                        }
                    }
                }
            }
        }
        if foreign {
            errors.push(
                "The invoice contains one or more items that are not part of the original order."
                    .into(),
            );
        }
    }
    if errors.is_empty() && lines.iter().map(|(_, q)| q).sum::<f64>() <= 0.0 {
        errors.push("You can't create an invoice without products.".into());
    }
    if !errors.is_empty() {
        return Err(ApiError::new(
            400,
            format!(
                "Invoice Document Validation Error(s):\n{}",
                errors.join("\n")
            ),
        ));
    }
    let store_id = order.store_id;
    let shipping = round2(order.shipping_amount - order.shipping_invoiced);
    let t = now();
    let mut items = Vec::with_capacity(lines.len());
    for (order_item_id, qty) in &lines {
        db.seq.invoice_item += 1;
        items.push(DocItem {
            entity_id: db.seq.invoice_item,
            order_item_id: *order_item_id,
            qty: *qty,
        });
    }
    let comments = match comment.filter(|_| append) {
        Some((text, visible)) => {
            db.seq.comment += 1;
            vec![DocComment {
                entity_id: db.seq.comment,
                comment: text,
                is_customer_notified: 0,
                is_visible_on_front: visible,
                created_at: t,
            }]
        }
        None => vec![],
    };
    let increment_id = db.next_increment(DocKind::Invoice, store_id);
    let entity_id = db.invoices.len() as u32 + 1;
    let invoice = Invoice {
        entity_id,
        increment_id,
        order_id: id,
        store_id,
        state: 2,
        shipping_amount: shipping,
        items,
        comments,
        created_at: t,
        updated_at: t,
    };
    let order = db.order_mut(id).ok_or_else(ApiError::entity_not_found)?;
    for (item_id, qty) in &lines {
        if let Some(it) = order.items.iter_mut().find(|i| i.item_id == *item_id) {
            it.qty_invoiced += qty;
        }
    }
    let discount = if order.total_invoiced == 0.0 {
        order.discount_amount
    } else {
        0.0
    };
    let total = round2(invoice.grand_total(order) + discount);
    order.total_invoiced = round2(order.total_invoiced + total);
    order.total_paid = round2(order.total_paid + total);
    order.shipping_invoiced = round2(order.shipping_invoiced + shipping);
    settle_state(order);
    order.updated_at = t.max(order.updated_at);
    db.invoices.push(invoice);
    Ok(format!("\"{entity_id}\""))
}

/// `GET /V1/invoices`.
pub fn search(ctx: &Ctx<'_>) -> ApiResult<String> {
    let sc = SearchCriteria::from_query(&ctx.query, true)?;
    let db = ctx.state.db.read().unwrap_or_else(|e| e.into_inner());
    let page = sc.apply(
        db.invoices.iter(),
        |inv, f| db.order(inv.order_id).and_then(|o| inv.field(f, o)),
        ctx.version(),
    )?;
    Ok(sc.write_results(&page, |o, inv| {
        if let Some(order) = db.order(inv.order_id) {
            inv.write_json(o, order);
        }
    }))
}

/// `GET /V1/invoices/{id}`.
pub fn get(ctx: &Ctx<'_>) -> ApiResult<String> {
    let id = path_int(ctx.seg(1))?;
    if id == 0 {
        return Err(ApiError::id_needed());
    }
    let db = ctx.state.db.read().unwrap_or_else(|e| e.into_inner());
    let inv = u32::try_from(id)
        .ok()
        .and_then(|id| db.invoice(id))
        .ok_or_else(ApiError::entity_not_found)?;
    let order = db
        .order(inv.order_id)
        .ok_or_else(ApiError::entity_not_found)?;
    let mut o = JsonOut::with_capacity(4096);
    inv.write_json(&mut o, order);
    Ok(o.finish())
}
