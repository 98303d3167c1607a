//! `enact fmt`: prints a file in the canonical layout. Comments stay where they were: each is
//! attached to the rule, test case or item it precedes, or trails its line; a rule with a
//! comment inside it is kept as written. The author's line breaks inside list and map literals
//! and `and`/`or` chains are kept. Output is verified before it is returned: re-parsing it must
//! give the same tree and the same comments, and formatting it again must change nothing.

use std::fmt::Write as _;
use std::sync::Arc;

use super::ast::*;
use super::diagnostic::Diagnostic;
use super::source::SourceFile;
use super::value::{format_duration, format_time_of_day, is_plain_key};

const WIDTH: usize = 100;
const INDENT: &str = "  ";

#[derive(Debug)]
pub enum FormatError {
    /// The file does not parse; nothing is formatted.
    Syntax(Vec<Diagnostic>),
    /// The formatted text would not mean the same; a bug, reported rather than written.
    Unstable(String),
}

/// A tree serialised without its spans (and comments): two files mean the same exactly when
/// these are equal.
fn meaning(file: &File) -> serde_json::Value {
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(fields) => {
                fields.remove("span");
                fields.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut tree = serde_json::to_value(file).unwrap_or_default();
    strip(&mut tree);
    tree
}

/// Formats a file; the text is returned only when it provably means the same.
pub fn format_source(source: &Arc<SourceFile>) -> Result<String, FormatError> {
    let first = format_once(source)?;
    let reparsed_source = SourceFile::new(Arc::clone(&source.name), first.as_str());
    let before = super::parse(source);
    let after = super::parse(&reparsed_source);
    if !after.diagnostics.is_empty() {
        return Err(FormatError::Unstable(format!(
            "the formatted text does not parse: {}",
            after.diagnostics.first().map_or("", |d| d.message.as_str())
        )));
    }
    if meaning(&before.file) != meaning(&after.file) {
        return Err(FormatError::Unstable(
            "the formatted text parses to a different tree".into(),
        ));
    }
    let comments = |file: &File| {
        file.comments
            .iter()
            .map(|c| c.text.trim_end().to_string())
            .collect::<Vec<_>>()
    };
    if comments(&before.file) != comments(&after.file) {
        return Err(FormatError::Unstable(
            "the formatted text lost or moved a comment".into(),
        ));
    }
    let second = format_once(&reparsed_source)?;
    if second != first {
        return Err(FormatError::Unstable(
            "formatting is not stable on this file".into(),
        ));
    }
    Ok(first)
}

fn format_once(source: &Arc<SourceFile>) -> Result<String, FormatError> {
    let parsed = super::parse(source);
    if !parsed.diagnostics.is_empty() {
        return Err(FormatError::Syntax(parsed.diagnostics));
    }
    let mut printer = Printer {
        text: &source.text,
        comments: &parsed.file.comments,
        next_comment: 0,
        out: String::new(),
    };
    printer.file(&parsed.file);
    Ok(printer.out)
}

struct Printer<'a> {
    text: &'a str,
    comments: &'a [Comment],
    /// Comments before this index have been printed.
    next_comment: usize,
    out: String,
}

