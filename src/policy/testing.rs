//! Policy tests: `tests POLICY { "name" {input} modifiers => STATUS "reason" }` blocks, checked
//! when loaded and run by `enact test`. A policy usable at both levels is run at both, and must
//! give the expected answer at each: the same field names must work in a payload and in an
//! action's arguments.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::ast::{self, ModifierKind};
use super::checker;
use super::diagnostic::{Code, Diagnostic, did_you_mean};
use super::eval::{
    ActionCall, Context, Enforcement, History, Lookups, PolicyUse, Request, Session, Status,
};
use super::library::{LoadedFile, Resolution, bind};
use super::program::CompiledPolicy;
use super::source::{Location, SourceFile};
use super::types::parse_time;
use super::value::Value;

pub const DEFAULT_NOW: &str = "2026-01-15T12:00:00Z";
pub const DEFAULT_WORKSPACE: &str = "/workspace";
pub const DEFAULT_HOME: &str = "/home/agent";
const MODIFIERS: &[&str] = &[
    "with",
    "actor",
    "env",
    "now",
    "action",
    "workflow",
    "workspace",
    "home",
    "history",
    "level",
    "plan",
];

pub struct TestBlock {
    pub policy: Arc<CompiledPolicy>,
    pub cases: Vec<TestCase>,
}

pub struct TestCase {
    pub name: String,
    pub location: Location,
    pub policy_use: PolicyUse,
    pub input: Value,
    pub actor: Value,
    pub env: Value,
    pub now: DateTime<Utc>,
    pub action: Option<(String, String)>,
    pub workflow: Value,
    pub workspace: String,
    pub home: String,
    pub history: Vec<Value>,
    /// The run's planned steps, when the case gives them.
    pub plan: Option<Value>,
    pub lookups: Vec<MockLookup>,
    /// Evaluate at run level, at action level, or both.
    pub at_run: bool,
    pub at_action: bool,
    pub expect: Status,
    pub reason: Option<String>,
}

pub struct MockLookup {
    pub system: String,
    pub query: String,
    pub answer: Result<Value, String>,
}

pub struct CaseResult<'t> {
    pub case: &'t TestCase,
    pub policy: &'t str,
    /// Empty when the case passed.
    pub failures: Vec<String>,
}

pub fn compile_block(
    file: &LoadedFile,
    block: &ast::TestBlock,
    resolve: impl Fn(&str) -> Result<Arc<CompiledPolicy>, Resolution>,
) -> Result<TestBlock, Vec<Diagnostic>> {
    let source = &file.source;
    let policy = resolve(&block.policy.name).map_err(|resolution| {
        let Resolution::Unknown(hint) = resolution else {
            return Vec::new();
        };
        let mut diagnostic = Diagnostic::new(
            Code::UnknownPolicy,
            format!("tests name unknown policy `{}`", block.policy.name),
        )
        .at(source, block.policy.span)
        .label("no such policy");
        diagnostic.help = hint.or_else(|| {
            Some(format!(
                "policies of this file are named `{}.NAME`, or NAME alone",
                file.namespace
            ))
        });
        vec![diagnostic]
    })?;
    let mut diagnostics = Vec::new();
    let mut cases = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for case in &block.cases {
        if names.contains(&case.name.value.as_str()) {
            diagnostics.push(
                Diagnostic::new(
                    Code::DuplicateName,
                    format!("two test cases are named \"{}\"", case.name.value),
                )
                .at(source, case.name.span),
            );
        }
        names.push(&case.name.value);
        match compile_case(source, &policy, case) {
            Ok(compiled) => cases.push(compiled),
            Err(diagnostic) => diagnostics.push(diagnostic),
        }
    }
    if diagnostics.is_empty() {
        Ok(TestBlock { policy, cases })
    } else {
        Err(diagnostics)
    }
}

