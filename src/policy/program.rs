//! Checked policies, ready to evaluate: names resolved to slots, globs compiled once and literal
//! regular expressions on first use, functions bound to their table entries. The checker builds
//! these from the AST; the evaluator reads nothing else.

use std::sync::{Arc, OnceLock};

use globset::GlobMatcher;
use regex::{Regex, RegexBuilder};

use super::ast::{BinaryOp, QuantifierKind, ScopeKind, Span, TypeExpr};
use super::builtins::Builtin;
use super::source::{Location, SourceFile};
use super::value::Value;

#[derive(Debug)]
pub struct CompiledPolicy {
    /// `namespace.name`, e.g. `git.dont_push_to_main`.
    pub id: Arc<str>,
    pub name: String,
    pub doc: Vec<String>,
    pub params: Vec<ParamSpec>,
    pub levels: Levels,
    pub scopes: Vec<CompiledScope>,
    pub rules: Vec<CompiledRule>,
    /// Parameters first, then `let`s and quantifier variables.
    pub slot_count: usize,
    pub file: Arc<SourceFile>,
    pub span: Span,
    /// Where the policy starts, computed once for results that point at the policy itself.
    pub location: Location,
}

impl CompiledPolicy {
    pub fn location(&self, span: Span) -> Location {
        self.file.location(span)
    }
}

/// A workflow template's expression, compiled: the roots it may read (`payload`, `actor`,
/// `steps`) are its first slots, in the order the checker was given them.
#[derive(Debug)]
pub struct TemplateProgram {
    pub node: Node,
    /// Roots first, then quantifier variables.
    pub slot_count: usize,
}

#[derive(Debug, Clone)]
pub struct ParamSpec {
    pub name: String,
    pub ty: TypeExpr,
    pub default: Option<Value>,
}

/// Where a policy may be evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levels {
    pub run: bool,
    pub action: bool,
}

#[derive(Debug)]
pub struct CompiledScope {
    pub kind: ScopeKind,
    pub patterns: Vec<String>,
    pub matchers: Vec<GlobMatcher>,
}

impl CompiledScope {
    pub fn matches(&self, name: &str) -> bool {
        self.matchers.iter().any(|m| m.is_match(name))
    }
}

#[derive(Debug)]
pub struct CompiledRule {
    pub kind: RuleOp,
    pub span: Span,
    /// `file:line:column` of the rule, computed once.
    pub location: Location,
    /// The names and fields a rule reads, shown as evidence when it fails: (source text, node).
    pub evidence: Vec<(String, Node)>,
}

#[derive(Debug)]
pub enum RuleOp {
    Let {
        slot: usize,
        name: String,
        value: Node,
    },
    Deny {
        cond: Node,
        message: Message,
    },
    Require {
        cond: Node,
        message: Message,
    },
    Warn {
        cond: Node,
        message: Message,
    },
    Approve {
        cond: Node,
        by: Option<Node>,
        message: Message,
    },
    PassWhen {
        cond: Node,
        message: Message,
    },
    Pass {
        message: Message,
    },
}

impl RuleOp {
    pub fn keyword(&self) -> &'static str {
        match self {
            RuleOp::Let { .. } => "let",
            RuleOp::Deny { .. } => "deny",
            RuleOp::Require { .. } => "require",
            RuleOp::Warn { .. } => "warn",
            RuleOp::Approve { .. } => "approve",
            RuleOp::PassWhen { .. } | RuleOp::Pass { .. } => "pass",
        }
    }
}

#[derive(Debug, Default)]
pub struct Message {
    pub parts: Vec<MessagePart>,
}

#[derive(Debug)]
pub enum MessagePart {
    Text(String),
    Expr(Node),
}

#[derive(Debug)]
pub struct Node {
    pub op: Op,
    pub span: Span,
}

/// The roots every policy can read. `input` is the payload at run level and the action's
/// arguments at action level, so one policy serves both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    Input,
    Payload,
    Actor,
    Action,
    Workflow,
    Plan,
    Now,
    Env,
}

impl Root {
    pub const ALL: [Root; 8] = [
        Root::Input,
        Root::Payload,
        Root::Actor,
        Root::Action,
        Root::Workflow,
        Root::Plan,
        Root::Now,
        Root::Env,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Root::Input => "input",
            Root::Payload => "payload",
            Root::Actor => "actor",
            Root::Action => "action",
            Root::Workflow => "workflow",
            Root::Plan => "plan",
            Root::Now => "now",
            Root::Env => "env",
        }
    }

    pub fn from_name(name: &str) -> Option<Root> {
        Root::ALL.into_iter().find(|r| r.name() == name)
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Regular expressions are compiled with these limits, literal or computed alike.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

pub fn compile_regex(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| e.to_string())
}

/// A literal regular expression, compiled the first time a request reaches it. The checker only
/// parses it (which finds every syntax error, with its place): building the automaton costs far
/// more, and a hook call, a new process each time, reaches few of the library's patterns.
#[derive(Debug)]
pub struct LazyRegex {
    pub text: String,
    compiled: OnceLock<Result<Regex, String>>,
}

impl LazyRegex {
    pub fn new(text: impl Into<String>) -> LazyRegex {
        LazyRegex {
            text: text.into(),
            compiled: OnceLock::new(),
        }
    }

    /// The compiled expression; an error only when it exceeds the size limit, which parsing
    /// cannot tell.
    pub fn get(&self) -> Result<&Regex, &str> {
        self.compiled
            .get_or_init(|| compile_regex(&self.text))
            .as_ref()
            .map_err(String::as_str)
    }

    #[cfg(test)]
    pub fn is_compiled(&self) -> bool {
        self.compiled.get().is_some()
    }
}

#[derive(Debug)]
pub enum Pattern<T> {
    /// Known when the policy was checked (a literal, or a `let` of one), and checked then.
    Static(Arc<T>),
    /// Computed per request, compiled on first use and cached for the request.
    Dynamic(Box<Node>),
}

#[derive(Debug)]
pub enum SystemRef {
    Named(String),
    /// A string parameter holding the system's name.
    Param(usize),
}

#[derive(Debug)]
pub enum Op {
    Const(Value),
    Slot(usize),
    Root(Root),
    Field(Box<Node>, Arc<str>),
    Index(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Neg(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Coalesce(Box<Node>, Box<Node>),
    /// Comparisons, membership and arithmetic.
    Binary(BinaryOp, Box<Node>, Box<Node>),
    Matches(Box<Node>, Pattern<LazyRegex>),
    Glob(Box<Node>, Pattern<GlobMatcher>),
    Call(&'static Builtin, Vec<Node>),
    Quantifier {
        kind: QuantifierKind,
        slot: usize,
        var: String,
        list: Box<Node>,
        body: Box<Node>,
    },
    If(Box<Node>, Box<Node>, Box<Node>),
    List(Vec<Node>),
    Map(Vec<(Arc<str>, Node)>),
    Lookup {
        system: SystemRef,
        query: String,
        args: Vec<(Arc<str>, Node)>,
    },
    HistoryCount {
        query: HistoryArgs,
        /// Slot of `receipt` and the predicate over it.
        predicate: Option<(usize, Box<Node>)>,
    },
    HistoryActions {
        query: HistoryArgs,
        action: Option<Box<Node>>,
    },
}

#[derive(Debug)]
pub struct HistoryArgs {
    pub within: Box<Node>,
    pub workflow: Option<Box<Node>>,
}
