//! OpenAPI 3.0 document → `ir::Api`.
//!
//! Input: `SpecDocument`. Output: `Api` with every operation in document
//! order, path-item and operation parameters merged, references followed and
//! schemas normalized. Problems inside an operation stay on that operation
//! (`Operation::problems`) so that only selected operations can fail a run;
//! a path item that is not valid OpenAPI fails it, with every such item named.
//! Path items are typed and resolved independently, on every core.

pub mod schema;

use std::collections::HashMap;

use indexmap::IndexMap;
use openapiv3::{ParameterSchemaOrContent, ReferenceOr};
use serde_json::{Value, json};

use crate::diag::{Diagnostic, Error, escape_pointer};
use crate::ir::{
    Api, ApiKeyLocation, Body, ClientCredentials, Location, Method, Operation, Param, Response, SecurityScheme,
    ServerTemplate, Style,
};
use crate::load::SpecDocument;
use crate::resolve::schema::Normalizer;

pub fn resolve(doc: &SpecDocument) -> Result<Api, Error> {
    let spec = &doc.typed;
    let mut tags: Vec<String> = spec.tags.iter().map(|t| t.name.clone()).collect();

    let security_schemes = spec
        .components
        .iter()
        .flat_map(|c| c.security_schemes.iter())
        .map(|(name, scheme)| (name.clone(), security_scheme(doc, scheme)))
        .collect();

    let servers = spec.servers.iter().map(server_url).collect();
    let server_templates = spec
        .servers
        .iter()
        .map(|server| ServerTemplate {
            url: server.url.clone(),
            variables: server
                .variables
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.default.clone()))
                .collect(),
        })
        .collect();

    // Path items are typed and resolved independently: on every core, in document order.
    let paths: Vec<(&String, &Value)> = doc
        .raw
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(path, _)| path.starts_with('/'))
        .collect();
    let mut operations = Vec::new();
    let mut broken = Vec::new();
    let mut invalid_operations = Vec::new();
    for resolved in crate::parallel::map_ordered(&paths, |(path, item)| path_operations(doc, path, item)) {
        match resolved {
            Ok((ops, valid)) => {
                if !valid {
                    invalid_operations.extend(ops.iter().map(|op| op.pointer.clone()));
                }
                operations.extend(ops)
            }
            Err(diagnostics) => broken.extend(diagnostics),
        }
    }
    if !broken.is_empty() {
        return Err(Error::Diagnostics(broken));
    }
    distinguish_repeated_ids(&mut operations, &doc.file);
    for op in &operations {
        for tag in &op.tags {
            if !tags.contains(tag) {
                tags.push(tag.clone());
            }
        }
    }

    Ok(Api {
        title: spec.info.title.clone(),
        version: spec.info.version.clone(),
        description: spec.info.description.clone(),
        servers,
        server_templates,
        security_schemes,
        tags,
        operations,
        invalid_operations,
    })
}

