//! One searchCriteria filter, compiled, and the value of a record's column it tests.
//!
//! The semantics follow Magento's `FilterProcessor` and the MySQL adapter's
//! `prepareSqlCondition`: string comparisons are case-insensitive (MySQL collation), a NULL
//! column matches nothing but `null` (SQL three-valued logic), `in`/`nin` split on commas,
//! `fulltext` is `like %v%`, and an unknown condition type falls back to equality.

use crate::data::time::parse_datetime;
use regex::Regex;
use std::borrow::Cow;
use std::cmp::Ordering;

/// The value of one column of a record, as a filter or a sort sees it.
#[derive(Debug, Clone)]
pub enum FieldValue<'a> {
    /// SQL NULL (an optional attribute without a value).
    Null,
    /// An integer column.
    Int(i64),
    /// A decimal column.
    Num(f64),
    /// A text column.
    Str(Cow<'a, str>),
    /// A DATETIME column, in Unix seconds.
    Date(i64),
    /// Several values through a join (a product's category ids): a filter matches if any does.
    List(Vec<FieldValue<'a>>),
}

impl<'a> From<&'a str> for FieldValue<'a> {
    fn from(s: &'a str) -> Self {
        FieldValue::Str(Cow::Borrowed(s))
    }
}

impl<'a> From<Option<&'a str>> for FieldValue<'a> {
    fn from(s: Option<&'a str>) -> Self {
        s.map_or(FieldValue::Null, |s| FieldValue::Str(Cow::Borrowed(s)))
    }
}

impl From<i64> for FieldValue<'_> {
    fn from(v: i64) -> Self {
        FieldValue::Int(v)
    }
}

/// A condition type of `searchCriteria[...][condition_type]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `= ?`
    Eq,
    /// `!= ?`
    Neq,
    /// `LIKE ?`
    Like,
    /// `NOT LIKE ?`
    Nlike,
    /// `IN (?)`
    In,
    /// `NOT IN (?)`
    Nin,
    /// `> ?`
    Gt,
    /// `< ?`
    Lt,
    /// `>= ?` (also `from`, `moreq`)
    Gteq,
    /// `<= ?` (also `to`)
    Lteq,
    /// `FIND_IN_SET(?, field)`
    Finset,
    /// `NOT FIND_IN_SET(?, field)`
    Nfinset,
    /// `IS NULL`
    Null,
    /// `IS NOT NULL`
    NotNull,
    /// `REGEXP ?`
    Regexp,
    /// `NOT REGEXP ?`
    Nregexp,
}

impl Op {
    /// Maps a condition type; unknown ones are equality, as the adapter's fallback is.
    pub fn parse(s: &str) -> Op {
        match s {
            "neq" => Op::Neq,
            "like" | "fulltext" => Op::Like,
            "nlike" => Op::Nlike,
            "in" => Op::In,
            "nin" => Op::Nin,
            "gt" => Op::Gt,
            "lt" => Op::Lt,
            "gteq" | "from" | "moreq" => Op::Gteq,
            "lteq" | "to" => Op::Lteq,
            "finset" => Op::Finset,
            "nfinset" => Op::Nfinset,
            "null" => Op::Null,
            "notnull" => Op::NotNull,
            "regexp" => Op::Regexp,
            "nregexp" => Op::Nregexp,
            _ => Op::Eq,
        }
    }
}

/// A literal of the filter, pre-parsed for each column type.
#[derive(Debug, Clone)]
struct Literal {
    lower: String,
    num: f64,
    date: Option<i64>,
}

impl Literal {
    fn new(s: &str) -> Self {
        Literal {
            lower: s.to_lowercase(),
            num: mysql_number(s),
            date: parse_datetime(s),
        }
    }
}

/// A filter ready to test records.
#[derive(Debug, Clone)]
pub struct Condition {
    /// The column.
    pub field: String,
    op: Op,
    lits: Vec<Literal>,
    like: Vec<char>,
    regex: Option<Regex>,
}

/// Why a filter could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConditionError {
    /// The `regexp` pattern is invalid: MySQL raises an error, which Magento masks as a 500.
    BadRegex,
}

impl Condition {
    /// Compiles `field <condition_type> value`.
    pub fn new(
        field: &str,
        condition_type: Option<&str>,
        value: &str,
    ) -> Result<Self, ConditionError> {
        let op = condition_type.map_or(Op::Eq, Op::parse);
        let (like_src, lits) = match op {
            Op::In | Op::Nin => (String::new(), value.split(',').map(Literal::new).collect()),
            Op::Like | Op::Nlike => {
                let src = if condition_type == Some("fulltext") {
                    format!("%{value}%")
                } else {
                    value.to_string()
                };
                (src, vec![Literal::new(value)])
            }
            _ => (String::new(), vec![Literal::new(value)]),
        };
        let regex = match op {
            Op::Regexp | Op::Nregexp => {
                Some(Regex::new(&format!("(?i){value}")).map_err(|_| ConditionError::BadRegex)?)
            }
            _ => None,
        };
        Ok(Condition {
            field: field.to_string(),
            op,
            lits,
            like: like_src.to_lowercase().chars().collect(),
            regex,
        })
    }

