//! The policies a run applies: the config's, then the workflow's, each bound to its
//! parameters and enforcement level, and the fingerprint of the whole set for receipts.

use std::path::Path;
use std::sync::Arc;

use super::EngineError;
use crate::policy::diagnostic::{Code, Diagnostic};
use crate::policy::eval::PolicyUse;
use crate::policy::library::{PolicySet, bind, resolve};
use crate::policy::value::Value;
use crate::receipt::canonical::{canonical_json, sha256_hex};
use crate::workflow::PolicyEntry;

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
    let fingerprint: Vec<serde_json::Value> = uses
        .iter()
        .map(|u| {
            serde_json::json!({
                "policy": &*u.policy.id,
                "source_sha256": sha256_hex(u.policy.file.text.as_bytes()),
                "args": u.args.iter().map(Value::to_json).collect::<Vec<_>>(),
                "level": u.enforcement,
            })
        })
        .collect();
    let bytes = canonical_json(&serde_json::Value::Array(fingerprint))
        .map_err(|e| EngineError::Internal(e.to_string()))?;
    Ok(PolicySetup {
        uses,
        sha256: sha256_hex(&bytes),
    })
}

fn bind_entry(entry: &PolicyEntry, base: &Path) -> Result<Vec<PolicyUse>, Vec<Diagnostic>> {
    let with = match &entry.with {
        Some(json) => Value::from(json),
        None => Value::Null,
    };
    let one_error = |message: String| vec![Diagnostic::new(Code::UnknownPolicy, message)];
    match (&entry.use_, &entry.file) {
        (Some(reference), None) => {
            let reference = match reference.rsplit_once(".enact:") {
                Some((path, name)) if !Path::new(path).is_absolute() => {
                    format!("{}.enact:{name}", base.join(path).display())
                }
                _ => reference.clone(),
            };
            let policy = resolve(&reference)?;
            bind(&policy, &with, entry.level)
                .map(|u| vec![u])
                .map_err(one_error)
        }
        (None, Some(file)) => {
            let path = base.join(file);
            if !path.is_file() {
                return Err(one_error(format!(
                    "policy file {} does not exist",
                    path.display()
                )));
            }
            let set = PolicySet::load(std::slice::from_ref(&path));
            let errors: Vec<Diagnostic> = set
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .cloned()
                .collect();
            if !errors.is_empty() {
                return Err(errors);
            }
            if !with.is_null() {
                return Err(one_error(format!(
                    "`with` needs one policy; give it with `use: {}:NAME` instead of `file:`",
                    file.display()
                )));
            }
            set.policies()
                .map(|policy| bind(policy, &Value::Null, entry.level).map_err(one_error))
                .collect()
        }
        _ => Err(one_error(
            "a policy entry takes either `use: ID` or `file: PATH`".to_string(),
        )),
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

/// The id of a policy as users name it in `--override`.
pub fn policy_id(policy_use: &PolicyUse) -> Arc<str> {
    Arc::clone(&policy_use.policy.id)
}
