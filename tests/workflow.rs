//! Workflows through the library API: the SPEC example, every kind of load error with its
//! place and fix, payload validation, templating, plans, and the built-in workflows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use enact::policy::eval::Enforcement;
use enact::policy::library::{self, PolicySet};
use enact::policy::source::SourceFile;
use enact::policy::value::Value;
use enact::workflow::{
    self, InputType, PolicySource, ProblemKind, TemplateScope, TemplateValue, Workflow,
    WorkflowError,
};
use serde_json::json;

const SPEC_EXAMPLE: &str = r#"name: agent_pr_workflow
description: Create a feature branch, then open a pull request from it.
inputs:
  repo:   { type: string, required: true, pattern: '^[\w.-]+/[\w.-]+$' }
  branch: { type: string, required: true }
  title:  { type: string, default: "Agent: ${payload.branch}" }
policies:
  - use: git.dont_push_to_main
steps:
  - id: branch
    action: github.create_branch
    with: { repo: "${payload.repo}", branch: "${payload.branch}" }
  - id: pr
    action: github.create_pr
    with: { repo: "${payload.repo}", head: "${payload.branch}", title: "${payload.title}" }
outputs:
  pr_url: "${steps.pr.output.url}"
"#;

fn parse(text: &str) -> Workflow {
    workflow::parse("wf.yaml", text).unwrap_or_else(|e| panic!("{e}"))
}

fn error(text: &str) -> WorkflowError {
    match workflow::parse("wf.yaml", text) {
        Ok(w) => panic!("`{}` should not load", w.name),
        Err(e) => e,
    }
}

/// Asserts an error's line, column, and words in its message and help.
#[track_caller]
fn assert_error(text: &str, line: usize, column: usize, message: &str, help: &str) {
    let e = error(text);
    assert_eq!(e.file, "wf.yaml");
    assert_eq!((e.line, e.column), (Some(line), Some(column)), "{e}");
    assert!(e.message.contains(message), "message: {e}");
    let got_help = e.help.clone().unwrap_or_default();
    assert!(got_help.contains(help), "help: {e}");
}

/// A workflow with one input `repo` and the given steps.
fn with_steps(steps: &str) -> String {
    format!("name: w\ndescription: d\ninputs:\n  repo: {{ type: string }}\nsteps:\n{steps}")
}

fn scope(payload: serde_json::Value) -> TemplateScope {
    TemplateScope::new(
        serde_json::from_value(payload).unwrap(),
        Value::from_json_str(r#"{"email": "dev@example.com", "role": "agent", "attributes": {}}"#)
            .unwrap(),
    )
}

// ---------------------------------------------------------------------------------------------
// The model

#[test]
fn the_spec_example_loads() {
    let w = parse(SPEC_EXAMPLE);
    assert_eq!(w.name, "agent_pr_workflow");
    assert_eq!(w.source_name, "wf.yaml");
    let names: Vec<&str> = w.inputs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["repo", "branch", "title"],
        "inputs keep their order"
    );
    let (_, repo) = &w.inputs[0];
    assert_eq!(repo.ty, InputType::String);
    assert!(repo.required);
    assert_eq!(
        repo.pattern.as_ref().unwrap().as_str(),
        r"^[\w.-]+/[\w.-]+$"
    );
    assert_eq!(
        w.policies[0].source,
        PolicySource::Library("git.dont_push_to_main".into())
    );
    assert_eq!(w.policies[0].level, Enforcement::Hard);
    let steps: Vec<(&str, &str, &str, usize)> = w
        .steps
        .iter()
        .map(|s| (s.id.as_str(), s.system.as_str(), s.action.as_str(), s.line))
        .collect();
    assert_eq!(
        steps,
        [
            ("branch", "github", "create_branch", 10),
            ("pr", "github", "create_pr", 13)
        ]
    );
    assert!(!w.steps[0].with.depends_on_steps());
    assert_eq!(w.outputs[0].0, "pr_url");
    assert!(w.outputs[0].1.depends_on_steps());
    assert_eq!(w.sha256.len(), 64);
    assert_ne!(
        w.sha256,
        parse(&SPEC_EXAMPLE.replace("pull request", "PR")).sha256
    );
    assert!(w.dir.is_none());
}

