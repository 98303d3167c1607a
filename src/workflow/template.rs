//! Templates in workflow values: `"${payload.repo}"` is an expression of the policy language
//! over `payload`, `actor` and `steps`. A string that is exactly one `${expr}` takes the
//! expression's value with its type; any other string with `${...}` in it is text with the
//! values interpolated. `$${` writes a literal `${`.

use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::error::Problem;
use super::locate::Segment;
use crate::policy::ast::{Expr, ExprKind, Ident};
use crate::policy::checker::compile_template;
use crate::policy::diagnostic::Diagnostic;
use crate::policy::eval::evaluate_template;
use crate::policy::parse_expression;
use crate::policy::program::TemplateProgram;
use crate::policy::source::SourceFile;
use crate::policy::value::{Map, Value};

/// The names a template can read, in the order of their slots in a compiled template.
pub const TEMPLATE_ROOTS: [&str; 3] = ["payload", "actor", "steps"];

/// What templates read while a run is under way.
#[derive(Debug, Clone)]
pub struct TemplateScope {
    /// The validated payload, defaults filled in.
    pub payload: Value,
    /// `{email, role, attributes}`.
    pub actor: Value,
    /// The steps run so far: a map of step id to `{success, output}`.
    pub steps: Value,
}

impl TemplateScope {
    /// A scope before any step has run.
    pub fn new(payload: Value, actor: Value) -> Self {
        TemplateScope {
            payload,
            actor,
            steps: Value::empty_map(),
        }
    }

    /// Records what a step did, for the steps after it.
    pub fn record_step(&mut self, id: &str, success: bool, output: Value) {
        let mut steps: Map = self.steps.as_map().cloned().unwrap_or_default();
        steps.insert(
            Arc::from(id),
            Value::map([("success", Value::Bool(success)), ("output", output)]),
        );
        self.steps = Value::Map(Arc::new(steps));
    }

    fn roots(&self) -> [Value; 3] {
        [self.payload.clone(), self.actor.clone(), self.steps.clone()]
    }
}

/// A template that could not be evaluated: a missing value, a type error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: `{template}`: {message}")]
pub struct TemplateError {
    /// Where the template is: "step `pr`, argument `title`", "output `pr_url`".
    pub origin: String,
    /// The template as written.
    pub template: String,
    pub message: String,
}

/// A name a template reads, with the literal fields after it: `steps.pr.output.url` is
/// `steps` with `[pr, output, url]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reference {
    pub root: String,
    pub fields: Vec<String>,
    /// Byte offset of the name in the template's text.
    pub offset: usize,
}

#[derive(Debug, Clone)]
struct Piece {
    /// The expression's text, between `${` and `}`.
    source: String,
    program: Arc<TemplateProgram>,
    reads: Vec<Reference>,
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Expr(Piece),
}

/// A string holding one or more `${expr}`, or a bare expression (an `if`).
#[derive(Debug, Clone)]
pub struct Template {
    text: String,
    /// Exactly one expression and no text: the value keeps its type.
    whole: bool,
    parts: Vec<Part>,
    origin: String,
}

impl Template {
    /// The template as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Where the template sits in its workflow ("step `pr`, argument `title`").
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub(crate) fn set_origin(&mut self, origin: String) {
        self.origin = origin;
    }

    /// Whether the value is the expression's own (typed), not interpolated text.
    pub fn is_whole(&self) -> bool {
        self.whole
    }

    pub fn depends_on_steps(&self) -> bool {
        self.references().any(|r| r.root == "steps")
    }

    pub(crate) fn references(&self) -> impl Iterator<Item = &Reference> {
        self.parts.iter().flat_map(|part| match part {
            Part::Expr(piece) => piece.reads.as_slice(),
            Part::Text(_) => &[],
        })
    }

    /// Parses an `if`: a bare expression (`payload.open_pr`) or exactly one `${expr}`.
    pub(crate) fn condition(text: &str) -> Result<Template, Problem> {
        if !text.contains("${") {
            let piece = compile_piece(text, 0, text)?;
            return Ok(Template {
                text: text.to_string(),
                whole: true,
                parts: vec![Part::Expr(piece)],
                origin: String::new(),
            });
        }
        match parse_string(text)? {
            Parsed::Template(template) if template.whole => Ok(template),
            _ => Err(Problem::new(format!(
                "`{text}` is not one expression"
            ))
            .help("an `if` is one expression, written bare or as one `${...}`: `if: payload.a and payload.b`")),
        }
    }

