//! The filesystem and SQLite connectors against real files and real databases: every action,
//! its inverse restoring exactly what was there, idempotency, confinement, the journal
//! contract and injection attempts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::Path;

use enact::connectors::{
    ActionOutcome, Connector, ConnectorError, Effect, FilesystemConnector, Inverse,
    SqliteConnector, UndoOutcome, actions_of, connector_kinds,
};
use rusqlite::Connection;
use rusqlite::types::Value;
use serde_json::{Value as Json, json};

// ---------------------------------------------------------------------------------------------
// Harness

/// Runs an action with a journal that records what it was handed, and checks the journal
/// contract: mutating actions journal exactly their rollback data unless already done.
fn run(c: &dyn Connector, action: &str, args: Json) -> ActionOutcome {
    let mut journal = Vec::new();
    let outcome = c
        .execute(action, &args, &mut |data: &Json| {
            journal.push(data.clone());
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{action} {args} failed: {e}"));
    let spec = c.actions().iter().find(|a| a.name == action).unwrap();
    if spec.effect == Effect::Mutating && outcome.already_done.is_none() {
        assert_eq!(journal, vec![outcome.rollback_data.clone()], "{action}");
    } else {
        assert!(
            journal.is_empty(),
            "{action} journaled without changing anything"
        );
    }
    outcome
}

fn run_err(c: &dyn Connector, action: &str, args: Json) -> ConnectorError {
    let mut journal_called = false;
    let result = c.execute(action, &args, &mut |_| {
        journal_called = true;
        Ok(())
    });
    let err = result.expect_err(&format!("{action} {args} should fail"));
    assert!(!journal_called, "{action} journaled before failing: {err}");
    err
}

/// Runs with a journal that cannot write.
fn run_unjournaled(c: &dyn Connector, action: &str, args: Json) -> ConnectorError {
    c.execute(action, &args, &mut |_| Err("disk full".to_string()))
        .expect_err("must refuse to act without a journal")
}

fn undo(c: &dyn Connector, action: &str, args: &Json, done: &ActionOutcome) -> UndoOutcome {
    c.undo(action, args, &done.output, &done.rollback_data)
        .unwrap_or_else(|e| panic!("undo {action} failed: {e}"))
}

fn refused(err: ConnectorError) -> String {
    match err {
        ConnectorError::Refused(message) => message,
        other => panic!("expected Refused, got {other:?}"),
    }
}

fn bad_args(err: ConnectorError) -> String {
    match err {
        ConnectorError::BadArgs(message) => message,
        other => panic!("expected BadArgs, got {other:?}"),
    }
}

fn cannot_undo(result: Result<UndoOutcome, ConnectorError>) -> String {
    match result {
        Err(ConnectorError::CannotUndo(message)) => message,
        other => panic!("expected CannotUndo, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Registry

#[test]
fn kinds_and_action_tables_are_known_without_opening_anything() {
    assert_eq!(
        connector_kinds(),
        &[
            "filesystem",
            "sqlite",
            "postgres",
            "github",
            "slack",
            "hubspot"
        ]
    );
    let fs_actions: Vec<&str> = actions_of("filesystem")
        .unwrap()
        .iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(
        fs_actions,
        ["read_file", "write_file", "delete_file", "list_dir"]
    );
    let sql_actions = actions_of("sqlite").unwrap();
    let names: Vec<&str> = sql_actions.iter().map(|a| a.name).collect();
    assert_eq!(
        names,
        ["select_rows", "insert_row", "update_row", "delete_row"]
    );
    let inverses: Vec<&str> = sql_actions
        .iter()
        .filter_map(|a| match a.inverse {
            Inverse::Reversible { name, .. } => Some(name),
            _ => None,
        })
        .collect();
    assert_eq!(
        inverses,
        [
            "delete_inserted_row",
            "restore_updated_rows",
            "reinsert_deleted_rows"
        ]
    );
    let postgres: Vec<&str> = actions_of("postgres")
        .unwrap()
        .iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(postgres, names, "one table serves both SQL connectors");
    assert!(actions_of("github").is_some());
    assert!(actions_of("gitlab").is_none());
}

// ---------------------------------------------------------------------------------------------
// Filesystem

struct Files {
    _dir: tempfile::TempDir,
    base: std::path::PathBuf,
    outside: std::path::PathBuf,
    fs: FilesystemConnector,
}

fn files() -> Files {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    let outside = dir.path().join("outside");
    fs::create_dir(&base).unwrap();
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("secret.txt"), "top secret").unwrap();
    let fs = FilesystemConnector::new(base.clone()).unwrap();
    Files {
        base: fs.base_dir().to_path_buf(),
        outside: fs::canonicalize(&outside).unwrap(),
        _dir: dir,
        fs,
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Every entry under a directory with its bytes and mode, for before/after comparisons.
fn snapshot(dir: &Path) -> Vec<(String, Option<Vec<u8>>, u32)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(dir).unwrap().display().to_string();
            let meta = fs::symlink_metadata(&path).unwrap();
            #[cfg(unix)]
            let bits = {
                use std::os::unix::fs::PermissionsExt;
                meta.permissions().mode()
            };
            #[cfg(not(unix))]
            let bits = 0;
            if meta.is_dir() {
                stack.push(path.clone());
                out.push((rel, None, bits));
            } else if meta.is_file() {
                out.push((rel, Some(fs::read(&path).unwrap()), bits));
            } else {
                out.push((rel, None, bits));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn fs_base_dir_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let err = FilesystemConnector::new(dir.path().join("nope")).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
    fs::write(dir.path().join("file"), "x").unwrap();
    assert!(FilesystemConnector::new(dir.path().join("file")).is_err());
}

#[test]
fn fs_reads_text_and_binary_files() {
    let f = files();
    fs::write(f.base.join("hello.txt"), "héllo\n").unwrap();
    fs::write(f.base.join("blob.bin"), [0u8, 159, 146, 150, 255]).unwrap();

    let text = run(&f.fs, "read_file", json!({"path": "./hello.txt"}));
    assert_eq!(
        text.output,
        json!({"path": "hello.txt", "content": "héllo\n", "size": 7})
    );
    assert_eq!(text.rollback_data, Json::Null);

    let binary = run(&f.fs, "read_file", json!({"path": "blob.bin"}));
    assert_eq!(
        binary.output,
        json!({"path": "blob.bin", "content_base64": "AJ+Slv8=", "size": 5})
    );

    let missing = run_err(&f.fs, "read_file", json!({"path": "nope.txt"}));
    assert!(matches!(missing, ConnectorError::Failed(ref m) if m.contains("nope.txt")));
    let dir = run_err(&f.fs, "read_file", json!({"path": "."}));
    refused(dir);
}

#[test]
fn fs_list_dir_sorts_and_types_entries() {
    let f = files();
    fs::write(f.base.join("b.txt"), "bb").unwrap();
    fs::create_dir(f.base.join("a_dir")).unwrap();
    fs::write(f.base.join("a_dir/inner"), "x").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("b.txt", f.base.join("c_link")).unwrap();

    let listed = run(&f.fs, "list_dir", json!({}));
    let entries = listed.output["entries"].as_array().unwrap();
    let names: Vec<&str> = entries
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    #[cfg(unix)]
    assert_eq!(names, ["a_dir", "b.txt", "c_link"]);
    assert_eq!(listed.output["path"], ".");
    assert_eq!(entries[0]["type"], "dir");
    assert_eq!(
        entries[1],
        json!({"name": "b.txt", "type": "file", "size": 2})
    );
    #[cfg(unix)]
    assert_eq!(entries[2]["type"], "symlink");

    let inner = run(&f.fs, "list_dir", json!({"path": "a_dir"}));
    assert_eq!(
        inner.output,
        json!({"path": "a_dir", "entries": [{"name": "inner", "type": "file", "size": 1}]})
    );
    assert!(matches!(
        run_err(&f.fs, "list_dir", json!({"path": "missing"})),
        ConnectorError::Failed(_)
    ));
}

#[test]
fn fs_write_new_file_then_undo_deletes_it() {
    let f = files();
    let args = json!({"path": "notes/today.md", "content": "# Today\n", "create_dirs": true});
    let done = run(&f.fs, "write_file", args.clone());
    assert_eq!(
        done.output,
        json!({"path": "notes/today.md", "bytes": 8, "created": true})
    );
    assert_eq!(
        done.rollback_data,
        json!({"path": "notes/today.md", "existed": false, "created_dirs": ["notes"]})
    );
    assert_eq!(
        fs::read_to_string(f.base.join("notes/today.md")).unwrap(),
        "# Today\n"
    );

    let undone = undo(&f.fs, "write_file", &args, &done);
    assert_eq!(undone.action, "restore_file");
    assert_eq!(undone.already_done, None);
    assert_eq!(undone.output["removed_dirs"], json!(["notes"]));
    assert!(
        !f.base.join("notes").exists(),
        "the created directory is removed"
    );

    let again = undo(&f.fs, "write_file", &args, &done);
    assert_eq!(again.already_done, Some("absent"));
}

#[test]
fn fs_undo_keeps_created_dirs_that_are_no_longer_empty() {
    let f = files();
    let args = json!({"path": "a/b/c.txt", "content": "c", "create_dirs": true});
    let done = run(&f.fs, "write_file", args.clone());
    assert_eq!(done.rollback_data["created_dirs"], json!(["a", "a/b"]));
    fs::write(f.base.join("a/keep.txt"), "someone else's").unwrap();
    let undone = undo(&f.fs, "write_file", &args, &done);
    assert_eq!(undone.output["removed_dirs"], json!(["a/b"]));
    assert_eq!(
        fs::read_to_string(f.base.join("a/keep.txt")).unwrap(),
        "someone else's"
    );
}

#[test]
fn fs_write_into_missing_dir_needs_create_dirs() {
    let f = files();
    let err = run_err(
        &f.fs,
        "write_file",
        json!({"path": "deep/er/x.txt", "content": "x"}),
    );
    assert!(err.to_string().contains("create_dirs"), "{err}");
    assert!(!f.base.join("deep").exists());
}

#[cfg(unix)]
#[test]
fn fs_overwrite_then_undo_restores_exact_bytes_and_mode() {
    let f = files();
    let path = f.base.join("data.bin");
    let old: Vec<u8> = vec![0, 1, 2, 0xff, 0xfe, b'\n', 0x80];
    fs::write(&path, &old).unwrap();
    set_mode(&path, 0o640);

    let args = json!({"path": "data.bin", "content": "now text"});
    let done = run(&f.fs, "write_file", args.clone());
    assert_eq!(done.output["created"], false);
    assert_eq!(
        done.rollback_data,
        json!({"path": "data.bin", "existed": true, "content_base64": "AAEC//4KgA==", "mode": "0640"})
    );
    assert_eq!(fs::read(&path).unwrap(), b"now text");
    assert_eq!(mode(&path), 0o640, "a write keeps the file's mode");

    set_mode(&path, 0o600);
    let undone = undo(&f.fs, "write_file", &args, &done);
    assert_eq!(undone.already_done, None);
    assert_eq!(fs::read(&path).unwrap(), old);
    assert_eq!(mode(&path), 0o640);

    let again = undo(&f.fs, "write_file", &args, &done);
    assert_eq!(again.already_done, Some("unchanged"));
}

#[test]
fn fs_writing_the_same_content_is_already_done() {
    let f = files();
    fs::write(f.base.join("same.txt"), "same").unwrap();
    let before = snapshot(&f.base);
    let done = run(
        &f.fs,
        "write_file",
        json!({"path": "same.txt", "content": "same"}),
    );
    assert_eq!(done.already_done, Some("unchanged"));
    assert_eq!(done.rollback_data["content"], "same");
    assert_eq!(snapshot(&f.base), before);
}

#[cfg(unix)]
#[test]
fn fs_delete_then_undo_recreates_exact_bytes_and_mode() {
    let f = files();
    let path = f.base.join("sub/gone.txt");
    fs::create_dir(f.base.join("sub")).unwrap();
    fs::write(&path, "ünïcode\r\n").unwrap();
    set_mode(&path, 0o751);

    let args = json!({"path": "sub/gone.txt"});
    let done = run(&f.fs, "delete_file", args.clone());
    assert_eq!(
        done.output,
        json!({"path": "sub/gone.txt", "deleted": true, "bytes": 11})
    );
    assert_eq!(
        done.rollback_data,
        json!({"path": "sub/gone.txt", "content": "ünïcode\r\n", "mode": "0751"})
    );
    assert!(!path.exists());

    let undone = undo(&f.fs, "delete_file", &args, &done);
    assert_eq!(undone.action, "recreate_file");
    assert_eq!(fs::read_to_string(&path).unwrap(), "ünïcode\r\n");
    assert_eq!(mode(&path), 0o751);

    let again = undo(&f.fs, "delete_file", &args, &done);
    assert_eq!(again.already_done, Some("present"));

    fs::write(&path, "someone else's").unwrap();
    let message = cannot_undo(f.fs.undo("delete_file", &args, &done.output, &done.rollback_data));
    assert!(
        message.contains("sub/gone.txt") && message.contains("rollback_data"),
        "{message}"
    );
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "someone else's",
        "not clobbered"
    );
}

#[test]
fn fs_delete_missing_is_absent_and_directories_are_refused() {
    let f = files();
    let done = run(&f.fs, "delete_file", json!({"path": "never.txt"}));
    assert_eq!(done.already_done, Some("absent"));
    fs::create_dir(f.base.join("dir")).unwrap();
    let message = refused(run_err(&f.fs, "delete_file", json!({"path": "dir"})));
    assert!(message.contains("directory"), "{message}");
    assert!(f.base.join("dir").is_dir());
}

#[test]
fn fs_refuses_paths_outside_base_dir_by_shape() {
    let f = files();
    let absolute = f.outside.join("secret.txt").display().to_string();
    for (path, why) in [
        (absolute.as_str(), "absolute"),
        ("/etc/passwd", "absolute"),
        ("../outside/secret.txt", ".."),
        ("a/../../outside/secret.txt", ".."),
        ("a/..", ".."),
        ("", "empty"),
        ("a\0b", "NUL"),
    ] {
        for (action, args) in [
            ("read_file", json!({"path": path})),
            ("write_file", json!({"path": path, "content": "pwned"})),
            ("delete_file", json!({"path": path})),
            ("list_dir", json!({"path": path})),
        ] {
            let message = refused(run_err(&f.fs, action, args));
            assert!(message.contains(why), "{action} {path:?}: {message}");
            assert!(
                message.contains(&f.base.display().to_string()),
                "names base_dir: {message}"
            );
        }
    }
    assert_eq!(
        fs::read_to_string(f.outside.join("secret.txt")).unwrap(),
        "top secret"
    );
}

#[cfg(unix)]
#[test]
fn fs_refuses_symlink_escapes() {
    use std::os::unix::fs::symlink;
    let f = files();
    symlink(f.outside.join("secret.txt"), f.base.join("leak")).unwrap();
    symlink(&f.outside, f.base.join("door")).unwrap();
    fs::create_dir(f.base.join("real")).unwrap();
    symlink(f.base.join("real"), f.base.join("inner_door")).unwrap();
    fs::write(f.base.join("real/ok.txt"), "fine").unwrap();
    symlink("real/ok.txt", f.base.join("ok_link")).unwrap();
    symlink(f.base.join("nowhere"), f.base.join("dangling")).unwrap();

    // A final-component symlink that leads outside.
    for (action, args) in [
        ("read_file", json!({"path": "leak"})),
        ("write_file", json!({"path": "leak", "content": "pwned"})),
        ("delete_file", json!({"path": "leak"})),
    ] {
        refused(run_err(&f.fs, action, args));
    }
    // A symlinked directory in the middle that leads outside.
    for (action, args) in [
        ("read_file", json!({"path": "door/secret.txt"})),
        (
            "write_file",
            json!({"path": "door/secret.txt", "content": "pwned"}),
        ),
        (
            "write_file",
            json!({"path": "door/new/x.txt", "content": "x", "create_dirs": true}),
        ),
        ("delete_file", json!({"path": "door/secret.txt"})),
        ("list_dir", json!({"path": "door"})),
    ] {
        let message = refused(run_err(&f.fs, action, args.clone()));
        assert!(message.contains("symlink"), "{action} {args}: {message}");
    }
    assert_eq!(
        fs::read_to_string(f.outside.join("secret.txt")).unwrap(),
        "top secret"
    );
    assert_eq!(fs::read_dir(&f.outside).unwrap().count(), 1);

    // Symlinks that stay inside: directories may be passed through, files read through;
    // writes and deletes never act on a symlink itself.
    let read = run(&f.fs, "read_file", json!({"path": "ok_link"}));
    assert_eq!(read.output["content"], "fine");
    let via_dir = run(&f.fs, "read_file", json!({"path": "inner_door/ok.txt"}));
    assert_eq!(via_dir.output["content"], "fine");
    run(
        &f.fs,
        "write_file",
        json!({"path": "inner_door/new.txt", "content": "new"}),
    );
    assert_eq!(
        fs::read_to_string(f.base.join("real/new.txt")).unwrap(),
        "new"
    );
    let message = refused(run_err(
        &f.fs,
        "write_file",
        json!({"path": "ok_link", "content": "x"}),
    ));
    assert!(message.contains("symlink"), "{message}");
    refused(run_err(&f.fs, "delete_file", json!({"path": "ok_link"})));
    assert!(f.base.join("ok_link").exists());
    refused(run_err(&f.fs, "read_file", json!({"path": "dangling"})));
}

#[test]
fn fs_failing_journal_changes_nothing() {
    let f = files();
    fs::write(f.base.join("keep.txt"), "keep").unwrap();
    let before = snapshot(&f.base);
    for (action, args) in [
        (
            "write_file",
            json!({"path": "keep.txt", "content": "changed"}),
        ),
        (
            "write_file",
            json!({"path": "new/dir/x.txt", "content": "x", "create_dirs": true}),
        ),
        ("delete_file", json!({"path": "keep.txt"})),
    ] {
        let err = run_unjournaled(&f.fs, action, args);
        assert!(
            matches!(err, ConnectorError::NotJournaled(ref m) if m == "disk full"),
            "{err:?}"
        );
        assert_eq!(snapshot(&f.base), before, "{action} changed something");
    }
}

#[test]
fn fs_undo_after_an_interrupted_run() {
    let f = files();
    let args = json!({"path": "maybe.txt", "content": "enact wrote this"});
    let rollback = json!({"path": "maybe.txt", "existed": false, "created_dirs": []});

    // The write never happened.
    let absent =
        f.fs.undo("write_file", &args, &Json::Null, &rollback)
            .unwrap();
    assert_eq!(absent.already_done, Some("absent"));

    // Someone else's file sits there: not ours to delete.
    fs::write(f.base.join("maybe.txt"), "not enact's").unwrap();
    let message = cannot_undo(f.fs.undo("write_file", &args, &Json::Null, &rollback));
    assert!(message.contains("maybe.txt"), "{message}");
    assert!(f.base.join("maybe.txt").exists());

    // The write happened.
    fs::write(f.base.join("maybe.txt"), "enact wrote this").unwrap();
    let deleted =
        f.fs.undo("write_file", &args, &Json::Null, &rollback)
            .unwrap();
    assert_eq!(deleted.already_done, None);
    assert!(!f.base.join("maybe.txt").exists());

    // Overwrite and delete restore the captured state whether or not they happened.
    fs::write(f.base.join("old.txt"), "old").unwrap();
    let overwrite = json!({"path": "old.txt", "existed": true, "content": "old", "mode": null});
    let same =
        f.fs.undo(
            "write_file",
            &json!({"path": "old.txt", "content": "new"}),
            &Json::Null,
            &overwrite,
        )
        .unwrap();
    assert_eq!(same.already_done, Some("unchanged"));
    let recreate = json!({"path": "old.txt", "content": "old", "mode": null});
    let present =
        f.fs.undo(
            "delete_file",
            &json!({"path": "old.txt"}),
            &Json::Null,
            &recreate,
        )
        .unwrap();
    assert_eq!(present.already_done, Some("present"));
}

#[test]
fn fs_rejects_bad_arguments_without_panicking() {
    let f = files();
    for (action, args) in [
        ("read_file", json!({})),
        ("read_file", json!({"path": 3})),
        ("read_file", json!(["path"])),
        ("read_file", json!(null)),
        ("write_file", json!({"path": "x"})),
        (
            "write_file",
            json!({"path": "x", "content": "y", "create_dirs": "yes"}),
        ),
        ("write_file", json!({"path": "x", "contents": "y"})),
    ] {
        bad_args(run_err(&f.fs, action, args));
    }
    let err = run_err(&f.fs, "write_flie", json!({}));
    assert!(
        err.to_string().contains("did you mean `write_file`"),
        "{err}"
    );
    let err = run_err(&f.fs, "read_file", json!({"path": "x", "pth": "y"}));
    assert!(err.to_string().contains("pth"), "{err}");
    bad_args(
        f.fs.undo("read_file", &json!({}), &Json::Null, &Json::Null)
            .unwrap_err(),
    );
    cannot_undo(f.fs.undo("write_file", &json!({}), &Json::Null, &json!({"what": 1})));
    cannot_undo(f.fs.undo("delete_file", &json!({}), &Json::Null, &json!("nonsense")));
}

#[test]
fn fs_undo_rechecks_confinement() {
    let f = files();
    let forged = json!({"path": "../outside/secret.txt", "content": "pwned", "mode": null});
    refused(
        f.fs.undo("delete_file", &json!({}), &Json::Null, &forged)
            .unwrap_err(),
    );
    assert_eq!(
        fs::read_to_string(f.outside.join("secret.txt")).unwrap(),
        "top secret"
    );
}

// ---------------------------------------------------------------------------------------------
// SQLite

struct Db {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    db: SqliteConnector,
}

const SCHEMA: &str = "
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        email TEXT UNIQUE,
        score REAL,
        avatar BLOB,
        note
    );
    CREATE TABLE memberships (
        org TEXT NOT NULL,
        user_id INTEGER NOT NULL,
        role TEXT,
        since REAL,
        PRIMARY KEY (org, user_id)
    ) WITHOUT ROWID;
    CREATE TABLE logs (msg TEXT);
    CREATE TABLE \"odd \"\"table\" (\"k\"\"ey\" TEXT PRIMARY KEY, \"va;lue\" TEXT);
    CREATE TABLE totals (
        id INTEGER PRIMARY KEY,
        price INTEGER,
        qty INTEGER,
        total INTEGER GENERATED ALWAYS AS (price * qty) VIRTUAL
    );
    INSERT INTO users VALUES (1, 'ada', 'ada@example.com', 0.1, X'00FF10', NULL);
    INSERT INTO users VALUES (2, 'bob', NULL, 2.5, NULL, 'n');
    INSERT INTO users VALUES (3, 'cyd', 'cyd@example.com', NULL, NULL, 2.0);
    INSERT INTO users VALUES (4, 'dee', 'dee@example.com', 1e300, X'', 9223372036854775807);
    INSERT INTO memberships VALUES ('acme', 1, 'owner', 1.5);
    INSERT INTO memberships VALUES ('acme', 2, 'member', NULL);
    INSERT INTO memberships VALUES ('zeta', 1, 'member', -0.25);
    INSERT INTO logs VALUES ('hello');
    INSERT INTO totals (id, price, qty) VALUES (1, 3, 4);
";

fn db() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    Connection::open(&path)
        .unwrap()
        .execute_batch(SCHEMA)
        .unwrap();
    let db = SqliteConnector::open(path.clone()).unwrap();
    Db {
        _dir: dir,
        path,
        db,
    }
}

/// Every row of a table with each value's storage class, read by a separate connection.
fn dump(path: &Path, table: &str) -> Vec<Vec<(String, Value)>> {
    let conn = Connection::open(path).unwrap();
    let quoted = format!("\"{}\"", table.replace('"', "\"\""));
    let columns: Vec<String> = conn
        .prepare(&format!(
            "SELECT name FROM pragma_table_info('{}')",
            table.replace('\'', "''")
        ))
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let select: Vec<String> = columns
        .iter()
        .map(|c| {
            let q = format!("\"{}\"", c.replace('"', "\"\""));
            format!("typeof({q}), {q}")
        })
        .collect();
    let width = columns.len();
    let order = if width > 1 { "2, 4" } else { "2" };
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {} FROM {quoted} ORDER BY {order}",
            select.join(", ")
        ))
        .unwrap();
    stmt.query_map([], |row| {
        Ok((0..width)
            .map(|i| {
                (
                    row.get::<_, String>(2 * i).unwrap(),
                    row.get::<_, Value>(2 * i + 1).unwrap(),
                )
            })
            .collect())
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn select(db: &SqliteConnector, args: Json) -> Json {
    run(db, "select_rows", args).output
}

fn ids(output: &Json) -> Vec<i64> {
    output["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn sql_open_creates_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh.db");
    let db = SqliteConnector::open(path.clone()).unwrap();
    assert_eq!(db.path(), path);
    let err = run_err(&db, "select_rows", json!({"table": "users"}));
    assert!(err.to_string().contains("has no tables"), "{err}");
    assert!(path.exists());
}

#[test]
fn sql_select_reads_every_type_exactly() {
    let d = db();
    let out = select(&d.db, json!({"table": "users"}));
    assert_eq!(out["count"], 4);
    assert_eq!(
        out["rows"][0],
        json!({"id": 1, "name": "ada", "email": "ada@example.com", "score": 0.1,
               "avatar": {"$blob_base64": "AP8Q"}, "note": null})
    );
    let row3 = &out["rows"][2];
    assert!(row3["note"].is_f64(), "a REAL 2.0 stays a float: {row3}");
    // Beyond 2^53 an integer is tagged: receipts' canonical JSON cannot hold it exactly.
    assert_eq!(
        out["rows"][3]["note"],
        json!({"$int": i64::MAX.to_string()})
    );
    assert_eq!(out["rows"][3]["score"], json!(1e300));
    assert_eq!(out["rows"][3]["avatar"], json!({"$blob_base64": ""}));

    let picked = select(
        &d.db,
        json!({"table": "users", "columns": ["name"], "order_by": ["-name"], "limit": 2}),
    );
    assert_eq!(
        picked,
        json!({"rows": [{"name": "dee"}, {"name": "cyd"}], "count": 2})
    );
}

#[test]
fn sql_where_supports_every_operator() {
    let d = db();
    let cases = [
        (json!({}), vec![1, 2, 3, 4]),
        (json!({"name": "bob"}), vec![2]),
        (json!({"email": null}), vec![2]),
        (json!({"id": [1, 3, 99]}), vec![1, 3]),
        (json!({"id": []}), vec![]),
        (json!({"name": {"eq": "cyd"}}), vec![3]),
        (json!({"email": {"eq": null}}), vec![2]),
        (json!({"email": {"ne": "ada@example.com"}}), vec![2, 3, 4]),
        (json!({"email": {"ne": null}}), vec![1, 3, 4]),
        (json!({"score": {"lt": 2.5}}), vec![1]),
        (json!({"score": {"lte": 2.5}}), vec![1, 2]),
        (json!({"score": {"gt": 2.5}}), vec![4]),
        (json!({"score": {"gte": 2.5}}), vec![2, 4]),
        (json!({"id": {"gt": 1, "lt": 4}}), vec![2, 3]),
        (json!({"id": {"in": [2, 4]}}), vec![2, 4]),
        (
            json!({"email": {"not_in": ["ada@example.com", "cyd@example.com"]}}),
            vec![2, 4],
        ),
        (json!({"id": {"not_in": []}}), vec![1, 2, 3, 4]),
        (json!({"email": {"like": "%@example.com"}}), vec![1, 3, 4]),
        (json!({"score": {"is_null": true}}), vec![3]),
        (json!({"score": {"is_null": false}}), vec![1, 2, 4]),
        (json!({"avatar": {"$blob_base64": "AP8Q"}}), vec![1]),
        (
            json!({"name": {"gte": "b"}, "email": {"is_null": false}}),
            vec![3, 4],
        ),
    ];
    for (filter, expected) in cases {
        let out = select(&d.db, json!({"table": "users", "where": filter}));
        assert_eq!(ids(&out), expected, "where {filter}");
    }
}

#[test]
fn sql_where_and_identifiers_are_checked_with_hints() {
    let d = db();
    let message = bad_args(run_err(
        &d.db,
        "select_rows",
        json!({"table": "users", "where": {"emial": "x"}}),
    ));
    assert!(message.contains("did you mean `email`"), "{message}");
    let message = bad_args(run_err(&d.db, "select_rows", json!({"table": "user"})));
    assert!(message.contains("did you mean `users`"), "{message}");
    let message = bad_args(run_err(
        &d.db,
        "select_rows",
        json!({"table": "users", "where": {"id": {"gtt": 1}}}),
    ));
    assert!(message.contains("did you mean `gt`"), "{message}");
    for filter in [
        json!({"id": {}}),
        json!({"id": {"lt": null}}),
        json!({"id": {"in": 3}}),
        json!({"id": {"in": [1, null]}}),
        json!({"id": {"is_null": "yes"}}),
        json!({"id": {"like": 5}}),
        json!({"id": {"eq": [1, 2]}}),
        json!({"id": {"eq": {"nested": 1}}}),
        json!({"id": 18446744073709551615u64}),
    ] {
        bad_args(run_err(
            &d.db,
            "select_rows",
            json!({"table": "users", "where": filter}),
        ));
    }
    for args in [
        json!({"table": "users", "columns": ["nmae"]}),
        json!({"table": "users", "order_by": ["-nmae"]}),
        json!({"table": "users", "columns": [1]}),
        json!({"table": "users", "limit": -1}),
        json!({"table": "users", "limit": 1.5}),
        json!({"table": 7}),
        json!({"tabel": "users"}),
    ] {
        bad_args(run_err(&d.db, "select_rows", args));
    }
}

#[test]
fn sql_insert_with_assigned_key_then_undo() {
    let d = db();
    let before = dump(&d.path, "users");
    let args = json!({"table": "users", "values": {"name": "eve", "score": 1, "note": "x"}});
    let done = run(&d.db, "insert_row", args.clone());
    assert_eq!(done.output["key"], json!({"id": 5}));
    assert_eq!(
        done.output["row"],
        json!({"id": 5, "name": "eve", "email": null, "score": 1.0, "avatar": null, "note": "x"})
    );
    assert!(
        done.output["row"]["score"].is_f64(),
        "REAL affinity applied"
    );
    assert_eq!(
        done.rollback_data,
        json!({"table": "users", "key_columns": ["id"]})
    );

    let undone = undo(&d.db, "insert_row", &args, &done);
    assert_eq!(undone.action, "delete_inserted_row");
    assert_eq!(
        undone.output,
        json!({"table": "users", "deleted": 1, "key": {"id": 5}})
    );
    assert_eq!(dump(&d.path, "users"), before);
    assert_eq!(
        undo(&d.db, "insert_row", &args, &done).already_done,
        Some("absent")
    );

    // Interrupted before the key was known: nothing safe to do automatically.
    let message = cannot_undo(d.db.undo("insert_row", &args, &Json::Null, &done.rollback_data));
    assert!(
        message.contains("eve") && message.contains("by hand"),
        "{message}"
    );
}

#[test]
fn sql_insert_is_idempotent_by_key() {
    let d = db();
    let args = json!({"table": "memberships",
                      "values": {"org": "beta", "user_id": 3, "role": "admin", "since": 7}});
    let done = run(&d.db, "insert_row", args.clone());
    assert_eq!(done.output["key"], json!({"org": "beta", "user_id": 3}));
    assert_eq!(
        done.rollback_data,
        json!({"table": "memberships", "key_columns": ["org", "user_id"],
               "key": {"org": "beta", "user_id": 3}})
    );

    let again = run(&d.db, "insert_row", args.clone());
    assert_eq!(again.already_done, Some("exists"));
    assert_eq!(again.output["row"]["since"], json!(7.0));

    let before = dump(&d.path, "memberships");
    let clash = run_err(
        &d.db,
        "insert_row",
        json!({"table": "memberships", "values": {"org": "beta", "user_id": 3, "role": "guest"}}),
    );
    assert!(
        matches!(clash, ConnectorError::Failed(ref m) if m.contains("already has a row")),
        "{clash:?}"
    );
    assert_eq!(dump(&d.path, "memberships"), before);
}

#[test]
fn sql_insert_undo_after_an_interrupted_run() {
    let d = db();
    let args = json!({"table": "users", "values": {"id": 10, "name": "fay"}});
    let rollback = json!({"table": "users", "key_columns": ["id"], "key": {"id": 10}});

    // The insert never happened.
    let absent =
        d.db.undo("insert_row", &args, &Json::Null, &rollback)
            .unwrap();
    assert_eq!(absent.already_done, Some("absent"));

    // Someone else's row has that key now.
    Connection::open(&d.path)
        .unwrap()
        .execute("INSERT INTO users (id, name) VALUES (10, 'gus')", [])
        .unwrap();
    cannot_undo(d.db.undo("insert_row", &args, &Json::Null, &rollback));
    assert_eq!(
        ids(&select(
            &d.db,
            json!({"table": "users", "where": {"id": 10}})
        )),
        [10]
    );

    // The insert happened.
    Connection::open(&d.path)
        .unwrap()
        .execute("UPDATE users SET name = 'fay' WHERE id = 10", [])
        .unwrap();
    let deleted =
        d.db.undo("insert_row", &args, &Json::Null, &rollback)
            .unwrap();
    assert_eq!(deleted.already_done, None);
    assert!(
        ids(&select(
            &d.db,
            json!({"table": "users", "where": {"id": 10}})
        ))
        .is_empty()
    );
}

#[test]
fn sql_round_trips_awkward_values_exactly() {
    let d = db();
    let before = dump(&d.path, "users");
    let values = json!({
        "id": i64::MIN,
        "name": "héllo ✓ 😀 \u{0} '\"",
        "email": null,
        "score": -0.1,
        "avatar": {"$blob_base64": "AAECAwQA/w=="},
        "note": 2.0
    });
    let done = run(
        &d.db,
        "insert_row",
        json!({"table": "users", "values": values}),
    );
    let mut expected = values.clone();
    expected["id"] = json!({"$int": i64::MIN.to_string()});
    assert_eq!(done.output["row"], expected);
    assert!(done.output["row"]["note"].is_f64());

    let infinite = run(
        &d.db,
        "insert_row",
        json!({"table": "users", "values": {"id": 50, "name": "inf", "score": {"$real": "Infinity"}}}),
    );
    assert_eq!(
        infinite.output["row"]["score"],
        json!({"$real": "Infinity"})
    );

    let after_insert = dump(&d.path, "users");
    let wiped = run(&d.db, "delete_row", json!({"table": "users", "where": {}}));
    assert_eq!(wiped.output["deleted"], 6);
    assert!(dump(&d.path, "users").is_empty());
    // Rollback data travels through the receipt as JSON text.
    let through_text: Json = serde_json::from_str(&wiped.rollback_data.to_string()).unwrap();
    d.db.undo("delete_row", &json!({}), &wiped.output, &through_text)
        .unwrap();
    assert_eq!(dump(&d.path, "users"), after_insert);

    undo(&d.db, "insert_row", &json!({}), &infinite);
    undo(&d.db, "insert_row", &json!({}), &done);
    assert_eq!(dump(&d.path, "users"), before);
}

#[test]
fn sql_update_then_undo_restores_every_row() {
    let d = db();
    let before = dump(&d.path, "users");
    let args = json!({"table": "users", "where": {"id": {"in": [1, 2, 3]}},
                      "set": {"score": 9, "note": null}});
    let done = run(&d.db, "update_row", args.clone());
    assert_eq!(
        done.output,
        json!({"table": "users", "updated": 3, "keys": [{"id": 1}, {"id": 2}, {"id": 3}]})
    );
    assert_eq!(done.rollback_data["key_columns"], json!(["id"]));
    assert_eq!(done.rollback_data["rows"].as_array().unwrap().len(), 3);
    assert_eq!(
        done.rollback_data["rows"][0]["avatar"],
        json!({"$blob_base64": "AP8Q"})
    );
    assert_eq!(
        ids(&select(
            &d.db,
            json!({"table": "users", "where": {"score": 9.0}})
        )),
        [1, 2, 3]
    );

    let again = run(&d.db, "update_row", args.clone());
    assert_eq!(again.already_done, Some("unchanged"));

    let undone = undo(&d.db, "update_row", &args, &done);
    assert_eq!(undone.action, "restore_updated_rows");
    assert_eq!(undone.output["restored"], 3);
    assert_eq!(dump(&d.path, "users"), before);
    assert_eq!(
        undo(&d.db, "update_row", &args, &done).already_done,
        Some("unchanged")
    );

    // An interrupted run: restoring the captured rows is safe whether or not it happened.
    let redo = run(&d.db, "update_row", args.clone());
    d.db.undo("update_row", &args, &Json::Null, &redo.rollback_data)
        .unwrap();
    assert_eq!(dump(&d.path, "users"), before);
}

#[test]
fn sql_update_only_captures_rows_it_changes() {
    let d = db();
    let done = run(
        &d.db,
        "update_row",
        json!({"table": "memberships", "where": {"org": "acme"}, "set": {"role": "member"}}),
    );
    assert_eq!(done.output["keys"], json!([{"org": "acme", "user_id": 1}]));
    assert_eq!(
        done.rollback_data["rows"],
        json!([{"org": "acme", "user_id": 1, "role": "owner", "since": 1.5}])
    );
    let none = run(
        &d.db,
        "update_row",
        json!({"table": "memberships", "where": {"org": "nobody"}, "set": {"role": "x"}}),
    );
    assert_eq!(none.already_done, Some("unchanged"));
    assert_eq!(none.output["updated"], 0);
}

#[test]
fn sql_update_refuses_key_and_generated_columns() {
    let d = db();
    let message = refused(run_err(
        &d.db,
        "update_row",
        json!({"table": "memberships", "where": {}, "set": {"user_id": 9}}),
    ));
    assert!(message.contains("primary key"), "{message}");
    let message = bad_args(run_err(
        &d.db,
        "update_row",
        json!({"table": "totals", "where": {}, "set": {"total": 9}}),
    ));
    assert!(message.contains("generated"), "{message}");
    bad_args(run_err(
        &d.db,
        "update_row",
        json!({"table": "users", "where": {}, "set": {}}),
    ));
    bad_args(run_err(
        &d.db,
        "update_row",
        json!({"table": "users", "set": {"name": "x"}}),
    ));
}

#[test]
fn sql_update_undo_reports_rows_that_are_gone_and_restores_the_rest() {
    let d = db();
    let args = json!({"table": "users", "where": {"id": [1, 2]}, "set": {"name": "zed"}});
    let done = run(&d.db, "update_row", args.clone());
    Connection::open(&d.path)
        .unwrap()
        .execute("DELETE FROM users WHERE id = 2", [])
        .unwrap();
    let message = cannot_undo(d.db.undo("update_row", &args, &done.output, &done.rollback_data));
    assert!(message.contains("{\"id\":2} no longer exists"), "{message}");
    assert!(message.contains("restored 1 row"), "{message}");
    let rows = select(
        &d.db,
        json!({"table": "users", "columns": ["name"], "where": {"id": 1}}),
    );
    assert_eq!(rows["rows"], json!([{"name": "ada"}]));
}

#[test]
fn sql_delete_then_undo_reinserts_exactly_with_composite_keys() {
    let d = db();
    let before = dump(&d.path, "memberships");
    let args = json!({"table": "memberships", "where": {"user_id": 1}});
    let done = run(&d.db, "delete_row", args.clone());
    assert_eq!(
        done.output,
        json!({"table": "memberships", "deleted": 2,
               "keys": [{"org": "acme", "user_id": 1}, {"org": "zeta", "user_id": 1}]})
    );
    assert_eq!(done.rollback_data["key_columns"], json!(["org", "user_id"]));
    assert_eq!(select(&d.db, json!({"table": "memberships"}))["count"], 1);

    let undone = undo(&d.db, "delete_row", &args, &done);
    assert_eq!(undone.action, "reinsert_deleted_rows");
    assert_eq!(undone.output["reinserted"], 2);
    assert_eq!(dump(&d.path, "memberships"), before);
    assert_eq!(
        undo(&d.db, "delete_row", &args, &done).already_done,
        Some("present")
    );

    let none = run(
        &d.db,
        "delete_row",
        json!({"table": "memberships", "where": {"org": "x"}}),
    );
    assert_eq!(none.already_done, Some("absent"));
    assert_eq!(dump(&d.path, "memberships"), before);
}

#[test]
fn sql_delete_undo_does_not_clobber_a_new_row_with_the_same_key() {
    let d = db();
    let args = json!({"table": "users", "where": {"id": {"lte": 2}}});
    let done = run(&d.db, "delete_row", args.clone());
    Connection::open(&d.path)
        .unwrap()
        .execute("INSERT INTO users (id, name) VALUES (2, 'new bob')", [])
        .unwrap();
    let message = cannot_undo(d.db.undo("delete_row", &args, &done.output, &done.rollback_data));
    assert!(message.contains("{\"id\":2} is taken"), "{message}");
    let out = select(
        &d.db,
        json!({"table": "users", "columns": ["id", "name"], "where": {"id": [1, 2]}}),
    );
    assert_eq!(
        out["rows"],
        json!([{"id": 1, "name": "ada"}, {"id": 2, "name": "new bob"}])
    );
}

#[test]
fn sql_generated_columns_are_read_but_never_written() {
    let d = db();
    let done = run(
        &d.db,
        "delete_row",
        json!({"table": "totals", "where": {"id": 1}}),
    );
    assert_eq!(done.rollback_data["rows"][0]["total"], 12);
    undo(&d.db, "delete_row", &json!({}), &done);
    let out = select(&d.db, json!({"table": "totals"}));
    assert_eq!(
        out["rows"],
        json!([{"id": 1, "price": 3, "qty": 4, "total": 12}])
    );
    bad_args(run_err(
        &d.db,
        "insert_row",
        json!({"table": "totals", "values": {"id": 2, "total": 1}}),
    ));
}

#[test]
fn sql_tables_without_a_primary_key_are_read_only() {
    let d = db();
    assert_eq!(
        select(&d.db, json!({"table": "logs"}))["rows"],
        json!([{"msg": "hello"}])
    );
    for (action, args) in [
        (
            "insert_row",
            json!({"table": "logs", "values": {"msg": "x"}}),
        ),
        (
            "update_row",
            json!({"table": "logs", "where": {}, "set": {"msg": "x"}}),
        ),
        ("delete_row", json!({"table": "logs", "where": {}})),
    ] {
        let message = refused(run_err(&d.db, action, args));
        assert_eq!(
            message,
            "table `logs` has no primary key; Enact needs one to capture and restore rows exactly"
        );
    }
    assert_eq!(dump(&d.path, "logs").len(), 1);
}

#[test]
fn sql_failing_journal_changes_nothing() {
    let d = db();
    let before = (dump(&d.path, "users"), dump(&d.path, "memberships"));
    for (action, args) in [
        (
            "insert_row",
            json!({"table": "users", "values": {"name": "x"}}),
        ),
        (
            "insert_row",
            json!({"table": "memberships", "values": {"org": "q", "user_id": 1}}),
        ),
        (
            "update_row",
            json!({"table": "users", "where": {}, "set": {"name": "x"}}),
        ),
        ("delete_row", json!({"table": "memberships", "where": {}})),
    ] {
        let err = run_unjournaled(&d.db, action, args);
        assert!(matches!(err, ConnectorError::NotJournaled(_)), "{err:?}");
        assert_eq!(
            (dump(&d.path, "users"), dump(&d.path, "memberships")),
            before,
            "{action} changed something"
        );
    }
    // The connection is usable afterwards: the transaction was rolled back, not left open.
    run(
        &d.db,
        "delete_row",
        json!({"table": "users", "where": {"id": 1}}),
    );
}

#[test]
fn sql_journal_sees_the_pre_image_before_the_write() {
    let d = db();
    let path = d.path.clone();
    let mut seen_rows = None;
    d.db.execute(
        "delete_row",
        &json!({"table": "users", "where": {"id": 1}}),
        &mut |data| {
            // Another connection still sees the row: the journal runs before the delete.
            let conn = Connection::open(&path).unwrap();
            let n: i64 = conn
                .query_row("SELECT count(*) FROM users WHERE id = 1", [], |r| r.get(0))
                .unwrap();
            seen_rows = Some((n, data["rows"].as_array().unwrap().len()));
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(seen_rows, Some((1, 1)));
    assert!(
        dump(&d.path, "users")
            .iter()
            .all(|row| row[0].1 != Value::Integer(1))
    );
}

#[test]
fn sql_injection_attempts_are_stored_verbatim_or_refused() {
    let d = db();
    let evil = "'; DROP TABLE users; --";
    let done = run(
        &d.db,
        "insert_row",
        json!({"table": "users", "values": {"name": evil, "email": "\" OR 1=1 --"}}),
    );
    let found = select(&d.db, json!({"table": "users", "where": {"name": evil}}));
    assert_eq!(found["rows"][0]["email"], "\" OR 1=1 --");
    assert_eq!(found["rows"][0]["id"], done.output["key"]["id"]);
    let none = select(
        &d.db,
        json!({"table": "users", "where": {"name": {"like": "' OR '1'='1"}}}),
    );
    assert_eq!(none["count"], 0);

    for args in [
        json!({"table": "users; DROP TABLE logs", "where": {}}),
        json!({"table": "users\" WHERE 1=1; --", "where": {}}),
        json!({"table": "users", "where": {"id = 1 OR 1": 1}}),
        json!({"table": "users", "where": {"name\"; DROP TABLE logs; --": "x"}}),
        json!({"table": "users", "where": {"id": {"= 1 OR 1 = ": 1}}}),
    ] {
        bad_args(run_err(&d.db, "delete_row", args));
    }
    bad_args(run_err(
        &d.db,
        "select_rows",
        json!({"table": "users", "order_by": ["id; DROP TABLE logs"]}),
    ));
    assert_eq!(dump(&d.path, "logs").len(), 1);
    assert_eq!(select(&d.db, json!({"table": "users"}))["count"], 5);
}

#[test]
fn sql_quotes_odd_identifiers() {
    let d = db();
    let table = "odd \"table";
    let args = json!({"table": table, "values": {"k\"ey": "a'b", "va;lue": "v"}});
    let done = run(&d.db, "insert_row", args.clone());
    assert_eq!(done.output["key"], json!({"k\"ey": "a'b"}));
    let updated = run(
        &d.db,
        "update_row",
        json!({"table": table, "where": {"va;lue": "v"}, "set": {"va;lue": "w"}}),
    );
    assert_eq!(updated.output["updated"], 1);
    undo(&d.db, "update_row", &json!({}), &updated);
    undo(&d.db, "insert_row", &args, &done);
    assert!(dump(&d.path, table).is_empty());
}

#[test]
fn sql_values_must_be_single_values() {
    let d = db();
    for values in [
        json!({"name": {"a": 1}}),
        json!({"name": [1, 2]}),
        json!({"id": 18446744073709551615u64, "name": "x"}),
        json!({"avatar": {"$blob_base64": "not base64!"}, "name": "x"}),
        json!({"nmae": "x"}),
    ] {
        bad_args(run_err(
            &d.db,
            "insert_row",
            json!({"table": "users", "values": values}),
        ));
    }
    assert_eq!(select(&d.db, json!({"table": "users"}))["count"], 4);
}

#[test]
fn sql_undo_refuses_forged_or_stale_rollback_data() {
    let d = db();
    for data in [
        json!(null),
        json!({"table": "nope", "key_columns": ["id"], "rows": []}),
        json!({"table": "users", "key_columns": ["name"], "rows": []}),
        json!({"table": "users", "key_columns": ["id"]}),
        json!({"table": "users", "key_columns": ["id"], "rows": [{"id": 1, "bogus": 2}]}),
        json!({"table": "users", "key_columns": ["id"], "rows": [{"id": 1}]}),
        json!({"table": "users", "key_columns": ["id"], "rows": ["x"]}),
    ] {
        cannot_undo(d.db.undo("delete_row", &json!({}), &Json::Null, &data));
    }
    bad_args(
        d.db.undo("select_rows", &json!({}), &Json::Null, &Json::Null)
            .unwrap_err(),
    );
    assert_eq!(select(&d.db, json!({"table": "users"}))["count"], 4);
}
