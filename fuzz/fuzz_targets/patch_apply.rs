#![no_main]
//! Applying untrusted BSDIFF40 patches: never panic, never produce more
//! than the limit or other than the announced size. Every pair of inputs
//! also diffs into a patch that verifies and applies back to the target.
use expo_patch::{Limits, Patch, apply};
use libfuzzer_sys::{arbitrary, fuzz_target};

#[derive(Debug, arbitrary::Arbitrary)]
struct Input<'a> {
    base: &'a [u8],
    patch: &'a [u8],
    /// Stamp the magic so most runs reach the streams.
    magic: bool,
}

const LIMIT: u64 = 1 << 20;

fuzz_target!(|input: Input<'_>| {
    let mut patch = input.patch.to_vec();
    if input.magic && patch.len() >= 8 {
        patch[..8].copy_from_slice(b"BSDIFF40");
    }
    let limits = Limits::default().with_max_input_bytes(LIMIT);
    if let Ok(out) = apply(input.base, &patch, &limits) {
        let announced = u64::from_le_bytes(patch[24..32].try_into().expect("checked header"));
        assert_eq!(out.len() as u64, announced);
        assert!(announced <= LIMIT);
    }
    let built = Patch::build(input.base, input.patch, &limits).expect("any pair diffs");
    assert_eq!(
        built
            .apply(input.base, &limits)
            .expect("verified patch applies"),
        input.patch
    );
});