#[test]
fn the_spec_example_runs_its_templates() {
    let w = parse(SPEC_EXAMPLE);
    let payload = w
        .validate_payload(&json!({"repo": "acme/api", "branch": "agent/fix"}))
        .unwrap();
    assert_eq!(
        payload["title"],
        json!("Agent: agent/fix"),
        "templated default"
    );
    let mut scope = scope(payload);
    assert_eq!(
        w.steps[1].render_args(&scope).unwrap(),
        json!({"repo": "acme/api", "head": "agent/fix", "title": "Agent: agent/fix"})
    );
    scope.record_step("branch", true, Value::Null);
    scope.record_step(
        "pr",
        true,
        Value::from_json_str(r#"{"url": "https://x/pull/7", "number": 7}"#).unwrap(),
    );
    assert_eq!(
        w.render_outputs(&scope).unwrap(),
        json!({"pr_url": "https://x/pull/7"})
    );
}

#[test]
fn load_reads_a_file_and_resolves_policy_files_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deploy.yaml");
    let text = "name: deploy\ndescription: d\npolicies:\n  - file: ./policies/custom.enact\n    level: soft\nsteps:\n  - id: a\n    action: files.list_dir\n";
    std::fs::write(&path, text).unwrap();
    let w = workflow::load(&path).unwrap();
    assert_eq!(w.source_name, path.display().to_string());
    assert_eq!(w.dir.as_deref(), Some(dir.path()));
    assert_eq!(
        w.policies[0].source,
        PolicySource::File(dir.path().join("./policies/custom.enact"))
    );
    assert_eq!(w.policies[0].level, Enforcement::Soft);
    assert_eq!(
        w.sha256,
        parse(text).sha256,
        "the hash is of the text alone"
    );

    let missing = workflow::load(&dir.path().join("nope.yaml")).unwrap_err();
    assert!(
        missing.message.contains("cannot read the workflow file"),
        "{missing}"
    );
    assert_eq!(missing.line, None);
}

#[test]
fn steps_have_conditions_and_may_continue_on_error() {
    let w = parse(&with_steps(
        "  - id: a\n    action: x.y\n    if: payload.repo != \"\"\n    continue_on_error: true\n  - id: b\n    action: x.y\n    if: \"${steps.a.success}\"\n  - id: c\n    action: x.y\n    if: false\n",
    ));
    assert!(w.steps[0].continue_on_error);
    assert!(!w.steps[1].continue_on_error);
    let mut scope = scope(json!({"repo": "r"}));
    assert!(w.steps[0].should_run(&scope).unwrap());
    scope.record_step("a", false, Value::Null);
    assert!(!w.steps[1].should_run(&scope).unwrap());
    assert!(!w.steps[2].should_run(&scope).unwrap());
    assert_eq!(
        w.steps[1].condition.as_ref().unwrap().text(),
        "${steps.a.success}"
    );
}

// ---------------------------------------------------------------------------------------------
// Load errors: place and fix

#[test]
fn an_unknown_key_suggests_the_nearest() {
    assert_error(
        "name: w\ndescription: d\nstpes: []\n",
        3,
        1,
        "unknown key `stpes` in the workflow",
        "did you mean `steps`?",
    );
    assert_error(
        &with_steps("  - id: a\n    action: x.y\n    wiht: {}\n"),
        8,
        5,
        "unknown key `wiht` in `steps[0]`",
        "did you mean `with`?",
    );
    assert_error(
        "name: w\ndescription: d\ninputs:\n  n: { type: int, maximum: 3 }\nsteps: []\n",
        4,
        19,
        "unknown key `maximum` in `inputs.n`",
        "did you mean `max`?",
    );
}

#[test]
fn an_action_needs_its_system() {
    assert_error(
        &with_steps("  - id: a\n    action: create_branch\n"),
        7,
        13,
        "action `create_branch` names no system",
        "`github.create_branch`",
    );
    assert_error(
        &with_steps("  - id: a\n    action: github.Create-Branch\n"),
        7,
        13,
        "is not a valid `system.action`",
        "one dot",
    );
}

#[test]
fn step_ids_are_unique_names() {
    assert_error(
        &with_steps("  - id: a\n    action: x.y\n  - id: a\n    action: x.z\n"),
        8,
        9,
        "step id `a` is used twice",
        "on line 6",
    );
    assert_error(
        &with_steps("  - id: Open-PR\n    action: x.y\n"),
        6,
        9,
        "`Open-PR` is not a valid step id",
        "e.g. `open_pr`",
    );
}

