//! The built-in functions, in one table: name, parameter types, result type, doc line and
//! implementation. The checker reads it for arity and types, the evaluator for the call, and
//! `enact policies --functions`/the README for documentation.

mod analysis;
pub(crate) mod path;
mod text;
mod time;

use super::types::Ty;
use super::value::Value;

/// What a function may know of the machine: the workspace and home directory, given by the
/// request, so that path functions stay deterministic.
pub struct Host<'a> {
    pub workspace: &'a str,
    pub home: &'a str,
}

pub type Implementation = fn(&Host<'_>, &[Value]) -> Result<Value, String>;

impl std::fmt::Debug for Builtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

pub struct Builtin {
    pub name: &'static str,
    pub params: &'static [(&'static str, Ty)],
    /// How many trailing parameters may be left out.
    pub optional: usize,
    pub returns: Ty,
    pub doc: &'static str,
    /// Pure and costly (parsers): results are kept per request, keyed by the string argument.
    pub memoize: bool,
    pub call: Implementation,
}

impl Builtin {
    /// Path functions read the request's workspace and home; every other function depends on
    /// its arguments alone, so a call with constant arguments can be computed when checking.
    pub fn reads_host(&self) -> bool {
        self.name.starts_with("path.")
    }

    pub fn signature(&self) -> String {
        let required = self.params.len().saturating_sub(self.optional);
        let params: Vec<String> = self
            .params
            .iter()
            .enumerate()
            .map(|(i, (name, ty))| {
                let optional = if i >= required { "?" } else { "" };
                format!("{name}{optional}: {}", ty.name())
            })
            .collect();
        format!(
            "{}({}) -> {}",
            self.name,
            params.join(", "),
            self.returns.name()
        )
    }
}

macro_rules! builtin {
    ($name:literal ($($param:literal : $ty:ident),*) $(, optional $opt:literal)? -> $ret:ident, $memo:literal, $call:path, $doc:literal) => {
        Builtin {
            name: $name,
            params: &[$(($param, Ty::$ty)),*],
            optional: 0 $(+ $opt)?,
            returns: Ty::$ret,
            doc: $doc,
            memoize: $memo,
            call: $call,
        }
    };
}

