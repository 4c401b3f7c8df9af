//! A tool's schemas, parsed once: argument validation (what a strict-mode
//! model's nulls mean), and conforming a result to the output schema.

use std::sync::{Arc, OnceLock};

use rmcp::model::CallToolResult;
use serde_json::{Map, Value, json};

use crate::spec::ToolSpec;
use mcpgen_spec::projection::Projection;

/// A tool with its parsed schema and a validator compiled on first use
/// (so start-up stays fast for specs with thousands of tools).
pub struct Tool {
    pub spec: &'static ToolSpec,
    /// Shared with the tools/list entry (no copy of big schemas).
    pub schema: Arc<Map<String, Value>>,
    /// `outputSchema`, adjusted to the redaction rules.
    pub output: Option<Arc<Map<String, Value>>>,
    /// `tools.<id>.response` of mcpgen.yaml.
    pub(super) projection: Option<Projection>,
    /// The compile error's text when the schema doesn't compile: every call
    /// is answered with it (jsonschema's error borrows the schema, so the
    /// text is what can be kept).
    validator: OnceLock<Result<jsonschema::Validator, String>>,
    output_validator: OnceLock<Option<jsonschema::Validator>>,
    /// Arguments may be written for the portable form of the schema (`schema_profile: portable`).
    pub(super) restores: bool,
}

impl Tool {
    /// The schemas come from the tool's `tools/list` entry (already adjusted
    /// to the redaction rules by the generator).
    pub fn new(spec: &'static ToolSpec) -> Tool {
        let mut entry = match serde_json::from_str(spec.listing) {
            Ok(Value::Object(map)) => map,
            // The generator emits objects; anything else is a generator bug.
            other => panic!("tool `{}` has an invalid listing: {other:?}", spec.name),
        };
        let mut schema = |key: &str| match entry.remove(key) {
            Some(Value::Object(map)) => Some(Arc::new(map)),
            _ => None,
        };
        Tool {
            spec,
            schema: schema("inputSchema").unwrap_or_else(|| panic!("tool `{}` has no input schema", spec.name)),
            output: schema("outputSchema"),
            projection: spec.response.as_ref().map(Projection::of),
            validator: OnceLock::new(),
            output_validator: OnceLock::new(),
            restores: false,
        }
    }

    /// This tool taking arguments written for the portable form of its schema.
    pub fn restoring(mut self, restores: bool) -> Tool {
        self.restores = restores;
        self
    }

    /// Make a result's `structuredContent` match the output schema, errors
    /// included: parts that don't match are dropped from it (the text content
    /// keeps the whole answer), so neither a spec that is wrong about its
    /// responses nor an error's details (`status: 404` where the schema has a
    /// string `status`) ever makes a client reject the result.
    pub fn conform(&self, result: &mut CallToolResult) {
        let Some(schema) = &self.output else {
            return;
        };
        let validator = self
            .output_validator
            .get_or_init(|| jsonschema::validator_for(&Value::Object((**schema).clone())).ok());
        let mut value = match result.structured_content.take() {
            Some(value @ Value::Object(_)) => value,
            _ => json!({}),
        };
        // Most results conform: one cheap check (no error values made) settles those.
        if let Some(validator) = validator
            && !validator.is_valid(&value)
        {
            // Each round removes the failing values; nested failures can surface after.
            for _ in 0..4 {
                let mut failing: Vec<String> = validator
                    .iter_errors(&value)
                    .map(|e| e.instance_path().to_string())
                    .collect();
                if failing.is_empty() {
                    break;
                }
                if failing.iter().any(String::is_empty) {
                    value = json!({});
                    continue;
                }
                // Deepest and last first, so array indexes stay valid.
                failing.sort_by(|a, b| b.cmp(a));
                failing.dedup();
                for pointer in failing {
                    remove_pointer(&mut value, &pointer);
                }
            }
            if !validator.is_valid(&value) {
                value = json!({});
            }
        }
        result.structured_content = Some(value);
    }

    /// Schema violations, as `at /path: message` lines; empty when valid.
    pub fn violations(&self, args: &Value) -> Vec<String> {
        let validator = self.validator.get_or_init(|| {
            jsonschema::validator_for(&Value::Object((*self.schema).clone())).map_err(|e| e.to_string())
        });
        match validator {
            Ok(validator) => schema_violations(validator, args),
            Err(why) => vec![format!(
                "the tool's input schema can't be compiled ({why}); report this to the server's maintainers"
            )],
        }
    }
}

