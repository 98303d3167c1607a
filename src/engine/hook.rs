//! The agent hook's pipeline (SPEC §11): one Claude Code tool call judged as one action by the
//! hook's policy set, answered allow / deny / ask, and recorded in a signed, chained receipt —
//! on every path, including the ones where the call could not be judged (those deny).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value as Json, json};

use super::history::StoreHistory;
use super::policies::{bind_entry, fingerprint};
use super::run::record;
use super::{Actor, EngineError, Project, Systems, policy_env, timestamp};
use crate::config::{Config, OnPass};
use crate::hook::guard::{self, HookFiles};
use crate::hook::{
    Answer, HookEvent, PathBase, Permission, ToolAction, ToolKind, map_tool, tool_listed,
};
use crate::policy::analysis::secrets;
use crate::policy::eval::{
    ActionCall, Context, Enforcement, History, PolicyUse, Request, Session, Status,
};
use crate::policy::value::Value;
use crate::receipt::canonical::sha256_hex;
use crate::receipt::redact::redact;
use crate::receipt::{Decision, Kind, PolicyRecord, RECEIPT_VERSION, Receipt, RunId, RunStatus};
use crate::workflow::{PolicyEntry, PolicySource};

/// Identifies the tool mapping in receipts (`workflow_sha256` is the SHA-256 of this text): it
/// changes when the fields presented for a tool do.
pub const HOOK_MAPPING: &str = "enact hook claude-code: tool mapping v1";

/// The name the hook's guard of its own files is recorded under (see `hook::guard`).
pub const GUARD: &str = "enact.hook_files";

/// Strings longer than this are cut in receipts, with the length and SHA-256 of the whole: a
/// receipt per tool call must stay small, and the hash still pins what was judged.
const RECEIPT_STRING_LIMIT: usize = 16 * 1024;

/// One policy of the hook's set, limited to some tools or not.
#[derive(Debug, Clone)]
pub struct HookUse {
    pub policy: PolicyUse,
    pub tools: Option<Vec<String>>,
}

/// The bound policies of the hook and their fingerprint.
#[derive(Debug, Clone)]
pub struct HookPolicies {
    pub uses: Vec<HookUse>,
    pub sha256: String,
}

impl HookPolicies {
    /// The config's `hook.policies`, else the default set. Any entry that does not load is an
    /// error: the hook then denies every call, saying why.
    pub fn load(config: &Config) -> Result<HookPolicies, EngineError> {
        let configured = config.hook.as_ref().and_then(|h| h.policies.clone());
        let entries: Vec<(PolicyEntry, Option<Vec<String>>)> = match configured {
            Some(entries) => entries.into_iter().map(|e| (e.entry, e.tools)).collect(),
            None => crate::hook::DEFAULT_POLICIES
                .iter()
                .map(|(id, tools)| {
                    let entry = PolicyEntry {
                        source: PolicySource::Library((*id).to_string()),
                        with: Value::Null,
                        level: Enforcement::Hard,
                    };
                    let tools = tools.map(|t| t.iter().map(|s| (*s).to_string()).collect());
                    (entry, tools)
                })
                .collect(),
        };
        let mut uses = Vec::new();
        let mut diagnostics = Vec::new();
        for (entry, tools) in entries {
            match bind_entry(&entry, &config.base) {
                Ok(bound) => uses.extend(bound.into_iter().map(|policy| HookUse {
                    policy,
                    tools: tools.clone(),
                })),
                Err(mut errors) => diagnostics.append(&mut errors),
            }
        }
        if !diagnostics.is_empty() {
            return Err(EngineError::Policies(diagnostics));
        }
        Ok(HookPolicies {
            sha256: fingerprint(uses.iter().map(|u| (&u.policy, u.tools.as_deref())))?,
            uses,
        })
    }

    /// The uses that apply to `tool`.
    fn for_tool(&self, tool: &str) -> Vec<PolicyUse> {
        self.uses
            .iter()
            .filter(|u| u.tools.as_deref().is_none_or(|t| tool_listed(t, tool)))
            .map(|u| u.policy.clone())
            .collect()
    }
}

/// How the policies' results add up for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every enforced policy passed.
    Pass,
    /// A soft policy failed, one asked for approval, or the tool is unknown: a human decides.
    Ask,
    /// A hard policy blocked or erred, or the call could not be judged.
    Deny,
}

