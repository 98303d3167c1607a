//! SQL analysis for policies: parses the SQL an agent wants to run with `sqlparser` and
//! reports, per statement, what it does (verb, tables read and written, WHERE/LIMIT shape,
//! projected columns) so that policies never have to judge SQL by matching raw text.

use std::cmp::Ordering;
use std::fmt;

use sqlparser::ast::{
    AccessExpr, AlterFunctionKind, AlterTableOperation, Assignment, BinaryOperator, CommentObject,
    ConditionalStatementBlock, ConditionalStatements, ConnectByKind, CopySource,
    CreateTableLikeKind, DescribeAlias, Distinct, Expr, FromTable, Function, FunctionArg,
    FunctionArgExpr, FunctionArgumentClause, FunctionArguments, GrantObjects, GroupByExpr,
    HavingBound, Ident, Join, JoinConstraint, JoinOperator, LimitClause, MergeAction,
    MergeInsertKind, MergeUpdateKind, NamedWindowExpr, ObjectName, ObjectNamePart, ObjectType,
    OnConflictAction, OnInsert, OrderByExpr, OrderByKind, OutputClause, PipeOperator,
    PivotValueSource, Query, RenameTableNameKind, Select, SelectInto, SelectItem,
    SelectItemQualifiedWildcardKind, Set, SetExpr, ShowCreateObject, Statement, Subscript,
    TableFactor, TableObject, TableWithJoins, TopQuantity, UnaryOperator, UpdateTableFromKind,
    Value, WindowFrameBound, WindowSpec, WindowType,
};
use sqlparser::dialect::{Dialect, GenericDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, Tokenizer};

/// What one SQL statement does, as far as policies care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlStatement {
    /// Lower-case verb: "select", "insert", "update", "delete", "create", "drop", "alter",
    /// "truncate", "rename", "grant", "revoke", "merge", "copy", "set", "show", "begin",
    /// "commit", "explain", … or "other".
    pub kind: String,
    /// The kind of object a create/drop/alter/truncate/rename/comment acts on ("table",
    /// "database", "index", …); `None` for every other kind.
    pub object: Option<String>,
    /// Every table read or written, in order of appearance, deduplicated; names as written
    /// without quotes, schema-qualified names kept whole; CTE names are not tables.
    pub tables: Vec<String>,
    /// The tables written; a subset of `tables`.
    pub target_tables: Vec<String>,
    /// The statement's own top-level WHERE is present (a `WHERE 1=1` counts).
    pub has_where: bool,
    /// That WHERE is a constant true predicate such as `1=1`, `true` or `'a'='a'` (best effort).
    pub where_is_trivial: bool,
    /// An outer LIMIT / FETCH FIRST / TOP bounds the rows.
    pub has_limit: bool,
    /// CREATE, DROP, ALTER, TRUNCATE, RENAME, GRANT, REVOKE, DENY or COMMENT ON.
    pub is_ddl: bool,
    /// For "select": lower-cased, unqualified column names referenced by the projections
    /// ("*" for a wildcard). Empty for other kinds.
    pub columns: Vec<String>,
}

/// SQL that could not be analysed, with a message meant for end users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError {
    pub message: String,
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SqlError {}

/// Parse `sql` (one or several statements separated by `;`). Tries the generic dialect, then
/// PostgreSQL, MySQL and SQLite; the first that parses wins; if none parses, the error of the
/// generic dialect.
///
/// Data-modifying statements nested inside another one (`WITH d AS (DELETE …) SELECT …`,
/// `EXPLAIN ANALYZE …`, `PREPARE … AS …`, IF/WHILE/CASE and BEGIN … END blocks) are also
/// reported as statements of their own, after the statement containing them, so that a policy
/// on DELETE sees the DELETE wherever it hides.
pub fn statements(sql: &str) -> Result<Vec<SqlStatement>, SqlError> {
    let parsed = parse(sql)?;
    let mut out = Vec::new();
    for statement in &parsed {
        analyze(statement, Vec::new(), &mut out);
    }
    Ok(out)
}

/// Upper-case keyword tokens of `sql` from sqlparser's tokenizer, in order; identifiers,
/// quoted identifiers and string literals are not keywords. Never fails: when the tokenizer
/// stops at an error, the keywords before it are returned.
pub fn keywords(sql: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    // On error the buffer keeps every token read before it, which is exactly what we want.
    let _ = Tokenizer::new(&GenericDialect {}, sql).tokenize_with_location_into_buf(&mut tokens);
    tokens
        .iter()
        .filter_map(|token| match &token.token {
            Token::Word(word)
                if word.keyword != Keyword::NoKeyword && word.quote_style.is_none() =>
            {
                Some(word.value.to_uppercase())
            }
            _ => None,
        })
        .collect()
}

/// sqlparser builds operator chains (`a + b + …`, `… AND …`, `… UNION …`) as left-deep trees
/// in a loop, outside its recursion limit, and dropping such a tree recurses once per level:
/// around 30,000 levels overflow a 2 MiB thread stack. Every level costs at least one operator
/// or keyword token, so refusing inputs with more of those than this bounds the depth.
const MAX_OPERATOR_TOKENS: usize = 10_000;

fn parse(sql: &str) -> Result<Vec<Statement>, SqlError> {
    let dialects: [&dyn Dialect; 4] = [
        &GenericDialect {},
        &PostgreSqlDialect {},
        &MySqlDialect {},
        &SQLiteDialect {},
    ];
    let mut first_error = None;
    for dialect in dialects {
        match parse_with(dialect, sql) {
            Ok(parsed) => return Ok(parsed),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| SqlError {
        message: "could not parse SQL".to_string(),
    }))
}

fn parse_with(dialect: &dyn Dialect, sql: &str) -> Result<Vec<Statement>, SqlError> {
    let tokens = Tokenizer::new(dialect, sql)
        .tokenize_with_location()
        .map_err(|error| SqlError {
            message: format!("could not parse SQL: {error}"),
        })?;
    if tokens.iter().filter(|token| deepens(&token.token)).count() > MAX_OPERATOR_TOKENS {
        return Err(SqlError {
            message: format!(
                "SQL too complex to analyse (more than {MAX_OPERATOR_TOKENS} operators and keywords)"
            ),
        });
    }
    Parser::new(dialect)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(|error| {
            let detail = match error {
                ParserError::TokenizerError(message) | ParserError::ParserError(message) => message,
                ParserError::RecursionLimitExceeded => "it is nested too deeply".to_string(),
            };
            SqlError {
                message: format!("could not parse SQL: {detail}"),
            }
        })
}

/// Whether a token can add a level to the AST: anything but identifiers, literals and
/// punctuation that only separates or groups (grouping is covered by the recursion limit).
fn deepens(token: &Token) -> bool {
    match token {
        Token::Word(word) => {
            word.quote_style.is_none()
                && !matches!(
                    word.keyword,
                    Keyword::NoKeyword
                        | Keyword::NULL
                        | Keyword::TRUE
                        | Keyword::FALSE
                        | Keyword::DEFAULT
                )
        }
        Token::EOF
        | Token::Whitespace(_)
        | Token::Number(..)
        | Token::Placeholder(_)
        | Token::SingleQuotedString(_)
        | Token::DoubleQuotedString(_)
        | Token::NationalStringLiteral(_)
        | Token::EscapedStringLiteral(_)
        | Token::UnicodeStringLiteral(_)
        | Token::HexStringLiteral(_)
        | Token::DollarQuotedString(_)
        | Token::Comma
        | Token::SemiColon
        | Token::LParen
        | Token::RParen => false,
        _ => true,
    }
}

/// Analyse `statement`, whose unqualified table names matching `ctes` (keys from
/// [`ident_key`]) refer to CTEs of an enclosing query; appends it, then the data-modifying
/// statements nested in it, to `out`.
fn analyze(statement: &Statement, ctes: Vec<String>, out: &mut Vec<SqlStatement>) {
    let judged = judged_statement(statement);
    let (kind, object) = kind_and_object(judged);
    let filter = filter(judged);
    let mut walk = Walk::new(judged, ctes);
    walk.run(statement);
    out.push(SqlStatement {
        kind: kind.to_string(),
        object: object.map(str::to_string),
        tables: walk.tables,
        target_tables: walk.targets,
        has_where: filter.has_where,
        where_is_trivial: filter.where_is_trivial,
        has_limit: filter.has_limit,
        is_ddl: matches!(
            kind,
            "create"
                | "drop"
                | "alter"
                | "truncate"
                | "rename"
                | "grant"
                | "revoke"
                | "deny"
                | "comment"
        ),
        columns: if kind == "select" {
            walk.columns
        } else {
            Vec::new()
        },
    });
    for (nested, ctes) in walk.nested {
        analyze(nested, ctes, out);
    }
}

/// `WITH … DELETE …` parses as a query whose body is the DELETE; it is judged as that DELETE.
fn judged_statement(statement: &Statement) -> &Statement {
    let mut current = statement;
    while let Statement::Query(query) = current {
        match query.body.as_ref() {
            SetExpr::Insert(inner)
            | SetExpr::Update(inner)
            | SetExpr::Delete(inner)
            | SetExpr::Merge(inner) => current = inner,
            _ => break,
        }
    }
    current
}

