//! Workflows: reviewed sequences of connector actions in YAML, with typed inputs and the
//! policies that guard them. This module reads and checks a workflow file (unknown keys,
//! templates, step order, declared inputs — each error with its line, column and fix),
//! validates payloads against the inputs, and renders step arguments from templates.

mod error;
mod inputs;
mod locate;
mod plan;
mod policy_entry;
mod raw;
mod template;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use error::WorkflowError;

/// A YAML or serde error in any Enact YAML file, with its position and fix; `document` names
/// the kind of file in messages ("the config").
pub fn yaml_error(
    file: &str,
    text: &str,
    error: &serde_yaml::Error,
    document: &str,
) -> WorkflowError {
    error::from_yaml(file, text, error, document)
}
pub use inputs::{InputProblem, InputSpec, InputType, ProblemKind};
pub use plan::PlannedStep;
pub use policy_entry::{PolicyEntry, PolicySource};
pub use template::{TEMPLATE_ROOTS, Template, TemplateError, TemplateScope, TemplateValue};

use error::Problem;
use locate::{Segment, locate};
use raw::{RawWorkflow, is_identifier};
use template::Reference;

use crate::policy::diagnostic::did_you_mean;

/// The built-in workflows, compiled into the binary: (name, YAML).
const BUILTINS: [(&str, &str); 9] = [
    (
        "write_file",
        include_str!("../../workflows/write_file.yaml"),
    ),
    (
        "delete_file",
        include_str!("../../workflows/delete_file.yaml"),
    ),
    (
        "insert_row",
        include_str!("../../workflows/insert_row.yaml"),
    ),
    (
        "update_rows",
        include_str!("../../workflows/update_rows.yaml"),
    ),
    (
        "delete_rows",
        include_str!("../../workflows/delete_rows.yaml"),
    ),
    (
        "db_safe_insert",
        include_str!("../../workflows/db_safe_insert.yaml"),
    ),
    (
        "post_slack_message",
        include_str!("../../workflows/post_slack_message.yaml"),
    ),
    ("new_lead", include_str!("../../workflows/new_lead.yaml")),
    (
        "agent_pr_workflow",
        include_str!("../../workflows/agent_pr_workflow.yaml"),
    ),
];

/// The fields of `actor` a template can read.
const ACTOR_FIELDS: [&str; 3] = ["email", "role", "attributes"];
/// The fields of `steps.<id>` a template can read.
const STEP_FIELDS: [&str; 2] = ["success", "output"];

/// A checked workflow, ready to validate payloads and render its steps.
#[derive(Debug, Clone)]
pub struct Workflow {
    pub name: String,
    pub description: String,
    /// In the order declared.
    pub inputs: Vec<(String, InputSpec)>,
    pub policies: Vec<PolicyEntry>,
    pub steps: Vec<Step>,
    /// In the order declared.
    pub outputs: Vec<(String, TemplateValue)>,
    /// The file as named to users: a path as given, or `builtin:NAME`.
    pub source_name: String,
    /// Hex SHA-256 of the YAML text, for receipts.
    pub sha256: String,
    /// The directory of the file, for workflows loaded from disk.
    pub dir: Option<PathBuf>,
}

/// One step: a connector action with its arguments.
#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    /// The configured system (`github`, `files`), before the dot of `action`.
    pub system: String,
    /// The action's name, after the dot.
    pub action: String,
    /// The arguments: always a map (empty when the step has no `with`).
    pub with: TemplateValue,
    /// `if:`; the step runs only when it is true.
    pub condition: Option<Template>,
    pub continue_on_error: bool,
    /// The line of the step in its file.
    pub line: usize,
}

impl Step {
    /// The step's arguments with every template evaluated.
    pub fn render_args(&self, scope: &TemplateScope) -> Result<serde_json::Value, TemplateError> {
        self.with.render(scope)
    }

    /// Whether the step runs: its `if`, or true without one.
    pub fn should_run(&self, scope: &TemplateScope) -> Result<bool, TemplateError> {
        self.condition
            .as_ref()
            .map_or(Ok(true), |condition| condition.evaluate_condition(scope))
    }
}

