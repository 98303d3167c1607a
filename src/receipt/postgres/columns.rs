//! A receipt's row but for its document and append time: derived from the signed document
//! when appending (one derivation, so the columns cannot drift from what was signed), read
//! back for `enact ls`, and compared with the document by `enact verify`.

use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::receipt::outline::Outline;
use crate::receipt::store::Summary;

/// The columns [`Columns::from_row`] reads, in order; queries append their own after them.
pub(super) const SELECT_COLUMNS: &str = "sequence, run_id::text, kind, workflow, actor, \
     decision, status, original_run_id, (extract(epoch FROM started_at) * 1000000)::bigint, \
     actions, chain_sha256";
/// How many columns [`SELECT_COLUMNS`] names: the index of the first column a query adds.
pub(super) const SELECTED: usize = 11;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Columns {
    pub sequence: i64,
    pub run_id: String,
    pub kind: String,
    pub workflow: String,
    /// `actor.email`, or empty.
    pub actor: String,
    pub decision: String,
    pub status: String,
    pub original_run_id: Option<String>,
    /// Microseconds since the Unix epoch; `None` when the receipt's `started_at` is not an
    /// RFC 3339 time of years 1 to 9999 (history then counts the receipt: fails closed).
    pub started_at: Option<i64>,
    /// How many entries `actions_taken` has.
    pub actions: i32,
    pub chain_sha256: String,
}

impl Columns {
    /// The columns of the signed receipt `document` whose chain hash is `chain_sha256`.
    pub fn of_document(document: &[u8], chain_sha256: &str) -> Result<Columns, String> {
        let outline: Outline<'_> = serde_json::from_slice(document)
            .map_err(|error| format!("the document is not a receipt: {error}"))?;
        let summary = outline.summary(chain_sha256.to_string());
        Ok(Columns {
            sequence: i64::try_from(summary.sequence)
                .map_err(|_| format!("sequence {} is too large", summary.sequence))?,
            run_id: summary.run_id,
            kind: enum_text(&summary.kind),
            workflow: summary.workflow,
            actor: summary.actor,
            decision: summary.decision.as_str().to_string(),
            status: summary.status.as_str().to_string(),
            original_run_id: summary.original_run_id,
            started_at: micros_of(&summary.started_at),
            actions: i32::try_from(summary.actions).unwrap_or(i32::MAX),
            chain_sha256: summary.sha256,
        })
    }

    /// The first [`SELECTED`] columns of a row selected with [`SELECT_COLUMNS`].
    pub fn from_row(row: &::postgres::Row) -> Result<Columns, ::postgres::Error> {
        Ok(Columns {
            sequence: row.try_get(0)?,
            run_id: row.try_get(1)?,
            kind: row.try_get(2)?,
            workflow: row.try_get(3)?,
            actor: row.try_get(4)?,
            decision: row.try_get(5)?,
            status: row.try_get(6)?,
            original_run_id: row.try_get(7)?,
            started_at: row.try_get(8)?,
            actions: row.try_get(9)?,
            chain_sha256: row.try_get(10)?,
        })
    }

    /// The summary `enact ls` shows; `recorded_at` in microseconds since the epoch. A column
    /// that holds no valid value (edited outside Enact) is an error naming it.
    pub fn summary(&self, recorded_at: i64) -> Result<Summary, String> {
        let bad = |column: &str, value: &str, what: &str| {
            format!(
                "the row of run {} holds `{value}` in column `{column}`, which is not {what}",
                self.run_id
            )
        };
        Ok(Summary {
            run_id: self.run_id.clone(),
            kind: enum_from(&self.kind).ok_or_else(|| bad("kind", &self.kind, "a kind"))?,
            original_run_id: self.original_run_id.clone(),
            workflow: self.workflow.clone(),
            actor: self.actor.clone(),
            decision: enum_from(&self.decision)
                .ok_or_else(|| bad("decision", &self.decision, "a decision"))?,
            status: enum_from(&self.status)
                .ok_or_else(|| bad("status", &self.status, "a status"))?,
            started_at: self.started_at.map(time_text).unwrap_or_default(),
            sequence: u64::try_from(self.sequence)
                .map_err(|_| bad("sequence", &self.sequence.to_string(), "a sequence"))?,
            actions: usize::try_from(self.actions).unwrap_or_default(),
            sha256: self.chain_sha256.clone(),
            recorded_at: time_text(recorded_at),
        })
    }

