//! Diagnostics are snapshot-tested over `tests/fixtures/check/`: adding a case is adding a file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{enact_in, repo};

#[test]
fn check_fixtures_in_every_format() {
    let dir = repo().join("tests/fixtures/check");
    insta::glob!("fixtures/check/*.enact", |path| {
        let name = path.file_name().unwrap().to_str().unwrap();
        let short = enact_in(&dir, &["check", "--error-format", "short", name]);
        let human = enact_in(&dir, &["check", name]);
        let json = enact_in(&dir, &["check", "--error-format", "json", name]);
        // Every format reports the same problems, and errors mean exit 2.
        let has_errors = short.stderr.contains(": error[");
        assert_eq!(
            short.code,
            if has_errors { 2 } else { 0 },
            "{name}: {}",
            short.stderr
        );
        assert_eq!(human.code, short.code);
        assert_eq!(
            json.stderr.lines().count(),
            short
                .stderr
                .lines()
                .filter(|l| l.contains("[E") || l.contains("[W"))
                .count()
        );
        for line in json.stderr.lines() {
            let record: serde_json::Value =
                serde_json::from_str(line).expect("one JSON object per line");
            assert!(record["code"].as_str().unwrap().len() == 5);
        }
        insta::assert_snapshot!(format!(
            "--- short\n{}--- human\n{}",
            short.stderr, human.stderr
        ));
    });
}

#[test]
fn several_errors_in_one_file_are_all_reported_with_positions() {
    let dir = repo().join("tests/fixtures/check");
    let run = enact_in(
        &dir,
        &["check", "--error-format", "short", "syntax_errors.enact"],
    );
    assert_eq!(run.code, 2);
    let positions: Vec<&str> = run
        .stderr
        .lines()
        .filter_map(|l| l.split(": error").next())
        .collect();
    assert_eq!(
        positions,
        ["syntax_errors.enact:3:21", "syntax_errors.enact:12:1"]
    );
}

#[test]
fn grammar_rule_names_never_reach_users() {
    let dir = repo().join("tests/fixtures/check");
    let run = enact_in(&dir, &["check", "--error-format", "short", "."]);
    for internal in ["kw_", "op_", "_rule", "Rule::", "qualified", "EOI", "chunk"] {
        assert!(
            !run.stderr.contains(internal),
            "`{internal}` leaked: {}",
            run.stderr
        );
    }
}
