//! OpenAPI 3.0 Schema Objects → self-contained JSON Schema for MCP clients.
//!
//! Input: a raw schema value and the whole document (for `$ref` targets).
//! Output: a schema with local `$ref`s inlined, recursion cut at the first
//! repeat, `nullable` turned into a `null` type, `example` into `examples`, and
//! OpenAPI-only keywords dropped. Problems (dangling or external references)
//! are pushed as diagnostics; the returned schema is still valid.

use serde_json::{Map, Value, json};

use crate::diag::{Diagnostic, escape_pointer};

/// Inlining deeper than this cuts the schema (a guard against huge expansions).
const MAX_DEPTH: usize = 8;
/// References inlined into one schema at most: wide schemas referencing wide
/// schemas grow exponentially, and a model gains nothing from megabytes of schema.
const MAX_INLINED: usize = 100;

/// The references being inlined (outermost first) and how many more may be.
struct Stack<'b> {
    refs: Vec<String>,
    budget: &'b std::cell::Cell<usize>,
}

pub struct Normalizer<'a> {
    pub doc: &'a Value,
    pub file: &'a str,
    /// Input: drop `readOnly` properties (the schema describes tool arguments).
    /// Output: drop `writeOnly` ones, inline fewer references.
    pub for_input: bool,
}

impl Normalizer<'_> {
    /// `at` is the JSON pointer of `schema`, for diagnostics.
    pub fn normalize(&self, schema: &Value, at: &str, problems: &mut Vec<Diagnostic>) -> Value {
        // Output schemas only describe; over 8 KiB they are dropped anyway.
        let budget = std::cell::Cell::new(if self.for_input { MAX_INLINED } else { MAX_INLINED / 10 });
        self.walk(
            schema,
            at,
            &mut Stack {
                refs: Vec::new(),
                budget: &budget,
            },
            problems,
        )
    }

    fn walk(&self, schema: &Value, at: &str, stack: &mut Stack, problems: &mut Vec<Diagnostic>) -> Value {
        let Value::Object(map) = schema else {
            return schema.clone();
        };
        if let Some(Value::String(reference)) = map.get("$ref") {
            return self.follow(reference, map, at, stack, problems);
        }

        let mut out = Map::new();
        let mut nullable = false;
        for (key, value) in map {
            match key.as_str() {
                "nullable" => nullable = value == &Value::Bool(true),
                "example" => {
                    out.insert("examples".to_string(), json!([value]));
                }
                "xml" | "externalDocs" | "discriminator" => {}
                "description" if value.is_string() => {
                    let text = crate::text::clean(value.as_str().unwrap_or_default());
                    out.insert(key.clone(), Value::String(text));
                }
                k if k.starts_with("x-") => {}
                "properties" => {
                    let Value::Object(props) = value else { continue };
                    let mut kept = Map::new();
                    for (name, prop) in props {
                        let prop = self.walk(
                            prop,
                            &format!("{at}/properties/{}", escape_pointer(name)),
                            stack,
                            problems,
                        );
                        let dropped = if self.for_input { "readOnly" } else { "writeOnly" };
                        if prop.get(dropped) == Some(&Value::Bool(true)) {
                            continue;
                        }
                        kept.insert(name.clone(), prop);
                    }
                    out.insert(key.clone(), Value::Object(kept));
                }
                "items" | "not" => {
                    out.insert(key.clone(), self.walk(value, &format!("{at}/{key}"), stack, problems));
                }
                "additionalProperties" if value.is_object() => {
                    out.insert(key.clone(), self.walk(value, &format!("{at}/{key}"), stack, problems));
                }
                "allOf" | "oneOf" | "anyOf" => {
                    let Value::Array(items) = value else { continue };
                    let items = items
                        .iter()
                        .enumerate()
                        .map(|(i, s)| self.walk(s, &format!("{at}/{key}/{i}"), stack, problems))
                        .collect();
                    out.insert(key.clone(), Value::Array(items));
                }
                _ => {
                    out.insert(key.clone(), value.clone());
                }
            }
        }
        // OpenAPI 3.0's boolean `exclusiveMinimum` modifies `minimum`; JSON Schema's is the bound.
        for (exclusive, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
            match out.get(exclusive) {
                Some(Value::Bool(true)) => match out.remove(bound) {
                    Some(value) => {
                        out.insert(exclusive.to_string(), value);
                    }
                    None => {
                        out.remove(exclusive);
                    }
                },
                Some(Value::Bool(false)) => {
                    out.remove(exclusive);
                }
                _ => {}
            }
        }
        merge_all_of(&mut out);
        // `required` may name properties dropped above (readOnly).
        if let (Some(Value::Array(required)), Some(Value::Object(props))) = (out.get("required"), out.get("properties"))
        {
            let kept: Vec<Value> = required
                .iter()
                .filter(|r| r.as_str().is_some_and(|r| props.contains_key(r)))
                .cloned()
                .collect();
            if kept.is_empty() {
                out.remove("required");
            } else {
                out.insert("required".to_string(), Value::Array(kept));
            }
        }
        if nullable {
            if let Some(Value::String(ty)) = out.get("type") {
                let ty = ty.clone();
                out.insert("type".to_string(), json!([ty, "null"]));
            }
            if let Some(Value::Array(values)) = out.get_mut("enum")
                && !values.contains(&Value::Null)
            {
                values.push(Value::Null);
            }
        }
        Value::Object(out)
    }

    fn follow(
        &self,
        reference: &str,
        siblings: &Map<String, Value>,
        at: &str,
        stack: &mut Stack,
        problems: &mut Vec<Diagnostic>,
    ) -> Value {
        let Some(pointer) = crate::diag::local_pointer(reference) else {
            problems.push(external_ref(self.file, at, reference));
            return json!({});
        };
        let name = reference.rsplit('/').next().unwrap_or(reference).to_string();
        if stack.refs.iter().any(|r| r == reference) || stack.refs.len() >= MAX_DEPTH {
            // A valid schema that accepts the value, saying why it is not described.
            return json!({ "description": format!("A {name} (recursive; not expanded further).") });
        }
        if stack.budget.get() == 0 {
            let mut cut = json!({ "description": format!("A {name} (not expanded: the schema is very large).") });
            if let Some(kind) = self
                .doc
                .pointer(&pointer)
                .and_then(|t| t.get("type"))
                .filter(|t| t.is_string())
            {
                cut["type"] = kind.clone();
            }
            return cut;
        }
        stack.budget.set(stack.budget.get() - 1);
        let Some(target) = self.doc.pointer(&pointer) else {
            problems.push(
                Diagnostic::new(self.file, format!("`$ref: {reference}` points to nothing"))
                    .at(at)
                    .help("define the referenced component or correct the reference"),
            );
            return json!({});
        };
        stack.refs.push(reference.to_string());
        let mut resolved = self.walk(target, &pointer, stack, problems);
        stack.refs.pop();
        // 3.1 semantics: a description next to `$ref` describes this use.
        if let (Some(Value::String(description)), Value::Object(out)) = (siblings.get("description"), &mut resolved) {
            out.insert(
                "description".to_string(),
                Value::String(crate::text::clean(description)),
            );
        }
        resolved
    }
}

