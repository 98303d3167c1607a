//! What every SQL connector shares: the four row actions as data, argument parsing, the
//! structured `where`, identifier quoting, pre-image capture and the inverses. A database
//! plugs in through `SqlBackend` (SQLite in `sqlite.rs`; PostgreSQL is a backend only).
//!
//! Statements are built from identifiers found in the database's own schema (double-quoted)
//! and placeholders; every value is a bound parameter. There is no DDL anywhere.

mod actions;
mod inverses;
mod statement;

use serde_json::{Map, Value as Json, json};

use super::{
    ActionOutcome, ActionSpec, ConnectorError, Effect, Inverse, ParamSpec, ParamType, UndoOutcome,
    base64, check_args, find_action,
};
use crate::policy::diagnostic::did_you_mean;
use statement::Statement;

/// The `Connector` of a SQL backend: a struct whose `backend` field is a `SqlBackend`. Every
/// action and inverse is the shared SQL logic of this module.
macro_rules! sql_connector {
    ($connector:ty) => {
        impl $crate::connectors::Connector for $connector {
            fn kind(&self) -> &'static str {
                $crate::connectors::sql::SqlBackend::kind(&self.backend)
            }

            fn actions(&self) -> &'static [$crate::connectors::ActionSpec] {
                $crate::connectors::sql::ACTIONS
            }

            fn execute(
                &self,
                action: &str,
                args: &serde_json::Value,
                prepared: &mut dyn FnMut(&serde_json::Value) -> Result<(), String>,
            ) -> Result<$crate::connectors::ActionOutcome, $crate::connectors::ConnectorError> {
                $crate::connectors::sql::execute(&self.backend, action, args, prepared)
            }

            fn undo(
                &self,
                action: &str,
                args: &serde_json::Value,
                output: &serde_json::Value,
                rollback_data: &serde_json::Value,
            ) -> Result<$crate::connectors::UndoOutcome, $crate::connectors::ConnectorError> {
                $crate::connectors::sql::undo(&self.backend, action, args, output, rollback_data)
            }
        }
    };
}
pub(crate) use sql_connector;

/// A blob in JSON: `{"$blob_base64": "AAEC"}`, read back and accepted as a value.
pub const BLOB_TAG: &str = "$blob_base64";
/// A float JSON cannot write: `{"$real": "Infinity" | "-Infinity" | "NaN"}`.
pub const REAL_TAG: &str = "$real";
/// An integer beyond ±2^53, which JSON numbers in receipts (RFC 8785) cannot carry exactly.
pub const INT_TAG: &str = "$int";
/// The largest integer a canonical JSON number holds exactly.
const EXACT_INT: i64 = 1 << 53;

const TABLE: ParamSpec = ParamSpec {
    name: "table",
    ty: ParamType::String,
    required: true,
    description: "the table's name",
};

const WHERE_HELP: &str = "which rows: {column: value} (null → IS NULL, a list → IN) or \
                          {column: {op: value}} with op eq, ne, lt, lte, gt, gte, in, not_in, \
                          like, is_null; {} matches every row";

/// The row actions, the same for every SQL backend.
pub const ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        name: "select_rows",
        description: "Read rows.",
        params: &[
            TABLE,
            ParamSpec {
                name: "where",
                ty: ParamType::Map,
                required: false,
                description: WHERE_HELP,
            },
            ParamSpec {
                name: "columns",
                ty: ParamType::List,
                required: false,
                description: "the columns to return (default all)",
            },
            ParamSpec {
                name: "order_by",
                ty: ParamType::List,
                required: false,
                description: "columns to sort by, `-name` for descending (default the \
                              primary key)",
            },
            ParamSpec {
                name: "limit",
                ty: ParamType::Int,
                required: false,
                description: "at most this many rows",
            },
        ],
        effect: Effect::ReadOnly,
        inverse: Inverse::None,
    },
    ActionSpec {
        name: "insert_row",
        description: "Insert one row.",
        params: &[
            TABLE,
            ParamSpec {
                name: "values",
                ty: ParamType::Map,
                required: true,
                description: "{column: value}; columns left out take their defaults",
            },
        ],
        effect: Effect::Mutating,
        inverse: Inverse::Reversible {
            name: "delete_inserted_row",
            description: "delete the inserted row by its primary key",
        },
    },
    ActionSpec {
        name: "update_row",
        description: "Set columns on the matching rows.",
        params: &[
            TABLE,
            ParamSpec {
                name: "where",
                ty: ParamType::Map,
                required: true,
                description: WHERE_HELP,
            },
            ParamSpec {
                name: "set",
                ty: ParamType::Map,
                required: true,
                description: "{column: new value}; primary key columns cannot be set",
            },
        ],
        effect: Effect::Mutating,
        inverse: Inverse::Reversible {
            name: "restore_updated_rows",
            description: "write each changed row's captured columns back by primary key",
        },
    },
    ActionSpec {
        name: "delete_row",
        description: "Delete the matching rows.",
        params: &[
            TABLE,
            ParamSpec {
                name: "where",
                ty: ParamType::Map,
                required: true,
                description: WHERE_HELP,
            },
        ],
        effect: Effect::Mutating,
        inverse: Inverse::Reversible {
            name: "reinsert_deleted_rows",
            description: "insert each captured row again, every column as it was",
        },
    },
];

