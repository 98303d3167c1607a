//! `enact rollback RUN_ID` (SPEC §9): verify the run's receipt, walk its actions in reverse,
//! apply each inverse, and sign a rollback receipt. A run that was killed before it could
//! write its receipt is first recovered from its journal.

use std::str::FromStr;
use std::time::Instant;

use chrono::Utc;
use serde::Serialize;
use serde_json::{Value as Json, json};

use super::{Actor, EngineError, Project, Systems, timestamp};
use crate::connectors::{self, Effect, Inverse};
use crate::receipt::redact::REDACTED;
use crate::receipt::verify::verify_document;
use crate::receipt::{ActionRecord, Decision, Kind, RECEIPT_VERSION, Receipt, RunId, RunStatus};

/// How a step interrupted by a crash is marked in a recovered receipt: it may or may not
/// have happened, so rollback applies its inverse (which connectors make safe either way).
pub const INTERRUPTED: &str = "interrupted";

#[derive(Debug, Clone)]
pub struct RollbackOptions {
    pub run_id: String,
    pub dry_run: bool,
    pub actor: Actor,
}

/// One inverse, planned or done.
#[derive(Debug, Clone, Serialize)]
pub struct UndoStep {
    pub step: String,
    pub system: String,
    pub action: String,
    /// What rollback does (or why it cannot).
    pub plan: String,
    pub reversible: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RollbackOutcome {
    /// The rollback's own run id (absent for dry runs).
    pub run_id: Option<String>,
    pub original_run_id: String,
    pub decision: Decision,
    pub status: RunStatus,
    pub plan: Vec<UndoStep>,
    pub actions_taken: Vec<ActionRecord>,
    /// True when the original run had no receipt and was recovered from its journal.
    pub recovered: bool,
    pub error: Option<String>,
    pub dry_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
}

impl RollbackOutcome {
    pub fn exit_code(&self) -> u8 {
        use crate::cli::exit;
        match self.decision {
            Decision::RolledBack => exit::OK,
            _ => exit::STEP_FAILED,
        }
    }
}

pub fn rollback(
    project: &Project,
    options: &RollbackOptions,
) -> Result<RollbackOutcome, EngineError> {
    let run_id = RunId::from_str(&options.run_id).map_err(|e| EngineError::Usage(e.to_string()))?;
    let (original, recovered) = load_or_recover(project, &run_id)?;
    if original.kind != Kind::Run {
        return Err(EngineError::Usage(format!(
            "{run_id} is a {} receipt; only runs can be rolled back (rolling back a rollback is refused — run the workflow again instead)",
            serde_json::to_value(original.kind)
                .ok()
                .and_then(|k| k.as_str().map(str::to_string))
                .unwrap_or_default()
        )));
    }
    let earlier = earlier_rollbacks(project, &run_id)?;
    if let Some(done) = earlier.iter().find(|r| r.decision == Decision::RolledBack) {
        return Err(EngineError::Usage(format!(
            "run {run_id} was already rolled back by {} at {}; rolling back twice is refused",
            done.run_id, done.started_at
        )));
    }
    let undone_before: Vec<String> = earlier
        .iter()
        .flat_map(|r| r.actions_taken.iter())
        .filter(|a| a.success)
        .map(|a| a.step.clone())
        .collect();
    let to_undo: Vec<&ActionRecord> = original
        .actions_taken
        .iter()
        .rev()
        .filter(|a| !undone_before.contains(&a.step))
        .filter(|a| needs_undo(project, a))
        .collect();
    if to_undo.is_empty() && !recovered {
        let why = match original.decision {
            Decision::Pass => "none of its steps changed anything".to_string(),
            other => format!("it was {}, so no step ran", other.as_str()),
        };
        return Err(EngineError::Usage(format!(
            "run {run_id} has nothing to roll back: {why}"
        )));
    }

    let systems = Systems::new(&project.config);
    let plan: Vec<UndoStep> = to_undo.iter().map(|a| plan_step(project, a)).collect();
    let mut outcome = RollbackOutcome {
        run_id: None,
        original_run_id: run_id.to_string(),
        decision: Decision::RolledBack,
        status: RunStatus::Succeeded,
        plan,
        actions_taken: Vec::new(),
        recovered,
        error: None,
        dry_run: options.dry_run,
        receipt: None,
    };
    if options.dry_run {
        if outcome.plan.iter().any(|s| !s.reversible) {
            outcome.decision = Decision::Partial;
        }
        return Ok(outcome);
    }

    let started = Utc::now();
    let mut problems = Vec::new();
    for (action, planned) in to_undo.iter().zip(&outcome.plan) {
        let record = undo(&systems, action, planned);
        if !record.success {
            problems.push(format!(
                "step `{}`: {}",
                record.step,
                record.error.clone().unwrap_or_default()
            ));
        }
        outcome.actions_taken.push(record);
    }
    if !problems.is_empty() {
        outcome.decision = Decision::Partial;
        outcome.status = RunStatus::Failed;
        outcome.error = Some(problems.join("; "));
    }
    let rollback_id = RunId::new();
    let receipt = Receipt {
        version: RECEIPT_VERSION,
        run_id: rollback_id.to_string(),
        kind: Kind::Rollback,
        original_run_id: Some(run_id.to_string()),
        workflow: original.workflow.clone(),
        workflow_sha256: original.workflow_sha256.clone(),
        policy_set_sha256: original.policy_set_sha256.clone(),
        actor: options.actor.to_json(),
        payload: json!({ "run_id": run_id.to_string() }),
        policy_results: Vec::new(),
        decision: outcome.decision,
        status: outcome.status,
        actions_taken: outcome.actions_taken.clone(),
        overrides: Vec::new(),
        error: outcome.error.clone(),
        insecure_secret: project.insecure_secret,
        started_at: timestamp(started),
        finished_at: timestamp(Utc::now()),
        sequence: 0,
        prev_sha256: String::new(),
        field_sha256: Default::default(),
        signature: String::new(),
    };
    project.store.append(receipt, &project.signer)?;
    outcome.run_id = Some(rollback_id.to_string());
    outcome.receipt = Some(project.store.location_of(&rollback_id));
    Ok(outcome)
}

/// The run's verified receipt, or — when the run was killed before writing one — a receipt
/// rebuilt from its journal, signed and stored first so the record is complete.
fn load_or_recover(project: &Project, run_id: &RunId) -> Result<(Receipt, bool), EngineError> {
    if let Some(document) = project.store.get(run_id)? {
        let receipt = verify_document(&document, &project.signer).map_err(|problems| {
            EngineError::Usage(format!(
                "receipt {run_id} failed verification, so it cannot be trusted to roll back from: {}; run `enact verify {run_id}`",
                problems.iter().map(|p| p.message.clone()).collect::<Vec<_>>().join("; ")
            ))
        })?;
        return Ok((receipt, false));
    }
    let Some(entries) = project.store.journal_read(run_id, &project.signer)? else {
        return Err(EngineError::Usage(format!(
            "no receipt and no journal for run {run_id} in {}; `enact ls` lists the runs there",
            project.store.describe()
        )));
    };
    let mut receipt: Option<Receipt> = None;
    let mut actions: Vec<ActionRecord> = Vec::new();
    for entry in &entries.entries {
        match entry.get("type").and_then(Json::as_str) {
            Some("begin") => {
                receipt = entry
                    .get("receipt")
                    .and_then(|r| serde_json::from_value(r.clone()).ok());
            }
            Some("prepared") => {
                let text = |key: &str| {
                    entry
                        .get(key)
                        .and_then(Json::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                let mut record = ActionRecord::begin(
                    &text("step"),
                    &text("system"),
                    &text("action"),
                    entry.get("args").cloned().unwrap_or(Json::Null),
                    text("started_at"),
                );
                record.error = Some(format!(
                    "{INTERRUPTED}: the run stopped during this step; it may or may not have happened"
                ));
                record.rollback_data = entry.get("rollback_data").cloned().unwrap_or(Json::Null);
                actions.push(record);
            }
            Some("done") => {
                if let Some(record) = entry
                    .get("record")
                    .and_then(|r| serde_json::from_value::<ActionRecord>(r.clone()).ok())
                {
                    match actions.iter_mut().find(|a| a.step == record.step) {
                        Some(slot) => *slot = record,
                        None => actions.push(record),
                    }
                }
            }
            _ => {}
        }
    }
    let Some(mut receipt) = receipt else {
        return Err(EngineError::Usage(format!(
            "the journal of run {run_id} has no start entry; it cannot be recovered"
        )));
    };
    receipt.actions_taken = actions;
    receipt.status = RunStatus::Failed;
    receipt.error = Some(format!(
        "{INTERRUPTED}: the run stopped before writing its receipt; recovered from its journal by `enact rollback`"
    ));
    receipt.finished_at = timestamp(Utc::now());
    let stored = project.store.append(receipt, &project.signer)?;
    project.store.journal_remove(run_id)?;
    Ok((stored, true))
}

fn earlier_rollbacks(project: &Project, run_id: &RunId) -> Result<Vec<Receipt>, EngineError> {
    let target = run_id.to_string();
    let mut found = Vec::new();
    for summary in project.store.summaries()? {
        if summary.original_run_id.as_deref() != Some(target.as_str()) {
            continue;
        }
        let Ok(id) = RunId::from_str(&summary.run_id) else {
            continue;
        };
        if let Some(document) = project.store.get(&id)?
            && let Ok(receipt) = verify_document(&document, &project.signer)
        {
            found.push(receipt);
        }
    }
    Ok(found)
}

fn is_interrupted(action: &ActionRecord) -> bool {
    !action.success
        && action
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with(INTERRUPTED))
}

/// Whether a recorded action changed something rollback should undo.
fn needs_undo(project: &Project, action: &ActionRecord) -> bool {
    let read_only = action_spec(project, action).is_some_and(|s| s.effect == Effect::ReadOnly);
    if read_only {
        return false;
    }
    if is_interrupted(action) {
        return true;
    }
    action.success && action.already_done == Json::Bool(false)
}

fn action_spec(
    project: &Project,
    action: &ActionRecord,
) -> Option<&'static connectors::ActionSpec> {
    let system = project.config.systems.get(&action.system)?;
    connectors::actions_of(&system.connector)?
        .iter()
        .find(|a| a.name == action.action)
}

fn contains_redaction(value: &Json) -> bool {
    match value {
        Json::String(s) => s == REDACTED,
        Json::Array(items) => items.iter().any(contains_redaction),
        Json::Object(map) => map.values().any(contains_redaction),
        _ => false,
    }
}

fn plan_step(project: &Project, action: &ActionRecord) -> UndoStep {
    let (plan, reversible) = match action_spec(project, action) {
        None => (
            format!(
                "system `{}` is no longer configured with action `{}`; undo it by hand",
                action.system, action.action
            ),
            false,
        ),
        Some(spec) => match spec.inverse {
            Inverse::Irreversible { by_hand } => (format!("irreversible: {by_hand}"), false),
            Inverse::None => ("nothing to undo".to_string(), true),
            Inverse::Reversible { name, description } => {
                if action.rollback_data.is_null() {
                    (
                        "no rollback data was recorded (rollback was disabled in the config); undo it by hand".to_string(),
                        false,
                    )
                } else if contains_redaction(&action.rollback_data) {
                    (
                        "the captured state held secrets, which receipts never keep; restore those values by hand".to_string(),
                        false,
                    )
                } else {
                    (format!("{name}: {description}"), true)
                }
            }
        },
    };
    UndoStep {
        step: action.step.clone(),
        system: action.system.clone(),
        action: action.action.clone(),
        plan,
        reversible,
    }
}

/// Applies one inverse. The inverse of an action Enact performed is always permitted: no
/// allowlist or policy stands between a run and its own rollback.
fn undo(systems: &Systems<'_>, action: &ActionRecord, planned: &UndoStep) -> ActionRecord {
    let started = Utc::now();
    let clock = Instant::now();
    let mut record = ActionRecord::begin(
        &action.step,
        &action.system,
        &action.action,
        action.args.clone(),
        timestamp(started),
    );
    if !planned.reversible {
        record.error = Some(planned.plan.clone());
        return record;
    }
    let output = if is_interrupted(action) {
        Json::Null
    } else {
        action.output.clone()
    };
    let result = systems.get(&action.system).and_then(|connector| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            connector.undo(&action.action, &action.args, &output, &action.rollback_data)
        }))
        .unwrap_or_else(|_| {
            Err(connectors::ConnectorError::Failed(format!(
                "internal error while undoing `{}`",
                action.action
            )))
        })
    });
    record.duration_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
    match result {
        Ok(undone) => {
            record.action = undone.action.to_string();
            record.success = true;
            record.output = undone.output;
            record.already_done = undone.already_done.map_or(Json::Bool(false), |w| json!(w));
        }
        Err(error) => record.error = Some(error.to_string()),
    }
    record
}
