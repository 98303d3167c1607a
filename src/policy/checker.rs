//! The checker: reads a parsed file, reports every problem it can know before a request arrives
//! (unknown names with suggestions, arity and types, rules without messages, duplicates, unused
//! parameters and `let`s, regular expressions and globs that do not compile), and compiles each
//! sound policy into the program the evaluator runs.

use std::collections::HashSet;
use std::sync::Arc;

use super::ast::{
    self, Arg, BinaryOp, Expr, ExprKind, Item, LevelRestriction, RuleKind, Span, Template,
    TemplatePart, UnaryOp,
};
use super::builtins::{self, Builtin};
use super::diagnostic::{Code, Diagnostic, did_you_mean};
use super::program::*;
use super::source::SourceFile;
use super::types::Ty;
use super::value::Value;

pub struct Checked {
    pub policies: Vec<Arc<CompiledPolicy>>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Checks and compiles every policy of a file. A policy with an error is left out of the
/// result (and reported); the others are compiled.
pub fn check_policies(file: &Arc<SourceFile>, ast: &ast::File, namespace: &str) -> Checked {
    let mut diagnostics = Vec::new();
    let mut policies = Vec::new();
    let mut seen: Vec<(&str, Span)> = Vec::new();
    for item in &ast.items {
        let Item::Policy(policy) = item else { continue };
        if let Some((_, first)) = seen.iter().find(|(name, _)| *name == policy.name.name) {
            let (line, _) = file.line_col(first.start);
            diagnostics.push(
                Diagnostic::new(
                    Code::DuplicatePolicy,
                    format!("policy `{}` is defined twice", policy.name.name),
                )
                .at(file, policy.name.span)
                .label("second definition")
                .help(format!(
                    "the first definition is on line {line}; rename one of them"
                )),
            );
            continue;
        }
        seen.push((&policy.name.name, policy.name.span));
        let mut compiler = Compiler::new(file);
        let compiled = compiler.policy(policy, namespace);
        let has_error = compiler.diagnostics.iter().any(Diagnostic::is_error);
        diagnostics.append(&mut compiler.diagnostics);
        if !has_error {
            policies.extend(compiled.map(Arc::new));
        }
    }
    Checked {
        policies,
        diagnostics,
    }
}

/// Compiles and evaluates an expression that may not read any request data (test inputs,
/// parameter defaults).
pub fn constant(file: &Arc<SourceFile>, expr: &Expr) -> Result<Value, Diagnostic> {
    let mut compiler = Compiler::new(file);
    compiler.reads = Reads::Nothing;
    let (node, _) = compiler.expr(expr);
    if let Some(first) = compiler.diagnostics.into_iter().find(Diagnostic::is_error) {
        return Err(first);
    }
    super::eval::evaluate_constant(&compiler.exprs, node).map_err(|message| {
        Diagnostic::new(Code::TypeMismatch, message)
            .at(file, expr.span)
            .label("while computing this constant")
    })
}

/// Compiles a workflow template's expression (`${ payload.repo }`). It reads exactly the names
/// in `roots`, bound to slots in that order, and nothing of the host, the environment, the
/// connectors or the receipt history: a workflow's arguments depend only on its request.
pub fn compile_template(
    file: &Arc<SourceFile>,
    expr: &Expr,
    roots: &[&str],
) -> Result<TemplateProgram, Diagnostic> {
    let mut compiler = Compiler::new(file);
    compiler.reads = Reads::TemplateRoots;
    for root in roots {
        let name = ast::Ident {
            name: (*root).to_string(),
            span: Span::default(),
        };
        compiler.bind(&name, BindingKind::Param, Ty::Map);
    }
    let (root, _) = compiler.expr(expr);
    if let Some(first) = compiler.diagnostics.into_iter().find(Diagnostic::is_error) {
        return Err(first);
    }
    let mut exprs = compiler.exprs;
    exprs.shrink_to_fit();
    Ok(TemplateProgram {
        exprs,
        root,
        slot_count: compiler.slot_count,
    })
}

/// What an expression being compiled may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reads {
    /// A policy: the request's roots, lookups and history.
    Request,
    /// A constant: literals only.
    Nothing,
    /// A workflow template: only the roots bound as its first slots, and pure functions.
    TemplateRoots,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BindingKind {
    Param,
    Let,
    Variable,
}

struct Binding {
    name: String,
    slot: usize,
    kind: BindingKind,
    ty: Ty,
    span: Span,
    uses: usize,
    /// The value of a `let` that reads nothing from the request, computed at check time.
    constant: Option<Value>,
}

impl Binding {
    /// What reading the name compiles to: its constant if known, else its slot.
    fn reader(&self) -> Op {
        self.constant.clone().map_or(Op::Slot(self.slot), Op::Const)
    }
}

struct Compiler<'f> {
    file: &'f Arc<SourceFile>,
    diagnostics: Vec<Diagnostic>,
    /// Every binding ever made, for the unused-name report; `visible` indexes those in scope.
    bindings: Vec<Binding>,
    visible: Vec<usize>,
    slot_count: usize,
    reads: Reads,
    /// The expressions of the rule (or constant, or template) being compiled.
    exprs: Exprs,
}

impl<'f> Compiler<'f> {
    fn new(file: &'f Arc<SourceFile>) -> Self {
        Compiler {
            file,
            diagnostics: Vec::new(),
            bindings: Vec::new(),
            visible: Vec::new(),
            slot_count: 0,
            reads: Reads::Request,
            exprs: Exprs::default(),
        }
    }

    fn diag(&self, code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(code, message).at(self.file, span)
    }

    fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn bind(&mut self, name: &ast::Ident, kind: BindingKind, ty: Ty) -> usize {
        // A parameter may take a root's name (its name is part of the policy's contract with
        // the configs that use it); inside the policy the parameter then hides the root.
        if kind != BindingKind::Param && Root::from_name(&name.name).is_some() {
            self.report(
                self.diag(
                    Code::DuplicateName,
                    name.span,
                    format!("`{}` is a built-in name and cannot be redefined", name.name),
                )
                .label("choose another name"),
            );
        } else if kind != BindingKind::Variable
            && let Some(previous) = self.lookup_binding(&name.name)
        {
            let (line, _) = self.file.line_col(previous.span.start);
            self.report(
                self.diag(
                    Code::DuplicateName,
                    name.span,
                    format!("`{}` is already defined in this policy", name.name),
                )
                .label("defined again here")
                .help(format!(
                    "the first definition is on line {line}; names may not be reused"
                )),
            );
        }
        let slot = self.slot_count;
        self.slot_count += 1;
        self.bindings.push(Binding {
            name: name.name.clone(),
            slot,
            kind,
            ty,
            span: name.span,
            uses: 0,
            constant: None,
        });
        self.visible.push(self.bindings.len() - 1);
        slot
    }