/// Forget optional top-level arguments given as `null` where the schema has
/// no use for null: models in strict structured-output mode (and the agent
/// frameworks that convert tool schemas for them) fill every optional field,
/// with `null` for "not given". A property that accepts null (a nullable body
/// field: `null` clears it) keeps it, and so does a required one (the
/// validator then says what it needs).
pub(crate) fn drop_null_optionals(schema: &Map<String, Value>, args: &mut Map<String, Value>) {
    if !args.values().any(Value::is_null) {
        return;
    }
    let required = |name: &str| {
        schema
            .get("required")
            .and_then(Value::as_array)
            .is_some_and(|names| names.iter().any(|n| n == name))
    };
    let properties = schema.get("properties").and_then(Value::as_object);
    args.retain(|name, value| {
        !value.is_null() || required(name) || properties.and_then(|p| p.get(name)).is_none_or(accepts_null)
    });
}

/// Whether `schema` may accept `null`; true when it can't tell (a `$ref`).
fn accepts_null(schema: &Value) -> bool {
    let Value::Object(schema) = schema else {
        return schema != &Value::Bool(false);
    };
    if schema.contains_key("$ref") {
        return true;
    }
    if let Some(value) = schema.get("const") {
        return value.is_null();
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values.iter().any(Value::is_null);
    }
    for keyword in ["anyOf", "oneOf"] {
        if let Some(branches) = schema.get(keyword).and_then(Value::as_array) {
            return branches.iter().any(accepts_null);
        }
    }
    match schema.get("type") {
        None => true,
        Some(Value::String(t)) => t == "null",
        Some(Value::Array(types)) => types.iter().any(|t| t == "null"),
        Some(_) => true,
    }
}

/// Each error of `args` against `validator`, as `at `/path`: message` (the
/// path left out at the top level), for the model to fix its arguments.
pub(crate) fn schema_violations(validator: &jsonschema::Validator, args: &Value) -> Vec<String> {
    // Valid arguments, the usual case, are settled without making error values.
    if validator.is_valid(args) {
        return Vec::new();
    }
    validator
        .iter_errors(args)
        .map(|e| match e.instance_path().to_string() {
            at if at.is_empty() => e.to_string(),
            at => format!("at `{at}`: {e}"),
        })
        .collect()
}

/// Remove the value at a JSON pointer (`/a/0/b`) from its parent.
fn remove_pointer(value: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let key = last.replace("~1", "/").replace("~0", "~");
    match value.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.shift_remove(&key);
        }
        Some(Value::Array(items)) => {
            if let Ok(i) = key.parse::<usize>()
                && i < items.len()
            {
                items.remove(i);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Method;
    use rmcp::model::ContentBlock;

    /// What a strict-mode model sends for a tool with optional arguments.
    #[test]
    fn null_stands_for_not_given_where_the_schema_has_no_use_for_it() {
        let schema = json!({
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "status": {"type": "string", "enum": ["a", "b"]},
                "phone": {"type": ["string", "null"]},
                "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "owner": {"$ref": "#/$defs/Owner"},
                "any": {}
            },
            "required": ["id"]
        });
        let Value::Object(schema) = schema else { unreachable!() };
        let Value::Object(mut args) = json!({
            "id": null, "status": null, "phone": null, "note": null, "owner": null, "any": null, "extra": null
        }) else {
            unreachable!()
        };
        drop_null_optionals(&schema, &mut args);
        let kept: Vec<&str> = args.keys().map(String::as_str).collect();
        // Required, nullable, unknown (a $ref), anything, and not in the schema: kept for the validator.
        assert_eq!(kept, ["id", "phone", "note", "owner", "any", "extra"]);
    }

    static PET: ToolSpec = crate::fixtures::tool(
        "get_pet",
        r#"{"name": "get_pet", "inputSchema": {"type": "object"}, "outputSchema": {"type": "object", "properties": {"id": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}}}}}"#,
        Method::Get,
        "/pet",
    );

    #[test]
    fn results_that_contradict_the_spec_lose_only_the_contradicting_parts() {
        let tool = Tool::new(&PET);
        let mut result = CallToolResult::success(vec![]);
        result.structured_content = Some(json!({"id": "not-a-number", "tags": ["a", 1, "b"], "extra": true}));
        tool.conform(&mut result);
        assert_eq!(
            result.structured_content,
            Some(json!({"tags": ["a", "b"], "extra": true}))
        );
        // No structure at all (a text answer): an empty object still satisfies the schema.
        let mut text_only = CallToolResult::success(vec![ContentBlock::text("plain")]);
        tool.conform(&mut text_only);
        assert_eq!(text_only.structured_content, Some(json!({})));
    }
}