impl Workflow {
    /// Checks a payload against `inputs` and returns it with defaults filled in.
    ///
    /// Every problem is reported, not the first: unknown fields (with the nearest declared
    /// name), missing required fields, wrong types (an int is a number; a float is never an
    /// int, even `3.0`), values outside `enum`, strings not matching `pattern`, values outside
    /// `min`/`max` (numbers by value; strings, lists and maps by length). A null field counts
    /// as absent. Defaults are filled in declaration order; a templated default reads the
    /// payload (given fields and earlier defaults) and is computed only when the given fields
    /// are sound. A null payload is an empty one.
    pub fn validate_payload(
        &self,
        payload: &serde_json::Value,
    ) -> Result<serde_json::Value, Vec<InputProblem>> {
        inputs::validate(&self.name, &self.inputs, payload)
    }

    /// The outputs with every template evaluated, as a map.
    pub fn render_outputs(
        &self,
        scope: &TemplateScope,
    ) -> Result<serde_json::Value, TemplateError> {
        let entries = self
            .outputs
            .iter()
            .map(|(name, value)| Ok((name.clone(), value.render(scope)?)))
            .collect::<Result<serde_json::Map<_, _>, TemplateError>>()?;
        Ok(serde_json::Value::Object(entries))
    }

    /// The step with this id.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }
}

/// Reads a workflow from YAML text. `source_name` names it in errors (a path, `builtin:x`).
pub fn parse(source_name: &str, text: &str) -> Result<Workflow, WorkflowError> {
    let raw: RawWorkflow = serde_yaml::from_str(text)
        .map_err(|e| error::from_yaml(source_name, text, &e, "the workflow"))?;
    Builder {
        file: source_name,
        text,
    }
    .build(raw)
}

/// Reads a workflow file. Relative `file:` policy paths are resolved against its directory.
pub fn load(path: &Path) -> Result<Workflow, WorkflowError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        WorkflowError::new(&name, format!("cannot read the workflow file: {e}")).help(Some(
            "give the path of a workflow YAML file, or the name of a built-in workflow".into(),
        ))
    })?;
    let mut workflow = parse(&name, &text)?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    for entry in &mut workflow.policies {
        entry.resolve_relative_to(&dir);
    }
    workflow.dir = Some(dir);
    Ok(workflow)
}

/// A built-in workflow by name; `None` when there is none of that name.
pub fn builtin(name: &str) -> Option<Result<Workflow, WorkflowError>> {
    let (_, text) = BUILTINS.iter().find(|(n, _)| *n == name)?;
    Some(parse(&format!("builtin:{name}"), text))
}

pub fn builtin_names() -> Vec<&'static str> {
    BUILTINS.iter().map(|(name, _)| *name).collect()
}

// ---------------------------------------------------------------------------------------------
// Whole-workflow checks

struct Builder<'a> {
    file: &'a str,
    text: &'a str,
}

/// Where a template sits, for the checks of what it reads.
struct Reads<'a> {
    /// The roots it may read.
    roots: &'a [&'a str],
    inputs: &'a [&'a str],
    /// Steps it may read, and every step (for "runs after" messages).
    earlier: &'a [&'a str],
    all_steps: &'a [&'a str],
    owner: Owner<'a>,
}

