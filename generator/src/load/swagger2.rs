//! Swagger 2.0 → OpenAPI 3.0 shape, on the raw document, before anything
//! else reads it; every later stage sees one version.
//!
//! `host`/`basePath`/`schemes` become `servers`; `body` and `formData`
//! parameters become the `requestBody` (for each media type in `consumes`);
//! response `schema`s become `content` (for each type in `produces`);
//! `collectionFormat` becomes `style`/`explode`; `securityDefinitions` become
//! `components.securitySchemes` (`application` flows are client credentials);
//! `definitions` become `components.schemas`, and every `$ref` follows.
//! Parameter and response references are inlined. Diagnostics then point into
//! the converted document (they name the same paths and operations).

use serde_json::{Map, Value, json};

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];
/// Keywords a 2.0 non-body parameter shares with JSON Schema.
const SCHEMA_KEYS: [&str; 17] = [
    "type",
    "format",
    "items",
    "enum",
    "default",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "multipleOf",
    "x-nullable",
];

// Long by design: Swagger 2.0 mapped to OpenAPI 3.0 section by section (paths, definitions, security), in the
// order the document has them.
pub fn convert(mut doc: Value) -> Value {
    rewrite_refs(&mut doc);
    let root = doc.as_object().cloned().unwrap_or_default();
    let get = |key: &str| root.get(key).cloned();
    let mut out = Map::new();
    out.insert("openapi".into(), json!("3.0.3"));
    for key in ["info", "tags", "externalDocs", "security"] {
        if let Some(v) = get(key) {
            out.insert(key.into(), v);
        }
    }
    out.insert("servers".into(), Value::Array(servers(&root)));

    let consumes = strings(root.get("consumes")).unwrap_or_else(|| vec!["application/json".to_string()]);
    let produces = strings(root.get("produces")).unwrap_or_else(|| vec!["application/json".to_string()]);
    let shared_params = root.get("parameters").cloned().unwrap_or(json!({}));
    let shared_responses = root.get("responses").cloned().unwrap_or(json!({}));

    let mut paths = Map::new();
    for (path, item) in root.get("paths").and_then(Value::as_object).into_iter().flatten() {
        let Some(item) = item.as_object() else { continue };
        let item_params: Vec<Value> = list(item.get("parameters"))
            .iter()
            .map(|p| inline(p, &shared_params))
            .collect();
        let mut out_item = Map::new();
        for (key, value) in item {
            if key.starts_with("x-") || key == "summary" || key == "description" {
                out_item.insert(key.clone(), value.clone());
            }
        }
        for method in METHODS {
            let Some(op) = item.get(method).and_then(Value::as_object) else {
                continue;
            };
            let op_consumes = strings(op.get("consumes")).unwrap_or_else(|| consumes.clone());
            let op_produces = strings(op.get("produces")).unwrap_or_else(|| produces.clone());
            // Operation parameters override path-item ones with the same name and location.
            let mut params: Vec<Value> = list(op.get("parameters"))
                .iter()
                .map(|p| inline(p, &shared_params))
                .collect();
            for p in &item_params {
                if !params
                    .iter()
                    .any(|q| q.get("name") == p.get("name") && q.get("in") == p.get("in"))
                {
                    params.push(p.clone());
                }
            }
            let mut out_op = Map::new();
            for (key, value) in op {
                match key.as_str() {
                    "parameters" | "responses" | "consumes" | "produces" | "schemes" => {}
                    _ => {
                        out_op.insert(key.clone(), value.clone());
                    }
                }
            }
            let (body, form): (Vec<&Value>, Vec<&Value>) = (
                params.iter().filter(|p| p["in"] == "body").collect(),
                params.iter().filter(|p| p["in"] == "formData").collect(),
            );
            let plain: Vec<Value> = params
                .iter()
                .filter(|p| p["in"] != "body" && p["in"] != "formData")
                .map(parameter)
                .collect();
            if !plain.is_empty() {
                out_op.insert("parameters".into(), Value::Array(plain));
            }
            if let Some(body) = body.first() {
                out_op.insert("requestBody".into(), body_parameter(body, &op_consumes));
            } else if !form.is_empty() {
                out_op.insert("requestBody".into(), form_body(&form, &op_consumes));
            }
            let mut responses = Map::new();
            for (code, response) in op.get("responses").and_then(Value::as_object).into_iter().flatten() {
                responses.insert(
                    code.clone(),
                    response_object(&inline(response, &shared_responses), &op_produces),
                );
            }
            out_op.insert("responses".into(), Value::Object(responses));
            out_item.insert(method.into(), Value::Object(out_op));
        }
        paths.insert(path.clone(), Value::Object(out_item));
    }
    out.insert("paths".into(), Value::Object(paths));

    let mut components = Map::new();
    if let Some(definitions) = get("definitions") {
        components.insert("schemas".into(), definitions);
    }
    let schemes: Map<String, Value> = root
        .get("securityDefinitions")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, scheme)| (name.clone(), security_scheme(scheme)))
        .collect();
    if !schemes.is_empty() {
        components.insert("securitySchemes".into(), Value::Object(schemes));
    }
    out.insert("components".into(), Value::Object(components));
    for (key, value) in &root {
        if key.starts_with("x-") {
            out.insert(key.clone(), value.clone());
        }
    }
    Value::Object(out)
}

