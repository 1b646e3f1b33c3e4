//! Product routes: search, get by SKU, create, update, delete, configurable children.

use super::Ctx;
use super::input::{Obj, body};
use crate::data::Db;
use crate::data::catalog::{
    AttrValue, ConfigurableOption, CustomAttribute, Product, SourceItem, StockItem,
};
use crate::data::time::now;
use crate::errors::{ApiError, ApiResult};
use crate::json_out::JsonOut;
use crate::search_criteria::SearchCriteria;
use serde_json::Value;

const PRODUCT_FIELDS: &[&str] = &[
    "id",
    "sku",
    "name",
    "attribute_set_id",
    "price",
    "status",
    "visibility",
    "type_id",
    "created_at",
    "updated_at",
    "weight",
    "extension_attributes",
    "product_links",
    "options",
    "media_gallery_entries",
    "tier_prices",
    "custom_attributes",
];

const EXTENSION_FIELDS: &[&str] = &[
    "website_ids",
    "category_links",
    "stock_item",
    "discounts",
    "bundle_product_options",
    "downloadable_product_links",
    "downloadable_product_samples",
    "giftcard_amounts",
    "configurable_product_options",
    "configurable_product_links",
];

/// The fields of `catalog-inventory-data-stock-item-interface`.
pub(crate) const STOCK_FIELDS: &[&str] = &[
    "item_id",
    "product_id",
    "stock_id",
    "qty",
    "is_in_stock",
    "is_qty_decimal",
    "show_default_notification_message",
    "use_config_min_qty",
    "min_qty",
    "use_config_min_sale_qty",
    "min_sale_qty",
    "use_config_max_sale_qty",
    "max_sale_qty",
    "use_config_backorders",
    "backorders",
    "use_config_notify_stock_qty",
    "notify_stock_qty",
    "use_config_qty_increments",
    "qty_increments",
    "use_config_enable_qty_inc",
    "enable_qty_increments",
    "use_config_manage_stock",
    "manage_stock",
    "low_stock_date",
    "is_decimal_divided",
    "stock_status_changed_auto",
    "extension_attributes",
];

const TYPES: &[&str] = &[
    "simple",
    "configurable",
    "virtual",
    "bundle",
    "grouped",
    "downloadable",
];

pub(crate) fn product_json(p: &Product, store: u16, with_stock: bool) -> String {
    let mut o = JsonOut::with_capacity(2048);
    p.write_json(&mut o, store, with_stock);
    o.finish()
}

/// `GET /V1/products`.
pub fn search(ctx: &Ctx<'_>) -> ApiResult<String> {
    let sc = SearchCriteria::from_query(&ctx.query, true)?;
    let store = ctx.catalog_store();
    let db = ctx.state.db.read().unwrap_or_else(|e| e.into_inner());
    let page = sc.apply(db.live_products(), |p, f| p.field(f, store), ctx.version())?;
    Ok(sc.write_results(&page, |o, p| p.write_json(o, store, false)))
}

/// `GET /V1/products/{sku}`.
pub fn get(ctx: &Ctx<'_>) -> ApiResult<String> {
    let db = ctx.state.db.read().unwrap_or_else(|e| e.into_inner());
    let p = db
        .product_by_sku(ctx.seg(1))
        .ok_or_else(ApiError::product_not_found)?;
    Ok(product_json(p, ctx.catalog_store(), true))
}

/// `GET /V1/configurable-products/{sku}/children`.
pub fn children(ctx: &Ctx<'_>) -> ApiResult<String> {
    let db = ctx.state.db.read().unwrap_or_else(|e| e.into_inner());
    let p = db
        .product_by_sku(ctx.seg(1))
        .ok_or_else(ApiError::product_not_found)?;
    let store = ctx.catalog_store();
    let mut o = JsonOut::with_capacity(4096);
    o.begin_arr();
    for c in p.configurable_links.iter().filter_map(|id| db.product(*id)) {
        c.write_json(&mut o, store, false);
    }
    o.end_arr();
    Ok(o.finish())
}

