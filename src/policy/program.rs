//! Checked policies, ready to evaluate: names resolved to slots, globs compiled once and literal
//! regular expressions on first use, functions bound to their table entries, each rule's
//! expressions one array of nodes ([`Exprs`]). The checker builds these from the AST; the
//! evaluator reads nothing else.
//!
//! A program can be stored (serde): build.rs checks the built-in library and embeds its programs,
//! so that a process needing the library reads them instead of checking 40 policies on every
//! start. What a stored program leaves out is made again when it is read: a function is stored
//! by name, a glob or regular expression by its text, a place in the source by its line and
//! column (the file is named by [`CompiledPolicy::attach`]).

use std::borrow::Cow;
use std::sync::{Arc, LazyLock, OnceLock};

use globset::GlobMatcher;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ast::{BinaryOp, QuantifierKind, ScopeKind, Span, TypeExpr};
use super::builtins::Builtin;
pub use super::matching::{LazyRegex, check_regex, compile_regex};
use super::source::{Location, SourceFile};
use super::value::Value;

/// Read back only from bytes that live as long as the process (see [`Rules`]).
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(deserialize = "'de: 'static"))]
pub struct CompiledPolicy {
    /// `namespace.name`, e.g. `git.dont_push_to_main`.
    #[serde(with = "shared_str")]
    pub id: Arc<str>,
    pub name: String,
    pub doc: Vec<String>,
    pub params: Vec<ParamSpec>,
    pub levels: Levels,
    pub scopes: Vec<CompiledScope>,
    pub rules: Rules,
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
        self.rules.attach(&file.name);
    }
}

/// A policy's rules. A checked policy holds them as they are. A stored one keeps each rule's
/// bytes and reads it the first time it is reached: most of the library's policies settle a
/// request on their first rules (a Read call has no `command`, and every shell policy passes
/// at once), so a hook call never reads most of what the library stores. An unread rule costs
/// its slice and an empty cell, the strings and the file are the policy's.
pub struct Rules(Form);

enum Form {
    Checked(Box<[CompiledRule]>),
    Stored(Box<StoredRules>),
}

struct StoredRules {
    rules: Box<[StoredRule]>,
    strings: Arc<[Arc<str>]>,
    file: Arc<str>,
}

struct StoredRule {
    /// A slice of the programs compiled into Enact.
    bytes: &'static [u8],
    /// Written from [`CompiledRule::is_constant_let`] when the programs were stored.
    constant_let: bool,
    read: OnceLock<Result<Box<CompiledRule>, UnreadableRule>>,
}

/// A stored rule whose bytes do not read back: the policy errors, which blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableRule(pub String);

impl std::fmt::Display for UnreadableRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "its stored program does not read back ({}); rebuild Enact",
            self.0
        )
    }
}

impl From<Vec<CompiledRule>> for Rules {
    fn from(rules: Vec<CompiledRule>) -> Rules {
        Rules(Form::Checked(rules.into_boxed_slice()))
    }
}

