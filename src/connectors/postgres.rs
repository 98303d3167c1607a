//! The `postgres` connector: the shared SQL row actions (`sql.rs`) on a PostgreSQL database,
//! through the synchronous `postgres` client. This file is only the backend — connecting,
//! schema lookup, binding, reading values, transactions.
//!
//! Values cross the wire as text in both directions that matter: every parameter is sent in
//! PostgreSQL's text format, so the server parses it with the column type's own input function
//! (a numeric keeps its digits, a timestamp its microseconds); results arrive in binary and are
//! decoded here into the text forms those input functions read back exactly. A type this file
//! cannot carry exactly is refused, never approximated.

use std::cell::{RefCell, RefMut};
use std::error::Error as StdError;
use std::fmt::Write as _;
use std::time::Duration;

use chrono::{Datelike, NaiveDate, TimeDelta};
use postgres::config::Host;
use postgres::types::private::BytesMut;
use postgres::types::{Format, FromSql, IsNull, Kind, ToSql, Type};
use postgres::{Client, Config, NoTls};

use super::ConnectorError;
use super::sql::{self, Column, Dialect, Placeholders, SqlBackend, SqlValue, TableInfo};

pub const KIND: &str = "postgres";

/// How long connecting may take before the step fails, unless the DSN sets `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest a statement may run (row locks included) unless the DSN's options set one.
const STATEMENT_TIMEOUT: &str = "30s";

/// Relation kinds a statement may name: tables, partitioned tables, views, materialised views
/// and foreign tables.
const RELATION_KINDS: &str = "('r', 'p', 'v', 'm', 'f')";

/// The column types this connector carries, named as `format_type` and error messages do.
const SUPPORTED: &str = "smallint, integer, bigint, real, double precision, numeric, boolean, \
                         text, character varying, character, name, bytea, uuid, date, time, \
                         timestamp, timestamp with time zone, json, jsonb, enums, and domains \
                         over these";

/// A PostgreSQL database, one connection, opened once per run.
pub struct PostgresConnector {
    backend: PostgresBackend,
}

/// Kept private so nothing outside the connector can run arbitrary SQL through the backend.
struct PostgresBackend {
    /// `postgres::Client` needs `&mut` for every call, and the connector traits take `&self`.
    client: RefCell<Client>,
    /// What must never appear in a message: the connection string and its password.
    secrets: Vec<String>,
}

impl PostgresConnector {
    /// Connects with the connection string `dsn` (a `postgres://` URL or `key=value` pairs),
    /// without TLS. Messages never contain the DSN or its password.
    pub fn connect(dsn: &str) -> Result<Self, ConnectorError> {
        let mut secrets = vec![dsn.to_string()];
        let mut config: Config = dsn.parse().map_err(|e: postgres::Error| {
            ConnectorError::Refused(scrub(
                &secrets,
                format!(
                    "the PostgreSQL connection string is not valid: {}",
                    describe(&e)
                ),
            ))
        })?;
        if let Some(password) = config.get_password() {
            secrets.push(String::from_utf8_lossy(password).into_owned());
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("enact");
        }
        let target = describe_target(&config);
        let mut client = config.connect(NoTls).map_err(|e| {
            ConnectorError::Failed(scrub(
                &secrets,
                format!("cannot connect to PostgreSQL {target}: {}", describe(&e)),
            ))
        })?;
        // One statement: sets the timeout only where neither the DSN nor the role set one.
        client
            .batch_execute(&format!(
                "SELECT set_config('statement_timeout', '{STATEMENT_TIMEOUT}', false) \
                 WHERE current_setting('statement_timeout') = '0'"
            ))
            .map_err(|e| {
                ConnectorError::Failed(scrub(
                    &secrets,
                    format!(
                        "connected to PostgreSQL {target} but could not set statement_timeout: {}",
                        describe(&e)
                    ),
                ))
            })?;
        Ok(PostgresConnector {
            backend: PostgresBackend {
                client: RefCell::new(client),
                secrets,
            },
        })
    }
}