    /// The template's value: typed for a whole-string template, a string otherwise. A null is an
    /// error: a missing value never becomes an argument silently.
    pub fn evaluate(&self, scope: &TemplateScope) -> Result<Value, TemplateError> {
        let roots = scope.roots();
        match self.parts.as_slice() {
            [Part::Expr(piece)] if self.whole => self.piece(piece, &roots),
            parts => {
                let mut text = String::new();
                for part in parts {
                    match part {
                        Part::Text(literal) => text.push_str(literal),
                        Part::Expr(piece) => {
                            text.push_str(&self.piece(piece, &roots)?.to_display())
                        }
                    }
                }
                Ok(Value::str(text))
            }
        }
    }

    /// An `if`: the expression must be true or false.
    pub fn evaluate_condition(&self, scope: &TemplateScope) -> Result<bool, TemplateError> {
        match self.evaluate(scope)? {
            Value::Bool(b) => Ok(b),
            other => Err(self.error(format!(
                "a condition must be true or false, but this is {} `{other}`",
                other.type_name()
            ))),
        }
    }

    fn piece(&self, piece: &Piece, roots: &[Value]) -> Result<Value, TemplateError> {
        match evaluate_template(&piece.program, roots) {
            Ok(Value::Null) => Err(self.error(format!(
                "`{}` is null (missing): give the input a default, or write `{} ?? ...`",
                piece.source.trim(),
                piece.source.trim()
            ))),
            Ok(value) => Ok(value),
            Err(message) => Err(self.error(message)),
        }
    }

    fn error(&self, message: String) -> TemplateError {
        TemplateError {
            origin: self.origin.clone(),
            template: self.text.clone(),
            message,
        }
    }
}

/// A YAML value whose strings may be templates: a step's `with`, an output, a default.
#[derive(Debug, Clone)]
pub enum TemplateValue {
    /// null, a bool, a number or a string without templates.
    Literal(serde_json::Value),
    Template(Template),
    List(Vec<TemplateValue>),
    /// In the order written.
    Map(Vec<(String, TemplateValue)>),
}

impl Default for TemplateValue {
    fn default() -> Self {
        TemplateValue::Map(Vec::new())
    }
}

impl TemplateValue {
    /// The value with every template evaluated.
    pub fn render(&self, scope: &TemplateScope) -> Result<serde_json::Value, TemplateError> {
        Ok(match self {
            TemplateValue::Literal(value) => value.clone(),
            TemplateValue::Template(template) => template.evaluate(scope)?.to_json(),
            TemplateValue::List(items) => serde_json::Value::Array(
                items
                    .iter()
                    .map(|item| item.render(scope))
                    .collect::<Result<_, _>>()?,
            ),
            TemplateValue::Map(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(key, value)| Ok((key.clone(), value.render(scope)?)))
                    .collect::<Result<_, TemplateError>>()?,
            ),
        })
    }

    /// Whether any template in it reads `steps`: such a value is known only once earlier steps
    /// have run.
    pub fn depends_on_steps(&self) -> bool {
        self.templates().any(Template::depends_on_steps)
    }

    pub fn has_templates(&self) -> bool {
        self.templates().next().is_some()
    }

    /// Every template in the value, depth first.
    pub fn templates(&self) -> Box<dyn Iterator<Item = &Template> + '_> {
        match self {
            TemplateValue::Literal(_) => Box::new(std::iter::empty()),
            TemplateValue::Template(template) => Box::new(std::iter::once(template)),
            TemplateValue::List(items) => Box::new(items.iter().flat_map(TemplateValue::templates)),
            TemplateValue::Map(entries) => {
                Box::new(entries.iter().flat_map(|(_, value)| value.templates()))
            }
        }
    }

    /// Calls `f` with each template and its path below this value.
    pub(crate) fn visit_templates_mut(
        &mut self,
        path: &mut Vec<Segment>,
        f: &mut dyn FnMut(&[Segment], &mut Template),
    ) {
        match self {
            TemplateValue::Literal(_) => {}
            TemplateValue::Template(template) => f(path, template),
            TemplateValue::List(items) => {
                for (index, item) in items.iter_mut().enumerate() {
                    path.push(Segment::Index(index));
                    item.visit_templates_mut(path, f);
                    path.pop();
                }
            }
            TemplateValue::Map(entries) => {
                for (key, value) in entries.iter_mut() {
                    path.push(Segment::Key(key.clone()));
                    value.visit_templates_mut(path, f);
                    path.pop();
                }
            }
        }
    }
}

