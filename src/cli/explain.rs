//! `enact explain`: one policy against one request, every rule with its value, outcome and
//! place. Exit 0 for PASS (and WARN, NOT_APPLICABLE), 3 for BLOCK or ERROR, 5 for APPROVAL,
//! 2 for bad input.

use std::path::PathBuf;

use chrono::Utc;
use serde::Serialize;

use super::policies::{render as render_table, table};
use super::{JSON_VERSION, Output, exit};
use crate::policy::eval::{
    ActionCall, Context, Enforcement, NoHistory, NoLookups, PolicyResult, Request, RuleOutcome,
    RuleTrace, Session, Status,
};
use crate::policy::library::{bind, resolve};
use crate::policy::types::parse_time;
use crate::policy::value::Value;

#[derive(clap::Args)]
pub struct Args {
    /// A built-in policy id (git.dont_push_to_main) or FILE.enact:NAME.
    policy: String,
    /// The policy's parameters, as a JSON object.
    #[arg(long, value_name = "JSON")]
    with: Option<String>,
    /// The request's payload (or the action's arguments, with --action), as a JSON object.
    #[arg(long, value_name = "JSON")]
    payload: Option<String>,
    #[command(flatten)]
    who: super::ActorArgs,
    /// An environment variable the policy may read.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// The time of the request (default: now).
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
    /// Evaluate at action level, as a call to this action with the payload as arguments.
    #[arg(long, value_name = "SYSTEM.ACTION")]
    action: Option<String>,
    /// The workflow's name, for policies scoped to workflows.
    #[arg(long, value_name = "NAME")]
    workflow: Option<String>,
    /// The workspace that relative paths are resolved against (default: the current directory).
    #[arg(long, value_name = "DIR")]
    workspace: Option<PathBuf>,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Explanation<'a> {
    version: u32,
    result: &'a PolicyResult,
    rules: &'a [RuleTrace],
}

fn json_arg(flag: &str, text: Option<&str>) -> Result<Value, String> {
    match text {
        None => Ok(Value::Null),
        Some(text) => {
            Value::from_json_str(text).map_err(|e| format!("--{flag} is not valid JSON: {e}"))
        }
    }
}

fn request(args: &Args) -> Result<(Request, Option<ActionCall>), String> {
    let payload = match json_arg("payload", args.payload.as_deref())? {
        Value::Null => Value::empty_map(),
        map @ Value::Map(_) => map,
        other => {
            return Err(format!(
                "--payload must be a JSON object, got {}",
                other.type_name()
            ));
        }
    };
    let now = match &args.now {
        Some(text) => parse_time(text).map_err(|why| format!("--now: {why}"))?,
        None => Utc::now(),
    };
    let workspace = match &args.workspace {
        Some(dir) => dir.clone(),
        None => std::env::current_dir()
            .map_err(|e| format!("cannot read the current directory: {e}"))?,
    };
    let action = match &args.action {
        Some(text) => {
            let (system, name) = text.split_once('.').ok_or_else(|| {
                format!("--action is SYSTEM.ACTION, e.g. db.delete_row; got `{text}`")
            })?;
            Some(ActionCall {
                system: system.into(),
                name: name.into(),
                args: payload.clone(),
            })
        }
        None => None,
    };
    let request = Request {
        actor: Value::map([
            (
                "email",
                args.who.actor.clone().map_or(Value::Null, Value::from),
            ),
            (
                "role",
                args.who.role.clone().map_or(Value::Null, Value::from),
            ),
            (
                "attributes",
                Value::from(&serde_json::Value::Object(super::key_values(
                    "attr",
                    &args.who.attrs,
                )?)),
            ),
        ]),
        workflow: args.workflow.as_ref().map_or(Value::Null, |name| {
            Value::map([("name", Value::str(name.as_str()))])
        }),
        payload,
        plan: Value::list([]),
        now,
        env: Value::map(
            super::key_values("env", &args.env)?
                .into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        Value::str(v.as_str().map_or_else(|| v.to_string(), str::to_string)),
                    )
                }),
        ),
        workspace: workspace.display().to_string(),
        home: std::env::var("HOME").unwrap_or_else(|_| "/root".into()),
    };
    Ok((request, action))
}

pub fn run(out: &Output, args: &Args) -> u8 {
    let policy = match resolve(&args.policy) {
        Ok(policy) => policy,
        Err(diagnostics) => {
            out.diagnostics(&diagnostics);
            return exit::USAGE;
        }
    };
    let prepared = json_arg("with", args.with.as_deref())
        .and_then(|with| bind(&policy, &with, Enforcement::Hard))
        .and_then(|policy_use| request(args).map(|r| (policy_use, r)));
    let (policy_use, (request, action)) = match prepared {
        Ok(prepared) => prepared,
        Err(message) => {
            out.error(&message);
            return exit::USAGE;
        }
    };
    let action = action
        .or_else(|| (!policy.levels.run).then(|| ActionCall::unnamed(request.payload.clone())));
    let ctx = match &action {
        Some(call) => Context::action(&request, call),
        None => Context::run(&request),
    };
    let session = Session::new(&ctx, &NoLookups, &NoHistory);
    let (result, trace) = session.explain(&policy_use);
    if args.json {
        out.json(&Explanation {
            version: JSON_VERSION,
            result: &result,
            rules: &trace,
        });
    } else {
        out.print(&render(&result, &trace));
    }
    match result.status {
        Status::Pass | Status::Warn | Status::NotApplicable => exit::OK,
        Status::Block | Status::Error => exit::BLOCK,
        Status::Approval => exit::PENDING,
    }
}

fn shorten(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        text.to_string()
    } else {
        let cut: String = text.chars().take(limit.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

fn render(result: &PolicyResult, trace: &[RuleTrace]) -> String {
    let mut text = format!(
        "{}: {} — {}\n  decided at {}\n",
        result.policy,
        result.status.as_str(),
        result.reason,
        result.location
    );
    if !trace.is_empty() {
        let mut rules = table(&["LINE", "RULE", "VALUE", "OUTCOME"]);
        for rule in trace {
            let outcome = match rule.outcome {
                RuleOutcome::Bound => "bound",
                RuleOutcome::Held => "held",
                RuleOutcome::Fired => "fired",
                RuleOutcome::Error => "error",
                RuleOutcome::NotReached => "not reached",
            };
            rules.add_row(vec![
                format!("{}:{}", rule.location.line, rule.location.column),
                shorten(&rule.source, 60),
                rule.value
                    .as_ref()
                    .map_or(String::new(), |v| shorten(&v.to_string(), 40)),
                outcome.to_string(),
            ]);
        }
        text.push_str(&render_table(&rules));
        text.push('\n');
    }
    if result.evidence.as_map().is_some_and(|m| !m.is_empty()) {
        text.push_str(&format!(
            "evidence: {}\n",
            shorten(&result.evidence.to_string(), 400)
        ));
    }
    text
}
