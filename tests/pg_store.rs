//! The PostgreSQL receipt store against a real server (tests/common/pg.rs), through the
//! `enact` binary: run, ls, show, verify and rollback unchanged; 8 processes appending into
//! one chain; tampered, deleted and truncated rows caught; the append-only trigger; a
//! rate-limit policy served by both stores; journals and a password-free URL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::Run;
use common::pg::PgServer;
use common::project::{Project, SECRET, run_id};
use enact::receipt::{PostgresStore, ReceiptError, ReceiptStore, RunId, Secret, Signer};
use serde_json::json;

const NOTE: &str = r#"
name: note
description: Write a note.
inputs:
  name: { type: string, required: true }
  text: { type: string, default: "note" }
policies:
  - use: filesystem.dont_read_env
steps:
  - id: write
    action: files.write_file
    with: { path: "${payload.name}.txt", content: "${payload.text}" }
"#;

/// A project whose receipts go to a fresh database; its URL.
fn pg_project() -> (Project, String) {
    let url = PgServer::get().fresh_database();
    let p = Project::new();
    p.write(
        "enact.yaml",
        &common::project::CONFIG.replace("receipts: ./receipts", &format!("receipts: {url}")),
    );
    p.write("workflows/note.yaml", NOTE);
    (p, url)
}

fn connect(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap()
}

