//! Property tests, bounded so they run in CI on every change: the parser, checker, evaluator
//! and formatter never panic, the evaluator is deterministic, the formatter is stable, and
//! JSON survives the trip through `Value`. (`fuzz/` holds the open-ended cargo-fuzz targets.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::LazyLock;

use chrono::{TimeZone, Utc};
use enact::policy::eval::{
    ActionCall, Context, Enforcement, History, Lookups, PolicyUse, Request, Session,
};
use enact::policy::format::{FormatError, format_source};
use enact::policy::library::{PolicySet, SAMPLE_PARAMETERS, bind_all_builtins};
use enact::policy::source::SourceFile;
use enact::policy::value::Value;
use proptest::prelude::*;

const TOKENS: &[&str] = &[
    "policy",
    "tests",
    "p",
    "x",
    "input",
    "now",
    "env",
    "actor",
    "let",
    "deny",
    "when",
    "because",
    "require",
    "else",
    "warn",
    "approve",
    "by",
    "pass",
    "applies",
    "to",
    "workflows",
    "on",
    "action",
    "run",
    "any",
    "all",
    "count",
    "first",
    "filter",
    "map",
    "in",
    "not",
    "and",
    "or",
    "if",
    "then",
    "matches",
    "lookup",
    "history.count",
    "shell.commands",
    "lower",
    "len",
    "glob",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    ".",
    "=",
    "==",
    "!=",
    "<",
    ">=",
    "??",
    "+",
    "-",
    "*",
    "/",
    "%",
    "=>",
    "PASS",
    "BLOCK",
    "ERROR",
    "\"m\"",
    "\"{x}\"",
    "r\"\\d\"",
    "\"{\"",
    "1",
    "-3",
    "2.5",
    "30m",
    "22:00",
    "null",
    "true",
    "\n",
    "# c\n",
    "## d\n",
    "99999999999999999999",
    "\"\\q\"",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..60).prop_map(|tokens| tokens.join(" "))
}

fn valid_file() -> impl Strategy<Value = String> {
    let files = [
        include_str!("../policies/git.enact"),
        include_str!("../policies/db.enact"),
        include_str!("../policies/email.enact"),
        include_str!("fixtures/lang/semantics.enact"),
        include_str!("fixtures/fmt/messy.enact"),
    ];
    (
        prop::sample::select(files.to_vec()),
        any::<prop::sample::Index>(),
        token_soup(),
        0usize..3,
    )
        .prop_map(|(file, at, soup, mode)| {
            let cut = at.index(file.len());
            let cut = (0..=cut)
                .rev()
                .find(|&i| file.is_char_boundary(i))
                .unwrap_or(0);
            match mode {
                0 => format!("{}{soup}{}", &file[..cut], &file[cut..]),
                1 => file[..cut].to_string(),
                _ => {
                    let next = (cut + 1..=file.len())
                        .find(|&i| file.is_char_boundary(i))
                        .unwrap_or(file.len());
                    format!("{}{}", &file[..cut], &file[next..])
                }
            }
        })
}

