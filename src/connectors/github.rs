//! The `github` connector: branches, pull requests, issues, merges and commits through the
//! GitHub REST API (octocrab), each mutating action checking the desired state first and
//! capturing what its inverse needs before it changes anything.
//!
//! Arguments use the policy library's field names (`branch`, `base`, `commit_message`,
//! `file_count`), and the connector refuses any argument that would let a policy judge
//! something other than what happens: a `base` that is not the pull request's real base, a
//! `file_count` that is not the number of files.

mod actions;
mod api;
mod revert;
mod trees;
mod undo;

use serde_json::{Map, Value as Json};

use super::http::HttpSettings;
use super::{
    ActionOutcome, ActionSpec, Connector, ConnectorError, Effect, Inverse, ParamSpec, ParamType,
    UndoOutcome, check_args, find_action,
};
use api::Api;

pub const KIND: &str = "github";

const REPO: ParamSpec = ParamSpec {
    name: "repo",
    ty: ParamType::String,
    required: true,
    description: "the repository, `owner/name`",
};

const BRANCH: ParamSpec = ParamSpec {
    name: "branch",
    ty: ParamType::String,
    required: true,
    description: "the branch's name, without `refs/heads/`",
};

const NUMBER: ParamSpec = ParamSpec {
    name: "number",
    ty: ParamType::Int,
    required: true,
    description: "the pull request's or issue's number",
};

const TITLE: ParamSpec = ParamSpec {
    name: "title",
    ty: ParamType::String,
    required: true,
    description: "the title",
};

const BODY: ParamSpec = ParamSpec {
    name: "body",
    ty: ParamType::String,
    required: false,
    description: "the description, in Markdown",
};

