//! The PostgreSQL receipt store (SPEC §8, `receipts: postgres://user@host:port/database`): one
//! place for the receipts of agents on many machines. The same canonical JSON, signatures,
//! chain and signed head as the directory store, so a receipt exported from either verifies
//! the same way; `enact ls / show / verify / rollback` work unchanged against it.
//!
//! Appends are serialised across processes and machines by a transaction-scoped advisory
//! lock ([`schema::APPEND_LOCK`]): under it the append reads the signed head, checks that the
//! newest row is the one the head records, chains, signs, inserts the row and replaces the
//! head, then commits. The row's primary key (its sequence) and unique run id refuse a
//! second writer that bypassed the lock. Every statement is sent with its parameter types
//! (`*_typed`) or as a simple query, so each costs one round trip instead of three (prepare,
//! execute, close): an append holds the lock for three (lock and reads, insert, commit).
//!
//! The password comes from `PGPASSWORD`, never from the URL; no message shows one. Connections are unencrypted (`NoTls`): reach a remote server
//! over a private network or a tunnel.
//!
//! `schema.rs` holds the tables, `columns.rs` the row's derived columns, `check.rs` the
//! whole-store verification, `address.rs` the URL.

mod address;
mod check;
mod columns;
mod schema;

use std::sync::{Mutex, MutexGuard};

use ::postgres::error::SqlState;
use ::postgres::types::Type;
use ::postgres::{Client, GenericClient, IsolationLevel, NoTls, SimpleQueryMessage};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value as Json;

use self::columns::{Columns, SELECT_COLUMNS, SELECTED, micros_of, precise_time_text};
use super::error::ReceiptError;
use super::head::{HEAD_VERSION, SignedHead};
use super::journal;
use super::model::Receipt;
use super::run_id::RunId;
use super::signing::Signer;
use super::store::{Journal, ReceiptStore, Summary};
use super::verify::{ChainHead, VerifyReport};

/// Receipts in a PostgreSQL database. One connection, shared by the threads of a process.
pub struct PostgresStore {
    client: Mutex<Client>,
    /// `host:port/database`, for messages: never a password.
    address: String,
}

/// The signed head and the newest row's place in the chain, in one row (NULLs for what is
/// missing). Sent as a simple query, so that an append can send it right after taking the
/// lock in the same round trip.
const CHAIN_ENDS: &str = "
SELECT head.sequence, head.run_id, head.sha256, head.signature,
    newest.sequence, newest.run_id, newest.chain_sha256
FROM (SELECT 1) AS one
LEFT JOIN enact_receipt_head AS head ON true
LEFT JOIN LATERAL (SELECT sequence, run_id, chain_sha256 FROM enact_receipts
    ORDER BY sequence DESC LIMIT 1) AS newest ON true";

/// The receipt's row and the new head, in one statement.
const INSERT_RECEIPT: &str = "
WITH receipt AS (
    INSERT INTO enact_receipts (sequence, run_id, kind, workflow, actor, decision, status,
        original_run_id, started_at, recorded_at, actions, document, chain_sha256)
    VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8, $9::timestamptz,
        -- The server's clock, but never before the run's own times or the previous record
        -- (clocks differ between machines and can step back).
        GREATEST(clock_timestamp(), $9::timestamptz, $10::timestamptz,
            (SELECT recorded_at FROM enact_receipts ORDER BY sequence DESC LIMIT 1)),
        $11, $12, $13)
    RETURNING sequence, run_id
)
INSERT INTO enact_receipt_head (id, sequence, run_id, sha256, signature)
SELECT true, sequence, run_id, $13, $14 FROM receipt
ON CONFLICT (id) DO UPDATE SET sequence = EXCLUDED.sequence, run_id = EXCLUDED.run_id,
    sha256 = EXCLUDED.sha256, signature = EXCLUDED.signature";

