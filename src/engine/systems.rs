//! The configured systems, opened on first use: a BLOCKed run never touches one.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde_json::Value as Json;

use super::EngineError;
use crate::config::{Config, SystemConfig};
use crate::connectors::filesystem::FilesystemConnector;
use crate::connectors::github::GithubConnector;
use crate::connectors::http::HttpSettings;
use crate::connectors::hubspot::HubspotConnector;
use crate::connectors::postgres::PostgresConnector;
use crate::connectors::slack::SlackConnector;
use crate::connectors::sqlite::SqliteConnector;
use crate::connectors::{Connector, ConnectorError};
use crate::policy::eval::Lookups;
use crate::policy::value::Value;
use crate::workflow::Workflow;

pub struct Systems<'c> {
    config: &'c Config,
    opened: RefCell<BTreeMap<String, Rc<dyn Connector>>>,
    /// Lookup answers (and failures) by system, query and arguments: memoised for the whole
    /// run (SPEC §5), so the run-level decision and every step's action-level decision see
    /// the same answer and the system is asked once.
    lookups: RefCell<BTreeMap<String, Result<Value, String>>>,
}

impl<'c> Systems<'c> {
    pub fn new(config: &'c Config) -> Self {
        Systems {
            config,
            opened: RefCell::default(),
            lookups: RefCell::default(),
        }
    }

    pub fn config(&self, name: &str) -> Option<&'c SystemConfig> {
        self.config.systems.get(name)
    }

    /// The connector of a configured system, opened once.
    pub fn get(&self, name: &str) -> Result<Rc<dyn Connector>, ConnectorError> {
        if let Some(connector) = self.opened.borrow().get(name) {
            return Ok(Rc::clone(connector));
        }
        let system = self
            .config(name)
            .ok_or_else(|| ConnectorError::Refused(format!("no system `{name}` is configured")))?;
        let connector = open(name, system)?;
        self.opened
            .borrow_mut()
            .insert(name.to_string(), Rc::clone(&connector));
        Ok(connector)
    }
}

fn open(name: &str, system: &SystemConfig) -> Result<Rc<dyn Connector>, ConnectorError> {
    let missing = |key: &str| missing(name, system, key);
    match system.connector.as_str() {
        "filesystem" => {
            let base = system.base_dir.clone().ok_or_else(|| missing("base_dir"))?;
            Ok(Rc::new(FilesystemConnector::new(base)?))
        }
        "sqlite" => {
            let path = system.path.clone().ok_or_else(|| missing("path"))?;
            Ok(Rc::new(SqliteConnector::open(path)?))
        }
        "postgres" => {
            let variable = system
                .dsn_env
                .as_deref()
                .ok_or_else(|| missing("dsn_env"))?;
            let dsn = credential(name, system, variable, CONNECTION_STRING)?;
            let connector = PostgresConnector::connect(&dsn).map_err(|e| {
                in_context(
                    &format!("system `{name}` (postgres, connection string from `{variable}`)"),
                    e,
                )
            })?;
            Ok(Rc::new(connector))
        }
        // With two systems of one kind, the message must say which one failed to open.
        "github" => {
            let connector = GithubConnector::new(http_settings(name, system)?)
                .map_err(|e| in_context(&format!("system `{name}` (github)"), e))?;
            Ok(Rc::new(connector))
        }
        "slack" => {
            let connector = SlackConnector::new(http_settings(name, system)?)
                .map_err(|e| in_context(&format!("system `{name}` (slack)"), e))?;
            Ok(Rc::new(connector))
        }
        "hubspot" => {
            let connector = HubspotConnector::new(http_settings(name, system)?)
                .map_err(|e| in_context(&format!("system `{name}` (hubspot)"), e))?;
            Ok(Rc::new(connector))
        }
        other => Err(ConnectorError::Refused(format!(
            "system `{name}`: connector `{other}` is not available in this build"
        ))),
    }
}