pub const ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        name: "create_branch",
        description: "Create a branch at the tip of another (default: the repository's default \
                      branch).",
        params: &[
            REPO,
            BRANCH,
            ParamSpec {
                name: "from",
                ty: ParamType::String,
                required: false,
                description: "the branch to start from (default: the repository's default branch)",
            },
        ],
        effect: Effect::Mutating,
        inverse: Inverse::Reversible {
            name: "delete_created_branch",
            description: "delete the branch, if it still points at the commit it was created at",
        },
    },
    ActionSpec {
        name: "create_pr",
        description: "Open a pull request from `branch` into `base`.",
        params: &[
            REPO,
            ParamSpec {
                name: "branch",
                ty: ParamType::String,
                required: true,
                description: "the head branch: the changes to merge",
            },
            ParamSpec {
                name: "base",
                ty: ParamType::String,
                required: false,
                description: "the branch to merge into (default: the repository's default branch)",
            },
            TITLE,
            BODY,
            ParamSpec {
                name: "draft",
                ty: ParamType::Bool,
                required: false,
                description: "open it as a draft (default false)",
            },
        ],
        effect: Effect::Mutating,
        inverse: Inverse::Reversible {
            name: "close_created_pr",
            description: "close the pull request",
        },
    },
    ActionSpec {
        name: "create_issue",
        description: "Open an issue, unless an open one has the same title.",
        params: &[
            REPO,
            TITLE,
            BODY,
            ParamSpec {
                name: "labels",
                ty: ParamType::List,
                required: false,
                description: "label names",
            },
        ],
        effect: Effect::Mutating,
        inverse: Inverse::Reversible {
            name: "close_created_issue",
            description: "close the issue as not planned",
        },
    },
    ActionSpec {
        name: "close_pr",
        description: "Close a pull request without merging it.",
        params: &[REPO, NUMBER],
        effect: Effect::Mutating,
        inverse: Inverse::Reversible {
            name: "reopen_pr",
            description: "reopen the pull request",
        },
    },
    ActionSpec {
        name: "close_issue",
        description: "Close an issue.",
        params: &[
            REPO,
            NUMBER,
            ParamSpec {
                name: "reason",
                ty: ParamType::String,
                required: false,
                description: "`completed` (default) or `not_planned`",
            },
        ],
        effect: Effect::Mutating,
        inverse: Inverse::Reversible {
            name: "reopen_issue",
            description: "reopen the issue",
        },
    },
    ActionSpec {
        name: "delete_branch",
        description: "Delete a branch (never the default branch).",
        params: &[REPO, BRANCH],
        effect: Effect::Mutating,
        inverse: Inverse::Reversible {
            name: "recreate_branch",
            description: "recreate the branch at the commit it pointed at, and reopen the pull \
                          requests GitHub closed with it",
        },
    },
    ActionSpec {
        name: "merge_pr",
        description: "Merge a pull request into `base`, which must be its real base branch.",
        params: &[
            REPO,
            NUMBER,
            ParamSpec {
                name: "base",
                ty: ParamType::String,
                required: true,
                description: "the branch the pull request merges into; refused if it is not the \
                              pull request's base",
            },
            ParamSpec {
                name: "merge_method",
                ty: ParamType::String,
                required: false,
                description: "`merge` (default) or `squash`",
            },
            ParamSpec {
                name: "commit_title",
                ty: ParamType::String,
                required: false,
                description: "the merge commit's title (default GitHub's)",
            },
            ParamSpec {
                name: "commit_message",
                ty: ParamType::String,
                required: false,
                description: "the merge commit's message (default GitHub's)",
            },
        ],
        effect: Effect::Mutating,
        inverse: Inverse::Reversible {
            name: "revert_merge",
            description: "a commit on the base branch that restores the files the merge \
                          changed; refused if later commits touched the same files",
        },
    },
    ActionSpec {
        name: "push_commit",
        description: "Commit files (path → new text content) on top of a branch.",
        params: &[
            REPO,
            BRANCH,
            ParamSpec {
                name: "commit_message",
                ty: ParamType::String,
                required: true,
                description: "the commit message",
            },
            ParamSpec {
                name: "files",
                ty: ParamType::Map,
                required: true,
                description: "{path: new content}, paths relative to the repository's root",
            },
            ParamSpec {
                name: "file_count",
                ty: ParamType::Int,
                required: true,
                description: "how many files the commit touches: must equal the entries of \
                              `files` (what max_files_per_commit judges)",
            },
        ],
        effect: Effect::Mutating,
        inverse: Inverse::Irreversible {
            by_hand: "revert the commit on its branch (`git revert SHA`, SHA from this step's \
                      output) — once pushed it may already be fetched, built or deployed",
        },
    },
];

/// A GitHub account's view of its repositories, through one API (github.com or an Enterprise
/// server's `https://HOST/api/v3`).
pub struct GithubConnector {
    api: Api,
}

impl GithubConnector {
    /// A connector on `settings.base_url` (GitHub's public API when `None`) acting with its
    /// token, each request bounded by its timeout. Nothing is sent until a step runs; the token
    /// never appears in an error (a refused one is named by its variable).
    pub fn new(settings: HttpSettings) -> Result<Self, ConnectorError> {
        Ok(GithubConnector {
            api: Api::new(&settings)?,
        })
    }
}

