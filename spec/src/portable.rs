//! The portable form of a tool's input schema: one every dialect in
//! `dialect` takes (`schema_profile: portable`), listed in place of the full
//! schema, and `restore`, which turns arguments written for it back into
//! what the full schema takes. The runtime keeps validating against the full
//! schema, so nothing is checked less; the model reads a simpler schema.
//!
//! What the form can't say is said another way:
//! - every object is closed and lists every property as required; an
//!   optional property also takes `null`, which `restore` drops;
//! - a value the dialects can't describe (an object with free keys, an
//!   untyped or tuple array, any value, objects nested past OpenAI's limit)
//!   is a string of JSON text, which `restore` parses;
//! - a list of types becomes an `anyOf`; `allOf` of objects is merged; an
//!   array whose items are one of several things becomes one of several
//!   arrays; a nullable item loses `null`;
//! - keywords some dialect refuses (length bounds, `default`, formats,
//!   non-string enums, exclusive bounds, examples, patterns some regex
//!   engine lacks) become notes in the description, in words.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use crate::dialect::{OPENAI_MAX_OBJECT_DEPTH, TYPED_BY, child, has_lookaround, is_null_type};

/// What a value written as JSON text stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Text {
    Object,
    Array,
    Any,
}

impl Text {
    fn note(self) -> &'static str {
        match self {
            Text::Object => "Write the JSON object as text, e.g. {\"key\": \"value\"}.",
            Text::Array => "Write the JSON array as text, e.g. [1, 2].",
            Text::Any => "Write the JSON value as text (a string in quotes).",
        }
    }

    fn fits(self, value: &Value) -> bool {
        match self {
            Text::Object => value.is_object(),
            Text::Array => value.is_array(),
            Text::Any => true,
        }
    }
}

