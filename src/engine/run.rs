//! `enact run`: payload validation → every policy → steps (action-level policies, allowlist,
//! journalled intent with rollback data, act) → a signed receipt on every path.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value as Json, json};

use super::history::StoreHistory;
use super::policies::{PolicySetup, load_policies, split_levels};
use super::{Actor, EngineError, Project, Systems, policy_env, timestamp, workspace_and_home};
use crate::config::Config;
use crate::connectors::{self, ActionOutcome, Effect, Inverse};
use crate::policy::eval::{
    ActionCall, Context, Enforcement, PolicyResult, PolicyUse, Request, Session, Status,
};
use crate::policy::value::Value;
use crate::receipt::redact::redact;
use crate::receipt::{
    ActionRecord, Decision, Kind, Override, PolicyRecord, RECEIPT_VERSION, Receipt, RunId,
    RunStatus,
};
use crate::workflow::{TemplateError, TemplateScope, TemplateValue, Workflow};

/// What to run, as the command line (or a hook, or the demo) asks for it.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// A workflow file or name.
    pub workflow: String,
    pub payload: Json,
    pub actor: Actor,
    /// `(policy id, reason)` for each `--override`.
    pub overrides: Vec<(String, String)>,
    pub dry_run: bool,
}

/// One planned step as `--dry-run` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedStep {
    pub id: String,
    pub system: String,
    pub action: String,
    /// Null where an argument depends on an earlier step's output.
    pub args: Json,
    pub resolved: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    pub read_only: bool,
    /// How rollback would undo this step.
    pub rollback: String,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
    pub run_id: String,
    pub workflow: String,
    pub decision: Decision,
    pub status: RunStatus,
    pub policy_results: Vec<PolicyRecord>,
    pub actions_taken: Vec<ActionRecord>,
    pub overrides: Vec<Override>,
    pub outputs: serde_json::Map<String, Json>,
    pub error: Option<String>,
    pub dry_run: bool,
    /// The plan and its rollback plan (dry runs only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plan: Vec<PlannedStep>,
    /// Where the receipt is (absent for dry runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
    #[serde(skip)]
    pub signed: Option<Receipt>,
}

impl RunOutcome {
    pub fn exit_code(&self) -> u8 {
        use crate::cli::exit;
        match (self.decision, self.status) {
            (Decision::Block, _) => exit::BLOCK,
            (Decision::Pending, _) => exit::PENDING,
            (_, RunStatus::Failed) => exit::STEP_FAILED,
            _ => exit::OK,
        }
    }
}

/// How policy results add up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Pass,
    Pending,
    Block,
}

/// Runs a workflow. Returns `Err` only when nothing ran (bad config, workflow, policies,
/// overrides); from the moment the run starts, every outcome ends in a receipt.
pub fn run(project: &Project, cwd: &Path, options: &RunOptions) -> Result<RunOutcome, EngineError> {
    let workflow = project.workflow(&options.workflow, cwd)?;
    let workflow_base = workflow
        .dir
        .clone()
        .unwrap_or_else(|| project.config.base.clone());
    let setup = load_policies(
        &project.config.policies,
        &project.config.base,
        &workflow.policies,
        &workflow_base,
    )?;
    check_steps(&workflow, &project.config)?;
    if !options.dry_run {
        super::systems::check_credentials(&workflow, &project.config)?;
    }
    check_overrides(&options.overrides, &setup)?;
    Runner::new(project, &workflow, &setup, options).run()
}