fn strings(value: Option<&Value>) -> Option<Vec<String>> {
    let items: Vec<String> = value?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    (!items.is_empty()).then_some(items)
}

fn list(value: Option<&Value>) -> Vec<Value> {
    value.and_then(Value::as_array).cloned().unwrap_or_default()
}

/// `#/parameters/X` and `#/responses/X` replaced by their targets.
fn inline(value: &Value, shared: &Value) -> Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(r) if r.starts_with("#/parameters/") || r.starts_with("#/responses/") => {
            let name = r
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .replace("~1", "/")
                .replace("~0", "~");
            shared.get(&name).cloned().unwrap_or_else(|| value.clone())
        }
        _ => value.clone(),
    }
}

fn servers(root: &Map<String, Value>) -> Vec<Value> {
    let base_path = root.get("basePath").and_then(Value::as_str).unwrap_or("");
    let Some(host) = root.get("host").and_then(Value::as_str) else {
        return vec![json!({"url": if base_path.is_empty() { "/" } else { base_path }})];
    };
    let mut schemes = strings(root.get("schemes")).unwrap_or_else(|| vec!["https".to_string()]);
    // The secure scheme first: it becomes the default base URL.
    schemes.sort_by_key(|s| s != "https");
    schemes
        .iter()
        .map(|scheme| json!({"url": format!("{scheme}://{host}{base_path}")}))
        .collect()
}

/// The JSON Schema part of a non-body 2.0 parameter (or header, or items).
fn schema_of(param: &Value) -> Value {
    let mut schema = Map::new();
    for key in SCHEMA_KEYS {
        if let Some(v) = param.get(key) {
            match key {
                "items" => schema.insert(key.into(), schema_of(v)),
                "x-nullable" => schema.insert("nullable".into(), v.clone()),
                "type" if v == "file" => {
                    schema.insert("format".into(), json!("binary"));
                    schema.insert(key.into(), json!("string"))
                }
                _ => schema.insert(key.into(), v.clone()),
            };
        }
    }
    if let Some(d) = param.get("description").filter(|_| param.get("in").is_none()) {
        schema.insert("description".into(), d.clone());
    }
    Value::Object(schema)
}

