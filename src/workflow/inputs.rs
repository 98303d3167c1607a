//! A workflow's declared inputs and the check of a payload against them: unknown fields (with
//! the nearest declared name), missing ones, wrong types, enums, patterns and bounds — every
//! problem at once — then defaults filled in.

use std::fmt;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Map as JsonMap, Number, Value as Json};

use super::error::Problem;
use super::template::{TemplateScope, TemplateValue};
use crate::policy::diagnostic::did_you_mean;
use crate::policy::program::compile_regex;
use crate::policy::value::Value;

/// The JSON type an input takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputType {
    String,
    /// A whole number: `3`, never `3.0`.
    Int,
    /// Any number, ints included.
    Number,
    Bool,
    List,
    Map,
}

impl InputType {
    pub fn name(self) -> &'static str {
        match self {
            InputType::String => "string",
            InputType::Int => "int",
            InputType::Number => "number",
            InputType::Bool => "bool",
            InputType::List => "list",
            InputType::Map => "map",
        }
    }

    pub fn accepts(self, value: &Json) -> bool {
        match self {
            InputType::String => value.is_string(),
            InputType::Int => value.is_i64() || value.is_u64(),
            InputType::Number => value.is_number(),
            InputType::Bool => value.is_boolean(),
            InputType::List => value.is_array(),
            InputType::Map => value.is_object(),
        }
    }

    /// Whether `min`/`max` mean something for this type: the value of a number, the length of
    /// a string (in characters), a list (items) or a map (entries).
    fn is_bounded(self) -> bool {
        !matches!(self, InputType::Bool)
    }
}

/// One declared input.
#[derive(Debug, Clone)]
pub struct InputSpec {
    pub ty: InputType,
    pub required: bool,
    /// Used when the field is absent (or null); a string default may be a template over
    /// `payload`, evaluated after the given fields.
    pub default: Option<TemplateValue>,
    /// `enum:` the only values allowed.
    pub allowed: Option<Vec<Json>>,
    /// A regular expression a string must contain a match of (anchor it with `^...$` to match
    /// the whole string), as in JSON Schema.
    pub pattern: Option<Regex>,
    /// Bounds: a number's value; a string's length in characters; a list's or map's size.
    pub min: Option<Number>,
    pub max: Option<Number>,
    pub description: Option<String>,
}

/// An input as written; `InputSpec::from_raw` checks it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInput {
    #[serde(rename = "type")]
    ty: InputType,
    #[serde(default)]
    required: bool,
    default: Option<TemplateValue>,
    #[serde(rename = "enum")]
    allowed: Option<Vec<Json>>,
    pattern: Option<String>,
    min: Option<Number>,
    max: Option<Number>,
    description: Option<String>,
}

impl InputSpec {
    /// Checks a declaration; a problem comes with the key it is about, to point at.
    pub(crate) fn from_raw(raw: RawInput) -> Result<InputSpec, (&'static str, Problem)> {
        let ty = raw.ty;
        if raw.required && raw.default.is_some() {
            return Err((
                "default",
                Problem::new("a required input with a default").help(
                    "the default would never be used: drop `required: true` or the `default`",
                ),
            ));
        }
        let pattern = match raw.pattern {
            None => None,
            Some(_) if ty != InputType::String => {
                return Err((
                    "pattern",
                    Problem::new(format!(
                        "`pattern` applies to string inputs, and this one is {}",
                        article(ty)
                    ))
                    .help("remove the pattern, or make the input `type: string`"),
                ));
            }
            Some(text) => Some(compile_regex(&text).map_err(|why| {
                let reason = why.lines().rfind(|l| !l.trim().is_empty()).unwrap_or(&why);
                let problem = Problem::new(format!(
                    "the pattern `{text}` is not a valid regular expression"
                ))
                .help(reason.trim().trim_start_matches("error: ").to_string());
                ("pattern", problem)
            })?),
        };
        if !ty.is_bounded() && (raw.min.is_some() || raw.max.is_some()) {
            let key = if raw.min.is_some() { "min" } else { "max" };
            return Err((
                key,
                Problem::new("`min` and `max` do not apply to bool inputs").help(
                    "remove them; bounds apply to numbers, and to the length of strings, lists and maps",
                ),
            ));
        }
        if let (Some(min), Some(max)) = (&raw.min, &raw.max)
            && compare(min, max) == Some(std::cmp::Ordering::Greater)
        {
            return Err((
                "min",
                Problem::new(format!("`min` ({min}) is greater than `max` ({max})"))
                    .help("no value could pass; swap them"),
            ));
        }
        if let Some(allowed) = &raw.allowed {
            if allowed.is_empty() {
                return Err((
                    "enum",
                    Problem::new("`enum` is empty, so no value could pass")
                        .help("list the allowed values: `enum: [fast, safe]`"),
                ));
            }
            if let Some(bad) = allowed.iter().find(|v| !ty.accepts(v)) {
                return Err((
                    "enum",
                    Problem::new(format!("`enum` value {bad} is not {}", article(ty)))
                        .help("every allowed value must have the input's type"),
                ));
            }
        }
        let spec = InputSpec {
            ty,
            required: raw.required,
            default: raw.default,
            allowed: raw.allowed,
            pattern,
            min: raw.min,
            max: raw.max,
            description: raw.description,
        };
        if let Some(default) = spec.default.as_ref().filter(|d| !d.has_templates()) {
            let scope = TemplateScope::new(Value::Null, Value::Null);
            if let Ok(value) = default.render(&scope)
                && let Some(why) = spec.check(&value).first()
            {
                return Err((
                    "default",
                    Problem::new(format!("the default does not fit: it {why}"))
                        .help("make the default a value the input accepts"),
                ));
            }
        }
        Ok(spec)
    }