/// A value as the database stores it. Backends bind these and read them back.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    /// SQLite has no boolean type and binds it as 1 or 0; PostgreSQL reads `boolean` as this.
    Bool(bool),
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// A column as the schema declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub declared_type: String,
    /// Computed by the database: readable, never inserted or set.
    pub generated: bool,
    /// Its type has no comparison operators of its own (PostgreSQL's `json`, and domains over
    /// it), so statements compare and order it by its text, which is what it stores exactly.
    pub compare_as_text: bool,
}

impl Column {
    /// The column as statements compare or order it: quoted, and cast to text when its type
    /// cannot be compared itself.
    pub(crate) fn compared(&self) -> String {
        if self.compare_as_text {
            format!("{}::text", quote_ident(&self.name))
        } else {
            quote_ident(&self.name)
        }
    }
}

/// A table as the schema declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    pub name: String,
    /// The schema the backend found the table in, named in every statement so that nothing on
    /// a search path can stand in for it; `None` when the database has only one namespace that
    /// matters (SQLite's `main`).
    pub schema: Option<String>,
    /// In declaration order; every statement lists them in this order.
    pub columns: Vec<Column>,
    /// The primary key's columns, in key order; empty when the table declares none.
    pub key_columns: Vec<String>,
}

impl TableInfo {
    /// The table as statements name it: quoted, and qualified by its schema when it has one.
    pub fn sql_name(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{}.{}", quote_ident(schema), quote_ident(&self.name)),
            None => quote_ident(&self.name),
        }
    }

    fn position(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == column)
    }

    fn column(&self, name: &str, context: &str) -> Result<&Column, ConnectorError> {
        self.columns.iter().find(|c| c.name == name).ok_or_else(|| {
            let names = self.columns.iter().map(|c| c.name.as_str());
            let hint = did_you_mean(name, names.clone())
                .map(|h| format!(" — {h}"))
                .unwrap_or_else(|| {
                    format!("; its columns are {}", names.collect::<Vec<_>>().join(", "))
                });
            ConnectorError::BadArgs(format!(
                "table `{}` has no column `{}` (in `{context}`){hint}",
                self.name,
                name.escape_debug()
            ))
        })
    }

    fn is_key(&self, column: &str) -> bool {
        self.key_columns.iter().any(|k| k == column)
    }

    /// The columns a row is written with: all but the generated ones.
    fn stored(&self) -> impl Iterator<Item = (usize, &Column)> {
        self.columns
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.generated)
    }
}

/// How a backend writes the n-th bound parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholders {
    /// `?` (SQLite).
    QuestionMark,
    /// `$1`, `$2`, ... (PostgreSQL).
    Numbered,
}

/// The few ways SQL dialects differ in the statements Enact builds.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    pub placeholders: Placeholders,
    /// Null-safe equality: `IS` (SQLite), `IS NOT DISTINCT FROM` (PostgreSQL).
    pub null_safe_eq: &'static str,
    /// Null-safe inequality: `IS NOT` (SQLite), `IS DISTINCT FROM` (PostgreSQL).
    pub null_safe_ne: &'static str,
    /// Appended to the pre-image `SELECT` so the captured rows stay as captured until commit:
    /// empty for SQLite (`BEGIN IMMEDIATE` already holds the write lock), ` FOR UPDATE` for
    /// PostgreSQL.
    pub lock_rows: &'static str,
    /// Written between the column list and `VALUES` when rollback re-inserts captured rows,
    /// so that identity columns take their captured values: empty for SQLite,
    /// ` OVERRIDING SYSTEM VALUE` for PostgreSQL (whose `GENERATED ALWAYS` identity columns
    /// refuse given values otherwise).
    pub restore_insert: &'static str,
}

