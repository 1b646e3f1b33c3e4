//! Stock routes: legacy stock items and, in 2.4 mode, MSI sources and source items.

use super::Ctx;
use super::input::{Obj, body, path_int};
use super::products::{STOCK_FIELDS, apply_stock, set_stock};
use crate::data::catalog::{SourceItem, SourceItemRow};
use crate::data::stores::SOURCES;
use crate::errors::{ApiError, ApiResult};
use crate::json_out::JsonOut;
use crate::search_criteria::SearchCriteria;

/// `GET /V1/stockItems/{productSku}`.
pub fn stock_get(ctx: &Ctx<'_>) -> ApiResult<String> {
    let db = ctx.state.db.read().unwrap_or_else(|e| e.into_inner());
    let p = db
        .product_by_sku(ctx.seg(1))
        .ok_or_else(ApiError::product_not_found)?;
    let mut o = JsonOut::with_capacity(1024);
    p.write_stock_item(&mut o);
    Ok(o.finish())
}

/// `PUT /V1/products/{productSku}/stockItems/{itemId}` `{"stockItem": {...}}` → the item id.
pub fn stock_update(ctx: &Ctx<'_>) -> ApiResult<String> {
    let b = body(&ctx.body)?;
    let input = b
        .obj("stock_item", "catalog-inventory-data-stock-item-interface")?
        .ok_or_else(|| ApiError::required("stockItem"))?;
    input.check_known(STOCK_FIELDS)?;
    // The path's item id must be an int even though Magento then resolves the item by SKU.
    path_int(ctx.seg(3))?;
    let mut db = ctx.state.db.write().unwrap_or_else(|e| e.into_inner());
    let id = db
        .product_id_by_sku(ctx.seg(1))
        .ok_or_else(ApiError::product_not_found)?;
    let p = db.product_mut(id).ok_or_else(ApiError::product_not_found)?;
    apply_stock(p, input)?;
    Ok(p.stock.item_id.to_string())
}

/// `GET /V1/inventory/source-items`.
pub fn source_search(ctx: &Ctx<'_>) -> ApiResult<String> {
    let sc = SearchCriteria::from_query(&ctx.query, true)?;
    let db = ctx.state.db.read().unwrap_or_else(|e| e.into_inner());
    let rows: Vec<SourceItemRow<'_>> = db
        .live_products()
        .flat_map(|p| {
            p.source_items
                .iter()
                .map(move |item| SourceItemRow { product: p, item })
        })
        .collect();
    let page = sc.apply(rows.iter(), |r, f| r.field(f), ctx.version())?;
    Ok(sc.write_results(&page, |o, r| r.write_json(o)))
}

/// `POST /V1/inventory/source-items` `{"sourceItems": [...]}` → `[]`.
pub fn source_save(ctx: &Ctx<'_>) -> ApiResult<String> {
    let b = body(&ctx.body)?;
    let items = b
        .arr("source_items")?
        .ok_or_else(|| ApiError::required("sourceItems"))?;
    if items.is_empty() {
        return Err(ApiError::new(400, "Input data is empty"));
    }
    let mut parsed = Vec::with_capacity(items.len());
    for v in items {
        let o = Obj::of(v, "inventory-api-data-source-item-interface")?;
        o.check_known(&[
            "sku",
            "source_code",
            "quantity",
            "status",
            "extension_attributes",
        ])?;
        let sku = o.str("sku")?.filter(|s| !s.is_empty()).ok_or_else(|| {
            ApiError::new(400, "\"%field\" can not be empty.").named(vec![("field", "sku".into())])
        })?;
        let source = o
            .str("source_code")?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                ApiError::new(400, "\"%field\" can not be empty.")
                    .named(vec![("field", "source_code".into())])
            })?;
        if !SOURCES.iter().any(|s| s.code == source) {
            return Err(ApiError::new(400, "Could not save Source Item"));
        }
        let quantity = o.num("quantity")?.unwrap_or(0.0);
        let status = o.int("status")?.unwrap_or(i64::from(quantity > 0.0));
        parsed.push((sku, source, quantity, u8::from(status != 0)));
    }
    let mut db = ctx.state.db.write().unwrap_or_else(|e| e.into_inner());
    // Validate everything first: Magento saves the batch in one transaction.
    let mut ids = Vec::with_capacity(parsed.len());
    for (sku, ..) in &parsed {
        ids.push(
            db.product_id_by_sku(sku)
                .ok_or_else(|| ApiError::new(400, "Could not save Source Item"))?,
        );
    }
    for ((_, source, quantity, status), id) in parsed.into_iter().zip(ids) {
        let Some(p) = db.product_mut(id) else {
            continue;
        };
        match p.source_items.iter_mut().find(|s| s.source_code == source) {
            Some(s) => {
                s.quantity = quantity;
                s.status = status;
            }
            None => p.source_items.push(SourceItem {
                source_code: source.clone(),
                quantity,
                status,
            }),
        }
        if source == "default" {
            set_stock(p, Some(quantity), Some(status == 1));
        }
    }
    Ok("[]".into())
}

/// `GET /V1/inventory/sources` (a plain list; searchCriteria is optional there).
pub fn sources(ctx: &Ctx<'_>) -> ApiResult<String> {
    let sc = SearchCriteria::from_query(&ctx.query, false)?;
    let page = sc.apply(
        SOURCES.iter(),
        |s, f| {
            use crate::condition::FieldValue;
            Some(match f {
                "source_code" => FieldValue::from(s.code),
                "name" => FieldValue::from(s.name),
                "enabled" => FieldValue::Int(1),
                "country_id" => FieldValue::from("US"),
                _ => return None,
            })
        },
        ctx.version(),
    )?;
    Ok(sc.write_results(&page, |o, s| {
        o.begin_obj()
            .f_str("source_code", s.code)
            .f_str("name", s.name)
            .f_bool("enabled", true)
            .f_str("country_id", "US")
            .f_str("postcode", "00000")
            .f_bool("use_default_carrier_config", true)
            .end_obj();
    }))
}