impl PostgresStore {
    /// Connects to the store at `url` (`postgres://user@host:port/database`) with the password
    /// in `PGPASSWORD`, if any, and creates its tables when they are missing. A URL holding a
    /// password is refused.
    pub fn open(url: &str) -> Result<PostgresStore, ReceiptError> {
        let password = std::env::var_os("PGPASSWORD").map(|value| value.into_encoded_bytes());
        PostgresStore::connect(url, password.as_deref())
    }

    /// [`PostgresStore::open`] with the password given (`None`: no password).
    pub fn connect(url: &str, password: Option<&[u8]>) -> Result<PostgresStore, ReceiptError> {
        let (config, address) = address::configure(url, password)?;
        let failed = |action: &'static str, message: String| ReceiptError::Postgres {
            store: format!("postgres {address}"),
            action,
            message,
        };
        let mut client = config.connect(NoTls).map_err(|error| {
            failed(
                "connect",
                format!(
                    "{}; is the server running and reachable, does the database exist, and \
                     is PGPASSWORD set if the server asks for a password?",
                    error_text(&error)
                ),
            )
        })?;
        schema::ensure(&mut client)
            .map_err(|error| failed("create its tables", error_text(&error)))?;
        Ok(PostgresStore {
            client: Mutex::new(client),
            address,
        })
    }

    fn client(&self) -> Result<MutexGuard<'_, Client>, ReceiptError> {
        self.client.lock().map_err(|_| ReceiptError::Postgres {
            store: self.describe(),
            action: "use the connection",
            message: "a thread failed while using it, so its state is unknown".to_string(),
        })
    }

    fn failed(&self, action: &'static str) -> impl Fn(::postgres::Error) -> ReceiptError + '_ {
        move |error| ReceiptError::Postgres {
            store: self.describe(),
            action,
            message: error_text(&error),
        }
    }

    fn damaged(&self, message: impl Into<String>) -> ReceiptError {
        ReceiptError::Damaged {
            store: self.describe(),
            message: message.into(),
        }
    }

    fn journal_label(&self, run_id: &RunId) -> String {
        format!("postgres:{}/enact_journal/{run_id}", self.address)
    }

    /// The signed head (unverified) and the newest row's place, from the answer to
    /// [`CHAIN_ENDS`] (the last row of `messages`).
    fn chain_ends(
        &self,
        messages: &[SimpleQueryMessage],
    ) -> Result<(Option<SignedHead>, Option<ChainHead>), ReceiptError> {
        let row = messages
            .iter()
            .rev()
            .find_map(|message| match message {
                SimpleQueryMessage::Row(row) => Some(row),
                _ => None,
            })
            .ok_or_else(|| self.damaged("the server did not answer with the chain's ends"))?;
        let text = |index: usize| -> Result<Option<String>, ReceiptError> {
            row.try_get(index)
                .map(|value| value.map(str::to_string))
                .map_err(self.failed("read the head"))
        };
        let sequence = |index: usize| -> Result<Option<u64>, ReceiptError> {
            text(index)?
                .map(|value| {
                    value.parse::<u64>().map_err(|_| {
                        self.damaged(format!("a sequence reads `{value}`, not a sequence"))
                    })
                })
                .transpose()
        };
        let head = match (sequence(0)?, text(1)?, text(2)?, text(3)?) {
            (Some(sequence), Some(run_id), Some(sha256), Some(signature)) => Some(SignedHead {
                version: HEAD_VERSION,
                sequence,
                run_id,
                sha256,
                signature,
            }),
            _ => None,
        };
        let newest = match (sequence(4)?, text(5)?, text(6)?) {
            (Some(sequence), Some(run_id), Some(sha256)) => Some(ChainHead {
                sequence,
                run_id,
                sha256,
            }),
            _ => None,
        };
        Ok((head, newest))
    }

    /// The signed head (unverified) and the newest row's place, read in `client`'s
    /// transaction.
    fn read_chain_ends(
        &self,
        client: &mut impl GenericClient,
    ) -> Result<(Option<SignedHead>, Option<ChainHead>), ReceiptError> {
        let messages = client
            .simple_query(CHAIN_ENDS)
            .map_err(self.failed("read the head"))?;
        self.chain_ends(&messages)
    }

    /// Refuses to continue a chain whose head does not verify or does not match the newest
    /// row: appending would bury the damage under a valid-looking tail.
    fn check_before_append(
        &self,
        head: Option<&SignedHead>,
        newest: Option<&ChainHead>,
        signer: &Signer,
    ) -> Result<(), ReceiptError> {
        match (head, newest) {
            (Some(head), _) if !head.verifies(signer) => Err(self.damaged(
                "the head (table enact_receipt_head) does not carry a valid signature: it was \
                 edited, or this is not the secret the store was signed with",
            )),
            (Some(head), newest) => {
                if newest == Some(&head.chain()) {
                    return Ok(());
                }
                Err(self.damaged(format!(
                    "the newest receipt row ({}) is not the one the signed head records \
                     (sequence {}, run {}): rows were deleted or added outside Enact",
                    newest.map_or_else(
                        || "none".to_string(),
                        |newest| format!("sequence {}, run {}", newest.sequence, newest.run_id)
                    ),
                    head.sequence,
                    head.run_id
                )))
            }
            (None, Some(_)) => Err(self.damaged(
                "the head (table enact_receipt_head) is missing although the store holds \
                 receipts, so the chain cannot be continued",
            )),
            (None, None) => Ok(()),
        }
    }

    fn parse_document(&self, run_id: &str, document: &str) -> Result<Json, ReceiptError> {
        serde_json::from_str(document).map_err(|error| {
            self.damaged(format!(
                "the document of run {run_id} is not valid JSON: {error}"
            ))
        })
    }
}

