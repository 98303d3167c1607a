//! The error a workflow file can have: where it is (file, line, column), what is wrong, and how
//! to fix it. YAML and serde messages are rewritten here into Enact's words.

use std::fmt;

use crate::policy::diagnostic::did_you_mean;

/// A workflow that cannot be loaded: nothing of it runs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct WorkflowError {
    /// The file as named to users: a path as given, or `builtin:NAME`.
    pub file: String,
    /// 1-based line and column, when the problem has a place in the file.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    /// How to fix it, when there is more to say than the message.
    pub help: Option<String>,
}

impl WorkflowError {
    pub(crate) fn new(file: &str, message: impl Into<String>) -> Self {
        WorkflowError {
            file: file.to_string(),
            line: None,
            column: None,
            message: message.into(),
            help: None,
        }
    }

    pub(crate) fn at(mut self, position: Option<(usize, usize)>) -> Self {
        if let Some((line, column)) = position {
            self.line = Some(line);
            self.column = Some(column);
        }
        self
    }

    pub(crate) fn help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    /// `file:line:column`, or the file alone.
    pub fn position(&self) -> String {
        match (self.line, self.column) {
            (Some(line), Some(column)) => format!("{}:{line}:{column}", self.file),
            (Some(line), None) => format!("{}:{line}", self.file),
            _ => self.file.clone(),
        }
    }
}

impl fmt::Display for WorkflowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.position(), self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Marks a serde error message that carries a packed `Problem`.
const PACKED: char = '\u{1f}';

/// A problem found while deserialising one YAML value. Serde carries only a string, so the
/// problem travels packed as JSON; serde_yaml attaches the value's position.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Problem {
    pub message: String,
    pub help: Option<String>,
    /// Where in the scalar's text the problem is (a template's expression), to sharpen the
    /// column: (byte offset, the scalar's text).
    pub within: Option<(usize, String)>,
    /// A key given twice: the position moves to its second occurrence.
    pub duplicate_key: Option<String>,
}

impl Problem {
    pub fn new(message: impl Into<String>) -> Self {
        Problem {
            message: message.into(),
            help: None,
            within: None,
            duplicate_key: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn within(mut self, offset: usize, scalar: &str) -> Self {
        self.within = Some((offset, scalar.to_string()));
        self
    }

    pub fn duplicate(mut self, key: &str) -> Self {
        self.duplicate_key = Some(key.to_string());
        self
    }

    /// The problem as a serde error.
    pub fn serde<E: serde::de::Error>(self) -> E {
        let json = serde_json::to_string(&self).unwrap_or_else(|_| self.message.clone());
        E::custom(format!("{PACKED}{json}"))
    }

    fn unpack(text: &str) -> Option<Problem> {
        serde_json::from_str(text.strip_prefix(PACKED)?).ok()
    }
}

/// Turns a YAML or serde error into a workflow error with its position and a fix.
pub(crate) fn from_yaml(
    file: &str,
    text: &str,
    error: &serde_yaml::Error,
    document: &str,
) -> WorkflowError {
    let position = error.location().map(|l| (l.line(), l.column()));
    let full = error.to_string();
    // serde_yaml appends " at line L column C" to messages and prefixes them with the path of
    // the value ("steps[0].with: ..."); the position is reported separately.
    // A packed problem may itself hold " at line ": the mark is then the last one.
    let cut = if full.contains(PACKED) {
        full.rfind(" at line ")
    } else {
        full.find(" at line ")
    };
    let without_mark = match cut {
        Some(at) if full.get(at..).is_some_and(|rest| rest.contains(" column ")) => {
            full.get(..at).unwrap_or(&full)
        }
        _ => full.as_str(),
    };
    let (path, message) = split_path(without_mark);
    let place = match path {
        Some(path) => format!(" in `{path}`"),
        None => format!(" in {document}"),
    };
    if let Some(problem) = Problem::unpack(message) {
        return located(file, text, path, position, problem);
    }
    let (message, help) = explain(text, position, message, &place, &full);
    let position = match message_key(message.as_str(), "duplicate key `") {
        Some(key) => second_key_position(text, position, &key).or(position),
        None => position,
    };
    WorkflowError::new(file, message).at(position).help(help)
}

/// A problem at a position (the start of the value at `path`), sharpened to the place inside
/// the value's text that the problem names.
pub(crate) fn located(
    file: &str,
    text: &str,
    path: Option<&str>,
    position: Option<(usize, usize)>,
    problem: Problem,
) -> WorkflowError {
    let position = match &problem.duplicate_key {
        Some(key) => second_key_position(text, position, key).or(position),
        None => sharpen(text, position, problem.within.as_ref()),
    };
    let message = match path {
        Some(path) if !path.is_empty() => format!("`{path}`: {}", problem.message),
        _ => problem.message,
    };
    WorkflowError::new(file, message)
        .at(position)
        .help(problem.help)
}

/// `steps[0].with: message` → (`steps[0].with`, `message`).
fn split_path(text: &str) -> (Option<&str>, &str) {
    if let Some((path, rest)) = text.split_once(": ") {
        let is_path = !path.is_empty()
            && path
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '[' | ']'));
        if is_path {
            return (Some(path), rest);
        }
    }
    (None, text)
}