    fn lookup_binding(&self, name: &str) -> Option<&Binding> {
        self.visible
            .iter()
            .rev()
            .filter_map(|&i| self.bindings.get(i))
            .find(|b| b.name == name)
    }

    /// The binding a name refers to, counted as used.
    fn use_binding(&mut self, name: &str) -> Option<&Binding> {
        let index = self
            .visible
            .iter()
            .rev()
            .copied()
            .find(|&i| self.bindings.get(i).is_some_and(|b| b.name == name))?;
        let binding = self.bindings.get_mut(index)?;
        binding.uses += 1;
        Some(binding)
    }

    fn policy(&mut self, policy: &ast::Policy, namespace: &str) -> Option<CompiledPolicy> {
        let mut params = Vec::new();
        for param in &policy.params {
            let default = param.default.as_ref().and_then(|expr| {
                let value = match constant(self.file, expr) {
                    Ok(value) => value,
                    Err(diagnostic) => {
                        self.diagnostics.push(diagnostic);
                        return None;
                    }
                };
                match param.ty.coerce(&value) {
                    Ok(value) => Some(value),
                    Err(why) => {
                        self.report(
                            self.diag(
                                Code::TypeMismatch,
                                expr.span,
                                format!(
                                    "default of `{}` does not fit its type: {why}",
                                    param.name.name
                                ),
                            )
                            .label(format!("not of type {}", param.ty.display())),
                        );
                        None
                    }
                }
            });
            self.bind(&param.name, BindingKind::Param, Ty::from(&param.ty));
            params.push(ParamSpec {
                name: param.name.name.clone(),
                ty: param.ty.clone(),
                default,
            });
        }
        let scopes = policy.scopes.iter().map(|s| self.scope(s)).collect();
        let mut rules = Vec::new();
        let mut ended_at: Option<Span> = None;
        for rule in &policy.rules {
            if let Some(end) = ended_at.take() {
                let (line, _) = self.file.line_col(end.start);
                self.report(
                    self.diag(Code::UnreachableRule, rule.span, "this rule can never run")
                        .label("unreachable")
                        .help(format!(
                            "the `pass` on line {line} ends the policy; move it last"
                        )),
                );
            }
            if let Some(compiled) = self.rule(rule) {
                if matches!(compiled.kind, RuleOp::Pass { .. }) {
                    ended_at = Some(rule.span);
                }
                rules.push(compiled);
            }
        }
        self.report_unused();
        let levels = match policy.level {
            None => Levels {
                run: true,
                action: true,
            },
            Some(LevelRestriction::Action) => Levels {
                run: false,
                action: true,
            },
            Some(LevelRestriction::Run) => Levels {
                run: true,
                action: false,
            },
        };
        Some(CompiledPolicy {
            id: Arc::from(format!("{namespace}.{}", policy.name.name)),
            name: policy.name.name.clone(),
            doc: policy.doc.clone(),
            params,
            levels,
            scopes,
            rules: rules.into(),
            slot_count: self.slot_count,
            file: Arc::clone(self.file),
            span: policy.span,
            location: self.file.location(policy.span),
        })
    }

    fn report_unused(&mut self) {
        let unused: Vec<(Code, String, Span)> = self
            .bindings
            .iter()
            .filter(|b| b.uses == 0 && b.kind != BindingKind::Variable)
            .map(|b| {
                let (code, what) = match b.kind {
                    BindingKind::Param => (Code::UnusedParam, "parameter"),
                    _ => (Code::UnusedLet, "`let`"),
                };
                (code, format!("{what} `{}` is never used", b.name), b.span)
            })
            .collect();
        for (code, message, span) in unused {
            self.report(
                self.diag(code, span, message)
                    .label("unused")
                    .help("remove it, or use it in a rule"),
            );
        }
    }

    fn scope(&mut self, scope: &ast::Scope) -> CompiledScope {
        let mut matchers = Vec::new();
        for pattern in &scope.patterns {
            match compile_glob(&pattern.value) {
                Ok(matcher) => matchers.push(matcher),
                Err(why) => {
                    self.report(
                        self.diag(
                            Code::BadGlob,
                            pattern.span,
                            format!("`{}` is not a valid pattern: {why}", pattern.value),
                        )
                        .label("invalid glob"),
                    );
                }
            }
        }
        CompiledScope {
            kind: scope.kind,
            patterns: scope.patterns.iter().map(|p| p.value.clone()).collect(),
            matchers,
        }
    }

    fn rule(&mut self, rule: &ast::Rule) -> Option<CompiledRule> {
        let keyword = rule.kind.keyword();
        let kind = match &rule.kind {
            RuleKind::Let { name, value } => {
                let (value, ty) = self.expr(value);
                let slot = self.bind(name, BindingKind::Let, ty);
                // The value was folded already if it reads nothing from the request.
                if let Some(Node {
                    op: Op::Const(constant),
                    ..
                }) = self.exprs.get(value)
                    && let Some(binding) = self.bindings.last_mut()
                {
                    binding.constant = Some(constant.clone());
                }
                RuleOp::Let { slot, value }
            }
            RuleKind::Deny { when, because } => RuleOp::Deny {
                cond: self.condition(when),
                message: self.message(because.as_ref(), rule.span, keyword, "because"),
            },
            RuleKind::Require { cond, otherwise } => RuleOp::Require {
                cond: self.condition(cond),
                message: self.message(otherwise.as_ref(), rule.span, keyword, "else"),
            },
            RuleKind::Warn { when, because } => RuleOp::Warn {
                cond: self.condition(when),
                message: self.message(because.as_ref(), rule.span, keyword, "because"),
            },
            RuleKind::Approve { when, by, because } => RuleOp::Approve {
                cond: self.condition(when),
                by: by.as_ref().map(|b| self.expr(b).0),
                message: self.message(because.as_ref(), rule.span, keyword, "because"),
            },
            RuleKind::Pass {
                when: Some(when),
                because,
            } => RuleOp::PassWhen {
                cond: self.condition(when),
                message: self.message(because.as_ref(), rule.span, "pass when", "because"),
            },
            RuleKind::Pass {
                when: None,
                because,
            } => RuleOp::Pass {
                message: self.message(because.as_ref(), rule.span, keyword, "because"),
            },
        };
        let evidence = match &rule.kind {
            RuleKind::Deny { when, .. }
            | RuleKind::Warn { when, .. }
            | RuleKind::Approve { when, .. } => self.evidence(when),
            RuleKind::Require { cond, .. } => self.evidence(cond),
            _ => Vec::new(),
        };
        let mut exprs = std::mem::take(&mut self.exprs);
        exprs.shrink_to_fit();
        Some(CompiledRule {
            kind,
            exprs,
            span: rule.span,
            location: self.file.location(rule.span),
            evidence,
        })
    }