fn compile_case(
    source: &Arc<SourceFile>,
    policy: &Arc<CompiledPolicy>,
    case: &ast::TestCase,
) -> Result<TestCase, Diagnostic> {
    let bad = |span, message: String| Diagnostic::new(Code::BadTestCase, message).at(source, span);
    let input = checker::constant(source, &case.input)?;
    let mut with = Value::Null;
    let mut actor = Value::map([
        ("email", Value::str("agent@example.com")),
        ("role", Value::str("agent")),
        ("attributes", Value::empty_map()),
    ]);
    let mut env = Value::empty_map();
    let mut now = parse_time(DEFAULT_NOW).unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let mut action = None;
    let mut workflow = Value::Null;
    let mut workspace = DEFAULT_WORKSPACE.to_string();
    let mut home = DEFAULT_HOME.to_string();
    let mut history_entries = Vec::new();
    let mut plan = None;
    let mut lookups = Vec::new();
    let mut level: Option<String> = None;
    let mut seen: Vec<&str> = Vec::new();

    for modifier in &case.modifiers {
        let (key, value_expr) = match &modifier.kind {
            ModifierKind::LookupAnswer {
                system,
                query,
                answer,
            } => {
                lookups.push(MockLookup {
                    system: system.name.clone(),
                    query: query.name.clone(),
                    answer: Ok(checker::constant(source, answer)?),
                });
                continue;
            }
            ModifierKind::LookupFails {
                system,
                query,
                message,
            } => {
                lookups.push(MockLookup {
                    system: system.name.clone(),
                    query: query.name.clone(),
                    answer: Err(message.value.clone()),
                });
                continue;
            }
            ModifierKind::Set { key, value } => (key, value),
        };
        if !MODIFIERS.contains(&key.name.as_str()) {
            let hint = did_you_mean(&key.name, MODIFIERS.iter().copied());
            return Err(
                bad(key.span, format!("unknown test modifier `{}`", key.name))
                    .help(hint.unwrap_or_else(|| MODIFIERS.join(", "))),
            );
        }
        if seen.contains(&key.name.as_str()) {
            return Err(bad(key.span, format!("`{}` is given twice", key.name)));
        }
        seen.push(&key.name);
        let value = checker::constant(source, value_expr)?;
        let span = value_expr.span;
        let text = || {
            value.as_str().map(str::to_string).ok_or_else(|| {
                bad(
                    span,
                    format!("`{}` takes a string, got {}", key.name, value.type_name()),
                )
            })
        };
        match key.name.as_str() {
            "with" => with = value.clone(),
            "actor" => {
                let Some(given) = value.as_map() else {
                    return Err(bad(
                        span,
                        "`actor` takes a map: {email, role, attributes}".into(),
                    ));
                };
                let mut merged = actor.as_map().cloned().unwrap_or_default();
                merged.extend(given.iter().map(|(k, v)| (Arc::clone(k), v.clone())));
                actor = Value::Map(Arc::new(merged));
            }
            "env" => {
                let all_strings = value
                    .as_map()
                    .is_some_and(|m| m.values().all(|v| v.as_str().is_some()));
                if !all_strings {
                    return Err(bad(span, "`env` takes a map of strings".into()));
                }
                env = value.clone();
            }
            "now" => {
                let text = text()?;
                now = parse_time(&text).map_err(|why| bad(span, why))?;
            }
            "action" => {
                let text = text()?;
                let (system, name) = text
                    .split_once('.')
                    .ok_or_else(|| bad(span, format!("`action` is written SYSTEM.ACTION, e.g. \"db.delete_row\"; got \"{text}\"")))?;
                action = Some((system.to_string(), name.to_string()));
            }
            "workflow" => workflow = Value::map([("name", Value::str(text()?))]),
            "workspace" => workspace = text()?,
            "home" => home = text()?,
            "level" => {
                let text = text()?;
                if text != "run" && text != "action" {
                    return Err(bad(
                        span,
                        format!("`level` is \"run\" or \"action\", got \"{text}\""),
                    ));
                }
                level = Some(text);
            }
            "plan" => {
                if value.as_list().is_none() {
                    return Err(bad(
                        span,
                        "`plan` takes a list of steps: [{id, system, action, args}]".into(),
                    ));
                }
                plan = Some(value.clone());
            }
            _ => {
                let Some(items) = value.as_list() else {
                    return Err(bad(span, "`history` takes a list of receipts".into()));
                };
                history_entries = items.to_vec();
            }
        }
    }
    if !matches!(input, Value::Map(_)) {
        return Err(bad(case.input.span, "a test's input must be a map".into()));
    }
    let policy_use = bind(policy, &with, Enforcement::Hard).map_err(|why| bad(case.span, why))?;
    let history = history_entries
        .iter()
        .map(|entry| receipt_with_time(entry, now))
        .collect::<Result<Vec<_>, String>>()
        .map_err(|why| bad(case.span, why))?;
    let (at_run, at_action) = match level.as_deref() {
        Some("run") => (true, false),
        Some(_) => (false, true),
        None => (policy.levels.run, policy.levels.action),
    };
    if (at_run && !policy.levels.run) || (at_action && !policy.levels.action) {
        return Err(bad(
            case.span,
            format!("policy `{}` cannot be evaluated at that level", policy.id),
        ));
    }

    Ok(TestCase {
        name: case.name.value.clone(),
        location: source.location(case.span),
        policy_use,
        input,
        actor,
        env,
        now,
        action,
        workflow,
        workspace,
        home,
        history,
        plan,
        lookups,
        at_run,
        at_action,
        expect: case.expect,
        reason: case.reason.as_ref().map(|r| r.value.clone()),
    })
}

