//! Functions over the analysis engines: shell commands and SQL judged after real parsing,
//! secrets and prompt-injection forms found by vetted patterns. Each turns the engine's
//! result into values a policy can read.

use std::sync::Arc;

use super::{Host, str_arg};
use crate::policy::analysis::{injection, secrets, shell, sql};
use crate::policy::value::{Map, Value};

fn strings(items: &[String]) -> Value {
    Value::list(items.iter().map(|s| Value::str(s.as_str())))
}

fn count(n: usize) -> Value {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

pub fn shell_commands(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    let script = str_arg(args, 0, "the script")?;
    let commands = shell::commands(script).map_err(|e| format!("cannot parse the command: {e}"))?;
    Ok(Value::list(commands.iter().map(|command| {
        let assignments: Map = command
            .assignments
            .iter()
            .map(|(k, v)| (Arc::from(k.as_str()), Value::str(v.as_str())))
            .collect();
        let argv = std::iter::once(&command.program).chain(&command.args);
        Value::map([
            ("name", Value::str(command.name.as_str())),
            ("program", Value::str(command.program.as_str())),
            ("args", strings(&command.args)),
            ("argv", Value::list(argv.map(|a| Value::str(a.as_str())))),
            ("assignments", Value::Map(Arc::new(assignments))),
            ("wrappers", strings(&command.wrappers)),
            (
                "redirects",
                Value::list(command.redirects.iter().map(|r| {
                    Value::map([
                        ("op", Value::str(r.op.as_str())),
                        ("target", Value::str(r.target.as_str())),
                    ])
                })),
            ),
            ("upstream", strings(&command.upstream)),
            ("downstream", strings(&command.downstream)),
            (
                "consumer",
                command.consumer.as_deref().map_or(Value::Null, Value::from),
            ),
            ("context", Value::str(command.context.as_str())),
            ("depth", count(command.depth)),
            ("in_loop", Value::Bool(command.in_loop)),
        ])
    })))
}

pub fn sql_statements(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    let text = str_arg(args, 0, "the SQL")?;
    let statements = sql::statements(text).map_err(|e| e.message)?;
    Ok(Value::list(statements.iter().map(|s| {
        Value::map([
            ("kind", Value::str(s.kind.as_str())),
            (
                "object",
                s.object.as_deref().map_or(Value::Null, Value::from),
            ),
            ("tables", strings(&s.tables)),
            ("target_tables", strings(&s.target_tables)),
            ("has_where", Value::Bool(s.has_where)),
            ("where_is_trivial", Value::Bool(s.where_is_trivial)),
            ("has_limit", Value::Bool(s.has_limit)),
            ("is_ddl", Value::Bool(s.is_ddl)),
            ("columns", strings(&s.columns)),
        ])
    })))
}

pub fn sql_parses(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    Ok(Value::Bool(
        sql::statements(str_arg(args, 0, "the SQL")?).is_ok(),
    ))
}

pub fn sql_keywords(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    Ok(strings(&sql::keywords(str_arg(args, 0, "the SQL")?)))
}

pub fn secrets_find(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    let found = secrets::find(str_arg(args, 0, "the text")?);
    Ok(Value::list(found.into_iter().map(|m| {
        Value::map([
            ("kind", Value::str(m.kind)),
            ("redacted", Value::str(m.redacted)),
        ])
    })))
}

pub fn injection_find(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    let found = injection::find(str_arg(args, 0, "the text")?);
    Ok(Value::list(found.into_iter().map(|m| {
        Value::map([
            ("kind", Value::str(m.kind)),
            ("excerpt", Value::str(m.excerpt)),
        ])
    })))
}
