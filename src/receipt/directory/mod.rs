//! The directory receipt store (SPEC §8, the default): `<root>/<run_id>.json`, each the RFC 8785
//! canonical JSON of the signed receipt plus a newline, so that the bytes on disk are the
//! bytes signed (minus the signature member) and verifying needs no re-serialisation.
//!
//! Housekeeping lives in `<root>/.enact/`:
//! - `lock`: taken exclusively (`File::lock`, an advisory lock per open file description, so
//!   it excludes other processes and other threads alike: each acquisition opens the file
//!   anew) by every append and repair, shared by readers that need a consistent view.
//! - `head.json`: the newest receipt's sequence, run id and chain hash, HMACed (context
//!   `enact head v1`): deleting the newest receipts is caught, and so is editing the head.
//!   It is the commit point of an append.
//! - `staging/`: a receipt is written here and made durable (file and directory fsynced), then
//!   the head is replaced durably (the commit), then the receipt is renamed into the root
//!   without a further fsync. A staged receipt beyond the head's sequence never committed (its
//!   append never returned) and is removed; one within it is moved into place by the next
//!   append, `get` or `verify`. Four fsyncs per append, none of them on the root directory.
//! - `index.jsonl`: one [`Summary`] per line in sequence order, appended after each commit. It
//!   is a cache: a missing, torn or short one is repaired from the receipts (`index.rs`).
//! - `journal/<run_id>.jsonl`: journals of runs in progress (`receipt/journal.rs`).
//!
//! This file holds the store and its append protocol; `head.rs`, `index.rs`, `check.rs`
//! (whole-store verification) and `files.rs` (durable writes, parallel reads) the rest.

mod check;
mod files;
mod head;
mod index;

use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde_json::Value as Json;

use self::files::{ensure_dir, is_receipt_name, sync_dir, write_synced};
use self::index::recorded_at;
use super::error::ReceiptError;
use super::head::SignedHead;
use super::journal;
use super::model::Receipt;
use super::outline::Outline;
use super::run_id::RunId;
use super::signing::Signer;
use super::store::{Journal, ReceiptStore, Summary};
use super::verify::{ChainHead, VerifyReport};

const HOUSEKEEPING: &str = ".enact";

/// Receipts as files in one directory. Cheap to open; every method re-reads what it needs,
/// so many stores (threads, processes) may share one directory.
#[derive(Debug, Clone)]
pub struct DirectoryStore {
    root: PathBuf,
}

/// An advisory lock on `.enact/lock`, released when dropped (the file is closed).
struct Lock {
    _file: File,
}