fn parameter(param: &Value) -> Value {
    let location = param["in"].as_str().unwrap_or("query");
    let mut out = Map::new();
    for key in ["name", "in", "description", "required", "deprecated", "allowEmptyValue"] {
        if let Some(v) = param.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    if location == "path" {
        out.insert("required".into(), json!(true));
    }
    if param.get("type") == Some(&json!("array")) {
        let (style, explode) = match (param.get("collectionFormat").and_then(Value::as_str), location) {
            (Some("multi"), _) => ("form", true),
            (Some("ssv"), "query") => ("spaceDelimited", false),
            (Some("pipes"), "query") => ("pipeDelimited", false),
            (_, "query" | "cookie") => ("form", false),
            _ => ("simple", false),
        };
        out.insert("style".into(), json!(style));
        out.insert("explode".into(), json!(explode));
    }
    out.insert("schema".into(), schema_of(param));
    Value::Object(out)
}

fn body_parameter(param: &Value, consumes: &[String]) -> Value {
    let schema = param.get("schema").cloned().unwrap_or(json!({}));
    let content: Map<String, Value> = consumes
        .iter()
        .map(|mt| (mt.clone(), json!({"schema": schema.clone()})))
        .collect();
    let mut body = json!({"required": param.get("required").cloned().unwrap_or(json!(false)), "content": content});
    if let Some(d) = param.get("description") {
        body["description"] = d.clone();
    }
    body
}

fn form_body(params: &[&Value], consumes: &[String]) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    let mut encoding = Map::new();
    let mut has_file = false;
    for p in params {
        let Some(name) = p.get("name").and_then(Value::as_str) else {
            continue;
        };
        let mut schema = schema_of(p);
        if let (Some(d), Value::Object(map)) = (p.get("description"), &mut schema) {
            map.insert("description".into(), d.clone());
        }
        has_file |= p.get("type") == Some(&json!("file"));
        if p.get("type") == Some(&json!("array")) && p.get("collectionFormat") != Some(&json!("multi")) {
            encoding.insert(name.into(), json!({"style": "form", "explode": false}));
        }
        properties.insert(name.into(), schema);
        if p.get("required") == Some(&json!(true)) {
            required.push(json!(name));
        }
    }
    let media_type = if has_file || consumes.iter().any(|c| c.starts_with("multipart/form-data")) {
        "multipart/form-data"
    } else {
        "application/x-www-form-urlencoded"
    };
    let mut schema = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        schema["required"] = Value::Array(required.clone());
    }
    let mut media = json!({"schema": schema});
    if !encoding.is_empty() {
        media["encoding"] = Value::Object(encoding);
    }
    json!({"required": !required.is_empty(), "content": {media_type: media}})
}

fn response_object(response: &Value, produces: &[String]) -> Value {
    let mut out = Map::new();
    out.insert(
        "description".into(),
        response.get("description").cloned().unwrap_or(json!("")),
    );
    if let Some(schema) = response.get("schema") {
        let content: Map<String, Value> = produces
            .iter()
            .map(|mt| (mt.clone(), json!({"schema": schema.clone()})))
            .collect();
        out.insert("content".into(), Value::Object(content));
    }
    if let Some(headers) = response.get("headers").and_then(Value::as_object) {
        let headers: Map<String, Value> = headers
            .iter()
            .map(|(name, h)| {
                let mut header = json!({"schema": schema_of(h)});
                if let Some(d) = h.get("description") {
                    header["description"] = d.clone();
                }
                (name.clone(), header)
            })
            .collect();
        out.insert("headers".into(), Value::Object(headers));
    }
    Value::Object(out)
}

fn security_scheme(scheme: &Value) -> Value {
    let scopes = scheme.get("scopes").cloned().unwrap_or(json!({}));
    match scheme.get("type").and_then(Value::as_str) {
        Some("basic") => json!({"type": "http", "scheme": "basic"}),
        Some("oauth2") => {
            let flow = match scheme.get("flow").and_then(Value::as_str) {
                Some("application") => json!({"clientCredentials": {"tokenUrl": scheme["tokenUrl"], "scopes": scopes}}),
                Some("password") => json!({"password": {"tokenUrl": scheme["tokenUrl"], "scopes": scopes}}),
                Some("accessCode") => json!({"authorizationCode": {
                    "authorizationUrl": scheme["authorizationUrl"], "tokenUrl": scheme["tokenUrl"], "scopes": scopes}}),
                _ => json!({"implicit": {"authorizationUrl": scheme["authorizationUrl"], "scopes": scopes}}),
            };
            json!({"type": "oauth2", "flows": flow})
        }
        _ => scheme.clone(),
    }
}

