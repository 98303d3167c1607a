//! The hook guards its own files. An agent that could edit `enact.yaml`, the hook's policy
//! files or `.claude/settings.json`, or read the signing secret, could switch the firewall off
//! or forge its receipts with one ordinary tool call. So, whatever the configured policies say:
//! no file tool writes those files, nothing reads the secret, and no shell command writes them
//! by redirection or with a file-changing command (rm, mv, cp, tee, sed -i, ...).
//!
//! This stops the plain ways, not a program that opens the file itself (`python -c …`): file
//! permissions or a sandbox are the boundary for that.

use std::path::Path;

use super::WRITING_TOOLS;
use super::paths::PathBase;
use super::tools::{ToolAction, ToolKind};
use crate::policy::analysis::shell;

/// The files the hook depends on, canonical.
#[derive(Debug, Clone, Default)]
pub struct HookFiles {
    /// Readable but not writable by the agent: the config, the hook's policy files, the
    /// Claude Code settings, the receipt directory.
    pub guarded: Vec<String>,
    /// Neither readable nor writable: the signing secret.
    pub secret: Option<String>,
}

/// Commands that change or remove the files they name.
const FILE_CHANGERS: &[&str] = &[
    "rm", "rmdir", "mv", "cp", "tee", "truncate", "dd", "ln", "chmod", "chown", "install", "rsync",
    "unlink", "shred", "touch",
];

/// Commands that remove a directory with everything in it.
const REMOVERS: &[&str] = &["rm", "rmdir", "shred"];

/// Commands that change a file in place with `-i` (or `--in-place`).
const IN_PLACE: &[&str] = &["sed", "perl"];

/// Why the call is refused, when it touches the hook's files.
pub fn check(action: &ToolAction, files: &HookFiles, base: &PathBase) -> Option<String> {
    for path in paths(action, base) {
        if let Some(secret) = &files.secret
            && within(&path, secret)
        {
            return Some(format!(
                "'{path}' is Enact's signing secret: no tool call may read or change it"
            ));
        }
        // What an MCP or unknown tool does with a path is not known: it may write.
        let writes = WRITING_TOOLS.contains(&action.tool.as_str())
            || matches!(action.kind, ToolKind::Mcp | ToolKind::Unknown);
        if writes && let Some(guarded) = files.guarded.iter().find(|g| within(&path, g)) {
            return Some(format!(
                "'{path}' is one of the files the Enact hook runs on ({guarded}): an agent may not change them; ask the user to"
            ));
        }
    }
    let command = action.args.get("command").and_then(|c| c.as_str())?;
    // Whatever policies are configured: a command Enact cannot read may write anything.
    let Ok(commands) = shell::commands(command) else {
        return Some(
            "Enact cannot parse this shell command, so it cannot tell whether it changes the files the hook runs on; write it more simply"
                .to_string(),
        );
    };
    for command in &commands {
        let words = command
            .args
            .iter()
            .map(String::as_str)
            .chain(command.redirects.iter().map(|r| r.target.as_str()));
        for word in words {
            let word = word.rsplit('=').next().unwrap_or(word);
            let target = base.canonical(word);
            if let Some(secret) = &files.secret
                && within(&target, secret)
            {
                return Some(format!(
                    "'{word}' is Enact's signing secret: no command may read or change it"
                ));
            }
        }
        let changes = FILE_CHANGERS.contains(&command.name.as_str())
            || IN_PLACE.contains(&command.name.as_str())
                && command.args.iter().any(|a| {
                    a == "--in-place"
                        || (a.starts_with('-') && !a.starts_with("--") && a.contains('i'))
                });
        let written = command
            .redirects
            .iter()
            .filter(|r| r.op.contains('>'))
            .map(|r| r.target.as_str())
            .chain(command.args.iter().filter(|_| changes).map(String::as_str));
        // `rm -rf .enact` removes what lies inside too.
        let removes = REMOVERS.contains(&command.name.as_str());
        for word in written {
            // `of=FILE`, `--output=FILE`: the file is after the `=`.
            let target = base.canonical(word.rsplit('=').next().unwrap_or(word));
            let hit = files
                .guarded
                .iter()
                .find(|g| within(&target, g) || removes && within(g, &target));
            if let Some(guarded) = hit {
                let argv: Vec<&str> = std::iter::once(command.program.as_str())
                    .chain(command.args.iter().map(String::as_str))
                    .collect();
                return Some(format!(
                    "'{}' changes {guarded}, one of the files the Enact hook runs on: an agent may not change them; ask the user to",
                    argv.join(" ")
                ));
            }
        }
    }
    None
}

/// The paths a call names, canonical: a built-in tool's mapped `path`, and an MCP or unknown
/// tool's top-level string arguments whose names end in `path` (`path`, `file_path`, ...), which
/// it passes as given.
fn paths(action: &ToolAction, base: &PathBase) -> Vec<String> {
    match action.kind {
        ToolKind::Mcp | ToolKind::Unknown => action
            .args
            .iter()
            .filter(|(key, _)| key.ends_with("path"))
            .filter_map(|(_, value)| value.as_str())
            .map(|path| base.canonical(path))
            .collect(),
        ToolKind::Mapped | ToolKind::Inert => action
            .args
            .get("path")
            .and_then(|p| p.as_str())
            .map(str::to_string)
            .into_iter()
            .collect(),
    }
}

