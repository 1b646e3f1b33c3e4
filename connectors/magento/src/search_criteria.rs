//! Building Magento's `searchCriteria` query string from a [`SearchQuery`].

use serde_json::Value;
use sync_core::adapter::{Condition, PageRequest, SearchQuery};

/// The query parameters of a search: filter groups (ORed inside, ANDed across), sort orders
/// with an explicit direction (Magento sorts DESC when it is missing), the page size and the
/// 1-based current page.
pub fn search_criteria(query: &SearchQuery, page: Option<PageRequest>) -> Vec<(String, String)> {
    let mut params = Vec::new();
    for (g, group) in query.filter_groups.iter().enumerate() {
        for (f, filter) in group.iter().enumerate() {
            let prefix = format!("searchCriteria[filter_groups][{g}][filters][{f}]");
            params.push((format!("{prefix}[field]"), filter.field.clone()));
            params.push((format!("{prefix}[value]"), value_text(&filter.value)));
            params.push((
                format!("{prefix}[condition_type]"),
                condition_name(filter.condition).to_owned(),
            ));
        }
    }
    for (s, (field, ascending)) in query.sort.iter().enumerate() {
        params.push((
            format!("searchCriteria[sortOrders][{s}][field]"),
            field.clone(),
        ));
        let direction = if *ascending { "ASC" } else { "DESC" };
        params.push((
            format!("searchCriteria[sortOrders][{s}][direction]"),
            direction.to_owned(),
        ));
    }
    match page {
        Some(page) => {
            params.push(("searchCriteria[pageSize]".into(), page.size.to_string()));
            params.push((
                "searchCriteria[currentPage]".into(),
                page.number.to_string(),
            ));
        }
        // `searchCriteria` must be present even for "everything".
        None if params.is_empty() => params.push(("searchCriteria".into(), String::new())),
        None => {}
    }
    params
}

/// Magento's name of a condition.
pub fn condition_name(condition: Condition) -> &'static str {
    match condition {
        Condition::Eq => "eq",
        Condition::Neq => "neq",
        Condition::Gt => "gt",
        Condition::Gteq => "gteq",
        Condition::Lt => "lt",
        Condition::Lteq => "lteq",
        Condition::In => "in",
        Condition::Nin => "nin",
        Condition::Like => "like",
        Condition::Nlike => "nlike",
        Condition::Null => "null",
        Condition::Notnull => "notnull",
        Condition::From => "from",
        Condition::To => "to",
        Condition::Finset => "finset",
    }
}

/// `in`/`nin` take a comma-separated list; other values go as text.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join(","),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sync_core::adapter::Filter;

    #[test]
    fn groups_sorts_and_pages() {
        let query = SearchQuery::new()
            .filter("updated_at", Condition::Gteq, "2024-05-01 00:00:00")
            .any_of(vec![
                Filter {
                    field: "status".into(),
                    condition: Condition::Eq,
                    value: json!("pending"),
                },
                Filter {
                    field: "entity_id".into(),
                    condition: Condition::In,
                    value: json!([1, 2]),
                },
            ])
            .sort_by("updated_at", true);
        let params = search_criteria(
            &query,
            Some(PageRequest {
                number: 2,
                size: 50,
            }),
        );
        let get = |k: &str| {
            params
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(
            get("searchCriteria[filter_groups][0][filters][0][condition_type]"),
            Some("gteq")
        );
        assert_eq!(
            get("searchCriteria[filter_groups][1][filters][1][value]"),
            Some("1,2")
        );
        assert_eq!(get("searchCriteria[sortOrders][0][direction]"), Some("ASC"));
        assert_eq!(get("searchCriteria[currentPage]"), Some("2"));
        assert_eq!(
            search_criteria(&SearchQuery::new(), None),
            vec![("searchCriteria".to_owned(), String::new())]
        );
    }
}
