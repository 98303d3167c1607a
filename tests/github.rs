//! The GitHub connector end to end: the `enact` binary, configured with `base_url` pointing at
//! the local GitHub API of `common::github_api`, runs workflows, is blocked by the git policies
//! before anything is sent (the server's request log proves it), rolls runs back, retries
//! without duplicates, and turns GitHub's errors into failed steps that say what happened.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::Run;
use common::github_api::{GithubApi, TOKEN};
use common::project::Project;
use serde_json::{Value as Json, json};

const REPO: &str = "acme/app";

/// Every action, so each test's workflow decides what runs.
const ALL_ACTIONS: &str = "[create_branch, create_pr, create_issue, close_pr, close_issue, \
                           delete_branch, merge_pr, push_commit]";

struct Env {
    api: GithubApi,
    project: Project,
}

impl Env {
    /// A repository `acme/app` (default branch `main`, three files) and a project whose
    /// `github` system points at it.
    fn new() -> Env {
        let api = GithubApi::start();
        api.create_repo(
            REPO,
            "main",
            &[
                ("README.md", "# App\n"),
                ("src/lib.rs", "pub fn one() -> u32 {\n    1\n}\n"),
                ("docs/guide.md", "Start here.\n"),
            ],
        );
        let project = Project::new();
        let env = Env { api, project };
        env.configure(env.api.url(), ALL_ACTIONS);
        env.write_workflows();
        env
    }

    fn configure(&self, base_url: &str, allowed: &str) {
        self.project.write(
            "enact.yaml",
            &format!(
                "receipts: ./receipts\nsystems:\n  github:\n    connector: github\n    \
                 token_env: GITHUB_TOKEN\n    base_url: {base_url}\n    allowed_actions: \
                 {allowed}\nworkflows: [./workflows]\n"
            ),
        );
    }

    fn write_workflows(&self) {
        self.project.write(
            "workflows/push.yaml",
            r#"
name: push
description: Commit files to a branch of acme/app.
inputs:
  branch: { type: string, required: true }
  files: { type: map, required: true }
  message: { type: string, default: "Document the release process" }
policies:
  - use: git.dont_push_to_main
  - use: git.max_files_per_commit
    with: { max_files: 3 }
steps:
  - id: commit
    action: github.push_commit
    with:
      repo: acme/app
      branch: "${payload.branch}"
      commit_message: "${payload.message}"
      files: "${payload.files}"
      file_count: "${len(payload.files)}"
outputs:
  sha: "${steps.commit.output.sha}"
"#,
        );
        self.project.write(
            "workflows/hotfix.yaml",
            r#"
name: hotfix
description: Commit one file straight to main, whatever the payload says.
inputs:
  content: { type: string, required: true }
policies:
  - use: git.dont_push_to_main
steps:
  - id: commit
    action: github.push_commit
    with:
      repo: acme/app
      branch: main
      commit_message: "Hotfix the readme now"
      files: { README.md: "${payload.content}" }
      file_count: 1
"#,
        );
        self.project.write(
            "workflows/merge.yaml",
            r#"
name: merge
description: Merge a pull request of acme/app.
inputs:
  number: { type: int, required: true }
  base: { type: string, default: main }
steps:
  - id: merge
    action: github.merge_pr
    with: { repo: acme/app, number: "${payload.number}", base: "${payload.base}" }
outputs:
  sha: "${steps.merge.output.sha}"
"#,
        );
        self.project.write(
            "workflows/guarded_merge.yaml",
            r#"
name: guarded_merge
description: Merge a pull request of acme/app, never into main.
inputs:
  number: { type: int, required: true }
  base: { type: string, required: true }
policies:
  - use: git.dont_merge_to_main
steps:
  - id: merge
    action: github.merge_pr
    with: { repo: acme/app, number: "${payload.number}", base: "${payload.base}" }
"#,
        );
        for (name, action, inputs) in [
            (
                "issue",
                "create_issue",
                "title: { type: string, required: true }\n  body: { type: string, default: \"Found by an agent.\" }",
            ),
            (
                "close_issue",
                "close_issue",
                "number: { type: int, required: true }",
            ),
            (
                "close_pr",
                "close_pr",
                "number: { type: int, required: true }",
            ),
            (
                "delete_branch",
                "delete_branch",
                "branch: { type: string, required: true }",
            ),
            (
                "open_pr",
                "create_pr",
                "branch: { type: string, required: true }\n  title: { type: string, required: true }",
            ),
            (
                "branch",
                "create_branch",
                "branch: { type: string, required: true }",
            ),
        ] {
            let with: Vec<String> = inputs
                .lines()
                .map(|line| {
                    let key = line.trim().split(':').next().unwrap();
                    format!("{key}: \"${{payload.{key}}}\"")
                })
                .collect();
            let with = with.join(", ");
            let repo = match name {
                "issue" | "branch" | "delete_branch" => "\"${payload.repo}\"",
                _ => REPO,
            };
            let extra_input = if repo == REPO {
                String::new()
            } else {
                format!("\n  repo: {{ type: string, default: {REPO} }}")
            };
            self.project.write(
                &format!("workflows/{name}.yaml"),
                &format!(
                    "name: {name}\ndescription: One {action} on GitHub.\ninputs:\n  {inputs}{extra_input}\n\
                     steps:\n  - id: act\n    action: github.{action}\n    with: {{ repo: {repo}, {with} }}\n"
                ),
            );
        }
    }

    fn enact(&self, args: &[&str]) -> Run {
        self.project.enact_with(args, &[("GITHUB_TOKEN", TOKEN)])
    }

    /// Runs a workflow with `--json`; the run document.
    fn run(&self, workflow: &str, payload: Json) -> (Run, Json) {
        let run = self.enact(&["run", workflow, "--payload", &payload.to_string(), "--json"]);
        let document = parse(&run)["run"].clone();
        (run, document)
    }

    fn rollback(&self, run_id: &str) -> (Run, Json) {
        let run = self.enact(&["rollback", run_id, "--json"]);
        let document = parse(&run)["rollback"].clone();
        (run, document)
    }

    /// Every receipt's text, to look for what must never be there.
    fn receipts_text(&self) -> String {
        self.project
            .receipts()
            .iter()
            .map(Json::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn parse(run: &Run) -> Json {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}), exit {}:\n{}\nstderr: {}",
            run.code, run.stdout, run.stderr
        )
    })
}

fn step<'a>(document: &'a Json, id: &str) -> &'a Json {
    document["actions_taken"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["step"] == id)
        .unwrap_or_else(|| panic!("no step `{id}` in {document:#}"))
}

