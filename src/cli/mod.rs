//! The `enact` command line: flags defined once with clap, exit codes in one place, results on
//! stdout, diagnostics on stderr.

mod check;
mod demo;
mod explain;
mod fmt;
mod hook;
mod init;
mod policies;
mod project;
mod receipts;
mod rollback;
pub mod run;
mod test;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::policy::diagnostic::Diagnostic;
use crate::policy::render::{ErrorFormat, Renderer};

/// Exit codes, the contract with scripts and CI.
pub mod exit {
    /// PASS, and every step succeeded (explain: PASS, WARN or NOT_APPLICABLE).
    pub const OK: u8 = 0;
    /// Internal error, `verify` found something invalid, or `test` had a failure.
    pub const FAILURE: u8 = 1;
    /// Usage, config, parse or check error: nothing ran.
    pub const USAGE: u8 = 2;
    /// A policy blocked (explain: BLOCK or ERROR).
    pub const BLOCK: u8 = 3;
    /// PASS, but a step failed.
    pub const STEP_FAILED: u8 = 4;
    /// Waiting for approval.
    pub const PENDING: u8 = 5;
}

/// Version of every `--json` document.
pub const JSON_VERSION: u32 = 1;

#[derive(Parser)]
#[command(name = "enact", version, about = "An action firewall for AI agents", long_about = None)]
struct Cli {
    /// How diagnostics are printed.
    #[arg(long, global = true, value_enum, default_value = "human")]
    error_format: ErrorFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a workflow: check every policy, then run its steps, and write a signed receipt.
    Run(Box<run::Args>),
    /// Undo a whole run from what its receipt captured.
    Rollback(Box<rollback::Args>),
    /// Verify receipts' signatures and the store's hash chain (exit 1 if anything is wrong).
    Verify(Box<receipts::VerifyArgs>),
    /// List receipts, newest first.
    Ls(Box<receipts::LsArgs>),
    /// Print one receipt and whether its signature is valid.
    Show(Box<receipts::ShowArgs>),
    /// Create a starter project here: config, workflow, policy with tests, signing secret.
    Init,
    /// Check policy files (syntax, names, types, messages, tests) and workflow files (YAML,
    /// templates, steps against the configured systems).
    Check {
        /// .enact files, workflow .yaml files, or directories (searched recursively for .enact
        /// files); default: the current directory.
        paths: Vec<PathBuf>,
    },
    /// Format policy files in place (comments kept).
    Fmt {
        /// Report files that are not formatted instead of rewriting them (exit 1 if any).
        #[arg(long)]
        check: bool,
        /// Files or directories; default: the current directory.
        paths: Vec<PathBuf>,
    },
    /// Run the test cases beside policies.
    Test {
        /// Files or directories; default: the current directory.
        paths: Vec<PathBuf>,
        /// Print every case, not only failures.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Evaluate one policy against a request and show every rule.
    Explain(Box<explain::Args>),
    /// List the built-in policies (and, with --functions, the built-in functions).
    Policies {
        #[arg(long)]
        json: bool,
        /// List the functions policies can call instead.
        #[arg(long)]
        functions: bool,
    },
    /// The Claude Code hook: judge a tool call (`claude-code`), install the hook in a project,
    /// test saved events, print the hook's policies.
    Hook {
        #[command(subcommand)]
        command: hook::HookCommand,
    },
    /// See Enact at work on embedded defaults in a temporary directory: a push to main
    /// blocked, a workflow passing, a wiped table brought back by one rollback, receipts
    /// verified. No credentials, no network.
    Demo,
}

pub fn main() -> ExitCode {
    // The hook runs before every tool call an agent makes, always as `enact hook claude-code`:
    // that command line is recognised without building the whole parser (a tenth of a
    // millisecond a call). Any other, the hook's with flags included, goes through clap.
    if is_bare_hook_call(std::env::args_os().skip(1)) {
        return ExitCode::from(hook::claude_code(&hook::ProjectFlags::default()));
    }
    let cli = Cli::parse();
    let out = Output {
        renderer: Renderer {
            format: cli.error_format,
            color: std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        },
    };
    let code = match cli.command {
        Command::Run(args) => run::run_command(&out, &args),
        Command::Rollback(args) => rollback::run(&out, &args),
        Command::Verify(args) => receipts::verify(&out, &args),
        Command::Ls(args) => receipts::ls(&out, &args),
        Command::Show(args) => receipts::show(&out, &args),
        Command::Init => init::run(&out),
        Command::Check { paths } => check::run(&out, &default_paths(paths)),
        Command::Fmt { check, paths } => fmt::run(&out, &default_paths(paths), check),
        Command::Test { paths, verbose } => test::run(&out, &default_paths(paths), verbose),
        Command::Explain(args) => explain::run(&out, &args),
        Command::Policies { json, functions } => policies::run(&out, json, functions),
        Command::Hook { command } => hook::run(&out, &command),
        Command::Demo => demo::run(&out),
    };
    ExitCode::from(code)
}

/// Whether the arguments (after the program's name) are exactly `hook claude-code`.
fn is_bare_hook_call(mut args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    args.next().is_some_and(|a| a == "hook")
        && args.next().is_some_and(|a| a == "claude-code")
        && args.next().is_none()
}

/// Who asks: the flags `run` and `explain` share.
#[derive(clap::Args, Clone, Default)]
pub struct ActorArgs {
    /// Who asks (run: default $ENACT_ACTOR, else USER@local).
    #[arg(long, value_name = "EMAIL")]
    pub actor: Option<String>,
    /// The actor's role.
    #[arg(long)]
    pub role: Option<String>,
    /// An actor attribute; the value is read as JSON when it parses (3, true), else as text.
    #[arg(long = "attr", value_name = "KEY=VALUE")]
    pub attrs: Vec<String>,
}

/// `KEY=VALUE` flags as a map; a value that parses as JSON (`3`, `true`) is taken as such,
/// anything else as text.
pub(crate) fn key_values(
    flag: &str,
    items: &[String],
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let mut map = serde_json::Map::new();
    for item in items {
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| format!("--{flag} takes KEY=VALUE, got `{item}`"))?;
        let value = serde_json::from_str(value)
            .unwrap_or_else(|_| serde_json::Value::String(value.to_string()));
        map.insert(key.to_string(), value);
    }
    Ok(map)
}

