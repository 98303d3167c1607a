//! `enact test`: runs the test cases beside the policies; `N passed, N failed`, exit 1 on any
//! failure, exit 2 when the files do not check.

use std::path::PathBuf;

use super::check::list;
use super::{Output, exit};
use crate::policy::library::PolicySet;

pub fn run(out: &Output, paths: &[PathBuf], verbose: bool) -> u8 {
    let set = PolicySet::load(paths);
    out.diagnostics(&set.diagnostics);
    if set.has_errors() {
        out.note("the policy files have errors: nothing was tested");
        return exit::USAGE;
    }
    if set.tests.is_empty() {
        out.error(&format!("no tests found in {}", list(paths)));
        return exit::USAGE;
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut report = String::new();
    for block in &set.tests {
        for result in block.run() {
            let case = result.case;
            if result.failures.is_empty() {
                passed += 1;
                if verbose {
                    report.push_str(&format!(
                        "ok    {} {} \"{}\"\n",
                        case.location, result.policy, case.name
                    ));
                }
            } else {
                failed += 1;
                report.push_str(&format!(
                    "FAIL  {} {} \"{}\"\n",
                    case.location, result.policy, case.name
                ));
                for failure in &result.failures {
                    report.push_str(&format!("      {failure}\n"));
                }
            }
        }
    }
    report.push_str(&format!("{passed} passed, {failed} failed\n"));
    out.print(&report);
    if failed > 0 { exit::FAILURE } else { exit::OK }
}