impl ReceiptStore for PostgresStore {
    fn describe(&self) -> String {
        format!("postgres {}", self.address)
    }

    fn location_of(&self, run_id: &RunId) -> String {
        format!("postgres:{}/{run_id}", self.address)
    }

    fn append(&self, mut receipt: Receipt, signer: &Signer) -> Result<Receipt, ReceiptError> {
        let run_id: RunId = receipt.run_id.parse()?;
        receipt.run_id = run_id.to_string();
        let mut client = self.client()?;
        // Read committed: each statement sees what committed before it began, so the reads
        // after the lock see the previous writer's receipt.
        let mut transaction = client
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start()
            .map_err(self.failed("start a transaction"))?;
        // The lock and the reads in one round trip; each statement takes its own snapshot,
        // so the reads see the receipt of the writer that held the lock before.
        let messages = transaction
            .simple_query(&format!(
                "SELECT pg_advisory_xact_lock({}); {CHAIN_ENDS}",
                schema::APPEND_LOCK
            ))
            .map_err(self.failed("take the append lock"))?;
        let (head, newest) = self.chain_ends(&messages)?;
        self.check_before_append(head.as_ref(), newest.as_ref(), signer)?;

        crate::receipt::head::link_after(&mut receipt, head.as_ref())
            .map_err(|message| self.damaged(message))?;
        let sealed = signer.sign(&mut receipt)?;
        let unusable = |message: String| ReceiptError::Canonical {
            what: format!("receipt {run_id}"),
            message,
        };
        // What is returned is what a reader will parse (numbers in their canonical form).
        let stored = sealed
            .read_back(receipt)
            .map_err(|error| unusable(error.to_string()))?;
        let columns =
            Columns::of_document(&sealed.document, &sealed.chain_sha256).map_err(unusable)?;
        let document =
            String::from_utf8(sealed.document).map_err(|error| unusable(error.to_string()))?;
        let started_at = columns.started_at.map(precise_time_text);
        let finished_at = micros_of(&stored.finished_at).map(precise_time_text);
        let head = SignedHead::signed(
            ChainHead {
                sequence: stored.sequence,
                run_id: stored.run_id.clone(),
                sha256: columns.chain_sha256.clone(),
            },
            signer,
        )?;
        transaction
            .execute_typed(
                INSERT_RECEIPT,
                &[
                    (&columns.sequence, Type::INT8),
                    (&columns.run_id, Type::TEXT),
                    (&columns.kind, Type::TEXT),
                    (&columns.workflow, Type::TEXT),
                    (&columns.actor, Type::TEXT),
                    (&columns.decision, Type::TEXT),
                    (&columns.status, Type::TEXT),
                    (&columns.original_run_id, Type::TEXT),
                    (&started_at, Type::TEXT),
                    (&finished_at, Type::TEXT),
                    (&columns.actions, Type::INT4),
                    (&document, Type::TEXT),
                    (&columns.chain_sha256, Type::TEXT),
                    (&head.signature, Type::TEXT),
                ],
            )
            .map_err(|error| {
                let duplicate = error.code() == Some(&SqlState::UNIQUE_VIOLATION)
                    && error
                        .as_db_error()
                        .and_then(|db| db.constraint())
                        .is_some_and(|constraint| constraint.contains("run_id"));
                if duplicate {
                    ReceiptError::DuplicateRun {
                        run_id: run_id.to_string(),
                        location: self.location_of(&run_id),
                    }
                } else {
                    self.failed("insert the receipt")(error)
                }
            })?;
        transaction
            .commit()
            .map_err(self.failed("commit the receipt"))?;
        Ok(stored)
    }

