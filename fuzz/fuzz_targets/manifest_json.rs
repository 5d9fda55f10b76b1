#![no_main]
//! Fuzz target `manifest_json`: written with its crate.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|_data: &[u8]| {});