#[test]
fn a_template_that_does_not_parse_points_inside_the_string() {
    // `"repo ${payload.}"` starts at column 13; the bad dot is 17 characters further on.
    assert_error(
        &with_steps("  - id: a\n    action: x.y\n    with:\n      repo: \"repo ${payload.}\"\n"),
        9,
        28,
        "in `${payload.}`",
        "a template holds one expression",
    );
    assert_error(
        &with_steps("  - id: a\n    action: x.y\n    with:\n      repo: \"${payload.repo\"\n"),
        9,
        14,
        "is never closed",
        "`$${`",
    );
    assert_error(
        &with_steps("  - id: a\n    action: x.y\n    if: payload.repo ==\n"),
        8,
        22,
        "in `payload.repo ==`",
        "",
    );
}

#[test]
fn templates_read_only_payload_actor_and_steps() {
    assert_error(
        &with_steps("  - id: a\n    action: x.y\n    with:\n      home: \"${env.HOME}\"\n"),
        9,
        16,
        "`env` cannot be read in a workflow template",
        "environment variables are not reachable",
    );
    assert_error(
        &with_steps("  - id: a\n    action: x.y\n    with:\n      at: \"${now}\"\n"),
        9,
        14,
        "`now` cannot be read in a workflow template",
        "payload, actor, steps",
    );
    assert_error(
        &with_steps("  - id: a\n    action: x.y\n    with:\n      r: \"${paylaod.repo}\"\n"),
        9,
        13,
        "unknown name `paylaod`",
        "did you mean `payload`?",
    );
    assert_error(
        &with_steps("  - id: a\n    action: x.y\n    with:\n      r: \"${payload.rpo}\"\n"),
        9,
        13,
        "`payload.rpo` is not a declared input",
        "did you mean `repo`?",
    );
    assert_error(
        &with_steps("  - id: a\n    action: x.y\n    with:\n      who: \"by ${actor.mail}\"\n"),
        9,
        18,
        "the actor has no field `mail`",
        "did you mean `email`?",
    );
}

#[test]
fn a_step_reads_only_earlier_steps() {
    assert_error(
        &with_steps(
            "  - id: a\n    action: x.y\n    with:\n      r: \"${steps.b.output.x}\"\n  - id: b\n    action: x.y\n",
        ),
        9,
        13,
        "step `b` runs after step `a`",
        "only the steps before it",
    );
    assert_error(
        &with_steps("  - id: a\n    action: x.y\n    with:\n      r: \"${steps.a.output}\"\n"),
        9,
        13,
        "step `a` reads its own result",
        "",
    );
    assert_error(
        &with_steps(
            "  - id: branch\n    action: x.y\n  - id: b\n    action: x.y\n    if: steps.brnch.success\n",
        ),
        10,
        9,
        "there is no step `brnch`",
        "did you mean `branch`?",
    );
    assert_error(
        &with_steps(
            "  - id: a\n    action: x.y\n  - id: b\n    action: x.y\n    with:\n      r: \"${steps.a.outputs.url}\"\n",
        ),
        11,
        13,
        "`steps.a` has no field `outputs`",
        "did you mean `output`?",
    );
    assert_error(
        &format!(
            "{}outputs:\n  url: \"${{steps.nope.output}}\"\n",
            with_steps("  - id: a\n    action: x.y\n")
        ),
        9,
        11,
        "there is no step `nope`",
        "",
    );
}

#[test]
fn input_declarations_are_checked() {
    let input = |spec: &str| {
        format!(
            "name: w\ndescription: d\ninputs:\n  x: {spec}\nsteps:\n  - id: a\n    action: x.y\n"
        )
    };
    assert_error(
        &input("{ type: string, pattern: '(unclosed' }"),
        4,
        31,
        "the pattern `(unclosed` is not a valid regular expression",
        "unclosed group",
    );
    assert_error(
        &input("{ type: integer }"),
        4,
        14,
        "unknown value `integer` in `inputs.x.type`",
        "did you mean `int`?",
    );
    assert_error(
        &input("{ type: int, default: \"${actor.email}\" }"),
        4,
        31,
        "`actor` cannot be read here",
        "reads only payload",
    );
    assert_error(
        &input("{ type: string, default: \"${payload.x}!\" }"),
        4,
        34,
        "the default of `x` reads `payload.x` itself",
        "",
    );
    assert_error(
        &input("{ type: int, default: 1.5 }"),
        4,
        28,
        "the default does not fit: it must be an int",
        "",
    );
    assert_error(
        "name: w\ndescription: d\ninputs:\n  x: { type: int }\n  x: { type: string }\nsteps:\n  - id: a\n    action: x.y\n",
        5,
        3,
        "`x` is declared twice",
        "remove one",
    );
}

