//! The portal's own log lines into its log store: the JSON line layer in `telemetry`
//! offers each line here; a bounded channel carries them to one writer thread that
//! appends them in batches (service `keiko-portal`). When the channel is full a line is
//! dropped and counted (`keiko_log_self_lines_dropped_total`); nothing here logs, so
//! storing a line never produces another.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::{Duration, Instant};

use prometheus::IntCounter;

use super::records::from_object;
use super::{now_ns, LogStore};

/// The service name of the portal's own lines.
pub const SERVICE: &str = "keiko-portal";
/// Lines waiting for the writer, at most.
const CAPACITY: usize = 10_000;
/// A batch is written once it holds this many lines or is this old.
const BATCH_LINES: usize = 1_000;
const BATCH_AGE: Duration = Duration::from_millis(500);

static SENDER: OnceLock<SyncSender<String>> = OnceLock::new();

/// Lines dropped because the channel was full (or the line did not parse back).
pub static DROPPED: LazyLock<IntCounter> = LazyLock::new(|| {
    IntCounter::new(
        "keiko_log_self_lines_dropped_total",
        "The portal's own log lines not stored because the log store writer was behind",
    )
    .expect("valid counter")
});

/// Offers one formatted JSON line; never blocks. A no-op until [`start`] ran.
pub fn offer(line: &str) {
    if let Some(tx) = SENDER.get() {
        match tx.try_send(line.to_owned()) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => DROPPED.inc(),
        }
    }
}

/// Starts the writer thread for `store` (once per process; later calls do nothing).
pub fn start(store: Arc<LogStore>) {
    static STARTED: AtomicBool = AtomicBool::new(false);
    if STARTED.swap(true, Ordering::SeqCst) {
        return;
    }
    let (tx, rx) = sync_channel(CAPACITY);
    if SENDER.set(tx).is_err() {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("keiko-selflog".into())
        .spawn(move || write_loop(&store, &rx));
    if spawned.is_err() {
        DROPPED.inc();
    }
}

/// How long the writer waits for the next line: with an empty batch, until one comes
/// (`None`); otherwise until the batch is [`BATCH_AGE`] old. A timeout with an empty batch
/// would wake the thread at once, again and again, once the last batch is older than
/// that: a busy loop that held a whole core on an idle portal.
fn wait_for(batch_is_empty: bool, batch_age: Duration) -> Option<Duration> {
    (!batch_is_empty).then(|| BATCH_AGE.saturating_sub(batch_age))
}

/// Appends the batch (counted as stored or dropped) and empties it.
fn write(store: &LogStore, batch: &mut Vec<logstore::Record>) {
    let n = batch.len();
    if store.append_blocking(batch).is_err() {
        DROPPED.inc_by(n as u64);
    } else {
        store.count_accepted("self", n);
    }
    batch.clear();
}

fn write_loop(store: &LogStore, rx: &Receiver<String>) {
    let mut batch = Vec::with_capacity(BATCH_LINES);
    // The batch's bytes: it is written before it would pass `logs_max_request_bytes`.
    let mut bytes = 0;
    let mut since = Instant::now();
    loop {
        let next = match wait_for(batch.is_empty(), since.elapsed()) {
            // Nothing to write: sleep until a line comes (no timer while idle).
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(wait) => rx.recv_timeout(wait),
        };
        match next {
            Ok(line) => {
                if batch.is_empty() {
                    since = Instant::now();
                }
                match serde_json::from_str(&line) {
                    Ok(serde_json::Value::Object(o)) => {
                        match from_object(o, SERVICE, now_ns(), store.limits()) {
                            Ok(r) => {
                                if bytes + r.size() > store.limits().request_bytes {
                                    write(store, &mut batch);
                                    bytes = 0;
                                    since = Instant::now();
                                }
                                bytes += r.size();
                                batch.push(r);
                            }
                            Err(_) => DROPPED.inc(),
                        }
                    }
                    _ => DROPPED.inc(),
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if batch.len() >= BATCH_LINES || (!batch.is_empty() && since.elapsed() >= BATCH_AGE) {
            write(store, &mut batch);
            bytes = 0;
            since = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_writer_blocks_instead_of_polling() {
        // Empty batch: no timeout at all, however long ago the last batch was written.
        assert_eq!(wait_for(true, Duration::ZERO), None);
        assert_eq!(wait_for(true, Duration::from_secs(60)), None);
        // A batch waiting: until it is BATCH_AGE old, then at once.
        assert_eq!(
            wait_for(false, Duration::from_millis(100)),
            Some(BATCH_AGE - Duration::from_millis(100))
        );
        assert_eq!(wait_for(false, BATCH_AGE * 2), Some(Duration::ZERO));
    }
}
