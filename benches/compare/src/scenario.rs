//! The scenario's files: where they are, and the request cases in `requests.json` (each a raw
//! request as an agent's tool layer would send it, with the policies expected to deny it).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

/// The `scenario/` directory of this project.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenario")
}

/// Which Enact policy files make up one of the two Enact variants of the scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnactVariant {
    /// `agent.enact` + `sql_facts.enact`: the SQL policies read the facts Cedar is given.
    SqlFacts,
    /// `agent.enact` + `sql_text.enact`: the SQL policies parse the statement's text.
    SqlText,
}

impl EnactVariant {
    pub fn files(self) -> Vec<PathBuf> {
        let sql = match self {
            EnactVariant::SqlFacts => "sql_facts.enact",
            EnactVariant::SqlText => "sql_text.enact",
        };
        vec![dir().join("agent.enact"), dir().join(sql)]
    }
}

/// One request of the scenario.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    /// The policies expected to deny it; empty for an allowed request.
    pub denied_by: Vec<String>,
    /// The request as raw JSON text, exactly what the "from raw JSON" timings parse.
    pub raw: String,
}

/// Reads `requests.json`.
pub fn cases() -> Result<Vec<Case>> {
    let path = dir().join("requests.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let items: Vec<serde_json::Value> =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let mut cases = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let name = item
            .get("name")
            .and_then(serde_json::Value::as_str)
            .with_context(|| format!("{}: case {index} has no name", path.display()))?;
        let denied_by = item
            .get("denied_by")
            .and_then(serde_json::Value::as_array)
            .with_context(|| format!("{}: case `{name}` has no denied_by list", path.display()))?
            .iter()
            .map(|p| p.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .with_context(|| {
                format!(
                    "{}: case `{name}`: denied_by holds a non-string",
                    path.display()
                )
            })?;
        let Some(request) = item.get("request") else {
            bail!("{}: case `{name}` has no request", path.display());
        };
        cases.push(Case {
            name: name.to_string(),
            denied_by,
            raw: request.to_string(),
        });
    }
    Ok(cases)
}