impl Printer<'_> {
    fn line_of(&self, offset: usize) -> usize {
        self.text
            .get(..offset)
            .map_or(0, |t| t.matches('\n').count())
    }

    /// Whether a blank line separates the end of the previous code from `offset`.
    fn blank_line_before(&self, offset: usize) -> bool {
        let before = self.text.get(..offset).unwrap_or("");
        let trimmed = before.trim_end_matches([' ', '\t']);
        let trimmed = trimmed.strip_suffix('\n').unwrap_or(trimmed);
        let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
        let tail = trimmed.trim_end_matches([' ', '\t']);
        tail.ends_with('\n') && !tail.trim().is_empty()
    }

    fn is_multiline(&self, span: Span) -> bool {
        self.text
            .get(span.start..span.end)
            .is_some_and(|t| t.contains('\n'))
    }

    /// Prints the comments that start before `offset` and stand on their own lines, each on
    /// its own line at `indent`, keeping one blank line where the source had one.
    fn leading_comments(&mut self, offset: usize, indent: &str) {
        while let Some(comment) = self.comments.get(self.next_comment) {
            if comment.span.start >= offset {
                break;
            }
            if self.blank_line_before(comment.span.start)
                && !self.out.ends_with("{\n")
                && !self.out.is_empty()
                && !self.out.ends_with("\n\n")
            {
                self.out.push('\n');
            }
            let _ = writeln!(self.out, "{indent}{}", comment.text.trim_end());
            self.next_comment += 1;
        }
    }

    /// A comment on the same line as the code ending at `end` is kept at the end of that line.
    fn trailing_comment(&mut self, end: usize) {
        let line = self.line_of(end);
        if let Some(comment) = self.comments.get(self.next_comment)
            && self.line_of(comment.span.start) == line
            && comment.span.start >= end
        {
            if self.out.ends_with('\n') {
                self.out.pop();
            }
            let _ = writeln!(self.out, "  {}", comment.text.trim_end());
            self.next_comment += 1;
        }
    }

    /// Whether a comment starts inside the span (the span is then printed as written).
    fn has_comment_inside(&self, span: Span) -> bool {
        self.comments
            .iter()
            .any(|c| c.span.start > span.start && c.span.start < span.end)
    }

    /// Prints a node's source as written, re-indented to `indent`, and skips its comments.
    fn verbatim(&mut self, span: Span, indent: &str) {
        let text = self.text.get(span.start..span.end).unwrap_or("");
        let mut lines = text.lines();
        if let Some(first) = lines.next() {
            let _ = writeln!(self.out, "{indent}{}", first.trim_end());
        }
        // Later lines keep their indentation relative to the node's first column.
        let column = self
            .text
            .get(..span.start)
            .and_then(|t| t.rsplit('\n').next())
            .map_or(0, |prefix| prefix.chars().count());
        for line in lines {
            let leading = line.chars().take_while(|c| *c == ' ').count();
            let kept = leading.saturating_sub(column);
            let body = line.trim();
            if body.is_empty() {
                self.out.push('\n');
            } else {
                let _ = writeln!(self.out, "{indent}{}{body}", " ".repeat(kept));
            }
        }
        while self
            .comments
            .get(self.next_comment)
            .is_some_and(|c| c.span.start < span.end)
        {
            self.next_comment += 1;
        }
    }

    fn file(&mut self, file: &File) {
        for (index, item) in file.items.iter().enumerate() {
            let span = match item {
                Item::Policy(p) => p.span,
                Item::Tests(t) => t.span,
            };
            if index > 0 {
                self.out.push('\n');
            }
            self.leading_comments(span.start, "");
            match item {
                Item::Policy(policy) => self.policy(policy),
                Item::Tests(tests) => self.tests(tests),
            }
        }
        if self.next_comment < self.comments.len() && !self.out.is_empty() {
            self.out.push('\n');
        }
        self.leading_comments(usize::MAX, "");
    }

    fn policy(&mut self, policy: &Policy) {
        let params: Vec<String> = policy.params.iter().map(|p| self.param(p)).collect();
        let level = match policy.level {
            Some(LevelRestriction::Action) => " on action",
            Some(LevelRestriction::Run) => " on run",
            None => "",
        };
        let params_text = if params.is_empty() {
            String::new()
        } else {
            format!("({})", params.join(", "))
        };
        let one_line = format!("policy {}{params_text}{level} {{", policy.name.name);
        // The header runs from `policy` to the `{` that follows the name and the parameters.
        let after = policy
            .params
            .last()
            .map_or(policy.name.span.end, |p| p.span.end);
        let header_end = self
            .text
            .get(after..)
            .and_then(|t| t.find('{'))
            .map_or(after, |i| after + i + 1);
        let header = Span::new(policy.span.start, header_end);
        if self.has_comment_inside(header) {
            self.verbatim(header, "");
        } else if one_line.len() <= WIDTH || params.is_empty() {
            let _ = writeln!(self.out, "{one_line}");
        } else {
            let _ = writeln!(self.out, "policy {}(", policy.name.name);
            for param in &params {
                let _ = writeln!(self.out, "{INDENT}{param},");
            }
            let _ = writeln!(self.out, "){level} {{");
        }
        let mut first = true;
        for scope in &policy.scopes {
            self.block_entry(scope.span, first, |p| {
                let patterns: Vec<String> = scope
                    .patterns
                    .iter()
                    .map(|s| string_literal(&s.value))
                    .collect();
                let _ = writeln!(
                    p.out,
                    "{INDENT}applies to {} {}",
                    scope.kind.as_str(),
                    patterns.join(", ")
                );
            });
            first = false;
        }
        for rule in &policy.rules {
            self.block_entry(rule.span, first, |p| p.rule(rule));
            first = false;
        }
        self.leading_comments(policy.span.end, INDENT);
        self.out.push_str("}\n");
    }

    /// One line (or statement) inside a block: its leading comments, a kept blank line, the
    /// entry itself (as written when a comment sits inside it) and its trailing comment.
    fn block_entry(&mut self, span: Span, first: bool, print: impl FnOnce(&mut Self)) {
        let comment_start = self
            .comments
            .get(self.next_comment)
            .filter(|c| c.span.start < span.start)
            .map_or(span.start, |c| c.span.start);
        if !first && self.blank_line_before(comment_start) {
            self.out.push('\n');
        }
        self.leading_comments(span.start, INDENT);
        if self.has_comment_inside(span) {
            self.verbatim(span, INDENT);
        } else {
            print(self);
        }
        self.trailing_comment(span.end);
    }

    fn param(&self, param: &Param) -> String {
        let default = param
            .default
            .as_ref()
            .map(|d| format!(" = {}", self.expr(d, 0, INDENT)))
            .unwrap_or_default();
        format!("{}: {}{default}", param.name.name, param.ty.display())
    }

    fn rule(&mut self, rule: &Rule) {
        let indent = INDENT;
        let continuation = format!("{INDENT}{INDENT}");
        let message = |printer: &Self, keyword: &str, template: &Option<Template>| {
            template
                .as_ref()
                .map(|t| (format!("{keyword} {}", printer.template(t)), t.span))
        };
        let (head, message) = match &rule.kind {
            RuleKind::Let { name, value } => (
                format!("let {} = {}", name.name, self.expr(value, 0, indent)),
                None,
            ),
            RuleKind::Deny { when, because } => (
                format!("deny when {}", self.expr(when, 0, indent)),
                message(self, "because", because),
            ),
            RuleKind::Require { cond, otherwise } => (
                format!("require {}", self.expr(cond, 0, indent)),
                message(self, "else", otherwise),
            ),
            RuleKind::Warn { when, because } => (
                format!("warn when {}", self.expr(when, 0, indent)),
                message(self, "because", because),
            ),
            RuleKind::Approve { when, by, because } => {
                let by = by
                    .as_ref()
                    .map(|b| format!(" by {}", self.expr(b, 0, indent)))
                    .unwrap_or_default();
                (
                    format!("approve when {}{by}", self.expr(when, 0, indent)),
                    message(self, "because", because),
                )
            }
            RuleKind::Pass {
                when: Some(when),
                because,
            } => (
                format!("pass when {}", self.expr(when, 0, indent)),
                message(self, "because", because),
            ),
            RuleKind::Pass {
                when: None,
                because,
            } => (
                format!(
                    "pass {}",
                    because
                        .as_ref()
                        .map(|t| self.template(t))
                        .unwrap_or_default()
                ),
                None,
            ),
        };
        let Some((message, message_span)) = message else {
            let _ = writeln!(self.out, "{indent}{head}");
            return;
        };
        let one_line = format!("{indent}{head} {message}");
        let message_on_own_line = self
            .text
            .get(rule.span.start..message_span.start)
            .is_some_and(|before| before.contains('\n'));
        if head.contains('\n') || message_on_own_line || one_line.chars().count() > WIDTH {
            let _ = writeln!(self.out, "{indent}{head}\n{continuation}{message}");
        } else {
            let _ = writeln!(self.out, "{one_line}");
        }
    }

    fn tests(&mut self, tests: &TestBlock) {
        let _ = writeln!(self.out, "tests {} {{", tests.policy.name);
        let name_width = tests
            .cases
            .iter()
            .map(|c| string_literal(&c.name.value).chars().count())
            .max()
            .unwrap_or(0)
            .min(40);
        let lefts: Vec<String> = tests
            .cases
            .iter()
            .map(|case| {
                let name = string_literal(&case.name.value);
                let pad = name_width.saturating_sub(name.chars().count());
                let mut left = format!(
                    "{INDENT}{name}{} {}",
                    " ".repeat(pad),
                    self.expr(&case.input, 0, INDENT)
                );
                for modifier in &case.modifiers {
                    left.push(' ');
                    left.push_str(&self.modifier(modifier));
                }
                left
            })
            .collect();
        // The arrows line up, except after a left side too long to be worth aligning to.
        let arrow_column = lefts
            .iter()
            .map(|l| l.chars().count())
            .filter(|w| *w <= 72)
            .max()
            .unwrap_or(0);
        let mut first = true;
        for (case, left) in tests.cases.iter().zip(lefts) {
            self.block_entry(case.span, first, |p| {
                let pad = arrow_column.saturating_sub(left.chars().count());
                let expect = case.expect.as_str();
                let mut line = format!("{left}{} => {expect}", " ".repeat(pad));
                if let Some(reason) = &case.reason {
                    let _ = write!(line, " {}", string_literal(&reason.value));
                }
                let _ = writeln!(p.out, "{line}");
            });
            first = false;
        }
        self.leading_comments(tests.span.end, INDENT);
        self.out.push_str("}\n");
    }

    fn modifier(&self, modifier: &Modifier) -> String {
        match &modifier.kind {
            ModifierKind::Set { key, value } => {
                format!("{} {}", key.name, self.expr(value, 0, INDENT))
            }
            ModifierKind::LookupAnswer {
                system,
                query,
                answer,
            } => {
                format!(
                    "lookup {}.{} => {}",
                    system.name,
                    query.name,
                    self.expr(answer, 0, INDENT)
                )
            }
            ModifierKind::LookupFails {
                system,
                query,
                message,
            } => {
                format!(
                    "lookup {}.{} fails {}",
                    system.name,
                    query.name,
                    string_literal(&message.value)
                )
            }
        }
    }

    /// An expression needing at least precedence `min` to stand without parentheses.
    fn expr(&self, expr: &Expr, min: u8, indent: &str) -> String {
        let (text, precedence) = self.expr_inner(expr, indent);
        if precedence < min {
            format!("({text})")
        } else {
            text
        }
    }

    fn expr_inner(&self, expr: &Expr, indent: &str) -> (String, u8) {
        const ATOM: u8 = 10;
        let is_literal = matches!(
            expr.kind,
            ExprKind::Int(_)
                | ExprKind::Float(_)
                | ExprKind::Str(_)
                | ExprKind::Duration(_)
                | ExprKind::TimeOfDay(_)
        );
        if is_literal && let Some(text) = self.literal_as_written(expr.span) {
            let negative = text.starts_with('-');
            return (text, if negative { NEG_PRECEDENCE } else { ATOM });
        }
        match &expr.kind {
            ExprKind::Null => ("null".into(), ATOM),
            ExprKind::Bool(b) => (b.to_string(), ATOM),
            ExprKind::Int(n) => (n.to_string(), if *n < 0 { NEG_PRECEDENCE } else { ATOM }),
            ExprKind::Float(x) => {
                let mut text = format!("{x}");
                if !text.contains(['.', 'e', 'E']) {
                    text.push_str(".0");
                }
                (text, if *x < 0.0 { NEG_PRECEDENCE } else { ATOM })
            }
            ExprKind::Str(s) => (string_literal(s), ATOM),
            ExprKind::Duration(ms) => (format_duration(*ms), ATOM),
            ExprKind::TimeOfDay(s) => (format_time_of_day(*s), ATOM),
            ExprKind::List(items) => {
                let parts: Vec<String> = items
                    .iter()
                    .map(|e| self.expr(e, 0, &format!("{indent}{INDENT}")))
                    .collect();
                let lines: Vec<usize> = items.iter().map(|e| self.line_of(e.span.start)).collect();
                (
                    self.sequence("[", "]", &parts, &lines, expr.span, indent),
                    ATOM,
                )
            }
            ExprKind::Map(entries) => {
                let inner = format!("{indent}{INDENT}");
                let parts: Vec<String> = entries
                    .iter()
                    .map(|(key, value)| {
                        format!("{}: {}", map_key(&key.value), self.expr(value, 0, &inner))
                    })
                    .collect();
                let lines: Vec<usize> = entries
                    .iter()
                    .map(|(k, _)| self.line_of(k.span.start))
                    .collect();
                (
                    self.sequence("{", "}", &parts, &lines, expr.span, indent),
                    ATOM,
                )
            }
            ExprKind::Var(ident) => (ident.name.clone(), ATOM),
            ExprKind::Field(base, field) => (
                format!("{}.{}", self.expr(base, ATOM, indent), field.name),
                ATOM,
            ),
            ExprKind::Index(base, index) => (
                format!(
                    "{}[{}]",
                    self.expr(base, ATOM, indent),
                    self.expr(index, 0, indent)
                ),
                ATOM,
            ),
            // `not (a == b)` rather than the equivalent but easily misread `not a == b`.
            ExprKind::Unary(UnaryOp::Not, operand) => (
                format!("not {}", self.expr(operand, NEG_PRECEDENCE + 1, indent)),
                NOT_PRECEDENCE,
            ),
            ExprKind::Unary(UnaryOp::Neg, operand) => (
                format!("-{}", self.expr(operand, NEG_PRECEDENCE + 1, indent)),
                NEG_PRECEDENCE,
            ),
            ExprKind::Binary(op @ (BinaryOp::Or | BinaryOp::And), _, _)
                if self.is_multiline(expr.span) =>
            {
                // An `and`/`or` chain written over several lines keeps one operand per line.
                let mut operands = Vec::new();
                flatten_chain(expr, *op, &mut operands);
                let inner = format!("{indent}{INDENT}");
                let parts: Vec<String> = operands
                    .iter()
                    .map(|e| self.expr(e, op.precedence() + 1, &inner))
                    .collect();
                (
                    parts.join(&format!("\n{inner}{} ", op.symbol())),
                    op.precedence(),
                )
            }
            ExprKind::Binary(op, lhs, rhs) => {
                let p = op.precedence();
                let (left_min, right_min) = if *op == BinaryOp::Coalesce {
                    (p + 1, p)
                } else {
                    (p, p + 1)
                };
                // `(x ?? "") matches r` reads better than its equivalent without parentheses.
                let operand = |e: &Expr, min: u8| {
                    let coalesce = matches!(e.kind, ExprKind::Binary(BinaryOp::Coalesce, ..));
                    let bump = coalesce && op.precedence() == BinaryOp::Eq.precedence();
                    self.expr(
                        e,
                        if bump {
                            BinaryOp::Coalesce.precedence() + 1
                        } else {
                            min
                        },
                        indent,
                    )
                };
                (
                    format!(
                        "{} {} {}",
                        operand(lhs, left_min),
                        op.symbol(),
                        operand(rhs, right_min)
                    ),
                    p,
                )
            }
            ExprKind::Call { name, args } => (
                format!("{}{}", name.name, self.args(args, expr.span, indent)),
                ATOM,
            ),
            ExprKind::Lookup {
                system,
                query,
                args,
            } => (
                format!(
                    "lookup {}.{}{}",
                    system.name,
                    query.name,
                    self.args(args, expr.span, indent)
                ),
                0,
            ),
            ExprKind::Quantifier {
                kind,
                var,
                list,
                body,
            } => (
                format!(
                    "{} {} in {}: {}",
                    kind.keyword(),
                    var.name,
                    self.expr(list, 1, indent),
                    // `any x in xs: (all y in ys: ...)` reads better with its parentheses.
                    self.expr(body, if is_prefix_form(body) { 1 } else { 0 }, indent)
                ),
                0,
            ),
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => (
                format!(
                    "if {} then {} else {}",
                    self.expr(cond, 1, indent),
                    self.expr(then, 1, indent),
                    self.expr(otherwise, 0, indent)
                ),
                0,
            ),
        }
    }

    /// Arguments in parentheses: on one line, or one per line when the author broke the call
    /// over several lines.
    fn args(&self, args: &[Arg], span: Span, indent: &str) -> String {
        let multiline = self.is_multiline(span) && !args.is_empty();
        let inner = if multiline {
            format!("{indent}{INDENT}")
        } else {
            indent.to_string()
        };
        let parts: Vec<String> = args
            .iter()
            .map(|a| match &a.name {
                Some(name) => format!("{}: {}", name.name, self.expr(&a.value, 0, &inner)),
                None => self.expr(&a.value, 0, &inner),
            })
            .collect();
        if multiline {
            let mut text = String::from("(\n");
            for part in &parts {
                let _ = writeln!(text, "{inner}{part},");
            }
            let _ = write!(text, "{indent})");
            text
        } else {
            format!("({})", parts.join(", "))
        }
    }

    /// A literal as the author wrote it (`24h`, `1_000`, `r"\d"`), when it is one clean token.
    fn literal_as_written(&self, span: Span) -> Option<String> {
        let text = self.text.get(span.start..span.end)?;
        (!text.is_empty() && !text.chars().any(char::is_whitespace)).then(|| text.to_string())
    }

    fn template(&self, template: &Template) -> String {
        let mut out = String::from("\"");
        for part in &template.parts {
            match part {
                TemplatePart::Text(text) => {
                    for c in text.chars() {
                        match c {
                            '{' => out.push_str("{{"),
                            '}' => out.push_str("}}"),
                            c => push_escaped(&mut out, c),
                        }
                    }
                }
                TemplatePart::Expr(expr) => {
                    let _ = write!(out, "{{{}}}", self.expr(expr, 0, INDENT));
                }
            }
        }
        out.push('"');
        out
    }

    /// A list or map literal: on one line, or one item per line when the author wrote it so.
    /// A list or map literal: on one line, or, when the author wrote it over several lines,
    /// with the items grouped on lines as the author grouped them.
    fn sequence(
        &self,
        open: &str,
        close: &str,
        parts: &[String],
        lines: &[usize],
        span: Span,
        indent: &str,
    ) -> String {
        if parts.is_empty() {
            return format!("{open}{close}");
        }
        if self.is_multiline(span) {
            let mut text = format!("{open}\n");
            let mut previous_line = None;
            for (part, line) in parts.iter().zip(lines) {
                if previous_line == Some(line) && !part.contains('\n') {
                    let _ = write!(text, " {part},");
                } else {
                    if previous_line.is_some() {
                        text.push('\n');
                    }
                    let _ = write!(text, "{indent}{INDENT}{part},");
                }
                previous_line = Some(line);
            }
            let _ = write!(text, "\n{indent}{close}");
            text
        } else if open == "{" {
            format!("{{ {} }}", parts.join(", "))
        } else {
            format!("{open}{}{close}", parts.join(", "))
        }
    }
}

/// Forms that extend as far right as they can: quantifiers, `if` and `lookup`.
fn is_prefix_form(expr: &Expr) -> bool {
    matches!(
        expr.kind,
        ExprKind::Quantifier { .. } | ExprKind::If { .. } | ExprKind::Lookup { .. }
    )
}

fn flatten_chain<'e>(expr: &'e Expr, op: BinaryOp, out: &mut Vec<&'e Expr>) {
    match &expr.kind {
        ExprKind::Binary(inner, lhs, rhs) if *inner == op => {
            flatten_chain(lhs, op, out);
            out.push(rhs);
        }
        _ => out.push(expr),
    }
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        '\0' => out.push_str("\\0"),
        c if c.is_control() => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// A string literal: raw (`r"..."`) when it has backslashes and a raw string can hold it, as
/// regular expressions read best that way.
pub fn string_literal(s: &str) -> String {
    let raw_ok = s.contains('\\') && !s.contains('"') && !s.chars().any(char::is_control);
    if raw_ok {
        return format!("r\"{s}\"");
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    out.push('"');
    out
}

fn map_key(key: &str) -> String {
    if is_plain_key(key) {
        key.to_string()
    } else {
        string_literal(key)
    }
}