#[test]
fn policy_entries_are_checked_against_the_library() {
    let policies = |entries: &str| {
        format!("name: w\ndescription: d\npolicies:\n{entries}steps:\n  - id: a\n    action: x.y\n")
    };
    assert_error(
        &policies("  - use: git.dont_push_to_mian\n"),
        4,
        10,
        "unknown policy `git.dont_push_to_mian`",
        "did you mean `git.dont_push_to_main`",
    );
    assert_error(
        &policies("  - use: git.require_branch_prefix\n    with: { prefx: \"a/\" }\n"),
        4,
        5,
        "has no parameter `prefx`; did you mean `prefix`?",
        "",
    );
    assert_error(
        &policies("  - use: git.dont_push_to_main\n    level: strict\n"),
        5,
        12,
        "unknown value `strict`",
        "advisory, soft, hard",
    );
}

#[test]
fn yaml_pitfalls_are_explained() {
    // A tab in the indentation.
    assert_error(
        "name: w\ndescription: d\nsteps:\n\t- id: a\n",
        4,
        1,
        "a tab character",
        "replace the tab with spaces",
    );
    // An unquoted template inside a flow map.
    assert_error(
        &with_steps("  - id: a\n    action: x.y\n    with: { repo: ${payload.repo} }\n"),
        8,
        20,
        "invalid YAML",
        "quote templates",
    );
    // A template without its dollar and quotes: YAML reads a map.
    assert_error(
        &with_steps("  - id: a\n    action: x.y\n    with:\n      repo: {payload.repo}\n"),
        9,
        13,
        "`{payload.repo}` is read by YAML as a map",
        "\"${payload.repo}\"",
    );
    assert_error(
        &with_steps("  - id: a\n    action: x.y\n    if: {payload.repo}\n"),
        8,
        9,
        "invalid type: map",
        "\"${payload.repo}\"",
    );
    // An unquoted whole-value template in block style is a plain string and works.
    let w = parse(&with_steps(
        "  - id: a\n    action: x.y\n    with:\n      repo: ${payload.repo}\n",
    ));
    assert_eq!(
        w.steps[0]
            .render_args(&scope(json!({"repo": "r"})))
            .unwrap(),
        json!({"repo": "r"})
    );
    assert_error(
        "name: w\ndescription: d\nname: v\nsteps: []\n",
        3,
        1,
        "duplicate key `name`",
        "remove one",
    );
    assert_error(
        &with_steps("  - id: a\n    action: x.y\n    continue_on_error: yes\n"),
        8,
        24,
        "expected a boolean",
        "`true` or `false`",
    );
    assert_error("name: 'w\n", 2, 1, "invalid YAML", "");
}

#[test]
fn required_parts_are_required() {
    assert_error(
        "name: w\nsteps: []\n",
        1,
        1,
        "missing key `description`",
        "add `description: ...`",
    );
    assert_error(
        "name: w\ndescription: d\nsteps: []\n",
        3,
        8,
        "the workflow has no steps",
        "",
    );
    assert_error(
        "name: W-1\ndescription: d\nsteps: []\n",
        1,
        7,
        "`W-1` is not a valid workflow name",
        "`w_1`",
    );
    assert_error(
        &with_steps("  - id: a\n    action: x.y\n    with: [1]\n"),
        8,
        11,
        "`with` must be a map of arguments",
        "",
    );
}

#[test]
fn errors_display_with_their_position_and_help() {
    let e = error("name: w\ndescription: d\nstpes: []\n");
    assert_eq!(
        e.to_string(),
        "wf.yaml:3:1: unknown key `stpes` in the workflow\n  help: did you mean `steps`?"
    );
}

// ---------------------------------------------------------------------------------------------
// Payload validation

