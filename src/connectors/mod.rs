//! Connectors: the systems a workflow step may act on, behind one trait. Every action is
//! described as data (name, parameters, read-only or mutating, inverse), so the engine checks
//! allowlists and arguments, journals intent and plans rollbacks the same way for all of them.

use serde_json::Value as Json;

mod base64;
pub mod filesystem;
pub mod github;
pub mod http;
pub mod hubspot;
pub mod postgres;
pub mod slack;
pub mod sql;
pub mod sqlite;

pub use filesystem::FilesystemConnector;
pub use github::GithubConnector;
pub use hubspot::HubspotConnector;
pub use postgres::PostgresConnector;
pub use slack::SlackConnector;
pub use sqlite::SqliteConnector;

/// The connector kinds this build knows, as named in `enact.yaml` (`connector: sqlite`).
pub fn connector_kinds() -> &'static [&'static str] {
    &[
        filesystem::KIND,
        sqlite::KIND,
        postgres::KIND,
        github::KIND,
        slack::KIND,
        hubspot::KIND,
    ]
}

/// A kind's action table, without opening anything: `enact check` and `--dry-run` describe
/// plans from it. `None` for a kind this build does not know.
pub fn actions_of(kind: &str) -> Option<&'static [ActionSpec]> {
    match kind {
        filesystem::KIND => Some(filesystem::ACTIONS),
        sqlite::KIND | postgres::KIND => Some(sql::ACTIONS),
        github::KIND => Some(github::ACTIONS),
        slack::KIND => Some(slack::ACTIONS),
        hubspot::KIND => Some(hubspot::ACTIONS),
        _ => None,
    }
}

/// Whether an action changes the system it acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    ReadOnly,
    Mutating,
}

/// How rollback undoes an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inverse {
    /// Read-only: nothing to undo.
    None,
    /// Undone by the named inverse (`restore_file`, `delete_inserted_row`), described for plans.
    Reversible {
        name: &'static str,
        description: &'static str,
    },
    /// Cannot be undone; the text tells a person what to do by hand.
    Irreversible { by_hand: &'static str },
}

/// The JSON type a parameter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    String,
    Int,
    Bool,
    Map,
    List,
    /// Any JSON value (a row's column value, say).
    Any,
}

impl ParamType {
    pub fn name(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Int => "int",
            ParamType::Bool => "bool",
            ParamType::Map => "map",
            ParamType::List => "list",
            ParamType::Any => "any value",
        }
    }

    pub fn accepts(self, value: &Json) -> bool {
        match self {
            ParamType::String => value.is_string(),
            ParamType::Int => value.is_i64() || value.is_u64(),
            ParamType::Bool => value.is_boolean(),
            ParamType::Map => value.is_object(),
            ParamType::List => value.is_array(),
            ParamType::Any => true,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    pub name: &'static str,
    pub ty: ParamType,
    pub required: bool,
    pub description: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct ActionSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub params: &'static [ParamSpec],
    pub effect: Effect,
    pub inverse: Inverse,
}

/// What a completed action reports.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionOutcome {
    pub output: Json,
    /// `None` when the action changed something; otherwise a word saying the desired state
    /// already held (`"unchanged"`, `"absent"`), and nothing was changed.
    pub already_done: Option<&'static str>,
    /// What the inverse needs; the same value passed to `prepared` (null for read-only actions).
    pub rollback_data: Json,
}

/// What an inverse did.
#[derive(Debug, Clone, PartialEq)]
pub struct UndoOutcome {
    /// The inverse's name, as declared in the action's `Inverse::Reversible`.
    pub action: &'static str,
    pub output: Json,
    /// A word when there was nothing left to undo (`"absent"`: the created file is gone).
    pub already_done: Option<&'static str>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The action does not exist on this connector.
    #[error("{connector} has no action `{action}`{hint}")]
    UnknownAction {
        connector: &'static str,
        action: String,
        /// " — did you mean `x`?" or a list of actions; may be empty.
        hint: String,
    },
    /// The arguments are wrong: missing, mistyped, or unknown parameters, a bad `where`.
    #[error("{0}")]
    BadArgs(String),
    /// Refused before anything happened: a path outside base_dir, a table without a primary
    /// key, a value that cannot be stored.
    #[error("{0}")]
    Refused(String),
    /// The system failed (I/O error, SQL error, HTTP error) — nothing or only part happened;
    /// the message says which.
    #[error("{0}")]
    Failed(String),
    /// The journal (the `prepared` callback) could not record the rollback data, so nothing
    /// was changed.
    #[error("could not record rollback data before acting: {0}")]
    NotJournaled(String),
    /// An inverse that cannot be applied; the text says what to do by hand.
    #[error("{0}")]
    CannotUndo(String),
}

