//! `searchCriteria`: parsing from the query string, applying it to records, and the
//! `{"items", "search_criteria", "total_count"}` envelope of every `getList` route.
//!
//! Filters inside one group are ORed, groups are ANDed; sort orders apply in sequence (an omitted
//! direction sorts DESC, as `SortingProcessor` tests `== 'ASC'`); no `pageSize` means every row;
//! a page past the end is empty in 2.4 and repeats the last page in 2.3.

use crate::condition::{Condition, FieldValue, SortKey};
use crate::config::ApiVersion;
use crate::errors::{ApiError, ApiResult};
use crate::json_out::JsonOut;
use crate::query::QNode;

/// One filter as sent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FilterSpec {
    /// The column.
    pub field: String,
    /// The value (absent when not sent; echoed as `null` since the getter is required).
    pub value: Option<String>,
    /// The condition type, only echoed when sent.
    pub condition_type: Option<String>,
}

/// One sort order as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct SortSpec {
    /// The column.
    pub field: String,
    /// `ASC` or `DESC` (normalized to upper case), `None` when omitted.
    pub direction: Option<String>,
}

/// A parsed `searchCriteria`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchCriteria {
    /// Filter groups (AND across, OR inside).
    pub filter_groups: Vec<Vec<FilterSpec>>,
    /// Sort orders, `None` when not sent.
    pub sort_orders: Option<Vec<SortSpec>>,
    /// Page size, `None` when not sent.
    pub page_size: Option<i64>,
    /// Current page (1-based), `None` when not sent.
    pub current_page: Option<i64>,
}

/// The rows of one page and the unpaged count.
#[derive(Debug)]
pub struct Page<'a, T> {
    /// The rows of the requested page.
    pub items: Vec<&'a T>,
    /// The number of rows matching the filters, before paging.
    pub total: usize,
}