    fn get(&self, run_id: &RunId) -> Result<Option<Json>, ReceiptError> {
        let id = run_id.to_string();
        let row = self
            .client()?
            .query_typed_opt(
                "SELECT document FROM enact_receipts WHERE run_id = $1::uuid",
                &[(&id, Type::TEXT)],
            )
            .map_err(self.failed("read a receipt"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let document: String = row.try_get(0).map_err(self.failed("read a receipt"))?;
        self.parse_document(&id, &document).map(Some)
    }

    fn summaries(&self) -> Result<Vec<Summary>, ReceiptError> {
        let rows = self
            .client()?
            .query_typed(
                &format!(
                    "SELECT {SELECT_COLUMNS}, \
                     (extract(epoch FROM recorded_at) * 1000000)::bigint \
                     FROM enact_receipts ORDER BY sequence"
                ),
                &[],
            )
            .map_err(self.failed("list the receipts"))?;
        rows.iter()
            .map(|row| {
                let columns = Columns::from_row(row).map_err(self.failed("list the receipts"))?;
                let recorded_at: i64 = row
                    .try_get(SELECTED)
                    .map_err(self.failed("list the receipts"))?;
                columns
                    .summary(recorded_at)
                    .map_err(|message| self.damaged(message))
            })
            .collect()
    }

    fn receipts_since(
        &self,
        since: DateTime<Utc>,
        workflow: Option<&str>,
    ) -> Result<Vec<Json>, ReceiptError> {
        let since = since.to_rfc3339_opts(SecondsFormat::Micros, true);
        // A start time PostgreSQL could not hold is NULL and counts: fails closed.
        let recent = "(started_at >= $1::timestamptz OR started_at IS NULL)";
        let mut client = self.client()?;
        let rows = match workflow {
            Some(workflow) => client.query_typed(
                &format!(
                    "SELECT run_id::text, document FROM enact_receipts \
                     WHERE workflow = $2 AND {recent} ORDER BY sequence"
                ),
                &[(&since, Type::TEXT), (&workflow, Type::TEXT)],
            ),
            None => client.query_typed(
                &format!(
                    "SELECT run_id::text, document FROM enact_receipts \
                     WHERE {recent} ORDER BY sequence"
                ),
                &[(&since, Type::TEXT)],
            ),
        }
        .map_err(self.failed("read the receipt history"))?;
        rows.iter()
            .map(|row| {
                let run_id: String = row
                    .try_get(0)
                    .map_err(self.failed("read the receipt history"))?;
                let document: String = row
                    .try_get(1)
                    .map_err(self.failed("read the receipt history"))?;
                self.parse_document(&run_id, &document)
            })
            .collect()
    }

    fn verify(&self, signer: &Signer) -> VerifyReport {
        match self.verify_store(signer) {
            Ok(report) => report,
            Err(error) => VerifyReport::unreadable(&self.describe(), &error),
        }
    }

    fn journal_append(
        &self,
        run_id: &RunId,
        entry: &Json,
        signer: &Signer,
    ) -> Result<(), ReceiptError> {
        let fields = journal::fields_of(entry)?;
        let id = run_id.to_string();
        let mut client = self.client()?;
        // One process writes a run's journal, so the next line number cannot change between
        // these two statements; the primary key refuses a second writer anyway.
        let next: i32 = client
            .query_typed_one(
                "SELECT coalesce(max(line) + 1, 0) FROM enact_journal WHERE run_id = $1::uuid",
                &[(&id, Type::TEXT)],
            )
            .and_then(|row| row.try_get(0))
            .map_err(self.failed("read the journal"))?;
        let line = usize::try_from(next).map_err(|_| ReceiptError::Journal {
            journal: self.journal_label(run_id),
            line: 0,
            message: format!("has a negative line number ({next})"),
        })?;
        let sealed = journal::seal(fields, line, run_id, signer)?;
        let sealed = String::from_utf8(sealed).map_err(|error| ReceiptError::Canonical {
            what: "a journal entry".to_string(),
            message: error.to_string(),
        })?;
        client
            .execute_typed(
                "INSERT INTO enact_journal (run_id, line, entry) VALUES ($1::uuid, $2, $3)",
                &[
                    (&id, Type::TEXT),
                    (&next, Type::INT4),
                    (&sealed, Type::TEXT),
                ],
            )
            .map_err(self.failed("append to the journal"))?;
        Ok(())
    }

    fn journal_read(
        &self,
        run_id: &RunId,
        signer: &Signer,
    ) -> Result<Option<Journal>, ReceiptError> {
        let rows = self
            .client()?
            .query_typed(
                "SELECT entry FROM enact_journal WHERE run_id = $1::uuid ORDER BY line",
                &[(&run_id.to_string(), Type::TEXT)],
            )
            .map_err(self.failed("read the journal"))?;
        if rows.is_empty() {
            return Ok(None);
        }
        let label = self.journal_label(run_id);
        let mut entries = Vec::with_capacity(rows.len());
        // Entries are checked against their position, not their stored line number: a row
        // removed from the middle fails the MAC of the rows after it, as in a file.
        for (index, row) in rows.iter().enumerate() {
            let entry: String = row.try_get(0).map_err(self.failed("read the journal"))?;
            entries.push(journal::unseal(
                &label,
                index,
                entry.as_bytes(),
                run_id,
                signer,
            )?);
        }
        Ok(Some(Journal {
            entries,
            torn_line_ignored: false,
        }))
    }

    fn journal_remove(&self, run_id: &RunId) -> Result<(), ReceiptError> {
        self.client()?
            .execute_typed(
                "DELETE FROM enact_journal WHERE run_id = $1::uuid",
                &[(&run_id.to_string(), Type::TEXT)],
            )
            .map_err(self.failed("remove the journal"))?;
        Ok(())
    }

    fn journals(&self) -> Result<Vec<RunId>, ReceiptError> {
        let rows = self
            .client()?
            .query_typed("SELECT DISTINCT run_id::text FROM enact_journal", &[])
            .map_err(self.failed("list the journals"))?;
        let mut run_ids = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.try_get(0).map_err(self.failed("list the journals"))?;
            run_ids.push(id.parse()?);
        }
        // Sorted here, by RunId's own order: text order in SQL follows the database's collation.
        run_ids.sort();
        Ok(run_ids)
    }
}

/// A driver error with its cause: the server's own message for a database error (which never
/// holds the password), else the kind and its source.
fn error_text(error: &::postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        let mut text = format!("{}: {}", db.severity(), db.message());
        if let Some(hint) = db.hint() {
            text.push_str(&format!(" (hint: {hint})"));
        }
        return text;
    }
    match std::error::Error::source(error) {
        Some(source) => format!("{error}: {source}"),
        None => error.to_string(),
    }
}