/// A system a step can act on.
///
/// `execute` must capture the rollback data **before** changing anything, hand it to
/// `prepared` (which journals it durably), and change nothing if `prepared` fails (returning
/// `NotJournaled`). When the desired state already holds, nothing changes and `prepared` is
/// not called: the outcome's `already_done` says why, and rollback skips the step.
/// `execute` checks its arguments itself too (`check_args`), so no JSON can make it misbehave.
/// `undo` receives what `execute` returned; after an interrupted run `output` is null (the
/// action may or may not have happened), and `undo` must then either be safe in both cases or
/// refuse with `CannotUndo` saying what to check by hand. An inverse over many items (rows)
/// restores every item it safely can and, if any is left, returns `CannotUndo` naming what was
/// restored and what was left; the restored items stay restored.
pub trait Connector {
    /// The connector's kind as named in configuration (`filesystem`, `sqlite`).
    fn kind(&self) -> &'static str;

    fn actions(&self) -> &'static [ActionSpec];

    fn execute(
        &self,
        action: &str,
        args: &Json,
        prepared: &mut dyn FnMut(&Json) -> Result<(), String>,
    ) -> Result<ActionOutcome, ConnectorError>;

    fn undo(
        &self,
        action: &str,
        args: &Json,
        output: &Json,
        rollback_data: &Json,
    ) -> Result<UndoOutcome, ConnectorError>;

    /// A read-only query for policies' `lookup`; connectors without queries refuse.
    fn lookup(&self, query: &str, _args: &Json) -> Result<Json, ConnectorError> {
        Err(ConnectorError::UnknownAction {
            connector: self.kind(),
            action: query.to_string(),
            hint: " (it answers no lookups)".to_string(),
        })
    }
}

/// The description of `action` on `connector`, or an error naming the nearest action.
pub fn spec<'c>(
    connector: &'c dyn Connector,
    action: &str,
) -> Result<&'c ActionSpec, ConnectorError> {
    find_action(connector.kind(), connector.actions(), action)
}

/// `action` in the table of the connector kind `kind`, or an error naming the nearest action.
/// Connectors use it on their static tables; `spec` is the same through a trait object.
pub fn find_action<'t>(
    kind: &'static str,
    actions: &'t [ActionSpec],
    action: &str,
) -> Result<&'t ActionSpec, ConnectorError> {
    actions.iter().find(|a| a.name == action).ok_or_else(|| {
        let names: Vec<&str> = actions.iter().map(|a| a.name).collect();
        let hint = crate::policy::diagnostic::did_you_mean(action, names.iter().copied())
            .map(|h| format!(" — {h}"))
            .unwrap_or_else(|| format!("; its actions are {}", names.join(", ")));
        ConnectorError::UnknownAction {
            connector: kind,
            action: action.to_string(),
            hint,
        }
    })
}

/// Checks arguments against an action's parameters: every required one present, each of the
/// right type, no unknown ones (with the nearest name).
pub fn check_args(spec: &ActionSpec, args: &Json) -> Result<(), ConnectorError> {
    let Some(map) = args.as_object() else {
        return Err(ConnectorError::BadArgs(format!(
            "the arguments of `{}` must be a map, not {args}",
            spec.name
        )));
    };
    for key in map.keys() {
        if !spec.params.iter().any(|p| p.name == key) {
            let names: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
            let hint = crate::policy::diagnostic::did_you_mean(key, names.iter().copied())
                .unwrap_or_else(|| format!("its parameters are {}", names.join(", ")));
            return Err(ConnectorError::BadArgs(format!(
                "`{}` has no parameter `{key}`; {hint}",
                spec.name
            )));
        }
    }
    for param in spec.params {
        match map.get(param.name) {
            None | Some(Json::Null) if param.required => {
                return Err(ConnectorError::BadArgs(format!(
                    "`{}` needs parameter `{}` ({}: {})",
                    spec.name,
                    param.name,
                    param.ty.name(),
                    param.description
                )));
            }
            Some(value) if !value.is_null() && !param.ty.accepts(value) => {
                return Err(ConnectorError::BadArgs(format!(
                    "parameter `{}` of `{}` must be a {}, not {value}",
                    param.name,
                    spec.name,
                    param.ty.name()
                )));
            }
            _ => {}
        }
    }
    Ok(())
}
