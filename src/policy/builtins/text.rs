//! String and collection functions.

use std::sync::Arc;

use super::{Host, arg, list_arg, str_arg};
use crate::policy::value::Value;

pub fn lower(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    Ok(Value::str(
        str_arg(args, 0, "lower's argument")?.to_lowercase(),
    ))
}

pub fn upper(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    Ok(Value::str(
        str_arg(args, 0, "upper's argument")?.to_uppercase(),
    ))
}

pub fn trim(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    Ok(Value::str(str_arg(args, 0, "trim's argument")?.trim()))
}

pub fn len(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    let n = match arg(args, 0)? {
        Value::Str(s) => s.chars().count(),
        Value::List(items) => items.len(),
        Value::Map(map) => map.len(),
        other => {
            return Err(format!(
                "len takes a string, list or map, got {} `{other}`",
                other.type_name()
            ));
        }
    };
    Ok(Value::Int(i64::try_from(n).unwrap_or(i64::MAX)))
}

pub fn starts_with(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    let s = str_arg(args, 0, "starts_with's first argument")?;
    let prefix = str_arg(args, 1, "starts_with's prefix")?;
    Ok(Value::Bool(s.starts_with(prefix)))
}

pub fn ends_with(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    let s = str_arg(args, 0, "ends_with's first argument")?;
    let suffix = str_arg(args, 1, "ends_with's suffix")?;
    Ok(Value::Bool(s.ends_with(suffix)))
}

pub fn contains(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    let needle = arg(args, 1)?;
    match arg(args, 0)? {
        Value::Str(s) => match needle {
            Value::Str(n) => Ok(Value::Bool(s.contains(&**n))),
            other => Err(format!(
                "contains on a string looks for a string, got {} `{other}`",
                other.type_name()
            )),
        },
        Value::List(items) => Ok(Value::Bool(items.contains(needle))),
        other => Err(format!(
            "contains takes a string or a list, got {} `{other}`",
            other.type_name()
        )),
    }
}

pub fn split(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    let s = str_arg(args, 0, "split's first argument")?;
    let separator = str_arg(args, 1, "split's separator")?;
    if separator.is_empty() {
        return Err("split's separator must not be empty".to_string());
    }
    Ok(Value::list(s.split(separator).map(Value::from)))
}

pub fn replace(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    let s = str_arg(args, 0, "replace's first argument")?;
    let from = str_arg(args, 1, "replace's `from`")?;
    let to = str_arg(args, 2, "replace's `to`")?;
    if from.is_empty() {
        return Err("replace's `from` must not be empty".to_string());
    }
    Ok(Value::str(s.replace(from, to)))
}

pub fn join(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    let items = list_arg(args, 0, "join's first argument")?;
    let separator = str_arg(args, 1, "join's separator")?;
    let parts: Vec<String> = items.iter().map(Value::to_display).collect();
    Ok(Value::str(parts.join(separator)))
}

pub fn empty(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    Ok(Value::Bool(arg(args, 0)?.is_empty()))
}

pub fn string(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    Ok(Value::str(arg(args, 0)?.to_display()))
}

pub fn int(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    match arg(args, 0)? {
        Value::Int(n) => Ok(Value::Int(*n)),
        #[allow(clippy::cast_possible_truncation)]
        Value::Float(x) if x.fract() == 0.0 && x.abs() < 9.0e18 => Ok(Value::Int(*x as i64)),
        Value::Str(s) => s
            .trim()
            .parse::<i64>()
            .map(Value::Int)
            .map_err(|_| format!("`{s}` is not an integer")),
        other => Err(format!(
            "cannot make an int of {} `{other}`",
            other.type_name()
        )),
    }
}

pub fn type_of(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    Ok(Value::str(arg(args, 0)?.type_name()))
}

fn map_arg<'v>(args: &'v [Value], what: &str) -> Result<&'v crate::policy::value::Map, String> {
    match arg(args, 0)? {
        Value::Map(map) => Ok(map),
        other => Err(format!(
            "{what} takes a map, got {} `{other}`",
            other.type_name()
        )),
    }
}

pub fn keys(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    let map = map_arg(args, "keys")?;
    Ok(Value::list(map.keys().map(|k| Value::Str(Arc::clone(k)))))
}

