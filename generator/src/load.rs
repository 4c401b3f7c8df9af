//! Reading the OpenAPI document.
//!
//! Input: a file path. Output: `SpecDocument`, the raw JSON value (kept for
//! `$ref` targets and schemas) plus the typed `openapiv3` view of it. JSON and
//! YAML are accepted; the version is checked before typed parsing so an
//! unsupported version gets a clear diagnostic instead of a type error.

use std::path::Path;

use serde_json::Value;

use crate::diag::{Diagnostic, Error};

pub struct SpecDocument {
    /// The file name used in diagnostics.
    pub file: String,
    pub raw: Value,
    pub typed: openapiv3::OpenAPI,
}

pub fn load_spec(path: &Path, file: &str) -> Result<SpecDocument, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(format!("can't read the spec {file}"), e))?;
    let raw = parse_document(file, &text)?;
    check_version(file, &raw)?;
    let typed: openapiv3::OpenAPI = serde_path_to_error::deserialize(&raw).map_err(|e| {
        let at = e.path().to_string();
        Error::one(
            Diagnostic::new(file, format!("not a valid OpenAPI 3.0 document: {}", e.inner()))
                .at(if at == "." { "(document root)".to_string() } else { at })
                .help("fix the document; validators such as `redocly lint` explain OpenAPI errors in detail"),
        )
    })?;
    Ok(SpecDocument {
        file: file.to_string(),
        raw,
        typed,
    })
}

/// JSON when it looks like JSON, YAML otherwise (YAML is a superset anyway,
/// but serde_json is much faster on large JSON specs).
pub fn parse_document(file: &str, text: &str) -> Result<Value, Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| {
            Error::one(Diagnostic::new(file, format!("invalid JSON: {e}")).line_col(e.line() as u64, e.column() as u64))
        })
    } else {
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

fn check_version(file: &str, raw: &Value) -> Result<(), Error> {
    if !raw.is_object() {
        return Err(Error::one(Diagnostic::new(
            file,
            "the document is not an object; is this an OpenAPI file?",
        )));
    }
    match (raw.get("openapi").and_then(Value::as_str), raw.get("swagger")) {
        (Some(v), _) if v.starts_with("3.0") => Ok(()),
        (Some(v), _) => Err(Error::one(
            Diagnostic::new(
                file,
                format!("OpenAPI {v} is not supported yet; this mcpgen reads OpenAPI 3.0.x"),
            )
            .at("openapi")
            .help("convert the document to OpenAPI 3.0 or use a newer mcpgen"),
        )),
        (None, Some(_)) => Err(Error::one(
            Diagnostic::new(
                file,
                "Swagger 2.0 is not supported yet; this mcpgen reads OpenAPI 3.0.x",
            )
            .at("swagger")
            .help("convert the document to OpenAPI 3.0 (for example with `swagger2openapi`)"),
        )),
        (None, None) => Err(Error::one(
            Diagnostic::new(file, "no `openapi` version field; is this an OpenAPI document?")
                .help("OpenAPI documents start with `openapi: 3.0.3` (or another 3.0.x version)"),
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
    fn unsupported_versions_are_named() {
        let err = check_version("a.yaml", &serde_json::json!({"openapi": "3.1.0"})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "error: a.yaml: openapi: OpenAPI 3.1.0 is not supported yet; this mcpgen reads OpenAPI 3.0.x\n  help: convert the document to OpenAPI 3.0 or use a newer mcpgen"
        );
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse_document("a.json", "{\n  \"openapi\": 3,,\n}")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("error: a.json:2:16: invalid JSON"), "{err}");
    }
}