/// A branch `feature` one commit ahead of main: README changed, a file added, one removed.
fn feature_branch(env: &Env) -> String {
    env.api.create_branch(REPO, "feature", "main");
    env.api.push(
        REPO,
        "feature",
        &[
            ("README.md", Some("# App\n\nNow with a changelog.\n")),
            ("CHANGELOG.md", Some("## 1.0\n- first release\n")),
            ("docs/guide.md", None),
        ],
        "Add a changelog",
    )
}

// ---------------------------------------------------------------------------------------------
// agent_pr_workflow

#[test]
fn agent_pr_workflow_opens_a_pull_request_and_rollback_closes_it_and_deletes_the_branch() {
    let env = Env::new();
    let feature = feature_branch(&env);
    let main = env.api.branch(REPO, "main").unwrap();
    let (run, document) = env.run(
        "agent_pr_workflow",
        json!({"repo": REPO, "branch": "agent/changelog", "from": "feature", "title": "Add a changelog"}),
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(document["decision"], "PASS");
    assert_eq!(
        env.api.branch(REPO, "agent/changelog").as_deref(),
        Some(feature.as_str())
    );
    let pulls = env.api.pulls(REPO);
    assert_eq!(pulls.len(), 1);
    let pr = &pulls[0];
    assert_eq!(
        (pr.head.as_str(), pr.base.as_str(), pr.state.as_str()),
        ("agent/changelog", "main", "open")
    );
    assert_eq!(pr.title, "Add a changelog");
    assert_eq!(
        document["outputs"]["pr_url"],
        format!("https://github.com/acme/app/pull/{}", pr.number)
    );
    assert_eq!(document["outputs"]["pr_number"], pr.number);
    let branch = step(&document, "branch");
    assert_eq!(
        branch["rollback_data"],
        json!({"repo": REPO, "branch": "agent/changelog", "sha": feature})
    );
    assert_eq!(branch["already_done"], false);
    assert_eq!(step(&document, "pr")["output"]["state"], "open");
    assert!(
        env.api
            .request_lines()
            .iter()
            .all(|l| !l.starts_with("PUT") && !l.starts_with("DELETE")),
        "{:?}",
        env.api.request_lines()
    );

    let run_id = document["run_id"].as_str().unwrap();
    let (undo, rolled) = env.rollback(run_id);
    assert_eq!(undo.code, 0, "{}{}", undo.stdout, undo.stderr);
    assert_eq!(rolled["decision"], "ROLLED_BACK");
    let pr = env.api.pull(REPO, pr.number);
    assert_eq!((pr.state.as_str(), pr.merged), ("closed", false));
    assert_eq!(env.api.branch(REPO, "agent/changelog"), None);
    assert_eq!(
        env.api.branch(REPO, "main").as_deref(),
        Some(main.as_str()),
        "main untouched"
    );
    assert_eq!(
        env.api.branch(REPO, "feature").as_deref(),
        Some(feature.as_str())
    );
    let actions: Vec<&str> = rolled["actions_taken"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["close_created_pr", "delete_created_branch"]);

    let verify = env.enact(&["verify"]);
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
    assert!(
        !env.receipts_text().contains(TOKEN),
        "the token never reaches a receipt"
    );
}

#[test]
fn a_retried_run_creates_nothing_twice_and_has_nothing_to_roll_back() {
    let env = Env::new();
    feature_branch(&env);
    let payload = json!({"repo": REPO, "branch": "agent/changelog", "from": "feature"});
    let (first, done) = env.run("agent_pr_workflow", payload.clone());
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    env.api.clear_log();

    let (retry, again) = env.run("agent_pr_workflow", payload);
    assert_eq!(retry.code, 0, "{}{}", retry.stdout, retry.stderr);
    assert_eq!(step(&again, "branch")["already_done"], "exists");
    assert_eq!(step(&again, "pr")["already_done"], "open");
    assert_eq!(again["outputs"]["pr_number"], done["outputs"]["pr_number"]);
    assert_eq!(env.api.pulls(REPO).len(), 1, "no second pull request");
    let writes: Vec<String> = env
        .api
        .request_lines()
        .into_iter()
        .filter(|l| !l.starts_with("GET"))
        .collect();
    assert!(writes.is_empty(), "a retry only reads: {writes:?}");

    let undo = env.enact(&["rollback", again["run_id"].as_str().unwrap()]);
    assert_eq!(undo.code, 2, "{}{}", undo.stdout, undo.stderr);
    assert!(
        undo.stderr.contains("nothing to roll back"),
        "{}",
        undo.stderr
    );
    assert_eq!(env.api.pulls(REPO)[0].state, "open");
}

#[test]
fn agent_pr_workflow_stops_cleanly_when_the_branch_cannot_be_created() {
    let env = Env::new();
    let (run, document) = env.run(
        "agent_pr_workflow",
        json!({"repo": REPO, "branch": "agent/x", "from": "no-such-branch"}),
    );
    assert_eq!(run.code, 4, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        (document["decision"].as_str(), document["status"].as_str()),
        (Some("PASS"), Some("FAILED"))
    );
    let actions = document["actions_taken"].as_array().unwrap();
    assert_eq!(actions.len(), 1, "the pull request step never ran");
    assert!(
        actions[0]["error"]
            .as_str()
            .unwrap()
            .contains("there is no branch `no-such-branch` in acme/app"),
        "{}",
        actions[0]["error"]
    );
    assert!(
        env.api.request_lines().iter().all(|l| l.starts_with("GET")),
        "{:?}",
        env.api.request_lines()
    );
    assert!(env.api.pulls(REPO).is_empty());
}

#[test]
fn agent_pr_workflow_refuses_main_and_unprefixed_branches_before_sending_anything() {
    let env = Env::new();
    let (run, document) = env.run("agent_pr_workflow", json!({"repo": REPO, "branch": "main"}));
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    let blocked: Vec<&str> = document["policy_results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "BLOCK")
        .map(|r| r["policy"].as_str().unwrap())
        .collect();
    assert_eq!(
        blocked,
        ["git.dont_push_to_main", "git.require_branch_prefix"]
    );
    let (run, _) = env.run(
        "agent_pr_workflow",
        json!({"repo": REPO, "branch": "fix-it"}),
    );
    assert_eq!(run.code, 3);
    assert!(
        env.api.requests().is_empty(),
        "{:?}",
        env.api.request_lines()
    );
}

// ---------------------------------------------------------------------------------------------
// push_commit and the git policies

#[test]
fn a_push_to_main_is_blocked_by_dont_push_to_main_and_nothing_is_sent() {
    let env = Env::new();
    let main = env.api.branch(REPO, "main").unwrap();
    let (run, document) = env.run(
        "push",
        json!({"branch": "main", "files": {"README.md": "# Hacked\n"}}),
    );
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert_eq!(document["decision"], "BLOCK");
    assert_eq!(document["status"], "NOT_RUN");
    let block = document["policy_results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == "BLOCK")
        .unwrap();
    assert_eq!(block["policy"], "git.dont_push_to_main");
    assert_eq!(block["reason"], "Direct push to 'main' is blocked");

    // The branch written into the step itself is judged at action level, on the real argument.
    let (run, document) = env.run("hotfix", json!({"content": "# Hacked\n"}));
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert!(
        document["error"]
            .as_str()
            .unwrap()
            .contains("step `commit` was blocked before it ran: git.dont_push_to_main")
    );

    assert!(
        env.api.requests().is_empty(),
        "nothing was sent: {:?}",
        env.api.request_lines()
    );
    assert_eq!(env.api.branch(REPO, "main").as_deref(), Some(main.as_str()));
    assert_eq!(
        env.api.file(REPO, "main", "README.md").as_deref(),
        Some("# App\n")
    );
}

#[test]
fn max_files_per_commit_judges_the_real_file_count() {
    let env = Env::new();
    env.api.create_branch(REPO, "agent/docs", "main");
    let files = json!({"a.md": "a", "b.md": "b", "c.md": "c", "d.md": "d"});
    let (run, document) = env.run("push", json!({"branch": "agent/docs", "files": files}));
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert!(
        document["error"]
            .as_str()
            .unwrap()
            .contains("Commit touches 4 files; the limit is 3"),
        "{}",
        document["error"]
    );
    assert!(
        env.api.requests().is_empty(),
        "{:?}",
        env.api.request_lines()
    );
}

#[test]
fn push_commit_commits_on_top_of_the_branch_and_a_retry_changes_nothing() {
    let env = Env::new();
    let start = env.api.create_branch(REPO, "agent/docs", "main");
    let files = json!({"README.md": "# App\n\nRelease with `make release`.\n", "docs/release.md": "1. tag\n2. push\n"});
    let (run, document) = env.run("push", json!({"branch": "agent/docs", "files": files}));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let tip = env.api.branch(REPO, "agent/docs").unwrap();
    assert_eq!(document["outputs"]["sha"], tip);
    let commit = env.api.commit(REPO, &tip);
    assert_eq!(commit.parents, std::slice::from_ref(&start));
    assert_eq!(commit.message, "Document the release process");
    let on_branch = env.api.files(REPO, "agent/docs");
    assert_eq!(
        on_branch["README.md"],
        "# App\n\nRelease with `make release`.\n"
    );
    assert_eq!(on_branch["docs/release.md"], "1. tag\n2. push\n");
    assert_eq!(
        on_branch["docs/guide.md"], "Start here.\n",
        "other files are kept"
    );
    assert_eq!(on_branch.len(), 4);
    let commit_step = step(&document, "commit");
    assert_eq!(
        commit_step["rollback_data"],
        json!({"repo": REPO, "branch": "agent/docs", "parent": start})
    );
    let ref_update = env
        .api
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .unwrap();
    assert_eq!(ref_update.body["force"], false, "a push never forces");

    env.api.clear_log();
    let (retry, again) = env.run("push", json!({"branch": "agent/docs", "files": files}));
    assert_eq!(retry.code, 0, "{}{}", retry.stdout, retry.stderr);
    assert_eq!(step(&again, "commit")["already_done"], "unchanged");
    assert_eq!(
        env.api.branch(REPO, "agent/docs").as_deref(),
        Some(tip.as_str())
    );
    assert!(
        !env.api
            .request_lines()
            .iter()
            .any(|l| l.ends_with("/git/commits") || l.starts_with("PATCH")),
        "{:?}",
        env.api.request_lines()
    );

    // A pushed commit is irreversible: rollback says what to do by hand and changes nothing.
    let (undo, rolled) = env.rollback(document["run_id"].as_str().unwrap());
    assert_eq!(undo.code, 4, "{}{}", undo.stdout, undo.stderr);
    assert_eq!(rolled["decision"], "PARTIAL");
    assert!(
        rolled["error"]
            .as_str()
            .unwrap()
            .contains("irreversible: revert the commit"),
        "{}",
        rolled["error"]
    );
    assert_eq!(
        env.api.branch(REPO, "agent/docs").as_deref(),
        Some(tip.as_str())
    );
}

#[test]
fn push_commit_refuses_bad_paths_and_missing_branches_with_clear_messages() {
    let env = Env::new();
    env.api.create_branch(REPO, "agent/x", "main");
    let (run, document) = env.run(
        "push",
        json!({"branch": "agent/x", "files": {"../etc/passwd": "x"}}),
    );
    assert_eq!(run.code, 4);
    assert!(
        document["error"]
            .as_str()
            .unwrap()
            .contains("file path `../etc/passwd` has an empty, `.` or `..` part"),
        "{}",
        document["error"]
    );
    let (run, document) = env.run("push", json!({"branch": "agent/x", "files": {"docs": "x"}}));
    assert_eq!(run.code, 4);
    assert!(
        document["error"]
            .as_str()
            .unwrap()
            .contains("`docs` on `agent/x` is a directory"),
        "{}",
        document["error"]
    );
    let (run, document) = env.run(
        "push",
        json!({"branch": "agent/none", "files": {"a.md": "x"}}),
    );
    assert_eq!(run.code, 4);
    assert!(
        document["error"]
            .as_str()
            .unwrap()
            .contains("there is no branch `agent/none` in acme/app; create it first"),
        "{}",
        document["error"]
    );
    assert_eq!(
        env.api.branch(REPO, "agent/x"),
        env.api.branch(REPO, "main")
    );
}

// ---------------------------------------------------------------------------------------------
// merge_pr and its revert

/// Merges `feature` (README changed, CHANGELOG added, docs/guide.md removed) into main
/// through Enact; (run document, main's tree before the merge, the merge commit).
fn merge_feature(env: &Env) -> (Json, String, String) {
    feature_branch(env);
    let number = env.api.open_pr(REPO, "feature", "main", "Add a changelog");
    let before = env.api.branch(REPO, "main").unwrap();
    let before_tree = env.api.commit(REPO, &before).tree;
    let (run, document) = env.run("merge", json!({"number": number}));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let pr = env.api.pull(REPO, number);
    assert!(pr.merged);
    let merge = env.api.branch(REPO, "main").unwrap();
    assert_eq!(pr.merge_commit_sha.as_deref(), Some(merge.as_str()));
    assert_eq!(document["outputs"]["sha"], merge);
    assert_eq!(env.api.commit(REPO, &merge).parents[0], before);
    assert_eq!(
        step(&document, "merge")["rollback_data"]["head_sha"],
        env.api.branch(REPO, "feature").unwrap()
    );
    (document, before_tree, merge)
}

#[test]
fn a_merge_is_rolled_back_by_a_revert_commit_whose_tree_is_the_pre_merge_tree() {
    let env = Env::new();
    let (document, before_tree, merge) = merge_feature(&env);
    let (undo, rolled) = env.rollback(document["run_id"].as_str().unwrap());
    assert_eq!(undo.code, 0, "{}{}", undo.stdout, undo.stderr);
    assert_eq!(rolled["decision"], "ROLLED_BACK");
    let revert = env.api.branch(REPO, "main").unwrap();
    let commit = env.api.commit(REPO, &revert);
    assert_eq!(
        commit.parents,
        std::slice::from_ref(&merge),
        "a new commit on top: history is kept"
    );
    assert_eq!(
        commit.tree, before_tree,
        "the revert's tree is the pre-merge tree"
    );
    assert!(
        commit.message.starts_with("Revert \"Add a changelog\""),
        "{}",
        commit.message
    );
    let undone = &rolled["actions_taken"][0];
    assert_eq!(undone["action"], "revert_merge");
    assert_eq!(
        undone["output"]["files"],
        json!(["CHANGELOG.md", "README.md", "docs/guide.md"])
    );
    let ref_update = env
        .api
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.method == "PATCH")
        .unwrap();
    assert_eq!(ref_update.body["force"], false, "never a forced update");
}

#[test]
fn a_merge_revert_keeps_later_commits_to_other_files() {
    let env = Env::new();
    let (document, _, _) = merge_feature(&env);
    let later = env.api.push(
        REPO,
        "main",
        &[("src/lib.rs", Some("pub fn two() -> u32 {\n    2\n}\n"))],
        "Two",
    );
    let (undo, rolled) = env.rollback(document["run_id"].as_str().unwrap());
    assert_eq!(undo.code, 0, "{}{}", undo.stdout, undo.stderr);
    assert_eq!(rolled["decision"], "ROLLED_BACK");
    let tip = env.api.branch(REPO, "main").unwrap();
    assert_eq!(env.api.commit(REPO, &tip).parents, [later]);
    let files = env.api.files(REPO, "main");
    let expected: Vec<(&str, &str)> = vec![
        ("README.md", "# App\n"),
        ("docs/guide.md", "Start here.\n"),
        ("src/lib.rs", "pub fn two() -> u32 {\n    2\n}\n"),
    ];
    assert_eq!(
        files
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect::<Vec<_>>(),
        expected,
        "the merge undone, the later work kept"
    );
}

#[test]
fn a_merge_revert_is_refused_when_later_commits_touch_the_same_files() {
    let env = Env::new();
    let (document, _, _) = merge_feature(&env);
    let later = env.api.push(
        REPO,
        "main",
        &[("CHANGELOG.md", Some("## 1.0\n- first release\n- fixed\n"))],
        "Fix changelog",
    );
    env.api.clear_log();
    let (undo, rolled) = env.rollback(document["run_id"].as_str().unwrap());
    assert_eq!(undo.code, 4, "{}{}", undo.stdout, undo.stderr);
    assert_eq!(rolled["decision"], "PARTIAL");
    let error = rolled["error"].as_str().unwrap();
    assert!(
        error.contains("commits on `main` after merge")
            && error.contains("changed `CHANGELOG.md` too"),
        "{error}"
    );
    assert!(error.contains("git revert -m 1"), "{error}");
    assert_eq!(
        env.api.branch(REPO, "main").as_deref(),
        Some(later.as_str()),
        "nothing was changed"
    );
    assert!(
        env.api.request_lines().iter().all(|l| l.starts_with("GET")),
        "{:?}",
        env.api.request_lines()
    );
}

#[test]
fn merge_pr_judges_the_real_base() {
    let env = Env::new();
    feature_branch(&env);
    let number = env.api.open_pr(REPO, "feature", "main", "Add a changelog");
    // dont_merge_to_main reads `base`; a step that lies about it is refused before any merge.
    let (run, document) = env.run(
        "guarded_merge",
        json!({"number": number, "base": "develop"}),
    );
    assert_eq!(run.code, 4, "{}{}", run.stdout, run.stderr);
    assert!(
        document["error"]
            .as_str()
            .unwrap()
            .contains("merges into `main`, not `develop` as the step says"),
        "{}",
        document["error"]
    );
    let (run, document) = env.run("guarded_merge", json!({"number": number, "base": "main"}));
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        document["policy_results"][0]["reason"],
        "Merging into 'main' is blocked"
    );
    assert!(!env.api.request_lines().iter().any(|l| l.starts_with("PUT")));
    assert!(!env.api.pull(REPO, number).merged);
    // Merging again is already done.
    let (run, _) = env.run("merge", json!({"number": number}));
    assert_eq!(run.code, 0);
    let (run, document) = env.run("merge", json!({"number": number}));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(step(&document, "merge")["already_done"], "merged");
}

// ---------------------------------------------------------------------------------------------
// Issues, closing, branches

#[test]
fn create_issue_finds_an_open_duplicate_across_pages_and_rollback_closes_what_it_opened() {
    let env = Env::new();
    env.api.set_page_cap(2);
    env.api.add_issue(REPO, "Flaky test in CI");
    for n in 0..4 {
        env.api.add_issue(REPO, &format!("Other issue {n}"));
    }
    let (run, document) = env.run("issue", json!({"title": "Flaky test in CI"}));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(step(&document, "act")["already_done"], "open");
    assert_eq!(step(&document, "act")["output"]["number"], 1);
    assert!(
        env.api
            .request_lines()
            .iter()
            .filter(|l| l.ends_with("/issues"))
            .count()
            == 3,
        "three pages of two: {:?}",
        env.api
            .requests()
            .iter()
            .map(|r| r.path.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(env.api.issues(REPO).len(), 5);

    let (run, document) = env.run("issue", json!({"title": "Crash on empty input"}));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let number = step(&document, "act")["output"]["number"].as_u64().unwrap();
    assert_eq!(env.api.issues(REPO).len(), 6);
    let (run, again) = env.run("issue", json!({"title": "Crash on empty input"}));
    assert_eq!(run.code, 0);
    assert_eq!(step(&again, "act")["already_done"], "open");
    assert_eq!(env.api.issues(REPO).len(), 6, "no duplicate");

    let (undo, _) = env.rollback(document["run_id"].as_str().unwrap());
    assert_eq!(undo.code, 0, "{}{}", undo.stdout, undo.stderr);
    let closed = env
        .api
        .issues(REPO)
        .into_iter()
        .find(|i| i.number == number)
        .unwrap();
    assert_eq!(
        (closed.state.as_str(), closed.state_reason.as_deref()),
        ("closed", Some("not_planned"))
    );
}

#[test]
fn closing_an_issue_or_a_pull_request_is_undone_by_reopening_it() {
    let env = Env::new();
    feature_branch(&env);
    let issue = env.api.add_issue(REPO, "Old bug");
    let pr = env.api.open_pr(REPO, "feature", "main", "Add a changelog");

    let (run, closed_issue) = env.run("close_issue", json!({"number": issue}));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let (run, closed_pr) = env.run("close_pr", json!({"number": pr}));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(env.api.issues(REPO)[0].state, "closed");
    assert_eq!(env.api.pull(REPO, pr).state, "closed");

    let (run, again) = env.run("close_pr", json!({"number": pr}));
    assert_eq!(run.code, 0);
    assert_eq!(step(&again, "act")["already_done"], "closed");
    // A pull request is not closed through close_issue.
    let (run, document) = env.run("close_issue", json!({"number": pr}));
    assert_eq!(run.code, 4);
    assert!(
        document["error"]
            .as_str()
            .unwrap()
            .contains("is a pull request; close it with close_pr")
    );

    for document in [closed_issue, closed_pr] {
        let (undo, _) = env.rollback(document["run_id"].as_str().unwrap());
        assert_eq!(undo.code, 0, "{}{}", undo.stdout, undo.stderr);
    }
    assert_eq!(env.api.issues(REPO)[0].state, "open");
    assert_eq!(env.api.pull(REPO, pr).state, "open");
}

#[test]
fn a_deleted_branch_comes_back_at_its_sha_with_the_pull_requests_github_closed() {
    let env = Env::new();
    let feature = feature_branch(&env);
    let pr = env.api.open_pr(REPO, "feature", "main", "Add a changelog");
    // A fork's branch named `feature` is not acme's: deleting acme's leaves its pull request.
    let from_fork = env
        .api
        .open_fork_pr(REPO, "someone", "feature", "main", "Their feature");

    let (run, document) = env.run("delete_branch", json!({"branch": "main"}));
    assert_eq!(run.code, 4);
    assert!(
        document["error"]
            .as_str()
            .unwrap()
            .contains("`main` is the default branch of acme/app")
    );
    assert!(
        !env.api
            .request_lines()
            .iter()
            .any(|l| l.starts_with("DELETE"))
    );

    let (run, document) = env.run("delete_branch", json!({"branch": "feature"}));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(env.api.branch(REPO, "feature"), None);
    assert_eq!(
        env.api.pull(REPO, pr).state,
        "closed",
        "GitHub closed it with its branch"
    );
    assert_eq!(
        step(&document, "act")["rollback_data"]["pull_requests"],
        json!([pr])
    );
    assert_eq!(env.api.pull(REPO, from_fork).state, "open");
    let (run, again) = env.run("delete_branch", json!({"branch": "feature"}));
    assert_eq!(run.code, 0);
    assert_eq!(step(&again, "act")["already_done"], "absent");

    let (undo, rolled) = env.rollback(document["run_id"].as_str().unwrap());
    assert_eq!(undo.code, 0, "{}{}", undo.stdout, undo.stderr);
    assert_eq!(
        env.api.branch(REPO, "feature").as_deref(),
        Some(feature.as_str())
    );
    assert_eq!(env.api.pull(REPO, pr).state, "open");
    assert_eq!(
        rolled["actions_taken"][0]["output"]["reopened"],
        json!([pr])
    );
}

#[test]
fn a_created_branch_that_moved_is_not_deleted_by_rollback() {
    let env = Env::new();
    let (run, document) = env.run("branch", json!({"branch": "agent/work"}));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let pushed = env.api.push(
        REPO,
        "agent/work",
        &[("notes.md", Some("mine\n"))],
        "Someone's work",
    );
    let (undo, rolled) = env.rollback(document["run_id"].as_str().unwrap());
    assert_eq!(undo.code, 4, "{}{}", undo.stdout, undo.stderr);
    assert!(
        rolled["error"]
            .as_str()
            .unwrap()
            .contains("has moved since Enact created it"),
        "{}",
        rolled["error"]
    );
    assert_eq!(
        env.api.branch(REPO, "agent/work").as_deref(),
        Some(pushed.as_str())
    );
}

#[test]
fn a_created_branch_an_open_pull_request_uses_is_not_deleted_by_rollback() {
    let env = Env::new();
    feature_branch(&env);
    let (run, document) = env.run("branch", json!({"branch": "agent/work"}));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let created = env.api.branch(REPO, "agent/work").unwrap();
    let from_it = env.api.open_pr(REPO, "agent/work", "main", "From it");
    let into_it = env.api.open_pr(REPO, "feature", "agent/work", "Into it");
    // A fork's branch of the same name is another branch: its pull request holds nothing back.
    let from_fork = env
        .api
        .open_fork_pr(REPO, "someone", "agent/work", "main", "Theirs");
    let run_id = document["run_id"].as_str().unwrap();

    let (undo, rolled) = env.rollback(run_id);
    assert_eq!(undo.code, 4, "{}{}", undo.stdout, undo.stderr);
    let error = rolled["error"].as_str().unwrap();
    assert!(
        error.contains(&format!(
            "branch `agent/work` in acme/app is used by open pull request #{from_it}, #{into_it}, \
             which deleting it would close"
        )),
        "{error}"
    );
    assert_eq!(
        env.api.branch(REPO, "agent/work").as_deref(),
        Some(created.as_str())
    );

    for number in [from_it, into_it] {
        let (run, _) = env.run("close_pr", json!({"number": number}));
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    }
    let (undo, rolled) = env.rollback(run_id);
    assert_eq!(undo.code, 0, "{}{}", undo.stdout, undo.stderr);
    assert_eq!(rolled["decision"], "ROLLED_BACK");
    assert_eq!(env.api.branch(REPO, "agent/work"), None);
    assert_eq!(env.api.pull(REPO, from_fork).state, "open");
}

#[test]
fn a_branch_in_a_repository_the_token_no_longer_sees_is_not_taken_for_deleted() {
    let env = Env::new();
    let (run, document) = env.run("branch", json!({"branch": "agent/work"}));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // GitHub answers 404 for the branch's ref then, as it does for a deleted branch.
    env.api.delete_repo(REPO);
    let (undo, rolled) = env.rollback(document["run_id"].as_str().unwrap());
    assert_eq!(undo.code, 4, "{}{}", undo.stdout, undo.stderr);
    assert_eq!(rolled["decision"], "PARTIAL");
    let error = rolled["error"].as_str().unwrap();
    assert!(
        error.contains(
            "GitHub answered 404 Not Found: Not Found — GET /repos/acme/app (it does \
                        not exist, or the token in `GITHUB_TOKEN` cannot see it)"
        ),
        "{error}"
    );
}

// ---------------------------------------------------------------------------------------------
// GitHub's errors

#[test]
fn api_errors_become_failed_steps_that_say_what_github_answered() {
    use enact::connectors::Connector;
    let env = Env::new();
    // 404: a repository that does not exist (or that the token cannot see).
    let (run, document) = env.run("branch", json!({"repo": "acme/nope", "branch": "agent/x"}));
    assert_eq!(run.code, 4, "{}{}", run.stdout, run.stderr);
    let error = document["error"].as_str().unwrap();
    assert!(
        error.contains("GitHub answered 404 Not Found: Not Found — GET /repos/acme/nope (it does not exist, or the token in `GITHUB_TOKEN` cannot see it)"),
        "{error}"
    );

    // 422: GitHub opens no pull request without commits; the branch step before it is undone.
    let (run, document) = env.run(
        "agent_pr_workflow",
        json!({"repo": REPO, "branch": "agent/empty"}),
    );
    assert_eq!(run.code, 4, "{}{}", run.stdout, run.stderr);
    let error = document["error"].as_str().unwrap();
    assert!(
        error.contains("GitHub answered 422 Unprocessable Entity: Validation Failed (No commits between main and agent/empty) — POST /repos/acme/app/pulls"),
        "{error}"
    );
    assert!(env.api.branch(REPO, "agent/empty").is_some());
    let (undo, _) = env.rollback(document["run_id"].as_str().unwrap());
    assert_eq!(undo.code, 0, "{}{}", undo.stdout, undo.stderr);
    assert_eq!(env.api.branch(REPO, "agent/empty"), None);

    // 401: a wrong token, named by its variable and never shown.
    let wrong = "ghp_wrongWrongWrong";
    let run = env.project.enact_with(
        &[
            "run",
            "branch",
            "--payload",
            r#"{"branch": "agent/y"}"#,
            "--json",
        ],
        &[("GITHUB_TOKEN", wrong)],
    );
    assert_eq!(run.code, 4, "{}{}", run.stdout, run.stderr);
    let error = parse(&run)["run"]["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("GitHub refused the token in `GITHUB_TOKEN` (401 Unauthorized: Bad credentials — GET /repos/acme/app)"),
        "{error}"
    );
    assert!(!run.stdout.contains(wrong) && !run.stderr.contains(wrong));
    assert!(!env.receipts_text().contains(wrong) && !env.receipts_text().contains(TOKEN));

    // 403: a token without the permission an action needs.
    env.api.set_read_only(true);
    let (run, document) = env.run("issue", json!({"title": "Crash"}));
    assert_eq!(run.code, 4);
    let error = document["error"].as_str().unwrap();
    assert!(
        error.contains("GitHub answered 403 Forbidden: Resource not accessible by personal access token — POST /repos/acme/app/issues; the token in `GITHUB_TOKEN` needs `issues: write` on this repository"),
        "{error}"
    );
    // The permission is the request's: a merge writes contents, reopening a pull request
    // (a rollback) writes pull requests.
    env.api.set_read_only(false);
    feature_branch(&env);
    let number = env.api.open_pr(REPO, "feature", "main", "Add a changelog");
    env.api.set_read_only(true);
    let (run, document) = env.run("merge", json!({"number": number}));
    assert_eq!(run.code, 4);
    let error = document["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("— PUT /repos/acme/app/pulls/{number}/merge; the token in `GITHUB_TOKEN` needs `contents: write` on this repository")),
        "{error}"
    );
    env.api.set_read_only(false);
    let (run, _) = env.run("close_pr", json!({"number": number}));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    env.api.set_read_only(true);
    let undone = connector(&env.api).undo(
        "close_pr",
        &json!({}),
        &Json::Null,
        &json!({"repo": REPO, "number": number}),
    );
    let Err(enact::connectors::ConnectorError::Failed(error)) = undone else {
        panic!("{undone:?}")
    };
    assert!(
        error.contains(&format!("— PATCH /repos/acme/app/pulls/{number}; the token in `GITHUB_TOKEN` needs `pull requests: write` on this repository")),
        "{error}"
    );
    env.api.set_read_only(false);

    // 403: the rate limit, with when it resets.
    env.api.set_rate_remaining(0);
    let (run, document) = env.run("branch", json!({"branch": "agent/z"}));
    assert_eq!(run.code, 4);
    let error = document["error"].as_str().unwrap();
    assert!(error.contains("GitHub's API rate limit for the token in `GITHUB_TOKEN` is used up (403 Forbidden: API rate limit exceeded"), "{error}");
    assert!(error.contains("it resets at"), "{error}");
}

#[test]
fn an_unreachable_api_is_a_failed_step_naming_the_address() {
    let env = Env::new();
    env.configure("http://127.0.0.1:9", ALL_ACTIONS);
    let (run, document) = env.run("branch", json!({"branch": "agent/x"}));
    assert_eq!(run.code, 4, "{}{}", run.stdout, run.stderr);
    let error = document["error"].as_str().unwrap();
    assert!(
        error.contains("could not reach GitHub at http://127.0.0.1:9"),
        "{error}"
    );
    assert!(error.contains("— GET /repos/acme/app"), "{error}");
}

#[test]
fn a_missing_token_or_a_disallowed_action_stops_before_anything_runs() {
    let env = Env::new();
    let run = env.project.enact_with(
        &["run", "branch", "--payload", r#"{"branch": "agent/x"}"#],
        &[("GITHUB_TOKEN", "")],
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("`GITHUB_TOKEN`, which is not set"),
        "{}",
        run.stderr
    );

    env.configure(env.api.url(), "[create_branch, create_pr]");
    let run = env.enact(&["run", "merge", "--payload", r#"{"number": 1}"#]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("`merge_pr` is not in the allowed_actions of system `github`"),
        "{}",
        run.stderr
    );
    assert!(
        env.api.requests().is_empty(),
        "{:?}",
        env.api.request_lines()
    );
}

#[test]
fn github_enterprise_is_reached_under_its_api_v3_path() {
    let env = Env::new();
    env.configure(&format!("{}/api/v3", env.api.url()), ALL_ACTIONS);
    let (run, _) = env.run("branch", json!({"branch": "agent/ghe"}));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(env.api.branch(REPO, "agent/ghe").is_some());
    let paths: Vec<String> = env.api.requests().iter().map(|r| r.path.clone()).collect();
    assert!(
        !paths.is_empty()
            && paths
                .iter()
                .all(|p| p.starts_with("/api/v3/repos/acme/app")),
        "{paths:?}"
    );
}

#[test]
fn a_dry_run_shows_the_rollback_plan_and_sends_nothing() {
    let env = Env::new();
    let run = env.enact(&[
        "run",
        "agent_pr_workflow",
        "--dry-run",
        "--payload",
        r#"{"repo": "acme/app", "branch": "agent/plan"}"#,
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("rollback: delete_created_branch: delete the branch, if it still points at the commit it was created at"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("rollback: close_created_pr: close the pull request"),
        "{}",
        run.stdout
    );
    assert!(env.api.requests().is_empty());
}

// ---------------------------------------------------------------------------------------------
// The connector itself: journal failures and interrupted runs

fn connector(api: &GithubApi) -> enact::connectors::GithubConnector {
    enact::connectors::GithubConnector::new(enact::connectors::http::HttpSettings {
        base_url: Some(api.url().to_string()),
        token: TOKEN.to_string(),
        token_env: "GITHUB_TOKEN".to_string(),
        timeout: enact::config::DEFAULT_HTTP_TIMEOUT,
    })
    .unwrap()
}

/// The requests that change something on GitHub (a tree object changes no branch).
fn changes(api: &GithubApi) -> Vec<String> {
    api.request_lines()
        .into_iter()
        .filter(|l| !l.starts_with("GET") && !l.ends_with("/git/trees"))
        .collect()
}

#[test]
fn when_the_journal_cannot_record_rollback_data_nothing_changes() {
    use enact::connectors::{Connector, ConnectorError};
    let env = Env::new();
    feature_branch(&env);
    let pr = env.api.open_pr(REPO, "feature", "main", "Add a changelog");
    let issue = env.api.add_issue(REPO, "Old bug");
    let github = connector(&env.api);
    let before = (
        env.api.branches(REPO),
        env.api.pulls(REPO),
        env.api.issues(REPO),
    );
    let cases = [
        (
            "create_branch",
            json!({"repo": REPO, "branch": "agent/new"}),
        ),
        (
            "create_pr",
            json!({"repo": REPO, "branch": "feature", "base": "develop", "title": "T"}),
        ),
        ("create_issue", json!({"repo": REPO, "title": "New bug"})),
        ("close_pr", json!({"repo": REPO, "number": pr})),
        ("close_issue", json!({"repo": REPO, "number": issue})),
        ("delete_branch", json!({"repo": REPO, "branch": "feature"})),
        (
            "merge_pr",
            json!({"repo": REPO, "number": pr, "base": "main"}),
        ),
        (
            "push_commit",
            json!({"repo": REPO, "branch": "feature", "commit_message": "More docs", "files": {"a.md": "a"}, "file_count": 1}),
        ),
    ];
    env.api.create_branch(REPO, "develop", "main");
    for (action, args) in cases {
        let mut journaled = None;
        let error = github
            .execute(action, &args, &mut |data| {
                journaled = Some(data.clone());
                Err("the disk is full".to_string())
            })
            .err()
            .unwrap_or_else(|| panic!("{action} went ahead without its journal"));
        assert!(
            matches!(error, ConnectorError::NotJournaled(_)),
            "{action}: {error}"
        );
        assert_eq!(
            journaled.unwrap()["repo"],
            REPO,
            "{action} offered its rollback data"
        );
        assert!(
            changes(&env.api).is_empty(),
            "{action}: {:?}",
            changes(&env.api)
        );
    }
    let mut branches = before.0.clone();
    branches.push("develop".to_string());
    branches.sort();
    assert_eq!(env.api.branches(REPO), branches);
    assert_eq!(
        (env.api.pulls(REPO), env.api.issues(REPO)),
        (before.1, before.2)
    );
}

#[test]
fn after_an_interrupted_run_undo_is_safe_whether_or_not_the_action_happened() {
    use enact::connectors::Connector;
    let env = Env::new();
    feature_branch(&env);
    let github = connector(&env.api);
    let main = env.api.branch(REPO, "main").unwrap();
    let undo = |action: &str, data: Json| github.undo(action, &json!({}), &Json::Null, &data);

    // create_branch: gone if it is where Enact would have created it; absent otherwise.
    let data = json!({"repo": REPO, "branch": "agent/i", "sha": main});
    assert_eq!(
        undo("create_branch", data.clone()).unwrap().already_done,
        Some("absent")
    );
    env.api.create_branch(REPO, "agent/i", "main");
    assert_eq!(undo("create_branch", data).unwrap().already_done, None);
    assert_eq!(env.api.branch(REPO, "agent/i"), None);

    // create_pr: the open one from that branch into that base with that title is Enact's.
    let data = json!({"repo": REPO, "branch": "feature", "base": "main", "title": "Enact's"});
    let someone_elses = env.api.open_pr(REPO, "feature", "main", "Someone else's");
    assert_eq!(
        undo("create_pr", data.clone()).unwrap().already_done,
        Some("absent")
    );
    assert_eq!(env.api.pull(REPO, someone_elses).state, "open");
    env.api.clear_log();
    let undone = github.undo(
        "close_pr",
        &json!({}),
        &Json::Null,
        &json!({"repo": REPO, "number": someone_elses}),
    );
    assert_eq!(undone.unwrap().already_done, Some("open"));
    let theirs_closed = github
        .execute(
            "close_pr",
            &json!({"repo": REPO, "number": someone_elses}),
            &mut |_| Ok(()),
        )
        .unwrap();
    assert_eq!(theirs_closed.already_done, None);
    let ours = env.api.open_pr(REPO, "feature", "main", "Enact's");
    assert_eq!(undo("create_pr", data).unwrap().already_done, None);
    assert_eq!(env.api.pull(REPO, ours).state, "closed");

    // create_issue: an open issue with the title is closed; none is absent.
    let data = json!({"repo": REPO, "title": "Crash"});
    assert_eq!(
        undo("create_issue", data.clone()).unwrap().already_done,
        Some("absent")
    );
    let issue = env.api.add_issue(REPO, "Crash");
    assert_eq!(undo("create_issue", data).unwrap().already_done, None);
    assert_eq!(
        env.api
            .issues(REPO)
            .iter()
            .find(|i| i.number == issue)
            .unwrap()
            .state,
        "closed"
    );

    // merge_pr: the pull request says whether the merge happened.
    let number = env.api.open_pr(REPO, "feature", "main", "Add a changelog");
    let head = env.api.branch(REPO, "feature").unwrap();
    let data = json!({"repo": REPO, "number": number, "base": "main", "head_sha": head, "title": "Add a changelog"});
    assert_eq!(
        undo("merge_pr", data.clone()).unwrap().already_done,
        Some("not merged")
    );
    let merged = github
        .execute(
            "merge_pr",
            &json!({"repo": REPO, "number": number, "base": "main"}),
            &mut |_| Ok(()),
        )
        .unwrap();
    assert_eq!(merged.output["merged"], true);
    let before_tree = env.api.commit(REPO, &main).tree;
    let reverted = undo("merge_pr", data.clone()).unwrap();
    assert_eq!(reverted.already_done, None);
    let tip = env.api.branch(REPO, "main").unwrap();
    assert_eq!(env.api.commit(REPO, &tip).tree, before_tree);
    // And once more: the revert is already there.
    assert_eq!(
        undo("merge_pr", data).unwrap().already_done,
        Some("reverted")
    );
    assert_eq!(env.api.branch(REPO, "main").as_deref(), Some(tip.as_str()));
}

#[test]
fn a_merge_is_made_at_the_head_enact_saw_and_only_that_merge_is_reverted_after_an_interruption() {
    use enact::connectors::{Connector, ConnectorError};
    let env = Env::new();
    let seen = feature_branch(&env);
    let github = connector(&env.api);
    let main = env.api.branch(REPO, "main").unwrap();
    let number = env.api.open_pr(REPO, "feature", "main", "Add a changelog");
    let args = json!({"repo": REPO, "number": number, "base": "main"});

    // Someone pushes to the head after Enact looked at it: GitHub refuses the merge (409).
    let mut recorded = Json::Null;
    let refused = github.execute("merge_pr", &args, &mut |data| {
        recorded = data.clone();
        env.api
            .push(REPO, "feature", &[("NEWS.md", Some("late\n"))], "Late push");
        Ok(())
    });
    let Err(ConnectorError::Failed(message)) = refused else {
        panic!("{refused:?}")
    };
    assert!(
        message.contains("GitHub answered 409 Conflict: Head branch was modified"),
        "{message}"
    );
    assert_eq!(recorded["head_sha"], seen);
    assert!(!env.api.pull(REPO, number).merged);
    assert_eq!(env.api.branch(REPO, "main").as_deref(), Some(main.as_str()));

    // Someone merges it at the new head later; the interrupted run's undo leaves that merge.
    let theirs = github.execute("merge_pr", &args, &mut |_| Ok(())).unwrap();
    assert_eq!(theirs.output["merged"], true);
    let their_head = env.api.branch(REPO, "feature").unwrap();
    let merged_main = env.api.branch(REPO, "main").unwrap();
    let undone = github.undo("merge_pr", &json!({}), &Json::Null, &recorded);
    let Err(ConnectorError::CannotUndo(message)) = undone else {
        panic!("{undone:?}")
    };
    assert!(
        message.contains(&format!(
            "pull request #{number} in acme/app was merged at head {}, not at {} where this run \
             would have merged it",
            &their_head[..7],
            &seen[..7]
        )),
        "{message}"
    );
    assert_eq!(
        env.api.branch(REPO, "main").as_deref(),
        Some(merged_main.as_str())
    );
}

#[test]
fn a_recreated_branch_reopens_every_pull_request_it_can_and_names_the_others() {
    use enact::connectors::{Connector, ConnectorError};
    let env = Env::new();
    let feature = feature_branch(&env);
    let first = env.api.open_pr(REPO, "feature", "main", "First");
    let github = connector(&env.api);
    let deleted = github
        .execute(
            "delete_branch",
            &json!({"repo": REPO, "branch": "feature"}),
            &mut |_| Ok(()),
        )
        .unwrap();
    assert_eq!(deleted.rollback_data["pull_requests"], json!([first]));
    let last = env.api.add_issue(REPO, "Not a pull request");
    // A number GitHub cannot answer for as a pull request, recorded before one it can.
    let mut data = deleted.rollback_data.clone();
    data["pull_requests"] = json!([last, first]);

    let undone = github.undo("delete_branch", &json!({}), &deleted.output, &data);
    let Err(ConnectorError::CannotUndo(message)) = undone else {
        panic!("{undone:?}")
    };
    assert!(
        message.contains(&format!(
            "branch `feature` in acme/app is back at {} and #{first} reopened, but pull request \
             #{last} (",
            &feature[..7]
        )),
        "{message}"
    );
    assert!(message.contains("404 Not Found"), "{message}");
    assert_eq!(
        env.api.branch(REPO, "feature").as_deref(),
        Some(feature.as_str())
    );
    assert_eq!(env.api.pull(REPO, first).state, "open");
}

#[test]
fn a_branch_that_moves_while_enact_commits_keeps_the_other_commit() {
    use enact::connectors::{Connector, ConnectorError};
    let env = Env::new();
    env.api.create_branch(REPO, "agent/docs", "main");
    let github = connector(&env.api);
    let mut theirs = String::new();
    let pushed = github.execute(
        "push_commit",
        &json!({"repo": REPO, "branch": "agent/docs", "commit_message": "Docs", "files": {"NOTES.md": "ours\n"}, "file_count": 1}),
        &mut |_| {
            theirs = env
                .api
                .push(REPO, "agent/docs", &[("OTHER.md", Some("theirs\n"))], "Theirs");
            Ok(())
        },
    );
    let Err(ConnectorError::Failed(message)) = pushed else {
        panic!("{pushed:?}")
    };
    assert!(
        message.contains("branch `agent/docs` in acme/app moved while Enact was committing"),
        "{message}"
    );
    assert!(
        message.contains("nothing was pushed — run again"),
        "{message}"
    );
    assert_eq!(
        env.api.branch(REPO, "agent/docs").as_deref(),
        Some(theirs.as_str())
    );
    assert_eq!(env.api.file(REPO, "agent/docs", "NOTES.md"), None);
}
