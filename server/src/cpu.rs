//! CPU-heavy work on user input runs on bounded pools, off the async workers, so a request
//! that costs seconds never stalls `/healthz` or shutdown: [`CHECKS`] for parsing and
//! checking PromQL, rule files and dashboards and for drawing charts, [`HASHING`] for
//! password hashing (argon2id: 19 MiB and tens of milliseconds each). A pool runs a fixed
//! number of jobs at once and lets a fixed number wait; more are refused at once with
//! [`Busy`], and a caller that goes away (its future dropped, e.g. the client disconnected)
//! leaves the queue before its job starts. A started job keeps its slot until it ends, even
//! when its caller has gone: callers that leave can never start more jobs than slots. How
//! long a started job runs is bounded by the size limits of its input (see
//! `promql_syntax::check_limits`), not by cancelling it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use tokio::sync::Semaphore;

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(2)
}

/// Parsing, validation, rendering: one job per core.
pub static CHECKS: LazyLock<Pool> = LazyLock::new(|| Pool::new(cores().max(1), 64));
/// Password hashing: half the cores, on threads of their own at a lower priority (nice 10),
/// so a flood of sign-ins never takes a core from the threads that serve everything else.
pub static HASHING: LazyLock<Pool> =
    LazyLock::new(|| Pool::dedicated("keiko-hashing", (cores() / 2).max(1), 16, 10));

/// Queries of the embedded metrics store: one per core, 32 waiting.
pub static QUERIES: LazyLock<Pool> = LazyLock::new(|| Pool::new(cores().max(1), 32));
/// Writes to the embedded store (decoding, validating and committing pushed or scraped
/// samples; a commit waits for fsync): two at a time, 64 waiting.
pub static INGEST: LazyLock<Pool> = LazyLock::new(|| Pool::new(2, 64));

/// The longest a job waits for a slot before it is refused.
pub const MAX_WAIT: Duration = Duration::from_secs(10);

/// A pool is full: the caller should answer 503 and ask the client to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the server is busy with other requests; retry in a second")
    }
}

impl std::error::Error for Busy {}

type Job = Box<dyn FnOnce() + Send>;

pub struct Pool {
    slots: Arc<Semaphore>,
    queued: AtomicUsize,
    max_waiting: usize,
    /// Threads of the pool's own; `None`: tokio's blocking threads.
    threads: Option<std::sync::Mutex<std::sync::mpsc::Sender<Job>>>,
}

/// Counts a waiting job while it waits, and forgets it when the wait ends either way.
struct InQueue<'a>(&'a AtomicUsize);

impl Drop for InQueue<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Pool {
    pub fn new(running: usize, max_waiting: usize) -> Pool {
        Pool {
            slots: Arc::new(Semaphore::new(running)),
            queued: AtomicUsize::new(0),
            max_waiting,
            threads: None,
        }
    }

    /// A pool with `running` threads of its own, each at `nice` (Linux: a per-thread value).
    pub fn dedicated(name: &str, running: usize, max_waiting: usize, nice: i32) -> Pool {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for i in 0..running {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    lower_priority(nice);
                    loop {
                        let job = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(err) = spawned {
                tracing::error!(error = %err, "Starting a worker thread failed");
            }
        }
        Pool {
            slots: Arc::new(Semaphore::new(running)),
            queued: AtomicUsize::new(0),
            max_waiting,
            threads: Some(std::sync::Mutex::new(tx)),
        }
    }

    /// Jobs waiting for a slot now.
    pub fn waiting(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// Runs `job` on a blocking thread once a slot is free.
    pub async fn run<T, F>(&self, job: F) -> Result<T, Busy>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        if self.queued.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(Busy);
        }
        let queued = InQueue(&self.queued);
        let permit = tokio::time::timeout(MAX_WAIT, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| Busy)?
            .map_err(|_| Busy)?;
        drop(queued);
        // The slot travels with the job and is given back when the job ends.
        let job = move || {
            let out = job();
            drop(permit);
            out
        };
        if let Some(threads) = &self.threads {
            let (done, answer) = tokio::sync::oneshot::channel();
            let wrapped: Job = Box::new(move || {
                let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                let _ = done.send(out);
            });
            let sent = threads
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .send(wrapped);
            if sent.is_err() {
                return Err(Busy);
            }
            return match answer.await {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(panic)) => std::panic::resume_unwind(panic),
                Err(_) => Err(Busy),
            };
        }
        match tokio::task::spawn_blocking(job).await {
            Ok(value) => Ok(value),
            // A panic in the job: let the caller's panic layer turn it into a 500.
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            // Cancelled only when the runtime shuts down.
            Err(_) => Err(Busy),
        }
    }
}

/// Lowers the calling thread's scheduling priority (Linux applies `setpriority` with
/// `who = 0` to the calling thread). Best effort: a failure leaves the default priority.
fn lower_priority(nice: i32) {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority takes plain integers and touches no memory of ours.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, nice);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

/// Runs `job` on the [`CHECKS`] pool.
pub async fn run<T, F>(job: F) -> Result<T, Busy>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    CHECKS.run(job).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_job_runs_and_returns_its_value() {
        assert_eq!(run(|| 6 * 7).await, Ok(42));
    }

    #[tokio::test]
    async fn a_dedicated_pool_runs_jobs_on_its_own_threads() {
        let pool: &'static Pool = Box::leak(Box::new(Pool::dedicated("test-pool", 1, 4, 5)));
        let name = pool
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("test-pool-0"));
    }

    #[tokio::test]
    async fn a_caller_that_leaves_does_not_free_its_running_jobs_slot() {
        let pool: &'static Pool = Box::leak(Box::new(Pool::new(1, 4)));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = std::sync::Mutex::new(wait);
        let running = tokio::spawn(pool.run(move || {
            let _ = wait.lock().unwrap().recv();
        }));
        tokio::time::sleep(Duration::from_millis(50)).await;
        // The caller goes away; its job still runs and still holds the only slot.
        running.abort();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(pool.slots.available_permits(), 0);
        release.send(()).unwrap();
        assert_eq!(pool.run(|| 3).await, Ok(3));
    }

    #[tokio::test]
    async fn a_full_queue_refuses_and_dropped_callers_leave_it() {
        let pool: &'static Pool = Box::leak(Box::new(Pool::new(1, 4)));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = std::sync::Mutex::new(wait);
        // One job holds the only slot until released.
        let busy = tokio::spawn(pool.run(move || {
            let _ = wait.lock().unwrap().recv();
        }));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let waiting: Vec<_> = (0..4).map(|_| tokio::spawn(pool.run(|| 1))).collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(pool.waiting(), 4);
        assert_eq!(pool.run(|| 1).await, Err(Busy));
        for w in waiting {
            w.abort();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(pool.waiting(), 0);
        release.send(()).unwrap();
        busy.await.unwrap().unwrap();
        assert_eq!(pool.run(|| 2).await, Ok(2));
    }
}
