//! `tools.<id>.response` of mcpgen.yaml: the paths checked against the
//! response schema (a typo would silently empty every result), moved into a
//! paged tool's items, and the output schema rewritten to what the runtime's
//! `mcpgen_spec::projection` leaves of each answer.

use mcpgen_spec::fields::{FieldPath, Segment};
use mcpgen_spec::projection;
use serde_json::{Map, Value, json};
use serde_saphyr::Spanned;

use super::args::Arguments;
use super::rust::Expr;
use crate::diag::Diagnostic;
use crate::select::config::ResponseOverride;

/// The checked projection, its paths in the result's terms (within each item
/// for a paged tool); written as the runtime's `ResponseSpec`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponsePlan {
    pub fields: Vec<String>,
    pub rename: Vec<(String, String)>,
    pub max_items: Option<u32>,
    pub fields_argument: bool,
}

impl ResponsePlan {
    /// One line for the generated README.
    pub fn summary(&self) -> String {
        let quoted = |items: &mut dyn Iterator<Item = String>| items.collect::<Vec<_>>().join(", ");
        let mut parts = Vec::new();
        if !self.fields.is_empty() {
            parts.push(format!(
                "only {}",
                quoted(&mut self.fields.iter().map(|f| format!("`{f}`")))
            ));
        }
        if !self.rename.is_empty() {
            parts.push(format!(
                "renamed {}",
                quoted(&mut self.rename.iter().map(|(p, n)| format!("`{p}` → `{n}`")))
            ));
        }
        if let Some(max) = self.max_items {
            parts.push(format!("lists of at most {max} items"));
        }
        if self.fields_argument {
            parts.push("a `fields` argument".to_string());
        }
        parts.join("; ")
    }
}

impl Expr for ResponsePlan {
    fn write(&self, out: &mut String) {
        out.push_str("ResponseSpec { fields: ");
        self.fields.write(out);
        out.push_str(", rename: &[");
        for (i, (path, name)) in self.rename.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push('(');
            path.write(out);
            out.push_str(", ");
            name.write(out);
            out.push(')');
        }
        out.push_str("], max_items: ");
        self.max_items.write(out);
        out.push_str(", fields_argument: ");
        self.fields_argument.write(out);
        out.push_str(" }");
    }
}

/// What a tool needs to plan its projection.
pub(super) struct Target<'a> {
    pub tool: &'a str,
    pub config_file: &'a str,
    /// The paged tool's items field (`""`: the body is the list); `None`: not paged.
    pub items: Option<&'a str>,
    /// The 2xx response's schema, normalized, in the API's terms; `None`: not known.
    pub body: Option<&'a Value>,
}

/// The model's own choice of fields, per call (`fields_argument`).
const FIELDS_ARGUMENT_DESCRIPTION: &str = "Only these fields of the result (of each item, for paged results), \
as paths: `name`, `owner.login`, `labels[*].name`. Leave out for every field.";

