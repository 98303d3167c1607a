//! `enact policies`: the built-in library (id, parameters with defaults, doc line), or with
//! `--functions` the functions policies can call. Both read the same tables the checker uses.

use serde::Serialize;

use super::{JSON_VERSION, Output, exit};
use crate::policy::builtins::BUILTINS;
use crate::policy::library::builtin_all;
use crate::policy::program::CompiledPolicy;

#[derive(Serialize)]
struct PolicyDoc {
    id: String,
    doc: String,
    levels: Vec<&'static str>,
    applies_to: Vec<ScopeDoc>,
    params: Vec<ParamDoc>,
}

#[derive(Serialize)]
struct ScopeDoc {
    kind: &'static str,
    patterns: Vec<String>,
}

#[derive(Serialize)]
struct ParamDoc {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    /// Absent when the parameter is required.
    #[serde(skip_serializing_if = "Option::is_none")]
    default: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct FunctionDoc {
    name: &'static str,
    signature: String,
    doc: &'static str,
}

fn describe(policy: &CompiledPolicy) -> PolicyDoc {
    let mut levels = Vec::new();
    if policy.levels.run {
        levels.push("run");
    }
    if policy.levels.action {
        levels.push("action");
    }
    PolicyDoc {
        id: policy.id.to_string(),
        doc: policy.doc.join(" "),
        levels,
        applies_to: policy
            .scopes
            .iter()
            .map(|s| ScopeDoc {
                kind: s.kind.as_str(),
                patterns: s.patterns.clone(),
            })
            .collect(),
        params: policy
            .params
            .iter()
            .map(|p| ParamDoc {
                name: p.name.clone(),
                ty: p.ty.display(),
                default: p.default.as_ref().map(|d| d.to_json()),
            })
            .collect(),
    }
}

pub fn run(out: &Output, json: bool, functions: bool) -> u8 {
    if functions {
        let docs: Vec<FunctionDoc> = BUILTINS
            .iter()
            .map(|b| FunctionDoc {
                name: b.name,
                signature: b.signature(),
                doc: b.doc,
            })
            .collect();
        if json {
            out.json(&serde_json::json!({ "version": JSON_VERSION, "functions": docs }));
        } else {
            let mut table = table(&["FUNCTION", "DESCRIPTION"]);
            for doc in docs {
                table.add_row(vec![doc.signature, doc.doc.to_string()]);
            }
            out.println(&render(&table));
        }
        return exit::OK;
    }
    let policies: Vec<PolicyDoc> = builtin_all().iter().map(|p| describe(p)).collect();
    if json {
        out.json(&serde_json::json!({ "version": JSON_VERSION, "policies": policies }));
        return exit::OK;
    }
    let mut table = table(&["POLICY", "PARAMETERS", "DESCRIPTION"]);
    for policy in policies {
        let params: Vec<String> = policy
            .params
            .iter()
            .map(|p| match &p.default {
                Some(default) => format!("{}: {} = {default}", p.name, p.ty),
                None => format!("{}: {} (required)", p.name, p.ty),
            })
            .collect();
        table.add_row(vec![policy.id, params.join("\n"), policy.doc]);
    }
    out.println(&render(&table));
    exit::OK
}

/// A table as text, without the padding comfy-table leaves at line ends.
pub fn render(table: &comfy_table::Table) -> String {
    table
        .lines()
        .map(|l| l.trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn table(header: &[&str]) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_width(120)
        .set_header(header.iter().copied());
    table
}
