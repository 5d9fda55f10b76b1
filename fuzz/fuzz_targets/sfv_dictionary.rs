#![no_main]
//! Fuzz target `sfv_dictionary`: written with its crate.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|_data: &[u8]| {});
