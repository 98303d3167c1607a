//! A local GitHub REST API for tests, served by `api_server` on 127.0.0.1, keeping real state the
//! way GitHub does: repositories with a default branch; content-addressed blobs, trees and
//! commits with parents; refs that move only by fast-forward unless forced; pull requests and
//! issues sharing one sequence of numbers; merges that make merge commits (or squash commits)
//! from a three-way merge and refuse conflicts; GitHub's error shapes (401 Bad credentials,
//! 404 Not Found, 405, 409, 422 with its `errors` array); `Link` pagination; `x-ratelimit-*`
//! headers and a 403 once the limit is used up. Every request is logged, so a test can prove
//! that nothing was sent.
//!
//! The JSON carries every field octocrab's models require (a missing one makes the real client
//! fail), so the connector is tested through the same deserialisation it meets on github.com.
//! SHAs are 40 hex digits of SHA-256 over the object, so equal content has equal SHAs as in
//! git; they are not git's SHA-1s, which no test needs.
#![allow(
    dead_code,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use super::api_server::{Answer, ApiServer, Call};

/// The token the server accepts.
pub const TOKEN: &str = "ghp_enactTestToken0123456789abcdefABCDEF";

const DOCS: &str = "https://docs.github.com/rest";

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    pub body: Json,
}

impl Logged {
    /// `POST /repos/acme/app/git/refs`, without the query.
    pub fn line(&self) -> String {
        format!(
            "{} {}",
            self.method,
            self.path.split('?').next().unwrap_or_default()
        )
    }
}

/// A pull request as a test reads it back.
#[derive(Debug, Clone, PartialEq)]
pub struct PullView {
    pub number: u64,
    pub title: String,
    pub head: String,
    pub base: String,
    pub state: String,
    pub merged: bool,
    pub merge_commit_sha: Option<String>,
}

/// An issue as a test reads it back.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueView {
    pub number: u64,
    pub title: String,
    pub state: String,
    pub state_reason: Option<String>,
}

/// A commit as a test reads it back.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitView {
    pub tree: String,
    pub parents: Vec<String>,
    pub message: String,
}

pub struct GithubApi {
    state: Arc<Mutex<State>>,
    server: ApiServer,
}

impl GithubApi {
    /// A server with no repositories, accepting `TOKEN`.
    pub fn start() -> GithubApi {
        let state = Arc::new(Mutex::new(State {
            url: String::new(),
            repos: BTreeMap::new(),
            log: Vec::new(),
            rate_limit: 5000,
            rate_remaining: 5000,
            page_cap: 100,
            next_id: 1000,
            read_only: false,
        }));
        let shared = Arc::clone(&state);
        let server = ApiServer::start(move |call| {
            shared
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .handle(call)
        });
        // The links of list pages are absolute: the state needs the address it is served at.
        state.lock().unwrap().url = server.address.clone();
        GithubApi { state, server }
    }

