//! The inverses of the row actions, applied row by row: restore what can be restored, report
//! the rest, and never overwrite a row that changed since.

use serde_json::{Map, Value as Json, json};

use super::actions::{assignments, expect_one, holds_values};
use super::statement::Statement;
use super::{
    Column, SqlBackend, SqlValue, TableInfo, WriteTx, fetch_by_key, key_json, quote_ident,
    row_json, value_from_json,
};
use crate::connectors::{ConnectorError, UndoOutcome};

pub(super) fn delete_inserted_row<B: SqlBackend + ?Sized>(
    backend: &B,
    table: &TableInfo,
    inverse: &'static str,
    args: &Json,
    output: &Json,
    rollback_data: &Json,
) -> Result<UndoOutcome, ConnectorError> {
    let recorded = output.get("key").or_else(|| rollback_data.get("key"));
    let Some(recorded) = recorded.and_then(Json::as_object) else {
        let values = args.get("values").cloned().unwrap_or(Json::Null);
        return Err(ConnectorError::CannotUndo(format!(
            "the run stopped after journaling insert_row into `{}` but before recording the key \
             the database assigned, so Enact cannot tell which row to delete; look in `{}` for \
             a row with {values} and delete it by hand if it is there",
            table.name, table.name
        )));
    };
    let key = table
        .key_columns
        .iter()
        .map(|k| {
            recorded
                .get(k)
                .ok_or_else(|| format!("no `{k}`"))
                .and_then(value_from_json)
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| malformed("insert_row", &e))?;
    let key_text = key_json(table, &key);

    let tx = WriteTx::begin(backend)?;
    if fetch_by_key(backend, table, &key)?.is_none() {
        return Ok(UndoOutcome {
            action: inverse,
            output: json!({"table": table.name, "deleted": 0, "key": key_text}),
            already_done: Some("absent"),
        });
    }
    // After an interrupted run the insert may not have happened and a row with this key may
    // be someone else's: only delete a row holding what this step was inserting.
    if output.is_null() {
        let empty = Map::new();
        let values_map = args
            .get("values")
            .and_then(Json::as_object)
            .unwrap_or(&empty);
        let values = assignments(table, values_map, "values")
            .map_err(|e| malformed("insert_row", &e.to_string()))?;
        if !holds_values(backend, table, &key, &values)? {
            return Err(ConnectorError::CannotUndo(format!(
                "the run stopped while inserting into `{}`, and the row with key {key_text} now \
                 holds other values than insert_row was writing, so it may not be Enact's; \
                 check it and delete it by hand if it should go",
                table.name
            )));
        }
    }
    let mut stmt = Statement::new(
        backend.dialect(),
        &format!("DELETE FROM {} WHERE ", table.sql_name()),
    );
    stmt.push_key(table, &key);
    let deleted = stmt.execute(backend)?;
    tx.commit()?;
    Ok(UndoOutcome {
        action: inverse,
        output: json!({"table": table.name, "deleted": deleted, "key": key_text}),
        already_done: None,
    })
}

/// A captured row decoded against the table as it is now: one value per column, generated
/// columns as `None` (the database recomputes them).
fn decode_row(
    table: &TableInfo,
    action: &str,
    captured: &Json,
) -> Result<Vec<Option<SqlValue>>, ConnectorError> {
    let Some(map) = captured.as_object() else {
        return Err(malformed(
            action,
            &format!("a row is not a map: {captured}"),
        ));
    };
    if let Some(extra) = map.keys().find(|name| table.position(name).is_none()) {
        return Err(ConnectorError::CannotUndo(format!(
            "`{}` no longer has column `{extra}`, which the captured rows hold; restore them by \
             hand from this step's rollback_data",
            table.name
        )));
    }
    table
        .columns
        .iter()
        .map(|column| {
            if column.generated {
                return Ok(None);
            }
            let Some(value) = map.get(&column.name) else {
                return Err(ConnectorError::CannotUndo(format!(
                    "`{}` has column `{}` now, which the captured rows lack; restore them by \
                     hand from this step's rollback_data",
                    table.name, column.name
                )));
            };
            value_from_json(value)
                .map(Some)
                .map_err(|e| malformed(action, &e))
        })
        .collect()
}

/// A row from rollback data: its values against the table as it is now, and its key.
struct CapturedRow {
    values: Vec<Option<SqlValue>>,
    key: Vec<SqlValue>,
}

fn captured_rows(
    table: &TableInfo,
    action: &str,
    rollback_data: &Json,
) -> Result<Vec<CapturedRow>, ConnectorError> {
    let Some(rows) = rollback_data.get("rows").and_then(Json::as_array) else {
        return Err(malformed(action, "no `rows` list"));
    };
    rows.iter()
        .map(|captured| {
            let values = decode_row(table, action, captured)?;
            let key = table
                .key_columns
                .iter()
                .map(|k| {
                    table
                        .position(k)
                        .and_then(|i| values.get(i).cloned().flatten())
                        .ok_or_else(|| malformed(action, &format!("a row has no key `{k}`")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(CapturedRow { values, key })
        })
        .collect()
}

/// Whether a row read now holds the captured values in every stored column, exactly.
fn same_row(current: &[SqlValue], captured: &[Option<SqlValue>]) -> bool {
    current
        .iter()
        .zip(captured)
        .all(|(now, then)| then.as_ref().is_none_or(|then| same_value(now, then)))
}

/// Exact equality, NaN included (it is one stored value, and restoring it changes nothing).
fn same_value(a: &SqlValue, b: &SqlValue) -> bool {
    match (a, b) {
        (SqlValue::Real(x), SqlValue::Real(y)) => x.to_bits() == y.to_bits() || x == y,
        _ => a == b,
    }
}

/// What an inverse over many rows did, row by row.
#[derive(Default)]
struct RowReport {
    restored: Vec<Json>,
    already: Vec<Json>,
    /// Rows left undone, each with why.
    left: Vec<String>,
}

impl RowReport {
    fn finish(
        self,
        table: &TableInfo,
        inverse: &'static str,
        restored_word: &str,
        already_word: &'static str,
    ) -> Result<UndoOutcome, ConnectorError> {
        if !self.left.is_empty() {
            return Err(ConnectorError::CannotUndo(format!(
                "{inverse} on `{}` restored {} row(s) {} ({} already as captured {}) but left \
                 {}: {}; the captured rows are in this step's rollback_data — restore those by \
                 hand",
                table.name,
                self.restored.len(),
                Json::from(self.restored),
                self.already.len(),
                Json::from(self.already),
                self.left.len(),
                self.left.join("; ")
            )));
        }
        let already_done = self.restored.is_empty().then_some(already_word);
        Ok(UndoOutcome {
            action: inverse,
            output: json!({
                "table": table.name,
                restored_word: self.restored.len(),
                "keys": self.restored,
                already_word: self.already,
            }),
            already_done,
        })
    }
}

pub(super) fn restore_updated_rows<B: SqlBackend + ?Sized>(
    backend: &B,
    table: &TableInfo,
    inverse: &'static str,
    rollback_data: &Json,
) -> Result<UndoOutcome, ConnectorError> {
    let rows = captured_rows(table, "update_row", rollback_data)?;
    let mut report = RowReport::default();
    let tx = WriteTx::begin(backend)?;
    for CapturedRow { values, key } in &rows {
        let key_text = key_json(table, key);
        match fetch_by_key(backend, table, key)? {
            None => report.left.push(format!("key {key_text} no longer exists")),
            Some(current) if same_row(&current, values) => report.already.push(key_text),
            Some(_) => {
                let mut stmt = Statement::new(
                    backend.dialect(),
                    &format!("UPDATE {} SET ", table.sql_name()),
                );
                let mut first = true;
                for (index, column) in table.stored() {
                    let Some(Some(value)) = values.get(index) else {
                        continue;
                    };
                    if table.is_key(&column.name) {
                        continue;
                    }
                    if !first {
                        stmt.push(", ");
                    }
                    first = false;
                    stmt.push(&quote_ident(&column.name))
                        .push(" = ")
                        .bind(value.clone());
                }
                stmt.push(" WHERE ").push_key(table, key);
                expect_one(stmt.execute(backend)?, table, key, "restore")?;
                report.restored.push(key_text);
            }
        }
    }
    tx.commit()?;
    report.finish(table, inverse, "restored", "unchanged")
}

pub(super) fn reinsert_deleted_rows<B: SqlBackend + ?Sized>(
    backend: &B,
    table: &TableInfo,
    inverse: &'static str,
    rollback_data: &Json,
) -> Result<UndoOutcome, ConnectorError> {
    let rows = captured_rows(table, "delete_row", rollback_data)?;
    let mut report = RowReport::default();
    let tx = WriteTx::begin(backend)?;
    for CapturedRow { values, key } in &rows {
        let key_text = key_json(table, key);
        match fetch_by_key(backend, table, key)? {
            Some(current) if same_row(&current, values) => report.already.push(key_text),
            Some(current) => report.left.push(format!(
                "key {key_text} is taken by a different row now ({})",
                row_json(table, &current)
            )),
            None => {
                let stored: Vec<(&Column, &SqlValue)> = table
                    .stored()
                    .filter_map(|(index, column)| {
                        values
                            .get(index)
                            .and_then(Option::as_ref)
                            .map(|v| (column, v))
                    })
                    .collect();
                let names: Vec<String> = stored.iter().map(|(c, _)| quote_ident(&c.name)).collect();
                let mut stmt = Statement::new(
                    backend.dialect(),
                    &format!(
                        "INSERT INTO {} ({}){} VALUES (",
                        table.sql_name(),
                        names.join(", "),
                        backend.dialect().restore_insert
                    ),
                );
                for (index, (_, value)) in stored.iter().enumerate() {
                    if index > 0 {
                        stmt.push(", ");
                    }
                    stmt.bind((*value).clone());
                }
                stmt.push(")").execute(backend)?;
                report.restored.push(key_text);
            }
        }
    }
    tx.commit()?;
    report.finish(table, inverse, "reinserted", "present")
}

fn malformed(action: &str, what: &str) -> ConnectorError {
    ConnectorError::CannotUndo(format!(
        "the rollback data of {action} is malformed ({what}); restore by hand from the receipt"
    ))
}
