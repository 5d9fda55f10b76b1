//! Benchmarks for the manifest crate: written with the crate.
fn main() {}