impl DirectoryStore {
    /// Opens the store at `root`, creating the directory when absent. Nothing else is written
    /// until the first append, so a read-only copy can be verified.
    pub fn open(root: impl Into<PathBuf>) -> Result<DirectoryStore, ReceiptError> {
        let root = root.into();
        if !root.is_dir() {
            fs::create_dir_all(&root)
                .map_err(|error| ReceiptError::io("create the receipt directory", &root, error))?;
        }
        Ok(DirectoryStore { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the receipt of `run_id` lives: `<root>/<run_id>.json`.
    pub fn receipt_path(&self, run_id: &RunId) -> PathBuf {
        self.root.join(run_id.file_name())
    }

    fn housekeeping(&self) -> PathBuf {
        self.root.join(HOUSEKEEPING)
    }

    fn head_path(&self) -> PathBuf {
        self.housekeeping().join("head.json")
    }

    fn index_path(&self) -> PathBuf {
        self.housekeeping().join("index.jsonl")
    }

    fn staging_dir(&self) -> PathBuf {
        self.housekeeping().join("staging")
    }

    fn journal_dir(&self) -> PathBuf {
        self.housekeeping().join("journal")
    }

    fn journal_path(&self, run_id: &RunId) -> PathBuf {
        self.journal_dir().join(format!("{run_id}.jsonl"))
    }

    fn damaged(&self, message: impl Into<String>) -> ReceiptError {
        ReceiptError::Damaged {
            store: self.root.display().to_string(),
            message: message.into(),
        }
    }

    // ---- locking ----

    fn lock_exclusive(&self) -> Result<Lock, ReceiptError> {
        ensure_dir(&self.housekeeping(), &self.root)?;
        let path = self.housekeeping().join("lock");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|source| ReceiptError::Lock {
                path: path.clone(),
                source,
            })?;
        file.lock()
            .map_err(|source| ReceiptError::Lock { path, source })?;
        Ok(Lock { _file: file })
    }

    /// A shared lock for readers, or none where the store cannot be locked (never written to,
    /// or on a read-only copy): a reader then sees what is there.
    fn lock_shared(&self) -> Option<Lock> {
        let file = File::open(self.housekeeping().join("lock")).ok()?;
        file.lock_shared().ok()?;
        Some(Lock { _file: file })
    }

    /// The names of the `*.json` files of the root (not hidden), sorted.
    fn receipt_files(&self) -> Result<Vec<String>, ReceiptError> {
        let io = |error| ReceiptError::io("list the receipt directory", &self.root, error);
        let mut files = Vec::new();
        for entry in fs::read_dir(&self.root).map_err(io)? {
            let name = entry.map_err(io)?.file_name();
            if is_receipt_name(&name)
                && let Ok(name) = name.into_string()
            {
                files.push(name);
            }
        }
        // Byte order of strings: sorting paths compares component by component, far slower.
        files.sort_unstable();
        Ok(files)
    }

    /// The receipt directory itself, to open its files by name.
    fn open_root(&self) -> Result<File, ReceiptError> {
        File::open(&self.root)
            .map_err(|error| ReceiptError::io("open the receipt directory", &self.root, error))
    }

    fn any_receipt(&self) -> Result<bool, ReceiptError> {
        let entries = fs::read_dir(&self.root)
            .map_err(|error| ReceiptError::io("list the receipt directory", &self.root, error))?;
        Ok(entries
            .flatten()
            .any(|entry| is_receipt_name(&entry.file_name())))
    }

    // ---- recovery ----

    /// Under the exclusive lock: finishes an append a crash interrupted, clears staged files
    /// that never committed and brings the index up to the head. Returns the head and the
    /// newest summary.
    fn recover(&self) -> Result<(Option<SignedHead>, Option<Summary>), ReceiptError> {
        let head = self.read_head()?;
        self.finish_staged(head.as_ref())?;
        let newest = self.repair_index(head.as_ref())?;
        Ok((head, newest))
    }

    /// Moves every committed staged receipt (sequence within the head's) whose file is
    /// missing into place, and removes the rest: receipts of appends that never committed.
    /// The rename into the root is not fsynced by `append`, so after a crash an older
    /// committed receipt may be back in staging too, not only the head's.
    fn finish_staged(&self, head: Option<&SignedHead>) -> Result<(), ReceiptError> {
        let dir = self.staging_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(ReceiptError::io("list", &dir, error)),
        };
        let committed = head.map_or(0, |head| head.sequence);
        let mut moved = false;
        for entry in entries.flatten() {
            let staged = entry.path();
            let bytes = fs::read(&staged).unwrap_or_default();
            let target = serde_json::from_slice::<Outline<'_>>(&bytes)
                .ok()
                .filter(|outline| outline.sequence <= committed)
                .and_then(|outline| outline.run_id.parse::<RunId>().ok())
                .map(|run_id| self.receipt_path(&run_id))
                .filter(|target| !target.exists());
            match target {
                Some(target) => {
                    fs::rename(&staged, &target)
                        .map_err(|error| ReceiptError::io("move into place", &staged, error))?;
                    moved = true;
                }
                None => fs::remove_file(&staged).map_err(|error| {
                    ReceiptError::io("remove the uncommitted staged receipt", &staged, error)
                })?,
            }
        }
        if moved {
            sync_dir(&self.root)?;
        }
        Ok(())
    }
}

impl ReceiptStore for DirectoryStore {
    fn describe(&self) -> String {
        format!("directory {}", self.root.display())
    }

    fn location_of(&self, run_id: &RunId) -> String {
        self.receipt_path(run_id).display().to_string()
    }

