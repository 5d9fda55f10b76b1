#![no_main]
//! An `expo export` metadata.json: never panic, never accept a path that
//! leaves the export.
use expo_manifest::{ExportDir, Platform};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let root = std::path::Path::new("/nonexistent-export-root");
    if let Ok(export) = ExportDir::from_metadata_json(root, data) {
        for platform in Platform::ALL {
            // The files do not exist: every outcome must be an error, not a panic.
            assert!(export.platform(platform).is_err());
        }
    }
});
