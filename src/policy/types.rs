//! Static types: what the checker knows of an expression before any request arrives. `Any`
//! means "only known at run time"; the checker reports a mismatch only when it is certain.

use chrono::{DateTime, Utc};

use super::ast::TypeExpr;
use super::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Any,
    Null,
    Bool,
    Int,
    Float,
    /// Int or float.
    Number,
    Str,
    List,
    Map,
    Duration,
    TimeOfDay,
    Time,
    /// A string or a list (for `len`, `contains`).
    StrOrList,
    /// A string, a list or a map (for `len`).
    Collection,
}

impl Ty {
    pub fn name(self) -> &'static str {
        match self {
            Ty::Any => "any",
            Ty::Null => "null",
            Ty::Bool => "bool",
            Ty::Int => "int",
            Ty::Float => "float",
            Ty::Number => "number",
            Ty::Str => "string",
            Ty::List => "list",
            Ty::Map => "map",
            Ty::Duration => "duration",
            Ty::TimeOfDay => "time_of_day",
            Ty::Time => "time",
            Ty::StrOrList => "string or list",
            Ty::Collection => "string, list or map",
        }
    }

    /// The name with its article: "a string", "an int".
    pub fn a(self) -> String {
        with_article(self.name())
    }

    /// Can a value of static type `self` be what `expected` asks for? `Any` on either side
    /// defers to run time.
    pub fn fits(self, expected: Ty) -> bool {
        match (self, expected) {
            (Ty::Any, _) | (_, Ty::Any) => true,
            (a, b) if a == b => true,
            (Ty::Int | Ty::Float, Ty::Number) | (Ty::Number, Ty::Int | Ty::Float) => true,
            (Ty::Str | Ty::List | Ty::StrOrList, Ty::StrOrList) => true,
            (Ty::StrOrList, Ty::Str | Ty::List) => true,
            (Ty::Str | Ty::List | Ty::Map | Ty::StrOrList | Ty::Collection, Ty::Collection) => true,
            (Ty::Collection, Ty::Str | Ty::List | Ty::Map | Ty::StrOrList) => true,
            _ => false,
        }
    }

    pub fn of_value(value: &Value) -> Ty {
        match value {
            Value::Null => Ty::Null,
            Value::Bool(_) => Ty::Bool,
            Value::Int(_) => Ty::Int,
            Value::Float(_) => Ty::Float,
            Value::Str(_) => Ty::Str,
            Value::List(_) => Ty::List,
            Value::Map(_) => Ty::Map,
            Value::Duration(_) => Ty::Duration,
            Value::TimeOfDay(_) => Ty::TimeOfDay,
            Value::Time(_) => Ty::Time,
        }
    }
}

impl From<&TypeExpr> for Ty {
    fn from(ty: &TypeExpr) -> Ty {
        match ty {
            TypeExpr::Any => Ty::Any,
            TypeExpr::Bool => Ty::Bool,
            TypeExpr::Int => Ty::Int,
            TypeExpr::Float => Ty::Float,
            TypeExpr::Number => Ty::Number,
            TypeExpr::String => Ty::Str,
            TypeExpr::Duration => Ty::Duration,
            TypeExpr::TimeOfDay => Ty::TimeOfDay,
            TypeExpr::Time => Ty::Time,
            TypeExpr::Map => Ty::Map,
            TypeExpr::List(_) => Ty::List,
        }
    }
}

impl TypeExpr {
    pub fn display(&self) -> String {
        match self {
            TypeExpr::List(Some(inner)) => format!("list<{}>", inner.display()),
            TypeExpr::List(None) => "list".to_string(),
            other => Ty::from(other).name().to_string(),
        }
    }

