//! Receipts through the real binary: `verify` catching every kind of tampering, `ls` and
//! `show`, concurrent writers keeping one chain, and a run killed mid-way still undone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::project::{Project, run_id};

const NOTE: &str = r#"
name: note
description: Write a note, then a second one.
inputs:
  name: { type: string, required: true }
  text: { type: string, default: "note" }
policies:
  - use: filesystem.dont_read_env
steps:
  - id: first
    action: files.write_file
    with: { path: "${payload.name}.txt", content: "${payload.text}" }
  - id: second
    action: files.write_file
    with: { path: "${payload.name}.2.txt", content: "${payload.text}" }
"#;

fn project_with_runs(n: usize) -> (Project, Vec<String>) {
    let p = Project::new();
    p.write("workflows/note.yaml", NOTE);
    let mut ids = Vec::new();
    for i in 0..n {
        let run = p.enact(&[
            "run",
            "note",
            "--payload",
            &format!(r#"{{"name": "n{i}"}}"#),
            "--json",
        ]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        ids.push(run_id(&run));
    }
    (p, ids)
}

/// A different value of the same JSON type (so the change is not a schema error only).
fn tamper(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        J::Null => J::String("x".into()),
        J::Bool(b) => J::Bool(!b),
        J::Number(n) => serde_json::json!(n.as_u64().unwrap_or(0) + 1),
        J::String(s) if s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()) => {
            let flipped = if s.starts_with('0') { "1" } else { "0" };
            J::String(format!("{flipped}{}", &s[1..]))
        }
        J::String(s) => J::String(format!("{s}x")),
        J::Array(items) => {
            let mut items = items.clone();
            if items.pop().is_none() {
                items.push(serde_json::json!({}));
            }
            J::Array(items)
        }
        J::Object(map) => {
            let mut map = map.clone();
            map.insert("injected".into(), J::Bool(true));
            J::Object(map)
        }
    }
}

