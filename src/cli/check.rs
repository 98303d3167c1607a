//! `enact check`: every problem in the given policy files, with its place, and in the given
//! workflow files (YAML, steps against the project's systems); exit 2 on any error.

use std::path::{Path, PathBuf};

use super::{Output, exit};
use crate::policy::library::PolicySet;

fn is_workflow(path: &Path) -> bool {
    path.is_file() && path.extension().is_some_and(|e| e == "yaml" || e == "yml")
}

/// Checks each workflow file against the project's config; the number of problems.
fn check_workflows(out: &Output, paths: &[&PathBuf]) -> usize {
    if paths.is_empty() {
        return 0;
    }
    let config = match std::env::current_dir()
        .map_err(|e| e.to_string())
        .and_then(|cwd| crate::config::Config::discover(None, &cwd).map_err(|e| e.to_string()))
    {
        Ok(config) => config,
        Err(message) => {
            out.error(&message);
            return 1;
        }
    };
    let mut problems = 0;
    for path in paths {
        let checked = crate::workflow::load(path)
            .map_err(|e| e.to_string())
            .and_then(|workflow| {
                crate::engine::run::check_steps(&workflow, &config).map_err(|e| e.to_string())
            });
        if let Err(message) = checked {
            out.error(&message);
            problems += 1;
        }
    }
    problems
}

pub fn run(out: &Output, paths: &[PathBuf]) -> u8 {
    let (workflows, policy_paths): (Vec<&PathBuf>, Vec<&PathBuf>) =
        paths.iter().partition(|p| is_workflow(p));
    let workflow_problems = check_workflows(out, &workflows);
    if policy_paths.is_empty() {
        if workflow_problems > 0 {
            return exit::USAGE;
        }
        out.println(&format!("ok: {}", counted(workflows.len(), "workflow")));
        return exit::OK;
    }
    let policy_paths: Vec<PathBuf> = policy_paths.into_iter().cloned().collect();
    let paths = policy_paths.as_slice();
    let set = PolicySet::load(paths);
    out.diagnostics(&set.diagnostics);
    if workflow_problems > 0 {
        return exit::USAGE;
    }
    if set.files.is_empty() && !set.has_errors() {
        out.error(&format!("no .enact files found in {}", list(paths)));
        return exit::USAGE;
    }
    let errors = set.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = set.diagnostics.len() - errors;
    if errors > 0 {
        out.note(&format!(
            "{} in {} file{}",
            counted(errors, "error")
                + &if warnings > 0 {
                    format!(", {}", counted(warnings, "warning"))
                } else {
                    String::new()
                },
            set.files.len(),
            if set.files.len() == 1 { "" } else { "s" }
        ));
        return exit::USAGE;
    }
    let cases: usize = set.tests.iter().map(|t| t.cases.len()).sum();
    let mut summary = format!(
        "ok: {}, {}, {}",
        counted(set.files.len(), "file"),
        counted(set.policies().count(), "policy"),
        counted(cases, "test case")
    );
    if !workflows.is_empty() {
        summary.push_str(&format!(", {}", counted(workflows.len(), "workflow")));
    }
    if warnings > 0 {
        summary.push_str(&format!(", {}", counted(warnings, "warning")));
    }
    out.println(&summary);
    exit::OK
}

pub fn counted(n: usize, noun: &str) -> String {
    let plural = match (n, noun) {
        (1, _) => noun.to_string(),
        (_, "policy") => "policies".to_string(),
        _ => format!("{noun}s"),
    };
    format!("{n} {plural}")
}

pub fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
