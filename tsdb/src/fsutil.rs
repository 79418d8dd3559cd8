//! File-system helpers: durable renames and directory syncs.

use std::fs::{self, File};
use std::path::Path;

use crate::error::Error;

/// Fsyncs a directory so that entries created, renamed or removed in it persist.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io(format!("sync directory {}", dir.display())))
}

/// Total size of the regular files under `dir` (recursively); 0 if it does not exist.
pub(crate) fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
