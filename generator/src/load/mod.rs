//! Reading the OpenAPI document.
//!
//! Input: a file path. Output: `SpecDocument`: the raw JSON value (every
//! schema is read from it, by `schema::Normalizer`) and a typed `openapiv3`
//! view of its structure. JSON and YAML are accepted. Swagger 2.0 is
//! converted to 3.0 shape first (`swagger2`), references to other files are
//! bundled in (`bundle`), and the typed view is parsed from a skeleton with
//! every schema left out: schemas are where OpenAPI 3.1 differs from 3.0 (type
//! arrays, boolean schemas, numeric `exclusiveMinimum`), and typing thousands of
//! schemas we never read from the typed view is most of a large spec's parse time.
//! Path items are left out of that view too and typed one at a time, as
//! `resolve` reaches them (`typed_path_item`): the typed view of a large
//! spec's paths never exists whole.

pub mod bundle;
pub mod remote;
pub mod swagger2;

use std::path::Path;

use serde_json::{Map, Value};

use serde_saphyr::Spanned;

use crate::diag::{Diagnostic, Error, escape_pointer, pointer_to_path};

/// The document's OpenAPI version family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Swagger2,
    OpenApi30,
    OpenApi31,
}

pub struct SpecDocument {
    /// The file name used in diagnostics.
    pub file: String,
    /// The document in 3.x shape (converted from 2.0, other files bundled in).
    pub raw: Value,
    /// The structure without its paths (`typed_path_item` types one path item
    /// at a time) and without schemas (read them from `raw`).
    pub typed: openapiv3::OpenAPI,
    pub version: Version,
    /// Warnings for broken parts left out because tools can do without them.
    pub skipped: Vec<Diagnostic>,
}

pub fn load_spec(path: &Path, file: &str) -> Result<SpecDocument, Error> {
    let mapped = map_file(path).map_err(|e| Error::io(format!("can't read the spec {file}"), e))?;
    let text = std::str::from_utf8(&mapped).map_err(|e| {
        Error::one(
            Diagnostic::new(file, format!("the spec is not UTF-8 text (byte {})", e.valid_up_to()))
                .help("save the spec as UTF-8"),
        )
    })?;
    let mut raw = parse_with(file, text, SpecRoot::for_text(text))?;
    let version = check_version(file, &raw)?;
    if version == Version::Swagger2 {
        raw = crate::load::swagger2::convert(raw);
    }
    if crate::load::bundle::mentions_other_files(text) {
        crate::load::bundle::bundle(&mut raw, path, file)?;
    }
    drop(mapped);
    let mut skipped = Vec::new();
    let typed: openapiv3::OpenAPI = loop {
        let e = match serde_path_to_error::deserialize(skeleton(&raw, false)) {
            Ok(typed) => break typed,
            Err(e) => e,
        };
        // A flaw in a part tools don't need (a tag's description, a broken
        // component) is cut out with a warning: operations that use a cut
        // component fail on their own, named, if they are selected.
        let at = error_pointer(e.path());
        if let Some(cut) = optional_part(&at)
            && skipped.len() < MAX_SKIPPED
            && remove_pointer(&mut raw, &cut)
        {
            skipped.push(invalid(file, at, e.inner()).warning().help(format!(
                "`{}` is left out; fix it in the spec to keep it",
                pointer_to_path(&cut)
            )));
            continue;
        }
        // Untagged enums in openapiv3 hide where below `paths` or `components` the
        // problem is; re-check the parts one by one to name each broken one.
        let mut diagnostics = pinpoint(file, &skeleton(&raw, true));
        if diagnostics.is_empty() {
            diagnostics.push(invalid(file, at, e.inner()));
        }
        return Err(Error::Diagnostics(diagnostics));
    };
    Ok(SpecDocument {
        file: file.to_string(),
        raw,
        typed,
        version,
        skipped,
    })
}

/// Parts of a document left out at most, before giving up on it.
const MAX_SKIPPED: usize = 100;

