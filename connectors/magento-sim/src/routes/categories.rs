//! Category routes: tree, get, list, and a category's product links.

use super::Ctx;
use super::input::path_int;
use crate::data::Db;
use crate::errors::{ApiError, ApiResult};
use crate::json_out::JsonOut;
use crate::query::QNode;
use crate::search_criteria::SearchCriteria;
use std::collections::HashMap;

fn query_int(ctx: &Ctx<'_>, key: &str) -> ApiResult<Option<i64>> {
    match ctx.query.get(key).and_then(QNode::leaf) {
        None | Some("") => Ok(None),
        Some(s) => s
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ApiError::invalid_type(s, "int")),
    }
}

fn write_node(o: &mut JsonOut, db: &Db, counts: &HashMap<u32, u32>, id: u32, depth: Option<i64>) {
    let Some(c) = db.category(id) else { return };
    o.begin_obj()
        .f_int("id", c.id.into())
        .f_int("parent_id", c.parent_id.into())
        .f_str("name", &c.name)
        .f_bool("is_active", c.is_active)
        .f_int("position", c.position.into())
        .f_int("level", c.level.into())
        .f_int(
            "product_count",
            counts.get(&c.id).copied().unwrap_or(0).into(),
        )
        .key("children_data")
        .begin_arr();
    if depth.is_none_or(|d| d > 0) {
        for child in &c.children {
            write_node(o, db, counts, *child, depth.map(|d| d - 1));
        }
    }
    o.end_arr().end_obj();
}

/// `GET /V1/categories?rootCategoryId=&depth=`.
pub fn tree(ctx: &Ctx<'_>) -> ApiResult<String> {
    let root = query_int(ctx, "rootCategoryId")?.unwrap_or(2);
    let depth = query_int(ctx, "depth")?;
    let db = ctx.state.db.read().unwrap_or_else(|e| e.into_inner());
    let id = u32::try_from(root)
        .ok()
        .filter(|id| db.category(*id).is_some())
        .ok_or_else(|| ApiError::no_such_entity("id", root))?;
    let counts = db.category_product_counts();
    let mut o = JsonOut::with_capacity(4096);
    write_node(&mut o, &db, &counts, id, depth);
    Ok(o.finish())
}

/// `GET /V1/categories/{categoryId}`.
pub fn get(ctx: &Ctx<'_>) -> ApiResult<String> {
    let id = path_int(ctx.seg(1))?;
    let db = ctx.state.db.read().unwrap_or_else(|e| e.into_inner());
    let c = u32::try_from(id)
        .ok()
        .and_then(|id| db.category(id))
        .ok_or_else(|| ApiError::no_such_entity("id", id))?;
    let mut o = JsonOut::with_capacity(1024);
    c.write_json(&mut o);
    Ok(o.finish())
}

/// `GET /V1/categories/list`.
pub fn list(ctx: &Ctx<'_>) -> ApiResult<String> {
    let sc = SearchCriteria::from_query(&ctx.query, true)?;
    let db = ctx.state.db.read().unwrap_or_else(|e| e.into_inner());
    let page = sc.apply(db.categories.iter(), |c, f| c.field(f), ctx.version())?;
    Ok(sc.write_results(&page, |o, c| c.write_json(o)))
}

/// `GET /V1/categories/{categoryId}/products` → `[{"sku","position","category_id"}]`.
pub fn products(ctx: &Ctx<'_>) -> ApiResult<String> {
    let id = path_int(ctx.seg(1))?;
    let db = ctx.state.db.read().unwrap_or_else(|e| e.into_inner());
    let cat = u32::try_from(id)
        .ok()
        .and_then(|id| db.category(id))
        .ok_or_else(|| ApiError::no_such_entity("id", id))?;
    let cat_id = cat.id.to_string();
    let mut o = JsonOut::with_capacity(4096);
    o.begin_arr();
    for p in db.live_products() {
        if let Some((_, pos)) = p.category_links.iter().find(|(c, _)| *c == cat.id) {
            o.begin_obj()
                .f_str("sku", &p.sku)
                .f_int("position", (*pos).into())
                .f_str("category_id", &cat_id)
                .end_obj();
        }
    }
    o.end_arr();
    Ok(o.finish())
}