pub(super) fn plan(
    custom: &Spanned<ResponseOverride>,
    target: &Target,
    args: &mut Arguments,
) -> Result<ResponsePlan, Box<Diagnostic>> {
    let at =
        |line: u64, column: u64, message: String| Diagnostic::new(target.config_file, message).line_col(line, column);
    let tool = target.tool;
    let mut fields = Vec::new();
    let mut whole_items = false;
    for field in &custom.value.fields {
        let here = |m: String| at(field.referenced.line(), field.referenced.column(), m);
        let path = checked_path(&field.value, target).map_err(|(m, help)| Box::new(here(m).help(help)))?;
        match path {
            Some(path) => fields.push(path.to_string()),
            None => whole_items = true,
        }
    }
    // A path naming the whole item keeps every field.
    if whole_items {
        fields.clear();
    }
    let mut rename = Vec::new();
    for (path, name) in &custom.value.rename {
        let here = |m: String| at(name.referenced.line(), name.referenced.column(), m);
        let valid = !name.value.is_empty() && !name.value.contains(['.', '[', ']', '*', '$']);
        if !valid {
            return Err(Box::new(
                here(format!(
                    "tools.{tool}.response.rename: `{}` can't be a field name",
                    name.value
                ))
                .help("use a plain name without `.`, `[`, `]`, `*` or `$`"),
            ));
        }
        let checked = checked_path(path, target).map_err(|(m, help)| Box::new(here(m).help(help)))?;
        match checked.as_ref().and_then(|p| p.0.last()) {
            Some(Segment::Key(_)) => rename.push((checked.expect("matched").to_string(), name.value.clone())),
            _ => {
                return Err(Box::new(
                    here(format!(
                        "tools.{tool}.response.rename: `{path}` doesn't end in a field name"
                    ))
                    .help("name the field to rename, e.g. `items[*].login`"),
                ));
            }
        }
    }
    if let Some(max) = &custom.value.max_items
        && max.value == 0
    {
        return Err(Box::new(
            at(
                max.referenced.line(),
                max.referenced.column(),
                format!("tools.{tool}.response.max_items must be at least 1"),
            )
            .help("leave it out to keep whole lists"),
        ));
    }
    if custom.value.fields_argument {
        if args.taken.contains(projection::FIELDS_ARGUMENT) {
            return Err(Box::new(
                at(
                    custom.referenced.line(),
                    custom.referenced.column(),
                    format!("tools.{tool}.response.fields_argument: `{tool}` already has an argument `fields`"),
                )
                .help("leave `fields_argument` off for this tool; its own `fields` may already narrow the answer"),
            ));
        }
        args.taken.insert(projection::FIELDS_ARGUMENT.to_string());
        args.properties.insert(
            projection::FIELDS_ARGUMENT.to_string(),
            json!({"type": "array", "items": {"type": "string"}, "description": FIELDS_ARGUMENT_DESCRIPTION}),
        );
    }
    Ok(ResponsePlan {
        fields,
        rename,
        max_items: custom.value.max_items.as_ref().map(|m| m.value),
        fields_argument: custom.value.fields_argument,
    })
}

/// The path parsed, checked against the body schema and, for a paged tool,
/// made relative to one item (`None`: the whole item). Errors: message, help.
fn checked_path(text: &str, target: &Target) -> Result<Option<FieldPath>, (String, String)> {
    let tool = target.tool;
    let path = FieldPath::parse(text).map_err(|e| {
        (
            format!("tools.{tool}.response: {e}"),
            "paths are like redaction's: `a.b`, `items[*].id`, `**.name`".to_string(),
        )
    })?;
    if let Some(body) = target.body
        && let Some((field, has)) = missing(body, &path.0)
    {
        let hint = crate::diag::did_you_mean(&field, has.iter().map(String::as_str))
            .map(|c| format!("did you mean `{c}`? "))
            .unwrap_or_default();
        return Err((
            format!("tools.{tool}.response: `{text}`: the response schema has no field `{field}` there"),
            format!(
                "{hint}there it has {}; a field the spec leaves out can be named with `**.{field}`",
                list(&has)
            ),
        ));
    }
    match target.items {
        None => Ok(Some(path)),
        Some(items) => within_items(path, items).map_err(|()| {
            let whole = if items.is_empty() {
                "the response's items".to_string()
            } else {
                format!("the items of `{items}`")
            };
            (
                format!("tools.{tool}.response: `{text}` is not part of this paged tool's results"),
                format!(
                    "its results hold only {whole}; name their fields ({})",
                    if items.is_empty() {
                        "`[*].id`".to_string()
                    } else {
                        format!("`{items}[*].id`")
                    }
                ),
            )
        }),
    }
}

fn list(names: &[String]) -> String {
    match names.len() {
        0 => "no fields".to_string(),
        1..=12 => names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
        n => format!(
            "{} and {} more",
            names[..12]
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
            n - 12
        ),
    }
}

