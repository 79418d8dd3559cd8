//! Live tail: every batch the store acknowledges is offered to the open tails, each of
//! which matches it against its query (as a search would) and hands on the matching lines,
//! bounded three ways: at most [`MAX_TAILS`] tails at once, at most `rate` lines per second
//! per tail (the rest are skipped and counted), and a tail that falls more than
//! [`BACKLOG_BATCHES`] batches behind loses the oldest (counted too). Nothing here blocks
//! an append: publishing is a non-blocking broadcast.

use std::sync::Arc;
use std::time::Duration;

use logstore::{Query, Record, Schema};
use tokio::sync::{broadcast, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Tails open at the same time, at most; more are refused as busy.
pub const MAX_TAILS: usize = 16;
/// Batches a tail may fall behind before the oldest are dropped for it.
pub const BACKLOG_BATCHES: usize = 256;
/// Lines per second a tail sends unless it asks for another rate, and the most it may ask.
pub const DEFAULT_RATE: u32 = 100;
pub const MAX_RATE: u32 = 1_000;
/// Lines matched per batch on the async worker; larger batches are matched on a blocking
/// thread.
const INLINE_MATCH: usize = 64;
/// Skipped lines are reported at most this often.
const NOTICE_EVERY: Duration = Duration::from_secs(1);

/// One acknowledged batch: its records and the sequence number of the first.
pub struct Batch {
    pub first_seq: u64,
    pub records: Vec<Record>,
}

/// Where appends announce their batches and tails subscribe.
pub struct Tails {
    sender: broadcast::Sender<Arc<Batch>>,
    slots: Arc<Semaphore>,
}

impl Default for Tails {
    fn default() -> Self {
        Tails {
            sender: broadcast::channel(BACKLOG_BATCHES).0,
            slots: Arc::new(Semaphore::new(MAX_TAILS)),
        }
    }
}

impl Tails {
    /// Whether any tail is open.
    pub fn watched(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    /// Offers an acknowledged batch to the open tails (a no-op when none is open).
    pub fn publish(&self, batch: &Arc<Batch>) {
        if self.sender.receiver_count() > 0 {
            let _ = self.sender.send(batch.clone());
        }
    }

    /// Opens a tail of the lines matching `query` that arrive from now on; `None` when
    /// [`MAX_TAILS`] are open.
    pub fn open(&self, query: Query, rate: u32) -> Option<Tail> {
        let permit = self.slots.clone().try_acquire_owned().ok()?;
        let rate = rate.clamp(1, MAX_RATE);
        Some(Tail {
            receiver: self.sender.subscribe(),
            query: Arc::new(query),
            rate: f64::from(rate),
            tokens: f64::from(rate),
            refilled: Instant::now(),
            skipped: 0,
            noticed: Instant::now(),
            _permit: permit,
        })
    }
}

/// What a tail hands on.
#[derive(Debug)]
pub enum TailEvent {
    /// Matching lines in arrival order, with their sequence numbers.
    Lines(Vec<(u64, Record)>),
    /// Matching lines not sent: over the tail's rate (`rate_limited`) or while the tail
    /// was too far behind (`lagged_batches` whole batches, their lines uncounted).
    Skipped {
        rate_limited: u64,
        lagged_batches: u64,
    },
}

/// One open tail; dropping it frees its slot.
pub struct Tail {
    receiver: broadcast::Receiver<Arc<Batch>>,
    query: Arc<Query>,
    rate: f64,
    tokens: f64,
    refilled: Instant,
    skipped: u64,
    noticed: Instant,
    _permit: OwnedSemaphorePermit,
}

impl Tail {
    /// The next event; `None` once the store is gone. Lines skipped for the rate are
    /// reported at most once a second, as soon as a second has passed.
    pub async fn next(&mut self) -> Option<TailEvent> {
        loop {
            let notice_due = self.noticed + NOTICE_EVERY;
            let received = if self.skipped > 0 {
                tokio::select! {
                    r = self.receiver.recv() => Some(r),
                    _ = tokio::time::sleep_until(notice_due) => None,
                }
            } else {
                Some(self.receiver.recv().await)
            };
            let batch = match received {
                None => return Some(self.notice(0)),
                Some(Ok(batch)) => batch,
                Some(Err(broadcast::error::RecvError::Lagged(n))) => return Some(self.notice(n)),
                Some(Err(broadcast::error::RecvError::Closed)) => return None,
            };
            let rows = match self.matching(batch.clone()).await {
                Ok(rows) => rows,
                Err(err) => {
                    tracing::warn!(error = %err, error_type = "LogTailMatch", "Matching a batch for a live tail failed");
                    continue;
                }
            };
            let allowed = self.take_tokens(rows.len());
            self.skipped += (rows.len() - allowed) as u64;
            if allowed > 0 {
                let lines = rows[..allowed]
                    .iter()
                    .map(|&i| (batch.first_seq + i as u64, batch.records[i].clone()))
                    .collect();
                return Some(TailEvent::Lines(lines));
            }
            if self.skipped > 0 && Instant::now() >= notice_due {
                return Some(self.notice(0));
            }
        }
    }

    fn notice(&mut self, lagged_batches: u64) -> TailEvent {
        let rate_limited = std::mem::take(&mut self.skipped);
        self.noticed = Instant::now();
        TailEvent::Skipped {
            rate_limited,
            lagged_batches,
        }
    }

    /// Takes up to `wanted` lines' worth from the bucket (it holds one second of the rate).
    fn take_tokens(&mut self, wanted: usize) -> usize {
        let now = Instant::now();
        let elapsed = now.duration_since(self.refilled).as_secs_f64();
        self.refilled = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        let n = (self.tokens.floor() as usize).min(wanted);
        self.tokens -= n as f64;
        n
    }

    async fn matching(&self, batch: Arc<Batch>) -> Result<Vec<usize>, String> {
        let query = self.query.clone();
        let batch_len = batch.records.len();
        let run = move || {
            logstore::query::matching(&Schema::logs(), &query, &batch.records)
                .map_err(|e| e.to_string())
        };
        if matches!(*self.query, Query::All) || batch_len <= INLINE_MATCH {
            return run();
        }
        tokio::task::spawn_blocking(run)
            .await
            .map_err(|e| e.to_string())?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use logstore::severity;

    fn batch(first_seq: u64, bodies: &[&str]) -> Arc<Batch> {
        Arc::new(Batch {
            first_seq,
            records: bodies
                .iter()
                .map(|b| Record::log(1, severity::INFO, "api", b))
                .collect(),
        })
    }

    #[tokio::test]
    async fn a_tail_sends_matching_lines_within_its_rate_and_counts_the_rest() {
        let tails = Tails::default();
        let mut tail = tails.open(logstore::parse("timeout").unwrap(), 2).unwrap();
        tails.publish(&batch(
            10,
            &["ok", "timeout one", "timeout two", "timeout three"],
        ));
        match tail.next().await.unwrap() {
            TailEvent::Lines(lines) => {
                let seqs: Vec<u64> = lines.iter().map(|(s, _)| *s).collect();
                assert_eq!(seqs, vec![11, 12]);
            }
            other => panic!("{other:?}"),
        }
        match tail.next().await.unwrap() {
            TailEvent::Skipped { rate_limited, .. } => assert_eq!(rate_limited, 1),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_tail_that_falls_behind_is_told_how_many_batches_it_lost() {
        let tails = Tails::default();
        let mut tail = tails.open(Query::All, 1_000).unwrap();
        for i in 0..BACKLOG_BATCHES as u64 + 10 {
            tails.publish(&batch(i, &["line"]));
        }
        match tail.next().await.unwrap() {
            TailEvent::Skipped { lagged_batches, .. } => assert_eq!(lagged_batches, 10),
            other => panic!("{other:?}"),
        }
        // Then the batches it still holds, oldest first.
        match tail.next().await.unwrap() {
            TailEvent::Lines(lines) => assert_eq!(lines[0].0, 10),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn at_most_max_tails_are_open() {
        let tails = Tails::default();
        let open: Vec<Tail> = (0..MAX_TAILS)
            .map(|_| tails.open(Query::All, 10).unwrap())
            .collect();
        assert!(tails.open(Query::All, 10).is_none());
        drop(open);
        assert!(tails.open(Query::All, 10).is_some());
    }
}
