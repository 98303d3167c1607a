//! The formatter is snapshot-tested over `tests/fixtures/fmt/`; every fixture must also be
//! stable (formatting twice changes nothing) and keep every comment.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use enact::policy::format::{FormatError, format_source};
use enact::policy::source::SourceFile;

fn format(name: &str, text: &str) -> String {
    format_source(&SourceFile::new(name, text)).unwrap_or_else(|e| panic!("{name}: {e:?}"))
}

#[test]
fn fmt_fixtures() {
    insta::glob!("fixtures/fmt/*.enact", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        let once = format(name, &text);
        assert_eq!(format(name, &once), once, "{name} is not stable");
        let comments = |t: &str| t.lines().filter(|l| l.contains('#')).count();
        assert_eq!(comments(&once), comments(&text), "{name} lost a comment");
        insta::assert_snapshot!(once);
    });
}

#[test]
fn the_library_is_formatted() {
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/policies")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.display().to_string();
        assert_eq!(
            format(&name, &text),
            text,
            "run `enact fmt policies/`: {name}"
        );
    }
}

#[test]
fn a_file_that_does_not_parse_is_refused() {
    let result = format_source(&SourceFile::new("x.enact", "policy a {\n  deny when\n}\n"));
    assert!(matches!(result, Err(FormatError::Syntax(d)) if !d.is_empty()));
}