/// A history entry may give `age: 2h` instead of `started_at`.
fn receipt_with_time(entry: &Value, now: DateTime<Utc>) -> Result<Value, String> {
    let Some(map) = entry.as_map() else {
        return Err("each history entry must be a map (a receipt)".into());
    };
    let mut map = map.clone();
    if let Some(age) = map.remove("age") {
        let Value::Duration(ms) = age else {
            return Err(format!("`age` must be a duration such as 2h, got `{age}`"));
        };
        map.insert(
            "started_at".into(),
            Value::Time(now - Duration::milliseconds(ms)),
        );
    }
    match map.get("started_at") {
        Some(Value::Time(_)) => {}
        Some(Value::Str(text)) => {
            let time = parse_time(text).map_err(|why| format!("`started_at`: {why}"))?;
            map.insert("started_at".into(), Value::Time(time));
        }
        _ => return Err("each history entry needs `age` (e.g. 2h) or `started_at`".into()),
    }
    Ok(Value::Map(Arc::new(map)))
}

struct MockLookups<'c>(&'c [MockLookup]);

impl Lookups for MockLookups<'_> {
    fn lookup(&self, system: &str, query: &str, _: &Value) -> Result<Value, String> {
        self.0
            .iter()
            .find(|m| m.system == system && m.query == query)
            .map(|m| m.answer.clone())
            .unwrap_or_else(|| {
                Err(format!(
                    "the test gives no answer for lookup {system}.{query}"
                ))
            })
    }
}

struct MockHistory<'c>(&'c [Value]);

impl History for MockHistory<'_> {
    fn receipts(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        workflow: Option<&str>,
    ) -> Result<Vec<Value>, String> {
        Ok(self
            .0
            .iter()
            .filter(|r| matches!(r.get("started_at"), Some(Value::Time(t)) if *t >= since && *t < until))
            .filter(|r| workflow.is_none_or(|w| r.get("workflow").and_then(Value::as_str) == Some(w)))
            .cloned()
            .collect())
    }
}

impl TestCase {
    /// Runs the case at each of its levels; returns what went wrong, if anything.
    pub fn run(&self) -> Vec<String> {
        let request = Request {
            actor: self.actor.clone(),
            workflow: self.workflow.clone(),
            payload: self.input.clone(),
            plan: match (&self.plan, &self.action) {
                (Some(plan), _) => plan.clone(),
                (None, Some((system, name))) => Value::list([Value::map([
                    ("id", Value::str("step")),
                    ("system", Value::str(system.as_str())),
                    ("action", Value::str(name.as_str())),
                    ("args", self.input.clone()),
                    ("resolved", Value::Bool(true)),
                ])]),
                (None, None) => Value::list([]),
            },
            now: self.now,
            env: self.env.clone(),
            workspace: self.workspace.clone(),
            home: self.home.clone(),
        };
        let lookups = MockLookups(&self.lookups);
        let history = MockHistory(&self.history);
        let mut failures = Vec::new();
        let both = self.at_run && self.at_action;
        let mut check = |ctx: Context, level: &str| {
            let session = Session::new(&ctx, &lookups, &history);
            let result = session.evaluate(&self.policy_use);
            let at = if both {
                format!(" at {level} level")
            } else {
                String::new()
            };
            if result.status != self.expect {
                failures.push(format!(
                    "expected {}{at}, got {}: {}",
                    self.expect.as_str(),
                    result.status.as_str(),
                    result.reason
                ));
            } else if let Some(reason) = &self.reason
                && !result.reason.contains(reason.as_str())
            {
                failures.push(format!(
                    "expected a reason containing \"{reason}\"{at}, got \"{}\"",
                    result.reason
                ));
            }
        };
        if self.at_run {
            check(Context::run(&request), "run");
        }
        if self.at_action {
            let call = match &self.action {
                Some((system, name)) => ActionCall {
                    system: system.clone(),
                    name: name.clone(),
                    args: self.input.clone(),
                },
                None => ActionCall::unnamed(self.input.clone()),
            };
            check(Context::action(&request, &call), "action");
        }
        failures
    }
}

impl TestBlock {
    pub fn run(&self) -> Vec<CaseResult<'_>> {
        self.cases
            .iter()
            .map(|case| CaseResult {
                case,
                policy: &self.policy.id,
                failures: case.run(),
            })
            .collect()
    }
}
