//! How row actions become parameterised SQL: a statement builder that binds every value,
//! and the structured `where` compiled onto it.

use serde_json::{Map, Value as Json};

use super::{
    Dialect, Placeholders, SqlBackend, SqlValue, TableInfo, quote_ident, tagged, value_from_json,
};
use crate::connectors::ConnectorError;
use crate::policy::diagnostic::did_you_mean;

/// A statement being built: SQL text plus the values bound to its placeholders.
pub(super) struct Statement {
    text: String,
    params: Vec<SqlValue>,
    dialect: Dialect,
}

impl Statement {
    pub(super) fn new(dialect: Dialect, text: &str) -> Self {
        Statement {
            text: text.to_string(),
            params: Vec::new(),
            dialect,
        }
    }

    pub(super) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    pub(super) fn bind(&mut self, value: SqlValue) -> &mut Self {
        self.params.push(value);
        match self.dialect.placeholders {
            Placeholders::QuestionMark => self.text.push('?'),
            Placeholders::Numbered => {
                let n = self.params.len();
                self.text.push_str(&format!("${n}"));
            }
        }
        self
    }

    /// `"a" = ? AND "b" = ?` for the key columns.
    pub(super) fn push_key(&mut self, table: &TableInfo, key: &[SqlValue]) -> &mut Self {
        for (index, (column, value)) in table.key_columns.iter().zip(key).enumerate() {
            if index > 0 {
                self.push(" AND ");
            }
            self.push(&quote_ident(column))
                .push(" = ")
                .bind(value.clone());
        }
        self
    }

    pub(super) fn query<B: SqlBackend + ?Sized>(
        &self,
        backend: &B,
    ) -> Result<Vec<Vec<SqlValue>>, ConnectorError> {
        backend.query(&self.text, &self.params)
    }

    pub(super) fn execute<B: SqlBackend + ?Sized>(
        &self,
        backend: &B,
    ) -> Result<u64, ConnectorError> {
        backend.execute(&self.text, &self.params)
    }
}

const OPERATORS: &[&str] = &[
    "eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "like", "is_null",
];

/// Appends the structured `where` as SQL: conditions ANDed, `{}` matching every row.
pub(super) fn push_where(
    stmt: &mut Statement,
    table: &TableInfo,
    filter: &Map<String, Json>,
) -> Result<(), ConnectorError> {
    if filter.is_empty() {
        stmt.push("1 = 1");
        return Ok(());
    }
    for (index, (name, condition)) in filter.iter().enumerate() {
        if index > 0 {
            stmt.push(" AND ");
        }
        let column = table.column(name, "where")?.compared();
        match condition {
            Json::Null => {
                stmt.push(&column).push(" IS NULL");
            }
            Json::Array(items) => push_in(stmt, &column, name, "in", items, false)?,
            Json::Object(ops) if tagged(ops).is_none() => {
                if ops.is_empty() {
                    return Err(ConnectorError::BadArgs(format!(
                        "`where.{name}` is an empty map; give a value or an operator like \
                         {{\"eq\": 1}}"
                    )));
                }
                stmt.push("(");
                for (i, (op, operand)) in ops.iter().enumerate() {
                    if i > 0 {
                        stmt.push(" AND ");
                    }
                    push_operator(stmt, &column, name, op, operand)?;
                }
                stmt.push(")");
            }
            value => {
                let value = operand_value(name, "eq", value)?;
                stmt.push(&column).push(" = ").bind(value);
            }
        }
    }
    Ok(())
}

fn push_operator(
    stmt: &mut Statement,
    column: &str,
    name: &str,
    op: &str,
    operand: &Json,
) -> Result<(), ConnectorError> {
    let comparison = match op {
        "lt" => "<",
        "lte" => "<=",
        "gt" => ">",
        "gte" => ">=",
        "like" => "LIKE",
        _ => "",
    };
    match op {
        "eq" | "ne" if operand.is_null() => {
            let test = if op == "eq" {
                " IS NULL"
            } else {
                " IS NOT NULL"
            };
            stmt.push(column).push(test);
        }
        "eq" => {
            let value = operand_value(name, op, operand)?;
            stmt.push(column).push(" = ").bind(value);
        }
        // Null-safe, so `ne` also matches rows where the column is NULL, as people expect.
        "ne" => {
            let value = operand_value(name, op, operand)?;
            let ne = format!(" {} ", stmt.dialect.null_safe_ne);
            stmt.push(column).push(&ne).bind(value);
        }
        "lt" | "lte" | "gt" | "gte" | "like" => {
            if operand.is_null() {
                return Err(ConnectorError::BadArgs(format!(
                    "`where.{name}.{op}` cannot compare with null; use {{\"is_null\": true}}"
                )));
            }
            if op == "like" && !operand.is_string() {
                return Err(ConnectorError::BadArgs(format!(
                    "`where.{name}.like` takes a pattern string, not {operand}"
                )));
            }
            let value = operand_value(name, op, operand)?;
            stmt.push(column)
                .push(&format!(" {comparison} "))
                .bind(value);
        }
        "in" | "not_in" => {
            let Some(items) = operand.as_array() else {
                return Err(ConnectorError::BadArgs(format!(
                    "`where.{name}.{op}` takes a list, not {operand}"
                )));
            };
            push_in(stmt, column, name, op, items, op == "not_in")?;
        }
        "is_null" => {
            let Some(is_null) = operand.as_bool() else {
                return Err(ConnectorError::BadArgs(format!(
                    "`where.{name}.is_null` takes true or false, not {operand}"
                )));
            };
            let test = if is_null { " IS NULL" } else { " IS NOT NULL" };
            stmt.push(column).push(test);
        }
        _ => {
            let hint = did_you_mean(op, OPERATORS.iter().copied())
                .map(|h| format!(" — {h}"))
                .unwrap_or_else(|| format!("; operators are {}", OPERATORS.join(", ")));
            return Err(ConnectorError::BadArgs(format!(
                "unknown operator `{}` in `where.{name}`{hint}",
                op.escape_debug()
            )));
        }
    }
    Ok(())
}

