//! The JSON Schema dialects of the model APIs behind MCP hosts, for a tool's
//! input schema: which of them takes a schema, and where not, why.
//!
//! Hosts hand a tool's `inputSchema` on to a model API that accepts less
//! than JSON Schema 2020-12, and a schema it refuses loses the tool (or the
//! whole request). The rules, from each API's documentation and the SDKs
//! and agent frameworks that convert schemas for it (the tests check these
//! rules against those converters):
//!
//! - `anthropic`, Claude's `input_schema`: an object schema, with no `anyOf`,
//!   `oneOf` or `allOf` at its top.
//! - `openai-strict`, OpenAI strict function calling (Structured Outputs):
//!   every object closed (`additionalProperties: false`) and every property
//!   required (optional ones take `null`); every schema typed; arrays say
//!   what they hold; only its keywords (no `default`, `oneOf`, `allOf`, length
//!   bounds, …; nine string formats); at most 10 levels of objects and 5,000
//!   properties.
//! - `gemini`, Gemini function declarations' `parameters` (an OpenAPI 3.0
//!   subset): one type per schema, only its keywords, string enums, no open
//!   objects and no references; below the top, objects have properties and
//!   arrays have `items`, which is not an `anyOf` of several things.

use serde_json::{Map, Value};

/// A model API's dialect of JSON Schema for tool inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dialect {
    Anthropic,
    OpenAiStrict,
    Gemini,
}

impl Dialect {
    pub const ALL: [Dialect; 3] = [Dialect::Anthropic, Dialect::OpenAiStrict, Dialect::Gemini];

    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Anthropic => "anthropic",
            Dialect::OpenAiStrict => "openai-strict",
            Dialect::Gemini => "gemini",
        }
    }

    /// Where the dialect applies, for people.
    pub fn label(self) -> &'static str {
        match self {
            Dialect::Anthropic => "Anthropic tool `input_schema`",
            Dialect::OpenAiStrict => "OpenAI strict function calling",
            Dialect::Gemini => "Gemini function declaration `parameters`",
        }
    }
}

/// Why a dialect refuses a schema: where (a JSON pointer into the schema) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub at: String,
    pub why: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.at.is_empty() {
            f.write_str(&self.why)
        } else {
            write!(f, "at {}: {}", self.at, self.why)
        }
    }
}

/// OpenAI strict mode's string formats.
const OPENAI_FORMATS: &[&str] = &[
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];

/// Keywords OpenAI strict mode refuses.
const OPENAI_REFUSED: &[&str] = &[
    "minLength",
    "maxLength",
    "patternProperties",
    "unevaluatedProperties",
    "propertyNames",
    "minProperties",
    "maxProperties",
    "unevaluatedItems",
    "contains",
    "minContains",
    "maxContains",
    "uniqueItems",
    "default",
    "oneOf",
    "allOf",
    "not",
    "if",
    "then",
    "else",
    "dependentRequired",
    "dependentSchemas",
];

/// OpenAI strict mode's limits on one schema.
pub const OPENAI_MAX_OBJECT_DEPTH: usize = 10;
pub const OPENAI_MAX_PROPERTIES: usize = 5000;

/// The fields of Gemini's `Schema`, as JSON Schema spells them.
const GEMINI_KEYWORDS: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
    "propertyOrdering",
    "default",
    "items",
    "minimum",
    "maximum",
    "additionalProperties",
];

const GEMINI_TYPES: &[&str] = &["string", "number", "integer", "boolean", "array", "object", "null"];

/// Keywords that give a schema a type (one without any takes any value).
pub(crate) const TYPED_BY: &[&str] = &["type", "$ref", "anyOf", "oneOf", "allOf", "enum", "const"];

/// The first thing `dialect` refuses in `schema`, or `None` when it takes it.
pub fn check(dialect: Dialect, schema: &Value) -> Option<Refusal> {
    let Value::Object(root) = schema else {
        return Some(refusal("", "the input schema is not an object schema"));
    };
    if root.get("type").and_then(Value::as_str) != Some("object") {
        return Some(refusal("", "the input schema's top must be `type: object`"));
    }
    match dialect {
        Dialect::Anthropic => ["anyOf", "oneOf", "allOf"]
            .into_iter()
            .find(|k| root.contains_key(*k))
            .map(|k| refusal("", &format!("`{k}` at the top of an input schema is refused"))),
        Dialect::OpenAiStrict => {
            let mut walk = OpenAi { properties: 0 };
            walk.node(schema, "", 0)
        }
        Dialect::Gemini => gemini(schema, "", true),
    }
}