const VALIDATED: &str = r#"name: agent_pr_workflow
description: d
inputs:
  repo:   { type: string, required: true, pattern: '^[\w.-]+/[\w.-]+$' }
  branch: { type: string, required: true }
  count:  { type: int, min: 1, max: 10 }
  ratio:  { type: number, max: 1 }
  mode:   { type: string, enum: [fast, safe], default: safe }
  tags:   { type: list, max: 2 }
  meta:   { type: map }
  dry:    { type: bool, default: false }
  title:  { type: string, default: "Agent: ${payload.branch} (${payload.mode})" }
  size:   { type: int, default: "${len(payload.tags ?? [])}" }
steps:
  - id: a
    action: x.y
"#;

#[test]
fn a_good_payload_gets_its_defaults() {
    let w = parse(VALIDATED);
    let out = w
        .validate_payload(
            &json!({"repo": "acme/api", "branch": "b1", "tags": ["x"], "ratio": 1, "meta": null}),
        )
        .unwrap();
    assert_eq!(
        out,
        json!({
            "repo": "acme/api", "branch": "b1", "tags": ["x"], "ratio": 1,
            "mode": "safe", "dry": false, "title": "Agent: b1 (safe)", "size": 1
        }),
        "defaults filled in order (title reads the mode default), nulls dropped"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let w = parse(VALIDATED);
    let problems = w
        .validate_payload(&json!({
            "repo": "not a repo", "brnach": "b1", "count": 3.0, "ratio": 1.5,
            "mode": "fsat", "tags": ["a", "b", "c"], "meta": [], "dry": "no"
        }))
        .unwrap_err();
    let got: Vec<(&str, ProblemKind)> = problems
        .iter()
        .map(|p| (p.field.as_str(), p.kind))
        .collect();
    assert_eq!(
        got,
        [
            ("brnach", ProblemKind::Unknown),
            ("repo", ProblemKind::Invalid),
            ("branch", ProblemKind::Missing),
            ("count", ProblemKind::Invalid),
            ("ratio", ProblemKind::Invalid),
            ("mode", ProblemKind::Invalid),
            ("tags", ProblemKind::Invalid),
            ("meta", ProblemKind::Invalid),
            ("dry", ProblemKind::Invalid),
        ]
    );
    let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let expected = [
        "unknown field `brnach` in the payload of workflow `agent_pr_workflow` — did you mean `branch`?",
        r#"field `repo` of workflow `agent_pr_workflow` must match the pattern `^[\w.-]+/[\w.-]+$`, got `"not a repo"`"#,
        "missing required field `branch` (string) in the payload of workflow `agent_pr_workflow`",
        "field `count` of workflow `agent_pr_workflow` must be an int, got the float `3.0`",
        "field `ratio` of workflow `agent_pr_workflow` must be at most 1, got 1.5",
        r#"field `mode` of workflow `agent_pr_workflow` must be one of `"fast"`, `"safe"`, got `"fsat"` — did you mean `fast`?"#,
        "field `tags` of workflow `agent_pr_workflow` must have at most 2 items, got 3",
        "field `meta` of workflow `agent_pr_workflow` must be a map, got the list `[]`",
        "field `dry` of workflow `agent_pr_workflow` must be a bool, got the string `\"no\"`",
    ];
    assert_eq!(messages, expected);
}

#[test]
fn bounds_and_types_at_the_edges() {
    let w = parse(VALIDATED);
    let base = json!({"repo": "a/b", "branch": "b"});
    let with = |key: &str, value: serde_json::Value| {
        let mut payload = base.clone();
        payload[key] = value;
        w.validate_payload(&payload)
    };
    assert!(with("count", json!(1)).is_ok());
    assert!(with("count", json!(10)).is_ok());
    assert!(with("count", json!(0)).is_err());
    assert!(with("count", json!(11)).is_err());
    assert!(with("ratio", json!(1)).is_ok(), "an int is a number");
    assert!(with("ratio", json!(0.5)).is_ok());
    assert!(with("tags", json!([])).is_ok());
    let missing = w.validate_payload(&json!({})).unwrap_err();
    assert_eq!(missing.len(), 2, "repo and branch: {missing:?}");
    let not_object = w.validate_payload(&json!([1])).unwrap_err();
    assert_eq!(not_object[0].kind, ProblemKind::NotAnObject);
    assert!(not_object[0].message.contains("must be a JSON object"));
}

#[test]
fn a_templated_default_that_fails_is_a_problem() {
    let w = parse(
        "name: w\ndescription: d\ninputs:\n  a: { type: string }\n  b: { type: string, default: \"${payload.a}!\" }\n  n: { type: int, default: \"${payload.a}\" }\nsteps:\n  - id: s\n    action: x.y\n",
    );
    let problems = w.validate_payload(&json!({})).unwrap_err();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[0].field, "b");
    assert_eq!(problems[0].kind, ProblemKind::BadDefault);
    assert!(
        problems[0].message.contains("`payload.a` is null"),
        "{}",
        problems[0]
    );
    let problems = w.validate_payload(&json!({"a": "x"})).unwrap_err();
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0]
            .message
            .contains("must be an int, got the string `\"x\"`"),
        "{}",
        problems[0]
    );
}