impl Verdict {
    pub fn decision(self) -> Decision {
        match self {
            Verdict::Pass => Decision::Pass,
            Verdict::Ask => Decision::Pending,
            Verdict::Deny => Decision::Block,
        }
    }
}

/// What the hook decided about one call.
#[derive(Debug, Clone, Serialize)]
pub struct Judgement {
    pub verdict: Verdict,
    /// The tool's name, when the event named one.
    pub tool: Option<String>,
    /// The call as the policies saw it; absent when it could not be mapped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Json>,
    /// Every policy that applied to the tool, in order.
    pub policy_results: Vec<PolicyRecord>,
    /// `policy: reason` of each enforced failure, and the unknown-tool notice.
    pub reasons: Vec<String>,
    /// Why the call could not be judged (it is then denied), with the fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

impl Judgement {
    /// A call denied because it could not be judged.
    pub fn unjudgeable(tool: Option<String>, problem: impl Into<String>) -> Judgement {
        Judgement {
            verdict: Verdict::Deny,
            tool,
            action: None,
            policy_results: Vec::new(),
            reasons: Vec::new(),
            problem: Some(problem.into()),
        }
    }

    /// The answer in the hook protocol. `receipt` is the run id of the receipt, when one was
    /// written.
    pub fn answer(&self, on_pass: OnPass, receipt: Option<&str>) -> Answer {
        let tool = self.tool.as_deref().unwrap_or("tool");
        let receipt = receipt
            .map(|id| format!(" Receipt {id}."))
            .unwrap_or_default();
        if let Some(problem) = &self.problem {
            let stop = if problem.ends_with('.') { "" } else { "." };
            return Answer::deny(format!(
                "Enact could not judge this {tool} call, so it is blocked: {problem}{stop}{receipt}"
            ));
        }
        let list = self
            .reasons
            .iter()
            .map(|r| format!("\n- {r}"))
            .collect::<String>();
        match self.verdict {
            Verdict::Deny => Answer::deny(format!(
                "Enact blocked this {tool} call:{list}\nThis is a policy decision, not an error: \
                 do not retry it in another form; tell the user what you wanted to do and why.{receipt}"
            )),
            Verdict::Ask => Answer {
                permission: Permission::Ask,
                reason: format!("Enact asks a human to confirm this {tool} call:{list}{receipt}"),
            },
            Verdict::Pass => Answer {
                permission: match on_pass {
                    OnPass::Allow => Permission::Allow,
                    OnPass::Defer => Permission::Defer,
                },
                reason: match self.policy_results.len() {
                    1 => format!("Enact: 1 policy passed this {tool} call.{receipt}"),
                    n => format!("Enact: {n} policies passed this {tool} call.{receipt}"),
                },
            },
        }
    }
}

/// Where the hook is: the project root (for path policies, "the workspace"), the home
/// directory, and the files the hook runs on — all canonical, to compare with canonical paths.
#[derive(Debug, Clone)]
pub struct HookSite {
    pub project_root: String,
    pub home: String,
    pub files: HookFiles,
}

impl HookSite {
    pub fn of(config: &Config) -> HookSite {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/root"));
        let root = PathBuf::from(canonical_dir(&config.base));
        let mut guarded: Vec<PathBuf> = vec![
            root.join(".claude/settings.json"),
            root.join(".claude/settings.local.json"),
        ];
        guarded.extend(config.file.clone());
        if let crate::config::ReceiptsLocation::Directory(dir) = &config.receipts {
            guarded.push(dir.clone());
        }
        let policy_files = config
            .hook
            .iter()
            .flat_map(|h| h.policies.iter().flatten())
            .filter_map(|e| match &e.entry.source {
                PolicySource::File(path) => Some(path.clone()),
                PolicySource::Library(_) => None,
            });
        guarded.extend(policy_files);
        HookSite {
            project_root: root.to_string_lossy().into_owned(),
            home: canonical_dir(&home),
            files: HookFiles {
                guarded: guarded.iter().map(|p| canonical_dir(p)).collect(),
                secret: config.secret_file.as_deref().map(canonical_dir),
            },
        }
    }
}

fn canonical_dir(dir: &Path) -> String {
    std::fs::canonicalize(dir)
        .unwrap_or_else(|_| dir.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

/// Judges one event: maps the tool call, evaluates the policies that apply to it at action
/// level, and adds up their results. Touches no store (history reads aside).
pub fn judge(
    event: &HookEvent,
    policies: &HookPolicies,
    config: &Config,
    site: &HookSite,
    history: &dyn History,
    now: DateTime<Utc>,
) -> Judgement {
    let cwd = event
        .cwd
        .as_deref()
        .map(|c| canonical_dir(Path::new(c)))
        .unwrap_or_else(|| site.project_root.clone());
    let base = PathBase::new(cwd.clone(), site.home.clone());
    let action = match map_tool(event, &base) {
        Ok(action) => action,
        Err(error) => {
            return Judgement::unjudgeable(
                Some(event.tool_name.clone()),
                format!(
                    "{error}. If Claude Code sent this, `enact hook test` replays the event; report it so the mapping can learn the tool's shape."
                ),
            );
        }
    };
    // Whatever the policies say, the hook's own files stay out of reach; the policies are still
    // evaluated and recorded, so the receipt shows every reason.
    let guarded = guard::check(&action, &site.files, &base).map(|reason| PolicyRecord {
        policy: GUARD.into(),
        status: "BLOCK".into(),
        level: "hard".into(),
        stage: "hook".into(),
        reason,
        evidence: json!({ "files": site.files.guarded, "secret": site.files.secret }),
        location: "built-in".into(),
    });
    let args = Value::from(&Json::Object(action.args.clone()));
    let actor = hook_actor(event);
    let request = Request {
        actor: Value::from(&actor.to_json()),
        workflow: Value::Null,
        payload: args.clone(),
        plan: Value::list([]),
        now,
        env: policy_env(config),
        // A shell command's relative words name files where it runs; a file tool's path is
        // already absolute, and "the workspace" of the path policies is the project.
        workspace: if action.tool == "Bash" {
            cwd
        } else {
            site.project_root.clone()
        },
        home: site.home.clone(),
    };
    let call = ActionCall {
        system: action.system.clone(),
        name: action.name.clone(),
        args,
    };
    let context = Context::action(&request, &call);
    let systems = Systems::new(config);
    let uses = policies.for_tool(&action.tool);
    let results = Session::new(&context, &systems, history).evaluate_all(&uses);

    let mut verdict = Verdict::Pass;
    let mut reasons = Vec::new();
    for result in &results {
        let failed = matches!(result.status, Status::Block | Status::Error);
        let asks = result.status == Status::Approval;
        match result.level {
            Enforcement::Advisory => {}
            Enforcement::Hard if failed => {
                verdict = Verdict::Deny;
                reasons.push(format!("{}: {}", result.policy, result.reason));
            }
            _ if failed || asks => {
                if verdict == Verdict::Pass {
                    verdict = Verdict::Ask;
                }
                let why = if asks { "approval" } else { "soft" };
                reasons.push(format!("{}: {} ({why})", result.policy, result.reason));
            }
            _ => {}
        }
    }
    if let Some(record) = &guarded {
        verdict = Verdict::Deny;
        reasons.push(format!("{GUARD}: {}", record.reason));
    }
    if action.kind == ToolKind::Unknown && verdict == Verdict::Pass {
        verdict = Verdict::Ask;
        reasons.push(format!(
            "Enact does not know the tool `{}`: its arguments were judged as given, and no policy was written for them",
            action.tool
        ));
    }
    Judgement {
        verdict,
        tool: Some(action.tool.clone()),
        action: Some(action_json(&action)),
        policy_results: results
            .iter()
            .map(|r| record(r, "hook"))
            .chain(guarded)
            .collect(),
        reasons,
        problem: None,
    }
}

fn action_json(action: &ToolAction) -> Json {
    json!({
        "system": action.system,
        "name": action.name,
        "kind": action.kind.as_str(),
        "args": action.args,
    })
}

/// Who makes a hook call: `ENACT_ACTOR` (else the login at `local`) in the role `agent`, with
/// the Claude Code session as attributes.
fn hook_actor(event: &HookEvent) -> Actor {
    let mut attributes = serde_json::Map::new();
    attributes.insert("agent".into(), json!("claude-code"));
    if let Some(session) = &event.session_id {
        attributes.insert("session_id".into(), json!(session));
    }
    if let Some(mode) = &event.permission_mode {
        attributes.insert("permission_mode".into(), json!(mode));
    }
    Actor::from_flags(None, Some("agent".into()), attributes)
}

/// What the receipt of a hook call records of the event: the tool call as received (or, when
/// it did not parse, the text), redacted.
pub enum Recorded<'e> {
    Event(&'e HookEvent),
    Unparsed(&'e str),
}

/// Appends the receipt of a judgement: decision PASS, BLOCK or PENDING (ask), status NOT_RUN
/// (the hook runs nothing itself). Returns its run id.
pub fn record_judgement(
    project: &Project,
    recorded: Recorded<'_>,
    judgement: &Judgement,
    policy_set_sha256: &str,
    started: DateTime<Utc>,
) -> Result<String, EngineError> {
    let run_id = RunId::new();
    let (mut payload, actor) = match recorded {
        Recorded::Event(event) => (
            json!({
                "tool_name": event.tool_name,
                "tool_input": event.tool_input,
                "tool_use_id": event.tool_use_id,
                "session_id": event.session_id,
                "cwd": event.cwd,
                "action": judgement.action,
            }),
            hook_actor(event),
        ),
        Recorded::Unparsed(text) => (
            json!({ "event_text": text }),
            Actor::from_flags(None, Some("agent".into()), serde_json::Map::new()),
        ),
    };
    let mut policy_results = judgement.policy_results.clone();
    for result in &mut policy_results {
        scrub(&mut result.evidence);
    }
    scrub(&mut payload);
    let workflow = match judgement.action.as_ref() {
        Some(action) => format!(
            "{}.{}",
            action["system"].as_str().unwrap_or_default(),
            action["name"].as_str().unwrap_or_default()
        ),
        None => format!(
            "claude_code.{}",
            judgement.tool.as_deref().unwrap_or("unknown")
        ),
    };
    let receipt = Receipt {
        version: RECEIPT_VERSION,
        run_id: run_id.to_string(),
        kind: Kind::Run,
        original_run_id: None,
        workflow,
        workflow_sha256: sha256_hex(HOOK_MAPPING.as_bytes()),
        policy_set_sha256: policy_set_sha256.to_string(),
        actor: actor.to_json(),
        payload,
        policy_results,
        decision: judgement.verdict.decision(),
        status: RunStatus::NotRun,
        actions_taken: Vec::new(),
        overrides: Vec::new(),
        error: judgement.problem.clone(),
        insecure_secret: project.insecure_secret,
        started_at: timestamp(started),
        finished_at: timestamp(Utc::now()),
        sequence: 0,
        prev_sha256: String::new(),
        field_sha256: Default::default(),
        signature: String::new(),
    };
    project
        .store
        .append(receipt, &project.signer)
        .map_err(|error| {
            EngineError::Internal(format!(
                "cannot write the receipt of this call to {}: {error}; `enact verify` shows what is wrong with the store",
                project.store.describe()
            ))
        })?;
    Ok(run_id.to_string())
}

/// Keeps secrets and bulk out of a hook receipt: values under secret-looking keys redacted,
/// credentials found inside any string replaced by their kind, and long strings cut.
fn scrub(value: &mut Json) {
    redact(value);
    scrub_strings(value);
}

fn scrub_strings(value: &mut Json) {
    match value {
        Json::String(text) => {
            if let Some(cleaned) = without_secrets(text) {
                *text = cleaned;
            }
            if text.len() > RECEIPT_STRING_LIMIT {
                let mut cut = RECEIPT_STRING_LIMIT;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                let whole = format!(
                    "…[{} bytes in all, sha256 {}]",
                    text.len(),
                    sha256_hex(text.as_bytes())
                );
                text.truncate(cut);
                text.push_str(&whole);
            }
        }
        Json::Array(items) => items.iter_mut().for_each(scrub_strings),
        Json::Object(map) => map.values_mut().for_each(scrub_strings),
        _ => {}
    }
}

/// `text` with each credential the secret scanner finds replaced by `[REDACTED kind]`; `None`
/// when it holds none.
fn without_secrets(text: &str) -> Option<String> {
    let found = secrets::find(text);
    if found.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for secret in found {
        out.push_str(text.get(at..secret.start).unwrap_or_default());
        out.push_str(&format!("[REDACTED {}]", secret.kind));
        at = secret.end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    Some(out)
}

/// How `enact hook claude-code` and `enact hook test` find and use the project.
#[derive(Debug, Clone)]
pub struct HookOptions {
    /// `--config`, else `enact.yaml` found from `start` upwards.
    pub config: Option<PathBuf>,
    /// Where the project is looked for: `$CLAUDE_PROJECT_DIR`, else the working directory.
    pub start: PathBuf,
    pub allow_insecure_secret: bool,
    /// False for `enact hook test`, which judges without recording.
    pub write_receipt: bool,
}

/// One handled event: the judgement, the answer, and the receipt's run id when one was written.
#[derive(Debug, Clone)]
pub struct HookRun {
    pub judgement: Judgement,
    pub answer: Answer,
    pub receipt: Option<String>,
    /// How many policies the set holds (some may not apply to this tool).
    pub policy_count: usize,
}

/// Handles one event's text from end to end. Never fails: whatever goes wrong becomes a denial
/// that says what is wrong and how to fix it, recorded in a receipt whenever the project's
/// store and secret are usable.
pub fn handle(input: &str, options: &HookOptions) -> HookRun {
    let started = Utc::now();
    let event = HookEvent::parse(input);
    let tool = event.as_ref().ok().map(|e| e.tool_name.clone());
    let denied = |problem: String| {
        let judgement = Judgement::unjudgeable(tool.clone(), problem);
        HookRun {
            answer: judgement.answer(OnPass::Defer, None),
            judgement,
            receipt: None,
            policy_count: 0,
        }
    };
    let config = match Config::discover(options.config.as_deref(), &options.start) {
        Ok(config) => config,
        Err(error) => {
            return denied(format!(
                "{error}\nFix the config; `enact hook test EVENT` checks the setup without Claude Code."
            ));
        }
    };
    let on_pass = config.hook.as_ref().map(|h| h.on_pass).unwrap_or_default();
    let policies = HookPolicies::load(&config);
    let site = HookSite::of(&config);
    let project = match Project::open(config, options.allow_insecure_secret) {
        Ok(project) => project,
        Err(error) => {
            let fix = match error {
                EngineError::Secret(_) => {
                    " — or run `enact hook install`, which creates a secret file (mode 600) and names it in enact.yaml"
                }
                _ => "",
            };
            return denied(format!("{error}{fix}"));
        }
    };
    let history = StoreHistory {
        store: project.store.as_ref(),
    };
    let (judgement, policy_set_sha256, policy_count) = match (&event, &policies) {
        (Err(error), _) => (
            Judgement::unjudgeable(
                None,
                format!("{error}. `enact hook test FILE` replays a saved event"),
            ),
            String::new(),
            0,
        ),
        (Ok(event), Err(error)) => (
            Judgement::unjudgeable(Some(event.tool_name.clone()), policy_problem(error)),
            String::new(),
            0,
        ),
        (Ok(event), Ok(policies)) => (
            judge(event, policies, &project.config, &site, &history, started),
            policies.sha256.clone(),
            policies.uses.len(),
        ),
    };
    let mut run = HookRun {
        answer: judgement.answer(on_pass, None),
        judgement,
        receipt: None,
        policy_count,
    };
    if options.write_receipt {
        let recorded = match &event {
            Ok(event) => Recorded::Event(event),
            Err(_) => Recorded::Unparsed(input),
        };
        match record_judgement(
            &project,
            recorded,
            &run.judgement,
            &policy_set_sha256,
            started,
        ) {
            Ok(run_id) => run.receipt = Some(run_id),
            // No receipt, no pass: the call is denied, saying why.
            Err(error) => run.judgement = Judgement::unjudgeable(tool, error.to_string()),
        }
        run.answer = run.judgement.answer(on_pass, run.receipt.as_deref());
    }
    run
}

/// A policy set that did not load, with each problem's place.
fn policy_problem(error: &EngineError) -> String {
    match error {
        EngineError::Policies(diagnostics) => {
            let renderer = crate::policy::render::Renderer {
                format: crate::policy::render::ErrorFormat::Short,
                color: false,
            };
            let rendered: Vec<String> = diagnostics
                .iter()
                .map(|d| renderer.render(d).trim_end().to_string())
                .collect();
            format!(
                "the hook's policies do not load: {}. Fix them (`enact check` shows each problem in place)",
                rendered.join("; ")
            )
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_inside_strings_are_replaced_and_long_strings_cut() {
        let mut value = json!({
            "command": "curl -H 'Authorization: Bearer x' -d key=sk_live_4eC39HqLyjWDarjtT1zdp7dc https://api",
            "password": "hunter2",
            "content": "a".repeat(RECEIPT_STRING_LIMIT + 10),
        });
        scrub(&mut value);
        let command = value["command"].as_str().unwrap();
        assert!(!command.contains("sk_live_4eC3"), "{command}");
        assert!(
            command.contains("key=[REDACTED stripe_secret_key] https://api"),
            "{command}"
        );
        assert_eq!(value["password"], "[REDACTED]");
        let content = value["content"].as_str().unwrap();
        assert!(content.len() < RECEIPT_STRING_LIMIT + 200);
        assert!(content.contains(&format!(
            "[{} bytes in all, sha256 ",
            RECEIPT_STRING_LIMIT + 10
        )));
    }

    #[test]
    fn every_kind_of_secret_is_redacted_from_a_string() {
        let keys = [
            "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH",
            "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789ABCD",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "github_pat_11ABCDEFGHIJKLMNOPQRST_abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvw",
            "glpat-abcdefghijklmnopqrst",
            "xoxb-123456789012-123456789012-abcdefghijklmnop",
            "https://hooks.slack.com/services/T0123ABCD/B0123ABCD/abcdefghijklmnopqrstuvwx",
            "AKIAIOSFODNN7EXAMPLE",
            "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_secret_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "AIzaSyA-abcdefghijklmnopqrstuvwxyz01234",
            "ya29.abcdefghijklmnopqrstuvwxyz",
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "rk_test_4eC39HqLyjWDarjtT1zdp7dc",
            "hf_abcdefghijklmnopqrstuvwxyzabcdefgh",
            "npm_abcdefghijklmnopqrstuvwxyz0123456789",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAabcdefghijklmnopqrstuvwxyz0123456789abcd\n-----END RSA PRIVATE KEY-----",
        ];
        for key in keys {
            let text = format!("export X={key} # set");
            assert!(!secrets::find(&text).is_empty(), "the scanner finds {key}");
            assert!(
                !without_secrets(&text)
                    .unwrap()
                    .contains(&key[key.len() - 6..])
            );
        }
        assert_eq!(without_secrets("cargo test --workspace"), None);
    }

    #[test]
    fn the_fingerprint_of_the_hook_set_covers_which_tools_a_policy_judges() {
        let sha256 = |hook: &str| {
            let text = format!("hook:\n  policies:\n    - use: filesystem.dont_read_env\n{hook}");
            let config = Config::parse(std::path::Path::new("/p/enact.yaml"), &text).unwrap();
            HookPolicies::load(&config).unwrap().sha256
        };
        let every_tool = sha256("");
        let writes_only = sha256("      tools: [Write, Edit]\n");
        assert_ne!(every_tool, writes_only);
        assert_ne!(writes_only, sha256("      tools: [Write]\n"));
        assert_eq!(writes_only, sha256("      tools: [Write, Edit]\n"));
    }

    #[test]
    fn answers_name_the_policies_and_the_receipt() {
        let mut judgement = Judgement::unjudgeable(Some("Bash".into()), "no secret");
        let answer = judgement.answer(OnPass::Defer, Some("r-1"));
        assert_eq!(answer.permission, Permission::Deny);
        assert_eq!(
            answer.reason,
            "Enact could not judge this Bash call, so it is blocked: no secret. Receipt r-1."
        );
        judgement.problem = None;
        judgement.reasons = vec!["coding_agent.x: bad".into()];
        let answer = judgement.answer(OnPass::Defer, None);
        assert!(
            answer
                .reason
                .starts_with("Enact blocked this Bash call:\n- coding_agent.x: bad\n")
        );
        judgement.verdict = Verdict::Ask;
        assert_eq!(
            judgement.answer(OnPass::Defer, None).permission,
            Permission::Ask
        );
        judgement.verdict = Verdict::Pass;
        assert_eq!(
            judgement.answer(OnPass::Defer, None).permission,
            Permission::Defer
        );
        assert_eq!(
            judgement.answer(OnPass::Allow, None).permission,
            Permission::Allow
        );
    }
}
