//! Diagnostics: the one type every stage reports problems with (stable code, message, place,
//! underline, help), and its three renderings for `--error-format human|json|short`.

use std::fmt::Write as _;
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ErrorFormat {
    /// Explained, with the offending text underlined.
    Human,
    /// One JSON object per line.
    Json,
    /// One line each: `file:line:column: error[CODE]: message`.
    Short,
}

/// Renders diagnostics for people or machines.
pub struct Renderer {
    pub format: ErrorFormat,
    pub color: bool,
}

impl Renderer {
    pub fn render(&self, diagnostic: &Diagnostic) -> String {
        match self.format {
            ErrorFormat::Human => self.human(diagnostic),
            ErrorFormat::Json => json(diagnostic),
            ErrorFormat::Short => short(diagnostic),
        }
    }

    fn human(&self, diagnostic: &Diagnostic) -> String {
        let theme = if self.color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_links(false)
            .with_width(100);
        let report = MietteView {
            diagnostic,
            source: diagnostic
                .file
                .as_ref()
                .filter(|_| diagnostic.span.is_some())
                .map(|f| NamedSource::new(&f.name, Arc::clone(&f.text))),
        };
        let mut out = String::new();
        if handler.render_report(&mut out, &report).is_err() {
            return short(diagnostic);
        }
        out
    }
}

fn severity_word(diagnostic: &Diagnostic) -> &'static str {
    match diagnostic.severity() {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn short(diagnostic: &Diagnostic) -> String {
    let mut line = String::new();
    if let Some(position) = diagnostic.position() {
        let _ = write!(line, "{position}: ");
    }
    let _ = write!(
        line,
        "{}[{}]: {}",
        severity_word(diagnostic),
        diagnostic.code.as_str(),
        diagnostic.message
    );
    if let Some(help) = &diagnostic.help {
        let _ = write!(line, " ({help})");
    }
    line.push('\n');
    line
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'static str,
    severity: Severity,
    message: &'a str,
    file: Option<&'a str>,
    line: Option<usize>,
    column: Option<usize>,
    end_line: Option<usize>,
    end_column: Option<usize>,
    label: Option<&'a str>,
    help: Option<&'a str>,
}

fn json(diagnostic: &Diagnostic) -> String {
    let file = diagnostic.file.as_deref();
    let start = file.zip(diagnostic.span).map(|(f, s)| f.line_col(s.start));
    let end = file.zip(diagnostic.span).map(|(f, s)| f.line_col(s.end));
    let record = JsonDiagnostic {
        code: diagnostic.code.as_str(),
        severity: diagnostic.severity(),
        message: &diagnostic.message,
        file: file.map(|f| &*f.name),
        line: start.map(|p| p.0),
        column: start.map(|p| p.1),
        end_line: end.map(|p| p.0),
        end_column: end.map(|p| p.1),
        label: diagnostic.label.as_deref(),
        help: diagnostic.help.as_deref(),
    };
    let mut out = serde_json::to_string(&record).unwrap_or_default();
    out.push('\n');
    out
}

/// Presents a [`Diagnostic`] to miette's graphical renderer.
struct MietteView<'a> {
    diagnostic: &'a Diagnostic,
    source: Option<NamedSource<Arc<str>>>,
}

impl std::fmt::Debug for MietteView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::fmt::Display for MietteView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.source, self.diagnostic.position()) {
            (None, Some(position)) => write!(f, "{position}: {}", self.diagnostic.message),
            _ => f.write_str(&self.diagnostic.message),
        }
    }
}

impl std::error::Error for MietteView<'_> {}

impl miette::Diagnostic for MietteView<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.diagnostic.code.as_str()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity() {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.diagnostic.span?;
        let label = LabeledSpan::new(
            self.diagnostic.label.clone(),
            span.start,
            span.end.saturating_sub(span.start),
        );
        Some(Box::new(std::iter::once(label)))
    }
}