impl Rules {
    pub fn len(&self) -> usize {
        match &self.0 {
            Form::Checked(rules) => rules.len(),
            Form::Stored(stored) => stored.rules.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rules in order, each read when the iterator reaches it.
    pub fn iter(&self) -> impl Iterator<Item = Result<&CompiledRule, UnreadableRule>> {
        (0..self.len()).filter_map(|index| self.get(index))
    }

    /// How many rules have been read so far (a checked policy's all are).
    #[cfg(test)]
    pub fn read_so_far(&self) -> usize {
        match &self.0 {
            Form::Checked(rules) => rules.len(),
            Form::Stored(stored) => stored
                .rules
                .iter()
                .filter(|rule| rule.read.get().is_some())
                .count(),
        }
    }

    /// Whether the rule at `index` can matter to a decision, known without reading it: every
    /// rule can but a constant `let` (see [`CompiledRule::is_constant_let`]), which is there
    /// for traces.
    pub fn needed_to_decide(&self, index: usize) -> bool {
        match &self.0 {
            Form::Checked(rules) => rules.get(index).is_none_or(|rule| !rule.is_constant_let()),
            Form::Stored(stored) => stored
                .rules
                .get(index)
                .is_none_or(|rule| !rule.constant_let),
        }
    }

    /// The rule at `index`, read if it was not yet.
    pub fn get(&self, index: usize) -> Option<Result<&CompiledRule, UnreadableRule>> {
        match &self.0 {
            Form::Checked(rules) => rules.get(index).map(Ok),
            Form::Stored(stored) => {
                let rule = stored.rules.get(index)?;
                let read = rule.read.get_or_init(|| stored.read(rule.bytes));
                Some(read.as_deref().map_err(Clone::clone))
            }
        }
    }

    fn attach(&mut self, file: &Arc<str>) {
        match &mut self.0 {
            Form::Checked(rules) => {
                for rule in rules.iter_mut() {
                    rule.location.file = Arc::clone(file);
                }
            }
            Form::Stored(stored) => {
                stored.file = Arc::clone(file);
                for rule in stored.rules.iter_mut() {
                    if let Some(Ok(rule)) = rule.read.get_mut() {
                        rule.location.file = Arc::clone(file);
                    }
                }
            }
        }
    }
}

impl StoredRules {
    fn read(&self, bytes: &'static [u8]) -> Result<Box<CompiledRule>, UnreadableRule> {
        let rule = shared_str::reading(Arc::clone(&self.strings), || {
            postcard::from_bytes::<CompiledRule>(bytes)
        });
        let mut rule = rule.map_err(|error| UnreadableRule(error.to_string()))?;
        rule.location.file = Arc::clone(&self.file);
        Ok(Box::new(rule))
    }
}

impl std::fmt::Debug for Rules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut list = f.debug_list();
        for rule in self.iter() {
            match rule {
                Ok(rule) => list.entry(rule),
                Err(error) => list.entry(&error),
            };
        }
        list.finish()
    }
}

/// Each rule is stored as its own bytes (written with the table of the programs around it),
/// so that it can be read alone, after whether it is a constant `let`, so that evaluation can
/// pass over one without reading it.
impl Serialize for Rules {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeSeq};
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for rule in self.iter() {
            let rule = rule.map_err(S::Error::custom)?;
            let bytes = postcard::to_stdvec(rule).map_err(S::Error::custom)?;
            seq.serialize_element(&(rule.is_constant_let(), serde_bytes_ref(&bytes)))?;
        }
        seq.end()
    }
}

/// Bytes written as bytes, not as a sequence of numbers.
fn serde_bytes_ref(bytes: &[u8]) -> impl Serialize + '_ {
    struct Bytes<'b>(&'b [u8]);
    impl Serialize for Bytes<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }
    Bytes(bytes)
}

/// Read only from bytes that live as long as the process (the programs compiled into Enact):
/// each rule keeps its slice of them.
impl<'de: 'static> Deserialize<'de> for Rules {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Rules, D::Error> {
        struct Visit;
        impl<'de: 'static> serde::de::Visitor<'de> for Visit {
            type Value = Rules;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a policy's stored rules")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Rules, A::Error> {
                let strings = shared_str::reading_table().ok_or_else(|| {
                    A::Error::custom("stored rules are read only with their programs' strings")
                })?;
                let mut rules = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some((constant_let, StoredSlice(bytes))) = seq.next_element()? {
                    rules.push(StoredRule {
                        bytes,
                        constant_let,
                        read: OnceLock::new(),
                    });
                }
                Ok(Rules(Form::Stored(Box::new(StoredRules {
                    rules: rules.into_boxed_slice(),
                    strings,
                    file: Arc::default(),
                }))))
            }
        }
        d.deserialize_seq(Visit)
    }
}

