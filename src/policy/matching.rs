//! Regular expressions of policies. A literal one is checked with its policy, which also finds
//! where the two engines agree on it (see [`agreement`]), and compiled the first time a request
//! reaches it, by one of them: `regex-lite` when the subject is short and the pattern means the
//! same there on that subject, the `regex` crate otherwise.
//! The light engine compiles a pattern in microseconds, where the full one builds automata (for
//! a class such as `[^/]`, with a 320 KB map of UTF-8 sequences): in a hook call, a process per
//! tool call, compiling the few patterns it reaches was a tenth of the work.

use std::sync::OnceLock;

use regex::{Regex, RegexBuilder};
use regex_syntax::ast::{self, AssertionKind, Ast, ClassSet, ClassSetItem, Flag, FlagsItemKind};
use regex_syntax::hir::translate::Translator;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Regular expressions are compiled with these limits, literal or computed alike.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Subjects up to this length may go to the light engine: paths, arguments, command words. It
/// matches by backtracking, far slower than the full engine's DFA over long text.
const LITE_SUBJECT_MAX: usize = 1024;

/// Whether `pattern` is a valid regular expression, without compiling it, and where the light
/// engine agrees on it: the parser the `regex` crate uses, with the same settings, so it refuses
/// what compiling would (bar the size limit, known only once compiled).
pub fn check_regex(pattern: &str) -> Result<Agreement, String> {
    let parsed = ast::parse::Parser::new()
        .parse(pattern)
        .map_err(|e| regex_syntax::Error::from(e).to_string())?;
    Translator::new()
        .translate(pattern, &parsed)
        .map_err(|e| regex_syntax::Error::from(e).to_string())?;
    Ok(agreement(&parsed))
}

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
    /// Where the light engine agrees with the full one, found when the pattern was checked.
    agreement: Agreement,
    /// The light engine's form; none when that engine refuses the pattern (its own limits).
    lite: OnceLock<Option<regex_lite::Regex>>,
    compiled: OnceLock<Result<Regex, String>>,
}

impl LazyRegex {
    pub fn new(text: impl Into<String>, agreement: Agreement) -> LazyRegex {
        LazyRegex {
            text: text.into(),
            agreement,
            lite: OnceLock::new(),
            compiled: OnceLock::new(),
        }
    }

    /// Whether the pattern matches somewhere in `subject`; an error only when the pattern
    /// exceeds the size limit, which parsing cannot tell.
    pub fn is_match(&self, subject: &str) -> Result<bool, &str> {
        let agrees = match self.agreement {
            Agreement::Everywhere => true,
            Agreement::OnAscii => subject.is_ascii(),
            Agreement::Nowhere => false,
        };
        if agrees
            && subject.len() <= LITE_SUBJECT_MAX
            && let Some(lite) = self.lite.get_or_init(|| lite_regex(&self.text))
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
        (&self.text, self.agreement).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for LazyRegex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (text, agreement) = <(String, Agreement)>::deserialize(deserializer)?;
        Ok(LazyRegex::new(text, agreement))
    }
}

/// Where the light engine matches exactly what the full one does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Agreement {
    /// On no subject the pattern is sure to agree on (or the light engine refuses it).
    Nowhere,
    /// On subjects of ASCII text only.
    OnAscii,
    /// On every subject.
    Everywhere,
}

/// The light engine's form of a pattern; none when that engine refuses it (its own limits).
fn lite_regex(pattern: &str) -> Option<regex_lite::Regex> {
    regex_lite::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .ok()
}

/// Where a pattern matches exactly the same strings under `regex-lite` as under `regex`. Both
/// match code point by code point; they differ only where `regex` consults Unicode tables:
/// - the Perl classes `\d`, `\s`, `\w` and the word boundaries `\b`, `\B` are ASCII in the
///   light engine, and case-insensitive matching (`(?i)`) folds ASCII letters only, where the
///   full engine also lets `k` match the Kelvin sign. On a subject of ASCII text the two agree,
///   as long as the pattern itself names no character beyond ASCII (`(?i)ſ` matches `s` in
///   the full engine only);
/// - `\p{…}` classes (which the light engine lacks), the `u`, `R` and `x` flags, class set
///   operations, nested classes and the other word-boundary forms: left to the full engine.
///
/// Everything else agrees on every subject: literals, `.`, bracketed classes of literals, ranges
/// and ASCII classes (`[^/]` is every code point but `/` in both), anchors, groups, alternations
/// and repetitions (counted in code points in both).
pub fn agreement(pattern: &Ast) -> Agreement {
    let mut walk = Walk::default();
    walk.ast(pattern);
    if walk.nowhere || (walk.unicode_tables && walk.beyond_ascii) {
        Agreement::Nowhere
    } else if walk.unicode_tables {
        Agreement::OnAscii
    } else {
        Agreement::Everywhere
    }
}

