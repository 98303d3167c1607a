//! `enact run WORKFLOW`: the main job. Exit 0 PASS, 3 BLOCK, 4 a step failed, 5 PENDING,
//! 2 when nothing ran because the input was wrong, 1 when the receipt could not be written.

use std::io::Read;
use std::path::PathBuf;

use serde_json::Value as Json;

use super::project::{ProjectArgs, engine_error, open_project};
use super::{JSON_VERSION, Output, exit};
use crate::engine::Actor;
use crate::engine::run::{RunOptions, RunOutcome, run};
use crate::receipt::{Decision, RunStatus};

#[derive(clap::Args)]
pub struct Args {
    /// A workflow file (deploy.yaml) or the name of a built-in or configured workflow.
    workflow: String,
    /// The request, as a JSON object.
    #[arg(long, value_name = "JSON", conflicts_with = "payload_file")]
    payload: Option<String>,
    /// Read the payload from a file (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    payload_file: Option<PathBuf>,
    #[command(flatten)]
    who: super::ActorArgs,
    /// Bypass a soft policy (recorded in the receipt with --reason).
    #[arg(long = "override", value_name = "POLICY", requires = "reason")]
    overrides: Vec<String>,
    /// Why the soft policies named by --override are bypassed.
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
    /// Evaluate the policies and print the plan with its rollback plan; touch nothing, write no receipt.
    #[arg(long)]
    dry_run: bool,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    project: ProjectArgs,
}

