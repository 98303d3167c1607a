//! Claude Code tool calls as typed actions: the fields the policy library reads (`command`,
//! `sql`, `path`, `content`, `grep_pattern`, `glob_pattern`, `url`, ...) taken from each tool's
//! arguments, with every path made canonical. A built-in tool whose arguments lack a field it
//! always has is an error, never a call judged on nothing.

use serde_json::{Map, Value as Json};

use super::event::HookEvent;
use super::paths::PathBase;
use crate::policy::analysis::shell;

/// The system every Claude Code built-in tool is presented under (`claude_code.Bash`); an MCP
/// tool `mcp__SERVER__TOOL` is presented as `mcp__SERVER.TOOL`.
pub const CLAUDE_CODE: &str = "claude_code";

/// What Enact knows of a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolKind {
    /// A built-in tool whose arguments are mapped to the library's fields.
    Mapped,
    /// A built-in tool that touches nothing outside the session (TodoWrite, ExitPlanMode, ...):
    /// its arguments are judged as given.
    Inert,
    /// An MCP tool: its arguments are judged as given.
    Mcp,
    /// A tool Enact does not know: judged as given, and a human is asked even when every policy
    /// passes, because no policy was written with its arguments in mind.
    Unknown,
}

impl ToolKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ToolKind::Mapped => "mapped",
            ToolKind::Inert => "inert",
            ToolKind::Mcp => "mcp",
            ToolKind::Unknown => "unknown",
        }
    }
}

/// A tool call as the policies see it: `action` = `{system, name, args}`, `input` = `args`.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolAction {
    /// The tool's name as Claude Code gave it.
    pub tool: String,
    pub system: String,
    pub name: String,
    pub args: Map<String, Json>,
    pub kind: ToolKind,
}

/// A built-in tool call whose arguments are not what that tool sends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {tool} call has {problem}, so Enact cannot tell what it would do")]
pub struct ToolError {
    pub tool: String,
    pub problem: String,
}

/// Tools that act on nothing outside the agent's own session.
const INERT: &[&str] = &[
    "TodoWrite",
    "ExitPlanMode",
    "BashOutput",
    "KillShell",
    "KillBash",
];

/// Maps one event's tool call.
pub fn map_tool(event: &HookEvent, base: &PathBase) -> Result<ToolAction, ToolError> {
    let tool = event.tool_name.as_str();
    let input = Input {
        tool,
        map: &event.tool_input,
    };
    let mut args = Map::new();
    let mut put = |key: &str, value: Json| {
        args.insert(key.to_string(), value);
    };
    let kind = match tool {
        "Bash" => {
            let command = input.required_str("command")?;
            put("command", command.into());
            if let Some(description) = input.optional_str("description")? {
                put("description", description.into());
            }
            // A command that does not lex carries no SQL or branches here; the shell policies
            // then fail closed on the command itself.
            if let Ok(commands) = shell::commands(command) {
                if let Some(sql) = super::sql::sql_of(&commands) {
                    put("sql", sql.into());
                }
                // The branches its `git push`es reach: `branch` when there is one, and always
                // the list, so that a command pushing to two is judged on both.
                let branches = super::git::pushed_branches(&commands, base);
                if let [branch] = branches.as_slice() {
                    put("branch", branch.as_str().into());
                }
                if !branches.is_empty() {
                    put("branches", branches.into());
                }
            }
            ToolKind::Mapped
        }
        "Read" | "LS" => {
            let key = if tool == "Read" { "file_path" } else { "path" };
            put("path", base.canonical(input.required_str(key)?).into());
            ToolKind::Mapped
        }
        "Write" => {
            put(
                "path",
                base.canonical(input.required_str("file_path")?).into(),
            );
            put("content", input.required_str("content")?.into());
            ToolKind::Mapped
        }
        "Edit" => {
            put(
                "path",
                base.canonical(input.required_str("file_path")?).into(),
            );
            put("content", input.required_str("new_string")?.into());
            put("replaced", input.required_str("old_string")?.into());
            ToolKind::Mapped
        }
        "MultiEdit" => {
            put(
                "path",
                base.canonical(input.required_str("file_path")?).into(),
            );
            let (new, old) = input.edits()?;
            put("content", new.into());
            put("replaced", old.into());
            ToolKind::Mapped
        }
        "NotebookEdit" => {
            put(
                "path",
                base.canonical(input.required_str("notebook_path")?).into(),
            );
            if let Some(source) = input.optional_str("new_source")? {
                put("content", source.into());
            }
            ToolKind::Mapped
        }
        "Glob" | "Grep" => {
            let field = if tool == "Glob" {
                "glob_pattern"
            } else {
                "grep_pattern"
            };
            put(field, input.required_str("pattern")?.into());
            // Without a path, the tool searches the working directory.
            let dir = input.optional_str("path")?.unwrap_or(".");
            put("path", base.canonical(dir).into());
            if tool == "Grep"
                && let Some(glob) = input.optional_str("glob")?
            {
                put("glob_pattern", glob.into());
            }
            ToolKind::Mapped
        }
        "WebFetch" => {
            put("url", input.required_str("url")?.into());
            if let Some(prompt) = input.optional_str("prompt")? {
                put("prompt", prompt.into());
            }
            ToolKind::Mapped
        }
        "WebSearch" => {
            put("query", input.required_str("query")?.into());
            ToolKind::Mapped
        }
        "Task" => {
            put("prompt", input.required_str("prompt")?.into());
            if let Some(description) = input.optional_str("description")? {
                put("description", description.into());
            }
            ToolKind::Mapped
        }
        _ => {
            args = event.tool_input.clone();
            args.entry("tool_name")
                .or_insert_with(|| Json::String(tool.to_string()));
            if INERT.contains(&tool) {
                ToolKind::Inert
            } else if mcp_parts(tool).is_some() {
                ToolKind::Mcp
            } else {
                ToolKind::Unknown
            }
        }
    };
    let (system, name) = match mcp_parts(tool) {
        Some((server, name)) => (format!("mcp__{server}"), name.to_string()),
        None => (CLAUDE_CODE.to_string(), tool.to_string()),
    };
    Ok(ToolAction {
        tool: tool.to_string(),
        system,
        name,
        args,
        kind,
    })
}