/// A path as people read it: relative to the working directory when it lies inside it.
pub(crate) fn display_path(path: &str) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            std::path::Path::new(path)
                .strip_prefix(&cwd)
                .ok()
                .map(|p| p.display().to_string())
        })
        .unwrap_or_else(|| path.to_string())
}

fn default_paths(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths
    }
}

/// Where results and diagnostics go.
pub struct Output {
    renderer: Renderer,
}

impl Output {
    /// Writes to stdout; a closed pipe (`enact policies | head`) is not an error.
    pub fn print(&self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush());
    }

    pub fn println(&self, text: &str) {
        self.print(&format!("{text}\n"));
    }

    pub fn json(&self, value: &impl serde::Serialize) {
        match serde_json::to_string_pretty(value) {
            Ok(text) => self.println(&text),
            Err(error) => self.error(&format!("cannot encode JSON: {error}")),
        }
    }

    pub fn diagnostic(&self, diagnostic: &Diagnostic) {
        let _ = std::io::stderr().write_all(self.renderer.render(diagnostic).as_bytes());
    }

    pub fn diagnostics<'d>(&self, diagnostics: impl IntoIterator<Item = &'d Diagnostic>) {
        for diagnostic in diagnostics {
            self.diagnostic(diagnostic);
        }
    }

    /// A one-line error with no place to point at.
    pub fn error(&self, message: &str) {
        let _ = writeln!(std::io::stderr(), "error: {message}");
    }

    /// A summary or hint for people; left out of `--error-format json|short` output so
    /// that stderr carries one diagnostic per line there.
    pub fn note(&self, message: &str) {
        if self.is_human() {
            let _ = writeln!(std::io::stderr(), "{message}");
        }
    }

    pub fn is_human(&self) -> bool {
        self.renderer.format == ErrorFormat::Human
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> impl Iterator<Item = std::ffi::OsString> {
        words
            .iter()
            .map(std::ffi::OsString::from)
            .collect::<Vec<_>>()
            .into_iter()
    }

    /// The hook's command line skips the parser with the flags the parser would give it; any
    /// other command line is parsed.
    #[test]
    fn only_the_bare_hook_command_line_skips_the_parser() {
        assert!(is_bare_hook_call(args(&["hook", "claude-code"])));
        for other in [
            &[][..],
            &["hook"],
            &["hook", "claude-code", "--config", "enact.yaml"],
            &["hook", "claude-code", "--allow-insecure-secret"],
            &["hook", "claude-code", ""],
            &["hook", "test", "event.json"],
            &["--error-format", "json", "hook", "claude-code"],
            &["claude-code", "hook"],
        ] {
            assert!(!is_bare_hook_call(args(other)), "{other:?}");
        }
        let Ok(cli) = Cli::try_parse_from(["enact", "hook", "claude-code"]) else {
            panic!("the hook's command line does not parse");
        };
        let Command::Hook {
            command: hook::HookCommand::ClaudeCode(flags),
        } = cli.command
        else {
            panic!("`hook claude-code` is not the hook");
        };
        assert_eq!(flags, hook::ProjectFlags::default());
    }
}