impl Connector for GithubConnector {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn actions(&self) -> &'static [ActionSpec] {
        ACTIONS
    }

    fn execute(
        &self,
        action: &str,
        args: &Json,
        prepared: &mut dyn FnMut(&Json) -> Result<(), String>,
    ) -> Result<ActionOutcome, ConnectorError> {
        let spec = find_action(KIND, ACTIONS, action)?;
        check_args(spec, args)?;
        let args = Args::new(args)?;
        let api = &self.api;
        match spec.name {
            "create_branch" => actions::create_branch(api, &args, prepared),
            "create_pr" => actions::create_pr(api, &args, prepared),
            "create_issue" => actions::create_issue(api, &args, prepared),
            "close_pr" => actions::close_pr(api, &args, prepared),
            "close_issue" => actions::close_issue(api, &args, prepared),
            "delete_branch" => actions::delete_branch(api, &args, prepared),
            "merge_pr" => actions::merge_pr(api, &args, prepared),
            _ => actions::push_commit(api, &args, prepared),
        }
    }

    fn undo(
        &self,
        action: &str,
        _args: &Json,
        output: &Json,
        rollback_data: &Json,
    ) -> Result<UndoOutcome, ConnectorError> {
        let spec = find_action(KIND, ACTIONS, action)?;
        let data = Data::new(spec.name, rollback_data)?;
        let api = &self.api;
        match spec.name {
            "create_branch" => undo::delete_created_branch(api, &data, output),
            "create_pr" => undo::close_created_pr(api, &data, output),
            "create_issue" => undo::close_created_issue(api, &data, output),
            "close_pr" => undo::reopen(api, &data, undo::Kind::PullRequest),
            "close_issue" => undo::reopen(api, &data, undo::Kind::Issue),
            "delete_branch" => undo::recreate_branch(api, &data),
            "merge_pr" => undo::revert_merge(api, &data, output),
            name => Err(ConnectorError::CannotUndo(format!(
                "`{name}` cannot be undone by Enact: {}",
                match spec.inverse {
                    Inverse::Irreversible { by_hand } => by_hand,
                    _ => "it changes nothing",
                }
            ))),
        }
    }
}

/// A repository named `owner/name`, checked so that it can only ever address that repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Repo {
    pub owner: String,
    pub name: String,
}

impl Repo {
    pub fn parse(text: &str) -> Result<Repo, String> {
        let (owner, name) = text
            .split_once('/')
            .ok_or_else(|| format!("repo `{}` must be `owner/name`", text.escape_debug()))?;
        let owner_ok = !owner.is_empty()
            && owner.len() <= 39
            && owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        let name_ok = !name.is_empty()
            && name.len() <= 100
            && name != "."
            && name != ".."
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if owner_ok && name_ok {
            Ok(Repo {
                owner: owner.to_string(),
                name: name.to_string(),
            })
        } else {
            Err(format!(
                "repo `{}` is not a GitHub repository name: `owner/name`, the owner of letters, \
                 digits and `-`, the name of letters, digits, `-`, `_` and `.`",
                text.escape_debug()
            ))
        }
    }

    /// `/repos/owner/name`, the start of every route.
    pub fn route(&self) -> String {
        format!("/repos/{}/{}", self.owner, self.name)
    }

    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

/// Checks a branch name against git's rules for refs, and keeps it to characters that go into
/// a URL path unescaped, so the name addresses exactly one ref.
pub(crate) fn check_branch(name: &str, what: &str) -> Result<(), String> {
    let problem = if name.is_empty() {
        Some("is empty")
    } else if name.len() > 255 {
        Some("is longer than 255 bytes")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '+'))
    {
        Some("may only hold letters, digits and `-` `_` `.` `/` `+`")
    } else if name.starts_with('/') || name.ends_with('/') || name.contains("//") {
        Some("starts or ends with `/`, or has an empty part")
    } else if name.contains("..") || name.ends_with('.') || name.ends_with(".lock") {
        Some("holds `..` or ends with `.` or `.lock`, which git forbids")
    } else if name.split('/').any(|part| part.starts_with('.')) {
        Some("has a part starting with `.`, which git forbids")
    } else if name.starts_with("refs/") || name == "HEAD" {
        Some("names a ref, not a branch: drop `refs/heads/`")
    } else {
        None
    };
    match problem {
        Some(why) => Err(format!("{what} `{}` {why}", name.escape_debug())),
        None => Ok(()),
    }
}

/// A step's arguments, checked: the typed accessors cannot fail after `check_args`.
pub(crate) struct Args<'a> {
    pub repo: Repo,
    raw: &'a Map<String, Json>,
}

