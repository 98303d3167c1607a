//! `enact hook`: the Claude Code PreToolUse hook itself (`claude-code`), its installation in a
//! project (`install`), a dry check of saved events (`test`), and the policy set in force
//! (`policies`).

use std::io::{Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use serde_json::json;

use super::{JSON_VERSION, Output, exit};
use crate::config::{CONFIG_FILE, Config, ReceiptsLocation};
use crate::engine::hook::{HookOptions, HookPolicies, HookRun, Verdict, handle};
use crate::hook::answer::BLOCKING_EXIT;
use crate::hook::settings::{self, HOOK_COMMAND};
use crate::hook::{Answer, Permission};
use crate::workflow::PolicySource;

#[derive(clap::Subcommand)]
pub enum HookCommand {
    /// Judge one Claude Code PreToolUse event read on stdin and answer in the hook protocol
    /// (exit 2 with the reason on stderr when the call is denied); a receipt for every call.
    #[command(name = "claude-code")]
    ClaudeCode(ProjectFlags),
    /// Install the hook in a project: merge it into .claude/settings.json, create enact.yaml
    /// and a signing secret if absent, and keep the secret out of git.
    Install {
        /// The project directory (default: the current directory).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Judge saved PreToolUse events as the hook would, and print each decision; no receipt is
    /// written. Exit 0 when all pass, 5 when one asks, 3 when one is denied, 2 when the setup
    /// or an event is broken.
    Test {
        /// Event files (JSON, as Claude Code sends them); `-` reads stdin.
        #[arg(required = true, value_name = "EVENT_FILE")]
        events: Vec<PathBuf>,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        project: ProjectFlags,
    },
    /// Print the hook's policy set in force (the config's, or the default set) as YAML to paste
    /// under `hook:` in enact.yaml and edit.
    Policies {
        #[command(flatten)]
        project: ProjectFlags,
    },
}

#[derive(clap::Args, Clone, Debug, Default, PartialEq, Eq)]
pub struct ProjectFlags {
    /// The configuration file (default: enact.yaml in $CLAUDE_PROJECT_DIR, else in the current
    /// directory, or in a parent).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Accept a signing secret shorter than 32 bytes (recorded in every receipt).
    #[arg(long)]
    allow_insecure_secret: bool,
}

pub fn run(out: &Output, command: &HookCommand) -> u8 {
    match command {
        HookCommand::ClaudeCode(flags) => claude_code(flags),
        HookCommand::Install { dir } => install(out, dir.as_deref()),
        HookCommand::Test {
            events,
            json,
            project,
        } => test(out, events, *json, project),
        HookCommand::Policies { project } => policies(out, project),
    }
}

/// Where the project is looked for: Claude Code runs hooks with `$CLAUDE_PROJECT_DIR` set to
/// the project; the agent's own `cwd` may have wandered anywhere.
fn start_dir() -> Result<PathBuf, String> {
    match std::env::var_os("CLAUDE_PROJECT_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => {
            std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))
        }
    }
}

fn options(flags: &ProjectFlags, write_receipt: bool) -> Result<HookOptions, String> {
    Ok(HookOptions {
        config: flags.config.clone(),
        start: start_dir()?,
        allow_insecure_secret: flags.allow_insecure_secret,
        write_receipt,
    })
}

/// The hook. Every failure, a panic included, is a denial with exit 2.
pub(super) fn claude_code(flags: &ProjectFlags) -> u8 {
    let answer = catch_unwind(AssertUnwindSafe(|| {
        let mut input = String::new();
        if let Err(error) = std::io::stdin().read_to_string(&mut input) {
            return Answer::deny(format!(
                "Enact could not read the tool call from its standard input ({error}), so it is blocked."
            ));
        }
        match options(flags, true) {
            Ok(options) => handle(&input, &options).answer,
            Err(problem) => Answer::deny(format!(
                "Enact could not judge this tool call, so it is blocked: {problem}."
            )),
        }
    }))
    .unwrap_or_else(|_| {
        Answer::deny(
            "Enact could not judge this tool call, so it is blocked: an internal error (a bug in \
             Enact) stopped it. Save the event and replay it with `enact hook test FILE` to report it.",
        )
    });
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{}", answer.stdout()).and_then(|()| stdout.flush());
    if let Some(reason) = answer.stderr() {
        let _ = writeln!(std::io::stderr(), "{reason}");
    }
    answer.exit_code()
}