/// The operations of the path item `paths.<path>`, and whether the item is
/// valid (an invalid one's operations carry its problems).
fn path_operations(
    doc: &SpecDocument,
    path: &str,
    raw_item: &Value,
) -> Result<(Vec<Operation>, bool), Vec<Diagnostic>> {
    let spec = &doc.typed;
    let item_pointer = format!("/paths/{}", escape_pointer(path));
    let (mut raw_item, referenced_ops) = follow_operation_refs(doc, raw_item, &item_pointer)?;
    let null_scopes = null_scope_lists(&doc.file, &mut raw_item, &item_pointer);
    let item = match crate::load::typed_path_item(&doc.file, path, &raw_item) {
        Ok(item) => item,
        // Only the operations of this path item fail, and only if selected.
        Err(problems) => return Ok((broken_operations(path, &item_pointer, &raw_item, problems), false)),
    };
    let mut operations = Vec::new();
    let referenced;
    let (item, item_pointer) = match &item {
        ReferenceOr::Item(item) => (item, item_pointer),
        ReferenceOr::Reference { reference } => {
            let target = crate::diag::local_pointer(reference)
                .and_then(|p| Some((crate::load::typed_part::<openapiv3::PathItem>(doc.raw.pointer(&p)?)?, p)));
            match target {
                Some((item, pointer)) => {
                    referenced = item;
                    (&referenced, pointer)
                }
                None => return Ok((vec![unsupported_path_item(doc, path, reference)], true)),
            }
        }
    };
    for (method_name, op) in item.iter() {
        let method = Method::from_openapi(method_name).expect("openapiv3 yields known methods");
        // An operation given by `$ref` lives (and is read) where the reference points.
        let op_pointer = referenced_ops
            .iter()
            .find(|(m, _)| m == method_name)
            .map_or_else(|| format!("{item_pointer}/{method_name}"), |(_, p)| p.clone());
        let mut problems: Vec<Diagnostic> = null_scopes
            .iter()
            .filter(|(method, _)| method == method_name)
            .map(|(_, warning)| warning.clone())
            .collect();

        // Operation parameters override path-item ones with the same name and location.
        let mut params: IndexMap<(String, Location), Param> = IndexMap::new();
        let sources = item
            .parameters
            .iter()
            .enumerate()
            .map(|(i, p)| (p, format!("{item_pointer}/parameters/{i}")))
            .chain(
                op.parameters
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (p, format!("{op_pointer}/parameters/{i}"))),
            );
        for (param, pointer) in sources {
            if let Some(param) = parameter(doc, param, &pointer, &mut problems) {
                params.insert((param.name.clone(), param.location), param);
            }
        }
        let body = op
            .request_body
            .as_ref()
            .and_then(|b| request_body(doc, b, &format!("{op_pointer}/requestBody"), &mut problems));

        let response = success_response(doc, &format!("{op_pointer}/responses"));

        let security = op
            .security
            .as_ref()
            .or(spec.security.as_ref())
            .map(|alternatives| alternatives.iter().map(|req| req.keys().cloned().collect()).collect())
            .unwrap_or_default();
        operations.push(Operation {
            key: op
                .operation_id
                .clone()
                .unwrap_or_else(|| format!("{} {path}", method.as_str())),
            operation_id: op.operation_id.clone(),
            method,
            path: path.to_string(),
            server: op.servers.first().or(item.servers.first()).map(server_url),
            pointer: op_pointer.clone(),
            summary: op.summary.clone(),
            description: op.description.clone(),
            tags: op.tags.clone(),
            deprecated: op.deprecated,
            params: params.into_values().collect(),
            body,
            response,
            security,
            security_pointer: match op.security {
                Some(_) => format!("{op_pointer}/security"),
                None => "/security".to_string(),
            },
            problems,
        });
    }
    Ok((operations, true))
}

/// `security: [{oauth2: null}]`, as some vendors write "no scopes": read as
/// `[]`, with a warning for the operation (by method) that says it.
fn null_scope_lists(
    file: &str,
    raw_item: &mut std::borrow::Cow<'_, Value>,
    item_pointer: &str,
) -> Vec<(String, Diagnostic)> {
    let mut warnings = Vec::new();
    let says_null = |op: &Value| {
        op.get("security").and_then(Value::as_array).is_some_and(|a| {
            a.iter()
                .filter_map(Value::as_object)
                .flatten()
                .any(|(_, v)| v.is_null())
        })
    };
    if !raw_item.as_object().is_some_and(|item| item.values().any(says_null)) {
        return warnings;
    }
    let Some(item) = raw_item.to_mut().as_object_mut() else {
        return warnings;
    };
    for (method, op) in item.iter_mut() {
        let Some(alternatives) = op.get_mut("security").and_then(Value::as_array_mut) else {
            continue;
        };
        for (i, requirement) in alternatives.iter_mut().enumerate() {
            for (scheme, scopes) in requirement.as_object_mut().into_iter().flatten() {
                if scopes.is_null() {
                    *scopes = json!([]);
                    let pointer = format!("{item_pointer}/{method}/security/{i}/{}", escape_pointer(scheme));
                    let warning = Diagnostic::new(file, format!("`{scheme}: null` read as no scopes (`[]`)"))
                        .at(pointer)
                        .help("write `[]` in the spec: a security requirement lists its scopes")
                        .warning();
                    warnings.push((method.clone(), warning));
                }
            }
        }
    }
    warnings
}

fn server_url(server: &openapiv3::Server) -> String {
    let mut url = server.url.clone();
    for (name, variable) in server.variables.iter().flatten() {
        url = url.replace(&format!("{{{name}}}"), &variable.default);
    }
    url
}

