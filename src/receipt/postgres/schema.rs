//! The store's tables, created on first open. Every name starts with `enact_` and lives in
//! the first schema of the connection's `search_path`.
//!
//! - `enact_receipts`: one row per receipt, append-only. `document` is the RFC 8785 canonical
//!   JSON exactly as signed (the bytes the directory store writes, minus the newline); the
//!   other columns are derived from it at append time so that `enact ls` and `history.count`
//!   read columns and indexes, never documents. `enact verify` checks every column against
//!   its signed document. A trigger refuses UPDATE, DELETE and TRUNCATE: Enact has no such
//!   path, and a stray statement should not have one either.
//! - `enact_receipt_head`: one row, the [`SignedHead`](crate::receipt::head::SignedHead) of
//!   the newest receipt, replaced by every append in the same transaction: deleting the newest
//!   rows (with the trigger disabled) is caught by `verify`, as with the directory store.
//! - `enact_journal`: the journals of runs in progress, one row per entry.

use ::postgres::Client;
use ::postgres::types::Type;

/// The advisory lock every append holds for its transaction, serialising writers across
/// processes and machines ("enact/ap" as a 64-bit key).
pub(super) const APPEND_LOCK: i64 = i64::from_be_bytes(*b"enact/ap");
/// The advisory lock around creating the tables, so that processes opening a new store at
/// once do not race on `CREATE`.
const SCHEMA_LOCK: i64 = i64::from_be_bytes(*b"enact/sc");

const TRIGGERS: [&str; 4] = [
    "enact_receipts_append_only",
    "enact_receipts_no_truncate",
    "enact_receipt_head_kept",
    "enact_receipt_head_no_truncate",
];

const CREATE: &str = r#"
CREATE TABLE IF NOT EXISTS enact_receipts (
    sequence        bigint      PRIMARY KEY CHECK (sequence >= 1),
    run_id          uuid        NOT NULL UNIQUE,
    kind            text        NOT NULL,
    workflow        text        NOT NULL,
    actor           text        NOT NULL,
    decision        text        NOT NULL,
    status          text        NOT NULL,
    original_run_id text,
    started_at      timestamptz,
    recorded_at     timestamptz NOT NULL,
    actions         integer     NOT NULL,
    document        text        NOT NULL,
    chain_sha256    text        NOT NULL
);
CREATE INDEX IF NOT EXISTS enact_receipts_started_at ON enact_receipts (started_at);
CREATE INDEX IF NOT EXISTS enact_receipts_workflow_started_at
    ON enact_receipts (workflow, started_at);
CREATE TABLE IF NOT EXISTS enact_receipt_head (
    id        boolean PRIMARY KEY DEFAULT true CHECK (id),
    sequence  bigint  NOT NULL,
    run_id    uuid    NOT NULL,
    sha256    text    NOT NULL,
    signature text    NOT NULL
);
CREATE TABLE IF NOT EXISTS enact_journal (
    run_id uuid    NOT NULL,
    line   integer NOT NULL,
    entry  text    NOT NULL,
    PRIMARY KEY (run_id, line)
);
CREATE OR REPLACE FUNCTION enact_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'Enact receipts are append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING HINT = 'receipts are evidence: no Enact command changes or removes one';
END
$fn$;
DO $do$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'enact_receipts_append_only'
                   AND tgrelid = 'enact_receipts'::regclass) THEN
        CREATE TRIGGER enact_receipts_append_only BEFORE UPDATE OR DELETE ON enact_receipts
            FOR EACH ROW EXECUTE FUNCTION enact_refuse_change();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'enact_receipts_no_truncate'
                   AND tgrelid = 'enact_receipts'::regclass) THEN
        CREATE TRIGGER enact_receipts_no_truncate BEFORE TRUNCATE ON enact_receipts
            FOR EACH STATEMENT EXECUTE FUNCTION enact_refuse_change();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'enact_receipt_head_kept'
                   AND tgrelid = 'enact_receipt_head'::regclass) THEN
        CREATE TRIGGER enact_receipt_head_kept BEFORE DELETE ON enact_receipt_head
            FOR EACH ROW EXECUTE FUNCTION enact_refuse_change();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'enact_receipt_head_no_truncate'
                   AND tgrelid = 'enact_receipt_head'::regclass) THEN
        CREATE TRIGGER enact_receipt_head_no_truncate BEFORE TRUNCATE ON enact_receipt_head
            FOR EACH STATEMENT EXECUTE FUNCTION enact_refuse_change();
    END IF;
END
$do$;
"#;

/// Creates whatever part of the schema is missing. One query when it is all there (every
/// open but the first); otherwise the creation runs under [`SCHEMA_LOCK`], idempotently.
pub(super) fn ensure(client: &mut Client) -> Result<(), ::postgres::Error> {
    if is_complete(client)? {
        return Ok(());
    }
    let mut transaction = client.transaction()?;
    transaction.execute_typed(
        "SELECT pg_advisory_xact_lock($1)",
        &[(&SCHEMA_LOCK, Type::INT8)],
    )?;
    transaction.batch_execute(CREATE)?;
    transaction.commit()
}

fn is_complete(client: &mut Client) -> Result<bool, ::postgres::Error> {
    let triggers: Vec<String> = TRIGGERS.iter().map(ToString::to_string).collect();
    let row = client.query_typed_one(
        "SELECT to_regclass('enact_journal') IS NOT NULL
            AND (SELECT count(*) FROM pg_trigger
                 WHERE tgname = ANY($1)
                   AND tgrelid IN (to_regclass('enact_receipts'), to_regclass('enact_receipt_head')))
                = cardinality($1)",
        &[(&triggers, Type::TEXT_ARRAY)],
    )?;
    row.try_get(0)
}
