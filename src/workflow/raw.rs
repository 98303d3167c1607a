//! The YAML shape of a workflow file as serde reads it. Values that can be checked on their
//! own (names, `system.action`, templates, policy entries) are checked while they are read, so
//! serde_yaml reports each problem at the value's own line and column.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

use super::error::Problem;
use super::inputs::RawInput;
use super::policy_entry::PolicyEntry;
use super::template::{Condition, TemplateValue};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWorkflow {
    pub name: Name,
    pub description: String,
    pub inputs: Option<Ordered<RawInput>>,
    pub policies: Option<Vec<PolicyEntry>>,
    pub steps: Option<Vec<RawStep>>,
    pub outputs: Option<Ordered<TemplateValue>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStep {
    pub id: StepId,
    pub action: ActionRef,
    pub with: Option<TemplateValue>,
    #[serde(rename = "if")]
    pub condition: Option<Condition>,
    #[serde(default)]
    pub continue_on_error: bool,
}

/// Reads a string and checks it inside the scalar's own deserialisation, so an error carries
/// the scalar's position rather than that of the map around it.
pub(crate) struct CheckedStr<F>(pub F);

impl<'de, T, F: FnOnce(&str) -> Result<T, Problem>> DeserializeSeed<'de> for CheckedStr<F> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, T, F: FnOnce(&str) -> Result<T, Problem>> Visitor<'de> for CheckedStr<F> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<T, E> {
        (self.0)(s).map_err(Problem::serde)
    }
}

/// A workflow name: lower-case letters, digits and `_`.
pub(crate) struct Name(pub String);

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        CheckedStr(|name: &str| {
            if !name.is_empty() && name.chars().all(is_name_char) {
                Ok(Name(name.to_string()))
            } else {
                Err(
                    Problem::new(format!("`{name}` is not a valid workflow name")).help(format!(
                        "use lower-case letters, digits and `_`, e.g. `{}`",
                        suggest_name(name)
                    )),
                )
            }
        })
        .deserialize(deserializer)
    }
}

/// A step id: a lower-case name templates can read as `steps.<id>`.
pub(crate) struct StepId(pub String);

impl<'de> Deserialize<'de> for StepId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        CheckedStr(|id: &str| {
            if is_identifier(id, false) {
                Ok(StepId(id.to_string()))
            } else {
                Err(
                    Problem::new(format!("`{id}` is not a valid step id")).help(format!(
                        "use lower-case letters, digits and `_`, starting with a letter, e.g. `{}`",
                        suggest_name(id)
                    )),
                )
            }
        })
        .deserialize(deserializer)
    }
}

/// `system.action`.
pub(crate) struct ActionRef {
    pub system: String,
    pub action: String,
}

impl<'de> Deserialize<'de> for ActionRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        CheckedStr(|text: &str| {
            let Some((system, action)) = text.split_once('.') else {
                return Err(Problem::new(format!("action `{text}` names no system")).help(
                    format!(
                        "write `system.action`, e.g. `github.{text}` or `files.{text}`, with a system from the config"
                    ),
                ));
            };
            let system_ok =
                !system.is_empty() && system.chars().all(|c| is_name_char(c) || c == '-');
            let action_ok = !action.is_empty() && action.chars().all(is_name_char);
            if system_ok && action_ok {
                Ok(ActionRef {
                    system: system.to_string(),
                    action: action.to_string(),
                })
            } else {
                Err(Problem::new(format!("`{text}` is not a valid `system.action`")).help(
                    "a system and an action in lower case, joined by one dot: `github.create_branch`",
                ))
            }
        })
        .deserialize(deserializer)
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
}

/// A name templates can read with a dot: `[a-z_][a-z0-9_]*`, upper case too when allowed.
pub(crate) fn is_identifier(name: &str, upper: bool) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_' || (upper && c.is_ascii_uppercase()))
        && chars.all(|c| is_name_char(c) || (upper && c.is_ascii_uppercase()))
}

fn suggest_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert_str(0, "x_");
    }
    out
}

/// A YAML map read in order, with duplicate keys refused.
pub(crate) struct Ordered<T>(pub Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(OrderedVisitor(PhantomData))
    }
}

struct OrderedVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for OrderedVisitor<T> {
    type Value = Ordered<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of names to values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered<T>, A::Error> {
        let mut entries: Vec<(String, T)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(Problem::new(format!("`{key}` is declared twice"))
                    .help("each name may appear once; remove one of them")
                    .duplicate(&key)
                    .serde());
            }
            let value = map.next_value()?;
            entries.push((key, value));
        }
        Ok(Ordered(entries))
    }
}