    /// What is wrong with a value for this input (empty when it fits), as phrases like
    /// "must be an int, got the float `3.0`".
    fn check(&self, value: &Json) -> Vec<String> {
        if !self.ty.accepts(value) {
            return vec![format!(
                "must be {}, got {}",
                article(self.ty),
                describe(value)
            )];
        }
        let mut problems = Vec::new();
        if let Some(allowed) = &self.allowed
            && !allowed.iter().any(|a| same_json(a, value))
        {
            let list: Vec<String> = allowed.iter().map(show).collect();
            let mut message = format!("must be one of {}, got {}", list.join(", "), show(value));
            if let Some(text) = value.as_str() {
                let names: Vec<&str> = allowed.iter().filter_map(Json::as_str).collect();
                if let Some(hint) = did_you_mean(text, names) {
                    message = format!("{message} — {hint}");
                }
            }
            problems.push(message);
        }
        if let (Some(pattern), Some(text)) = (&self.pattern, value.as_str())
            && !pattern.is_match(text)
        {
            problems.push(format!(
                "must match the pattern `{}`, got {}",
                pattern.as_str(),
                show(value)
            ));
        }
        let measure = match value {
            Json::Number(n) => Some(n.clone()),
            Json::String(s) => Some(Number::from(s.chars().count())),
            Json::Array(items) => Some(Number::from(items.len())),
            Json::Object(map) => Some(Number::from(map.len())),
            _ => None,
        };
        if let Some(measure) = measure {
            if let Some(min) = &self.min
                && compare(&measure, min) == Some(std::cmp::Ordering::Less)
            {
                problems.push(bound_phrase(value, "at least", min, &measure));
            }
            if let Some(max) = &self.max
                && compare(&measure, max) == Some(std::cmp::Ordering::Greater)
            {
                problems.push(bound_phrase(value, "at most", max, &measure));
            }
        }
        problems
    }
}

/// What kind of problem a payload field has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The payload is not a JSON object.
    NotAnObject,
    /// A field the workflow does not declare.
    Unknown,
    /// A required field is absent or null.
    Missing,
    /// Wrong type, not in the enum, not matching the pattern, out of bounds.
    Invalid,
    /// A templated default could not be computed, or computed a value the input refuses.
    BadDefault,
}

/// One thing wrong with a payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputProblem {
    /// The payload field ("" for the payload as a whole).
    pub field: String,
    pub kind: ProblemKind,
    /// A full sentence: "unknown field `brnach` in the payload of workflow `x` — did you mean
    /// `branch`?".
    pub message: String,
}

