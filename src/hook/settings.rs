//! `.claude/settings.json`: the PreToolUse entry that runs `enact hook claude-code`, merged into
//! whatever the file holds. Every other key, and every other hook, is kept in its place (keys are
//! not reordered); a file that already runs the hook is left as it is; a file that is not valid
//! JSON, or whose `hooks` are not shaped as Claude Code reads them, is refused, never rewritten.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// What the hook entry runs. `|| exit 2` turns any failure to start or finish — `enact` not on
/// the PATH (127), a crash — into the exit code with which Claude Code blocks the call: other
/// codes are "non-blocking errors" there, and the call would go ahead.
pub const HOOK_COMMAND: &str = "enact hook claude-code || exit 2";

/// The words that identify the hook in an existing entry, however it was written.
const HOOK_SIGNATURE: &str = "enact hook claude-code";

/// Why the settings could not be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error(
        "{file} is not valid JSON (line {line}, column {column}: {message}); fix it or move it away, then run `enact hook install` again — it was left untouched"
    )]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{file}: {problem}; Claude Code could not read hooks from it either, so it was left untouched — fix it, then run `enact hook install` again"
    )]
    Shape { file: String, problem: String },
}

/// The merged settings text, and whether it differs from `existing`.
pub fn merge(file: &str, existing: Option<&str>) -> Result<(String, bool), SettingsError> {
    let mut root = match existing.filter(|text| !text.trim().is_empty()) {
        None => Ordered::Object(Vec::new()),
        Some(text) => {
            serde_json::from_str::<Ordered>(text).map_err(|e| SettingsError::Invalid {
                file: file.to_string(),
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            })?
        }
    };
    let shape = |problem: &str| SettingsError::Shape {
        file: file.to_string(),
        problem: problem.to_string(),
    };
    let Ordered::Object(top) = &mut root else {
        return Err(shape("the file is not a JSON object"));
    };
    let hooks = entry(top, "hooks", || Ordered::Object(Vec::new()));
    let Some(Ordered::Object(hooks)) = hooks else {
        return Err(shape("`hooks` is not an object"));
    };
    let pre = entry(hooks, "PreToolUse", || Ordered::Array(Vec::new()));
    let Some(Ordered::Array(matchers)) = pre else {
        return Err(shape("`hooks.PreToolUse` is not a list"));
    };
    for matcher in matchers.iter() {
        let Ordered::Object(fields) = matcher else {
            return Err(shape("an entry of `hooks.PreToolUse` is not an object"));
        };
        let commands = fields.iter().find(|(k, _)| k == "hooks").map(|(_, v)| v);
        match commands {
            Some(Ordered::Array(list)) => {
                let installed = list.iter().any(|hook| {
                    matches!(hook, Ordered::Object(h) if h.iter().any(|(k, v)| {
                        k == "command" && matches!(v, Ordered::String(c) if c.contains(HOOK_SIGNATURE))
                    }))
                });
                if installed {
                    return Ok((existing.unwrap_or_default().to_string(), false));
                }
            }
            _ => {
                return Err(shape("an entry of `hooks.PreToolUse` has no `hooks` list"));
            }
        }
    }
    matchers.push(Ordered::Object(vec![
        ("matcher".into(), Ordered::String("*".into())),
        (
            "hooks".into(),
            Ordered::Array(vec![Ordered::Object(vec![
                ("type".into(), Ordered::String("command".into())),
                ("command".into(), Ordered::String(HOOK_COMMAND.into())),
            ])]),
        ),
    ]));
    let text = serde_json::to_string_pretty(&root).map_err(|e| shape(&e.to_string()))?;
    Ok((format!("{text}\n"), true))
}

/// The value under `key`, inserted at the end when absent.
fn entry<'a>(
    fields: &'a mut Vec<(String, Ordered)>,
    key: &str,
    make: impl FnOnce() -> Ordered,
) -> Option<&'a mut Ordered> {
    if !fields.iter().any(|(k, _)| k == key) {
        fields.push((key.to_string(), make()));
    }
    fields.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// JSON that keeps its objects' key order (serde_json's map here sorts keys).
#[derive(Debug, Clone, PartialEq)]
enum Ordered {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Ordered>),
    Object(Vec<(String, Ordered)>),
}

impl Serialize for Ordered {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Ordered::Null => serializer.serialize_unit(),
            Ordered::Bool(b) => serializer.serialize_bool(*b),
            Ordered::Number(n) => n.serialize(serializer),
            Ordered::String(s) => serializer.serialize_str(s),
            Ordered::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Ordered::Object(fields) => {
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (key, value) in fields {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OrderedVisitor)
    }
}

