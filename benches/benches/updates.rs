//! Benchmarks for the updates crate: written with the crate.
fn main() {}
