//! The run pipeline end to end, through the real binary: runs that pass, block and fail, their
//! receipts, rollback of files and rows, and bad input refused before anything runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::project::{Project, run_id};

const REPORT_AND_PLAN: &str = r#"
name: report_and_plan
description: Write a report file, then move a customer to another plan.
inputs:
  path: { type: string, required: true }
  content: { type: string, required: true }
  customer: { type: int, required: true }
  plan: { type: string, required: true, enum: [free, trial, pro] }
  table: { type: string, default: customers }
policies:
  - use: filesystem.dont_touch_ci_cd
  - use: db.protect_tables
    with: { tables: [salaries] }
steps:
  - id: report
    action: files.write_file
    with: { path: "${payload.path}", content: "${payload.content}" }
  - id: move
    action: db.update_row
    with:
      table: "${payload.table}"
      where: { id: "${payload.customer}" }
      set: { plan: "${payload.plan}" }
outputs:
  report: "${steps.report.output.path}"
  updated: "${steps.move.output.updated}"
"#;

fn project() -> Project {
    let project = Project::new();
    project.seed_customers();
    project.write("workflows/report_and_plan.yaml", REPORT_AND_PLAN);
    project.write("workspace/report.md", "old report\n");
    project
}

fn payload(path: &str, customer: i64, plan: &str) -> String {
    serde_json::json!({"path": path, "content": "new report\n", "customer": customer, "plan": plan})
        .to_string()
}