#[test]
fn a_workflow_without_inputs_takes_an_empty_payload_only() {
    let w = parse("name: w\ndescription: d\nsteps:\n  - id: s\n    action: x.y\n");
    assert_eq!(w.validate_payload(&json!(null)).unwrap(), json!({}));
    let problems = w.validate_payload(&json!({"x": 1})).unwrap_err();
    assert!(
        problems[0].message.ends_with("it takes no inputs"),
        "{}",
        problems[0]
    );
}

// ---------------------------------------------------------------------------------------------
// Templates

const TEMPLATED: &str = r#"name: t
description: d
inputs:
  n:    { type: int }
  name: { type: string }
  obj:  { type: map }
  cmd:  { type: string }
steps:
  - id: first
    action: x.y
    with:
      typed_int: "${payload.n}"
      typed_map: "${payload.obj}"
      sum: "${payload.n + 1}"
      text: "n=${payload.n}, obj=${payload.obj}"
      escaped: "$${payload.n} is ${payload.n}"
      lowered: "${lower(payload.name)}"
      commands: "${len(shell.commands(payload.cmd))}"
      nested: { list: ["${payload.n}", "x-${payload.name}"], plain: 3, none: null }
  - id: second
    action: x.y
    if: steps.first.success
    with:
      url: "${steps.first.output.url}"
      fixed: "${upper(payload.name)}"
  - id: third
    action: x.y
    if: payload.n > 5
    with: {}
"#;

#[test]
fn templates_render_typed_and_interpolated() {
    let w = parse(TEMPLATED);
    let scope =
        scope(json!({"n": 4, "name": "Ada", "obj": {"k": [1, 2]}, "cmd": "ls && rm -rf x"}));
    assert_eq!(
        w.steps[0].render_args(&scope).unwrap(),
        json!({
            "typed_int": 4,
            "typed_map": {"k": [1, 2]},
            "sum": 5,
            "text": "n=4, obj={k: [1, 2]}",
            "escaped": "${payload.n} is 4",
            "lowered": "ada",
            "commands": 2,
            "nested": {"list": [4, "x-Ada"], "plain": 3, "none": null},
        })
    );
}

#[test]
fn template_errors_name_their_step_argument_and_text() {
    let w = parse(TEMPLATED);
    let scope = scope(json!({"n": 4, "obj": {}, "cmd": ""}));
    let e = w.steps[0].render_args(&scope).unwrap_err();
    assert_eq!(e.origin, "step `first`, argument `lowered`");
    assert_eq!(e.template, "${lower(payload.name)}");
    assert!(e.message.contains("must be a string, got null"), "{e}");
    let e = w.steps[1].render_args(&scope).unwrap_err();
    assert_eq!(e.origin, "step `second`, argument `url`");
    assert!(
        e.to_string().contains("`steps.first.output.url` is null"),
        "{e}"
    );
    let scope_with_string_n = self::scope(json!({"n": "4", "obj": {}}));
    let e = w.steps[0].render_args(&scope_with_string_n).unwrap_err();
    assert_eq!(e.origin, "step `first`, argument `sum`");
    assert!(e.message.contains("string"), "{e}");
    let e = w.steps[0]
        .condition
        .as_ref()
        .map(|c| c.origin().to_string());
    assert_eq!(e, None);
    assert_eq!(
        w.steps[2].condition.as_ref().unwrap().origin(),
        "the `if` of step `third`"
    );
}