/// `#/definitions/X` → `#/components/schemas/X`, `x-nullable` → `nullable`
/// and `type: file` → binary string, everywhere.
fn rewrite_refs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref")
                && let Some(rest) = r.strip_prefix("#/definitions/")
            {
                *r = format!("#/components/schemas/{rest}");
            }
            if let Some(nullable) = map.remove("x-nullable") {
                map.insert("nullable".into(), nullable);
            }
            if map.get("type") == Some(&json!("file")) && !map.contains_key("in") {
                map.insert("type".into(), json!("string"));
                map.insert("format".into(), json!("binary"));
            }
            map.values_mut().for_each(rewrite_refs);
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_a_swagger_document() {
        let doc = json!({
            "swagger": "2.0",
            "info": {"title": "t", "version": "1"},
            "host": "api.example.com", "basePath": "/v1", "schemes": ["http", "https"],
            "consumes": ["application/json"],
            "securityDefinitions": {
                "key": {"type": "apiKey", "in": "header", "name": "X-Key"},
                "basic": {"type": "basic"},
                "app": {"type": "oauth2", "flow": "application", "tokenUrl": "https://a/token", "scopes": {"r": "read"}}
            },
            "parameters": {"limit": {"name": "limit", "in": "query", "type": "integer"}},
            "paths": {"/pets/{id}": {
                "parameters": [{"name": "id", "in": "path", "required": true, "type": "string"}],
                "put": {
                    "operationId": "updatePet",
                    "parameters": [
                        {"$ref": "#/parameters/limit"},
                        {"name": "tags", "in": "query", "type": "array", "items": {"type": "string"}, "collectionFormat": "multi"},
                        {"name": "pet", "in": "body", "required": true, "schema": {"$ref": "#/definitions/Pet"}}
                    ],
                    "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Pet"}}}
                },
                "post": {
                    "consumes": ["multipart/form-data"],
                    "parameters": [{"name": "file", "in": "formData", "type": "file", "required": true}],
                    "responses": {"204": {"description": "stored"}}
                }
            }},
            "definitions": {"Pet": {"type": "object", "properties": {"name": {"type": "string"}}}}
        });
        let out = convert(doc);
        assert_eq!(
            out["servers"],
            json!([{"url": "https://api.example.com/v1"}, {"url": "http://api.example.com/v1"}])
        );
        let put = &out["paths"]["/pets/{id}"]["put"];
        assert_eq!(
            put["parameters"][0],
            json!({"name": "limit", "in": "query", "schema": {"type": "integer"}})
        );
        assert_eq!(put["parameters"][1]["style"], "form");
        assert_eq!(put["parameters"][1]["explode"], true);
        assert_eq!(put["parameters"][2]["name"], "id");
        assert_eq!(
            put["requestBody"],
            json!({"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}})
        );
        assert_eq!(
            put["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Pet"
        );
        let post = &out["paths"]["/pets/{id}"]["post"];
        assert_eq!(
            post["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]["file"],
            json!({"type": "string", "format": "binary"})
        );
        assert_eq!(
            out["components"]["securitySchemes"]["basic"],
            json!({"type": "http", "scheme": "basic"})
        );
        assert_eq!(
            out["components"]["securitySchemes"]["app"]["flows"]["clientCredentials"]["tokenUrl"],
            "https://a/token"
        );
        let typed: openapiv3::OpenAPI = serde_json::from_value(out).unwrap();
        assert_eq!(typed.paths.paths.len(), 1);
    }
}