/// The part to leave out for a typing problem at `at`, if tools can do
/// without it: a component entry (`/components/<section>/<name>`), or the
/// broken field of a tag, `info` (but its title and version) or
/// `externalDocs`. None for what every tool needs.
fn optional_part(at: &str) -> Option<String> {
    let segments: Vec<&str> = at.split('/').skip(1).collect();
    match segments.as_slice() {
        ["components", section, name, ..] => Some(format!("/components/{section}/{name}")),
        ["tags", i, field, ..] => Some(format!("/tags/{i}/{field}")),
        ["info", field, ..] if !matches!(*field, "title" | "version") => Some(format!("/info/{field}")),
        ["externalDocs", ..] => Some("/externalDocs".to_string()),
        _ => None,
    }
}

/// Remove the value at `pointer`; false when there is none.
fn remove_pointer(root: &mut Value, pointer: &str) -> bool {
    let Some((parent, key)) = pointer.rsplit_once('/') else {
        return false;
    };
    let key = key.replace("~1", "/").replace("~0", "~");
    match root.pointer_mut(parent) {
        Some(Value::Object(map)) => map.shift_remove(&key).is_some(),
        Some(Value::Array(items)) => key
            .parse::<usize>()
            .ok()
            .filter(|i| *i < items.len())
            .map(|i| items.remove(i))
            .is_some(),
        _ => false,
    }
}

/// The file's bytes, mapped rather than read: a large spec is parsed straight
/// from the page cache, without a copy the size of the file.
fn map_file(path: &Path) -> std::io::Result<memmap2::Mmap> {
    let file = std::fs::File::open(path)?;
    // SAFETY: the map is read-only and lives only while the spec is parsed;
    // a spec rewritten during those milliseconds is the one hazard, as for any reader.
    unsafe { memmap2::Mmap::map(&file) }
}

/// A part of the document (a path item, say) typed like the whole: schemas left out.
pub fn typed_part<T: serde::de::DeserializeOwned>(raw: &Value) -> Option<T> {
    serde_json::from_value(walk(raw, false)).ok()
}

/// The path item at `paths.<path>`, typed (schemas left out). Path items are
/// typed one at a time, as `resolve` reaches them, so the typed view of a
/// large spec's paths never exists whole. A broken one gives the diagnostics
/// `load_spec` gives for a broken document.
pub fn typed_path_item(
    file: &str,
    path: &str,
    raw: &Value,
) -> Result<openapiv3::ReferenceOr<openapiv3::PathItem>, Vec<Diagnostic>> {
    serde_path_to_error::deserialize(walk(raw, false)).map_err(|e| {
        let pointer = format!("/paths/{}", escape_pointer(path));
        let mut diagnostics = Vec::new();
        pinpoint_path_item(file, &pointer, &walk(raw, false), &mut diagnostics);
        if diagnostics.is_empty() {
            diagnostics.push(invalid(
                file,
                format!("{pointer}{}", error_pointer(e.path())),
                e.inner(),
            ));
        }
        diagnostics
    })
}

/// The document without its schemas (each becomes `{}`), in the shape the
/// typed 3.0 parser expects. Built by walking, so schemas are never copied.
/// `value` with every schema in it replaced by `{}` (references kept).
fn walk(value: &Value, in_schemas: bool) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (key, child) in map {
                // Never read from the typed view (responses are read raw), large, and
                // often not valid 3.0 (callbacks by `$ref` string).
                if matches!(key.as_str(), "callbacks" | "examples" | "example" | "links") {
                    continue;
                }
                if key == "responses" && !in_schemas && map.get("responses").is_some_and(Value::is_object) {
                    out.insert(key.clone(), Value::Object(Map::new()));
                    continue;
                }
                let stub = in_schemas || (key == "schema" && (child.is_object() || child.is_boolean()));
                let value = if stub {
                    match child.get("$ref") {
                        // Keep references: the typed view tells references from items.
                        Some(r) => Value::Object(Map::from_iter([("$ref".to_string(), r.clone())])),
                        None => Value::Object(Map::new()),
                    }
                } else {
                    walk(child, false)
                };
                out.insert(key.clone(), value);
            }
            out
        }
        .into(),
        Value::Array(items) => Value::Array(items.iter().map(|v| walk(v, false)).collect()),
        other => other.clone(),
    }
}