/// Every built-in function. `glob`, `history.count`, `history.actions` and `lookup` are
/// compiled specially (patterns once, predicates lazily) and described in the README.
pub static BUILTINS: &[Builtin] = &[
    builtin!("lower"("s": Str) -> Str, false, text::lower, "The string in lower case."),
    builtin!("upper"("s": Str) -> Str, false, text::upper, "The string in upper case."),
    builtin!("trim"("s": Str) -> Str, false, text::trim, "The string without leading and trailing white space."),
    builtin!("len"("x": Collection) -> Int, false, text::len, "Characters of a string, items of a list, entries of a map."),
    builtin!("starts_with"("s": Str, "prefix": Str) -> Bool, false, text::starts_with, "Whether the string starts with the prefix."),
    builtin!("ends_with"("s": Str, "suffix": Str) -> Bool, false, text::ends_with, "Whether the string ends with the suffix."),
    builtin!("contains"("haystack": StrOrList, "needle": Any) -> Bool, false, text::contains, "Substring of a string, or item of a list."),
    builtin!("split"("s": Str, "separator": Str) -> List, false, text::split, "The pieces of the string between separators."),
    builtin!("replace"("s": Str, "from": Str, "to": Str) -> Str, false, text::replace, "The string with every `from` replaced by `to`."),
    builtin!("join"("items": List, "separator": Str) -> Str, false, text::join, "The items' text joined with the separator."),
    builtin!("empty"("x": Any) -> Bool, false, text::empty, "Whether the value is null, \"\", [] or {}: nothing to judge."),
    builtin!("string"("x": Any) -> Str, false, text::string, "The value as text (strings unchanged)."),
    builtin!("int"("x": Any) -> Int, false, text::int, "An int from an int, a whole float or a decimal string; an error otherwise."),
    builtin!("type"("x": Any) -> Str, false, text::type_of, "The value's type name: null, bool, int, float, string, list, map, duration, time_of_day, time."),
    builtin!("keys"("m": Map) -> List, false, text::keys, "The keys of a map, sorted."),
    builtin!("values"("m": Map) -> List, false, text::values, "The values of a map, in key order."),
    builtin!("flatten"("items": List) -> List, false, text::flatten, "A list of lists made one list (one level)."),
    builtin!("all_keys"("x": Any) -> List, false, text::all_keys, "Every map key inside a map or list, at any depth."),
    builtin!("strings"("x": Any) -> List, false, text::strings, "Every string inside a value, recursively (map keys excluded)."),
    builtin!("time"("s": Str) -> Time, false, time::parse, "An RFC 3339 time: time(\"2026-01-31T22:00:00Z\")."),
    builtin!("hour"("t": Time, "zone": Str), optional 1 -> Int, false, time::hour, "Hour 0–23 of a time, in UTC or the named zone (\"Europe/Paris\", \"+02:00\")."),
    builtin!("minute"("t": Time, "zone": Str), optional 1 -> Int, false, time::minute, "Minute 0–59 of a time, in UTC or the named zone."),
    builtin!("weekday"("t": Time, "zone": Str), optional 1 -> Str, false, time::weekday, "Day of the week in lower case (\"monday\"), in UTC or the named zone."),
    builtin!("date"("t": Time, "zone": Str), optional 1 -> Str, false, time::date, "The calendar date YYYY-MM-DD, in UTC or the named zone."),
    builtin!("time_of_day"("t": Time, "zone": Str), optional 1 -> TimeOfDay, false, time::time_of_day, "The time of day of a time, in UTC or the named zone."),
    builtin!("between"("t": Time, "start": TimeOfDay, "end": TimeOfDay, "zone": Str), optional 1 -> Bool, false, time::between, "Whether the time of day lies in [start, end), across midnight when end < start; empty when start == end."),
    builtin!("path.normalize"("p": Str) -> Str, false, path::normalize_builtin, "Absolute path with `~`, `~user`, `$HOME` and `$PWD` expanded, relative paths joined to the workspace, `.` and `..` collapsed."),
    builtin!("path.is_within"("p": Str, "dir": Str) -> Bool, false, path::is_within, "Whether the normalised path is the directory or lies below it."),
    builtin!("path.basename"("p": Str) -> Str, false, path::basename, "The last component of a path."),
    builtin!("path.dirname"("p": Str) -> Str, false, path::dirname, "The normalised path without its last component."),
    builtin!("path.extension"("p": Str) -> Str, false, path::extension, "The file name's extension without the dot, lower-cased; \"\" for none (and for dotfiles such as .env)."),
    builtin!("path.components"("p": Str) -> List, false, path::components, "The components of the normalised path."),
    builtin!("shell.commands"("script": Str) -> List, true, analysis::shell_commands, "Every command a shell script would run, lexed by a real shell parser: {name, program, args, argv, assignments, wrappers, redirects, upstream, downstream, consumer, context, depth, in_loop}."),
    builtin!("sql.statements"("sql": Str) -> List, true, analysis::sql_statements, "The statements of a SQL string, parsed: {kind, object, tables, target_tables, has_where, where_is_trivial, has_limit, is_ddl, columns}. An error when it does not parse."),
    builtin!("sql.parses"("sql": Str) -> Bool, true, analysis::sql_parses, "Whether the SQL string parses."),
    builtin!("sql.keywords"("sql": Str) -> List, true, analysis::sql_keywords, "The upper-case keyword tokens of a SQL string (identifiers and strings excluded); never fails."),
    builtin!("secrets.find"("text": Str) -> List, true, analysis::secrets_find, "Secrets in the text: [{kind, redacted}] (API keys, tokens, private keys)."),
    builtin!("injection.find"("text": Str) -> List, true, analysis::injection_find, "Prompt-injection forms in the text: [{kind, excerpt}]."),
];

pub fn find(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// Names that are compiled specially but called like functions.
pub const SPECIAL_FUNCTIONS: &[&str] = &["glob", "history.count", "history.actions"];

pub fn all_names() -> impl Iterator<Item = &'static str> {
    BUILTINS
        .iter()
        .map(|b| b.name)
        .chain(SPECIAL_FUNCTIONS.iter().copied())
}

/// Argument accessors that turn a type mismatch into a message, never a panic.
fn arg(args: &[Value], index: usize) -> Result<&Value, String> {
    args.get(index)
        .ok_or_else(|| format!("missing argument {}", index + 1))
}

fn str_arg<'v>(args: &'v [Value], index: usize, what: &str) -> Result<&'v str, String> {
    match arg(args, index)? {
        Value::Str(s) => Ok(s),
        other => Err(format!(
            "{what} must be a string, got {} `{other}`",
            other.type_name()
        )),
    }
}

fn list_arg<'v>(args: &'v [Value], index: usize, what: &str) -> Result<&'v [Value], String> {
    match arg(args, index)? {
        Value::List(items) => Ok(items),
        other => Err(format!(
            "{what} must be a list, got {} `{other}`",
            other.type_name()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_documented() {
        let mut names: Vec<&str> = all_names().collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "duplicate built-in names");
        for builtin in BUILTINS {
            assert!(!builtin.doc.is_empty(), "{} has no doc", builtin.name);
            assert!(builtin.optional <= builtin.params.len(), "{}", builtin.name);
        }
    }

    #[test]
    fn signatures_mark_optional_parameters() {
        assert_eq!(
            find("hour").unwrap().signature(),
            "hour(t: time, zone?: string) -> int"
        );
        assert_eq!(
            find("lower").unwrap().signature(),
            "lower(s: string) -> string"
        );
    }
}