fn security_scheme(doc: &SpecDocument, scheme: &ReferenceOr<openapiv3::SecurityScheme>) -> SecurityScheme {
    use openapiv3::{APIKeyLocation, SecurityScheme as S};
    let Some((scheme, _)) = deref(doc, scheme, "", &mut Vec::new()) else {
        return SecurityScheme::Unsupported("a dangling reference".to_string());
    };
    match &scheme {
        S::APIKey { location, name, .. } => SecurityScheme::ApiKey {
            location: match location {
                APIKeyLocation::Header => ApiKeyLocation::Header,
                APIKeyLocation::Query => ApiKeyLocation::Query,
                APIKeyLocation::Cookie => ApiKeyLocation::Cookie,
            },
            name: name.clone(),
        },
        S::HTTP { scheme, .. } if scheme.eq_ignore_ascii_case("bearer") => SecurityScheme::Bearer,
        S::HTTP { scheme, .. } if scheme.eq_ignore_ascii_case("basic") => SecurityScheme::Basic,
        S::HTTP { scheme, .. } => SecurityScheme::Unsupported(format!("HTTP `{scheme}` authentication")),
        S::OAuth2 { flows, .. } => SecurityScheme::OAuth2 {
            client_credentials: flows.client_credentials.as_ref().map(|flow| ClientCredentials {
                token_url: flow.token_url.clone(),
                scopes: flow.scopes.keys().cloned().collect(),
            }),
        },
        S::OpenIDConnect { .. } => SecurityScheme::OAuth2 {
            client_credentials: None,
        },
    }
}

/// The item itself, or the target of its local `$ref`, with the pointer
/// where it lives (so schemas and diagnostics point at the real place).
/// A dangling or non-local reference is reported and gives `None`.
fn deref<T: Clone + serde::de::DeserializeOwned>(
    doc: &SpecDocument,
    item: &ReferenceOr<T>,
    pointer: &str,
    problems: &mut Vec<Diagnostic>,
) -> Option<(T, String)> {
    match item {
        ReferenceOr::Item(item) => Some((item.clone(), pointer.to_string())),
        ReferenceOr::Reference { reference } => {
            let target = crate::diag::local_pointer(reference).and_then(|p| doc.raw.pointer(&p).map(|v| (p, v)));
            match target.and_then(|(p, v)| Some((serde_json::from_value(v.clone()).ok()?, p))) {
                Some(found) => Some(found),
                None => {
                    problems.push(dangling(doc, pointer, reference));
                    None
                }
            }
        }
    }
}

fn dangling(doc: &SpecDocument, pointer: &str, reference: &str) -> Diagnostic {
    if !reference.starts_with('#') {
        return crate::resolve::schema::external_ref(&doc.file, pointer, reference);
    }
    Diagnostic::new(&doc.file, format!("`$ref: {reference}` points to nothing"))
        .at(pointer)
        .help("define the referenced component in this document or correct the reference")
}

fn parameter(
    doc: &SpecDocument,
    param: &ReferenceOr<openapiv3::Parameter>,
    pointer: &str,
    problems: &mut Vec<Diagnostic>,
) -> Option<Param> {
    use openapiv3::{Parameter as P, PathStyle, QueryStyle};
    let (param, pointer) = deref(doc, param, pointer, problems)?;
    let (location, style) = match &param {
        P::Path { style, .. } => (
            Location::Path,
            match style {
                PathStyle::Simple => Style::Simple,
                PathStyle::Label => Style::Label,
                PathStyle::Matrix => Style::Matrix,
            },
        ),
        P::Query { style, .. } => (
            Location::Query,
            match style {
                QueryStyle::Form => Style::Form,
                QueryStyle::SpaceDelimited => Style::SpaceDelimited,
                QueryStyle::PipeDelimited => Style::PipeDelimited,
                QueryStyle::DeepObject => Style::DeepObject,
            },
        ),
        P::Header { .. } => (Location::Header, Style::Simple),
        P::Cookie { .. } => (Location::Cookie, Style::Form),
    };
    let data = param.parameter_data_ref();
    let normalizer = Normalizer {
        doc: &doc.raw,
        file: &doc.file,
        for_input: true,
    };
    let schema = match &data.format {
        ParameterSchemaOrContent::Schema(_) => {
            let schema_pointer = format!("{pointer}/schema");
            let raw = doc.raw.pointer(&schema_pointer).cloned().unwrap_or_else(|| json!({}));
            normalizer.normalize(&raw, &schema_pointer, problems)
        }
        // One media type whose schema describes the value; it is sent as JSON text.
        ParameterSchemaOrContent::Content(content) => match content.keys().next() {
            Some(media_type) => {
                let schema_pointer = format!("{pointer}/content/{}/schema", escape_pointer(media_type));
                let raw = doc.raw.pointer(&schema_pointer).cloned().unwrap_or_else(|| json!({}));
                normalizer.normalize(&raw, &schema_pointer, problems)
            }
            None => json!({}),
        },
    };
    let style = match data.format {
        ParameterSchemaOrContent::Content(_) => Style::Content,
        ParameterSchemaOrContent::Schema(_) => style,
    };
    Some(Param {
        name: data.name.clone(),
        location,
        // Path parameters are always required, whatever the document says.
        required: data.required || location == Location::Path,
        description: data.description.clone(),
        deprecated: data.deprecated.unwrap_or(false),
        schema,
        style,
        explode: data.explode.unwrap_or(style == Style::Form),
    })
}