    fn append(&self, mut receipt: Receipt, signer: &Signer) -> Result<Receipt, ReceiptError> {
        let run_id: RunId = receipt.run_id.parse()?;
        receipt.run_id = run_id.to_string();
        let _lock = self.lock_exclusive()?;
        let (head, newest) = self.recover()?;
        match &head {
            Some(head) if !head.verifies(signer) => {
                return Err(self.damaged(
                    "the head (.enact/head.json) does not carry a valid signature: it was \
                     edited, or this is not the secret the store was signed with",
                ));
            }
            Some(_) => {}
            None if self.any_receipt()? => {
                return Err(self.damaged(
                    "the head (.enact/head.json) is missing although the directory holds \
                     receipts, so the chain cannot be continued",
                ));
            }
            None => {}
        }
        let final_path = self.receipt_path(&run_id);
        if final_path.exists() {
            return Err(ReceiptError::DuplicateRun {
                run_id: receipt.run_id,
                location: final_path.display().to_string(),
            });
        }
        crate::receipt::head::link_after(&mut receipt, head.as_ref())
            .map_err(|message| self.damaged(message))?;
        let sealed = signer.sign(&mut receipt)?;
        // What is returned is what a reader will parse (numbers in their canonical form).
        let stored = sealed
            .read_back(receipt)
            .map_err(|error| ReceiptError::Canonical {
                what: format!("receipt {run_id}"),
                message: error.to_string(),
            })?;

        // Durability, in order: the staged receipt (data and directory entry), then the head,
        // the commit point. The rename into the root needs no fsync: a committed receipt left
        // in staging by a crash is moved into place by the next append, `get` or `verify`.
        ensure_dir(&self.staging_dir(), &self.housekeeping())?;
        let staged = self.staging_dir().join(run_id.file_name());
        let mut document = sealed.document;
        document.push(b'\n');
        write_synced(&staged, &document)?;
        sync_dir(&self.staging_dir())?;
        let chain = ChainHead {
            sequence: stored.sequence,
            run_id: stored.run_id.clone(),
            sha256: sealed.chain_sha256.clone(),
        };
        self.write_head(&SignedHead::signed(chain, signer)?)?;
        fs::rename(&staged, &final_path)
            .map_err(|error| ReceiptError::io("move into place", &staged, error))?;

        let summary = Summary::of(
            &stored,
            sealed.chain_sha256,
            recorded_at(&stored, newest.as_ref(), Utc::now()),
        );
        // The receipt is committed; the index is a cache the next reader repairs, so a
        // failure here must not make the caller believe the append failed and retry it.
        let _ = self.append_index_line(&summary);
        Ok(stored)
    }

    fn get(&self, run_id: &RunId) -> Result<Option<Json>, ReceiptError> {
        let path = self.receipt_path(run_id);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == ErrorKind::NotFound => {
                // Committed by an append that crashed before moving it into place?
                if !self.staging_dir().join(run_id.file_name()).exists() {
                    return Ok(None);
                }
                let _lock = self.lock_exclusive()?;
                self.recover()?;
                match fs::read(&path) {
                    Ok(bytes) => bytes,
                    Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
                    Err(error) => return Err(ReceiptError::io("read", &path, error)),
                }
            }
            Err(error) => return Err(ReceiptError::io("read", &path, error)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|error| ReceiptError::json(&path, &error))
    }

    fn summaries(&self) -> Result<Vec<Summary>, ReceiptError> {
        self.indexed_summaries()
    }

    fn receipts_since(
        &self,
        since: DateTime<Utc>,
        workflow: Option<&str>,
    ) -> Result<Vec<Json>, ReceiptError> {
        let run_ids = self.run_ids_since(since, workflow)?;
        let mut documents = Vec::with_capacity(run_ids.len());
        for run_id in &run_ids {
            let id: RunId = run_id.parse()?;
            match self.get(&id)? {
                Some(document) => documents.push(document),
                None => {
                    return Err(ReceiptError::MissingReceipt {
                        root: self.root.clone(),
                        run_id: run_id.clone(),
                        path: self.receipt_path(&id),
                    });
                }
            }
        }
        Ok(documents)
    }

    fn verify(&self, signer: &Signer) -> VerifyReport {
        match self.verify_store(signer) {
            Ok(report) => report,
            Err(error) => VerifyReport::unreadable(&self.root.display().to_string(), &error),
        }
    }

    fn journal_append(
        &self,
        run_id: &RunId,
        entry: &Json,
        signer: &Signer,
    ) -> Result<(), ReceiptError> {
        ensure_dir(&self.housekeeping(), &self.root)?;
        ensure_dir(&self.journal_dir(), &self.housekeeping())?;
        if journal::append(&self.journal_path(run_id), run_id, entry, signer)? {
            sync_dir(&self.journal_dir())?;
        }
        Ok(())
    }

    fn journal_read(
        &self,
        run_id: &RunId,
        signer: &Signer,
    ) -> Result<Option<Journal>, ReceiptError> {
        journal::read(&self.journal_path(run_id), run_id, signer)
    }

    fn journal_remove(&self, run_id: &RunId) -> Result<(), ReceiptError> {
        let path = self.journal_path(run_id);
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.journal_dir()),
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(()),
            Err(error) => Err(ReceiptError::io("remove the journal", &path, error)),
        }
    }

    fn journals(&self) -> Result<Vec<RunId>, ReceiptError> {
        let dir = self.journal_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(ReceiptError::io("list the journals", &dir, error)),
        };
        let mut run_ids: Vec<RunId> = entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name();
                let stem = name.to_str()?.strip_suffix(".jsonl")?;
                stem.parse::<RunId>()
                    .ok()
                    .filter(|id| id.to_string() == stem)
            })
            .collect();
        run_ids.sort();
        Ok(run_ids)
    }
}