/// `path` within one item of the list at `items`: `data[*].id` → `id`.
/// `**` paths apply anywhere, so as they are.
fn within_items(path: FieldPath, items: &str) -> Result<Option<FieldPath>, ()> {
    let mut segments = path.0.as_slice();
    if segments.first() == Some(&Segment::Deep) {
        return Ok(Some(path));
    }
    for key in items.split('.').filter(|k| !k.is_empty()) {
        match segments.split_first() {
            Some((Segment::Key(k), rest)) if k == key => segments = rest,
            Some((Segment::AnyKey, rest)) => segments = rest,
            _ => return Err(()),
        }
    }
    if let Some((Segment::AnyIndex, rest)) = segments.split_first() {
        segments = rest;
    } else if let Some((Segment::Index(_), _)) = segments.split_first() {
        // One item of each page is not something results can keep.
        return Err(());
    }
    Ok((!segments.is_empty()).then(|| FieldPath(segments.to_vec())))
}

/// The first field `path` names that the schema says can't be there, with
/// the fields it has at that level; `None` when it may be (or can't be told:
/// `**`, `*`, combinators, open maps).
fn missing(schema: &Value, path: &[Segment]) -> Option<(String, Vec<String>)> {
    let (first, rest) = path.split_first()?;
    let map = schema.as_object()?;
    if ["anyOf", "oneOf", "allOf"].iter().any(|k| map.contains_key(*k)) {
        return None;
    }
    match first {
        Segment::Deep | Segment::AnyKey => None,
        Segment::AnyIndex | Segment::Index(_) => missing(map.get("items")?, rest),
        Segment::Key(key) => match map.get("properties").and_then(Value::as_object) {
            Some(props) => match props.get(key) {
                Some(child) => missing(child, rest),
                None if open(map) => None,
                None => Some((key.clone(), props.keys().cloned().collect())),
            },
            // `items.title` reads as `items[*].title`, as in redaction.
            None => missing(map.get("items")?, path),
        },
    }
}

/// Whether an object schema allows keys beyond its `properties`, explicitly.
fn open(map: &Map<String, Value>) -> bool {
    map.contains_key("patternProperties")
        || matches!(
            map.get("additionalProperties"),
            Some(Value::Object(_)) | Some(Value::Bool(true))
        )
}

/// The output schema of what `plan` keeps: `schema` describes the result
/// (the body, or one item for a paged tool).
pub(super) fn project_schema(schema: &mut Value, plan: &ResponsePlan) {
    let paths: Vec<FieldPath> = plan.fields.iter().filter_map(|f| FieldPath::parse(f).ok()).collect();
    if !paths.is_empty() {
        let paths: Vec<&[Segment]> = paths.iter().map(|p| p.0.as_slice()).collect();
        *schema = kept(schema, &paths).unwrap_or_else(|| json!({"type": "object", "properties": {}}));
    }
    for (path, name) in &plan.rename {
        if let Ok(path) = FieldPath::parse(path) {
            rename(schema, &path.0, name);
        }
    }
}

/// The schema of what the runtime's `kept` leaves; `None` when no path
/// reaches into it.
fn kept(schema: &Value, paths: &[&[Segment]]) -> Option<Value> {
    let here = projection::here(paths);
    if here.iter().any(|p| p.is_empty()) {
        return Some(schema.clone());
    }
    let Value::Object(map) = schema else {
        return Some(schema.clone());
    };
    let mut out = map.clone();
    let mut combined = false;
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(branches)) = out.get_mut(key) {
            combined = true;
            for branch in branches.iter_mut() {
                *branch = kept(branch, &here).unwrap_or_else(|| json!({}));
            }
        }
    }
    if let Some(Value::Object(props)) = map.get("properties") {
        let mut kept_props = Map::new();
        for (key, child) in props {
            let next = projection::under_key(&here, key);
            if let Some(child) = (!next.is_empty()).then(|| kept(child, &next)).flatten() {
                kept_props.insert(key.clone(), child);
            }
        }
        out.insert("properties".into(), Value::Object(kept_props));
        // Other keys survive only through `*` or `**`.
        if !here.iter().any(|p| matches!(p[0], Segment::AnyKey | Segment::Deep)) {
            out.remove("additionalProperties");
            out.remove("patternProperties");
        }
        return Some(Value::Object(out));
    }
    if let Some(items) = map.get("items") {
        let next = projection::under_item(&here, None);
        out.insert("items".into(), kept(items, &next).unwrap_or_else(|| json!({})));
        return Some(Value::Object(out));
    }
    // A scalar the paths go past is not kept; a map or a combination may hold them.
    let scalar = map
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| !matches!(t, "object" | "array"));
    (combined || !scalar).then_some(Value::Object(out))
}