/// `filterGroups` → `filter_groups`: Magento maps input keys to getters either way.
pub fn snake(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for (i, c) in key.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn parse_int(n: &QNode) -> ApiResult<i64> {
    let s = n.leaf().unwrap_or("");
    s.trim()
        .parse::<i64>()
        .map_err(|_| ApiError::invalid_type(s, "int"))
}

fn entries(n: &QNode) -> &[(String, QNode)] {
    match n {
        QNode::Map(m) => m,
        QNode::Leaf(_) => &[],
    }
}

impl SearchCriteria {
    /// Reads `searchCriteria` from a parsed query. When `required` (every `getList` route) its
    /// absence is the 400 `"searchCriteria" is required`; `searchCriteria=` means "everything".
    pub fn from_query(q: &QNode, required: bool) -> ApiResult<SearchCriteria> {
        let Some(root) = q.get("searchCriteria") else {
            return if required {
                Err(ApiError::required("searchCriteria"))
            } else {
                Ok(SearchCriteria::default())
            };
        };
        let mut sc = SearchCriteria::default();
        for (k, v) in entries(root) {
            match snake(k).as_str() {
                "filter_groups" => {
                    // Both spellings map to one setter, so a later key replaces an earlier one.
                    sc.filter_groups.clear();
                    for (_, g) in entries(v) {
                        let mut group = Vec::new();
                        for (gk, filters) in entries(g) {
                            if snake(gk) != "filters" {
                                return Err(ApiError::not_supported(gk));
                            }
                            for (_, f) in entries(filters) {
                                group.push(parse_filter(f)?);
                            }
                        }
                        sc.filter_groups.push(group);
                    }
                }
                "sort_orders" => {
                    let mut sorts = Vec::new();
                    for (_, s) in entries(v) {
                        let mut field = None;
                        let mut direction = None;
                        for (sk, sv) in entries(s) {
                            match snake(sk).as_str() {
                                "field" => field = sv.leaf().map(str::to_string),
                                "direction" => {
                                    let d = sv.leaf().unwrap_or("").to_ascii_uppercase();
                                    if d != "ASC" && d != "DESC" {
                                        return Err(ApiError::bad_sort_direction());
                                    }
                                    direction = Some(d);
                                }
                                _ => return Err(ApiError::not_supported(sk)),
                            }
                        }
                        let field = field.ok_or_else(|| ApiError::required("field"))?;
                        sorts.push(SortSpec { field, direction });
                    }
                    sc.sort_orders = Some(sorts);
                }
                "page_size" => sc.page_size = Some(parse_int(v)?),
                "current_page" => sc.current_page = Some(parse_int(v)?),
                _ => return Err(ApiError::not_supported(k)),
            }
        }
        Ok(sc)
    }

    /// A criteria with one `field eq value` filter (used by convenience routes).
    pub fn eq(field: &str, value: &str) -> SearchCriteria {
        SearchCriteria {
            filter_groups: vec![vec![FilterSpec {
                field: field.to_string(),
                value: Some(value.to_string()),
                condition_type: None,
            }]],
            ..SearchCriteria::default()
        }
    }

    /// Filters, sorts and pages `items`. `field` reads a column of a record and answers `None`
    /// for a column the table does not have (MySQL then fails, which Magento masks as a 500).
    pub fn apply<'a, T, I, F>(
        &self,
        items: I,
        field: F,
        version: ApiVersion,
    ) -> ApiResult<Page<'a, T>>
    where
        I: Iterator<Item = &'a T>,
        F: Fn(&'a T, &str) -> Option<FieldValue<'a>>,
    {
        let groups: Vec<Vec<Condition>> = self
            .filter_groups
            .iter()
            .filter(|g| !g.is_empty())
            .map(|g| {
                g.iter()
                    .map(|f| {
                        Condition::new(
                            &f.field,
                            f.condition_type.as_deref(),
                            f.value.as_deref().unwrap_or(""),
                        )
                        .map_err(|_| internal_error())
                    })
                    .collect::<ApiResult<Vec<_>>>()
            })
            .collect::<ApiResult<_>>()?;
        let mut rows: Vec<&'a T> = Vec::new();
        for item in items {
            let mut keep = true;
            for g in &groups {
                let mut any = false;
                for c in g {
                    let v = field(item, &c.field).ok_or_else(internal_error)?;
                    if c.matches(&v) {
                        any = true;
                        break;
                    }
                }
                if !any {
                    keep = false;
                    break;
                }
            }
            if keep {
                rows.push(item);
            }
        }
        if let Some(sorts) = self.sort_orders.as_ref().filter(|s| !s.is_empty()) {
            let mut keyed: Vec<(Vec<SortKey>, &'a T)> = Vec::with_capacity(rows.len());
            for r in rows {
                let mut keys = Vec::with_capacity(sorts.len());
                for s in sorts {
                    let v = field(r, &s.field).ok_or_else(internal_error)?;
                    keys.push(SortKey::of(&v));
                }
                keyed.push((keys, r));
            }
            // Stable, so rows tied on every key keep primary-key order, like InnoDB's scan.
            keyed.sort_by(|a, b| {
                for (i, s) in sorts.iter().enumerate() {
                    let o = a.0[i].compare(&b.0[i]);
                    let o = if s.direction.as_deref() == Some("ASC") {
                        o
                    } else {
                        o.reverse()
                    };
                    if o != std::cmp::Ordering::Equal {
                        return o;
                    }
                }
                std::cmp::Ordering::Equal
            });
            rows = keyed.into_iter().map(|(_, r)| r).collect();
        }
        let total = rows.len();
        let items = match self.page_size.filter(|&s| s > 0) {
            None => rows,
            Some(size) => {
                let size = size as usize;
                let mut page = self.current_page.unwrap_or(1).max(1) as usize;
                let last = total.div_ceil(size).max(1);
                if version == ApiVersion::V2_3 && page > last {
                    // ≤ 2.3: Collection::getCurPage() clamps to the last page.
                    page = last;
                }
                let start = (page - 1).saturating_mul(size);
                rows.into_iter().skip(start).take(size).collect()
            }
        };
        Ok(Page { items, total })
    }

    /// Writes the `search_criteria` echo: `filter_groups` always, the rest only when sent.
    pub fn write_echo(&self, o: &mut JsonOut) {
        o.begin_obj().key("filter_groups").begin_arr();
        for g in &self.filter_groups {
            o.begin_obj().key("filters").begin_arr();
            for f in g {
                o.begin_obj().f_str("field", &f.field);
                match &f.value {
                    Some(v) => o.f_str("value", v),
                    None => o.f_null("value"),
                };
                o.f_opt_str("condition_type", f.condition_type.as_deref());
                o.end_obj();
            }
            o.end_arr().end_obj();
        }
        o.end_arr();
        if let Some(sorts) = &self.sort_orders {
            o.key("sort_orders").begin_arr();
            for s in sorts {
                o.begin_obj().f_str("field", &s.field);
                match &s.direction {
                    Some(d) => o.f_str("direction", d),
                    None => o.f_null("direction"),
                };
                o.end_obj();
            }
            o.end_arr();
        }
        o.f_opt_int("page_size", self.page_size);
        o.f_opt_int("current_page", self.current_page);
        o.end_obj();
    }

    /// Writes the whole search result envelope, each row through `item`.
    pub fn write_results<T>(
        &self,
        page: &Page<'_, T>,
        mut item: impl FnMut(&mut JsonOut, &T),
    ) -> String {
        let mut o = JsonOut::with_capacity(256 + page.items.len() * 1024);
        o.begin_obj().key("items").begin_arr();
        for it in &page.items {
            item(&mut o, it);
        }
        o.end_arr().key("search_criteria");
        self.write_echo(&mut o);
        o.f_int("total_count", page.total as i64).end_obj();
        o.finish()
    }
}

fn parse_filter(f: &QNode) -> ApiResult<FilterSpec> {
    let mut spec = FilterSpec::default();
    let mut field = None;
    for (k, v) in entries(f) {
        let val = v.leaf().unwrap_or("").to_string();
        match snake(k).as_str() {
            "field" => field = Some(val),
            "value" => spec.value = Some(val),
            "condition_type" => spec.condition_type = Some(val),
            _ => return Err(ApiError::not_supported(k)),
        }
    }
    spec.field = field.ok_or_else(|| ApiError::required("field"))?;
    Ok(spec)
}

fn internal_error() -> ApiError {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    ApiError::internal(crate::data::rng::mix(N.fetch_add(1, Ordering::Relaxed)) >> 12)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse_query;

    #[test]
    fn parses_camel_and_snake() {
        let q = parse_query(
            "searchCriteria[filterGroups][0][filters][0][field]=a&searchCriteria[filterGroups][0][filters][1][field]=b&searchCriteria[filterGroups][0][filters][1][condition_type]=like&searchCriteria[sort_orders][0][field]=a&searchCriteria[sort_orders][0][direction]=asc&searchCriteria[pageSize]=5",
        );
        let sc = SearchCriteria::from_query(&q, true).unwrap();
        assert_eq!(sc.filter_groups.len(), 1);
        assert_eq!(sc.filter_groups[0].len(), 2);
        assert_eq!(
            sc.sort_orders.as_ref().unwrap()[0].direction.as_deref(),
            Some("ASC")
        );
        assert_eq!(sc.page_size, Some(5));
        assert_eq!(sc.current_page, None);
        assert_eq!(snake("conditionType"), "condition_type");
    }
}