impl std::fmt::Debug for PostgresConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConnector").finish_non_exhaustive()
    }
}

crate::connectors::sql::sql_connector!(PostgresConnector);

/// "(database `shop` on 127.0.0.1:5432 as `app`)": where a connection went, without secrets.
fn describe_target(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(index, host)| {
            let port = config
                .get_ports()
                .get(index)
                .or_else(|| config.get_ports().first())
                .copied()
                .unwrap_or(5432);
            match host {
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(dir) => format!("{} (port {port})", dir.display()),
            }
        })
        .collect();
    let mut text = format!(
        "(database `{}`",
        config.get_dbname().unwrap_or("(the user's)")
    );
    if !hosts.is_empty() {
        text.push_str(&format!(" on {}", hosts.join(", ")));
    }
    if let Some(user) = config.get_user() {
        text.push_str(&format!(" as `{user}`"));
    }
    text.push(')');
    text
}

/// An error with its causes: the client's own `Display` says only "db error" or "error
/// connecting to server", and the server's message is in the source.
fn describe(error: &postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return db.to_string().replace('\n', "; ");
    }
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn scrub(secrets: &[String], message: String) -> String {
    secrets
        .iter()
        .filter(|secret| !secret.is_empty())
        .fold(message, |message, secret| message.replace(secret, "***"))
}

impl PostgresBackend {
    fn client(&self) -> Result<RefMut<'_, Client>, ConnectorError> {
        self.client.try_borrow_mut().map_err(|_| {
            ConnectorError::Failed("the PostgreSQL connection is already in use".to_string())
        })
    }

    fn failed(&self, sql: &str, error: &postgres::Error) -> ConnectorError {
        ConnectorError::Failed(scrub(
            &self.secrets,
            format!("PostgreSQL: {} (while running `{sql}`)", describe(error)),
        ))
    }

    fn run_batch(&self, sql: &str) -> Result<(), ConnectorError> {
        self.client()?
            .batch_execute(sql)
            .map_err(|e| self.failed(sql, &e))
    }

    /// Refuses a table with a column this connector cannot carry exactly, naming it, and marks
    /// the columns compared as text: the types are read from the server's description of a
    /// `SELECT` of every column, the same types `query` decodes (domains resolved to their
    /// base), so the check, the comparisons and the decoding cannot disagree.
    fn check_types(&self, table: &mut TableInfo) -> Result<(), ConnectorError> {
        if table.columns.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = table
            .columns
            .iter()
            .map(|c| sql::quote_ident(&c.name))
            .collect();
        let text = format!("SELECT {} FROM {}", names.join(", "), table.sql_name());
        let statement = self
            .client()?
            .prepare(&text)
            .map_err(|e| self.failed(&text, &e))?;
        for (column, described) in table.columns.iter_mut().zip(statement.columns()) {
            let Some(kind) = pg_type(described.type_()) else {
                return Err(unsupported(
                    &table.name,
                    &column.name,
                    &column.declared_type,
                ));
            };
            // `json` has no equality or ordering operators; its text is what it stores.
            column.compare_as_text = kind == PgType::Json;
        }
        Ok(())
    }
}

fn unsupported(table: &str, column: &str, type_name: &str) -> ConnectorError {
    ConnectorError::Refused(format!(
        "column `{column}` of `{table}` has type {type_name}, which the postgres connector \
         cannot carry exactly, so Enact will not read or change this table; supported types: \
         {SUPPORTED}"
    ))
}

impl SqlBackend for PostgresBackend {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn dialect(&self) -> Dialect {
        Dialect {
            placeholders: Placeholders::Numbered,
            null_safe_eq: "IS NOT DISTINCT FROM",
            null_safe_ne: "IS DISTINCT FROM",
            lock_rows: " FOR UPDATE",
            restore_insert: " OVERRIDING SYSTEM VALUE",
        }
    }

