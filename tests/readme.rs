//! Every example in the README is exercised: each `enact` block must check clean and pass its
//! tests, each `console` block is run and its output compared, and every built-in function
//! and policy must be documented.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{enact_in, repo};

struct Block {
    lang: String,
    body: String,
    /// The text between this block and the next.
    after: String,
}

fn blocks() -> Vec<Block> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut blocks: Vec<Block> = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in readme.lines() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(lang)) => current = Some((lang.trim().to_string(), String::new())),
            (Some(_), Some(_)) => {
                let (lang, body) = current.take().unwrap();
                blocks.push(Block {
                    lang,
                    body,
                    after: String::new(),
                });
            }
            (Some((_, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {
                if let Some(last) = blocks.last_mut() {
                    last.after.push_str(line);
                    last.after.push('\n');
                }
            }
        }
    }
    assert!(current.is_none(), "unclosed code block in README.md");
    blocks
}

#[test]
fn enact_examples_check_clean_and_their_tests_pass() {
    let dir = tempfile::tempdir().unwrap();
    let mut tested = 0;
    for (index, block) in blocks()
        .iter()
        .enumerate()
        .filter(|(_, b)| b.lang == "enact")
    {
        let name = format!("example_{index}.enact");
        std::fs::write(dir.path().join(&name), &block.body).unwrap();
        let check = enact_in(dir.path(), &["check", "--error-format", "short", &name]);
        assert_eq!(
            check.code, 0,
            "README example {index} does not check:\n{}{}",
            block.body, check.stderr
        );
        assert!(
            check.stderr.is_empty(),
            "README example {index} has warnings:\n{}",
            check.stderr
        );
        if block.body.contains("\ntests ") {
            let test = enact_in(dir.path(), &["test", &name]);
            assert_eq!(
                test.code, 0,
                "README example {index} fails its tests:\n{}{}",
                test.stdout, test.stderr
            );
            assert!(test.stdout.contains(" passed, 0 failed"), "{}", test.stdout);
            tested += 1;
        }
    }
    assert!(tested >= 4, "the README's examples should carry tests");
}

/// Console blocks run in a scratch directory that sees the repository's `tests/` and
/// `policies/`, plus the files the README asks to save ("Save it as `push.enact`").
/// What differs from run to run: run ids, times and durations.
fn normalize(text: &str) -> String {
    let uuid =
        regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").unwrap();
    let time = regex::Regex::new(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?Z?").unwrap();
    let ms = regex::Regex::new(r"\(\d+ ms\)").unwrap();
    let text = uuid.replace_all(text, "<run-id>");
    let text = time.replace_all(&text, "<time>");
    ms.replace_all(&text, "(N ms)").into_owned()
}

#[test]
fn console_examples_print_what_the_readme_shows() {
    let dir = tempfile::tempdir().unwrap();
    for entry in ["tests", "policies"] {
        std::os::unix::fs::symlink(repo().join(entry), dir.path().join(entry)).unwrap();
    }
    let all = blocks();
    for block in all.iter().filter(|b| b.lang == "enact" || b.lang == "yaml") {
        if let Some(rest) = block.after.split("Save it as `").nth(1) {
            let name = rest.split('`').next().unwrap();
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, &block.body).unwrap();
        }
    }
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_enact")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut ran = 0;
    for block in all.iter().filter(|b| b.lang == "console") {
        let mut commands: Vec<(String, String)> = Vec::new();
        for line in block.body.lines() {
            match line.strip_prefix("$ ") {
                Some(command) => commands.push((command.to_string(), String::new())),
                None => {
                    let (_, expected) =
                        commands.last_mut().expect("console blocks start with `$ `");
                    expected.push_str(line);
                    expected.push('\n');
                }
            }
        }
        for (command, expected) in commands {
            let output = Command::new("sh")
                .arg("-c")
                .arg(&command)
                .current_dir(dir.path())
                .env("PATH", &path)
                .env("NO_COLOR", "1")
                .env("ENACT_SECRET", common::project::SECRET)
                .env("ENACT_ACTOR", "agent@example.com")
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert_eq!(
                normalize(&stdout),
                normalize(&expected),
                "README command `{command}` printed something else (stderr: {})",
                String::from_utf8_lossy(&output.stderr)
            );
            ran += 1;
        }
    }
    assert!(ran >= 4);
}

#[test]
fn every_function_and_builtin_policy_is_documented() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for name in enact::policy::builtins::all_names() {
        assert!(
            readme.contains(&format!("`{name}(")),
            "README does not document `{name}`"
        );
    }
    for policy in enact::policy::library::builtin_all() {
        let name = &policy.name;
        assert!(
            readme.contains(&format!("`{name}`")) || readme.contains(&*policy.id),
            "README does not list {}",
            policy.id
        );
    }
}
