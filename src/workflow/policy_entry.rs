//! One entry of a `policies:` list, in a workflow or in `enact.yaml`: a library policy with
//! its parameters, or a policy file, each with its enforcement level.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

use super::error::Problem;
use super::raw::CheckedStr;
use crate::policy::diagnostic::did_you_mean;
use crate::policy::eval::Enforcement;
use crate::policy::library;
use crate::policy::program::CompiledPolicy;
use crate::policy::value::Value;

/// Where an entry's policies come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// A built-in library policy by id: `git.dont_push_to_main`.
    Library(String),
    /// Every policy of an `.enact` file. Relative to the file that names it once that file was
    /// loaded from disk (see `PolicyEntry::resolve_relative_to`), as written otherwise.
    File(PathBuf),
}

/// `- use: git.require_branch_prefix` / `with: {prefix: "agent/"}` / `level: soft`, or
/// `- file: ./policies/custom.enact`.
///
/// Deserialising checks what can be checked without the disk: exactly one of `use` and
/// `file`, the library id exists, and `with` binds to its parameters. Errors are raised where
/// serde_yaml can place them: at the key or id at fault, else at the entry.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyEntry {
    pub source: PolicySource,
    /// The parameters (a map), or null when none are given; always null for a file.
    pub with: Value,
    pub level: Enforcement,
}

/// The keys of an entry.
const KEYS: [&str; 4] = ["use", "file", "with", "level"];

impl<'de> Deserialize<'de> for PolicyEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EntryVisitor)
    }
}

struct EntryVisitor;

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = PolicyEntry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a policy entry: `use: namespace.policy` or `file: path.enact`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PolicyEntry, A::Error> {
        let mut seen: Vec<String> = Vec::new();
        let mut policy: Option<(String, Arc<CompiledPolicy>)> = None;
        let mut file: Option<String> = None;
        let mut with: Option<Value> = None;
        let mut level: Option<Enforcement> = None;
        while let Some(key) = map.next_key_seed(CheckedStr(known_key))? {
            if seen.contains(&key) {
                return Err(
                    Problem::new(format!("duplicate key `{key}` in a policy entry"))
                        .help("each key may appear once; remove one of them")
                        .duplicate(&key)
                        .serde(),
                );
            }
            match key.as_str() {
                "use" => policy = Some(map.next_value_seed(CheckedStr(library_policy))?),
                "file" => file = Some(map.next_value()?),
                "with" => with = Some(map.next_value()?),
                _ => level = Some(map.next_value()?),
            }
            seen.push(key);
        }
        PolicyEntry::from_parts(
            policy,
            file,
            with.unwrap_or(Value::Null),
            level.unwrap_or_default(),
        )
        .map_err(Problem::serde)
    }
}

fn known_key(key: &str) -> Result<String, Problem> {
    if KEYS.contains(&key) {
        return Ok(key.to_string());
    }
    // `hook.policies` entries are these entries plus `tools` (config.rs flattens one into the
    // other), so the help names it too, saying where it belongs.
    let help = match did_you_mean(key, KEYS.iter().copied().chain(["tools"])) {
        Some(hint) if hint.contains("`tools`") => {
            format!("{hint} (`tools` belongs to `hook.policies` entries)")
        }
        Some(hint) => hint,
        None => format!(
            "a policy entry has {}; a `hook.policies` entry also takes `tools`",
            KEYS.join(", ")
        ),
    };
    Err(Problem::new(format!("unknown key `{key}` in a policy entry")).help(help))
}

/// Finds a library policy by id; the error names the nearest ids.
fn library_policy(id: &str) -> Result<(String, Arc<CompiledPolicy>), Problem> {
    if id.contains(".enact") {
        return Err(Problem::new(format!("`use: {id}` names a file")).help(
            "`use` takes a built-in policy id; load a policy file with `- file: path.enact`",
        ));
    }
    library::resolve(id)
        .map(|policy| (id.to_string(), policy))
        .map_err(|diagnostics| {
            let first = diagnostics.into_iter().next();
            let message = first
                .as_ref()
                .map_or_else(|| format!("unknown policy `{id}`"), |d| d.message.clone());
            let help = first
                .and_then(|d| d.help)
                .filter(|h| h.starts_with("did you mean"))
                .unwrap_or_else(|| {
                    "`use` takes a built-in id such as git.dont_push_to_main (see `enact policies`); load a policy file with `- file: path.enact`".to_string()
                });
            Problem::new(message).help(help)
        })
}

