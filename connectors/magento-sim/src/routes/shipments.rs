//! Shipping (`POST /V1/order/{orderId}/ship`), shipment reads and tracks.

use super::Ctx;
use super::input::{Obj, body, path_int};
use super::invoices::{requested_comment, requested_items};
use super::orders::{order_id, settle_state};
use crate::data::DocKind;
use crate::data::sales::{DocComment, DocItem, Shipment, Track};
use crate::data::time::now;
use crate::errors::{ApiError, ApiResult};
use crate::json_out::JsonOut;
use crate::search_criteria::SearchCriteria;

/// `POST /V1/order/{orderId}/ship` → the new shipment id as a JSON string.
pub fn create(ctx: &Ctx<'_>) -> ApiResult<String> {
    let b = body(&ctx.body)?;
    b.check_known(&[
        "items",
        "notify",
        "append_comment",
        "comment",
        "tracks",
        "packages",
        "arguments",
    ])?;
    b.bool("notify")?;
    b.arr("packages")?;
    let append = b.bool("append_comment")?.unwrap_or(false);
    let requested = requested_items(b, "sales-data-shipment-item-creation-interface")?;
    let comment = requested_comment(b, "sales-data-shipment-comment-creation-interface")?;
    let mut tracks_in = Vec::new();
    for v in b.arr("tracks")?.map(Vec::as_slice).unwrap_or(&[]) {
        let t = Obj::of(v, "sales-data-shipment-track-creation-interface")?;
        t.check_known(&[
            "track_number",
            "title",
            "carrier_code",
            "extension_attributes",
        ])?;
        let number = t
            .str("track_number")?
            .ok_or_else(|| ApiError::required("trackNumber"))?;
        let title = t.str("title")?.ok_or_else(|| ApiError::required("title"))?;
        let carrier = t
            .str("carrier_code")?
            .ok_or_else(|| ApiError::required("carrierCode"))?;
        tracks_in.push((number, title, carrier));
    }
    let mut db = ctx.state.db.write().unwrap_or_else(|e| e.into_inner());
    let id = order_id(ctx, 1, &db)?;
    let order = db.order(id).ok_or_else(ApiError::entity_not_found)?;
    let mut errors: Vec<String> = Vec::new();
    let can_ship = !matches!(
        order.state.as_str(),
        "canceled" | "holded" | "closed" | "payment_review"
    ) && !order.is_virtual()
        && order
            .items
            .iter()
            .any(|i| !i.is_virtual && i.qty_to_ship() > 0.0);
    if !can_ship {
        errors.push("The order does not allow a shipment to be created.".into());
    }
    let mut lines: Vec<(u32, f64)> = Vec::new();
    if requested.is_empty() {
        lines = order
            .items
            .iter()
            .filter(|i| i.parent_item_id.is_none() && !i.is_virtual && i.qty_to_ship() > 0.0)
            .map(|i| (i.item_id, i.qty_to_ship()))
            .collect();
    } else {
        let mut foreign = false;
        for (item_id, qty) in &requested {
            // A child line of a configurable ships through its parent line.
            let it = order
                .item(*item_id)
                .map(|i| i.parent_item_id.and_then(|p| order.item(p)).unwrap_or(i));
            match it {
                None => foreign = true,
                Some(it) if *qty > it.qty_to_ship() + 1e-9 => errors.push(format!(
                    "The quantity to ship must not be greater than the unshipped quantity for product SKU \"{}\".",
                    it.sku
                )),
                Some(it) if *qty > 0.0 && !lines.iter().any(|(l, _)| *l == it.item_id) => {
                    lines.push((it.item_id, *qty));
                }
                Some(_) => {}
            }
        }
        if foreign {
            errors.push(
                "The shipment contains one or more items that are not part of the original order."
                    .into(),
            );
        }
    }
    if errors.is_empty() && lines.iter().map(|(_, q)| q).sum::<f64>() <= 0.0 {
        errors.push("You can't create a shipment without products.".into());
    }
    if !errors.is_empty() {
        return Err(ApiError::new(
            400,
            format!(
                "Shipment Document Validation Error(s):\n{}",
                errors.join("\n")
            ),
        ));
    }
    let store_id = order.store_id;
    let t = now();
    let entity_id = db.shipments.len() as u32 + 1;
    let mut items = Vec::new();
    for (order_item_id, qty) in &lines {
        db.seq.shipment_item += 1;
        items.push(DocItem {
            entity_id: db.seq.shipment_item,
            order_item_id: *order_item_id,
            qty: *qty,
        });
    }
    let mut tracks = Vec::new();
    for (track_number, title, carrier_code) in tracks_in {
        db.seq.track += 1;
        tracks.push(Track {
            entity_id: db.seq.track,
            parent_id: entity_id,
            order_id: id,
            track_number,
            title,
            carrier_code,
            weight: None,
            qty: None,
            description: None,
            created_at: t,
            updated_at: t,
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
    let increment_id = db.next_increment(DocKind::Shipment, store_id);
    let order = db.order_mut(id).ok_or_else(ApiError::entity_not_found)?;
    for (item_id, qty) in &lines {
        for it in order
            .items
            .iter_mut()
            .filter(|i| i.item_id == *item_id || i.parent_item_id == Some(*item_id))
        {
            it.qty_shipped += qty;
        }
    }
    if order.state != "new" || order.items.iter().all(|i| i.qty_to_invoice() <= 0.0) {
        settle_state(order);
    } else {
        // Shipped before invoicing: Magento moves the order to processing.
        order.state = "processing".into();
        order.status = "processing".into();
    }
    order.updated_at = t.max(order.updated_at);
    db.shipments.push(Shipment {
        entity_id,
        increment_id,
        order_id: id,
        store_id,
        items,
        tracks,
        comments,
        created_at: t,
        updated_at: t,
    });
    Ok(format!("\"{entity_id}\""))
}

/// `GET /V1/shipments`.
pub fn search(ctx: &Ctx<'_>) -> ApiResult<String> {
    let sc = SearchCriteria::from_query(&ctx.query, true)?;
    let db = ctx.state.db.read().unwrap_or_else(|e| e.into_inner());
    let page = sc.apply(
        db.shipments.iter(),
        |s, f| db.order(s.order_id).and_then(|o| s.field(f, o)),
        ctx.version(),
    )?;
    Ok(sc.write_results(&page, |o, s| {
        if let Some(order) = db.order(s.order_id) {
            s.write_json(o, order);
        }
    }))
}

/// `GET /V1/shipment/{id}`.
pub fn get(ctx: &Ctx<'_>) -> ApiResult<String> {
    let id = path_int(ctx.seg(1))?;
    if id == 0 {
        return Err(ApiError::id_needed());
    }
    let db = ctx.state.db.read().unwrap_or_else(|e| e.into_inner());
    let s = u32::try_from(id)
        .ok()
        .and_then(|id| db.shipment(id))
        .ok_or_else(ApiError::entity_not_found)?;
    let order = db
        .order(s.order_id)
        .ok_or_else(ApiError::entity_not_found)?;
    let mut o = JsonOut::with_capacity(4096);
    s.write_json(&mut o, order);
    Ok(o.finish())
}

/// `POST /V1/shipment/track` `{"entity": {...}}` → the track.
pub fn track_add(ctx: &Ctx<'_>) -> ApiResult<String> {
    let b = body(&ctx.body)?;
    let e = b
        .obj("entity", "sales-data-shipment-track-interface")?
        .ok_or_else(|| ApiError::required("entity"))?;
    e.check_known(&[
        "order_id",
        "created_at",
        "entity_id",
        "parent_id",
        "updated_at",
        "weight",
        "qty",
        "description",
        "extension_attributes",
        "track_number",
        "title",
        "carrier_code",
    ])?;
    let parent = e
        .id("parent_id")?
        .ok_or_else(|| ApiError::required("parentId"))?;
    let number = e
        .str("track_number")?
        .ok_or_else(|| ApiError::required("trackNumber"))?;
    let title = e.str("title")?.ok_or_else(|| ApiError::required("title"))?;
    let carrier = e
        .str("carrier_code")?
        .ok_or_else(|| ApiError::required("carrierCode"))?;
    let weight = e.num("weight")?;
    let qty = e.num("qty")?;
    let description = e.str("description")?;
    let order_in = e.id("order_id")?;
    let mut db = ctx.state.db.write().unwrap_or_else(|e| e.into_inner());
    let Some(order_id) = db.shipment(parent).map(|s| s.order_id) else {
        return Err(ApiError::new(400, "Could not save the shipment tracking."));
    };
    if order_in.is_some_and(|o| o != order_id) {
        return Err(ApiError::new(400, "Could not save the shipment tracking."));
    }
    db.seq.track += 1;
    let t = now();
    let track = Track {
        entity_id: db.seq.track,
        parent_id: parent,
        order_id,
        track_number: number,
        title,
        carrier_code: carrier,
        weight,
        qty,
        description,
        created_at: t,
        updated_at: t,
    };
    let mut o = JsonOut::with_capacity(512);
    track.write_json(&mut o);
    if let Some(s) = db.shipment_mut(parent) {
        s.tracks.push(track);
        s.updated_at = t.max(s.updated_at);
    }
    Ok(o.finish())
}

/// `DELETE /V1/shipment/track/{id}` → `true`.
pub fn track_delete(ctx: &Ctx<'_>) -> ApiResult<String> {
    let id = path_int(ctx.seg(2))?;
    let mut db = ctx.state.db.write().unwrap_or_else(|e| e.into_inner());
    let t = now();
    for s in &mut db.shipments {
        if let Some(pos) = s.tracks.iter().position(|tr| i64::from(tr.entity_id) == id) {
            s.tracks.remove(pos);
            s.updated_at = t.max(s.updated_at);
            return Ok("true".into());
        }
    }
    Err(ApiError::new(
        400,
        "Could not delete the shipment tracking.",
    ))
}