fn note(p: &Project, name: &str) -> String {
    let run = p.enact(&[
        "run",
        "note",
        "--payload",
        &json!({ "name": name }).to_string(),
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    run_id(&run)
}

fn report(run: &Run) -> String {
    format!("{}{}", run.stdout, run.stderr)
}

/// Runs `sql` as the superuser with the append-only trigger off, as someone with the
/// database's keys could.
fn tamper(url: &str, sql: &str) {
    connect(url)
        .batch_execute(&format!(
            "ALTER TABLE enact_receipts DISABLE TRIGGER USER; {sql}; \
             ALTER TABLE enact_receipts ENABLE TRIGGER USER;"
        ))
        .unwrap();
}

#[test]
fn run_ls_show_verify_and_rollback_work_against_postgres() {
    let (p, url) = pg_project();
    let first = note(&p, "first");
    let second = note(&p, "second");
    assert_eq!(p.read("workspace/first.txt"), "note");
    assert!(
        !p.path("receipts").exists(),
        "nothing is written to a directory store"
    );

    let ls = p.enact(&["ls", "--json"]);
    assert_eq!(ls.code, 0, "{}", report(&ls));
    let listed: serde_json::Value = serde_json::from_str(&ls.stdout).unwrap();
    let receipts = listed["receipts"].as_array().unwrap();
    assert_eq!(receipts.len(), 2);
    assert_eq!(receipts[0]["run_id"], second.as_str(), "newest first");
    assert_eq!(receipts[0]["sequence"], 2);
    assert_eq!(receipts[1]["sequence"], 1);
    assert_eq!(receipts[1]["workflow"], "note");
    assert_eq!(receipts[1]["decision"], "PASS");
    assert_eq!(receipts[1]["actions"], 1);
    let table = p.enact(&["ls"]);
    assert!(table.stdout.contains(&first[..8]), "{}", table.stdout);

    let show = p.enact(&["show", &first]);
    assert_eq!(show.code, 0, "{}", report(&show));
    assert!(show.stdout.contains("signature valid"), "{}", show.stdout);
    assert!(show.stdout.contains("first.txt"), "{}", show.stdout);

    let verify = p.enact(&["verify"]);
    assert_eq!(verify.code, 0, "{}", report(&verify));
    assert!(
        verify
            .stdout
            .contains("2 receipts verified, every signature valid, chain intact"),
        "{}",
        verify.stdout
    );
    assert_eq!(p.enact(&["verify", &second]).code, 0);

    let rollback = p.enact(&["rollback", &first, "--json"]);
    assert_eq!(rollback.code, 0, "{}", report(&rollback));
    assert!(
        !p.path("workspace/first.txt").exists(),
        "the write is undone"
    );
    let undo = run_id(&rollback);
    let document: serde_json::Value = serde_json::from_str(&rollback.stdout).unwrap();
    assert!(
        document.to_string().contains("postgres:127.0.0.1:"),
        "the receipt's location names the store: {document}"
    );
    let show = p.enact(&["show", &undo, "--json"]);
    let shown: serde_json::Value = serde_json::from_str(&show.stdout).unwrap();
    assert_eq!(shown["valid"], true);
    assert_eq!(shown["receipt"]["kind"], "rollback");
    assert_eq!(shown["receipt"]["original_run_id"], first.as_str());
    assert_eq!(shown["receipt"]["sequence"], 3);
    let again = p.enact(&["rollback", &first]);
    assert_ne!(
        again.code,
        0,
        "a run is rolled back once: {}",
        report(&again)
    );
    assert_eq!(p.enact(&["verify"]).code, 0);

    // The row holds the canonical document exactly as signed: exported to a file, it is a
    // receipt like the directory store's and verifies on its own.
    let mut db = connect(&url);
    let row = db
        .query_one(
            "SELECT document, chain_sha256, sequence FROM enact_receipts WHERE run_id = $1::text::uuid",
            &[&second],
        )
        .unwrap();
    let text: String = row.get(0);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        enact::receipt::canonical_json(&value).unwrap(),
        text.as_bytes()
    );
    assert_eq!(row.get::<_, i64>(2), 2);
    let exported = p.path(&format!("{second}.json"));
    std::fs::write(&exported, format!("{text}\n")).unwrap();
    let verify_file = p.enact(&["verify", exported.to_str().unwrap()]);
    assert_eq!(verify_file.code, 0, "{}", report(&verify_file));
    let journals: i64 = db
        .query_one("SELECT count(*) FROM enact_journal", &[])
        .unwrap()
        .get(0);
    assert_eq!(journals, 0, "finished runs leave no journal");
}

/// A PASS without policies: the cheapest run that still journals its step, so that the
/// concurrency test spends its time in the store.
const TICK: &str = r#"
name: tick
description: Write a small file.
inputs:
  name: { type: string, required: true }
steps:
  - id: write
    action: files.write_file
    with: { path: "${payload.name}.txt", content: "tick" }
"#;

#[test]
fn eight_processes_append_two_thousand_receipts_into_one_chain() {
    let (p, url) = pg_project();
    p.write("workflows/tick.yaml", TICK);
    let (processes, runs) = (8, 250);
    let root = p.root().to_path_buf();
    let workers: Vec<std::thread::JoinHandle<()>> = (0..processes)
        .map(|w| {
            let root = root.clone();
            std::thread::spawn(move || {
                for i in 0..runs {
                    let output = std::process::Command::new(env!("CARGO_BIN_EXE_enact"))
                        .args(["run", "tick", "--payload"])
                        .arg(json!({ "name": format!("w{w}-{i}") }).to_string())
                        .current_dir(&root)
                        .env("ENACT_SECRET", SECRET)
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
    let total = processes * runs;
    let row = connect(&url)
        .query_one(
            "SELECT count(*), min(sequence), max(sequence), count(DISTINCT run_id) FROM enact_receipts",
            &[],
        )
        .unwrap();
    assert_eq!(
        (
            row.get::<_, i64>(0),
            row.get::<_, i64>(1),
            row.get::<_, i64>(2),
            row.get::<_, i64>(3)
        ),
        (total, 1, total, total),
        "sequences 1..{total}, none lost or repeated"
    );
    let verify = p.enact(&["verify", "--json"]);
    assert_eq!(verify.code, 0, "{}", report(&verify));
    let document: serde_json::Value = serde_json::from_str(&verify.stdout).unwrap();
    assert_eq!(document["checked"], total);
    assert_eq!(document["chain_checked"], true);
    let ls = p.enact(&["ls", "--json", "--limit", "100000"]);
    let listed: serde_json::Value = serde_json::from_str(&ls.stdout).unwrap();
    assert_eq!(listed["receipts"].as_array().unwrap().len() as i64, total);
}

#[test]
fn verify_names_a_tampered_column_and_a_tampered_document() {
    let (p, url) = pg_project();
    let ids: Vec<String> = (0..3).map(|i| note(&p, &format!("n{i}"))).collect();
    let target = &ids[1];
    let row = format!("run_id = '{target}'::uuid");

    // A column that disagrees with the signed document.
    tamper(
        &url,
        &format!("UPDATE enact_receipts SET workflow = 'other' WHERE {row}"),
    );
    let run = p.enact(&["verify"]);
    assert_eq!(run.code, 1, "{}", report(&run));
    assert!(report(&run).contains(target.as_str()), "{}", report(&run));
    assert!(
        report(&run).contains("column `workflow`"),
        "{}",
        report(&run)
    );
    assert!(
        !report(&run).contains(&ids[0]),
        "only the edited row: {}",
        report(&run)
    );
    tamper(
        &url,
        &format!("UPDATE enact_receipts SET workflow = 'note' WHERE {row}"),
    );
    assert_eq!(p.enact(&["verify"]).code, 0);
    tamper(
        &url,
        &format!(
            "UPDATE enact_receipts SET started_at = started_at - interval '2 hours' WHERE {row}"
        ),
    );
    let run = p.enact(&["verify"]);
    assert_eq!(run.code, 1);
    assert!(report(&run).contains("`started_at`"), "{}", report(&run));
    tamper(
        &url,
        &format!(
            "UPDATE enact_receipts SET started_at = started_at + interval '2 hours' WHERE {row}"
        ),
    );

    // The document itself: the signature fails and the changed field is named.
    tamper(
        &url,
        &format!(
            "UPDATE enact_receipts SET document = replace(document, '\"n1\"', '\"n9\"') WHERE {row}"
        ),
    );
    for args in [vec!["verify"], vec!["verify", target.as_str()]] {
        let run = p.enact(&args);
        assert_eq!(run.code, 1, "{args:?}: {}", report(&run));
        assert!(report(&run).contains(target.as_str()), "{}", report(&run));
        assert!(report(&run).contains("`payload`"), "{}", report(&run));
    }
    let rollback = p.enact(&["rollback", target]);
    assert_eq!(rollback.code, 2, "{}", report(&rollback));
    assert!(
        rollback.stderr.contains("failed verification"),
        "{}",
        rollback.stderr
    );
    tamper(
        &url,
        &format!(
            "UPDATE enact_receipts SET document = replace(document, '\"n9\"', '\"n1\"') WHERE {row}"
        ),
    );
    assert_eq!(p.enact(&["verify"]).code, 0);

    let wrong = p.enact_with(
        &["verify"],
        &[("ENACT_SECRET", "another-secret-of-enough-length-0123456789")],
    );
    assert_eq!(wrong.code, 1);
    assert!(
        report(&wrong).contains("is the secret"),
        "{}",
        report(&wrong)
    );
}

#[test]
fn verify_catches_a_deleted_row_and_a_truncated_tail() {
    let (p, url) = pg_project();
    let ids: Vec<String> = (0..4).map(|i| note(&p, &format!("n{i}"))).collect();
    tamper(
        &url,
        &format!(
            "DELETE FROM enact_receipts WHERE run_id = '{}'::uuid",
            ids[1]
        ),
    );
    let run = p.enact(&["verify"]);
    assert_eq!(run.code, 1, "{}", report(&run));
    assert!(
        report(&run).contains("the receipt with sequence 2 is missing"),
        "{}",
        report(&run)
    );

    let (p, url) = pg_project();
    let ids: Vec<String> = (0..3).map(|i| note(&p, &format!("n{i}"))).collect();
    tamper(
        &url,
        &format!(
            "DELETE FROM enact_receipts WHERE run_id = '{}'::uuid",
            ids[2]
        ),
    );
    let run = p.enact(&["verify"]);
    assert_eq!(run.code, 1, "a truncated tail must fail: {}", report(&run));
    assert!(report(&run).contains("truncated tail"), "{}", report(&run));
    // Appending fails closed rather than continue the damaged chain.
    let append = p.enact(&["run", "note", "--payload", r#"{"name": "later"}"#]);
    assert_ne!(append.code, 0, "{}", report(&append));
    assert!(
        report(&append).contains("enact verify"),
        "{}",
        report(&append)
    );
    assert!(
        report(&append).contains(&format!(
            "the newest receipt row (sequence 2, run {}) is not the one the signed head records \
             (sequence 3, run {}): rows were deleted or added outside Enact",
            ids[1], ids[2]
        )),
        "{}",
        report(&append)
    );
    assert!(
        report(&append).contains("its journal is kept"),
        "what ran can still be rolled back: {}",
        report(&append)
    );
    let rows: i64 = connect(&url)
        .query_one("SELECT count(*) FROM enact_receipts", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 2, "no receipt was chained onto the damage");
}

#[test]
fn the_trigger_refuses_updates_deletes_and_truncation() {
    let (p, url) = pg_project();
    let id = note(&p, "kept");
    let mut db = connect(&url);
    for sql in [
        format!("UPDATE enact_receipts SET workflow = 'x' WHERE run_id = '{id}'::uuid"),
        "DELETE FROM enact_receipts".to_string(),
        "TRUNCATE enact_receipts".to_string(),
        "DELETE FROM enact_receipt_head".to_string(),
        "TRUNCATE enact_receipt_head".to_string(),
    ] {
        let error = db.batch_execute(&sql).unwrap_err();
        let message = error.as_db_error().unwrap().message().to_string();
        assert!(message.contains("append-only"), "{sql}: {message}");
    }
    let row = db
        .query_one("SELECT count(*), min(workflow) FROM enact_receipts", &[])
        .unwrap();
    assert_eq!(
        (row.get::<_, i64>(0), row.get::<_, String>(1)),
        (1, "note".to_string())
    );
    assert_eq!(p.enact(&["verify"]).code, 0);
}

const PING: &str = r#"
name: ping
description: Touch a file; at most three times an hour.
inputs:
  n: { type: string, required: true }
policies:
  - file: ./rate.enact
steps:
  - id: touch
    action: files.write_file
    with: { path: "ping-${payload.n}.txt", content: "ping" }
"#;

const RATE: &str = r#"
## At most three pings an hour, counted in the receipt store.
policy three_pings_an_hour {
  let runs = history.count(within: 1h, workflow: "ping")
  deny when runs >= 3 because "{runs} pings in the last hour; at most 3 allowed"
  pass "{runs} pings in the last hour"
}
"#;

/// Three pings pass, the fourth is blocked; runs of another workflow do not count.
fn rate_limit_blocks_the_fourth_run(p: &Project) {
    p.write("workflows/ping.yaml", PING);
    p.write("workflows/rate.enact", RATE);
    note(p, "unrelated");
    for n in 0..3 {
        let run = p.enact(&[
            "run",
            "ping",
            "--payload",
            &json!({ "n": n.to_string() }).to_string(),
        ]);
        assert_eq!(run.code, 0, "ping {n}: {}", report(&run));
    }
    let blocked = p.enact(&["run", "ping", "--payload", r#"{"n": "3"}"#, "--json"]);
    assert_eq!(blocked.code, 3, "{}", report(&blocked));
    assert!(
        blocked
            .stdout
            .contains("3 pings in the last hour; at most 3 allowed"),
        "{}",
        blocked.stdout
    );
    assert!(!p.path("workspace/ping-3.txt").exists());
    assert_eq!(p.enact(&["verify"]).code, 0);
}

#[test]
fn a_rate_limit_blocks_the_fourth_run_in_the_postgres_store() {
    let (p, url) = pg_project();
    rate_limit_blocks_the_fourth_run(&p);
    let blocked: i64 = connect(&url)
        .query_one(
            "SELECT count(*) FROM enact_receipts WHERE workflow = 'ping' AND decision = 'BLOCK'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(blocked, 1);
}

#[test]
fn a_rate_limit_blocks_the_fourth_run_in_the_directory_store() {
    let p = Project::new();
    p.write("workflows/note.yaml", NOTE);
    rate_limit_blocks_the_fourth_run(&p);
    assert_eq!(p.receipts().len(), 5);
}

#[test]
fn a_run_killed_between_steps_is_rolled_back_from_its_journal_rows() {
    let (p, url) = pg_project();
    p.seed_customers();
    p.write("workspace/report.md", "before\n");
    p.write("workflows/two_steps.yaml", common::project::TWO_STEPS);
    // Hold the SQLite database so the second step waits on it.
    let holder = p.db();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let mut child = p.spawn(&["run", "two_steps"]);
    let mut db = connect(&url);
    let deadline = Instant::now() + Duration::from_secs(20);
    let journalled = loop {
        // The child creates the tables: until then the query fails.
        let done: i64 = db
            .query_one(
                "SELECT count(*) FROM enact_journal WHERE entry LIKE '%\"type\":\"done\"%'",
                &[],
            )
            .map_or(0, |row| row.get(0));
        if done > 0 || Instant::now() > deadline {
            break done > 0;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    holder.execute_batch("ROLLBACK").unwrap();
    assert!(journalled, "the first step was journalled as done");
    assert_eq!(p.read("workspace/report.md"), "after\n");
    let run_id: String = db
        .query_one("SELECT DISTINCT run_id::text FROM enact_journal", &[])
        .unwrap()
        .get(0);

    let rollback = p.enact(&["rollback", &run_id]);
    assert_eq!(rollback.code, 0, "{}", report(&rollback));
    assert!(
        rollback.stdout.contains("rebuilt from the journal"),
        "{}",
        rollback.stdout
    );
    assert_eq!(p.read("workspace/report.md"), "before\n");
    let rows: Vec<(i64, String)> = db
        .query(
            "SELECT sequence, status FROM enact_receipts ORDER BY sequence",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(
        rows,
        [(1, "FAILED".to_string()), (2, "SUCCEEDED".to_string())],
        "the recovered run, then its rollback"
    );
    let left: i64 = db
        .query_one("SELECT count(*) FROM enact_journal", &[])
        .unwrap()
        .get(0);
    assert_eq!(
        left, 0,
        "the journal is removed once the run has its receipt"
    );
    assert_eq!(p.enact(&["verify"]).code, 0);
}

fn signer() -> Signer {
    Signer::new(&Secret::from_bytes(SECRET.as_bytes().to_vec(), false).unwrap())
}

#[test]
fn journal_rows_are_maced_like_journal_lines() {
    let url = PgServer::get().fresh_database();
    let store = PostgresStore::connect(&url, None).unwrap();
    let signer = signer();
    let run = RunId::new();
    assert!(store.journal_read(&run, &signer).unwrap().is_none());
    for step in ["a", "b", "c"] {
        store
            .journal_append(&run, &json!({"type": "done", "step": step}), &signer)
            .unwrap();
    }
    let journal = store.journal_read(&run, &signer).unwrap().unwrap();
    assert_eq!(journal.entries.len(), 3);
    assert_eq!(journal.entries[1], json!({"type": "done", "step": "b"}));
    assert!(!journal.torn_line_ignored);
    assert_eq!(store.journals().unwrap(), [run]);
    assert!(matches!(
        store.journal_append(&run, &json!({"mac": "x"}), &signer),
        Err(ReceiptError::BadJournalEntry { .. })
    ));

    let mut db = connect(&url);
    let id = run.to_string();
    // An entry removed from the middle: the next one no longer sits where it was MACed.
    db.execute(
        "DELETE FROM enact_journal WHERE run_id = $1::text::uuid AND line = 1",
        &[&id],
    )
    .unwrap();
    let error = store.journal_read(&run, &signer).unwrap_err().to_string();
    assert!(
        error.contains("line 2") && error.contains("fails its MAC"),
        "{error}"
    );
    // An entry edited.
    db.execute(
        "UPDATE enact_journal SET entry = replace(entry, '\"c\"', '\"z\"') WHERE run_id = $1::text::uuid",
        &[&id],
    )
    .unwrap();
    assert!(store.journal_read(&run, &signer).is_err());

    store.journal_remove(&run).unwrap();
    assert!(store.journal_read(&run, &signer).unwrap().is_none());
    assert!(store.journals().unwrap().is_empty());
}

#[test]
fn opening_is_idempotent_and_concurrent_opens_create_the_schema_once() {
    let url = PgServer::get().fresh_database();
    let openers: Vec<_> = (0..6)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || PostgresStore::connect(&url, None).map(|_| ()))
        })
        .collect();
    for opener in openers {
        opener.join().unwrap().unwrap();
    }
    let store = PostgresStore::connect(&url, None).unwrap();
    assert!(
        store.describe().starts_with("postgres 127.0.0.1:"),
        "{}",
        store.describe()
    );
    assert!(store.summaries().unwrap().is_empty());
    let report = store.verify(&signer());
    assert!(report.is_valid() && report.checked == 0, "{report:?}");
}

#[test]
fn a_password_in_the_url_is_refused_and_never_shown() {
    let (p, url) = pg_project();
    let with_password = url.replace("postgres@", "postgres:hunter2@");
    p.write(
        "enact.yaml",
        &common::project::CONFIG.replace(
            "receipts: ./receipts",
            &format!("receipts: {with_password}"),
        ),
    );
    let run = p.enact(&["ls"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("PGPASSWORD"), "{}", run.stderr);
    assert!(!report(&run).contains("hunter2"), "{}", report(&run));

    // The server cannot be reached: the message names the store, not a credential.
    let unreachable = "postgres://postgres@127.0.0.1:1/nothing";
    p.write(
        "enact.yaml",
        &common::project::CONFIG
            .replace("receipts: ./receipts", &format!("receipts: {unreachable}")),
    );
    let run = p.enact_with(&["ls"], &[("PGPASSWORD", "hunter2")]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("postgres 127.0.0.1:1/nothing"),
        "{}",
        run.stderr
    );
    assert!(!report(&run).contains("hunter2"), "{}", report(&run));
    assert!(!Path::new(&p.path("receipts")).exists());
}