    /// Whether a record whose column holds `v` passes.
    pub fn matches(&self, v: &FieldValue<'_>) -> bool {
        if let FieldValue::List(items) = v {
            return match self.op {
                Op::Null => items.is_empty(),
                Op::NotNull => !items.is_empty(),
                _ => items.iter().any(|i| self.matches(i)),
            };
        }
        if matches!(v, FieldValue::Null) {
            return self.op == Op::Null;
        }
        let first = &self.lits[0];
        match self.op {
            Op::Null => false,
            Op::NotNull => true,
            Op::Eq => compare(v, first) == Ordering::Equal,
            Op::Neq => compare(v, first) != Ordering::Equal,
            Op::In => self.lits.iter().any(|l| compare(v, l) == Ordering::Equal),
            Op::Nin => self.lits.iter().all(|l| compare(v, l) != Ordering::Equal),
            Op::Gt => compare(v, first) == Ordering::Greater,
            Op::Lt => compare(v, first) == Ordering::Less,
            Op::Gteq => compare(v, first) != Ordering::Less,
            Op::Lteq => compare(v, first) != Ordering::Greater,
            Op::Like => like(&text(v).to_lowercase(), &self.like),
            Op::Nlike => !like(&text(v).to_lowercase(), &self.like),
            Op::Finset => finset(v, first),
            Op::Nfinset => !finset(v, first),
            Op::Regexp => self.regex.as_ref().is_some_and(|r| r.is_match(&text(v))),
            Op::Nregexp => self.regex.as_ref().is_some_and(|r| !r.is_match(&text(v))),
        }
    }
}

fn finset(v: &FieldValue<'_>, lit: &Literal) -> bool {
    text(v)
        .split(',')
        .any(|part| part.to_lowercase() == lit.lower)
}

/// The column as MySQL would print it.
pub fn text<'b>(v: &'b FieldValue<'_>) -> Cow<'b, str> {
    match v {
        FieldValue::Null => Cow::Borrowed(""),
        FieldValue::Int(i) => Cow::Owned(i.to_string()),
        FieldValue::Num(n) => {
            let mut s = String::new();
            crate::json_out::write_num(&mut s, *n);
            Cow::Owned(s)
        }
        FieldValue::Str(s) => Cow::Borrowed(s.as_ref()),
        FieldValue::Date(ts) => Cow::Owned(crate::data::time::format_datetime(*ts)),
        FieldValue::List(items) => Cow::Owned(
            items
                .iter()
                .map(|i| text(i).into_owned())
                .collect::<Vec<_>>()
                .join(","),
        ),
    }
}

fn compare(v: &FieldValue<'_>, lit: &Literal) -> Ordering {
    match v {
        FieldValue::Int(i) => (*i as f64).partial_cmp(&lit.num).unwrap_or(Ordering::Less),
        FieldValue::Num(n) => n.partial_cmp(&lit.num).unwrap_or(Ordering::Less),
        FieldValue::Str(s) => caseless_cmp(s, &lit.lower),
        FieldValue::Date(ts) => match lit.date {
            Some(d) => ts.cmp(&d),
            // Not a date literal: MySQL compares the printed value as a string.
            None => crate::data::time::format_datetime(*ts).cmp(&lit.lower),
        },
        FieldValue::Null | FieldValue::List(_) => Ordering::Less,
    }
}

fn caseless_cmp(a: &str, lower_b: &str) -> Ordering {
    if a.is_ascii() {
        let mut ai = a.bytes().map(|c| c.to_ascii_lowercase());
        let mut bi = lower_b.bytes();
        loop {
            match (ai.next(), bi.next()) {
                (None, None) => return Ordering::Equal,
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
                (Some(x), Some(y)) if x != y => return x.cmp(&y),
                _ => {}
            }
        }
    }
    a.to_lowercase().as_str().cmp(lower_b)
}

/// MySQL's string-to-number cast: the longest numeric prefix, 0 when there is none.
pub fn mysql_number(s: &str) -> f64 {
    let t = s.trim_start();
    let mut end = 0;
    let b = t.as_bytes();
    if end < b.len() && (b[end] == b'-' || b[end] == b'+') {
        end += 1;
    }
    let mut seen_dot = false;
    let mut seen_exp = false;
    while end < b.len() {
        match b[end] {
            b'0'..=b'9' => {}
            b'.' if !seen_dot && !seen_exp => seen_dot = true,
            b'e' | b'E' if !seen_exp && end > 0 => {
                seen_exp = true;
                if end + 1 < b.len() && (b[end + 1] == b'-' || b[end + 1] == b'+') {
                    end += 1;
                }
            }
            _ => break,
        }
        end += 1;
    }
    let mut p = &t[..end];
    while !p.is_empty() && p.parse::<f64>().is_err() {
        p = &p[..p.len() - 1];
    }
    p.parse().unwrap_or(0.0)
}

