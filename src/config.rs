//! `enact.yaml` (SPEC §3): where receipts go, the signing secret's variable, the policies applied
//! to every workflow, the systems steps may act on, and where workflows live. Found in the
//! working directory or a parent, or given with `--config`; without one Enact runs on embedded
//! defaults. Unknown keys are errors that name the nearest key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::policy::diagnostic::did_you_mean;
use crate::workflow::{PolicyEntry, WorkflowError};

/// The file name looked for in the working directory and its parents.
pub const CONFIG_FILE: &str = "enact.yaml";

/// The variable the signing secret is read from unless the config names another.
pub const DEFAULT_SECRET_ENV: &str = "ENACT_SECRET";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    receipts: Option<String>,
    secret_env: Option<String>,
    secret_file: Option<PathBuf>,
    rollback: Option<bool>,
    #[serde(default)]
    policies: Vec<PolicyEntry>,
    #[serde(default)]
    systems: BTreeMap<String, SystemConfig>,
    #[serde(default)]
    workflows: Vec<PathBuf>,
    hook: Option<HookConfig>,
}

/// One system steps may act on, as configured.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SystemConfig {
    /// The connector kind: filesystem, sqlite, ...
    pub connector: String,
    /// The only actions steps may call on this system.
    pub allowed_actions: Vec<String>,
    /// filesystem: the directory every path is confined to.
    pub base_dir: Option<PathBuf>,
    /// sqlite: the database file.
    pub path: Option<PathBuf>,
    /// HTTP connectors: the API's address.
    pub base_url: Option<String>,
    /// HTTP connectors: the variable holding the token.
    pub token_env: Option<String>,
    /// postgres: the variable holding the connection string.
    pub dsn_env: Option<String>,
    /// HTTP connectors: how long one request may take (`timeout: 10s`), lookups included.
    #[serde(default, deserialize_with = "positive_duration")]
    pub timeout: Option<Duration>,
}

/// How long an HTTP connector's request may take when the system sets no `timeout`.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// `hook:`: how `enact hook claude-code` judges an agent's tool calls.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HookConfig {
    /// The policies each tool call is judged by; absent: the built-in default set
    /// (`hook::DEFAULT_POLICIES`).
    pub policies: Option<Vec<HookPolicyEntry>>,
    /// What a call every policy passes is answered.
    #[serde(default)]
    pub on_pass: OnPass,
}

/// One entry of `hook.policies`: a `policies:` entry, optionally limited to some tools.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct HookPolicyEntry {
    /// Tool names (`Write`, `Bash`) or prefixes ending in `*` (`mcp__github__*`); absent: every
    /// tool.
    #[serde(default, deserialize_with = "tool_names")]
    pub tools: Option<Vec<String>>,
    #[serde(flatten)]
    pub entry: PolicyEntry,
}

/// A `tools:` list: at least one name, none blank (an empty list would switch a policy off
/// without saying so).
fn tool_names<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    const EXPECTED: &str = "tool names such as Write, Bash or mcp__github__* (leave `tools` out to apply the policy to every tool)";
    let tools = Vec::<String>::deserialize(deserializer)?;
    if tools.is_empty() {
        return Err(serde::de::Error::invalid_length(0, &EXPECTED));
    }
    if let Some(blank) = tools.iter().find(|t| t.trim().is_empty()) {
        return Err(serde::de::Error::invalid_value(
            serde::de::Unexpected::Str(blank),
            &EXPECTED,
        ));
    }
    Ok(Some(tools))
}

/// The answer to a call that every policy passes.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OnPass {
    /// No decision: Claude Code's own permission settings decide, as they would without Enact.
    #[default]
    Defer,
    /// `allow`: Claude Code runs the call without asking.
    Allow,
}

/// The keys each connector kind accepts besides `connector` and `allowed_actions`.
const CONNECTOR_KEYS: &[(&str, &[&str], &[&str])] = &[
    // (kind, required keys, optional keys)
    ("filesystem", &["base_dir"], &[]),
    ("sqlite", &["path"], &[]),
    ("postgres", &["dsn_env"], &[]),
    ("github", &["token_env"], &["base_url", "timeout"]),
    ("slack", &["token_env"], &["base_url", "timeout"]),
    ("hubspot", &["token_env"], &["base_url", "timeout"]),
];

