//! Checked policies, ready to evaluate: names resolved to slots, globs compiled once and literal
//! regular expressions on first use, functions bound to their table entries. The checker builds
//! these from the AST; the evaluator reads nothing else.
//!
//! A program can be stored (serde): build.rs checks the built-in library and embeds its programs,
//! so that a process needing the library reads them instead of checking 40 policies on every
//! start. What a stored program leaves out is made again when it is read: a function is stored
//! by name, a glob or regular expression by its text, a place in the source by its line and
//! column (the file is named by [`CompiledPolicy::attach`]).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use globset::GlobMatcher;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ast::{BinaryOp, QuantifierKind, ScopeKind, Span, TypeExpr};
use super::builtins::Builtin;
pub use super::matching::{LazyRegex, check_regex, compile_regex};
use super::source::{Location, SourceFile};
use super::value::Value;

#[derive(Debug, Serialize, Deserialize)]
pub struct CompiledPolicy {
    /// `namespace.name`, e.g. `git.dont_push_to_main`.
    #[serde(with = "shared_str")]
    pub id: Arc<str>,
    pub name: String,
    pub doc: Vec<String>,
    pub params: Vec<ParamSpec>,
    pub levels: Levels,
    pub scopes: Vec<CompiledScope>,
    pub rules: Vec<CompiledRule>,
    /// Parameters first, then `let`s and quantifier variables.
    pub slot_count: usize,
    #[serde(skip, default = "unattached")]
    pub file: Arc<SourceFile>,
    pub span: Span,
    /// Where the policy starts, computed once for results that point at the policy itself.
    #[serde(with = "place")]
    pub location: Location,
}

impl CompiledPolicy {
    pub fn location(&self, span: Span) -> Location {
        self.file.location(span)
    }

    /// Ties a stored policy to its source file: the places its results point at name it.
    pub fn attach(&mut self, file: &Arc<SourceFile>) {
        self.file = Arc::clone(file);
        self.location.file = Arc::clone(&file.name);
        for rule in &mut self.rules {
            rule.location.file = Arc::clone(&file.name);
        }
    }
}

/// The file of a stored policy until [`CompiledPolicy::attach`] gives it its own.
fn unattached() -> Arc<SourceFile> {
    static NONE: LazyLock<Arc<SourceFile>> = LazyLock::new(|| SourceFile::new("", ""));
    Arc::clone(&NONE)
}

/// A place in the source, stored as its line and column: the file is the policy's own, named
/// by [`CompiledPolicy::attach`].
mod place {
    use super::*;

