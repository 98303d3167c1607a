//! The Claude Code integration (SPEC §11): the PreToolUse event, each tool call mapped to a typed
//! action with canonical paths, the answer in the hook protocol, the default policy set, and the
//! `.claude/settings.json` merge of `enact hook install`. Judging and recording live in
//! `engine::hook`; the commands in `cli::hook`.

pub mod answer;
pub mod event;
mod git;
pub mod guard;
pub mod paths;
pub mod settings;
mod sql;
pub mod tools;

pub use answer::{Answer, Permission};
pub use event::{EventError, HookEvent};
pub use paths::PathBase;
pub use tools::{ToolAction, ToolError, ToolKind, map_tool};

/// The tools that write files: the policies about what may be changed (CI files, .gitignore)
/// apply to these only, so that reading a Dockerfile or a .gitignore stays allowed.
pub const WRITING_TOOLS: &[&str] = &["Write", "Edit", "MultiEdit", "NotebookEdit"];

/// The policies the hook applies when the config has no `hook.policies`: every policy of the
/// coding-agent, filesystem, search, db, git and time sets that needs no parameter, minus the
/// sentinels (`dont_delete_file`, `dont_delete_row`, `dont_delete_branch`: they block every
/// call), `git.require_branch_prefix` (it blocks a call that names no branch, which is nearly
/// every call) and `git.dont_merge_to_main` (MCP GitHub tools name `base: main` to open an
/// ordinary pull request). `None`: every tool; else only the tools listed.
pub const DEFAULT_POLICIES: &[(&str, Option<&[&str]>)] = &[
    ("coding_agent.block_terraform_destroy", None),
    ("coding_agent.block_drizzle_force_push", None),
    ("coding_agent.block_prisma_reset", None),
    ("coding_agent.block_aws_s3_recursive_delete", None),
    ("coding_agent.block_aws_iam_delete_user", None),
    ("coding_agent.block_kubectl_namespace_delete", None),
    ("coding_agent.block_docker_prune_volumes", None),
    ("coding_agent.block_git_reset_hard", None),
    ("coding_agent.block_git_clean_force", None),
    ("coding_agent.block_chmod_777_recursive", None),
    ("coding_agent.block_drop_database", None),
    ("coding_agent.block_npm_install_unvetted", None),
    ("coding_agent.block_slack_mass_message", None),
    ("coding_agent.block_stripe_bulk_cancel", None),
    ("coding_agent.block_route53_destructive", None),
    ("coding_agent.block_unbounded_pii_select", None),
    ("coding_agent.block_read_env_file", None),
    ("coding_agent.block_workflow_file_write", None),
    ("coding_agent.block_home_dir_destructive", None),
    ("coding_agent.block_gitignore_edit", None),
    ("coding_agent.block_ssh_key_read", None),
    ("coding_agent.block_aws_creds_read", None),
    ("coding_agent.block_proc_environ_read", None),
    ("coding_agent.block_email_bulk_send", None),
    ("coding_agent.block_curl_pipe_shell", None),
    ("filesystem.dont_read_env", None),
    ("filesystem.dont_touch_ci_cd", Some(WRITING_TOOLS)),
    ("filesystem.dont_edit_gitignore", Some(WRITING_TOOLS)),
    ("filesystem.dont_access_home_dir", None),
    ("filesystem.dont_copy_api_keys", None),
    ("search.block_grep_secret_patterns", None),
    ("search.block_glob_credentials_dirs", None),
    ("db.dont_delete_without_where", None),
    ("db.dont_update_without_where", None),
    ("db.block_ddl", None),
    ("git.dont_push_to_main", None),
    ("git.dont_force_push", None),
    ("git.dont_commit_api_keys", None),
    ("git.max_files_per_commit", None),
    ("git.require_meaningful_commit_message", None),
    ("time.code_freeze_active", None),
];

/// Whether a `tools:` list (exact names, or a prefix ending in `*` such as `mcp__github__*`)
/// names `tool`.
pub fn tool_listed(tools: &[String], tool: &str) -> bool {
    tools.iter().any(|pattern| match pattern.strip_suffix('*') {
        Some(prefix) => tool.starts_with(prefix),
        None => pattern == tool,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_policy_exists_and_binds_without_parameters() {
        for (id, _) in DEFAULT_POLICIES {
            let policy = crate::policy::library::builtin(id)
                .unwrap_or_else(|| panic!("no built-in policy {id}"));
            crate::policy::library::bind(
                &policy,
                &crate::policy::value::Value::Null,
                crate::policy::eval::Enforcement::Hard,
            )
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        }
    }

    #[test]
    fn tool_lists_take_names_and_prefixes() {
        let tools = vec!["Write".to_string(), "mcp__github__*".to_string()];
        assert!(tool_listed(&tools, "Write"));
        assert!(!tool_listed(&tools, "WriteFile"));
        assert!(tool_listed(&tools, "mcp__github__create_issue"));
        assert!(!tool_listed(&tools, "mcp__gitlab__x"));
    }
}
