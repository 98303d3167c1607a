//! The work of one Claude Code hook decision, in a process that is already running: from the
//! event's text to the answer (finding and reading `enact.yaml`, loading the default policy set,
//! mapping the tool call, lexing its command, evaluating every policy that applies), without
//! the receipt. Each case alternates two events of the same shape, so that no iteration reuses
//! the last command line's lexing (a hook call keeps it for its own three uses). What a hook
//! call costs beyond this — starting a process of this binary, the page faults of a new
//! address space, reading the rules it reaches the first time, and writing the receipt
//! durably — is `benches/hook.sh`'s whole-process figure.
#![allow(clippy::unwrap_used)]

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use enact::engine::create_secret_file;
use enact::engine::hook::{HookOptions, handle};

fn event(cwd: &str, tool: &str, input: &str) -> String {
    format!(
        r#"{{"session_id":"bench","transcript_path":"/dev/null","cwd":"{cwd}","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"{tool}","tool_input":{input},"tool_use_id":"toolu_bench"}}"#
    )
}

fn decision(c: &mut Criterion) {
    let project = tempfile::tempdir().unwrap();
    let root = project.path();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(
        root.join("enact.yaml"),
        "receipts: ./receipts\nsecret_file: secret\n",
    )
    .unwrap();
    create_secret_file(&root.join("secret")).unwrap();
    let cwd = root.to_string_lossy().into_owned();
    let options = HookOptions {
        config: None,
        start: root.to_path_buf(),
        allow_insecure_secret: false,
        write_receipt: false,
    };
    let bash = |command: &str| event(&cwd, "Bash", &format!(r#"{{"command":"{command}"}}"#));
    let read = |path: &str| event(&cwd, "Read", &format!(r#"{{"file_path":"{path}"}}"#));
    // (name, two events of the case, whether they are denied)
    let cases = [
        (
            "allow Bash",
            [
                bash("cargo test --workspace && git push origin agent/fix-42"),
                bash("cargo test --workspace && git push origin agent/fix-43"),
            ],
            false,
        ),
        (
            "allow Read",
            [read("src/main.rs"), read("src/lib.rs")],
            false,
        ),
        (
            "deny Bash (FOO=1 sh -c 'rm -rf ~')",
            [
                bash("FOO=1 sh -c 'rm -rf ~'"),
                bash("FOO=2 sh -c 'rm -rf ~'"),
            ],
            true,
        ),
    ];
    let mut group = c.benchmark_group("hook decision, warm process, no receipt");
    for (name, inputs, deny) in &cases {
        // The answers are what the case's name says: a denial, or `{}` (no objection).
        for input in inputs {
            let answer = handle(input, &options).answer.stdout();
            if *deny {
                assert!(
                    answer.contains(r#""permissionDecision":"deny""#),
                    "{name}: {answer}"
                );
            } else {
                assert_eq!(answer, "{}", "{name}");
            }
        }
        let mut turns = inputs.iter().cycle();
        group.bench_function(*name, |b| {
            b.iter(|| handle(black_box(turns.next().unwrap()), &options))
        });
    }
    group.finish();
}

criterion_group!(benches, decision);
criterion_main!(benches);
