//! File-system helpers: directory syncs, the directory lock.

use std::fs::{File, OpenOptions};
use std::os::unix::io::AsRawFd;
use std::path::Path;

use crate::error::Error;

/// Fsyncs a directory so that entries created, renamed or removed in it persist.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io(format!("sync directory {}", dir.display())))
}

/// An exclusive advisory lock (`flock`) on `<dir>/lock`, held while the value lives, so two
/// stores (in one process or two) never share a directory. The kernel drops it when the
/// process dies.
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
        // SAFETY: flock on a descriptor we own and keep open; no memory is shared.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            return Err(Error::io(format!(
                "lock {} (is the store open elsewhere?)",
                path.display()
            ))(std::io::Error::last_os_error()));
        }
        Ok(DirLock { _file: file })
    }
}