pub fn values(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    let map = map_arg(args, "values")?;
    Ok(Value::list(map.values().cloned()))
}

pub fn flatten(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    let items = list_arg(args, 0, "flatten's argument")?;
    let mut out = Vec::new();
    for item in items {
        match item {
            Value::List(inner) => out.extend(inner.iter().cloned()),
            other => out.push(other.clone()),
        }
    }
    Ok(Value::list(out))
}

pub fn all_keys(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    fn walk(value: &Value, out: &mut Vec<Value>) {
        match value {
            Value::List(items) => items.iter().for_each(|v| walk(v, out)),
            Value::Map(map) => {
                for (key, value) in map.iter() {
                    out.push(Value::Str(Arc::clone(key)));
                    walk(value, out);
                }
            }
            _ => {}
        }
    }
    let value = arg(args, 0)?;
    if !matches!(value, Value::Map(_) | Value::List(_)) {
        return Err(format!(
            "all_keys takes a map or a list, got {} `{value}`",
            value.type_name()
        ));
    }
    let mut out = Vec::new();
    walk(value, &mut out);
    Ok(Value::list(out))
}

pub fn strings(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    fn walk(value: &Value, out: &mut Vec<Value>) {
        match value {
            Value::Str(_) => out.push(value.clone()),
            Value::List(items) => items.iter().for_each(|v| walk(v, out)),
            Value::Map(map) => map.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(arg(args, 0)?, &mut out);
    Ok(Value::list(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: Host<'static> = Host {
        workspace: "/w",
        home: "/h",
    };

    fn call(f: super::super::Implementation, args: &[Value]) -> Result<Value, String> {
        f(&HOST, args)
    }

    #[test]
    fn string_functions() {
        assert_eq!(call(lower, &["MaIn".into()]).unwrap(), Value::str("main"));
        assert_eq!(call(trim, &["  x \n".into()]).unwrap(), Value::str("x"));
        assert_eq!(call(len, &["çé".into()]).unwrap(), Value::Int(2));
        assert_eq!(
            call(split, &["a,b".into(), ",".into()]).unwrap(),
            Value::list(["a".into(), "b".into()])
        );
        assert!(call(split, &["a".into(), "".into()]).is_err());
        assert_eq!(
            call(replace, &["a-b-c".into(), "-".into(), "+".into()]).unwrap(),
            Value::str("a+b+c")
        );
        assert_eq!(
            call(
                join,
                &[Value::list([Value::Int(1), "x".into()]), "/".into()]
            )
            .unwrap(),
            Value::str("1/x")
        );
    }

    #[test]
    fn type_errors_are_messages() {
        let error = call(lower, &[Value::Int(3)]).unwrap_err();
        assert!(error.contains("must be a string, got int `3`"), "{error}");
        assert!(call(contains, &["abc".into(), Value::Int(1)]).is_err());
        assert!(call(len, &[Value::Bool(true)]).is_err());
        assert!(call(int, &["12x".into()]).is_err());
    }

    #[test]
    fn contains_on_lists_uses_language_equality() {
        let list = Value::list([Value::Int(1), Value::str("x")]);
        assert_eq!(
            call(contains, &[list.clone(), Value::Float(1.0)]).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            call(contains, &[list, "y".into()]).unwrap(),
            Value::Bool(false)
        );
    }

    #[test]
    fn all_keys_walks_nested_maps_and_lists() {
        let value = Value::map([
            ("a", Value::list([Value::map([("b", Value::Int(1))])])),
            ("c", Value::map([("d", Value::Null)])),
        ]);
        assert_eq!(
            call(all_keys, &[value]).unwrap(),
            Value::list(["a".into(), "b".into(), "c".into(), "d".into()])
        );
    }

    #[test]
    fn strings_walks_nested_values() {
        let value = Value::map([
            (
                "a",
                Value::list(["x".into(), Value::Int(1), Value::map([("k", "y".into())])]),
            ),
            ("b", "z".into()),
        ]);
        assert_eq!(
            call(strings, &[value]).unwrap(),
            Value::list(["x".into(), "y".into(), "z".into()])
        );
    }
}
