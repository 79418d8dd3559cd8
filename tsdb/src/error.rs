//! The crate's error type and the reasons a sample can be refused.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why a sample was refused at append time. Each reason has its own counter in
/// [`crate::Stats::refused`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RefuseReason {
    /// Older than the series' last sample.
    OutOfOrder,
    /// Same timestamp as the series' last sample, different value.
    Duplicate,
    /// Before the head's minimum valid time (that range is, or is about to be, a block).
    TooOld,
    /// Later than the system clock plus [`crate::Limits::max_future_ms`] (one such sample
    /// would move the head's writable window and make current samples `too_old`).
    TooFarInFuture,
    /// Would create a series past [`crate::Limits::max_series_per_metric`].
    SeriesPerMetric,
    /// Would create a series past [`crate::Limits::max_series`].
    SeriesTotal,
    /// More labels than [`crate::Limits::max_labels_per_series`].
    LabelsPerSeries,
    /// A label name longer than [`crate::Limits::max_label_name_len`].
    LabelNameLength,
    /// A label value longer than [`crate::Limits::max_label_value_len`].
    LabelValueLength,
    /// The batch holds more than [`crate::Limits::max_samples_per_batch`] samples.
    BatchSize,
}

impl RefuseReason {
    /// Every reason, in counter order.
    pub const ALL: [RefuseReason; 10] = [
        RefuseReason::OutOfOrder,
        RefuseReason::Duplicate,
        RefuseReason::TooOld,
        RefuseReason::TooFarInFuture,
        RefuseReason::SeriesPerMetric,
        RefuseReason::SeriesTotal,
        RefuseReason::LabelsPerSeries,
        RefuseReason::LabelNameLength,
        RefuseReason::LabelValueLength,
        RefuseReason::BatchSize,
    ];

    /// A stable snake_case name, fit for a metric label (`out_of_order`, `too_old`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            RefuseReason::OutOfOrder => "out_of_order",
            RefuseReason::Duplicate => "duplicate",
            RefuseReason::TooOld => "too_old",
            RefuseReason::TooFarInFuture => "too_far_in_future",
            RefuseReason::SeriesPerMetric => "series_per_metric_limit",
            RefuseReason::SeriesTotal => "series_limit",
            RefuseReason::LabelsPerSeries => "labels_per_series_limit",
            RefuseReason::LabelNameLength => "label_name_length_limit",
            RefuseReason::LabelValueLength => "label_value_length_limit",
            RefuseReason::BatchSize => "batch_size_limit",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for RefuseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One refused sample: why, with a message naming the series, the limit and the value.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    pub reason: RefuseReason,
    pub message: String,
}

/// A batch refused as a whole: nothing of it was written or applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejection {
    /// How many samples of the batch were refused, per reason (sorted by reason).
    pub by_reason: Vec<(RefuseReason, u64)>,
    /// The first few refusals in batch order (at most [`Rejection::MAX_DETAILS`]).
    pub details: Vec<Refusal>,
}

impl Rejection {
    /// How many refusals a rejection spells out.
    pub const MAX_DETAILS: usize = 10;

    /// Gathers refusals (in batch order) into a rejection.
    pub(crate) fn from_refusals(refusals: Vec<Refusal>) -> Rejection {
        let mut by_reason: Vec<(RefuseReason, u64)> = Vec::new();
        for r in &refusals {
            match by_reason.iter_mut().find(|(reason, _)| *reason == r.reason) {
                Some((_, n)) => *n += 1,
                None => by_reason.push((r.reason, 1)),
            }
        }
        by_reason.sort();
        let mut details = refusals;
        details.truncate(Rejection::MAX_DETAILS);
        Rejection { by_reason, details }
    }

    /// Number of refused samples.
    pub fn refused(&self) -> u64 {
        self.by_reason.iter().map(|(_, n)| n).sum()
    }
}

/// Errors of the store.
#[derive(Debug)]
pub enum Error {
    /// An I/O failure, with what was being done.
    Io { context: String, source: io::Error },
    /// A file of ours that does not read back as written.
    Corrupt { path: PathBuf, detail: String },
    /// A label set that is not valid (bad name, duplicate name).
    InvalidLabels(String),
    /// A matcher that cannot be built (bad regex, bad label name).
    InvalidMatcher(String),
    /// An append batch refused as a whole.
    Rejected(Rejection),
    /// A query would return more samples than [`crate::Limits::max_samples_per_query`].
    QueryTooLarge { limit: usize },
    /// Bad options given to [`crate::Db::open`].
    InvalidOptions(String),
}

impl Error {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, detail: impl Into<String>) -> Error {
        Error::Corrupt {
            path: path.into(),
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { context, source } => write!(f, "{context}: {source}"),
            Error::Corrupt { path, detail } => write!(f, "corrupt {}: {detail}", path.display()),
            Error::InvalidLabels(m) => write!(f, "invalid labels: {m}"),
            Error::InvalidMatcher(m) => write!(f, "invalid matcher: {m}"),
            Error::Rejected(r) => {
                write!(
                    f,
                    "batch rejected, nothing written: {} refused (",
                    r.refused()
                )?;
                for (i, (reason, n)) in r.by_reason.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{reason}: {n}")?;
                }
                f.write_str(")")?;
                if let Some(first) = r.details.first() {
                    write!(f, "; first: {}", first.message)?;
                }
                Ok(())
            }
            Error::QueryTooLarge { limit } => write!(
                f,
                "query would return more than {limit} samples (limit max_samples_per_query)"
            ),
            Error::InvalidOptions(m) => write!(f, "invalid options: {m}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