#[derive(Default)]
struct Walk {
    /// Uses a feature the engines disagree on whatever the subject.
    nowhere: bool,
    /// Uses a Perl class, a word boundary or case-insensitivity.
    unicode_tables: bool,
    /// Names a character beyond ASCII.
    beyond_ascii: bool,
}

impl Walk {
    fn ast(&mut self, pattern: &Ast) {
        match pattern {
            Ast::Empty(_) | Ast::Dot(_) => {}
            Ast::Literal(literal) => self.char(literal.c),
            Ast::Flags(set) => self.flags(&set.flags),
            Ast::Assertion(assertion) => match assertion.kind {
                AssertionKind::StartLine
                | AssertionKind::EndLine
                | AssertionKind::StartText
                | AssertionKind::EndText => {}
                AssertionKind::WordBoundary | AssertionKind::NotWordBoundary => {
                    self.unicode_tables = true;
                }
                _ => self.nowhere = true,
            },
            Ast::ClassPerl(_) => self.unicode_tables = true,
            Ast::ClassUnicode(_) => self.nowhere = true,
            Ast::ClassBracketed(class) => match &class.kind {
                ClassSet::Item(item) => self.class_item(item),
                ClassSet::BinaryOp(_) => self.nowhere = true,
            },
            Ast::Repetition(repetition) => self.ast(&repetition.ast),
            Ast::Group(group) => {
                if let ast::GroupKind::NonCapturing(flags) = &group.kind {
                    self.flags(flags);
                }
                self.ast(&group.ast);
            }
            Ast::Alternation(alternation) => alternation.asts.iter().for_each(|a| self.ast(a)),
            Ast::Concat(concat) => concat.asts.iter().for_each(|a| self.ast(a)),
        }
    }

    fn char(&mut self, c: char) {
        self.beyond_ascii |= !c.is_ascii();
    }

    /// Multi-line, dot-matches-newline and swap-greed mean the same in both.
    fn flags(&mut self, flags: &ast::Flags) {
        for item in &flags.items {
            match item.kind {
                FlagsItemKind::Negation => {}
                FlagsItemKind::Flag(Flag::CaseInsensitive) => self.unicode_tables = true,
                FlagsItemKind::Flag(
                    Flag::MultiLine | Flag::DotMatchesNewLine | Flag::SwapGreed,
                ) => {}
                FlagsItemKind::Flag(_) => self.nowhere = true,
            }
        }
    }

