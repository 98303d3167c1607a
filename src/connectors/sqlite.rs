//! The `sqlite` connector: the shared SQL row actions (`sql.rs`) on an embedded SQLite file.
//! This file is only the backend — schema lookup, binding, reading values, transactions.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, params_from_iter};

use super::ConnectorError;
use super::sql::{Column, Dialect, Placeholders, SqlBackend, SqlValue, TableInfo};

pub const KIND: &str = "sqlite";

/// How long a statement waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// One SQLite database file.
pub struct SqliteConnector {
    backend: SqliteBackend,
}

/// Kept private so nothing outside the connector can run arbitrary SQL through the backend.
struct SqliteBackend {
    conn: Connection,
    path: PathBuf,
}

impl SqliteConnector {
    /// Opens the database file, creating it if it does not exist.
    pub fn open(path: PathBuf) -> Result<Self, ConnectorError> {
        let failed = |e: rusqlite::Error| {
            ConnectorError::Failed(format!(
                "cannot open SQLite database `{}`: {e}",
                path.display()
            ))
        };
        let conn = Connection::open(&path).map_err(failed)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(failed)?;
        Ok(SqliteConnector {
            backend: SqliteBackend { conn, path },
        })
    }

    pub fn path(&self) -> &Path {
        &self.backend.path
    }
}

impl std::fmt::Debug for SqliteConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteConnector")
            .field("path", &self.backend.path)
            .finish()
    }
}

crate::connectors::sql::sql_connector!(SqliteConnector);

impl SqliteBackend {
    fn failed(&self, sql: &str, e: &rusqlite::Error) -> ConnectorError {
        ConnectorError::Failed(format!(
            "SQLite database `{}`: {e} (while running `{sql}`)",
            self.path.display()
        ))
    }
}

fn bind(value: &SqlValue) -> Value {
    match value {
        SqlValue::Null => Value::Null,
        SqlValue::Bool(b) => Value::Integer(i64::from(*b)),
        SqlValue::Integer(i) => Value::Integer(*i),
        SqlValue::Real(f) => Value::Real(*f),
        SqlValue::Text(s) => Value::Text(s.clone()),
        SqlValue::Blob(b) => Value::Blob(b.clone()),
    }
}

impl SqlBackend for SqliteBackend {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn dialect(&self) -> Dialect {
        Dialect {
            placeholders: Placeholders::QuestionMark,
            null_safe_eq: "IS",
            null_safe_ne: "IS NOT",
            lock_rows: "",
            restore_insert: "",
        }
    }

    fn table_names(&self) -> Result<Vec<String>, ConnectorError> {
        let rows = self.query(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
            &[],
        )?;
        Ok(rows
            .into_iter()
            .filter_map(|row| match row.into_iter().next() {
                Some(SqlValue::Text(name)) => Some(name),
                _ => None,
            })
            .collect())
    }

    fn table_info(&self, table: &str) -> Result<Option<TableInfo>, ConnectorError> {
        // Exact name match in the main schema: the pragma alone would also accept other
        // spellings and temporary tables.
        if !self.table_names()?.iter().any(|name| name == table) {
            return Ok(None);
        }
        let rows = self.query(
            "SELECT name, type, pk, hidden FROM pragma_table_xinfo(?, 'main') ORDER BY cid",
            &[SqlValue::Text(table.to_string())],
        )?;
        let mut columns = Vec::new();
        let mut key: Vec<(i64, String)> = Vec::new();
        for row in rows {
            let [name, declared, pk, hidden] = row.as_slice() else {
                continue;
            };
            let (SqlValue::Text(name), SqlValue::Integer(pk), SqlValue::Integer(hidden)) =
                (name, pk, hidden)
            else {
                continue;
            };
            // hidden: 1 = a virtual table's hidden column, 2 and 3 = generated columns.
            if *hidden == 1 {
                continue;
            }
            if *pk > 0 {
                key.push((*pk, name.clone()));
            }
            columns.push(Column {
                name: name.clone(),
                declared_type: match declared {
                    SqlValue::Text(t) => t.clone(),
                    _ => String::new(),
                },
                generated: *hidden >= 2,
                compare_as_text: false,
            });
        }
        key.sort();
        Ok(Some(TableInfo {
            name: table.to_string(),
            schema: None,
            columns,
            key_columns: key.into_iter().map(|(_, name)| name).collect(),
        }))
    }

    fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<Vec<SqlValue>>, ConnectorError> {
        let failed = |e: rusqlite::Error| self.failed(sql, &e);
        let mut stmt = self.conn.prepare_cached(sql).map_err(failed)?;
        let width = stmt.column_count();
        let mut rows = stmt
            .query(params_from_iter(params.iter().map(bind)))
            .map_err(failed)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(failed)? {
            let mut values = Vec::with_capacity(width);
            for index in 0..width {
                let value = match row.get_ref(index).map_err(failed)? {
                    ValueRef::Null => SqlValue::Null,
                    ValueRef::Integer(i) => SqlValue::Integer(i),
                    ValueRef::Real(f) => SqlValue::Real(f),
                    ValueRef::Text(bytes) => match std::str::from_utf8(bytes) {
                        Ok(text) => SqlValue::Text(text.to_string()),
                        Err(_) => {
                            return Err(ConnectorError::Failed(format!(
                                "SQLite database `{}` holds text that is not valid UTF-8 \
                                 (column {index} of `{sql}`); Enact cannot carry it exactly",
                                self.path.display()
                            )));
                        }
                    },
                    ValueRef::Blob(bytes) => SqlValue::Blob(bytes.to_vec()),
                };
                values.push(value);
            }
            out.push(values);
        }
        Ok(out)
    }

    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<u64, ConnectorError> {
        let failed = |e: rusqlite::Error| self.failed(sql, &e);
        let mut stmt = self.conn.prepare_cached(sql).map_err(failed)?;
        let changed = stmt
            .execute(params_from_iter(params.iter().map(bind)))
            .map_err(failed)?;
        Ok(changed as u64)
    }

    fn begin_write(&self) -> Result<(), ConnectorError> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| self.failed("BEGIN IMMEDIATE", &e))
    }

    fn commit(&self) -> Result<(), ConnectorError> {
        self.conn
            .execute_batch("COMMIT")
            .map_err(|e| self.failed("COMMIT", &e))
    }

    fn rollback(&self) -> Result<(), ConnectorError> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        self.conn
            .execute_batch("ROLLBACK")
            .map_err(|e| self.failed("ROLLBACK", &e))
    }
}