/// `mcp__github__create_issue` → (`github`, `create_issue`).
fn mcp_parts(tool: &str) -> Option<(&str, &str)> {
    let rest = tool.strip_prefix("mcp__")?;
    let (server, name) = rest.split_once("__")?;
    (!server.is_empty() && !name.is_empty()).then_some((server, name))
}

struct Input<'a> {
    tool: &'a str,
    map: &'a Map<String, Json>,
}

impl<'a> Input<'a> {
    fn problem(&self, problem: String) -> ToolError {
        ToolError {
            tool: self.tool.to_string(),
            problem,
        }
    }

    fn required_str(&self, key: &str) -> Result<&'a str, ToolError> {
        self.optional_str(key)?
            .ok_or_else(|| self.problem(format!("no `{key}`")))
    }

    fn optional_str(&self, key: &str) -> Result<Option<&'a str>, ToolError> {
        match self.map.get(key) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(text)) => Ok(Some(text)),
            Some(other) => {
                let article = if key.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                };
                Err(self.problem(format!(
                    "{article} `{key}` that is {}, not a string",
                    json_kind(other)
                )))
            }
        }
    }

    /// MultiEdit's `edits`: the new texts and the replaced texts, each joined by newlines.
    fn edits(&self) -> Result<(String, String), ToolError> {
        let Some(Json::Array(edits)) = self.map.get("edits") else {
            return Err(self.problem("no `edits` list".into()));
        };
        let mut new = Vec::new();
        let mut old = Vec::new();
        for (index, edit) in edits.iter().enumerate() {
            let text = |key: &str| match edit.get(key) {
                Some(Json::String(text)) => Ok(text.as_str()),
                _ => Err(self.problem(format!("an edit ({index}) without a `{key}` string"))),
            };
            new.push(text("new_string")?);
            old.push(text("old_string")?);
        }
        Ok((new.join("\n"), old.join("\n")))
    }
}

