//! `enact check`: every problem in the given policy files, with its place; exit 2 on any error.

use std::path::PathBuf;

use super::{Output, exit};
use crate::policy::library::PolicySet;

pub fn run(out: &Output, paths: &[PathBuf]) -> u8 {
    let set = PolicySet::load(paths);
    out.diagnostics(&set.diagnostics);
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
