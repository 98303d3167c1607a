//! The policies a run applies: the config's, then the workflow's, each bound to its
//! parameters and enforcement level, and the fingerprint of the whole set for receipts.

use std::path::Path;

use super::EngineError;
use crate::policy::diagnostic::{Code, Diagnostic};
use crate::policy::eval::PolicyUse;
use crate::policy::library::{PolicySet, bind, resolve};
use crate::policy::value::Value;
use sha2::{Digest, Sha256};

use crate::receipt::canonical::{sha256_hex, write_string, write_value};
use crate::workflow::{PolicyEntry, PolicySource};

/// The bound policies of a run and their fingerprint.
pub struct PolicySetup {
    pub uses: Vec<PolicyUse>,
    /// SHA-256 over each policy's id, source text, parameters and level, in order.
    pub sha256: String,
}

/// Binds every entry, config entries first. Any problem (unknown policy, a file that does not
/// load, a bad parameter) is an error: nothing runs on a policy set that did not load.
pub fn load_policies(
    config_entries: &[PolicyEntry],
    config_base: &Path,
    workflow_entries: &[PolicyEntry],
    workflow_base: &Path,
) -> Result<PolicySetup, EngineError> {
    let mut uses = Vec::new();
    let mut diagnostics = Vec::new();
    for (entries, base) in [
        (config_entries, config_base),
        (workflow_entries, workflow_base),
    ] {
        for entry in entries {
            match bind_entry(entry, base) {
                Ok(mut bound) => uses.append(&mut bound),
                Err(mut errors) => diagnostics.append(&mut errors),
            }
        }
    }
    if !diagnostics.is_empty() {
        return Err(EngineError::Policies(diagnostics));
    }
    Ok(PolicySetup {
        sha256: fingerprint(uses.iter().map(|u| (u, None)))?,
        uses,
    })
}

/// SHA-256 over each use's policy id, source text, parameters and level, in order: what a
/// receipt's `policy_set_sha256` records. A use limited to some tools (the hook's `tools:`)
/// carries that list too, so that two sets judging differently never share a fingerprint.
///
/// The hashed bytes are the RFC 8785 form of `[{"args": [...], "level": "hard", "policy":
/// "ns.name", "source_sha256": "...", "tools": [...]}, ...]` (`tools` only when limited),
/// written member by member into the hash: every hook call fingerprints its whole set, and
/// building JSON values for 41 entries only to sort their keys cost more than the hashing.
pub(crate) fn fingerprint<'u>(
    uses: impl IntoIterator<Item = (&'u PolicyUse, Option<&'u [String]>)>,
) -> Result<String, EngineError> {
    let mut hash = Sha256::new();
    let mut entry = Vec::with_capacity(256);
    hash.update(b"[");
    for (index, (u, tools)) in uses.into_iter().enumerate() {
        // Each source file is hashed once (the policies of a namespace share it; the
        // library's hashes were computed when Enact was built).
        let file = &u.policy.file;
        let source_sha256 = file.sha256.get_or_init(|| sha256_hex(file.text.as_bytes()));
        // The members in their canonical order (the keys' UTF-16 order is alphabetical here).
        entry.clear();
        entry.extend_from_slice(b"{\"args\":[");
        for (position, arg) in u.args.iter().enumerate() {
            if position > 0 {
                entry.push(b',');
            }
            write_value(&arg.to_json(), &mut entry)
                .map_err(|e| EngineError::Internal(e.to_string()))?;
        }
        entry.extend_from_slice(b"],\"level\":");
        write_string(u.enforcement.name(), &mut entry);
        entry.extend_from_slice(b",\"policy\":");
        write_string(&u.policy.id, &mut entry);
        entry.extend_from_slice(b",\"source_sha256\":");
        write_string(source_sha256, &mut entry);
        if let Some(tools) = tools {
            entry.extend_from_slice(b",\"tools\":[");
            for (position, tool) in tools.iter().enumerate() {
                if position > 0 {
                    entry.push(b',');
                }
                write_string(tool, &mut entry);
            }
            entry.push(b']');
        }
        entry.push(b'}');
        if index > 0 {
            hash.update(b",");
        }
        hash.update(&entry);
    }
    hash.update(b"]");
    Ok(hex::encode(hash.finalize()))
}