/// Each dialect with its refusal (`None`: taken), in `Dialect::ALL` order.
pub type Verdicts = [(Dialect, Option<Refusal>); 3];

/// Every dialect's verdict on `schema`.
pub fn check_all(schema: &Value) -> Verdicts {
    Dialect::ALL.map(|d| (d, check(d, schema)))
}

fn refusal(at: &str, why: &str) -> Refusal {
    Refusal {
        at: at.to_string(),
        why: why.to_string(),
    }
}

/// `at`/`key`, the key escaped as a JSON pointer token.
pub(crate) fn child(at: &str, key: &str) -> String {
    format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// The subschemas of `schema` with their pointers (every keyword that holds schemas).
fn subschemas<'a>(schema: &'a Map<String, Value>, at: &str) -> Vec<(String, &'a Value)> {
    let mut out = Vec::new();
    for (key, value) in schema {
        match (key.as_str(), value) {
            ("properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas", Value::Object(map)) => {
                out.extend(map.iter().map(|(k, v)| (child(&child(at, key), k), v)));
            }
            ("anyOf" | "oneOf" | "allOf" | "prefixItems", Value::Array(list)) => {
                out.extend(list.iter().enumerate().map(|(i, v)| (format!("{at}/{key}/{i}"), v)));
            }
            (
                "items"
                | "additionalProperties"
                | "not"
                | "if"
                | "then"
                | "else"
                | "contains"
                | "propertyNames"
                | "unevaluatedItems"
                | "unevaluatedProperties",
                Value::Object(_),
            ) => out.push((child(at, key), value)),
            _ => {}
        }
    }
    out
}

fn is_object(schema: &Map<String, Value>) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(types)) => types.iter().any(|t| t == "object"),
        _ => schema.contains_key("properties"),
    }
}

fn types_of(schema: &Map<String, Value>, t: &str) -> bool {
    match schema.get("type") {
        Some(Value::String(s)) => s == t,
        Some(Value::Array(types)) => types.iter().any(|x| x == t),
        _ => false,
    }
}

struct OpenAi {
    properties: usize,
}

impl OpenAi {
    /// `depth`: objects this schema is nested in.
    fn node(&mut self, schema: &Value, at: &str, depth: usize) -> Option<Refusal> {
        let Value::Object(map) = schema else {
            return Some(refusal(at, "a schema must be an object with a `type`"));
        };
        if !TYPED_BY.iter().any(|k| map.contains_key(*k)) {
            return Some(refusal(at, "every schema needs a `type` (this one takes any value)"));
        }
        if let Some(k) = OPENAI_REFUSED.iter().find(|k| map.contains_key(**k)) {
            return Some(refusal(at, &format!("`{k}` is not supported in strict mode")));
        }
        if let Some(format) = map.get("format").and_then(Value::as_str)
            && !OPENAI_FORMATS.contains(&format)
        {
            return Some(refusal(
                at,
                &format!("the string format `{format}` is not supported in strict mode"),
            ));
        }
        if let Some(pattern) = map.get("pattern").and_then(Value::as_str)
            && has_lookaround(pattern)
        {
            return Some(refusal(
                at,
                "a `pattern` with lookaround is not supported in strict mode",
            ));
        }
        if let Some(Value::String(r)) = map.get("$ref")
            && r != "#"
            && !r.starts_with("#/$defs/")
            && !r.starts_with("#/definitions/")
        {
            return Some(refusal(at, "a `$ref` may only name `#` or a top-level definition"));
        }
        // The SDKs treat any schema with properties as an object (and add `required` to it).
        if map.contains_key("properties") && !is_object(map) {
            return Some(refusal(at, "`properties` on a schema that is not `type: object`"));
        }
        let mut depth = depth;
        if is_object(map) {
            depth += 1;
            if depth > OPENAI_MAX_OBJECT_DEPTH {
                return Some(refusal(
                    at,
                    &format!("objects are nested more than {OPENAI_MAX_OBJECT_DEPTH} deep"),
                ));
            }
            if map.get("additionalProperties") != Some(&Value::Bool(false)) {
                return Some(refusal(at, "every object needs `additionalProperties: false`"));
            }
            let properties = map.get("properties").and_then(Value::as_object);
            let required: Vec<&str> = map
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(optional) = properties.and_then(|p| p.keys().find(|k| !required.contains(&k.as_str()))) {
                return Some(refusal(
                    &child(&child(at, "properties"), optional),
                    "every property must be required (an optional one takes `null`)",
                ));
            }
            if !map.contains_key("required") {
                return Some(refusal(at, "every object needs `required`, listing every property"));
            }
            self.properties += properties.map_or(0, Map::len);
            if self.properties > OPENAI_MAX_PROPERTIES {
                return Some(refusal(
                    at,
                    &format!("more than {OPENAI_MAX_PROPERTIES} properties in all"),
                ));
            }
        }
        if types_of(map, "array") && !map.contains_key("prefixItems") {
            let typed = map
                .get("items")
                .and_then(Value::as_object)
                .is_some_and(|items| TYPED_BY.iter().any(|k| items.contains_key(*k)));
            if !typed {
                return Some(refusal(at, "an array must say what its items are"));
            }
        }
        subschemas(map, at)
            .into_iter()
            .find_map(|(at, sub)| self.node(sub, &at, depth))
    }
}