    /// `http://127.0.0.1:PORT`, the `base_url` to configure. The server also answers under
    /// `/api/v3`, like GitHub Enterprise Server.
    pub fn url(&self) -> &str {
        &self.server.address
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A repository whose default branch holds one commit of `files`; its SHA.
    pub fn create_repo(
        &self,
        full_name: &str,
        default_branch: &str,
        files: &[(&str, &str)],
    ) -> String {
        let mut state = self.state();
        let id = state.id();
        let (owner, name) = full_name.split_once('/').unwrap();
        let mut repo = Repo {
            id,
            owner: owner.to_string(),
            name: name.to_string(),
            default_branch: default_branch.to_string(),
            refs: BTreeMap::new(),
            objects: HashMap::new(),
            pulls: BTreeMap::new(),
            issues: BTreeMap::new(),
            next_number: 1,
        };
        let mut flat = BTreeMap::new();
        for (path, content) in files {
            let sha = repo.put_blob(content);
            flat.insert(path.to_string(), leaf("100644", "blob", &sha));
        }
        let tree = repo.build(&flat);
        let commit = repo.put_commit(&tree, Vec::new(), "Initial commit");
        repo.refs
            .insert(format!("heads/{default_branch}"), commit.clone());
        state.repos.insert(full_name.to_string(), repo);
        commit
    }

    /// Removes a repository, as when it is deleted or the token loses access: GitHub then
    /// answers 404 for it and everything in it.
    pub fn delete_repo(&self, full_name: &str) {
        self.state().repos.remove(full_name);
    }

    /// A branch at the tip of another, made directly (not through the API, not logged).
    pub fn create_branch(&self, full_name: &str, branch: &str, from: &str) -> String {
        let mut state = self.state();
        let repo = state.repos.get_mut(full_name).unwrap();
        let sha = repo.refs[&format!("heads/{from}")].clone();
        repo.refs.insert(format!("heads/{branch}"), sha.clone());
        sha
    }

    /// Someone else's commit on a branch: each file set to its content, or removed for `None`.
    pub fn push(
        &self,
        full_name: &str,
        branch: &str,
        files: &[(&str, Option<&str>)],
        message: &str,
    ) -> String {
        let mut state = self.state();
        let repo = state.repos.get_mut(full_name).unwrap();
        let key = format!("heads/{branch}");
        let parent = repo.refs[&key].clone();
        let mut flat = repo.flatten(&repo.commit(&parent).unwrap().tree);
        for (path, content) in files {
            match content {
                Some(text) => {
                    let sha = repo.put_blob(text);
                    flat.insert(path.to_string(), leaf("100644", "blob", &sha));
                }
                None => {
                    flat.remove(*path);
                }
            }
        }
        let tree = repo.build(&flat);
        let commit = repo.put_commit(&tree, vec![parent], message);
        repo.refs.insert(key, commit.clone());
        commit
    }

    pub fn branch(&self, full_name: &str, branch: &str) -> Option<String> {
        self.state().repos[full_name]
            .refs
            .get(&format!("heads/{branch}"))
            .cloned()
    }

    pub fn branches(&self, full_name: &str) -> Vec<String> {
        self.state().repos[full_name]
            .refs
            .keys()
            .filter_map(|r| r.strip_prefix("heads/"))
            .map(str::to_string)
            .collect()
    }

    pub fn commit(&self, full_name: &str, sha: &str) -> CommitView {
        let state = self.state();
        let commit = state.repos[full_name].commit(sha).unwrap();
        CommitView {
            tree: commit.tree.clone(),
            parents: commit.parents.clone(),
            message: commit.message.clone(),
        }
    }

    /// The text of a file at the tip of a branch.
    pub fn file(&self, full_name: &str, branch: &str, path: &str) -> Option<String> {
        let state = self.state();
        let repo = &state.repos[full_name];
        let tip = repo.refs.get(&format!("heads/{branch}"))?;
        let flat = repo.flatten(&repo.commit(tip)?.tree);
        match repo.objects.get(&flat.get(path)?.sha)? {
            Object::Blob(text) => Some(text.clone()),
            _ => None,
        }
    }

    /// Every file at the tip of a branch, path → text.
    pub fn files(&self, full_name: &str, branch: &str) -> BTreeMap<String, String> {
        let state = self.state();
        let repo = &state.repos[full_name];
        let tip = &repo.refs[&format!("heads/{branch}")];
        repo.flatten(&repo.commit(tip).unwrap().tree)
            .into_iter()
            .filter_map(|(path, leaf)| match repo.objects.get(&leaf.sha) {
                Some(Object::Blob(text)) => Some((path, text.clone())),
                _ => None,
            })
            .collect()
    }

    /// An open pull request made directly (not through the API, not logged).
    pub fn open_pr(&self, full_name: &str, head: &str, base: &str, title: &str) -> u64 {
        let mut state = self.state();
        let id = state.id();
        let repo = state.repos.get_mut(full_name).unwrap();
        let number = repo.take_number();
        repo.pulls
            .insert(number, Pull::new(id, number, title, "", head, base, false));
        number
    }

    /// An open pull request from `fork_owner`'s fork: its branch `head` into `base` here. The
    /// fork itself is not kept; its branch is not this repository's branch of the same name.
    pub fn open_fork_pr(
        &self,
        full_name: &str,
        fork_owner: &str,
        head: &str,
        base: &str,
        title: &str,
    ) -> u64 {
        let mut state = self.state();
        let id = state.id();
        let repo = state.repos.get_mut(full_name).unwrap();
        let number = repo.take_number();
        let mut pull = Pull::new(id, number, title, "", head, base, false);
        pull.fork = Some(fork_owner.to_string());
        repo.pulls.insert(number, pull);
        number
    }

    /// An open issue made directly (not through the API, not logged).
    pub fn add_issue(&self, full_name: &str, title: &str) -> u64 {
        let mut state = self.state();
        let id = state.id();
        let repo = state.repos.get_mut(full_name).unwrap();
        let number = repo.take_number();
        repo.issues
            .insert(number, IssueRec::new(id, number, title, "", Vec::new()));
        number
    }

    pub fn pull(&self, full_name: &str, number: u64) -> PullView {
        self.state().repos[full_name].pulls[&number].view()
    }

    pub fn pulls(&self, full_name: &str) -> Vec<PullView> {
        self.state().repos[full_name]
            .pulls
            .values()
            .map(Pull::view)
            .collect()
    }

    pub fn issues(&self, full_name: &str) -> Vec<IssueView> {
        self.state().repos[full_name]
            .issues
            .values()
            .map(IssueRec::view)
            .collect()
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Logged> {
        self.state().log.clone()
    }

    /// Every request so far as `METHOD /path` lines.
    pub fn request_lines(&self) -> Vec<String> {
        self.state().log.iter().map(Logged::line).collect()
    }

    pub fn clear_log(&self) {
        self.state().log.clear();
    }

    /// Requests left before the rate limit answers 403.
    pub fn set_rate_remaining(&self, remaining: u32) {
        self.state().rate_remaining = remaining;
    }

    /// Makes the token read-only: every write is answered 403.
    pub fn set_read_only(&self, read_only: bool) {
        self.state().read_only = read_only;
    }

    /// The largest `per_page` honoured (GitHub's is 100), to paginate small lists.
    pub fn set_page_cap(&self, cap: usize) {
        self.state().page_cap = cap;
    }
}

// ---------------------------------------------------------------------------------------------
// State

struct State {
    url: String,
    repos: BTreeMap<String, Repo>,
    log: Vec<Logged>,
    rate_limit: u32,
    rate_remaining: u32,
    page_cap: usize,
    next_id: u64,
    /// Answer every write with 403, as GitHub does for a token without write permission.
    read_only: bool,
}

struct Repo {
    id: u64,
    owner: String,
    name: String,
    default_branch: String,
    /// `heads/main` → commit SHA.
    refs: BTreeMap<String, String>,
    objects: HashMap<String, Object>,
    pulls: BTreeMap<u64, Pull>,
    issues: BTreeMap<u64, IssueRec>,
    /// Pull requests and issues share one sequence of numbers, as on GitHub.
    next_number: u64,
}

enum Object {
    Blob(String),
    Tree(Vec<Entry>),
    Commit(CommitRec),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    name: String,
    mode: String,
    kind: String,
    sha: String,
}

/// A file in a flattened tree.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Leaf {
    mode: String,
    kind: String,
    sha: String,
}

fn leaf(mode: &str, kind: &str, sha: &str) -> Leaf {
    Leaf {
        mode: mode.into(),
        kind: kind.into(),
        sha: sha.into(),
    }
}

struct CommitRec {
    tree: String,
    parents: Vec<String>,
    message: String,
    date: String,
}

struct Pull {
    id: u64,
    number: u64,
    title: String,
    body: String,
    head: String,
    /// The owner of the fork `head` is a branch of; `None` for this repository's branch.
    fork: Option<String>,
    base: String,
    open: bool,
    merged: bool,
    merge_commit_sha: Option<String>,
    /// The head it was merged at: GitHub's `head.sha` stays there once merged.
    merged_head: Option<String>,
    draft: bool,
    created_at: String,
    updated_at: String,
    closed_at: Option<String>,
    merged_at: Option<String>,
}

impl Pull {
    fn new(
        id: u64,
        number: u64,
        title: &str,
        body: &str,
        head: &str,
        base: &str,
        draft: bool,
    ) -> Pull {
        Pull {
            id,
            number,
            title: title.into(),
            body: body.into(),
            head: head.into(),
            fork: None,
            base: base.into(),
            open: true,
            merged: false,
            merge_commit_sha: None,
            merged_head: None,
            draft,
            created_at: now(),
            updated_at: now(),
            closed_at: None,
            merged_at: None,
        }
    }

    fn head_owner<'r>(&'r self, repo: &'r Repo) -> &'r str {
        self.fork.as_deref().unwrap_or(&repo.owner)
    }