/// One rule's bytes, borrowed.
struct StoredSlice(&'static [u8]);

impl<'de: 'static> Deserialize<'de> for StoredSlice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<StoredSlice, D::Error> {
        struct Visit;
        impl<'de: 'static> serde::de::Visitor<'de> for Visit {
            type Value = StoredSlice;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a rule's bytes")
            }

            fn visit_borrowed_bytes<E>(self, bytes: &'de [u8]) -> Result<StoredSlice, E> {
                Ok(StoredSlice(bytes))
            }
        }
        d.deserialize_bytes(Visit)
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
    pub exprs: Exprs,
    pub root: NodeId,
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
#[serde(bound(deserialize = "'de: 'static"))]
pub struct CompiledRule {
    pub kind: RuleOp,
    /// Every expression of the rule (its condition, message, evidence): the nodes the
    /// [`RuleOp`], the message and the evidence name.
    pub exprs: Exprs,
    pub span: Span,
    /// `file:line:column` of the rule, computed once.
    #[serde(with = "place")]
    pub location: Location,
    /// The names and fields a rule reads, shown as evidence when it fails: (source text, node).
    #[serde(with = "borrowed::pairs")]
    pub evidence: Vec<(Text, NodeId)>,
}

impl CompiledRule {
    /// A `let` whose value was folded when the policy was checked: the checker compiles every
    /// use of the name to the value itself (`Binding::reader`), so no rule reads its slot, and
    /// evaluating it can neither fail nor change a decision. Only a trace shows it.
    pub fn is_constant_let(&self) -> bool {
        match &self.kind {
            RuleOp::Let { value, .. } => {
                matches!(
                    self.exprs.get(*value),
                    Some(Node {
                        op: Op::Const(_),
                        ..
                    })
                )
            }
            _ => false,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(deserialize = "'de: 'static"))]
pub enum RuleOp {
    Let {
        slot: usize,
        value: NodeId,
    },
    Deny {
        cond: NodeId,
        message: Message,
    },
    Require {
        cond: NodeId,
        message: Message,
    },
    Warn {
        cond: NodeId,
        message: Message,
    },
    Approve {
        cond: NodeId,
        by: Option<NodeId>,
        message: Message,
    },
    PassWhen {
        cond: NodeId,
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
#[serde(bound(deserialize = "'de: 'static"))]
pub struct Message {
    pub parts: Vec<MessagePart>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(deserialize = "'de: 'static"))]
pub enum MessagePart {
    Text(#[serde(with = "borrowed")] Text),
    Expr(NodeId),
}

/// Text of a program: a checked policy's own, a stored one's borrowed from the programs
/// compiled into Enact, so that reading a rule copies none of its words.
pub type Text = Cow<'static, str>;

/// [`Text`] read from bytes that live as long as the process: borrowed, not copied.
mod borrowed {
    use super::*;

    pub fn serialize<S: Serializer>(text: &Text, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(text)
    }

    pub fn deserialize<'de: 'static, D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        <&'de str>::deserialize(d).map(Cow::Borrowed)
    }

    /// Entries keyed by text.
    pub mod pairs {
        use super::*;

        pub fn serialize<S, T>(entries: &[(Text, T)], s: S) -> Result<S::Ok, S::Error>
        where
            S: Serializer,
            T: Serialize,
        {
            s.collect_seq(entries.iter().map(|(k, v)| (&**k, v)))
        }

        pub fn deserialize<'de: 'static, D, T>(d: D) -> Result<Vec<(Text, T)>, D::Error>
        where
            D: Deserializer<'de>,
            T: Deserialize<'de>,
        {
            let entries = Vec::<(&'de str, T)>::deserialize(d)?;
            Ok(entries
                .into_iter()
                .map(|(k, v)| (Cow::Borrowed(k), v))
                .collect())
        }
    }
}

/// The expressions of one rule or template, as one array of nodes in which every node comes
/// after its operands and names them by their index, plus the operand lists of calls and list
/// literals. A stored rule reads back in a few allocations instead of one per node.
#[derive(Debug, Default, Serialize)]
pub struct Exprs {
    nodes: Vec<Node>,
    lists: Vec<NodeId>,
}

/// A node of an [`Exprs`], by its index there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(u32);

/// Operands of a call or list literal: a run of an [`Exprs`]' lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeList {
    start: u32,
    len: u32,
}

/// How far an [`Exprs`] was filled, to take back what was added since.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    nodes: usize,
    lists: usize,
}

impl Exprs {
    pub fn get(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.0 as usize)
    }

    pub fn list(&self, list: NodeList) -> Option<&[NodeId]> {
        let start = list.start as usize;
        self.lists.get(start..start.checked_add(list.len as usize)?)
    }

