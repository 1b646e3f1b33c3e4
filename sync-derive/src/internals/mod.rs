//! The front end shared by the derives: the error collector, the runtime crate path and
//! small attribute-parsing helpers.

pub mod crate_path;
pub mod ctxt;
pub mod parse;