/// Sets the default-stock quantity and keeps the `default` source item in step, as Magento's
/// legacy stock and MSI stay in sync for single-source installs.
pub(crate) fn set_stock(p: &mut Product, qty: Option<f64>, in_stock: Option<bool>) {
    if let Some(q) = qty {
        p.stock.qty = Some(q);
    }
    if let Some(s) = in_stock {
        p.stock.is_in_stock = s;
    } else if qty.is_some() && p.type_id != "configurable" {
        p.stock.is_in_stock = p.stock.qty.unwrap_or(0.0) > 0.0;
    }
    if p.type_id == "configurable" {
        return;
    }
    let quantity = p.stock.qty.unwrap_or(0.0);
    let status = u8::from(p.stock.is_in_stock);
    match p
        .source_items
        .iter_mut()
        .find(|s| s.source_code == "default")
    {
        Some(s) => {
            s.quantity = quantity;
            s.status = status;
        }
        None => p.source_items.push(SourceItem {
            source_code: "default".into(),
            quantity,
            status,
        }),
    }
}

fn attr_value(v: &Value) -> ApiResult<AttrValue> {
    Ok(match v {
        Value::String(s) => AttrValue::Str(s.clone()),
        Value::Number(n) => AttrValue::Str(n.to_string()),
        Value::Bool(b) => AttrValue::Str(if *b { "1" } else { "0" }.into()),
        Value::Null => AttrValue::Str(String::new()),
        Value::Array(a) => AttrValue::List(
            a.iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
        ),
        Value::Object(_) => return Err(ApiError::invalid_type(&v.to_string(), "string")),
    })
}

fn apply_product(db: &Db, p: &mut Product, input: Obj<'_>, store: u16) -> ApiResult<()> {
    input.check_known(PRODUCT_FIELDS)?;
    if let Some(name) = input.str("name")? {
        if store == 1 {
            p.name = name;
        } else {
            // A save through a store view's URL writes store-scoped values.
            p.store_names.retain(|(s, _)| *s != store);
            p.store_names.push((store, name));
        }
    }
    if let Some(v) = input.id("attribute_set_id")? {
        p.attribute_set_id = v;
    }
    if let Some(v) = input.num("price")? {
        if v < 0.0 {
            return Err(ApiError::new(400, "The product price can't be negative."));
        }
        p.price = v;
    }
    if let Some(v) = input.int("status")? {
        if v != 1 && v != 2 {
            return Err(ApiError::invalid_value("status", &v.to_string()));
        }
        p.status = v as u8;
    }
    if let Some(v) = input.int("visibility")? {
        if !(1..=4).contains(&v) {
            return Err(ApiError::invalid_value("visibility", &v.to_string()));
        }
        p.visibility = v as u8;
    }
    if let Some(t) = input.str("type_id")? {
        if !TYPES.contains(&t.as_str()) {
            return Err(ApiError::invalid_value("type_id", &t));
        }
        p.type_id = t;
    }
    if input.has("weight") {
        p.weight = input.num("weight")?;
    }
    for key in [
        "product_links",
        "options",
        "media_gallery_entries",
        "tier_prices",
    ] {
        // Accepted and not stored: the simulator serves them as empty lists.
        input.arr(key)?;
    }
    if let Some(list) = input.arr("custom_attributes")? {
        for v in list {
            let a = Obj::of(v, "framework-attribute-interface")?;
            a.check_known(&["attribute_code", "value"])?;
            let code = a
                .str("attribute_code")?
                .ok_or_else(|| ApiError::required("attribute_code"))?;
            let value = attr_value(a.get("value").unwrap_or(&Value::Null))?;
            if code == "category_ids" {
                let ids = match &value {
                    AttrValue::List(l) => l.clone(),
                    AttrValue::Str(s) => s.split(',').map(str::to_string).collect(),
                };
                p.category_links =
                    category_links(db, ids.iter().map(|s| s.trim().parse::<u32>().ok()))?;
                continue;
            }
            p.custom_attributes.retain(|x| x.code != code);
            p.custom_attributes.push(CustomAttribute { code, value });
        }
    }
    if let Some(ext) = input.obj(
        "extension_attributes",
        "catalog-data-product-extension-interface",
    )? {
        ext.check_known(EXTENSION_FIELDS)?;
        if let Some(ws) = ext.arr("website_ids")? {
            let mut ids = Vec::new();
            for w in ws {
                let id = w
                    .as_u64()
                    .or_else(|| w.as_str().and_then(|s| s.parse().ok()));
                match id {
                    Some(1) => ids.push(1),
                    _ => return Err(ApiError::no_such_entity("websiteId", w.to_string())),
                }
            }
            p.website_ids = ids;
        }
        if let Some(links) = ext.arr("category_links")? {
            let mut ids = Vec::new();
            for l in links {
                let o = Obj::of(l, "catalog-data-category-link-interface")?;
                o.check_known(&["position", "category_id", "extension_attributes"])?;
                ids.push(o.id("category_id")?);
            }
            p.category_links = category_links(db, ids.into_iter())?;
        }
        if let Some(s) = ext.obj("stock_item", "catalog-inventory-data-stock-item-interface")? {
            s.check_known(STOCK_FIELDS)?;
            apply_stock(p, s)?;
        }
        if let Some(links) = ext.arr("configurable_product_links")? {
            let mut ids = Vec::new();
            for l in links {
                let id = l
                    .as_u64()
                    .and_then(|v| u32::try_from(v).ok())
                    .ok_or_else(|| ApiError::invalid_type(&l.to_string(), "int"))?;
                if db.product(id).is_none() {
                    return Err(ApiError::new(
                        400,
                        "The product that was requested doesn't exist. Verify the product and try again.",
                    ));
                }
                ids.push(id);
            }
            p.configurable_links = ids;
        }
        if let Some(opts) = ext.arr("configurable_product_options")? {
            let mut out = Vec::new();
            for (i, v) in opts.iter().enumerate() {
                let o = Obj::of(v, "configurable-product-data-option-interface")?;
                o.check_known(&[
                    "id",
                    "attribute_id",
                    "label",
                    "position",
                    "is_use_default",
                    "values",
                    "extension_attributes",
                    "product_id",
                ])?;
                let mut values = Vec::new();
                for val in o.arr("values")?.map(Vec::as_slice).unwrap_or(&[]) {
                    let vo = Obj::of(val, "configurable-product-data-option-value-interface")?;
                    vo.check_known(&["value_index", "extension_attributes"])?;
                    values.push(
                        vo.id("value_index")?
                            .ok_or_else(|| ApiError::required("value_index"))?,
                    );
                }
                out.push(ConfigurableOption {
                    id: o.id("id")?.unwrap_or(i as u32 + 1),
                    attribute_id: o
                        .id("attribute_id")?
                        .ok_or_else(|| ApiError::required("attribute_id"))?,
                    label: o.str("label")?.unwrap_or_default(),
                    position: o.id("position")?.unwrap_or(i as u32),
                    values,
                });
            }
            p.configurable_options = out;
        }
    }
    Ok(())
}

