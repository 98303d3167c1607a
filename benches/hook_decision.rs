//! The work of one Claude Code hook decision, in a process that is already running: from the
//! event's text to the answer (finding and reading `enact.yaml`, loading the default policy set,
//! mapping the tool call, evaluating every policy that applies), without the receipt. What a
//! hook call costs beyond this — starting a process of this binary, the page faults of a new
//! address space, reading the rules it reaches the first time, and writing the receipt
//! durably — is `benches/hook.sh`'s whole-process figure.
#![allow(clippy::unwrap_used)]

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use enact::engine::hook::{HookOptions, handle};

fn event(cwd: &str, tool: &str, input: &str) -> String {
    format!(
        r#"{{"session_id":"bench","transcript_path":"/dev/null","cwd":"{cwd}","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"{tool}","tool_input":{input},"tool_use_id":"toolu_bench"}}"#
    )
}

fn decision(c: &mut Criterion) {
    let project = std::env::temp_dir().join(format!("enact-hook-bench-{}", std::process::id()));
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(
        project.join("enact.yaml"),
        "receipts: ./receipts\nsecret_file: secret\n",
    )
    .unwrap();
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut secret = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(project.join("secret"))
            .unwrap();
        secret
            .write_all(b"bench-secret-0123456789abcdef0123456789abcdef\n")
            .unwrap();
    }
    let cwd = project.to_string_lossy().into_owned();
    let options = HookOptions {
        config: None,
        start: project.clone(),
        allow_insecure_secret: false,
        write_receipt: false,
    };
    let cases = [
        (
            "allow Bash",
            event(
                &cwd,
                "Bash",
                r#"{"command":"cargo test --workspace && git push origin agent/fix-42"}"#,
            ),
            false,
        ),
        (
            "allow Read",
            event(&cwd, "Read", r#"{"file_path":"src/main.rs"}"#),
            false,
        ),
        (
            "deny Bash (FOO=1 sh -c 'rm -rf ~')",
            event(&cwd, "Bash", r#"{"command":"FOO=1 sh -c 'rm -rf ~'"}"#),
            true,
        ),
    ];
    let mut group = c.benchmark_group("hook decision, warm process, no receipt");
    for (name, input, deny) in &cases {
        // The answer is what the case's name says: a denial, or `{}` (no objection).
        let answer = handle(input, &options).answer.stdout();
        if *deny {
            assert!(
                answer.contains(r#""permissionDecision":"deny""#),
                "{name}: {answer}"
            );
        } else {
            assert_eq!(answer, "{}", "{name}");
        }
        group.bench_function(*name, |b| b.iter(|| handle(black_box(input), &options)));
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&project);
}

criterion_group!(benches, decision);
criterion_main!(benches);
