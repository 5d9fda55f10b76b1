//! Benchmarks for the multipart crate: written with the crate.
fn main() {}