impl fmt::Display for InputProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Checks a payload against a workflow's inputs; see `Workflow::validate_payload`.
pub(crate) fn validate(
    workflow: &str,
    inputs: &[(String, InputSpec)],
    payload: &Json,
) -> Result<Json, Vec<InputProblem>> {
    let problem = |field: &str, kind, message: String| InputProblem {
        field: field.to_string(),
        kind,
        message,
    };
    let given = match payload {
        Json::Object(map) => map,
        Json::Null => &JsonMap::new(),
        other => {
            return Err(vec![problem(
                "",
                ProblemKind::NotAnObject,
                format!(
                    "the payload of workflow `{workflow}` must be a JSON object, got {}",
                    describe(other)
                ),
            )]);
        }
    };
    let mut problems = Vec::new();
    let names: Vec<&str> = inputs.iter().map(|(name, _)| name.as_str()).collect();
    for field in given.keys() {
        if !names.contains(&field.as_str()) {
            let hint = did_you_mean(field, names.iter().copied()).unwrap_or_else(|| {
                if names.is_empty() {
                    "it takes no inputs".to_string()
                } else {
                    format!("its inputs are {}", names.join(", "))
                }
            });
            problems.push(problem(
                field,
                ProblemKind::Unknown,
                format!("unknown field `{field}` in the payload of workflow `{workflow}` — {hint}"),
            ));
        }
    }
    let mut out = JsonMap::new();
    let mut defaulted = Vec::new();
    for (name, spec) in inputs {
        match given.get(name).filter(|v| !v.is_null()) {
            Some(value) => {
                for why in spec.check(value) {
                    problems.push(problem(
                        name,
                        ProblemKind::Invalid,
                        format!("field `{name}` of workflow `{workflow}` {why}"),
                    ));
                }
                out.insert(name.clone(), value.clone());
            }
            None if spec.required => problems.push(problem(
                name,
                ProblemKind::Missing,
                format!(
                    "missing required field `{name}` ({}) in the payload of workflow `{workflow}`",
                    spec.ty.name()
                ),
            )),
            None => {
                if let Some(default) = &spec.default {
                    defaulted.push((name, spec, default));
                }
            }
        }
    }
    // Templated defaults read the given fields, so they are computed only from a payload
    // that is otherwise sound; each sees the defaults declared before it.
    if !problems.is_empty() {
        return Err(problems);
    }
    for (name, spec, default) in defaulted {
        let payload =
            serde_json::from_value::<Value>(Json::Object(out.clone())).unwrap_or_default();
        let scope = TemplateScope::new(payload, Value::Null);
        match default.render(&scope) {
            Ok(value) => {
                for why in spec.check(&value) {
                    problems.push(problem(
                        name,
                        ProblemKind::BadDefault,
                        format!("the default of field `{name}` of workflow `{workflow}` {why}"),
                    ));
                }
                out.insert(name.clone(), value);
            }
            Err(error) => problems.push(problem(
                name,
                ProblemKind::BadDefault,
                format!(
                    "the default of field `{name}` of workflow `{workflow}` cannot be computed: `{}`: {}",
                    error.template, error.message
                ),
            )),
        }
    }
    if problems.is_empty() {
        Ok(Json::Object(out))
    } else {
        Err(problems)
    }
}

/// Orders two JSON numbers by value (exactly for integers).
fn compare(a: &Number, b: &Number) -> Option<std::cmp::Ordering> {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// JSON equality where `1` and `1.0` are the same number.
fn same_json(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => compare(x, y) == Some(std::cmp::Ordering::Equal),
        _ => a == b,
    }
}

/// "must be at least 1, got 0", "must have at most 3 items, got 4".
fn bound_phrase(value: &Json, bound: &str, limit: &Number, measure: &Number) -> String {
    match value {
        Json::String(_) => {
            format!("must be {bound} {limit} characters long, got {measure} characters")
        }
        Json::Array(_) => format!("must have {bound} {limit} items, got {measure}"),
        Json::Object(_) => format!("must have {bound} {limit} entries, got {measure}"),
        _ => format!("must be {bound} {limit}, got {measure}"),
    }
}

fn article(ty: InputType) -> String {
    match ty {
        InputType::Int => "an int".to_string(),
        other => format!("a {}", other.name()),
    }
}

fn show(value: &Json) -> String {
    format!("`{value}`")
}

