//! Builders shared by the module's unit tests.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use super::model::{Decision, Kind, RECEIPT_VERSION, Receipt, RunStatus};
use super::run_id::RunId;
use super::signing::{Secret, Signer};

pub(crate) fn signer() -> Signer {
    Signer::new(
        &Secret::from_bytes(b"unit-test secret of at least 32 bytes".to_vec(), false).unwrap(),
    )
}

/// An unsigned receipt with `payload`, sequence 1 of a new chain.
pub(crate) fn receipt(payload: Json) -> Receipt {
    Receipt {
        version: RECEIPT_VERSION,
        run_id: RunId::new().to_string(),
        kind: Kind::Run,
        original_run_id: None,
        workflow: "unit".to_string(),
        workflow_sha256: "a".repeat(64),
        policy_set_sha256: "b".repeat(64),
        actor: json!({"email": "agent@example.com"}),
        payload,
        policy_results: Vec::new(),
        decision: Decision::Pass,
        status: RunStatus::Succeeded,
        actions_taken: Vec::new(),
        overrides: Vec::new(),
        error: None,
        insecure_secret: false,
        started_at: "2026-01-01T00:00:00Z".to_string(),
        finished_at: "2026-01-01T00:00:01Z".to_string(),
        sequence: 1,
        prev_sha256: "0".repeat(64),
        field_sha256: BTreeMap::new(),
        signature: String::new(),
    }
}
