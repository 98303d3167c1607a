//! A policy source file held in memory, with the line index that turns byte offsets into
//! `line:column` positions for diagnostics and receipts.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use serde::Serialize;

use super::ast::Span;

#[derive(Debug)]
pub struct SourceFile {
    /// How the file is named to users: a path as given, or `builtin:git.enact`.
    pub name: Arc<str>,
    /// Borrowed for the built-in library (compiled into Enact), owned for a file read.
    pub text: Cow<'static, str>,
    /// Where each line starts, made on first use: the built-in library's programs carry their
    /// places already, and most processes never ask for another.
    line_starts: OnceLock<Vec<usize>>,
    /// The SHA-256 of `text` in hex, once someone needs it (receipts record it). The built-in
    /// library's is computed when Enact is built.
    pub sha256: OnceLock<String>,
}

/// A 1-based position in a file, as users count lines and columns (columns in characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: Arc<str>,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

impl SourceFile {
    pub fn new(name: impl Into<Arc<str>>, text: impl Into<String>) -> Arc<SourceFile> {
        SourceFile::with_text(name.into(), Cow::Owned(text.into()))
    }

    /// A file compiled into Enact (the built-in library): its text is not copied.
    pub fn compiled_in(name: impl Into<Arc<str>>, text: &'static str) -> Arc<SourceFile> {
        SourceFile::with_text(name.into(), Cow::Borrowed(text))
    }

    fn with_text(name: Arc<str>, text: Cow<'static, str>) -> Arc<SourceFile> {
        Arc::new(SourceFile {
            name,
            text,
            line_starts: OnceLock::new(),
            sha256: OnceLock::new(),
        })
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        })
    }

    /// 1-based line and column (in characters) of a byte offset; offsets past the end clamp.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line_starts = self.line_starts();
        let line = line_starts.partition_point(|&s| s <= offset).max(1);
        let start = line_starts.get(line - 1).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..offset)
            .map_or(1, |prefix| prefix.chars().count() + 1);
        (line, column)
    }

    pub fn location(&self, span: Span) -> Location {
        let (line, column) = self.line_col(span.start);
        Location {
            file: Arc::clone(&self.name),
            line,
            column,
        }
    }

    /// The source text of a span ("" when the span does not fall on character boundaries).
    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.start..span.end).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters_from_one() {
        let file = SourceFile::new("f.enact", "ab\nçd\n\nx");
        assert_eq!(file.line_col(0), (1, 1));
        assert_eq!(file.line_col(1), (1, 2));
        assert_eq!(file.line_col(3), (2, 1));
        // 'ç' is two bytes but one column.
        assert_eq!(file.line_col(5), (2, 2));
        assert_eq!(file.line_col(7), (3, 1));
        assert_eq!(file.line_col(8), (4, 1));
        assert_eq!(file.line_col(999), (4, 2));
    }
}
