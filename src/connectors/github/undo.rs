//! The inverses of the GitHub actions, applied by `enact rollback`. Each one checks what is
//! there now before changing anything: what is already undone is reported as such, and
//! anything that has moved on since the run (a branch with new commits, a pull request merged
//! meanwhile) is left alone with a message saying what to do by hand.

use octocrab::models::IssueState;
use octocrab::models::issues::Issue;
use octocrab::models::pulls::PullRequest;
use octocrab::models::repos::Ref;
use serde_json::{Value as Json, json};

pub use super::revert::revert_merge;

use super::Data;
use super::actions::{
    branch_sha, is_merged, issue, issue_output, open_issue_titled, open_pr_for, open_prs_using,
    pr_output, pull_request,
};
use super::api::Api;
use super::short;
use crate::connectors::{ConnectorError, UndoOutcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    PullRequest,
    Issue,
}

fn outcome(action: &'static str, output: Json, already_done: Option<&'static str>) -> UndoOutcome {
    UndoOutcome {
        action,
        output,
        already_done,
    }
}

/// The number a create step recorded in its output; `None` after an interrupted run.
fn recorded_number(output: &Json) -> Option<u64> {
    output.get("number").and_then(Json::as_u64)
}

pub fn delete_created_branch(
    api: &Api,
    data: &Data,
    _output: &Json,
) -> Result<UndoOutcome, ConnectorError> {
    const INVERSE: &str = "delete_created_branch";
    let repo = &data.repo;
    let branch = data.branch("branch")?;
    let created_at = data.sha("sha")?;
    let Some(now) = branch_sha(api, repo, branch)? else {
        return Ok(outcome(
            INVERSE,
            json!({"repo": repo.full_name(), "branch": branch, "deleted": false}),
            Some("absent"),
        ));
    };
    if now != created_at {
        return Err(ConnectorError::CannotUndo(format!(
            "branch `{branch}` in {} has moved since Enact created it at {} (it is at {} now: \
             commits were pushed to it); Enact will not delete commits it did not create — \
             delete the branch by hand if they may go",
            repo.full_name(),
            short(created_at),
            short(&now)
        )));
    }
    let open_from_it: Vec<String> = open_prs_using(api, repo, branch)?
        .iter()
        .map(|pr| format!("#{}", pr.number))
        .collect();
    if !open_from_it.is_empty() {
        return Err(ConnectorError::CannotUndo(format!(
            "branch `{branch}` in {} is used by open pull request {}, which deleting it would \
             close; close or retarget {} first, or delete the branch by hand",
            repo.full_name(),
            open_from_it.join(", "),
            if open_from_it.len() == 1 {
                "it"
            } else {
                "them"
            }
        )));
    }
    api.delete(&format!("{}/git/refs/heads/{branch}", repo.route()))?;
    Ok(outcome(
        INVERSE,
        json!({"repo": repo.full_name(), "branch": branch, "sha": created_at, "deleted": true}),
        None,
    ))
}

pub fn close_created_pr(
    api: &Api,
    data: &Data,
    output: &Json,
) -> Result<UndoOutcome, ConnectorError> {
    const INVERSE: &str = "close_created_pr";
    let repo = &data.repo;
    let pr = match recorded_number(output) {
        Some(number) => pull_request(api, repo, number)?,
        None => {
            // The run stopped while opening it: Enact checked there was none open before, so an
            // open one from the same branch, into the same base, with the same title is its.
            let branch = data.branch("branch")?;
            let base = data.branch("base")?;
            let title = data.str("title")?;
            match open_pr_for(api, repo, branch, base)? {
                Some(pr) if pr.title.as_deref() == Some(title) => pr,
                _ => {
                    return Ok(outcome(
                        INVERSE,
                        json!({"repo": repo.full_name(), "closed": false}),
                        Some("absent"),
                    ));
                }
            }
        }
    };
    let number = pr.number;
    if is_merged(&pr) {
        return Err(ConnectorError::CannotUndo(format!(
            "pull request #{number} in {} was merged after Enact opened it; closing cannot undo \
             a merge — revert it by hand if it should not be there",
            repo.full_name()
        )));
    }
    if pr.state == Some(IssueState::Closed) {
        return Ok(outcome(INVERSE, pr_output(repo, &pr), Some("closed")));
    }
    let closed: PullRequest = api.patch(
        &format!("{}/pulls/{number}", repo.route()),
        &json!({"state": "closed"}),
    )?;
    Ok(outcome(INVERSE, pr_output(repo, &closed), None))
}

pub fn close_created_issue(
    api: &Api,
    data: &Data,
    output: &Json,
) -> Result<UndoOutcome, ConnectorError> {
    const INVERSE: &str = "close_created_issue";
    let repo = &data.repo;
    let found = match recorded_number(output) {
        Some(number) => issue(api, repo, number)?,
        None => match open_issue_titled(api, repo, data.str("title")?)? {
            Some(found) => found,
            None => {
                return Ok(outcome(
                    INVERSE,
                    json!({"repo": repo.full_name(), "closed": false}),
                    Some("absent"),
                ));
            }
        },
    };
    if found.state == IssueState::Closed {
        return Ok(outcome(INVERSE, issue_output(repo, &found), Some("closed")));
    }
    let closed: Issue = api.patch(
        &format!("{}/issues/{}", repo.route(), found.number),
        &json!({"state": "closed", "state_reason": "not_planned"}),
    )?;
    Ok(outcome(INVERSE, issue_output(repo, &closed), None))
}