    fn table_names(&self) -> Result<Vec<String>, ConnectorError> {
        let rows = self.query(
            &format!(
                "SELECT c.relname::text FROM pg_catalog.pg_class c \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = current_schema() AND c.relkind IN {RELATION_KINDS} \
                 ORDER BY 1"
            ),
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
        // One round trip: the table in the current schema and its columns, one row per column
        // (one row of NULLs for a table without columns, none when there is no such table).
        // Names compare as text, so a name longer than PostgreSQL's 63-byte limit is not
        // truncated onto another table, and no spelling but the real one matches.
        let text = format!(
            "SELECT n.nspname::text, a.attname::text, \
               pg_catalog.format_type(a.atttypid, a.atttypmod), a.attgenerated <> '', \
               COALESCE((SELECT k.ord FROM pg_catalog.pg_index i, \
                           unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
                         WHERE i.indrelid = c.oid AND i.indisprimary \
                           AND k.attnum = a.attnum), 0) \
             FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_catalog.pg_attribute a \
               ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
             WHERE n.nspname = current_schema() AND c.relname::text = $1 \
               AND c.relkind IN {RELATION_KINDS} \
             ORDER BY a.attnum"
        );
        let rows = self
            .client()?
            .query_typed(&text, &[(&table, Type::TEXT)])
            .map_err(|e| self.failed(&text, &e))?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let schema: String = first.try_get(0).map_err(|e| self.failed(&text, &e))?;
        let mut columns = Vec::new();
        let mut key: Vec<(i64, String)> = Vec::new();
        for row in &rows {
            let read = || -> Result<_, postgres::Error> {
                Ok((
                    row.try_get::<_, Option<String>>(1)?,
                    row.try_get::<_, Option<String>>(2)?,
                    row.try_get::<_, Option<bool>>(3)?,
                    row.try_get::<_, Option<i64>>(4)?,
                ))
            };
            let (Some(name), declared, generated, position) =
                read().map_err(|e| self.failed(&text, &e))?
            else {
                continue;
            };
            if let Some(position) = position.filter(|p| *p > 0) {
                key.push((position, name.clone()));
            }
            columns.push(Column {
                name,
                declared_type: declared.unwrap_or_default(),
                generated: generated.unwrap_or(false),
                compare_as_text: false,
            });
        }
        key.sort();
        let mut info = TableInfo {
            name: table.to_string(),
            schema: Some(schema),
            columns,
            key_columns: key.into_iter().map(|(_, name)| name).collect(),
        };
        self.check_types(&mut info)?;
        Ok(Some(info))
    }

    fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<Vec<SqlValue>>, ConnectorError> {
        let params: Vec<Param<'_>> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let rows = self
            .client()?
            .query(sql, &refs)
            .map_err(|e| self.failed(sql, &e))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut values = Vec::with_capacity(row.len());
            for (index, column) in row.columns().iter().enumerate() {
                let raw: Raw<'_> = row.try_get(index).map_err(|e| self.failed(sql, &e))?;
                let value = decode(column.type_(), raw.0).map_err(|problem| {
                    ConnectorError::Refused(format!(
                        "column `{}` ({problem}) in the result of `{sql}`",
                        column.name()
                    ))
                })?;
                values.push(value);
            }
            out.push(values);
        }
        Ok(out)
    }

    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<u64, ConnectorError> {
        let params: Vec<Param<'_>> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.client()?
            .execute(sql, &refs)
            .map_err(|e| self.failed(sql, &e))
    }

    fn begin_write(&self) -> Result<(), ConnectorError> {
        self.run_batch("BEGIN")
    }

    fn commit(&self) -> Result<(), ConnectorError> {
        self.run_batch("COMMIT")
    }

    fn rollback(&self) -> Result<(), ConnectorError> {
        // Outside a transaction ROLLBACK only warns, so it is safe to send unconditionally.
        self.run_batch("ROLLBACK")
    }
}

