//! The eight GitHub actions. Each reads the current state first: when the desired state already
//! holds it changes nothing and says so (`already_done`); otherwise it captures what its
//! inverse needs, hands that to `prepared`, and only then makes the one request that changes
//! something.

use octocrab::models::commits::GitCommitObject;
use octocrab::models::issues::Issue;
use octocrab::models::pulls::{Merge, PullRequest};
use octocrab::models::repos::{Object, Ref};
use octocrab::models::{GitTree, IssueState, Repository};
use serde_json::{Map, Value as Json, json};

use super::api::Api;
use super::trees::{Found, Trees};
use super::{Args, Repo, check_branch, short};
use crate::connectors::{ActionOutcome, ConnectorError};

type Prepared<'p> = &'p mut dyn FnMut(&Json) -> Result<(), String>;

pub fn create_branch(
    api: &Api,
    args: &Args,
    prepared: Prepared,
) -> Result<ActionOutcome, ConnectorError> {
    let repo = &args.repo;
    let branch = args.str("branch");
    let found = repository(api, repo)?;
    let from = match args.opt_str("from") {
        Some(from) => from.to_string(),
        None => default_branch(&found, repo)?,
    };
    if let Some(sha) = ref_sha(api, repo, branch)? {
        return Ok(done(
            json!({"repo": repo.full_name(), "branch": branch, "sha": sha, "url": tree_url(&found, branch)}),
            "exists",
        ));
    }
    let sha = ref_sha(api, repo, &from)?.ok_or_else(|| {
        ConnectorError::Failed(format!(
            "cannot create branch `{branch}` from `{from}`: there is no branch `{from}` in {}",
            repo.full_name()
        ))
    })?;
    let rollback_data = json!({"repo": repo.full_name(), "branch": branch, "sha": sha});
    prepared(&rollback_data).map_err(ConnectorError::NotJournaled)?;
    let _: Ref = api.post(
        &format!("{}/git/refs", repo.route()),
        &json!({"ref": format!("refs/heads/{branch}"), "sha": sha}),
    )?;
    Ok(ActionOutcome {
        output: json!({
            "repo": repo.full_name(),
            "branch": branch,
            "from": from,
            "sha": sha,
            "url": tree_url(&found, branch),
        }),
        already_done: None,
        rollback_data,
    })
}

pub fn create_pr(
    api: &Api,
    args: &Args,
    prepared: Prepared,
) -> Result<ActionOutcome, ConnectorError> {
    let repo = &args.repo;
    let branch = args.str("branch");
    let title = args.str("title");
    let base = match args.opt_str("base") {
        Some(base) => base.to_string(),
        None => default_branch(&repository(api, repo)?, repo)?,
    };
    if let Some(open) = open_pr_for(api, repo, branch, &base)? {
        return Ok(done(pr_output(repo, &open), "open"));
    }
    let rollback_data =
        json!({"repo": repo.full_name(), "branch": branch, "base": base, "title": title});
    prepared(&rollback_data).map_err(ConnectorError::NotJournaled)?;
    let mut body = Map::new();
    body.insert("title".into(), json!(title));
    body.insert("head".into(), json!(branch));
    body.insert("base".into(), json!(base));
    if let Some(text) = args.opt_str("body") {
        body.insert("body".into(), json!(text));
    }
    if args.bool("draft") {
        body.insert("draft".into(), json!(true));
    }
    let created: PullRequest = api.post(&format!("{}/pulls", repo.route()), &body)?;
    Ok(ActionOutcome {
        output: pr_output(repo, &created),
        already_done: None,
        rollback_data,
    })
}

