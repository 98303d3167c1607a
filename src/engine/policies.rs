//! The policies a run applies: the config's, then the workflow's, each bound to its
//! parameters and enforcement level, and the fingerprint of the whole set for receipts.

use std::path::Path;

use super::EngineError;
use crate::policy::diagnostic::{Code, Diagnostic};
use crate::policy::eval::PolicyUse;
use crate::policy::library::{PolicySet, bind, resolve};
use crate::policy::value::Value;
use crate::receipt::canonical::{canonical_json, sha256_hex};
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
pub(crate) fn fingerprint<'u>(
    uses: impl IntoIterator<Item = (&'u PolicyUse, Option<&'u [String]>)>,
) -> Result<String, EngineError> {
    let fingerprint: Vec<serde_json::Value> = uses
        .into_iter()
        .map(|(u, tools)| {
            // Each source file is hashed once (the policies of a namespace share it; the
            // library's hashes were computed when Enact was built).
            let file = &u.policy.file;
            let source_sha256 = file.sha256.get_or_init(|| sha256_hex(file.text.as_bytes()));
            let mut entry = serde_json::json!({
                "policy": &*u.policy.id,
                "source_sha256": source_sha256,
                "args": u.args.iter().map(Value::to_json).collect::<Vec<_>>(),
                "level": u.enforcement,
            });
            if let (Some(tools), Some(fields)) = (tools, entry.as_object_mut()) {
                fields.insert("tools".into(), serde_json::json!(tools));
            }
            entry
        })
        .collect();
    let bytes = canonical_json(&serde_json::Value::Array(fingerprint))
        .map_err(|e| EngineError::Internal(e.to_string()))?;
    Ok(sha256_hex(&bytes))
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
