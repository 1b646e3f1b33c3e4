//! `synckit`: the operator command line.

fn main() {}