pub fn create_issue(
    api: &Api,
    args: &Args,
    prepared: Prepared,
) -> Result<ActionOutcome, ConnectorError> {
    let repo = &args.repo;
    let title = args.str("title");
    if title.trim().is_empty() {
        return Err(ConnectorError::BadArgs("`title` is empty".into()));
    }
    let mut labels = Vec::new();
    for label in args
        .get("labels")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        match label.as_str() {
            Some(name) if !name.trim().is_empty() => labels.push(name),
            _ => {
                return Err(ConnectorError::BadArgs(format!(
                    "`labels` must be a list of label names, not {label}"
                )));
            }
        }
    }
    if let Some(open) = open_issue_titled(api, repo, title)? {
        return Ok(done(issue_output(repo, &open), "open"));
    }
    let rollback_data = json!({"repo": repo.full_name(), "title": title});
    prepared(&rollback_data).map_err(ConnectorError::NotJournaled)?;
    let mut body = Map::new();
    body.insert("title".into(), json!(title));
    if let Some(text) = args.opt_str("body") {
        body.insert("body".into(), json!(text));
    }
    if !labels.is_empty() {
        body.insert("labels".into(), json!(labels));
    }
    let created: Issue = api.post(&format!("{}/issues", repo.route()), &body)?;
    Ok(ActionOutcome {
        output: issue_output(repo, &created),
        already_done: None,
        rollback_data,
    })
}

pub fn close_pr(
    api: &Api,
    args: &Args,
    prepared: Prepared,
) -> Result<ActionOutcome, ConnectorError> {
    let repo = &args.repo;
    let number = args.number()?;
    let pr = pull_request(api, repo, number)?;
    if is_merged(&pr) {
        return Ok(done(pr_output(repo, &pr), "merged"));
    }
    if pr.state == Some(IssueState::Closed) {
        return Ok(done(pr_output(repo, &pr), "closed"));
    }
    let rollback_data = json!({"repo": repo.full_name(), "number": number});
    prepared(&rollback_data).map_err(ConnectorError::NotJournaled)?;
    let closed: PullRequest = api.patch(
        &format!("{}/pulls/{number}", repo.route()),
        &json!({"state": "closed"}),
    )?;
    Ok(ActionOutcome {
        output: pr_output(repo, &closed),
        already_done: None,
        rollback_data,
    })
}

pub fn close_issue(
    api: &Api,
    args: &Args,
    prepared: Prepared,
) -> Result<ActionOutcome, ConnectorError> {
    let repo = &args.repo;
    let number = args.number()?;
    let reason = args.opt_str("reason").unwrap_or("completed");
    if !matches!(reason, "completed" | "not_planned") {
        return Err(ConnectorError::BadArgs(format!(
            "`reason` must be `completed` or `not_planned`, not `{}`",
            reason.escape_debug()
        )));
    }
    let issue = issue(api, repo, number)?;
    if issue.pull_request.is_some() {
        return Err(ConnectorError::Refused(format!(
            "#{number} in {} is a pull request; close it with close_pr",
            repo.full_name()
        )));
    }
    if issue.state == IssueState::Closed {
        return Ok(done(issue_output(repo, &issue), "closed"));
    }
    let rollback_data = json!({"repo": repo.full_name(), "number": number});
    prepared(&rollback_data).map_err(ConnectorError::NotJournaled)?;
    let closed: Issue = api.patch(
        &format!("{}/issues/{number}", repo.route()),
        &json!({"state": "closed", "state_reason": reason}),
    )?;
    Ok(ActionOutcome {
        output: issue_output(repo, &closed),
        already_done: None,
        rollback_data,
    })
}

pub fn delete_branch(
    api: &Api,
    args: &Args,
    prepared: Prepared,
) -> Result<ActionOutcome, ConnectorError> {
    let repo = &args.repo;
    let branch = args.str("branch");
    let found = repository(api, repo)?;
    if found.default_branch.as_deref() == Some(branch) {
        return Err(ConnectorError::Refused(format!(
            "`{branch}` is the default branch of {}; Enact does not delete it",
            repo.full_name()
        )));
    }
    let Some(sha) = ref_sha(api, repo, branch)? else {
        return Ok(done(
            json!({"repo": repo.full_name(), "branch": branch, "deleted": false}),
            "absent",
        ));
    };
    // GitHub closes the open pull requests from or into a deleted branch; rollback reopens them.
    let affected: Vec<u64> = open_prs_using(api, repo, branch)?
        .iter()
        .map(|pr| pr.number)
        .collect();
    let rollback_data = json!({
        "repo": repo.full_name(),
        "branch": branch,
        "sha": sha,
        "pull_requests": affected,
    });
    prepared(&rollback_data).map_err(ConnectorError::NotJournaled)?;
    api.delete(&format!("{}/git/refs/heads/{branch}", repo.route()))?;
    Ok(ActionOutcome {
        output: json!({"repo": repo.full_name(), "branch": branch, "sha": sha, "deleted": true}),
        already_done: None,
        rollback_data,
    })
}