/// A required key absent from a system's configuration.
fn missing(name: &str, system: &SystemConfig, key: &str) -> ConnectorError {
    ConnectorError::Refused(format!(
        "system `{name}` ({}) has no `{key}` configured",
        system.connector
    ))
}

/// An error opening a system, prefixed with which system it is: a refusal stays a refusal,
/// anything else is a failure.
fn in_context(context: &str, error: ConnectorError) -> ConnectorError {
    match error {
        ConnectorError::Refused(message) => {
            ConnectorError::Refused(format!("{context}: {message}"))
        }
        other => ConnectorError::Failed(format!("{context}: {other}")),
    }
}

/// What a credential variable holds, for messages: a connection string or an API token.
const CONNECTION_STRING: &str = "the connection string (like postgres://user:password@host/db)";
const API_TOKEN: &str = "the API token";

/// What an HTTP connector (github, slack, hubspot) is opened with: the base URL as configured
/// (the connector's public API when absent), the token from the variable `token_env` names,
/// and the system's `timeout`. The connector judges the token itself (`check_token`).
fn http_settings(name: &str, system: &SystemConfig) -> Result<HttpSettings, ConnectorError> {
    let token_env = system
        .token_env
        .as_deref()
        .ok_or_else(|| missing(name, system, "token_env"))?;
    Ok(HttpSettings {
        base_url: system.base_url.clone(),
        token: credential(name, system, token_env, API_TOKEN)?,
        token_env: token_env.to_string(),
        timeout: system.timeout(),
    })
}

/// The value of the environment variable holding a system's credential; unset or empty is a
/// refusal naming the variable (never its value).
fn credential(
    name: &str,
    system: &SystemConfig,
    variable: &str,
    holds: &str,
) -> Result<String, ConnectorError> {
    let connector = &system.connector;
    match std::env::var(variable) {
        Ok(value) if !value.is_empty() => Ok(value),
        Ok(_) => Err(ConnectorError::Refused(format!(
            "system `{name}` ({connector}) reads {holds} from `{variable}`, which is empty; \
             set it"
        ))),
        Err(std::env::VarError::NotPresent) => Err(ConnectorError::Refused(format!(
            "system `{name}` ({connector}) reads {holds} from `{variable}`, which is not \
             set; set it"
        ))),
        Err(std::env::VarError::NotUnicode(_)) => Err(ConnectorError::Refused(format!(
            "system `{name}` ({connector}): `{variable}` is not valid UTF-8"
        ))),
    }
}

/// Refuses, before anything runs, a workflow whose steps use a system with its credential
/// variable unset or empty, naming the variable: a missing DSN or token is a usage error (exit 2), not a
/// step failing halfway through a run. Values are only checked for presence, never shown.
pub fn check_credentials(workflow: &Workflow, config: &Config) -> Result<(), EngineError> {
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for step in &workflow.steps {
        if seen.contains(&step.system.as_str()) {
            continue;
        }
        seen.push(step.system.as_str());
        let Some(system) = config.systems.get(&step.system) else {
            continue;
        };
        let variable = match (&system.dsn_env, &system.token_env) {
            (Some(dsn), _) => Some((dsn, CONNECTION_STRING)),
            (None, Some(token)) => Some((token, API_TOKEN)),
            (None, None) => None,
        };
        if let Some((variable, holds)) = variable
            && let Err(error) = credential(&step.system, system, variable, holds)
        {
            problems.push(error.to_string());
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(EngineError::Usage(problems.join("; ")))
    }
}

impl Lookups for Systems<'_> {
    fn lookup(&self, system: &str, query: &str, args: &Value) -> Result<Value, String> {
        let args = args.to_json();
        let key = serde_json::json!([system, query, args]).to_string();
        if let Some(answer) = self.lookups.borrow().get(&key) {
            return answer.clone();
        }
        let answer = self
            .get(system)
            .and_then(|connector| connector.lookup(query, &args))
            .map(|answer: Json| Value::from(&answer))
            .map_err(|e| e.to_string());
        self.lookups.borrow_mut().insert(key, answer.clone());
        answer
    }
}