    fn view(&self) -> PullView {
        PullView {
            number: self.number,
            title: self.title.clone(),
            head: self.head.clone(),
            base: self.base.clone(),
            state: if self.open { "open" } else { "closed" }.into(),
            merged: self.merged,
            merge_commit_sha: self.merge_commit_sha.clone(),
        }
    }
}

struct IssueRec {
    id: u64,
    number: u64,
    title: String,
    body: String,
    open: bool,
    state_reason: Option<String>,
    labels: Vec<String>,
    created_at: String,
    updated_at: String,
    closed_at: Option<String>,
}

impl IssueRec {
    fn new(id: u64, number: u64, title: &str, body: &str, labels: Vec<String>) -> IssueRec {
        IssueRec {
            id,
            number,
            title: title.into(),
            body: body.into(),
            open: true,
            state_reason: None,
            labels,
            created_at: now(),
            updated_at: now(),
            closed_at: None,
        }
    }

    fn view(&self) -> IssueView {
        IssueView {
            number: self.number,
            title: self.title.clone(),
            state: if self.open { "open" } else { "closed" }.into(),
            state_reason: self.state_reason.clone(),
        }
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn hash(kind: &str, content: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(format!("{kind} {}\0", content.len()).as_bytes());
    hasher.update(content);
    hex::encode(hasher.finalize())[..40].to_string()
}

impl Repo {
    fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    fn take_number(&mut self) -> u64 {
        let number = self.next_number;
        self.next_number += 1;
        number
    }

    fn put_blob(&mut self, text: &str) -> String {
        let sha = hash("blob", text.as_bytes());
        self.objects
            .insert(sha.clone(), Object::Blob(text.to_string()));
        sha
    }

    fn put_tree(&mut self, mut entries: Vec<Entry>) -> String {
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let text: String = entries
            .iter()
            .map(|e| format!("{} {} {} {}\n", e.mode, e.kind, e.sha, e.name))
            .collect();
        let sha = hash("tree", text.as_bytes());
        self.objects.insert(sha.clone(), Object::Tree(entries));
        sha
    }

    fn put_commit(&mut self, tree: &str, parents: Vec<String>, message: &str) -> String {
        let date = now();
        let text = format!(
            "tree {tree}\nparents {}\ndate {date}\n\n{message}",
            parents.join(" ")
        );
        let sha = hash("commit", text.as_bytes());
        self.objects.insert(
            sha.clone(),
            Object::Commit(CommitRec {
                tree: tree.to_string(),
                parents,
                message: message.to_string(),
                date,
            }),
        );
        sha
    }

    fn commit(&self, sha: &str) -> Option<&CommitRec> {
        match self.objects.get(sha)? {
            Object::Commit(commit) => Some(commit),
            _ => None,
        }
    }

    fn tree(&self, sha: &str) -> Option<&Vec<Entry>> {
        match self.objects.get(sha)? {
            Object::Tree(entries) => Some(entries),
            _ => None,
        }
    }

    /// Every file under a tree, by path.
    fn flatten(&self, tree: &str) -> BTreeMap<String, Leaf> {
        let mut out = BTreeMap::new();
        self.flatten_into(tree, "", &mut out);
        out
    }

    fn flatten_into(&self, tree: &str, prefix: &str, out: &mut BTreeMap<String, Leaf>) {
        for entry in self.tree(tree).cloned().unwrap_or_default() {
            let path = format!("{prefix}{}", entry.name);
            if entry.kind == "tree" {
                self.flatten_into(&entry.sha, &format!("{path}/"), out);
            } else {
                out.insert(path, leaf(&entry.mode, &entry.kind, &entry.sha));
            }
        }
    }

    /// The nested trees of a flat file map; the root tree's SHA.
    fn build(&mut self, flat: &BTreeMap<String, Leaf>) -> String {
        let mut files = Vec::new();
        let mut dirs: BTreeMap<String, BTreeMap<String, Leaf>> = BTreeMap::new();
        for (path, file) in flat {
            match path.split_once('/') {
                Some((dir, rest)) => {
                    dirs.entry(dir.to_string())
                        .or_default()
                        .insert(rest.to_string(), file.clone());
                }
                None => files.push(Entry {
                    name: path.clone(),
                    mode: file.mode.clone(),
                    kind: file.kind.clone(),
                    sha: file.sha.clone(),
                }),
            }
        }
        for (dir, inner) in dirs {
            let sha = self.build(&inner);
            files.push(Entry {
                name: dir,
                mode: "040000".into(),
                kind: "tree".into(),
                sha,
            });
        }
        self.put_tree(files)
    }

    fn ancestors(&self, sha: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from([sha.to_string()]);
        while let Some(next) = queue.pop_front() {
            if !seen.insert(next.clone()) {
                continue;
            }
            if let Some(commit) = self.commit(&next) {
                queue.extend(commit.parents.iter().cloned());
            }
        }
        seen
    }

    /// The nearest common ancestor of two commits (breadth first from `b`).
    fn merge_base(&self, a: &str, b: &str) -> Option<String> {
        let of_a = self.ancestors(a);
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from([b.to_string()]);
        while let Some(next) = queue.pop_front() {
            if of_a.contains(&next) {
                return Some(next);
            }
            if !seen.insert(next.clone()) {
                continue;
            }
            if let Some(commit) = self.commit(&next) {
                queue.extend(commit.parents.iter().cloned());
            }
        }
        None
    }

    fn branch_tip(&self, branch: &str) -> Option<String> {
        self.refs.get(&format!("heads/{branch}")).cloned()
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// GitHub's answer with a JSON body, or none for `null` (204 No Content).
fn answer(status: u16, body: Json) -> Answer {
    if body.is_null() {
        Answer::empty(status)
    } else {
        Answer::json(status, body)
    }
}

fn error(status: u16, message: &str) -> Answer {
    answer(
        status,
        json!({"message": message, "documentation_url": DOCS, "status": status.to_string()}),
    )
}

fn not_found() -> Answer {
    error(404, "Not Found")
}

/// 422 Validation Failed with one entry in `errors`, as GitHub reports invalid fields.
fn invalid(resource: &str, field: &str, code: &str, message: Option<&str>) -> Answer {
    let mut detail = json!({"resource": resource, "field": field, "code": code});
    if let Some(text) = message {
        detail["message"] = json!(text);
    }
    answer(
        422,
        json!({"message": "Validation Failed", "errors": [detail], "documentation_url": DOCS, "status": "422"}),
    )
}

impl State {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn handle(&mut self, call: &Call) -> Answer {
        let method = call.method.as_str();
        let parsed: Json = serde_json::from_str(&call.body).unwrap_or(Json::Null);
        self.log.push(Logged {
            method: call.method.clone(),
            path: if call.query.is_empty() {
                call.path.clone()
            } else {
                format!("{}?{}", call.path, call.query)
            },
            body: parsed.clone(),
        });
        let auth = call.authorization.as_deref();
        let token_ok = matches!(auth, Some(a) if a == format!("Bearer {TOKEN}") || a == format!("token {TOKEN}"));
        let mut reply = if !token_ok {
            error(401, "Bad credentials")
        } else if self.rate_remaining == 0 {
            error(
                403,
                "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.",
            )
        } else if self.read_only && method != "GET" {
            self.rate_remaining -= 1;
            error(403, "Resource not accessible by personal access token")
        } else {
            self.rate_remaining -= 1;
            let path = call.path.strip_prefix("/api/v3").unwrap_or(&call.path);
            let query: BTreeMap<String, String> = call
                .query
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k.to_string(), percent_decode(v)))
                .collect();
            let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            self.route(method, &call.path, &segments, &query, &parsed)
        };
        if token_ok {
            let reset = chrono::Utc::now().timestamp() + 3600;
            reply.headers.extend([
                ("x-ratelimit-limit".to_string(), self.rate_limit.to_string()),
                (
                    "x-ratelimit-remaining".to_string(),
                    self.rate_remaining.to_string(),
                ),
                ("x-ratelimit-reset".to_string(), reset.to_string()),
                (
                    "x-ratelimit-used".to_string(),
                    (self.rate_limit - self.rate_remaining).to_string(),
                ),
                ("x-ratelimit-resource".to_string(), "core".to_string()),
            ]);
        }
        reply.headers.push((
            "x-github-request-id".to_string(),
            format!("ENACT:{}", self.log.len()),
        ));
        reply
    }

    fn route(
        &mut self,
        method: &str,
        // As sent, `/api/v3` included; without the query.
        path: &str,
        segments: &[&str],
        query: &BTreeMap<String, String>,
        body: &Json,
    ) -> Answer {
        let ["repos", owner, name, rest @ ..] = segments else {
            return not_found();
        };
        let full_name = format!("{owner}/{name}");
        let base_url = self.url.clone();
        let page_cap = self.page_cap;
        let id = self.id();
        let Some(repo) = self.repos.get_mut(&full_name) else {
            return not_found();
        };
        match (method, rest) {
            ("GET", []) => answer(200, repo_json(&base_url, repo)),
            ("GET", ["git", "ref", reference @ ..]) => {
                let name = reference.join("/");
                match repo.refs.get(&name) {
                    Some(sha) => answer(200, ref_json(&base_url, repo, &name, sha)),
                    None => not_found(),
                }
            }
            ("POST", ["git", "refs"]) => create_ref(&base_url, repo, body),
            ("PATCH", ["git", "refs", reference @ ..]) => {
                update_ref(&base_url, repo, &reference.join("/"), body)
            }
            ("DELETE", ["git", "refs", reference @ ..]) => delete_ref(repo, &reference.join("/")),
            ("GET", ["git", "commits", sha]) => match repo.commit(sha) {
                Some(_) => answer(200, commit_json(&base_url, repo, sha)),
                None => not_found(),
            },
            ("POST", ["git", "commits"]) => create_commit(&base_url, repo, body),
            ("GET", ["git", "trees", sha]) => match repo.tree(sha) {
                Some(_) => answer(200, tree_json(&base_url, repo, sha)),
                None => not_found(),
            },
            ("POST", ["git", "trees"]) => create_tree(&base_url, repo, body),
            ("GET", ["compare", spec]) => compare(repo, spec),
            ("GET", ["pulls"]) => {
                let state = query.get("state").map_or("open", String::as_str);
                let head = query.get("head").cloned();
                let base = query.get("base").cloned();
                let items: Vec<Json> = repo
                    .pulls
                    .values()
                    .rev()
                    .filter(|p| match state {
                        "open" => p.open,
                        "closed" => !p.open,
                        _ => true,
                    })
                    .filter(|p| {
                        head.as_ref()
                            .is_none_or(|h| *h == format!("{}:{}", p.head_owner(repo), p.head))
                    })
                    .filter(|p| base.as_ref().is_none_or(|b| *b == p.base))
                    .map(|p| pull_json(&base_url, repo, p))
                    .collect();
                paginate(&base_url, path, query, page_cap, items)
            }
            ("POST", ["pulls"]) => create_pull(&base_url, repo, id, body),
            ("GET", ["pulls", number]) => {
                match number.parse().ok().and_then(|n: u64| repo.pulls.get(&n)) {
                    Some(pull) => answer(200, pull_json(&base_url, repo, pull)),
                    None => not_found(),
                }
            }
            ("PATCH", ["pulls", number]) => update_pull(&base_url, repo, number, body),
            ("PUT", ["pulls", number, "merge"]) => merge_pull(repo, number, body),
            ("GET", ["issues"]) => {
                let state = query.get("state").map_or("open", String::as_str);
                let keep = |open: bool| match state {
                    "open" => open,
                    "closed" => !open,
                    _ => true,
                };
                // Newest first, pull requests included, as GitHub lists them.
                let mut items: Vec<(u64, Json)> = repo
                    .issues
                    .values()
                    .filter(|i| keep(i.open))
                    .map(|i| (i.number, issue_json(&base_url, repo, i)))
                    .chain(
                        repo.pulls
                            .values()
                            .filter(|p| keep(p.open))
                            .map(|p| (p.number, pull_as_issue_json(&base_url, repo, p))),
                    )
                    .collect();
                items.sort_by_key(|item| std::cmp::Reverse(item.0));
                paginate(
                    &base_url,
                    path,
                    query,
                    page_cap,
                    items.into_iter().map(|(_, j)| j).collect(),
                )
            }
            ("POST", ["issues"]) => create_issue(&base_url, repo, id, body),
            ("GET", ["issues", number]) => {
                let number: u64 = number.parse().unwrap_or(0);
                if let Some(issue) = repo.issues.get(&number) {
                    answer(200, issue_json(&base_url, repo, issue))
                } else if let Some(pull) = repo.pulls.get(&number) {
                    answer(200, pull_as_issue_json(&base_url, repo, pull))
                } else {
                    not_found()
                }
            }
            ("PATCH", ["issues", number]) => update_issue(&base_url, repo, number, body),
            _ => not_found(),
        }
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if byte == b'%'
            && let Some(value) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(value);
            i += 3;
            continue;
        }
        out.push(if byte == b'+' { b' ' } else { byte });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One page of a list, with GitHub's `Link` header (`per_page` capped, `page` from 1).
fn paginate(
    base_url: &str,
    path: &str,
    query: &BTreeMap<String, String>,
    cap: usize,
    items: Vec<Json>,
) -> Answer {
    let per_page = query
        .get("per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30usize)
        .clamp(1, cap);
    let page = query
        .get("page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1usize)
        .max(1);
    let last = items.len().div_ceil(per_page).max(1);
    let slice: Vec<Json> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let mut reply = answer(200, Json::Array(slice));
    let link_to = |n: usize| {
        let mut params: Vec<String> = query
            .iter()
            .filter(|(k, _)| *k != "page")
            .map(|(k, v)| format!("{k}={}", v.replace('+', "%2B").replace(' ', "%20")))
            .collect();
        params.push(format!("page={n}"));
        format!("<{base_url}{path}?{}>", params.join("&"))
    };
    let mut links = Vec::new();
    if page < last {
        links.push(format!("{}; rel=\"next\"", link_to(page + 1)));
        links.push(format!("{}; rel=\"last\"", link_to(last)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"first\"", link_to(1)));
        links.push(format!("{}; rel=\"prev\"", link_to(page - 1)));
    }
    if !links.is_empty() {
        reply.headers.push(("Link".to_string(), links.join(", ")));
    }
    reply
}

// ---------------------------------------------------------------------------------------------
// Git data

fn create_ref(base_url: &str, repo: &mut Repo, body: &Json) -> Answer {
    let (Some(full), Some(sha)) = (body["ref"].as_str(), body["sha"].as_str()) else {
        return invalid("Reference", "ref", "missing_field", None);
    };
    let Some(name) = full.strip_prefix("refs/").filter(|n| n.contains('/')) else {
        return error(
            422,
            "Reference name must start with 'refs/' and have at least two slashes.",
        );
    };
    if repo.commit(sha).is_none() {
        return error(422, "Object does not exist");
    }
    if repo.refs.contains_key(name) {
        return error(422, "Reference already exists");
    }
    repo.refs.insert(name.to_string(), sha.to_string());
    answer(201, ref_json(base_url, repo, name, sha))
}

fn update_ref(base_url: &str, repo: &mut Repo, name: &str, body: &Json) -> Answer {
    let Some(sha) = body["sha"].as_str() else {
        return invalid("Reference", "sha", "missing_field", None);
    };
    let Some(current) = repo.refs.get(name).cloned() else {
        return error(422, "Reference does not exist");
    };
    if repo.commit(sha).is_none() {
        return error(422, "Object does not exist");
    }
    let force = body["force"].as_bool().unwrap_or(false);
    if !force && !repo.ancestors(sha).contains(&current) {
        return error(422, "Update is not a fast forward");
    }
    repo.refs.insert(name.to_string(), sha.to_string());
    answer(200, ref_json(base_url, repo, name, sha))
}

fn delete_ref(repo: &mut Repo, name: &str) -> Answer {
    if repo.refs.remove(name).is_none() {
        return error(422, "Reference does not exist");
    }
    // GitHub closes the open pull requests from or into a deleted branch.
    if let Some(branch) = name.strip_prefix("heads/") {
        for pull in repo.pulls.values_mut().filter(|p| p.open) {
            if (pull.fork.is_none() && pull.head == branch) || pull.base == branch {
                pull.open = false;
                pull.closed_at = Some(now());
            }
        }
    }
    answer(204, Json::Null)
}

fn create_commit(base_url: &str, repo: &mut Repo, body: &Json) -> Answer {
    let (Some(message), Some(tree)) = (body["message"].as_str(), body["tree"].as_str()) else {
        return invalid("Commit", "message", "missing_field", None);
    };
    if repo.tree(tree).is_none() {
        return error(422, "Tree SHA does not exist");
    }
    let parents: Vec<String> = body["parents"]
        .as_array()
        .map(|p| {
            p.iter()
                .filter_map(Json::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if parents.iter().any(|p| repo.commit(p).is_none()) {
        return error(422, "Parent SHA does not exist or is not a commit object");
    }
    let sha = repo.put_commit(tree, parents, message);
    answer(201, commit_json(base_url, repo, &sha))
}

fn create_tree(base_url: &str, repo: &mut Repo, body: &Json) -> Answer {
    let mut flat = match body["base_tree"].as_str() {
        Some(base) => match repo.tree(base) {
            Some(_) => repo.flatten(base),
            None => {
                return invalid(
                    "Tree",
                    "base_tree",
                    "invalid",
                    Some("base_tree is not a valid tree oid"),
                );
            }
        },
        None => BTreeMap::new(),
    };
    let Some(entries) = body["tree"].as_array() else {
        return invalid("Tree", "tree", "missing_field", None);
    };
    for entry in entries {
        let (Some(path), Some(mode), Some(kind)) = (
            entry["path"].as_str(),
            entry["mode"].as_str(),
            entry["type"].as_str(),
        ) else {
            return invalid(
                "Tree",
                "tree",
                "invalid",
                Some("tree entries need path, mode and type"),
            );
        };
        let under = format!("{path}/");
        if let Some(content) = entry["content"].as_str() {
            let sha = repo.put_blob(content);
            flat.retain(|p, _| !p.starts_with(&under));
            flat.insert(path.to_string(), leaf(mode, "blob", &sha));
        } else if entry.get("sha").is_some_and(Json::is_null) {
            flat.remove(path);
            flat.retain(|p, _| !p.starts_with(&under));
        } else if let Some(sha) = entry["sha"].as_str() {
            match repo.objects.get(sha) {
                Some(Object::Blob(_)) if kind == "blob" => {
                    flat.retain(|p, _| !p.starts_with(&under));
                    flat.insert(path.to_string(), leaf(mode, kind, sha));
                }
                Some(Object::Tree(_)) if kind == "tree" => {
                    flat.remove(path);
                    flat.retain(|p, _| !p.starts_with(&under));
                    for (inner, file) in repo.flatten(sha) {
                        flat.insert(format!("{path}/{inner}"), file);
                    }
                }
                _ if kind == "commit" => {
                    flat.insert(path.to_string(), leaf(mode, kind, sha));
                }
                _ => {
                    return invalid(
                        "Tree",
                        "tree.sha",
                        "invalid",
                        Some(&format!("tree.sha {sha} is not a valid {kind}")),
                    );
                }
            }
        } else {
            return invalid(
                "Tree",
                "tree",
                "invalid",
                Some("a tree entry needs sha or content"),
            );
        }
    }
    let sha = repo.build(&flat);
    answer(201, tree_json(base_url, repo, &sha))
}

fn compare(repo: &Repo, spec: &str) -> Answer {
    let Some((base, head)) = spec.split_once("...") else {
        return not_found();
    };
    let resolve = |name: &str| {
        if repo.commit(name).is_some() {
            Some(name.to_string())
        } else {
            repo.branch_tip(name)
        }
    };
    let (Some(base), Some(head)) = (resolve(base), resolve(head)) else {
        return not_found();
    };
    let of_base = repo.ancestors(&base);
    let of_head = repo.ancestors(&head);
    let ahead: Vec<&String> = of_head.difference(&of_base).collect();
    let behind = of_base.difference(&of_head).count();
    let status = match (ahead.len(), behind) {
        (0, 0) => "identical",
        (_, 0) => "ahead",
        (0, _) => "behind",
        _ => "diverged",
    };
    let merge_base = repo.merge_base(&base, &head);
    answer(
        200,
        json!({
            "status": status,
            "ahead_by": ahead.len(),
            "behind_by": behind,
            "total_commits": ahead.len(),
            "base_commit": {"sha": base},
            "merge_base_commit": {"sha": merge_base},
            "commits": ahead.iter().map(|sha| json!({"sha": sha})).collect::<Vec<_>>(),
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// Pull requests and issues

fn create_pull(base_url: &str, repo: &mut Repo, id: u64, body: &Json) -> Answer {
    let Some(title) = body["title"].as_str().filter(|t| !t.is_empty()) else {
        return invalid("PullRequest", "title", "missing_field", None);
    };
    let (Some(head), Some(base)) = (body["head"].as_str(), body["base"].as_str()) else {
        return invalid("PullRequest", "head", "missing_field", None);
    };
    let head = head.split_once(':').map_or(head, |(_, branch)| branch);
    let Some(head_tip) = repo.branch_tip(head) else {
        return invalid("PullRequest", "head", "invalid", None);
    };
    let Some(base_tip) = repo.branch_tip(base) else {
        return invalid("PullRequest", "base", "invalid", None);
    };
    if repo
        .pulls
        .values()
        .any(|p| p.open && p.fork.is_none() && p.head == head && p.base == base)
    {
        let message = format!("A pull request already exists for {}:{head}.", repo.owner);
        return invalid("PullRequest", "head", "custom", Some(&message));
    }
    if repo.ancestors(&base_tip).contains(&head_tip) {
        let message = format!("No commits between {base} and {head}");
        return invalid("PullRequest", "base", "custom", Some(&message));
    }
    let number = repo.take_number();
    let draft = body["draft"].as_bool().unwrap_or(false);
    let pull = Pull::new(
        id,
        number,
        title,
        body["body"].as_str().unwrap_or(""),
        head,
        base,
        draft,
    );
    let json = pull_json(base_url, repo, &pull);
    repo.pulls.insert(number, pull);
    answer(201, json)
}

fn update_pull(base_url: &str, repo: &mut Repo, number: &str, body: &Json) -> Answer {
    let number: u64 = number.parse().unwrap_or(0);
    let head_exists = match repo.pulls.get(&number) {
        Some(pull) => repo.branch_tip(&pull.head).is_some(),
        None => return not_found(),
    };
    let Some(pull) = repo.pulls.get_mut(&number) else {
        return not_found();
    };
    match body["state"].as_str() {
        Some("closed") if pull.open => {
            pull.open = false;
            pull.closed_at = Some(now());
        }
        Some("open") if !pull.open => {
            if pull.merged {
                return invalid(
                    "PullRequest",
                    "state",
                    "custom",
                    Some("state cannot be changed. The pull request has been merged."),
                );
            }
            if !head_exists {
                return invalid(
                    "PullRequest",
                    "state",
                    "custom",
                    Some("state cannot be changed. The head branch was deleted."),
                );
            }
            pull.open = true;
            pull.closed_at = None;
        }
        Some("open" | "closed") | None => {}
        Some(other) => {
            return invalid(
                "PullRequest",
                "state",
                "invalid",
                Some(&format!("state {other} is not open or closed")),
            );
        }
    }
    if let Some(title) = body["title"].as_str() {
        pull.title = title.to_string();
    }
    pull.updated_at = now();
    let pull = &repo.pulls[&number];
    answer(200, pull_json(base_url, repo, pull))
}

fn merge_pull(repo: &mut Repo, number: &str, body: &Json) -> Answer {
    let number: u64 = number.parse().unwrap_or(0);
    let Some(pull) = repo.pulls.get(&number) else {
        return not_found();
    };
    if !pull.open || pull.merged {
        return error(405, "Pull Request is not mergeable");
    }
    let (Some(head_tip), Some(base_tip)) =
        (repo.branch_tip(&pull.head), repo.branch_tip(&pull.base))
    else {
        return error(405, "Pull Request is not mergeable");
    };
    if body["sha"].as_str().is_some_and(|sha| sha != head_tip) {
        return error(
            409,
            "Head branch was modified. Review and try the merge again.",
        );
    }
    let method = body["merge_method"].as_str().unwrap_or("merge");
    if !matches!(method, "merge" | "squash") {
        return invalid("PullRequest", "merge_method", "invalid", None);
    }
    let Some(ancestor) = repo.merge_base(&base_tip, &head_tip) else {
        return error(405, "Pull Request is not mergeable");
    };
    let tree_of = |sha: &str| repo.flatten(&repo.commit(sha).unwrap().tree);
    let (common, ours, theirs) = (tree_of(&ancestor), tree_of(&base_tip), tree_of(&head_tip));
    let paths: BTreeSet<&String> = common
        .keys()
        .chain(ours.keys())
        .chain(theirs.keys())
        .collect();
    let mut merged = BTreeMap::new();
    for path in paths {
        let (b, o, t) = (common.get(path), ours.get(path), theirs.get(path));
        let pick = if o == t || b == t {
            o
        } else if b == o {
            t
        } else {
            return error(405, "Pull Request is not mergeable");
        };
        if let Some(file) = pick {
            merged.insert(path.clone(), file.clone());
        }
    }
    let tree = repo.build(&merged);
    let pull = &repo.pulls[&number];
    let (title, head, base) = (pull.title.clone(), pull.head.clone(), pull.base.clone());
    let commit_title = body["commit_title"].as_str().map(str::to_string);
    let commit_message = body["commit_message"]
        .as_str()
        .unwrap_or(&title)
        .to_string();
    let sha = if method == "squash" {
        let heading = commit_title.unwrap_or_else(|| format!("{title} (#{number})"));
        repo.put_commit(
            &tree,
            vec![base_tip],
            &format!("{heading}\n\n{commit_message}"),
        )
    } else {
        let heading = commit_title
            .unwrap_or_else(|| format!("Merge pull request #{number} from {}/{head}", repo.owner));
        repo.put_commit(
            &tree,
            vec![base_tip, head_tip.clone()],
            &format!("{heading}\n\n{commit_message}"),
        )
    };
    repo.refs.insert(format!("heads/{base}"), sha.clone());
    let pull = repo.pulls.get_mut(&number).unwrap();
    pull.open = false;
    pull.merged = true;
    pull.merge_commit_sha = Some(sha.clone());
    pull.merged_head = Some(head_tip);
    pull.merged_at = Some(now());
    pull.closed_at = Some(now());
    answer(
        200,
        json!({"sha": sha, "merged": true, "message": "Pull Request successfully merged"}),
    )
}

fn create_issue(base_url: &str, repo: &mut Repo, id: u64, body: &Json) -> Answer {
    let Some(title) = body["title"].as_str().filter(|t| !t.is_empty()) else {
        return invalid("Issue", "title", "missing_field", None);
    };
    let labels = body["labels"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(Json::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let number = repo.take_number();
    let issue = IssueRec::new(
        id,
        number,
        title,
        body["body"].as_str().unwrap_or(""),
        labels,
    );
    let json = issue_json(base_url, repo, &issue);
    repo.issues.insert(number, issue);
    answer(201, json)
}

fn update_issue(base_url: &str, repo: &mut Repo, number: &str, body: &Json) -> Answer {
    let number: u64 = number.parse().unwrap_or(0);
    if repo.pulls.contains_key(&number) {
        // Closing a pull request through the issues API works on GitHub; not needed here.
        return error(422, "Use the pull request API for pull requests");
    }
    let Some(issue) = repo.issues.get_mut(&number) else {
        return not_found();
    };
    match body["state"].as_str() {
        Some("closed") => {
            if issue.open {
                issue.closed_at = Some(now());
            }
            issue.open = false;
            issue.state_reason = Some(
                body["state_reason"]
                    .as_str()
                    .unwrap_or("completed")
                    .to_string(),
            );
        }
        Some("open") => {
            if !issue.open {
                issue.state_reason = Some("reopened".to_string());
            }
            issue.open = true;
            issue.closed_at = None;
        }
        _ => {}
    }
    issue.updated_at = now();
    let issue = &repo.issues[&number];
    answer(200, issue_json(base_url, repo, issue))
}

// ---------------------------------------------------------------------------------------------
// JSON as GitHub writes it (every field octocrab's models require)

fn user_json(base_url: &str, login: &str) -> Json {
    let api = format!("{base_url}/users/{login}");
    json!({
        "login": login,
        "id": 1,
        "node_id": "MDQ6VXNlcjE=",
        "avatar_url": "https://avatars.githubusercontent.com/u/1?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": format!("https://github.com/{login}"),
        "followers_url": format!("{api}/followers"),
        "following_url": format!("{api}/following{{/other_user}}"),
        "gists_url": format!("{api}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/subscriptions"),
        "organizations_url": format!("{api}/orgs"),
        "repos_url": format!("{api}/repos"),
        "events_url": format!("{api}/events{{/privacy}}"),
        "received_events_url": format!("{api}/received_events"),
        "type": "User",
        "site_admin": false,
    })
}

fn repo_json(base_url: &str, repo: &Repo) -> Json {
    let full = repo.full_name();
    json!({
        "id": repo.id,
        "node_id": format!("R_{}", repo.id),
        "name": repo.name,
        "full_name": full,
        "owner": user_json(base_url, &repo.owner),
        "private": false,
        "html_url": format!("https://github.com/{full}"),
        "description": null,
        "fork": false,
        "url": format!("{base_url}/repos/{full}"),
        "default_branch": repo.default_branch,
        "visibility": "public",
        "archived": false,
        "disabled": false,
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "pushed_at": "2024-01-01T00:00:00Z",
        "permissions": {"admin": true, "maintain": true, "push": true, "triage": true, "pull": true},
    })
}

fn ref_json(base_url: &str, repo: &Repo, name: &str, sha: &str) -> Json {
    let full = repo.full_name();
    json!({
        "ref": format!("refs/{name}"),
        "node_id": format!("REF_{name}"),
        "url": format!("{base_url}/repos/{full}/git/refs/{name}"),
        "object": {
            "type": "commit",
            "sha": sha,
            "url": format!("{base_url}/repos/{full}/git/commits/{sha}"),
        },
    })
}

fn commit_json(base_url: &str, repo: &Repo, sha: &str) -> Json {
    let full = repo.full_name();
    let commit = repo.commit(sha).unwrap();
    let person = json!({"name": "Enact Test", "email": "test@example.com", "date": commit.date});
    json!({
        "sha": sha,
        "node_id": format!("C_{sha}"),
        "url": format!("{base_url}/repos/{full}/git/commits/{sha}"),
        "html_url": format!("https://github.com/{full}/commit/{sha}"),
        "author": person,
        "committer": person,
        "message": commit.message,
        "tree": {"sha": commit.tree, "url": format!("{base_url}/repos/{full}/git/trees/{}", commit.tree)},
        "parents": commit.parents.iter().map(|p| json!({
            "sha": p,
            "url": format!("{base_url}/repos/{full}/git/commits/{p}"),
            "html_url": format!("https://github.com/{full}/commit/{p}"),
        })).collect::<Vec<_>>(),
        "verification": {"verified": false, "reason": "unsigned", "signature": null, "payload": null, "verified_at": null},
    })
}

/// One directory's entries (GitHub's `?recursive=1` is not served: the connector reads trees
/// a directory at a time).
fn tree_json(base_url: &str, repo: &Repo, sha: &str) -> Json {
    let full = repo.full_name();
    let entries: Vec<Json> = repo
        .tree(sha)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|entry| {
            let kind_url = if entry.kind == "tree" {
                "trees"
            } else {
                "blobs"
            };
            let mut item = json!({
                "path": entry.name,
                "mode": entry.mode,
                "type": entry.kind,
                "sha": entry.sha,
                "url": format!("{base_url}/repos/{full}/git/{kind_url}/{}", entry.sha),
            });
            if let Some(Object::Blob(text)) = repo.objects.get(&entry.sha) {
                item["size"] = json!(text.len());
            }
            item
        })
        .collect();
    json!({
        "sha": sha,
        "url": format!("{base_url}/repos/{full}/git/trees/{sha}"),
        "tree": entries,
        "truncated": false,
    })
}

fn branch_json(base_url: &str, repo: &Repo, branch: &str) -> Json {
    json!({
        "label": format!("{}:{branch}", repo.owner),
        "ref": branch,
        "sha": repo.branch_tip(branch).unwrap_or_default(),
        "user": user_json(base_url, &repo.owner),
        "repo": repo_json(base_url, repo),
    })
}

/// The head of a pull request from a fork's branch (the fork's repository is not modelled: `repo`
/// is null, as GitHub gives it for a deleted fork).
fn fork_branch_json(base_url: &str, owner: &str, branch: &str) -> Json {
    json!({
        "label": format!("{owner}:{branch}"),
        "ref": branch,
        "sha": hash("fork", format!("{owner}:{branch}").as_bytes()),
        "user": user_json(base_url, owner),
        "repo": null,
    })
}

fn pull_json(base_url: &str, repo: &Repo, pull: &Pull) -> Json {
    let full = repo.full_name();
    let number = pull.number;
    let api = format!("{base_url}/repos/{full}/pulls/{number}");
    let html = format!("https://github.com/{full}/pull/{number}");
    let mut json = json!({
        "url": api,
        "id": pull.id,
        "node_id": format!("PR_{}", pull.id),
        "html_url": html,
        "diff_url": format!("{html}.diff"),
        "patch_url": format!("{html}.patch"),
        "issue_url": format!("{base_url}/repos/{full}/issues/{number}"),
        "commits_url": format!("{api}/commits"),
        "review_comments_url": format!("{api}/comments"),
        "review_comment_url": format!("{base_url}/repos/{full}/pulls/comments{{/number}}"),
        "comments_url": format!("{base_url}/repos/{full}/issues/{number}/comments"),
        "statuses_url": format!("{base_url}/repos/{full}/statuses/{}", repo.branch_tip(&pull.head).unwrap_or_default()),
        "number": number,
        "state": if pull.open { "open" } else { "closed" },
        "locked": false,
        "title": pull.title,
        "user": user_json(base_url, &repo.owner),
        "body": pull.body,
    });
    let more = json!({
        "labels": [],
        "milestone": null,
        "active_lock_reason": null,
        "created_at": pull.created_at,
        "updated_at": pull.updated_at,
        "closed_at": pull.closed_at,
        "merged_at": pull.merged_at,
        "merge_commit_sha": pull.merge_commit_sha,
        "assignee": null,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": match (&pull.fork, &pull.merged_head) {
            (None, None) => branch_json(base_url, repo, &pull.head),
            (None, Some(sha)) => {
                let mut head = branch_json(base_url, repo, &pull.head);
                head["sha"] = json!(sha);
                head
            }
            (Some(owner), _) => fork_branch_json(base_url, owner, &pull.head),
        },
        "base": branch_json(base_url, repo, &pull.base),
        "author_association": "OWNER",
        "auto_merge": null,
        "draft": pull.draft,
        "merged": pull.merged,
        "mergeable": if pull.open { json!(true) } else { Json::Null },
        "comments": 0,
        "review_comments": 0,
        "commits": 1,
        "additions": 1,
        "deletions": 0,
        "changed_files": 1,
    });
    if let (Some(map), Json::Object(more)) = (json.as_object_mut(), more) {
        map.extend(more);
    }
    json
}

fn issue_fields(base_url: &str, repo: &Repo, number: u64, id: u64) -> Json {
    let full = repo.full_name();
    let api = format!("{base_url}/repos/{full}/issues/{number}");
    json!({
        "id": id,
        "node_id": format!("I_{id}"),
        "url": api,
        "repository_url": format!("{base_url}/repos/{full}"),
        "labels_url": format!("{api}/labels{{/name}}"),
        "comments_url": format!("{api}/comments"),
        "events_url": format!("{api}/events"),
        "number": number,
        "user": user_json(base_url, &repo.owner),
        "assignee": null,
        "assignees": [],
        "milestone": null,
        "locked": false,
        "active_lock_reason": null,
        "comments": 0,
        "author_association": "OWNER",
        "closed_by": null,
    })
}

fn issue_json(base_url: &str, repo: &Repo, issue: &IssueRec) -> Json {
    let mut json = issue_fields(base_url, repo, issue.number, issue.id);
    let full = repo.full_name();
    json["html_url"] = json!(format!("https://github.com/{full}/issues/{}", issue.number));
    json["title"] = json!(issue.title);
    json["body"] = json!(issue.body);
    json["state"] = json!(if issue.open { "open" } else { "closed" });
    json["state_reason"] = json!(issue.state_reason);
    json["labels"] = json!(
        issue
            .labels
            .iter()
            .enumerate()
            .map(|(i, name)| json!({
                "id": i + 1,
                "node_id": format!("LA_{i}"),
                "url": format!("{base_url}/repos/{full}/labels/{name}"),
                "name": name,
                "description": null,
                "color": "ededed",
                "default": false,
            }))
            .collect::<Vec<_>>()
    );
    json["created_at"] = json!(issue.created_at);
    json["updated_at"] = json!(issue.updated_at);
    json["closed_at"] = json!(issue.closed_at);
    json
}

fn pull_as_issue_json(base_url: &str, repo: &Repo, pull: &Pull) -> Json {
    let mut json = issue_fields(base_url, repo, pull.number, pull.id);
    let full = repo.full_name();
    let html = format!("https://github.com/{full}/pull/{}", pull.number);
    json["html_url"] = json!(html);
    json["title"] = json!(pull.title);
    json["body"] = json!(pull.body);
    json["state"] = json!(if pull.open { "open" } else { "closed" });
    json["state_reason"] = Json::Null;
    json["labels"] = json!([]);
    json["created_at"] = json!(pull.created_at);
    json["updated_at"] = json!(pull.updated_at);
    json["closed_at"] = json!(pull.closed_at);
    json["pull_request"] = json!({
        "url": format!("{base_url}/repos/{full}/pulls/{}", pull.number),
        "html_url": html,
        "diff_url": format!("{html}.diff"),
        "patch_url": format!("{html}.patch"),
        "merged_at": pull.merged_at,
    });
    json
}
