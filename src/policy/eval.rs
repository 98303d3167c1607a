//! The evaluator: runs compiled policies against one request. Every policy yields a result
//! (PASS, BLOCK, WARN, APPROVAL, ERROR or NOT_APPLICABLE); an error inside a policy is an
//! ERROR that names the rule and place, never a pass. Lookups and receipt history come through
//! traits so the engine can plug in connectors and stores, and tests can plug in fixtures.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use regex::Regex;
use serde::Serialize;

pub use super::ast::Status;
use super::ast::{BinaryOp, QuantifierKind, ScopeKind, Span};
use super::builtins::Host;
use super::program::*;
use super::source::Location;
use super::types::with_article;
use super::value::{Map, Value};

// ---------------------------------------------------------------------------------------------
// Requests and results

/// Everything a run knows before its steps execute.
#[derive(Debug, Clone)]
pub struct Request {
    /// `{email, role, attributes}`.
    pub actor: Value,
    /// `{name, ...}`, or null when there is no workflow (an agent hook, `explain`).
    pub workflow: Value,
    pub payload: Value,
    /// The steps with their arguments resolved where possible: `[{id, system, action, args}]`.
    pub plan: Value,
    pub now: DateTime<Utc>,
    /// The environment variables policies may read (a map of strings).
    pub env: Value,
    pub workspace: String,
    pub home: String,
}

/// One connector call about to happen.
#[derive(Debug, Clone)]
pub struct ActionCall {
    pub system: String,
    pub name: String,
    pub args: Value,
}

impl ActionCall {
    /// A call with no system of its own, for evaluating an action-level policy where no action
    /// is named (`enact explain` without `--action`, test cases without `action`).
    pub fn unnamed(args: Value) -> ActionCall {
        ActionCall {
            system: "agent".into(),
            name: "tool_call".into(),
            args,
        }
    }
}

/// A request seen at one level: run level (before any step) or action level (before one step).
pub struct Context {
    roots: [Value; Root::ALL.len()],
    action: Option<(String, String)>,
    workflow_name: Option<String>,
    plan_actions: Vec<(String, String)>,
    now: DateTime<Utc>,
    workspace: String,
    home: String,
}

impl Context {
    pub fn run(request: &Request) -> Context {
        Context::build(request, None)
    }

    pub fn action(request: &Request, action: &ActionCall) -> Context {
        Context::build(request, Some(action))
    }

    fn build(request: &Request, action: Option<&ActionCall>) -> Context {
        let (input, action_value) = match action {
            Some(call) => (
                call.args.clone(),
                Value::map([
                    ("system", Value::str(call.system.as_str())),
                    ("name", Value::str(call.name.as_str())),
                    ("args", call.args.clone()),
                ]),
            ),
            None => (request.payload.clone(), Value::Null),
        };
        let plan_actions = request
            .plan
            .as_list()
            .unwrap_or(&[])
            .iter()
            .filter_map(|step| {
                let system = step.get("system")?.as_str()?;
                let action = step.get("action")?.as_str()?;
                Some((system.to_string(), action.to_string()))
            })
            .collect();
        let roots = Root::ALL.map(|root| match root {
            Root::Input => input.clone(),
            Root::Payload => request.payload.clone(),
            Root::Actor => request.actor.clone(),
            Root::Action => action_value.clone(),
            Root::Workflow => request.workflow.clone(),
            Root::Plan => request.plan.clone(),
            Root::Now => Value::Time(request.now),
            Root::Env => request.env.clone(),
        });
        Context {
            roots,
            action: action.map(|a| (a.system.clone(), a.name.clone())),
            workflow_name: request
                .workflow
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string),
            plan_actions,
            now: request.now,
            workspace: request.workspace.clone(),
            home: request.home.clone(),
        }
    }

    fn root(&self, root: Root) -> &Value {
        self.roots.get(root.index()).unwrap_or(&Value::Null)
    }

    pub fn is_action_level(&self) -> bool {
        self.action.is_some()
    }
}

/// How a failing policy is enforced; set where the policy is used, never in its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Enforcement {
    Advisory,
    Soft,
    #[default]
    Hard,
}