    /// Every node, each after its operands.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Adds a node whose operands are already here.
    pub fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        NodeId(index_u32(self.nodes.len() - 1))
    }

    pub fn push_list(&mut self, ids: &[NodeId]) -> NodeList {
        let start = index_u32(self.lists.len());
        self.lists.extend_from_slice(ids);
        NodeList {
            start,
            len: index_u32(ids.len()),
        }
    }

    pub fn mark(&self) -> Mark {
        Mark {
            nodes: self.nodes.len(),
            lists: self.lists.len(),
        }
    }

    /// Takes back every node and list added since `mark`.
    pub fn truncate(&mut self, mark: Mark) {
        self.nodes.truncate(mark.nodes);
        self.lists.truncate(mark.lists);
    }

    /// Takes back `id` if it is the last node added (a pattern kept as its compiled form).
    pub fn discard(&mut self, id: NodeId) {
        if id.0 as usize + 1 == self.nodes.len() {
            self.nodes.pop();
        }
    }

    pub fn shrink_to_fit(&mut self) {
        self.nodes.shrink_to_fit();
        self.lists.shrink_to_fit();
    }

    /// Calls `each` with every operand `op` names, those in its lists included; false when a
    /// list of it is not here.
    pub fn operands(&self, op: &Op, mut each: impl FnMut(NodeId)) -> bool {
        let mut each_of = |ids: &[NodeId]| ids.iter().for_each(|&id| each(id));
        match op {
            Op::Const(_) | Op::Slot(_) | Op::Root(_) => {}
            Op::Field(a, _) | Op::Not(a) | Op::Neg(a) => each_of(&[*a]),
            Op::Index(a, b)
            | Op::And(a, b)
            | Op::Or(a, b)
            | Op::Coalesce(a, b)
            | Op::Binary(_, a, b) => each_of(&[*a, *b]),
            Op::Matches(subject, pattern) => {
                each_of(&[*subject]);
                each_of(pattern.dynamic().as_slice());
            }
            Op::Glob(subject, pattern) => {
                each_of(&[*subject]);
                each_of(pattern.dynamic().as_slice());
            }
            Op::Call(_, list) | Op::List(list) => match self.list(*list) {
                Some(ids) => each_of(ids),
                None => return false,
            },
            Op::Quantifier(quantifier) => each_of(&[quantifier.list, quantifier.body]),
            Op::If(a, b, c) => each_of(&[*a, *b, *c]),
            Op::Map(entries) => entries.iter().for_each(|(_, v)| each_of(&[*v])),
            Op::Lookup(lookup) => lookup.args.iter().for_each(|(_, v)| each_of(&[*v])),
            Op::HistoryCount(count) => {
                let HistoryCount { query, predicate } = &**count;
                each_of(&[query.within]);
                each_of(query.workflow.as_slice());
                each_of(predicate.map(|(_, body)| body).as_slice());
            }
            Op::HistoryActions { query, action } => {
                each_of(&[query.within]);
                each_of(query.workflow.as_slice());
                each_of(action.as_slice());
            }
        }
        true
    }

    /// Whether every operand a node names, directly or in a list, comes before it: what the
    /// checker builds, and what stored bytes must hold to be read.
    fn is_well_formed(&self) -> bool {
        self.nodes.iter().enumerate().all(|(at, node)| {
            let mut before = true;
            self.operands(&node.op, |id| before &= (id.0 as usize) < at) && before
        })
    }
}

fn index_u32(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}