fn json_kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a map",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(tool: &str, input: Json) -> HookEvent {
        HookEvent {
            session_id: None,
            transcript_path: None,
            cwd: Some("/nonexistent-enact/proj".into()),
            permission_mode: None,
            tool_name: tool.into(),
            tool_input: input.as_object().cloned().unwrap_or_default(),
            tool_use_id: None,
        }
    }

    fn map(tool: &str, input: Json) -> Result<ToolAction, ToolError> {
        let base = PathBase::new("/nonexistent-enact/proj", "/nonexistent-enact/home");
        map_tool(&event(tool, input), &base)
    }

    #[test]
    fn built_in_tools_present_the_library_fields() {
        let bash = map(
            "Bash",
            serde_json::json!({"command": "psql -c 'DELETE FROM t'", "timeout": 5}),
        )
        .unwrap();
        assert_eq!(
            (bash.system.as_str(), bash.name.as_str()),
            ("claude_code", "Bash")
        );
        assert_eq!(bash.args["command"], "psql -c 'DELETE FROM t'");
        assert_eq!(bash.args["sql"], "DELETE FROM t");
        assert!(!bash.args.contains_key("timeout"));
        assert!(!bash.args.contains_key("branches"), "no push, no branches");
        let push = map(
            "Bash",
            serde_json::json!({"command": "git push origin main && git push origin HEAD:x"}),
        )
        .unwrap();
        assert_eq!(push.args["branches"], serde_json::json!(["main", "x"]));
        assert!(
            !push.args.contains_key("branch"),
            "two branches: no single one"
        );
        let push = map(
            "Bash",
            serde_json::json!({"command": "git push origin main"}),
        )
        .unwrap();
        assert_eq!(push.args["branch"], "main");

        let read = map(
            "Read",
            serde_json::json!({"file_path": "../proj/./src/../.env", "limit": 3}),
        )
        .unwrap();
        assert_eq!(read.args["path"], "/nonexistent-enact/proj/.env");

        let edit = map(
            "Edit",
            serde_json::json!({"file_path": "~/x.py", "old_string": "a", "new_string": "b"}),
        )
        .unwrap();
        assert_eq!(edit.args["path"], "/nonexistent-enact/home/x.py");
        assert_eq!(
            (
                edit.args["content"].as_str(),
                edit.args["replaced"].as_str()
            ),
            (Some("b"), Some("a"))
        );

        let multi = map(
            "MultiEdit",
            serde_json::json!({"file_path": "/a", "edits": [
            {"old_string": "1", "new_string": "one"}, {"old_string": "2", "new_string": "two"}]}),
        )
        .unwrap();
        assert_eq!(multi.args["content"], "one\ntwo");

        let grep = map(
            "Grep",
            serde_json::json!({"pattern": "API_KEY", "glob": "*.pem"}),
        )
        .unwrap();
        assert_eq!(grep.args["grep_pattern"], "API_KEY");
        assert_eq!(grep.args["glob_pattern"], "*.pem");
        assert_eq!(grep.args["path"], "/nonexistent-enact/proj");

        let glob = map(
            "Glob",
            serde_json::json!({"pattern": "**/.ssh/*", "path": "$HOME"}),
        )
        .unwrap();
        assert_eq!(glob.args["glob_pattern"], "**/.ssh/*");
        assert_eq!(glob.args["path"], "/nonexistent-enact/home");

        let fetch = map(
            "WebFetch",
            serde_json::json!({"url": "https://x.test", "prompt": "sum"}),
        )
        .unwrap();
        assert_eq!(fetch.args["url"], "https://x.test");
        assert!(read.kind == ToolKind::Mapped && fetch.kind == ToolKind::Mapped);
    }

    #[test]
    fn mcp_and_unknown_tools_are_judged_as_given() {
        let mcp = map(
            "mcp__github__create_pull_request",
            serde_json::json!({"base": "main", "head": "x"}),
        )
        .unwrap();
        assert_eq!(
            (mcp.system.as_str(), mcp.name.as_str()),
            ("mcp__github", "create_pull_request")
        );
        assert_eq!(mcp.args["base"], "main");
        assert_eq!(mcp.args["tool_name"], "mcp__github__create_pull_request");
        assert_eq!(mcp.kind, ToolKind::Mcp);
        assert_eq!(
            map("TodoWrite", serde_json::json!({"todos": []}))
                .unwrap()
                .kind,
            ToolKind::Inert
        );
        let unknown = map("Teleport", serde_json::json!({"to": "mars"})).unwrap();
        assert_eq!(unknown.kind, ToolKind::Unknown);
        assert_eq!(unknown.args["to"], "mars");
        // `mcp__` alone, or without a tool part, is not an MCP tool.
        assert_eq!(
            map("mcp__x", serde_json::json!({})).unwrap().kind,
            ToolKind::Unknown
        );
    }

    #[test]
    fn missing_or_mistyped_fields_are_errors() {
        for (tool, input, wanted) in [
            (
                "Bash",
                serde_json::json!({}),
                "the Bash call has no `command`",
            ),
            (
                "Bash",
                serde_json::json!({"command": ["rm", "-rf"]}),
                "a `command` that is a list",
            ),
            ("Read", serde_json::json!({"path": "/x"}), "no `file_path`"),
            (
                "Write",
                serde_json::json!({"file_path": "/x"}),
                "no `content`",
            ),
            (
                "Edit",
                serde_json::json!({"file_path": "/x", "old_string": "a"}),
                "no `new_string`",
            ),
            (
                "MultiEdit",
                serde_json::json!({"file_path": "/x", "edits": [{"old_string": "a"}]}),
                "an edit (0) without a `new_string`",
            ),
            (
                "MultiEdit",
                serde_json::json!({"file_path": "/x"}),
                "no `edits` list",
            ),
            (
                "Grep",
                serde_json::json!({"pattern": 3}),
                "a `pattern` that is a number",
            ),
            ("WebFetch", serde_json::json!({}), "no `url`"),
        ] {
            let error = map(tool, input).unwrap_err().to_string();
            assert!(error.contains(wanted), "{tool}: {error}");
        }
    }
}