/// How the portable form treats a schema; `rewrite` and `restore` both read it.
enum Shape<'a> {
    Object(&'a Map<String, Value>),
    Array(&'a Value),
    Union(Vec<Cow<'a, Value>>),
    Scalar,
    Text(Text),
}

/// The keywords that apply to each type, for splitting a list of types.
const BY_TYPE: &[(&str, &[&str])] = &[
    ("string", &["minLength", "maxLength", "pattern", "format"]),
    (
        "number",
        &[
            "minimum",
            "maximum",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "multipleOf",
        ],
    ),
    (
        "integer",
        &[
            "minimum",
            "maximum",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "multipleOf",
        ],
    ),
    (
        "array",
        &[
            "items",
            "prefixItems",
            "minItems",
            "maxItems",
            "uniqueItems",
            "contains",
        ],
    ),
    (
        "object",
        &[
            "properties",
            "required",
            "additionalProperties",
            "patternProperties",
            "propertyNames",
            "minProperties",
            "maxProperties",
        ],
    ),
];

/// `allOf` merged into one schema: properties and `required` joined, other
/// keywords taken from the first part that has them (the usual
/// base-plus-extension, or a type and its bounds). Parts that disagree on a
/// keyword leave a schema without a type (the model writes JSON text there).
fn resolved(schema: &Value) -> Cow<'_, Value> {
    let Some(parts) = schema.get("allOf").and_then(Value::as_array) else {
        return Cow::Borrowed(schema);
    };
    let mut merged = schema.as_object().cloned().unwrap_or_default();
    merged.remove("allOf");
    let mut properties = merged
        .remove("properties")
        .and_then(|p| p.as_object().cloned())
        .unwrap_or_default();
    let mut required: Vec<Value> = merged
        .remove("required")
        .and_then(|r| r.as_array().cloned())
        .unwrap_or_default();
    for part in parts {
        let part = resolved(part);
        for (key, value) in part.as_object().into_iter().flatten() {
            match key.as_str() {
                "properties" => properties.extend(value.as_object().cloned().unwrap_or_default()),
                "required" => required.extend(value.as_array().cloned().unwrap_or_default()),
                "description" | "title" | "examples" | "default" => {
                    merged.entry(key.clone()).or_insert_with(|| value.clone());
                }
                _ => match merged.get(key) {
                    None => {
                        merged.insert(key.clone(), value.clone());
                    }
                    Some(known) if known == value => {}
                    Some(_) => {
                        let mut any = Map::new();
                        if let Some(description) = schema.get("description") {
                            any.insert("description".into(), description.clone());
                        }
                        return Cow::Owned(Value::Object(any));
                    }
                },
            }
        }
    }
    if !properties.is_empty() {
        merged.entry("type").or_insert_with(|| json!("object"));
        merged.insert("properties".into(), Value::Object(properties));
    }
    let mut seen = std::collections::HashSet::new();
    required.retain(|name| seen.insert(name.to_string()));
    if !required.is_empty() {
        merged.insert("required".into(), Value::Array(required));
    }
    Cow::Owned(Value::Object(merged))
}

fn has_type(schema: &Value) -> bool {
    schema
        .as_object()
        .is_some_and(|m| TYPED_BY.iter().any(|k| m.contains_key(*k)))
}

/// `depth`: objects this schema is nested in; `top`: the input schema itself.
fn shape(schema: &Value, depth: usize, top: bool) -> Shape<'_> {
    let Value::Object(map) = schema else {
        return Shape::Text(Text::Any);
    };
    if map.contains_key("$ref") || map.contains_key("prefixItems") && !top {
        return Shape::Text(if map.contains_key("prefixItems") {
            Text::Array
        } else {
            Text::Any
        });
    }
    if let Some(Value::Array(types)) = map.get("type") {
        return Shape::Union(
            types
                .iter()
                .filter_map(Value::as_str)
                .map(|t| Cow::Owned(only(map, t)))
                .collect(),
        );
    }
    // Branches that are alternatives (each typed); constraint-only ones are left to the runtime.
    let branches = map.get("anyOf").or_else(|| map.get("oneOf")).and_then(Value::as_array);
    if let Some(branches) = branches.filter(|b| !b.is_empty() && b.iter().all(has_type)) {
        return Shape::Union(branches.iter().map(Cow::Borrowed).collect());
    }
    let kind = map.get("type").and_then(Value::as_str);
    if kind == Some("object") || kind.is_none() && map.contains_key("properties") || top {
        let has_properties = map
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| !p.is_empty());
        return if top || has_properties && depth < OPENAI_MAX_OBJECT_DEPTH {
            Shape::Object(map)
        } else {
            Shape::Text(Text::Object)
        };
    }
    if kind == Some("array") {
        return match map.get("items") {
            Some(items) if has_type(items) => Shape::Array(items),
            _ => Shape::Text(Text::Array),
        };
    }
    if kind.is_some() {
        return Shape::Scalar;
    }
    match enum_type(map) {
        Some(_) => Shape::Scalar,
        None => Shape::Text(Text::Any),
    }
}

/// The type of an untyped `enum`/`const` whose values share one.
fn enum_type(map: &Map<String, Value>) -> Option<&'static str> {
    let values: Vec<&Value> = match (map.get("enum"), map.get("const")) {
        (Some(Value::Array(values)), _) => values.iter().collect(),
        (_, Some(value)) => vec![value],
        _ => return None,
    };
    let type_of = |v: &Value| match v {
        Value::String(_) => Some("string"),
        Value::Bool(_) => Some("boolean"),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some("integer"),
        Value::Number(_) => Some("number"),
        _ => None,
    };
    let first = type_of(values.first()?)?;
    values.iter().all(|v| type_of(v) == Some(first)).then_some(first)
}

/// The part of a schema with a list of types that applies to one of them.
fn only(map: &Map<String, Value>, t: &str) -> Value {
    let mut out = Map::new();
    out.insert("type".into(), json!(t));
    let own = BY_TYPE
        .iter()
        .find(|(name, _)| *name == t)
        .map_or(&[][..], |(_, keys)| *keys);
    for (key, value) in map {
        let typed_elsewhere = BY_TYPE.iter().any(|(_, keys)| keys.contains(&key.as_str()));
        if own.contains(&key.as_str())
            || !typed_elsewhere && !["type", "description", "title", "enum"].contains(&key.as_str())
        {
            out.insert(key.clone(), value.clone());
        }
    }
    if let Some(Value::Array(values)) = map.get("enum") {
        let fits = |v: &&Value| match t {
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => false,
        };
        let kept: Vec<Value> = values.iter().filter(fits).cloned().collect();
        if !kept.is_empty() {
            out.insert("enum".into(), Value::Array(kept));
        }
    }
    Value::Object(out)
}

