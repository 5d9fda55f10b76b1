//! `expo-updates`: see the crate description. Under construction.
#![forbid(unsafe_code)]