impl Enforcement {
    /// The level as configs, receipts and fingerprints spell it.
    pub fn name(self) -> &'static str {
        match self {
            Enforcement::Advisory => "advisory",
            Enforcement::Soft => "soft",
            Enforcement::Hard => "hard",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PolicyResult {
    pub policy: Arc<str>,
    pub status: Status,
    pub level: Enforcement,
    pub reason: String,
    /// What the deciding rule saw: the names and fields it read, matched items, lookups.
    pub evidence: Value,
    /// The deciding rule (or the failing expression for an ERROR, or the policy).
    pub location: Location,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approvers: Option<Value>,
}

/// A policy bound to its parameters, as used in a config or workflow.
#[derive(Debug, Clone)]
pub struct PolicyUse {
    pub policy: Arc<CompiledPolicy>,
    /// One value per parameter, in declaration order.
    pub args: Vec<Value>,
    pub enforcement: Enforcement,
}

/// What one rule did, for `enact explain`.
#[derive(Debug, Clone, Serialize)]
pub struct RuleTrace {
    pub rule: &'static str,
    pub source: String,
    pub location: Location,
    /// The condition's value (or the `let`'s), when it was computed.
    pub value: Option<Value>,
    pub outcome: RuleOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleOutcome {
    /// A `let` bound its value.
    Bound,
    /// The rule did not fire.
    Held,
    /// The rule fired: blocked, warned, asked for approval or passed early.
    Fired,
    Error,
    /// An earlier rule ended the policy.
    NotReached,
}

// ---------------------------------------------------------------------------------------------
// Providers

/// Read-only connector queries (`lookup crm.find_contact(email: ...)`).
pub trait Lookups {
    fn lookup(&self, system: &str, query: &str, args: &Value) -> Result<Value, String>;
}

/// Earlier receipts in the store (`history.count(...)`).
pub trait History {
    /// Receipts of runs started in `[since, until)`, optionally of one workflow, as values.
    fn receipts(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        workflow: Option<&str>,
    ) -> Result<Vec<Value>, String>;
}

/// No lookups configured: every lookup fails, so a policy that needs one is an ERROR.
pub struct NoLookups;

impl Lookups for NoLookups {
    fn lookup(&self, system: &str, query: &str, _: &Value) -> Result<Value, String> {
        Err(format!(
            "no system `{system}` is configured to answer `{query}` lookups"
        ))
    }
}

/// No receipt store available: reading history is an error, never an empty (passing) answer.
pub struct NoHistory;

impl History for NoHistory {
    fn receipts(
        &self,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
        _: Option<&str>,
    ) -> Result<Vec<Value>, String> {
        Err("no receipt store is available to read history from".to_string())
    }
}

// ---------------------------------------------------------------------------------------------
// Sessions

/// Evaluates policies against one context. Costly pure results (shell and SQL parses), lookups
/// and history reads are computed once per session and shared by every policy.
pub struct Session<'a> {
    ctx: &'a Context,
    lookups: &'a dyn Lookups,
    history: &'a dyn History,
    memo: RefCell<HashMap<(&'static str, Arc<str>), Value>>,
    lookup_memo: RefCell<HashMap<String, Result<Value, String>>>,
    history_memo: RefCell<HashMap<HistoryKey, HistoryRead>>,
    regexes: RefCell<HashMap<Arc<str>, Arc<Regex>>>,
    globs: RefCell<HashMap<Arc<str>, Arc<Glob>>>,
}

#[derive(Debug)]
struct EvalError {
    message: String,
    span: Span,
}

type Eval<T> = Result<T, EvalError>;

fn fail<T>(span: Span, message: impl Into<String>) -> Eval<T> {
    Err(EvalError {
        message: message.into(),
        span,
    })
}

/// A history read: the window in milliseconds and the workflow, if any.
type HistoryKey = (i64, Option<String>);
type HistoryRead = Result<Arc<[Value]>, String>;

/// Per-policy evaluation state.
struct Frame {
    slots: Vec<Value>,
    /// Items that made an `any` true, in the order found: (variable, item).
    witnesses: Vec<(Text, Value)>,
    /// Lookups and history reads, always kept as evidence.
    reads: Vec<(String, Value)>,
}

/// A context with no request in it, for expressions that read none: constants and templates.
static EMPTY: std::sync::LazyLock<Context> = std::sync::LazyLock::new(|| {
    Context::run(&Request {
        actor: Value::Null,
        workflow: Value::Null,
        payload: Value::Null,
        plan: Value::Null,
        now: DateTime::<Utc>::UNIX_EPOCH,
        env: Value::Null,
        workspace: "/".into(),
        home: "/".into(),
    })
});

/// Evaluates a compiled constant (no request data, no providers).
pub fn evaluate_constant(exprs: &Exprs, id: NodeId) -> Result<Value, String> {
    evaluate_in_slots(exprs, id, Vec::new())
}

/// Evaluates a workflow template with the values of its roots, in the order they were compiled
/// (see `checker::compile_template`); a missing root reads as null.
pub fn evaluate_template(program: &TemplateProgram, roots: &[Value]) -> Result<Value, String> {
    let mut slots = roots.to_vec();
    slots.resize(program.slot_count.max(roots.len()), Value::Null);
    evaluate_in_slots(&program.exprs, program.root, slots)
}

fn evaluate_in_slots(exprs: &Exprs, id: NodeId, slots: Vec<Value>) -> Result<Value, String> {
    let session = Session::new(&EMPTY, &NoLookups, &NoHistory);
    let mut frame = Frame {
        slots,
        witnesses: Vec::new(),
        reads: Vec::new(),
    };
    session.eval(exprs, id, &mut frame).map_err(|e| e.message)
}

impl<'a> Session<'a> {
    pub fn new(ctx: &'a Context, lookups: &'a dyn Lookups, history: &'a dyn History) -> Self {
        Session {
            ctx,
            lookups,
            history,
            memo: RefCell::default(),
            lookup_memo: RefCell::default(),
            history_memo: RefCell::default(),
            regexes: RefCell::default(),
            globs: RefCell::default(),
        }
    }

    /// Evaluates every use, in order, whatever the results.
    pub fn evaluate_all(&self, uses: &[PolicyUse]) -> Vec<PolicyResult> {
        uses.iter().map(|u| self.evaluate(u)).collect()
    }

    pub fn evaluate(&self, policy_use: &PolicyUse) -> PolicyResult {
        self.run(policy_use, None)
    }

    /// Evaluates one policy and records what each rule did.
    pub fn explain(&self, policy_use: &PolicyUse) -> (PolicyResult, Vec<RuleTrace>) {
        let mut trace = Vec::new();
        let result = self.run(policy_use, Some(&mut trace));
        (result, trace)
    }

    fn host(&self) -> Host<'_> {
        Host {
            workspace: &self.ctx.workspace,
            home: &self.ctx.home,
        }
    }

    fn not_applicable(&self, policy: &CompiledPolicy) -> Option<String> {
        let levels = policy.levels;
        if self.ctx.is_action_level() && !levels.action {
            return Some("applies at run level only".into());
        }
        if !self.ctx.is_action_level() && !levels.run {
            return Some("applies to actions only".into());
        }
        for scope in &policy.scopes {
            let applies = match scope.kind {
                ScopeKind::Workflows => self
                    .ctx
                    .workflow_name
                    .as_deref()
                    .is_some_and(|w| scope.matches(w)),
                ScopeKind::Systems => self.actions().any(|(system, _)| scope.matches(system)),
                ScopeKind::Actions => self.actions().any(|(system, name)| {
                    scope.matches(name) || scope.matches(&format!("{system}.{name}"))
                }),
            };
            if !applies {
                let subject = match scope.kind {
                    ScopeKind::Workflows => match &self.ctx.workflow_name {
                        Some(name) => format!("workflow `{name}`"),
                        None => "no workflow".to_string(),
                    },
                    ScopeKind::Systems | ScopeKind::Actions => {
                        let names: Vec<String> =
                            self.actions().map(|(s, a)| format!("{s}.{a}")).collect();
                        if names.is_empty() {
                            "no action".to_string()
                        } else {
                            names.join(", ")
                        }
                    }
                };
                return Some(format!(
                    "applies to {} {}; this request has {subject}",
                    scope.kind.as_str(),
                    scope.patterns.join(", ")
                ));
            }
        }
        None
    }

    /// The actions a scope is judged against: the action at hand, or every planned step.
    fn actions(&self) -> Box<dyn Iterator<Item = (&str, &str)> + '_> {
        match &self.ctx.action {
            Some((system, name)) => Box::new(std::iter::once((system.as_str(), name.as_str()))),
            None => Box::new(
                self.ctx
                    .plan_actions
                    .iter()
                    .map(|(s, a)| (s.as_str(), a.as_str())),
            ),
        }
    }

    fn run(&self, policy_use: &PolicyUse, mut trace: Option<&mut Vec<RuleTrace>>) -> PolicyResult {
        let policy = &*policy_use.policy;
        let result = |status, reason: String, evidence: Value, location: &Location| PolicyResult {
            policy: Arc::clone(&policy.id),
            status,
            level: policy_use.enforcement,
            reason,
            evidence,
            location: location.clone(),
            approvers: None,
        };
        if let Some(reason) = self.not_applicable(policy) {
            return result(
                Status::NotApplicable,
                reason,
                Value::empty_map(),
                &policy.location,
            );
        }
        let mut frame = Frame {
            slots: vec![Value::Null; policy.slot_count],
            witnesses: Vec::new(),
            reads: Vec::new(),
        };
        for (slot, value) in frame.slots.iter_mut().zip(&policy_use.args) {
            *slot = value.clone();
        }
        // (message, rule, evidence) of each warning and approval that fired, in order.
        let mut warnings: Vec<(String, &CompiledRule, Value)> = Vec::new();
        let mut approvals: Vec<(String, &CompiledRule, Value, Option<Value>)> = Vec::new();
        let mut final_pass: Option<(String, &CompiledRule)> = None;
        let mut decided: Option<PolicyResult> = None;

        // A stored rule is read when reached (taken by index, not pulled by an iterator ahead
        // of the check): the ones after the decision are read only to trace them.
        for index in 0..policy.rules.len() {
            if decided.is_some() || final_pass.is_some() {
                let Some(trace) = trace.as_deref_mut() else {
                    break;
                };
                if let Some(Ok(rule)) = policy.rules.get(index) {
                    trace.push(self.trace(policy, rule, None, RuleOutcome::NotReached, None));
                }
                continue;
            }
            // A constant `let` only shows in a trace: its uses were compiled to its value.
            if trace.is_none() && !policy.rules.needed_to_decide(index) {
                continue;
            }
            let Some(rule) = policy.rules.get(index) else {
                break;
            };
            let rule = match rule {
                Ok(rule) => rule,
                Err(unreadable) => {
                    let reason = format!(
                        "cannot evaluate rule {} of {}: {unreadable}",
                        index + 1,
                        policy.id
                    );
                    decided = Some(result(Status::Error, reason, Value::Null, &policy.location));
                    continue;
                }
            };
            frame.witnesses.clear();
            let (value, outcome, message) = match self.rule(rule, &mut frame) {
                Err(error) => {
                    let evidence = self.evidence(rule, &mut frame);
                    let at = policy.location(error.span);
                    let reason = format!(
                        "cannot evaluate the `{}` rule at {}: {} (at {}:{})",
                        rule.kind.keyword(),
                        rule.location,
                        error.message,
                        at.line,
                        at.column
                    );
                    decided = Some(result(Status::Error, reason.clone(), evidence, &at));
                    (None, RuleOutcome::Error, Some(reason))
                }
                Ok(RuleStep::Bound(value)) => (Some(value), RuleOutcome::Bound, None),
                Ok(RuleStep::Held(value)) => (Some(value), RuleOutcome::Held, None),
                Ok(RuleStep::Fired(value, message, approvers)) => {
                    match &rule.kind {
                        RuleOp::Deny { .. } | RuleOp::Require { .. } => {
                            let evidence = self.evidence(rule, &mut frame);
                            decided = Some(result(
                                Status::Block,
                                message.clone(),
                                evidence,
                                &rule.location,
                            ));
                        }
                        RuleOp::Warn { .. } => {
                            let evidence = self.evidence(rule, &mut frame);
                            warnings.push((message.clone(), rule, evidence));
                        }
                        RuleOp::Approve { .. } => {
                            let evidence = self.evidence(rule, &mut frame);
                            approvals.push((message.clone(), rule, evidence, approvers));
                        }
                        RuleOp::PassWhen { .. } | RuleOp::Pass { .. } => {
                            final_pass = Some((message.clone(), rule));
                        }
                        RuleOp::Let { .. } => {}
                    }
                    (Some(value), RuleOutcome::Fired, Some(message))
                }
            };
            if let Some(trace) = trace.as_deref_mut() {
                trace.push(self.trace(policy, rule, value, outcome, message));
            }
        }

        let reads = std::mem::take(&mut frame.reads);
        let with_reads = |evidence: Value| merge_reads(evidence, &reads);
        if let Some(mut decided) = decided {
            decided.evidence = with_reads(decided.evidence);
            return decided;
        }
        if let Some((_, rule, evidence, approvers)) = approvals.first() {
            let reasons: Vec<&str> = approvals.iter().map(|a| a.0.as_str()).collect();
            let mut approval = result(
                Status::Approval,
                reasons.join("; "),
                with_reads(evidence.clone()),
                &rule.location,
            );
            approval.approvers = approvers.clone();
            return approval;
        }
        if let Some((_, rule, evidence)) = warnings.first() {
            let reasons: Vec<&str> = warnings.iter().map(|w| w.0.as_str()).collect();
            return result(
                Status::Warn,
                reasons.join("; "),
                with_reads(evidence.clone()),
                &rule.location,
            );
        }
        match final_pass {
            Some((reason, rule)) => result(
                Status::Pass,
                reason,
                with_reads(Value::empty_map()),
                &rule.location,
            ),
            None => result(
                Status::Pass,
                "no rule blocked".into(),
                with_reads(Value::empty_map()),
                &policy.location,
            ),
        }
    }

    fn trace(
        &self,
        policy: &CompiledPolicy,
        rule: &CompiledRule,
        value: Option<Value>,
        outcome: RuleOutcome,
        message: Option<String>,
    ) -> RuleTrace {
        let source = policy.file.slice(rule.span);
        RuleTrace {
            rule: rule.kind.keyword(),
            source: source.lines().map(str::trim).collect::<Vec<_>>().join(" "),
            location: rule.location.clone(),
            value,
            outcome,
            message,
        }
    }

    fn rule(&self, rule: &CompiledRule, frame: &mut Frame) -> Eval<RuleStep> {
        let exprs = &rule.exprs;
        let fired = |value: bool,
                     message: &Message,
                     approvers: Option<Value>,
                     frame: &mut Frame|
         -> Eval<RuleStep> {
            if value {
                Ok(RuleStep::Fired(
                    Value::Bool(true),
                    self.render(exprs, message, frame)?,
                    approvers,
                ))
            } else {
                Ok(RuleStep::Held(Value::Bool(false)))
            }
        };
        match &rule.kind {
            RuleOp::Let { slot, value } => {
                let value = self.eval(exprs, *value, frame)?;
                if let Some(target) = frame.slots.get_mut(*slot) {
                    *target = value.clone();
                }
                Ok(RuleStep::Bound(value))
            }
            RuleOp::Deny { cond, message }
            | RuleOp::Warn { cond, message }
            | RuleOp::PassWhen { cond, message } => {
                let value = self.condition(exprs, *cond, frame)?;
                fired(value, message, None, frame)
            }
            RuleOp::Require { cond, message } => {
                let value = self.condition(exprs, *cond, frame)?;
                match fired(!value, message, None, frame)? {
                    RuleStep::Fired(_, message, _) => {
                        Ok(RuleStep::Fired(Value::Bool(false), message, None))
                    }
                    _ => Ok(RuleStep::Held(Value::Bool(true))),
                }
            }
            RuleOp::Approve { cond, by, message } => {
                let value = self.condition(exprs, *cond, frame)?;
                let approvers = match (value, by) {
                    (true, Some(by)) => Some(self.eval(exprs, *by, frame)?),
                    _ => None,
                };
                fired(value, message, approvers, frame)
            }
            RuleOp::Pass { message } => Ok(RuleStep::Fired(
                Value::Bool(true),
                self.render(exprs, message, frame)?,
                None,
            )),
        }
    }

    fn condition(&self, exprs: &Exprs, id: NodeId, frame: &mut Frame) -> Eval<bool> {
        match self.eval(exprs, id, frame)? {
            Value::Bool(b) => Ok(b),
            other => fail(
                span_of(exprs, id),
                format!(
                    "a condition must be true or false, but this is {} `{other}`",
                    with_article(other.type_name())
                ),
            ),
        }
    }

    fn render(&self, exprs: &Exprs, message: &Message, frame: &mut Frame) -> Eval<String> {
        let mut out = String::new();
        for part in &message.parts {
            match part {
                MessagePart::Text(text) => out.push_str(text),
                MessagePart::Expr(node) => {
                    out.push_str(&self.eval(exprs, *node, frame)?.to_display());
                }
            }
        }
        Ok(out)
    }

    /// The values the rule read, plus the items that made its `any` true. Best effort: a path
    /// that cannot be read is left out, since the rule's own result is what decides.
    fn evidence(&self, rule: &CompiledRule, frame: &mut Frame) -> Value {
        let mut map = Map::new();
        for (text, node) in &rule.evidence {
            if let Ok(value) = self.eval(&rule.exprs, *node, frame) {
                map.insert(Arc::from(&**text), value);
            }
        }
        for (var, item) in std::mem::take(&mut frame.witnesses) {
            map.entry(Arc::from(&*var)).or_insert(item);
        }
        Value::Map(Arc::new(map))
    }

    fn eval(&self, exprs: &Exprs, id: NodeId, frame: &mut Frame) -> Eval<Value> {
        let node = node(exprs, id)?;
        let span = node.span;
        match &node.op {
            Op::Const(value) => Ok(value.clone()),
            Op::Slot(slot) => Ok(frame.slots.get(*slot).cloned().unwrap_or_default()),
            Op::Root(root) => Ok(self.ctx.root(*root).clone()),
            Op::Field(base, field) => match self.eval(exprs, *base, frame)? {
                Value::Map(map) => Ok(map.get(field).cloned().unwrap_or_default()),
                Value::Null => Ok(Value::Null),
                other => fail(
                    span,
                    format!(
                        "cannot read field `{field}` of {} `{other}`",
                        with_article(other.type_name())
                    ),
                ),
            },
            Op::Index(base, index) => {
                let base = self.eval(exprs, *base, frame)?;
                let index = self.eval(exprs, *index, frame)?;
                index_value(&base, &index).or_else(|message| fail(span, message))
            }
            Op::Not(operand) => match self.eval(exprs, *operand, frame)? {
                Value::Bool(b) => Ok(Value::Bool(!b)),
                other => fail(
                    span_of(exprs, *operand),
                    format!(
                        "`not` needs true or false, got {} `{other}`",
                        with_article(other.type_name())
                    ),
                ),
            },
            Op::Neg(operand) => match self.eval(exprs, *operand, frame)? {
                Value::Int(n) => n
                    .checked_neg()
                    .map(Value::Int)
                    .ok_or(())
                    .or_else(|()| fail(span, "integer overflow")),
                Value::Float(x) => Ok(Value::Float(-x)),
                Value::Duration(ms) => Ok(Value::Duration(-ms)),
                other => fail(
                    span,
                    format!(
                        "cannot negate {} `{other}`",
                        with_article(other.type_name())
                    ),
                ),
            },
            Op::And(lhs, rhs) => {
                if self.boolean(exprs, *lhs, frame, "and")? {
                    Ok(Value::Bool(self.boolean(exprs, *rhs, frame, "and")?))
                } else {
                    Ok(Value::Bool(false))
                }
            }
            Op::Or(lhs, rhs) => {
                if self.boolean(exprs, *lhs, frame, "or")? {
                    Ok(Value::Bool(true))
                } else {
                    Ok(Value::Bool(self.boolean(exprs, *rhs, frame, "or")?))
                }
            }
            Op::Coalesce(lhs, rhs) => match self.eval(exprs, *lhs, frame)? {
                Value::Null => self.eval(exprs, *rhs, frame),
                value => Ok(value),
            },
            Op::Binary(op, lhs, rhs) => {
                let l = self.eval(exprs, *lhs, frame)?;
                let r = self.eval(exprs, *rhs, frame)?;
                binary(*op, &l, &r).or_else(|message| fail(span, message))
            }
            Op::Matches(subject, pattern) => {
                let subject = self.string(exprs, *subject, frame, "`matches`")?;
                let found = match pattern {
                    Pattern::Static(regex) => regex
                        .is_match(&subject)
                        .or_else(|why| fail(span, format!("invalid regular expression: {why}")))?,
                    Pattern::Dynamic(node) => {
                        let text = self.string(exprs, *node, frame, "a pattern")?;
                        self.cached(&self.regexes, &text, compile_regex)
                            .or_else(|why| {
                                let span = span_of(exprs, *node);
                                fail(span, format!("invalid regular expression: {why}"))
                            })?
                            .is_match(&subject)
                    }
                };
                Ok(Value::Bool(found))
            }
            Op::Glob(subject, pattern) => {
                let subject = self.string(exprs, *subject, frame, "`glob`")?;
                let matcher = match pattern {
                    Pattern::Static(matcher) => Arc::clone(matcher),
                    Pattern::Dynamic(node) => {
                        let text = self.string(exprs, *node, frame, "a pattern")?;
                        self.cached(&self.globs, &text, compile_glob)
                            .or_else(|why| {
                                fail(span_of(exprs, *node), format!("invalid glob: {why}"))
                            })?
                    }
                };
                Ok(Value::Bool(matcher.is_match(&subject)))
            }
            Op::Call(builtin, args) => {
                let values = list(exprs, *args)?
                    .iter()
                    .map(|a| self.eval(exprs, *a, frame))
                    .collect::<Eval<Vec<Value>>>()?;
                let key = match (builtin.memoize, values.as_slice()) {
                    (true, [Value::Str(s)]) => Some((builtin.name, Arc::clone(s))),
                    _ => None,
                };
                if let Some(hit) = key
                    .as_ref()
                    .and_then(|k| self.memo.borrow().get(k).cloned())
                {
                    return Ok(hit);
                }
                let value = (builtin.call)(&self.host(), &values)
                    .or_else(|message| fail(span, format!("{}: {message}", builtin.name)))?;
                if let Some(key) = key {
                    self.memo.borrow_mut().insert(key, value.clone());
                }
                Ok(value)
            }
            Op::Quantifier(quantifier) => {
                let Quantifier {
                    kind,
                    slot,
                    var,
                    list,
                    body,
                } = &**quantifier;
                let items = match self.eval(exprs, *list, frame)? {
                    Value::List(items) => items,
                    other => {
                        return fail(
                            span_of(exprs, *list),
                            format!(
                                "`{}` needs a list, got {} `{other}`",
                                kind.keyword(),
                                with_article(other.type_name())
                            ),
                        );
                    }
                };
                let mut count: i64 = 0;
                let mut kept = Vec::new();
                for item in items.iter() {
                    if let Some(target) = frame.slots.get_mut(*slot) {
                        *target = item.clone();
                    }
                    if *kind == QuantifierKind::Map {
                        kept.push(self.eval(exprs, *body, frame)?);
                        continue;
                    }
                    let holds = self.boolean(exprs, *body, frame, kind.keyword())?;
                    match kind {
                        QuantifierKind::Any | QuantifierKind::First if holds => {
                            frame.witnesses.push((var.clone(), item.clone()));
                            return Ok(if *kind == QuantifierKind::Any {
                                Value::Bool(true)
                            } else {
                                item.clone()
                            });
                        }
                        QuantifierKind::All if !holds => return Ok(Value::Bool(false)),
                        QuantifierKind::Count if holds => count += 1,
                        QuantifierKind::Filter if holds => kept.push(item.clone()),
                        _ => {}
                    }
                }
                Ok(match kind {
                    QuantifierKind::Any => Value::Bool(false),
                    QuantifierKind::All => Value::Bool(true),
                    QuantifierKind::Count => Value::Int(count),
                    QuantifierKind::First => Value::Null,
                    QuantifierKind::Filter | QuantifierKind::Map => Value::list(kept),
                })
            }
            Op::If(cond, then, otherwise) => {
                if self.boolean(exprs, *cond, frame, "if")? {
                    self.eval(exprs, *then, frame)
                } else {
                    self.eval(exprs, *otherwise, frame)
                }
            }
            Op::List(items) => Ok(Value::list(
                list(exprs, *items)?
                    .iter()
                    .map(|i| self.eval(exprs, *i, frame))
                    .collect::<Eval<Vec<_>>>()?,
            )),
            Op::Map(entries) => {
                let mut map = Map::new();
                for (key, value) in entries {
                    map.insert(Arc::clone(key), self.eval(exprs, *value, frame)?);
                }
                Ok(Value::Map(Arc::new(map)))
            }
            Op::Lookup(lookup) => self.lookup(exprs, lookup, span, frame),
            Op::HistoryCount(count) => {
                let HistoryCount { query, predicate } = &**count;
                let (receipts, description) = self.history_read(exprs, query, frame)?;
                let mut count: i64 = 0;
                for receipt in receipts.iter() {
                    let holds = match predicate {
                        None => true,
                        Some((slot, body)) => {
                            if let Some(target) = frame.slots.get_mut(*slot) {
                                *target = receipt.clone();
                            }
                            self.boolean(exprs, *body, frame, "where")?
                        }
                    };
                    count += i64::from(holds);
                }
                frame.reads.push((
                    "history.count".to_string(),
                    Value::map([("query", description), ("count", Value::Int(count))]),
                ));
                Ok(Value::Int(count))
            }
            Op::HistoryActions { query, action } => {
                let (receipts, description) = self.history_read(exprs, query, frame)?;
                let wanted = match action {
                    Some(node) => Some(self.string(exprs, *node, frame, "`action`")?),
                    None => None,
                };
                let actions = history_actions(&receipts, wanted.as_deref());
                frame.reads.push((
                    "history.actions".to_string(),
                    Value::map([
                        ("query", description),
                        (
                            "found",
                            Value::Int(i64::try_from(actions.len()).unwrap_or(i64::MAX)),
                        ),
                    ]),
                ));
                Ok(Value::list(actions))
            }
        }
    }

    fn boolean(&self, exprs: &Exprs, id: NodeId, frame: &mut Frame, context: &str) -> Eval<bool> {
        match self.eval(exprs, id, frame)? {
            Value::Bool(b) => Ok(b),
            other => fail(
                span_of(exprs, id),
                format!(
                    "`{context}` needs true or false, got {} `{other}`",
                    with_article(other.type_name())
                ),
            ),
        }
    }

    fn string(
        &self,
        exprs: &Exprs,
        id: NodeId,
        frame: &mut Frame,
        context: &str,
    ) -> Eval<Arc<str>> {
        match self.eval(exprs, id, frame)? {
            Value::Str(s) => Ok(s),
            other => fail(
                span_of(exprs, id),
                format!(
                    "{context} needs a string, got {} `{other}`",
                    with_article(other.type_name())
                ),
            ),
        }
    }

    fn cached<T>(
        &self,
        cache: &RefCell<HashMap<Arc<str>, Arc<T>>>,
        text: &Arc<str>,
        compile: fn(&str) -> Result<T, String>,
    ) -> Result<Arc<T>, String> {
        if let Some(hit) = cache.borrow().get(text) {
            return Ok(Arc::clone(hit));
        }
        let compiled = Arc::new(compile(text)?);
        cache
            .borrow_mut()
            .insert(Arc::clone(text), Arc::clone(&compiled));
        Ok(compiled)
    }

    fn lookup(&self, exprs: &Exprs, lookup: &Lookup, span: Span, frame: &mut Frame) -> Eval<Value> {
        let query = &lookup.query;
        let system = match &lookup.system {
            SystemRef::Named(name) => name.clone(),
            SystemRef::Param(slot) => match frame.slots.get(*slot) {
                Some(Value::Str(name)) => name.to_string(),
                other => {
                    return fail(
                        span,
                        format!(
                            "the lookup's system must be a string, got `{}`",
                            other.cloned().unwrap_or_default()
                        ),
                    );
                }
            },
        };
        let mut map = Map::new();
        for (name, node) in &lookup.args {
            map.insert(Arc::clone(name), self.eval(exprs, *node, frame)?);
        }
        let args = Value::Map(Arc::new(map));
        let key = format!("{system}.{query}({args})");
        let answer = self.lookup_memo.borrow().get(&key).cloned();
        let answer = match answer {
            Some(answer) => answer,
            None => {
                let answer = self.lookups.lookup(&system, query, &args);
                self.lookup_memo.borrow_mut().insert(key, answer.clone());
                answer
            }
        };
        let label = format!("lookup {system}.{query}");
        match answer {
            Ok(value) => {
                frame.reads.push((
                    label,
                    Value::map([("args", args), ("answer", value.clone())]),
                ));
                Ok(value)
            }
            Err(why) => {
                frame.reads.push((
                    label.clone(),
                    Value::map([("args", args), ("error", Value::str(why.as_str()))]),
                ));
                fail(span, format!("{label} failed: {why}"))
            }
        }
    }

    fn history_read(
        &self,
        exprs: &Exprs,
        query: &HistoryArgs,
        frame: &mut Frame,
    ) -> Eval<(Arc<[Value]>, Value)> {
        let within = match self.eval(exprs, query.within, frame)? {
            Value::Duration(ms) if ms > 0 => ms,
            other => {
                return fail(
                    span_of(exprs, query.within),
                    format!("`within` must be a positive duration, got `{other}`"),
                );
            }
        };
        let workflow = match &query.workflow {
            Some(node) => Some(self.string(exprs, *node, frame, "`workflow`")?.to_string()),
            None => None,
        };
        let key = (within, workflow.clone());
        let cached = self.history_memo.borrow().get(&key).cloned();
        let receipts = match cached {
            Some(receipts) => receipts,
            None => {
                let since = self.ctx.now - ChronoDuration::milliseconds(within);
                let receipts = self
                    .history
                    .receipts(since, self.ctx.now, workflow.as_deref())
                    .map(Arc::from);
                self.history_memo.borrow_mut().insert(key, receipts.clone());
                receipts
            }
        };
        let receipts = receipts.or_else(|why| {
            let span = span_of(exprs, query.within);
            fail(span, format!("cannot read history: {why}"))
        })?;
        let description = Value::map([
            ("within", Value::Duration(within)),
            ("workflow", workflow.map_or(Value::Null, Value::from)),
        ]);
        Ok((receipts, description))
    }
}

/// The node at `id`: every id the checker gives, and every stored one, names a node.
fn node(exprs: &Exprs, id: NodeId) -> Eval<&Node> {
    exprs.get(id).map_or_else(
        || fail(Span::default(), format!("no node {id:?} in the program")),
        Ok,
    )
}

fn list(exprs: &Exprs, list: NodeList) -> Eval<&[NodeId]> {
    exprs.list(list).map_or_else(
        || fail(Span::default(), format!("no list {list:?} in the program")),
        Ok,
    )
}

/// Where the node at `id` is, for an error about its value.
fn span_of(exprs: &Exprs, id: NodeId) -> Span {
    exprs.get(id).map_or_else(Span::default, |node| node.span)
}

enum RuleStep {
    Bound(Value),
    Held(Value),
    Fired(Value, String, Option<Value>),
}

fn merge_reads(evidence: Value, reads: &[(String, Value)]) -> Value {
    if reads.is_empty() {
        return evidence;
    }
    let mut map = evidence.as_map().cloned().unwrap_or_default();
    for (label, value) in reads {
        map.insert(Arc::from(label.as_str()), value.clone());
    }
    Value::Map(Arc::new(map))
}

/// Every action of the receipts, as `{workflow, run_id, started_at, system, action, args,
/// success, ...}`, optionally only those named `action` or `system.action`.
fn history_actions(receipts: &[Value], wanted: Option<&str>) -> Vec<Value> {
    let mut out = Vec::new();
    for receipt in receipts {
        let Some(actions) = receipt.get("actions_taken").and_then(Value::as_list) else {
            continue;
        };
        for action in actions {
            let system = action.get("system").and_then(Value::as_str).unwrap_or("");
            let name = action.get("action").and_then(Value::as_str).unwrap_or("");
            let matches = wanted.is_none_or(|w| w == name || w == format!("{system}.{name}"));
            if !matches {
                continue;
            }
            let mut map = action.as_map().cloned().unwrap_or_default();
            for key in ["workflow", "run_id", "started_at", "actor"] {
                if let Some(value) = receipt.get(key) {
                    map.entry(Arc::from(key)).or_insert_with(|| value.clone());
                }
            }
            out.push(Value::Map(Arc::new(map)));
        }
    }
    out
}

fn index_value(base: &Value, index: &Value) -> Result<Value, String> {
    match (base, index) {
        (Value::Null, _) => Ok(Value::Null),
        (Value::List(items), Value::Int(i)) => {
            let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
            let position = if *i < 0 { len + i } else { *i };
            Ok(usize::try_from(position)
                .ok()
                .and_then(|p| items.get(p))
                .cloned()
                .unwrap_or_default())
        }
        (Value::Map(map), Value::Str(key)) => Ok(map.get(key).cloned().unwrap_or_default()),
        (base, index) => Err(format!(
            "cannot index {} with {} `{index}`",
            with_article(base.type_name()),
            with_article(index.type_name())
        )),
    }
}

#[allow(clippy::cast_precision_loss)]
fn as_f64(value: &Value) -> Option<f64> {
    match value {
        Value::Int(n) => Some(*n as f64),
        Value::Float(x) => Some(*x),
        _ => None,
    }
}

fn binary(op: BinaryOp, l: &Value, r: &Value) -> Result<Value, String> {
    use Value::*;
    let overflow = || "integer overflow".to_string();
    let mismatch = || {
        format!(
            "`{}` cannot combine {} `{l}` and {} `{r}`",
            op.symbol(),
            with_article(l.type_name()),
            with_article(r.type_name())
        )
    };
    Ok(match op {
        BinaryOp::Eq => Bool(l == r),
        BinaryOp::Ne => Bool(l != r),
        BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            let ordering = match (l, r) {
                (Int(a), Int(b)) => a.partial_cmp(b),
                (Str(a), Str(b)) => a.partial_cmp(b),
                (Duration(a), Duration(b)) => a.partial_cmp(b),
                (TimeOfDay(a), TimeOfDay(b)) => a.partial_cmp(b),
                (Time(a), Time(b)) => a.partial_cmp(b),
                _ => match (as_f64(l), as_f64(r)) {
                    (Some(a), Some(b)) => a.partial_cmp(&b),
                    _ => return Err(mismatch()),
                },
            };
            let ordering = ordering.ok_or_else(mismatch)?;
            Bool(match op {
                BinaryOp::Lt => ordering.is_lt(),
                BinaryOp::Le => ordering.is_le(),
                BinaryOp::Gt => ordering.is_gt(),
                _ => ordering.is_ge(),
            })
        }
        BinaryOp::In | BinaryOp::NotIn => {
            let found = match r {
                List(items) => items.contains(l),
                Map(map) => match l {
                    Str(key) => map.contains_key(key),
                    _ => return Err(mismatch()),
                },
                Str(haystack) => match l {
                    Str(needle) => haystack.contains(&**needle),
                    _ => return Err(mismatch()),
                },
                _ => {
                    return Err(format!(
                        "`{}` needs a list, map or string on its right, got {} `{r}`",
                        op.symbol(),
                        with_article(r.type_name())
                    ));
                }
            };
            Bool(found == (op == BinaryOp::In))
        }
        BinaryOp::Add => match (l, r) {
            (Int(a), Int(b)) => Int(a.checked_add(*b).ok_or_else(overflow)?),
            (Str(a), Str(b)) => Value::str(format!("{a}{b}")),
            (List(a), List(b)) => Value::list(a.iter().chain(b.iter()).cloned()),
            (Duration(a), Duration(b)) => Duration(a.checked_add(*b).ok_or_else(overflow)?),
            (Time(t), Duration(d)) | (Duration(d), Time(t)) => Time(
                t.checked_add_signed(ChronoDuration::milliseconds(*d))
                    .ok_or_else(overflow)?,
            ),
            _ => Float(
                as_f64(l)
                    .zip(as_f64(r))
                    .map(|(a, b)| a + b)
                    .ok_or_else(mismatch)?,
            ),
        },
        BinaryOp::Sub => match (l, r) {
            (Int(a), Int(b)) => Int(a.checked_sub(*b).ok_or_else(overflow)?),
            (Duration(a), Duration(b)) => Duration(a.checked_sub(*b).ok_or_else(overflow)?),
            (Time(t), Duration(d)) => Time(
                t.checked_sub_signed(ChronoDuration::milliseconds(*d))
                    .ok_or_else(overflow)?,
            ),
            (Time(a), Time(b)) => Duration((*a - *b).num_milliseconds()),
            _ => Float(
                as_f64(l)
                    .zip(as_f64(r))
                    .map(|(a, b)| a - b)
                    .ok_or_else(mismatch)?,
            ),
        },
        BinaryOp::Mul => match (l, r) {
            (Int(a), Int(b)) => Int(a.checked_mul(*b).ok_or_else(overflow)?),
            (Duration(d), Int(n)) | (Int(n), Duration(d)) => {
                Duration(d.checked_mul(*n).ok_or_else(overflow)?)
            }
            _ => Float(
                as_f64(l)
                    .zip(as_f64(r))
                    .map(|(a, b)| a * b)
                    .ok_or_else(mismatch)?,
            ),
        },
        BinaryOp::Div | BinaryOp::Rem => {
            let zero = matches!(r, Int(0)) || matches!(r, Float(x) if *x == 0.0);
            if zero {
                return Err("division by zero".to_string());
            }
            match (op, l, r) {
                (BinaryOp::Div, Int(a), Int(b)) => Int(a.checked_div(*b).ok_or_else(overflow)?),
                (BinaryOp::Rem, Int(a), Int(b)) => Int(a.checked_rem(*b).ok_or_else(overflow)?),
                (BinaryOp::Div, Duration(d), Int(n)) => {
                    Duration(d.checked_div(*n).ok_or_else(overflow)?)
                }
                (BinaryOp::Div, _, _) => Float(
                    as_f64(l)
                        .zip(as_f64(r))
                        .map(|(a, b)| a / b)
                        .ok_or_else(mismatch)?,
                ),
                _ => return Err(mismatch()),
            }
        }
        BinaryOp::And | BinaryOp::Or | BinaryOp::Coalesce | BinaryOp::Matches => {
            return Err(mismatch());
        }
    })
}

/// One policy evaluated alone at run level on `payload`, bound without parameters.
#[cfg(test)]
pub(crate) fn evaluate_on_payload(policy: &Arc<CompiledPolicy>, payload: Value) -> PolicyResult {
    explain_on_payload(policy, payload, false).0
}

/// As [`evaluate_on_payload`], with the trace of every rule when `traced`.
#[cfg(test)]
pub(crate) fn explain_on_payload(
    policy: &Arc<CompiledPolicy>,
    payload: Value,
    traced: bool,
) -> (PolicyResult, Vec<RuleTrace>) {
    let request = Request {
        actor: Value::Null,
        workflow: Value::Null,
        payload,
        plan: Value::list([]),
        now: chrono::Utc::now(),
        env: Value::empty_map(),
        workspace: "/w".into(),
        home: "/h".into(),
    };
    let use_ = super::library::bind(policy, &Value::Null, Enforcement::Hard)
        .unwrap_or_else(|error| panic!("{}: {error}", policy.id));
    let context = Context::run(&request);
    let session = Session::new(&context, &NoLookups, &NoHistory);
    if traced {
        session.explain(&use_)
    } else {
        (session.evaluate(&use_), Vec::new())
    }
}