/// `IN (...)`; `NOT IN` also matches NULL, like `ne`. An empty list matches nothing (`in`) or
/// everything (`not_in`). Nulls inside the list are refused: SQL would silently ignore them.
fn push_in(
    stmt: &mut Statement,
    column: &str,
    name: &str,
    op: &str,
    items: &[Json],
    negated: bool,
) -> Result<(), ConnectorError> {
    if items.is_empty() {
        stmt.push(if negated { "1 = 1" } else { "1 = 0" });
        return Ok(());
    }
    if negated {
        stmt.push("(");
    }
    stmt.push(column)
        .push(if negated { " NOT IN (" } else { " IN (" });
    for (index, item) in items.iter().enumerate() {
        if item.is_null() {
            return Err(ConnectorError::BadArgs(format!(
                "the list in `where.{name}` holds null, which never matches in SQL; use \
                 {{\"is_null\": true}} for that"
            )));
        }
        if index > 0 {
            stmt.push(", ");
        }
        let value = operand_value(name, op, item)?;
        stmt.bind(value);
    }
    stmt.push(")");
    if negated {
        stmt.push(&format!(" OR {column} IS NULL)"));
    }
    Ok(())
}

fn operand_value(name: &str, op: &str, operand: &Json) -> Result<SqlValue, ConnectorError> {
    value_from_json(operand)
        .map_err(|e| ConnectorError::BadArgs(format!("`where.{name}` ({op}): {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::sql::Column;
    use serde_json::json;

    fn table() -> TableInfo {
        let column = |name: &str| Column {
            name: name.to_string(),
            declared_type: String::new(),
            generated: false,
            compare_as_text: name == "j",
        };
        TableInfo {
            name: "t".to_string(),
            schema: None,
            columns: vec![column("a"), column("b\"q"), column("c"), column("j")],
            key_columns: vec!["a".to_string()],
        }
    }

    fn dialect(placeholders: Placeholders) -> Dialect {
        Dialect {
            placeholders,
            null_safe_eq: "IS NOT DISTINCT FROM",
            null_safe_ne: "IS DISTINCT FROM",
            lock_rows: " FOR UPDATE",
            restore_insert: " OVERRIDING SYSTEM VALUE",
        }
    }

    fn compile(placeholders: Placeholders, filter: serde_json::Value) -> (String, Vec<SqlValue>) {
        let mut stmt = Statement::new(dialect(placeholders), "");
        push_where(&mut stmt, &table(), filter.as_object().unwrap()).unwrap();
        (stmt.text, stmt.params)
    }

    #[test]
    fn numbered_placeholders_count_every_bound_value() {
        let (text, params) = compile(
            Placeholders::Numbered,
            json!({"a": {"gte": 1, "ne": 5}, "b\"q": {"not_in": ["x", "y"]}, "c": null}),
        );
        assert_eq!(
            text,
            "(\"a\" >= $1 AND \"a\" IS DISTINCT FROM $2) AND ((\"b\"\"q\" NOT IN ($3, $4) OR \
             \"b\"\"q\" IS NULL)) AND \"c\" IS NULL"
        );
        assert_eq!(
            params,
            [
                SqlValue::Integer(1),
                SqlValue::Integer(5),
                SqlValue::Text("x".into()),
                SqlValue::Text("y".into())
            ]
        );
    }

    #[test]
    fn question_marks_and_shorthands() {
        let (text, params) = compile(
            Placeholders::QuestionMark,
            json!({"a": [1, 2], "c": {"$blob_base64": "AA=="}}),
        );
        assert_eq!(text, "\"a\" IN (?, ?) AND \"c\" = ?");
        assert_eq!(params.get(2), Some(&SqlValue::Blob(vec![0])));
        assert_eq!(compile(Placeholders::QuestionMark, json!({})).0, "1 = 1");
        assert_eq!(
            compile(Placeholders::QuestionMark, json!({"a": {"in": []}})).0,
            "(1 = 0)"
        );
    }

    #[test]
    fn a_column_without_comparison_operators_is_compared_as_text() {
        let (text, _) = compile(Placeholders::Numbered, json!({"j": "{}", "a": 1}));
        assert_eq!(text, "\"a\" = $1 AND \"j\"::text = $2");
        let (text, _) = compile(
            Placeholders::Numbered,
            json!({"j": {"ne": "[]", "not_in": ["{}"]}}),
        );
        assert_eq!(
            text,
            "(\"j\"::text IS DISTINCT FROM $1 AND (\"j\"::text NOT IN ($2) OR \"j\"::text IS NULL))"
        );
    }
}
