//! The evaluator's contract beyond single statuses: evidence, traces, memoised lookups, fixed
//! order, and the language fixtures and library tests run through the library API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use enact::policy::eval::{
    ActionCall, Context, Enforcement, History, Lookups, NoHistory, NoLookups, Request, RuleOutcome,
    Session, Status,
};
use enact::policy::library::{PolicySet, bind, builtin, builtin_all, builtin_diagnostics};
use enact::policy::program::CompiledPolicy;
use enact::policy::source::SourceFile;
use enact::policy::value::Value;

fn compile(text: &str) -> Vec<Arc<CompiledPolicy>> {
    let set = PolicySet::from_sources(vec![(
        SourceFile::new("t.enact", text),
        "t".into(),
        "g".into(),
        false,
    )]);
    assert!(
        !set.has_errors(),
        "{:?}",
        set.diagnostics
            .iter()
            .map(|d| &d.message)
            .collect::<Vec<_>>()
    );
    set.policies().cloned().collect()
}

fn request(payload: &str) -> Request {
    Request {
        actor: Value::map([
            ("email", Value::str("a@x.io")),
            ("role", Value::str("agent")),
        ]),
        workflow: Value::Null,
        payload: Value::from_json_str(payload).unwrap(),
        plan: Value::list([]),
        now: DateTime::parse_from_rfc3339("2026-01-15T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
        env: Value::empty_map(),
        workspace: "/workspace".into(),
        home: "/home/agent".into(),
    }
}

fn run_set(paths: &[&str]) -> (usize, Vec<String>) {
    let paths: Vec<PathBuf> = paths
        .iter()
        .map(|p| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(p))
        .collect();
    let set = PolicySet::load(&paths);
    assert!(
        !set.has_errors(),
        "{:?}",
        set.diagnostics
            .iter()
            .map(|d| format!("{:?} {}", d.position(), d.message))
            .collect::<Vec<_>>()
    );
    let mut count = 0;
    let mut failures = Vec::new();
    for block in &set.tests {
        for result in block.run() {
            count += 1;
            for failure in result.failures {
                failures.push(format!(
                    "{} {}: {failure}",
                    result.case.location, result.case.name
                ));
            }
        }
    }
    (count, failures)
}

#[test]
fn language_fixtures_pass() {
    let (count, failures) = run_set(&["tests/fixtures/lang"]);
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(count >= 80);
}

#[test]
fn the_library_passes_its_tests_with_enough_cases() {
    let (count, failures) = run_set(&["policies"]);
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(count >= 250, "only {count} library test cases");
}

#[test]
fn the_embedded_library_has_no_diagnostics() {
    let diagnostics = builtin_diagnostics();
    assert!(
        diagnostics.is_empty(),
        "{:?}",
        diagnostics
            .iter()
            .map(|d| (d.position(), &d.message))
            .collect::<Vec<_>>()
    );
    assert!(builtin_all().len() >= 65);
}

#[test]
fn evidence_holds_what_the_deciding_rule_read_and_the_matching_item() {
    let policies = compile(
        r#"
policy p(limit: int = 1) {
  let cmds = shell.commands(input.command)
  deny when any c in cmds: c.name == "rm" and len(c.args) > limit because "rm with {limit}+ args"
  pass "ok"
}"#,
    );
    let use_ = bind(&policies[0], &Value::Null, Enforcement::Soft).unwrap();
    let req = request(r#"{"command": "ls; FOO=1 rm -rf /tmp/x"}"#);
    let ctx = Context::run(&req);
    let result = Session::new(&ctx, &NoLookups, &NoHistory).evaluate(&use_);
    assert_eq!(result.status, Status::Block);
    assert_eq!(result.level, Enforcement::Soft);
    assert_eq!(result.location.line, 4);
    let evidence = result.evidence.as_map().unwrap();
    assert_eq!(evidence.get("limit"), Some(&Value::Int(1)));
    assert_eq!(evidence.get("cmds").unwrap().as_list().unwrap().len(), 2);
    let matched = evidence.get("c").expect("the item that made `any` true");
    assert_eq!(
        matched.get("argv").unwrap(),
        &Value::list(["rm".into(), "-rf".into(), "/tmp/x".into()])
    );
    // The result serialises for receipts with the documented field names.
    let json = serde_json::to_value(&result).unwrap();
    for key in [
        "policy", "status", "level", "reason", "evidence", "location",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    assert_eq!(json["status"], "BLOCK");
    assert_eq!(json["level"], "soft");
}

#[test]
fn an_error_names_the_rule_and_the_failing_expression() {
    let policies =
        compile("policy p {\n  let n = input.n\n  deny when n + 1 > 3 because \"big\"\n}\n");
    let use_ = bind(&policies[0], &Value::Null, Enforcement::Hard).unwrap();
    let req = request(r#"{"n": "three"}"#);
    let ctx = Context::run(&req);
    let result = Session::new(&ctx, &NoLookups, &NoHistory).evaluate(&use_);
    assert_eq!(result.status, Status::Error);
    assert!(
        result
            .reason
            .starts_with("cannot evaluate the `deny` rule at t.enact:3:3:"),
        "{}",
        result.reason
    );
    assert!(
        result
            .reason
            .contains("cannot combine a string `\"three\"` and an int `1`"),
        "{}",
        result.reason
    );
    assert_eq!((result.location.line, result.location.column), (3, 13));
    assert_eq!(result.evidence.get("n"), Some(&Value::str("three")));
}

#[test]
fn explain_traces_every_rule() {
    let policies = compile(
        "policy p {\n  let b = input.b\n  pass when b == null because \"none\"\n  deny when b == 1 because \"one\"\n  pass \"other\"\n}\n",
    );
    let use_ = bind(&policies[0], &Value::Null, Enforcement::Hard).unwrap();
    let req = request(r#"{"b": 1}"#);
    let ctx = Context::run(&req);
    let (result, trace) = Session::new(&ctx, &NoLookups, &NoHistory).explain(&use_);
    assert_eq!(result.status, Status::Block);
    let outcomes: Vec<RuleOutcome> = trace.iter().map(|t| t.outcome).collect();
    assert_eq!(
        outcomes,
        [
            RuleOutcome::Bound,
            RuleOutcome::Held,
            RuleOutcome::Fired,
            RuleOutcome::NotReached
        ]
    );
    assert_eq!(trace[0].value, Some(Value::Int(1)));
    assert_eq!(trace[2].source, "deny when b == 1 because \"one\"");
    assert_eq!(trace[2].location.line, 4);
}

struct CountingLookups(Cell<usize>);

impl Lookups for CountingLookups {
    fn lookup(&self, system: &str, query: &str, args: &Value) -> Result<Value, String> {
        self.0.set(self.0.get() + 1);
        Ok(Value::map([(
            "asked",
            Value::str(format!("{system}.{query}{args}")),
        )]))
    }
}

#[test]
fn lookups_are_memoised_per_request_and_recorded_as_evidence() {
    let policies = compile(
        r#"
policy a {
  let x = lookup crm.find(email: input.email)
  let y = lookup crm.find(email: input.email)
  pass "{x.asked}"
}
policy b {
  let z = lookup crm.find(email: input.email)
  let w = lookup crm.find(email: "other@x.io")
  pass "ok"
}"#,
    );
    let uses: Vec<_> = policies
        .iter()
        .map(|p| bind(p, &Value::Null, Enforcement::Hard).unwrap())
        .collect();
    let lookups = CountingLookups(Cell::new(0));
    let req = request(r#"{"email": "a@x.io"}"#);
    let ctx = Context::run(&req);
    let results = Session::new(&ctx, &lookups, &NoHistory).evaluate_all(&uses);
    assert_eq!(
        lookups.0.get(),
        2,
        "one call per distinct query in the whole request"
    );
    assert_eq!(results[0].reason, r#"crm.find{email: "a@x.io"}"#);
    let recorded = results[0].evidence.get("lookup crm.find").unwrap();
    assert_eq!(
        recorded.get("args").unwrap().get("email"),
        Some(&Value::str("a@x.io"))
    );
}

struct OneReceipt;

impl History for OneReceipt {
    fn receipts(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        workflow: Option<&str>,
    ) -> Result<Vec<Value>, String> {
        assert_eq!((until - since).num_hours(), 24);
        assert_eq!(workflow, Some("send_email"));
        Ok(vec![Value::map([(
            "payload",
            Value::map([("to", Value::str("a@x.io"))]),
        )])])
    }
}

#[test]
fn history_goes_through_the_store_and_fails_closed_without_one() {
    let policies = compile(
        "policy p {\n  let n = history.count(within: 24h, workflow: \"send_email\", where: receipt.payload.to == input.to)\n  deny when n > 0 because \"sent {n}\"\n  pass \"ok\"\n}\n",
    );
    let use_ = bind(&policies[0], &Value::Null, Enforcement::Hard).unwrap();
    let req = request(r#"{"to": "a@x.io"}"#);
    let ctx = Context::run(&req);
    let result = Session::new(&ctx, &NoLookups, &OneReceipt).evaluate(&use_);
    assert_eq!(
        (result.status, result.reason.as_str()),
        (Status::Block, "sent 1")
    );
    assert!(result.evidence.get("history.count").is_some());
    let without = Session::new(&ctx, &NoLookups, &NoHistory).evaluate(&use_);
    assert_eq!(
        without.status,
        Status::Error,
        "no store is not an empty history"
    );
    assert!(without.reason.contains("no receipt store"));
}

#[test]
fn every_policy_is_evaluated_in_order_whatever_the_results() {
    let policies = compile(
        "policy one {\n  deny when true because \"one\"\n}\npolicy two {\n  deny when input.x because \"two\"\n}\npolicy three {\n  pass \"three\"\n}\n",
    );
    let uses: Vec<_> = policies
        .iter()
        .map(|p| bind(p, &Value::Null, Enforcement::Hard).unwrap())
        .collect();
    let req = request("{}");
    let ctx = Context::run(&req);
    let results = Session::new(&ctx, &NoLookups, &NoHistory).evaluate_all(&uses);
    let summary: Vec<(&str, Status)> = results.iter().map(|r| (&*r.policy, r.status)).collect();
    assert_eq!(
        summary,
        [
            ("t.one", Status::Block),
            ("t.two", Status::Error),
            ("t.three", Status::Pass)
        ]
    );
}

#[test]
fn the_same_policy_reads_a_payload_and_an_action_alike() {
    let policy = builtin("git.dont_push_to_main").unwrap();
    let use_ = bind(&policy, &Value::Null, Enforcement::Hard).unwrap();
    let req = request(r#"{"branch": "agent/x"}"#);
    let call = ActionCall {
        system: "github".into(),
        name: "push_commit".into(),
        args: Value::from_json_str(r#"{"branch": "main"}"#).unwrap(),
    };
    let run = Session::new(&Context::run(&req), &NoLookups, &NoHistory).evaluate(&use_);
    let action =
        Session::new(&Context::action(&req, &call), &NoLookups, &NoHistory).evaluate(&use_);
    assert_eq!((run.status, action.status), (Status::Pass, Status::Block));
}

#[test]
fn the_readme_shell_table_holds() {
    let shell = enact::policy::builtins::find("shell.commands").unwrap();
    let host = enact::policy::builtins::Host {
        workspace: "/w",
        home: "/h",
    };
    let commands = (shell.call)(&host, &[Value::str(r#"FOO=1 sudo rm -rf "$HOME""#)]).unwrap();
    let rm = &commands.as_list().unwrap()[0];
    assert_eq!(rm.get("name"), Some(&Value::str("rm")));
    assert_eq!(rm.get("program"), Some(&Value::str("rm")));
    assert_eq!(
        rm.get("args"),
        Some(&Value::list(["-rf".into(), "$HOME".into()]))
    );
    assert_eq!(
        rm.get("argv"),
        Some(&Value::list(["rm".into(), "-rf".into(), "$HOME".into()]))
    );
    assert_eq!(
        rm.get("assignments"),
        Some(&Value::map([("FOO", Value::str("1"))]))
    );
    assert_eq!(rm.get("wrappers"), Some(&Value::list(["sudo".into()])));
    let echo = (shell.call)(&host, &[Value::str("echo x >> .gitignore")]).unwrap();
    let redirect = Value::map([
        ("op", Value::str(">>")),
        ("target", Value::str(".gitignore")),
    ]);
    assert_eq!(
        echo.as_list().unwrap()[0].get("redirects"),
        Some(&Value::list([redirect]))
    );
}