    fn condition(&mut self, expr: &Expr) -> NodeId {
        let (node, ty) = self.expr(expr);
        if !ty.fits(Ty::Bool) {
            self.report(
                self.diag(
                    Code::TypeMismatch,
                    expr.span,
                    format!("a condition must be a bool, but this is {}", ty.a()),
                )
                .label(format!("{} here", ty.name()))
                .help("compare it with something, e.g. `x == \"value\"` or `x != null`"),
            );
        }
        node
    }

    fn message(
        &mut self,
        template: Option<&Template>,
        span: Span,
        rule: &str,
        keyword: &str,
    ) -> Message {
        let Some(template) = template else {
            let example = match rule {
                "require" => "require CONDITION else \"why it blocks\"".to_string(),
                "pass when" => "pass when CONDITION because \"why\"".to_string(),
                "pass" => "pass \"why\"".to_string(),
                _ => format!("{rule} when CONDITION {keyword} \"why\""),
            };
            self.report(
                self.diag(
                    Code::MissingMessage,
                    span,
                    format!("this `{rule}` rule has no message"),
                )
                .label("no message")
                .help(format!("every rule that decides says why: {example}")),
            );
            return Message::default();
        };
        let parts = template
            .parts
            .iter()
            .map(|part| match part {
                TemplatePart::Text(text) => MessagePart::Text(text.clone().into()),
                TemplatePart::Expr(expr) => MessagePart::Expr(self.expr(expr).0),
            })
            .collect();
        Message { parts }
    }

    /// The paths (`input.branch`, `protected`, `actor.role`) a rule reads, for its evidence.
    fn evidence(&mut self, expr: &Expr) -> Vec<(Text, NodeId)> {
        let mut paths = Vec::new();
        collect_paths(expr, &mut paths);
        let file = self.file;
        let mut seen = HashSet::new();
        let mut evidence = Vec::new();
        for path in paths {
            if evidence.len() == 8 {
                break;
            }
            if !seen.insert(file.slice(path.span)) {
                continue;
            }
            let mark = self.exprs.mark();
            match self.path_node(path) {
                Some(node) => evidence.push((file.slice(path.span).to_string().into(), node)),
                None => self.exprs.truncate(mark),
            }
        }
        evidence
    }

    /// A path compiled for evidence: reading it is not a use and reports nothing; a path whose
    /// root is out of scope here (a quantifier's variable) gives `None`.
    fn path_node(&mut self, expr: &Expr) -> Option<NodeId> {
        let op = match &expr.kind {
            ExprKind::Var(ident) => match self.lookup_binding(&ident.name) {
                Some(binding) => binding.reader(),
                None => Op::Root(Root::from_name(&ident.name)?),
            },
            ExprKind::Field(base, field) => {
                Op::Field(self.path_node(base)?, Arc::from(field.name.as_str()))
            }
            ExprKind::Index(base, index) => {
                let key = match &index.kind {
                    ExprKind::Int(n) => Value::Int(*n),
                    ExprKind::Str(s) => Value::str(s.as_str()),
                    _ => return None,
                };
                let base = self.path_node(base)?;
                let key = self.exprs.push(Node {
                    op: Op::Const(key),
                    span: index.span,
                });
                Op::Index(base, key)
            }
            _ => return None,
        };
        Some(self.exprs.push(Node {
            op,
            span: expr.span,
        }))
    }

    /// Compiles an expression; a part that reads nothing from the request is computed now, once,
    /// instead of on every evaluation (literal lists, `lower("X")`, ...). One that would fail is
    /// left to fail at run time, where its error names its place.
    fn expr(&mut self, expr: &Expr) -> (NodeId, Ty) {
        let mark = self.exprs.mark();
        let (id, ty) = self.expr_unfolded(expr);
        let foldable = self.exprs.get(id).is_some_and(|node| {
            !matches!(node.op, Op::Const(_)) && children_are_constant(&self.exprs, node)
        });
        if foldable && let Ok(value) = super::eval::evaluate_constant(&self.exprs, id) {
            // The expression's nodes are the last ones added: its value replaces them.
            self.exprs.truncate(mark);
            let folded = Node {
                op: Op::Const(value),
                span: expr.span,
            };
            return (self.exprs.push(folded), ty);
        }
        (id, ty)
    }