/// The operations of a path item that is not valid, each carrying the
/// problems within it (and those of the path item itself): an error if it is
/// selected, nothing otherwise.
fn broken_operations(path: &str, item_pointer: &str, raw_item: &Value, problems: Vec<Diagnostic>) -> Vec<Operation> {
    let mut operations = Vec::new();
    for (name, raw) in raw_item.as_object().into_iter().flatten() {
        let Some(method) = Method::from_openapi(name) else {
            continue;
        };
        let pointer = format!("{item_pointer}/{name}");
        let operation_id = raw.get("operationId").and_then(Value::as_str).map(str::to_string);
        let within = |at: &str, op: &str| at == op || at.starts_with(&format!("{op}/"));
        let other_operation = |at: &str| {
            raw_item.as_object().into_iter().flatten().any(|(key, _)| {
                key != name && Method::from_openapi(key).is_some() && within(at, &format!("{item_pointer}/{key}"))
            })
        };
        // Its own problems and the path item's, not its siblings'.
        let mine: Vec<Diagnostic> = problems
            .iter()
            .filter(|d| !other_operation(d.pointer.as_deref().unwrap_or_default()))
            .cloned()
            .map(|d| {
                let exclude = operation_id.as_ref().map_or_else(
                    || format!("`exclude: {{paths: [\"{path}\"], methods: [{}]}}`", method.as_str()),
                    |id| format!("`exclude: {{operations: [{id}]}}`"),
                );
                let fix = d.help.clone().unwrap_or_else(|| "fix the spec".to_string());
                d.help(format!("{fix}; or exclude the operation in mcpgen.yaml: {exclude}"))
            })
            .collect();
        if mine.is_empty() {
            continue;
        }
        operations.push(Operation {
            key: operation_id
                .clone()
                .unwrap_or_else(|| format!("{} {path}", method.as_str())),
            operation_id,
            method,
            path: path.to_string(),
            server: None,
            pointer,
            summary: raw.get("summary").and_then(Value::as_str).map(str::to_string),
            description: None,
            tags: raw
                .get("tags")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect(),
            deprecated: false,
            params: Vec::new(),
            body: None,
            response: None,
            security: Vec::new(),
            security_pointer: String::new(),
            problems: mine,
        });
    }
    operations
}

/// The path item with each operation that is only a `$ref` (the split layout
/// of Redocly and others: `get: {$ref: 'resources/x.yml'}`, bundled into a
/// local reference by `load`) replaced by its target; with, for each, the
/// method and the target's pointer. A reference to nothing is an error at it.
/// A path item with its operations' references followed, and (method, target pointer) for each.
type FollowedItem<'v> = (std::borrow::Cow<'v, Value>, Vec<(String, String)>);

