//! Admin token, store scaffolding and customer group routes.

use super::Ctx;
use super::input::{body, path_int};
use crate::data::stores::{self, CUSTOMER_GROUPS, CustomerGroup};
use crate::errors::{ApiError, ApiResult};
use crate::json_out::{JsonOut, write_escaped};
use crate::query::QNode;
use crate::search_criteria::SearchCriteria;
use crate::tokens::LoginError;

/// `POST /V1/integration/admin/token` → the token as a JSON string.
pub fn admin_token(ctx: &Ctx<'_>) -> ApiResult<String> {
    let b = body(&ctx.body)?;
    b.check_known(&["username", "password"])?;
    let user = b.str("username")?.unwrap_or_default();
    let password = b.str("password")?.unwrap_or_default();
    match ctx.state.tokens.login(&user, &password) {
        Ok(token) => {
            let mut s = String::with_capacity(token.len() + 2);
            write_escaped(&mut s, &token);
            Ok(s)
        }
        Err(LoginError::Missing(field)) => Err(ApiError::required(field)),
        Err(LoginError::Invalid) => Err(ApiError::invalid_login()),
    }
}

/// `GET /V1/store/websites`.
pub fn websites(_ctx: &Ctx<'_>) -> ApiResult<String> {
    let mut o = JsonOut::with_capacity(256);
    stores::write_websites(&mut o);
    Ok(o.finish())
}

/// `GET /V1/store/storeGroups`.
pub fn groups(_ctx: &Ctx<'_>) -> ApiResult<String> {
    let mut o = JsonOut::with_capacity(256);
    stores::write_groups(&mut o);
    Ok(o.finish())
}

/// `GET /V1/store/storeViews`.
pub fn views(_ctx: &Ctx<'_>) -> ApiResult<String> {
    let mut o = JsonOut::with_capacity(512);
    stores::write_views(&mut o);
    Ok(o.finish())
}

/// `GET /V1/store/storeConfigs[?storeCodes[]=...]`.
pub fn configs(ctx: &Ctx<'_>) -> ApiResult<String> {
    let codes: Option<Vec<String>> = ctx.query.get("storeCodes").map(|n| match n {
        QNode::Leaf(s) => vec![s.clone()],
        QNode::Map(m) => m
            .iter()
            .filter_map(|(_, v)| v.leaf().map(str::to_string))
            .collect(),
    });
    let base = ctx
        .state
        .base_url
        .get()
        .map_or("http://localhost", String::as_str);
    let mut o = JsonOut::with_capacity(2048);
    stores::write_configs(&mut o, base, codes.as_deref());
    Ok(o.finish())
}

/// `GET /V1/customerGroups/search`.
pub fn customer_group_search(ctx: &Ctx<'_>) -> ApiResult<String> {
    let sc = SearchCriteria::from_query(&ctx.query, true)?;
    let page = sc.apply(CUSTOMER_GROUPS.iter(), |g, f| g.field(f), ctx.version())?;
    Ok(sc.write_results(&page, |o, g| g.write_json(o)))
}

/// `GET /V1/customerGroups/{id}`.
pub fn customer_group_get(ctx: &Ctx<'_>) -> ApiResult<String> {
    let id = path_int(ctx.seg(1))?;
    let g: &CustomerGroup = CUSTOMER_GROUPS
        .iter()
        .find(|g| i64::from(g.id) == id)
        .ok_or_else(|| ApiError::no_such_entity("id", id))?;
    let mut o = JsonOut::with_capacity(128);
    g.write_json(&mut o);
    Ok(o.finish())
}