/// The one place mapping statements to their verb and object kind. Exhaustive on purpose: a
/// new statement in a sqlparser upgrade must be classified here, not silently become "other".
fn kind_and_object(statement: &Statement) -> (&'static str, Option<&'static str>) {
    match statement {
        Statement::Query(_) => ("select", None),
        Statement::Insert(_) | Statement::Directory { .. } => ("insert", None),
        Statement::Update(_) => ("update", None),
        Statement::Delete(_) => ("delete", None),
        Statement::Merge(_) => ("merge", None),
        Statement::Copy { .. } | Statement::CopyIntoSnowflake { .. } => ("copy", None),
        Statement::Truncate(_) => ("truncate", Some("table")),
        Statement::RenameTable(_) => ("rename", Some("table")),
        Statement::Grant(_) => ("grant", None),
        Statement::Revoke(_) => ("revoke", None),
        Statement::Deny(_) => ("deny", None),
        Statement::Comment { object_type, .. } => ("comment", Some(comment_object(object_type))),

        Statement::CreateTable(_) | Statement::CreateVirtualTable { .. } => {
            ("create", Some("table"))
        }
        Statement::CreateView(view) => (
            "create",
            Some(if view.materialized {
                "materialized view"
            } else {
                "view"
            }),
        ),
        Statement::CreateIndex(_) => ("create", Some("index")),
        Statement::CreateRole(_) => ("create", Some("role")),
        Statement::CreateSecret { .. } => ("create", Some("secret")),
        Statement::CreateServer(_) => ("create", Some("server")),
        Statement::CreatePolicy(_) => ("create", Some("policy")),
        Statement::CreateConnector(_) => ("create", Some("connector")),
        Statement::CreateOperator(_) => ("create", Some("operator")),
        Statement::CreateOperatorFamily(_) => ("create", Some("operator family")),
        Statement::CreateOperatorClass(_) => ("create", Some("operator class")),
        Statement::CreateTextSearch(_) => ("create", Some("text search")),
        Statement::CreateExtension(_) => ("create", Some("extension")),
        Statement::CreateCollation(_) => ("create", Some("collation")),
        Statement::CreateSchema { .. } => ("create", Some("schema")),
        Statement::CreateDatabase { .. } => ("create", Some("database")),
        Statement::CreateFunction(_) => ("create", Some("function")),
        Statement::CreateTrigger(_) => ("create", Some("trigger")),
        Statement::CreateProcedure { .. } => ("create", Some("procedure")),
        Statement::CreateMacro { .. } => ("create", Some("macro")),
        Statement::CreateStage { .. } => ("create", Some("stage")),
        Statement::CreateFileFormat { .. } => ("create", Some("file format")),
        Statement::CreateWarehouse(_) => ("create", Some("warehouse")),
        Statement::CreateSequence { .. } => ("create", Some("sequence")),
        Statement::CreateDomain(_) => ("create", Some("domain")),
        Statement::CreateType { .. } => ("create", Some("type")),
        Statement::CreateUser(_) => ("create", Some("user")),

        Statement::AlterTable(_) => ("alter", Some("table")),
        Statement::AlterSchema(_) => ("alter", Some("schema")),
        Statement::AlterIndex { .. } => ("alter", Some("index")),
        Statement::AlterView { .. } => ("alter", Some("view")),
        Statement::AlterFunction(alter) => match alter.kind {
            AlterFunctionKind::Function => ("alter", Some("function")),
            AlterFunctionKind::Aggregate => ("alter", Some("aggregate")),
        },
        Statement::AlterType(_) => ("alter", Some("type")),
        Statement::AlterCollation(_) => ("alter", Some("collation")),
        Statement::AlterOperator(_) => ("alter", Some("operator")),
        Statement::AlterOperatorFamily(_) => ("alter", Some("operator family")),
        Statement::AlterOperatorClass(_) => ("alter", Some("operator class")),
        Statement::AlterTextSearch(_) => ("alter", Some("text search")),
        Statement::AlterRole { .. } => ("alter", Some("role")),
        Statement::AlterPolicy(_) => ("alter", Some("policy")),
        Statement::AlterConnector { .. } => ("alter", Some("connector")),
        Statement::AlterSession { .. } => ("alter", Some("session")),
        Statement::AlterUser(_) => ("alter", Some("user")),

        Statement::Drop { object_type, .. } => ("drop", Some(drop_object(object_type))),
        Statement::DropFunction(_) => ("drop", Some("function")),
        Statement::DropDomain(_) => ("drop", Some("domain")),
        Statement::DropProcedure { .. } => ("drop", Some("procedure")),
        Statement::DropSecret { .. } => ("drop", Some("secret")),
        Statement::DropPolicy(_) => ("drop", Some("policy")),
        Statement::DropConnector { .. } => ("drop", Some("connector")),
        Statement::DropExtension(_) => ("drop", Some("extension")),
        Statement::DropOperator(_) => ("drop", Some("operator")),
        Statement::DropOperatorFamily(_) => ("drop", Some("operator family")),
        Statement::DropOperatorClass(_) => ("drop", Some("operator class")),
        Statement::DropTrigger(_) => ("drop", Some("trigger")),

        Statement::StartTransaction { .. } => ("begin", None),
        Statement::Commit { .. } => ("commit", None),
        Statement::Rollback { .. } => ("rollback", None),
        Statement::Savepoint { .. } => ("savepoint", None),
        Statement::ReleaseSavepoint { .. } => ("release", None),
        Statement::Set(_) => ("set", None),
        Statement::Reset(_) => ("reset", None),
        Statement::Use(_) => ("use", None),
        Statement::ShowFunctions { .. }
        | Statement::ShowVariable { .. }
        | Statement::ShowStatus { .. }
        | Statement::ShowVariables { .. }
        | Statement::ShowCreate { .. }
        | Statement::ShowColumns { .. }
        | Statement::ShowCatalogs { .. }
        | Statement::ShowDatabases { .. }
        | Statement::ShowProcessList { .. }
        | Statement::ShowSchemas { .. }
        | Statement::ShowCharset(_)
        | Statement::ShowObjects(_)
        | Statement::ShowTables { .. }
        | Statement::ShowViews { .. }
        | Statement::ShowCollation { .. } => ("show", None),
        Statement::Explain { .. } => ("explain", None),
        Statement::ExplainTable { describe_alias, .. } => match describe_alias {
            DescribeAlias::Explain => ("explain", None),
            DescribeAlias::Describe | DescribeAlias::Desc => ("describe", None),
        },
        Statement::Analyze(_) => ("analyze", None),
        Statement::Vacuum(_) => ("vacuum", None),
        Statement::OptimizeTable { .. } => ("optimize", None),
        Statement::Msck(_) => ("msck", None),
        Statement::Call(_) => ("call", None),
        Statement::Prepare { .. } => ("prepare", None),
        Statement::Execute { .. } => ("execute", None),
        Statement::Deallocate { .. } => ("deallocate", None),
        Statement::Declare { .. } => ("declare", None),
        Statement::Open(_) => ("open", None),
        Statement::Fetch { .. } => ("fetch", None),
        Statement::Close { .. } => ("close", None),
        Statement::Lock(_) | Statement::LockTables { .. } => ("lock", None),
        Statement::UnlockTables => ("unlock", None),
        Statement::LoadData { .. } | Statement::Load { .. } => ("load", None),
        Statement::Unload { .. } => ("unload", None),
        Statement::ExportData(_) => ("export", None),
        Statement::Install { .. } => ("install", None),
        Statement::AttachDatabase { .. } | Statement::AttachDuckDBDatabase { .. } => {
            ("attach", None)
        }
        Statement::DetachDuckDBDatabase { .. } => ("detach", None),
        Statement::Pragma { .. } => ("pragma", None),
        Statement::Cache { .. } => ("cache", None),
        Statement::UNCache { .. } => ("uncache", None),
        Statement::Flush { .. } => ("flush", None),
        Statement::Discard { .. } => ("discard", None),
        Statement::Kill { .. } => ("kill", None),
        Statement::LISTEN { .. } => ("listen", None),
        Statement::UNLISTEN { .. } => ("unlisten", None),
        Statement::NOTIFY { .. } => ("notify", None),
        Statement::If(_) => ("if", None),
        Statement::While(_) => ("while", None),
        Statement::Case(_) => ("case", None),
        Statement::Raise(_)
        | Statement::Assert { .. }
        | Statement::List(_)
        | Statement::Put { .. }
        | Statement::Remove(_)
        | Statement::RaisError { .. }
        | Statement::Throw(_)
        | Statement::Print(_)
        | Statement::WaitFor(_)
        | Statement::Return(_) => ("other", None),
    }
}

fn drop_object(object_type: &ObjectType) -> &'static str {
    match object_type {
        ObjectType::Collation => "collation",
        ObjectType::Table => "table",
        ObjectType::View => "view",
        ObjectType::MaterializedView => "materialized view",
        ObjectType::Index => "index",
        ObjectType::Schema => "schema",
        ObjectType::Database => "database",
        ObjectType::Role => "role",
        ObjectType::Sequence => "sequence",
        ObjectType::Stage => "stage",
        ObjectType::Type => "type",
        ObjectType::User => "user",
        ObjectType::Stream => "stream",
        ObjectType::Warehouse => "warehouse",
    }
}

fn comment_object(object_type: &CommentObject) -> &'static str {
    match object_type {
        CommentObject::Collation => "collation",
        CommentObject::Column => "column",
        CommentObject::Database => "database",
        CommentObject::Domain => "domain",
        CommentObject::Extension => "extension",
        CommentObject::Function => "function",
        CommentObject::Index => "index",
        CommentObject::MaterializedView => "materialized view",
        CommentObject::Procedure => "procedure",
        CommentObject::Role => "role",
        CommentObject::Schema => "schema",
        CommentObject::Sequence => "sequence",
        CommentObject::Table => "table",
        CommentObject::Type => "type",
        CommentObject::User => "user",
        CommentObject::View => "view",
    }
}

/// The WHERE / LIMIT shape of a statement.
#[derive(Debug, Default, Clone, Copy)]
struct Filter {
    has_where: bool,
    where_is_trivial: bool,
    has_limit: bool,
}

impl Filter {
    fn new(selection: Option<&Expr>, has_limit: bool) -> Self {
        Filter {
            has_where: selection.is_some(),
            where_is_trivial: selection.is_some_and(is_trivially_true),
            has_limit,
        }
    }
}

fn filter(statement: &Statement) -> Filter {
    match statement {
        Statement::Query(query) => query_filter(query),
        Statement::Update(update) => {
            Filter::new(update.selection.as_ref(), bounds(update.limit.as_ref()))
        }
        Statement::Delete(delete) => {
            Filter::new(delete.selection.as_ref(), bounds(delete.limit.as_ref()))
        }
        _ => Filter::default(),
    }
}

/// A UNION has a WHERE (or a limit) only if every branch has one, and a trivial WHERE if any
/// branch has one, so that "no WHERE or a trivial one" holds whenever some branch reads all rows.
fn query_filter(query: &Query) -> Filter {
    let mut combined = Filter {
        has_where: true,
        where_is_trivial: false,
        has_limit: true,
    };
    // An explicit stack, because long UNION chains are left-deep trees.
    let mut branches = vec![query.body.as_ref()];
    while let Some(branch) = branches.pop() {
        let filter = match branch {
            SetExpr::SetOperation { left, right, .. } => {
                branches.push(right);
                branches.push(left);
                continue;
            }
            SetExpr::Select(select) => Filter::new(select.selection.as_ref(), select.top.is_some()),
            SetExpr::Query(inner) => query_filter(inner),
            _ => Filter::default(),
        };
        combined.has_where &= filter.has_where;
        combined.where_is_trivial |= filter.where_is_trivial;
        combined.has_limit &= filter.has_limit;
    }
    let limited = match &query.limit_clause {
        Some(LimitClause::LimitOffset { limit, .. }) => bounds(limit.as_ref()),
        Some(LimitClause::OffsetCommaLimit { limit, .. }) => bounds(Some(limit)),
        None => false,
    };
    combined.has_limit |= limited || query.fetch.is_some();
    combined
}

