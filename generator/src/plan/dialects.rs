//! Which model APIs take each tool's input schema as the server lists it
//! (`schema_profile:`): per tool for `mcpgen list` and the lint, counted for
//! the generated README. The dialects and the portable form are
//! `mcpgen_spec::dialect` and `mcpgen_spec::portable`, which the runtime
//! lists with, so what is reported is what is served.

use mcpgen_spec::SchemaProfile;
use mcpgen_spec::dialect::{self, Dialect, Verdicts};
use serde::Serialize;
use serde_json::Value;

use super::ToolPlan;

/// One dialect over a crate's tools.
#[derive(Debug, Clone, Serialize)]
pub struct DialectCount {
    pub name: &'static str,
    pub label: &'static str,
    pub passing: usize,
    pub total: usize,
    /// The first tool refused, and why.
    pub first_refused: Option<String>,
}

/// A planned input schema as `tools/list` shows it under `profile`.
pub fn listed(input_schema: &str, profile: SchemaProfile) -> Value {
    let schema: Value = serde_json::from_str(input_schema).expect("planned input schemas are JSON");
    match profile {
        SchemaProfile::Full => schema,
        SchemaProfile::Portable => mcpgen_spec::portable::portable(&schema),
    }
}

/// Each dialect's refusal of one tool's listed input schema (`None`: taken), in `Dialect::ALL` order.
pub fn verdicts(tool: &ToolPlan, profile: SchemaProfile) -> Verdicts {
    dialect::check_all(&listed(&tool.input_schema, profile))
}

/// Every dialect over the crate's tools, from their verdicts.
pub fn count(tools: &[ToolPlan], verdicts: &[Verdicts]) -> Vec<DialectCount> {
    Dialect::ALL
        .iter()
        .enumerate()
        .map(|(i, dialect)| {
            let refused = || {
                verdicts
                    .iter()
                    .zip(tools)
                    .filter_map(|(v, t)| Some((t, v[i].1.as_ref()?)))
            };
            DialectCount {
                name: dialect.as_str(),
                label: dialect.label(),
                passing: tools.len() - refused().count(),
                total: tools.len(),
                first_refused: refused().next().map(|(t, why)| format!("`{}`: {why}", t.name)),
            }
        })
        .collect()
}

/// OpenAI takes at most this many tools in one request.
pub const OPENAI_MAX_TOOLS: usize = 128;

/// When the default surface lists more tools than OpenAI takes in one request, what to do.
pub fn too_many_for_openai(plan: &super::Plan) -> Option<String> {
    let listed = plan.tools.len();
    (plan.surface.lists_operations() && listed > OPENAI_MAX_TOOLS).then(|| {
        format!(
            "OpenAI takes at most {OPENAI_MAX_TOOLS} tools in one request, and the `{}` surface lists {listed}: \
             serve `--surface discovery` or `--toolsets` to such hosts",
            plan.surface.as_str()
        )
    })
}

/// One line over the crate: each dialect's count, as listed.
pub fn summary(counts: &[DialectCount], profile: SchemaProfile) -> String {
    let each: Vec<String> = counts
        .iter()
        .map(|c| format!("{} takes {} of {}", c.name, c.passing, c.total))
        .collect();
    format!(
        "model APIs: as listed (`schema_profile: {}`), {}",
        profile.as_str(),
        each.join(", ")
    )
}

/// Per tool, each dialect that refuses its listed input schema and why.
pub fn refusals(tools: &[ToolPlan], profile: SchemaProfile) -> Vec<String> {
    let mut lines = Vec::new();
    for tool in tools {
        for (dialect, refusal) in verdicts(tool, profile) {
            if let Some(refusal) = refusal {
                lines.push(format!("  {}: {}: {refusal}", tool.name, dialect.as_str()));
            }
        }
    }
    lines
}