/// `path` is `dir` or lies inside it.
fn within(path: &str, dir: &str) -> bool {
    Path::new(path).starts_with(Path::new(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hook::event::HookEvent;
    use crate::hook::tools::map_tool;

    fn judge(tool: &str, input: serde_json::Value) -> Option<String> {
        let base = PathBase::new("/nonexistent-enact/p", "/nonexistent-enact/home");
        let event = HookEvent {
            session_id: None,
            transcript_path: None,
            cwd: Some(base.cwd.clone()),
            permission_mode: None,
            tool_name: tool.into(),
            tool_input: input.as_object().cloned().unwrap_or_default(),
            tool_use_id: None,
        };
        let files = HookFiles {
            guarded: vec![
                "/nonexistent-enact/p/enact.yaml".into(),
                "/nonexistent-enact/p/.claude/settings.json".into(),
                "/nonexistent-enact/p/.enact/receipts".into(),
            ],
            secret: Some("/nonexistent-enact/p/.enact/secret".into()),
        };
        check(&map_tool(&event, &base).unwrap(), &files, &base)
    }

    #[test]
    fn file_tools_may_read_the_config_but_not_change_it() {
        assert_eq!(
            judge("Read", serde_json::json!({"file_path": "enact.yaml"})),
            None
        );
        let refused = judge(
            "Edit",
            serde_json::json!({"file_path": "enact.yaml", "old_string": "a", "new_string": "b"}),
        );
        assert!(
            refused
                .unwrap()
                .contains("one of the files the Enact hook runs on")
        );
        assert!(
            judge(
                "Write",
                serde_json::json!({"file_path": ".claude/settings.json", "content": "{}"})
            )
            .is_some()
        );
        assert!(
            judge(
                "Write",
                serde_json::json!({"file_path": ".enact/receipts/x.json", "content": "{}"})
            )
            .is_some()
        );
        assert!(
            judge("Read", serde_json::json!({"file_path": "./.enact/secret"}))
                .unwrap()
                .contains("signing secret")
        );
        assert!(
            judge(
                "Grep",
                serde_json::json!({"pattern": "x", "path": ".enact/secret"})
            )
            .is_some()
        );
        assert_eq!(
            judge(
                "Write",
                serde_json::json!({"file_path": "src/enact.yaml.md", "content": ""})
            ),
            None
        );
    }

    #[test]
    fn mcp_tools_may_not_touch_them_by_any_spelling_of_the_path() {
        for (tool, input) in [
            (
                "mcp__filesystem__write_file",
                serde_json::json!({"path": "enact.yaml", "content": "hook: {policies: []}"}),
            ),
            (
                "mcp__fs__edit",
                serde_json::json!({"file_path": "./sub/../.claude/settings.json"}),
            ),
            (
                "mcp__fs__read_text_file",
                serde_json::json!({"path": "~/../../nonexistent-enact/p/.enact/secret"}),
            ),
            (
                "SomeNewTool",
                serde_json::json!({"target_path": ".enact/receipts"}),
            ),
        ] {
            assert!(judge(tool, input.clone()).is_some(), "{tool} {input}");
        }
        assert_eq!(
            judge(
                "mcp__filesystem__write_file",
                serde_json::json!({"path": "src/lib.rs", "content": ""})
            ),
            None
        );
    }

    #[test]
    fn a_command_that_does_not_parse_is_refused_whatever_the_policies() {
        let refused = judge(
            "Bash",
            serde_json::json!({"command": "echo x > enact.yaml; (("}),
        );
        assert!(refused.unwrap().contains("cannot parse this shell command"));
    }

    #[test]
    fn shell_commands_may_not_write_them_or_read_the_secret() {
        for command in [
            "echo 'hook: {policies: []}' > enact.yaml",
            "rm -rf .claude/settings.json",
            "sed -i 's/claude-code/true/' .claude/settings.json",
            "mv enact.yaml /tmp",
            "cat .enact/secret",
            "cp ~/x $PWD/../p/enact.yaml",
            "rm -rf .enact/receipts",
            "bash -c 'tee enact.yaml < /dev/null'",
            "dd if=/dev/zero of=enact.yaml",
            "rm -rf .enact",
            "rm -rf .",
        ] {
            assert!(
                judge("Bash", serde_json::json!({"command": command})).is_some(),
                "{command}"
            );
        }
        for command in [
            "cat enact.yaml",
            "enact verify",
            "grep hook enact.yaml",
            "sed 's/a/b/' enact.yaml",
            "ls .enact",
            "cp notes.txt .",
            "rm -rf build",
        ] {
            assert_eq!(
                judge("Bash", serde_json::json!({"command": command})),
                None,
                "{command}"
            );
        }
    }
}
