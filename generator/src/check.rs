//! The self-check: every planned tool checked the way the strictest client
//! will, before anything is written. Input: the plan. Output: the plan with
//! failing output schemas dropped, and diagnostics.
//!
//! - An input schema must be valid JSON Schema 2020-12 (checked against the
//!   meta-schema) and compile with the validator the runtime uses (which also
//!   fails on a `$ref` that doesn't resolve inside the schema): otherwise the
//!   tool can't be called, which is an error naming the operation.
//! - An output schema that fails the same checks is dropped with a warning:
//!   the tool works without one.
//! - Tool names must be valid for MCP (`^[a-zA-Z0-9_-]{1,64}$`) and unique.
//!
//! Each finding names the operation (its document path; line:column are
//! added on the error path) and says how to get past it.

use std::collections::HashMap;

use serde_json::Value;

use crate::diag::Diagnostic;
use crate::plan::{Plan, ToolPlan};

/// What is wrong with one schema, or None when a strict client takes it.
pub fn schema_problem(text: &str) -> Option<String> {
    let schema: Value = match serde_json::from_str(text) {
        Ok(schema) => schema,
        Err(e) => return Some(format!("is not JSON ({e})")),
    };
    if let Err(e) = jsonschema::draft202012::meta::validate(&schema) {
        let at = e.instance_path().to_string();
        let at = if at.is_empty() {
            String::new()
        } else {
            format!(" at {at}")
        };
        return Some(format!("is not valid JSON Schema 2020-12{at}: {e}"));
    }
    // The runtime's validator (`jsonschema::validator_for`), which resolves every `$ref`.
    jsonschema::validator_for(&schema)
        .err()
        .map(|e| format!("does not compile with the runtime's validator: {e}"))
}

/// Check every tool (on every core); drop failing output schemas.
pub fn check(plan: &mut Plan, spec_file: &str) -> Vec<Diagnostic> {
    let problems = crate::parallel::map_ordered(&plan.tools, |tool| {
        (
            schema_problem(&tool.input_schema),
            tool.output_schema.as_deref().and_then(schema_problem),
        )
    });
    let mut diagnostics: Vec<Diagnostic> = plan
        .tools
        .iter_mut()
        .flat_map(|t| std::mem::take(&mut t.findings))
        .collect();
    for (tool, (input, output)) in plan.tools.iter_mut().zip(problems) {
        if let Some(problem) = input {
            diagnostics.push(
                Diagnostic::new(spec_file, format!("tool `{}`: its input schema {problem}", tool.name))
                    .at(&tool.pointer)
                    .help(format!("fix the schema in the spec, or {}", exclude_help(tool))),
            );
        }
        if let Some(problem) = output {
            tool.output_schema = None;
            diagnostics.push(
                Diagnostic::new(
                    spec_file,
                    format!("tool `{}`: its output schema {problem}; the tool is generated without one", tool.name),
                )
                .at(&tool.pointer)
                .warning()
                .help("the result still carries the response as structured content; fix the response schema in the spec, or set `output_schemas: false`"),
            );
        }
    }
    let mut seen: HashMap<&str, &ToolPlan> = HashMap::new();
    for tool in &plan.tools {
        let valid = (1..=64).contains(&tool.name.len())
            && tool
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid {
            diagnostics.push(
                Diagnostic::new(
                    spec_file,
                    format!(
                        "tool name `{}` is not valid for MCP (^[a-zA-Z0-9_-]{{1,64}}$)",
                        tool.name
                    ),
                )
                .at(&tool.pointer)
                .help(format!(
                    "set `tools.<operationId>.name` in mcpgen.yaml, or {}",
                    exclude_help(tool)
                )),
            );
        }
        if let Some(first) = seen.insert(&tool.name, tool) {
            diagnostics.push(
                Diagnostic::new(
                    spec_file,
                    format!(
                        "tool name `{}` is taken twice: {} {} and {} {}",
                        tool.name, first.http_method, first.path, tool.http_method, tool.path
                    ),
                )
                .at(&tool.pointer)
                .help("give one of them another name with `tools.<operationId>.name` in mcpgen.yaml"),
            );
        }
    }
    diagnostics
}

fn exclude_help(tool: &ToolPlan) -> String {
    match &tool.operation_id {
        Some(id) => format!("exclude it with `exclude: {{operations: [{id}]}}` in mcpgen.yaml"),
        None => format!(
            "exclude it with `exclude: {{paths: [\"{}\"], methods: [{}]}}` in mcpgen.yaml",
            tool.path, tool.http_method
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_a_strict_client_refuses() {
        assert_eq!(
            schema_problem(r#"{"type": "object", "properties": {"a": {"type": "string"}}}"#),
            None
        );
        let bad_type = schema_problem(r#"{"type": "object", "properties": {"a": {"type": "text"}}}"#).unwrap();
        assert!(
            bad_type.starts_with("is not valid JSON Schema 2020-12 at /properties/a/type"),
            "{bad_type}"
        );
        let dangling =
            schema_problem(r##"{"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}}}"##).unwrap();
        assert!(
            dangling.starts_with("does not compile with the runtime's validator"),
            "{dangling}"
        );
        let recursive_ref = schema_problem(r##"{"type": "object", "properties": {"a": {"$recursiveRef": "#"}}}"##);
        assert_eq!(
            recursive_ref, None,
            "2020-12 ignores draft 2019-09 keywords it doesn't know"
        );
        assert!(schema_problem("{").unwrap().starts_with("is not JSON"));
    }
}