pub fn merge_pr(
    api: &Api,
    args: &Args,
    prepared: Prepared,
) -> Result<ActionOutcome, ConnectorError> {
    let repo = &args.repo;
    let number = args.number()?;
    let base = args.str("base");
    let method = args.opt_str("merge_method").unwrap_or("merge");
    if !matches!(method, "merge" | "squash") {
        return Err(ConnectorError::BadArgs(format!(
            "`merge_method` must be `merge` or `squash`, not `{}`: Enact reverts merges by their \
             merge commit, which a rebase merge does not have",
            method.escape_debug()
        )));
    }
    let pr = pull_request(api, repo, number)?;
    if pr.base.ref_field != base {
        return Err(ConnectorError::Refused(format!(
            "pull request #{number} in {} merges into `{}`, not `{base}` as the step says; \
             policies judge `base`, so it must be the pull request's real base",
            repo.full_name(),
            pr.base.ref_field
        )));
    }
    if is_merged(&pr) {
        let mut output = pr_output(repo, &pr);
        insert(&mut output, "sha", json!(pr.merge_commit_sha));
        return Ok(done(output, "merged"));
    }
    if pr.state == Some(IssueState::Closed) {
        return Err(ConnectorError::Failed(format!(
            "pull request #{number} in {} is closed; reopen it before merging",
            repo.full_name()
        )));
    }
    // The revert after an interrupted run checks that the merge it finds was made at this head.
    let head_sha = pr.head.sha.clone();
    let rollback_data = json!({
        "repo": repo.full_name(),
        "number": number,
        "base": base,
        "head_sha": head_sha,
        "title": pr.title.clone().unwrap_or_default(),
    });
    prepared(&rollback_data).map_err(ConnectorError::NotJournaled)?;
    // `sha` makes GitHub refuse (409) if the head moved after Enact looked at it.
    let mut body = Map::new();
    body.insert("sha".into(), json!(head_sha));
    body.insert("merge_method".into(), json!(method));
    for key in ["commit_title", "commit_message"] {
        if let Some(text) = args.opt_str(key) {
            body.insert(key.into(), json!(text));
        }
    }
    let merged: Merge = api.put(&format!("{}/pulls/{number}/merge", repo.route()), &body)?;
    if !merged.merged {
        return Err(ConnectorError::Failed(format!(
            "GitHub did not merge pull request #{number} in {}: {}",
            repo.full_name(),
            merged.message.unwrap_or_default()
        )));
    }
    Ok(ActionOutcome {
        output: json!({
            "repo": repo.full_name(),
            "number": number,
            "base": base,
            "merged": true,
            "sha": merged.sha,
            "url": pr.html_url.as_ref().map(ToString::to_string),
        }),
        already_done: None,
        rollback_data,
    })
}

