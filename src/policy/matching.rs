//! Regular expressions of policies. A literal one is compiled the first time a request reaches
//! it, by one of two engines: `regex-lite` when the subject is short and the pattern means the
//! same there (no Unicode tables involved: see [`same_in_lite`]), the `regex` crate otherwise.
//! The light engine compiles a pattern in microseconds, where the full one builds automata (for
//! a class such as `[^/]`, with a 320 KB map of UTF-8 sequences): in a hook call, a process per
//! tool call, compiling the few patterns it reaches was a tenth of the work.

use std::sync::OnceLock;

use regex::{Regex, RegexBuilder};
use regex_syntax::ast::{self, AssertionKind, Ast, ClassSet, ClassSetItem, Flag, FlagsItemKind};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Regular expressions are compiled with these limits, literal or computed alike.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Subjects up to this length may go to the light engine: paths, arguments, command words. It
/// matches by backtracking, far slower than the full engine's DFA over long text.
const LITE_SUBJECT_MAX: usize = 1024;

pub fn compile_regex(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| e.to_string())
}

/// A literal regular expression, compiled the first time a request reaches it. The checker only
/// parses it (which finds every syntax error, with its place): building the automaton costs far
/// more, and a hook call, a new process each time, reaches few of the library's patterns.
#[derive(Debug)]
pub struct LazyRegex {
    pub text: String,
    /// The light engine's form; none when the pattern's meaning there could differ.
    lite: OnceLock<Option<regex_lite::Regex>>,
    compiled: OnceLock<Result<Regex, String>>,
}

impl LazyRegex {
    pub fn new(text: impl Into<String>) -> LazyRegex {
        LazyRegex {
            text: text.into(),
            lite: OnceLock::new(),
            compiled: OnceLock::new(),
        }
    }

    /// Whether the pattern matches somewhere in `subject`; an error only when the pattern
    /// exceeds the size limit, which parsing cannot tell.
    pub fn is_match(&self, subject: &str) -> Result<bool, &str> {
        if subject.len() <= LITE_SUBJECT_MAX
            && let Some(lite) = self.lite.get_or_init(|| lite_form(&self.text))
        {
            return Ok(lite.is_match(subject));
        }
        self.get().map(|regex| regex.is_match(subject))
    }

    /// The pattern compiled by the full engine.
    pub fn get(&self) -> Result<&Regex, &str> {
        self.compiled
            .get_or_init(|| compile_regex(&self.text))
            .as_ref()
            .map_err(String::as_str)
    }

    #[cfg(test)]
    pub fn is_compiled(&self) -> bool {
        self.compiled.get().is_some() || self.lite.get().is_some_and(Option::is_some)
    }
}

impl Serialize for LazyRegex {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for LazyRegex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(LazyRegex::new)
    }
}

/// The light engine's form of a pattern that means the same there; none otherwise, or when
/// that engine refuses it (nested classes, set operations, its own limits).
fn lite_form(pattern: &str) -> Option<regex_lite::Regex> {
    let parsed = ast::parse::Parser::new().parse(pattern).ok()?;
    if !same_in_lite(&parsed) {
        return None;
    }
    regex_lite::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .ok()
}

/// Whether a pattern matches exactly the same strings under `regex-lite` as under `regex`. Both
/// match code point by code point; they differ only where `regex` consults Unicode tables: the
/// Perl classes `\d`, `\s`, `\w` and the word boundaries (ASCII in the light engine), `\p{…}`
/// classes (which it lacks), case-insensitive matching (ASCII there; `(?i)k` also matches the
/// Kelvin sign here) and the `u` flag. A pattern using none of these, in any nesting, is left
/// with literals, `.`, bracketed classes of literals, ranges and ASCII classes (`[^/]` is every
/// code point but `/` in both), anchors, groups, alternations and repetitions (counted in code
/// points in both).
pub fn same_in_lite(pattern: &Ast) -> bool {
    match pattern {
        Ast::Empty(_) | Ast::Literal(_) | Ast::Dot(_) => true,
        Ast::Flags(set) => flags_same_in_lite(&set.flags),
        Ast::Assertion(assertion) => matches!(
            assertion.kind,
            AssertionKind::StartLine
                | AssertionKind::EndLine
                | AssertionKind::StartText
                | AssertionKind::EndText
        ),
        Ast::ClassUnicode(_) | Ast::ClassPerl(_) => false,
        Ast::ClassBracketed(class) => class_same_in_lite(&class.kind),
        Ast::Repetition(repetition) => same_in_lite(&repetition.ast),
        Ast::Group(group) => {
            let flags = match &group.kind {
                ast::GroupKind::NonCapturing(flags) => flags_same_in_lite(flags),
                ast::GroupKind::CaptureIndex(_) | ast::GroupKind::CaptureName { .. } => true,
            };
            flags && same_in_lite(&group.ast)
        }
        Ast::Alternation(alternation) => alternation.asts.iter().all(same_in_lite),
        Ast::Concat(concat) => concat.asts.iter().all(same_in_lite),
    }
}