/// A regex lookahead or lookbehind, which strict mode's engine lacks.
pub(crate) fn has_lookaround(pattern: &str) -> bool {
    let mut escaped = false;
    for (i, c) in pattern.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if ["(?=", "(?!", "(?<=", "(?<!"]
            .iter()
            .any(|t| pattern[i..].starts_with(t))
        {
            return true;
        }
    }
    false
}

fn gemini(schema: &Value, at: &str, top: bool) -> Option<Refusal> {
    let Value::Object(map) = schema else {
        return Some(refusal(at, "a schema must be an object"));
    };
    if let Some(k) = map
        .keys()
        .find(|k| !GEMINI_KEYWORDS.contains(&k.as_str()) && *k != "const")
    {
        return Some(refusal(at, &format!("Gemini's Schema has no `{k}`")));
    }
    // The SDKs turn a string `const` into a one-value enum; nothing else.
    if map.get("const").is_some_and(|c| !c.is_string()) {
        return Some(refusal(at, "a `const` must be a string"));
    }
    match map.get("type") {
        None | Some(Value::String(_)) => {}
        Some(_) => return Some(refusal(at, "one type per schema (a list of types is refused)")),
    }
    if let Some(t) = map.get("type").and_then(Value::as_str)
        && !GEMINI_TYPES.contains(&t)
    {
        return Some(refusal(at, &format!("unknown type `{t}`")));
    }
    if map
        .get("enum")
        .and_then(Value::as_array)
        .is_some_and(|values| values.iter().any(|v| !v.is_string()))
    {
        return Some(refusal(at, "enum values must be strings"));
    }
    match map.get("additionalProperties") {
        None | Some(Value::Bool(false)) => {}
        Some(_) => return Some(refusal(at, "open objects (`additionalProperties`) are refused")),
    }
    let kind = map.get("type").and_then(Value::as_str);
    if map.contains_key("properties") && kind != Some("object") {
        return Some(refusal(at, "`properties` on a schema that is not `type: object`"));
    }
    if !top
        && kind == Some("object")
        && map
            .get("properties")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty)
    {
        return Some(refusal(at, "an object must have properties"));
    }
    if kind == Some("array") {
        let Some(items) = map.get("items") else {
            return Some(refusal(at, "an array must have `items`"));
        };
        let choices = items
            .get("anyOf")
            .and_then(Value::as_array)
            .map_or(0, |branches| branches.iter().filter(|b| !is_null_type(b)).count());
        if choices > 1 {
            return Some(refusal(&child(at, "items"), "an array's items may not be an `anyOf`"));
        }
    }
    subschemas(map, at)
        .into_iter()
        .find_map(|(at, sub)| gemini(sub, &at, false))
}