/// A database behind the SQL connectors. It runs what `sql.rs` builds and reports its schema;
/// it decides nothing about actions, arguments or rollback.
pub trait SqlBackend {
    /// The connector kind, for messages (`sqlite`, `postgres`).
    fn kind(&self) -> &'static str;

    fn dialect(&self) -> Dialect;

    /// Tables and views a statement may name, for "did you mean" hints.
    fn table_names(&self) -> Result<Vec<String>, ConnectorError>;

    /// The table or view named exactly `table`, or `None` when there is none.
    fn table_info(&self, table: &str) -> Result<Option<TableInfo>, ConnectorError>;

    /// Runs a statement that returns rows (a `SELECT`, or an `INSERT ... RETURNING`), each
    /// row's values in the order the statement lists its columns.
    fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<Vec<SqlValue>>, ConnectorError>;

    /// Runs a statement that returns no rows; the number of rows it changed.
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<u64, ConnectorError>;

    /// Starts a transaction that will write (SQLite: `BEGIN IMMEDIATE`, taking the write lock
    /// now, so the captured pre-image cannot go stale before the write).
    fn begin_write(&self) -> Result<(), ConnectorError>;

    fn commit(&self) -> Result<(), ConnectorError>;

    /// Rolls back the open transaction; no error when none is open.
    fn rollback(&self) -> Result<(), ConnectorError>;
}

/// Runs a row action: the body of `Connector::execute` for every SQL connector.
pub fn execute<B: SqlBackend + ?Sized>(
    backend: &B,
    action: &str,
    args: &Json,
    prepared: &mut dyn FnMut(&Json) -> Result<(), String>,
) -> Result<ActionOutcome, ConnectorError> {
    let spec = find_action(backend.kind(), ACTIONS, action)?;
    check_args(spec, args)?;
    let table = load_table(backend, args.get("table"))?;
    match spec.name {
        "select_rows" => actions::select_rows(backend, &table, args),
        "insert_row" => actions::insert_row(backend, &table, args, prepared),
        "update_row" => actions::update_row(backend, &table, args, prepared),
        _ => actions::delete_row(backend, &table, args, prepared),
    }
}

/// Applies a row action's inverse: the body of `Connector::undo` for every SQL connector.
pub fn undo<B: SqlBackend + ?Sized>(
    backend: &B,
    action: &str,
    args: &Json,
    output: &Json,
    rollback_data: &Json,
) -> Result<UndoOutcome, ConnectorError> {
    let spec = find_action(backend.kind(), ACTIONS, action)?;
    let Inverse::Reversible { name: inverse, .. } = spec.inverse else {
        return Err(ConnectorError::BadArgs(format!(
            "`{}` is read-only: there is nothing to undo",
            spec.name
        )));
    };
    let table_name = rollback_data.get("table");
    let table = load_table(backend, table_name).map_err(|e| {
        ConnectorError::CannotUndo(format!(
            "cannot undo {} on table {}: {e}",
            spec.name,
            table_name.unwrap_or(&Json::Null)
        ))
    })?;
    // The table is looked up again by name, through the connection's search path as it is
    // now: rows are only restored into the table in the schema they came from.
    let recorded_schema = rollback_data.get("schema");
    if let Some(recorded) = recorded_schema
        && recorded.as_str() != table.schema.as_deref()
    {
        return Err(ConnectorError::CannotUndo(format!(
            "{} changed `{}` in schema {recorded}, but this connection finds that name in schema \
             {} now (its search path differs); Enact will not restore rows into another table of \
             the same name — undo it with the recorded schema first in the search path",
            spec.name,
            table.name,
            Json::from(table.schema.clone())
        )));
    }
    require_key(&table).map_err(|e| ConnectorError::CannotUndo(e.to_string()))?;
    let recorded_key = rollback_data.get("key_columns").and_then(Json::as_array);
    let key_matches = recorded_key.is_some_and(|cols| {
        cols.len() == table.key_columns.len()
            && cols
                .iter()
                .zip(&table.key_columns)
                .all(|(a, b)| a.as_str() == Some(b))
    });
    if !key_matches {
        return Err(ConnectorError::CannotUndo(format!(
            "the primary key of `{}` is now ({}), not the recorded {}; Enact restores rows by \
             key and will not guess — restore them by hand from this step's rollback_data",
            table.name,
            table.key_columns.join(", "),
            recorded_key.map_or("(none)".to_string(), |k| Json::from(k.clone()).to_string())
        )));
    }
    match spec.name {
        "insert_row" => {
            inverses::delete_inserted_row(backend, &table, inverse, args, output, rollback_data)
        }
        "update_row" => inverses::restore_updated_rows(backend, &table, inverse, rollback_data),
        _ => inverses::reinsert_deleted_rows(backend, &table, inverse, rollback_data),
    }
}

