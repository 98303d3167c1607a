//! How long the whole built-in library takes to judge one request: with the payload already a
//! `Value` (the engine's own cost) and from raw JSON text (what a caller pays end to end).
#![allow(clippy::unwrap_used)]

use chrono::{TimeZone, Utc};
use criterion::{Criterion, black_box, criterion_group, criterion_main};
use enact::policy::eval::{
    ActionCall, Context, Enforcement, NoHistory, NoLookups, Request, Session,
};
use enact::policy::library::{SAMPLE_PARAMETERS, bind_all_builtins, builtin};
use enact::policy::value::Value;

/// A coding agent's typical tool call: a shell command with a pipeline, plus the fields a git
/// and a file step carry, so every domain of the library has something to judge.
const PAYLOAD: &str = r#"{"command": "cd app && FOO=1 npm test -- --watch=false | tee test.log && git push origin agent/fix-42",
    "branch": "agent/fix-42", "base": "develop", "path": "src/main.rs", "commit_message": "Fix the retry loop in the payment client",
    "content": "fn main() { println!(\"hello\"); }", "sql": "SELECT id, status FROM orders WHERE id = 42 LIMIT 1",
    "to": "ada@example.com", "channel": "C0123", "body": "Please review the attached change before Friday."}"#;

fn request(payload: Value) -> Request {
    Request {
        actor: Value::map([
            ("email", Value::str("agent@example.com")),
            ("role", Value::str("agent")),
        ]),
        workflow: Value::map([("name", Value::str("agent_pr_workflow"))]),
        payload,
        plan: Value::list([]),
        now: Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap(),
        env: Value::empty_map(),
        workspace: "/workspace".into(),
        home: "/home/agent".into(),
    }
}

fn library(c: &mut Criterion) {
    let uses = bind_all_builtins(
        &Value::from_json_str(SAMPLE_PARAMETERS).unwrap(),
        Enforcement::Hard,
    )
    .unwrap();
    let payload = Value::from_json_str(PAYLOAD).unwrap();
    let call = ActionCall {
        system: "agent".into(),
        name: "tool_call".into(),
        args: payload.clone(),
    };
    let prebuilt = request(payload);
    let mut group = c.benchmark_group(format!("library ({} policies)", uses.len()));
    group.bench_function("run level, payload already a Value", |b| {
        b.iter(|| {
            let ctx = Context::run(black_box(&prebuilt));
            Session::new(&ctx, &NoLookups, &NoHistory).evaluate_all(&uses)
        })
    });
    group.bench_function("action level, payload already a Value", |b| {
        b.iter(|| {
            let ctx = Context::action(black_box(&prebuilt), &call);
            Session::new(&ctx, &NoLookups, &NoHistory).evaluate_all(&uses)
        })
    });
    group.bench_function("run level, from raw JSON", |b| {
        b.iter(|| {
            let request = request(Value::from_json_str(black_box(PAYLOAD)).unwrap());
            let ctx = Context::run(&request);
            Session::new(&ctx, &NoLookups, &NoHistory).evaluate_all(&uses)
        })
    });
    group.finish();

    let push = enact::policy::library::bind(
        &builtin("git.dont_push_to_main").unwrap(),
        &Value::Null,
        Enforcement::Hard,
    )
    .unwrap();
    c.bench_function("one policy (git.dont_push_to_main)", |b| {
        b.iter(|| {
            let ctx = Context::run(black_box(&prebuilt));
            Session::new(&ctx, &NoLookups, &NoHistory).evaluate(&push)
        })
    });
}

criterion_group!(benches, library);
criterion_main!(benches);
