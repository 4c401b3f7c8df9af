//! OpenAPI 3.0 Schema Objects → self-contained JSON Schema for MCP clients.
//!
//! Input: a raw schema value and the whole document (for `$ref` targets).
//! Output: a self-contained JSON Schema 2020-12: local `$ref`s inlined in
//! every subschema position (and a `$ref` standing for a whole `properties`
//! map), 2019-09's `$recursiveRef` and 2020-12's `$dynamicRef` followed like
//! `$ref`, recursion cut at the first real repeat, Swagger 2.0 / draft 4
//! tuple `items: [...]` turned into `prefixItems`, `nullable` turned into a
//! `null` type, `example` into `examples`, and OpenAPI-only keywords and
//! identifiers that mean nothing once inlined (`$id`, anchors, `$defs`)
//! dropped. Problems (dangling or external references) are pushed as
//! diagnostics; the returned schema is still valid.
//!
//! Size budget: at most `MAX_DEPTH` references nested in one another and
//! `MAX_INLINED` inlined into one schema; past either, a subschema is replaced
//! by a description that says the size budget cut it.

use serde_json::{Map, Value, json};

use crate::diag::{Diagnostic, escape_pointer};

/// References nested deeper than this are cut (a size budget: real cycles are
/// cut at their first repeat whatever the depth).
const MAX_DEPTH: usize = 32;
/// References inlined into one schema at most: wide schemas referencing wide
/// schemas grow exponentially, and a model gains nothing from megabytes of schema.
const MAX_INLINED: usize = 100;

/// Where a schema is: a JSON pointer, spelled out only for a diagnostic
/// (walking a large spec visits hundreds of thousands of properties).
#[derive(Clone, Copy)]
enum At<'a> {
    Root(&'a str),
    /// `<parent>/<key>`, the key escaped when spelled out.
    Key(&'a At<'a>, &'a str),
    Index(&'a At<'a>, usize),
}

impl At<'_> {
    fn pointer(&self) -> String {
        match self {
            At::Root(pointer) => pointer.to_string(),
            At::Key(parent, key) => format!("{}/{}", parent.pointer(), escape_pointer(key)),
            At::Index(parent, i) => format!("{}/{i}", parent.pointer()),
        }
    }
}

/// The references being inlined (outermost first) and how many more may be.
struct Stack<'b> {
    refs: Vec<String>,
    /// For each of `refs`: its target's `$recursiveAnchor: true` and
    /// `$dynamicAnchor`, which `$recursiveRef` and `$dynamicRef` resolve to.
    anchors: Vec<(bool, Option<String>)>,
    budget: &'b std::cell::Cell<usize>,
    /// With a size limit: how many more bytes the schema's JSON text may take.
    text: Option<&'b std::cell::Cell<usize>>,
    /// Nesting of the object being built, for its entries' indentation.
    depth: usize,
}