/// `allOf` of plain object schemas (the usual "base plus extension" pattern)
/// becomes one object: properties and `required` joined. Anything else stays.
fn merge_all_of(out: &mut Map<String, Value>) {
    const MERGEABLE: [&str; 6] = [
        "type",
        "properties",
        "required",
        "description",
        "title",
        "additionalProperties",
    ];
    let Some(Value::Array(parts)) = out.get("allOf") else {
        return;
    };
    let plain = |part: &Value| {
        part.as_object().is_some_and(|p| {
            p.keys().all(|k| MERGEABLE.contains(&k.as_str()))
                && p.get("type").is_none_or(|t| t == "object")
                && p.get("additionalProperties").is_none_or(|a| a == &Value::Bool(true))
        })
    };
    if !parts.iter().all(plain) || out.get("type").is_some_and(|t| t != "object") {
        return;
    }
    let Some(Value::Array(parts)) = out.remove("allOf") else {
        unreachable!("checked above")
    };
    let mut properties = match out.remove("properties") {
        Some(Value::Object(p)) => p,
        _ => Map::new(),
    };
    let mut required: Vec<Value> = match out.remove("required") {
        Some(Value::Array(r)) => r,
        _ => Vec::new(),
    };
    for part in parts {
        let Value::Object(mut part) = part else { continue };
        if let Some(Value::Object(p)) = part.remove("properties") {
            properties.extend(p);
        }
        if let Some(Value::Array(r)) = part.remove("required") {
            required.extend(r.into_iter().filter(|r| !required.contains(r)).collect::<Vec<_>>());
        }
        for key in ["description", "title"] {
            if let Some(v) = part.remove(key) {
                out.entry(key).or_insert(v);
            }
        }
    }
    out.insert("type".to_string(), json!("object"));
    out.insert("properties".to_string(), Value::Object(properties));
    if !required.is_empty() {
        out.insert("required".to_string(), Value::Array(required));
    }
}