/// PostgreSQL reads `LIMIT NULL` as no limit at all.
fn bounds(limit: Option<&Expr>) -> bool {
    limit.is_some_and(|limit| constant(limit, 0) != Some(Const::Null))
}

/// A constant operand of a predicate.
#[derive(Debug, Clone, PartialEq)]
enum Const {
    Bool(bool),
    Number(f64),
    Text(String),
    Null,
}

impl Const {
    /// Truth value in a WHERE; `None` when unknown (NULL, or text that is no number).
    fn truth(&self) -> Option<bool> {
        match self {
            Const::Bool(value) => Some(*value),
            Const::Number(value) => Some(*value != 0.0),
            Const::Text(text) => text.trim().parse::<f64>().ok().map(|value| value != 0.0),
            Const::Null => None,
        }
    }
}

fn is_trivially_true(predicate: &Expr) -> bool {
    constant(predicate, 0).is_some_and(|value| value.truth() == Some(true))
}

/// Constant folding is recursive; predicates nested deeper than this are not constant to us.
const MAX_CONSTANT_DEPTH: usize = 64;

/// The value of `expr` if it is constant, or if it compares a column with itself (`id = id`
/// holds for every row with an id, which is as good as all of them).
fn constant(expr: &Expr, depth: usize) -> Option<Const> {
    if depth > MAX_CONSTANT_DEPTH {
        return None;
    }
    let eval = |operand: &Expr| constant(operand, depth + 1);
    match expr {
        Expr::Nested(inner) => eval(inner),
        Expr::Value(value) => match &value.value {
            Value::Number(number, _) => number.parse().ok().map(Const::Number),
            Value::SingleQuotedString(text)
            | Value::DoubleQuotedString(text)
            | Value::NationalStringLiteral(text)
            | Value::EscapedStringLiteral(text) => Some(Const::Text(text.clone())),
            Value::Boolean(value) => Some(Const::Bool(*value)),
            Value::Null => Some(Const::Null),
            _ => None,
        },
        Expr::UnaryOp { op, expr } => match (op, eval(expr)?) {
            (UnaryOperator::Not, value) => value.truth().map(|truth| Const::Bool(!truth)),
            (UnaryOperator::Minus, Const::Number(value)) => Some(Const::Number(-value)),
            (UnaryOperator::Plus, Const::Number(value)) => Some(Const::Number(value)),
            _ => None,
        },
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::Or => {
                let (left, right) = (
                    eval(left).and_then(|v| v.truth()),
                    eval(right).and_then(|v| v.truth()),
                );
                match (left, right) {
                    (Some(true), _) | (_, Some(true)) => Some(Const::Bool(true)),
                    (Some(false), Some(false)) => Some(Const::Bool(false)),
                    _ => None,
                }
            }
            BinaryOperator::And => {
                let (left, right) = (
                    eval(left).and_then(|v| v.truth()),
                    eval(right).and_then(|v| v.truth()),
                );
                match (left, right) {
                    (Some(false), _) | (_, Some(false)) => Some(Const::Bool(false)),
                    (Some(true), Some(true)) => Some(Const::Bool(true)),
                    _ => None,
                }
            }
            _ => {
                let ordering = if same_column(left, right) {
                    Ordering::Equal
                } else {
                    compare(&eval(left)?, &eval(right)?)?
                };
                let holds = match op {
                    BinaryOperator::Eq | BinaryOperator::Spaceship => ordering == Ordering::Equal,
                    BinaryOperator::NotEq => ordering != Ordering::Equal,
                    BinaryOperator::Lt => ordering == Ordering::Less,
                    BinaryOperator::LtEq => ordering != Ordering::Greater,
                    BinaryOperator::Gt => ordering == Ordering::Greater,
                    BinaryOperator::GtEq => ordering != Ordering::Less,
                    _ => return None,
                };
                Some(Const::Bool(holds))
            }
        },
        Expr::IsNull(operand) => Some(Const::Bool(eval(operand)? == Const::Null)),
        Expr::IsNotNull(operand) => Some(Const::Bool(eval(operand)? != Const::Null)),
        Expr::IsTrue(operand) => Some(Const::Bool(eval(operand)?.truth() == Some(true))),
        Expr::IsNotFalse(operand) => Some(Const::Bool(eval(operand)?.truth() != Some(false))),
        Expr::InList {
            expr,
            list,
            negated,
        } => {
            let value = eval(expr)?;
            let mut found = false;
            for item in list {
                found |= compare(&value, &eval(item)?)? == Ordering::Equal;
            }
            Some(Const::Bool(found != *negated))
        }
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } => {
            let value = eval(expr)?;
            let inside = compare(&value, &eval(low)?)? != Ordering::Less
                && compare(&value, &eval(high)?)? != Ordering::Greater;
            Some(Const::Bool(inside != *negated))
        }
        _ => None,
    }
}

/// SQL comparison of constants; `None` when NULL is involved or the types do not compare.
fn compare(left: &Const, right: &Const) -> Option<Ordering> {
    match (left, right) {
        (Const::Number(l), Const::Number(r)) => l.partial_cmp(r),
        (Const::Text(l), Const::Text(r)) => Some(l.cmp(r)),
        (Const::Bool(l), Const::Bool(r)) => Some(l.cmp(r)),
        // MySQL and SQLite compare a number with numeric text as numbers.
        (Const::Number(l), Const::Text(r)) => l.partial_cmp(&r.trim().parse().ok()?),
        (Const::Text(l), Const::Number(r)) => l.trim().parse::<f64>().ok()?.partial_cmp(r),
        _ => None,
    }
}

fn same_column(left: &Expr, right: &Expr) -> bool {
    let same = |l: &Ident, r: &Ident| l.value.eq_ignore_ascii_case(&r.value);
    match (left, right) {
        (Expr::Identifier(l), Expr::Identifier(r)) => same(l, r),
        (Expr::CompoundIdentifier(l), Expr::CompoundIdentifier(r)) => {
            l.len() == r.len() && l.iter().zip(r).all(|(l, r)| same(l, r))
        }
        _ => false,
    }
}

/// How a table name compares with a CTE name: unquoted names fold to lower case.
fn ident_key(ident: &Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_lowercase(),
    }
}

fn name_text(name: &ObjectName) -> String {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|part| match part {
            ObjectNamePart::Identifier(ident) => ident.value.clone(),
            ObjectNamePart::Function(function) => function.to_string(),
        })
        .collect();
    parts.join(".")
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// Plain tables of a FROM item (its relation and joined relations), the ones DML writes to.
fn base_tables(from: &TableWithJoins) -> impl Iterator<Item = (&ObjectName, Option<&Ident>)> {
    std::iter::once(&from.relation)
        .chain(from.joins.iter().map(|join| &join.relation))
        .filter_map(|factor| match factor {
            TableFactor::Table {
                name,
                alias,
                args: None,
                ..
            } => Some((name, alias.as_ref().map(|alias| &alias.name))),
            _ => None,
        })
}

/// A set of CTE names visible to part of a query, chained to the enclosing scope.
struct Scope {
    parent: Option<usize>,
    names: Vec<String>,
}

/// Where a node sits: its CTE scope, whether it belongs to a SELECT projection (identifiers
/// there are output columns), and whether it is inside a nested data-modifying statement
/// (whose own nested statements are found when that statement is analysed).
#[derive(Debug, Clone, Copy)]
struct Ctx {
    scope: usize,
    projection: bool,
    in_nested: bool,
}