fn test(out: &Output, files: &[PathBuf], as_json: bool, flags: &ProjectFlags) -> u8 {
    let options = match options(flags, false) {
        Ok(options) => options,
        Err(problem) => {
            out.error(&problem);
            return exit::USAGE;
        }
    };
    let mut documents = Vec::new();
    let mut text = String::new();
    let mut worst = exit::OK;
    let (mut denied, mut asked, mut passed) = (0, 0, 0);
    for file in files {
        let name = file.display().to_string();
        let input = if name == "-" {
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .map(|_| input)
                .map_err(|e| e.to_string())
        } else {
            std::fs::read_to_string(file).map_err(|e| e.to_string())
        };
        let input = match input {
            Ok(input) => input,
            Err(error) => {
                out.error(&format!("cannot read {name}: {error}"));
                return exit::USAGE;
            }
        };
        let run = match catch_unwind(AssertUnwindSafe(|| handle(&input, &options))) {
            Ok(run) => run,
            Err(_) => {
                out.error(&format!(
                    "internal error while judging {name} (a bug in Enact): the hook would deny it"
                ));
                return exit::FAILURE;
            }
        };
        let code = match (&run.judgement.problem, run.judgement.verdict) {
            (Some(_), _) => exit::USAGE,
            (None, Verdict::Deny) => exit::BLOCK,
            (None, Verdict::Ask) => exit::PENDING,
            (None, Verdict::Pass) => exit::OK,
        };
        worst = worst_of(worst, code);
        match run.answer.permission {
            Permission::Deny => denied += 1,
            Permission::Ask => asked += 1,
            Permission::Allow | Permission::Defer => passed += 1,
        }
        if as_json {
            documents.push(event_json(&name, &run));
        } else {
            text.push_str(&event_text(&run));
        }
    }
    if as_json {
        out.json(&json!({ "version": JSON_VERSION, "events": documents }));
    } else {
        if files.len() > 1 {
            text.push_str(&format!(
                "{} events: {denied} denied, {asked} asked, {passed} passed\n",
                files.len()
            ));
        }
        out.print(&text);
    }
    worst
}

/// The more severe of two `hook test` exit codes: broken setup, then deny, ask, pass.
fn worst_of(a: u8, b: u8) -> u8 {
    let rank = |code: u8| match code {
        exit::USAGE => 3,
        exit::BLOCK => 2,
        exit::PENDING => 1,
        _ => 0,
    };
    if rank(b) > rank(a) { b } else { a }
}

fn event_json(file: &str, run: &HookRun) -> serde_json::Value {
    let failing: Vec<&str> = run
        .judgement
        .policy_results
        .iter()
        .filter(|r| matches!(r.status.as_str(), "BLOCK" | "ERROR" | "APPROVAL"))
        .map(|r| r.policy.as_str())
        .collect();
    json!({
        "file": file,
        "verdict": run.judgement.verdict,
        "permission": run.answer.permission.as_str(),
        "exit_code": run.answer.exit_code(),
        "reason": run.answer.reason,
        "tool": run.judgement.tool,
        "action": run.judgement.action,
        "failing": failing,
        "problem": run.judgement.problem,
        "policies": run.policy_count,
        "policy_results": run.judgement.policy_results,
    })
}

/// One event as people read it: the decision, the tool, what it would do, and why.
fn event_text(run: &HookRun) -> String {
    let judgement = &run.judgement;
    let word = match run.answer.permission {
        Permission::Deny => "DENY ",
        Permission::Ask => "ASK  ",
        Permission::Allow => "ALLOW",
        Permission::Defer => "PASS ",
    };
    let tool = judgement.tool.as_deref().unwrap_or("?");
    let shown = judgement
        .action
        .as_ref()
        .map(|action| what(&action["args"]))
        .unwrap_or_default();
    let mut text = format!("{word}  {tool}  {shown}\n");
    if let Some(problem) = &judgement.problem {
        text.push_str(&format!("  ✗ {problem}\n"));
    }
    for reason in &judgement.reasons {
        text.push_str(&format!("  ✗ {reason}\n"));
    }
    if judgement.problem.is_none() {
        let count = judgement
            .policy_results
            .iter()
            .filter(|r| r.policy != crate::engine::hook::GUARD)
            .count();
        let of = run.policy_count;
        let answered = match run.answer.permission {
            Permission::Deny => format!("answer: deny (exit {BLOCKING_EXIT})"),
            Permission::Ask => "answer: ask the user".to_string(),
            Permission::Allow => "answer: allow".to_string(),
            Permission::Defer => {
                "answer: no decision (Claude Code's own permission settings apply)".to_string()
            }
        };
        text.push_str(&format!("  {count} of {of} policies applied; {answered}\n"));
    }
    text
}