    fn class_item(&mut self, item: &ClassSetItem) {
        match item {
            ClassSetItem::Empty(_) | ClassSetItem::Ascii(_) => {}
            ClassSetItem::Literal(literal) => self.char(literal.c),
            ClassSetItem::Range(range) => {
                self.char(range.start.c);
                self.char(range.end.c);
            }
            ClassSetItem::Perl(_) => self.unicode_tables = true,
            ClassSetItem::Unicode(_) | ClassSetItem::Bracketed(_) => self.nowhere = true,
            ClassSetItem::Union(union) => union.items.iter().for_each(|i| self.class_item(i)),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn agreement_of(pattern: &str) -> Agreement {
        check_regex(pattern).unwrap()
    }

    fn lazy(pattern: &str) -> LazyRegex {
        LazyRegex::new(pattern, agreement_of(pattern))
    }

    #[test]
    fn where_each_kind_of_pattern_agrees() {
        let nowhere = [
            r"\p{L}",
            r"\PL",
            r"[\p{Greek}a]",
            r"(?-u:\w)",
            r"(?x) a b ",
            r"(?R)^a$",
            r"[a-z&&[^aeiou]]",
            r"[[a-z]]",
            r"\b{start}a",
            // Case-insensitive, naming a character beyond ASCII: `ſ` folds to `s`.
            r"(?i)ſ",
            r"(?i)[^ſ]",
            r"\wé",
        ];
        let on_ascii = [
            r"\d+",
            r"^\s*$",
            r"\w",
            r"\bDROP (DATABASE|SCHEMA)\b",
            r"a\B",
            r"(?i)key",
            r"(?i:key)",
            r"[\d]",
            r"[^\s/]",
            r"(?i)(?:^|[^a-z0-9])pass(?:word)?",
        ];
        let everywhere = [
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
        ];
        let expected = [
            (Agreement::Nowhere, &nowhere[..]),
            (Agreement::OnAscii, &on_ascii[..]),
            (Agreement::Everywhere, &everywhere[..]),
        ];
        for (agreement, patterns) in expected {
            for pattern in patterns {
                assert_eq!(agreement_of(pattern), agreement, "{pattern}");
            }
        }
    }

    #[test]
    fn each_subject_goes_where_the_engines_agree_on_it() {
        let regex = lazy(r"^[^/]+$");
        assert_eq!(regex.is_match("é日"), Ok(true));
        assert!(regex.compiled.get().is_none());
        let long = "é".repeat(LITE_SUBJECT_MAX);
        assert_eq!(regex.is_match(&long), Ok(true));
        assert!(regex.compiled.get().is_some());

        // `\w` is ASCII in the light engine: an ASCII subject stays there, another does not.
        let word = lazy(r"^\w+$");
        assert_eq!(word.is_match("delta_2"), Ok(true));
        assert!(word.compiled.get().is_none());
        assert_eq!(word.is_match("δέλτα"), Ok(true));
        assert!(word.compiled.get().is_some());

        let kelvin = lazy(r"(?i)^k$");
        assert_eq!(kelvin.is_match("K"), Ok(true));
        assert!(kelvin.compiled.get().is_none());
        assert_eq!(kelvin.is_match("\u{212A}"), Ok(true));
        assert!(kelvin.compiled.get().is_some());

        let unsupported = lazy(r"^\p{Greek}+$");
        assert_eq!(unsupported.is_match("abc"), Ok(false));
        assert!(unsupported.compiled.get().is_some());
    }

    /// Patterns from `atoms`, nested in concatenations, alternations, repetitions and groups.
    fn pattern_of(atoms: Vec<&'static str>) -> impl Strategy<Value = String> {
        let atom = prop::sample::select(atoms).prop_map(str::to_string);
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
                inner.clone().prop_map(|p| format!("(?i:{p})")),
            ]
        })
    }

    fn text_of(chars: Vec<char>) -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(chars), 0..10)
            .prop_map(|chars| chars.into_iter().collect())
    }

    /// Checks every subject where the light engine is used against the full engine.
    fn agree(pattern: &str, subjects: &[String], tier: Agreement) -> Result<(), TestCaseError> {
        let Ok(full) = compile_regex(pattern) else {
            return Ok(());
        };
        let agreement = check_regex(pattern).map_err(TestCaseError::fail)?;
        let Some(light) = lite_regex(pattern) else {
            return Err(TestCaseError::fail(format!("{pattern:?} refused")));
        };
        prop_assert!(agreement >= tier, "{:?}: {:?}", pattern, agreement);
        for subject in subjects {
            if agreement == Agreement::Everywhere || subject.is_ascii() {
                prop_assert_eq!(
                    light.is_match(subject),
                    full.is_match(subject),
                    "{:?} on {:?}",
                    pattern,
                    subject
                );
            }
        }
        Ok(())
    }

    proptest! {
        /// A pattern of the pieces that agree everywhere, with characters beyond ASCII in its
        /// literals and classes and in its subjects.
        #[test]
        fn both_engines_agree_everywhere_on_shared_pieces(
            pattern in pattern_of(vec![
                "a", "b", "é", "日", "/", r"\.", ".", "[^/]", "[a-z]", "[^a-zé]", "[é-日]",
                "[[:alpha:]]", "[[:^space:]]", r"\x{e9}", r"\n", "^", "$", r"\A", r"\z",
                "(?m:^)", "(?m:$)", "(?s:.)", "",
            ])
            .prop_filter("no case folding", |p| !p.contains("(?i")),
            subjects in prop::collection::vec(
                text_of(vec!['a', 'b', 'z', 'é', 'É', '日', '/', '.', '\n', '-', 'x']),
                1..8,
            ),
        ) {
            agree(&pattern, &subjects, Agreement::Everywhere)?;
        }

        /// A pattern with Perl classes, word boundaries and case folding, in ASCII: on ASCII
        /// subjects both engines agree (and non-ASCII ones go to the full engine).
        #[test]
        fn both_engines_agree_on_ascii_subjects_with_unicode_classes(
            pattern in pattern_of(vec![
                "a", "k", "s", "K", "S", "1", " ", "_", "-", r"\.", ".", r"\d", r"\s", r"\w",
                r"\D", r"\S", r"\W", r"\b", r"\B", r"[\w.-]", r"[^\s]", "[a-z]", "[^k]", "^",
                "$", "",
            ]),
            subjects in prop::collection::vec(
                text_of(vec!['a', 'k', 'K', 's', 'S', '1', '9', ' ', '\t', '_', '-', '.', 'x', '\n']),
                1..8,
            ),
        ) {
            agree(&pattern, &subjects, Agreement::OnAscii)?;
        }
    }
}
