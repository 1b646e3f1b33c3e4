//! PHP-style query strings: `searchCriteria[filter_groups][0][filters][0][field]=sku`.
//!
//! Magento reads GET arguments through PHP's `$_GET`, which turns bracketed keys into nested
//! arrays that keep insertion order. [`parse_query`] rebuilds that tree.

/// A node of a parsed query string.
#[derive(Debug, Clone, PartialEq)]
pub enum QNode {
    /// A scalar value.
    Leaf(String),
    /// A PHP array: keys in insertion order.
    Map(Vec<(String, QNode)>),
}

impl QNode {
    /// The child under `key`, if this is a map that has it.
    pub fn get(&self, key: &str) -> Option<&QNode> {
        match self {
            QNode::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            QNode::Leaf(_) => None,
        }
    }

    /// The scalar value, if this is a leaf.
    pub fn leaf(&self) -> Option<&str> {
        match self {
            QNode::Leaf(s) => Some(s),
            QNode::Map(_) => None,
        }
    }

    fn child_mut(&mut self, key: Option<&str>) -> &mut QNode {
        if let QNode::Leaf(_) = self {
            // PHP replaces a scalar by an array when a later key nests under it.
            *self = QNode::Map(Vec::new());
        }
        let QNode::Map(m) = self else {
            unreachable!("just made a map")
        };
        let key = match key {
            Some(k) => k.to_string(),
            None => {
                // `a[]=x`: the next integer key, as PHP appends.
                let next = m
                    .iter()
                    .filter_map(|(k, _)| k.parse::<i64>().ok())
                    .max()
                    .map_or(0, |n| n + 1);
                next.to_string()
            }
        };
        let pos = match m.iter().position(|(k, _)| *k == key) {
            Some(p) => p,
            None => {
                m.push((key, QNode::Leaf(String::new())));
                m.len() - 1
            }
        };
        &mut m[pos].1
    }
}

/// Parses a raw (still percent-encoded) query string into a map node.
pub fn parse_query(q: &str) -> QNode {
    let mut root = QNode::Map(Vec::new());
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(k, true);
        let value = percent_decode(v, true);
        let (base, rest) = match key.find('[') {
            Some(i) if i > 0 => (&key[..i], &key[i..]),
            _ => (key.as_str(), ""),
        };
        let mut segs: Vec<Option<&str>> = Vec::new();
        let mut r = rest;
        while let Some(stripped) = r.strip_prefix('[') {
            match stripped.find(']') {
                Some(end) => {
                    let s = &stripped[..end];
                    segs.push(if s.is_empty() { None } else { Some(s) });
                    r = &stripped[end + 1..];
                }
                None => break,
            }
        }
        let mut node = root.child_mut(Some(base));
        for s in segs {
            node = node.child_mut(s);
        }
        *node = QNode::Leaf(value);
    }
    root
}

/// Decodes `%XX` escapes (and `+` as a space in query strings). Invalid escapes are kept as
/// they are and invalid UTF-8 is replaced, so no input can make this fail.
pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    if !s.bytes().any(|b| b == b'%' || (plus_is_space && b == b'+')) {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_keys_and_decoding() {
        let q = parse_query(
            "searchCriteria%5BfilterGroups%5D%5B0%5D%5Bfilters%5D%5B0%5D%5Bfield%5D=sku&searchCriteria[filterGroups][0][filters][0][value]=a%25b+c&storeCodes[]=x&storeCodes[]=y",
        );
        let f = q
            .get("searchCriteria")
            .and_then(|n| n.get("filterGroups"))
            .and_then(|n| n.get("0"))
            .and_then(|n| n.get("filters"))
            .and_then(|n| n.get("0"))
            .unwrap();
        assert_eq!(f.get("field").and_then(QNode::leaf), Some("sku"));
        assert_eq!(f.get("value").and_then(QNode::leaf), Some("a%b c"));
        let codes = q.get("storeCodes").unwrap();
        assert_eq!(codes.get("1").and_then(QNode::leaf), Some("y"));
        assert_eq!(percent_decode("%2F%zz%", false), "/%zz%");
    }
}