pub(crate) enum Parsed {
    Literal(String),
    Template(Template),
}

/// Splits a string into text and `${expr}` parts, compiling each expression.
pub(crate) fn parse_string(text: &str) -> Result<Parsed, Problem> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut at = 0;
    while let Some(rest) = text.get(at..).filter(|r| !r.is_empty()) {
        if rest.starts_with("$${") {
            literal.push_str("${");
            at += 3;
        } else if rest.starts_with("${") {
            let start = at + 2;
            let Some(end) = closing_brace(text, start) else {
                return Err(Problem::new(format!("`${{` in `{text}` is never closed"))
                    .help("end the expression with `}`; write `$${` for a literal `${`")
                    .within(at, text));
            };
            let source = text.get(start..end).unwrap_or("");
            if !literal.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut literal)));
            }
            parts.push(Part::Expr(compile_piece(source, start, text)?));
            at = end + 1;
        } else {
            let c = rest.chars().next().unwrap_or('$');
            literal.push(c);
            at += c.len_utf8();
        }
    }
    if parts.is_empty() {
        return Ok(Parsed::Literal(literal));
    }
    if !literal.is_empty() {
        parts.push(Part::Text(literal));
    }
    let whole = matches!(parts.as_slice(), [Part::Expr(_)]);
    Ok(Parsed::Template(Template {
        text: text.to_string(),
        whole,
        parts,
        origin: String::new(),
    }))
}

/// The byte index of the `}` closing an expression that starts at `start`, skipping the braces
/// of map literals and anything inside string literals.
fn closing_brace(text: &str, start: usize) -> Option<usize> {
    let mut depth = 1usize;
    let mut chars = text.get(start..)?.char_indices().peekable();
    let mut previous = ' ';
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                let raw = previous == 'r';
                while let Some((_, s)) = chars.next() {
                    if s == '\\' && !raw {
                        chars.next();
                    } else if s == '"' {
                        break;
                    }
                }
            }
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(start + i);
                }
            }
            _ => {}
        }
        previous = c;
    }
    None
}

/// Parses and compiles one expression found at byte `offset` of `text`.
fn compile_piece(source: &str, offset: usize, text: &str) -> Result<Piece, Problem> {
    if source.trim().is_empty() {
        return Err(Problem::new(format!("empty expression in `{text}`"))
            .help("write an expression between the braces: `${payload.name}`")
            .within(offset, text));
    }
    let file = SourceFile::new("template", source);
    let problem = |diagnostic: Diagnostic| {
        let inside = diagnostic.span.map_or(0, |span| span.start);
        Problem::new(format!(
            "in `{}`: {}",
            if offset == 0 && !text.contains("${") {
                text.to_string()
            } else {
                format!("${{{source}}}")
            },
            diagnostic.message
        ))
        .help(diagnostic.help.unwrap_or_else(|| {
            "a template holds one expression of the policy language: `${payload.repo}`, `${lower(payload.name)}`".to_string()
        }))
        .within(offset + inside, text)
    };
    let expr = parse_expression(&file).map_err(problem)?;
    let program = compile_template(&file, &expr, &TEMPLATE_ROOTS).map_err(problem)?;
    let mut reads = Vec::new();
    collect_references(&expr, &mut Vec::new(), offset, &mut reads);
    Ok(Piece {
        source: source.to_string(),
        program: Arc::new(program),
        reads,
    })
}

/// `a.b["c"]` as a name and its literal fields.
fn path_of(expr: &Expr) -> Option<(&Ident, Vec<String>)> {
    match &expr.kind {
        ExprKind::Var(ident) => Some((ident, Vec::new())),
        ExprKind::Field(base, field) => {
            let (ident, mut fields) = path_of(base)?;
            fields.push(field.name.clone());
            Some((ident, fields))
        }
        ExprKind::Index(base, index) => match &index.kind {
            ExprKind::Str(key) => {
                let (ident, mut fields) = path_of(base)?;
                fields.push(key.clone());
                Some((ident, fields))
            }
            _ => None,
        },
        _ => None,
    }
}