/// The diagnostic for a reference left pointing outside the document.
pub fn external_ref(file: &str, at: &str, reference: &str) -> Diagnostic {
    if reference.starts_with("http://") || reference.starts_with("https://") {
        Diagnostic::new(
            file,
            format!("`$ref: {reference}` is remote; mcpgen never fetches documents from the network"),
        )
        .at(at)
        .help("download the referenced document next to the spec and reference it by relative path")
    } else {
        Diagnostic::new(file, format!("`$ref: {reference}`: the file can't be read or has nothing at that pointer"))
            .at(at)
            .help("references to other files are relative to the file that contains them; check the path and the part after `#`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalize(doc: &Value, schema: Value, for_input: bool) -> (Value, Vec<Diagnostic>) {
        let mut problems = Vec::new();
        let n = Normalizer {
            doc,
            file: "openapi.yaml",
            for_input,
        };
        (n.normalize(&schema, "/x", &mut problems), problems)
    }

    #[test]
    fn inlines_refs_and_cuts_recursion() {
        let doc = json!({"components": {"schemas": {
            "Node": {"type": "object", "properties": {"child": {"$ref": "#/components/schemas/Node"}}}
        }}});
        let (out, problems) = normalize(&doc, json!({"$ref": "#/components/schemas/Node"}), false);
        assert!(problems.is_empty());
        assert_eq!(
            out,
            json!({"type": "object", "properties": {"child": {"description": "A Node (recursive; not expanded further)."}}})
        );
    }

    #[test]
    fn dangling_and_external_refs_are_diagnostics() {
        let (out, problems) = normalize(&json!({}), json!({"$ref": "#/components/schemas/Missing"}), false);
        assert_eq!(out, json!({}));
        assert_eq!(
            problems[0].to_string(),
            "error: openapi.yaml: x: `$ref: #/components/schemas/Missing` points to nothing\n  help: define the referenced component or correct the reference"
        );
        let (_, problems) = normalize(&json!({}), json!({"$ref": "other.yaml#/Pet"}), false);
        assert!(problems[0].message.contains("the file can't be read"));
        let (_, problems) = normalize(&json!({}), json!({"$ref": "https://x/y.json"}), false);
        assert!(problems[0].message.contains("never fetches"));
    }

    #[test]
    fn all_of_objects_merge_and_bounds_become_numeric() {
        let doc = json!({"components": {"schemas": {
            "Base": {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}
        }}});
        let schema = json!({"description": "A pet.", "allOf": [
            {"$ref": "#/components/schemas/Base"},
            {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string"},
                "age": {"type": "integer", "minimum": 0, "exclusiveMinimum": true},
                "secret": {"type": "string", "writeOnly": true}
            }}
        ]});
        let (out, _) = normalize(&doc, schema, false);
        assert_eq!(
            out,
            json!({"description": "A pet.", "type": "object", "required": ["id", "name"], "properties": {
                "id": {"type": "integer"}, "name": {"type": "string"}, "age": {"type": "integer", "exclusiveMinimum": 0}
            }})
        );
        // Composition with anything but plain objects is kept as written.
        let (out, _) = normalize(&doc, json!({"allOf": [{"type": "string"}, {"maxLength": 3}]}), true);
        assert_eq!(out["allOf"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn nullable_example_and_read_only() {
        let schema = json!({"type": "object", "required": ["id", "name"], "x-internal": 1, "properties": {
            "id": {"type": "integer", "readOnly": true},
            "name": {"type": "string", "nullable": true, "example": "Rex"}
        }});
        let (out, _) = normalize(&json!({}), schema, true);
        assert_eq!(
            out,
            json!({"type": "object", "required": ["name"], "properties": {
                "name": {"type": ["string", "null"], "examples": ["Rex"]}
            }})
        );
    }
}