#[test]
fn verify_names_every_tampered_field() {
    let (p, ids) = project_with_runs(3);
    assert_eq!(p.enact(&["verify"]).code, 0);
    let target = &ids[1];
    let path = p.receipt_path(target);
    let original = std::fs::read_to_string(&path).unwrap();
    let receipt: serde_json::Value = serde_json::from_str(&original).unwrap();
    let fields: Vec<String> = receipt.as_object().unwrap().keys().cloned().collect();
    assert!(fields.len() >= 20, "{fields:?}");
    for field in &fields {
        let mut changed = receipt.clone();
        changed[field.as_str()] = tamper(&receipt[field.as_str()]);
        std::fs::write(&path, serde_json::to_string_pretty(&changed).unwrap()).unwrap();
        for args in [vec!["verify"], vec!["verify", target.as_str()]] {
            let run = p.enact(&args);
            assert_eq!(
                run.code, 1,
                "tampered `{field}` passed {args:?}: {}",
                run.stdout
            );
            let report = format!("{}{}", run.stdout, run.stderr);
            assert!(
                report.contains(target.as_str()) || report.contains(&format!("{target}.json")),
                "{field}: {report}"
            );
            assert!(
                report.contains(&format!("`{field}`")),
                "`{field}` not named: {report}"
            );
        }
        std::fs::write(&path, &original).unwrap();
    }
    // A field added and a field removed.
    let mut added = receipt.clone();
    added["note"] = serde_json::json!("hello");
    std::fs::write(&path, added.to_string()).unwrap();
    let run = p.enact(&["verify", path.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert!(format!("{}{}", run.stdout, run.stderr).contains("`note`"));
    let mut removed = receipt.clone();
    removed.as_object_mut().unwrap().remove("payload");
    std::fs::write(&path, removed.to_string()).unwrap();
    assert_eq!(p.enact(&["verify"]).code, 1);
    std::fs::write(&path, &original).unwrap();
    assert_eq!(p.enact(&["verify"]).code, 0);
    // A rollback refuses a tampered receipt.
    let mut changed = receipt.clone();
    changed["actions_taken"][0]["args"]["path"] = serde_json::json!("../../elsewhere.txt");
    std::fs::write(&path, changed.to_string()).unwrap();
    let rollback = p.enact(&["rollback", target]);
    assert_eq!(rollback.code, 2);
    assert!(
        rollback.stderr.contains("failed verification"),
        "{}",
        rollback.stderr
    );
}

#[test]
fn the_chain_catches_deleted_swapped_and_truncated_receipts() {
    let (p, ids) = project_with_runs(4);
    let verify = p.enact(&["verify", "--json"]);
    assert_eq!(verify.code, 0, "{}", verify.stdout);
    let report: serde_json::Value = serde_json::from_str(&verify.stdout).unwrap();
    assert_eq!(report["checked"], 4);

    // Deleted from the middle.
    let middle = std::fs::read(p.receipt_path(&ids[1])).unwrap();
    std::fs::remove_file(p.receipt_path(&ids[1])).unwrap();
    let run = p.enact(&["verify"]);
    assert_eq!(run.code, 1);
    assert!(
        format!("{}{}", run.stdout, run.stderr).contains("missing"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    std::fs::write(p.receipt_path(&ids[1]), &middle).unwrap();
    assert_eq!(p.enact(&["verify"]).code, 0);

    // Two receipts' contents swapped.
    let a = std::fs::read(p.receipt_path(&ids[1])).unwrap();
    let b = std::fs::read(p.receipt_path(&ids[2])).unwrap();
    std::fs::write(p.receipt_path(&ids[1]), &b).unwrap();
    std::fs::write(p.receipt_path(&ids[2]), &a).unwrap();
    assert_eq!(p.enact(&["verify"]).code, 1);
    std::fs::write(p.receipt_path(&ids[1]), &a).unwrap();
    std::fs::write(p.receipt_path(&ids[2]), &b).unwrap();

    // The newest receipt deleted: the chain is truncated.
    std::fs::remove_file(p.receipt_path(&ids[3])).unwrap();
    let run = p.enact(&["verify"]);
    assert_eq!(run.code, 1, "a truncated chain must fail: {}", run.stdout);
}

#[test]
fn verify_takes_files_directories_and_run_ids() {
    let (p, ids) = project_with_runs(2);
    let file = p.receipt_path(&ids[0]);
    assert_eq!(p.enact(&["verify", file.to_str().unwrap()]).code, 0);
    assert_eq!(p.enact(&["verify", "receipts"]).code, 0);
    assert_eq!(p.enact(&["verify", &ids[1]]).code, 0);
    let unknown = p.enact(&["verify", "6f1c2b9e-8a51-4c0e-9d7a-3f2b1c0d9e8f"]);
    assert_eq!(unknown.code, 1);
    let wrong_secret = p.enact_with(
        &["verify"],
        &[("ENACT_SECRET", "another-secret-of-enough-length-0123456789")],
    );
    assert_eq!(wrong_secret.code, 1, "another key must not verify");
}

#[test]
fn ls_filters_and_show_prints_one_receipt() {
    let (p, ids) = project_with_runs(3);
    let blocked = p.enact(&[
        "run",
        "note",
        "--payload",
        r#"{"name": ".env"}"#,
        "--actor",
        "eve@example.com",
    ]);
    assert_eq!(blocked.code, 3, "{}", blocked.stdout);

    let ls = p.enact(&["ls"]);
    assert_eq!(ls.code, 0, "{}", ls.stderr);
    for id in &ids {
        assert!(ls.stdout.contains(&id[..8]), "{}", ls.stdout);
    }
    let json = p.enact(&["ls", "--json"]);
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(document["version"], 1);
    assert_eq!(document["receipts"].as_array().unwrap().len(), 4);
    let blocks = p.enact(&["ls", "--decision", "BLOCK", "--json"]);
    let document: serde_json::Value = serde_json::from_str(&blocks.stdout).unwrap();
    assert_eq!(document["receipts"].as_array().unwrap().len(), 1);
    assert_eq!(document["receipts"][0]["actor"], "eve@example.com");
    let by_actor = p.enact(&["ls", "--actor", "eve@example.com", "--json"]);
    let document: serde_json::Value = serde_json::from_str(&by_actor.stdout).unwrap();
    assert_eq!(document["receipts"].as_array().unwrap().len(), 1);
    let limited = p.enact(&["ls", "--limit", "2", "--json"]);
    let document: serde_json::Value = serde_json::from_str(&limited.stdout).unwrap();
    assert_eq!(document["receipts"].as_array().unwrap().len(), 2);
    let none = p.enact(&["ls", "--workflow", "other", "--since", "1h", "--json"]);
    let document: serde_json::Value = serde_json::from_str(&none.stdout).unwrap();
    assert_eq!(document["receipts"].as_array().unwrap().len(), 0);
    assert_eq!(p.enact(&["ls", "--since", "yesterday-ish"]).code, 2);

    let show = p.enact(&["show", &ids[0]]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert!(show.stdout.contains(&ids[0]));
    assert!(show.stdout.contains("signature valid"), "{}", show.stdout);
    assert!(show.stdout.contains("first"));
    let show_json = p.enact(&["show", &ids[0], "--json"]);
    let document: serde_json::Value = serde_json::from_str(&show_json.stdout).unwrap();
    assert_eq!(document["receipt"]["run_id"], ids[0].as_str());
    assert_eq!(document["valid"], true);
}

#[test]
fn concurrent_processes_keep_one_intact_chain() {
    let p = Project::new();
    p.write("workflows/note.yaml", NOTE);
    let per_process = 120;
    let workers: Vec<std::thread::JoinHandle<()>> = (0..2)
        .map(|w| {
            let root = p.root().to_path_buf();
            std::thread::spawn(move || {
                for i in 0..per_process {
                    let output = std::process::Command::new(env!("CARGO_BIN_EXE_enact"))
                        .args([
                            "run",
                            "note",
                            "--payload",
                            &format!(r#"{{"name": "w{w}-{i}"}}"#),
                        ])
                        .current_dir(&root)
                        .env("ENACT_SECRET", common::project::SECRET)
                        .output()
                        .unwrap();
                    assert_eq!(
                        output.status.code(),
                        Some(0),
                        "{}",
                        String::from_utf8_lossy(&output.stderr)
                    );
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    let receipts = p.receipts();
    assert_eq!(receipts.len(), 2 * per_process, "no receipt lost");
    let sequences: Vec<u64> = receipts
        .iter()
        .map(|r| r["sequence"].as_u64().unwrap())
        .collect();
    assert_eq!(sequences, (1..=2 * per_process as u64).collect::<Vec<_>>());
    let verify = p.enact(&["verify", "--json"]);
    assert_eq!(verify.code, 0, "{}", verify.stdout);
}

#[test]
fn a_run_killed_between_steps_is_rolled_back_from_its_journal() {
    let p = Project::new();
    p.seed_customers();
    p.write("workspace/report.md", "before\n");
    p.write("workflows/two_steps.yaml", common::project::TWO_STEPS);
    // Hold the database so the second step waits on it.
    let holder = p.db();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let mut child = p.spawn(&["run", "two_steps"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let journaled = loop {
        let done = walk(&p.path("receipts"))
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "jsonl"))
            .any(|f| {
                std::fs::read_to_string(f)
                    .unwrap_or_default()
                    .contains("\"done\"")
            });
        if done || Instant::now() > deadline {
            break done;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    holder.execute_batch("ROLLBACK").unwrap();
    assert!(journaled, "the first step was journalled as done");
    assert_eq!(p.read("workspace/report.md"), "after\n");
    assert!(p.receipts().is_empty(), "the killed run wrote no receipt");

    let journal = walk(&p.path("receipts"))
        .into_iter()
        .find(|f| f.extension().is_some_and(|e| e == "jsonl"))
        .unwrap();
    let run_id = journal.file_stem().unwrap().to_str().unwrap().to_string();
    let rollback = p.enact(&["rollback", &run_id]);
    assert_eq!(rollback.code, 0, "{}{}", rollback.stdout, rollback.stderr);
    assert!(
        rollback.stdout.contains("rebuilt from the journal"),
        "{}",
        rollback.stdout
    );
    assert_eq!(p.read("workspace/report.md"), "before\n");
    let receipts = p.receipts();
    assert_eq!(receipts.len(), 2, "the recovered run and its rollback");
    assert_eq!(receipts[0]["status"], "FAILED");
    assert!(
        receipts[0]["error"]
            .as_str()
            .unwrap()
            .contains("interrupted")
    );
    assert_eq!(p.enact(&["verify"]).code, 0);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.extend(walk(&path));
            } else {
                found.push(path);
            }
        }
    }
    found
}