fn category_links(db: &Db, ids: impl Iterator<Item = Option<u32>>) -> ApiResult<Vec<(u32, u32)>> {
    let mut links = Vec::new();
    for (pos, id) in ids.enumerate() {
        let Some(id) = id.filter(|id| db.category(*id).is_some()) else {
            return Err(ApiError::new(
                400,
                "Could not save product \"%1\" with position %2 to category %3",
            ));
        };
        if !links.iter().any(|(c, _)| *c == id) {
            links.push((id, pos as u32));
        }
    }
    Ok(links)
}

/// Applies a stock item input onto a product's stock.
pub(crate) fn apply_stock(p: &mut Product, s: Obj<'_>) -> ApiResult<()> {
    let qty = s.num("qty")?;
    let in_stock = s.bool("is_in_stock")?;
    if let Some(v) = s.num("min_qty")? {
        p.stock.min_qty = v;
    }
    if let Some(v) = s.num("min_sale_qty")? {
        p.stock.min_sale_qty = v;
    }
    if let Some(v) = s.num("max_sale_qty")? {
        p.stock.max_sale_qty = v;
    }
    if let Some(v) = s.int("backorders")? {
        p.stock.backorders = v;
    }
    if let Some(v) = s.num("notify_stock_qty")? {
        p.stock.notify_stock_qty = v;
    }
    if let Some(v) = s.bool("manage_stock")? {
        p.stock.manage_stock = v;
    }
    if let Some(v) = s.bool("is_qty_decimal")? {
        p.stock.is_qty_decimal = v;
    }
    set_stock(p, qty, in_stock);
    Ok(())
}

