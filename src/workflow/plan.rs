//! The plan of a run: its steps with their arguments resolved where they do not depend on
//! earlier steps' outputs. Policies read it as `plan`; `--dry-run` prints it.

use serde::Serialize;

use super::Workflow;
use super::template::{TemplateError, TemplateScope, TemplateValue};

/// One step as planned before anything runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedStep {
    pub id: String,
    pub system: String,
    pub action: String,
    /// The arguments; an argument that reads `steps` is null until its step runs.
    pub args: serde_json::Value,
    /// Whether every argument is known (none reads `steps`).
    pub resolved: bool,
    /// The `if` as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Whether the step will run: true without an `if`, the `if`'s value when it reads no
    /// `steps`, unknown (null) otherwise.
    pub will_run: Option<bool>,
}

impl Workflow {
    /// Plans the steps against a scope in which no step has run. A template that fails on the
    /// payload or actor now would fail when its step runs, so it fails the plan.
    pub fn plan(&self, scope: &TemplateScope) -> Result<Vec<PlannedStep>, TemplateError> {
        self.steps
            .iter()
            .map(|step| {
                let args = match &step.with {
                    TemplateValue::Map(entries) => serde_json::Value::Object(
                        entries
                            .iter()
                            .map(|(name, value)| {
                                let arg = if value.depends_on_steps() {
                                    serde_json::Value::Null
                                } else {
                                    value.render(scope)?
                                };
                                Ok((name.clone(), arg))
                            })
                            .collect::<Result<_, TemplateError>>()?,
                    ),
                    other => other.render(scope)?,
                };
                let will_run = match &step.condition {
                    None => Some(true),
                    Some(condition) if condition.depends_on_steps() => None,
                    Some(condition) => Some(condition.evaluate_condition(scope)?),
                };
                Ok(PlannedStep {
                    id: step.id.clone(),
                    system: step.system.clone(),
                    action: step.action.clone(),
                    args,
                    resolved: !step.with.depends_on_steps(),
                    condition: step.condition.as_ref().map(|c| c.text().to_string()),
                    will_run,
                })
            })
            .collect()
    }
}