/// Multi-line, dot-matches-newline and swap-greed mean the same in both; `i`, `u`, `R` and `x`
/// are left to the full engine.
fn flags_same_in_lite(flags: &ast::Flags) -> bool {
    flags.items.iter().all(|item| match item.kind {
        FlagsItemKind::Negation => true,
        FlagsItemKind::Flag(flag) => matches!(
            flag,
            Flag::MultiLine | Flag::DotMatchesNewLine | Flag::SwapGreed
        ),
    })
}

fn class_same_in_lite(set: &ClassSet) -> bool {
    match set {
        ClassSet::BinaryOp(_) => false,
        ClassSet::Item(item) => class_item_same_in_lite(item),
    }
}

fn class_item_same_in_lite(item: &ClassSetItem) -> bool {
    match item {
        ClassSetItem::Empty(_)
        | ClassSetItem::Literal(_)
        | ClassSetItem::Range(_)
        | ClassSetItem::Ascii(_) => true,
        ClassSetItem::Unicode(_) | ClassSetItem::Perl(_) | ClassSetItem::Bracketed(_) => false,
        ClassSetItem::Union(union) => union.items.iter().all(class_item_same_in_lite),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn lite(pattern: &str) -> bool {
        lite_form(pattern).is_some()
    }

    #[test]
    fn patterns_that_consult_unicode_tables_stay_with_the_full_engine() {
        for pattern in [
            r"\d+",
            r"^\s*$",
            r"\w",
            r"\bDROP\b",
            r"a\B",
            r"(?i)key",
            r"(?i:key)",
            r"\p{L}",
            r"\PL",
            r"[\d]",
            r"[^\s/]",
            r"[\p{Greek}a]",
            r"(?-u:.)",
            r"(?x) a b ",
            r"[a-z&&[^aeiou]]",
            r"[[a-z]]",
        ] {
            assert!(!lite(pattern), "{pattern}");
        }
        for pattern in [
            r"^-[A-Za-z]*f[A-Za-z]*$",
            r"^/proc/[^/]+(/task/[^/]+)?/environ$",
            r"^\+[^+]",
            r"(?m)^x.y$",
            r"(?s)a.b",
            r"^(\.env(\..*)?|.+\.env)$",
            r"[[:alpha:]][[:^digit:]]{2,3}",
            r"é+日?",
            r"\x{e9}|\.|\n",
            r"(?P<name>a)(?:b)*?",
        ] {
            assert!(lite(pattern), "{pattern}");
        }
    }

    #[test]
    fn long_subjects_and_other_patterns_use_the_full_engine() {
        let regex = LazyRegex::new(r"^[^/]+$");
        assert_eq!(regex.is_match("é日"), Ok(true));
        assert!(regex.lite.get().is_some_and(Option::is_some));
        assert!(regex.compiled.get().is_none());
        let long = "é".repeat(LITE_SUBJECT_MAX);
        assert_eq!(regex.is_match(&long), Ok(true));
        assert!(regex.compiled.get().is_some());

        let unicode = LazyRegex::new(r"^\w+$");
        assert_eq!(unicode.is_match("δέλτα"), Ok(true));
        assert!(unicode.lite.get().is_some_and(Option::is_none));
        assert!(unicode.compiled.get().is_some());
    }

    /// A pattern made of the pieces the light engine shares, with non-ASCII code points among
    /// its literals and classes.
    fn shared_pattern() -> impl Strategy<Value = String> {
        let atom = prop::sample::select(vec![
            "a",
            "b",
            "é",
            "日",
            "/",
            r"\.",
            ".",
            "[^/]",
            "[a-z]",
            "[^a-zé]",
            "[é-日]",
            "[[:alpha:]]",
            "[[:^space:]]",
            r"\x{e9}",
            r"\n",
            "^",
            "$",
            r"\A",
            r"\z",
            "(?m:^)",
            "(?m:$)",
            "(?s:.)",
            "",
        ])
        .prop_map(str::to_string);
        atom.prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..4).prop_map(|parts| parts.concat()),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}|{b}")),
                (
                    inner.clone(),
                    prop::sample::select(vec!["*", "+", "?", "{2}", "{0,2}", "{1,}", "*?"])
                )
                    .prop_map(|(p, op)| format!("(?:{p}){op}")),
                inner.clone().prop_map(|p| format!("({p})")),
            ]
        })
    }

    fn subject() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec![
                'a', 'b', 'z', 'é', 'É', '日', '/', '.', '\n', '-', 'x',
            ]),
            0..10,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        /// Every pattern the light engine takes matches exactly what the full engine matches.
        #[test]
        fn both_engines_agree_where_the_light_one_is_used(
            pattern in shared_pattern(),
            subjects in prop::collection::vec(subject(), 1..8),
        ) {
            let full = compile_regex(&pattern);
            let light = lite_form(&pattern);
            prop_assume!(full.is_ok());
            let full = full.unwrap();
            // Built from shared pieces only, every such pattern is taken.
            let light = light.expect("a pattern of shared pieces is taken by the light engine");
            for subject in &subjects {
                prop_assert_eq!(
                    light.is_match(subject),
                    full.is_match(subject),
                    "{:?} on {:?}", pattern, subject
                );
            }
        }
    }
}