pub fn run_command(out: &Output, args: &Args) -> u8 {
    let payload = match read_payload(args) {
        Ok(payload) => payload,
        Err(message) => {
            out.error(&message);
            return exit::USAGE;
        }
    };
    let attributes = match super::key_values("attr", &args.who.attrs) {
        Ok(attributes) => attributes,
        Err(message) => {
            out.error(&message);
            return exit::USAGE;
        }
    };
    let reason = args.reason.clone().unwrap_or_default();
    let options = RunOptions {
        workflow: args.workflow.clone(),
        payload,
        actor: Actor::from_flags(args.who.actor.clone(), args.who.role.clone(), attributes),
        overrides: args
            .overrides
            .iter()
            .map(|p| (p.clone(), reason.clone()))
            .collect(),
        dry_run: args.dry_run,
    };
    let (project, cwd) = match open_project(&args.project) {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let project = match project {
        Ok(project) => project,
        Err(error) => return engine_error(out, &error),
    };
    match run(&project, &cwd, &options) {
        Ok(outcome) => {
            if args.json {
                out.json(&serde_json::json!({ "version": JSON_VERSION, "run": outcome }));
            } else {
                out.print(&render(&outcome));
            }
            outcome.exit_code()
        }
        Err(error) => engine_error(out, &error),
    }
}

fn read_payload(args: &Args) -> Result<Json, String> {
    let (text, origin) = match (&args.payload, &args.payload_file) {
        (Some(text), _) if text == "-" => (read_stdin()?, "stdin".to_string()),
        (Some(text), _) => (text.clone(), "--payload".to_string()),
        (None, Some(path)) if path.as_os_str() == "-" => (read_stdin()?, "stdin".to_string()),
        (None, Some(path)) => (
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read --payload-file {}: {e}", path.display()))?,
            path.display().to_string(),
        ),
        (None, None) => return Ok(Json::Object(serde_json::Map::new())),
    };
    let payload: Json = serde_json::from_str(&text).map_err(|e| {
        format!(
            "the payload from {origin} is not valid JSON: {e} (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    if !payload.is_object() {
        return Err(format!(
            "the payload from {origin} must be a JSON object like {{\"branch\": \"agent/fix\"}}"
        ));
    }
    Ok(payload)
}

fn read_stdin() -> Result<String, String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read the payload from stdin: {e}"))?;
    Ok(text)
}

/// The human summary of a run.
pub fn render(outcome: &RunOutcome) -> String {
    use std::fmt::Write;
    let mut text = String::new();
    let status = match (outcome.dry_run, outcome.decision, outcome.status) {
        (true, _, _) => "dry run: nothing was touched, no receipt written".to_string(),
        (_, Decision::Pass, RunStatus::Succeeded) => "every step succeeded".to_string(),
        (_, Decision::Pass, RunStatus::Failed) => "a step failed".to_string(),
        (_, Decision::Block, RunStatus::NotRun) => "nothing ran".to_string(),
        (_, Decision::Block, _) => "stopped before a blocked step".to_string(),
        (_, Decision::Pending, _) => "waiting for approval; nothing ran".to_string(),
        (_, _, status) => status.as_str().to_lowercase(),
    };
    let _ = writeln!(
        text,
        "{}  {}  run {} — {status}",
        outcome.decision.as_str(),
        outcome.workflow,
        outcome.run_id
    );
    let counted = |status: &str| {
        outcome
            .policy_results
            .iter()
            .filter(|r| r.status == status)
            .count()
    };
    let _ = writeln!(
        text,
        "policies: {} passed, {} blocked, {} warned, {} errors, {} not applicable",
        counted("PASS"),
        counted("BLOCK"),
        counted("WARN"),
        counted("ERROR"),
        counted("NOT_APPLICABLE")
    );
    for result in &outcome.policy_results {
        let mark = match result.status.as_str() {
            "BLOCK" | "ERROR" => "✗",
            "WARN" => "!",
            "APPROVAL" => "?",
            _ => continue,
        };
        let stage = if result.stage == "run" {
            String::new()
        } else {
            format!(" [{}]", result.stage)
        };
        let overridden = outcome.overrides.iter().any(|o| o.policy == result.policy);
        let _ = writeln!(
            text,
            "  {mark} {} {} ({}{}){stage}: {}",
            result.status,
            result.policy,
            result.level,
            if overridden { ", overridden" } else { "" },
            result.reason
        );
    }
    for o in &outcome.overrides {
        let _ = writeln!(text, "  override {} by {}: {}", o.policy, o.actor, o.reason);
    }
    if !outcome.plan.is_empty() {
        let _ = writeln!(text, "plan:");
        for (i, step) in outcome.plan.iter().enumerate() {
            let args = if step.resolved {
                step.args.to_string()
            } else {
                "(depends on earlier steps)".to_string()
            };
            let _ = writeln!(
                text,
                "  {}. {} {}.{} {args}",
                i + 1,
                step.id,
                step.system,
                step.action
            );
            if let Some(condition) = &step.condition {
                let _ = writeln!(text, "     only if {condition}");
            }
            let _ = writeln!(text, "     rollback: {}", step.rollback);
        }
    }
    if !outcome.actions_taken.is_empty() {
        let _ = writeln!(text, "steps:");
        for action in &outcome.actions_taken {
            let detail = match (&action.error, &action.already_done) {
                (Some(error), _) => format!("failed: {error}"),
                (None, Json::String(word)) => format!("already done ({word})"),
                _ => format!("done: {}", brief(&action.output, 90)),
            };
            let _ = writeln!(
                text,
                "  {} {} {}.{} — {detail} ({} ms)",
                if action.success { "✓" } else { "✗" },
                action.step,
                action.system,
                action.action,
                action.duration_ms
            );
        }
    }
    if let Some(error) = &outcome.error
        && outcome.decision != Decision::Block
    {
        let _ = writeln!(text, "error: {error}");
    } else if let Some(error) = &outcome.error {
        let _ = writeln!(text, "{error}");
    }
    for (name, value) in &outcome.outputs {
        let _ = writeln!(text, "output {name}: {value}");
    }
    if let Some(receipt) = &outcome.receipt {
        let _ = writeln!(text, "receipt: {}", super::display_path(receipt));
        let changed_something = outcome.actions_taken.iter().any(|a| {
            a.success && a.already_done == Json::Bool(false) && !a.rollback_data.is_null()
        });
        if changed_something {
            let _ = writeln!(text, "undo it: enact rollback {}", outcome.run_id);
        }
    }
    text
}

/// A value as compact JSON, cut to about `limit` characters.
pub fn brief(value: &Json, limit: usize) -> String {
    let text = value.to_string();
    if text.chars().count() <= limit {
        text
    } else {
        format!("{}…", text.chars().take(limit).collect::<String>())
    }
}