/// The argument that says what a call does: the command, the path, the pattern or the URL.
fn what(args: &serde_json::Value) -> String {
    for key in ["command", "path", "url", "query", "prompt"] {
        if let Some(value) = args.get(key).and_then(|v| v.as_str()) {
            let pattern = ["grep_pattern", "glob_pattern"]
                .iter()
                .find_map(|k| args.get(*k).and_then(|v| v.as_str()));
            return match (key, pattern) {
                ("path", Some(pattern)) => format!("{pattern}  in {value}"),
                _ => value.lines().next().unwrap_or_default().to_string(),
            };
        }
    }
    args.to_string()
}

fn policies(out: &Output, flags: &ProjectFlags) -> u8 {
    let start = match start_dir() {
        Ok(start) => start,
        Err(problem) => {
            out.error(&problem);
            return exit::USAGE;
        }
    };
    let config = match Config::discover(flags.config.as_deref(), &start) {
        Ok(config) => config,
        Err(error) => {
            out.error(&error.to_string());
            return exit::USAGE;
        }
    };
    let loaded = match HookPolicies::load(&config) {
        Ok(loaded) => loaded,
        Err(error) => return super::project::engine_error(out, &error),
    };
    let configured = config.hook.as_ref().is_some_and(|h| h.policies.is_some());
    let mut text = if configured {
        format!(
            "# The hook's policies, from {} ({} in all).\n",
            config
                .file
                .as_deref()
                .map(Path::display)
                .map(|d| d.to_string())
                .unwrap_or_default(),
            loaded.uses.len()
        )
    } else {
        format!(
            "# The hook's default policy set ({} policies): paste this into enact.yaml and edit it\n# to change which policies judge each tool call.\n",
            loaded.uses.len()
        )
    };
    text.push_str("hook:\n  policies:\n");
    match config.hook.as_ref().and_then(|h| h.policies.as_ref()) {
        Some(entries) => {
            for entry in entries {
                let (key, value) = match &entry.entry.source {
                    PolicySource::Library(id) => ("use", id.clone()),
                    PolicySource::File(path) => ("file", path.display().to_string()),
                };
                text.push_str(&format!("    - {key}: {value}\n"));
                if !entry.entry.with.is_null() {
                    text.push_str(&format!("      with: {}\n", entry.entry.with.to_json()));
                }
                let level = entry.entry.level;
                if level != crate::policy::eval::Enforcement::Hard {
                    let name = serde_json::to_value(level).unwrap_or_default();
                    text.push_str(&format!(
                        "      level: {}\n",
                        name.as_str().unwrap_or("hard")
                    ));
                }
                if let Some(tools) = &entry.tools {
                    text.push_str(&format!("      tools: [{}]\n", tools.join(", ")));
                }
            }
        }
        None => {
            for (id, tools) in crate::hook::DEFAULT_POLICIES {
                text.push_str(&format!("    - use: {id}\n"));
                if let Some(tools) = tools {
                    text.push_str(&format!("      tools: [{}]\n", tools.join(", ")));
                }
            }
        }
    }
    out.print(&text);
    exit::OK
}

/// What `enact hook install` writes when the project has no config.
const CONFIG: &str = "\
# Enact: created by `enact hook install`. Each Claude Code tool call is judged by the hook's
# policies and recorded in a signed, chained receipt.
receipts: ./.enact/receipts         # one receipt per tool call (`enact ls`, `enact verify`)
secret_file: .enact/secret          # the signing secret (mode 600, git-ignored); $ENACT_SECRET wins
# hook:
#   on_pass: defer                  # `allow`: Claude Code runs passing calls without asking
#   policies:                       # replaces the default set; `enact hook policies` prints it
#     - use: coding_agent.block_terraform_destroy
#     - use: filesystem.dont_touch_ci_cd
#       tools: [Write, Edit, MultiEdit, NotebookEdit]
#     - file: ./policies/agent.enact
";

/// The secret file `install` creates and names in the config, relative to the project.
const SECRET_FILE: &str = ".enact/secret";

fn install(out: &Output, dir: Option<&Path>) -> u8 {
    let dir = match dir {
        Some(dir) => dir.to_path_buf(),
        None => match std::env::current_dir() {
            Ok(cwd) => cwd,
            Err(error) => {
                out.error(&format!("cannot read the current directory: {error}"));
                return exit::USAGE;
            }
        },
    };
    if !dir.is_dir() {
        out.error(&format!(
            "{} is not a directory; give the project's directory with --dir",
            dir.display()
        ));
        return exit::USAGE;
    }
    match install_in(&dir) {
        Ok(report) => {
            out.print(&report);
            exit::OK
        }
        Err(message) => {
            out.error(&message);
            exit::FAILURE
        }
    }
}

