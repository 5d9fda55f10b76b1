//! Telling this process at once that it changed what is served.
//!
//! Every write that changes what is served bumps the store's change counter, which each
//! server polls (so changes made by other processes show within a poll interval). A change
//! this process makes itself, such as an automatic rollback, need not wait for the poll: the
//! operation tells a [`ChangeListener`]. The HTTP layer's manifest cache is one; operations
//! name only this trait, so they need nothing of the HTTP layer.

use std::fmt;

/// Told when this process changed what is served.
pub trait ChangeListener: Send + Sync + fmt::Debug {
    /// What is served may have changed: forget what was derived from it.
    fn on_change(&self);
}