    pub fn serialize<S: Serializer>(place: &Location, s: S) -> Result<S::Ok, S::Error> {
        (place.line, place.column).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Location, D::Error> {
        let (line, column) = <(usize, usize)>::deserialize(d)?;
        Ok(Location {
            file: Arc::default(),
            line,
            column,
        })
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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParamSpec {
    pub name: String,
    pub ty: TypeExpr,
    #[serde(with = "stored_value::option")]
    pub default: Option<Value>,
}

/// Where a policy may be evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Levels {
    pub run: bool,
    pub action: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CompiledScope {
    pub kind: ScopeKind,
    pub patterns: Vec<String>,
    pub matchers: Vec<Glob>,
}

impl CompiledScope {
    pub fn matches(&self, name: &str) -> bool {
        self.matchers.iter().any(|m| m.is_match(name))
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CompiledRule {
    pub kind: RuleOp,
    pub span: Span,
    /// `file:line:column` of the rule, computed once.
    #[serde(with = "place")]
    pub location: Location,
    /// The names and fields a rule reads, shown as evidence when it fails: (source text, node).
    pub evidence: Vec<(String, Node)>,
}

#[derive(Debug, Serialize, Deserialize)]
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
        /// Boxed: few rules have one, and it would double the size of every rule.
        by: Option<Box<Node>>,
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

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Message {
    pub parts: Vec<MessagePart>,
}

#[derive(Debug, Serialize, Deserialize)]
pub enum MessagePart {
    Text(String),
    Expr(Node),
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Node {
    pub op: Op,
    pub span: Span,
}

/// The roots every policy can read. `input` is the payload at run level and the action's
/// arguments at action level, so one policy serves both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// A compiled glob. Stored by its text, and compiled again when read.
#[derive(Debug)]
pub struct Glob(GlobMatcher);

impl Glob {
    pub fn is_match(&self, subject: &str) -> bool {
        self.0.is_match(subject)
    }
}

pub fn compile_glob(pattern: &str) -> Result<Glob, String> {
    globset::Glob::new(pattern)
        .map(|g| Glob(g.compile_matcher()))
        .map_err(|e| e.kind().to_string())
}

impl Serialize for Glob {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.glob().glob())
    }
}

impl<'de> Deserialize<'de> for Glob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        compile_glob(&text).map_err(D::Error::custom)
    }
}

/// The shared strings of stored programs (`Arc<str>`: field names, constants, map keys), kept
/// once per namespace. [`store_programs`] writes each distinct string once, in a table ahead of
/// the programs, and each use as its index; [`load_programs`] reads the table into one `Arc`
/// per string and every use as a clone of it. The library's programs name the same fields and
/// commands hundreds of times, and a process reads them on every call. Outside those two
/// functions (JSON, say) a shared string is written and read as itself.
pub(crate) mod shared_str {
    use std::cell::RefCell;
    use std::collections::HashMap;

    use super::*;

    pub(super) enum Table {
        Writing {
            index: HashMap<Arc<str>, u32>,
            strings: Vec<Arc<str>>,
        },
        Reading(Vec<Arc<str>>),
    }

    thread_local! {
        static TABLE: RefCell<Option<Table>> = const { RefCell::new(None) };
    }

    /// Runs `work` with `table` in use, and gives the table back.
    pub(super) fn with_table<T>(table: Table, work: impl FnOnce() -> T) -> (T, Table) {
        let outer = TABLE.with(|slot| slot.borrow_mut().replace(table));
        let result = work();
        let table = TABLE.with(|slot| std::mem::replace(&mut *slot.borrow_mut(), outer));
        (result, table.unwrap_or(Table::Reading(Vec::new())))
    }

    /// A string's index in the table being written; `None` when none is.
    fn index_of(text: &Arc<str>) -> Option<u32> {
        TABLE.with(|slot| match slot.borrow_mut().as_mut() {
            Some(Table::Writing { index, strings }) => {
                Some(*index.entry(Arc::clone(text)).or_insert_with(|| {
                    strings.push(Arc::clone(text));
                    u32::try_from(strings.len() - 1).unwrap_or(u32::MAX)
                }))
            }
            _ => None,
        })
    }

    /// Whether a table is being read; the string at `at` in it (`Some(None)`: out of range).
    fn from_table(at: u32) -> Option<Arc<str>> {
        TABLE.with(|slot| match slot.borrow().as_ref() {
            Some(Table::Reading(strings)) => strings.get(at as usize).cloned(),
            _ => None,
        })
    }

    fn reading() -> bool {
        TABLE.with(|slot| matches!(slot.borrow().as_ref(), Some(Table::Reading(_))))
    }

    pub fn serialize<S: Serializer>(text: &Arc<str>, s: S) -> Result<S::Ok, S::Error> {
        match index_of(text) {
            Some(at) => s.serialize_u32(at),
            None => s.serialize_str(text),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<str>, D::Error> {
        if reading() {
            let at = u32::deserialize(d)?;
            from_table(at)
                .ok_or_else(|| D::Error::custom(format!("no string {at} in the program's table")))
        } else {
            let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
            Ok(Arc::from(&*text))
        }
    }

    #[derive(Serialize, Deserialize)]
    struct Key(#[serde(with = "self")] Arc<str>);

    /// Entries keyed by shared strings.
    pub mod keyed {
        use super::*;

        pub fn serialize<S, T>(entries: &[(Arc<str>, T)], s: S) -> Result<S::Ok, S::Error>
        where
            S: Serializer,
            T: Serialize,
        {
            s.collect_seq(entries.iter().map(|(k, v)| (Key(Arc::clone(k)), v)))
        }

        pub fn deserialize<'de, D, T>(d: D) -> Result<Vec<(Arc<str>, T)>, D::Error>
        where
            D: Deserializer<'de>,
            T: Deserialize<'de>,
        {
            let entries = Vec::<(Key, T)>::deserialize(d)?;
            Ok(entries.into_iter().map(|(Key(k), v)| (k, v)).collect())
        }
    }
}

/// The stored form of checked policies: their shared strings' table, then the programs.
pub fn store_programs(policies: &[Arc<CompiledPolicy>]) -> Result<Vec<u8>, postcard::Error> {
    let writing = shared_str::Table::Writing {
        index: HashMap::new(),
        strings: Vec::new(),
    };
    let (programs, table) = shared_str::with_table(writing, || postcard::to_stdvec(policies));
    let shared_str::Table::Writing { strings, .. } = table else {
        return Err(postcard::Error::SerializeBufferFull);
    };
    let strings: Vec<&str> = strings.iter().map(|s| &**s).collect();
    let mut bytes = postcard::to_stdvec(&strings)?;
    bytes.extend_from_slice(&programs?);
    Ok(bytes)
}

/// Policies read back from [`store_programs`]' bytes; none when they are not such bytes.
pub fn load_programs(bytes: &[u8]) -> Option<Vec<CompiledPolicy>> {
    let (strings, programs) = postcard::take_from_bytes::<Vec<&str>>(bytes).ok()?;
    let strings = strings.into_iter().map(Arc::from).collect();
    let reading = shared_str::Table::Reading(strings);
    let (policies, _) = shared_str::with_table(reading, || postcard::from_bytes(programs));
    policies.ok()
}

/// A function of the table, stored by name.
mod builtin_by_name {
    use super::*;

    pub fn serialize<S: Serializer>(builtin: &&'static Builtin, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(builtin.name)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<&'static Builtin, D::Error> {
        let name = <&str>::deserialize(d)?;
        super::super::builtins::find(name)
            .ok_or_else(|| D::Error::custom(format!("no built-in function `{name}`")))
    }
}

/// A constant, stored with its type: `Value`'s own serde speaks JSON, where a duration, a time
/// of day and a time are all strings.
mod stored_value {
    use chrono::{DateTime, Utc};

    use super::*;

    #[derive(Serialize, Deserialize)]
    enum Stored {
        Null,
        Bool(bool),
        Int(i64),
        Float(f64),
        Str(#[serde(with = "shared_str")] Arc<str>),
        List(Vec<Stored>),
        Map(#[serde(with = "shared_str::keyed")] Vec<(Arc<str>, Stored)>),
        Duration(i64),
        TimeOfDay(u32),
        /// Seconds and nanoseconds since the epoch.
        Time(i64, u32),
    }

    fn store(value: &Value) -> Stored {
        match value {
            Value::Null => Stored::Null,
            Value::Bool(b) => Stored::Bool(*b),
            Value::Int(n) => Stored::Int(*n),
            Value::Float(x) => Stored::Float(*x),
            Value::Str(s) => Stored::Str(Arc::clone(s)),
            Value::List(items) => Stored::List(items.iter().map(store).collect()),
            Value::Map(map) => {
                Stored::Map(map.iter().map(|(k, v)| (Arc::clone(k), store(v))).collect())
            }
            Value::Duration(ms) => Stored::Duration(*ms),
            Value::TimeOfDay(s) => Stored::TimeOfDay(*s),
            Value::Time(t) => Stored::Time(t.timestamp(), t.timestamp_subsec_nanos()),
        }
    }

    fn load(stored: Stored) -> Option<Value> {
        Some(match stored {
            Stored::Null => Value::Null,
            Stored::Bool(b) => Value::Bool(b),
            Stored::Int(n) => Value::Int(n),
            Stored::Float(x) => Value::Float(x),
            Stored::Str(s) => Value::Str(s),
            Stored::List(items) => Value::List(items.into_iter().map(load).collect::<Option<_>>()?),
            Stored::Map(entries) => Value::Map(Arc::new(
                entries
                    .into_iter()
                    .map(|(k, v)| Some((k, load(v)?)))
                    .collect::<Option<_>>()?,
            )),
            Stored::Duration(ms) => Value::Duration(ms),
            Stored::TimeOfDay(s) => Value::TimeOfDay(s),
            Stored::Time(secs, nanos) => Value::Time(DateTime::<Utc>::from_timestamp(secs, nanos)?),
        })
    }

    pub fn serialize<S: Serializer>(value: &Value, s: S) -> Result<S::Ok, S::Error> {
        store(value).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        load(Stored::deserialize(d)?).ok_or_else(|| D::Error::custom("a time out of range"))
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(value: &Option<Value>, s: S) -> Result<S::Ok, S::Error> {
            value.as_ref().map(store).serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
            Option::<Stored>::deserialize(d)?
                .map(|stored| load(stored).ok_or_else(|| D::Error::custom("a time out of range")))
                .transpose()
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub enum Pattern<T> {
    /// Known when the policy was checked (a literal, or a `let` of one), and checked then.
    Static(Arc<T>),
    /// Computed per request, compiled on first use and cached for the request.
    Dynamic(Box<Node>),
}

#[derive(Debug, Serialize, Deserialize)]
pub enum SystemRef {
    Named(String),
    /// A string parameter holding the system's name.
    Param(usize),
}

#[derive(Debug, Serialize, Deserialize)]
pub enum Op {
    Const(#[serde(with = "stored_value")] Value),
    Slot(usize),
    Root(Root),
    Field(Box<Node>, #[serde(with = "shared_str")] Arc<str>),
    Index(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Neg(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Coalesce(Box<Node>, Box<Node>),
    /// Comparisons, membership and arithmetic.
    Binary(BinaryOp, Box<Node>, Box<Node>),
    Matches(Box<Node>, Pattern<LazyRegex>),
    Glob(Box<Node>, Pattern<Glob>),
    Call(
        #[serde(with = "builtin_by_name")] &'static Builtin,
        Vec<Node>,
    ),
    /// Boxed whole, as `Lookup` is: the rare large variants would otherwise set the size of
    /// every node of every program.
    Quantifier(Box<Quantifier>),
    If(Box<Node>, Box<Node>, Box<Node>),
    List(Vec<Node>),
    Map(#[serde(with = "shared_str::keyed")] Vec<(Arc<str>, Node)>),
    Lookup(Box<Lookup>),
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

#[derive(Debug, Serialize, Deserialize)]
pub struct Quantifier {
    pub kind: QuantifierKind,
    pub slot: usize,
    pub var: String,
    pub list: Node,
    pub body: Node,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Lookup {
    pub system: SystemRef,
    pub query: String,
    #[serde(with = "shared_str::keyed")]
    pub args: Vec<(Arc<str>, Node)>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct HistoryArgs {
    pub within: Box<Node>,
    pub workflow: Option<Box<Node>>,
}
