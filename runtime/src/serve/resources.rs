//! GET operations read as MCP resources, and prompts (mcpgen.yaml's
//! `resources` and `prompts`). Reading a resource is a call of its tool
//! (same checks, credentials, retries, redaction), the URI template's
//! variables (RFC 6570 level 1: `{name}`, one path segment each) as its
//! arguments; a prompt fills the `{argument}` placeholders of its text.

use rmcp::ErrorData;
use rmcp::model::{CallToolResult, GetPromptResult, ReadResourceResult, ResourceContents};
use serde_json::{Map, Value, json};

use crate::spec::{PromptSpec, ResourceSpec, ServerSpec};

/// Whether `uri` is a template (has `{variables}`).
pub fn is_template(resource: &ResourceSpec) -> bool {
    resource.uri.contains('{')
}

/// The `resources/list` (fixed URIs) or `resources/templates/list` entry.
pub fn entry(resource: &ResourceSpec) -> Value {
    let mut entry = if is_template(resource) {
        json!({"uriTemplate": resource.uri, "name": resource.name})
    } else {
        json!({"uri": resource.uri, "name": resource.name})
    };
    for (key, value) in [
        ("title", resource.title),
        ("description", resource.description),
        ("mimeType", resource.mime_type),
    ] {
        if let Some(value) = value {
            entry[key] = json!(value);
        }
    }
    entry
}

/// The resource `uri` names, with its variables' values (decoded).
pub fn find(spec: &'static ServerSpec, uri: &str) -> Option<(&'static ResourceSpec, Vec<(String, String)>)> {
    spec.resources
        .iter()
        .find_map(|resource| Some((resource, expand_match(resource.uri, uri)?)))
}

/// The values of `template`'s variables that make it `uri`; `None` when no
/// values do. A value is one non-empty path segment, percent-decoded.
fn expand_match(template: &str, uri: &str) -> Option<Vec<(String, String)>> {
    let mut values = Vec::new();
    let mut rest = uri;
    let mut parts = template.split('{');
    let literal = parts.next().unwrap_or("");
    rest = rest.strip_prefix(literal)?;
    for part in parts {
        let (name, literal) = part.split_once('}')?;
        // The value runs to the next literal (or the end when there is none).
        let end = match literal.chars().next() {
            None => rest.len(),
            Some(_) => rest.find(literal)?,
        };
        let raw = &rest[..end];
        if raw.is_empty() || raw.contains('/') || raw.contains('?') || raw.contains('#') {
            return None;
        }
        let value = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .ok()?
            .into_owned();
        values.push((name.to_string(), value));
        rest = rest[end..].strip_prefix(literal)?;
    }
    rest.is_empty().then_some(values)
}

/// The tool's arguments for the variables, typed as its input schema says
/// (`"7"` is a number where the parameter is an integer).
pub fn arguments(values: Vec<(String, String)>, schema: &Map<String, Value>) -> Map<String, Value> {
    let properties = schema.get("properties").and_then(Value::as_object);
    values
        .into_iter()
        .map(|(name, text)| {
            let kind = properties
                .and_then(|p| p.get(&name))
                .and_then(|p| p.get("type"))
                .and_then(Value::as_str);
            let value = match kind {
                Some("integer") => text.parse::<i64>().map(Value::from).ok(),
                Some("number") => text
                    .parse::<f64>()
                    .ok()
                    .and_then(|n| serde_json::Number::from_f64(n).map(Value::Number)),
                Some("boolean") => text.parse::<bool>().map(Value::from).ok(),
                _ => None,
            };
            (name, value.unwrap_or(Value::String(text)))
        })
        .collect()
}

/// A tool's result as the resource's contents: its text (JSON or text) or
/// its binary content; an error result is a resource error saying why.
pub fn contents(resource: &ResourceSpec, uri: &str, result: CallToolResult) -> Result<ReadResourceResult, ErrorData> {
    let texts: Vec<&str> = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
        .collect();
    if result.is_error == Some(true) {
        let status = result
            .structured_content
            .as_ref()
            .and_then(|s| s.get("status"))
            .and_then(Value::as_u64);
        let message = format!("{uri}: {}", texts.join("\n"));
        return Err(match status {
            Some(404) | Some(410) => ErrorData::resource_not_found(message, None),
            _ => ErrorData::internal_error(message, None),
        });
    }
    let binary = crate::call::fit::binary_content(&result);
    let contents = match binary {
        Some((blob, mime_type)) => ResourceContents::BlobResourceContents {
            uri: uri.to_string(),
            mime_type: Some(mime_type),
            blob,
            meta: None,
        },
        None => ResourceContents::TextResourceContents {
            uri: uri.to_string(),
            mime_type: Some(
                match (resource.mime_type, &result.structured_content) {
                    (Some(mime_type), _) => mime_type,
                    (None, Some(_)) => "application/json",
                    (None, None) => "text/plain",
                }
                .to_string(),
            ),
            text: texts.join("\n"),
            meta: None,
        },
    };
    Ok(ReadResourceResult::new(vec![contents]))
}