/// SQL LIKE with `%` (any run) and `_` (one char) and `\` escapes; both sides lowercased.
fn like(s: &str, pat: &[char]) -> bool {
    let s: Vec<char> = s.chars().collect();
    // Iterative wildcard match with backtracking to the last `%`.
    let (mut si, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < pat.len() {
            match pat[pi] {
                '%' => {
                    star = Some((pi, si));
                    pi += 1;
                    continue;
                }
                '_' => {
                    si += 1;
                    pi += 1;
                    continue;
                }
                '\\' if pi + 1 < pat.len() && pat[pi + 1] == s[si] => {
                    si += 1;
                    pi += 2;
                    continue;
                }
                c if c == s[si] && c != '\\' => {
                    si += 1;
                    pi += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, ss)) => {
                pi = sp + 1;
                si = ss + 1;
                star = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
    while pi < pat.len() && pat[pi] == '%' {
        pi += 1;
    }
    pi == pat.len()
}

/// A precomputed sort key for one column of one record.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    /// NULL sorts first ascending, as in MySQL.
    Null,
    /// Numbers and dates.
    Num(f64),
    /// Text, lowercased (case-insensitive collation).
    Text(String),
}

impl SortKey {
    /// The key of a column value.
    pub fn of(v: &FieldValue<'_>) -> SortKey {
        match v {
            FieldValue::Null => SortKey::Null,
            FieldValue::Int(i) => SortKey::Num(*i as f64),
            FieldValue::Num(n) => SortKey::Num(*n),
            FieldValue::Date(t) => SortKey::Num(*t as f64),
            FieldValue::Str(s) => SortKey::Text(s.to_lowercase()),
            FieldValue::List(items) => items.first().map_or(SortKey::Null, SortKey::of),
        }
    }

    /// Total order over keys.
    pub fn compare(&self, other: &SortKey) -> Ordering {
        match (self, other) {
            (SortKey::Null, SortKey::Null) => Ordering::Equal,
            (SortKey::Null, _) => Ordering::Less,
            (_, SortKey::Null) => Ordering::Greater,
            (SortKey::Num(a), SortKey::Num(b)) => a.total_cmp(b),
            (SortKey::Text(a), SortKey::Text(b)) => a.cmp(b),
            (SortKey::Num(a), SortKey::Text(b)) => a.total_cmp(&mysql_number(b)),
            (SortKey::Text(a), SortKey::Num(b)) => mysql_number(a).total_cmp(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(field: FieldValue<'_>, op: &str, value: &str) -> bool {
        Condition::new("f", Some(op), value)
            .unwrap()
            .matches(&field)
    }

    #[test]
    fn operators() {
        assert!(m(
            "Roni_Cost@Example.com".into(),
            "eq",
            "roni_cost@example.com"
        ));
        assert!(m("Chaz Hoodie".into(), "like", "%hood%"));
        assert!(m("Chaz Hoodie".into(), "like", "c_az%"));
        assert!(!m("Chaz Hoodie".into(), "like", "hood%"));
        assert!(m("Chaz Hoodie".into(), "fulltext", "HOOD"));
        assert!(m(FieldValue::Int(3), "in", "1,3,5"));
        assert!(m(FieldValue::Int(4), "nin", "1,3,5"));
        assert!(m(FieldValue::Num(22.5), "gt", "22"));
        assert!(m(FieldValue::Int(5), "from", "5"));
        assert!(m(FieldValue::Int(5), "to", "5"));
        assert!(m(FieldValue::Int(5), "moreq", "5"));
        assert!(m("11,12,16".into(), "finset", "12"));
        assert!(m("11,12,16".into(), "nfinset", "13"));
        assert!(m(FieldValue::Null, "null", ""));
        assert!(!m(FieldValue::Null, "neq", "x"));
        assert!(m("x".into(), "notnull", ""));
        assert!(m("MH01-S-Gray".into(), "regexp", "^mh0[0-9]"));
        assert!(m("MH01-S-Gray".into(), "nregexp", "^ws"));
        assert!(m(FieldValue::Int(7), "gte", "7"));
        let d = parse_datetime("2024-05-01 10:00:00").unwrap();
        assert!(m(FieldValue::Date(d), "gteq", "2024-05-01"));
        assert!(!m(FieldValue::Date(d), "lt", "2024-05-01 10:00:00"));
        assert!(m(
            FieldValue::List(vec![FieldValue::Int(11), FieldValue::Int(12)]),
            "eq",
            "12"
        ));
        assert_eq!(mysql_number("12abc"), 12.0);
        assert_eq!(mysql_number("abc"), 0.0);
    }
}