/// The document in the shape the typed 3.0 parser expects, schemas left out,
/// and path items too unless `with_paths` (they are typed one by one).
fn skeleton(raw: &Value, with_paths: bool) -> Value {
    let mut out = Map::new();
    for (key, value) in raw.as_object().into_iter().flatten() {
        let value = match key.as_str() {
            // 3.1: the version and the parts 3.0 doesn't have.
            "openapi" => Value::String("3.0.3".to_string()),
            "paths" if !with_paths && value.is_object() => Value::Object(Map::new()),
            "webhooks" | "jsonSchemaDialect" | crate::load::bundle::BUNDLED => continue,
            "components" => {
                let mut components = Map::new();
                for (section, entries) in value.as_object().into_iter().flatten() {
                    // Only the sections the typed view is asked about.
                    let entries = match section.as_str() {
                        "parameters" | "requestBodies" | "securitySchemes" => walk(entries, false),
                        _ => continue,
                    };
                    components.insert(section.clone(), entries);
                }
                Value::Object(components)
            }
            _ => walk(value, false),
        };
        out.insert(key.clone(), value);
    }
    // 3.1 makes `paths` optional; 3.0's parser requires it.
    out.entry("paths").or_insert_with(|| Value::Object(Map::new()));
    Value::Object(out)
}

/// JSON when it looks like JSON, YAML otherwise (YAML is a superset anyway,
/// but serde_json is much faster on large JSON specs).
pub fn parse_document(file: &str, text: &str) -> Result<Value, Error> {
    parse_with(file, text, std::marker::PhantomData::<Value>)
}

/// The spec's root, without what nothing reads: `components.examples` (a
/// fifth of GitHub's spec) and, unless something references them, the
/// webhooks (3.1 `webhooks`, GitHub's `x-webhooks`: tools come from `paths`).
struct SpecRoot {
    skip_webhooks: bool,
}