impl<'a> Args<'a> {
    fn new(args: &'a Json) -> Result<Args<'a>, ConnectorError> {
        let raw = args
            .as_object()
            .ok_or_else(|| ConnectorError::BadArgs("the arguments must be a map".into()))?;
        let repo = Repo::parse(raw.get("repo").and_then(Json::as_str).unwrap_or_default())
            .map_err(ConnectorError::BadArgs)?;
        let args = Args { repo, raw };
        for name in ["branch", "from", "base"] {
            if let Some(value) = args.opt_str(name) {
                check_branch(value, &format!("`{name}`")).map_err(ConnectorError::BadArgs)?;
            }
        }
        Ok(args)
    }

    pub fn str(&self, name: &str) -> &'a str {
        self.opt_str(name).unwrap_or_default()
    }

    pub fn opt_str(&self, name: &str) -> Option<&'a str> {
        self.raw.get(name).and_then(Json::as_str)
    }

    pub fn bool(&self, name: &str) -> bool {
        self.raw.get(name).and_then(Json::as_bool) == Some(true)
    }

    pub fn get(&self, name: &str) -> Option<&'a Json> {
        self.raw.get(name).filter(|v| !v.is_null())
    }

    /// A pull request or issue number: a positive integer.
    pub fn number(&self) -> Result<u64, ConnectorError> {
        self.raw
            .get("number")
            .and_then(Json::as_u64)
            .filter(|n| *n > 0)
            .ok_or_else(|| ConnectorError::BadArgs("`number` must be a positive integer".into()))
    }
}

/// Rollback data, read back: every field an inverse needs, or a refusal naming what is
/// missing (a receipt can be edited only by breaking its signature, but fail closed anyway).
pub(crate) struct Data<'a> {
    action: &'static str,
    pub repo: Repo,
    raw: &'a Json,
}

impl<'a> Data<'a> {
    fn new(action: &'static str, raw: &'a Json) -> Result<Data<'a>, ConnectorError> {
        let repo = raw
            .get("repo")
            .and_then(Json::as_str)
            .ok_or_else(|| malformed(action, "no `repo`"))
            .and_then(|text| Repo::parse(text).map_err(|why| malformed(action, &why)))?;
        Ok(Data { action, repo, raw })
    }

    pub fn str(&self, name: &str) -> Result<&'a str, ConnectorError> {
        self.raw
            .get(name)
            .and_then(Json::as_str)
            .ok_or_else(|| malformed(self.action, &format!("no `{name}`")))
    }

    /// A branch name from the data, checked like an argument.
    pub fn branch(&self, name: &str) -> Result<&'a str, ConnectorError> {
        let branch = self.str(name)?;
        check_branch(branch, name).map_err(|why| malformed(self.action, &why))?;
        Ok(branch)
    }

    /// A commit SHA from the data: 40 (or 64) hex digits.
    pub fn sha(&self, name: &str) -> Result<&'a str, ConnectorError> {
        let sha = self.str(name)?;
        if is_sha(sha) {
            Ok(sha)
        } else {
            Err(malformed(self.action, &format!("`{name}` is not a SHA")))
        }
    }

    pub fn number(&self) -> Result<u64, ConnectorError> {
        self.raw
            .get("number")
            .and_then(Json::as_u64)
            .filter(|n| *n > 0)
            .ok_or_else(|| malformed(self.action, "no `number`"))
    }

    pub fn get(&self, name: &str) -> Option<&'a Json> {
        self.raw.get(name)
    }
}

