//! Undoing a merge: a new commit on the base branch that puts back every file the merge
//! changed, exactly as it was before the merge. When the base branch has moved on, the later
//! commits are kept — and if any of them touched a file the merge changed, nothing is done and
//! the message says which files. Never a reset, never a forced ref update: other people's work
//! on the base branch is never discarded.

use octocrab::models::GitTree;
use octocrab::models::commits::GitCommitObject;
use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::actions::{branch_sha, commit_on, is_merged, pull_request};
use super::api::Api;
use super::trees::{Found, Trees, overlapping};
use super::{Data, is_sha, short};
use crate::connectors::{ConnectorError, UndoOutcome};

const INVERSE: &str = "revert_merge";

/// The part of GitHub's compare answer that says how two commits relate.
#[derive(Debug, Deserialize)]
struct Comparison {
    status: String,
}

pub fn revert_merge(api: &Api, data: &Data, output: &Json) -> Result<UndoOutcome, ConnectorError> {
    let repo = &data.repo;
    let number = data.number()?;
    let base = data.branch("base")?;
    let merge = match output.get("sha").and_then(Json::as_str) {
        Some(sha) => sha.to_string(),
        None => {
            // The run stopped while merging: the pull request says whether it happened, and
            // its head whether the merge was this run's. A merge at another head is someone
            // else's, made after this run's merge failed or never got sent.
            let pr = pull_request(api, repo, number)?;
            let head_sha = data.sha("head_sha")?;
            match pr.merge_commit_sha.clone().filter(|_| is_merged(&pr)) {
                Some(_) if pr.head.sha != head_sha => {
                    return Err(ConnectorError::CannotUndo(format!(
                        "pull request #{number} in {} was merged at head {}, not at {} where \
                         this run would have merged it: the merge is not this run's, so Enact \
                         does not revert it",
                        repo.full_name(),
                        short(&pr.head.sha),
                        short(head_sha)
                    )));
                }
                Some(sha) => sha,
                None => {
                    return Ok(UndoOutcome {
                        action: INVERSE,
                        output: json!({"repo": repo.full_name(), "number": number, "reverted": false}),
                        already_done: Some("not merged"),
                    });
                }
            }
        }
    };
    if !is_sha(&merge) {
        return Err(ConnectorError::CannotUndo(format!(
            "the merge of #{number} is recorded as `{}`, which is not a commit SHA; revert it by hand",
            merge.escape_debug()
        )));
    }
    let trees = Trees::new(api, repo);
    let merge_commit: GitCommitObject = trees.commit(&merge)?;
    // A merge commit's first parent is the base branch as it was just before the merge (a
    // squash merge's only parent likewise) — the truth, even if someone pushed between Enact's
    // look at the base and the merge.
    let Some(before) = merge_commit.parents.first().and_then(|p| p.sha.clone()) else {
        return Err(ConnectorError::CannotUndo(format!(
            "merge commit {} of #{number} has no parent; revert it by hand",
            short(&merge)
        )));
    };
    let before_tree = trees.tree_of(&before)?;
    let merge_tree = merge_commit.tree.sha.clone();
    let changes = trees.changes(&before_tree, &merge_tree)?;
    let files: Vec<&String> = changes.keys().collect();
    let summary = |extra: Json| {
        let mut out = json!({
            "repo": repo.full_name(),
            "number": number,
            "base": base,
            "merge": merge,
            "files": files,
        });
        if let (Some(map), Json::Object(more)) = (out.as_object_mut(), extra) {
            map.extend(more);
        }
        out
    };
    if changes.is_empty() {
        return Ok(UndoOutcome {
            action: INVERSE,
            output: summary(json!({"reverted": false})),
            already_done: Some("empty"),
        });
    }
    let Some(tip) = branch_sha(api, repo, base)? else {
        return Err(ConnectorError::CannotUndo(format!(
            "the base branch `{base}` of #{number} no longer exists in {}; nothing to revert on",
            repo.full_name()
        )));
    };

    let revert_tree = if tip == merge {
        before_tree.clone()
    } else {
        let route = format!("{}/compare/{merge}...{tip}", repo.route());
        let comparison: Comparison = api.get(&route)?;
        if comparison.status != "ahead" {
            return Err(ConnectorError::CannotUndo(format!(
                "`{base}` in {} no longer contains merge {} of #{number} (its history was \
                 rewritten: `{}`); Enact will not guess — revert by hand",
                repo.full_name(),
                short(&merge),
                comparison.status
            )));
        }
        let tip_tree = trees.tree_of(&tip)?;
        let mut already_reverted = true;
        for (path, change) in &changes {
            let now = match trees.lookup(&tip_tree, path)? {
                Found::File(leaf) => Some(leaf),
                Found::Missing => None,
                Found::Directory | Found::BelowFile => {
                    already_reverted = false;
                    break;
                }
            };
            if now != change.before {
                already_reverted = false;
                break;
            }
        }
        if already_reverted {
            return Ok(UndoOutcome {
                action: INVERSE,
                output: summary(json!({"reverted": false, "sha": tip})),
                already_done: Some("reverted"),
            });
        }
        let later = trees.changes(&merge_tree, &tip_tree)?;
        let conflicts = overlapping(changes.keys(), &later);
        if !conflicts.is_empty() {
            return Err(ConnectorError::CannotUndo(format!(
                "commits on `{base}` after merge {} of #{number} changed {} too, so a revert \
                 would discard their work; Enact changed nothing — revert the merge by hand \
                 (`git revert -m 1 {merge}`) and resolve those files",
                short(&merge),
                conflicts
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let type_changed = changes
            .keys()
            .any(|outer| changes.keys().any(|inner| is_nested(inner, outer)));
        if type_changed {
            return Err(ConnectorError::CannotUndo(format!(
                "merge {} of #{number} turned a file into a directory or back, and `{base}` has \
                 moved since; revert it by hand (`git revert -m 1 {merge}`)",
                short(&merge)
            )));
        }
        let entries: Vec<Json> = changes
            .iter()
            .map(|(path, change)| match (&change.before, &change.after) {
                (Some(leaf), _) => {
                    json!({"path": path, "mode": leaf.mode, "type": leaf.kind, "sha": leaf.sha})
                }
                (None, Some(added)) => {
                    json!({"path": path, "mode": added.mode, "type": added.kind, "sha": null})
                }
                (None, None) => {
                    json!({"path": path, "mode": "100644", "type": "blob", "sha": null})
                }
            })
            .collect();
        let tree: GitTree = api.post(
            &format!("{}/git/trees", repo.route()),
            &json!({"base_tree": tip_tree, "tree": entries}),
        )?;
        tree.sha
    };

    let title = data
        .get("title")
        .and_then(Json::as_str)
        .filter(|t| !t.is_empty())
        .map_or_else(|| format!("pull request #{number}"), str::to_string);
    let message = format!(
        "Revert \"{title}\" (#{number})\n\nThis reverts merge {merge} of pull request \
         #{number}: `enact rollback` put back the {} file(s) it changed.",
        changes.len()
    );
    let commit = commit_on(api, repo, base, &tip, &revert_tree, &message, || {
        ConnectorError::Failed(format!(
            "`{base}` in {} moved while Enact was reverting merge {} (it is no longer at {}); \
             nothing was changed — run the rollback again",
            repo.full_name(),
            short(&merge),
            short(&tip)
        ))
    })?;
    Ok(UndoOutcome {
        action: INVERSE,
        output: summary(json!({"reverted": true, "sha": commit.sha, "tree": revert_tree})),
        already_done: None,
    })
}

/// Whether `inner` lies inside the directory `outer`.
fn is_nested(inner: &str, outer: &str) -> bool {
    inner
        .strip_prefix(outer)
        .is_some_and(|rest| rest.starts_with('/'))
}