#[test]
fn policies_still_cannot_read_steps() {
    let set = PolicySet::from_sources(vec![(
        SourceFile::new(
            "t.enact",
            "policy p {\n  deny when steps.a.success because \"x\"\n}\n",
        ),
        "t".into(),
        "t".into(),
        false,
    )]);
    let d = set.diagnostics.iter().find(|d| d.is_error()).unwrap();
    assert_eq!(d.message, "unknown name `steps`");
    assert_eq!(
        d.help.as_deref(),
        Some(
            "names are parameters, `let`s, quantifier variables, or input, payload, actor, action, workflow, plan, now, env"
        )
    );
}

#[test]
fn the_plan_resolves_what_does_not_depend_on_earlier_steps() {
    let w = parse(TEMPLATED);
    let scope = scope(json!({"n": 4, "name": "Ada", "obj": {}, "cmd": "ls"}));
    let plan = w.plan(&scope).unwrap();
    let summary: Vec<(&str, bool, Option<bool>)> = plan
        .iter()
        .map(|s| (s.id.as_str(), s.resolved, s.will_run))
        .collect();
    assert_eq!(
        summary,
        [
            ("first", true, Some(true)),
            ("second", false, None),
            ("third", true, Some(false))
        ]
    );
    assert_eq!(plan[1].args, json!({"url": null, "fixed": "ADA"}));
    assert_eq!(plan[1].condition.as_deref(), Some("steps.first.success"));
    assert_eq!(plan[1].system, "x");
    assert_eq!(plan[1].action, "y");
    let as_json = serde_json::to_value(&plan[2]).unwrap();
    assert_eq!(
        as_json,
        json!({"id": "third", "system": "x", "action": "y", "args": {}, "resolved": true,
               "condition": "payload.n > 5", "will_run": false})
    );
    let broken = w.plan(&self::scope(json!({"n": 4}))).unwrap_err();
    assert_eq!(broken.origin, "step `first`, argument `typed_map`");
}

#[test]
fn template_values_know_their_templates() {
    let w = parse(TEMPLATED);
    let texts: Vec<&str> = w.steps[1].with.templates().map(|t| t.text()).collect();
    assert_eq!(
        texts,
        ["${steps.first.output.url}", "${upper(payload.name)}"]
    );
    assert!(w.steps[1].with.depends_on_steps());
    assert!(matches!(
        &w.steps[0].with,
        TemplateValue::Map(entries) if entries[0].0 == "typed_int"
    ));
}

// ---------------------------------------------------------------------------------------------
// Built-in workflows

/// The parameters of the embedded connectors' actions (SPEC §6), by the system the built-ins
/// call them on (`db` is the user's sqlite or postgres system): (system, action, required,
/// optional).
const ACTIONS: [(&str, &str, &[&str], &[&str]); 15] = [
    (
        "filesystem",
        "write_file",
        &["path", "content"],
        &["create_dirs"],
    ),
    ("filesystem", "delete_file", &["path"], &[]),
    ("filesystem", "read_file", &["path"], &[]),
    ("filesystem", "list_dir", &[], &["path"]),
    ("sqlite", "insert_row", &["table", "values"], &[]),
    ("sqlite", "update_row", &["table", "where", "set"], &[]),
    ("sqlite", "delete_row", &["table", "where"], &[]),
    (
        "sqlite",
        "select_rows",
        &["table"],
        &["where", "columns", "order_by", "limit"],
    ),
    ("db", "insert_row", &["table", "values"], &[]),
    ("github", "create_branch", &["repo", "branch"], &["from"]),
    (
        "github",
        "create_pr",
        &["repo", "branch", "title"],
        &["base", "body", "draft"],
    ),
    (
        "slack",
        "post_message",
        &["channel", "text"],
        &["thread_ts"],
    ),
    (
        "hubspot",
        "create_contact",
        &["email"],
        &["firstname", "lastname", "phone", "company", "properties"],
    ),
    (
        "hubspot",
        "create_task",
        &["contact_id", "subject"],
        &["body", "due"],
    ),
    (
        "db",
        "select_rows",
        &["table"],
        &["where", "columns", "order_by", "limit"],
    ),
];

