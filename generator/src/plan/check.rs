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

/// What is wrong with one schema (after repairs), or None when a strict client takes it.
pub fn schema_problem(text: &str) -> Option<String> {
    repair(text).err()
}

/// The first problem: where in the schema (a JSON pointer) and what. One
/// pass of the runtime's own validator (`jsonschema::validator_for`), which
/// checks the schema against the 2020-12 meta-schema (formats such as
/// `regex` included: it must compile in this engine) and then resolves every
/// `$ref` while compiling. Schemas reach here without `$schema`, so 2020-12 applies.
fn problem(schema: &Value) -> Option<(String, String)> {
    let e = jsonschema::validator_for(schema).err()?;
    let at = e.instance_path().to_string();
    let shown = if at.is_empty() {
        String::new()
    } else {
        format!(" at {at}")
    };
    let what = match e.kind() {
        jsonschema::error::ValidationErrorKind::Referencing(_) => "does not compile with the runtime's validator",
        _ => "is not valid JSON Schema 2020-12",
    };
    Some((at, format!("{what}{shown}: {e}")))
}

/// Keywords repaired in one schema at most, before it counts as broken.
const MAX_REPAIRS: usize = 32;

/// A schema a strict client takes: the spec's schema with each keyword whose
/// value is invalid (`pattern: 0`, `type: {…}`) or can't be compiled (a
/// regex in another engine's dialect) left out, which only loosens it: the
/// API still checks what is left out. Returns the new text when something
/// was left out, with one note each; Err when a problem is not a keyword's.
pub fn repair(text: &str) -> Result<(Option<String>, Vec<String>), String> {
    let mut schema: Value = serde_json::from_str(text).map_err(|e| format!("is not JSON ({e})"))?;
    let mut notes = Vec::new();
    while let Some((at, message)) = problem(&schema) {
        let (parent, keyword) = at.rsplit_once('/').unwrap_or(("", ""));
        // A keyword of a schema object, not a property name or a list index.
        let of_schema = !matches!(
            parent.rsplit('/').next(),
            Some("properties" | "patternProperties" | "dependentSchemas" | "$defs" | "definitions")
        ) && keyword.parse::<usize>().is_err();
        let removed = (notes.len() < MAX_REPAIRS && !keyword.is_empty() && of_schema)
            .then(|| {
                schema
                    .pointer_mut(parent)?
                    .as_object_mut()?
                    .shift_remove(&unescape(keyword))
            })
            .flatten();
        let Some(value) = removed else {
            return Err(message);
        };
        // Large schemas repeat a shared definition (and its flaw) many times over.
        let others = remove_everywhere(&mut schema, &unescape(keyword), &value);
        let parent = if others > 0 {
            format!("{parent} and {others} more places")
        } else {
            parent.to_string()
        };
        let place = if parent.is_empty() {
            "the top level"
        } else {
            parent.as_str()
        };
        let why = message.rsplit_once(": ").map_or(message.as_str(), |(_, why)| why);
        notes.push(format!(
            "`{}: {}` at {place} is left out ({why}), so the API alone checks it",
            unescape(keyword),
            shorten(&value.to_string()),
        ));
    }
    let text =
        (!notes.is_empty()).then(|| serde_json::to_string_pretty(&schema).expect("JSON values always serialize"));
    Ok((text, notes))
}