/// Double-quotes an identifier, doubling any `"` inside it. Identifiers come from the schema,
/// and are quoted anyway so that no name can ever end the identifier early.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A JSON value as a column value. Maps and lists are refused, except the tagged forms that
/// `value_to_json` writes for blobs and non-finite floats.
pub fn value_from_json(value: &Json) -> Result<SqlValue, String> {
    match value {
        Json::Null => Ok(SqlValue::Null),
        Json::Bool(b) => Ok(SqlValue::Bool(*b)),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(SqlValue::Integer(i))
            } else if n.is_u64() {
                Err(format!("{n} does not fit a 64-bit signed integer"))
            } else {
                n.as_f64()
                    .map(SqlValue::Real)
                    .ok_or_else(|| format!("{n} is not a number a database can store"))
            }
        }
        Json::String(s) => Ok(SqlValue::Text(s.clone())),
        Json::Object(map) => match tagged(map) {
            Some((BLOB_TAG, Json::String(coded))) => base64::decode(coded)
                .map(SqlValue::Blob)
                .map_err(|e| format!("bad `{BLOB_TAG}`: {e}")),
            Some((INT_TAG, Json::String(digits))) => digits
                .parse::<i64>()
                .map(SqlValue::Integer)
                .map_err(|_| format!("`{INT_TAG}` must hold a 64-bit integer, not `{digits}`")),
            Some((REAL_TAG, Json::String(word))) => match word.as_str() {
                "Infinity" => Ok(SqlValue::Real(f64::INFINITY)),
                "-Infinity" => Ok(SqlValue::Real(f64::NEG_INFINITY)),
                "NaN" => Ok(SqlValue::Real(f64::NAN)),
                other => Err(format!(
                    "`{REAL_TAG}` must be Infinity, -Infinity or NaN, not `{other}`"
                )),
            },
            _ => Err(format!(
                "a column holds one value, not the map {value} (a blob is written \
                 {{\"{BLOB_TAG}\": \"...\"}})"
            )),
        },
        Json::Array(_) => Err(format!("a column holds one value, not the list {value}")),
    }
}

/// A column value as JSON: integers and floats as numbers, blobs and non-finite floats in
/// their tagged forms, so `value_from_json` gives back exactly the stored value.
pub fn value_to_json(value: &SqlValue) -> Json {
    match value {
        SqlValue::Null => Json::Null,
        SqlValue::Bool(b) => Json::Bool(*b),
        SqlValue::Integer(i) if (-EXACT_INT..=EXACT_INT).contains(i) => json!(i),
        SqlValue::Integer(i) => json!({ INT_TAG: i.to_string() }),
        SqlValue::Real(f) => serde_json::Number::from_f64(*f).map_or_else(
            || {
                let word = if f.is_nan() {
                    "NaN"
                } else if *f > 0.0 {
                    "Infinity"
                } else {
                    "-Infinity"
                };
                json!({ REAL_TAG: word })
            },
            Json::Number,
        ),
        SqlValue::Text(s) => Json::String(s.clone()),
        SqlValue::Blob(bytes) => json!({ BLOB_TAG: base64::encode(bytes) }),
    }
}

fn tagged(map: &Map<String, Json>) -> Option<(&str, &Json)> {
    let mut entries = map.iter();
    let (key, value) = entries.next()?;
    if entries.next().is_some() {
        return None;
    }
    [BLOB_TAG, REAL_TAG, INT_TAG]
        .into_iter()
        .find(|tag| key == tag)
        .map(|tag| (tag, value))
}

/// An open write transaction, rolled back unless committed (early returns and errors
/// included), so a failed step leaves the database as it was.
struct WriteTx<'b, B: SqlBackend + ?Sized> {
    backend: &'b B,
    open: bool,
}