/// `{"type": "null"}`.
pub(crate) fn is_null_type(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn why(dialect: Dialect, schema: Value) -> Option<String> {
        check(dialect, &schema).map(|r| r.to_string())
    }

    #[test]
    fn anthropic_wants_an_object_without_a_top_level_union() {
        let plain = json!({"type": "object", "properties": {"q": {"type": ["string", "null"]}}});
        assert_eq!(why(Dialect::Anthropic, plain), None);
        let union = json!({"type": "object", "anyOf": [{"required": ["a"]}, {"required": ["b"]}]});
        assert_eq!(
            why(Dialect::Anthropic, union).as_deref(),
            Some("`anyOf` at the top of an input schema is refused")
        );
        assert!(why(Dialect::Anthropic, json!({"properties": {}})).is_some());
    }

    #[test]
    fn openai_strict_wants_closed_objects_with_every_property_required() {
        let strict = json!({
            "type": "object",
            "properties": {"q": {"type": "string"}, "n": {"anyOf": [{"type": "integer"}, {"type": "null"}]}},
            "required": ["q", "n"],
            "additionalProperties": false
        });
        assert_eq!(why(Dialect::OpenAiStrict, strict.clone()), None);
        let mut optional = strict.clone();
        optional["required"] = json!(["q"]);
        assert_eq!(
            why(Dialect::OpenAiStrict, optional).as_deref(),
            Some("at /properties/n: every property must be required (an optional one takes `null`)")
        );
        let mut open = strict.clone();
        open["properties"]["m"] = json!({"type": "object", "additionalProperties": {"type": "string"}});
        open["required"] = json!(["q", "n", "m"]);
        assert_eq!(
            why(Dialect::OpenAiStrict, open).as_deref(),
            Some("at /properties/m: every object needs `additionalProperties: false`")
        );
        let mut bounded = strict.clone();
        bounded["properties"]["q"]["maxLength"] = json!(10);
        assert_eq!(
            why(Dialect::OpenAiStrict, bounded).as_deref(),
            Some("at /properties/q: `maxLength` is not supported in strict mode")
        );
        let mut string_with_properties = strict.clone();
        string_with_properties["properties"]["q"]["properties"] = json!({"link": {"type": "string"}});
        assert!(
            why(Dialect::OpenAiStrict, string_with_properties)
                .unwrap()
                .contains("not `type: object`")
        );
        let mut untyped = strict;
        untyped["properties"]["q"] = json!({"description": "anything"});
        assert!(why(Dialect::OpenAiStrict, untyped).unwrap().contains("needs a `type`"));
    }

    #[test]
    fn openai_strict_counts_object_depth() {
        let mut schema = json!({"type": "object", "properties": {}, "required": [], "additionalProperties": false});
        for _ in 0..OPENAI_MAX_OBJECT_DEPTH {
            schema = json!({
                "type": "object", "properties": {"x": schema}, "required": ["x"], "additionalProperties": false
            });
        }
        assert!(
            why(Dialect::OpenAiStrict, schema)
                .unwrap()
                .contains("nested more than 10 deep")
        );
    }

    #[test]
    fn gemini_wants_its_openapi_subset() {
        let ok = json!({
            "type": "object",
            "properties": {
                "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
                "n": {"anyOf": [{"type": "integer"}, {"type": "null"}]}
            },
            "additionalProperties": false
        });
        assert_eq!(why(Dialect::Gemini, ok), None);
        let cases = [
            (json!({"type": ["string", "null"]}), "one type per schema"),
            (
                json!({"type": "integer", "enum": [1, 2]}),
                "enum values must be strings",
            ),
            (
                json!({"type": "integer", "exclusiveMinimum": 0}),
                "has no `exclusiveMinimum`",
            ),
            (json!({"type": "object", "additionalProperties": true}), "open objects"),
            (json!({"type": "object"}), "an object must have properties"),
            (json!({"type": "array"}), "an array must have `items`"),
            (
                json!({"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}),
                "items may not be an `anyOf`",
            ),
            (json!({"type": "string", "properties": {}}), "not `type: object`"),
        ];
        for (property, expected) in cases {
            let schema = json!({"type": "object", "properties": {"p": property}});
            let got = why(Dialect::Gemini, schema).unwrap_or_default();
            assert!(got.contains(expected), "{got} should say {expected}");
        }
        // A nullable item is what the SDKs turn into `nullable: true`.
        let nullable_items = json!({"type": "object", "properties": {"p": {
            "type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "null"}]}
        }}});
        assert_eq!(why(Dialect::Gemini, nullable_items), None);
    }
}