/// The portable form of an input schema.
pub fn portable(schema: &Value) -> Value {
    rewrite(schema, 0, true)
}

fn rewrite(schema: &Value, depth: usize, top: bool) -> Value {
    let schema = resolved(schema);
    let empty = Map::new();
    let map = schema.as_object().unwrap_or(&empty);
    let mut notes: Vec<String> = Vec::new();
    let mut out = match shape(&schema, depth, top) {
        Shape::Object(object) => {
            let required: Vec<&str> = names(object.get("required"));
            let mut properties = Map::new();
            for (name, property) in object
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let listed = rewrite(property, depth + 1, false);
                let listed = if required.contains(&name.as_str()) {
                    listed
                } else {
                    nullable(listed)
                };
                properties.insert(name.clone(), listed);
            }
            let keys: Vec<Value> = properties.keys().map(|k| json!(k)).collect();
            json!({"type": "object", "properties": properties, "required": keys, "additionalProperties": false})
        }
        Shape::Array(items) => {
            let item = rewrite(items, depth, false);
            let mut arrays: Vec<Value> = match item.get("anyOf").and_then(Value::as_array) {
                Some(branches) => {
                    let things: Vec<Value> = branches.iter().filter(|b| !is_null_type(b)).cloned().collect();
                    things
                        .into_iter()
                        .map(|b| json!({"type": "array", "items": b}))
                        .collect()
                }
                None => vec![json!({"type": "array", "items": item})],
            };
            for array in &mut arrays {
                for key in ["minItems", "maxItems"] {
                    if let Some(bound) = map.get(key) {
                        array[key] = bound.clone();
                    }
                }
            }
            if map.get("uniqueItems") == Some(&Value::Bool(true)) {
                notes.push("No item twice.".into());
            }
            match arrays.len() {
                1 => arrays.remove(0),
                _ => json!({"anyOf": arrays}),
            }
        }
        Shape::Union(branches) => {
            let mut any_of: Vec<Value> = Vec::new();
            for branch in &branches {
                match rewrite(branch, depth, false) {
                    Value::Object(mut b) if b.contains_key("anyOf") && b.len() <= 2 => {
                        if let Some(d) = b.remove("description").and_then(|d| d.as_str().map(str::to_string)) {
                            notes.push(d);
                        }
                        any_of.extend(
                            b.remove("anyOf")
                                .and_then(|a| a.as_array().cloned())
                                .unwrap_or_default(),
                        );
                    }
                    other => any_of.push(other),
                }
            }
            any_of.dedup();
            json!({"anyOf": any_of})
        }
        Shape::Scalar => scalar(map, &mut notes),
        Shape::Text(text) => {
            notes.push(text.note().to_string());
            json!({"type": "string"})
        }
    };
    // Exactly this, or the Gemini SDK's null handling can't find the null branch it removes.
    if is_null_type(&out) {
        return json!({"type": "null"});
    }
    let description = map
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim();
    let text: Vec<&str> = std::iter::once(description)
        .chain(notes.iter().map(String::as_str))
        .filter(|t| !t.is_empty())
        .collect();
    if !text.is_empty() {
        out["description"] = json!(text.join(" "));
    }
    out
}

