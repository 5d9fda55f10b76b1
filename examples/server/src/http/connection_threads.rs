//! The threads connections are served on: one single-threaded runtime per core, each
//! owning its connections' sockets and timers.
//!
//! On the process's multi-threaded runtime a connection's socket wakes whichever worker
//! its reactor event lands on, and tasks migrate between workers: for short cached answers
//! those cross-thread wake-ups and steals cost more than the answer itself (a bare axum
//! server on a multi-threaded runtime answers about 0.85x of what the same handler does on
//! one runtime per core). The accept loop stays on the process's runtime and hands each
//! accepted socket to these threads in turn; the socket is registered anew with the
//! receiving runtime's reactor, so every later wake-up of that connection stays on its
//! thread. Everything else (the store, the flusher, the change watcher, `/metrics` on its
//! own address) keeps running on the process's runtime.
//!
//! A connection thread never blocks: file reads and compression go to its runtime's own
//! blocking pool, capped at [`BLOCKING_THREADS`].

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;

/// Most blocking-pool threads of each connection thread's runtime (file reads,
/// compression of published assets): enough to overlap disk waits, few enough that a
/// burst does not grow memory a thread stack at a time.
pub const BLOCKING_THREADS: usize = 8;

/// Running connection threads; dropping them stops each one's runtime (after the accept
/// loop has drained or closed its connections).
#[derive(Debug)]
pub struct ConnectionThreads {
    threads: Vec<ConnectionThread>,
    next: AtomicUsize,
}

#[derive(Debug)]
struct ConnectionThread {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
}

impl ConnectionThreads {
    /// Starts `count` threads, named `expo-http-N`; none for 0 (connections are then
    /// served on the caller's runtime).
    ///
    /// # Errors
    /// When a thread or its runtime cannot be started; those already started are stopped.
    pub fn start(count: usize) -> io::Result<Self> {
        let mut threads = Vec::with_capacity(count);
        for index in 0..count {
            threads.push(ConnectionThread::start(index)?);
        }
        Ok(Self {
            threads,
            next: AtomicUsize::new(0),
        })
    }

    /// No threads: connections are served on the caller's runtime.
    #[must_use]
    pub fn none() -> Self {
        Self {
            threads: Vec::new(),
            next: AtomicUsize::new(0),
        }
    }

    /// The runtime the next connection is served on, in turn; `None` without threads.
    pub fn next(&self) -> Option<&Handle> {
        if self.threads.is_empty() {
            return None;
        }
        let turn = self.next.fetch_add(1, Ordering::Relaxed) % self.threads.len();
        Some(&self.threads[turn].handle)
    }

    /// How many threads serve connections.
    #[must_use]
    pub fn len(&self) -> usize {
        self.threads.len()
    }

    /// Whether connections are served on the caller's runtime.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.threads.is_empty()
    }
}

impl ConnectionThread {
    fn start(index: usize) -> io::Result<Self> {
        let runtime = Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(BLOCKING_THREADS)
            .thread_name(format!("expo-http-{index}-blocking"))
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        thread::Builder::new()
            .name(format!("expo-http-{index}"))
            .spawn(move || {
                // Runs the connections spawned onto `handle` until told to stop (or until
                // the sender is gone: the server is shutting down either way).
                let _ = runtime.block_on(stopped);
                // Blocking work still running (a file read of a closed connection) is not
                // waited for.
                runtime.shutdown_background();
            })?;
        Ok(Self {
            handle,
            stop: Some(stop),
        })
    }
}

impl Drop for ConnectionThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connections_go_to_each_thread_in_turn_and_run_there() {
        let threads = ConnectionThreads::start(2).unwrap();
        assert_eq!(threads.len(), 2);
        let mut names = Vec::new();
        for _ in 0..4 {
            let handle = threads.next().unwrap();
            let name = handle
                .spawn(async { thread::current().name().map(str::to_owned) })
                .await
                .unwrap();
            names.push(name.unwrap());
        }
        assert_eq!(
            names,
            ["expo-http-0", "expo-http-1", "expo-http-0", "expo-http-1"]
        );
    }

    #[tokio::test]
    async fn dropping_them_stops_their_runtimes() {
        let threads = ConnectionThreads::start(1).unwrap();
        let handle = threads.next().unwrap().clone();
        // A task that never ends is dropped with the runtime: its join handle says so.
        let forever = handle.spawn(std::future::pending::<()>());
        drop(threads);
        let ended = tokio::time::timeout(std::time::Duration::from_secs(5), forever)
            .await
            .expect("the runtime stops");
        assert!(ended.unwrap_err().is_cancelled());
    }

    #[test]
    fn none_serve_on_the_callers_runtime() {
        for threads in [
            ConnectionThreads::start(0).unwrap(),
            ConnectionThreads::none(),
        ] {
            assert!(threads.is_empty());
            assert!(threads.next().is_none());
        }
    }
}
