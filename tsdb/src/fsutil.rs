//! File-system helpers: durable renames and directory syncs.

use std::fs::{self, File, OpenOptions};
use std::os::unix::io::AsRawFd;
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

/// An exclusive advisory lock (`flock`) on `<dir>/lock`, held while the value lives, so
/// that two `Db`s (in one process or two) never share a directory. The kernel drops it
/// when the process dies, so a crash leaves nothing to clean up.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    pub(crate) fn acquire(dir: &Path) -> Result<DirLock, Error> {
        let path = dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(Error::io(format!("open {}", path.display())))?;
        // SAFETY: flock on a file descriptor we own and keep open; no memory is shared.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            return Err(Error::io(format!(
                "lock {} (is the database open elsewhere?)",
                path.display()
            ))(e));
        }
        Ok(DirLock { _file: file })
    }
}
