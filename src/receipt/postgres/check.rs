//! Verifying a whole PostgreSQL store, in one snapshot: every row's document against the
//! signer (on every core), every column against its document, then the chain and the head.

use ::postgres::types::Type;
use ::postgres::{GenericClient, IsolationLevel};

use super::PostgresStore;
use super::columns::{Columns, SELECT_COLUMNS, SELECTED};
use crate::receipt::error::ReceiptError;
use crate::receipt::parallel::parallel_map;
use crate::receipt::signing::Signer;
use crate::receipt::store::ReceiptStore;
use crate::receipt::verify::{
    ChainLink, Problem, VerifyReport, check_bytes, claimed_link, only_signature_differs,
    verify_chain,
};

/// Rows read and checked at a time: bounds memory on large stores.
const BATCH: i64 = 4096;
const HEAD_LABEL: &str = "table enact_receipt_head";

struct StoredRow {
    columns: Columns,
    document: String,
}

impl PostgresStore {
    pub(super) fn verify_store(&self, signer: &Signer) -> Result<VerifyReport, ReceiptError> {
        let mut client = self.client()?;
        // One snapshot for the head and every row: appends committing meanwhile are not seen
        // half-way (a newer head with older rows would look like a truncated chain).
        let mut snapshot = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(self.failed("start a read-only transaction"))?;
        let mut problems = Vec::new();
        let head = match self.read_chain_ends(&mut snapshot) {
            Ok((Some(head), _)) if head.verifies(signer) => Some(head),
            Ok((Some(_), _)) => {
                problems.push(Problem::new(
                    HEAD_LABEL,
                    None,
                    "the store's head does not carry a valid signature: it was edited, or this \
                     is not the secret the store was signed with",
                ));
                if let Some(report) = self.wrong_secret(&mut snapshot, signer)? {
                    return Ok(report);
                }
                None
            }
            Ok((None, _)) => None,
            Err(error) => {
                problems.push(Problem::new(HEAD_LABEL, None, error.to_string()));
                None
            }
        };
        let mut links = Vec::new();
        let mut checked = 0;
        let mut after = 0_i64;
        loop {
            let rows = self.rows_after(&mut snapshot, after)?;
            let Some(last) = rows.last() else {
                break;
            };
            after = last.columns.sequence;
            checked += rows.len();
            let results =
                parallel_map(&rows, |row, _| check_row(row, signer)).ok_or_else(|| {
                    self.damaged("a worker verifying the receipts stopped unexpectedly")
                })?;
            for (link, found) in results {
                links.extend(link);
                problems.extend(found);
            }
        }
        if head.is_none() && problems.is_empty() && checked > 0 {
            problems.push(Problem::new(
                HEAD_LABEL,
                None,
                "the store's head is missing although the store holds receipts: the newest \
                 receipts could have been deleted without trace",
            ));
        }
        let chain_head = head.as_ref().map(|head| head.chain());
        problems.extend(verify_chain(&links, chain_head.as_ref()));
        Ok(VerifyReport {
            checked,
            problems,
            chain_checked: true,
        })
    }

    fn rows_after(
        &self,
        client: &mut impl GenericClient,
        after: i64,
    ) -> Result<Vec<StoredRow>, ReceiptError> {
        let rows = client
            .query_typed(
                &format!(
                    "SELECT {SELECT_COLUMNS}, document FROM enact_receipts \
                     WHERE sequence > $1 ORDER BY sequence LIMIT {BATCH}"
                ),
                &[(&after, Type::INT8)],
            )
            .map_err(self.failed("read the receipts"))?;
        rows.iter()
            .map(|row| {
                Ok(StoredRow {
                    columns: Columns::from_row(row)?,
                    document: row.try_get(SELECTED)?,
                })
            })
            .collect::<Result<_, ::postgres::Error>>()
            .map_err(self.failed("read the receipts"))
    }

    /// When the head fails: if the newest receipt is intact but for its signature, this is
    /// not the secret the store was signed with, and nothing here can be checked with it.
    fn wrong_secret(
        &self,
        client: &mut impl GenericClient,
        signer: &Signer,
    ) -> Result<Option<VerifyReport>, ReceiptError> {
        let newest = client
            .query_typed_opt(
                "SELECT run_id::text, document FROM enact_receipts ORDER BY sequence DESC LIMIT 1",
                &[],
            )
            .map_err(self.failed("read the newest receipt"))?;
        let Some(row) = newest else {
            return Ok(None);
        };
        let (run_id, document): (String, String) = (|| Ok((row.try_get(0)?, row.try_get(1)?)))()
            .map_err(self.failed("read the newest receipt"))?;
        let name = format!("receipt {run_id}");
        let wrong = matches!(
            check_bytes(&name, document.as_bytes(), signer),
            Err(found) if only_signature_differs(&found)
        );
        Ok(wrong.then(|| VerifyReport {
            checked: 1,
            problems: vec![Problem::new(
                &self.describe(),
                None,
                "neither the head nor the newest receipt verifies with this secret, although \
                 their contents are intact: is the secret (ENACT_SECRET or the variable the \
                 config names) the one this store was signed with?",
            )],
            chain_checked: false,
        }))
    }
}

/// One row: its document's signature, then each column against the signed document.
fn check_row(row: &StoredRow, signer: &Signer) -> (Option<ChainLink>, Vec<Problem>) {
    let name = format!("receipt {}", row.columns.run_id);
    let bytes = row.document.as_bytes();
    let link = match check_bytes(&name, bytes, signer) {
        Ok(link) => link,
        Err(found) => return (claimed_link(&name, bytes), found),
    };
    let problems = match Columns::of_document(bytes, &link.sha256) {
        Ok(signed) => row
            .columns
            .differences(&signed)
            .into_iter()
            .map(|(column, stored, signed)| {
                Problem::new(
                    &name,
                    Some(column),
                    format!(
                        "column `{column}` holds `{stored}`, but the signed receipt says \
                         `{signed}`: the row was changed outside Enact"
                    ),
                )
            })
            .collect(),
        Err(message) => vec![Problem::new(&name, None, message)],
    };
    (Some(link), problems)
}