impl<'de: 'static> Deserialize<'de> for Exprs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Exprs, D::Error> {
        #[derive(Deserialize)]
        #[serde(bound(deserialize = "'de: 'static"))]
        struct Raw {
            nodes: Vec<Node>,
            lists: Vec<NodeId>,
        }
        let Raw { nodes, lists } = Raw::deserialize(d)?;
        let exprs = Exprs { nodes, lists };
        if exprs.is_well_formed() {
            Ok(exprs)
        } else {
            Err(D::Error::custom(
                "a node names an operand that is not before it",
            ))
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(deserialize = "'de: 'static"))]
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

    enum Table {
        Writing {
            index: HashMap<Arc<str>, u32>,
            strings: Vec<Arc<str>>,
        },
        Reading(Arc<[Arc<str>]>),
    }

    thread_local! {
        static TABLE: RefCell<Option<Table>> = const { RefCell::new(None) };
    }

    /// Runs `work` with `table` in use; gives back the result and the table.
    fn with_table<T>(table: Table, work: impl FnOnce() -> T) -> (T, Option<Table>) {
        let outer = TABLE.with(|slot| slot.borrow_mut().replace(table));
        let result = work();
        let table = TABLE.with(|slot| std::mem::replace(&mut *slot.borrow_mut(), outer));
        (result, table)
    }

    /// Runs `work`, writing shared strings as indices; gives back the strings in index order.
    pub(super) fn writing<T>(work: impl FnOnce() -> T) -> (T, Vec<Arc<str>>) {
        let table = Table::Writing {
            index: HashMap::new(),
            strings: Vec::new(),
        };
        match with_table(table, work) {
            (result, Some(Table::Writing { strings, .. })) => (result, strings),
            (result, _) => (result, Vec::new()),
        }
    }

    /// Runs `work`, reading shared strings as indices into `strings`.
    pub(super) fn reading<T>(strings: Arc<[Arc<str>]>, work: impl FnOnce() -> T) -> T {
        with_table(Table::Reading(strings), work).0
    }

    /// The table being read, shared.
    pub(super) fn reading_table() -> Option<Arc<[Arc<str>]>> {
        TABLE.with(|slot| match slot.borrow().as_ref() {
            Some(Table::Reading(strings)) => Some(Arc::clone(strings)),
            _ => None,
        })
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

    /// The string at `at` in the table being read; `None` when out of range.
    fn from_table(at: u32) -> Option<Arc<str>> {
        TABLE.with(|slot| match slot.borrow().as_ref() {
            Some(Table::Reading(strings)) => strings.get(at as usize).cloned(),
            _ => None,
        })
    }

    fn is_reading() -> bool {
        TABLE.with(|slot| matches!(slot.borrow().as_ref(), Some(Table::Reading(_))))
    }

    pub fn serialize<S: Serializer>(text: &Arc<str>, s: S) -> Result<S::Ok, S::Error> {
        match index_of(text) {
            Some(at) => s.serialize_u32(at),
            None => s.serialize_str(text),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<str>, D::Error> {
        if is_reading() {
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

        pub fn deserialize<'de, D, T, C>(d: D) -> Result<C, D::Error>
        where
            D: Deserializer<'de>,
            T: Deserialize<'de>,
            C: FromIterator<(Arc<str>, T)>,
        {
            let entries = Vec::<(Key, T)>::deserialize(d)?;
            Ok(entries.into_iter().map(|(Key(k), v)| (k, v)).collect())
        }
    }
}

/// The stored form of checked policies: their shared strings' table, then the programs.
pub fn store_programs(policies: &[Arc<CompiledPolicy>]) -> Result<Vec<u8>, postcard::Error> {
    let (programs, strings) = shared_str::writing(|| postcard::to_stdvec(policies));
    let strings: Vec<&str> = strings.iter().map(|s| &**s).collect();
    let mut bytes = postcard::to_stdvec(&strings)?;
    bytes.extend_from_slice(&programs?);
    Ok(bytes)
}

/// Policies read back from [`store_programs`]' bytes; none when they are not such bytes.
/// The rules are read lazily, from `bytes` themselves (see [`Rules`]).
pub fn load_programs(bytes: &'static [u8]) -> Option<Vec<CompiledPolicy>> {
    let (strings, programs) = postcard::take_from_bytes::<Vec<&str>>(bytes).ok()?;
    let strings = strings.into_iter().map(Arc::from).collect();
    shared_str::reading(strings, || postcard::from_bytes(programs)).ok()
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
    Dynamic(NodeId),
}

impl<T> Pattern<T> {
    /// The node computing the pattern, when it is computed per request.
    pub fn dynamic(&self) -> Option<NodeId> {
        match self {
            Pattern::Static(_) => None,
            Pattern::Dynamic(node) => Some(*node),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub enum SystemRef {
    Named(String),
    /// A string parameter holding the system's name.
    Param(usize),
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(deserialize = "'de: 'static"))]
pub enum Op {
    Const(#[serde(with = "stored_value")] Value),
    Slot(usize),
    Root(Root),
    Field(NodeId, #[serde(with = "shared_str")] Arc<str>),
    Index(NodeId, NodeId),
    Not(NodeId),
    Neg(NodeId),
    And(NodeId, NodeId),
    Or(NodeId, NodeId),
    Coalesce(NodeId, NodeId),
    /// Comparisons, membership and arithmetic.
    Binary(BinaryOp, NodeId, NodeId),
    Matches(NodeId, Pattern<LazyRegex>),
    Glob(NodeId, Pattern<Glob>),
    Call(
        #[serde(with = "builtin_by_name")] &'static Builtin,
        NodeList,
    ),
    /// Boxed, as `Lookup`, a map literal and `history.count` are: the rare large variants
    /// would otherwise set the size of every node of every program.
    Quantifier(Box<Quantifier>),
    If(NodeId, NodeId, NodeId),
    List(NodeList),
    Map(#[serde(with = "shared_str::keyed")] Box<[(Arc<str>, NodeId)]>),
    Lookup(Box<Lookup>),
    HistoryCount(Box<HistoryCount>),
    HistoryActions {
        query: HistoryArgs,
        action: Option<NodeId>,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(deserialize = "'de: 'static"))]
pub struct Quantifier {
    pub kind: QuantifierKind,
    pub slot: usize,
    #[serde(with = "borrowed")]
    pub var: Text,
    pub list: NodeId,
    pub body: NodeId,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Lookup {
    pub system: SystemRef,
    pub query: String,
    #[serde(with = "shared_str::keyed")]
    pub args: Vec<(Arc<str>, NodeId)>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct HistoryCount {
    pub query: HistoryArgs,
    /// Slot of `receipt` and the predicate over it.
    pub predicate: Option<(usize, NodeId)>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct HistoryArgs {
    pub within: NodeId,
    pub workflow: Option<NodeId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(op: Op) -> Node {
        Node {
            op,
            span: Span::default(),
        }
    }

    /// `exprs` written, then read back as a stored program is.
    fn round_trip(exprs: &Exprs) -> Result<Exprs, postcard::Error> {
        let bytes: &'static [u8] = Box::leak(postcard::to_stdvec(exprs)?.into_boxed_slice());
        postcard::from_bytes(bytes)
    }

    /// Every node of every rule a call reaches is read into memory: the rare large operations
    /// are boxed so that they do not set the size of all the others.
    #[test]
    fn a_node_stays_small() {
        assert!(
            std::mem::size_of::<Node>() <= 48,
            "{}",
            std::mem::size_of::<Node>()
        );
    }

    #[test]
    fn stored_expressions_read_back_only_when_every_operand_comes_first() {
        let not = |operand| node(Op::Not(NodeId(operand)));
        let truth = || node(Op::Const(Value::Bool(true)));
        let length = super::super::builtins::find("len").unwrap();
        let call = |start, len| node(Op::Call(length, NodeList { start, len }));

        let sound = Exprs {
            nodes: vec![truth(), not(0), call(0, 1)],
            lists: vec![NodeId(1)],
        };
        let read = round_trip(&sound).unwrap();
        assert_eq!(read.nodes().len(), 3);
        assert_eq!(
            read.list(NodeList { start: 0, len: 1 }),
            Some(&[NodeId(1)][..])
        );

        // A node naming itself or a later node would make evaluation loop.
        for nodes in [vec![not(0)], vec![not(1), truth()]] {
            let exprs = Exprs {
                nodes,
                lists: Vec::new(),
            };
            assert!(round_trip(&exprs).is_err(), "{exprs:?}");
        }
        // So would a list naming its own node; a list past the end names nothing.
        for (lists, call) in [
            (vec![NodeId(1)], call(0, 1)),
            (vec![NodeId(0)], call(0, 2)),
            (vec![NodeId(0)], call(u32::MAX, 2)),
        ] {
            let exprs = Exprs {
                nodes: vec![truth(), call],
                lists,
            };
            assert!(round_trip(&exprs).is_err(), "{exprs:?}");
        }
    }
}
