//! `enact fmt`: rewrites policy files in the canonical layout, or with `--check` lists those
//! that are not. A file whose formatted text would not mean the same is never written.

use std::path::PathBuf;

use super::check::list;
use super::{Output, exit};
use crate::policy::format::{FormatError, format_source};
use crate::policy::library::enact_files;
use crate::policy::source::SourceFile;

pub fn run(out: &Output, paths: &[PathBuf], check: bool) -> u8 {
    let mut problems = Vec::new();
    let files = enact_files(paths, &mut problems);
    out.diagnostics(&problems);
    if files.is_empty() {
        out.error(&format!("no .enact files found in {}", list(paths)));
        return exit::USAGE;
    }
    let mut failed = !problems.is_empty();
    let mut unformatted = Vec::new();
    for path in files {
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) => {
                out.error(&format!("cannot read {}: {error}", path.display()));
                failed = true;
                continue;
            }
        };
        let source = SourceFile::new(path.display().to_string(), text.as_str());
        match format_source(&source) {
            Ok(formatted) if formatted == text => {}
            Ok(formatted) => {
                if check {
                    unformatted.push(path.display().to_string());
                } else if let Err(error) = write_atomically(&path, &formatted) {
                    out.error(&format!("cannot write {}: {error}", path.display()));
                    failed = true;
                } else {
                    out.println(&format!("formatted {}", path.display()));
                }
            }
            Err(FormatError::Syntax(diagnostics)) => {
                out.diagnostics(&diagnostics);
                out.note(&format!(
                    "{} was not formatted: it does not parse",
                    path.display()
                ));
                failed = true;
            }
            Err(FormatError::Unstable(why)) => {
                out.error(&format!(
                    "{} was not formatted: {why}; please report this with the file",
                    path.display()
                ));
                failed = true;
            }
        }
    }
    for path in &unformatted {
        out.println(&format!("would reformat {path}"));
    }
    if failed {
        exit::USAGE
    } else if !unformatted.is_empty() {
        exit::FAILURE
    } else {
        exit::OK
    }
}

/// Temp file beside the target, then rename: a crash never leaves half a policy file.
fn write_atomically(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("policy");
    let temp = path.with_file_name(format!(".{name}.fmt-tmp"));
    std::fs::write(&temp, text)?;
    std::fs::rename(&temp, path)
}
