//! The `expo-update-server` command; see the library documentation and `--help`.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser as _;
use expo_update_server::{cli, commands};

/// Threads for blocking work (file I/O, compression, `SQLite`).
const MAX_BLOCKING_THREADS: usize = 32;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // File I/O and compression run on the blocking pool; tokio's default of 512
        // threads would let a burst of requests grow memory far past what it gains.
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