fn new_product(db: &Db, sku: String) -> Product {
    let t = now();
    let id = db.seq.product + 1;
    Product {
        id,
        sku,
        name: String::new(),
        store_names: vec![],
        attribute_set_id: 4,
        price: 0.0,
        status: 1,
        visibility: 4,
        type_id: "simple".into(),
        created_at: t,
        updated_at: t,
        weight: None,
        website_ids: vec![1],
        category_links: vec![],
        custom_attributes: vec![],
        configurable_options: vec![],
        configurable_links: vec![],
        parent_id: None,
        stock: StockItem {
            item_id: id,
            qty: Some(0.0),
            is_in_stock: false,
            is_qty_decimal: false,
            min_qty: 0.0,
            min_sale_qty: 1.0,
            max_sale_qty: 10_000.0,
            backorders: 0,
            notify_stock_qty: 1.0,
            manage_stock: true,
            low_stock_date: None,
        },
        source_items: vec![],
    }
}

/// Creates or updates (a save, as Magento's repository does) and answers the product.
fn save(ctx: &Ctx<'_>, path_sku: Option<&str>) -> ApiResult<String> {
    let b = body(&ctx.body)?;
    b.check_known(&["product", "save_options"])?;
    let input = b
        .obj("product", "catalog-data-product-interface")?
        .ok_or_else(|| ApiError::required("product"))?;
    let body_sku = input.str("sku")?.filter(|s| !s.trim().is_empty());
    let lookup = path_sku.map(str::to_string).or_else(|| body_sku.clone());
    let Some(lookup) = lookup else {
        return Err(ApiError::new(
            400,
            "The \"sku\" attribute value is empty. Set the attribute and try again.",
        ));
    };
    let store = ctx.catalog_store();
    let mut db = ctx.state.db.write().unwrap_or_else(|e| e.into_inner());
    let existing = db.product_by_sku(&lookup).cloned();
    let is_new = existing.is_none();
    let mut p = existing.unwrap_or_else(|| new_product(&db, lookup.clone()));
    apply_product(&db, &mut p, input, store)?;
    if let Some(s) = body_sku
        && !s.eq_ignore_ascii_case(&p.sku)
    {
        if db.product_by_sku(&s).is_some_and(|o| o.id != p.id) {
            return Err(ApiError::new(
                400,
                "The product was unable to be saved. Please try again.",
            ));
        }
        p.sku = s;
    }
    if is_new {
        if p.name.trim().is_empty() && p.store_names.is_empty() {
            return Err(ApiError::new(
                400,
                "The \"name\" attribute value is empty. Set the attribute and try again.",
            ));
        }
        if p.name.is_empty() {
            p.name = p.store_names[0].1.clone();
        }
        if !input.has("price") && p.type_id == "simple" {
            return Err(ApiError::new(
                400,
                "The \"price\" attribute value is empty. Set the attribute and try again.",
            ));
        }
        if !p.custom_attributes.iter().any(|a| a.code == "url_key") {
            p.custom_attributes.push(CustomAttribute {
                code: "url_key".into(),
                value: AttrValue::Str(crate::data::generate::slug(&p.name)),
            });
        }
    }
    p.updated_at = now().max(p.updated_at);
    // Children remember their parent so that deletes unlink them.
    let links = p.configurable_links.clone();
    let pid = p.id;
    let json = product_json(&p, store, true);
    db.put_product(p);
    for c in links {
        if let Some(child) = db.product_mut(c) {
            child.parent_id = Some(pid);
        }
    }
    Ok(json)
}

/// `POST /V1/products`.
pub fn create(ctx: &Ctx<'_>) -> ApiResult<String> {
    save(ctx, None)
}

/// `PUT /V1/products/{sku}` (creates the product when the SKU is new, as Magento does).
pub fn update(ctx: &Ctx<'_>) -> ApiResult<String> {
    let sku = ctx.seg(1).to_string();
    save(ctx, Some(&sku))
}

/// `DELETE /V1/products/{sku}` → `true`.
pub fn delete(ctx: &Ctx<'_>) -> ApiResult<String> {
    let mut db = ctx.state.db.write().unwrap_or_else(|e| e.into_inner());
    let id = db
        .product_id_by_sku(ctx.seg(1))
        .ok_or_else(ApiError::product_not_found)?;
    db.delete_product(id);
    Ok("true".into())
}