impl SpecRoot {
    fn for_text(text: &str) -> SpecRoot {
        let mentions = |needle: &str| memchr::memmem::find(text.as_bytes(), needle.as_bytes()).is_some();
        SpecRoot {
            skip_webhooks: !mentions("#/webhooks") && !mentions("#/x-webhooks"),
        }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for SpecRoot {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(Compact {
            skip: Skip::Root {
                webhooks: self.skip_webhooks,
            },
        })
    }
}

/// A value read into a tree whose maps are allocated at their exact size
/// (serde_json's own visitor grows them by insertion, leaving most of a large
/// spec's small objects with room for three or four times their entries: a
/// third of GitHub's tree was spare capacity), leaving out what `skip` says.
#[derive(Clone, Copy, Default)]
struct Compact {
    skip: Skip,
}

/// What a map being read leaves out.
#[derive(Clone, Copy, Default)]
enum Skip {
    #[default]
    Nothing,
    /// The document's root: `components.examples`, and the webhooks if asked.
    Root { webhooks: bool },
    /// `components`: `examples`.
    Components,
}

impl<'de> serde::de::DeserializeSeed<'de> for Compact {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Compact {
    type Value = Value;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let inner = match (self.skip, key.as_str()) {
                (Skip::Root { webhooks: true }, "webhooks" | "x-webhooks") | (Skip::Components, "examples") => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    continue;
                }
                (Skip::Root { .. }, "components") => Skip::Components,
                _ => Skip::Nothing,
            };
            entries.push((key, map.next_value_seed(Compact { skip: inner })?));
        }
        // Sized from the iterator (duplicate keys: the last value wins, as in serde_json).
        Ok(Value::Object(entries.into_iter().collect()))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(Compact::default())? {
            items.push(item);
        }
        items.shrink_to_fit();
        Ok(Value::Array(items))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

/// Parse JSON (when it looks like JSON, through `seed`) or YAML.
fn parse_with<S>(file: &str, text: &str, seed: S) -> Result<Value, Error>
where
    S: for<'de> serde::de::DeserializeSeed<'de, Value = Value>,
{
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('{') {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        seed.deserialize(&mut deserializer)
            .and_then(|v| deserializer.end().map(|()| v))
            .map_err(|e| {
                Error::one(
                    Diagnostic::new(file, format!("invalid JSON: {e}")).line_col(e.line() as u64, e.column() as u64),
                )
            })
    } else {
        // serde-saphyr takes no seed; YAML specs are small enough to read whole.
        serde_saphyr::from_str(text).map_err(|e| {
            let message = e.without_snippet().to_string();
            let first = message.lines().next().unwrap_or_default();
            let mut d = Diagnostic::new(file, format!("invalid YAML: {first}"));
            if let Some(loc) = e.location() {
                d = d.line_col(loc.line(), loc.column());
            }
            Error::one(d)
        })
    }
}

fn invalid(file: &str, pointer: String, why: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::new(file, format!("not a valid OpenAPI document: {why}"))
        .at(pointer)
        .help("fix the document; validators such as `redocly lint` explain OpenAPI errors in detail")
}

/// Typed-parse the document's parts separately: operations and their
/// parameters and bodies, and each component. One diagnostic per broken part.
fn pinpoint(file: &str, raw: &Value) -> Vec<Diagnostic> {
    type Checker = fn(&str, &Value, String, &mut Vec<Diagnostic>) -> bool;
    fn entries(value: Option<&Value>) -> impl Iterator<Item = (&String, &Value)> {
        value.and_then(Value::as_object).into_iter().flatten()
    }
    let mut out = Vec::new();
    for (path, item) in entries(raw.get("paths")) {
        pinpoint_path_item(file, &format!("/paths/{}", escape_pointer(path)), item, &mut out);
    }
    let components = raw.get("components");
    let sections: [(&str, Checker); 4] = [
        ("schemas", check::<openapiv3::Schema>),
        ("parameters", check::<openapiv3::Parameter>),
        ("requestBodies", check::<openapiv3::RequestBody>),
        ("securitySchemes", check::<openapiv3::SecurityScheme>),
    ];
    for (section, checker) in sections {
        for (name, value) in entries(components.and_then(|c| c.get(section))) {
            checker(
                file,
                value,
                format!("/components/{section}/{}", escape_pointer(name)),
                &mut out,
            );
        }
    }
    out
}

/// Typed-parse one path item's operations, their parameters and bodies (each
/// operation only once its parts are fine, so the deepest problem is named).
fn pinpoint_path_item(file: &str, item_pointer: &str, item: &Value, out: &mut Vec<Diagnostic>) {
    for (key, value) in item.as_object().into_iter().flatten() {
        let pointer = format!("{item_pointer}/{}", escape_pointer(key));
        let mut parts_ok = true;
        for (i, param) in value
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            parts_ok &= check::<openapiv3::Parameter>(file, param, format!("{pointer}/parameters/{i}"), out);
        }
        if key == "parameters" {
            for (i, param) in value.as_array().into_iter().flatten().enumerate() {
                check::<openapiv3::Parameter>(file, param, format!("{pointer}/{i}"), out);
            }
            continue;
        }
        if let Some(body) = value.get("requestBody") {
            parts_ok &= check::<openapiv3::RequestBody>(file, body, format!("{pointer}/requestBody"), out);
        }
        const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
        if parts_ok && METHODS.contains(&key.as_str()) {
            check::<openapiv3::Operation>(file, value, pointer, out);
        }
    }
}

/// Type `value` as `T`; a problem is a diagnostic at `pointer`. References pass.
fn check<T: serde::de::DeserializeOwned>(
    file: &str,
    value: &Value,
    pointer: String,
    out: &mut Vec<Diagnostic>,
) -> bool {
    if value.get("$ref").is_some() {
        return true;
    }
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(_) => true,
        Err(e) => {
            out.push(invalid(
                file,
                format!("{pointer}{}", error_pointer(e.path())),
                e.inner(),
            ));
            false
        }
    }
}

/// The JSON pointer of a typed-parse error.
fn error_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|segment| match segment {
            Segment::Seq { index } => Some(index.to_string()),
            Segment::Map { key } => Some(escape_pointer(key)),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .map(|s| format!("/{s}"))
        .collect()
}

