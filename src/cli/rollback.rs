//! `enact rollback RUN_ID`: undo a whole run from its receipt. Exit 0 ROLLED_BACK, 4 PARTIAL,
//! 2 when refused (bad or unknown run id, tampered receipt, already rolled back).

use super::project::{ProjectArgs, engine_error, open_project};
use super::{JSON_VERSION, Output};
use crate::engine::Actor;
use crate::engine::rollback::{RollbackOptions, RollbackOutcome, rollback};

#[derive(clap::Args)]
pub struct Args {
    /// The run to undo (its UUID, as `enact ls` shows it).
    run_id: String,
    /// Print what would be undone, touch nothing, write no receipt.
    #[arg(long)]
    dry_run: bool,
    /// Who rolls back (default: $ENACT_ACTOR, else USER@local).
    #[arg(long, value_name = "EMAIL")]
    actor: Option<String>,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    project: ProjectArgs,
}

pub fn run(out: &Output, args: &Args) -> u8 {
    let project = match open_project(&args.project) {
        Ok((Ok(project), _)) => project,
        Ok((Err(error), _)) => return engine_error(out, &error),
        Err(code) => return code,
    };
    let options = RollbackOptions {
        run_id: args.run_id.clone(),
        dry_run: args.dry_run,
        actor: Actor::from_flags(args.actor.clone(), None, serde_json::Map::new()),
    };
    match rollback(&project, &options) {
        Ok(outcome) => {
            if args.json {
                out.json(&serde_json::json!({ "version": JSON_VERSION, "rollback": outcome }));
            } else {
                out.print(&render(&outcome));
            }
            outcome.exit_code()
        }
        Err(error) => engine_error(out, &error),
    }
}

pub fn render(outcome: &RollbackOutcome) -> String {
    use std::fmt::Write;
    let mut text = String::new();
    if outcome.recovered {
        let _ = writeln!(
            text,
            "run {} had no receipt (it was interrupted); its receipt was rebuilt from the journal",
            outcome.original_run_id
        );
    }
    if outcome.dry_run {
        let _ = writeln!(
            text,
            "dry run: rolling back {} would do, newest step first:",
            outcome.original_run_id
        );
        for step in &outcome.plan {
            let _ = writeln!(
                text,
                "  {} {} {}.{} — {}",
                if step.reversible { "↶" } else { "✗" },
                step.step,
                step.system,
                step.action,
                step.plan
            );
        }
        return text;
    }
    let _ = writeln!(
        text,
        "{}  rollback of {}{}",
        outcome.decision.as_str(),
        outcome.original_run_id,
        outcome
            .run_id
            .as_ref()
            .map(|id| format!("  (rollback run {id})"))
            .unwrap_or_default()
    );
    for action in &outcome.actions_taken {
        let detail = match (&action.error, &action.already_done) {
            (Some(error), _) => format!("not undone: {error}"),
            (None, serde_json::Value::String(word)) => format!("nothing left to undo ({word})"),
            _ => "undone".to_string(),
        };
        let _ = writeln!(
            text,
            "  {} {} {}.{} — {detail}",
            if action.success { "↶" } else { "✗" },
            action.step,
            action.system,
            action.action
        );
    }
    if let Some(receipt) = &outcome.receipt {
        let _ = writeln!(text, "receipt: {}", super::display_path(receipt));
    }
    text
}
