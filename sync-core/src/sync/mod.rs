//! The synchronizers: the flows of import, export and deletion, written once.
