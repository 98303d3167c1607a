//! The receipt document (SPEC §7): one per run, rollback or approval. Field names and shapes
//! are a public format; `version` changes when they do.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// The format version written into every receipt.
pub const RECEIPT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Run,
    Rollback,
    Approval,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Decision {
    Pass,
    Block,
    Pending,
    RolledBack,
    Partial,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Pass => "PASS",
            Decision::Block => "BLOCK",
            Decision::Pending => "PENDING",
            Decision::RolledBack => "ROLLED_BACK",
            Decision::Partial => "PARTIAL",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    Succeeded,
    Failed,
    NotRun,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Succeeded => "SUCCEEDED",
            RunStatus::Failed => "FAILED",
            RunStatus::NotRun => "NOT_RUN",
        }
    }
}

/// One policy's verdict as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRecord {
    pub policy: String,
    /// PASS, BLOCK, WARN, APPROVAL, ERROR or NOT_APPLICABLE.
    pub status: String,
    /// advisory, soft or hard.
    pub level: String,
    /// `run`, or `step:<id>` for an action-level evaluation before that step.
    pub stage: String,
    pub reason: String,
    pub evidence: Json,
    /// `file:line:column` of the deciding rule.
    pub location: String,
}

/// One connector call (or, in a rollback receipt, one inverse call).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRecord {
    pub step: String,
    pub system: String,
    pub action: String,
    pub args: Json,
    pub success: bool,
    pub output: Json,
    pub error: Option<String>,
    /// `false`, or a word saying the desired state already held (`"exists"`, `"deleted"`).
    pub already_done: Json,
    /// What the inverse needs, captured before the mutation; null for read-only actions.
    pub rollback_data: Json,
    pub started_at: String,
    pub duration_ms: u64,
}

impl ActionRecord {
    /// A call about to be made (or refused): not yet successful, nothing done, nothing captured.
    pub fn begin(step: &str, system: &str, action: &str, args: Json, started_at: String) -> Self {
        ActionRecord {
            step: step.to_string(),
            system: system.to_string(),
            action: action.to_string(),
            args,
            success: false,
            output: Json::Null,
            error: None,
            already_done: Json::Bool(false),
            rollback_data: Json::Null,
            started_at,
            duration_ms: 0,
        }
    }
}

/// A soft policy bypassed with `--override POLICY --reason TEXT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub policy: String,
    pub reason: String,
    pub actor: String,
}

/// One receipt. The engine fills in everything but the chain fields and the signature; the
/// store sets `sequence` and `prev_sha256` under its lock, then signs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub version: u32,
    pub run_id: String,
    pub kind: Kind,
    pub original_run_id: Option<String>,
    pub workflow: String,
    pub workflow_sha256: String,
    pub policy_set_sha256: String,
    /// `{email, role, attributes}`.
    pub actor: Json,
    pub payload: Json,
    pub policy_results: Vec<PolicyRecord>,
    pub decision: Decision,
    pub status: RunStatus,
    pub actions_taken: Vec<ActionRecord>,
    pub overrides: Vec<Override>,
    /// What went wrong after the run started (a failed step, an interrupted run), if anything.
    pub error: Option<String>,
    /// True when the signing secret was shorter than 32 bytes and `--allow-insecure-secret`
    /// was given: such a receipt proves little, and says so.
    pub insecure_secret: bool,
    pub started_at: String,
    pub finished_at: String,
    /// 1 for the first receipt of a store, then +1 each.
    pub sequence: u64,
    /// SHA-256 (hex) of the previous receipt's signed content; 64 zeros for the first.
    pub prev_sha256: String,
    /// SHA-256 (hex) of the canonical JSON of each other field but `signature`, filled in at
    /// signing and covered by the signature: when a signature fails, these name the field
    /// that changed. Its own entry, `field_sha256`, is an HMAC over the other entries, so
    /// altered digests are told apart from an altered field. Leave empty when building a
    /// receipt; the signer fills it.
    pub field_sha256: BTreeMap<String, String>,
    /// Hex HMAC-SHA256 over the RFC 8785 canonical JSON of every other field.
    pub signature: String,
}