/// `rename` of the runtime, on the schema: the property keeps its place.
fn rename(schema: &mut Value, path: &[Segment], name: &str) {
    let Value::Object(map) = schema else {
        return;
    };
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(branches)) = map.get_mut(key) {
            branches.iter_mut().for_each(|b| rename(b, path, name));
        }
    }
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let has_props = map.get("properties").is_some_and(Value::is_object);
    match first {
        Segment::Key(key) if has_props => {
            let Some(Value::Object(props)) = map.get_mut("properties") else {
                return;
            };
            if !rest.is_empty() {
                if let Some(child) = props.get_mut(key) {
                    rename(child, rest, name);
                }
            } else if props.contains_key(key) && !props.contains_key(name) {
                let entries = std::mem::take(props);
                *props = entries
                    .into_iter()
                    .map(|(k, v)| if &k == key { (name.to_string(), v) } else { (k, v) })
                    .collect();
            }
        }
        Segment::AnyKey if has_props => {
            if let Some(Value::Object(props)) = map.get_mut("properties") {
                props.values_mut().for_each(|p| rename(p, rest, name));
            }
        }
        Segment::Deep => {
            rename(schema, rest, name);
            let Value::Object(map) = schema else {
                return;
            };
            if let Some(Value::Object(props)) = map.get_mut("properties") {
                props.values_mut().for_each(|p| rename(p, path, name));
            }
            if let Some(items) = map.get_mut("items") {
                rename(items, path, name);
            }
        }
        Segment::AnyIndex | Segment::Index(_) => {
            if let Some(items) = map.get_mut("items") {
                rename(items, rest, name);
            }
        }
        // `items.title` reads as `items[*].title`.
        _ => {
            if let Some(items) = map.get_mut("items") {
                rename(items, path, name);
            }
        }
    }
}

/// What the projection leaves of the spec's example 2xx response, in bytes
/// of compact JSON: (example, projected); for a paged tool, of its items.
/// `None` when the operation (at `pointer` in `document`) has no example.
pub fn example_sizes(
    plan: &ResponsePlan,
    items: Option<&str>,
    document: &Value,
    pointer: &str,
) -> Option<(usize, usize)> {
    let example = example(document, pointer)?;
    let projection = projection::Projection {
        keep: plan.fields.iter().filter_map(|f| FieldPath::parse(f).ok()).collect(),
        rename: plan
            .rename
            .iter()
            .filter_map(|(p, n)| Some((FieldPath::parse(p).ok()?, n.clone())))
            .collect(),
        max_items: plan.max_items.map(|n| n as usize),
    };
    let size = |v: &Value| v.to_string().len();
    match items {
        None => Some((size(&example), size(&projection.apply(&example)))),
        Some(items) => {
            let list = items
                .split('.')
                .filter(|k| !k.is_empty())
                .try_fold(&example, |v, k| v.get(k))?
                .as_array()?;
            let projected: Vec<Value> = list.iter().map(|item| projection.apply(item)).collect();
            Some((size(&Value::Array(list.clone())), size(&Value::Array(projected))))
        }
    }
}

