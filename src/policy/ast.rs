//! Enact's own syntax tree for `.enact` files: what the parser produces and the checker reads.
//! Spans are byte offsets into the file. Trees serialise with their spans; the formatter
//! compares trees with the spans taken out. The few types a checked program holds (spans,
//! types, operators) also read back, for the programs build.rs embeds.

use serde::{Deserialize, Serialize};

/// A byte range in a source file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub const fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct File {
    pub items: Vec<Item>,
    /// Every comment of the file, in order, with its span (kept for the formatter).
    #[serde(skip)]
    pub comments: Vec<Comment>,
}

#[derive(Debug, Clone)]
pub struct Comment {
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub enum Item {
    Policy(Policy),
    Tests(TestBlock),
}

#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    pub name: Ident,
    /// The `##` lines directly above the policy, without their markers.
    pub doc: Vec<String>,
    pub params: Vec<Param>,
    pub level: Option<LevelRestriction>,
    pub scopes: Vec<Scope>,
    pub rules: Vec<Rule>,
    pub span: Span,
}

/// `on action` or `on run`: the only place a policy may be evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LevelRestriction {
    Action,
    Run,
}

#[derive(Debug, Clone, Serialize)]
pub struct Param {
    pub name: Ident,
    pub ty: TypeExpr,
    pub default: Option<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TypeExpr {
    Any,
    Bool,
    Int,
    Float,
    Number,
    String,
    Duration,
    TimeOfDay,
    Time,
    Map,
    List(Option<Box<TypeExpr>>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScopeKind {
    Workflows,
    Systems,
    Actions,
}

impl ScopeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeKind::Workflows => "workflows",
            ScopeKind::Systems => "systems",
            ScopeKind::Actions => "actions",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Scope {
    pub kind: ScopeKind,
    pub patterns: Vec<StrLit>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct StrLit {
    pub value: String,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    pub kind: RuleKind,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub enum RuleKind {
    Let {
        name: Ident,
        value: Expr,
    },
    Deny {
        when: Expr,
        because: Option<Template>,
    },
    Require {
        cond: Expr,
        otherwise: Option<Template>,
    },
    Warn {
        when: Expr,
        because: Option<Template>,
    },
    Approve {
        when: Expr,
        by: Option<Expr>,
        because: Option<Template>,
    },
    /// `pass when C because M` ends the policy early with PASS; `pass M` names the final reason.
    Pass {
        when: Option<Expr>,
        because: Option<Template>,
    },
}

impl RuleKind {
    pub fn keyword(&self) -> &'static str {
        match self {
            RuleKind::Let { .. } => "let",
            RuleKind::Deny { .. } => "deny",
            RuleKind::Require { .. } => "require",
            RuleKind::Warn { .. } => "warn",
            RuleKind::Approve { .. } => "approve",
            RuleKind::Pass { .. } => "pass",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Template {
    pub parts: Vec<TemplatePart>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub enum TemplatePart {
    Text(String),
    Expr(Expr),
}

#[derive(Debug, Clone, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub enum ExprKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// Milliseconds.
    Duration(i64),
    /// Seconds since midnight.
    TimeOfDay(u32),
    List(Vec<Expr>),
    Map(Vec<(StrLit, Expr)>),
    Var(Ident),
    Field(Box<Expr>, Ident),
    Index(Box<Expr>, Box<Expr>),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    Call {
        name: Ident,
        args: Vec<Arg>,
    },
    Quantifier {
        kind: QuantifierKind,
        var: Ident,
        list: Box<Expr>,
        body: Box<Expr>,
    },
    If {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    Lookup {
        system: Ident,
        query: Ident,
        args: Vec<Arg>,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Matches,
    Coalesce,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::In => "in",
            BinaryOp::NotIn => "not in",
            BinaryOp::Matches => "matches",
            BinaryOp::Coalesce => "??",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
        }
    }

    /// Binding strength, higher binds tighter; shared by the parser and the formatter.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::In
            | BinaryOp::NotIn
            | BinaryOp::Matches => 4,
            BinaryOp::Coalesce => 5,
            BinaryOp::Add | BinaryOp::Sub => 6,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => 7,
        }
    }
}

/// Precedence of the prefix `not` (between `and` and the comparisons) and of unary minus.
pub const NOT_PRECEDENCE: u8 = 3;
pub const NEG_PRECEDENCE: u8 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum QuantifierKind {
    Any,
    All,
    Count,
    /// The first item for which the condition holds, or null.
    First,
    /// The items for which the condition holds.
    Filter,
    /// The expression's value for each item.
    Map,
}

impl QuantifierKind {
    pub fn keyword(self) -> &'static str {
        match self {
            QuantifierKind::Any => "any",
            QuantifierKind::All => "all",
            QuantifierKind::Count => "count",
            QuantifierKind::First => "first",
            QuantifierKind::Filter => "filter",
            QuantifierKind::Map => "map",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TestBlock {
    /// The policy under test: a name in this file, or `namespace.name`.
    pub policy: Ident,
    pub cases: Vec<TestCase>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestCase {
    pub name: StrLit,
    pub input: Expr,
    pub modifiers: Vec<Modifier>,
    pub expect: Status,
    pub reason: Option<StrLit>,
    pub span: Span,
}

/// What a policy concludes. Tests name one; the evaluator yields one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Pass,
    Block,
    Warn,
    Approval,
    Error,
    NotApplicable,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Block => "BLOCK",
            Status::Warn => "WARN",
            Status::Approval => "APPROVAL",
            Status::Error => "ERROR",
            Status::NotApplicable => "NOT_APPLICABLE",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Modifier {
    pub kind: ModifierKind,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub enum ModifierKind {
    /// `with`, `actor`, `env`, `now`, ...: a keyword and a constant expression.
    Set { key: Ident, value: Expr },
    /// `lookup crm.find_contact => ANSWER`
    LookupAnswer {
        system: Ident,
        query: Ident,
        answer: Expr,
    },
    /// `lookup crm.find_contact fails "MESSAGE"`
    LookupFails {
        system: Ident,
        query: Ident,
        message: StrLit,
    },
}
