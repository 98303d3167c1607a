//! The engine (SPEC §1, §9): a project (config, receipt store, signing secret, systems) and
//! the run and rollback pipelines over it. Synchronous by design; everything a run does is
//! journalled before it happens and ends in a signed receipt.

mod history;
pub mod hook;
mod policies;
pub mod rollback;
pub mod run;
mod secret;
mod systems;

use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value as Json;

pub use policies::{PolicySetup, load_policies};
pub use secret::{create_secret_file, ignore_in_git, load_secret};
pub use systems::Systems;

use crate::config::{Config, ConfigError, ReceiptsLocation};
use crate::policy::diagnostic::Diagnostic;
use crate::receipt::{
    DirectoryStore, PostgresStore, ReceiptError, ReceiptStore, Secret, SecretError, Signer,
};
use crate::workflow::{Workflow, WorkflowError};

/// Why the engine could not start or finish something. Everything but `Store` and `Internal`
/// happens before anything runs (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
    #[error("{}", .0.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("; "))]
    Policies(Vec<Diagnostic>),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Store(#[from] ReceiptError),
    #[error("{0}")]
    Internal(String),
}

impl EngineError {
    /// True when nothing ran because the input was wrong (exit 2).
    pub fn is_usage(&self) -> bool {
        !matches!(self, EngineError::Store(_) | EngineError::Internal(_))
    }
}

/// Who asks for a run: `{email, role, attributes}` in policies and receipts.
#[derive(Debug, Clone)]
pub struct Actor {
    pub email: String,
    pub role: Option<String>,
    pub attributes: serde_json::Map<String, Json>,
}

impl Actor {
    /// `--actor`, else `ENACT_ACTOR`, else the login name at `local`.
    pub fn from_flags(
        email: Option<String>,
        role: Option<String>,
        attributes: serde_json::Map<String, Json>,
    ) -> Actor {
        let email = email
            .or_else(|| std::env::var("ENACT_ACTOR").ok())
            .unwrap_or_else(|| {
                let user = std::env::var("USER")
                    .or_else(|_| std::env::var("USERNAME"))
                    .unwrap_or_else(|_| "unknown".to_string());
                format!("{user}@local")
            });
        Actor {
            email,
            role,
            attributes,
        }
    }

    pub fn to_json(&self) -> Json {
        serde_json::json!({
            "email": self.email,
            "role": self.role,
            "attributes": self.attributes,
        })
    }
}

/// A configuration with its store and secret, ready to run, roll back and verify.
pub struct Project {
    pub config: Config,
    pub store: Box<dyn ReceiptStore>,
    pub signer: Signer,
    pub insecure_secret: bool,
}

impl Project {
    /// Opens the store and loads the signing secret (SPEC §7: at least 32 bytes unless
    /// `allow_insecure_secret`).
    pub fn open(config: Config, allow_insecure_secret: bool) -> Result<Project, EngineError> {
        let secret = load_secret(&config, allow_insecure_secret)?;
        Project::with_secret(config, secret)
    }

    pub fn with_secret(config: Config, secret: Secret) -> Result<Project, EngineError> {
        let store: Box<dyn ReceiptStore> = match &config.receipts {
            ReceiptsLocation::Directory(dir) => Box::new(DirectoryStore::open(dir)?),
            ReceiptsLocation::Postgres(url) => Box::new(PostgresStore::open(url)?),
        };
        let insecure_secret = secret.is_insecure();
        Ok(Project {
            signer: Signer::new(&secret),
            config,
            store,
            insecure_secret,
        })
    }

    /// A workflow by path (`deploy.yaml`), by the name of one in the configured workflow
    /// directories, or by the name of a built-in.
    pub fn workflow(&self, reference: &str, cwd: &Path) -> Result<Workflow, EngineError> {
        resolve_workflow(&self.config, reference, cwd)
    }
}

/// Finds a workflow: a YAML path, a name in the configured directories, or a built-in name.
pub fn resolve_workflow(
    config: &Config,
    reference: &str,
    cwd: &Path,
) -> Result<Workflow, EngineError> {
    let looks_like_path = reference.ends_with(".yaml")
        || reference.ends_with(".yml")
        || reference.contains('/')
        || reference.contains(std::path::MAIN_SEPARATOR);
    if looks_like_path {
        let path = cwd.join(reference);
        return Ok(crate::workflow::load(&path)?);
    }
    for dir in &config.workflow_dirs {
        for ext in ["yaml", "yml"] {
            let path = dir.join(format!("{reference}.{ext}"));
            if path.is_file() {
                return Ok(crate::workflow::load(&path)?);
            }
        }
    }
    if let Some(builtin) = crate::workflow::builtin(reference) {
        return Ok(builtin?);
    }
    let mut names: Vec<String> = crate::workflow::builtin_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    for dir in &config.workflow_dirs {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml")
                ) && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
                {
                    names.push(stem.to_string());
                }
            }
        }
    }
    let hint = crate::policy::diagnostic::did_you_mean(reference, names.iter().map(String::as_str))
        .unwrap_or_else(|| format!("known workflows: {}", names.join(", ")));
    Err(EngineError::Usage(format!(
        "no workflow `{reference}`: not a file, not in the configured workflow directories, not built in; {hint}"
    )))
}

/// RFC 3339 UTC with milliseconds, the form every receipt time takes.
pub fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The workspace path policies resolve relative paths against, and the home directory.
fn workspace_and_home(config: &Config) -> (String, String) {
    let workspace = config
        .systems
        .values()
        .find_map(|s| s.base_dir.clone())
        .unwrap_or_else(|| config.base.clone());
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"));
    (
        workspace.to_string_lossy().into_owned(),
        home.to_string_lossy().into_owned(),
    )
}

/// The environment policies may read (`env`): `ENACT_*` variables, minus any that could hold a
/// credential (the signing secret, connector tokens) — those never reach a policy or receipt.
fn policy_env(config: &Config) -> crate::policy::value::Value {
    let hidden = config.credential_vars();
    let vars = std::env::vars().filter(|(name, _)| {
        name.starts_with("ENACT_")
            && !hidden.contains(&name.as_str())
            && !crate::receipt::redact::key_is_secret(name)
    });
    crate::policy::value::Value::map(vars.map(|(k, v)| (k, crate::policy::value::Value::str(v))))
}
