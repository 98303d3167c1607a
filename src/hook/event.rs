//! The Claude Code PreToolUse event, as read from the hook's standard input. Fields Claude Code
//! adds later are ignored; the ones Enact needs are checked, and a problem is an error that says
//! what is wrong (the hook then denies the call).

use serde::Deserialize;
use serde_json::Value as Json;

/// The event name this hook answers.
pub const PRE_TOOL_USE: &str = "PreToolUse";

/// One PreToolUse event.
#[derive(Debug, Clone, PartialEq)]
pub struct HookEvent {
    pub session_id: Option<String>,
    pub transcript_path: Option<String>,
    /// The agent's working directory when it made the call (absolute), if Claude Code gave one.
    pub cwd: Option<String>,
    pub permission_mode: Option<String>,
    pub tool_name: String,
    /// The tool's arguments, a JSON object.
    pub tool_input: serde_json::Map<String, Json>,
    pub tool_use_id: Option<String>,
}

/// Why an event cannot be judged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error(
        "the hook read no event on its standard input; Claude Code sends one JSON object per call"
    )]
    Empty,
    #[error("the event is not valid JSON ({0}); Claude Code sends one JSON object per call")]
    Json(String),
    #[error(
        "the event is a `{0}` event, and `enact hook claude-code` judges PreToolUse events only; register it under `hooks.PreToolUse` in .claude/settings.json (`enact hook install` does)"
    )]
    WrongEvent(String),
    #[error("the event has no `tool_name` string, so there is no tool call to judge")]
    NoToolName,
    #[error("the event's `tool_input` is {0}, not a JSON object")]
    BadToolInput(&'static str),
    #[error("the event's `cwd` is `{0}`, not an absolute path")]
    RelativeCwd(String),
}

#[derive(Deserialize)]
struct RawEvent {
    session_id: Option<Json>,
    transcript_path: Option<Json>,
    cwd: Option<Json>,
    permission_mode: Option<Json>,
    hook_event_name: Option<Json>,
    tool_name: Option<Json>,
    tool_input: Option<Json>,
    tool_use_id: Option<Json>,
}

fn text(value: Option<Json>) -> Option<String> {
    match value {
        Some(Json::String(s)) => Some(s),
        _ => None,
    }
}

impl HookEvent {
    /// Parses and checks an event.
    pub fn parse(input: &str) -> Result<HookEvent, EventError> {
        if input.trim().is_empty() {
            return Err(EventError::Empty);
        }
        let raw: RawEvent =
            serde_json::from_str(input).map_err(|e| EventError::Json(e.to_string()))?;
        if let Some(name) = text(raw.hook_event_name)
            && name != PRE_TOOL_USE
        {
            return Err(EventError::WrongEvent(name));
        }
        let tool_name = text(raw.tool_name)
            .filter(|n| !n.trim().is_empty())
            .ok_or(EventError::NoToolName)?;
        let tool_input = match raw.tool_input {
            Some(Json::Object(map)) => map,
            // A tool that takes no arguments may be sent without any.
            None | Some(Json::Null) => serde_json::Map::new(),
            Some(Json::Array(_)) => return Err(EventError::BadToolInput("a list")),
            Some(Json::String(_)) => return Err(EventError::BadToolInput("a string")),
            Some(_) => return Err(EventError::BadToolInput("a scalar")),
        };
        let cwd = text(raw.cwd);
        if let Some(cwd) = &cwd
            && !cwd.starts_with('/')
        {
            return Err(EventError::RelativeCwd(cwd.clone()));
        }
        Ok(HookEvent {
            session_id: text(raw.session_id),
            transcript_path: text(raw.transcript_path),
            cwd,
            permission_mode: text(raw.permission_mode),
            tool_name,
            tool_input,
            tool_use_id: text(raw.tool_use_id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_event_parses_and_unknown_fields_are_ignored() {
        let event = HookEvent::parse(
            r#"{"session_id":"s1","transcript_path":"/t.jsonl","cwd":"/proj","permission_mode":"default",
               "hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"},
               "tool_use_id":"toolu_1","prompt_id":"new-field"}"#,
        )
        .unwrap();
        assert_eq!(event.tool_name, "Bash");
        assert_eq!(event.cwd.as_deref(), Some("/proj"));
        assert_eq!(event.tool_input["command"], "ls");
        assert_eq!(event.tool_use_id.as_deref(), Some("toolu_1"));
    }

    #[test]
    fn broken_events_say_what_is_wrong() {
        for (input, wanted) in [
            ("", EventError::Empty),
            ("  \n", EventError::Empty),
            ("{\"tool_name\":", EventError::Json(String::new())),
            (
                r#"{"hook_event_name":"PostToolUse","tool_name":"Bash"}"#,
                EventError::WrongEvent("PostToolUse".into()),
            ),
            (r#"{"tool_input":{}}"#, EventError::NoToolName),
            (r#"{"tool_name":7}"#, EventError::NoToolName),
            (
                r#"{"tool_name":"Bash","tool_input":"ls"}"#,
                EventError::BadToolInput("a string"),
            ),
            (
                r#"{"tool_name":"Bash","tool_input":{},"cwd":"proj"}"#,
                EventError::RelativeCwd("proj".into()),
            ),
        ] {
            let error = HookEvent::parse(input).unwrap_err();
            match (&error, &wanted) {
                (EventError::Json(_), EventError::Json(_)) => {}
                _ => assert_eq!(error, wanted, "{input}"),
            }
            assert!(!error.to_string().is_empty());
        }
        assert!(HookEvent::parse("[1]").is_err());
    }
}