/// Every step names a configured system, an action its connector has and the system allows,
/// and gives that action's parameters (no unknown one, every required one): checked before
/// anything runs, and by `enact check`.
pub fn check_steps(workflow: &Workflow, config: &Config) -> Result<(), EngineError> {
    let mut problems = Vec::new();
    for step in &workflow.steps {
        let Some(system) = config.systems.get(&step.system) else {
            let names: Vec<&str> = config.systems.keys().map(String::as_str).collect();
            let hint = crate::policy::diagnostic::did_you_mean(&step.system, names.iter().copied())
                .unwrap_or_else(|| format!("configured systems: {}", names.join(", ")));
            problems.push(format!(
                "step `{}` (line {}) calls `{}.{}`, but no system `{}` is configured; {hint}",
                step.id, step.line, step.system, step.action, step.system
            ));
            continue;
        };
        let actions = connectors::actions_of(&system.connector).unwrap_or(&[]);
        let Some(spec) = actions.iter().find(|a| a.name == step.action) else {
            let names: Vec<&str> = actions.iter().map(|a| a.name).collect();
            let hint = crate::policy::diagnostic::did_you_mean(&step.action, names.iter().copied())
                .unwrap_or_else(|| format!("its actions are {}", names.join(", ")));
            problems.push(format!(
                "step `{}` (line {}): the {} connector has no action `{}`; {hint}",
                step.id, step.line, system.connector, step.action
            ));
            continue;
        };
        problems.extend(argument_problems(step, spec));
        if !system.allowed_actions.contains(&step.action) {
            problems.push(format!(
                "step `{}` (line {}): `{}` is not in the allowed_actions of system `{}`; add it to the config if this workflow may do it",
                step.id, step.line, step.action, step.system
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(EngineError::Usage(format!(
            "{}: {}",
            workflow.source_name,
            problems.join("; ")
        )))
    }
}

/// Unknown and missing parameters of a step's `with` (values may be templates, so their types
/// are checked when the step runs).
fn argument_problems(step: &crate::workflow::Step, spec: &connectors::ActionSpec) -> Vec<String> {
    let given: Vec<&str> = match &step.with {
        TemplateValue::Map(entries) => entries.iter().map(|(k, _)| k.as_str()).collect(),
        _ => Vec::new(),
    };
    let names: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
    let mut problems = Vec::new();
    for key in &given {
        if !names.contains(key) {
            let hint = crate::policy::diagnostic::did_you_mean(key, names.iter().copied())
                .unwrap_or_else(|| format!("its parameters are {}", names.join(", ")));
            problems.push(format!(
                "step `{}` (line {}): `{}` has no parameter `{key}`; {hint}",
                step.id, step.line, spec.name
            ));
        }
    }
    for param in spec.params.iter().filter(|p| p.required) {
        if !given.contains(&param.name) {
            problems.push(format!(
                "step `{}` (line {}): `{}` needs `{}` ({}: {})",
                step.id,
                step.line,
                spec.name,
                param.name,
                param.ty.name(),
                param.description
            ));
        }
    }
    problems
}

fn check_overrides(overrides: &[(String, String)], setup: &PolicySetup) -> Result<(), EngineError> {
    for (policy, reason) in overrides {
        let Some(found) = setup.uses.iter().find(|u| &*u.policy.id == policy) else {
            let ids: Vec<&str> = setup.uses.iter().map(|u| &*u.policy.id).collect();
            let hint = crate::policy::diagnostic::did_you_mean(policy, ids.iter().copied())
                .unwrap_or_else(|| format!("this run's policies are {}", ids.join(", ")));
            return Err(EngineError::Usage(format!(
                "--override {policy}: this run applies no such policy; {hint}"
            )));
        };
        if found.enforcement != Enforcement::Soft {
            return Err(EngineError::Usage(format!(
                "--override {policy}: only soft policies can be overridden, and this one is {}",
                found.enforcement.name()
            )));
        }
        if reason.trim().is_empty() {
            return Err(EngineError::Usage(format!(
                "--override {policy} needs a --reason saying why"
            )));
        }
    }
    Ok(())
}

struct Runner<'p> {
    project: &'p Project,
    workflow: &'p Workflow,
    options: &'p RunOptions,
    run_uses: Vec<PolicyUse>,
    action_uses: Vec<PolicyUse>,
    policy_set_sha256: String,
    run_id: RunId,
    started: DateTime<Utc>,
    systems: Systems<'p>,
    overrides: Vec<Override>,
}

impl<'p> Runner<'p> {
    fn new(
        project: &'p Project,
        workflow: &'p Workflow,
        setup: &PolicySetup,
        options: &'p RunOptions,
    ) -> Self {
        let (run_uses, action_uses) = split_levels(&setup.uses);
        Runner {
            project,
            workflow,
            options,
            run_uses,
            action_uses,
            policy_set_sha256: setup.sha256.clone(),
            run_id: RunId::new(),
            started: Utc::now(),
            systems: Systems::new(&project.config),
            overrides: Vec::new(),
        }
    }

    fn run(mut self) -> Result<RunOutcome, EngineError> {
        let payload = match self.workflow.validate_payload(&self.options.payload) {
            Ok(payload) => payload,
            Err(problems) => {
                let reason = problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                let record = PolicyRecord {
                    policy: "workflow.inputs".into(),
                    status: "BLOCK".into(),
                    level: "hard".into(),
                    stage: "run".into(),
                    reason,
                    evidence: json!({ "payload": self.options.payload }),
                    location: self.workflow.source_name.clone(),
                };
                let mut outcome = self.outcome(Decision::Block, RunStatus::NotRun);
                outcome.policy_results.push(record);
                return self.finish(outcome, &self.options.payload.clone());
            }
        };
        let payload_value = Value::from(&payload);
        let actor_value = Value::from(&self.options.actor.to_json());
        let base_scope = TemplateScope::new(payload_value.clone(), actor_value.clone());
        let plan = match self.plan(&base_scope) {
            Ok(plan) => plan,
            Err(error) => {
                // A template that fails on the payload would fail mid-run: block up front.
                let mut outcome = self.outcome(Decision::Block, RunStatus::NotRun);
                outcome.policy_results.push(PolicyRecord {
                    policy: "workflow.arguments".into(),
                    status: "BLOCK".into(),
                    level: "hard".into(),
                    stage: "run".into(),
                    reason: error.to_string(),
                    evidence: json!({ "payload": payload }),
                    location: self.workflow.source_name.clone(),
                });
                return self.finish(outcome, &payload);
            }
        };
        let (workspace, home) = workspace_and_home(&self.project.config);
        let plan_value = Value::list(plan.iter().map(|step| {
            Value::map([
                ("id", Value::str(step.id.as_str())),
                ("system", Value::str(step.system.as_str())),
                ("action", Value::str(step.action.as_str())),
                ("args", Value::from(&step.args)),
                ("resolved", Value::Bool(step.resolved)),
            ])
        }));
        let request = Request {
            actor: actor_value,
            workflow: Value::map([
                ("name", Value::str(self.workflow.name.as_str())),
                (
                    "description",
                    Value::str(self.workflow.description.as_str()),
                ),
            ]),
            payload: payload_value.clone(),
            plan: plan_value,
            now: self.started,
            env: policy_env(&self.project.config),
            workspace,
            home,
        };
        let history = StoreHistory {
            store: self.project.store.as_ref(),
        };

        // Run level: every policy, whatever the results.
        let context = Context::run(&request);
        let results = Session::new(&context, &self.systems, &history).evaluate_all(&self.run_uses);
        let mut records: Vec<PolicyRecord> = results.iter().map(|r| record(r, "run")).collect();
        let verdict = self.judge(&results);

        if self.options.dry_run {
            let mut outcome = self.outcome(decision_of(verdict), RunStatus::NotRun);
            if verdict == Verdict::Pass {
                for step in plan.iter().filter(|s| s.resolved) {
                    let call = ActionCall {
                        system: step.system.clone(),
                        name: step.action.clone(),
                        args: Value::from(&step.args),
                    };
                    let context = Context::action(&request, &call);
                    let results = Session::new(&context, &self.systems, &history)
                        .evaluate_all(&self.action_uses);
                    let stage = format!("step:{}", step.id);
                    records.extend(results.iter().map(|r| record(r, &stage)));
                    if self.judge(&results) != Verdict::Pass {
                        outcome.decision = decision_of(self.judge(&results));
                    }
                }
            }
            outcome.policy_results = records;
            outcome.plan = plan;
            outcome.overrides = self.overrides.clone();
            outcome.dry_run = true;
            return Ok(outcome);
        }

        if verdict != Verdict::Pass {
            let mut outcome = self.outcome(decision_of(verdict), RunStatus::NotRun);
            outcome.policy_results = records;
            return self.finish(outcome, &payload);
        }

        // The run starts: from here on, whatever happens ends in a receipt.
        let mut outcome = self.outcome(Decision::Pass, RunStatus::Succeeded);
        outcome.policy_results = records;
        let mut scope = base_scope;
        let mut journal_started = false;
        for step in &self.workflow.steps {
            let started = Utc::now();
            match step.should_run(&scope) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(error) => {
                    let message = format!("step `{}`: its `if` failed: {error}", step.id);
                    outcome
                        .actions_taken
                        .push(failed_record(step, Json::Null, &message, started));
                    outcome.status = RunStatus::Failed;
                    outcome.error = Some(message);
                    break;
                }
            }
            let args = match step.render_args(&scope) {
                Ok(args) => args,
                Err(error) => {
                    let message = format!("step `{}`: {error}", step.id);
                    outcome
                        .actions_taken
                        .push(failed_record(step, Json::Null, &message, started));
                    outcome.status = RunStatus::Failed;
                    outcome.error = Some(message);
                    scope.record_step(&step.id, false, Value::Null);
                    if step.continue_on_error {
                        continue;
                    }
                    break;
                }
            };

            // Action level: the policies that judge a single call, right before it.
            let call = ActionCall {
                system: step.system.clone(),
                name: step.action.clone(),
                args: Value::from(&args),
            };
            let context = Context::action(&request, &call);
            let results =
                Session::new(&context, &self.systems, &history).evaluate_all(&self.action_uses);
            let stage = format!("step:{}", step.id);
            outcome
                .policy_results
                .extend(results.iter().map(|r| record(r, &stage)));
            let verdict = self.judge(&results);
            if verdict != Verdict::Pass {
                let failing: Vec<String> = results
                    .iter()
                    .filter(|r| {
                        matches!(r.status, Status::Block | Status::Error | Status::Approval)
                    })
                    .filter(|r| r.level != Enforcement::Advisory)
                    .map(|r| format!("{}: {}", r.policy, r.reason))
                    .collect();
                outcome.decision = Decision::Block;
                outcome.status = if outcome.actions_taken.is_empty() {
                    RunStatus::NotRun
                } else {
                    RunStatus::Failed
                };
                outcome.error = Some(format!(
                    "step `{}` was blocked before it ran: {}{}",
                    step.id,
                    failing.join("; "),
                    if verdict == Verdict::Pending {
                        " (approval is asked for at run level only, so a step that needs one is blocked)"
                    } else {
                        ""
                    }
                ));
                break;
            }

            if !journal_started {
                journal_started = true;
                if let Err(error) = self.journal(&json!({
                    "type": "begin",
                    "receipt": self.skeleton(&outcome, &payload),
                })) {
                    let message =
                        format!("cannot start the run journal: {error}; nothing was done");
                    outcome
                        .actions_taken
                        .push(failed_record(step, args, &message, started));
                    outcome.status = RunStatus::Failed;
                    outcome.error = Some(message);
                    break;
                }
            }
            let record = self.execute(step, args, started);
            let success = record.success;
            scope.record_step(&step.id, success, Value::from(&record.output));
            if !success {
                outcome.status = RunStatus::Failed;
                outcome.error.get_or_insert_with(|| {
                    format!(
                        "step `{}` failed: {}",
                        step.id,
                        record.error.clone().unwrap_or_default()
                    )
                });
            }
            outcome.actions_taken.push(record);
            if !success && !step.continue_on_error {
                break;
            }
        }

        if outcome.status == RunStatus::Succeeded {
            match self.workflow.render_outputs(&scope) {
                Ok(Json::Object(outputs)) => outcome.outputs = outputs,
                Ok(_) => {}
                Err(error) => {
                    outcome
                        .outputs
                        .insert("error".into(), json!(error.to_string()));
                }
            }
        }
        self.finish(outcome, &payload)
    }

    /// Runs one step through its connector: allowlist, arguments, journalled rollback data,
    /// the call itself. A panic or error becomes a failed step, never a lost receipt.
    fn execute(
        &self,
        step: &crate::workflow::Step,
        args: Json,
        started: DateTime<Utc>,
    ) -> ActionRecord {
        let clock = Instant::now();
        let mut record = ActionRecord::begin(
            &step.id,
            &step.system,
            &step.action,
            args.clone(),
            timestamp(started),
        );
        let allowed = self
            .systems
            .config(&step.system)
            .is_some_and(|s| s.allowed_actions.contains(&step.action));
        if !allowed {
            record.error = Some(format!(
                "`{}.{}` is not allowed: it is not in the system's allowed_actions",
                step.system, step.action
            ));
            return record;
        }
        let connector = match self.systems.get(&step.system) {
            Ok(connector) => connector,
            Err(error) => {
                record.error = Some(error.to_string());
                return record;
            }
        };
        let spec = match connectors::spec(connector.as_ref(), &step.action)
            .and_then(|spec| connectors::check_args(spec, &args).map(|()| *spec))
        {
            Ok(spec) => spec,
            Err(error) => {
                record.error = Some(format!("step `{}`: {error}", step.id));
                return record;
            }
        };
        let keep_rollback_data = self.project.config.rollback;
        let mut prepared_data: Option<Json> = None;
        let result = catch_unwind(AssertUnwindSafe(|| {
            let mut prepared = |rollback_data: &Json| -> Result<(), String> {
                let mut rollback_data = if keep_rollback_data {
                    rollback_data.clone()
                } else {
                    Json::Null
                };
                redact(&mut rollback_data);
                let mut args = args.clone();
                redact(&mut args);
                self.journal(&json!({
                    "type": "prepared",
                    "step": step.id,
                    "system": step.system,
                    "action": step.action,
                    "args": args,
                    "rollback_data": rollback_data,
                    "started_at": timestamp(started),
                }))
                .map_err(|e| e.to_string())?;
                prepared_data = Some(rollback_data);
                Ok(())
            };
            if spec.effect == Effect::ReadOnly {
                connector.execute(&step.action, &args, &mut |_| Ok(()))
            } else {
                connector.execute(&step.action, &args, &mut prepared)
            }
        }));
        record.duration_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
        match result {
            Ok(Ok(ActionOutcome {
                output,
                already_done,
                rollback_data,
            })) => {
                record.success = true;
                record.output = output;
                record.already_done = already_done.map_or(Json::Bool(false), |w| json!(w));
                record.rollback_data = if keep_rollback_data {
                    rollback_data
                } else {
                    Json::Null
                };
            }
            Ok(Err(error)) => {
                record.error = Some(error.to_string());
                record.rollback_data = prepared_data.unwrap_or(Json::Null);
            }
            Err(_) => {
                record.error = Some(format!(
                    "internal error in the {} connector while running `{}`; the journal holds what was captured before it",
                    step.system, step.action
                ));
                record.rollback_data = prepared_data.unwrap_or(Json::Null);
            }
        }
        if spec.effect == Effect::Mutating {
            let mut done = json!({ "type": "done", "record": record });
            redact(&mut done);
            // A journal that cannot record completion is not fatal: the receipt follows.
            let _ = self.journal(&done);
        }
        record
    }

    fn journal(&self, entry: &Json) -> Result<(), crate::receipt::ReceiptError> {
        self.project
            .store
            .journal_append(&self.run_id, entry, &self.project.signer)
    }

    fn plan(&self, scope: &TemplateScope) -> Result<Vec<PlannedStep>, TemplateError> {
        Ok(self
            .workflow
            .plan(scope)?
            .into_iter()
            .map(|step| {
                let spec = self
                    .project
                    .config
                    .systems
                    .get(&step.system)
                    .and_then(|s| connectors::actions_of(&s.connector))
                    .and_then(|actions| actions.iter().find(|a| a.name == step.action));
                let (read_only, rollback) = match spec {
                    Some(spec) if spec.effect == Effect::ReadOnly => {
                        (true, "nothing to undo (read-only)".to_string())
                    }
                    Some(spec) => (
                        false,
                        match spec.inverse {
                            Inverse::Reversible { name, description } => {
                                format!("{name}: {description}")
                            }
                            Inverse::Irreversible { by_hand } => {
                                format!("irreversible: {by_hand}")
                            }
                            Inverse::None => "nothing to undo".to_string(),
                        },
                    ),
                    None => (false, "unknown action".to_string()),
                };
                PlannedStep {
                    id: step.id,
                    system: step.system,
                    action: step.action,
                    args: step.args,
                    resolved: step.resolved,
                    condition: step.condition,
                    read_only,
                    rollback,
                }
            })
            .collect())
    }

    /// Adds up results: a hard BLOCK or ERROR blocks; a soft one blocks unless overridden
    /// (the override is recorded); advisory results never block; APPROVAL makes the run PENDING.
    fn judge(&mut self, results: &[PolicyResult]) -> Verdict {
        let mut verdict = Verdict::Pass;
        for result in results {
            match (result.status, result.level) {
                (_, Enforcement::Advisory) => {}
                (Status::Block | Status::Error, Enforcement::Soft) => {
                    match self
                        .options
                        .overrides
                        .iter()
                        .find(|(policy, _)| **policy == *result.policy)
                    {
                        Some((policy, reason)) => {
                            if !self.overrides.iter().any(|o| o.policy == *policy) {
                                self.overrides.push(Override {
                                    policy: policy.clone(),
                                    reason: reason.clone(),
                                    actor: self.options.actor.email.clone(),
                                });
                            }
                        }
                        None => verdict = Verdict::Block,
                    }
                }
                (Status::Block | Status::Error, _) => verdict = Verdict::Block,
                (Status::Approval, _) if verdict == Verdict::Pass => verdict = Verdict::Pending,
                _ => {}
            }
        }
        verdict
    }

    fn outcome(&self, decision: Decision, status: RunStatus) -> RunOutcome {
        RunOutcome {
            run_id: self.run_id.to_string(),
            workflow: self.workflow.name.clone(),
            decision,
            status,
            policy_results: Vec::new(),
            actions_taken: Vec::new(),
            overrides: Vec::new(),
            outputs: serde_json::Map::new(),
            error: None,
            dry_run: false,
            plan: Vec::new(),
            receipt: None,
            signed: None,
        }
    }

    /// The receipt as far as it is known, before chain and signature.
    fn skeleton(&self, outcome: &RunOutcome, payload: &Json) -> Receipt {
        let mut payload = payload.clone();
        redact(&mut payload);
        let mut policy_results = outcome.policy_results.clone();
        for result in &mut policy_results {
            redact(&mut result.evidence);
        }
        let mut actions_taken = outcome.actions_taken.clone();
        for action in &mut actions_taken {
            redact(&mut action.args);
            redact(&mut action.output);
            redact(&mut action.rollback_data);
        }
        Receipt {
            version: RECEIPT_VERSION,
            run_id: self.run_id.to_string(),
            kind: Kind::Run,
            original_run_id: None,
            workflow: self.workflow.name.clone(),
            workflow_sha256: self.workflow.sha256.clone(),
            policy_set_sha256: self.policy_set_sha256.clone(),
            actor: self.options.actor.to_json(),
            payload,
            policy_results,
            decision: outcome.decision,
            status: outcome.status,
            actions_taken,
            overrides: self.overrides.clone(),
            error: outcome.error.clone(),
            insecure_secret: self.project.insecure_secret,
            started_at: timestamp(self.started),
            finished_at: timestamp(Utc::now()),
            sequence: 0,
            prev_sha256: String::new(),
            field_sha256: Default::default(),
            signature: String::new(),
        }
    }

    /// Writes the receipt, then drops the journal it supersedes.
    fn finish(&self, mut outcome: RunOutcome, payload: &Json) -> Result<RunOutcome, EngineError> {
        outcome.overrides = self.overrides.clone();
        let receipt = self.skeleton(&outcome, payload);
        let stored = self
            .project
            .store
            .append(receipt, &self.project.signer)
            .map_err(|error| {
                EngineError::Internal(format!(
                    "run {} could not write its receipt: {error}; its journal is kept, and `enact rollback {}` can still undo what it did",
                    self.run_id, self.run_id
                ))
            })?;
        let _ = self.project.store.journal_remove(&self.run_id);
        outcome.receipt = Some(self.project.store.location_of(&self.run_id));
        outcome.signed = Some(stored);
        Ok(outcome)
    }
}

fn decision_of(verdict: Verdict) -> Decision {
    match verdict {
        Verdict::Pass => Decision::Pass,
        Verdict::Pending => Decision::Pending,
        Verdict::Block => Decision::Block,
    }
}

/// A policy result as the receipt records it.
pub fn record(result: &PolicyResult, stage: &str) -> PolicyRecord {
    PolicyRecord {
        policy: result.policy.to_string(),
        status: result.status.as_str().to_string(),
        level: result.level.name().to_string(),
        stage: stage.to_string(),
        reason: result.reason.clone(),
        evidence: result.evidence.to_json(),
        location: result.location.to_string(),
    }
}

fn failed_record(
    step: &crate::workflow::Step,
    args: Json,
    message: &str,
    started: DateTime<Utc>,
) -> ActionRecord {
    let mut record = ActionRecord::begin(
        &step.id,
        &step.system,
        &step.action,
        args,
        timestamp(started),
    );
    record.error = Some(message.to_string());
    record
}
