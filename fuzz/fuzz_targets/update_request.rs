#![no_main]
//! Fuzz target `update_request`: written with its crate.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|_data: &[u8]| {});