impl<'b, B: SqlBackend + ?Sized> WriteTx<'b, B> {
    fn begin(backend: &'b B) -> Result<Self, ConnectorError> {
        backend.begin_write()?;
        Ok(WriteTx {
            backend,
            open: true,
        })
    }

    fn commit(mut self) -> Result<(), ConnectorError> {
        self.open = false;
        self.backend.commit().map_err(|e| {
            let _ = self.backend.rollback();
            ConnectorError::Failed(format!("could not commit, so nothing was changed: {e}"))
        })
    }
}

impl<B: SqlBackend + ?Sized> Drop for WriteTx<'_, B> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.backend.rollback();
        }
    }
}

fn load_table<B: SqlBackend + ?Sized>(
    backend: &B,
    name: Option<&Json>,
) -> Result<TableInfo, ConnectorError> {
    let Some(name) = name.and_then(Json::as_str) else {
        return Err(ConnectorError::BadArgs(
            "`table` must name a table".to_string(),
        ));
    };
    if let Some(table) = backend.table_info(name)? {
        return Ok(table);
    }
    let names = backend.table_names()?;
    let hint = did_you_mean(name, names.iter().map(String::as_str))
        .map(|h| format!(" — {h}"))
        .unwrap_or_else(|| {
            if names.is_empty() {
                "; it has no tables".to_string()
            } else {
                format!("; its tables are {}", names.join(", "))
            }
        });
    Err(ConnectorError::BadArgs(format!(
        "the {} database has no table `{}`{hint}",
        backend.kind(),
        name.escape_debug()
    )))
}

/// The start of a mutating action's rollback data: the table, the schema it was found in
/// (when the backend has schemas), its key columns, then `more`. `undo` refuses when the table
/// it finds now differs in schema or key.
fn table_record<const N: usize>(table: &TableInfo, more: [(&str, Json); N]) -> Json {
    let mut record = Map::new();
    record.insert("table".into(), Json::from(table.name.as_str()));
    if let Some(schema) = &table.schema {
        record.insert("schema".into(), Json::from(schema.as_str()));
    }
    record.insert("key_columns".into(), json!(table.key_columns));
    for (name, value) in more {
        record.insert(name.into(), value);
    }
    Json::Object(record)
}

fn require_key(table: &TableInfo) -> Result<(), ConnectorError> {
    if table.key_columns.is_empty() {
        return Err(ConnectorError::Refused(format!(
            "table `{}` has no primary key; Enact needs one to capture and restore rows exactly",
            table.name
        )));
    }
    Ok(())
}

fn columns_list(table: &TableInfo) -> String {
    let names: Vec<String> = table.columns.iter().map(|c| quote_ident(&c.name)).collect();
    names.join(", ")
}

fn row_json(table: &TableInfo, row: &[SqlValue]) -> Json {
    let map: Map<String, Json> = table
        .columns
        .iter()
        .zip(row)
        .map(|(c, v)| (c.name.clone(), value_to_json(v)))
        .collect();
    Json::Object(map)
}

/// A full row's key values, refusing a NULL in the key: such a row cannot be addressed alone.
fn key_of(table: &TableInfo, row: &[SqlValue]) -> Result<Vec<SqlValue>, ConnectorError> {
    table
        .key_columns
        .iter()
        .map(|k| {
            let value = table.position(k).and_then(|i| row.get(i));
            match value {
                Some(SqlValue::Null) | None => Err(ConnectorError::Refused(format!(
                    "a row of `{}` has NULL in primary key column `{k}`, so it cannot be \
                     addressed alone; Enact will not change it",
                    table.name
                ))),
                Some(v) => Ok(v.clone()),
            }
        })
        .collect()
}

fn key_json(table: &TableInfo, key: &[SqlValue]) -> Json {
    let map: Map<String, Json> = table
        .key_columns
        .iter()
        .zip(key)
        .map(|(c, v)| (c.clone(), value_to_json(v)))
        .collect();
    Json::Object(map)
}

/// The full row with this key, if there is one.
fn fetch_by_key<B: SqlBackend + ?Sized>(
    backend: &B,
    table: &TableInfo,
    key: &[SqlValue],
) -> Result<Option<Vec<SqlValue>>, ConnectorError> {
    let mut stmt = Statement::new(
        backend.dialect(),
        &format!(
            "SELECT {} FROM {} WHERE ",
            columns_list(table),
            table.sql_name()
        ),
    );
    stmt.push_key(table, key);
    Ok(stmt.query(backend)?.into_iter().next())
}