fn install_in(dir: &Path) -> Result<String, String> {
    let mut report = String::new();

    // Everything that can refuse comes first, so a refusal leaves the project as it was: the
    // settings merge (a broken file), then the config (a broken one).
    let settings_path = dir.join(".claude").join("settings.json");
    let settings_name = shown(dir, &settings_path);
    let existing = match std::fs::read_to_string(&settings_path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot read {settings_name}: {e}")),
    };
    let (merged, changed) =
        settings::merge(&settings_name, existing.as_deref()).map_err(|e| e.to_string())?;
    let policies_problem = |e: crate::engine::EngineError| {
        format!("{e}; fix the hook's policies in the config, then run `enact hook install` again")
    };
    // The project's own config: the hook, started in the project ($CLAUDE_PROJECT_DIR), finds
    // it before any in a parent directory.
    let path = dir.join(CONFIG_FILE);
    let config = if path.is_file() {
        let config = Config::load(&path).map_err(|e| e.to_string())?;
        HookPolicies::load(&config).map_err(policies_problem)?;
        report.push_str(&format!("kept     {CONFIG_FILE} (already there)\n"));
        with_secret_file(config, dir, &mut report)?
    } else {
        std::fs::write(&path, CONFIG)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        report.push_str(&format!("created  {CONFIG_FILE}\n"));
        Config::load(&path).map_err(|e| e.to_string())?
    };
    let policies = HookPolicies::load(&config).map_err(policies_problem)?;

    if let Some(secret) = &config.secret_file {
        if secret.exists() {
            report.push_str(&format!(
                "kept     {} (already there)\n",
                shown(dir, secret)
            ));
        } else {
            crate::engine::create_secret_file(secret)?;
            report.push_str(&format!("created  {} (mode 600)\n", shown(dir, secret)));
        }
        if let Ok(relative) = secret.strip_prefix(&config.base)
            && crate::engine::ignore_in_git(&config.base, &relative.display().to_string())?
        {
            report.push_str(&format!("added    {} to .gitignore\n", relative.display()));
        }
    }
    if let ReceiptsLocation::Directory(receipts) = &config.receipts
        && let Ok(relative) = receipts.strip_prefix(&config.base)
        && relative.starts_with(".enact")
        && crate::engine::ignore_in_git(&config.base, &format!("{}/", relative.display()))?
    {
        report.push_str(&format!("added    {}/ to .gitignore\n", relative.display()));
    }

    if changed {
        write_atomically(&settings_path, &merged)?;
        let verb = if existing.is_some() {
            "updated "
        } else {
            "created "
        };
        report.push_str(&format!(
            "{verb} {settings_name} (PreToolUse hook: {HOOK_COMMAND})\n"
        ));
    } else {
        report.push_str(&format!(
            "kept     {settings_name} (the hook is already there)\n"
        ));
    }
    report.push_str(&format!(
        "\nEvery Claude Code tool call in this project is now judged by {} policies before it runs.\n\
         Check it: enact hook test EVENT.json   Change the policies: enact hook policies\n",
        policies.uses.len()
    ));
    Ok(report)
}

/// A config without a secret file, whose secret variable is unset, gets `secret_file:` added,
/// so the hook can sign when Claude Code starts it without the variable. The text is appended,
/// never rewritten, and only when the result still loads.
fn with_secret_file(config: Config, dir: &Path, report: &mut String) -> Result<Config, String> {
    let variable_set = std::env::var_os(&config.secret_env).is_some_and(|v| !v.is_empty());
    let Some(file) = config.file.clone() else {
        return Ok(config);
    };
    if config.secret_file.is_some() || variable_set {
        return Ok(config);
    }
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let separator = if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    let added = format!(
        "{text}{separator}secret_file: {SECRET_FILE}              # added by `enact hook install`\n"
    );
    let checked = Config::parse(&file, &added).map_err(|e| {
        format!(
            "{} names no secret and {} is unset; adding `secret_file: {SECRET_FILE}` would break it ({e}), so add a secret yourself",
            shown(dir, &file),
            config.secret_env
        )
    })?;
    write_atomically(&file, &added)?;
    report.push_str(&format!(
        "added    secret_file: {SECRET_FILE} to {}\n",
        shown(dir, &file)
    ));
    Ok(checked)
}

/// Writes through a temporary file in the same directory, so an interrupted install never
/// leaves half a file.
fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let temporary = parent.join(format!(
        ".{}.enact-tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file")
    ));
    std::fs::write(&temporary, text)
        .and_then(|()| {
            if let Ok(metadata) = std::fs::metadata(path) {
                std::fs::set_permissions(&temporary, metadata.permissions())?;
            }
            std::fs::rename(&temporary, path)
        })
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A path relative to the project directory when it lies inside it.
fn shown(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.display().to_string())
}