// ---------------------------------------------------------------------------------------------
// Types

/// The PostgreSQL types this connector carries, each with one exact JSON form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PgType {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    /// Decimal text with its scale (`"12.50"`), `"NaN"`, `"Infinity"`, `"-Infinity"`.
    Numeric,
    /// text, varchar, char(n) (padded, as stored), name, and enum labels.
    Text,
    Bytea,
    /// Lower-case hyphenated.
    Uuid,
    /// `2024-05-01`, `0044-03-15 BC`, `infinity`.
    Date,
    /// `13:45:00.25`.
    Time,
    /// `2024-05-01T13:45:00.25`.
    Timestamp,
    /// In UTC: `2024-05-01T13:45:00.25Z`.
    Timestamptz,
    /// The JSON text as a string, byte for byte.
    Json,
    /// The JSON text as PostgreSQL normalises it, as a string.
    Jsonb,
}

fn pg_type(ty: &Type) -> Option<PgType> {
    match ty.kind() {
        Kind::Enum(_) => return Some(PgType::Text),
        Kind::Domain(base) => return pg_type(base),
        _ => {}
    }
    Some(match *ty {
        Type::BOOL => PgType::Bool,
        Type::INT2 => PgType::Int2,
        Type::INT4 => PgType::Int4,
        Type::INT8 => PgType::Int8,
        Type::FLOAT4 => PgType::Float4,
        Type::FLOAT8 => PgType::Float8,
        Type::NUMERIC => PgType::Numeric,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => PgType::Text,
        Type::BYTEA => PgType::Bytea,
        Type::UUID => PgType::Uuid,
        Type::DATE => PgType::Date,
        Type::TIME => PgType::Time,
        Type::TIMESTAMP => PgType::Timestamp,
        Type::TIMESTAMPTZ => PgType::Timestamptz,
        Type::JSON => PgType::Json,
        Type::JSONB => PgType::Jsonb,
        _ => return None,
    })
}

