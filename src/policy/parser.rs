//! Parses `.enact` text into the AST of `ast.rs`. This is the only module that sees pest: its
//! pairs become Enact's own nodes with byte spans, and its errors become diagnostics worded for
//! users. A file is read in chunks, one per top-level item, so one broken policy does not hide
//! the errors of the others.

use std::cell::RefCell;
use std::sync::{Arc, LazyLock};

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};
use pest_derive::Parser;

use super::ast::*;
use super::diagnostic::{Code, Diagnostic};
use super::source::SourceFile;
use super::types::{parse_duration, parse_time_of_day};

#[derive(Parser)]
#[grammar = "../grammar/enact.pest"]
struct Grammar;

/// The result of parsing one file: every item that parsed, and a diagnostic for each that did not.
pub struct Parsed {
    pub file: File,
    pub diagnostics: Vec<Diagnostic>,
}

pub fn parse(source: &Arc<SourceFile>) -> Parsed {
    let mut file = File::default();
    let mut diagnostics = Vec::new();
    for (start, end) in chunks(&source.text) {
        let Some(text) = source.text.get(start..end) else {
            continue;
        };
        let mut chunk = Builder::new(source, start);
        match Grammar::parse(Rule::chunk, text) {
            Ok(pairs) => chunk.chunk(pairs, &mut file),
            Err(error) => chunk.push(syntax_error(source, start, text, &error)),
        }
        diagnostics.append(chunk.diagnostics.get_mut());
    }
    attach_docs(&mut file, &source.text);
    Parsed { file, diagnostics }
}

/// Parses a single expression (used for `${ }` templates in workflows and by tests).
pub fn parse_expression(source: &Arc<SourceFile>) -> Result<Expr, Diagnostic> {
    let builder = Builder::new(source, 0);
    let text = &*source.text;
    let mut pairs =
        Grammar::parse(Rule::expr, text).map_err(|error| syntax_error(source, 0, text, &error))?;
    let pair = pairs.next().ok_or_else(|| {
        Diagnostic::new(Code::Syntax, "expected an expression").at(source, Span::new(0, 0))
    })?;
    let end = pair.as_span().end();
    let rest = text.get(end..).unwrap_or("");
    if let Some(offset) = rest.find(|c: char| !c.is_whitespace()) {
        let at = end + offset;
        return Err(
            Diagnostic::new(Code::Syntax, "unexpected text after the expression")
                .at(source, Span::new(at, text.len()))
                .label("not part of the expression"),
        );
    }
    let expr = builder.expr(pair);
    match builder.diagnostics.into_inner().into_iter().next() {
        Some(diagnostic) => Err(diagnostic),
        None => expr.ok_or_else(|| {
            Diagnostic::new(Code::Syntax, "expected an expression").at(source, Span::new(0, 0))
        }),
    }
}

/// Byte ranges of the top-level chunks: a chunk starts at a line beginning with `policy` or
/// `tests` in the first column. (Comments above an item may fall in the chunk before it; they
/// are collected file-wide, so docs and the formatter find them all the same.)
fn chunks(text: &str) -> Vec<(usize, usize)> {
    let starts_item = |line: &str| {
        ["policy", "tests"].iter().any(|kw| {
            line.strip_prefix(kw)
                .is_some_and(|rest| rest.starts_with([' ', '\t']))
        })
    };
    let mut boundaries: Vec<usize> = text
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .filter(|&start| text.get(start..).is_some_and(starts_item))
        .collect();
    boundaries.insert(0, 0);
    boundaries.push(text.len());
    boundaries
        .windows(2)
        .filter_map(|w| Some((*w.first()?, *w.get(1)?)))
        .collect()
}

/// `##` comments directly above a policy (no blank line between) become its doc.
fn attach_docs(file: &mut File, text: &str) {
    let comments = &file.comments;
    for item in &mut file.items {
        let Item::Policy(policy) = item else { continue };
        let mut doc = Vec::new();
        let mut boundary = policy.span.start;
        let mut index = comments.partition_point(|c| c.span.end <= boundary);
        while let Some(previous) = index.checked_sub(1) {
            let Some(comment) = comments.get(previous) else {
                break;
            };
            let gap = text.get(comment.span.end..boundary).unwrap_or("x");
            let directly_above = gap.trim().is_empty() && gap.matches('\n').count() == 1;
            if !comment.text.starts_with("##") || !directly_above {
                break;
            }
            doc.push(doc_line(&comment.text));
            boundary = comment.span.start;
            index = previous;
        }
        doc.reverse();
        policy.doc = doc;
    }
}

fn doc_line(comment: &str) -> String {
    let body = comment.trim_start_matches('#');
    body.strip_prefix(' ')
        .unwrap_or(body)
        .trim_end()
        .to_string()
}

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::op_or, Assoc::Left))
        .op(Op::infix(Rule::op_and, Assoc::Left))
        .op(Op::prefix(Rule::op_not))
        .op(Op::infix(Rule::op_eq, Assoc::Left)
            | Op::infix(Rule::op_ne, Assoc::Left)
            | Op::infix(Rule::op_lt, Assoc::Left)
            | Op::infix(Rule::op_le, Assoc::Left)
            | Op::infix(Rule::op_gt, Assoc::Left)
            | Op::infix(Rule::op_ge, Assoc::Left)
            | Op::infix(Rule::op_in, Assoc::Left)
            | Op::infix(Rule::op_not_in, Assoc::Left)
            | Op::infix(Rule::op_matches, Assoc::Left))
        .op(Op::infix(Rule::op_coalesce, Assoc::Right))
        .op(Op::infix(Rule::op_add, Assoc::Left) | Op::infix(Rule::op_sub, Assoc::Left))
        .op(Op::infix(Rule::op_mul, Assoc::Left)
            | Op::infix(Rule::op_div, Assoc::Left)
            | Op::infix(Rule::op_rem, Assoc::Left))
        .op(Op::prefix(Rule::op_neg))
        .op(Op::postfix(Rule::field) | Op::postfix(Rule::index))
});