    /// Converts a value given for a parameter of this type (from the language, JSON or YAML),
    /// or says why it does not fit. JSON has no durations or times of day, so strings such as
    /// "7d" and "22:00" (and whole hours 0–23 for a time of day) are accepted for them.
    pub fn coerce(&self, value: &Value) -> Result<Value, String> {
        let mismatch = || {
            format!(
                "expected {}, got {} `{value}`",
                self.display(),
                value.type_name()
            )
        };
        match (self, value) {
            (TypeExpr::Any, v) => Ok(v.clone()),
            (TypeExpr::Bool, Value::Bool(_))
            | (TypeExpr::Int, Value::Int(_))
            | (TypeExpr::Float | TypeExpr::Number, Value::Float(_))
            | (TypeExpr::Number, Value::Int(_))
            | (TypeExpr::String, Value::Str(_))
            | (TypeExpr::Map, Value::Map(_))
            | (TypeExpr::Duration, Value::Duration(_))
            | (TypeExpr::TimeOfDay, Value::TimeOfDay(_))
            | (TypeExpr::Time, Value::Time(_)) => Ok(value.clone()),
            #[allow(clippy::cast_precision_loss)]
            (TypeExpr::Float, Value::Int(n)) => Ok(Value::Float(*n as f64)),
            (TypeExpr::Duration, Value::Str(s)) => {
                parse_duration(s).map(Value::Duration).ok_or_else(|| {
                    format!("`{s}` is not a duration (write it like 30s, 15m, 24h, 7d or 1h30m)")
                })
            }
            (TypeExpr::TimeOfDay, Value::Int(hour)) => match u32::try_from(*hour) {
                Ok(h) if h < 24 => Ok(Value::TimeOfDay(h * 3600)),
                _ => Err(format!("{hour} is not an hour of the day (0–23)")),
            },
            (TypeExpr::TimeOfDay, Value::Str(s)) => {
                parse_time_of_day(s).map(Value::TimeOfDay).ok_or_else(|| {
                    format!("`{s}` is not a time of day (write it as HH:MM, e.g. 22:00)")
                })
            }
            (TypeExpr::Time, Value::Str(s)) => parse_time(s).map(Value::Time),
            (TypeExpr::List(element), Value::List(items)) => match element {
                None => Ok(value.clone()),
                Some(element) => items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| element.coerce(item).map_err(|e| format!("item {i}: {e}")))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::list),
            },
            _ => Err(mismatch()),
        }
    }
}

/// A type name with its article: "a string", "an int".
pub fn with_article(type_name: &str) -> String {
    let vowel = type_name.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {type_name}", if vowel { "an" } else { "a" })
}

/// An RFC 3339 time in UTC, or a message saying how to write one.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("`{text}` is not an RFC 3339 time (e.g. 2026-01-31T22:00:00Z)"))
}

/// `30s`, `15m`, `24h`, `7d`, `2w`, `250ms`, `1h30m` → milliseconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        let (number, after) = rest.split_at(digits);
        let amount: i64 = number.parse().ok()?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let size: i64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            _ => return None,
        };
        total = total.checked_add(amount.checked_mul(size)?)?;
        rest = next;
    }
    Some(total)
}

/// `HH:MM` or `HH:MM:SS` → seconds since midnight.
pub fn parse_time_of_day(text: &str) -> Option<u32> {
    let mut fields = text.trim().split(':');
    let hour: u32 = fields.next()?.parse().ok()?;
    let minute: u32 = fields.next()?.parse().ok()?;
    let second: u32 = match fields.next() {
        Some(s) => s.parse().ok()?,
        None => 0,
    };
    (fields.next().is_none() && hour < 24 && minute < 60 && second < 60)
        .then_some(hour * 3600 + minute * 60 + second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_compound_units() {
        assert_eq!(parse_duration("7d"), Some(604_800_000));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration("250ms"), Some(250));
        assert_eq!(parse_duration("7"), None);
        assert_eq!(parse_duration("7x"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("99999999999999999d"), None);
    }

    #[test]
    fn parameters_accept_json_spellings() {
        let tod = TypeExpr::TimeOfDay;
        assert_eq!(
            tod.coerce(&Value::Int(22)).unwrap(),
            Value::TimeOfDay(79_200)
        );
        assert_eq!(
            tod.coerce(&Value::str("06:30")).unwrap(),
            Value::TimeOfDay(23_400)
        );
        assert!(tod.coerce(&Value::Int(24)).unwrap_err().contains("0–23"));
        assert!(tod.coerce(&Value::str("25:00")).is_err());
        let list = TypeExpr::List(Some(Box::new(TypeExpr::String)));
        assert!(list.coerce(&Value::list([Value::str("a")])).is_ok());
        assert!(
            list.coerce(&Value::list([Value::Int(1)]))
                .unwrap_err()
                .contains("item 0")
        );
        assert!(
            TypeExpr::String
                .coerce(&Value::Int(1))
                .unwrap_err()
                .contains("expected string")
        );
        assert_eq!(
            TypeExpr::Duration.coerce(&Value::str("24h")).unwrap(),
            Value::Duration(86_400_000)
        );
    }

    #[test]
    fn fits_defers_unknowns_to_run_time() {
        assert!(Ty::Any.fits(Ty::Str));
        assert!(Ty::Int.fits(Ty::Number));
        assert!(Ty::Str.fits(Ty::Collection));
        assert!(!Ty::Int.fits(Ty::Str));
        assert!(!Ty::Null.fits(Ty::Str));
        assert!(!Ty::Map.fits(Ty::StrOrList));
    }
}