#[test]
fn every_builtin_loads_and_uses_real_policies_and_actions() {
    let names = workflow::builtin_names();
    assert_eq!(
        names,
        [
            "write_file",
            "delete_file",
            "insert_row",
            "update_rows",
            "delete_rows",
            "db_safe_insert",
            "post_slack_message",
            "new_lead",
            "agent_pr_workflow"
        ]
    );
    for name in names {
        let w = workflow::builtin(name)
            .unwrap()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(w.name, name);
        assert_eq!(w.source_name, format!("builtin:{name}"));
        assert!(w.description.len() > 40, "{name} explains itself");
        assert!(!w.policies.is_empty(), "{name} has policies");
        for entry in &w.policies {
            let PolicySource::Library(id) = &entry.source else {
                panic!("{name}: built-ins use library policies only")
            };
            let policy = library::builtin(id).unwrap_or_else(|| panic!("{name}: no policy {id}"));
            library::bind(&policy, &entry.with, entry.level)
                .unwrap_or_else(|e| panic!("{name}: {id}: {e}"));
        }
        for step in &w.steps {
            let (_, _, required, optional) = ACTIONS
                .iter()
                .find(|(s, a, ..)| *s == step.system && *a == step.action)
                .unwrap_or_else(|| {
                    panic!("{name}: unknown action {}.{}", step.system, step.action)
                });
            let TemplateValue::Map(args) = &step.with else {
                panic!("{name}: with is a map")
            };
            let given: Vec<&str> = args.iter().map(|(k, _)| k.as_str()).collect();
            for param in *required {
                assert!(given.contains(param), "{name}: {} lacks `{param}`", step.id);
            }
            for arg in &given {
                assert!(
                    required.contains(arg) || optional.contains(arg),
                    "{name}: {} passes unknown `{arg}`",
                    step.id
                );
            }
        }
        for (input, spec) in &w.inputs {
            assert!(
                spec.description.is_some(),
                "{name}: input `{input}` is described"
            );
        }
    }
    assert!(workflow::builtin("nope").is_none());
}

#[test]
fn builtin_workflows_render_their_steps_from_a_payload() {
    let w = workflow::builtin("write_file").unwrap().unwrap();
    let payload = w
        .validate_payload(&json!({"path": "notes/a.md", "content": "hi"}))
        .unwrap();
    let plan = w.plan(&scope(payload)).unwrap();
    assert_eq!(
        plan[0].args,
        json!({"path": "notes/a.md", "content": "hi", "create_dirs": false})
    );

    let w = workflow::builtin("delete_rows").unwrap().unwrap();
    let problems = w
        .validate_payload(&json!({"table": "users; DROP TABLE x", "wher": {"id": 1}}))
        .unwrap_err();
    let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        messages.iter().any(|m| m.contains("did you mean `where`?")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("must match the pattern")),
        "{messages:?}"
    );
    let payload = w
        .validate_payload(&json!({"table": "users", "where": {"id": 1}}))
        .unwrap();
    assert_eq!(
        w.plan(&scope(payload)).unwrap()[0].args,
        json!({"table": "users", "where": {"id": 1}})
    );
}

// ---------------------------------------------------------------------------------------------
// Broken input never panics

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

    /// Any edit of a valid workflow loads or fails with a position inside the text.
    #[test]
    fn edited_workflows_load_or_fail_cleanly(
        at in 0usize..SPEC_EXAMPLE.len(),
        cut in 0usize..12,
        insert in "[ -~\t\n]{0,6}",
    ) {
        let mut text: String = SPEC_EXAMPLE.chars().take(at).collect();
        text.push_str(&insert);
        text.extend(SPEC_EXAMPLE.chars().skip(at + cut));
        if let Err(e) = workflow::parse("wf.yaml", &text) {
            let lines = text.lines().count() + 1;
            proptest::prop_assert!(e.line.is_none_or(|l| l >= 1 && l <= lines), "{e}");
            proptest::prop_assert!(!e.message.contains('\u{1f}'), "{e}");
        }
    }

    /// Any string is a literal, a template, or a clean error.
    #[test]
    fn any_argument_string_is_handled(value in "[ -~]{0,24}") {
        let quoted = serde_json::to_string(&value).unwrap();
        let text = with_steps(&format!("  - id: a\n    action: x.y\n    with:\n      v: {quoted}\n"));
        match workflow::parse("wf.yaml", &text) {
            Ok(w) => { let _ = w.steps[0].render_args(&scope(json!({"repo": "r"}))); }
            Err(e) => proptest::prop_assert_eq!(e.line, Some(9), "{}", e),
        }
    }
}
