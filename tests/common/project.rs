//! A throwaway Enact project for end-to-end tests: a config with a filesystem and an SQLite
//! system, a workspace, a receipt store, and the binary run inside it with a signing secret.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::Run;

/// A secret of the required length (32 bytes or more).
pub const SECRET: &str = "test-secret-0123456789abcdef-0123456789";

pub const CONFIG: &str = "\
receipts: ./receipts
systems:
  files:
    connector: filesystem
    base_dir: ./workspace
    allowed_actions: [read_file, write_file, delete_file, list_dir]
  db:
    connector: sqlite
    path: ./app.db
    allowed_actions: [select_rows, insert_row, update_row, delete_row]
workflows: [./workflows]
";

/// A file change, then a row change: the workflow the kill-between-steps tests interrupt.
pub const TWO_STEPS: &str = r#"
name: two_steps
description: Change a file, then a row.
steps:
  - id: report
    action: files.write_file
    with: { path: "report.md", content: "after\n" }
  - id: row
    action: db.update_row
    with: { table: customers, where: { id: 1 }, set: { plan: "pro" } }
"#;

pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    /// A project with the standard config and an empty workspace.
    pub fn new() -> Project {
        let project = Project {
            dir: tempfile::tempdir().unwrap(),
        };
        project.write("enact.yaml", CONFIG);
        std::fs::create_dir_all(project.path("workspace")).unwrap();
        project
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn write(&self, relative: &str, text: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative)).unwrap()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_enact"));
        command
            .args(args)
            .current_dir(self.root())
            .env("NO_COLOR", "1")
            .env("ENACT_SECRET", SECRET)
            .env_remove("ENACT_ACTOR")
            .stdin(Stdio::null());
        command
    }

    /// Runs `enact` in the project with the secret set.
    pub fn enact(&self, args: &[&str]) -> Run {
        self.enact_with(args, &[])
    }

    /// Runs `enact` with extra environment variables (an empty value removes one).
    pub fn enact_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = self.command(args);
        for (key, value) in env {
            if value.is_empty() {
                command.env_remove(key);
            } else {
                command.env(key, value);
            }
        }
        let output = command.output().unwrap();
        Run {
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            code: output.status.code().unwrap_or(-1),
        }
    }

    /// Starts `enact` without waiting for it.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.path("app.db")).unwrap()
    }

    /// Creates `customers(id INTEGER PRIMARY KEY, name TEXT, plan TEXT, score REAL, note TEXT)`
    /// with five rows, one holding NULLs and one unicode.
    pub fn seed_customers(&self) {
        self.db()
            .execute_batch(
                "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, plan TEXT, score REAL, note TEXT);
                 INSERT INTO customers VALUES (1, 'Ada', 'trial', 4.5, 'first');
                 INSERT INTO customers VALUES (2, 'Grace', 'pro', 3.25, NULL);
                 INSERT INTO customers VALUES (3, 'Zoë Ωmega', 'trial', NULL, 'ünïcode ✓');
                 INSERT INTO customers VALUES (4, 'Linus', 'free', 0.1, '');
                 INSERT INTO customers VALUES (5, 'Barbara', 'trial', 1e10, 'x''y');",
            )
            .unwrap();
    }

    /// Every row of a table, in key order, as text (types included) for exact comparisons.
    pub fn rows(&self, table: &str) -> Vec<String> {
        let db = self.db();
        let mut statement = db
            .prepare(&format!("SELECT * FROM {table} ORDER BY 1"))
            .unwrap();
        let columns = statement.column_count();
        statement
            .query_map([], |row| {
                let mut cells = Vec::new();
                for i in 0..columns {
                    let cell: rusqlite::types::Value = row.get(i)?;
                    cells.push(format!("{cell:?}"));
                }
                Ok(cells.join("|"))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// Every receipt file in the store, parsed, in sequence order.
    pub fn receipts(&self) -> Vec<serde_json::Value> {
        let mut receipts: Vec<serde_json::Value> = std::fs::read_dir(self.path("receipts"))
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect();
        receipts.sort_by_key(|r| r["sequence"].as_u64());
        receipts
    }

    pub fn receipt_path(&self, run_id: &str) -> PathBuf {
        self.path(&format!("receipts/{run_id}.json"))
    }

    pub fn receipt(&self, run_id: &str) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(self.receipt_path(run_id)).unwrap()).unwrap()
    }
}

/// The run id in a `--json` run or rollback document.
pub fn run_id(run: &Run) -> String {
    let document: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", run.stdout, run.stderr));
    let inner = document
        .get("run")
        .or_else(|| document.get("rollback"))
        .unwrap();
    inner["run_id"].as_str().unwrap().to_string()
}