    fn expr_unfolded(&mut self, expr: &Expr) -> (NodeId, Ty) {
        let span = expr.span;
        let (op, ty) = match &expr.kind {
            ExprKind::Null => (Op::Const(Value::Null), Ty::Null),
            ExprKind::Bool(b) => (Op::Const(Value::Bool(*b)), Ty::Bool),
            ExprKind::Int(n) => (Op::Const(Value::Int(*n)), Ty::Int),
            ExprKind::Float(x) => (Op::Const(Value::Float(*x)), Ty::Float),
            ExprKind::Str(s) => (Op::Const(Value::str(s.as_str())), Ty::Str),
            ExprKind::Duration(ms) => (Op::Const(Value::Duration(*ms)), Ty::Duration),
            ExprKind::TimeOfDay(s) => (Op::Const(Value::TimeOfDay(*s)), Ty::TimeOfDay),
            ExprKind::List(items) => {
                let nodes: Vec<NodeId> = items.iter().map(|e| self.expr(e).0).collect();
                (Op::List(self.exprs.push_list(&nodes)), Ty::List)
            }
            ExprKind::Map(entries) => {
                let mut seen = HashSet::new();
                let mut nodes = Vec::new();
                for (key, value) in entries {
                    if !seen.insert(key.value.as_str()) {
                        self.report(self.diag(
                            Code::DuplicateName,
                            key.span,
                            format!("key `{}` appears twice in this map", key.value),
                        ));
                    }
                    nodes.push((Arc::from(key.value.as_str()), self.expr(value).0));
                }
                (Op::Map(nodes.into_boxed_slice()), Ty::Map)
            }
            ExprKind::Var(ident) => self.variable(ident),
            ExprKind::Field(base, field) => {
                let (base, _) = self.expr(base);
                (Op::Field(base, Arc::from(field.name.as_str())), Ty::Any)
            }
            ExprKind::Index(base, index) => {
                let (base, _) = self.expr(base);
                let (index, _) = self.expr(index);
                (Op::Index(base, index), Ty::Any)
            }
            ExprKind::Unary(UnaryOp::Not, operand) => {
                let node = self.operand(operand, Ty::Bool, "`not`");
                (Op::Not(node), Ty::Bool)
            }
            ExprKind::Unary(UnaryOp::Neg, operand) => {
                let (node, ty) = self.expr(operand);
                if !(ty.fits(Ty::Number) || ty.fits(Ty::Duration)) {
                    self.mismatch(operand.span, "`-` applies to numbers and durations", ty);
                }
                (Op::Neg(node), ty)
            }
            ExprKind::Binary(op, lhs, rhs) => self.binary(*op, lhs, rhs),
            ExprKind::Call { name, args } => self.call(name, args, span),
            ExprKind::Quantifier {
                kind,
                var,
                list,
                body,
            } => {
                let list_node = self.operand(list, Ty::List, &format!("`{}`", kind.keyword()));
                let slot = self.bind(var, BindingKind::Variable, Ty::Any);
                let body_node = if *kind == ast::QuantifierKind::Map {
                    self.expr(body).0
                } else {
                    self.operand(body, Ty::Bool, "a quantifier's condition")
                };
                self.visible.pop();
                let ty = match kind {
                    ast::QuantifierKind::Any | ast::QuantifierKind::All => Ty::Bool,
                    ast::QuantifierKind::Count => Ty::Int,
                    ast::QuantifierKind::First => Ty::Any,
                    ast::QuantifierKind::Filter | ast::QuantifierKind::Map => Ty::List,
                };
                (
                    Op::Quantifier(Box::new(Quantifier {
                        kind: *kind,
                        slot,
                        var: var.name.clone().into(),
                        list: list_node,
                        body: body_node,
                    })),
                    ty,
                )
            }
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                let cond = self.operand(cond, Ty::Bool, "`if`");
                let (then, then_ty) = self.expr(then);
                let (otherwise, else_ty) = self.expr(otherwise);
                let ty = if then_ty == else_ty { then_ty } else { Ty::Any };
                (Op::If(cond, then, otherwise), ty)
            }
            ExprKind::Lookup {
                system,
                query,
                args,
            } => self.lookup(system, query, args, span),
        };
        (self.exprs.push(Node { op, span }), ty)
    }

    /// Compiles an operand that must fit `expected`, reporting a certain mismatch.
    fn operand(&mut self, expr: &Expr, expected: Ty, context: &str) -> NodeId {
        let (node, ty) = self.expr(expr);
        if !ty.fits(expected) {
            self.mismatch(expr.span, &format!("{context} needs {}", expected.a()), ty);
        }
        node
    }

    fn mismatch(&mut self, span: Span, what: &str, found: Ty) {
        self.report(
            self.diag(
                Code::TypeMismatch,
                span,
                format!("{what}, but this is {}", found.a()),
            )
            .label(format!("{} here", found.name())),
        );
    }

    fn variable(&mut self, ident: &ast::Ident) -> (Op, Ty) {
        if let Some(binding) = self.use_binding(&ident.name) {
            return (binding.reader(), binding.ty);
        }
        if self.reads == Reads::TemplateRoots {
            self.unknown_in_template(ident);
            return (Op::Const(Value::Null), Ty::Any);
        }
        if let Some(root) = Root::from_name(&ident.name) {
            if self.reads == Reads::Nothing {
                self.report(
                    self.diag(
                        Code::UnknownName,
                        ident.span,
                        format!(
                            "`{}` cannot be read here: this value must be a constant",
                            ident.name
                        ),
                    )
                    .label("not a constant"),
                );
                return (Op::Const(Value::Null), Ty::Any);
            }
            let ty = match root {
                Root::Now => Ty::Time,
                Root::Actor | Root::Env => Ty::Map,
                _ => Ty::Any,
            };
            return (Op::Root(root), ty);
        }
        let candidates: Vec<String> = self
            .visible
            .iter()
            .filter_map(|&i| self.bindings.get(i).map(|b| b.name.clone()))
            .chain(if self.reads == Reads::Nothing {
                Vec::new()
            } else {
                Root::ALL.iter().map(|r| r.name().to_string()).collect()
            })
            .collect();
        let hint = did_you_mean(&ident.name, candidates.iter().map(String::as_str));
        let help = hint.unwrap_or_else(|| {
            if self.reads == Reads::Nothing {
                "only literals are allowed here".into()
            } else {
                "names are parameters, `let`s, quantifier variables, or input, payload, actor, action, workflow, plan, now, env".into()
            }
        });
        self.report(
            self.diag(
                Code::UnknownName,
                ident.span,
                format!("unknown name `{}`", ident.name),
            )
            .label("not defined")
            .help(help),
        );
        (Op::Const(Value::Null), Ty::Any)
    }

    /// A name a template cannot read: a policy root (`env`, `now`) or a misspelling.
    fn unknown_in_template(&mut self, ident: &ast::Ident) {
        let visible: Vec<String> = self
            .visible
            .iter()
            .filter_map(|&i| self.bindings.get(i).map(|b| b.name.clone()))
            .collect();
        let readable = format!("a template reads only {}", visible.join(", "));
        let (message, help) = match Root::from_name(&ident.name) {
            Some(Root::Env) => (
                "`env` cannot be read in a workflow template".to_string(),
                "environment variables are not reachable from workflow arguments; pass the value in the payload".to_string(),
            ),
            Some(_) => (
                format!("`{}` cannot be read in a workflow template", ident.name),
                readable,
            ),
            None => (
                format!("unknown name `{}`", ident.name),
                did_you_mean(&ident.name, visible.iter().map(String::as_str)).unwrap_or(readable),
            ),
        };
        self.report(
            self.diag(Code::UnknownName, ident.span, message)
                .label("not readable here")
                .help(help),
        );
    }

    fn binary(&mut self, op: BinaryOp, lhs: &Expr, rhs: &Expr) -> (Op, Ty) {
        match op {
            BinaryOp::And | BinaryOp::Or => {
                let l = self.operand(lhs, Ty::Bool, &format!("`{}`", op.symbol()));
                let r = self.operand(rhs, Ty::Bool, &format!("`{}`", op.symbol()));
                let op = if op == BinaryOp::And {
                    Op::And(l, r)
                } else {
                    Op::Or(l, r)
                };
                (op, Ty::Bool)
            }
            BinaryOp::Coalesce => {
                let (l, lt) = self.expr(lhs);
                let (r, rt) = self.expr(rhs);
                let ty = if lt == rt || lt == Ty::Null {
                    rt
                } else {
                    Ty::Any
                };
                (Op::Coalesce(l, r), ty)
            }
            BinaryOp::Matches => {
                let l = self.operand(lhs, Ty::Str, "`matches`");
                let r = self.operand(rhs, Ty::Str, "`matches`");
                let pattern = match self.exprs.get(r).map(|node| &node.op) {
                    // A literal, or a `let` of one: checked here, compiled on first use.
                    Some(Op::Const(Value::Str(text))) => match check_regex(text) {
                        Ok(agreement) => {
                            let regex = LazyRegex::new(text.as_ref(), agreement);
                            self.exprs.discard(r);
                            Pattern::Static(Arc::new(regex))
                        }
                        Err(why) => {
                            self.report(
                                self.diag(
                                    Code::BadRegex,
                                    rhs.span,
                                    "this regular expression does not compile",
                                )
                                .label("invalid regular expression")
                                .help(first_line(&why)),
                            );
                            Pattern::Dynamic(r)
                        }
                    },
                    _ => Pattern::Dynamic(r),
                };
                (Op::Matches(l, pattern), Ty::Bool)
            }
            _ => {
                let (l, lt) = self.expr(lhs);
                let (r, rt) = self.expr(rhs);
                let ty = self.binary_type(op, lt, rt, lhs.span.to(rhs.span));
                (Op::Binary(op, l, r), ty)
            }
        }
    }

    fn binary_type(&mut self, op: BinaryOp, l: Ty, r: Ty, span: Span) -> Ty {
        use Ty::*;
        let known = l != Any && r != Any;
        let result = match op {
            BinaryOp::Eq | BinaryOp::Ne => Some(Bool),
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                let orderable = |t: Ty| {
                    matches!(
                        t,
                        Any | Int | Float | Number | Str | Duration | TimeOfDay | Time
                    )
                };
                let same_kind = !known || l.fits(r) || (l.fits(Number) && r.fits(Number));
                (orderable(l) && orderable(r) && same_kind).then_some(Bool)
            }
            BinaryOp::In | BinaryOp::NotIn => r.fits(Collection).then_some(Bool),
            BinaryOp::Add => match (l, r) {
                (Any, _) | (_, Any) => Some(Any),
                (Int, Int) => Some(Int),
                (a, b) if a.fits(Number) && b.fits(Number) => Some(Number),
                (Str, Str) => Some(Str),
                (List, List) => Some(List),
                (Duration, Duration) => Some(Duration),
                (Time, Duration) | (Duration, Time) => Some(Time),
                _ => None,
            },
            BinaryOp::Sub => match (l, r) {
                (Any, _) | (_, Any) => Some(Any),
                (Int, Int) => Some(Int),
                (a, b) if a.fits(Number) && b.fits(Number) => Some(Number),
                (Duration, Duration) | (Time, Time) => Some(Duration),
                (Time, Duration) => Some(Time),
                _ => None,
            },
            BinaryOp::Mul | BinaryOp::Div => match (l, r) {
                (Any, _) | (_, Any) => Some(Any),
                (Int, Int) => Some(Int),
                (a, b) if a.fits(Number) && b.fits(Number) => Some(Number),
                (Duration, Int) => Some(Duration),
                (Int, Duration) if op == BinaryOp::Mul => Some(Duration),
                _ => None,
            },
            BinaryOp::Rem => match (l, r) {
                (Any, _) | (_, Any) => Some(Any),
                (Int, Int) => Some(Int),
                _ => None,
            },
            BinaryOp::And | BinaryOp::Or | BinaryOp::Coalesce | BinaryOp::Matches => Some(Any),
        };
        result.unwrap_or_else(|| {
            self.report(
                self.diag(
                    Code::TypeMismatch,
                    span,
                    format!("`{}` cannot combine {} and {}", op.symbol(), l.a(), r.a()),
                )
                .label("incompatible types"),
            );
            Any
        })
    }

    fn call(&mut self, name: &ast::Ident, args: &[Arg], span: Span) -> (Op, Ty) {
        match name.name.as_str() {
            "glob" => return self.glob(args, span),
            "history.count" | "history.actions" if self.reads == Reads::TemplateRoots => {
                self.report(
                    self.diag(
                        Code::UnknownFunction,
                        name.span,
                        format!("`{}` cannot be used in a workflow template", name.name),
                    )
                    .label("reads the receipt history")
                    .help("history belongs in a policy; a template reads only its request"),
                );
                return (Op::Const(Value::Null), Ty::Any);
            }
            "history.count" | "history.actions" => return self.history(name, args, span),
            _ => {}
        }
        let Some(builtin) = builtins::find(&name.name) else {
            let hint = did_you_mean(&name.name, builtins::all_names());
            let method_hint = name.name.rsplit_once('.').and_then(|(_, method)| {
                builtins::find(method).map(|_| {
                    format!("functions are called as `{method}(x, ...)`, not `x.{method}(...)`")
                })
            });
            let help = method_hint
                .or(hint)
                .unwrap_or_else(|| "`enact policies --functions` lists the functions".into());
            self.report(
                self.diag(
                    Code::UnknownFunction,
                    name.span,
                    format!("unknown function `{}`", name.name),
                )
                .label("no such function")
                .help(help),
            );
            for arg in args {
                self.expr(&arg.value);
            }
            return (Op::Const(Value::Null), Ty::Any);
        };
        if self.reads == Reads::TemplateRoots && builtin.reads_host() {
            self.report(
                self.diag(
                    Code::UnknownFunction,
                    name.span,
                    format!("`{}` cannot be used in a workflow template", name.name),
                )
                .label("not available here")
                .help("it reads the machine's workspace and home directory, and a template's value depends only on its request; pass the path as it is"),
            );
        }
        let nodes = self.positional_args(builtin, args, span);
        (
            Op::Call(builtin, self.exprs.push_list(&nodes)),
            builtin.returns,
        )
    }

    fn positional_args(
        &mut self,
        builtin: &'static Builtin,
        args: &[Arg],
        span: Span,
    ) -> Vec<NodeId> {
        let max = builtin.params.len();
        let min = max - builtin.optional;
        if args.len() < min || args.len() > max {
            let expected = if min == max {
                format!("{min}")
            } else {
                format!("{min} to {max}")
            };
            self.report(
                self.diag(
                    Code::WrongArity,
                    span,
                    format!(
                        "`{}` takes {expected} argument{}, but {} {} given",
                        builtin.name,
                        if max == 1 { "" } else { "s" },
                        args.len(),
                        if args.len() == 1 { "was" } else { "were" }
                    ),
                )
                .label("wrong number of arguments")
                .help(format!("signature: {}", builtin.signature())),
            );
        }
        let mut nodes = Vec::new();
        for (index, arg) in args.iter().enumerate() {
            if let Some(name) = &arg.name {
                self.report(
                    self.diag(
                        Code::BadArgument,
                        name.span,
                        format!("`{}` takes positional arguments", builtin.name),
                    )
                    .help(format!("signature: {}", builtin.signature())),
                );
            }
            let (node, ty) = self.expr(&arg.value);
            if let Some((param, expected)) = builtin.params.get(index)
                && !ty.fits(*expected)
            {
                self.report(
                    self.diag(
                        Code::TypeMismatch,
                        arg.value.span,
                        format!(
                            "`{}` expects `{param}` to be {}, but this is {}",
                            builtin.name,
                            expected.a(),
                            ty.a()
                        ),
                    )
                    .label(format!("{} here", ty.name()))
                    .help(format!("signature: {}", builtin.signature())),
                );
            }
            nodes.push(node);
        }
        nodes
    }

    fn glob(&mut self, args: &[Arg], span: Span) -> (Op, Ty) {
        let [subject, pattern] = args else {
            self.report(
                self.diag(
                    Code::WrongArity,
                    span,
                    format!("`glob` takes 2 arguments, but {} were given", args.len()),
                )
                .help("signature: glob(s: string, pattern: string) -> bool"),
            );
            return (Op::Const(Value::Null), Ty::Bool);
        };
        let subject = self.operand(&subject.value, Ty::Str, "`glob`");
        let compiled = self.operand(&pattern.value, Ty::Str, "`glob`");
        let pattern = match self.exprs.get(compiled).map(|node| &node.op) {
            Some(Op::Const(Value::Str(text))) => match compile_glob(text) {
                Ok(matcher) => {
                    self.exprs.discard(compiled);
                    Pattern::Static(Arc::new(matcher))
                }
                Err(why) => {
                    self.report(
                        self.diag(
                            Code::BadGlob,
                            pattern.value.span,
                            format!("`{text}` is not a valid glob: {why}"),
                        )
                        .label("invalid glob"),
                    );
                    Pattern::Dynamic(compiled)
                }
            },
            _ => Pattern::Dynamic(compiled),
        };
        (Op::Glob(subject, pattern), Ty::Bool)
    }

    fn history(&mut self, name: &ast::Ident, args: &[Arg], span: Span) -> (Op, Ty) {
        let is_count = name.name == "history.count";
        let allowed: &[&str] = if is_count {
            &["within", "workflow", "where"]
        } else {
            &["within", "workflow", "action"]
        };
        let mut within = None;
        let mut workflow = None;
        let mut extra = None;
        let mut predicate = None;
        for arg in args {
            let Some(arg_name) = &arg.name else {
                self.report(
                    self.diag(
                        Code::BadArgument,
                        arg.value.span,
                        format!(
                            "`{}` takes named arguments: {}",
                            name.name,
                            allowed.join(", ")
                        ),
                    )
                    .help(format!(
                        "e.g. {}(within: 24h, workflow: \"send_email\")",
                        name.name
                    )),
                );
                continue;
            };
            match arg_name.name.as_str() {
                "within" => within = Some(self.operand(&arg.value, Ty::Duration, "`within`")),
                "workflow" => workflow = Some(self.operand(&arg.value, Ty::Str, "`workflow`")),
                "action" if !is_count => {
                    extra = Some(self.operand(&arg.value, Ty::Str, "`action`"))
                }
                "where" if is_count => {
                    let receipt = ast::Ident {
                        name: "receipt".into(),
                        span: arg_name.span,
                    };
                    let slot = self.bind(&receipt, BindingKind::Variable, Ty::Map);
                    let body = self.operand(&arg.value, Ty::Bool, "`where`");
                    self.visible.pop();
                    predicate = Some((slot, body));
                }
                other => {
                    let hint = did_you_mean(other, allowed.iter().copied());
                    let help =
                        hint.unwrap_or_else(|| format!("its arguments are {}", allowed.join(", ")));
                    self.report(
                        self.diag(
                            Code::BadArgument,
                            arg_name.span,
                            format!("`{}` has no argument `{other}`", name.name),
                        )
                        .label("unknown argument")
                        .help(help),
                    );
                    self.expr(&arg.value);
                }
            }
        }
        let Some(within) = within else {
            self.report(
                self.diag(
                    Code::BadArgument,
                    span,
                    format!("`{}` needs `within: DURATION`", name.name),
                )
                .help("history is only ever read over a bounded window, e.g. within: 24h"),
            );
            return (Op::Const(Value::Null), Ty::Any);
        };
        let query = HistoryArgs { within, workflow };
        if is_count {
            (
                Op::HistoryCount(Box::new(HistoryCount { query, predicate })),
                Ty::Int,
            )
        } else {
            (
                Op::HistoryActions {
                    query,
                    action: extra,
                },
                Ty::List,
            )
        }
    }

    fn lookup(
        &mut self,
        system: &ast::Ident,
        query: &ast::Ident,
        args: &[Arg],
        span: Span,
    ) -> (Op, Ty) {
        if self.reads != Reads::Request {
            let place = if self.reads == Reads::Nothing {
                "a constant"
            } else {
                "a workflow template"
            };
            self.report(self.diag(
                Code::UnknownName,
                span,
                format!("a lookup cannot be used in {place}"),
            ));
            return (Op::Const(Value::Null), Ty::Any);
        }
        let system_ref = match self.use_binding(&system.name) {
            Some(binding) if binding.kind == BindingKind::Param => SystemRef::Param(binding.slot),
            _ => SystemRef::Named(system.name.clone()),
        };
        let mut nodes = Vec::new();
        for arg in args {
            match &arg.name {
                Some(name) => nodes.push((Arc::from(name.name.as_str()), self.expr(&arg.value).0)),
                None => {
                    self.report(
                        self.diag(
                            Code::BadArgument,
                            arg.value.span,
                            "lookup arguments are named",
                        )
                        .help(format!(
                            "e.g. lookup {}.{}(email: input.email)",
                            system.name, query.name
                        )),
                    );
                }
            }
        }
        (
            Op::Lookup(Box::new(Lookup {
                system: system_ref,
                query: query.name.clone(),
                args: nodes,
            })),
            Ty::Any,
        )
    }
}