pub fn push_commit(
    api: &Api,
    args: &Args,
    prepared: Prepared,
) -> Result<ActionOutcome, ConnectorError> {
    let repo = &args.repo;
    let branch = args.str("branch");
    let message = args.str("commit_message");
    if message.trim().is_empty() {
        return Err(ConnectorError::BadArgs("`commit_message` is empty".into()));
    }
    let files = files(args)?;
    let Some(tip) = branch_sha(api, repo, branch)? else {
        return Err(ConnectorError::Failed(format!(
            "there is no branch `{branch}` in {}; create it first (create_branch)",
            repo.full_name()
        )));
    };
    let trees = Trees::new(api, repo);
    let parent_tree = trees.tree_of(&tip)?;
    let mut entries = Vec::new();
    for (path, content) in &files {
        let mode = match trees.lookup(&parent_tree, path)? {
            Found::Missing => "100644".to_string(),
            Found::File(leaf) if leaf.mode == "100644" || leaf.mode == "100755" => leaf.mode,
            Found::File(_) => {
                return Err(ConnectorError::Refused(format!(
                    "`{path}` on `{branch}` is a symlink or a submodule; push_commit writes \
                     regular files only"
                )));
            }
            Found::Directory => {
                return Err(ConnectorError::Refused(format!(
                    "`{path}` on `{branch}` is a directory; push_commit writes files only"
                )));
            }
            Found::BelowFile => {
                return Err(ConnectorError::Refused(format!(
                    "`{path}` cannot be written on `{branch}`: a directory on its way is a file"
                )));
            }
        };
        entries.push(json!({"path": path, "mode": mode, "type": "blob", "content": content}));
    }
    // Creating a tree changes no branch; it tells whether the commit would change anything.
    let tree: GitTree = api.post(
        &format!("{}/git/trees", repo.route()),
        &json!({"base_tree": parent_tree, "tree": entries}),
    )?;
    let paths: Vec<&str> = files.iter().map(|(path, _)| path.as_str()).collect();
    if tree.sha == parent_tree {
        return Ok(done(
            json!({"repo": repo.full_name(), "branch": branch, "sha": tip, "files": paths}),
            "unchanged",
        ));
    }
    let rollback_data = json!({"repo": repo.full_name(), "branch": branch, "parent": tip});
    prepared(&rollback_data).map_err(ConnectorError::NotJournaled)?;
    let commit = commit_on(api, repo, branch, &tip, &tree.sha, message, || {
        ConnectorError::Failed(format!(
            "branch `{branch}` in {} moved while Enact was committing (it is no longer at {}); \
             nothing was pushed — run again",
            repo.full_name(),
            short(&tip)
        ))
    })?;
    Ok(ActionOutcome {
        output: json!({
            "repo": repo.full_name(),
            "branch": branch,
            "sha": commit.sha,
            "parent": tip,
            "files": paths,
            "url": commit.html_url,
        }),
        already_done: None,
        rollback_data,
    })
}

/// `files` as (path, content) pairs, every path checked, `file_count` matching.
fn files(args: &Args) -> Result<Vec<(String, String)>, ConnectorError> {
    let map = args
        .get("files")
        .and_then(Json::as_object)
        .ok_or_else(|| ConnectorError::BadArgs("`files` must be a map of path to text".into()))?;
    if map.is_empty() {
        return Err(ConnectorError::BadArgs(
            "`files` is empty: there is nothing to commit".into(),
        ));
    }
    let count = args.get("file_count").and_then(Json::as_u64);
    if count != Some(map.len() as u64) {
        return Err(ConnectorError::BadArgs(format!(
            "`file_count` is {}, but `files` holds {} files; it must be exact, because \
             max_files_per_commit judges it",
            args.get("file_count").unwrap_or(&Json::Null),
            map.len()
        )));
    }
    let mut files = Vec::new();
    for (path, content) in map {
        check_path(path)?;
        let Some(content) = content.as_str() else {
            return Err(ConnectorError::BadArgs(format!(
                "the content of `{}` must be text, not {content}",
                path.escape_debug()
            )));
        };
        files.push((path.clone(), content.to_string()));
    }
    for (path, _) in &files {
        if let Some((other, _)) = files
            .iter()
            .find(|(o, _)| o.starts_with(&format!("{path}/")))
        {
            return Err(ConnectorError::BadArgs(format!(
                "`{path}` cannot be both a file and the directory of `{other}`"
            )));
        }
    }
    Ok(files)
}

