//! Cedar's side: `agent.cedar` validated against `agent.cedarschema`, one raw request turned
//! into a Cedar request (the principal an `Agent` entity with its role, the tool call the
//! action, the context parsed with the schema so `now` is a `datetime`), and the decision.
//!
//! Of Cedar's options the cheaper one is taken wherever it does not change the answer: the
//! schema is used where the JSON needs it (the context's `datetime`) and the entity and the
//! request are not re-validated against it per request (the policies were validated once).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::str::FromStr;

use anyhow::{Context as _, Result, anyhow, bail};
use cedar_policy::{
    Authorizer, Context, Decision, Effect, Entities, Entity, EntityId, EntityTypeName, EntityUid,
    PolicySet, Request, RestrictedExpression, Schema, ValidationMode, Validator,
};

use crate::{Verdict, scenario};

pub struct CedarSide {
    policies: PolicySet,
    /// The `permit` policies alone, to tell "no permit held" from "a forbid held" when
    /// explaining a denial (never on the timed path).
    permits: PolicySet,
    schema: Schema,
    authorizer: Authorizer,
    agent_type: EntityTypeName,
    repo_type: EntityTypeName,
    action_type: EntityTypeName,
}

/// One request in Cedar's terms.
pub struct Prepared {
    request: Request,
    entities: Entities,
}

impl CedarSide {
    /// Loads `agent.cedar` and `agent.cedarschema` and refuses policies that do not validate
    /// strictly against the schema (so no policy can silently error and be skipped).
    pub fn load() -> Result<CedarSide> {
        let dir = scenario::dir();
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
        };
        let policies =
            PolicySet::from_str(&read("agent.cedar")?).map_err(|e| anyhow!("agent.cedar: {e}"))?;
        let (schema, _warnings) = Schema::from_cedarschema_str(&read("agent.cedarschema")?)
            .map_err(|e| anyhow!("agent.cedarschema: {e}"))?;
        let validation = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        if !validation.validation_passed_without_warnings() {
            let problems: Vec<String> = validation
                .validation_errors()
                .map(ToString::to_string)
                .chain(validation.validation_warnings().map(ToString::to_string))
                .collect();
            bail!("agent.cedar does not validate: {}", problems.join("; "));
        }
        let mut permits = PolicySet::new();
        for policy in policies.policies() {
            if policy.effect() == Effect::Permit {
                permits.add(policy.clone()).map_err(|e| anyhow!("{e}"))?;
            }
        }
        let type_name = |name: &str| {
            EntityTypeName::from_str(name).map_err(|e| anyhow!("entity type {name}: {e}"))
        };
        Ok(CedarSide {
            policies,
            permits,
            schema,
            authorizer: Authorizer::new(),
            agent_type: type_name("Agent")?,
            repo_type: type_name("Repo")?,
            action_type: type_name("Action")?,
        })
    }

    pub fn policy_count(&self) -> usize {
        self.policies.policies().count()
    }

    /// Turns one raw request into Cedar's input; see the module's note on the schema.
    pub fn prepare(&self, raw: &str) -> Result<Prepared> {
        let mut json: serde_json::Value =
            serde_json::from_str(raw).context("the request is not JSON")?;
        let text = |value: &serde_json::Value, name: &str| -> Result<String> {
            value
                .get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
                .with_context(|| format!("the request has no string `{name}`"))
        };
        let principal = json
            .get("principal")
            .context("the request has no principal")?;
        let agent = EntityUid::from_type_name_and_id(
            self.agent_type.clone(),
            EntityId::new(text(principal, "id")?),
        );
        let role = RestrictedExpression::new_string(text(principal, "role")?);
        let action = EntityUid::from_type_name_and_id(
            self.action_type.clone(),
            EntityId::new(text(&json, "action")?),
        );
        let resource = EntityUid::from_type_name_and_id(
            self.repo_type.clone(),
            EntityId::new(text(&json, "resource")?),
        );
        let context = json
            .get_mut("context")
            .map(serde_json::Value::take)
            .context("the request has no context")?;
        let context = Context::from_json_value(context, Some((&self.schema, &action)))
            .map_err(|e| anyhow!("context: {e}"))?;
        let entity = Entity::new(
            agent.clone(),
            HashMap::from([("role".to_string(), role)]),
            HashSet::new(),
        )
        .map_err(|e| anyhow!("principal: {e}"))?;
        let entities = Entities::from_entities([entity], None).map_err(|e| anyhow!("{e}"))?;
        let request = Request::new(agent, action, resource, context, None)
            .map_err(|e| anyhow!("request: {e}"))?;
        Ok(Prepared { request, entities })
    }

    /// The decision alone: what the timings measure.
    pub fn allows(&self, prepared: &Prepared) -> bool {
        self.authorizer
            .is_authorized(&prepared.request, &self.policies, &prepared.entities)
            .decision()
            == Decision::Allow
    }

    /// The decision with the policies that denied it, by `@id`: the forbids that held, and
    /// `known_role` when no permit held. Any evaluation error is an error here: Cedar skips a
    /// policy that errors, and the comparison must not hide one.
    pub fn verdict(&self, prepared: &Prepared) -> Result<Verdict> {
        let response =
            self.authorizer
                .is_authorized(&prepared.request, &self.policies, &prepared.entities);
        let errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(ToString::to_string)
            .collect();
        if !errors.is_empty() {
            bail!("cedar evaluation errors: {}", errors.join("; "));
        }
        let allowed = response.decision() == Decision::Allow;
        let mut denied_by = BTreeSet::new();
        if !allowed {
            for id in response.diagnostics().reason() {
                let name = self
                    .policies
                    .annotation(id, "id")
                    .with_context(|| format!("policy {id} has no @id"))?;
                denied_by.insert(name.to_string());
            }
            let permitted = self
                .authorizer
                .is_authorized(&prepared.request, &self.permits, &prepared.entities)
                .decision()
                == Decision::Allow;
            if !permitted {
                denied_by.insert("known_role".to_string());
            }
        }
        Ok(Verdict { allowed, denied_by })
    }
}