impl Stack<'_> {
    /// Count one `"key": value` line of the pretty-printed output, at least:
    /// indentation, quotes, colon, comma and newline. The top object's own
    /// lines are not counted: a paged result keeps only its array's items.
    fn charge(&self, key: &str, value_bytes: usize) {
        self.charge_at(self.depth, key, value_bytes);
    }
    /// As `charge`, for a line at nesting `depth`.
    fn charge_at(&self, depth: usize, key: &str, value_bytes: usize) {
        if let Some(left) = self.text
            && depth > 1
        {
            left.set(left.get().saturating_sub(2 * depth + key.len() + value_bytes + 6));
        }
    }
    fn over(&self) -> bool {
        self.text.is_some_and(|left| left.get() == 0)
    }
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
        self.normalize_within(schema, at, None, problems)
            .expect("no size limit, always a schema")
    }

    /// As `normalize`; with `limit`, `None` as soon as the schema's
    /// pretty-printed JSON would pass `limit` bytes, counted as it is built
    /// (a lower bound: keys and values kept, indentation), without building
    /// the rest: large output schemas are dropped, and building them was most
    /// of planning GitHub's spec.
    pub fn normalize_within(
        &self,
        schema: &Value,
        at: &str,
        limit: Option<usize>,
        problems: &mut Vec<Diagnostic>,
    ) -> Option<Value> {
        // Output schemas only describe; over 8 KiB they are dropped anyway.
        let budget = std::cell::Cell::new(if self.for_input { MAX_INLINED } else { MAX_INLINED / 10 });
        let text = limit.map(std::cell::Cell::new);
        let mut stack = Stack {
            refs: Vec::new(),
            anchors: Vec::new(),
            budget: &budget,
            text: text.as_ref(),
            depth: 1,
        };
        let schema = self.walk(schema, At::Root(at), &mut stack, problems);
        (!stack.over()).then_some(schema)
    }

    // Long by design: one pass over a schema object's keywords: references, nullability, OpenAPI 3.0 forms and
    // `required` fixed together, as they depend on one another within the object.
    fn walk(&self, schema: &Value, at: At, stack: &mut Stack, problems: &mut Vec<Diagnostic>) -> Value {
        // `schema: null` (Directus writes it for "any body"): not a schema; read as one that takes anything.
        if schema.is_null() {
            problems.push(
                Diagnostic::new(self.file, "`null` where a schema belongs, read as `{}` (any value)")
                    .at(at.pointer())
                    .help("write `{}` in the spec, or leave the key out")
                    .warning(),
            );
            return json!({});
        }
        let Value::Object(map) = schema else {
            return schema.clone();
        };
        if stack.over() {
            // The caller drops the whole schema: stop building it.
            return Value::Null;
        }
        if let Some(Value::String(reference)) = map.get("$ref") {
            return self.follow(reference, map, at, stack, problems);
        }
        if let Some(reference) = dynamic_target(map, stack) {
            return self.follow(&reference, map, at, stack, problems);
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
                // Identifiers, anchors and definitions mean nothing once every reference is
                // inlined (and copies of one anchor would clash); unresolved dynamic references
                // have nothing left to point to.
                "$id" | "$schema" | "$anchor" | "$dynamicAnchor" | "$recursiveAnchor" | "$comment" | "$vocabulary"
                | "$defs" | "definitions" | "$dynamicRef" | "$recursiveRef" => {}
                "description" if value.is_string() => {
                    let text = crate::text::clean(value.as_str().unwrap_or_default());
                    stack.charge(key, text.len() + 2);
                    out.insert(key.clone(), Value::String(text));
                }
                k if k.starts_with("x-") => {}
                "properties" => {
                    let Some(props) = self.schema_map(value, At::Key(&at, key), stack, problems) else {
                        continue;
                    };
                    let mut kept = Map::new();
                    let props_at = At::Key(&at, key);
                    stack.depth += 2;
                    for (name, prop) in props {
                        let prop = self.walk(prop, At::Key(&props_at, name), stack, problems);
                        let dropped = if self.for_input { "readOnly" } else { "writeOnly" };
                        if prop.get(dropped) == Some(&Value::Bool(true)) {
                            continue;
                        }
                        // The property's name opens its object, one level out.
                        stack.charge_at(stack.depth - 1, name, 1);
                        kept.insert(name.clone(), prop);
                    }
                    stack.depth -= 2;
                    out.insert(key.clone(), Value::Object(kept));
                }
                "patternProperties" | "dependentSchemas" => {
                    let Some(schemas) = self.schema_map(value, At::Key(&at, key), stack, problems) else {
                        continue;
                    };
                    let map_at = At::Key(&at, key);
                    stack.depth += 2;
                    let walked = schemas
                        .iter()
                        .map(|(name, s)| (name.clone(), self.walk(s, At::Key(&map_at, name), stack, problems)))
                        .collect();
                    stack.depth -= 2;
                    out.insert(key.clone(), Value::Object(walked));
                }
                // Draft 4 / Swagger 2.0 tuples: 2020-12 spells them `prefixItems`, and
                // `additionalItems` (the rest) becomes `items`.
                "items" if value.is_array() => {
                    let Value::Array(tuple) = value else { continue };
                    out.insert(
                        "prefixItems".to_string(),
                        self.walk_list(tuple, At::Key(&at, key), stack, problems),
                    );
                    if let Some(rest) = map.get("additionalItems") {
                        out.insert(
                            "items".to_string(),
                            self.walk(rest, At::Key(&at, "additionalItems"), stack, problems),
                        );
                    }
                }
                // Meaningful only next to tuple `items` (handled there).
                "additionalItems" => {}
                "items"
                | "not"
                | "contains"
                | "propertyNames"
                | "if"
                | "then"
                | "else"
                | "contentSchema"
                | "unevaluatedItems"
                | "unevaluatedProperties"
                | "additionalProperties"
                    if value.is_object() =>
                {
                    stack.depth += 1;
                    out.insert(key.clone(), self.walk(value, At::Key(&at, key), stack, problems));
                    stack.depth -= 1;
                }
                "allOf" | "oneOf" | "anyOf" | "prefixItems" => {
                    let Value::Array(items) = value else { continue };
                    out.insert(key.clone(), self.walk_list(items, At::Key(&at, key), stack, problems));
                }
                // Output schemas lose these (`plan::loosen`): not counted.
                "required" | "additionalProperties" => {
                    out.insert(key.clone(), value.clone());
                }
                _ => {
                    stack.charge(key, scalar_bytes(value));
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
        at: At,
        stack: &mut Stack,
        problems: &mut Vec<Diagnostic>,
    ) -> Value {
        let Some(pointer) = crate::diag::local_pointer(reference) else {
            problems.push(external_ref(self.file, &at.pointer(), reference));
            return json!({});
        };
        let name = reference.rsplit('/').next().unwrap_or(reference).to_string();
        // A valid schema that accepts the value, saying why it is not described.
        if stack.refs.iter().any(|r| r == reference) {
            return json!({ "description": format!("A {name} (recursive; not expanded further).") });
        }
        if stack.refs.len() >= MAX_DEPTH {
            return json!({ "description": format!(
                "A {name} (not expanded: mcpgen's size budget inlines at most {MAX_DEPTH} nested references)."
            ) });
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
        // A broken reference deep in one schema must not sink the operation:
        // that position accepts any value (the API alone checks it), with a
        // warning (an error with `--strict`).
        let Some(target) = self.doc.pointer(&pointer) else {
            problems.push(
                Diagnostic::new(
                    self.file,
                    if self.for_input {
                        format!("`$ref: {reference}` points to nothing; the argument takes any value there (the API alone checks it)")
                    } else {
                        format!("`$ref: {reference}` points to nothing")
                    },
                )
                .at(at.pointer())
                .help("define the referenced component or correct the reference in the spec")
                .warning(),
            );
            return json!({});
        };
        stack.refs.push(reference.to_string());
        stack.anchors.push((
            target.get("$recursiveAnchor") == Some(&Value::Bool(true)),
            target.get("$dynamicAnchor").and_then(Value::as_str).map(str::to_string),
        ));
        let mut resolved = self.walk(target, At::Root(&pointer), stack, problems);
        stack.refs.pop();
        stack.anchors.pop();
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

impl Normalizer<'_> {
    /// A list of subschemas (`allOf`, `prefixItems`, …), each walked.
    fn walk_list(&self, items: &[Value], at: At, stack: &mut Stack, problems: &mut Vec<Diagnostic>) -> Value {
        stack.depth += 2;
        let walked = items
            .iter()
            .enumerate()
            .map(|(i, s)| self.walk(s, At::Index(&at, i), stack, problems))
            .collect();
        stack.depth -= 2;
        Value::Array(walked)
    }

    /// A map of subschemas (`properties`, `patternProperties`, …), following a
    /// `$ref` that stands for the whole map (seen in multi-file specs).
    fn schema_map<'v>(
        &'v self,
        value: &'v Value,
        at: At,
        stack: &Stack,
        problems: &mut Vec<Diagnostic>,
    ) -> Option<&'v Map<String, Value>> {
        let map = value.as_object()?;
        let Some(Value::String(reference)) = map.get("$ref").filter(|_| map.len() == 1) else {
            return Some(map);
        };
        let target = crate::diag::local_pointer(reference).and_then(|p| self.doc.pointer(&p));
        match target {
            Some(target) if !stack.refs.iter().any(|r| r == reference) => target.as_object(),
            _ => {
                problems.push(
                    Diagnostic::new(self.file, format!("`$ref: {reference}` points to no map of schemas"))
                        .at(at.pointer())
                        .help("define the referenced component or correct the reference"),
                );
                None
            }
        }
    }
}

/// The reference a `$recursiveRef` (2019-09) or `$dynamicRef` (2020-12)
/// resolves to: the outermost schema being inlined that carries the matching
/// anchor (`$recursiveAnchor: true`, or `$dynamicAnchor` of the fragment's
/// name), as the dynamic scope rules say; else, for `$recursiveRef`, the
/// schema it sits in. None when neither applies: the keyword is dropped.
fn dynamic_target(map: &Map<String, Value>, stack: &Stack) -> Option<String> {
    // An anchor on the stack: (`$recursiveAnchor: true`, its `$dynamicAnchor`).
    type Anchor = (bool, Option<String>);
    let outermost =
        |matches: &dyn Fn(&Anchor) -> bool| stack.anchors.iter().position(matches).map(|i| stack.refs[i].clone());
    if map.get("$recursiveRef").and_then(Value::as_str) == Some("#") {
        return outermost(&|(recursive, _)| *recursive).or_else(|| stack.refs.last().cloned());
    }
    let anchor = map.get("$dynamicRef")?.as_str()?.strip_prefix('#')?;
    outermost(&|(_, dynamic)| dynamic.as_deref() == Some(anchor))
}

/// The least a value's pretty-printed JSON takes: strings with their quotes
/// (escapes only add), arrays by their items, one line each.
fn scalar_bytes(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len() + 2,
        Value::Array(items) => 2 + items.iter().map(|i| scalar_bytes(i) + 2).sum::<usize>(),
        Value::Object(map) => 2 + map.iter().map(|(k, v)| k.len() + 4 + scalar_bytes(v)).sum::<usize>(),
        _ => 1,
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

    #[test]
    fn a_size_limit_only_drops_schemas_whose_text_is_over_it() {
        // Growing schemas: nested objects, enums, a long description on a
        // top-level array (not in a paged result's text), references.
        let doc = json!({"components": {"schemas": {"Item": {"type": "object", "description": "An item.",
            "required": ["id"], "additionalProperties": false,
            "properties": {"id": {"type": "integer"}, "kind": {"type": "string", "enum": ["a", "bb", "ccc"]}}}}}});
        let n = Normalizer {
            doc: &doc,
            file: "openapi.yaml",
            for_input: false,
        };
        let limit = 2000;
        let (mut dropped, mut kept) = (0, 0);
        for size in 0..40 {
            let properties: Map<String, Value> = (0..size)
                .map(|i| {
                    let prop = match i % 3 {
                        0 => json!({"type": "string", "description": "word ".repeat(i)}),
                        1 => json!({"$ref": "#/components/schemas/Item"}),
                        _ => json!({"type": "object", "properties": {"deep": {"type": "array", "items": {"type": "number"}}}}),
                    };
                    (format!("field_{i}"), prop)
                })
                .collect();
            let object = json!({"type": "object", "properties": properties});
            let array = json!({"type": "array", "description": "x".repeat(3 * limit), "items": object.clone()});
            for schema in [object, array] {
                let full = n.normalize(&schema, "/x", &mut Vec::new());
                let text = serde_json::to_string_pretty(&full).unwrap().len();
                match n.normalize_within(&schema, "/x", Some(limit), &mut Vec::new()) {
                    Some(within) => {
                        assert_eq!(within, full);
                        kept += 1;
                    }
                    None => {
                        // The array's own description doesn't count (a paged result drops it).
                        let counted = match full.get("items") {
                            Some(items) if full["type"] == "array" => {
                                serde_json::to_string_pretty(items).unwrap().len()
                            }
                            _ => text,
                        };
                        assert!(counted > limit, "dropped at {counted} bytes: {full}");
                        dropped += 1;
                    }
                }
            }
        }
        assert!(dropped > 10 && kept > 10, "{dropped} dropped, {kept} kept");
    }

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
            "warning: openapi.yaml: x: `$ref: #/components/schemas/Missing` points to nothing\n  help: define the referenced component or correct the reference in the spec"
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
