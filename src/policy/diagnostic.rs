//! Diagnostics: the one type every stage reports problems with (stable code, message, place,
//! underline, help). `render.rs` turns them into text for `--error-format human|json|short`.

use std::sync::Arc;

use serde::Serialize;

use super::ast::Span;
use super::source::SourceFile;

/// Stable diagnostic codes. The numbers never change meaning once released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Code {
    /// The text is not valid Enact syntax.
    Syntax,
    /// A literal is malformed or out of range (escape, integer, duration, time of day).
    BadLiteral,
    /// A file could not be read.
    Unreadable,
    /// A name that is not a parameter, `let`, quantifier variable or context root.
    UnknownName,
    UnknownFunction,
    UnknownPolicy,
    WrongArity,
    TypeMismatch,
    BadArgument,
    MissingMessage,
    DuplicatePolicy,
    DuplicateName,
    BadRegex,
    BadGlob,
    BadTestCase,
    UnusedParam,
    UnusedLet,
    UnreachableRule,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "E0001",
            Code::BadLiteral => "E0002",
            Code::Unreadable => "E0003",
            Code::UnknownName => "E0101",
            Code::UnknownFunction => "E0102",
            Code::UnknownPolicy => "E0103",
            Code::WrongArity => "E0201",
            Code::TypeMismatch => "E0202",
            Code::BadArgument => "E0203",
            Code::MissingMessage => "E0301",
            Code::DuplicatePolicy => "E0302",
            Code::DuplicateName => "E0303",
            Code::BadRegex => "E0304",
            Code::BadGlob => "E0305",
            Code::BadTestCase => "E0306",
            Code::UnusedParam => "W0401",
            Code::UnusedLet => "W0402",
            Code::UnreachableRule => "W0403",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Code::UnusedParam | Code::UnusedLet | Code::UnreachableRule => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub code: Code,
    pub message: String,
    pub file: Option<Arc<SourceFile>>,
    pub span: Option<Span>,
    /// Text under the underline; defaults to nothing.
    pub label: Option<String>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            file: None,
            span: None,
            label: None,
            help: None,
        }
    }

    pub fn at(mut self, file: &Arc<SourceFile>, span: Span) -> Self {
        self.file = Some(Arc::clone(file));
        self.span = Some(span);
        self
    }

    pub fn in_file(mut self, file: &Arc<SourceFile>) -> Self {
        self.file = Some(Arc::clone(file));
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn severity(&self) -> Severity {
        self.code.severity()
    }

    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }

    /// `file:line:column`, or the file alone, or nothing.
    pub fn position(&self) -> Option<String> {
        let file = self.file.as_ref()?;
        Some(match self.span {
            Some(span) => file.location(span).to_string(),
            None => file.name.to_string(),
        })
    }
}

/// "did you mean `x`?" for the nearest candidates to `name`, if any is close enough.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let mut scored: Vec<(f64, &str)> = candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score >= 0.85)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    let names: Vec<String> = scored
        .iter()
        .take(3)
        .map(|(_, c)| format!("`{c}`"))
        .collect();
    match names.as_slice() {
        [] => None,
        [one] => Some(format!("did you mean {one}?")),
        [init @ .., last] => Some(format!("did you mean {} or {last}?", init.join(", "))),
    }
}
