#![no_main]
//! Applying untrusted BSDIFF40 patches: never panic, never produce more
//! than the limit or other than the announced size. On request, the pair
//! also diffs into a patch that verifies and applies back to the target.
//!
//! Input: one flag byte (bit 0: stamp the `BSDIFF40` magic so most runs
//! reach the streams; bit 1: also diff base and patch, which is slower),
//! the base length (u16, little-endian), the base, and the patch.
use expo_patch::{Limits, Patch, apply};
use libfuzzer_sys::fuzz_target;

const LIMIT: u64 = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let [flags, lo, hi, rest @ ..] = data else {
        return;
    };
    let base_len = usize::from(u16::from_le_bytes([*lo, *hi])).min(rest.len());
    let (base, patch) = rest.split_at(base_len);
    let mut patch = patch.to_vec();
    if flags & 1 == 1 && patch.len() >= 8 {
        patch[..8].copy_from_slice(b"BSDIFF40");
    }
    let limits = Limits::default().with_max_input_bytes(LIMIT);
    if let Ok(out) = apply(base, &patch, &limits) {
        let announced = u64::from_le_bytes(patch[24..32].try_into().expect("checked header"));
        assert_eq!(out.len() as u64, announced);
        assert!(announced <= LIMIT);
    }
    if flags & 2 == 2 {
        let built = Patch::build(base, &patch, &limits).expect("any pair diffs");
        assert_eq!(
            built.apply(base, &limits).expect("verified patch applies"),
            patch
        );
    }
});
