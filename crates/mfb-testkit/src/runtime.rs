//! Runs async database work to completion from any context.
//!
//! Tests call the testkit both from plain `#[test]` functions and from inside
//! `#[tokio::test]` runtimes, where `block_on` would panic. Each call therefore gets a
//! short-lived current-thread runtime on a scoped thread of its own.

use std::future::Future;

/// Runs `make()`'s future on a fresh runtime on its own thread and returns its output.
pub(crate) fn run_blocking<F, Fut, T>(make: F) -> T
where
    F: FnOnce() -> Fut + Send,
    Fut: Future<Output = T>,
    T: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("mfb-testkit: could not build a tokio runtime");
                runtime.block_on(make())
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}