/// Remove every `keyword: value` entry from the objects in `schema`; how many.
fn remove_everywhere(schema: &mut Value, keyword: &str, value: &Value) -> usize {
    match schema {
        Value::Object(map) => {
            let here = usize::from(map.get(keyword) == Some(value) && map.shift_remove(keyword).is_some());
            here + map
                .values_mut()
                .map(|v| remove_everywhere(v, keyword, value))
                .sum::<usize>()
        }
        Value::Array(items) => items.iter_mut().map(|v| remove_everywhere(v, keyword, value)).sum(),
        _ => 0,
    }
}

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// At most 80 characters of a value, for a message.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// Check every tool (on every core): repair what can be, drop failing output schemas.
// Long by design: the self-check: each distinct schema compiled once on every core, then per-tool results and
// name clashes, sharing the compiled results.
pub fn check(plan: &mut Plan, spec_file: &str) -> Vec<Diagnostic> {
    // Each distinct schema once (GitHub's 1,844 are 1,058 texts), on every core.
    let (indices, results) = {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let mut texts: Vec<&str> = Vec::new();
        let mut indices = Vec::with_capacity(plan.tools.len());
        for tool in &plan.tools {
            let mut at = |text| {
                *seen.entry(text).or_insert_with(|| {
                    texts.push(text);
                    texts.len() - 1
                })
            };
            let input = at(tool.input_schema.as_str());
            let output = tool.output_schema.as_deref().map(&mut at);
            indices.push((input, output));
        }
        (indices, crate::parallel::map_ordered(&texts, |text| repair(text)))
    };
    let checked = indices
        .into_iter()
        .map(|(input, output)| (results[input].clone(), output.map(|o| results[o].clone())));
    let mut diagnostics: Vec<Diagnostic> = plan
        .tools
        .iter_mut()
        .flat_map(|t| std::mem::take(&mut t.findings))
        .collect();
    for (tool, (input, output)) in plan.tools.iter_mut().zip(checked) {
        let name = tool.name.clone();
        let pointer = tool.pointer.clone();
        let repaired = |diagnostics: &mut Vec<Diagnostic>, which: &str, notes: Vec<String>| {
            diagnostics.extend(notes.into_iter().map(|note| {
                Diagnostic::new(spec_file, format!("tool `{name}`: in its {which} schema, {note}"))
                    .at(&pointer)
                    .warning()
                    .help("fix the schema in the spec to have it checked here too")
            }));
        };
        match input {
            Ok((text, notes)) => {
                repaired(&mut diagnostics, "input", notes);
                if let Some(text) = text {
                    tool.input_schema = text;
                }
            }
            Err(problem) => diagnostics.push(
                Diagnostic::new(spec_file, format!("tool `{name}`: its input schema {problem}"))
                    .at(&pointer)
                    .help(format!("fix the schema in the spec, or {}", exclude_help(tool))),
            ),
        }
        match output {
            None => {}
            Some(Ok((text, notes))) => {
                repaired(&mut diagnostics, "output", notes);
                if let Some(text) = text {
                    tool.output_schema = Some(text);
                }
            }
            Some(Err(problem)) => {
                tool.output_schema = None;
                diagnostics.push(
                    Diagnostic::new(
                        spec_file,
                        format!("tool `{name}`: its output schema {problem}; the tool is generated without one"),
                    )
                    .at(&pointer)
                    .warning()
                    .help("the result still carries the response as structured content; fix the response schema in the spec, or set `output_schemas: false`"),
                );
            }
        }
    }
    let mut seen: HashMap<&str, &ToolPlan> = HashMap::new();
    for tool in &plan.tools {
        if !mcpgen_spec::is_valid_tool_name(&tool.name) {
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
    fn keywords_a_strict_client_refuses_are_left_out() {
        assert_eq!(
            repair(r#"{"type": "object", "properties": {"a": {"type": "string"}}}"#),
            Ok((None, vec![]))
        );
        let (text, notes) =
            repair(r#"{"type": "object", "properties": {"a": {"type": "text", "pattern": 0}}}"#).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&text.unwrap()).unwrap(),
            serde_json::json!({"type": "object", "properties": {"a": {}}})
        );
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            notes[0].starts_with("`type: \"text\"` at /properties/a is left out ("),
            "{notes:?}"
        );
        // Lookbehind and Java classes: not this engine's dialect.
        let (_, notes) = repair(r#"{"properties": {"a": {"pattern": "(?<=x)\\p{XDigit}"}}}"#).unwrap();
        assert_eq!(notes.len(), 1, "{notes:?}");
        // Not a keyword's problem: a property schema that is no schema, a dangling reference.
        assert!(
            repair(r#"{"properties": {"a": 5}}"#)
                .unwrap_err()
                .contains("at /properties/a: 5 is not of types")
        );
        let dangling = repair(r##"{"properties": {"a": {"$ref": "#/components/schemas/A"}}}"##).unwrap_err();
        assert!(
            dangling.starts_with("does not compile with the runtime's validator"),
            "{dangling}"
        );
        assert!(repair("{").unwrap_err().starts_with("is not JSON"));
    }
}