fn follow_operation_refs<'v>(
    doc: &'v SpecDocument,
    raw_item: &'v Value,
    item_pointer: &str,
) -> Result<FollowedItem<'v>, Vec<Diagnostic>> {
    const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
    let mut item = std::borrow::Cow::Borrowed(raw_item);
    let mut followed = Vec::new();
    let mut broken = Vec::new();
    for method in METHODS {
        let Some(Value::String(reference)) = raw_item.get(method).and_then(|op| op.get("$ref")) else {
            continue;
        };
        let at = format!("{item_pointer}/{method}");
        match crate::diag::local_pointer(reference).and_then(|p| Some((doc.raw.pointer(&p)?, p))) {
            Some((target, pointer)) if target.is_object() => {
                item.to_mut()[method] = target.clone();
                followed.push((method.to_string(), pointer));
            }
            _ => broken.push(
                Diagnostic::new(
                    &doc.file,
                    format!("operation `$ref: {reference}` points to no operation"),
                )
                .at(at)
                .help("correct the reference, or exclude the path in mcpgen.yaml"),
            ),
        }
    }
    if broken.is_empty() {
        Ok((item, followed))
    } else {
        Err(broken)
    }
}

/// Operations sharing an operationId are addressed by `METHOD /path`, each
/// with a warning (reported if it is selected) saying so.
fn distinguish_repeated_ids(operations: &mut [Operation], file: &str) {
    let mut uses: HashMap<&str, Vec<String>> = HashMap::new();
    for op in operations.iter() {
        if let Some(id) = &op.operation_id {
            uses.entry(id)
                .or_default()
                .push(format!("{} {}", op.method.as_str(), op.path));
        }
    }
    let repeated: HashMap<String, Vec<String>> = uses
        .into_iter()
        .filter(|(_, ops)| ops.len() > 1)
        .map(|(id, ops)| (id.to_string(), ops))
        .collect();
    for op in operations.iter_mut() {
        let Some(all) = op.operation_id.as_ref().and_then(|id| repeated.get(id)) else {
            continue;
        };
        op.key = format!("{} {}", op.method.as_str(), op.path);
        let others: Vec<&str> = all.iter().filter(|k| **k != op.key).map(String::as_str).collect();
        op.problems.push(
            Diagnostic::new(
                file,
                format!(
                    "operationId `{}` is also the id of {}: mcpgen.yaml (`tools:`) and mcpgen.lock address this operation as `{}`",
                    op.operation_id.as_deref().unwrap_or_default(),
                    others.join(", "),
                    op.key
                ),
            )
            .at(format!("{}/operationId", op.pointer))
            .warning()
            .help("give each operation its own operationId in the spec"),
        );
    }
}

fn request_body(
    doc: &SpecDocument,
    body: &ReferenceOr<openapiv3::RequestBody>,
    pointer: &str,
    problems: &mut Vec<Diagnostic>,
) -> Option<Body> {
    let (body, pointer) = deref(doc, body, pointer, problems)?;
    // A body without any media type can't be sent; the operation works without it.
    if body.content.is_empty() {
        return None;
    }
    let normalizer = Normalizer {
        doc: &doc.raw,
        file: &doc.file,
        for_input: true,
    };
    let content = body
        .content
        .keys()
        .map(|media_type| {
            let schema_pointer = format!("{pointer}/content/{}/schema", escape_pointer(media_type));
            let schema = match doc.raw.pointer(&schema_pointer) {
                Some(raw) => normalizer.normalize(raw, &schema_pointer, problems),
                None => json!({}),
            };
            (media_type.clone(), schema)
        })
        .collect();
    // From the raw document: `openapiv3` defaults `explode` to false, against the spec.
    let encodings = body
        .content
        .keys()
        .map(|media_type| {
            let at = format!("{pointer}/content/{}/encoding", escape_pointer(media_type));
            let properties = doc
                .raw
                .pointer(&at)
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(property, encoding)| {
                    let style = match encoding.get("style").and_then(Value::as_str) {
                        Some("spaceDelimited") => Style::SpaceDelimited,
                        Some("pipeDelimited") => Style::PipeDelimited,
                        Some("deepObject") => Style::DeepObject,
                        _ => Style::Form,
                    };
                    let explode = encoding.get("explode").and_then(Value::as_bool);
                    (property.clone(), (style, explode.unwrap_or(style == Style::Form)))
                })
                .collect();
            (media_type.clone(), properties)
        })
        .collect();
    Some(Body {
        required: body.required,
        description: body.description.clone(),
        content,
        encodings,
        pointer,
    })
}