/// "the float `3.0`", "a string `abc`".
fn describe(value: &Json) -> String {
    let kind = match value {
        Json::Null => return "null".to_string(),
        Json::Bool(_) => "the bool",
        Json::Number(n) if n.is_f64() => "the float",
        Json::Number(_) => "the int",
        Json::String(_) => "the string",
        Json::Array(_) => "the list",
        Json::Object(_) => "the map",
    };
    let text = value.to_string();
    let short: String = text.chars().take(60).collect();
    let ellipsis = if short.len() < text.len() { "…" } else { "" };
    format!("{kind} `{short}{ellipsis}`")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parsed(yaml: &str) -> Result<InputSpec, String> {
        let raw: RawInput = serde_yaml::from_str(yaml).map_err(|e| e.to_string())?;
        InputSpec::from_raw(raw).map_err(|(key, problem)| format!("{key}: {}", problem.message))
    }

    fn spec(yaml: &str) -> InputSpec {
        parsed(yaml).unwrap()
    }

    fn spec_error(yaml: &str) -> String {
        parsed(yaml).unwrap_err()
    }

    #[test]
    fn int_is_a_number_but_a_float_is_never_an_int() {
        assert!(InputType::Number.accepts(&json!(3)));
        assert!(InputType::Number.accepts(&json!(3.5)));
        assert!(InputType::Int.accepts(&json!(3)));
        assert!(!InputType::Int.accepts(&json!(3.0)));
        let problems = spec("{type: int}").check(&json!(3.0));
        assert_eq!(
            problems,
            vec!["must be an int, got the float `3.0`".to_string()]
        );
    }

    #[test]
    fn bounds_measure_numbers_strings_lists_and_maps() {
        let count = spec("{type: int, min: 1, max: 10}");
        assert!(count.check(&json!(1)).is_empty());
        assert_eq!(count.check(&json!(0)), vec!["must be at least 1, got 0"]);
        assert_eq!(count.check(&json!(11)), vec!["must be at most 10, got 11"]);
        let title = spec("{type: string, min: 2, max: 3}");
        assert!(
            title.check(&json!("çé")).is_empty(),
            "characters, not bytes"
        );
        assert_eq!(
            title.check(&json!("abcd")),
            vec!["must be at most 3 characters long, got 4 characters"]
        );
        let tags = spec("{type: list, min: 1}");
        assert_eq!(
            tags.check(&json!([])),
            vec!["must have at least 1 items, got 0"]
        );
        let values = spec("{type: map, min: 1}");
        assert_eq!(values.check(&json!({})).len(), 1);
        let ratio = spec("{type: number, max: 0.5}");
        assert_eq!(
            ratio.check(&json!(0.75)),
            vec!["must be at most 0.5, got 0.75"]
        );
    }

    #[test]
    fn enum_and_pattern() {
        let mode = spec("{type: string, enum: [fast, safe]}");
        assert!(mode.check(&json!("safe")).is_empty());
        assert_eq!(
            mode.check(&json!("saf")),
            vec!["must be one of `\"fast\"`, `\"safe\"`, got `\"saf\"` — did you mean `safe`?"]
        );
        let level = spec("{type: number, enum: [1, 2.5]}");
        assert!(level.check(&json!(1.0)).is_empty(), "1.0 is the number 1");
        let repo = spec(r"{type: string, pattern: '^[\w.-]+/[\w.-]+$'}");
        assert!(repo.check(&json!("acme/api")).is_empty());
        assert_eq!(repo.check(&json!("acme")).len(), 1);
    }

    #[test]
    fn declarations_that_cannot_work_are_refused() {
        for (yaml, wanted) in [
            ("{type: integer}", "unknown variant `integer`"),
            (
                "{type: string, pattern: '(unclosed'}",
                "pattern: the pattern `(unclosed` is not a valid",
            ),
            (
                "{type: int, pattern: 'x'}",
                "pattern: `pattern` applies to string inputs",
            ),
            (
                "{type: bool, max: 1}",
                "max: `min` and `max` do not apply to bool",
            ),
            (
                "{type: int, min: 5, max: 1}",
                "min: `min` (5) is greater than `max` (1)",
            ),
            (
                "{type: string, enum: [a, 1]}",
                "enum: `enum` value 1 is not a string",
            ),
            (
                "{type: string, required: true, default: x}",
                "default: a required input with a default",
            ),
            (
                "{type: int, default: 2.5}",
                "default: the default does not fit: it must be an int",
            ),
            (
                "{type: string, enum: [a, b], default: c}",
                "default: the default does not fit",
            ),
            ("{type: string, requird: true}", "unknown field `requird`"),
            ("{required: true}", "missing field `type`"),
        ] {
            let error = spec_error(yaml);
            assert!(error.contains(wanted), "{yaml}: {error}");
        }
    }
}