/// The first JSON 2xx example of the operation: the media type's `example`,
/// else its first `examples` entry (`$ref`s within the document followed).
fn example(document: &Value, pointer: &str) -> Option<Value> {
    let local = |v: &'_ Value| -> Option<Value> {
        let mut v = v.clone();
        // A few hops at most: `$ref` chains are short, and cycles end here.
        for _ in 0..8 {
            match v.get("$ref").and_then(Value::as_str) {
                Some(r) => v = document.pointer(r.strip_prefix('#')?)?.clone(),
                None => return Some(v),
            }
        }
        None
    };
    let responses = local(document.pointer(pointer)?.get("responses")?)?;
    let (_, response) = responses.as_object()?.iter().find(|(code, _)| code.starts_with('2'))?;
    let response = local(response)?;
    let (_, media) = response
        .get("content")?
        .as_object()?
        .iter()
        .find(|(mt, _)| mt.contains("json"))?;
    if let Some(example) = media.get("example") {
        return Some(example.clone());
    }
    let (_, first) = media.get("examples")?.as_object()?.iter().next()?;
    local(first)?.get("value").cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issues_schema() -> Value {
        json!({"type": "object", "properties": {
            "total_count": {"type": "integer"},
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "number": {"type": "integer"},
                "title": {"type": "string"},
                "user": {"type": "object", "properties": {"login": {"type": "string"}, "id": {"type": "integer"}}},
                "labels": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}}
            }}}
        }})
    }

    fn plan_of(fields: &[&str], rename: &[(&str, &str)]) -> ResponsePlan {
        ResponsePlan {
            fields: fields.iter().map(|f| f.to_string()).collect(),
            rename: rename.iter().map(|(p, n)| (p.to_string(), n.to_string())).collect(),
            max_items: None,
            fields_argument: false,
        }
    }

    #[test]
    fn the_output_schema_keeps_what_the_runtime_keeps_under_its_new_names() {
        let mut schema = issues_schema();
        let plan = plan_of(
            &["total_count", "items.number", "items[*].user.login"],
            &[("items[*].number", "id"), ("**.login", "author")],
        );
        project_schema(&mut schema, &plan);
        assert_eq!(
            schema,
            json!({"type": "object", "properties": {
                "total_count": {"type": "integer"},
                "items": {"type": "array", "items": {"type": "object", "properties": {
                    "id": {"type": "integer"},
                    "user": {"type": "object", "properties": {"author": {"type": "string"}}}
                }}}
            }})
        );
        // What the runtime leaves of an answer matches it.
        let value = json!({"total_count": 1, "items": [{"number": 1, "title": "t", "user": {"login": "ann", "id": 3}, "labels": []}]});
        let spec = projection::Projection {
            keep: plan.fields.iter().map(|f| FieldPath::parse(f).unwrap()).collect(),
            rename: plan
                .rename
                .iter()
                .map(|(p, n)| (FieldPath::parse(p).unwrap(), n.clone()))
                .collect(),
            max_items: None,
        };
        let projected = spec.apply(&value);
        let validator = jsonschema::validator_for(&schema).unwrap();
        assert!(validator.is_valid(&projected), "{projected}");
        assert_eq!(
            projected,
            json!({"total_count": 1, "items": [{"id": 1, "user": {"author": "ann"}}]})
        );
    }

    #[test]
    fn paths_are_checked_against_the_schema_and_moved_into_paged_items() {
        let schema = issues_schema();
        assert_eq!(
            missing(&schema, &FieldPath::parse("items[*].user.login").unwrap().0),
            None
        );
        assert_eq!(
            missing(&schema, &FieldPath::parse("items.labels.name").unwrap().0),
            None
        );
        assert_eq!(missing(&schema, &FieldPath::parse("**.anything").unwrap().0), None);
        let (field, has) = missing(&schema, &FieldPath::parse("items[*].usr.login").unwrap().0).unwrap();
        assert_eq!(field, "usr");
        assert_eq!(has, ["number", "title", "user", "labels"]);

        let within =
            |p: &str, items: &str| within_items(FieldPath::parse(p).unwrap(), items).map(|p| p.map(|p| p.to_string()));
        assert_eq!(within("items[*].user.login", "items"), Ok(Some("user.login".into())));
        assert_eq!(within("items.title", "items"), Ok(Some("title".into())));
        assert_eq!(within("items", "items"), Ok(None));
        assert_eq!(within("**.login", "items"), Ok(Some("**.login".into())));
        assert_eq!(within("[*].id", ""), Ok(Some("id".into())));
        assert_eq!(within("id", ""), Ok(Some("id".into())));
        assert_eq!(within("total_count", "items"), Err(()));
        assert_eq!(within("items[0].id", "items"), Err(()));
    }
}
