//! The `postgres` connector against a real, throwaway PostgreSQL server: rows inserted, updated
//! and deleted through the `enact` binary and rolled back to exactly what was there (several
//! rows, composite keys, NULLs, unicode, numerics, timestamps, bytes, every supported type),
//! refusals, injection attempts, `db_safe_insert`, the db policies, and credentials that never
//! leak.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Run;
use common::pg::PgServer;
use common::project::{Project, run_id};
use enact::connectors::{Connector, ConnectorError, PostgresConnector};
use serde_json::{Value as Json, json};

// ---------------------------------------------------------------------------------------------
// Harness

const CONFIG: &str = "\
receipts: ./receipts
systems:
  db:
    connector: postgres
    dsn_env: DATABASE_URL
    allowed_actions: [select_rows, insert_row, update_row, delete_row]
workflows: [./workflows]
";

/// One workflow per action, on the `db` system, with no policies of their own.
const WORKFLOWS: [(&str, &str); 4] = [
    (
        "pg_insert",
        "inputs:\n  table: {type: string, required: true}\n  values: {type: map, required: true}\n\
         steps:\n  - id: insert\n    action: db.insert_row\n    \
         with: {table: \"${payload.table}\", values: \"${payload.values}\"}\n",
    ),
    (
        "pg_update",
        "inputs:\n  table: {type: string, required: true}\n  where: {type: map, required: true}\n  \
         set: {type: map, required: true}\n\
         steps:\n  - id: update\n    action: db.update_row\n    \
         with: {table: \"${payload.table}\", where: \"${payload.where}\", set: \"${payload.set}\"}\n",
    ),
    (
        "pg_delete",
        "inputs:\n  table: {type: string, required: true}\n  where: {type: map, required: true}\n\
         steps:\n  - id: delete\n    action: db.delete_row\n    \
         with: {table: \"${payload.table}\", where: \"${payload.where}\"}\n",
    ),
    (
        "pg_select",
        "inputs:\n  table: {type: string, required: true}\n  where: {type: map, default: {}}\n\
         steps:\n  - id: select\n    action: db.select_rows\n    \
         with: {table: \"${payload.table}\", where: \"${payload.where}\"}\n",
    ),
];

/// Customers (NULLs, unicode, numeric, timestamptz, bytea), line items with a composite key,
/// and a table without a primary key.
const SEED: &str = r#"
CREATE TABLE customers (
  id integer PRIMARY KEY,
  name text NOT NULL,
  plan text,
  balance numeric(14,2),
  score double precision,
  signed_up timestamptz,
  avatar bytea,
  note varchar(40)
);
INSERT INTO customers VALUES
  (1, 'Ada', 'trial', 12.50, 4.5, '2024-05-01 12:00:00.123456+02', '\x00ff10', 'first'),
  (2, 'Grace', 'pro', 12345678901.99, NULL, NULL, NULL, NULL),
  (3, 'Zoë Ωmega ✓', 'trial', -0.01, 0.1, '1999-12-31 23:59:59.999999+00', '\x', 'ünïcode'),
  (4, 'Linus', 'free', 0, 1e300, 'infinity', '\x00', ''),
  (5, 'Barbara', 'trial', NULL, 'NaN', '2000-02-29 00:00:00+05:30', '\xdeadbeef', 'x''y');
CREATE TABLE line_items (
  order_id integer,
  line smallint,
  sku text NOT NULL,
  qty integer,
  price numeric(10,3),
  shipped boolean,
  PRIMARY KEY (order_id, line)
);
INSERT INTO line_items VALUES
  (7, 1, 'A-1', 2, 9.990, true),
  (7, 2, 'B-2', 1, 100.000, false),
  (7, 3, 'C-3', NULL, NULL, NULL),
  (8, 1, 'A-1', 5, 9.990, true);
CREATE TABLE events (note text, happened timestamptz);
INSERT INTO events VALUES ('boot', '2024-01-01 00:00:00+00'), ('shutdown', NULL);
"#;

/// A project whose `db` system is a fresh PostgreSQL database.
struct Pg {
    project: Project,
    url: String,
}

impl Pg {
    fn new() -> Pg {
        let url = PgServer::get().fresh_database();
        let project = Project::new();
        project.write("enact.yaml", CONFIG);
        for (name, body) in WORKFLOWS {
            project.write(
                &format!("workflows/{name}.yaml"),
                &format!("name: {name}\ndescription: One row action on db.\n{body}"),
            );
        }
        let pg = Pg { project, url };
        pg.sql(SEED);
        pg
    }

    fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }

    fn sql(&self, batch: &str) {
        self.client().batch_execute(batch).unwrap();
    }

    /// `enact` in the project with `DATABASE_URL` set to this database.
    fn enact(&self, args: &[&str]) -> Run {
        self.project
            .enact_with(args, &[("DATABASE_URL", &self.url)])
    }

    /// Runs a workflow with `--json`; the run document.
    fn run(&self, workflow: &str, payload: Json) -> (Run, Json) {
        let run = self.enact(&["run", workflow, "--payload", &payload.to_string(), "--json"]);
        let document = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", run.stdout, run.stderr));
        (run, document)
    }

    /// Runs a workflow that must succeed; its run id.
    fn pass(&self, workflow: &str, payload: Json) -> String {
        let (run, _) = self.run(workflow, payload);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        run_id(&run)
    }

    fn rollback(&self, run_id: &str) {
        let rollback = self.enact(&["rollback", run_id]);
        assert_eq!(rollback.code, 0, "{}{}", rollback.stdout, rollback.stderr);
        assert!(
            rollback.stdout.contains("ROLLED_BACK"),
            "{}",
            rollback.stdout
        );
    }

    /// Every row of a table as the server prints it (every column, exactly), sorted.
    fn dump(&self, table: &str) -> Vec<String> {
        self.client()
            .query(
                &format!("SELECT whole_row::text FROM {table} AS whole_row ORDER BY 1"),
                &[],
            )
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect()
    }

    fn count(&self, table: &str) -> i64 {
        self.client()
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .unwrap()
            .get(0)
    }

    fn tables(&self) -> Vec<String> {
        self.client()
            .query(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
                &[],
            )
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect()
    }

    /// The connector itself, for checks below the binary.
    fn connector(&self) -> PostgresConnector {
        PostgresConnector::connect(&self.url).unwrap()
    }
}

fn execute(
    c: &dyn Connector,
    action: &str,
    args: Json,
) -> Result<enact::connectors::ActionOutcome, ConnectorError> {
    c.execute(action, &args, &mut |_| Ok(()))
}