/// A path inside the repository: relative, no empty, `.` or `..` parts, nothing under `.git`.
fn check_path(path: &str) -> Result<(), ConnectorError> {
    let why = if path.is_empty() {
        Some("is empty")
    } else if path.len() > 4096 {
        Some("is longer than 4096 bytes")
    } else if path.chars().any(|c| c.is_control() || c == '\\') {
        Some("holds a control character or a backslash")
    } else if path.starts_with('/') {
        Some("is absolute; paths are relative to the repository's root")
    } else if path
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        Some("has an empty, `.` or `..` part")
    } else if path
        .split('/')
        .any(|part| part.eq_ignore_ascii_case(".git"))
    {
        Some("is inside `.git`")
    } else {
        None
    };
    match why {
        Some(why) => Err(ConnectorError::BadArgs(format!(
            "file path `{}` {why}",
            path.escape_debug()
        ))),
        None => Ok(()),
    }
}

/// An outcome that changed nothing.
fn done(output: Json, word: &'static str) -> ActionOutcome {
    ActionOutcome {
        output,
        already_done: Some(word),
        rollback_data: Json::Null,
    }
}

fn insert(output: &mut Json, key: &str, value: Json) {
    if let Some(map) = output.as_object_mut() {
        map.insert(key.to_string(), value);
    }
}

pub fn repository(api: &Api, repo: &Repo) -> Result<Repository, ConnectorError> {
    Ok(api.get(&repo.route())?)
}

fn default_branch(found: &Repository, repo: &Repo) -> Result<String, ConnectorError> {
    found.default_branch.clone().ok_or_else(|| {
        ConnectorError::Failed(format!(
            "GitHub did not say which branch is the default of {}; name it in the step",
            repo.full_name()
        ))
    })
}

/// A commit of `tree` on top of `tip`, then `branch` moved to it — never a forced update, so
/// a branch that moved meanwhile keeps its commits: GitHub refuses (422) and `moved` says so.
pub fn commit_on(
    api: &Api,
    repo: &Repo,
    branch: &str,
    tip: &str,
    tree: &str,
    message: &str,
    moved: impl FnOnce() -> ConnectorError,
) -> Result<GitCommitObject, ConnectorError> {
    let commit: GitCommitObject = api.post(
        &format!("{}/git/commits", repo.route()),
        &json!({"message": message, "tree": tree, "parents": [tip]}),
    )?;
    let _: Ref = api
        .patch(
            &format!("{}/git/refs/heads/{branch}", repo.route()),
            &json!({"sha": commit.sha, "force": false}),
        )
        .map_err(|e| match e.status {
            Some(422) => moved(),
            _ => e.error,
        })?;
    Ok(commit)
}

/// Where a branch points, or `None` when the repository has no such branch. GitHub answers
/// 404 for a repository that is gone or hidden from the token too, so an absent branch is
/// confirmed by the repository (one more request, on that path only): a repository the token
/// cannot see is an error, never "the branch is absent".
pub fn branch_sha(api: &Api, repo: &Repo, branch: &str) -> Result<Option<String>, ConnectorError> {
    let sha = ref_sha(api, repo, branch)?;
    if sha.is_none() {
        repository(api, repo)?;
    }
    Ok(sha)
}

/// Where a branch points, or `None` on any 404: only for callers that have just fetched the
/// repository itself, so a 404 can only mean the branch.
fn ref_sha(api: &Api, repo: &Repo, branch: &str) -> Result<Option<String>, ConnectorError> {
    check_branch(branch, "branch").map_err(ConnectorError::BadArgs)?;
    let found: Option<Ref> = api.find(&format!("{}/git/ref/heads/{branch}", repo.route()))?;
    Ok(found.and_then(|r| match r.object {
        Object::Commit { sha, .. } => Some(sha),
        _ => None,
    }))
}

pub fn pull_request(api: &Api, repo: &Repo, number: u64) -> Result<PullRequest, ConnectorError> {
    Ok(api.get(&format!("{}/pulls/{number}", repo.route()))?)
}

pub fn issue(api: &Api, repo: &Repo, number: u64) -> Result<Issue, ConnectorError> {
    Ok(api.get(&format!("{}/issues/{number}", repo.route()))?)
}