/// A result value's raw binary form (`None` for NULL), decoded by `decode`.
struct Raw<'a>(Option<&'a [u8]>);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(Raw(Some(raw)))
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(Raw(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// The microseconds in a day, and the epoch PostgreSQL counts dates and times from.
const MICROS_PER_DAY: i64 = 86_400_000_000;

fn postgres_epoch() -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(2000, 1, 1)
}

/// A result value as Enact carries it; an error names the type when it cannot.
fn decode(ty: &Type, raw: Option<&[u8]>) -> Result<SqlValue, String> {
    let Some(kind) = pg_type(ty) else {
        return Err(format!(
            "type {}, which the postgres connector cannot carry exactly; supported types: \
             {SUPPORTED}",
            ty.name()
        ));
    };
    let Some(raw) = raw else {
        return Ok(SqlValue::Null);
    };
    let bad = || format!("a malformed {} value from the server", ty.name());
    Ok(match kind {
        PgType::Bool => SqlValue::Bool(raw.first().ok_or_else(bad)? != &0),
        PgType::Int2 => SqlValue::Integer(i16::from_be_bytes(fixed(raw).ok_or_else(bad)?).into()),
        PgType::Int4 => SqlValue::Integer(i32::from_be_bytes(fixed(raw).ok_or_else(bad)?).into()),
        PgType::Int8 => SqlValue::Integer(i64::from_be_bytes(fixed(raw).ok_or_else(bad)?)),
        PgType::Float4 => SqlValue::Real(f32::from_be_bytes(fixed(raw).ok_or_else(bad)?).into()),
        PgType::Float8 => SqlValue::Real(f64::from_be_bytes(fixed(raw).ok_or_else(bad)?)),
        PgType::Numeric => SqlValue::Text(numeric_text(raw).ok_or_else(bad)?),
        PgType::Text | PgType::Json => SqlValue::Text(utf8(raw).ok_or_else(bad)?),
        PgType::Jsonb => match raw.split_first() {
            Some((1, text)) => SqlValue::Text(utf8(text).ok_or_else(bad)?),
            _ => return Err(bad()),
        },
        PgType::Bytea => SqlValue::Blob(raw.to_vec()),
        PgType::Uuid => SqlValue::Text(
            uuid::Uuid::from_slice(raw)
                .map_err(|_| bad())?
                .hyphenated()
                .to_string(),
        ),
        PgType::Date => {
            let days = i32::from_be_bytes(fixed(raw).ok_or_else(bad)?);
            SqlValue::Text(date_text(days).ok_or_else(|| out_of_range(ty))?)
        }
        PgType::Time => {
            let micros = i64::from_be_bytes(fixed(raw).ok_or_else(bad)?);
            SqlValue::Text(time_text(micros))
        }
        PgType::Timestamp | PgType::Timestamptz => {
            let micros = i64::from_be_bytes(fixed(raw).ok_or_else(bad)?);
            let zone = if kind == PgType::Timestamptz { "Z" } else { "" };
            SqlValue::Text(timestamp_text(micros, zone).ok_or_else(|| out_of_range(ty))?)
        }
    })
}

fn out_of_range(ty: &Type) -> String {
    format!(
        "a {} beyond the years Enact can write exactly (±262,000)",
        ty.name()
    )
}

fn fixed<const N: usize>(raw: &[u8]) -> Option<[u8; N]> {
    raw.try_into().ok()
}

fn utf8(raw: &[u8]) -> Option<String> {
    std::str::from_utf8(raw).ok().map(str::to_string)
}

/// `numeric`'s binary form as the decimal text PostgreSQL itself prints: base-10000 digit
/// groups, the weight of the first group, a sign and the display scale.
fn numeric_text(raw: &[u8]) -> Option<String> {
    let word = |at: usize| -> Option<u16> {
        raw.get(at..at + 2)
            .and_then(|b| b.try_into().ok())
            .map(u16::from_be_bytes)
    };
    let count = usize::from(word(0)?);
    let weight = i64::from(word(2)?.cast_signed());
    let sign = word(4)?;
    let scale = usize::from(word(6)?);
    let digits: Vec<u16> = (0..count)
        .map(|i| word(8 + 2 * i).filter(|d| *d < 10_000))
        .collect::<Option<_>>()?;
    if raw.len() != 8 + 2 * count {
        return None;
    }
    let mut text = match sign {
        0x0000 => String::new(),
        0x4000 => "-".to_string(),
        0xC000 => return Some("NaN".to_string()),
        0xD000 => return Some("Infinity".to_string()),
        0xF000 => return Some("-Infinity".to_string()),
        _ => return None,
    };
    let group = |index: i64| -> u16 {
        usize::try_from(index)
            .ok()
            .and_then(|i| digits.get(i))
            .copied()
            .unwrap_or(0)
    };
    if weight < 0 {
        text.push('0');
    } else {
        for index in 0..=weight {
            let digit = group(index);
            if index == 0 {
                let _ = write!(text, "{digit}");
            } else {
                let _ = write!(text, "{digit:04}");
            }
        }
    }
    if scale > 0 {
        let mut fraction = String::with_capacity(scale + 4);
        let mut index = weight + 1;
        while fraction.len() < scale {
            let _ = write!(fraction, "{:04}", group(index));
            index += 1;
        }
        fraction.truncate(scale);
        text.push('.');
        text.push_str(&fraction);
    }
    Some(text)
}

/// Days since 2000-01-01 as ISO text, years before 1 written `BC` as PostgreSQL reads them.
fn date_text(days: i32) -> Option<String> {
    match days {
        i32::MAX => return Some("infinity".to_string()),
        i32::MIN => return Some("-infinity".to_string()),
        _ => {}
    }
    let date = postgres_epoch()?.checked_add_signed(TimeDelta::try_days(days.into())?)?;
    let (day, era) = calendar_text(date);
    Some(day + era)
}

/// `(2024-05-01, "")` or `(0044-03-15, " BC")`: the date and the era suffix, apart, because a
/// timestamp puts its time between them.
fn calendar_text(date: NaiveDate) -> (String, &'static str) {
    let (year, era) = if date.year() <= 0 {
        (1 - date.year(), " BC")
    } else {
        (date.year(), "")
    };
    (
        format!("{year:04}-{:02}-{:02}", date.month(), date.day()),
        era,
    )
}

/// Microseconds since midnight as `HH:MM:SS` with as many fractional digits as needed
/// (`24:00:00` included, which PostgreSQL allows).
fn time_text(micros: i64) -> String {
    let seconds = micros.div_euclid(1_000_000);
    let fraction = micros.rem_euclid(1_000_000);
    let mut text = format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        (seconds / 60) % 60,
        seconds % 60
    );
    if fraction > 0 {
        let digits = format!("{fraction:06}");
        text.push('.');
        text.push_str(digits.trim_end_matches('0'));
    }
    text
}

