//! File-system helpers of the directory store: durable writes, directory fsyncs, and reading
//! files into a reused buffer.

use std::fs::{self, File};
use std::io::{ErrorKind, Read, Write};
use std::path::Path;

use serde::Serialize;

use crate::receipt::error::ReceiptError;

pub(super) fn is_receipt_name(name: &std::ffi::OsStr) -> bool {
    name.to_str()
        .is_some_and(|name| name.ends_with(".json") && !name.starts_with('.'))
}

pub(super) fn to_json<T: Serialize>(value: &T, what: &str) -> Result<Vec<u8>, ReceiptError> {
    serde_json::to_vec(value).map_err(|error| ReceiptError::Canonical {
        what: what.to_string(),
        message: error.to_string(),
    })
}

/// Creates `dir` if absent, making its entry durable in `parent`.
pub(super) fn ensure_dir(dir: &Path, parent: &Path) -> Result<(), ReceiptError> {
    if dir.is_dir() {
        return Ok(());
    }
    match fs::create_dir(dir) {
        Ok(()) => sync_dir(parent),
        Err(error) if error.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(ReceiptError::io("create the directory", dir, error)),
    }
}

/// Writes `bytes` to a fresh `path` and fsyncs it.
pub(super) fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), ReceiptError> {
    File::create(path)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .map_err(|error| ReceiptError::io("write", path, error))
}

/// Makes renames and creations in `dir` durable.
pub(super) fn sync_dir(dir: &Path) -> Result<(), ReceiptError> {
    File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(|error| ReceiptError::io("sync the directory", dir, error))
}

/// Reads the whole file `name` of the directory `dir` (opened once by the caller) into
/// `scratch` and returns its bytes. `scratch` stays at its full (initialised) length between
/// calls and only grows, so a small file costs an open, two reads and a close: no size query,
/// no zeroing, and no walk of the directory's path per file, which matters across 100,000
/// receipts.
pub(super) fn read_into<'b>(
    dir: &File,
    name: &str,
    scratch: &'b mut Vec<u8>,
) -> std::io::Result<&'b [u8]> {
    use rustix::fs::{Mode, OFlags, openat};
    let mut file = File::from(openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )?);
    if scratch.is_empty() {
        scratch.resize(64 * 1024, 0);
    }
    let mut filled = 0;
    loop {
        if filled == scratch.len() {
            scratch.resize(scratch.len() * 2, 0);
        }
        match file.read(scratch.get_mut(filled..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(scratch.get(..filled).unwrap_or_default())
}