impl SystemConfig {
    fn keys_set(&self) -> Vec<&'static str> {
        let mut keys = Vec::new();
        if self.base_dir.is_some() {
            keys.push("base_dir");
        }
        if self.path.is_some() {
            keys.push("path");
        }
        if self.base_url.is_some() {
            keys.push("base_url");
        }
        if self.token_env.is_some() {
            keys.push("token_env");
        }
        if self.dsn_env.is_some() {
            keys.push("dsn_env");
        }
        if self.timeout.is_some() {
            keys.push("timeout");
        }
        keys
    }

    /// An HTTP connector's request timeout: the configured one, else `DEFAULT_HTTP_TIMEOUT`.
    pub fn timeout(&self) -> Duration {
        self.timeout.unwrap_or(DEFAULT_HTTP_TIMEOUT)
    }
}

/// `timeout: 10s` (also `500ms`, `2m`, `1m30s`): a positive duration, written as a string.
fn positive_duration<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(deserializer).map_err(|_| {
        serde::de::Error::custom("`timeout` must be a duration such as \"10s\" or \"500ms\"")
    })?;
    match crate::policy::types::parse_duration(&text) {
        Some(ms) if ms > 0 => Ok(Some(Duration::from_millis(ms.unsigned_abs()))),
        _ => Err(serde::de::Error::custom(format!(
            "`timeout: {text}` is not a positive duration; write it like \"10s\", \"500ms\" or \"2m\""
        ))),
    }
}

/// Where receipts are kept.
#[derive(Debug, Clone, PartialEq)]
pub enum ReceiptsLocation {
    Directory(PathBuf),
    Postgres(String),
}

/// A loaded, validated configuration with every path made absolute.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from; `None` for the embedded defaults.
    pub file: Option<PathBuf>,
    /// The directory relative paths are resolved against.
    pub base: PathBuf,
    pub receipts: ReceiptsLocation,
    pub secret_env: String,
    /// A file holding the secret, read when the variable is unset (`enact init` makes one).
    pub secret_file: Option<PathBuf>,
    pub rollback: bool,
    pub policies: Vec<PolicyEntry>,
    pub systems: BTreeMap<String, SystemConfig>,
    pub workflow_dirs: Vec<PathBuf>,
    /// `hook:`, absent when the config has none.
    pub hook: Option<HookConfig>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Yaml(#[from] WorkflowError),
    #[error("{}{}: {message}", path.display(), location.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        location: Option<(usize, usize)>,
        message: String,
    },
}

impl Config {
    /// The embedded defaults, rooted at `base`: receipts in `./receipts`, a `filesystem` system
    /// on `base` and an `sqlite` system on `./enact.db`, every action of both allowed.
    pub fn defaults(base: &Path) -> Config {
        let all = |kind: &str| -> Vec<String> {
            crate::connectors::actions_of(kind)
                .unwrap_or(&[])
                .iter()
                .map(|a| a.name.to_string())
                .collect()
        };
        let mut systems = BTreeMap::new();
        systems.insert(
            "filesystem".to_string(),
            SystemConfig {
                connector: "filesystem".into(),
                allowed_actions: all("filesystem"),
                base_dir: Some(base.to_path_buf()),
                path: None,
                base_url: None,
                token_env: None,
                dsn_env: None,
                timeout: None,
            },
        );
        systems.insert(
            "sqlite".to_string(),
            SystemConfig {
                connector: "sqlite".into(),
                allowed_actions: all("sqlite"),
                base_dir: None,
                path: Some(base.join("enact.db")),
                base_url: None,
                token_env: None,
                dsn_env: None,
                timeout: None,
            },
        );
        Config {
            file: None,
            base: base.to_path_buf(),
            receipts: ReceiptsLocation::Directory(base.join("receipts")),
            secret_env: DEFAULT_SECRET_ENV.to_string(),
            secret_file: None,
            rollback: true,
            policies: Vec::new(),
            systems,
            workflow_dirs: Vec::new(),
            hook: None,
        }
    }