struct OrderedVisitor;

impl<'de> Visitor<'de> for OrderedVisitor {
    type Value = Ordered;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Ordered, E> {
        Ok(Ordered::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Ordered, E> {
        Ok(Ordered::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Ordered, E> {
        Ok(Ordered::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Ordered, E> {
        Ok(Ordered::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Ordered, E> {
        serde_json::Number::from_f64(v)
            .map(Ordered::Number)
            .ok_or_else(|| E::custom("a number JSON cannot hold"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Ordered, E> {
        Ok(Ordered::String(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Ordered, E> {
        Ok(Ordered::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ordered, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Ordered::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
        let mut fields = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Ordered>()? {
            fields.push((key, value));
        }
        Ok(Ordered::Object(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_gets_the_hook() {
        let (text, changed) = merge("s.json", None).unwrap();
        assert!(changed);
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["hooks"]["PreToolUse"][0]["matcher"], "*");
        assert_eq!(
            json["hooks"]["PreToolUse"][0]["hooks"][0]["type"],
            "command"
        );
        assert_eq!(
            json["hooks"]["PreToolUse"][0]["hooks"][0]["command"],
            HOOK_COMMAND
        );
    }

    #[test]
    fn other_keys_and_hooks_are_kept_in_order_and_a_second_install_changes_nothing() {
        let existing = r#"{
  "permissions": {"deny": ["Read(./secrets/**)"], "allow": ["Bash(npm test)"]},
  "model": "opus",
  "hooks": {
    "PostToolUse": [{"matcher": "Edit", "hooks": [{"type": "command", "command": "prettier --write"}]}],
    "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./guard.sh", "timeout": 5}]}]
  },
  "zeta": 1.5
}"#;
        let (text, changed) = merge("s.json", Some(existing)).unwrap();
        assert!(changed);
        // Key order as written: permissions, model, hooks, zeta; deny before allow.
        let order: Vec<usize> = [
            "\"permissions\"",
            "\"deny\"",
            "\"allow\"",
            "\"model\"",
            "\"PostToolUse\"",
            "\"PreToolUse\"",
            "\"zeta\"",
        ]
        .iter()
        .map(|k| text.find(k).unwrap())
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let pre = json["hooks"]["PreToolUse"].as_array().unwrap();
        assert_eq!(pre.len(), 2);
        assert_eq!(pre[0]["hooks"][0]["command"], "./guard.sh");
        assert_eq!(pre[0]["hooks"][0]["timeout"], 5);
        assert_eq!(pre[1]["hooks"][0]["command"], HOOK_COMMAND);
        assert_eq!(json["zeta"], 1.5);
        assert_eq!(
            json["hooks"]["PostToolUse"][0]["hooks"][0]["command"],
            "prettier --write"
        );
        let (again, changed) = merge("s.json", Some(&text)).unwrap();
        assert!(!changed);
        assert_eq!(again, text);
    }

    #[test]
    fn a_hand_written_entry_counts_as_installed() {
        let existing = r#"{"hooks":{"PreToolUse":[{"matcher":"Bash|Read","hooks":[{"type":"command","command":"/opt/bin/enact hook claude-code"}]}]}}"#;
        assert_eq!(
            merge("s.json", Some(existing)).unwrap(),
            (existing.to_string(), false)
        );
    }

    #[test]
    fn broken_files_are_refused_with_their_place() {
        let error = merge(
            ".claude/settings.json",
            Some("{\n  \"model\": \"opus\",\n}\n"),
        )
        .unwrap_err();
        match &error {
            SettingsError::Invalid { line, .. } => assert_eq!(*line, 3),
            other => panic!("{other:?}"),
        }
        assert!(
            error
                .to_string()
                .contains(".claude/settings.json is not valid JSON (line 3")
        );
        for (text, wanted) in [
            ("[]", "not a JSON object"),
            (r#"{"hooks": []}"#, "`hooks` is not an object"),
            (
                r#"{"hooks": {"PreToolUse": {}}}"#,
                "`hooks.PreToolUse` is not a list",
            ),
            (
                r#"{"hooks": {"PreToolUse": [{"matcher": "*"}]}}"#,
                "has no `hooks` list",
            ),
        ] {
            let error = merge("s.json", Some(text)).unwrap_err().to_string();
            assert!(error.contains(wanted), "{text}: {error}");
        }
    }
}
