//! `expo-codesign`: see the crate description. Under construction.
#![forbid(unsafe_code)]