    /// The config given with `--config`, else `enact.yaml` in `cwd` or its nearest parent,
    /// else the defaults rooted at `cwd`.
    pub fn discover(explicit: Option<&Path>, cwd: &Path) -> Result<Config, ConfigError> {
        if let Some(path) = explicit {
            let path = if path.is_absolute() {
                path.to_path_buf()
            } else {
                cwd.join(path)
            };
            return Config::load(&path);
        }
        for dir in cwd.ancestors() {
            let candidate = dir.join(CONFIG_FILE);
            if candidate.is_file() {
                return Config::load(&candidate);
            }
        }
        Ok(Config::defaults(cwd))
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let invalid = |location: Option<(usize, usize)>, message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            location,
            message,
        };
        let raw: RawConfig = if text.trim().is_empty() {
            serde_yaml::from_str("{}")
        } else {
            serde_yaml::from_str(text)
        }
        .map_err(|error| {
            crate::workflow::yaml_error(&path.display().to_string(), text, &error, "the config")
        })?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let absolute = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        let receipts = match raw.receipts.as_deref() {
            None => ReceiptsLocation::Directory(base.join("receipts")),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                ReceiptsLocation::Postgres(url.to_string())
            }
            Some(dir) => ReceiptsLocation::Directory(absolute(Path::new(dir))),
        };
        let secret_env = raw
            .secret_env
            .unwrap_or_else(|| DEFAULT_SECRET_ENV.to_string());
        if !is_env_name(&secret_env) {
            return Err(invalid(
                None,
                format!(
                    "`secret_env` must name an environment variable (like ENACT_SECRET), not `{secret_env}`"
                ),
            ));
        }
        let mut systems = BTreeMap::new();
        for (name, mut system) in raw.systems {
            validate_system(&name, &system).map_err(|message| invalid(None, message))?;
            system.base_dir = system.base_dir.as_deref().map(absolute);
            system.path = system.path.as_deref().map(absolute);
            systems.insert(name, system);
        }
        let mut policies = raw.policies;
        for entry in &mut policies {
            entry.resolve_relative_to(&base);
        }
        let mut hook = raw.hook;
        for entry in hook
            .iter_mut()
            .flat_map(|h| h.policies.iter_mut().flatten())
        {
            entry.entry.resolve_relative_to(&base);
        }
        Ok(Config {
            file: Some(path.to_path_buf()),
            receipts,
            secret_env,
            secret_file: raw.secret_file.as_deref().map(absolute),
            rollback: raw.rollback.unwrap_or(true),
            policies,
            systems,
            workflow_dirs: raw.workflows.iter().map(|p| absolute(p)).collect(),
            hook,
            base,
        })
    }

    /// Environment variables whose names could hold credentials for this config: never
    /// visible to policies, never written anywhere.
    pub fn credential_vars(&self) -> Vec<&str> {
        let mut vars = vec![self.secret_env.as_str()];
        for system in self.systems.values() {
            vars.extend(system.token_env.as_deref());
            vars.extend(system.dsn_env.as_deref());
        }
        vars
    }
}

fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