    /// Each column whose value differs from `signed`'s: its name, the stored value and the
    /// signed one, as text.
    pub fn differences(&self, signed: &Columns) -> Vec<(&'static str, String, String)> {
        self.texts()
            .into_iter()
            .zip(signed.texts())
            .filter(|((_, stored), (_, signed))| stored != signed)
            .map(|((column, stored), (_, signed))| (column, stored, signed))
            .collect()
    }

    fn texts(&self) -> [(&'static str, String); SELECTED] {
        let optional = |value: Option<String>| value.unwrap_or_else(|| "null".to_string());
        [
            ("sequence", self.sequence.to_string()),
            ("run_id", self.run_id.clone()),
            ("kind", self.kind.clone()),
            ("workflow", self.workflow.clone()),
            ("actor", self.actor.clone()),
            ("decision", self.decision.clone()),
            ("status", self.status.clone()),
            ("original_run_id", optional(self.original_run_id.clone())),
            (
                "started_at",
                optional(self.started_at.map(precise_time_text)),
            ),
            ("actions", self.actions.to_string()),
            ("chain_sha256", self.chain_sha256.clone()),
        ]
    }
}

/// An RFC 3339 time as microseconds since the epoch, if PostgreSQL can hold it.
pub(super) fn micros_of(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .filter(|time| time.year() >= 1)
        .map(|time| time.timestamp_micros())
}

/// Microseconds since the epoch as the RFC 3339 UTC text PostgreSQL parses exactly.
pub(super) fn precise_time_text(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .map(|time| time.to_rfc3339_opts(SecondsFormat::Micros, true))
        .unwrap_or_default()
}

/// Microseconds since the epoch in the form receipts carry times (milliseconds).
fn time_text(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .map(|time| time.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn enum_text<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Json::String(text)) => text,
        _ => String::new(),
    }
}

fn enum_from<T: DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_value(Json::String(text.to_string())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receipt::test_support::{receipt, signer};
    use serde_json::json;

    #[test]
    fn columns_come_from_the_signed_document_and_differences_are_named() {
        let mut run = receipt(json!({"to": "a@x.io"}));
        run.started_at = "2026-03-01T10:00:00.123456789+02:00".to_string();
        let sealed = signer().sign(&mut run).unwrap();
        let columns = Columns::of_document(&sealed.document, &sealed.chain_sha256).unwrap();
        assert_eq!(columns.run_id, run.run_id);
        assert_eq!(
            (columns.kind.as_str(), columns.decision.as_str()),
            ("run", "PASS")
        );
        assert_eq!(columns.actor, "agent@example.com");
        assert_eq!(
            columns.started_at.map(precise_time_text).unwrap(),
            "2026-03-01T08:00:00.123456Z"
        );
        let summary = columns.summary(columns.started_at.unwrap()).unwrap();
        assert_eq!(summary.started_at, "2026-03-01T08:00:00.123Z");
        assert_eq!(summary.sha256, sealed.chain_sha256);

        let mut edited = columns.clone();
        edited.workflow = "other".to_string();
        edited.started_at = None;
        let found = edited.differences(&columns);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(
            found[0],
            ("workflow", "other".to_string(), "unit".to_string())
        );
        assert_eq!(found[1].0, "started_at");
        edited.kind = "nonsense".to_string();
        assert!(edited.summary(0).unwrap_err().contains("column `kind`"));
    }

    #[test]
    fn times_postgres_cannot_hold_have_no_column_value() {
        assert_eq!(micros_of("not a time"), None);
        assert_eq!(micros_of("0000-01-01T00:00:00Z"), None);
        assert_eq!(micros_of("1970-01-01T00:00:01Z"), Some(1_000_000));
    }
}
