/// Whether a patch is worth serving instead of the full launch asset.
///
/// Keeps a patch only when it is at most **half** the size of the
/// compressed full bundle (the brotli variant a client would otherwise
/// download). The margin pays for what a patch costs beyond its bytes: the
/// answer is `private, no-store` so no CDN or shared cache can hold it, the
/// server keeps one patch per base, and the device must read the old bundle
/// and rebuild the new one before it can launch. A patch of a real one-line
/// change is around 1% of the compressed bundle, far inside the margin;
/// patches near the bundle's size come from unrelated bundles (a new
/// dependency, a different Hermes version) where a full download is as good.
///
/// ```
/// use expo_patch::worth_serving;
///
/// assert!(worth_serving(5_000, 540_000));
/// assert!(worth_serving(270_000, 540_000));
/// assert!(!worth_serving(270_001, 540_000));
/// assert!(!worth_serving(0, 0));
/// ```
pub fn worth_serving(patch_len: u64, compressed_full_len: u64) -> bool {
    patch_len > 0 && u128::from(patch_len) * 2 <= u128::from(compressed_full_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_is_the_boundary() {
        assert!(worth_serving(1, 2));
        assert!(!worth_serving(2, 3));
        assert!(!worth_serving(u64::MAX, u64::MAX));
        assert!(!worth_serving(10, 0));
    }
}
