//! Checks the built-in policy library (`policies/NAME.enact`) when Enact is built, with the
//! language's own source files (parser, checker, evaluator for constant folding), and embeds the
//! checked programs: a process that needs the library then reads ready programs instead of
//! parsing and checking 40 policies on every start, which was most of a Claude Code hook call (a
//! process per tool call).
//!
//! A file with any diagnostic gets no program; the binary then parses and checks its source at
//! run time and reports the diagnostics as for any other file.

#![allow(dead_code, unused_imports, clippy::all)]

/// `src/policy`, the language modules only (the library loader and test runner stay out: the
/// loader is what reads this script's output). Mounted at `crate::policy` as in Enact itself.
mod src {
    pub mod policy {
        pub mod analysis;
        pub mod ast;
        pub mod builtins;
        pub mod checker;
        pub mod diagnostic;
        pub mod eval;
        pub mod matching;
        mod parser;
        pub mod program;
        pub mod source;
        pub mod types;
        pub mod value;

        pub use parser::{Parsed, parse, parse_expression};
    }
}
use src::policy;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

fn main() {
    if let Err(why) = build() {
        println!("cargo::error={why}");
    }
}

fn build() -> Result<(), String> {
    let manifest = PathBuf::from(env("CARGO_MANIFEST_DIR")?);
    let out = PathBuf::from(env("OUT_DIR")?);
    let library = manifest.join("policies");
    println!("cargo::rerun-if-changed=policies");
    println!("cargo::rerun-if-changed=grammar/enact.pest");
    println!("cargo::rerun-if-changed=src/policy");

    let mut names: Vec<String> = std::fs::read_dir(&library)
        .map_err(|e| format!("{}: {e}", library.display()))?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter_map(|name| Some(name.strip_suffix(".enact")?.to_string()))
        .filter(|name| !name.ends_with(".test"))
        .collect();
    names.sort();

    let mut table = String::from(
        "/// The built-in library checked at build time: (namespace, SHA-256 of the source, the \
         source's length, its policies' programs in postcard form; empty when the source has \
         diagnostics).\n\
         pub static PRECOMPILED: &[(&str, &str, usize, &[u8])] = &[\n",
    );
    for name in &names {
        let path = library.join(format!("{name}.enact"));
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let sha256 = hex(&Sha256::digest(text.as_bytes()));
        let program = program_bytes(name, &text);
        let program_path = out.join(format!("{name}.enact.program"));
        std::fs::write(&program_path, &program)
            .map_err(|e| format!("{}: {e}", program_path.display()))?;
        let _ = writeln!(
            table,
            "    ({name:?}, {sha256:?}, {}, include_bytes!({:?})),",
            text.len(),
            display(&program_path)
        );
    }
    table.push_str("];\n");
    let table_path = out.join("library.rs");
    std::fs::write(&table_path, table).map_err(|e| format!("{}: {e}", table_path.display()))
}

/// The postcard form of a file's checked policies, or nothing when the file has diagnostics.
fn program_bytes(namespace: &str, text: &str) -> Vec<u8> {
    let source = policy::source::SourceFile::new(format!("builtin:{namespace}.enact"), text);
    let parsed = policy::parse(&source);
    let checked = policy::checker::check_policies(&source, &parsed.file, namespace);
    if !parsed.diagnostics.is_empty() || !checked.diagnostics.is_empty() {
        println!(
            "cargo::warning=policies/{namespace}.enact has diagnostics; it will be checked at run time"
        );
        return Vec::new();
    }
    policy::program::store_programs(&checked.policies).unwrap_or_default()
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set (build.rs runs under cargo)"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