/// Whether a compiled expression reads nothing from the request, given that its children have
/// already been folded: it can then be computed now.
fn children_are_constant(exprs: &Exprs, node: &Node) -> bool {
    let reads_request = match &node.op {
        Op::Slot(_)
        | Op::Root(_)
        | Op::Lookup(_)
        | Op::HistoryCount(_)
        | Op::HistoryActions { .. }
        | Op::Quantifier(_) => true,
        // A pattern computed per request, or one that did not compile, is left to run time.
        Op::Matches(_, Pattern::Dynamic(_)) | Op::Glob(_, Pattern::Dynamic(_)) => true,
        Op::Call(builtin, _) => builtin.reads_host(),
        Op::Const(_)
        | Op::Field(..)
        | Op::Index(..)
        | Op::Not(_)
        | Op::Neg(_)
        | Op::And(..)
        | Op::Or(..)
        | Op::Coalesce(..)
        | Op::Binary(..)
        | Op::Matches(_, Pattern::Static(_))
        | Op::Glob(_, Pattern::Static(_))
        | Op::If(..)
        | Op::List(_)
        | Op::Map(_) => false,
    };
    let mut constant = true;
    let operands_here = exprs.operands(&node.op, |id| {
        constant &= matches!(
            exprs.get(id),
            Some(Node {
                op: Op::Const(_),
                ..
            })
        );
    });
    !reads_request && operands_here && constant
}

