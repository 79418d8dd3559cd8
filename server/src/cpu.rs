//! CPU-heavy work on user input (parsing and checking PromQL, rule files, dashboards) runs
//! here, off the async workers, so a request that costs seconds never stalls `/healthz` or
//! shutdown. At most [`RUNNING`] jobs run at once and at most [`WAITING`] wait; a caller
//! that goes away (its future dropped, e.g. the client disconnected) leaves the queue
//! before its job starts. How long a started job runs is bounded by the size limits of its
//! input (see `rules::promql::check_limits`), not by cancelling it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::LazyLock;
use std::time::Duration;

use tokio::sync::Semaphore;

/// Jobs running at once: one per core, leaving the async workers their share.
pub static RUNNING: LazyLock<usize> = LazyLock::new(|| {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(2)
        .max(1)
});
/// Jobs that may wait for a slot; more are refused at once.
pub const WAITING: usize = 64;
/// The longest a job waits for a slot before it is refused.
pub const MAX_WAIT: Duration = Duration::from_secs(10);

static SLOTS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(*RUNNING));
static QUEUED: AtomicUsize = AtomicUsize::new(0);

/// The pool is full: the caller should answer 503 and ask the client to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the server is busy checking other requests; retry in a second")
    }
}

impl std::error::Error for Busy {}

/// Counts a waiting job while it waits, and forgets it when the wait ends either way.
struct InQueue;

impl InQueue {
    fn enter() -> Option<InQueue> {
        let before = QUEUED.fetch_add(1, Ordering::AcqRel);
        if before >= WAITING {
            QUEUED.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(InQueue)
    }
}

impl Drop for InQueue {
    fn drop(&mut self) {
        QUEUED.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Runs `job` on a blocking thread once a slot is free.
pub async fn run<T, F>(job: F) -> Result<T, Busy>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let queued = InQueue::enter().ok_or(Busy)?;
    let permit = tokio::time::timeout(MAX_WAIT, SLOTS.acquire())
        .await
        .map_err(|_| Busy)?
        .map_err(|_| Busy)?;
    drop(queued);
    let result = tokio::task::spawn_blocking(job).await;
    drop(permit);
    match result {
        Ok(value) => Ok(value),
        // A panic in the job: let the caller's panic layer turn it into a 500.
        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        // Cancelled only when the runtime shuts down.
        Err(_) => Err(Busy),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_job_runs_and_returns_its_value() {
        assert_eq!(run(|| 6 * 7).await, Ok(42));
    }

    #[tokio::test]
    async fn a_dropped_caller_leaves_the_queue() {
        let waiting = (0..WAITING * 2)
            .map(|_| tokio::spawn(run(|| std::thread::sleep(Duration::from_millis(20)))))
            .collect::<Vec<_>>();
        for w in waiting {
            w.abort();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        // Every aborted caller left: a new job gets a place.
        assert_eq!(run(|| 1).await, Ok(1));
        assert!(QUEUED.load(Ordering::Acquire) < WAITING);
    }
}
