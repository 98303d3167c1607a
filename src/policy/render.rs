//! Renders diagnostics for people (miette's graphical reports) or machines (JSON, one line each).
//! Kept apart from the diagnostics themselves, which the build script's parser also produces.

use std::borrow::Cow;
use std::fmt::Write as _;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use serde::Serialize;

use super::diagnostic::{Diagnostic, Severity};

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
                .map(|f| NamedSource::new(&f.name, f.text.clone())),
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
    source: Option<NamedSource<Cow<'static, str>>>,
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