/// The first 2xx (else `default`) response with its JSON body's shape.
/// Read from the raw document: a summary only, never a failure.
fn success_response(doc: &SpecDocument, pointer: &str) -> Option<Response> {
    let responses = doc.raw.pointer(pointer)?.as_object()?;
    let (code, response) = responses
        .iter()
        .find(|(code, _)| code.starts_with('2'))
        .or_else(|| responses.iter().find(|(code, _)| *code == "default"))?;
    let response = follow(doc, response, 0)?;
    let headers = response
        .get("headers")
        .and_then(Value::as_object)
        .map(|h| h.keys().map(|k| k.to_ascii_lowercase()).collect())
        .unwrap_or_default();
    let mut fields = Vec::new();
    let mut schema_at = None;
    if let Some(content) = response.get("content").and_then(Value::as_object)
        && let Some((media_type, media)) = content.iter().find(|(mt, _)| {
            let mt = mt.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            mt == "application/json" || mt.ends_with("+json")
        })
        && let Some(schema) = media.get("schema")
    {
        shape(doc, schema, String::new(), 0, &mut fields);
        let at = format!(
            "{pointer}/{}/content/{}/schema",
            escape_pointer(code),
            escape_pointer(media_type)
        );
        schema_at = Some((schema.clone(), at));
    }
    let first_media_type = response
        .get("content")
        .and_then(Value::as_object)
        .and_then(|content| content.keys().next().cloned());
    Some(Response {
        code: code.clone(),
        media_type: first_media_type,
        accepted: responses
            .get("202")
            .and_then(|accepted| follow(doc, accepted, 0))
            .and_then(|accepted| accepted.get("headers")?.as_object())
            .is_some_and(|headers| {
                headers.keys().any(|h| {
                    ["location", "operation-location", "azure-asyncoperation"]
                        .contains(&h.to_ascii_lowercase().as_str())
                })
            }),
        fields,
        headers,
        schema: schema_at,
    })
}

/// A value with its local `$ref` chain followed (bounded).
fn follow<'d>(doc: &'d SpecDocument, value: &'d Value, depth: usize) -> Option<&'d Value> {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) if depth < 16 => follow(
            doc,
            doc.raw.pointer(&crate::diag::local_pointer(reference)?)?,
            depth + 1,
        ),
        Some(_) => None,
        None => Some(value),
    }
}

/// Record `path`'s JSON type and, for objects, their properties down to depth 3.
fn shape(doc: &SpecDocument, schema: &Value, path: String, depth: usize, out: &mut Vec<(String, String)>) {
    let Some(schema) = follow(doc, schema, 0) else {
        return;
    };
    let mut properties: Vec<(&String, &Value)> = Vec::new();
    let mut kind = schema.get("type").and_then(|t| match t {
        Value::String(s) => Some(s.clone()),
        // 3.1 type arrays: the first non-null type.
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .map(str::to_string),
        _ => None,
    });
    for part in std::iter::once(schema).chain(
        schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|s| follow(doc, s, 0)),
    ) {
        if let Some(props) = part.get("properties").and_then(Value::as_object) {
            properties.extend(props.iter());
            kind.get_or_insert_with(|| "object".to_string());
        }
        if kind.is_none() {
            kind = part.get("type").and_then(Value::as_str).map(str::to_string);
        }
    }
    if kind.is_none() && schema.get("items").is_some() {
        kind = Some("array".to_string());
    }
    out.push((path.clone(), kind.unwrap_or_default()));
    if depth < 3 {
        for (name, property) in properties {
            let child = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            shape(doc, property, child, depth + 1, out);
        }
    }
}

fn unsupported_path_item(doc: &SpecDocument, path: &str, reference: &str) -> Operation {
    let pointer = format!("/paths/{}", escape_pointer(path));
    Operation {
        key: format!("GET {path}"),
        operation_id: None,
        method: Method::Get,
        path: path.to_string(),
        server: None,
        pointer: pointer.clone(),
        summary: None,
        description: None,
        tags: Vec::new(),
        deprecated: false,
        params: Vec::new(),
        body: None,
        response: None,
        security: Vec::new(),
        security_pointer: String::new(),
        problems: vec![
            Diagnostic::new(&doc.file, format!("path item `$ref: {reference}` is not supported yet"))
                .at(pointer)
                .help("inline the path item, or exclude its operations in mcpgen.yaml"),
        ],
    }
}