/// The `prompts/list` entry.
pub fn prompt_entry(prompt: &PromptSpec) -> Value {
    let arguments: Vec<Value> = prompt
        .arguments
        .iter()
        .map(|a| {
            let mut argument = json!({"name": a.name, "required": a.required});
            if let Some(description) = a.description {
                argument["description"] = json!(description);
            }
            argument
        })
        .collect();
    let mut entry = json!({"name": prompt.name, "description": prompt.description, "arguments": arguments});
    if let Some(title) = prompt.title {
        entry["title"] = json!(title);
    }
    entry
}

/// The prompt filled with `arguments`: every required one must be given.
pub fn fill(prompt: &PromptSpec, arguments: Option<&Map<String, Value>>) -> Result<GetPromptResult, ErrorData> {
    let value = |name: &str| -> Option<String> {
        match arguments?.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    };
    let missing: Vec<&str> = prompt
        .arguments
        .iter()
        .filter(|a| a.required && value(a.name).is_none())
        .map(|a| a.name)
        .collect();
    if !missing.is_empty() {
        return Err(ErrorData::invalid_params(
            format!("prompt `{}` needs {}", prompt.name, missing.join(", ")),
            None,
        ));
    }
    let mut text = String::with_capacity(prompt.text.len());
    let mut rest = prompt.text;
    while let Some(open) = rest.find('{') {
        text.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.split_once('}') {
            Some((name, tail)) if prompt.arguments.iter().any(|a| a.name == name) => {
                text.push_str(&value(name).unwrap_or_default());
                rest = tail;
            }
            _ => {
                text.push('{');
                rest = after;
            }
        }
    }
    text.push_str(rest);
    let result = json!({
        "resultType": "complete",
        "description": prompt.description,
        "messages": [{"role": "user", "content": {"type": "text", "text": text}}],
    });
    serde_json::from_value(result)
        .map_err(|e| ErrorData::internal_error(format!("prompt `{}`: {e}", prompt.name), None))
}

/// A page of a held result as `resources/read` answers it: text or blob,
/// with its number, the count and the next page's URI in `_meta`.
pub(super) fn held_page(page: crate::state::results::Page) -> ReadResourceResult {
    let mut meta = rmcp::model::MetaObject::new();
    meta.insert("page".into(), page.number.into());
    meta.insert("pages".into(), page.pages.into());
    if let Some(next) = &page.next {
        meta.insert("next".into(), next.clone().into());
    }
    let contents = if page.blob {
        ResourceContents::BlobResourceContents {
            uri: page.uri,
            mime_type: Some(page.media_type),
            blob: page.text,
            meta: Some(meta),
        }
    } else {
        ResourceContents::TextResourceContents {
            uri: page.uri,
            mime_type: Some(page.media_type),
            text: page.text,
            meta: Some(meta),
        }
    };
    ReadResourceResult::new(vec![contents])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::PromptArgument;

    #[test]
    fn templates_match_one_segment_per_variable() {
        let m = |t: &str, u: &str| expand_match(t, u);
        assert_eq!(
            m("test://template/{id}/data", "test://template/123/data"),
            Some(vec![("id".into(), "123".into())])
        );
        assert_eq!(
            m("pets://pets/{petId}", "pets://pets/a%20b"),
            Some(vec![("petId".into(), "a b".into())])
        );
        assert_eq!(
            m("repo://{owner}/{repo}", "repo://octo/hello"),
            Some(vec![("owner".into(), "octo".into()), ("repo".into(), "hello".into())])
        );
        assert_eq!(m("pets://pets/{petId}", "pets://pets/1/2"), None);
        assert_eq!(m("pets://pets/{petId}", "pets://pets/"), None);
        assert_eq!(m("test://template/{id}/data", "test://template/123/other"), None);
        assert_eq!(m("test://static-text", "test://static-text"), Some(vec![]));
        assert_eq!(m("test://static-text", "test://static-text2"), None);
    }

    #[test]
    fn arguments_are_typed_by_the_tools_schema() {
        let schema = json!({"properties": {"petId": {"type": "integer"}, "name": {"type": "string"}}});
        let args = arguments(
            vec![("petId".into(), "7".into()), ("name".into(), "7".into())],
            schema.as_object().unwrap(),
        );
        assert_eq!(Value::Object(args), json!({"petId": 7, "name": "7"}));
    }

    #[test]
    fn prompts_fill_their_arguments_and_refuse_missing_ones() {
        static ARGS: [PromptArgument; 2] = [
            PromptArgument {
                name: "arg1",
                description: None,
                required: true,
            },
            PromptArgument {
                name: "arg2",
                description: None,
                required: false,
            },
        ];
        let prompt = PromptSpec {
            name: "p",
            title: None,
            description: "d",
            arguments: &ARGS,
            text: "use {arg1} and {arg2}; {other} stays",
        };
        let args = json!({"arg1": "one", "arg2": 2});
        let filled = serde_json::to_value(fill(&prompt, args.as_object()).unwrap()).unwrap();
        assert_eq!(filled["messages"][0]["content"]["text"], "use one and 2; {other} stays");
        let err = fill(&prompt, None).unwrap_err();
        assert!(err.message.contains("needs arg1"), "{err:?}");
    }
}