#[derive(Clone, Copy)]
enum Node<'a> {
    Statement(&'a Statement),
    Query(&'a Query),
    SetExpr(&'a SetExpr),
    SelectItem(&'a SelectItem),
    Factor(&'a TableFactor),
    Expr(&'a Expr),
}

/// Collects tables, targets, columns and nested statements of one statement. Iterative, with
/// an explicit stack, because operator and UNION chains make arbitrarily deep trees.
struct Walk<'a> {
    /// The statement being judged; every other data-modifying statement met is nested.
    judged: &'a Statement,
    stack: Vec<(Node<'a>, Ctx)>,
    /// Children of the node being visited, in source order.
    children: Vec<(Node<'a>, Ctx)>,
    ctx: Ctx,
    scopes: Vec<Scope>,
    tables: Vec<String>,
    targets: Vec<String>,
    columns: Vec<String>,
    nested: Vec<(&'a Statement, Vec<String>)>,
}

impl<'a> Walk<'a> {
    fn new(judged: &'a Statement, ctes: Vec<String>) -> Self {
        Walk {
            judged,
            stack: Vec::new(),
            children: Vec::new(),
            ctx: Ctx {
                scope: 0,
                projection: false,
                in_nested: false,
            },
            scopes: vec![Scope {
                parent: None,
                names: ctes,
            }],
            tables: Vec::new(),
            targets: Vec::new(),
            columns: Vec::new(),
            nested: Vec::new(),
        }
    }

    fn run(&mut self, root: &'a Statement) {
        self.stack.push((Node::Statement(root), self.ctx));
        while let Some((node, ctx)) = self.stack.pop() {
            self.ctx = ctx;
            match node {
                Node::Statement(statement) => self.visit_statement(statement),
                Node::Query(query) => self.visit_query(query),
                Node::SetExpr(set) => self.visit_set_expr(set),
                Node::SelectItem(item) => self.visit_select_item(item),
                Node::Factor(factor) => self.visit_factor(factor),
                Node::Expr(expr) => self.visit_expr(expr),
            }
            // Reversed onto the stack so that children are visited in source order.
            while let Some(child) = self.children.pop() {
                self.stack.push(child);
            }
        }
    }

    fn child(&mut self, node: Node<'a>, ctx: Ctx) {
        self.children.push((node, ctx));
    }

    fn expr(&mut self, expr: &'a Expr) {
        self.child(Node::Expr(expr), self.ctx);
    }

    fn exprs(&mut self, exprs: impl IntoIterator<Item = &'a Expr>) {
        for expr in exprs {
            self.expr(expr);
        }
    }

    fn query(&mut self, query: &'a Query) {
        self.child(
            Node::Query(query),
            Ctx {
                projection: false,
                ..self.ctx
            },
        );
    }

    fn factor(&mut self, factor: &'a TableFactor) {
        self.child(
            Node::Factor(factor),
            Ctx {
                projection: false,
                ..self.ctx
            },
        );
    }

    fn statement(&mut self, statement: &'a Statement) {
        self.child(
            Node::Statement(statement),
            Ctx {
                projection: false,
                ..self.ctx
            },
        );
    }

    /// A data-modifying statement inside this one: walked for tables here, and reported on
    /// its own with the CTE names it can see.
    fn nested(&mut self, statement: &'a Statement) {
        if !self.ctx.in_nested {
            let mut names = Vec::new();
            let mut scope = Some(self.ctx.scope);
            while let Some(current) = scope.and_then(|index| self.scopes.get(index)) {
                names.extend(current.names.iter().cloned());
                scope = current.parent;
            }
            self.nested.push((statement, names));
        }
        self.child(
            Node::Statement(statement),
            Ctx {
                projection: false,
                in_nested: true,
                ..self.ctx
            },
        );
    }

    fn new_scope(&mut self, parent: usize, names: Vec<String>) -> usize {
        self.scopes.push(Scope {
            parent: Some(parent),
            names,
        });
        self.scopes.len() - 1
    }

    fn is_cte(&self, key: &str) -> bool {
        let mut scope = Some(self.ctx.scope);
        while let Some(current) = scope.and_then(|index| self.scopes.get(index)) {
            if current.names.iter().any(|name| name == key) {
                return true;
            }
            scope = current.parent;
        }
        false
    }

    /// A table read (or a CTE, which is not a table).
    fn relation(&mut self, name: &ObjectName) {
        if let [ObjectNamePart::Identifier(ident)] = name.0.as_slice()
            && self.is_cte(&ident_key(ident))
        {
            return;
        }
        push_unique(&mut self.tables, name_text(name));
    }

    /// A table written. DML cannot write to a CTE, so no CTE lookup.
    fn target(&mut self, name: &ObjectName) {
        self.target_text(name_text(name));
    }

    fn target_text(&mut self, name: String) {
        push_unique(&mut self.tables, name.clone());
        push_unique(&mut self.targets, name);
    }

    fn column(&mut self, name: &str) {
        if self.ctx.projection {
            push_unique(&mut self.columns, name.to_lowercase());
        }
    }

    fn visit_statement(&mut self, statement: &'a Statement) {
        match statement {
            Statement::Query(query) => self.query(query),
            Statement::Insert(insert) => {
                match &insert.table {
                    TableObject::TableName(name) => self.target(name),
                    TableObject::TableFunction(function) => self.function(function),
                    TableObject::TableQuery(query) => self.query(query),
                }
                let into_clauses = insert
                    .multi_table_into_clauses
                    .iter()
                    .chain(
                        insert
                            .multi_table_when_clauses
                            .iter()
                            .flat_map(|when| &when.into_clauses),
                    )
                    .chain(insert.multi_table_else_clause.iter().flatten());
                for clause in into_clauses {
                    self.target(&clause.table_name);
                }
                self.exprs(
                    insert
                        .multi_table_when_clauses
                        .iter()
                        .map(|when| &when.condition),
                );
                if let Some(source) = &insert.source {
                    self.query(source);
                }
                self.assignments(&insert.assignments);
                self.exprs(insert.partitioned.iter().flatten());
                match &insert.on {
                    Some(OnInsert::DuplicateKeyUpdate(assignments)) => {
                        self.assignments(assignments)
                    }
                    Some(OnInsert::OnConflict(conflict)) => {
                        if let OnConflictAction::DoUpdate(update) = &conflict.action {
                            self.assignments(&update.assignments);
                            self.exprs(&update.selection);
                        }
                    }
                    _ => {}
                }
                self.returning(insert.returning.as_deref(), insert.output.as_ref());
            }
            Statement::Update(update) => {
                // A multi-table UPDATE (MySQL `UPDATE a JOIN b SET …`) may write any of them.
                for (name, _) in base_tables(&update.table) {
                    self.target(name);
                }
                self.from(&update.table);
                self.assignments(&update.assignments);
                if let Some(
                    UpdateTableFromKind::BeforeSet(from) | UpdateTableFromKind::AfterSet(from),
                ) = &update.from
                {
                    for item in from {
                        self.from(item);
                    }
                }
                self.exprs(&update.selection);
                self.returning(update.returning.as_deref(), update.output.as_ref());
                self.order_by(&update.order_by);
                self.exprs(&update.limit);
            }
            Statement::Delete(delete) => {
                let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) =
                    &delete.from;
                let using = delete.using.iter().flatten();
                if delete.tables.is_empty() {
                    for (name, _) in from.iter().flat_map(base_tables) {
                        self.target(name);
                    }
                } else {
                    // MySQL `DELETE a FROM users a JOIN …` names its targets by alias.
                    for name in &delete.tables {
                        let aliased = match name.0.as_slice() {
                            [ObjectNamePart::Identifier(alias)] => from
                                .iter()
                                .chain(using.clone())
                                .flat_map(base_tables)
                                .find(|(_, table_alias)| {
                                    table_alias.is_some_and(|a| ident_key(a) == ident_key(alias))
                                })
                                .map(|(table, _)| table),
                            _ => None,
                        };
                        self.target(aliased.unwrap_or(name));
                    }
                }
                for item in from.iter().chain(using) {
                    self.from(item);
                }
                self.exprs(&delete.selection);
                self.returning(delete.returning.as_deref(), delete.output.as_ref());
                self.order_by(&delete.order_by);
                self.exprs(&delete.limit);
            }
            Statement::Merge(merge) => {
                if let TableFactor::Table { name, .. } = &merge.table {
                    self.target(name);
                }
                self.factor(&merge.table);
                self.factor(&merge.source);
                self.expr(&merge.on);
                for clause in &merge.clauses {
                    self.exprs(&clause.predicate);
                    match &clause.action {
                        MergeAction::Insert(insert) => {
                            if let MergeInsertKind::Values(values) = &insert.kind {
                                self.exprs(values.rows.iter().flat_map(|row| &row.content));
                            }
                            self.exprs(&insert.insert_predicate);
                        }
                        MergeAction::Update(update) => {
                            if let MergeUpdateKind::Set(assignments) = &update.kind {
                                self.assignments(assignments);
                            }
                            self.exprs(&update.update_predicate);
                            self.exprs(&update.delete_predicate);
                        }
                        MergeAction::Delete { .. } | MergeAction::DoNothing { .. } => {}
                    }
                }
                self.returning(None, merge.output.as_ref());
            }
            Statement::Truncate(truncate) => {
                for table in &truncate.table_names {
                    self.target(&table.name);
                }
            }
            Statement::Drop {
                object_type,
                names,
                table,
                ..
            } => {
                if matches!(
                    object_type,
                    ObjectType::Table | ObjectType::View | ObjectType::MaterializedView
                ) {
                    for name in names {
                        self.target(name);
                    }
                }
                // MySQL `DROP INDEX i ON t` changes t.
                if let Some(table) = table {
                    self.target(table);
                }
            }
            Statement::AlterTable(alter) => {
                self.target(&alter.name);
                for operation in &alter.operations {
                    match operation {
                        AlterTableOperation::RenameTable {
                            table_name:
                                RenameTableNameKind::As(name) | RenameTableNameKind::To(name),
                        }
                        | AlterTableOperation::SwapWith { table_name: name } => self.target(name),
                        _ => {}
                    }
                }
            }
            Statement::RenameTable(renames) => {
                for rename in renames {
                    self.target(&rename.old_name);
                    self.target(&rename.new_name);
                }
            }
            Statement::CreateTable(create) => {
                self.target(&create.name);
                if let Some(
                    CreateTableLikeKind::Parenthesized(like) | CreateTableLikeKind::Plain(like),
                ) = &create.like
                {
                    self.relation(&like.name);
                }
                let sources = create
                    .clone
                    .iter()
                    .chain(create.inherits.iter().flatten())
                    .chain(&create.partition_of);
                for source in sources {
                    self.relation(source);
                }
                if let Some(query) = &create.query {
                    self.query(query);
                }
            }
            Statement::CreateView(view) => {
                self.target(&view.name);
                self.query(&view.query);
            }
            Statement::AlterView { name, query, .. } => {
                self.target(name);
                self.query(query);
            }
            Statement::CreateIndex(index) => self.target(&index.table_name),
            Statement::CreateTrigger(trigger) => self.target(&trigger.table_name),
            Statement::DropTrigger(trigger) => {
                if let Some(table) = &trigger.table_name {
                    self.target(table);
                }
            }
            Statement::CreatePolicy(policy) => {
                self.target(&policy.table_name);
                self.exprs(policy.using.iter().chain(&policy.with_check));
            }
            Statement::AlterPolicy(policy) => self.target(&policy.table_name),
            Statement::DropPolicy(policy) => self.target(&policy.table_name),
            Statement::Comment {
                object_type,
                object_name,
                ..
            } => match object_type {
                CommentObject::Table | CommentObject::View | CommentObject::MaterializedView => {
                    self.target(object_name)
                }
                CommentObject::Column => {
                    if let Some((_, table)) = object_name.0.split_last()
                        && !table.is_empty()
                    {
                        self.target(&ObjectName(table.to_vec()));
                    }
                }
                _ => {}
            },
            Statement::Grant(grant) => self.grant_objects(grant.objects.as_ref()),
            Statement::Revoke(revoke) => self.grant_objects(revoke.objects.as_ref()),
            Statement::Deny(deny) => self.grant_objects(Some(&deny.objects)),
            Statement::Copy { source, to, .. } => match source {
                CopySource::Table { table_name, .. } if *to => self.relation(table_name),
                CopySource::Table { table_name, .. } => self.target(table_name),
                CopySource::Query(query) => self.query(query),
            },
            Statement::CopyIntoSnowflake {
                into,
                from_obj,
                from_query,
                ..
            } => {
                self.target(into);
                if let Some(from) = from_obj {
                    self.relation(from);
                }
                if let Some(query) = from_query {
                    self.query(query);
                }
            }
            Statement::Explain {
                statement, analyze, ..
            } => {
                // EXPLAIN ANALYZE runs the statement.
                if *analyze {
                    self.nested(statement);
                } else {
                    self.statement(statement);
                }
            }
            Statement::ExplainTable { table_name, .. } => self.relation(table_name),
            // A prepared statement runs later, through EXECUTE, where we cannot see it.
            Statement::Prepare { statement, .. } => self.nested(statement),
            Statement::StartTransaction {
                statements,
                exception,
                ..
            } => {
                let handlers = exception
                    .iter()
                    .flatten()
                    .flat_map(|handler| &handler.statements);
                for statement in statements.iter().chain(handlers) {
                    self.nested(statement);
                }
            }
            Statement::If(statement) => {
                let blocks = std::iter::once(&statement.if_block)
                    .chain(&statement.elseif_blocks)
                    .chain(&statement.else_block);
                for block in blocks {
                    self.block(block);
                }
            }
            Statement::While(statement) => self.block(&statement.while_block),
            Statement::Case(statement) => {
                self.exprs(&statement.match_expr);
                for block in statement.when_blocks.iter().chain(&statement.else_block) {
                    self.block(block);
                }
            }
            Statement::Directory { source, .. } => self.query(source),
            Statement::Unload {
                query: Some(query), ..
            } => self.query(query),
            Statement::Declare { stmts } => {
                for declare in stmts {
                    if let Some(query) = &declare.for_query {
                        self.query(query);
                    }
                }
            }
            Statement::Cache {
                table_name, query, ..
            } => {
                self.relation(table_name);
                if let Some(query) = query {
                    self.query(query);
                }
            }
            Statement::UNCache { table_name, .. } => self.relation(table_name),
            Statement::LockTables { tables } => {
                for table in tables {
                    push_unique(&mut self.tables, table.table.value.clone());
                }
            }
            Statement::Lock(lock) => {
                for table in &lock.tables {
                    self.relation(&table.name);
                }
            }
            Statement::LoadData { table_name, .. } => self.target(table_name),
            Statement::OptimizeTable { name, .. } => self.target(name),
            Statement::Analyze(analyze) => {
                if let Some(table) = &analyze.table_name {
                    self.relation(table);
                }
            }
            Statement::Vacuum(vacuum) => {
                if let Some(table) = &vacuum.table_name {
                    self.relation(table);
                }
            }
            Statement::Msck(msck) => self.relation(&msck.table_name),
            Statement::Flush { tables, .. } => {
                for table in tables {
                    self.relation(table);
                }
            }
            Statement::ShowCreate {
                obj_type: ShowCreateObject::Table | ShowCreateObject::View,
                obj_name,
            } => self.relation(obj_name),
            Statement::ShowColumns { show_options, .. } => {
                if let Some(table) = show_options
                    .show_in
                    .as_ref()
                    .and_then(|show_in| show_in.parent_name.as_ref())
                {
                    self.relation(table);
                }
            }
            Statement::Call(function) => self.function(function),
            Statement::Set(set) => match set {
                Set::SingleAssignment { values, .. }
                | Set::ParenthesizedAssignments { values, .. } => self.exprs(values),
                Set::MultipleAssignments { assignments } => {
                    self.exprs(assignments.iter().map(|a| &a.value))
                }
                _ => {}
            },
            // The rest name no tables, or only through parts (procedure bodies, options) that
            // do not run now.
            _ => {}
        }
    }

    fn block(&mut self, block: &'a ConditionalStatementBlock) {
        self.exprs(&block.condition);
        let statements = match &block.conditional_statements {
            ConditionalStatements::Sequence { statements } => statements,
            ConditionalStatements::BeginEnd(block) => &block.statements,
        };
        for statement in statements {
            self.nested(statement);
        }
    }

    fn grant_objects(&mut self, objects: Option<&'a GrantObjects>) {
        if let Some(GrantObjects::Tables(names) | GrantObjects::Views(names)) = objects {
            for name in names {
                self.target(name);
            }
        }
    }

    fn assignments(&mut self, assignments: &'a [Assignment]) {
        self.exprs(assignments.iter().map(|assignment| &assignment.value));
    }

    /// RETURNING hands rows back like a projection, so its columns count as selected.
    fn returning(&mut self, returning: Option<&'a [SelectItem]>, output: Option<&'a OutputClause>) {
        let (items, into) = match output {
            Some(OutputClause::Output {
                select_items,
                into_table,
                ..
            }) => (select_items.as_slice(), into_table.as_ref()),
            Some(OutputClause::Returning { select_items, .. }) => (select_items.as_slice(), None),
            None => (&[][..], None),
        };
        for item in returning.into_iter().flatten().chain(items) {
            self.child(
                Node::SelectItem(item),
                Ctx {
                    projection: true,
                    ..self.ctx
                },
            );
        }
        self.select_into(into);
    }

    fn select_into(&mut self, into: Option<&'a SelectInto>) {
        for target in into.iter().flat_map(|into| &into.targets) {
            match target {
                // `INTO @var` (MySQL) fills a variable, not a table.
                Expr::Identifier(ident) if !ident.value.starts_with('@') => {
                    self.target_text(ident.value.clone())
                }
                Expr::CompoundIdentifier(idents) => {
                    let parts: Vec<&str> =
                        idents.iter().map(|ident| ident.value.as_str()).collect();
                    self.target_text(parts.join("."));
                }
                _ => {}
            }
        }
    }

    fn visit_query(&mut self, query: &'a Query) {
        let mut scope = self.ctx.scope;
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                let with_cte = self.new_scope(scope, vec![ident_key(&cte.alias.name)]);
                // A CTE sees those defined before it, and itself only when recursive.
                let own = if with.recursive { with_cte } else { scope };
                self.child(
                    Node::Query(&cte.query),
                    Ctx {
                        scope: own,
                        ..self.ctx
                    },
                );
                scope = with_cte;
            }
        }
        self.ctx.scope = scope;
        self.child(Node::SetExpr(&query.body), self.ctx);
        if let Some(order_by) = &query.order_by
            && let OrderByKind::Expressions(exprs) = &order_by.kind
        {
            self.order_by(exprs);
        }
        match &query.limit_clause {
            Some(LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            }) => {
                self.exprs(
                    limit
                        .iter()
                        .chain(offset.iter().map(|offset| &offset.value))
                        .chain(limit_by),
                );
            }
            Some(LimitClause::OffsetCommaLimit { offset, limit }) => self.exprs([offset, limit]),
            None => {}
        }
        if let Some(fetch) = &query.fetch {
            self.exprs(&fetch.quantity);
        }
        for operator in &query.pipe_operators {
            self.pipe_operator(operator);
        }
    }

    fn pipe_operator(&mut self, operator: &'a PipeOperator) {
        match operator {
            PipeOperator::Where { expr } => self.expr(expr),
            PipeOperator::Select { exprs } | PipeOperator::Extend { exprs } => {
                for item in exprs {
                    self.child(
                        Node::SelectItem(item),
                        Ctx {
                            projection: true,
                            ..self.ctx
                        },
                    );
                }
            }
            PipeOperator::Union { queries, .. }
            | PipeOperator::Intersect { queries, .. }
            | PipeOperator::Except { queries, .. } => {
                for query in queries {
                    self.query(query);
                }
            }
            PipeOperator::Join(join) => self.join(join),
            PipeOperator::Call { function, .. } => self.function(function),
            _ => {}
        }
    }

    fn visit_set_expr(&mut self, set: &'a SetExpr) {
        match set {
            SetExpr::Select(select) => self.visit_select(select),
            SetExpr::Query(query) => self.query(query),
            SetExpr::SetOperation { left, right, .. } => {
                self.child(Node::SetExpr(left), self.ctx);
                self.child(Node::SetExpr(right), self.ctx);
            }
            SetExpr::Values(values) => self.exprs(values.rows.iter().flat_map(|row| &row.content)),
            SetExpr::Insert(statement)
            | SetExpr::Update(statement)
            | SetExpr::Delete(statement)
            | SetExpr::Merge(statement) => {
                if std::ptr::eq(statement, self.judged) {
                    self.statement(statement);
                } else {
                    self.nested(statement);
                }
            }
            SetExpr::Table(table) => {
                let name: Vec<&str> = table
                    .schema_name
                    .iter()
                    .chain(&table.table_name)
                    .map(String::as_str)
                    .collect();
                let cte = table.schema_name.is_none()
                    && table
                        .table_name
                        .as_ref()
                        .is_some_and(|name| self.is_cte(&name.to_lowercase()));
                if !name.is_empty() && !cte {
                    push_unique(&mut self.tables, name.join("."));
                }
            }
        }
    }

    fn visit_select(&mut self, select: &'a Select) {
        if let Some(TopQuantity::Expr(quantity)) =
            select.top.as_ref().and_then(|top| top.quantity.as_ref())
        {
            self.expr(quantity);
        }
        if let Some(Distinct::On(exprs)) = &select.distinct {
            self.exprs(exprs);
        }
        for item in &select.projection {
            self.child(
                Node::SelectItem(item),
                Ctx {
                    projection: true,
                    ..self.ctx
                },
            );
        }
        self.select_into(select.into.as_ref());
        for item in &select.from {
            self.from(item);
        }
        self.exprs(select.lateral_views.iter().map(|view| &view.lateral_view));
        self.exprs(select.prewhere.iter().chain(&select.selection));
        for connect_by in &select.connect_by {
            match connect_by {
                ConnectByKind::ConnectBy { relationships, .. } => self.exprs(relationships),
                ConnectByKind::StartWith { condition, .. } => self.expr(condition),
            }
        }
        if let GroupByExpr::Expressions(exprs, _) = &select.group_by {
            self.exprs(exprs);
        }
        self.exprs(select.cluster_by.iter().chain(&select.distribute_by));
        self.order_by(&select.sort_by);
        self.exprs(&select.having);
        for window in &select.named_window {
            if let NamedWindowExpr::WindowSpec(spec) = &window.1 {
                self.window_spec(spec);
            }
        }
        self.exprs(&select.qualify);
    }

    fn visit_select_item(&mut self, item: &'a SelectItem) {
        match item {
            SelectItem::UnnamedExpr(expr)
            | SelectItem::ExprWithAlias { expr, .. }
            | SelectItem::ExprWithAliases { expr, .. } => self.expr(expr),
            SelectItem::Wildcard(_) => self.column("*"),
            SelectItem::QualifiedWildcard(kind, _) => {
                self.column("*");
                if let SelectItemQualifiedWildcardKind::Expr(expr) = kind {
                    self.expr(expr);
                }
            }
        }
    }

    fn from(&mut self, from: &'a TableWithJoins) {
        self.factor(&from.relation);
        for join in &from.joins {
            self.join(join);
        }
    }

    fn join(&mut self, join: &'a Join) {
        self.factor(&join.relation);
        let constraint = match &join.join_operator {
            JoinOperator::Join(constraint)
            | JoinOperator::Inner(constraint)
            | JoinOperator::Left(constraint)
            | JoinOperator::LeftOuter(constraint)
            | JoinOperator::Right(constraint)
            | JoinOperator::RightOuter(constraint)
            | JoinOperator::FullOuter(constraint)
            | JoinOperator::CrossJoin(constraint)
            | JoinOperator::Semi(constraint)
            | JoinOperator::LeftSemi(constraint)
            | JoinOperator::RightSemi(constraint)
            | JoinOperator::Anti(constraint)
            | JoinOperator::LeftAnti(constraint)
            | JoinOperator::RightAnti(constraint)
            | JoinOperator::StraightJoin(constraint) => Some(constraint),
            JoinOperator::AsOf {
                match_condition,
                constraint,
            } => {
                self.expr(match_condition);
                Some(constraint)
            }
            JoinOperator::CrossApply
            | JoinOperator::OuterApply
            | JoinOperator::ArrayJoin
            | JoinOperator::LeftArrayJoin
            | JoinOperator::InnerArrayJoin => None,
        };
        if let Some(JoinConstraint::On(on)) = constraint {
            self.expr(on);
        }
    }

    fn visit_factor(&mut self, factor: &'a TableFactor) {
        match factor {
            TableFactor::Table { name, args, .. } => match args {
                // `FROM generate_series(1, 10)` calls a function; it names no table.
                Some(args) => self.function_args(&args.args),
                None => self.relation(name),
            },
            TableFactor::Derived { subquery, .. } => self.query(subquery),
            TableFactor::TableFunction { expr, .. } => self.expr(expr),
            TableFactor::Function { args, .. } => self.function_args(args),
            TableFactor::UNNEST { array_exprs, .. } => self.exprs(array_exprs),
            TableFactor::JsonTable { json_expr, .. }
            | TableFactor::OpenJsonTable { json_expr, .. } => self.expr(json_expr),
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => self.from(table_with_joins),
            TableFactor::Pivot {
                table,
                aggregate_functions,
                value_column,
                value_source,
                default_on_null,
                ..
            } => {
                self.factor(table);
                self.exprs(aggregate_functions.iter().map(|function| &function.expr));
                self.exprs(value_column);
                match value_source {
                    PivotValueSource::List(values) => {
                        self.exprs(values.iter().map(|value| &value.expr))
                    }
                    PivotValueSource::Any(order_by) => self.order_by(order_by),
                    PivotValueSource::Subquery(query) => self.query(query),
                }
                self.exprs(default_on_null);
            }
            TableFactor::Unpivot {
                table,
                value,
                columns,
                ..
            } => {
                self.factor(table);
                self.expr(value);
                self.exprs(columns.iter().map(|column| &column.expr));
            }
            TableFactor::UnpivotExpr { expression, .. } => self.expr(expression),
            TableFactor::MatchRecognize {
                table,
                partition_by,
                order_by,
                measures,
                symbols,
                ..
            } => {
                self.factor(table);
                self.exprs(partition_by);
                self.order_by(order_by);
                self.exprs(measures.iter().map(|measure| &measure.expr));
                self.exprs(symbols.iter().map(|symbol| &symbol.definition));
            }
            TableFactor::XmlTable {
                row_expression,
                passing,
                ..
            } => {
                self.expr(row_expression);
                self.exprs(passing.arguments.iter().map(|argument| &argument.expr));
            }
            TableFactor::SemanticView {
                name,
                dimensions,
                metrics,
                facts,
                where_clause,
                ..
            } => {
                self.relation(name);
                self.exprs(
                    dimensions
                        .iter()
                        .chain(metrics)
                        .chain(facts)
                        .chain(where_clause),
                );
            }
        }
    }

    fn order_by(&mut self, order_by: &'a [OrderByExpr]) {
        self.exprs(order_by.iter().map(|item| &item.expr));
    }

    fn window_spec(&mut self, spec: &'a WindowSpec) {
        self.exprs(&spec.partition_by);
        self.order_by(&spec.order_by);
        if let Some(frame) = &spec.window_frame {
            for bound in std::iter::once(&frame.start_bound).chain(&frame.end_bound) {
                if let WindowFrameBound::Preceding(Some(expr))
                | WindowFrameBound::Following(Some(expr)) = bound
                {
                    self.expr(expr);
                }
            }
        }
    }

    fn function(&mut self, function: &'a Function) {
        self.function_arguments(&function.parameters);
        self.function_arguments(&function.args);
        self.order_by(&function.within_group);
        self.exprs(function.filter.as_deref());
        if let Some(WindowType::WindowSpec(spec)) = &function.over {
            self.window_spec(spec);
        }
    }

    fn function_arguments(&mut self, arguments: &'a FunctionArguments) {
        match arguments {
            FunctionArguments::None => {}
            FunctionArguments::Subquery(query) => self.query(query),
            FunctionArguments::List(list) => {
                self.function_args(&list.args);
                for clause in &list.clauses {
                    match clause {
                        FunctionArgumentClause::Where(expr)
                        | FunctionArgumentClause::Limit(expr)
                        | FunctionArgumentClause::Having(HavingBound(_, expr)) => self.expr(expr),
                        FunctionArgumentClause::OrderBy(order_by) => self.order_by(order_by),
                        _ => {}
                    }
                }
            }
        }
    }

    /// `count(*)` reads no particular column, so wildcard arguments add none.
    fn function_args(&mut self, args: &'a [FunctionArg]) {
        for arg in args {
            let (FunctionArg::Named { arg, .. }
            | FunctionArg::ExprNamed { arg, .. }
            | FunctionArg::Unnamed(arg)) = arg;
            if let FunctionArgExpr::Expr(expr) = arg {
                self.expr(expr);
            }
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Identifier(ident) => self.column(&ident.value),
            Expr::CompoundIdentifier(idents) => {
                if let Some(last) = idents.last() {
                    self.column(&last.value);
                }
            }
            Expr::Wildcard(_) | Expr::QualifiedWildcard(..) => self.column("*"),
            Expr::Value(_) | Expr::TypedString(_) | Expr::MatchAgainst { .. } => {}
            Expr::CompoundFieldAccess { root, access_chain } => {
                self.expr(root);
                for access in access_chain {
                    match access {
                        AccessExpr::Dot(expr) => self.expr(expr),
                        AccessExpr::Subscript(Subscript::Index { index }) => self.expr(index),
                        AccessExpr::Subscript(Subscript::Slice {
                            lower_bound,
                            upper_bound,
                            stride,
                        }) => self.exprs(lower_bound.iter().chain(upper_bound).chain(stride)),
                    }
                }
            }
            Expr::JsonAccess { value: expr, .. }
            | Expr::IsFalse(expr)
            | Expr::IsNotFalse(expr)
            | Expr::IsTrue(expr)
            | Expr::IsNotTrue(expr)
            | Expr::IsNull(expr)
            | Expr::IsNotNull(expr)
            | Expr::IsUnknown(expr)
            | Expr::IsNotUnknown(expr)
            | Expr::IsJson { expr, .. }
            | Expr::IsNormalized { expr, .. }
            | Expr::UnaryOp { expr, .. }
            | Expr::Cast { expr, .. }
            | Expr::Extract { expr, .. }
            | Expr::Ceil { expr, .. }
            | Expr::Floor { expr, .. }
            | Expr::Collate { expr, .. }
            | Expr::Nested(expr)
            | Expr::Prefixed { value: expr, .. }
            | Expr::Named { expr, .. }
            | Expr::OuterJoin(expr)
            | Expr::Prior(expr) => self.expr(expr),
            Expr::IsDistinctFrom(left, right)
            | Expr::IsNotDistinctFrom(left, right)
            | Expr::InUnnest {
                expr: left,
                array_expr: right,
                ..
            }
            | Expr::BinaryOp { left, right, .. }
            | Expr::AnyOp { left, right, .. }
            | Expr::AllOp { left, right, .. }
            | Expr::AtTimeZone {
                timestamp: left,
                time_zone: right,
            }
            | Expr::Position {
                expr: left,
                r#in: right,
            }
            | Expr::RLike {
                expr: left,
                pattern: right,
                ..
            } => self.exprs([left.as_ref(), right.as_ref()]),
            Expr::Like {
                expr,
                pattern,
                escape_char,
                ..
            }
            | Expr::ILike {
                expr,
                pattern,
                escape_char,
                ..
            }
            | Expr::SimilarTo {
                expr,
                pattern,
                escape_char,
                ..
            } => self.exprs(
                [expr.as_ref(), pattern.as_ref()]
                    .into_iter()
                    .chain(escape_char.as_deref()),
            ),
            Expr::InList { expr, list, .. } => {
                self.expr(expr);
                self.exprs(list);
            }
            Expr::InSubquery { expr, subquery, .. } => {
                self.expr(expr);
                self.query(subquery);
            }
            Expr::Exists { subquery, .. } | Expr::Subquery(subquery) => self.query(subquery),
            Expr::Between {
                expr, low, high, ..
            } => self.exprs([expr.as_ref(), low.as_ref(), high.as_ref()]),
            Expr::Convert { expr, styles, .. } => {
                self.expr(expr);
                self.exprs(styles);
            }
            Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                self.expr(expr);
                self.exprs(
                    substring_from
                        .iter()
                        .chain(substring_for)
                        .map(AsRef::as_ref),
                );
            }
            Expr::Trim {
                expr,
                trim_what,
                trim_characters,
                ..
            } => {
                self.expr(expr);
                self.exprs(trim_what.as_deref());
                self.exprs(trim_characters.iter().flatten());
            }
            Expr::Overlay {
                expr,
                overlay_what,
                overlay_from,
                overlay_for,
            } => {
                self.exprs([expr.as_ref(), overlay_what.as_ref(), overlay_from.as_ref()]);
                self.exprs(overlay_for.as_deref());
            }
            Expr::Function(function) => self.function(function),
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                self.exprs(operand.as_deref());
                for when in conditions {
                    self.exprs([&when.condition, &when.result]);
                }
                self.exprs(else_result.as_deref());
            }
            Expr::GroupingSets(sets) | Expr::Cube(sets) | Expr::Rollup(sets) => {
                self.exprs(sets.iter().flatten())
            }
            Expr::Tuple(exprs) | Expr::Struct { values: exprs, .. } => self.exprs(exprs),
            Expr::Array(array) => self.exprs(&array.elem),
            Expr::Dictionary(fields) => self.exprs(fields.iter().map(|field| field.value.as_ref())),
            Expr::Map(map) => {
                for entry in &map.entries {
                    self.exprs([entry.key.as_ref(), entry.value.as_ref()]);
                }
            }
            Expr::Interval(interval) => self.expr(&interval.value),
            Expr::Lambda(lambda) => self.expr(&lambda.body),
            Expr::MemberOf(member) => self.exprs([member.value.as_ref(), member.array.as_ref()]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(sql: &str) -> SqlStatement {
        let mut parsed = statements(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(parsed.len(), 1, "{sql}: {parsed:?}");
        parsed.remove(0)
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| item.to_string()).collect()
    }

    #[test]
    fn delete_without_where() {
        let s = one("DELETE FROM users");
        assert_eq!(s.kind, "delete");
        assert!(!s.has_where);
        assert!(!s.where_is_trivial);
        assert!(!s.is_ddl);
        assert_eq!(s.tables, strings(&["users"]));
        assert_eq!(s.target_tables, strings(&["users"]));
    }

    #[test]
    fn delete_with_where() {
        let s = one("DELETE FROM users WHERE id = 1");
        assert!(s.has_where);
        assert!(!s.where_is_trivial);
    }

    #[test]
    fn delete_with_trivial_where_keeps_case_of_names() {
        let s = one("delete from Users where 1=1");
        assert_eq!(s.kind, "delete");
        assert!(s.has_where);
        assert!(s.where_is_trivial);
        assert_eq!(s.tables, strings(&["Users"]));
    }

    #[test]
    fn trivial_where_variants() {
        for sql in [
            "DELETE FROM t WHERE true",
            "DELETE FROM t WHERE 'a'='a'",
            "DELETE FROM t WHERE 1",
            "DELETE FROM t WHERE (1 = 1)",
            "DELETE FROM t WHERE id = 5 OR 1 = 1",
            "DELETE FROM t WHERE NOT false",
            "DELETE FROM t WHERE 2 > 1 AND 'x' <> 'y'",
            "DELETE FROM t WHERE id = id",
            "DELETE FROM t WHERE 1 IN (1, 2)",
            "DELETE FROM t WHERE 1 = '1'",
        ] {
            assert!(one(sql).where_is_trivial, "{sql}");
        }
    }

    #[test]
    fn non_trivial_where_variants() {
        for sql in [
            "DELETE FROM t WHERE id = 1",
            "DELETE FROM t WHERE 1 = 2",
            "DELETE FROM t WHERE 1 = 1 AND id = 3",
            "DELETE FROM t WHERE NULL",
            "DELETE FROM t WHERE NOT NULL",
            "DELETE FROM t WHERE 0",
            "DELETE FROM t WHERE a = b",
        ] {
            let s = one(sql);
            assert!(s.has_where, "{sql}");
            assert!(!s.where_is_trivial, "{sql}");
        }
    }

    #[test]
    fn update_with_and_without_where() {
        let s = one("UPDATE accounts SET x = 1");
        assert_eq!(s.kind, "update");
        assert!(!s.has_where);
        assert_eq!(s.target_tables, strings(&["accounts"]));
        let s = one("UPDATE accounts SET x = 1 WHERE id = 7");
        assert!(s.has_where);
        assert!(!s.where_is_trivial);
    }

    #[test]
    fn update_from_reads_the_other_table() {
        let s = one("UPDATE a SET x = b.y FROM b WHERE a.id = b.id");
        assert_eq!(s.tables, strings(&["a", "b"]));
        assert_eq!(s.target_tables, strings(&["a"]));
        assert!(s.columns.is_empty(), "columns are for selects only");
    }

    #[test]
    fn update_subquery_tables() {
        let s = one("UPDATE a SET x = (SELECT max(v) FROM b) WHERE id IN (SELECT id FROM c)");
        assert_eq!(s.tables, strings(&["a", "b", "c"]));
        assert_eq!(s.target_tables, strings(&["a"]));
    }

    #[test]
    fn ddl_kinds_and_objects() {
        for (sql, kind, object) in [
            ("DROP TABLE users", "drop", "table"),
            ("drop database prod", "drop", "database"),
            ("DROP SCHEMA s CASCADE", "drop", "schema"),
            ("DROP VIEW IF EXISTS v", "drop", "view"),
            ("TRUNCATE users", "truncate", "table"),
            ("TRUNCATE TABLE users", "truncate", "table"),
            ("ALTER TABLE t ADD COLUMN c int", "alter", "table"),
            ("CREATE TABLE t (id int)", "create", "table"),
            ("CREATE INDEX idx ON t (c)", "create", "index"),
            ("CREATE UNIQUE INDEX idx ON t (c)", "create", "index"),
            ("CREATE VIEW v AS SELECT 1", "create", "view"),
            (
                "CREATE MATERIALIZED VIEW v AS SELECT 1",
                "create",
                "materialized view",
            ),
            ("CREATE SCHEMA s", "create", "schema"),
            ("CREATE DATABASE d", "create", "database"),
            ("DROP INDEX idx", "drop", "index"),
            ("ALTER TABLE a RENAME TO b", "alter", "table"),
            ("RENAME TABLE a TO b", "rename", "table"),
            ("COMMENT ON TABLE t IS 'x'", "comment", "table"),
        ] {
            let s = one(sql);
            assert_eq!(
                (s.kind.as_str(), s.object.as_deref()),
                (kind, Some(object)),
                "{sql}"
            );
            assert!(s.is_ddl, "{sql}");
        }
    }

    #[test]
    fn grant_and_revoke_are_ddl() {
        let s = one("GRANT SELECT ON t TO u");
        assert_eq!(s.kind, "grant");
        assert!(s.is_ddl);
        assert_eq!(s.tables, strings(&["t"]));
        let s = one("REVOKE SELECT ON t FROM u");
        assert_eq!(s.kind, "revoke");
        assert!(s.is_ddl);
        assert_eq!(s.object, None);
    }

    #[test]
    fn ddl_target_tables() {
        assert_eq!(
            one("DROP TABLE users, public.orders").target_tables,
            strings(&["users", "public.orders"])
        );
        assert!(
            one("DROP DATABASE prod").tables.is_empty(),
            "a database is not a table"
        );
        assert_eq!(
            one("CREATE INDEX idx ON t (c)").target_tables,
            strings(&["t"])
        );
        assert_eq!(
            one("ALTER TABLE a RENAME TO b").target_tables,
            strings(&["a", "b"])
        );
        let s = one("CREATE TABLE copy AS SELECT * FROM users");
        assert_eq!(s.tables, strings(&["copy", "users"]));
        assert_eq!(s.target_tables, strings(&["copy"]));
    }

    #[test]
    fn plain_statements_are_not_ddl() {
        for (sql, kind) in [
            ("SELECT 1", "select"),
            ("INSERT INTO t VALUES (1)", "insert"),
            ("BEGIN", "begin"),
            ("START TRANSACTION", "begin"),
            ("COMMIT", "commit"),
            ("ROLLBACK", "rollback"),
            ("SET x = 1", "set"),
            ("SHOW TABLES", "show"),
            ("EXPLAIN SELECT * FROM t", "explain"),
            ("COPY users TO STDOUT", "copy"),
            (
                "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
                "merge",
            ),
        ] {
            let s = one(sql);
            assert_eq!(s.kind, kind, "{sql}");
            assert!(!s.is_ddl, "{sql}");
            assert_eq!(s.object, None, "{sql}");
        }
    }

    #[test]
    fn select_single_column() {
        let s = one("SELECT email FROM users");
        assert_eq!(s.kind, "select");
        assert_eq!(s.columns, strings(&["email"]));
        assert_eq!(s.tables, strings(&["users"]));
        assert!(s.target_tables.is_empty());
        assert!(!s.has_where);
        assert!(!s.has_limit);
    }

    #[test]
    fn limit_fetch_and_top() {
        assert!(one("SELECT email FROM users LIMIT 10").has_limit);
        assert!(one("SELECT * FROM t FETCH FIRST 5 ROWS ONLY").has_limit);
        assert!(one("SELECT TOP 10 * FROM t").has_limit);
        assert!(one("SELECT * FROM t LIMIT 5, 10").has_limit);
        assert!(!one("SELECT * FROM t OFFSET 5").has_limit);
        assert!(!one("SELECT * FROM t LIMIT ALL").has_limit);
        assert!(!one("SELECT * FROM t LIMIT NULL").has_limit);
    }

    #[test]
    fn join_tables_and_wildcard() {
        let s = one("SELECT * FROM users u JOIN orders o ON u.id = o.uid WHERE o.total > 5");
        assert_eq!(s.tables, strings(&["users", "orders"]));
        assert_eq!(s.columns, strings(&["*"]));
        assert!(s.has_where);
        assert!(!s.where_is_trivial);
    }

    #[test]
    fn projection_expressions_and_aliases() {
        assert_eq!(
            one("SELECT lower(u.email) AS e FROM users u").columns,
            strings(&["email"])
        );
        assert_eq!(
            one("SELECT id, u.* , coalesce(a, B) FROM users u").columns,
            strings(&["id", "*", "a", "b"])
        );
        assert!(
            one("SELECT count(*) FROM users").columns.is_empty(),
            "count(*) reads no column"
        );
    }

    #[test]
    fn derived_table_columns_are_not_hidden_by_renaming() {
        let s = one("SELECT e FROM (SELECT email AS e FROM users) s");
        assert_eq!(s.tables, strings(&["users"]));
        assert!(s.columns.contains(&"email".to_string()), "{:?}", s.columns);
    }

    #[test]
    fn subquery_tables() {
        let s = one("SELECT id FROM (SELECT id FROM secrets) s");
        assert_eq!(s.tables, strings(&["secrets"]));
        let s = one("SELECT id FROM t WHERE x IN (SELECT x FROM u) AND EXISTS (SELECT 1 FROM v)");
        assert_eq!(s.tables, strings(&["t", "u", "v"]));
        let s = one("SELECT (SELECT max(a) FROM inner_t) FROM outer_t");
        assert_eq!(s.tables, strings(&["inner_t", "outer_t"]));
    }

    #[test]
    fn outer_where_only() {
        let s = one("SELECT * FROM (SELECT * FROM t WHERE id = 1) s");
        assert!(!s.has_where, "the WHERE belongs to the subquery");
        let s = one("SELECT * FROM (SELECT * FROM t) s LIMIT 3");
        assert!(s.has_limit);
    }

    #[test]
    fn cte_names_are_not_tables() {
        let s = one("WITH x AS (SELECT * FROM users) SELECT * FROM x");
        assert_eq!(s.kind, "select");
        assert_eq!(s.tables, strings(&["users"]));
        let s = one("WITH a AS (SELECT 1), b AS (SELECT * FROM a JOIN c ON true) SELECT * FROM b");
        assert_eq!(s.tables, strings(&["c"]));
    }

    #[test]
    fn cte_scope_does_not_leak() {
        // The outer `x` is a real table; only the inner query sees the CTE.
        let s = one("SELECT * FROM x WHERE id IN (WITH x AS (SELECT 1 AS id) SELECT id FROM x)");
        assert_eq!(s.tables, strings(&["x"]));
        // A CTE cannot see itself without RECURSIVE, so `users` inside is the real table.
        let s = one("WITH users AS (SELECT * FROM users) SELECT * FROM users");
        assert_eq!(s.tables, strings(&["users"]));
        let s = one("WITH RECURSIVE r AS (SELECT 1 UNION ALL SELECT n FROM r) SELECT * FROM r");
        assert!(s.tables.is_empty(), "{:?}", s.tables);
    }

    #[test]
    fn several_statements() {
        let parsed = statements("SELECT 1; DROP TABLE users").unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].kind, "select");
        assert!(!parsed[0].is_ddl);
        assert_eq!(parsed[1].kind, "drop");
        assert!(parsed[1].is_ddl);
        assert_eq!(parsed[1].tables, strings(&["users"]));
    }

    #[test]
    fn comments_are_not_statements() {
        let parsed = statements("-- DROP TABLE users\nSELECT 1").unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].kind, "select");
        let parsed = statements("/* DROP TABLE users; */ SELECT 1;").unwrap();
        assert_eq!(parsed.len(), 1);
    }

    #[test]
    fn mysql_executable_comments_are_statements() {
        // MySQL runs the content of `/*! … */`, so it must be judged too.
        let parsed = statements("SELECT 1 /*! ; DROP TABLE users */").unwrap();
        assert_eq!(
            parsed.iter().map(|s| s.kind.as_str()).collect::<Vec<_>>(),
            ["select", "drop"]
        );
    }

    #[test]
    fn insert_select() {
        let s = one("INSERT INTO logs SELECT * FROM users");
        assert_eq!(s.kind, "insert");
        assert_eq!(s.tables, strings(&["logs", "users"]));
        assert_eq!(s.target_tables, strings(&["logs"]));
        assert!(s.columns.is_empty());
    }

    #[test]
    fn insert_on_conflict_reads_subquery() {
        let s = one(
            "INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET a = (SELECT max(a) FROM u)",
        );
        assert_eq!(s.tables, strings(&["t", "u"]));
        assert_eq!(s.target_tables, strings(&["t"]));
    }

    #[test]
    fn quoted_identifiers() {
        assert_eq!(one("DELETE FROM \"Users\"").tables, strings(&["Users"]));
        assert_eq!(
            one("DELETE FROM `users` WHERE id = 1").tables,
            strings(&["users"])
        );
        assert_eq!(
            one("SELECT `Email` FROM `db`.`users`").tables,
            strings(&["db.users"])
        );
        assert_eq!(
            one("SELECT * FROM public.users").tables,
            strings(&["public.users"])
        );
    }

    #[test]
    fn mysql_only_syntax_falls_back_to_mysql() {
        // The generic dialect rejects `#` comments; MySQL accepts them.
        let s = one("DELETE FROM users # everything\n");
        assert_eq!(s.kind, "delete");
        assert!(!s.has_where);
    }

    #[test]
    fn mysql_multi_table_delete_resolves_aliases() {
        let s = one("DELETE a FROM users a JOIN t ON a.id = t.id WHERE t.x = 1");
        assert_eq!(s.target_tables, strings(&["users"]));
        assert_eq!(s.tables, strings(&["users", "t"]));
    }

    #[test]
    fn delete_using() {
        let s = one("DELETE FROM users USING orders WHERE users.id = orders.uid");
        assert_eq!(s.tables, strings(&["users", "orders"]));
        assert_eq!(s.target_tables, strings(&["users"]));
        assert!(s.has_where);
    }

    #[test]
    fn dml_inside_with_is_judged_as_dml() {
        let s =
            one("WITH x AS (SELECT id FROM old) DELETE FROM users WHERE id IN (SELECT id FROM x)");
        assert_eq!(s.kind, "delete");
        assert!(s.has_where);
        assert_eq!(s.tables, strings(&["old", "users"]));
        assert_eq!(s.target_tables, strings(&["users"]));
    }

    #[test]
    fn data_modifying_cte_is_reported_on_its_own() {
        let parsed =
            statements("WITH d AS (DELETE FROM users RETURNING *) SELECT * FROM d").unwrap();
        assert_eq!(parsed.len(), 2, "{parsed:?}");
        assert_eq!(parsed[0].kind, "select");
        assert_eq!(parsed[0].target_tables, strings(&["users"]));
        assert_eq!(parsed[1].kind, "delete");
        assert!(!parsed[1].has_where);
        assert_eq!(parsed[1].tables, strings(&["users"]));
    }

    #[test]
    fn executed_inner_statements_are_reported() {
        let kinds = |sql: &str| {
            statements(sql)
                .unwrap()
                .into_iter()
                .map(|s| s.kind)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            kinds("EXPLAIN ANALYZE DELETE FROM users"),
            ["explain", "delete"]
        );
        assert_eq!(kinds("EXPLAIN DELETE FROM users"), ["explain"]);
        assert_eq!(kinds("PREPARE p AS DELETE FROM x"), ["prepare", "delete"]);
        assert_eq!(kinds("IF 1=1 THEN DELETE FROM x; END IF"), ["if", "delete"]);
    }

    #[test]
    fn select_into_writes_a_table() {
        let s = one("SELECT * INTO backup FROM users");
        assert_eq!(s.kind, "select");
        assert_eq!(s.tables, strings(&["backup", "users"]));
        assert_eq!(s.target_tables, strings(&["backup"]));
    }

    #[test]
    fn union_needs_where_and_limit_in_every_branch() {
        let s = one("SELECT a FROM t WHERE id = 1 UNION SELECT a FROM u");
        assert!(!s.has_where);
        assert_eq!(s.tables, strings(&["t", "u"]));
        let s = one("SELECT a FROM t WHERE id = 1 UNION SELECT a FROM u WHERE 1 = 1");
        assert!(s.has_where);
        assert!(s.where_is_trivial);
        assert!(one("SELECT a FROM t UNION SELECT a FROM u LIMIT 5").has_limit);
    }

    #[test]
    fn merge_and_copy_targets() {
        let s = one("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v");
        assert_eq!(s.tables, strings(&["t", "s"]));
        assert_eq!(s.target_tables, strings(&["t"]));
        assert_eq!(
            one("COPY users FROM STDIN").target_tables,
            strings(&["users"])
        );
        let s = one("COPY users TO STDOUT");
        assert_eq!(s.tables, strings(&["users"]));
        assert!(s.target_tables.is_empty());
    }

    #[test]
    fn keywords_skip_identifiers_and_strings() {
        assert_eq!(
            keywords("SELECT created_at FROM t"),
            strings(&["SELECT", "FROM"])
        );
        assert!(!keywords("select 'drop table x'").contains(&"DROP".to_string()));
        assert!(
            !keywords("SELECT create_branch, \"drop\" FROM t")
                .iter()
                .any(|k| k == "CREATE" || k == "DROP")
        );
        assert_eq!(keywords("drop table"), strings(&["DROP", "TABLE"]));
        assert!(statements("DROP TABLE").is_err());
        assert_eq!(keywords("DROP TABLE"), strings(&["DROP", "TABLE"]));
    }

    #[test]
    fn keywords_of_unparseable_sql() {
        assert!(statements("DROP TABLE x WHERE ((").is_err());
        assert_eq!(
            keywords("DROP TABLE x WHERE (("),
            strings(&["DROP", "TABLE", "WHERE"])
        );
        // The unterminated string stops the tokenizer; what came before it is kept.
        assert_eq!(
            keywords("DROP TABLE x; SELECT 'oops"),
            strings(&["DROP", "TABLE", "SELECT"])
        );
        assert!(keywords("").is_empty());
    }

    #[test]
    fn errors_and_empty_input() {
        let error = statements("SELEC * FROM users").unwrap_err();
        assert!(
            error.message.starts_with("could not parse SQL: "),
            "{error}"
        );
        assert_eq!(error.to_string(), error.message);
        assert_eq!(statements("").unwrap(), vec![]);
        assert_eq!(statements("  \n\t ").unwrap(), vec![]);
        assert_eq!(statements("-- only a comment").unwrap(), vec![]);
        assert_eq!(statements(";;").unwrap(), vec![]);
    }

    #[test]
    fn deep_parentheses_are_an_error_not_a_crash() {
        let sql = format!("SELECT {}1{}", "(".repeat(10_000), ")".repeat(10_000));
        let error = statements(&sql).unwrap_err();
        assert!(error.message.contains("nested too deeply"), "{error}");
        assert!(keywords(&sql).len() == 1);
    }

    #[test]
    fn long_operator_chains_do_not_overflow() {
        // Runs on a test thread (2 MiB stack by default).
        let sql = format!("DELETE FROM t WHERE a = 1{}", " OR a = 1".repeat(4_000));
        let s = one(&sql);
        assert!(s.has_where);
        let sql = format!("SELECT a FROM t{}", " UNION SELECT a FROM t".repeat(3_000));
        assert_eq!(one(&sql).tables, strings(&["t"]));
        // Just under the operator budget: the deepest tree we accept.
        let sql = format!("SELECT x{}", " + 1".repeat(MAX_OPERATOR_TOKENS - 1));
        assert_eq!(one(&sql).columns, strings(&["x"]));
        let sql = format!("SELECT 1{}", " + 1".repeat(100_000));
        let error = statements(&sql).unwrap_err();
        assert!(error.message.contains("too complex"), "{error}");
    }
}