/// The open pull request from `branch` into `base` (this repository's branches only).
pub fn open_pr_for(
    api: &Api,
    repo: &Repo,
    branch: &str,
    base: &str,
) -> Result<Option<PullRequest>, ConnectorError> {
    let route = format!(
        "{}/pulls?state=open&head={}&base={}",
        repo.route(),
        query_value(&format!("{}:{branch}", repo.owner)),
        query_value(base)
    );
    Ok(api
        .list::<PullRequest>(&route)?
        .into_iter()
        .find(|pr| pr.head.ref_field == branch && pr.base.ref_field == base))
}

/// The open pull requests from this repository's `branch` or into it: those deleting the
/// branch would close. Two lists GitHub filters itself, so neither reads every open pull
/// request; `head=owner:branch` leaves out pull requests from forks' branches of the same name.
pub fn open_prs_using(
    api: &Api,
    repo: &Repo,
    branch: &str,
) -> Result<Vec<PullRequest>, ConnectorError> {
    let open = format!("{}/pulls?state=open", repo.route());
    let from = api.list::<PullRequest>(&format!(
        "{open}&head={}",
        query_value(&format!("{}:{branch}", repo.owner))
    ))?;
    let into = api.list::<PullRequest>(&format!("{open}&base={}", query_value(branch)))?;
    let mut found: Vec<PullRequest> = from
        .into_iter()
        .filter(|pr| pr.head.ref_field == branch)
        .chain(into.into_iter().filter(|pr| pr.base.ref_field == branch))
        .collect();
    found.sort_by_key(|pr| pr.number);
    found.dedup_by_key(|pr| pr.number);
    Ok(found)
}

/// The open issue (not pull request) with exactly this title.
pub fn open_issue_titled(
    api: &Api,
    repo: &Repo,
    title: &str,
) -> Result<Option<Issue>, ConnectorError> {
    Ok(api
        .list::<Issue>(&format!("{}/issues?state=open", repo.route()))?
        .into_iter()
        .find(|issue| issue.pull_request.is_none() && issue.title == title))
}

/// A query string value: branch names may hold `+`, which a query reads as a space.
fn query_value(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'/' | b':') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn tree_url(found: &Repository, branch: &str) -> Json {
    found
        .html_url
        .as_ref()
        .map_or(Json::Null, |url| json!(format!("{url}/tree/{branch}")))
}

/// Whether a pull request was merged: GitHub's lists leave `merged` out, `merged_at` is in both.
pub fn is_merged(pr: &PullRequest) -> bool {
    pr.merged_at.is_some() || pr.merged == Some(true)
}

pub fn pr_output(repo: &Repo, pr: &PullRequest) -> Json {
    let state = if is_merged(pr) {
        "merged"
    } else if pr.state == Some(IssueState::Closed) {
        "closed"
    } else {
        "open"
    };
    json!({
        "repo": repo.full_name(),
        "number": pr.number,
        "url": pr.html_url.as_ref().map(ToString::to_string),
        "branch": pr.head.ref_field,
        "base": pr.base.ref_field,
        "title": pr.title,
        "state": state,
    })
}

pub fn issue_output(repo: &Repo, issue: &Issue) -> Json {
    json!({
        "repo": repo.full_name(),
        "number": issue.number,
        "url": issue.html_url.to_string(),
        "title": issue.title,
        "state": if issue.state == IssueState::Closed { "closed" } else { "open" },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_paths_stay_inside_the_repository() {
        for good in [
            "README.md",
            "src/lib.rs",
            "a b/c-d_e.txt",
            ".github/x.yml",
            "ünï.txt",
        ] {
            check_path(good).unwrap();
        }
        for bad in [
            "",
            "/etc/passwd",
            "a//b",
            "a/",
            "./a",
            "a/../b",
            "..",
            ".git/config",
            "x/.GIT/hooks",
            "a\\b",
            "a\nb",
        ] {
            assert!(check_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn query_values_escape_what_a_query_would_misread() {
        assert_eq!(query_value("acme:agent/a+b"), "acme:agent/a%2Bb");
        assert_eq!(query_value("x&y=z"), "x%26y%3Dz");
    }
}
