//! Benchmarks for the sfv crate: written with the crate.
fn main() {}