/// Microseconds since 2000-01-01 00:00 as `2024-05-01T13:45:00.25` plus `zone` (`Z` for
/// timestamptz, which the server sends in UTC), `BC` last.
fn timestamp_text(micros: i64, zone: &str) -> Option<String> {
    match micros {
        i64::MAX => return Some("infinity".to_string()),
        i64::MIN => return Some("-infinity".to_string()),
        _ => {}
    }
    let days = micros.div_euclid(MICROS_PER_DAY);
    let date = postgres_epoch()?.checked_add_signed(TimeDelta::try_days(days)?)?;
    let (day, era) = calendar_text(date);
    let time = time_text(micros.rem_euclid(MICROS_PER_DAY));
    Some(format!("{day}T{time}{zone}{era}"))
}

/// A value bound to a parameter, always in text format: the server parses it with the
/// parameter's type, so `"12.50"` becomes that numeric and `"2024-05-01T10:00:00Z"` that
/// instant. Refused here: blobs anywhere but bytea, and anything but a blob in bytea (text
/// would be read as bytea's escape format and stored as other bytes than were meant).
#[derive(Debug)]
struct Param<'v>(&'v SqlValue);

impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match param_text(self.0, ty)? {
            None => Ok(IsNull::Yes),
            Some(text) => {
                out.extend_from_slice(text.as_bytes());
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn to_sql_checked(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        self.to_sql(ty, out)
    }

    fn encode_format(&self, _: &Type) -> Format {
        Format::Text
    }
}

fn param_text(value: &SqlValue, ty: &Type) -> Result<Option<String>, String> {
    let target = pg_type(ty);
    let text = match value {
        SqlValue::Null => return Ok(None),
        SqlValue::Blob(bytes) if target == Some(PgType::Bytea) => {
            let mut text = String::with_capacity(2 + 2 * bytes.len());
            text.push_str("\\x");
            for byte in bytes {
                let _ = write!(text, "{byte:02x}");
            }
            text
        }
        SqlValue::Blob(_) => {
            return Err(format!(
                "a blob goes only into a bytea column, not into {}",
                ty.name()
            ));
        }
        _ if target == Some(PgType::Bytea) => {
            return Err(format!(
                "a bytea column takes bytes, written {{\"{}\": \"...\"}}, not {}",
                sql::BLOB_TAG,
                sql::value_to_json(value)
            ));
        }
        SqlValue::Bool(b) => b.to_string(),
        SqlValue::Integer(i) => i.to_string(),
        SqlValue::Real(f) => {
            let integer_column = matches!(target, Some(PgType::Int2 | PgType::Int4 | PgType::Int8));
            // JSON's `2.0` is the integer 2 to an integer column, as it is to SQLite.
            if integer_column && f.fract() == 0.0 && f.abs() < 9.2e18 {
                format!("{}", *f as i64)
            } else {
                float_text(*f)
            }
        }
        SqlValue::Text(s) => s.clone(),
    };
    Ok(Some(text))
}

/// The shortest text that reads back as exactly this float, in a spelling PostgreSQL reads.
fn float_text(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_string()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
    } else {
        format!("{f:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(count: u16, weight: i16, sign: u16, scale: u16, digits: &[u16]) -> Vec<u8> {
        let mut raw = Vec::new();
        for word in [count, weight.cast_unsigned(), sign, scale]
            .into_iter()
            .chain(digits.iter().copied())
        {
            raw.extend_from_slice(&word.to_be_bytes());
        }
        raw
    }

    #[test]
    fn numeric_binary_reads_as_postgres_prints_it() {
        assert_eq!(
            numeric_text(&numeric(2, 0, 0, 2, &[12, 5000])).unwrap(),
            "12.50"
        );
        assert_eq!(
            numeric_text(&numeric(1, 2, 0, 0, &[1])).unwrap(),
            "100000000"
        );
        assert_eq!(
            numeric_text(&numeric(1, -2, 0x4000, 5, &[1000])).unwrap(),
            "-0.00001"
        );
        assert_eq!(numeric_text(&numeric(0, 0, 0, 3, &[])).unwrap(), "0.000");
        assert_eq!(numeric_text(&numeric(0, 0, 0xC000, 0, &[])).unwrap(), "NaN");
        assert_eq!(numeric_text(&numeric(1, 0, 0, 0, &[10_000])), None);
        assert_eq!(numeric_text(&[0, 1]), None);
    }

    #[test]
    fn dates_and_times_use_forms_postgres_reads_back() {
        assert_eq!(date_text(0).unwrap(), "2000-01-01");
        let ides = NaiveDate::from_ymd_opt(-43, 3, 15).unwrap() - postgres_epoch().unwrap();
        let ides = i32::try_from(ides.num_days()).unwrap();
        assert_eq!(date_text(ides).unwrap(), "0044-03-15 BC");
        assert_eq!(date_text(i32::MAX).unwrap(), "infinity");
        assert_eq!(time_text(MICROS_PER_DAY), "24:00:00");
        assert_eq!(time_text(45_296_250_000), "12:34:56.25");
        assert_eq!(
            timestamp_text(-1, "Z").unwrap(),
            "1999-12-31T23:59:59.999999Z"
        );
        assert_eq!(timestamp_text(i64::MIN, "").unwrap(), "-infinity");
    }

    #[test]
    fn parameters_are_text_and_bytea_takes_only_bytes() {
        let text = |v: SqlValue, ty: Type| param_text(&v, &ty);
        assert_eq!(
            text(SqlValue::Blob(vec![0, 255]), Type::BYTEA).unwrap(),
            Some("\\x00ff".to_string())
        );
        assert!(text(SqlValue::Text("\\x00".into()), Type::BYTEA).is_err());
        assert!(text(SqlValue::Blob(vec![1]), Type::TEXT).is_err());
        assert_eq!(text(SqlValue::Null, Type::BYTEA).unwrap(), None);
        assert_eq!(
            text(SqlValue::Real(2.0), Type::INT4).unwrap(),
            Some("2".to_string())
        );
        assert_eq!(
            text(SqlValue::Real(2.0), Type::NUMERIC).unwrap(),
            Some("2.0".to_string())
        );
        assert_eq!(
            text(SqlValue::Real(f64::NEG_INFINITY), Type::FLOAT8).unwrap(),
            Some("-Infinity".to_string())
        );
        assert_eq!(
            text(SqlValue::Integer(i64::MIN), Type::INT8).unwrap(),
            Some(i64::MIN.to_string())
        );
    }

    #[test]
    fn messages_never_hold_the_secrets() {
        let secrets = vec!["postgres://u:hunter22@h/db".to_string(), "hunter22".into()];
        assert_eq!(
            scrub(
                &secrets,
                "bad postgres://u:hunter22@h/db and hunter22".into()
            ),
            "bad *** and ***"
        );
    }
}