/// Every read of a template root, outside the quantifiers that rebind its name.
fn collect_references(
    expr: &Expr,
    bound: &mut Vec<String>,
    offset: usize,
    out: &mut Vec<Reference>,
) {
    if let Some((ident, fields)) = path_of(expr) {
        if TEMPLATE_ROOTS.contains(&ident.name.as_str()) && !bound.contains(&ident.name) {
            out.push(Reference {
                root: ident.name.clone(),
                fields,
                offset: offset + ident.span.start,
            });
        }
        return;
    }
    let mut walk = |e: &Expr, bound: &mut Vec<String>| collect_references(e, bound, offset, out);
    match &expr.kind {
        ExprKind::Field(base, _) | ExprKind::Unary(_, base) => walk(base, bound),
        ExprKind::Index(base, index) => {
            walk(base, bound);
            walk(index, bound);
        }
        ExprKind::Binary(_, lhs, rhs) => {
            walk(lhs, bound);
            walk(rhs, bound);
        }
        ExprKind::List(items) => items.iter().for_each(|e| walk(e, bound)),
        ExprKind::Map(entries) => entries.iter().for_each(|(_, e)| walk(e, bound)),
        ExprKind::Call { args, .. } | ExprKind::Lookup { args, .. } => {
            args.iter().for_each(|a| walk(&a.value, bound));
        }
        ExprKind::If {
            cond,
            then,
            otherwise,
        } => {
            walk(cond, bound);
            walk(then, bound);
            walk(otherwise, bound);
        }
        ExprKind::Quantifier {
            var, list, body, ..
        } => {
            walk(list, bound);
            bound.push(var.name.clone());
            walk(body, bound);
            bound.pop();
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Deserialisation: templates are parsed and compiled as the YAML is read, so a broken one is
// reported at its own line and column.

impl<'de> Deserialize<'de> for TemplateValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TemplateValueVisitor)
    }
}

struct TemplateValueVisitor;

fn number<E: de::Error>(n: Option<serde_json::Number>) -> Result<TemplateValue, E> {
    n.map(|n| TemplateValue::Literal(serde_json::Value::Number(n)))
        .ok_or_else(|| Problem::new("this number cannot be represented in JSON").serde())
}

