//! When a long read gives up early: at a deadline, when a flag is raised, or both. A read
//! given a [`Stop`] checks it before each segment (the head, each block) it evaluates, so
//! it stops within one segment's work of the deadline or the flag.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// A read's deadline and cancel flag; [`Stop::never`] has neither.
#[derive(Clone, Debug, Default)]
pub struct Stop {
    deadline: Option<Instant>,
    cancel: Option<Arc<AtomicBool>>,
}

impl Stop {
    /// A read that runs to its end.
    pub fn never() -> Stop {
        Stop::default()
    }

    /// Stops once `deadline` has passed.
    pub fn at(deadline: Instant) -> Stop {
        Stop {
            deadline: Some(deadline),
            cancel: None,
        }
    }

    /// Stops once `flag` is set (by another thread).
    pub fn on(flag: Arc<AtomicBool>) -> Stop {
        Stop {
            deadline: None,
            cancel: Some(flag),
        }
    }

    /// Stops once `deadline` has passed or once `flag` is set, whichever comes first.
    pub fn at_or_on(deadline: Instant, flag: Arc<AtomicBool>) -> Stop {
        Stop {
            deadline: Some(deadline),
            cancel: Some(flag),
        }
    }

    /// Whether the read should stop now.
    pub fn due(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed))
            || self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_stop_is_due_after_its_deadline_or_once_its_flag_is_set() {
        assert!(!Stop::never().due());
        assert!(Stop::at(Instant::now()).due());
        assert!(!Stop::at(Instant::now() + Duration::from_secs(60)).due());
        let flag = Arc::new(AtomicBool::new(false));
        let stop = Stop::on(flag.clone());
        assert!(!stop.due());
        flag.store(true, Ordering::Relaxed);
        assert!(stop.due());
    }
}