pub(crate) fn is_sha(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn malformed(action: &str, what: &str) -> ConnectorError {
    ConnectorError::CannotUndo(format!(
        "the rollback data of {action} is malformed ({what}); undo it by hand from the receipt"
    ))
}

/// The first characters of a SHA, as people quote them.
pub(crate) fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(base_url: &str) -> HttpSettings {
        HttpSettings {
            base_url: Some(base_url.to_string()),
            token: "t".to_string(),
            token_env: "GH".to_string(),
            timeout: crate::config::DEFAULT_HTTP_TIMEOUT,
        }
    }

    #[test]
    fn repositories_are_owner_slash_name_and_nothing_else() {
        let repo = Repo::parse("acme-inc/app.rs_2").unwrap();
        assert_eq!(repo.route(), "/repos/acme-inc/app.rs_2");
        for bad in [
            "acme",
            "/app",
            "acme/",
            "acme/app/extra",
            "acme/..",
            "ac me/app",
            "acme/app?x=1",
            "acme/app#x",
            "acme/%2e%2e",
            "acme_/app",
        ] {
            assert!(Repo::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn branch_names_follow_git_and_stay_in_their_url_segment() {
        for good in ["main", "agent/fix-1", "release/1.2.3", "a+b", "feature_x"] {
            check_branch(good, "branch").unwrap();
        }
        for bad in [
            "",
            "/main",
            "main/",
            "a//b",
            "a..b",
            "a.lock",
            "a.",
            ".hidden",
            "a/.b",
            "refs/heads/main",
            "HEAD",
            "a b",
            "a?b",
            "a#b",
            "a%2fb",
            "a~1",
            "a^",
            "a:b",
            "a\\b",
            "ünï",
        ] {
            let error = check_branch(bad, "`branch`").unwrap_err();
            assert!(error.starts_with("`branch` `"), "{bad}: {error}");
        }
    }

    #[test]
    fn arguments_are_checked_before_any_request() {
        let connector = GithubConnector::new(settings("http://127.0.0.1:9")).unwrap();
        let mut never = |_: &Json| -> Result<(), String> { panic!("nothing may be journaled") };
        let cases = [
            (
                "create_branch",
                json!({"repo": "acme", "branch": "x"}),
                "owner/name",
            ),
            (
                "create_branch",
                json!({"repo": "a/b", "branch": "x y"}),
                "`branch`",
            ),
            (
                "create_pr",
                json!({"repo": "a/b", "branch": "x", "base": "..", "title": "t"}),
                "`base`",
            ),
            ("close_pr", json!({"repo": "a/b", "number": 0}), "positive"),
            (
                "close_pr",
                json!({"repo": "a/b", "number": "1"}),
                "must be a int",
            ),
            (
                "merge_pr",
                json!({"repo": "a/b", "number": 1}),
                "needs parameter `base`",
            ),
            (
                "push_commit",
                json!({"repo": "a/b", "branch": "x", "commit_message": "m", "files": {}}),
                "`file_count`",
            ),
            (
                "delete_branch",
                json!({"repo": "a/b", "brnach": "x"}),
                "did you mean",
            ),
            ("force_push", json!({"repo": "a/b"}), "has no action"),
        ];
        for (action, args, expected) in cases {
            let error = connector
                .execute(action, &args, &mut never)
                .err()
                .unwrap()
                .to_string();
            assert!(error.contains(expected), "{action} {args}: {error}");
        }
    }

    #[test]
    fn every_action_names_its_inverse() {
        for spec in ACTIONS {
            assert_eq!(spec.effect, Effect::Mutating, "{}", spec.name);
            assert!(
                !matches!(spec.inverse, Inverse::None),
                "{} must say how it is undone",
                spec.name
            );
        }
    }

    #[test]
    fn malformed_rollback_data_is_refused() {
        let connector = GithubConnector::new(settings("http://127.0.0.1:9")).unwrap();
        let error = connector
            .undo(
                "delete_branch",
                &json!({}),
                &json!({}),
                &json!({"repo": "a/b", "branch": "x", "sha": "zz"}),
            )
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("malformed (`sha` is not a SHA)"), "{error}");
        let error = connector
            .undo(
                "create_branch",
                &json!({}),
                &json!({}),
                &json!({"repo": "../x"}),
            )
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("malformed"), "{error}");
        let error = connector
            .undo(
                "push_commit",
                &json!({}),
                &json!({}),
                &json!({"repo": "a/b"}),
            )
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("git revert"), "{error}");
    }
}