impl<'de> Visitor<'de> for TemplateValueVisitor {
    type Value = TemplateValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<TemplateValue, E> {
        Ok(TemplateValue::Literal(serde_json::Value::Bool(b)))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<TemplateValue, E> {
        number(Some(n.into()))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<TemplateValue, E> {
        number(Some(n.into()))
    }

    fn visit_f64<E: de::Error>(self, x: f64) -> Result<TemplateValue, E> {
        number(serde_json::Number::from_f64(x))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<TemplateValue, E> {
        match parse_string(s) {
            Ok(Parsed::Literal(text)) => {
                Ok(TemplateValue::Literal(serde_json::Value::String(text)))
            }
            Ok(Parsed::Template(template)) => Ok(TemplateValue::Template(template)),
            Err(problem) => Err(problem.serde()),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<TemplateValue, E> {
        Ok(TemplateValue::Literal(serde_json::Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<TemplateValue, E> {
        Ok(TemplateValue::Literal(serde_json::Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<TemplateValue, D::Error> {
        TemplateValue::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TemplateValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(TemplateValue::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TemplateValue, A::Error> {
        let mut entries: Vec<(String, TemplateValue)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(Problem::new(format!("duplicate key `{key}` in this map"))
                    .help("each key may appear once; remove one of them")
                    .duplicate(&key)
                    .serde());
            }
            if key.contains("${") {
                return Err(Problem::new(format!("a key cannot be a template: `{key}`"))
                    .help("only values are templates; write the key as plain text")
                    .serde());
            }
            let value = map.next_value()?;
            entries.push((key, value));
        }
        if let [(key, TemplateValue::Literal(serde_json::Value::Null))] = entries.as_slice()
            && looks_like_expression(key)
        {
            return Err(Problem::new(format!(
                "`{{{key}}}` is read by YAML as a map with the key `{key}`"
            ))
            .help(format!(
                "a template is written in quotes with a dollar: \"${{{}}}\"",
                key.trim_start_matches('$')
            ))
            .serde());
        }
        Ok(TemplateValue::Map(entries))
    }
}

/// `payload.branch`, `steps.pr.output`, `$payload`: a key that was meant as a template.
fn looks_like_expression(key: &str) -> bool {
    key.starts_with('$')
        || TEMPLATE_ROOTS.iter().any(|root| {
            key.strip_prefix(root).is_some_and(|rest| {
                rest.is_empty() || rest.starts_with('.') || rest.starts_with('[')
            })
        })
}

/// An `if`: a string (bare expression or one `${expr}`) or a literal bool.
pub(crate) struct Condition(pub Template);

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ConditionVisitor)
    }
}

struct ConditionVisitor;

impl<'de> Visitor<'de> for ConditionVisitor {
    type Value = Condition;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an expression such as `payload.open_pr` or \"${payload.open_pr}\"")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Condition, E> {
        self.visit_str(if b { "true" } else { "false" })
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Condition, E> {
        Template::condition(s)
            .map(Condition)
            .map_err(Problem::serde)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(text: &str) -> Template {
        match parse_string(text) {
            Ok(Parsed::Template(t)) => t,
            Ok(Parsed::Literal(l)) => panic!("`{text}` is the literal `{l}`"),
            Err(p) => panic!("`{text}`: {p:?}"),
        }
    }

    fn scope() -> TemplateScope {
        let payload = Value::from_json_str(
            r#"{"repo": "a/b", "n": 3, "tags": ["x", "y"], "cmd": "ls; rm -rf /"}"#,
        )
        .unwrap();
        let actor = Value::from_json_str(r#"{"email": "a@example.com", "role": "agent"}"#).unwrap();
        let mut scope = TemplateScope::new(payload, actor);
        scope.record_step(
            "pr",
            true,
            Value::from_json_str(r#"{"url": "http://x/1"}"#).unwrap(),
        );
        scope
    }

    #[test]
    fn a_whole_string_template_keeps_its_type() {
        let value = template("${payload.n}").evaluate(&scope()).unwrap();
        assert_eq!(value, Value::Int(3));
        let value = template("${payload.tags}").evaluate(&scope()).unwrap();
        assert_eq!(value.to_json(), serde_json::json!(["x", "y"]));
        let value = template("${ {a: payload.n + 1} }")
            .evaluate(&scope())
            .unwrap();
        assert_eq!(value.to_json(), serde_json::json!({"a": 4}));
    }

    #[test]
    fn text_around_templates_interpolates() {
        let t = template("repo ${payload.repo} has ${payload.n} (${actor.role})");
        assert!(!t.is_whole());
        assert_eq!(
            t.evaluate(&scope()).unwrap(),
            Value::str("repo a/b has 3 (agent)")
        );
        let t = template(" ${payload.n}");
        assert_eq!(t.evaluate(&scope()).unwrap(), Value::str(" 3"));
    }

    #[test]
    fn dollar_dollar_brace_is_a_literal() {
        match parse_string("cost: $${HOME} and $5").unwrap() {
            Parsed::Literal(text) => assert_eq!(text, "cost: ${HOME} and $5"),
            Parsed::Template(_) => panic!("no template expected"),
        }
        let t = template("$${x} = ${payload.n}");
        assert_eq!(t.evaluate(&scope()).unwrap(), Value::str("${x} = 3"));
    }

    #[test]
    fn braces_inside_strings_and_maps_do_not_end_the_expression() {
        let t = template(r#"${ {k: "}"}.k }!"#);
        assert_eq!(t.evaluate(&scope()).unwrap(), Value::str("}!"));
        let t = template(r#"${"a\"}" + "b"}"#);
        assert_eq!(t.evaluate(&scope()).unwrap(), Value::str("a\"}b"));
    }

    #[test]
    fn functions_work_in_templates() {
        let t = template("${upper(payload.repo)}-${len(payload.tags)}");
        assert_eq!(t.evaluate(&scope()).unwrap(), Value::str("A/B-2"));
        let t = template("${len(shell.commands(payload.cmd))}");
        assert_eq!(t.evaluate(&scope()).unwrap(), Value::Int(2));
    }

    #[test]
    fn steps_outputs_are_readable() {
        let t = template("${steps.pr.output.url}");
        assert!(t.depends_on_steps());
        assert_eq!(t.evaluate(&scope()).unwrap(), Value::str("http://x/1"));
        let t = template("${steps.pr.success}");
        assert_eq!(t.evaluate(&scope()).unwrap(), Value::Bool(true));
    }

    #[test]
    fn null_is_an_error_naming_the_expression() {
        let mut t = template("title: ${payload.missing}");
        t.set_origin("step `a`, argument `title`".into());
        let error = t.evaluate(&scope()).unwrap_err();
        assert!(
            error.message.contains("`payload.missing` is null"),
            "{error}"
        );
        assert_eq!(error.template, "title: ${payload.missing}");
        assert!(
            error
                .to_string()
                .starts_with("step `a`, argument `title`: "),
            "{error}"
        );
        let error = template("${payload.missing}")
            .evaluate(&scope())
            .unwrap_err();
        assert!(error.message.contains("is null"), "{error}");
        let ok = template("${payload.missing ?? \"none\"}")
            .evaluate(&scope())
            .unwrap();
        assert_eq!(ok, Value::str("none"));
    }

    #[test]
    fn type_errors_are_template_errors() {
        let error = template("${payload.n + payload.repo}")
            .evaluate(&scope())
            .unwrap_err();
        assert!(error.message.contains("int"), "{error}");
        let error = template("${payload.repo.x}")
            .evaluate(&scope())
            .unwrap_err();
        assert!(error.message.contains("cannot read field `x`"), "{error}");
    }

    #[test]
    fn the_environment_and_the_clock_are_not_reachable() {
        for (text, wanted) in [
            ("${env.HOME}", "environment variables are not reachable"),
            ("${now}", "a template reads only payload, actor, steps"),
            ("${paylod.x}", "did you mean `payload`?"),
            ("${lookup crm.find(email: payload.e)}", "lookup"),
            ("${history.count(within: 1h)}", "history"),
            (
                "${path.normalize(payload.p)}",
                "reads the machine's workspace",
            ),
        ] {
            let Err(problem) = parse_string(text) else {
                panic!("{text} should not compile")
            };
            let all = format!(
                "{} {}",
                problem.message,
                problem.help.clone().unwrap_or_default()
            );
            assert!(all.contains(wanted), "{text}: {all}");
        }
    }

    #[test]
    fn syntax_errors_point_into_the_string() {
        let Err(problem) = parse_string("x ${payload.} y") else {
            panic!("should fail")
        };
        assert!(
            problem.message.starts_with("in `${payload.}`:"),
            "{}",
            problem.message
        );
        assert!(
            problem.message.contains("unexpected text"),
            "{}",
            problem.message
        );
        let (offset, _) = problem.within.unwrap();
        assert_eq!(offset, 11, "at the dot, right after `payload`");
        let Err(problem) = parse_string("x ${payload.n") else {
            panic!("should fail")
        };
        assert!(
            problem.message.contains("never closed"),
            "{}",
            problem.message
        );
        let Err(problem) = parse_string("${ }") else {
            panic!("should fail")
        };
        assert!(
            problem.message.contains("empty expression"),
            "{}",
            problem.message
        );
    }

    #[test]
    fn references_name_roots_and_fields_outside_quantifier_variables() {
        let t = template(r#"${steps.a.output["u"]} ${any steps in payload.xs: steps.b} ${actor}"#);
        let reads: Vec<(String, Vec<String>)> = t
            .references()
            .map(|r| (r.root.clone(), r.fields.clone()))
            .collect();
        assert_eq!(
            reads,
            vec![
                (
                    "steps".into(),
                    vec!["a".into(), "output".into(), "u".into()]
                ),
                ("payload".into(), vec!["xs".into()]),
                ("actor".into(), vec![]),
            ]
        );
    }

    #[test]
    fn conditions_are_bare_expressions_or_one_template() {
        let t = Template::condition("payload.n > 2").unwrap();
        assert!(t.evaluate_condition(&scope()).unwrap());
        let t = Template::condition("${payload.n > 5}").unwrap();
        assert!(!t.evaluate_condition(&scope()).unwrap());
        assert!(Template::condition("${payload.n} and ${payload.n}").is_err());
        let t = Template::condition("payload.repo").unwrap();
        let error = t.evaluate_condition(&scope()).unwrap_err();
        assert!(error.message.contains("must be true or false"), "{error}");
    }
}
