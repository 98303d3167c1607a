//! The hook's answer in Claude Code's protocol: JSON on stdout with
//! `hookSpecificOutput.permissionDecision` (`allow`, `deny`, `ask`) and its reason, and the exit
//! code. A denial also exits 2 with the reason on stderr: Claude Code blocks a call on exit 2
//! whatever stdout holds, so the call stays blocked even where the JSON is not understood.

use serde_json::json;

use super::event::PRE_TOOL_USE;

/// The exit code with which Claude Code blocks a tool call and shows stderr to the agent.
pub const BLOCKING_EXIT: u8 = 2;

/// What the hook tells Claude Code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Run it without asking (only when the config says `on_pass: allow`).
    Allow,
    /// No decision: Claude Code's own permission rules and prompts decide, as without the hook.
    Defer,
    /// Ask the user.
    Ask,
    /// Block it; the reason goes to the agent.
    Deny,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Allow => "allow",
            Permission::Defer => "defer",
            Permission::Ask => "ask",
            Permission::Deny => "deny",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub permission: Permission,
    pub reason: String,
}

impl Answer {
    pub fn deny(reason: impl Into<String>) -> Answer {
        Answer {
            permission: Permission::Deny,
            reason: reason.into(),
        }
    }

    /// The JSON for stdout (one line).
    pub fn stdout(&self) -> String {
        let document = match self.permission {
            Permission::Defer => json!({}),
            permission => json!({
                "hookSpecificOutput": {
                    "hookEventName": PRE_TOOL_USE,
                    "permissionDecision": permission.as_str(),
                    "permissionDecisionReason": self.reason,
                }
            }),
        };
        document.to_string()
    }

    /// What goes to stderr: the reason of a denial, which Claude Code shows the agent on exit 2.
    pub fn stderr(&self) -> Option<&str> {
        (self.permission == Permission::Deny).then_some(self.reason.as_str())
    }

    pub fn exit_code(&self) -> u8 {
        if self.permission == Permission::Deny {
            BLOCKING_EXIT
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_permission_in_the_protocol() {
        let deny = Answer::deny("no");
        let json: serde_json::Value = serde_json::from_str(&deny.stdout()).unwrap();
        assert_eq!(json["hookSpecificOutput"]["hookEventName"], "PreToolUse");
        assert_eq!(json["hookSpecificOutput"]["permissionDecision"], "deny");
        assert_eq!(json["hookSpecificOutput"]["permissionDecisionReason"], "no");
        assert_eq!((deny.exit_code(), deny.stderr()), (2, Some("no")));
        let ask = Answer {
            permission: Permission::Ask,
            reason: "sure?".into(),
        };
        assert!(ask.stdout().contains(r#""permissionDecision":"ask""#));
        assert_eq!((ask.exit_code(), ask.stderr()), (0, None));
        let defer = Answer {
            permission: Permission::Defer,
            reason: "fine".into(),
        };
        assert_eq!((defer.stdout().as_str(), defer.exit_code()), ("{}", 0));
    }
}