fn validate_system(name: &str, system: &SystemConfig) -> Result<(), String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(format!(
            "system name `{name}` must be lower-case letters, digits and `_` (steps call it as `{name}.ACTION`)"
        ));
    }
    let kinds: Vec<&str> = CONNECTOR_KEYS.iter().map(|(kind, _, _)| *kind).collect();
    let Some((_, required, optional)) = CONNECTOR_KEYS
        .iter()
        .find(|(kind, _, _)| *kind == system.connector)
    else {
        let hint = did_you_mean(&system.connector, kinds.iter().copied())
            .unwrap_or_else(|| format!("the connectors are {}", kinds.join(", ")));
        return Err(format!(
            "system `{name}`: unknown connector `{}`; {hint}",
            system.connector
        ));
    };
    for (key, variable) in [
        ("dsn_env", &system.dsn_env),
        ("token_env", &system.token_env),
    ] {
        if let Some(variable) = variable
            && !is_env_name(variable)
        {
            // Not echoed: people put the connection string itself here.
            return Err(format!(
                "system `{name}`: `{key}` must name an environment variable (like \
                 DATABASE_URL) that holds the credential, and what it holds is not a variable \
                 name (not shown, in case it is the credential itself)"
            ));
        }
    }
    let set = system.keys_set();
    for key in *required {
        if !set.contains(key) {
            return Err(format!(
                "system `{name}` ({} connector) needs `{key}`",
                system.connector
            ));
        }
    }
    for key in &set {
        if !required.contains(key) && !optional.contains(key) {
            return Err(format!(
                "system `{name}`: the {} connector takes no `{key}`",
                system.connector
            ));
        }
    }
    // Judged here rather than when the system opens, so `enact check` refuses what `run` would.
    if let Some(url) = &system.base_url
        && let Some(why) = crate::connectors::http::base_url_flaw(url)
    {
        return Err(format!(
            "system `{name}` ({} connector): `base_url` `{url}` {why}",
            system.connector
        ));
    }
    let actions = crate::connectors::actions_of(&system.connector).unwrap_or(&[]);
    for action in &system.allowed_actions {
        if !actions.iter().any(|a| a.name == action) {
            let names: Vec<&str> = actions.iter().map(|a| a.name).collect();
            let hint = did_you_mean(action, names.iter().copied())
                .unwrap_or_else(|| format!("its actions are {}", names.join(", ")));
            return Err(format!(
                "system `{name}`: the {} connector has no action `{action}` in allowed_actions; {hint}",
                system.connector
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod hook_tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(Path::new("/p/enact.yaml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn hook_policies_take_the_policies_entry_shape_and_tools() {
        let config = parse(
            "hook:\n  on_pass: allow\n  policies:\n    - use: filesystem.dont_touch_ci_cd\n      tools: [Write, Edit]\n    - file: ./agent.enact\n      level: soft\n",
        )
        .unwrap();
        let hook = config.hook.unwrap();
        assert_eq!(hook.on_pass, OnPass::Allow);
        let entries = hook.policies.unwrap();
        assert_eq!(
            entries[0].tools.as_deref(),
            Some(&["Write".to_string(), "Edit".to_string()][..])
        );
        assert_eq!(entries[0].entry.reference(), "filesystem.dont_touch_ci_cd");
        assert_eq!(entries[1].tools, None);
        assert_eq!(entries[1].entry.reference(), "/p/./agent.enact");
        assert_eq!(
            entries[1].entry.level,
            crate::policy::eval::Enforcement::Soft
        );
        assert!(parse("receipts: ./r\n").unwrap().hook.is_none());
        assert_eq!(
            parse("hook: {}\n").unwrap().hook.unwrap().on_pass,
            OnPass::Defer
        );
    }

    #[test]
    fn broken_hook_entries_are_located() {
        for (text, wanted) in [
            (
                "hook:\n  policies:\n    - use: git.dont_push_to_mian\n",
                "did you mean `git.dont_push_to_main`",
            ),
            (
                "hook:\n  policies:\n    - use: db.protect_tables\n",
                "needs parameter `tables`",
            ),
            (
                "hook:\n  policies:\n    - use: git.dont_force_push\n      tools: []\n",
                "invalid length 0, expected tool names",
            ),
            (
                "hook:\n  policies:\n    - use: git.dont_force_push\n      tools: [' ']\n",
                "invalid value",
            ),
            (
                "hook:\n  policies:\n    - use: git.dont_force_push\n      tool: [Bash]\n",
                "unknown key `tool` in a policy entry\n  help: did you mean `tools`? (`tools` belongs to `hook.policies` entries)",
            ),
            (
                "hook:\n  policies:\n    - use: git.dont_force_push\n      only: [Bash]\n",
                "help: a policy entry has use, file, with, level; a `hook.policies` entry also takes `tools`",
            ),
            (
                "hook:\n  on_pass: yes\n",
                "unknown value `yes` in `hook.on_pass`",
            ),
            ("hook:\n  polices: []\n", "polices"),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.contains(wanted), "{text}: {error}");
            assert!(
                error.contains("enact.yaml:"),
                "{text}: no location in {error}"
            );
        }
    }
}

#[cfg(test)]
mod system_tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(Path::new("/p/enact.yaml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn every_http_system_has_its_base_url_judged_when_the_config_loads() {
        for kind in ["github", "slack", "hubspot"] {
            let system = |url: &str| {
                format!(
                    "systems:\n  api:\n    connector: {kind}\n    token_env: T\n    base_url: '{url}'\n    allowed_actions: []\n"
                )
            };
            let error = parse(&system("http://api.example.com/v1")).unwrap_err();
            assert!(error.starts_with("/p/enact.yaml: "), "{error}");
            assert!(
                error.contains(&format!("system `api` ({kind} connector)")),
                "{error}"
            );
            assert!(error.contains("clear text"), "{error}");
            assert!(parse(&system("https://api.example.com/v1?x=1")).is_err());
            let config = parse(&system("http://127.0.0.1:8080/v1/")).unwrap();
            assert_eq!(
                config.systems["api"].base_url.as_deref(),
                Some("http://127.0.0.1:8080/v1/")
            );
        }
    }
}