impl PolicyEntry {
    fn from_parts(
        policy: Option<(String, Arc<CompiledPolicy>)>,
        file: Option<String>,
        with: Value,
        level: Enforcement,
    ) -> Result<PolicyEntry, Problem> {
        match (policy, file) {
            (Some((id, policy)), None) => {
                library::bind(&policy, &with, level).map_err(|why| {
                    Problem::new(why).help("`enact policies` lists each policy's parameters")
                })?;
                Ok(PolicyEntry {
                    source: PolicySource::Library(id),
                    with,
                    level,
                })
            }
            (None, Some(file)) if with.is_null() => Ok(PolicyEntry {
                source: PolicySource::File(PathBuf::from(file)),
                with,
                level,
            }),
            (None, Some(_)) => Err(Problem::new(
                "`with` applies to a library policy, not to a file",
            )
            .help("a file's policies take their parameters' defaults")),
            (Some(_), Some(_)) => Err(Problem::new("a policy entry has both `use` and `file`")
                .help("split it into two entries: `- use: ...` and `- file: ...`")),
            (None, None) => Err(Problem::new("a policy entry needs `use` or `file`")
                .help("write `- use: git.dont_push_to_main` or `- file: ./policies/custom.enact`")),
        }
    }

    /// Makes a relative file path relative to `dir` (the directory of the file naming it).
    pub fn resolve_relative_to(&mut self, dir: &Path) {
        if let PolicySource::File(path) = &mut self.source
            && path.is_relative()
        {
            *path = dir.join(&*path);
        }
    }

    /// How the entry is named to users: the id, or the file path.
    pub fn reference(&self) -> String {
        match &self.source {
            PolicySource::Library(id) => id.clone(),
            PolicySource::File(path) => path.display().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(yaml: &str) -> Result<PolicyEntry, String> {
        serde_yaml::from_str::<PolicyEntry>(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn library_entries_bind_their_parameters() {
        let e =
            entry("{use: git.require_branch_prefix, with: {prefix: 'bot/'}, level: soft}").unwrap();
        assert_eq!(
            e.source,
            PolicySource::Library("git.require_branch_prefix".into())
        );
        assert_eq!(e.level, Enforcement::Soft);
        assert_eq!(e.with.get("prefix"), Some(&Value::str("bot/")));
        let e = entry("{use: git.dont_push_to_main}").unwrap();
        assert_eq!(e.level, Enforcement::Hard, "hard by default");
    }

    #[test]
    fn file_entries_resolve_against_their_directory() {
        let mut e = entry("{file: ./policies/custom.enact, level: advisory}").unwrap();
        e.resolve_relative_to(Path::new("/repo/workflows"));
        assert_eq!(
            e.source,
            PolicySource::File(PathBuf::from("/repo/workflows/./policies/custom.enact"))
        );
        let mut e = entry("{file: /abs/p.enact}").unwrap();
        e.resolve_relative_to(Path::new("/elsewhere"));
        assert_eq!(e.reference(), "/abs/p.enact");
    }

    #[test]
    fn broken_entries_say_how_to_fix_them() {
        for (yaml, wanted) in [
            (
                "{use: git.dont_push_to_mian}",
                "did you mean `git.dont_push_to_main`",
            ),
            (
                "{use: git.require_branch_prefix, with: {prefx: x}}",
                "did you mean `prefix`?",
            ),
            ("{use: db.protect_tables}", "needs parameter `tables`"),
            (
                "{use: git.dont_push_to_main, level: strict}",
                "unknown variant `strict`",
            ),
            (
                "{file: a.enact, with: {x: 1}}",
                "`with` applies to a library policy",
            ),
            (
                "{use: git.dont_push_to_main, file: a.enact}",
                "both `use` and `file`",
            ),
            ("{use: nothing.here}", "`use` takes a built-in id"),
            ("{level: soft}", "needs `use` or `file`"),
            (
                "{uses: git.dont_push_to_main}",
                "unknown key `uses` in a policy entry",
            ),
            (
                "{use: git.dont_push_to_main, use: git.dont_force_push}",
                "duplicate key `use`",
            ),
            ("{use: ./p.enact}", "names a file"),
        ] {
            let error = entry(yaml).unwrap_err();
            assert!(error.contains(wanted), "{yaml}: {error}");
        }
    }
}