/// Reopens what close_pr or close_issue closed.
pub fn reopen(api: &Api, data: &Data, kind: Kind) -> Result<UndoOutcome, ConnectorError> {
    let repo = &data.repo;
    let number = data.number()?;
    let refused = |e: super::api::ApiError| match e.status {
        Some(422) => ConnectorError::CannotUndo(format!(
            "GitHub would not reopen #{number} in {}: {}",
            repo.full_name(),
            e.error
        )),
        _ => e.error,
    };
    match kind {
        Kind::PullRequest => {
            const INVERSE: &str = "reopen_pr";
            let pr = pull_request(api, repo, number)?;
            if is_merged(&pr) {
                return Err(ConnectorError::CannotUndo(format!(
                    "pull request #{number} in {} was reopened and merged since Enact closed it; \
                     there is nothing left to reopen",
                    repo.full_name()
                )));
            }
            if pr.state != Some(IssueState::Closed) {
                return Ok(outcome(INVERSE, pr_output(repo, &pr), Some("open")));
            }
            let reopened: PullRequest = api
                .patch(
                    &format!("{}/pulls/{number}", repo.route()),
                    &json!({"state": "open"}),
                )
                .map_err(refused)?;
            Ok(outcome(INVERSE, pr_output(repo, &reopened), None))
        }
        Kind::Issue => {
            const INVERSE: &str = "reopen_issue";
            let found = issue(api, repo, number)?;
            if found.state != IssueState::Closed {
                return Ok(outcome(INVERSE, issue_output(repo, &found), Some("open")));
            }
            let reopened: Issue = api
                .patch(
                    &format!("{}/issues/{number}", repo.route()),
                    &json!({"state": "open"}),
                )
                .map_err(refused)?;
            Ok(outcome(INVERSE, issue_output(repo, &reopened), None))
        }
    }
}

/// The deleted branch back at its SHA, then the pull requests GitHub closed with it reopened.
pub fn recreate_branch(api: &Api, data: &Data) -> Result<UndoOutcome, ConnectorError> {
    const INVERSE: &str = "recreate_branch";
    let repo = &data.repo;
    let branch = data.branch("branch")?;
    let sha = data.sha("sha")?;
    let mut changed = false;
    match branch_sha(api, repo, branch)? {
        Some(now) if now == sha => {}
        Some(now) => {
            return Err(ConnectorError::CannotUndo(format!(
                "branch `{branch}` in {} was created again since Enact deleted it, at {} rather \
                 than {}; Enact will not move it — the deleted branch's commit is {sha}",
                repo.full_name(),
                short(&now),
                short(sha)
            )));
        }
        None => {
            let _: Ref = api.post(
                &format!("{}/git/refs", repo.route()),
                &json!({"ref": format!("refs/heads/{branch}"), "sha": sha}),
            )?;
            changed = true;
        }
    }
    let numbers: Vec<u64> = data
        .get("pull_requests")
        .and_then(Json::as_array)
        .map(|list| list.iter().filter_map(Json::as_u64).collect())
        .unwrap_or_default();
    let mut reopened = Vec::new();
    let mut left = Vec::new();
    // The branch is back by now: a pull request that cannot be read is left and named, like
    // one that cannot be reopened, and the others are still reopened.
    for number in numbers {
        let pr = match pull_request(api, repo, number) {
            Ok(pr) => pr,
            Err(e) => {
                left.push(format!("#{number} ({e})"));
                continue;
            }
        };
        if pr.state != Some(IssueState::Closed) {
            continue;
        }
        if is_merged(&pr) {
            left.push(format!("#{number} (merged since)"));
            continue;
        }
        let result: Result<PullRequest, _> = api.patch(
            &format!("{}/pulls/{number}", repo.route()),
            &json!({"state": "open"}),
        );
        match result {
            Ok(_) => reopened.push(number),
            Err(e) => left.push(format!("#{number} ({})", e.error)),
        }
    }
    if !left.is_empty() {
        return Err(ConnectorError::CannotUndo(format!(
            "branch `{branch}` in {} is back at {}{}, but pull request {} could not be reopened; \
             reopen by hand",
            repo.full_name(),
            short(sha),
            if reopened.is_empty() {
                String::new()
            } else {
                format!(" and #{} reopened", join_numbers(&reopened))
            },
            left.join(", ")
        )));
    }
    let already = (!changed && reopened.is_empty()).then_some("present");
    Ok(outcome(
        INVERSE,
        json!({
            "repo": repo.full_name(),
            "branch": branch,
            "sha": sha,
            "recreated": changed,
            "reopened": reopened,
        }),
        already,
    ))
}

fn join_numbers(numbers: &[u64]) -> String {
    numbers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", #")
}