/// What a template belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Owner<'a> {
    /// The default of this input.
    Input(&'a str),
    /// This step's `with` or `if`.
    Step(&'a str),
    Output,
}

impl Builder<'_> {
    fn error(&self, path: &[Segment], problem: Problem) -> WorkflowError {
        error::located(
            self.file,
            self.text,
            Some(&locate::display(path)),
            locate(self.text, path),
            problem,
        )
    }

    fn build(&self, raw: RawWorkflow) -> Result<Workflow, WorkflowError> {
        if raw.description.trim().is_empty() {
            return Err(self.error(
                &[Segment::key("description")],
                Problem::new("the description is empty")
                    .help("say what the workflow does: agents and reviewers read it"),
            ));
        }
        let mut inputs = Vec::new();
        for (name, raw_input) in raw.inputs.map(|o| o.0).unwrap_or_default() {
            match InputSpec::from_raw(raw_input) {
                Ok(spec) => inputs.push((name, spec)),
                Err((key, problem)) => {
                    let path = [
                        Segment::key("inputs"),
                        Segment::key(&name),
                        Segment::key(key),
                    ];
                    return Err(self.error(&path, problem));
                }
            }
        }
        let mut outputs = raw.outputs.map(|o| o.0).unwrap_or_default();
        let raw_steps = raw.steps.unwrap_or_default();
        if raw_steps.is_empty() {
            return Err(self.error(
                &[Segment::key("steps")],
                Problem::new("the workflow has no steps")
                    .help("add `steps:` with at least one `- id: ...` and `action: system.action`"),
            ));
        }
        for (section, names) in [
            (
                "inputs",
                inputs.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ),
            ("outputs", outputs.iter().map(|(n, _)| n.as_str()).collect()),
        ] {
            if let Some(bad) = names.iter().find(|n| !is_identifier(n, true)) {
                return Err(self.error(
                    &[Segment::key(section), Segment::key(bad)],
                    Problem::new(format!("`{bad}` is not a valid name in `{section}`"))
                        .help("use letters, digits and `_`, starting with a letter, so templates can read it as `payload.name`"),
                ));
            }
        }
        let ids: Vec<String> = raw_steps.iter().map(|s| s.id.0.clone()).collect();
        for (index, id) in ids.iter().enumerate() {
            if let Some(first) = ids.iter().position(|other| other == id)
                && first < index
            {
                let line = self.step_line(first);
                return Err(self.error(
                    &[
                        Segment::key("steps"),
                        Segment::Index(index),
                        Segment::key("id"),
                    ],
                    Problem::new(format!("step id `{id}` is used twice")).help(format!(
                        "the first step `{id}` is on line {line}; step ids are unique"
                    )),
                ));
            }
        }
        let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let input_names: Vec<String> = inputs.iter().map(|(n, _)| n.clone()).collect();
        let input_refs: Vec<&str> = input_names.iter().map(String::as_str).collect();

        for (name, spec) in &mut inputs {
            let Some(default) = &mut spec.default else {
                continue;
            };
            let reads = Reads {
                roots: &["payload"],
                inputs: &input_refs,
                earlier: &[],
                all_steps: &id_refs,
                owner: Owner::Input(name),
            };
            let base = [
                Segment::key("inputs"),
                Segment::key(name),
                Segment::key("default"),
            ];
            self.check_value(default, &base, &reads, &|_| {
                format!("the default of input `{name}`")
            })?;
        }

        let mut steps = Vec::with_capacity(raw_steps.len());
        for (index, raw_step) in raw_steps.into_iter().enumerate() {
            let id = raw_step.id.0;
            let base = [Segment::key("steps"), Segment::Index(index)];
            let reads = Reads {
                roots: &TEMPLATE_ROOTS,
                inputs: &input_refs,
                earlier: id_refs.get(..index).unwrap_or(&[]),
                all_steps: &id_refs,
                owner: Owner::Step(&id),
            };
            let mut with = raw_step.with.unwrap_or_default();
            let with_path = [base.as_slice(), &[Segment::key("with")]].concat();
            if !matches!(with, TemplateValue::Map(_)) {
                return Err(self.error(
                    &with_path,
                    Problem::new("`with` must be a map of arguments")
                        .help("write `with: { name: value, ... }`"),
                ));
            }
            self.check_value(&mut with, &with_path, &reads, &|path| {
                format!("step `{id}`, argument `{}`", locate::display(path))
            })?;
            let mut condition = raw_step.condition.map(|c| c.0);
            if let Some(condition) = &mut condition {
                let path = [base.as_slice(), &[Segment::key("if")]].concat();
                condition.set_origin(format!("the `if` of step `{id}`"));
                self.check_template(condition, &path, &reads)?;
            }
            steps.push(Step {
                line: self.step_line(index),
                id,
                system: raw_step.action.system,
                action: raw_step.action.action,
                with,
                condition,
                continue_on_error: raw_step.continue_on_error,
            });
        }

        for (name, value) in &mut outputs {
            let reads = Reads {
                roots: &TEMPLATE_ROOTS,
                inputs: &input_refs,
                earlier: &id_refs,
                all_steps: &id_refs,
                owner: Owner::Output,
            };
            let base = [Segment::key("outputs"), Segment::key(name)];
            self.check_value(value, &base, &reads, &|path| {
                if path.is_empty() {
                    format!("output `{name}`")
                } else {
                    format!("output `{name}.{}`", locate::display(path))
                }
            })?;
        }

        Ok(Workflow {
            name: raw.name.0,
            description: raw.description,
            inputs,
            policies: raw.policies.unwrap_or_default(),
            steps,
            outputs,
            source_name: self.file.to_string(),
            sha256: hex::encode(Sha256::digest(self.text.as_bytes())),
            dir: None,
        })
    }

    fn step_line(&self, index: usize) -> usize {
        locate(self.text, &[Segment::key("steps"), Segment::Index(index)]).map_or(0, |(l, _)| l)
    }

    /// Names each template of a value after its place and checks what it reads.
    fn check_value(
        &self,
        value: &mut TemplateValue,
        base: &[Segment],
        reads: &Reads<'_>,
        origin: &dyn Fn(&[Segment]) -> String,
    ) -> Result<(), WorkflowError> {
        let mut result = Ok(());
        value.visit_templates_mut(&mut Vec::new(), &mut |path, template| {
            if result.is_err() {
                return;
            }
            template.set_origin(origin(path));
            let full = [base, path].concat();
            result = self.check_template(template, &full, reads);
        });
        result
    }

    fn check_template(
        &self,
        template: &Template,
        path: &[Segment],
        reads: &Reads<'_>,
    ) -> Result<(), WorkflowError> {
        for reference in template.references() {
            if let Err(problem) = check_reference(reference, reads) {
                return Err(self.error(path, problem.within(reference.offset, template.text())));
            }
        }
        Ok(())
    }
}

