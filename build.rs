//! Parses the built-in policy library (`policies/NAME.enact`) when Enact is built, with the same
//! parser source as at run time, and embeds the trees: a process that needs the library then
//! reads a ready tree instead of parsing 50 KB of source on every start, which was three
//! quarters of a Claude Code hook call (a process per tool call).
//!
//! A file that does not parse gets no tree; the binary then parses its source at run time and
//! reports the diagnostics as for any other file.

#![allow(dead_code, clippy::all)]

#[path = "src/policy/ast.rs"]
mod ast;
#[path = "src/policy/diagnostic.rs"]
mod diagnostic;
#[path = "src/policy/parser.rs"]
mod parser;
#[path = "src/policy/source.rs"]
mod source;
#[path = "src/policy/types.rs"]
mod types;
#[path = "src/policy/value.rs"]
mod value;

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
    for module in ["ast", "diagnostic", "parser", "source", "types", "value"] {
        println!("cargo::rerun-if-changed=src/policy/{module}.rs");
    }

    let mut names: Vec<String> = std::fs::read_dir(&library)
        .map_err(|e| format!("{}: {e}", library.display()))?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter_map(|name| Some(name.strip_suffix(".enact")?.to_string()))
        .filter(|name| !name.ends_with(".test"))
        .collect();
    names.sort();

    let mut table = String::from(
        "/// The built-in library parsed at build time: (namespace, SHA-256 of the source, the \
         source's length, its tree in postcard form; empty when the source did not parse).\n\
         pub static PRECOMPILED: &[(&str, &str, usize, &[u8])] = &[\n",
    );
    for name in &names {
        let path = library.join(format!("{name}.enact"));
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let sha256 = hex(&Sha256::digest(text.as_bytes()));
        let tree = tree_bytes(name, &text);
        let tree_path = out.join(format!("{name}.enact.tree"));
        std::fs::write(&tree_path, &tree).map_err(|e| format!("{}: {e}", tree_path.display()))?;
        let _ = writeln!(
            table,
            "    ({name:?}, {sha256:?}, {}, include_bytes!({:?})),",
            text.len(),
            display(&tree_path)
        );
    }
    table.push_str("];\n");
    let table_path = out.join("library.rs");
    std::fs::write(&table_path, table).map_err(|e| format!("{}: {e}", table_path.display()))
}

/// The postcard form of a file's tree, or nothing when the file has syntax errors.
fn tree_bytes(namespace: &str, text: &str) -> Vec<u8> {
    let source = source::SourceFile::new(format!("builtin:{namespace}.enact"), text);
    let parsed = parser::parse(&source);
    if !parsed.diagnostics.is_empty() {
        println!(
            "cargo::warning=policies/{namespace}.enact does not parse; it will be parsed at run time"
        );
        return Vec::new();
    }
    postcard::to_stdvec(&parsed.file).unwrap_or_default()
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