fn select(c: &dyn Connector, args: Json) -> Vec<Json> {
    let outcome = execute(c, "select_rows", args).unwrap();
    outcome
        .output
        .get("rows")
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

// ---------------------------------------------------------------------------------------------
// Mutations and their rollback, through the binary

#[test]
fn an_update_of_several_rows_rolls_back_to_exactly_what_was_there() {
    let pg = Pg::new();
    let before = pg.dump("customers");
    let id = pg.pass(
        "pg_update",
        json!({"table": "customers", "where": {"plan": "trial"},
               "set": {"plan": "pro", "balance": "0.00", "note": null, "signed_up": "2030-01-01T00:00:00Z"}}),
    );
    let receipt = pg.project.receipt(&id);
    assert_eq!(receipt["actions_taken"][0]["output"]["updated"], 3);
    assert_eq!(
        receipt["actions_taken"][0]["output"]["keys"],
        json!([{"id": 1}, {"id": 3}, {"id": 5}])
    );
    let after = pg.dump("customers");
    assert_ne!(after, before);
    assert_eq!(
        pg.client()
            .query_one(
                "SELECT count(*) FROM customers WHERE plan = 'pro' AND note IS NULL",
                &[]
            )
            .unwrap()
            .get::<_, i64>(0),
        4
    );
    pg.rollback(&id);
    assert_eq!(pg.dump("customers"), before);
    assert_eq!(pg.enact(&["verify"]).code, 0);
}

#[test]
fn a_composite_key_update_and_delete_roll_back_row_by_row() {
    let pg = Pg::new();
    let before = pg.dump("line_items");
    let update = pg.pass(
        "pg_update",
        json!({"table": "line_items", "where": {"order_id": 7}, "set": {"qty": 0, "price": "0.001", "shipped": true}}),
    );
    let receipt = pg.project.receipt(&update);
    assert_eq!(
        receipt["actions_taken"][0]["output"]["keys"],
        json!([{"order_id": 7, "line": 1}, {"order_id": 7, "line": 2}, {"order_id": 7, "line": 3}])
    );
    let delete = pg.pass(
        "pg_delete",
        json!({"table": "line_items", "where": {"order_id": 7, "line": {"gte": 2}}}),
    );
    assert_eq!(pg.count("line_items"), 2);
    pg.rollback(&delete);
    pg.rollback(&update);
    assert_eq!(pg.dump("line_items"), before);
}

#[test]
fn a_delete_rolls_back_by_reinserting_every_captured_row_exactly() {
    let pg = Pg::new();
    let before = pg.dump("customers");
    let id = pg.pass(
        "pg_delete",
        json!({"table": "customers", "where": {"id": {"ne": 2}}}),
    );
    assert_eq!(pg.dump("customers").len(), 1);
    let receipt = pg.project.receipt(&id);
    let captured = &receipt["actions_taken"][0]["rollback_data"]["rows"];
    assert_eq!(captured.as_array().unwrap().len(), 4);
    // The receipt holds the exact values, in the forms rollback reads back.
    assert_eq!(captured[0]["balance"], "12.50");
    assert_eq!(captured[0]["signed_up"], "2024-05-01T10:00:00.123456Z");
    assert_eq!(captured[0]["avatar"], json!({"$blob_base64": "AP8Q"}));
    assert_eq!(captured[1]["name"], "Zoë Ωmega ✓");
    assert_eq!(captured[2]["signed_up"], "infinity");
    assert_eq!(captured[3]["score"], json!({"$real": "NaN"}));
    pg.rollback(&id);
    assert_eq!(pg.dump("customers"), before);
}

#[test]
fn an_insert_rolls_back_by_deleting_the_row_and_a_retry_is_already_done() {
    let pg = Pg::new();
    let before = pg.dump("line_items");
    let payload = json!({"table": "line_items",
                         "values": {"order_id": 9, "line": 1, "sku": "Ω-9", "qty": null, "price": "1234567.891", "shipped": false}});
    let id = pg.pass("pg_insert", payload.clone());
    let receipt = pg.project.receipt(&id);
    assert_eq!(
        receipt["actions_taken"][0]["output"]["key"],
        json!({"order_id": 9, "line": 1})
    );
    assert_eq!(
        receipt["actions_taken"][0]["output"]["row"]["price"],
        "1234567.891"
    );
    assert_eq!(
        pg.client()
            .query_one(
                "SELECT price::text, sku FROM line_items WHERE order_id = 9",
                &[]
            )
            .unwrap()
            .get::<_, String>(0),
        "1234567.891"
    );
    let (retry, document) = pg.run("pg_insert", payload);
    assert_eq!(retry.code, 0, "{}{}", retry.stdout, retry.stderr);
    assert_eq!(
        document["run"]["actions_taken"][0]["already_done"],
        "exists"
    );
    assert_eq!(pg.count("line_items"), 5);
    pg.rollback(&id);
    assert_eq!(pg.dump("line_items"), before);
}

#[test]
fn a_where_that_matches_nothing_changes_nothing_and_has_nothing_to_undo() {
    let pg = Pg::new();
    let before = pg.dump("customers");
    let (run, document) = pg.run(
        "pg_delete",
        json!({"table": "customers", "where": {"id": 999}}),
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let action = &document["run"]["actions_taken"][0];
    assert_eq!(action["output"]["deleted"], 0);
    assert_eq!(action["already_done"], "absent");
    let (run, document) = pg.run(
        "pg_update",
        json!({"table": "customers", "where": {"name": "Nobody"}, "set": {"plan": "pro"}}),
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        document["run"]["actions_taken"][0]["already_done"],
        "unchanged"
    );
    let rollback = pg.enact(&["rollback", &run_id(&run)]);
    assert!(
        rollback.stderr.contains("nothing to roll back"),
        "{}{}",
        rollback.stdout,
        rollback.stderr
    );
    assert_eq!(pg.dump("customers"), before);
}

#[test]
fn a_table_without_a_primary_key_is_refused_with_nothing_changed() {
    let pg = Pg::new();
    let before = pg.dump("events");
    let (run, document) = pg.run(
        "pg_delete",
        json!({"table": "events", "where": {"note": "boot"}}),
    );
    assert_eq!(run.code, 4, "{}{}", run.stdout, run.stderr);
    let error = document["run"]["actions_taken"][0]["error"]
        .as_str()
        .unwrap();
    assert!(
        error.contains("table `events` has no primary key"),
        "{error}"
    );
    let (run, _) = pg.run(
        "pg_update",
        json!({"table": "events", "where": {"note": "boot"}, "set": {"note": "x"}}),
    );
    assert_eq!(run.code, 4);
    assert_eq!(pg.dump("events"), before);
    // Reading needs no key.
    let (run, document) = pg.run("pg_select", json!({"table": "events"}));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(document["run"]["actions_taken"][0]["output"]["count"], 2);
}

// ---------------------------------------------------------------------------------------------
// Injection attempts

#[test]
fn injection_in_values_is_stored_verbatim_and_never_executed() {
    let pg = Pg::new();
    let tables = pg.tables();
    let attacks = [
        "Robert'); DROP TABLE customers;--",
        "x' OR '1'='1",
        "$1; DELETE FROM line_items; --",
        "\\'; TRUNCATE events; --",
        "\"; DROP TABLE events; --",
    ];
    for (index, attack) in attacks.iter().enumerate() {
        let id = 100 + i64::try_from(index).unwrap();
        pg.pass(
            "pg_insert",
            json!({"table": "customers", "values": {"id": id, "name": attack, "note": "x'); --"}}),
        );
        let stored: String = pg
            .client()
            .query_one(
                "SELECT name FROM customers WHERE id = $1",
                &[&i32::try_from(id).unwrap()],
            )
            .unwrap()
            .get(0);
        assert_eq!(&stored, attack);
    }
    // The same strings as `where` values only ever match as values.
    let (run, document) = pg.run(
        "pg_update",
        json!({"table": "customers", "where": {"name": "x' OR '1'='1"}, "set": {"plan": "hacked"}}),
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(document["run"]["actions_taken"][0]["output"]["updated"], 1);
    assert_eq!(pg.tables(), tables);
    assert_eq!(pg.count("customers"), 10);
    assert_eq!(pg.count("line_items"), 4);
    assert_eq!(pg.count("events"), 2);
}

#[test]
fn injection_in_identifiers_is_refused_before_any_statement() {
    let pg = Pg::new();
    let tables = pg.tables();
    let customers = pg.dump("customers");
    let attempts = [
        json!({"table": "customers; DROP TABLE customers", "where": {"id": 1}}),
        json!({"table": "customers\"; DROP TABLE customers; --", "where": {"id": 1}}),
        json!({"table": "public.customers", "where": {"id": 1}}),
        json!({"table": "CUSTOMERS", "where": {"id": 1}}),
        json!({"table": "customers", "where": {"id = 1 OR 1=1; --": 1}}),
        json!({"table": "customers", "where": {"id\" = 1 OR \"id": 1}}),
        json!({"table": "customers", "where": {"id": {"eq; DROP TABLE customers": 1}}}),
    ];
    for attempt in attempts {
        let (run, document) = pg.run("pg_delete", attempt.clone());
        assert_eq!(run.code, 4, "{attempt}: {}{}", run.stdout, run.stderr);
        let error = document["run"]["actions_taken"][0]["error"]
            .as_str()
            .unwrap();
        assert!(
            error.contains("has no table")
                || error.contains("has no column")
                || error.contains("unknown operator"),
            "{attempt}: {error}"
        );
    }
    let (run, document) = pg.run(
        "pg_insert",
        json!({"table": "customers", "values": {"id": 50, "name) VALUES (51, 'x'); DROP TABLE events; --": "x"}}),
    );
    assert_eq!(run.code, 4, "{}{}", run.stdout, run.stderr);
    assert!(
        document["run"]["error"]
            .as_str()
            .unwrap()
            .contains("has no column")
    );
    assert_eq!(pg.tables(), tables);
    assert_eq!(pg.dump("customers"), customers);
    assert_eq!(pg.count("events"), 2);
}

// ---------------------------------------------------------------------------------------------
// db_safe_insert and the db policies

#[test]
fn db_safe_insert_inserts_once_and_a_retry_makes_no_duplicate() {
    let pg = Pg::new();
    pg.sql(
        "CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL, name text, joined date)",
    );
    let payload = json!({
        "table": "users",
        "key": {"email": "ada@example.com"},
        "values": {"email": "ada@example.com", "name": "Ada", "joined": "1843-07-01"},
    });
    let (first, document) = pg.run("db_safe_insert", payload.clone());
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let outputs = &document["run"]["outputs"];
    assert_eq!(outputs["inserted"], true);
    assert_eq!(outputs["key"], json!({"email": "ada@example.com"}));
    assert_eq!(outputs["row"]["id"], 1);
    assert_eq!(outputs["row"]["joined"], "1843-07-01");

    for _ in 0..2 {
        let (retry, document) = pg.run("db_safe_insert", payload.clone());
        assert_eq!(retry.code, 0, "{}{}", retry.stdout, retry.stderr);
        assert_eq!(document["run"]["outputs"]["inserted"], false);
        assert_eq!(document["run"]["outputs"]["row"]["name"], "Ada");
        assert_eq!(
            document["run"]["actions_taken"].as_array().unwrap().len(),
            1,
            "only the check ran"
        );
    }
    assert_eq!(pg.count("users"), 1, "no duplicate row");

    // Another key inserts; rolling the first run back removes only its row.
    let other = pg.pass(
        "db_safe_insert",
        json!({"table": "users", "key": {"email": "grace@example.com"},
               "values": {"email": "grace@example.com", "name": "Grace"}}),
    );
    assert!(!other.is_empty());
    pg.rollback(&run_id(&first));
    assert_eq!(
        pg.dump("users"),
        ["(2,grace@example.com,Grace,)".to_string()]
    );
}

const GUARDED: &str = r#"
name: guarded_delete
description: Delete rows, with the database policies in force.
inputs:
  table: { type: string, required: true }
  where: { type: map, required: true }
  sql: { type: string, default: "", description: "The SQL the agent proposed, judged by policies." }
policies:
  - use: db.dont_delete_without_where
  - use: db.block_ddl
  - use: db.protect_tables
    with: { tables: [line_items] }
steps:
  - id: delete
    action: db.delete_row
    with: { table: "${payload.table}", where: "${payload.where}" }
"#;

#[test]
fn the_db_policies_block_real_requests_before_anything_reaches_the_server() {
    let pg = Pg::new();
    pg.project.write("workflows/guarded_delete.yaml", GUARDED);
    let tables = pg.tables();
    let counts = |pg: &Pg| -> Vec<i64> {
        ["customers", "line_items", "events"]
            .iter()
            .map(|t| pg.count(t))
            .collect()
    };
    let before = counts(&pg);
    let blocked = [
        (
            json!({"table": "customers", "where": {}}),
            "db.dont_delete_without_where",
        ),
        (
            json!({"table": "customers", "where": {"id": 1}, "sql": "DROP TABLE customers"}),
            "db.block_ddl",
        ),
        (
            json!({"table": "LINE_ITEMS", "where": {"order_id": 7}}),
            "db.protect_tables",
        ),
    ];
    for (payload, policy) in &blocked {
        let (run, document) = pg.run("guarded_delete", payload.clone());
        assert_eq!(run.code, 3, "{payload}: {}{}", run.stdout, run.stderr);
        assert_eq!(document["run"]["decision"], "BLOCK");
        let blocking: Vec<&str> = document["run"]["policy_results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["status"] == "BLOCK")
            .map(|r| r["policy"].as_str().unwrap())
            .collect();
        assert_eq!(blocking, [*policy], "{payload}");
        let receipt = pg.project.receipt(&run_id(&run));
        assert_eq!(receipt["actions_taken"], json!([]), "{payload}");
        assert_eq!(counts(&pg), before, "{payload}");
    }
    assert_eq!(pg.tables(), tables);

    // With a server that does not exist, a blocked run still just blocks: nothing connected.
    let nowhere = "postgres://enact:unused@127.0.0.1:1/nowhere";
    let run = pg.project.enact_with(
        &[
            "run",
            "guarded_delete",
            "--payload",
            &blocked[0].0.to_string(),
        ],
        &[("DATABASE_URL", nowhere)],
    );
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);

    // The same workflow passes a scoped delete on an unprotected table.
    let (run, _) = pg.run(
        "guarded_delete",
        json!({"table": "customers", "where": {"id": 4}}),
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(pg.count("customers"), 4);
}

// ---------------------------------------------------------------------------------------------
// Credentials

#[test]
fn a_missing_database_url_is_a_usage_error_naming_the_variable() {
    let pg = Pg::new();
    let run = pg.project.enact_with(
        &[
            "run",
            "pg_delete",
            "--payload",
            r#"{"table": "customers", "where": {"id": 1}}"#,
        ],
        &[("DATABASE_URL", "")],
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("`DATABASE_URL`"), "{}", run.stderr);
    assert!(run.stderr.contains("not set"), "{}", run.stderr);
    assert!(run.stderr.contains("system `db`"), "{}", run.stderr);
    let receipts = std::fs::read_dir(pg.project.path("receipts"))
        .map(|entries| entries.count())
        .unwrap_or(0);
    assert_eq!(receipts, 0, "nothing ran, so no receipt");
    assert_eq!(pg.count("customers"), 5);
    // A dry run touches nothing and needs no credentials.
    let dry = pg.project.enact_with(
        &[
            "run",
            "pg_delete",
            "--payload",
            r#"{"table": "customers", "where": {"id": 1}}"#,
            "--dry-run",
        ],
        &[("DATABASE_URL", "")],
    );
    assert_eq!(dry.code, 0, "{}{}", dry.stdout, dry.stderr);
}

#[test]
fn a_wrong_dsn_fails_the_step_and_never_shows_the_password() {
    let pg = Pg::new();
    let port = PgServer::get().port;
    let password = "s3cr3t-Pa55word";
    let wrong = [
        format!("postgres://postgres:{password}@127.0.0.1:{port}/no_such_database"),
        format!("postgres://postgres:{password}@127.0.0.1:1/shop"),
        format!("postgres://postgres:{password}@127.0.0.1:{port}/shop?sslmode=bogus"),
        format!("host=127.0.0.1 port={port} user=postgres password={password} dbname=nowhere"),
    ];
    for dsn in &wrong {
        let run = pg.project.enact_with(
            &[
                "run",
                "pg_delete",
                "--payload",
                r#"{"table": "customers", "where": {"id": 1}}"#,
                "--json",
            ],
            &[("DATABASE_URL", dsn)],
        );
        assert_eq!(run.code, 4, "{dsn}: {}{}", run.stdout, run.stderr);
        assert!(!run.stdout.contains(password), "{}", run.stdout);
        assert!(!run.stderr.contains(password), "{}", run.stderr);
        let id = run_id(&run);
        let receipt = std::fs::read_to_string(pg.project.receipt_path(&id)).unwrap();
        assert!(!receipt.contains(password), "{receipt}");
        let document: Json = serde_json::from_str(&run.stdout).unwrap();
        let error = document["run"]["actions_taken"][0]["error"]
            .as_str()
            .unwrap();
        assert!(error.contains("`DATABASE_URL`"), "{error}");
        assert!(
            error.contains("cannot connect") || error.contains("not valid"),
            "{error}"
        );
        let shown = pg.enact(&["show", &id]);
        assert!(!shown.stdout.contains(password));
    }
    assert_eq!(pg.count("customers"), 5);
}

// ---------------------------------------------------------------------------------------------
// Types, below the binary and through it

const KINDS: &str = r#"
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN price AS numeric(8,2) CHECK (VALUE >= 0);
CREATE DOMAIN document AS json;
CREATE TABLE kinds (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision, n numeric, p price,
  b boolean, t text, vc varchar(10), c char(5), bin bytea, u uuid, d date, tm time,
  ts timestamp, tz timestamptz, j json, jb jsonb, m mood, jd document,
  twice numeric GENERATED ALWAYS AS (n * 2) STORED
);
INSERT INTO kinds (i2, i4, i8, f4, f8, n, p, b, t, vc, c, bin, u, d, tm, ts, tz, j, jb, m, jd) VALUES
  (-32768, 2147483647, 9223372036854775807, 0.1, 5e-324,
   123456789012345678901234567890.000000000000000000001, 0.50, true,
   E'tab\there "quotes" \\ backslash', 'ten chars!', 'ab', '\x00010203ff',
   'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '0044-03-15 BC', '24:00:00',
   '1999-12-31 23:59:59.999999', '2024-05-01 12:00:00.5+02',
   '{"b": 1,  "a": [1, 2]}', '{"b": 1, "a": [true, null]}', 'happy', '{"d":  1}'),
  (0, -1, -9223372036854775808, 'Infinity', '-Infinity', 'NaN', 0, false, '', '', '     ',
   '\x', '00000000-0000-0000-0000-000000000000', 'infinity', '00:00:00', '-infinity',
   'infinity', 'null', '[]', 'sad', '[]'),
  (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL),
  (1, 2, 9007199254740993, -0.5, 'NaN', '-Infinity', 999999.99, NULL, 'Ωmega ✓', 'ü', 'abcde',
   '\xdeadbeef', NULL, '10000-01-01', '12:34:56.000001', '10000-01-01 00:00:00',
   '0044-03-15 12:00:00+00 BC', '{}', '"text"', 'ok', '"x"');
"#;

#[test]
fn every_supported_type_reads_as_documented() {
    let pg = Pg::new();
    pg.sql(KINDS);
    let c = pg.connector();
    let rows = select(&c, json!({"table": "kinds"}));
    assert_eq!(rows.len(), 4);
    assert_eq!(
        rows[0],
        json!({
            "id": 1, "i2": -32768, "i4": 2147483647, "i8": {"$int": "9223372036854775807"},
            "f4": 0.10000000149011612, "f8": 5e-324,
            "n": "123456789012345678901234567890.000000000000000000001", "p": "0.50",
            "b": true, "t": "tab\there \"quotes\" \\ backslash", "vc": "ten chars!",
            "c": "ab   ", "bin": {"$blob_base64": "AAECA/8="},
            "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "d": "0044-03-15 BC",
            "tm": "24:00:00", "ts": "1999-12-31T23:59:59.999999",
            "tz": "2024-05-01T10:00:00.5Z", "j": "{\"b\": 1,  \"a\": [1, 2]}",
            "jb": "{\"a\": [true, null], \"b\": 1}", "m": "happy", "jd": "{\"d\":  1}",
            "twice": "246913578024691357802469135780.000000000000000000002",
        })
    );
    assert_eq!(rows[1]["f4"], json!({"$real": "Infinity"}));
    assert_eq!(rows[1]["f8"], json!({"$real": "-Infinity"}));
    assert_eq!(rows[1]["n"], "NaN");
    assert_eq!(rows[1]["d"], "infinity");
    assert_eq!(rows[1]["ts"], "-infinity");
    assert_eq!(rows[1]["bin"], json!({"$blob_base64": ""}));
    assert!(
        rows[2]
            .as_object()
            .unwrap()
            .iter()
            .all(|(k, v)| k == "id" || v.is_null())
    );
    assert_eq!(rows[3]["i8"], json!({"$int": "9007199254740993"}));
    assert_eq!(rows[3]["tz"], "0044-03-15T12:00:00Z BC");
    assert_eq!(rows[3]["tm"], "12:34:56.000001");
    assert_eq!(rows[3]["ts"], "10000-01-01T00:00:00");

    // Every form is accepted back where it came from.
    let found = select(
        &c,
        json!({"table": "kinds", "where": {"n": "123456789012345678901234567890.000000000000000000001",
               "tz": "2024-05-01T12:00:00.5+02:00", "u": "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
               "bin": {"$blob_base64": "AAECA/8="}, "i8": {"$int": "9223372036854775807"}, "m": "happy"}}),
    );
    assert_eq!(found.len(), 1);
}

#[test]
fn every_supported_type_survives_delete_update_and_rollback_through_receipts() {
    let pg = Pg::new();
    pg.sql(KINDS);
    let before = pg.dump("kinds");
    let update = pg.pass(
        "pg_update",
        json!({"table": "kinds", "where": {"id": {"in": [1, 2, 3, 4]}},
               "set": {"i2": 7, "f4": 2.5, "n": "1.5", "p": 3.0, "b": false, "t": "changed",
                       "c": "z", "bin": {"$blob_base64": "AA=="}, "u": "00000000-0000-0000-0000-000000000001",
                       "d": "2020-02-29", "tm": "01:02:03", "ts": "2020-01-01T00:00:00",
                       "tz": "2030-01-01T00:00:00Z", "j": "[1]", "jb": "{\"k\": 1}", "m": "ok",
                       "jd": "{\"d\": 2}"}}),
    );
    assert_ne!(pg.dump("kinds"), before);
    let delete = pg.pass(
        "pg_delete",
        json!({"table": "kinds", "where": {"id": {"gte": 0}}}),
    );
    assert_eq!(pg.count("kinds"), 0);
    pg.rollback(&delete);
    pg.rollback(&update);
    assert_eq!(pg.dump("kinds"), before);
    // The generated identity kept its values, and the next one still comes from the sequence.
    pg.pass(
        "pg_insert",
        json!({"table": "kinds", "values": {"t": "new"}}),
    );
    assert_eq!(pg.count("kinds"), 5);
}

#[test]
fn a_json_column_can_be_updated_and_matched_though_json_has_no_equality() {
    let pg = Pg::new();
    pg.sql("CREATE DOMAIN document AS json; CREATE TABLE docs (id int PRIMARY KEY, body json, d document)");
    pg.sql(r#"INSERT INTO docs VALUES (1, '{"a":  1}', '[1]'), (2, '[]', '[2]')"#);
    let before = pg.dump("docs");
    let c = pg.connector();
    // Compared as their text, exactly as stored: `where` and `order_by` on either column.
    let found = select(
        &c,
        json!({"table": "docs", "where": {"body": "{\"a\":  1}", "d": {"in": ["[1]", "[3]"]}}}),
    );
    assert_eq!(found, [json!({"id": 1, "body": "{\"a\":  1}", "d": "[1]"})]);
    let none = select(
        &c,
        json!({"table": "docs", "where": {"body": "{\"a\": 1}"}}),
    );
    assert!(none.is_empty(), "{none:?}");
    let ordered = select(&c, json!({"table": "docs", "order_by": ["-d"]}));
    assert_eq!(ordered[0]["id"], 2);

    let set = json!({"table": "docs", "where": {"body": "{\"a\":  1}"}, "set": {"body": "{\"a\": 2}", "d": "{}"}});
    let outcome = execute(&c, "update_row", set.clone()).unwrap();
    assert_eq!(outcome.output["updated"], 1);
    let again = execute(
        &c,
        "update_row",
        json!({"table": "docs", "where": {"id": 1}, "set": {"body": "{\"a\": 2}", "d": "{}"}}),
    )
    .unwrap();
    assert_eq!(again.already_done, Some("unchanged"));
    c.undo(
        "update_row",
        &json!({}),
        &outcome.output,
        &outcome.rollback_data,
    )
    .unwrap();
    assert_eq!(pg.dump("docs"), before);

    // An insert retried over the row it made is already done: its values compare as text too.
    let values = json!({"table": "docs", "values": {"id": 3, "body": "{}", "d": "[3]"}});
    execute(&c, "insert_row", values.clone()).unwrap();
    let retry = execute(&c, "insert_row", values).unwrap();
    assert_eq!(retry.already_done, Some("exists"));
}

#[test]
fn an_unsupported_column_type_is_refused_naming_the_column_and_type() {
    let pg = Pg::new();
    pg.sql(
        "CREATE TABLE shifts (id int PRIMARY KEY, length interval, tags text[]);
            INSERT INTO shifts VALUES (1, '8 hours', '{a,b}')",
    );
    let c = pg.connector();
    for (action, args) in [
        ("select_rows", json!({"table": "shifts"})),
        ("delete_row", json!({"table": "shifts", "where": {"id": 1}})),
        (
            "insert_row",
            json!({"table": "shifts", "values": {"id": 2}}),
        ),
    ] {
        let mut journaled = false;
        let error = c
            .execute(action, &args, &mut |_| {
                journaled = true;
                Ok(())
            })
            .unwrap_err();
        let ConnectorError::Refused(message) = error else {
            panic!("{action}: expected a refusal, got {error:?}")
        };
        assert!(
            message.contains("column `length` of `shifts` has type interval"),
            "{message}"
        );
        assert!(!journaled, "refused before anything was journaled");
    }
    assert_eq!(pg.count("shifts"), 1);
}

#[test]
fn a_blob_goes_only_into_bytea_and_bytea_takes_only_blobs() {
    let pg = Pg::new();
    let c = pg.connector();
    let error = execute(
        &c,
        "update_row",
        json!({"table": "customers", "where": {"id": 1}, "set": {"avatar": "\\x41"}}),
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("bytea column takes bytes"),
        "{error}"
    );
    let error = execute(
        &c,
        "update_row",
        json!({"table": "customers", "where": {"id": 1}, "set": {"name": {"$blob_base64": "QQ=="}}}),
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("a blob goes only into a bytea column"),
        "{error}"
    );
    assert_eq!(pg.count("customers"), 5);
}

// ---------------------------------------------------------------------------------------------
// Schemas and names

#[test]
fn one_schema_per_system_chosen_by_the_search_path_and_names_are_exact() {
    let pg = Pg::new();
    pg.sql(
        "CREATE SCHEMA sales; CREATE TABLE sales.orders (id int PRIMARY KEY, total numeric);
            INSERT INTO sales.orders VALUES (1, 10)",
    );
    // A table named like a catalog table: statements name the schema, so pg_catalog's own
    // `pg_type` cannot stand in for it.
    pg.sql("CREATE TABLE public.pg_type (id int PRIMARY KEY, v text)");
    let long = "t".repeat(63);
    pg.sql(&format!("CREATE TABLE {long} (id int PRIMARY KEY)"));

    let public = pg.connector();
    let error = execute(&public, "select_rows", json!({"table": "orders"})).unwrap_err();
    assert!(
        error.to_string().contains("has no table `orders`"),
        "{error}"
    );
    let error = execute(&public, "select_rows", json!({"table": "sales.orders"})).unwrap_err();
    assert!(
        error.to_string().contains("has no table `sales.orders`"),
        "{error}"
    );
    let longer = format!("{long}x");
    let error = execute(&public, "select_rows", json!({"table": longer})).unwrap_err();
    assert!(error.to_string().contains("has no table"), "{error}");
    execute(&public, "select_rows", json!({"table": long})).unwrap();
    // A table without columns is still a table.
    pg.sql("CREATE TABLE bare (); INSERT INTO bare DEFAULT VALUES");
    assert_eq!(select(&public, json!({"table": "bare"})), [json!({})]);

    let inserted = execute(
        &public,
        "insert_row",
        json!({"table": "pg_type", "values": {"id": 1, "v": "mine"}}),
    )
    .unwrap();
    assert_eq!(inserted.output["row"], json!({"id": 1, "v": "mine"}));
    assert_eq!(pg.dump("public.pg_type"), ["(1,mine)".to_string()]);

    let sales = PostgresConnector::connect(&format!("{}?options=-c%20search_path%3Dsales", pg.url))
        .unwrap();
    let rows = select(&sales, json!({"table": "orders"}));
    assert_eq!(rows, [json!({"id": 1, "total": "10"})]);
    let error = execute(&sales, "select_rows", json!({"table": "customers"})).unwrap_err();
    assert!(
        error.to_string().contains("has no table `customers`"),
        "{error}"
    );
}

#[test]
fn rollback_restores_rows_only_into_the_schema_they_came_from() {
    let pg = Pg::new();
    pg.sql(
        "CREATE SCHEMA staging;
         CREATE TABLE staging.customers (LIKE public.customers INCLUDING ALL);
         INSERT INTO staging.customers SELECT * FROM public.customers;",
    );
    let staging_before = pg.dump("staging.customers");
    let staging =
        PostgresConnector::connect(&format!("{}?options=-c%20search_path%3Dstaging", pg.url))
            .unwrap();
    let deleted = execute(
        &staging,
        "delete_row",
        json!({"table": "customers", "where": {"id": 2}}),
    )
    .unwrap();
    assert_eq!(deleted.rollback_data["schema"], "staging");

    // The same table name through the default search path is another table: nothing is
    // reinserted there, though it lacks the row too.
    pg.sql("DELETE FROM public.customers WHERE id = 2");
    let public_before = pg.dump("public.customers");
    let error = pg
        .connector()
        .undo(
            "delete_row",
            &json!({}),
            &deleted.output,
            &deleted.rollback_data,
        )
        .unwrap_err();
    let ConnectorError::CannotUndo(message) = &error else {
        panic!("expected CannotUndo, got {error:?}")
    };
    assert!(
        message.contains("schema \"staging\"") && message.contains("schema \"public\""),
        "{message}"
    );
    assert_eq!(pg.dump("public.customers"), public_before);

    staging
        .undo(
            "delete_row",
            &json!({}),
            &deleted.output,
            &deleted.rollback_data,
        )
        .unwrap();
    assert_eq!(pg.dump("staging.customers"), staging_before);
}

#[test]
fn the_config_names_the_variable_never_the_connection_string() {
    let pg = Pg::new();
    let payload = r#"{"table": "customers", "where": {"id": 1}}"#;
    pg.project.write(
        "enact.yaml",
        "systems:\n  db: {connector: postgres, dsn_env: 'postgres://app:hunter2hunter2@db/shop', allowed_actions: [delete_row]}\nworkflows: [./workflows]\n",
    );
    let run = pg.enact(&["run", "pg_delete", "--payload", payload]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("`dsn_env` must name an environment variable"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("hunter2hunter2"), "{}", run.stderr);

    pg.project.write(
        "enact.yaml",
        "systems:\n  db: {connector: postgres, allowed_actions: [delete_row]}\nworkflows: [./workflows]\n",
    );
    let run = pg.enact(&["run", "pg_delete", "--payload", payload]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("needs `dsn_env`"), "{}", run.stderr);
    assert_eq!(pg.count("customers"), 5);
}