fn first_line(text: &str) -> String {
    text.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or(text)
        .trim()
        .to_string()
}

/// A name followed by fields and literal indexes: `input.branch`, `actor.attributes.role`.
fn is_path(expr: &Expr) -> bool {
    match &expr.kind {
        ExprKind::Var(_) => true,
        ExprKind::Field(base, _) => is_path(base),
        ExprKind::Index(base, index) => {
            is_path(base) && matches!(index.kind, ExprKind::Int(_) | ExprKind::Str(_))
        }
        _ => false,
    }
}

fn collect_paths<'e>(expr: &'e Expr, out: &mut Vec<&'e Expr>) {
    if is_path(expr) {
        out.push(expr);
        return;
    }
    match &expr.kind {
        ExprKind::List(items) => items.iter().for_each(|e| collect_paths(e, out)),
        ExprKind::Map(entries) => entries.iter().for_each(|(_, e)| collect_paths(e, out)),
        ExprKind::Field(base, _) => collect_paths(base, out),
        ExprKind::Index(base, index) => {
            collect_paths(base, out);
            collect_paths(index, out);
        }
        ExprKind::Unary(_, e) => collect_paths(e, out),
        ExprKind::Binary(_, l, r) => {
            collect_paths(l, out);
            collect_paths(r, out);
        }
        ExprKind::Call { args, .. } | ExprKind::Lookup { args, .. } => {
            args.iter().for_each(|a| collect_paths(&a.value, out));
        }
        ExprKind::Quantifier { list, body, .. } => {
            collect_paths(list, out);
            collect_paths(body, out);
        }
        ExprKind::If {
            cond,
            then,
            otherwise,
        } => {
            collect_paths(cond, out);
            collect_paths(then, out);
            collect_paths(otherwise, out);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::eval::{Status, evaluate_on_payload, explain_on_payload};
    use crate::policy::library::builtin_all;

    /// Every literal regular expression of a policy's rules.
    fn policy_regexes(policy: &CompiledPolicy) -> Vec<&LazyRegex> {
        let mut out = Vec::new();
        for rule in policy.rules.iter().flatten() {
            for node in rule.exprs.nodes() {
                if let Op::Matches(_, Pattern::Static(regex)) = &node.op {
                    out.push(&**regex);
                }
            }
        }
        out
    }

    fn check(text: &str) -> Checked {
        let file = SourceFile::new("t.enact", text);
        let parsed = crate::policy::parse(&file);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        check_policies(&file, &parsed.file, "t")
    }

    /// A part folded to a constant leaves nothing of itself behind: the nodes it was compiled
    /// to are taken back, so a rule holds only the nodes it evaluates (and its evidence).
    #[test]
    fn a_folded_expression_leaves_only_its_value() {
        let checked = check(
            r#"policy p {
  deny when input.x == lower("A") because "x"
}"#,
        );
        let policy = &checked.policies[0];
        let Some(Ok(rule)) = policy.rules.get(0) else {
            panic!("no rule");
        };
        let ops: Vec<&Op> = rule.exprs.nodes().iter().map(|node| &node.op).collect();
        // input, .x, "a", ==; then the evidence's own input, .x.
        assert_eq!(ops.len(), 6, "{ops:?}");
        assert!(matches!(ops[2], Op::Const(Value::Str(s)) if &**s == "a"));
        assert!(!ops.iter().any(|op| matches!(op, Op::Call(..))));
        let RuleOp::Deny { cond, .. } = &rule.kind else {
            panic!("not a deny");
        };
        assert!(matches!(
            rule.exprs.get(*cond),
            Some(Node {
                op: Op::Binary(BinaryOp::Eq, _, _),
                ..
            })
        ));
    }

    /// A function that reads the machine (the workspace, the home directory) is never folded,
    /// even on literal arguments: its value belongs to the request's machine, not the checker's.
    #[test]
    fn a_call_reading_the_host_is_left_to_run_time() {
        let checked = check(
            r#"policy p {
  deny when path.normalize("~/notes") == "/h/notes" because "home"
}"#,
        );
        let policy = &checked.policies[0];
        let Some(Ok(rule)) = policy.rules.get(0) else {
            panic!("no rule");
        };
        assert!(
            rule.exprs
                .nodes()
                .iter()
                .any(|n| matches!(n.op, Op::Call(..)))
        );
        // The evaluation's home is /h.
        let result = evaluate_on_payload(policy, Value::empty_map());
        assert_eq!(result.status, Status::Block, "{}", result.reason);
    }

    /// A decision passes over constant `let`s (`Rules::needed_to_decide`): that is sound only
    /// while every use of their names is compiled to the value, in a condition, a message, a
    /// quantifier or another `let`. A skipped `let` read anyway would be null, and the decision
    /// would differ from the traced one, which evaluates every rule.
    #[test]
    fn every_use_of_a_constant_let_is_its_value() {
        let checked = check(
            r#"policy p {
  let tools = ["rm", "dd"]
  let more = tools + ["shred"]
  let limit = 2
  let word = "danger"
  deny when input.tool in more because "'{input.tool}' is one of {more}: {word}"
  deny when any t in input.tools: t in tools because "{word}: a tool of {tools}"
  deny when len(input.tools) > limit because "more than {limit} tools"
  pass "fine"
}"#,
        );
        assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
        let policy = checked.policies.first().unwrap();
        let constant = (0..policy.rules.len())
            .filter(|&index| !policy.rules.needed_to_decide(index))
            .count();
        assert_eq!(constant, 4);
        let payloads = [
            r#"{"tool": "shred", "tools": []}"#,
            r#"{"tool": "ls", "tools": ["ls", "dd"]}"#,
            r#"{"tool": "ls", "tools": ["ls", "cat", "echo"]}"#,
            r#"{"tool": "ls", "tools": ["ls"]}"#,
        ];
        let mut statuses = Vec::new();
        for payload in payloads {
            let payload = || Value::from_json_str(payload).unwrap();
            let (decided, _) = explain_on_payload(policy, payload(), false);
            let (traced, _) = explain_on_payload(policy, payload(), true);
            assert_eq!(decided.reason, traced.reason);
            assert_eq!(decided.status, traced.status);
            statuses.push((decided.status, decided.reason));
        }
        assert_eq!(
            statuses,
            [
                (
                    Status::Block,
                    r#"'shred' is one of ["rm", "dd", "shred"]: danger"#.to_owned()
                ),
                (
                    Status::Block,
                    r#"danger: a tool of ["rm", "dd"]"#.to_owned()
                ),
                (Status::Block, "more than 2 tools".to_owned()),
                (Status::Pass, "fine".to_owned()),
            ]
        );
    }

    #[test]
    fn literal_regexes_are_checked_here_and_compiled_when_first_evaluated() {
        let checked = check(
            r#"policy p {
  let secretish = r"(?i)^(api|secret)_[a-z]+$"
  deny when input.name matches secretish because "secret-looking name"
  pass "ok"
}"#,
        );
        assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
        let policy = checked.policies.first().unwrap();
        let regexes = policy_regexes(policy);
        assert_eq!(regexes.len(), 1);
        assert!(!regexes.iter().any(|r| r.is_compiled()));

        let payload = Value::from_json_str(r#"{"name": "API_token"}"#).unwrap();
        let result = evaluate_on_payload(policy, payload);
        assert_eq!(result.status, Status::Block);
        assert!(regexes.iter().all(|r| r.is_compiled()));
    }

    #[test]
    fn invalid_regexes_are_still_reported_in_place() {
        for (pattern, why) in [
            ("(unclosed", "unclosed group"),
            (r"\p{NoSuchClass}", "Unicode property not found"),
            ("a{2,1}", "invalid repetition count range"),
        ] {
            let text = format!(
                "policy p {{\n  deny when input.x matches r\"{pattern}\" because \"x\"\n}}"
            );
            let checked = check(&text);
            let [diagnostic] = checked.diagnostics.as_slice() else {
                panic!("{pattern}: {:?}", checked.diagnostics)
            };
            assert_eq!(diagnostic.code, Code::BadRegex, "{pattern}");
            assert_eq!(diagnostic.position().as_deref(), Some("t.enact:2:29"));
            let help = diagnostic.help.as_deref().unwrap_or_default();
            assert!(help.contains(why), "{pattern}: {help}");
        }
    }

    /// The checker parses patterns but does not compile them (only compiling finds a pattern
    /// over the size limit), so this compiles the library's: none may fail when a request first
    /// reaches it.
    #[test]
    fn every_literal_regex_of_the_library_compiles() {
        let policies = builtin_all();
        let regexes: Vec<&LazyRegex> = policies.iter().flat_map(|p| policy_regexes(p)).collect();
        assert!(
            regexes.len() >= 40,
            "only {} literal regexes",
            regexes.len()
        );
        for regex in regexes {
            assert!(
                regex.get().is_ok(),
                "{}: {:?}",
                regex.text,
                regex.get().err()
            );
        }
    }
}