/// Moves a position from the start of a scalar to a place inside it, when the scalar sits on
/// one line as written (plain, or quoted without escapes before that place).
fn sharpen(
    text: &str,
    position: Option<(usize, usize)>,
    within: Option<&(usize, String)>,
) -> Option<(usize, usize)> {
    let (line, column) = position?;
    let Some((offset, scalar)) = within else {
        return Some((line, column));
    };
    let line_text = text.lines().nth(line.checked_sub(1)?)?;
    let rest: String = line_text.chars().skip(column.saturating_sub(1)).collect();
    let quoted = rest.starts_with('"') || rest.starts_with('\'');
    let body = if quoted { rest.get(1..)? } else { &rest };
    let prefix = scalar.get(..*offset)?;
    if body.starts_with(prefix) {
        let shift = prefix.chars().count() + usize::from(quoted);
        Some((line, column + shift))
    } else {
        Some((line, column))
    }
}

/// The first backticked word after `lead` in a serde message.
fn message_key(message: &str, lead: &str) -> Option<String> {
    let rest = message.split_once(lead)?.1;
    Some(rest.split('`').next()?.to_string())
}

/// Backticked names after "expected" in serde's "unknown field"/"unknown variant" messages.
fn expected_names(message: &str) -> Vec<String> {
    let Some((_, rest)) = message.split_once("expected") else {
        return Vec::new();
    };
    rest.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// Rewrites serde and YAML messages: the fix for unknown keys and values, tabs, unquoted
/// templates, missing keys.
fn explain(
    text: &str,
    position: Option<(usize, usize)>,
    message: &str,
    place: &str,
    full: &str,
) -> (String, Option<String>) {
    let line_text = position
        .and_then(|(line, _)| text.lines().nth(line.saturating_sub(1)))
        .unwrap_or("");
    let at_char = position.and_then(|(_, column)| line_text.chars().nth(column.saturating_sub(1)));
    if let Some(name) = message_key(message, "unknown field `") {
        let known = expected_names(message);
        let help = did_you_mean(&name, known.iter().map(String::as_str)).or_else(|| {
            (!known.is_empty()).then(|| format!("the keys here are {}", known.join(", ")))
        });
        return (format!("unknown key `{name}`{place}"), help);
    }
    if let Some(name) = message_key(message, "unknown variant `") {
        let known = expected_names(message);
        let help = did_you_mean(&name, known.iter().map(String::as_str))
            .or_else(|| Some(format!("choose one of {}", known.join(", "))));
        return (format!("unknown value `{name}`{place}"), help);
    }
    if let Some(name) = message_key(message, "missing field `") {
        return (
            format!("missing key `{name}`{place}"),
            Some(format!("add `{name}: ...`")),
        );
    }
    if let Some(name) = message_key(message, "duplicate field `") {
        return (
            format!("duplicate key `{name}`{place}"),
            Some("each key may appear once; remove one of them".to_string()),
        );
    }
    let is_serde = ["invalid type", "invalid value", "invalid length"]
        .iter()
        .any(|lead| message.starts_with(lead));
    if at_char == Some('\t') || (!is_serde && line_text.contains('\t')) {
        return (
            "a tab character in the YAML".to_string(),
            Some("YAML is indented with spaces only; replace the tab with spaces".to_string()),
        );
    }
    if !is_serde && line_text.contains("${") && !is_quoted_template(line_text) {
        return (
            format!("invalid YAML: {message}"),
            Some(
                "quote templates: write `repo: \"${payload.repo}\"`; unquoted, YAML reads `{` and `}` as a map"
                    .to_string(),
            ),
        );
    }
    if message.starts_with("invalid type: map") && line_text.contains('{') {
        let inner = line_text
            .split_once('{')
            .and_then(|(_, rest)| rest.rsplit_once('}'))
            .map_or("payload.name", |(inner, _)| inner.trim());
        let inner = inner.trim_start_matches('$');
        return (
            format!("{message}{place}"),
            Some(format!(
                "YAML read `{{{inner}}}` as a map; a template is written in quotes with a dollar: \"${{{inner}}}\""
            )),
        );
    }
    if message.contains("expected a boolean") {
        return (
            format!("{message}{place}"),
            Some("write `true` or `false`".to_string()),
        );
    }
    if is_serde {
        return (format!("{message}{place}"), None);
    }
    // A YAML syntax error: libyaml's own words, with their context.
    (format!("invalid YAML: {}", full_without_path(full)), None)
}

fn full_without_path(full: &str) -> String {
    split_path(full).1.to_string()
}

/// Whether every `${` on a line sits inside a quoted string.
fn is_quoted_template(line: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some('"') if c == '\\' => {
                chars.next();
            }
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' => return true,
            None if c == '$' && line.get(i + 1..).is_some_and(|r| r.starts_with('{')) => {
                return false;
            }
            None => {}
        }
    }
    true
}

/// The second occurrence of `key:` at the indentation of the mapping that starts at
/// `position`: serde reports a duplicate key at the start of its mapping.
fn second_key_position(
    text: &str,
    position: Option<(usize, usize)>,
    key: &str,
) -> Option<(usize, usize)> {
    let (line, column) = position?;
    let indent = column.saturating_sub(1);
    let mut seen = 0;
    for (index, line_text) in text.lines().enumerate().skip(line.saturating_sub(1)) {
        let leading = line_text.len() - line_text.trim_start_matches([' ', '-']).len();
        if leading == indent
            && let Some(rest) = line_text.get(indent..)
            && rest
                .strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with(':'))
        {
            seen += 1;
            if seen == 2 {
                return Some((index + 1, column));
            }
        }
    }
    None
}