/// The uses of one entry: a library policy, or every policy of a file.
pub(crate) fn bind_entry(
    entry: &PolicyEntry,
    base: &Path,
) -> Result<Vec<PolicyUse>, Vec<Diagnostic>> {
    let one_error = |message: String| vec![Diagnostic::new(Code::UnknownPolicy, message)];
    match &entry.source {
        PolicySource::Library(id) => {
            let policy = resolve(id)?;
            bind(&policy, &entry.with, entry.level)
                .map(|u| vec![u])
                .map_err(one_error)
        }
        PolicySource::File(file) => {
            let path = base.join(file);
            if !path.is_file() {
                return Err(one_error(format!(
                    "policy file {} does not exist",
                    path.display()
                )));
            }
            let set = PolicySet::load_clean(std::slice::from_ref(&path))?;
            set.policies()
                .map(|policy| bind(policy, &Value::Null, entry.level).map_err(one_error))
                .collect()
        }
    }
}

/// The policies of a run that apply at run level and those that apply before steps.
pub fn split_levels(uses: &[PolicyUse]) -> (Vec<PolicyUse>, Vec<PolicyUse>) {
    let run = uses
        .iter()
        .filter(|u| u.policy.levels.run)
        .cloned()
        .collect();
    let action = uses
        .iter()
        .filter(|u| u.policy.levels.action)
        .cloned()
        .collect();
    (run, action)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::policy::eval::Enforcement;
    use crate::receipt::canonical::canonical_json;

    /// The fingerprint's definition, written the plain way: the canonical JSON of an array of
    /// objects, hashed.
    type Entry<'u> = (&'u PolicyUse, Option<&'u [String]>);

    fn by_definition(uses: &[Entry<'_>]) -> String {
        let entries: Vec<serde_json::Value> = uses
            .iter()
            .map(|(u, tools)| {
                let mut entry = json!({
                    "policy": &*u.policy.id,
                    "source_sha256": sha256_hex(u.policy.file.text.as_bytes()),
                    "args": u.args.iter().map(Value::to_json).collect::<Vec<_>>(),
                    "level": u.enforcement,
                });
                if let Some(tools) = tools {
                    entry["tools"] = json!(tools);
                }
                entry
            })
            .collect();
        sha256_hex(&canonical_json(&json!(entries)).unwrap())
    }

    fn bound(id: &str, with: serde_json::Value, level: Enforcement) -> PolicyUse {
        bind(&resolve(id).unwrap(), &Value::from(&with), level).unwrap()
    }

    #[test]
    fn the_fingerprint_is_the_hash_of_its_canonical_json() {
        let paths = bound(
            "access.require_clearance_for_path",
            json!({"paths": ["/srv/\"secret\"\n", "/home/é"], "min_clearance": 3}),
            Enforcement::Soft,
        );
        let plain = bound(
            "coding_agent.block_terraform_destroy",
            json!(null),
            Enforcement::Hard,
        );
        let advisory = bound(
            "git.require_branch_prefix",
            json!(null),
            Enforcement::Advisory,
        );
        let tools = vec!["Bash".to_string(), "mcp__db__query".to_string()];
        let sets: Vec<Vec<Entry<'_>>> = vec![
            vec![],
            vec![(&plain, None)],
            vec![
                (&paths, None),
                (&plain, Some(&tools)),
                (&advisory, Some(&[])),
            ],
            vec![(&advisory, None), (&paths, Some(&tools[..1]))],
        ];
        let mut seen = std::collections::HashSet::new();
        for set in sets {
            let fingerprint = fingerprint(set.iter().copied()).unwrap();
            assert_eq!(fingerprint, by_definition(&set));
            assert!(
                seen.insert(fingerprint),
                "two different sets share a fingerprint"
            );
        }
    }
}