/// A scalar's keywords every dialect takes, and the rest in words.
fn scalar(map: &Map<String, Value>, notes: &mut Vec<String>) -> Value {
    let t = map
        .get("type")
        .and_then(Value::as_str)
        .or_else(|| enum_type(map))
        .unwrap_or("string");
    let mut out = json!({ "type": t });
    let shown = |v: &Value| match v {
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    };
    let values = map
        .get("enum")
        .and_then(Value::as_array)
        .cloned()
        .or_else(|| map.get("const").map(|c| vec![c.clone()]));
    if let Some(values) = values {
        if values.iter().all(Value::is_string) {
            out["enum"] = Value::Array(values);
        } else {
            let listed: Vec<String> = values.iter().map(shown).collect();
            notes.push(format!("One of: {}.", listed.join(", ")));
        }
    }
    for key in ["minimum", "maximum"] {
        if let Some(v) = map.get(key).filter(|v| v.is_number()) {
            out[key] = v.clone();
        }
    }
    match map.get("pattern").and_then(Value::as_str) {
        // Lookaround (OpenAI's engine) and Unicode classes (Python's `re`, which hosts validate with) aren't everywhere.
        Some(p) if has_lookaround(p) || p.contains("\\p") || p.contains("\\P") => {
            notes.push(format!("Matches the pattern /{p}/."))
        }
        Some(p) => out["pattern"] = json!(p),
        None => {}
    }
    if let Some(format) = map.get("format").and_then(Value::as_str) {
        notes.push(format!("Format: {format}."));
    }
    let characters = |n: String| {
        if n == "1" {
            "1 character".to_string()
        } else {
            format!("{n} characters")
        }
    };
    for (key, value) in map {
        let v = shown(value);
        let note = match key.as_str() {
            "minLength" => format!("At least {}.", characters(v)),
            "maxLength" => format!("At most {}.", characters(v)),
            "exclusiveMinimum" => format!("Greater than {v}."),
            "exclusiveMaximum" => format!("Less than {v}."),
            "multipleOf" => format!("A multiple of {v}."),
            "default" => format!("Default: {v}."),
            "example" => format!("E.g. {v}."),
            _ => continue,
        };
        notes.push(note);
    }
    if let Some(first) = map.get("examples").and_then(Value::as_array).and_then(|e| e.first())
        && !map.contains_key("example")
        && shown(first).len() <= 60
    {
        notes.push(format!("E.g. {}.", shown(first)));
    }
    out
}

/// A listed property that also takes `null` (for "not given").
fn nullable(listed: Value) -> Value {
    let Value::Object(mut map) = listed else {
        return listed;
    };
    if let Some(Value::Array(branches)) = map.get_mut("anyOf") {
        if !branches.iter().any(is_null_type) {
            branches.push(json!({"type": "null"}));
        }
        return Value::Object(map);
    }
    if map.get("type").and_then(Value::as_str) == Some("null") {
        return Value::Object(map);
    }
    let description = map.remove("description");
    let mut wrapper = json!({"anyOf": [map, {"type": "null"}]});
    if let Some(description) = description {
        wrapper["description"] = description;
    }
    wrapper
}

