//! Benchmarks for the codesign crate: written with the crate.
fn main() {}