/// Fill in line:column for the diagnostics about the document at `path`
/// that carry a pointer. Parses the text again with positions, so it costs
/// nothing unless there is something to report.
pub fn locate(path: &Path, file: &str, diagnostics: &mut [Diagnostic]) {
    let wanted = diagnostics
        .iter()
        .any(|d| d.file == file && d.pointer.is_some() && d.line_col.is_none());
    if !wanted {
        return;
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let Ok(root) = serde_saphyr::from_str::<Spanned<Node>>(&text) else {
        return;
    };
    for d in diagnostics
        .iter_mut()
        .filter(|d| d.file == file && d.line_col.is_none())
    {
        let Some(pointer) = &d.pointer else { continue };
        // The deepest node on the pointer's way that exists.
        let mut node = &root;
        for segment in pointer.split('/').skip(1) {
            let segment = segment.replace("~1", "/").replace("~0", "~");
            let next = match &node.value {
                Node::Map(entries) => entries.iter().find(|(k, _)| *k == segment).map(|(_, v)| v),
                Node::Seq(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
                Node::Leaf => None,
            };
            match next {
                Some(child) => node = child,
                None => break,
            }
        }
        let at = &node.referenced;
        d.line_col = (at.line() > 0).then(|| (at.line(), at.column()));
    }
    crate::diag::attach_snippets(diagnostics, file, &text);
}

/// The document's shape with a position for every node (no values).
enum Node {
    Map(Vec<(String, Spanned<Node>)>),
    Seq(Vec<Spanned<Node>>),
    Leaf,
}

impl<'de> serde::Deserialize<'de> for Node {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Node;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any YAML or JSON value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    entries.push((key, map.next_value::<Spanned<Node>>()?));
                }
                Ok(Node::Map(entries))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<Node>>()? {
                    items.push(item);
                }
                Ok(Node::Seq(items))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_str<E>(self, _: &str) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

fn check_version(file: &str, raw: &Value) -> Result<Version, Error> {
    if !raw.is_object() {
        return Err(Error::one(Diagnostic::new(
            file,
            "the document is not an object; is this an OpenAPI file?",
        )));
    }
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match (raw.get("openapi").map(text), raw.get("swagger").map(text)) {
        (Some(v), _) if v.starts_with("3.0") => Ok(Version::OpenApi30),
        (Some(v), _) if v.starts_with("3.1") => Ok(Version::OpenApi31),
        (Some(v), _) => Err(Error::one(
            Diagnostic::new(
                file,
                format!("OpenAPI {v} is not supported; this mcpgen reads OpenAPI 3.0, 3.1 and Swagger 2.0"),
            )
            .at("/openapi")
            .help("check the `openapi` version field"),
        )),
        (None, Some(v)) if v.starts_with("2.0") || v == "2" => Ok(Version::Swagger2),
        (None, Some(v)) => Err(Error::one(
            Diagnostic::new(
                file,
                format!("Swagger {v} is not supported; this mcpgen reads Swagger 2.0"),
            )
            .at("/swagger")
            .help("convert the document to OpenAPI 3"),
        )),
        (None, None) => Err(Error::one(
            Diagnostic::new(file, "no `openapi` version field; is this an OpenAPI document?")
                .help("OpenAPI documents start with `openapi: 3.0.3` (or 3.1.x; Swagger 2.0 with `swagger: \"2.0\"`)"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_integer_keys_become_strings() {
        let v = parse_document("a.yaml", "responses:\n  200:\n    description: ok\n").unwrap();
        assert_eq!(v["responses"]["200"]["description"], "ok");
    }

    #[test]
    fn versions_are_detected_and_unknown_ones_named() {
        use serde_json::json;
        assert_eq!(
            check_version("a", &json!({"openapi": "3.1.0"})).unwrap(),
            Version::OpenApi31
        );
        assert_eq!(
            check_version("a", &json!({"openapi": "3.0.3"})).unwrap(),
            Version::OpenApi30
        );
        assert_eq!(
            check_version("a", &json!({"swagger": "2.0"})).unwrap(),
            Version::Swagger2
        );
        let err = check_version("a.yaml", &json!({"openapi": "4.0.0"})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "error: a.yaml: openapi: OpenAPI 4.0.0 is not supported; this mcpgen reads OpenAPI 3.0, 3.1 and Swagger 2.0\n  help: check the `openapi` version field"
        );
    }

    #[test]
    fn spec_examples_and_webhooks_are_never_read_into_memory() {
        let text = r#"{"openapi": "3.0.3", "components": {"examples": {"big": {"value": [1, 2]}}, "schemas": {"A": {}}},
                       "x-examples": {"kept": true}, "webhooks": {"a": {}}, "x-webhooks": {"b": {}}}"#;
        let raw = parse_with("a.json", text, SpecRoot::for_text(text)).unwrap();
        assert_eq!(raw["components"], serde_json::json!({"schemas": {"A": {}}}));
        assert_eq!(raw["x-examples"]["kept"], true);
        assert!(raw.get("webhooks").is_none() && raw.get("x-webhooks").is_none());
        assert!(
            parse_with("a.json", "[1, 2]", SpecRoot::for_text("[1, 2]"))
                .unwrap()
                .is_array()
        );
        // Webhooks something refers to are kept.
        let referenced = text.replace(
            r#""schemas": {"A": {}}"#,
            r##""schemas": {"A": {"$ref": "#/x-webhooks/b"}}"##,
        );
        let raw = parse_with("a.json", &referenced, SpecRoot::for_text(&referenced)).unwrap();
        assert_eq!(raw["x-webhooks"], serde_json::json!({"b": {}}));
        assert_eq!(raw["webhooks"], serde_json::json!({"a": {}}));
    }

    #[test]
    fn the_typed_view_leaves_schemas_out() {
        use serde_json::json;
        let raw = json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
            "webhooks": {"x": {}},
            "components": {"schemas": {"A": {"type": ["string", "null"]}, "B": true}},
            "paths": {"/a": {"get": {"parameters": [{"name": "q", "in": "query", "schema": {"type": ["integer", "null"], "exclusiveMinimum": 0}}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}}}}}});
        let skeleton = skeleton(&raw, true);
        let typed: openapiv3::OpenAPI = serde_json::from_value(skeleton.clone()).unwrap();
        assert_eq!(typed.paths.paths.len(), 1);
        assert!(skeleton["components"].get("schemas").is_none());
        assert_eq!(skeleton["paths"]["/a"]["get"]["parameters"][0]["schema"], json!({}));
        // Responses are read from the raw document, never from the typed view.
        assert_eq!(skeleton["paths"]["/a"]["get"]["responses"], json!({}));
        // The document's own typed view leaves paths out; each is typed alone.
        assert_eq!(crate::load::skeleton(&raw, false)["paths"], json!({}));
        let item = typed_path_item("a.json", "/a", &raw["paths"]["/a"]).unwrap();
        assert!(matches!(item, openapiv3::ReferenceOr::Item(i) if i.get.is_some()));
    }

    #[test]
    fn a_spec_that_is_not_utf8_is_a_diagnostic() {
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("latin1.yaml");
        std::fs::write(
            &spec,
            b"openapi: 3.0.3\ninfo: {title: caf\xe9, version: '1'}\npaths: {}\n",
        )
        .unwrap();
        let err = load_spec(&spec, "latin1.yaml").err().expect("rejected").to_string();
        assert_eq!(
            err,
            "error: latin1.yaml: the spec is not UTF-8 text (byte 32)\n  help: save the spec as UTF-8"
        );
    }

    #[test]
    fn pointers_get_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let yaml = dir.path().join("a.yaml");
        std::fs::write(&yaml, "openapi: 3.0.3\npaths:\n  /pets/{id}:\n    get:\n      parameters:\n        - name: id\n          in: path\n").unwrap();
        let json = dir.path().join("a.json");
        std::fs::write(&json, "{\"paths\": {\"/pets\": {\n  \"get\": {}}}}").unwrap();
        let mut ds = vec![
            Diagnostic::new("a.yaml", "x").at("/paths/~1pets~1{id}/get/parameters/0/in"),
            Diagnostic::new("a.yaml", "y").at("/paths/~1pets~1{id}/get/parameters/3"),
            Diagnostic::new("a.json", "z").at("/paths/~1pets/get"),
        ];
        locate(&yaml, "a.yaml", &mut ds);
        locate(&json, "a.json", &mut ds);
        assert_eq!(ds[0].line_col, Some((7, 15)));
        // A missing element: the deepest existing node (the parameters list).
        assert_eq!(ds[1].line_col, Some((6, 9)));
        assert_eq!(ds[2].line_col, Some((2, 10)));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse_document("a.json", "{\n  \"openapi\": 3,,\n}")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("error: a.json:2:16: invalid JSON"), "{err}");
    }
}