struct Builder<'s> {
    source: &'s Arc<SourceFile>,
    /// Offset of the chunk being built within the file.
    base: usize,
    /// Spans of the chunk's comments, in order, to keep them out of node spans.
    comments: Vec<Span>,
    diagnostics: RefCell<Vec<Diagnostic>>,
}

type Built<T> = Option<T>;

impl<'s> Builder<'s> {
    fn new(source: &'s Arc<SourceFile>, base: usize) -> Self {
        Builder {
            source,
            base,
            comments: Vec::new(),
            diagnostics: RefCell::new(Vec::new()),
        }
    }

    fn push(&self, diagnostic: Diagnostic) {
        self.diagnostics.borrow_mut().push(diagnostic);
    }

    /// A pair's span in the file, without the white space and comments pest's implicit skip
    /// may leave at its end (`primary ~ postfix*` keeps the skip even when no postfix follows).
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let span = pair.as_span();
        let start = self.base + span.start();
        let mut end = self.base + span.end();
        loop {
            let text = self.source.text.get(start..end).unwrap_or("");
            end = start + text.trim_end().len();
            match self
                .comments
                .iter()
                .find(|c| c.end == end && c.start >= start)
            {
                Some(comment) => end = comment.start,
                None => break,
            }
        }
        Span::new(start, end)
    }

    fn literal_error(&self, pair: &Pair<'_, Rule>, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Code::BadLiteral, message).at(self.source, self.span(pair))
    }

    fn chunk(&mut self, pairs: Pairs<'_, Rule>, file: &mut File) {
        for pair in pairs.clone().flatten() {
            if pair.as_rule() == Rule::COMMENT {
                let span = pair.as_span();
                let span = Span::new(self.base + span.start(), self.base + span.end());
                self.comments.push(span);
                file.comments.push(Comment {
                    text: pair.as_str().to_string(),
                    span,
                });
            }
        }
        for pair in pairs.flat_map(|p| p.into_inner()) {
            let item = match pair.as_rule() {
                Rule::policy => self.policy(pair).map(Item::Policy),
                Rule::tests => self.tests(pair).map(Item::Tests),
                _ => None,
            };
            file.items.extend(item);
        }
    }

    fn ident(&self, pair: Pair<'_, Rule>) -> Ident {
        Ident {
            name: pair.as_str().to_string(),
            span: self.span(&pair),
        }
    }

    fn policy(&self, pair: Pair<'_, Rule>) -> Built<Policy> {
        let span = self.span(&pair);
        let mut name = None;
        let mut params = Vec::new();
        let mut level = None;
        let mut scopes = Vec::new();
        let mut rules = Vec::new();
        for part in inner(pair) {
            match part.as_rule() {
                Rule::ident => name = Some(self.ident(part)),
                Rule::params => {
                    for param in inner(part) {
                        params.extend(self.param(param));
                    }
                }
                Rule::level => {
                    level = inner(part).next().map(|kind| match kind.as_str() {
                        "action" => LevelRestriction::Action,
                        _ => LevelRestriction::Run,
                    });
                }
                Rule::policy_body => {
                    for element in inner(part) {
                        match element.as_rule() {
                            Rule::applies => scopes.extend(self.scope(element)),
                            _ => rules.extend(self.rule(element)),
                        }
                    }
                }
                _ => {}
            }
        }
        Some(Policy {
            name: name?,
            doc: Vec::new(),
            params,
            level,
            scopes,
            rules,
            span,
        })
    }

    fn param(&self, pair: Pair<'_, Rule>) -> Built<Param> {
        let span = self.span(&pair);
        let mut parts = inner(pair);
        let name = self.ident(parts.next()?);
        let ty = type_expr(parts.next()?);
        let default = match parts.next() {
            Some(expr) => Some(self.expr(expr)?),
            None => None,
        };
        Some(Param {
            name,
            ty,
            default,
            span,
        })
    }

    fn scope(&self, pair: Pair<'_, Rule>) -> Built<Scope> {
        let span = self.span(&pair);
        let mut kind = None;
        let mut patterns = Vec::new();
        for part in inner(pair) {
            match part.as_rule() {
                Rule::scope_kind => {
                    kind = Some(match part.as_str() {
                        "workflows" => ScopeKind::Workflows,
                        "systems" => ScopeKind::Systems,
                        _ => ScopeKind::Actions,
                    });
                }
                Rule::string => patterns.extend(self.string(part)),
                _ => {}
            }
        }
        Some(Scope {
            kind: kind?,
            patterns,
            span,
        })
    }

    fn rule(&self, pair: Pair<'_, Rule>) -> Built<ast::Rule> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut exprs = Vec::new();
        let mut message = None;
        let mut approvers = None;
        let mut name = None;
        let mut pass_when = None;
        for part in inner(pair) {
            match part.as_rule() {
                Rule::ident => name = Some(self.ident(part)),
                Rule::expr => exprs.push(self.expr(part)?),
                Rule::because | Rule::otherwise => {
                    let template = inner(part).find(|p| p.as_rule() == Rule::template)?;
                    message = Some(self.template(template)?);
                }
                Rule::template => message = Some(self.template(part)?),
                Rule::approvers => {
                    approvers = Some(self.expr(inner(part).find(|p| p.as_rule() == Rule::expr)?)?);
                }
                Rule::pass_when => {
                    for piece in inner(part) {
                        match piece.as_rule() {
                            Rule::expr => pass_when = Some(self.expr(piece)?),
                            Rule::because => {
                                let template =
                                    inner(piece).find(|p| p.as_rule() == Rule::template)?;
                                message = Some(self.template(template)?);
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        let mut exprs = exprs.into_iter();
        let kind = match rule {
            Rule::let_rule => RuleKind::Let {
                name: name?,
                value: exprs.next()?,
            },
            Rule::deny_rule => RuleKind::Deny {
                when: exprs.next()?,
                because: message,
            },
            Rule::require_rule => RuleKind::Require {
                cond: exprs.next()?,
                otherwise: message,
            },
            Rule::warn_rule => RuleKind::Warn {
                when: exprs.next()?,
                because: message,
            },
            Rule::approve_rule => RuleKind::Approve {
                when: exprs.next()?,
                by: approvers,
                because: message,
            },
            Rule::pass_rule => RuleKind::Pass {
                when: pass_when,
                because: message,
            },
            _ => return None,
        };
        Some(ast::Rule { kind, span })
    }

    fn template(&self, pair: Pair<'_, Rule>) -> Built<Template> {
        let span = self.span(&pair);
        let mut parts: Vec<TemplatePart> = Vec::new();
        let mut text = String::new();
        for part in inner(pair) {
            match part.as_rule() {
                Rule::tpl_text => text.push_str(part.as_str()),
                Rule::tpl_brace => text.push(if part.as_str() == "{{" { '{' } else { '}' }),
                Rule::escape => text.push(self.escape(&part)?),
                Rule::interpolation => {
                    if !text.is_empty() {
                        parts.push(TemplatePart::Text(std::mem::take(&mut text)));
                    }
                    let expr = inner(part).find(|p| p.as_rule() == Rule::expr)?;
                    parts.push(TemplatePart::Expr(self.expr(expr)?));
                }
                _ => {}
            }
        }
        if !text.is_empty() {
            parts.push(TemplatePart::Text(text));
        }
        Some(Template { parts, span })
    }

    fn escape(&self, pair: &Pair<'_, Rule>) -> Built<char> {
        let body = pair.as_str().strip_prefix('\\').unwrap_or("");
        let decoded = match body {
            "n" => Some('\n'),
            "t" => Some('\t'),
            "r" => Some('\r'),
            "0" => Some('\0'),
            "\\" => Some('\\'),
            "\"" => Some('"'),
            "'" => Some('\''),
            "{" => Some('{'),
            "}" => Some('}'),
            _ => body
                .strip_prefix("u{")
                .and_then(|hex| hex.strip_suffix('}'))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .and_then(char::from_u32),
        };
        if decoded.is_none() {
            let help = if body.starts_with("u{") {
                "a \\u{...} escape takes a Unicode scalar value in hexadecimal".to_string()
            } else {
                "valid escapes are \\n \\t \\r \\0 \\\\ \\\" \\u{HEX}; for a regular expression use a raw string: r\"...\"".to_string()
            };
            self.push(
                self.literal_error(
                    pair,
                    format!("unknown escape `{}` in a string", pair.as_str()),
                )
                .label("not an escape")
                .help(help),
            );
        }
        decoded
    }

    fn string(&self, pair: Pair<'_, Rule>) -> Built<StrLit> {
        let span = self.span(&pair);
        let mut value = String::new();
        for part in pair.into_inner().flatten() {
            match part.as_rule() {
                Rule::str_text | Rule::raw_text => value.push_str(part.as_str()),
                Rule::escape => value.push(self.escape(&part)?),
                _ => {}
            }
        }
        Some(StrLit { value, span })
    }

    fn tests(&self, pair: Pair<'_, Rule>) -> Built<TestBlock> {
        let span = self.span(&pair);
        let mut policy = None;
        let mut cases = Vec::new();
        for part in inner(pair) {
            match part.as_rule() {
                Rule::qualified => policy = Some(self.ident(part)),
                Rule::test_case => cases.extend(self.test_case(part)),
                _ => {}
            }
        }
        Some(TestBlock {
            policy: policy?,
            cases,
            span,
        })
    }

    fn test_case(&self, pair: Pair<'_, Rule>) -> Built<TestCase> {
        let span = self.span(&pair);
        let mut name = None;
        let mut input = None;
        let mut modifiers = Vec::new();
        let mut expect = None;
        let mut reason = None;
        for part in inner(pair) {
            match part.as_rule() {
                Rule::string => name = Some(self.string(part)?),
                Rule::map => input = Some(self.primary(part)?),
                Rule::modifier => modifiers.push(self.modifier(part)?),
                Rule::expectation => {
                    for piece in part.into_inner() {
                        match piece.as_rule() {
                            Rule::status => {
                                expect = Some(match piece.as_str() {
                                    "PASS" => Status::Pass,
                                    "BLOCK" => Status::Block,
                                    "WARN" => Status::Warn,
                                    "APPROVAL" => Status::Approval,
                                    "ERROR" => Status::Error,
                                    _ => Status::NotApplicable,
                                });
                            }
                            Rule::string => reason = Some(self.string(piece)?),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        Some(TestCase {
            name: name?,
            input: input?,
            modifiers,
            expect: expect?,
            reason,
            span,
        })
    }

    fn modifier(&self, pair: Pair<'_, Rule>) -> Built<Modifier> {
        let span = self.span(&pair);
        let mut parts = inner(pair);
        let first = parts.next()?;
        let kind = match first.as_rule() {
            Rule::lookup_mock => {
                let mut pieces = inner(first).filter(|p| p.as_rule() != Rule::kw_lookup);
                let system = self.ident(pieces.next()?);
                let query = self.ident(pieces.next()?);
                let outcome = pieces.next()?;
                match outcome.as_rule() {
                    Rule::lookup_fails => ModifierKind::LookupFails {
                        system,
                        query,
                        message: self.string(inner(outcome).next()?)?,
                    },
                    _ => ModifierKind::LookupAnswer {
                        system,
                        query,
                        answer: self.expr(outcome)?,
                    },
                }
            }
            _ => ModifierKind::Set {
                key: self.ident(first),
                value: self.expr(parts.next()?)?,
            },
        };
        Some(Modifier { kind, span })
    }

    fn expr(&self, pair: Pair<'_, Rule>) -> Built<Expr> {
        PRATT
            .map_primary(|primary| self.primary(primary))
            .map_prefix(|op, rhs| {
                let rhs = rhs?;
                let op_span = self.span(&op);
                let unary = if op.as_rule() == Rule::op_not {
                    UnaryOp::Not
                } else {
                    UnaryOp::Neg
                };
                // Fold `-5` into a literal so `-9223372036854775808` is representable.
                if unary == UnaryOp::Neg {
                    match rhs.kind {
                        ExprKind::Int(n) if !matches!(rhs.kind, ExprKind::Int(i64::MIN)) => {
                            return Some(Expr {
                                kind: ExprKind::Int(-n),
                                span: op_span.to(rhs.span),
                            });
                        }
                        ExprKind::Float(f) => {
                            return Some(Expr {
                                kind: ExprKind::Float(-f),
                                span: op_span.to(rhs.span),
                            });
                        }
                        _ => {}
                    }
                }
                Some(Expr {
                    span: op_span.to(rhs.span),
                    kind: ExprKind::Unary(unary, Box::new(rhs)),
                })
            })
            .map_postfix(|lhs, op| {
                let lhs = lhs?;
                let span = lhs.span.to(self.span(&op));
                let kind = match op.as_rule() {
                    Rule::field => {
                        let name = self.ident(inner(op).next()?);
                        ExprKind::Field(Box::new(lhs), name)
                    }
                    _ => {
                        let index = self.expr(inner(op).next()?)?;
                        ExprKind::Index(Box::new(lhs), Box::new(index))
                    }
                };
                Some(Expr { kind, span })
            })
            .map_infix(|lhs, op, rhs| {
                let (lhs, rhs) = (lhs?, rhs?);
                let op = match op.as_rule() {
                    Rule::op_or => BinaryOp::Or,
                    Rule::op_and => BinaryOp::And,
                    Rule::op_eq => BinaryOp::Eq,
                    Rule::op_ne => BinaryOp::Ne,
                    Rule::op_lt => BinaryOp::Lt,
                    Rule::op_le => BinaryOp::Le,
                    Rule::op_gt => BinaryOp::Gt,
                    Rule::op_ge => BinaryOp::Ge,
                    Rule::op_in => BinaryOp::In,
                    Rule::op_not_in => BinaryOp::NotIn,
                    Rule::op_matches => BinaryOp::Matches,
                    Rule::op_coalesce => BinaryOp::Coalesce,
                    Rule::op_add => BinaryOp::Add,
                    Rule::op_sub => BinaryOp::Sub,
                    Rule::op_mul => BinaryOp::Mul,
                    Rule::op_div => BinaryOp::Div,
                    _ => BinaryOp::Rem,
                };
                Some(Expr {
                    span: lhs.span.to(rhs.span),
                    kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                })
            })
            .parse(inner(pair))
    }

    fn primary(&self, pair: Pair<'_, Rule>) -> Built<Expr> {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::expr => return self.expr(pair).map(|e| Expr { span, ..e }),
            Rule::null => ExprKind::Null,
            Rule::boolean => ExprKind::Bool(pair.as_str() == "true"),
            Rule::int => match pair.as_str().replace('_', "").parse::<i64>() {
                Ok(n) => ExprKind::Int(n),
                Err(_) => {
                    self.push(
                        self.literal_error(&pair, "integer literal out of range")
                            .label("larger than 9223372036854775807")
                            .help("integers are 64-bit signed"),
                    );
                    return None;
                }
            },
            Rule::float => match pair.as_str().parse::<f64>() {
                Ok(f) if f.is_finite() => ExprKind::Float(f),
                _ => {
                    self.push(self.literal_error(&pair, "number literal out of range"));
                    return None;
                }
            },
            Rule::duration => ExprKind::Duration(self.duration(&pair)?),
            Rule::time_of_day => ExprKind::TimeOfDay(self.time_of_day(&pair)?),
            Rule::string => ExprKind::Str(self.string(pair)?.value),
            Rule::list => {
                let items: Option<Vec<Expr>> = inner(pair).map(|p| self.expr(p)).collect();
                ExprKind::List(items?)
            }
            Rule::map => {
                let mut entries = Vec::new();
                for entry in inner(pair) {
                    let mut parts = inner(entry);
                    let key = parts.next()?;
                    let key = match key.as_rule() {
                        Rule::string => self.string(key)?,
                        _ => StrLit {
                            value: key.as_str().to_string(),
                            span: self.span(&key),
                        },
                    };
                    entries.push((key, self.expr(parts.next()?)?));
                }
                ExprKind::Map(entries)
            }
            Rule::ident => ExprKind::Var(self.ident(pair)),
            Rule::call => {
                let mut parts = inner(pair);
                let name = self.ident(parts.next()?);
                let args = match parts.next() {
                    Some(args) => self.args(args)?,
                    None => Vec::new(),
                };
                ExprKind::Call { name, args }
            }
            Rule::lookup => {
                let mut parts = inner(pair).filter(|p| p.as_rule() != Rule::kw_lookup);
                let system = self.ident(parts.next()?);
                let query = self.ident(parts.next()?);
                let args = match parts.next() {
                    Some(args) => self.args(args)?,
                    None => Vec::new(),
                };
                ExprKind::Lookup {
                    system,
                    query,
                    args,
                }
            }
            Rule::quantifier => {
                let mut parts = inner(pair).filter(|p| p.as_rule() != Rule::kw_in);
                let kind = match parts.next()?.as_str() {
                    "any" => QuantifierKind::Any,
                    "all" => QuantifierKind::All,
                    "count" => QuantifierKind::Count,
                    "first" => QuantifierKind::First,
                    "filter" => QuantifierKind::Filter,
                    _ => QuantifierKind::Map,
                };
                let var = self.ident(parts.next()?);
                let list = self.expr(parts.next()?)?;
                let body = self.expr(parts.next()?)?;
                ExprKind::Quantifier {
                    kind,
                    var,
                    list: Box::new(list),
                    body: Box::new(body),
                }
            }
            Rule::conditional => {
                let mut exprs = inner(pair).filter(|p| p.as_rule() == Rule::expr);
                let cond = self.expr(exprs.next()?)?;
                let then = self.expr(exprs.next()?)?;
                let otherwise = self.expr(exprs.next()?)?;
                ExprKind::If {
                    cond: Box::new(cond),
                    then: Box::new(then),
                    otherwise: Box::new(otherwise),
                }
            }
            _ => return None,
        };
        Some(Expr { kind, span })
    }

    fn args(&self, pair: Pair<'_, Rule>) -> Built<Vec<Arg>> {
        let mut args = Vec::new();
        for arg in inner(pair) {
            let mut name = None;
            let mut value = None;
            for part in inner(arg) {
                match part.as_rule() {
                    Rule::arg_name => name = Some(self.ident(part)),
                    _ => value = Some(self.expr(part)?),
                }
            }
            args.push(Arg {
                name,
                value: value?,
            });
        }
        Some(args)
    }

    fn duration(&self, pair: &Pair<'_, Rule>) -> Built<i64> {
        let ms = parse_duration(pair.as_str());
        if ms.is_none() {
            self.push(self.literal_error(pair, "duration literal out of range"));
        }
        ms
    }

    fn time_of_day(&self, pair: &Pair<'_, Rule>) -> Built<u32> {
        let seconds = parse_time_of_day(pair.as_str());
        if seconds.is_none() {
            self.push(
                self.literal_error(pair, format!("`{}` is not a time of day", pair.as_str()))
                    .label("hours run 0–23, minutes and seconds 0–59")
                    .help("write times of day as HH:MM or HH:MM:SS, e.g. 22:00"),
            );
        }
        seconds
    }
}

use super::ast;

fn type_expr(pair: Pair<'_, Rule>) -> TypeExpr {
    let Some(inner_pair) = pair.into_inner().find(|p| p.as_rule() != Rule::COMMENT) else {
        return TypeExpr::Any;
    };
    match inner_pair.as_rule() {
        Rule::list_type => TypeExpr::List(
            inner_pair
                .into_inner()
                .find(|p| p.as_rule() == Rule::type_expr)
                .map(|t| Box::new(type_expr(t))),
        ),
        _ => match inner_pair.as_str() {
            "string" => TypeExpr::String,
            "int" => TypeExpr::Int,
            "float" => TypeExpr::Float,
            "number" => TypeExpr::Number,
            "bool" => TypeExpr::Bool,
            "duration" => TypeExpr::Duration,
            "time_of_day" => TypeExpr::TimeOfDay,
            "time" => TypeExpr::Time,
            "map" => TypeExpr::Map,
            _ => TypeExpr::Any,
        },
    }
}

/// Children of a pair without the comment tokens the grammar keeps for the formatter.
fn inner(pair: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    pair.into_inner().filter(|p| p.as_rule() != Rule::COMMENT)
}

fn syntax_error(
    source: &Arc<SourceFile>,
    base: usize,
    text: &str,
    error: &pest::error::Error<Rule>,
) -> Diagnostic {
    let (start, end) = match error.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((s, e)) => (s, e),
    };
    let found = describe_found(text.get(start..).unwrap_or(""));
    let end = if end == start { start + found.1 } else { end };
    let message = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => expected_message(positives),
        ErrorVariant::CustomError { message } => message.clone(),
    };
    let mut diagnostic = Diagnostic::new(Code::Syntax, format!("{message}, found {}", found.0))
        .at(source, Span::new(base + start, base + end))
        .label(format!("found {}", found.0));
    if let Some(help) = syntax_help(&error.variant, text.get(start..).unwrap_or("")) {
        diagnostic = diagnostic.help(help);
    }
    diagnostic
}

/// What sits at the error position, for "found ..." (and its length in bytes to underline).
fn describe_found(rest: &str) -> (String, usize) {
    let Some(first) = rest.chars().next() else {
        return ("the end of the file".to_string(), 0);
    };
    if first == '\n' || first == '\r' {
        return ("the end of the line".to_string(), 0);
    }
    let word: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if word.is_empty() {
        (format!("`{first}`"), first.len_utf8())
    } else {
        (format!("`{word}`"), word.len())
    }
}

fn expected_message(positives: &[Rule]) -> String {
    let mut wanted: Vec<&str> = Vec::new();
    for rule in positives {
        if let Some(text) = describe(*rule)
            && !wanted.contains(&text)
        {
            wanted.push(text);
        }
    }
    match wanted.as_slice() {
        [] => "unexpected text".to_string(),
        [one] => format!("expected {one}"),
        [init @ .., last] => format!("expected {} or {last}", init.join(", ")),
    }
}

fn syntax_help(variant: &ErrorVariant<Rule>, rest: &str) -> Option<String> {
    let ErrorVariant::ParsingError { positives, .. } = variant else {
        return None;
    };
    let word: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if positives.contains(&Rule::ident) && KEYWORDS.contains(&word.as_str()) {
        return Some(format!("`{word}` is a reserved word; choose another name"));
    }
    if rest.starts_with('\'') {
        return Some("strings use double quotes: \"...\"".into());
    }
    if rest.starts_with("&&") || rest.starts_with("||") {
        return Some("use `and` / `or`".into());
    }
    if rest.starts_with('!') && !rest.starts_with("!=") {
        return Some("use `not`".into());
    }
    if positives.contains(&Rule::kw_deny) || positives.contains(&Rule::kw_let) {
        return Some(
            "a policy body holds `applies to`, `let`, `deny when`, `require`, `warn when`, `approve when` and `pass` lines".into(),
        );
    }
    None
}

/// The reserved words of the grammar's `keyword` rule.
const KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "if", "then", "else", "when", "because", "true", "false", "null",
    "let", "deny", "require", "warn", "approve", "pass", "any", "all", "count", "lookup",
    "matches", "by", "policy", "tests",
];

/// User words for the grammar's rules; `None` hides a rule from messages.
fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::chunk => "`policy` or `tests`",
        Rule::kw_policy | Rule::policy => "`policy`",
        Rule::kw_tests | Rule::tests => "`tests`",
        Rule::EOI => "the end of the file",
        Rule::ident | Rule::qualified | Rule::arg_name | Rule::field_name => "a name",
        Rule::params => "parameters in parentheses",
        Rule::param => "a parameter (`name: type = default`)",
        Rule::type_expr | Rule::list_type | Rule::named_type => {
            "a type (string, int, float, number, bool, duration, time, time_of_day, map, list<T>, any)"
        }
        Rule::level | Rule::level_kind => "`on action` or `on run`",
        Rule::kw_applies | Rule::applies => "`applies to`",
        Rule::scope_kind => "`workflows`, `systems` or `actions`",
        Rule::kw_let
        | Rule::let_rule
        | Rule::kw_deny
        | Rule::deny_rule
        | Rule::kw_require
        | Rule::require_rule
        | Rule::kw_warn
        | Rule::warn_rule
        | Rule::kw_approve
        | Rule::approve_rule
        | Rule::kw_pass
        | Rule::pass_rule => "a rule",
        Rule::kw_when | Rule::pass_when => "`when`",
        Rule::kw_because | Rule::because => "`because`",
        Rule::kw_else | Rule::otherwise => "`else`",
        Rule::kw_by | Rule::approvers => "`by`",
        Rule::kw_then => "`then`",
        Rule::kw_in => "`in`",
        Rule::template => "a message in double quotes",
        Rule::test_case => "a test case (`\"name\" {input} => STATUS`)",
        Rule::modifier | Rule::modifier_kind | Rule::lookup_mock => {
            "a modifier (with, actor, env, now, action, workflow, workspace, home, history, level, lookup)"
        }
        Rule::lookup_fails => "`fails`",
        Rule::status | Rule::expectation => {
            "a status (PASS, BLOCK, WARN, APPROVAL, ERROR, NOT_APPLICABLE)"
        }
        Rule::expr
        | Rule::quantifier
        | Rule::quantifier_kind
        | Rule::conditional
        | Rule::kw_if
        | Rule::lookup
        | Rule::kw_lookup
        | Rule::call
        | Rule::null
        | Rule::boolean
        | Rule::duration
        | Rule::time_of_day
        | Rule::float
        | Rule::int
        | Rule::string
        | Rule::plain_string
        | Rule::raw_string
        | Rule::list
        | Rule::map
        | Rule::op_not
        | Rule::op_neg => "an expression",
        Rule::op_or
        | Rule::op_and
        | Rule::op_eq
        | Rule::op_ne
        | Rule::op_le
        | Rule::op_ge
        | Rule::op_lt
        | Rule::op_gt
        | Rule::op_not_in
        | Rule::op_in
        | Rule::op_matches
        | Rule::op_coalesce
        | Rule::op_add
        | Rule::op_sub
        | Rule::op_mul
        | Rule::op_div
        | Rule::op_rem
        | Rule::infix_start => "an operator",
        Rule::field | Rule::index => "`.field` or `[index]`",
        Rule::args | Rule::arg => "an argument",
        Rule::map_entry => "a map entry (`key: value`)",
        Rule::interpolation => "`{expression}`",
        Rule::escape => "an escape",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> File {
        let source = SourceFile::new("t.enact", text);
        let parsed = parse(&source);
        assert!(
            parsed.diagnostics.is_empty(),
            "unexpected diagnostics: {:?}",
            parsed
                .diagnostics
                .iter()
                .map(|d| &d.message)
                .collect::<Vec<_>>()
        );
        parsed.file
    }

    fn only_policy(file: &File) -> &Policy {
        match file.items.first() {
            Some(Item::Policy(p)) => p,
            other => panic!("expected a policy, got {other:?}"),
        }
    }

    fn expr(text: &str) -> Expr {
        parse_expression(&SourceFile::new("e", text)).unwrap_or_else(|d| panic!("{}", d.message))
    }

    fn shape(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Binary(op, l, r) => format!("({} {} {})", shape(l), op.symbol(), shape(r)),
            ExprKind::Unary(UnaryOp::Not, e) => format!("(not {})", shape(e)),
            ExprKind::Unary(UnaryOp::Neg, e) => format!("(- {})", shape(e)),
            ExprKind::Var(i) => i.name.clone(),
            ExprKind::Int(n) => n.to_string(),
            ExprKind::Field(e, f) => format!("{}.{}", shape(e), f.name),
            ExprKind::Index(e, i) => format!("{}[{}]", shape(e), shape(i)),
            ExprKind::Str(s) => format!("{s:?}"),
            ExprKind::Call { name, args } => format!(
                "{}({})",
                name.name,
                args.iter()
                    .map(|a| shape(&a.value))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ExprKind::Quantifier {
                kind,
                var,
                list,
                body,
            } => {
                format!(
                    "({} {} in {}: {})",
                    kind.keyword(),
                    var.name,
                    shape(list),
                    shape(body)
                )
            }
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn precedence_follows_the_documented_table() {
        assert_eq!(shape(&expr("a or b and c")), "(a or (b and c))");
        assert_eq!(shape(&expr("not a == b")), "(not (a == b))");
        assert_eq!(shape(&expr("not a and b")), "((not a) and b)");
        assert_eq!(shape(&expr("x ?? 0 > 5")), "((x ?? 0) > 5)");
        assert_eq!(shape(&expr("a ?? b ?? c")), "(a ?? (b ?? c))");
        assert_eq!(shape(&expr("1 + 2 * 3 - 4")), "((1 + (2 * 3)) - 4)");
        assert_eq!(shape(&expr("-a.b[0]")), "(- a.b[0])");
        assert!(shape(&expr("x not in [1]")).contains("not in"));
        assert_eq!(
            shape(&expr("lower(input.branch) in l")),
            "(lower(input.branch) in l)"
        );
    }

    #[test]
    fn quantifier_body_extends_to_the_right() {
        assert_eq!(
            shape(&expr("any c in cmds: c.name == \"rm\" or c.name == \"mv\"")),
            "(any c in cmds: ((c.name == \"rm\") or (c.name == \"mv\")))"
        );
        assert_eq!(
            shape(&expr("(any c in cmds: c) or x")),
            "((any c in cmds: c) or x)"
        );
    }

    #[test]
    fn keywords_are_not_names_but_may_be_fields() {
        assert_eq!(shape(&expr("input.count")), "input.count");
        assert_eq!(shape(&expr("history.count(1)")), "history.count(1)");
        assert_eq!(shape(&expr("index")), "index");
        assert_eq!(shape(&expr("notes")), "notes");
        assert!(parse_expression(&SourceFile::new("e", "let")).is_err());
    }

    #[test]
    fn literals_decode() {
        assert!(matches!(expr("90m").kind, ExprKind::Duration(5_400_000)));
        assert!(matches!(expr("1h30m").kind, ExprKind::Duration(5_400_000)));
        assert!(matches!(expr("250ms").kind, ExprKind::Duration(250)));
        assert!(matches!(expr("22:00").kind, ExprKind::TimeOfDay(79_200)));
        assert!(matches!(expr("1_000").kind, ExprKind::Int(1000)));
        assert!(matches!(
            expr("-9223372036854775807").kind,
            ExprKind::Int(-9_223_372_036_854_775_807)
        ));
        assert!(matches!(expr("2.5").kind, ExprKind::Float(f) if f == 2.5));
        assert!(matches!(&expr(r#""a\tb\u{41}""#).kind, ExprKind::Str(s) if s == "a\tbA"));
        assert!(matches!(&expr(r#"r"\d{3}""#).kind, ExprKind::Str(s) if s == r"\d{3}"));
    }

    #[test]
    fn bad_literals_are_reported_with_their_place() {
        for (text, needle) in [
            ("99999999999999999999", "out of range"),
            ("25:00", "not a time of day"),
            (r#""\d""#, "unknown escape"),
        ] {
            let error = parse_expression(&SourceFile::new("e", text)).unwrap_err();
            assert_eq!(error.code, Code::BadLiteral, "{text}");
            assert!(error.message.contains(needle), "{text}: {}", error.message);
            assert!(error.span.is_some());
        }
    }

    #[test]
    fn a_policy_with_every_rule_kind() {
        let file = parse_ok(
            r#"
## Blocks pushes to protected branches.
## Second line.
policy dont_push(protected: list<string> = ["main"], note: string = "x") on action {
  applies to systems "github", "git*"
  let branch = input.branch ?? ""
  pass when branch == "" because "no branch"
  deny when lower(branch) in protected because "push to '{branch}' is blocked"
  require len(branch) < 100 else "branch name too long: {len(branch)}"
  warn when branch matches r"^tmp/" because "temporary branch {{sic}}"
  approve when branch == "release" by ["lead@example.com"] because "release needs a lead"
  pass "branch {branch} is fine"
}
"#,
        );
        let policy = only_policy(&file);
        assert_eq!(policy.name.name, "dont_push");
        assert_eq!(
            policy.doc,
            vec!["Blocks pushes to protected branches.", "Second line."]
        );
        assert_eq!(policy.params.len(), 2);
        assert_eq!(
            policy.params[0].ty,
            TypeExpr::List(Some(Box::new(TypeExpr::String)))
        );
        assert_eq!(policy.level, Some(LevelRestriction::Action));
        assert_eq!(policy.scopes[0].patterns.len(), 2);
        let keywords: Vec<&str> = policy.rules.iter().map(|r| r.kind.keyword()).collect();
        assert_eq!(
            keywords,
            ["let", "pass", "deny", "require", "warn", "approve", "pass"]
        );
        let RuleKind::Warn {
            because: Some(template),
            ..
        } = &policy.rules[4].kind
        else {
            panic!("warn rule")
        };
        assert!(
            matches!(&template.parts[..], [TemplatePart::Text(t)] if t == "temporary branch {sic}")
        );
        let RuleKind::Deny {
            because: Some(template),
            ..
        } = &policy.rules[2].kind
        else {
            panic!("deny rule")
        };
        assert_eq!(template.parts.len(), 3);
    }

    #[test]
    fn doc_comments_stop_at_a_blank_line() {
        let file = parse_ok("## not doc\n\n# plain\n## doc\npolicy p {\n  pass \"ok\"\n}\n");
        assert_eq!(only_policy(&file).doc, vec!["doc"]);
        assert_eq!(file.comments.len(), 3);
    }

    #[test]
    fn spans_point_into_the_whole_file() {
        let text = "policy a {\n  pass \"ok\"\n}\n\npolicy b {\n  deny when x because \"m\"\n}\n";
        let file = parse_ok(text);
        let Some(Item::Policy(b)) = file.items.get(1) else {
            panic!()
        };
        assert_eq!(&text[b.name.span.start..b.name.span.end], "b");
        let RuleKind::Deny { when, .. } = &b.rules[0].kind else {
            panic!()
        };
        assert_eq!(&text[when.span.start..when.span.end], "x");
    }

    #[test]
    fn one_broken_policy_does_not_hide_the_others() {
        let text = "policy a {\n  deny when because \"m\"\n}\n\npolicy b {\n  pass \"fine\"\n}\n\npolicy c {\n  require x else\n}\n";
        let source = SourceFile::new("t.enact", text);
        let parsed = parse(&source);
        assert_eq!(
            parsed.diagnostics.len(),
            2,
            "{:?}",
            parsed
                .diagnostics
                .iter()
                .map(|d| &d.message)
                .collect::<Vec<_>>()
        );
        assert_eq!(parsed.file.items.len(), 1);
        let lines: Vec<usize> = parsed
            .diagnostics
            .iter()
            .map(|d| source.line_col(d.span.unwrap().start).0)
            .collect();
        assert_eq!(lines, vec![2, 11]);
    }

    #[test]
    fn syntax_errors_never_show_grammar_rule_names() {
        let cases = [
            "policy {",
            "policy a { deny x }",
            "policy a { deny when a && b because \"m\" }",
            "policy a(x: strng) { pass \"\" }",
            "policy a { pass 'single' }",
            "tests a { \"n\" {} => MAYBE }",
            "policy a { let = 1 }",
            "garbage",
        ];
        for text in cases {
            let parsed = parse(&SourceFile::new("t.enact", text));
            assert!(!parsed.diagnostics.is_empty(), "{text} should fail");
            for d in &parsed.diagnostics {
                assert!(!d.message.contains("kw_"), "{text}: {}", d.message);
                assert!(!d.message.contains("op_"), "{text}: {}", d.message);
                assert!(!d.message.contains("Rule"), "{text}: {}", d.message);
                assert!(!d.message.contains("_rule"), "{text}: {}", d.message);
                assert!(d.message.starts_with("expected"), "{text}: {}", d.message);
            }
        }
    }

    #[test]
    fn reserved_words_get_a_hint() {
        let parsed = parse(&SourceFile::new(
            "t.enact",
            "policy a {\n  let count = 1\n  pass \"x\"\n}",
        ));
        assert_eq!(
            parsed.diagnostics[0].help.as_deref(),
            Some("`count` is a reserved word; choose another name")
        );
    }

    #[test]
    fn keyword_list_matches_the_grammar() {
        for word in KEYWORDS {
            assert!(
                Grammar::parse(Rule::ident, word).is_err(),
                "{word} should be reserved"
            );
            assert!(Grammar::parse(Rule::keyword, word).is_ok(), "{word}");
        }
        // A name that merely starts with a keyword is a name.
        for name in ["input", "counter", "notes", "mapping", "ifs", "bypass"] {
            let parsed = Grammar::parse(Rule::ident, name).map(|p| p.as_str().to_string());
            assert_eq!(parsed.ok().as_deref(), Some(name));
        }
    }

    #[test]
    fn error_messages_say_what_was_found() {
        let parsed = parse(&SourceFile::new(
            "t.enact",
            "policy a {\n  deny when a && b because \"m\"\n}",
        ));
        let d = &parsed.diagnostics[0];
        assert!(d.message.contains("found `&`"), "{}", d.message);
        assert_eq!(d.help.as_deref(), Some("use `and` / `or`"));
    }

    #[test]
    fn tests_blocks_with_modifiers() {
        let file = parse_ok(
            r#"
tests git.dont_push {
  "main" { branch: "main" } => BLOCK "push to 'main'"
  "dm" { channel: "D1" } actor { role: "admin" } now "2026-01-01T00:00:00Z" lookup crm.find => { id: 1 } => PASS
  "fails" {} lookup crm.find fails "timeout" => ERROR
}
"#,
        );
        let Some(Item::Tests(block)) = file.items.first() else {
            panic!()
        };
        assert_eq!(block.policy.name, "git.dont_push");
        assert_eq!(block.cases.len(), 3);
        assert_eq!(block.cases[0].expect, Status::Block);
        assert_eq!(
            block.cases[0].reason.as_ref().unwrap().value,
            "push to 'main'"
        );
        assert_eq!(block.cases[1].modifiers.len(), 3);
        assert!(matches!(
            block.cases[2].modifiers[0].kind,
            ModifierKind::LookupFails { .. }
        ));
    }
}
