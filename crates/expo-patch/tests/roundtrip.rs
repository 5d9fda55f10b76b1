//! Random bases and targets round-trip through `Patch::build` and `apply`;
//! broken patches are errors, never panics or unbounded allocations.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

use expo_patch::{Error, Limits, Patch, apply};
use proptest::prelude::*;

/// A target that shares most bytes with its base, like a rebuilt bundle.
fn edited() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    (
        proptest::collection::vec(any::<u8>(), 0..2048),
        proptest::collection::vec((any::<prop::sample::Index>(), 0..3u8, any::<u8>()), 0..8),
    )
        .prop_map(|(base, edits)| {
            let mut target = base.clone();
            for (at, kind, byte) in edits {
                let i = if target.is_empty() {
                    0
                } else {
                    at.index(target.len())
                };
                match kind {
                    0 if !target.is_empty() => target[i] = byte,
                    1 if !target.is_empty() => {
                        target.remove(i);
                    }
                    _ => target.insert(i, byte),
                }
            }
            (base, target)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn unrelated_pairs_round_trip(
        base in proptest::collection::vec(any::<u8>(), 0..1024),
        target in proptest::collection::vec(any::<u8>(), 0..1024),
    ) {
        let patch = Patch::build(&base, &target, &Limits::default()).unwrap();
        prop_assert_eq!(apply(&base, patch.bytes(), &Limits::default()).unwrap(), target.clone());
        prop_assert_eq!(patch.apply(&base, &Limits::default()).unwrap(), target);
    }

    #[test]
    fn edited_pairs_round_trip((base, target) in edited()) {
        let patch = Patch::build(&base, &target, &Limits::default()).unwrap();
        prop_assert_eq!(patch.target_len(), target.len() as u64);
        prop_assert_eq!(patch.apply(&base, &Limits::default()).unwrap(), target);
    }

    /// A cut inside the header, control or diff stream is refused by the
    /// header check; a cut in the extra stream fails in bzip2 unless it only
    /// removed bytes no instruction reads (the stream's end marker), and a
    /// verified `Patch` never yields anything but its target.
    #[test]
    fn truncated_patches_fail(
        (base, target) in edited(),
        cut in any::<prop::sample::Index>(),
    ) {
        let patch = Patch::build(&base, &target, &Limits::default()).unwrap();
        let cut = cut.index(patch.len());
        let truncated = patch.bytes().slice(..cut);
        let streams_end = 32 + stream_len(&truncated, 8) + stream_len(&truncated, 16);
        match apply(&base, &truncated, &Limits::default()) {
            Err(Error::Malformed(_)) => {}
            Err(Error::Corrupt(_)) => prop_assert!(cut >= streams_end),
            Err(other) => prop_assert!(false, "{other}"),
            Ok(out) => prop_assert_eq!(out, target.clone()),
        }
        let stored = Patch::from_parts(truncated, patch.base_hash(), patch.base_len(), patch.target_hash());
        if let Ok(out) = stored.and_then(|stored| stored.apply(&base, &Limits::default())) {
            prop_assert_eq!(out, target);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        base in proptest::collection::vec(any::<u8>(), 0..256),
        mut patch in proptest::collection::vec(any::<u8>(), 0..512),
        magic in any::<bool>(),
    ) {
        if magic && patch.len() >= 8 {
            patch[..8].copy_from_slice(b"BSDIFF40");
        }
        let limits = Limits::default().with_max_input_bytes(1 << 20);
        if let Ok(out) = apply(&base, &patch, &limits) {
            prop_assert!(out.len() <= 1 << 20);
        }
    }
}

/// A length from a header, or 0 past the end of a cut patch.
fn stream_len(patch: &[u8], at: usize) -> usize {
    patch.get(at..at + 8).map_or(0, |b| {
        usize::try_from(u64::from_le_bytes(b.try_into().unwrap())).unwrap()
    })
}

fn header(control: u64, diff: u64, target: u64) -> Vec<u8> {
    let mut out = b"BSDIFF40".to_vec();
    for n in [control, diff, target] {
        out.extend_from_slice(&n.to_le_bytes());
    }
    out
}

#[test]
fn huge_claimed_output_is_refused_before_allocating() {
    let limits = Limits::default();
    for claimed in [Limits::DEFAULT_MAX_INPUT_BYTES + 1, 1 << 40, (1 << 63) - 1] {
        let err = apply(b"base", &header(0, 0, claimed), &limits).unwrap_err();
        assert!(
            matches!(err, Error::TooLarge { what: "patched output", len, .. } if len == claimed),
            "{err}"
        );
    }
}

#[test]
fn wrong_magic_and_short_headers_are_malformed() {
    let good = Patch::build(b"hello world", b"hello there world", &Limits::default()).unwrap();
    let mut wrong = good.bytes().to_vec();
    wrong[..8].copy_from_slice(b"BSDIFF41");
    for bad in [&wrong[..], &good.bytes()[..31], b"", b"BSDIFF40"] {
        assert!(matches!(
            apply(b"hello world", bad, &Limits::default()),
            Err(Error::Malformed(_))
        ));
    }
}

#[test]
fn output_past_the_announced_size_is_refused() {
    let base = b"the quick brown fox jumps over the lazy dog".repeat(20);
    let target = b"the quick brown cat jumps over the lazy dog".repeat(20);
    let patch = Patch::build(&base, &target, &Limits::default()).unwrap();
    // Announce fewer bytes than the instructions produce, then more.
    for announced in [target.len() as u64 - 1, target.len() as u64 + 1, 0] {
        let mut lying = patch.bytes().to_vec();
        lying[24..32].copy_from_slice(&announced.to_le_bytes());
        assert!(matches!(
            apply(&base, &lying, &Limits::default()),
            Err(Error::Corrupt(_))
        ));
    }
}

/// bzip2 checks a CRC only at the end of a block, and bspatch reads a
/// stream only as far as the instructions need: a damaged byte may go
/// unnoticed by `apply`, but never by `Patch::apply`, which checks the
/// target's hash.
#[test]
fn corrupt_streams_never_yield_a_wrong_target() {
    let base = b"0123456789abcdef".repeat(64);
    let mut target = base.clone();
    target[100..110].copy_from_slice(b"ABCDEFGHIJ");
    let patch = Patch::build(&base, &target, &Limits::default()).unwrap();
    let mut errors = 0;
    for at in 0..patch.len() {
        let mut broken = patch.bytes().to_vec();
        broken[at] ^= 0x55;
        let stored = Patch::from_parts(
            broken.into(),
            patch.base_hash(),
            patch.base_len(),
            patch.target_hash(),
        );
        match stored.and_then(|stored| stored.apply(&base, &Limits::default())) {
            Ok(out) => assert_eq!(out, target, "flipped byte {at}"),
            Err(_) => errors += 1,
        }
    }
    assert!(
        errors > patch.len() / 2,
        "only {errors} of {} flips detected",
        patch.len()
    );
}

#[test]
fn inputs_over_the_limit_are_refused() {
    let limits = Limits::default().with_max_input_bytes(16);
    let small = [0u8; 16];
    let large = [0u8; 17];
    assert!(Patch::build(&small, &small, &limits).is_ok());
    assert!(matches!(
        Patch::build(&large, &small, &limits),
        Err(Error::TooLarge {
            what: "base",
            len: 17,
            limit: 16
        })
    ));
    assert!(matches!(
        Patch::build(&small, &large, &limits),
        Err(Error::TooLarge {
            what: "target",
            len: 17,
            limit: 16
        })
    ));
}

#[test]
fn stored_patches_read_back() {
    let (base, target) = (b"abcdefgh".repeat(30), b"abcdxfgh".repeat(30));
    let built = Patch::build(&base, &target, &Limits::default()).unwrap();
    let stored = Patch::from_parts(
        built.bytes().clone(),
        built.base_hash(),
        built.base_len(),
        built.target_hash(),
    )
    .unwrap();
    assert_eq!(stored, built);
    assert_eq!(stored.apply(&base, &Limits::default()).unwrap(), target);
    assert!(
        Patch::from_parts(
            bytes::Bytes::from_static(b"nope"),
            built.base_hash(),
            built.base_len(),
            built.target_hash()
        )
        .is_err()
    );
}

#[test]
fn public_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Patch>();
    assert_send_sync::<Limits>();
    assert_send_sync::<Error>();
    assert_send_sync::<expo_patch::PatchRequest>();
}

fn bz2(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A patch of `controls` empty instructions (a few bytes once compressed),
/// announcing `target_len` bytes of output.
fn instruction_bomb(controls: usize, target_len: u64) -> Vec<u8> {
    let (ctrl, diff, extra) = (bz2(&vec![0; controls * 24]), bz2(b""), bz2(b""));
    let mut patch = header(ctrl.len() as u64, diff.len() as u64, target_len);
    for stream in [ctrl, diff, extra] {
        patch.extend_from_slice(&stream);
    }
    patch
}

#[test]
fn instruction_bombs_are_refused_before_running() {
    let bomb = instruction_bomb(1_000_000, 10);
    assert!(bomb.len() < 200, "{} bytes", bomb.len());
    let started = std::time::Instant::now();
    let err = apply(b"base", &bomb, &Limits::default()).unwrap_err();
    assert!(matches!(err, Error::Malformed(_)), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // Within the allowance the empty instructions run and produce nothing.
    let err = apply(b"base", &instruction_bomb(36, 10), &Limits::default()).unwrap_err();
    assert!(matches!(err, Error::Corrupt(_)), "{err}");
}