#[test]
fn a_pass_writes_files_rows_and_a_signed_receipt() {
    let p = project();
    let run = p.enact(&[
        "run",
        "report_and_plan",
        "--payload",
        &payload("report.md", 2, "free"),
        "--actor",
        "agent@example.com",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(p.read("workspace/report.md"), "new report\n");
    assert!(p.rows("customers")[1].contains("Text(\"free\")"));
    let id = run_id(&run);
    let receipt = p.receipt(&id);
    assert_eq!(receipt["decision"], "PASS");
    assert_eq!(receipt["status"], "SUCCEEDED");
    assert_eq!(receipt["kind"], "run");
    assert_eq!(receipt["actor"]["email"], "agent@example.com");
    assert_eq!(receipt["sequence"], 1);
    assert_eq!(receipt["prev_sha256"], "0".repeat(64));
    assert_eq!(receipt["actions_taken"].as_array().unwrap().len(), 2);
    assert_eq!(
        receipt["actions_taken"][0]["rollback_data"]["existed"],
        true
    );
    assert_eq!(
        receipt["signature"].as_str().unwrap().len(),
        64,
        "hex HMAC-SHA256"
    );
    let document: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(document["version"], 1);
    assert_eq!(document["run"]["outputs"]["updated"], 1);
    assert_eq!(p.enact(&["verify"]).code, 0);
}

#[test]
fn a_block_records_every_failing_policy_and_runs_nothing() {
    let p = project();
    p.write(
        "workflows/guarded.yaml",
        r#"
name: guarded
description: Two policies that both object.
inputs:
  path: { type: string, required: true }
  branch: { type: string, required: true }
policies:
  - use: git.dont_push_to_main
  - use: filesystem.dont_touch_ci_cd
  - use: filesystem.dont_read_env
steps:
  - id: write
    action: files.write_file
    with: { path: "${payload.path}", content: "x" }
"#,
    );
    let run = p.enact(&[
        "run",
        "guarded",
        "--payload",
        r#"{"path": ".github/workflows/ci.yml", "branch": "main"}"#,
        "--json",
    ]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert!(!p.path("workspace/.github").exists(), "nothing may run");
    let receipt = p.receipt(&run_id(&run));
    assert_eq!(receipt["decision"], "BLOCK");
    assert_eq!(receipt["status"], "NOT_RUN");
    assert_eq!(receipt["actions_taken"], serde_json::json!([]));
    let blocked: Vec<(&str, &str)> = receipt["policy_results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "BLOCK")
        .map(|r| (r["policy"].as_str().unwrap(), r["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(blocked.len(), 2, "{blocked:?}");
    assert!(blocked[0].0 == "git.dont_push_to_main" && blocked[0].1.contains("'main'"));
    assert!(blocked[1].0 == "filesystem.dont_touch_ci_cd" && blocked[1].1.contains("ci.yml"));
    // The third policy was evaluated too, and passed.
    assert!(
        receipt["policy_results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["policy"] == "filesystem.dont_read_env" && r["status"] == "PASS")
    );

    let human = p.enact(&[
        "run",
        "guarded",
        "--payload",
        r#"{"path": "ok.txt", "branch": "main"}"#,
    ]);
    assert_eq!(human.code, 3);
    assert!(
        human.stdout.starts_with("BLOCK  guarded  run "),
        "{}",
        human.stdout
    );
    assert!(
        human
            .stdout
            .contains("git.dont_push_to_main (hard): Direct push to 'main' is blocked")
    );
}

#[test]
fn a_failed_step_stops_the_run_and_rollback_still_undoes_the_earlier_steps() {
    let p = project();
    let run = p.enact(&[
        "run",
        "report_and_plan",
        "--payload",
        &serde_json::json!({"path": "report.md", "content": "new report\n", "customer": 2,
                            "plan": "free", "table": "no_such_table"})
        .to_string(),
        "--json",
    ]);
    assert_eq!(run.code, 4, "{}{}", run.stdout, run.stderr);
    let id = run_id(&run);
    let receipt = p.receipt(&id);
    assert_eq!(receipt["decision"], "PASS");
    assert_eq!(receipt["status"], "FAILED");
    assert_eq!(receipt["actions_taken"][0]["success"], true);
    assert_eq!(receipt["actions_taken"][1]["success"], false);
    assert!(
        receipt["actions_taken"][1]["error"]
            .as_str()
            .unwrap()
            .contains("no_such_table")
    );
    assert_eq!(p.read("workspace/report.md"), "new report\n");

    let rollback = p.enact(&["rollback", &id]);
    assert_eq!(rollback.code, 0, "{}{}", rollback.stdout, rollback.stderr);
    assert_eq!(p.read("workspace/report.md"), "old report\n");
    assert_eq!(p.enact(&["verify"]).code, 0);
}

#[test]
fn rollback_restores_exact_files_and_rows() {
    let p = project();
    let files_before = p.read("workspace/report.md");
    let rows_before = p.rows("customers");
    p.write(
        "workflows/wipe.yaml",
        r#"
name: wipe
description: Delete customers by plan, write a new file and change an old one.
inputs:
  plan: { type: string, required: true }
steps:
  - id: audit
    action: files.write_file
    with: { path: "audit/2026.md", content: "deleted ${payload.plan}\n", create_dirs: true }
  - id: report
    action: files.write_file
    with: { path: "report.md", content: "gone\n" }
  - id: raise
    action: db.update_row
    with: { table: customers, where: { plan: "pro" }, set: { score: 99, note: null } }
  - id: delete
    action: db.delete_row
    with: { table: customers, where: { id: { gte: 0 } } }
"#,
    );
    let run = p.enact(&["run", "wipe", "--payload", r#"{"plan": "all"}"#, "--json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(p.rows("customers").is_empty());
    assert!(p.path("workspace/audit/2026.md").exists());
    let id = run_id(&run);

    let dry = p.enact(&["rollback", &id, "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(p.rows("customers").is_empty(), "a dry run touches nothing");

    let rollback = p.enact(&["rollback", &id, "--json"]);
    assert_eq!(rollback.code, 0, "{}{}", rollback.stdout, rollback.stderr);
    assert_eq!(p.rows("customers"), rows_before);
    assert_eq!(p.read("workspace/report.md"), files_before);
    assert!(!p.path("workspace/audit/2026.md").exists());
    assert!(
        !p.path("workspace/audit").exists(),
        "directories it created are gone too"
    );

    let rollback_receipt = p.receipt(&run_id(&rollback));
    assert_eq!(rollback_receipt["kind"], "rollback");
    assert_eq!(rollback_receipt["decision"], "ROLLED_BACK");
    assert_eq!(rollback_receipt["original_run_id"], id.as_str());
    assert_eq!(
        rollback_receipt["actions_taken"].as_array().unwrap().len(),
        4
    );

    let twice = p.enact(&["rollback", &id]);
    assert_eq!(twice.code, 2);
    assert!(
        twice.stderr.contains("already rolled back"),
        "{}",
        twice.stderr
    );
    let of_rollback = p.enact(&["rollback", &run_id(&rollback)]);
    assert_eq!(of_rollback.code, 2);
    assert!(
        of_rollback
            .stderr
            .contains("rolling back a rollback is refused")
    );
    assert_eq!(p.enact(&["verify"]).code, 0);
}

#[test]
fn dry_run_shows_the_plan_and_its_rollback_and_touches_nothing() {
    let p = project();
    let run = p.enact(&[
        "run",
        "report_and_plan",
        "--payload",
        &payload("report.md", 2, "free"),
        "--dry-run",
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("dry run"));
    assert!(run.stdout.contains("report files.write_file"));
    assert!(run.stdout.contains("rollback: restore_file"));
    assert!(run.stdout.contains("rollback: restore_updated_rows"));
    assert_eq!(p.read("workspace/report.md"), "old report\n");
    assert!(!p.path("receipts").exists() || p.receipts().is_empty());
}

#[test]
fn soft_policies_yield_to_an_override_with_a_reason_recorded() {
    let p = project();
    p.write(
        "workflows/soft.yaml",
        r#"
name: soft
description: A soft rule.
inputs:
  branch: { type: string, required: true }
policies:
  - use: git.dont_push_to_main
    level: soft
  - use: git.require_branch_prefix
    level: advisory
steps:
  - id: note
    action: files.write_file
    with: { path: "note.txt", content: "${payload.branch}" }
"#,
    );
    let payload = r#"{"branch": "main"}"#;
    assert_eq!(p.enact(&["run", "soft", "--payload", payload]).code, 3);
    let overridden = p.enact(&[
        "run",
        "soft",
        "--payload",
        payload,
        "--override",
        "git.dont_push_to_main",
        "--reason",
        "hotfix approved in INC-7",
        "--json",
    ]);
    assert_eq!(
        overridden.code, 0,
        "{}{}",
        overridden.stdout, overridden.stderr
    );
    let receipt = p.receipt(&run_id(&overridden));
    assert_eq!(receipt["overrides"][0]["policy"], "git.dont_push_to_main");
    assert_eq!(
        receipt["overrides"][0]["reason"],
        "hotfix approved in INC-7"
    );
    let hard = p.enact(&[
        "run",
        "soft",
        "--payload",
        payload,
        "--override",
        "git.require_branch_prefix",
        "--reason",
        "x",
    ]);
    assert_eq!(hard.code, 2, "an advisory policy has nothing to override");
}

#[test]
fn payload_problems_block_with_a_receipt_that_says_what_is_wrong() {
    let p = project();
    let run = p.enact(&[
        "run",
        "report_and_plan",
        "--payload",
        r#"{"pth": "x.md", "content": "c", "customer": "two", "plan": "gold"}"#,
        "--json",
    ]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    let receipt = p.receipt(&run_id(&run));
    let reason = receipt["policy_results"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("`pth`") && reason.contains("path"),
        "{reason}"
    );
    assert!(reason.contains("customer"), "{reason}");
    assert!(reason.contains("gold"), "{reason}");
    assert_eq!(p.read("workspace/report.md"), "old report\n");
}

#[test]
fn secrets_in_payloads_never_reach_a_receipt() {
    let p = project();
    p.write(
        "workflows/note.yaml",
        r#"
name: note
description: Write a note.
inputs:
  text: { type: string, required: true }
  api_key: { type: string }
steps:
  - id: write
    action: files.write_file
    with: { path: "note.txt", content: "${payload.text}" }
"#,
    );
    let run = p.enact(&[
        "run",
        "note",
        "--payload",
        r#"{"text": "hi", "api_key": "sk-live-abcdef0123456789"}"#,
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let text = std::fs::read_to_string(p.receipt_path(&run_id(&run))).unwrap();
    assert!(!text.contains("sk-live-abcdef0123456789"));
    assert!(text.contains("[REDACTED]"));
}

#[test]
fn the_signing_secret_is_required_and_a_short_one_is_recorded() {
    let p = project();
    let args = [
        "run",
        "report_and_plan",
        "--payload",
        &payload("report.md", 1, "pro"),
    ];
    let missing = p.enact_with(&args, &[("ENACT_SECRET", "")]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("ENACT_SECRET"),
        "{}",
        missing.stderr
    );
    assert_eq!(p.read("workspace/report.md"), "old report\n", "nothing ran");

    let short = p.enact_with(&args, &[("ENACT_SECRET", "short")]);
    assert_eq!(short.code, 2);
    assert!(short.stderr.contains("32"), "{}", short.stderr);

    let mut insecure_args = args.to_vec();
    insecure_args.extend(["--allow-insecure-secret", "--json"]);
    let insecure = p.enact_with(&insecure_args, &[("ENACT_SECRET", "short")]);
    assert_eq!(insecure.code, 0, "{}", insecure.stderr);
    assert_eq!(p.receipt(&run_id(&insecure))["insecure_secret"], true);
}

/// (what is wrong, arguments, a file to write first, what stderr must say)
type BadInput<'a> = (&'a str, Vec<String>, Option<(&'a str, &'a str)>, &'a str);

#[test]
fn bad_input_is_refused_with_exit_2_and_nothing_runs() {
    let p = project();
    let good = payload("report.md", 2, "free");
    let cases: Vec<BadInput> = vec![
        (
            "malformed payload",
            vec![
                "run".into(),
                "report_and_plan".into(),
                "--payload".into(),
                "{\"path\": ".into(),
            ],
            None,
            "not valid JSON",
        ),
        (
            "payload not an object",
            vec![
                "run".into(),
                "report_and_plan".into(),
                "--payload".into(),
                "[1]".into(),
            ],
            None,
            "JSON object",
        ),
        (
            "unknown workflow",
            vec![
                "run".into(),
                "report_and_pln".into(),
                "--payload".into(),
                good.clone(),
            ],
            None,
            "did you mean `report_and_plan`",
        ),
        (
            "malformed config",
            vec![
                "run".into(),
                "report_and_plan".into(),
                "--payload".into(),
                good.clone(),
            ],
            Some(("enact.yaml", "receipts: ./receipts\nsystems: [\n")),
            "enact.yaml",
        ),
        (
            "unknown config key",
            vec![
                "run".into(),
                "report_and_plan".into(),
                "--payload".into(),
                good.clone(),
            ],
            Some(("enact.yaml", "receipt: ./receipts\n")),
            "unknown key `receipt` in the config",
        ),
        (
            "malformed workflow",
            vec![
                "run".into(),
                "report_and_plan".into(),
                "--payload".into(),
                good.clone(),
            ],
            Some((
                "workflows/report_and_plan.yaml",
                "name: report_and_plan\nstpes: []\n",
            )),
            "steps",
        ),
        (
            "workflow calling a system that is not configured",
            vec![
                "run".into(),
                "report_and_plan".into(),
                "--payload".into(),
                good.clone(),
            ],
            Some((
                "workflows/report_and_plan.yaml",
                "name: report_and_plan\ndescription: d\nsteps:\n  - id: a\n    action: github.create_branch\n    with: {}\n",
            )),
            "no system `github`",
        ),
        (
            "unknown policy in the workflow",
            vec![
                "run".into(),
                "report_and_plan".into(),
                "--payload".into(),
                good.clone(),
            ],
            Some((
                "workflows/report_and_plan.yaml",
                "name: report_and_plan\ndescription: d\npolicies:\n  - use: git.dont_push_to_mian\nsteps: []\n",
            )),
            "git.dont_push_to_main",
        ),
    ];
    for (name, args, file, expected) in cases {
        let p2 = project();
        if let Some((path, text)) = file {
            p2.write(path, text);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = p2.enact(&args);
        assert_eq!(run.code, 2, "{name}: {}{}", run.stdout, run.stderr);
        assert!(run.stdout.is_empty(), "{name}: {}", run.stdout);
        assert!(run.stderr.contains(expected), "{name}: {}", run.stderr);
        assert_eq!(p2.read("workspace/report.md"), "old report\n", "{name}");
        assert!(
            !p2.path("receipts").exists() || p2.receipts().is_empty(),
            "{name}"
        );
    }
    drop(p);
}

#[test]
fn traversal_in_run_ids_and_file_paths_is_refused() {
    let p = project();
    for bad in [
        "../../etc/passwd",
        "x.json",
        "",
        "00000000-0000-0000-0000-00000000000g",
    ] {
        let rollback = p.enact(&["rollback", bad]);
        assert_eq!(rollback.code, 2, "{bad}");
        assert!(
            rollback.stderr.contains("run id"),
            "{bad}: {}",
            rollback.stderr
        );
        assert_eq!(p.enact(&["show", bad]).code, 2, "{bad}");
    }
    for path in ["../outside.txt", "/etc/passwd", "a/../../outside.txt"] {
        let run = p.enact(&[
            "run",
            "report_and_plan",
            "--payload",
            &payload(path, 1, "pro"),
            "--json",
        ]);
        assert_eq!(run.code, 4, "{path}: {}{}", run.stdout, run.stderr);
        let receipt = p.receipt(&run_id(&run));
        let error = receipt["actions_taken"][0]["error"].as_str().unwrap();
        assert!(error.contains("must stay inside"), "{error}");
        assert!(!p.path("outside.txt").exists());
    }
    std::os::unix::fs::symlink("/etc", p.path("workspace/etc")).unwrap();
    let run = p.enact(&[
        "run",
        "report_and_plan",
        "--payload",
        &payload("etc/x", 1, "pro"),
    ]);
    assert_eq!(run.code, 4, "a symlink out of base_dir is refused");
    assert!(!std::path::Path::new("/etc/x").exists());
}

#[test]
fn init_makes_a_project_that_runs() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_enact"))
            .args(args)
            .current_dir(dir.path())
            .env_remove("ENACT_SECRET")
            .output()
            .unwrap();
        (
            output.status.code().unwrap(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&["init"]);
    assert_eq!(code, 0, "{out}{err}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join(".enact/secret"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let (code, out, err) = run(&["run", "hello", "--payload", r#"{"name": "Ada"}"#]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("workspace/hello.txt")).unwrap(),
        "Hello, Ada!\n"
    );
    let (code, _, _) = run(&[
        "run",
        "hello",
        "--payload",
        r#"{"name": "Ada", "file": ".bashrc"}"#,
    ]);
    assert_eq!(code, 3, "the starter policy blocks hidden files");
    assert_eq!(run(&["verify"]).0, 0);
    assert_eq!(run(&["test", "policies"]).0, 0);
    let (code, out, _) = run(&["init"]);
    assert_eq!(code, 0);
    assert!(out.contains("kept     enact.yaml"));
    let gitignore = std::fs::read_to_string(dir.path().join(".gitignore")).unwrap();
    assert_eq!(gitignore.matches(".enact/secret").count(), 1);
}

#[test]
fn payloads_come_from_files_and_stdin_and_built_ins_run_by_name_on_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_enact"))
            .args(args)
            .current_dir(dir.path())
            .env("ENACT_SECRET", common::project::SECRET)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        (
            output.status.code().unwrap(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    // No enact.yaml: the embedded defaults, a built-in workflow by name.
    let (code, err) = run(
        &["run", "write_file", "--payload", "-"],
        r#"{"path": "a.txt", "content": "from stdin"}"#,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.txt")).unwrap(),
        "from stdin"
    );
    std::fs::write(
        dir.path().join("payload.json"),
        r#"{"path": "b.txt", "content": "from a file"}"#,
    )
    .unwrap();
    let (code, err) = run(&["run", "write_file", "--payload-file", "payload.json"], "");
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("b.txt")).unwrap(),
        "from a file"
    );
    assert!(
        dir.path().join("receipts").is_dir(),
        "receipts in ./receipts by default"
    );
    let (code, err) = run(&["run", "write_file", "--payload-file", "missing.json"], "");
    assert_eq!(code, 2);
    assert!(err.contains("missing.json"), "{err}");
}

#[test]
fn a_rollback_needs_no_permission_the_run_did_not_have() {
    let p = Project::new();
    // The system may write, but not delete: undoing a created file is still allowed.
    p.write(
        "enact.yaml",
        "systems:\n  files: {connector: filesystem, base_dir: ./workspace, allowed_actions: [write_file]}\nworkflows: [./workflows]\n",
    );
    p.write(
        "workflows/create.yaml",
        "name: create\ndescription: Create a file.\nsteps:\n  - id: new\n    action: files.write_file\n    with: {path: new.txt, content: hi}\n",
    );
    let run = p.enact(&["run", "create", "--json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(p.path("workspace/new.txt").exists());
    let rollback = p.enact(&["rollback", &run_id(&run)]);
    assert_eq!(rollback.code, 0, "{}{}", rollback.stdout, rollback.stderr);
    assert!(!p.path("workspace/new.txt").exists());
}

#[test]
fn with_rollback_disabled_receipts_keep_no_rollback_data_and_rollback_says_so() {
    let p = project();
    let config = format!("rollback: false\n{}", common::project::CONFIG);
    p.write("enact.yaml", &config);
    let run = p.enact(&[
        "run",
        "report_and_plan",
        "--payload",
        &payload("report.md", 2, "free"),
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let id = run_id(&run);
    let receipt = p.receipt(&id);
    assert!(receipt["actions_taken"][0]["rollback_data"].is_null());
    assert!(
        !std::fs::read_to_string(p.receipt_path(&id))
            .unwrap()
            .contains("old report")
    );
    let rollback = p.enact(&["rollback", &id]);
    assert_eq!(rollback.code, 4, "{}{}", rollback.stdout, rollback.stderr);
    assert!(
        rollback.stdout.contains("rollback was disabled"),
        "{}",
        rollback.stdout
    );
    assert_eq!(
        p.read("workspace/report.md"),
        "new report\n",
        "nothing was restored blindly"
    );
}

#[test]
fn check_verifies_workflows_against_the_configured_systems() {
    let p = project();
    let ok = p.enact(&["check", "workflows/report_and_plan.yaml"]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert_eq!(ok.stdout, "ok: 1 workflow\n");
    p.write(
        "workflows/bad.yaml",
        "name: bad\ndescription: d\nsteps:\n  - id: a\n    action: files.write_file\n    with: {path: x, contnt: y}\n  - id: b\n    action: db.drop_table\n    with: {}\n",
    );
    let bad = p.enact(&["check", "workflows/bad.yaml"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr
            .contains("no parameter `contnt`; did you mean `content`?"),
        "{}",
        bad.stderr
    );
    assert!(bad.stderr.contains("needs `content`"), "{}", bad.stderr);
    assert!(
        bad.stderr.contains("no action `drop_table`"),
        "{}",
        bad.stderr
    );
}

#[test]
fn history_policies_count_earlier_receipts_in_the_store() {
    let p = project();
    p.write(
        "workflows/send_note.yaml",
        r#"
name: send_note
description: Write a note addressed to someone, once a day per address.
inputs:
  to: { type: string, required: true }
policies:
  - use: email.no_repeat_emails
    with: { workflow: send_note, window: 24h }
steps:
  - id: write
    action: files.write_file
    with: { path: "outbox/${payload.to}.txt", content: "hello", create_dirs: true }
"#,
    );
    let first = p.enact(&["run", "send_note", "--payload", r#"{"to": "a@x.io"}"#]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let other = p.enact(&["run", "send_note", "--payload", r#"{"to": "b@x.io"}"#]);
    assert_eq!(other.code, 0, "{}{}", other.stdout, other.stderr);
    let again = p.enact(&[
        "run",
        "send_note",
        "--payload",
        r#"{"to": "A@x.io"}"#,
        "--json",
    ]);
    assert_eq!(again.code, 3, "{}{}", again.stdout, again.stderr);
    let receipt = p.receipt(&run_id(&again));
    let result = &receipt["policy_results"][0];
    assert_eq!(result["policy"], "email.no_repeat_emails");
    assert!(
        result["reason"].as_str().unwrap().contains("already got"),
        "{result}"
    );
}

#[test]
fn db_safe_insert_on_sqlite_inserts_once_and_skips_the_duplicate_on_a_retry() {
    let p = project();
    let payload = serde_json::json!({
        "table": "customers",
        "key": {"name": "Edsger"},
        "values": {"id": 6, "name": "Edsger", "plan": "pro"},
    })
    .to_string();
    let first = p.enact(&["run", "db_safe_insert", "--payload", &payload, "--json"]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let document: serde_json::Value = serde_json::from_str(&first.stdout).unwrap();
    assert_eq!(document["run"]["outputs"]["inserted"], true);
    assert_eq!(
        document["run"]["outputs"]["key"],
        serde_json::json!({"name": "Edsger"})
    );
    assert_eq!(document["run"]["outputs"]["row"]["id"], 6);

    let retry = p.enact(&["run", "db_safe_insert", "--payload", &payload, "--json"]);
    assert_eq!(retry.code, 0, "{}{}", retry.stdout, retry.stderr);
    let document: serde_json::Value = serde_json::from_str(&retry.stdout).unwrap();
    assert_eq!(document["run"]["outputs"]["inserted"], false);
    assert_eq!(document["run"]["outputs"]["row"]["plan"], "pro");
    let steps: Vec<&str> = document["run"]["actions_taken"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["check"], "the insert is skipped on a retry");
    let edsgers = p
        .rows("customers")
        .iter()
        .filter(|row| row.contains("Edsger"))
        .count();
    assert_eq!(edsgers, 1, "no duplicate row");

    let rollback = p.enact(&["rollback", &run_id(&first)]);
    assert_eq!(rollback.code, 0, "{}{}", rollback.stdout, rollback.stderr);
    assert_eq!(p.rows("customers").len(), 5);
}
