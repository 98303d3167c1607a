//! Where receipts live: the [`ReceiptStore`] interface every store (directory, PostgreSQL)
//! implements, and the summary rows `enact ls` reads.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::error::ReceiptError;
use super::model::{Decision, Kind, Receipt, RunStatus};
use super::run_id::RunId;
use super::signing::Signer;
use super::verify::VerifyReport;

/// One receipt in a line: what `enact ls` shows, read from the store's index without opening
/// the receipts. Not verified: `enact verify` is the check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub run_id: String,
    pub kind: Kind,
    pub original_run_id: Option<String>,
    pub workflow: String,
    /// `actor.email`, or empty when the receipt has none.
    pub actor: String,
    pub decision: Decision,
    pub status: RunStatus,
    pub started_at: String,
    pub sequence: u64,
    /// How many entries `actions_taken` has.
    pub actions: usize,
    /// The chain hash of the receipt (what the next receipt's `prev_sha256` holds).
    pub sha256: String,
    /// When the store appended it (RFC 3339 UTC). Never decreases along the sequence and is
    /// never earlier than `started_at`, which lets `receipts_since` stop reading early.
    pub recorded_at: String,
}

impl Summary {
    /// The summary of a signed receipt whose chain hash is `sha256`.
    pub fn of(receipt: &Receipt, sha256: String, recorded_at: String) -> Summary {
        Summary {
            run_id: receipt.run_id.clone(),
            kind: receipt.kind,
            original_run_id: receipt.original_run_id.clone(),
            workflow: receipt.workflow.clone(),
            actor: actor_email(&receipt.actor),
            decision: receipt.decision,
            status: receipt.status,
            started_at: receipt.started_at.clone(),
            sequence: receipt.sequence,
            actions: receipt.actions_taken.len(),
            sha256,
            recorded_at,
        }
    }
}

pub(crate) fn actor_email(actor: &Json) -> String {
    actor
        .get("email")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The journal of a run in progress, as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Journal {
    /// The entries in the order they were appended, without their `mac` field.
    pub entries: Vec<Json>,
    /// True when the file ended in a partial line (no newline): the write of an entry that a
    /// crash interrupted. `journal_append` had not returned for it, so the engine never
    /// started the mutation it announced; the line is ignored rather than treated as damage.
    pub torn_line_ignored: bool,
}

/// A store of signed, hash-chained receipts, plus the journals of runs in progress.
/// Implementations serialise appends across processes; reads need no lock of the caller.
pub trait ReceiptStore: Send + Sync {
    /// For messages: `directory ./receipts`.
    fn describe(&self) -> String;

    /// Where a run's receipt is (or will be), for messages: a file path or a store address.
    fn location_of(&self, run_id: &RunId) -> String;

    /// Under an exclusive lock across processes: finish an append a crash interrupted, read
    /// the head, set `sequence` = last + 1 and `prev_sha256`, sign (filling `field_sha256` and
    /// `signature`), write durably, update head and index. Returns the receipt as stored.
    /// Refuses (fails closed) when the head's signature does not verify with `signer`.
    fn append(&self, receipt: Receipt, signer: &Signer) -> Result<Receipt, ReceiptError>;

    /// The raw document of a run, not yet verified; `None` when there is none.
    fn get(&self, run_id: &RunId) -> Result<Option<Json>, ReceiptError>;

    /// Every receipt's summary in sequence order, from the index. A missing, torn or short
    /// index (one that does not reach the head's sequence) is repaired or rebuilt from the
    /// receipts first.
    fn summaries(&self) -> Result<Vec<Summary>, ReceiptError>;

    /// Raw documents of every receipt (all kinds; callers filter) that started at or after
    /// `since`, of `workflow` when given, in sequence order. A receipt whose `started_at` does
    /// not parse is included: counting too many fails closed for rate limits.
    fn receipts_since(
        &self,
        since: DateTime<Utc>,
        workflow: Option<&str>,
    ) -> Result<Vec<Json>, ReceiptError>;

    /// Checks every receipt's signature and the whole chain.
    fn verify(&self, signer: &Signer) -> VerifyReport;

    /// Appends `entry` (a JSON object without a `mac` field) to the journal of `run_id`, MACed
    /// and durable (fsynced) before this returns.
    fn journal_append(
        &self,
        run_id: &RunId,
        entry: &Json,
        signer: &Signer,
    ) -> Result<(), ReceiptError>;

    /// The journal of `run_id`, `None` when there is none. A line whose MAC fails, or a
    /// complete line that is not JSON, is an error naming the line.
    fn journal_read(
        &self,
        run_id: &RunId,
        signer: &Signer,
    ) -> Result<Option<Journal>, ReceiptError>;

    /// Removes the journal of `run_id` (durably); no journal is not an error.
    fn journal_remove(&self, run_id: &RunId) -> Result<(), ReceiptError>;

    /// Runs that left a journal behind: interrupted runs for the engine to recover.
    fn journals(&self) -> Result<Vec<RunId>, ReceiptError>;
}
