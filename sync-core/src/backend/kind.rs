//! Backend kinds and their version chain.

use std::collections::HashMap;
use std::sync::Arc;

/// A kind of external system, e.g. `magento`, or a version of it, e.g. `magento-2.4`.
///
/// Kinds form a chain from the most specific to the most generic: `magento-2.4` has the parent
/// `magento-2.3`, which has the parent `magento`. Component look-ups walk that chain, so a
/// version only registers the components where its API differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendKind {
    name: Arc<str>,
    parent: Option<Arc<str>>,
    version: Option<Arc<str>>,
}

impl BackendKind {
    /// A root kind, with no parent and no version.
    pub fn root(name: &str) -> Self {
        BackendKind {
            name: name.into(),
            parent: None,
            version: None,
        }
    }

    /// A version of `parent`, named `<family>-<version>` (e.g. `magento-2.4`).
    ///
    /// `family` is the root kind name the backend records use in their `kind` column.
    pub fn version(parent: &BackendKind, family: &str, version: &str) -> Self {
        BackendKind {
            name: format!("{family}-{version}").into(),
            parent: Some(parent.name.clone()),
            version: Some(version.into()),
        }
    }

    /// The kind's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name of the parent kind, if any.
    pub fn parent(&self) -> Option<&str> {
        self.parent.as_deref()
    }

    /// The version this kind stands for, if it is a version.
    pub fn version_name(&self) -> Option<&str> {
        self.version.as_deref()
    }
}

/// The known backend kinds, to resolve a backend's kind and version into a chain.
#[derive(Debug, Clone, Default)]
pub struct KindRegistry {
    kinds: HashMap<Arc<str>, BackendKind>,
}

impl KindRegistry {
    /// Registers a kind. Registering the same name again replaces it.
    pub fn add(&mut self, kind: BackendKind) {
        self.kinds.insert(kind.name.clone(), kind);
    }

    /// Looks a kind up by name.
    pub fn get(&self, name: &str) -> Option<&BackendKind> {
        self.kinds.get(name)
    }

    /// The name of the most specific kind for a backend record's `kind` and `version`:
    /// `magento` + `2.4` gives `magento-2.4` when that kind is registered, else `magento`.
    pub fn resolve(&self, family: &str, version: Option<&str>) -> String {
        if let Some(version) = version.filter(|v| !v.is_empty()) {
            let name = format!("{family}-{version}");
            if self.kinds.contains_key(name.as_str()) {
                return name;
            }
        }
        family.to_owned()
    }

    /// The chain of kind names from `name` (first) up to its root (last).
    ///
    /// An unregistered name gives a chain of itself alone; a cycle is cut where it repeats.
    pub fn chain(&self, name: &str) -> Vec<Arc<str>> {
        let mut chain: Vec<Arc<str>> = Vec::new();
        let mut current: Arc<str> = name.into();
        loop {
            if chain.contains(&current) {
                break;
            }
            chain.push(current.clone());
            match self.kinds.get(&current).and_then(|k| k.parent.clone()) {
                Some(parent) => current = parent,
                None => break,
            }
        }
        chain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_chain_runs_most_specific_first() {
        let mut kinds = KindRegistry::default();
        let magento = BackendKind::root("magento");
        let m23 = BackendKind::version(&magento, "magento", "2.3");
        let m24 = BackendKind::version(&m23, "magento", "2.4");
        kinds.add(magento);
        kinds.add(m23);
        kinds.add(m24);
        let chain = kinds.chain("magento-2.4");
        let names: Vec<&str> = chain.iter().map(|s| &**s).collect();
        assert_eq!(names, ["magento-2.4", "magento-2.3", "magento"]);
        assert_eq!(kinds.resolve("magento", Some("2.4")), "magento-2.4");
        assert_eq!(kinds.resolve("magento", Some("9.9")), "magento");
        assert_eq!(kinds.resolve("magento", None), "magento");
    }
}