fn names(list: Option<&Value>) -> Vec<&str> {
    list.and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Turn arguments written for the portable form back into what the full
/// `schema` takes: `null` for an optional property that doesn't take it is
/// dropped, JSON text where the full schema wants something else is parsed.
/// Arguments written for the full schema come through unchanged (but for a
/// string where any value is taken that reads as JSON). Returns what can't
/// be turned back, as `at /pointer: why` lines.
pub fn restore(schema: &Map<String, Value>, args: &mut Map<String, Value>) -> Vec<String> {
    let mut problems = Vec::new();
    restore_object(schema, args, "", 1, &mut problems);
    problems
}

fn restore_object(
    object: &Map<String, Value>,
    args: &mut Map<String, Value>,
    at: &str,
    depth: usize,
    problems: &mut Vec<String>,
) {
    let required = names(object.get("required"));
    let empty = Map::new();
    let properties = object.get("properties").and_then(Value::as_object).unwrap_or(&empty);
    args.retain(|name, value| {
        !value.is_null() || required.contains(&name.as_str()) || properties.get(name).is_none_or(takes_null)
    });
    for (name, value) in args.iter_mut() {
        if let Some(property) = properties.get(name) {
            restore_value(property, value, &child(at, name), depth, problems);
        }
    }
}

fn restore_value(schema: &Value, value: &mut Value, at: &str, depth: usize, problems: &mut Vec<String>) {
    let schema = resolved(schema);
    match shape(&schema, depth, false) {
        Shape::Text(text) => {
            let Value::String(written) = value else {
                return;
            };
            match serde_json::from_str::<Value>(written) {
                Ok(parsed) if text.fits(&parsed) => *value = parsed,
                _ if text == Text::Any => {}
                _ => problems.push(format!(
                    "at {at}: {} {}",
                    if text == Text::Object {
                        "expected a JSON object"
                    } else {
                        "expected a JSON array"
                    },
                    "written as JSON text"
                )),
            }
        }
        Shape::Object(object) => {
            if let Value::Object(args) = value {
                restore_object(object, args, at, depth + 1, problems);
            }
        }
        Shape::Array(items) => {
            if let Value::Array(list) = value {
                for (i, item) in list.iter_mut().enumerate() {
                    restore_value(items, item, &format!("{at}/{i}"), depth, problems);
                }
            }
        }
        Shape::Union(branches) => {
            // The branch the value can be; a real string before JSON text.
            let shapes: Vec<(&Value, Shape)> = branches.iter().map(|b| (b.as_ref(), shape(b, depth, false))).collect();
            let chosen = shapes
                .iter()
                .find(|(_, s)| !matches!(s, Shape::Text(_)) && can_be(s, value))
                .or_else(|| shapes.iter().find(|(_, s)| can_be(s, value)));
            if let Some((branch, _)) = chosen {
                restore_value(branch, value, at, depth, problems);
            }
        }
        Shape::Scalar => {}
    }
}

fn can_be(shape: &Shape, value: &Value) -> bool {
    match shape {
        Shape::Object(_) => value.is_object(),
        Shape::Array(_) => value.is_array(),
        Shape::Text(_) => value.is_string(),
        Shape::Union(_) | Shape::Scalar => !value.is_object() && !value.is_array(),
    }
}

/// Whether a schema says it takes `null` (a schema that takes anything doesn't count: there `null` means "not given").
fn takes_null(schema: &Value) -> bool {
    let Value::Object(map) = schema else {
        return false;
    };
    let in_list = |key: &str| {
        map.get(key)
            .and_then(Value::as_array)
            .is_some_and(|l| l.iter().any(Value::is_null))
    };
    match map.get("type") {
        Some(Value::String(t)) if t == "null" => return true,
        Some(Value::Array(types)) if types.iter().any(|t| t == "null") => return true,
        _ => {}
    }
    in_list("enum")
        || map.get("const") == Some(&Value::Null)
        || ["anyOf", "oneOf"].iter().any(|k| {
            map.get(*k)
                .and_then(Value::as_array)
                .is_some_and(|b| b.iter().any(takes_null))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::{Dialect, check};

    /// A schema with one of each thing the dialects disagree on.
    fn awkward() -> Value {
        json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 40, "description": "The name."},
                "note": {"type": ["string", "null"], "format": "markdown"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Labels."},
                "size": {"type": "integer", "enum": [1, 2, 4], "default": 2},
                "ids": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}, "uniqueItems": true},
                "tags": {"type": "array", "items": {"type": ["string", "null"]}},
                "point": {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}]},
                "anything": {},
                "owner": {
                    "allOf": [
                        {"type": "object", "properties": {"id": {"type": "integer", "exclusiveMinimum": 0}}, "required": ["id"]},
                        {"type": "object", "properties": {"team": {"type": "string"}}}
                    ]
                },
                "kind": {"const": "pet"},
                "code": {"allOf": [{"type": "string"}, {"maxLength": 3}]},
                "clash": {"allOf": [{"type": "string"}, {"type": "integer"}]},
                "gone": {"type": ["null", "integer"], "default": null, "description": "Cleared."},
                "when": {"type": "string", "pattern": "^(?!x)", "examples": ["2020-01-01"]},
                "city": {"type": "string", "pattern": "^\\p{L}+$"}
            },
            "required": ["name"],
            "additionalProperties": false
        })
    }

    #[test]
    fn the_portable_form_passes_every_dialect() {
        let listed = portable(&awkward());
        for dialect in Dialect::ALL {
            assert_eq!(check(dialect, &listed), None, "{dialect:?}: {listed:#}");
        }
        // Nothing is lost: constraints are said in words, free values are JSON text.
        let p = &listed["properties"];
        assert_eq!(
            p["name"]["description"],
            "The name. At least 1 character. At most 40 characters."
        );
        assert_eq!(p["labels"]["anyOf"][0]["type"], "string");
        assert!(
            p["labels"]["description"]
                .as_str()
                .unwrap()
                .contains("JSON object as text")
        );
        assert!(
            p["size"]["description"]
                .as_str()
                .unwrap()
                .contains("One of: 1, 2, 4. Default: 2.")
        );
        assert_eq!(p["ids"]["anyOf"][0]["items"]["type"], "string");
        assert_eq!(p["kind"]["anyOf"][0]["enum"], json!(["pet"]));
        assert_eq!(listed["required"].as_array().unwrap().len(), 15);
        assert_eq!(p["code"]["anyOf"][0], json!({"type": "string"}));
        assert_eq!(p["code"]["description"], "At most 3 characters.");
        assert!(
            p["clash"]["description"]
                .as_str()
                .unwrap()
                .contains("JSON value as text")
        );
        assert_eq!(p["city"]["description"], "Matches the pattern /^\\p{L}+$/.");
        // The null branch is `{"type": "null"}` and nothing else (the Gemini SDK removes exactly that).
        assert_eq!(p["gone"]["anyOf"][0], json!({"type": "null"}));
        // A schema that already passes keeps its meaning.
        let simple = json!({"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]});
        assert_eq!(
            portable(&simple),
            json!({"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"], "additionalProperties": false})
        );
    }

    #[test]
    fn arguments_for_the_portable_form_are_restored_for_the_full_schema() {
        let schema = awkward();
        let mut args = json!({
            "name": "rex", "note": null, "labels": "{\"a\": \"b\"}", "size": null, "ids": ["x", 3],
            "tags": null, "point": "[1.5, 2]", "anything": "{\"n\": 1}",
            "owner": {"id": 7, "team": null}, "kind": null, "when": null
        })
        .as_object()
        .cloned()
        .unwrap();
        assert_eq!(restore(schema.as_object().unwrap(), &mut args), Vec::<String>::new());
        assert_eq!(
            Value::Object(args),
            json!({
                "name": "rex", "note": null, "labels": {"a": "b"}, "ids": ["x", 3],
                "point": [1.5, 2], "anything": {"n": 1}, "owner": {"id": 7}
            })
        );
        let validator = jsonschema::validator_for(&schema).unwrap();
        let mut bad = json!({"name": "rex", "labels": "not json"})
            .as_object()
            .cloned()
            .unwrap();
        assert_eq!(
            restore(schema.as_object().unwrap(), &mut bad),
            ["at /labels: expected a JSON object written as JSON text"]
        );
        // Arguments written for the full schema pass through as they are.
        let full = json!({"name": "rex", "labels": {"a": "b"}, "point": [1, 2], "owner": {"id": 1}});
        let mut same = full.as_object().cloned().unwrap();
        assert!(restore(schema.as_object().unwrap(), &mut same).is_empty());
        assert_eq!(Value::Object(same), full);
        assert!(validator.is_valid(&full));
    }

    #[test]
    fn objects_past_openai_depth_become_json_text() {
        fn nest(levels: usize, inner: Value) -> Value {
            (0..levels).fold(inner, |v, _| json!({ "x": v }))
        }
        let leaf = json!({"type": "object", "properties": {"leaf": {"type": "string"}}, "required": ["leaf"]});
        let schema = (0..12).fold(
            leaf,
            |s, _| json!({"type": "object", "properties": {"x": s}, "required": ["x"]}),
        );
        let listed = portable(&schema);
        assert_eq!(check(Dialect::OpenAiStrict, &listed), None);
        let (mut node, mut steps) = (&listed, 0);
        while node["type"] == "object" {
            node = &node["properties"]["x"];
            steps += 1;
        }
        assert_eq!(steps, OPENAI_MAX_OBJECT_DEPTH);
        assert!(node["description"].as_str().unwrap().contains("JSON object as text"));
        let natural = nest(12, json!({"leaf": "deep"}));
        let written = nest(steps, json!(nest(12 - steps, json!({"leaf": "deep"})).to_string()));
        let mut args = written.as_object().cloned().unwrap();
        assert!(restore(schema.as_object().unwrap(), &mut args).is_empty());
        assert_eq!(Value::Object(args), natural);
    }
}