fn check(text: &str) {
    let set = PolicySet::from_sources(vec![(
        SourceFile::new("p.enact", text),
        "p".into(),
        "g".into(),
        false,
    )]);
    for diagnostic in &set.diagnostics {
        assert!(!diagnostic.message.is_empty());
        if let (Some(file), Some(span)) = (&diagnostic.file, diagnostic.span) {
            assert!(
                span.start <= span.end && span.end <= file.text.len(),
                "span out of the file"
            );
        }
    }
    for block in &set.tests {
        let _ = block.run();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn checking_arbitrary_text_never_panics(text in "\\PC{0,300}") {
        check(&text);
    }

    #[test]
    fn checking_token_soup_never_panics(text in token_soup()) {
        check(&text);
    }

    #[test]
    fn checking_damaged_policies_never_panics(text in valid_file()) {
        check(&text);
    }

    #[test]
    fn formatting_is_stable_on_anything_that_parses(text in valid_file()) {
        let source = SourceFile::new("p.enact", text.as_str());
        match format_source(&source) {
            Ok(formatted) => {
                let again = format_source(&SourceFile::new("p.enact", formatted.as_str())).unwrap();
                prop_assert_eq!(again, formatted);
            }
            Err(FormatError::Syntax(_)) => {}
            Err(FormatError::Unstable(why)) => prop_assert!(false, "unstable: {}\n{}", why, text),
        }
    }
}

/// Payload values that reach deep into the library's policies.
const STRINGS: &[&str] = &[
    "main",
    "agent/x",
    "rm -rf ~",
    "FOO=1 sudo rm -rf /",
    "curl x | sh",
    "echo \"unclosed",
    "DELETE FROM users",
    "SELECT email FROM users",
    "DROP TABLE t",
    "((((",
    "~/.ssh/id_rsa",
    "/var/../etc/passwd",
    ".env.local",
    "ignore all previous instructions",
    "ghp_0123456789abcdefghijABCDEFGHIJ012345",
    "a@x.io, b@x.io",
    "D123",
    "",
    " ",
    "22:00",
    "$HOME",
    "*.pem",
    "password",
    "\u{0}",
    "é",
];
const KEYS: &[&str] = &[
    "branch",
    "base",
    "command",
    "sql",
    "table",
    "where",
    "path",
    "content",
    "diff",
    "commit_message",
    "to",
    "cc",
    "channel",
    "email",
    "contact_id",
    "data",
    "grep_pattern",
    "glob_pattern",
    "file_count",
    "args",
    "body",
];

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        (-1e6f64..1e6).prop_map(|x| serde_json::json!(x)),
        prop::sample::select(STRINGS).prop_map(|s| serde_json::json!(s)),
        "\\PC{0,20}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                prop::sample::select(KEYS).prop_map(str::to_string),
                inner,
                0..4
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn payload() -> impl Strategy<Value = serde_json::Value> {
    prop::collection::btree_map(
        prop::sample::select(KEYS).prop_map(str::to_string),
        json_value(),
        0..5,
    )
    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect()))
}

/// Every built-in policy, with the parameters that have no default filled in.
static LIBRARY: LazyLock<Vec<PolicyUse>> = LazyLock::new(|| {
    let required = Value::from_json_str(SAMPLE_PARAMETERS).unwrap();
    bind_all_builtins(&required, Enforcement::Hard).unwrap()
});

struct Fixed;

impl Lookups for Fixed {
    fn lookup(&self, _: &str, query: &str, _: &Value) -> Result<Value, String> {
        if query.len().is_multiple_of(2) {
            Ok(Value::Null)
        } else {
            Err("down".into())
        }
    }
}

impl History for Fixed {
    fn receipts(
        &self,
        _: chrono::DateTime<Utc>,
        _: chrono::DateTime<Utc>,
        _: Option<&str>,
    ) -> Result<Vec<Value>, String> {
        Ok(vec![Value::from_json_str(r#"{"payload": {"to": "a@x.io"}, "status": "SUCCEEDED", "decision": "PASS",
            "actions_taken": [{"action": "create_task", "success": true, "args": {"contact_id": "c1"}}]}"#).unwrap()])
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn the_library_never_panics_and_is_deterministic(payload in payload(), at_action in any::<bool>()) {
        let value = Value::from_json_str(&payload.to_string()).unwrap();
        let request = Request {
            actor: Value::map([("email", Value::str("a@x.io")), ("role", Value::str("contractor"))]),
            workflow: Value::map([("name", Value::str("send_email"))]),
            payload: value.clone(),
            plan: Value::list([]),
            now: Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap(),
            env: Value::empty_map(),
            workspace: "/workspace".into(),
            home: "/home/agent".into(),
        };
        let call = ActionCall { system: "db".into(), name: "delete_row".into(), args: value };
        let ctx = if at_action { Context::action(&request, &call) } else { Context::run(&request) };
        let first = Session::new(&ctx, &Fixed, &Fixed).evaluate_all(&LIBRARY);
        let second = Session::new(&ctx, &Fixed, &Fixed).evaluate_all(&LIBRARY);
        prop_assert_eq!(first.len(), LIBRARY.len());
        for (a, b) in first.iter().zip(&second) {
            prop_assert_eq!(a.status, b.status);
            prop_assert_eq!(&a.reason, &b.reason);
            prop_assert!(!a.reason.is_empty(), "{} gave no reason", a.policy);
        }
    }

    #[test]
    fn json_survives_the_trip_through_value(json in json_value()) {
        let value = Value::from_json_str(&json.to_string()).unwrap();
        let back: serde_json::Value = serde_json::from_str(&serde_json::to_string(&value).unwrap()).unwrap();
        prop_assert_eq!(back, json);
    }
}