/// Whether a template's read can ever succeed where it sits.
fn check_reference(reference: &Reference, reads: &Reads<'_>) -> Result<(), Problem> {
    let root = reference.root.as_str();
    if !reads.roots.contains(&root) {
        return Err(
            Problem::new(format!("`{root}` cannot be read here")).help(format!(
                "this template reads only {}",
                reads.roots.join(", ")
            )),
        );
    }
    let first = reference.fields.first().map(String::as_str);
    let second = reference.fields.get(1).map(String::as_str);
    match (root, first) {
        ("payload", Some(field)) if !reads.inputs.contains(&field) => {
            let help = did_you_mean(field, reads.inputs.iter().copied()).unwrap_or_else(|| {
                format!("declare it under `inputs:` (e.g. `{field}: {{ type: string }}`)")
            });
            Err(Problem::new(format!("`payload.{field}` is not a declared input")).help(help))
        }
        ("payload", Some(field)) if reads.owner == Owner::Input(field) => Err(Problem::new(
            format!("the default of `{field}` reads `payload.{field}` itself"),
        )
        .help("a default is used when the field is absent; compute it from other fields")),
        ("actor", Some(field)) if !ACTOR_FIELDS.contains(&field) => {
            let help = did_you_mean(field, ACTOR_FIELDS)
                .unwrap_or_else(|| format!("the actor has {}", ACTOR_FIELDS.join(", ")));
            Err(Problem::new(format!("the actor has no field `{field}`")).help(help))
        }
        ("steps", Some(step)) => {
            if reads.owner == Owner::Step(step) {
                return Err(Problem::new(format!("step `{step}` reads its own result"))
                    .help("a step reads only the steps before it"));
            }
            if !reads.earlier.contains(&step) {
                if reads.all_steps.contains(&step) {
                    let owner = match reads.owner {
                        Owner::Step(owner) => format!("step `{owner}`"),
                        _ => "this one".to_string(),
                    };
                    return Err(Problem::new(format!("step `{step}` runs after {owner}"))
                    .help("a step reads only the steps before it; move it, or read something else"));
                }
                let help = did_you_mean(step, reads.all_steps.iter().copied())
                    .unwrap_or_else(|| format!("the steps are {}", reads.all_steps.join(", ")));
                return Err(Problem::new(format!("there is no step `{step}`")).help(help));
            }
            match second {
                Some(field) if !STEP_FIELDS.contains(&field) => {
                    let help = did_you_mean(field, STEP_FIELDS).unwrap_or_else(|| {
                        format!("a step has `success` and `output`: `steps.{step}.output.<field>`")
                    });
                    Err(Problem::new(format!("`steps.{step}` has no field `{field}`")).help(help))
                }
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}
