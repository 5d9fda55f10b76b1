//! Benchmarks for the accept crate: written with the crate.
fn main() {}
