//! Enact's side: the scenario's `.enact` files loaded and bound as `enact.yaml` would bind them
//! (hard enforcement), one raw request turned into an Enact request with the tool call as the
//! action at hand, and the decision: denied when any policy BLOCKs or ERRORs, as `enact run`
//! and the hook decide.

use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow, bail};
use chrono::{DateTime, Utc};
use enact::policy::ast::Status;
use enact::policy::eval::{
    ActionCall, Context, Enforcement, NoHistory, NoLookups, PolicyResult, PolicyUse, Request,
    Session,
};
use enact::policy::library::{PolicySet, SAMPLE_PARAMETERS, bind, bind_all_builtins};
use enact::policy::value::Value;

use crate::Verdict;

/// Bound policies, ready to judge requests.
pub struct EnactSide {
    uses: Vec<PolicyUse>,
}

/// One request in Enact's terms: the run-level request and the tool call being judged.
pub struct Prepared {
    request: Request,
    call: ActionCall,
}

impl EnactSide {
    /// Loads policy files, refusing any diagnostic at all (a warning too: an unused `let` in a
    /// benchmark policy would be work the Cedar twin does not do).
    pub fn load(files: &[PathBuf]) -> Result<EnactSide> {
        let set = PolicySet::load(files);
        if let Some(first) = set.diagnostics.first() {
            bail!(
                "{}: {}: {} ({} diagnostics in all)",
                first.position().unwrap_or_default(),
                first.code.as_str(),
                first.message,
                set.diagnostics.len()
            );
        }
        let uses = set
            .policies()
            .map(|policy| bind(policy, &Value::Null, Enforcement::Hard))
            .collect::<Result<Vec<_>, String>>()
            .map_err(|e| anyhow!(e))?;
        Ok(EnactSide { uses })
    }

    /// The whole built-in library, every policy bound with the library's sample parameters
    /// (as `benches/policy_eval.rs` does).
    pub fn library() -> Result<EnactSide> {
        let with = Value::from_json_str(SAMPLE_PARAMETERS)?;
        let uses = bind_all_builtins(&with, Enforcement::Hard).map_err(|e| anyhow!(e))?;
        Ok(EnactSide { uses })
    }

    pub fn policy_count(&self) -> usize {
        self.uses.len()
    }

    /// Every policy's result for one request.
    pub fn evaluate(&self, prepared: &Prepared) -> Vec<PolicyResult> {
        let ctx = Context::action(&prepared.request, &prepared.call);
        Session::new(&ctx, &NoLookups, &NoHistory).evaluate_all(&self.uses)
    }

    /// The decision alone: what the timings measure.
    pub fn allows(&self, prepared: &Prepared) -> bool {
        !self.evaluate(prepared).iter().any(denies)
    }

    /// The decision with the policies that denied; an ERROR is reported as an error here, as
    /// the scenario's policies must never fail on its requests.
    pub fn verdict(&self, prepared: &Prepared) -> Result<Verdict> {
        let results = self.evaluate(prepared);
        if let Some(error) = results.iter().find(|r| r.status == Status::Error) {
            bail!(
                "{} failed: {} at {}",
                error.policy,
                error.reason,
                error.location
            );
        }
        let denied_by = results
            .iter()
            .filter(|r| denies(r))
            .map(|r| short_name(&r.policy).to_string())
            .collect();
        Ok(Verdict {
            allowed: results.iter().all(|r| !denies(r)),
            denied_by,
        })
    }
}

fn denies(result: &PolicyResult) -> bool {
    matches!(result.status, Status::Block | Status::Error)
}

/// `agent.known_role` → `known_role`: the file's namespace is not part of the Cedar `@id`.
fn short_name(id: &str) -> &str {
    id.rsplit_once('.').map_or(id, |(_, name)| name)
}

/// Turns one raw request (`{principal: {id, role}, action, resource, context: {now, ...}}`)
/// into Enact's input: the principal becomes the actor, the context the call's arguments, and
/// `context.now` the request's time.
pub fn prepare(raw: &str) -> Result<Prepared> {
    let json = Value::from_json_str(raw).context("the request is not JSON")?;
    let field = |value: &Value, name: &str| -> Result<Value> {
        value
            .get(name)
            .cloned()
            .with_context(|| format!("the request has no `{name}`"))
    };
    let principal = field(&json, "principal")?;
    let context = field(&json, "context")?;
    let action = field(&json, "action")?;
    let action = action.as_str().context("`action` is not a string")?;
    let now = field(&context, "now")?;
    let now: DateTime<Utc> = now
        .as_str()
        .context("`context.now` is not a string")?
        .parse()
        .context("`context.now` is not an RFC 3339 time")?;
    let actor = Value::map([
        ("email", principal.get("id").cloned().unwrap_or(Value::Null)),
        (
            "role",
            principal.get("role").cloned().unwrap_or(Value::Null),
        ),
    ]);
    let request = Request {
        actor,
        workflow: Value::Null,
        payload: context.clone(),
        plan: Value::list([]),
        now,
        env: Value::empty_map(),
        workspace: "/workspace".into(),
        home: "/home/agent".into(),
    };
    let call = ActionCall {
        system: "agent".into(),
        name: action.to_string(),
        args: context,
    };
    Ok(Prepared { request, call })
}

/// The payload `benches/policy_eval.rs` judges the library with: a coding agent's tool call
/// carrying a shell pipeline, a branch, a path, a commit message, content, SQL, a recipient, a
/// channel and a body, so that every domain of the library has something to judge.
pub const LIBRARY_PAYLOAD: &str = r#"{"command": "cd app && FOO=1 npm test -- --watch=false | tee test.log && git push origin agent/fix-42",
    "branch": "agent/fix-42", "base": "develop", "path": "src/main.rs", "commit_message": "Fix the retry loop in the payment client",
    "content": "fn main() { println!(\"hello\"); }", "sql": "SELECT id, status FROM orders WHERE id = 42 LIMIT 1",
    "to": "ada@example.com", "channel": "C0123", "body": "Please review the attached change before Friday."}"#;

/// The library's request: `LIBRARY_PAYLOAD` as the arguments of an agent's tool call.
pub fn library_request() -> Result<Prepared> {
    let payload = Value::from_json_str(LIBRARY_PAYLOAD)?;
    let now = "2026-01-15T12:00:00Z".parse()?;
    Ok(Prepared {
        request: Request {
            actor: Value::map([
                ("email", Value::str("agent@example.com")),
                ("role", Value::str("agent")),
            ]),
            workflow: Value::map([("name", Value::str("agent_pr_workflow"))]),
            payload: payload.clone(),
            plan: Value::list([]),
            now,
            env: Value::empty_map(),
            workspace: "/workspace".into(),
            home: "/home/agent".into(),
        },
        call: ActionCall {
            system: "agent".into(),
            name: "tool_call".into(),
            args: payload,
        },
    })
}
