//! The request body: the media type chosen (JSON, form, multipart, text,
//! else raw bytes), an object's properties flattened into arguments, or the
//! whole body as one `body` argument; files as `{content, encoding}` objects.

use std::collections::BTreeSet;

use indexmap::IndexMap;
use mcpgen_spec::BodyEncoding;
use serde_json::{Value, json};

use super::args::{Arguments, arg_name, claim};
use super::rust::{self, Expr};
use crate::diag::Diagnostic;
use crate::ir::{Operation, Style};

/// The body's recipe; reaches the templates as its `BodySpec` expression.
#[derive(Debug)]
pub struct BodyPlan {
    pub media_type: String,
    pub encoding: BodyEncoding,
    /// Set when the whole body is one argument.
    pub whole_arg: Option<String>,
    /// Set when the body's properties are flattened into arguments.
    pub fields: Vec<FieldPlan>,
}

#[derive(Debug)]
pub struct FieldPlan {
    pub arg: String,
    pub name: String,
    /// A multipart file part.
    pub file: bool,
    /// Form bodies: the property's `encoding` style and explode.
    pub style: Style,
    pub explode: bool,
    pub fixed: Option<String>,
    pub default: Option<String>,
}

impl Expr for FieldPlan {
    fn write(&self, out: &mut String) {
        if self.arg == self.name
            && !self.file
            && self.style == Style::Form
            && self.explode
            && self.fixed.is_none()
            && self.default.is_none()
        {
            out.push_str("BodyField::named(");
            self.name.write(out);
            out.push(')');
            return;
        }
        rust::fields(
            out,
            "BodyField",
            &[
                ("arg", &self.arg),
                ("name", &self.name),
                ("file", &self.file),
                ("style", &self.style),
                ("explode", &self.explode),
                ("fixed", &self.fixed),
                ("default", &self.default),
            ],
        );
    }
}

impl Expr for BodyPlan {
    fn write(&self, out: &mut String) {
        let mut shape = String::new();
        match &self.whole_arg {
            Some(arg) => rust::fields(&mut shape, "BodyShape::Whole", &[("arg", arg)]),
            None => {
                shape.push_str("BodyShape::Fields(");
                rust::slice(&mut shape, &self.fields);
                shape.push(')');
            }
        }
        rust::fields(
            out,
            "BodySpec",
            &[
                ("media_type", &self.media_type),
                ("encoding", &self.encoding),
                ("shape", &rust::Verbatim(shape)),
            ],
        );
    }
}

/// The request body: its properties flattened into arguments when it is an
/// object (JSON, form, multipart), else one `body` argument.
// Long by design: one match over the media types a body may have (JSON, form, multipart, text, binary), each
// choosing how the body becomes arguments.
pub(super) fn plan_body(
    op: &Operation,
    name: &str,
    spec_file: &str,
    args: &mut Arguments,
) -> Result<Option<BodyPlan>, Box<Diagnostic>> {
    let Arguments {
        taken,
        properties,
        required,
    } = args;
    Ok(match &op.body {
        None => None,
        Some(body) => {
            let Some((media_type, schema, encoding)) = choose_body(&body.content) else {
                return Err(Box::new(
                    Diagnostic::new(spec_file, "the request body declares no media type")
                        .at(&body.pointer)
                        .help(format!(
                            "add a `content` entry (e.g. application/json), or exclude `{}` in mcpgen.yaml",
                            op.operation_id.as_deref().unwrap_or(name)
                        )),
                ));
            };
            let schema = &schema;
            let flatten = matches!(
                encoding,
                BodyEncoding::Json | BodyEncoding::FormUrlEncoded | BodyEncoding::Multipart
            ) && schema.get("properties").is_some_and(Value::is_object)
                && !["allOf", "oneOf", "anyOf"].iter().any(|k| schema.get(*k).is_some());
            if flatten {
                let body_required: BTreeSet<&str> = schema
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let mut fields = Vec::new();
                for (prop, prop_schema) in schema["properties"].as_object().expect("checked above") {
                    let arg = claim(&arg_name(prop), "body", taken);
                    let file = encoding == BodyEncoding::Multipart && is_binary(prop_schema);
                    let mut prop_schema = if file {
                        file_schema(prop_schema.get("description").and_then(Value::as_str))
                    } else {
                        prop_schema.clone()
                    };
                    if arg != *prop
                        && let Value::Object(map) = &mut prop_schema
                    {
                        let note = format!("(sent as body field `{prop}`)");
                        let text = match map.get("description").and_then(Value::as_str) {
                            Some(t) => format!("{t} {note}"),
                            None => note,
                        };
                        map.insert("description".to_string(), Value::String(text));
                    }
                    properties.insert(arg.clone(), prop_schema);
                    if body.required && body_required.contains(prop.as_str()) {
                        required.push(arg.clone());
                    }
                    let (style, explode) = body
                        .encodings
                        .get(&media_type)
                        .and_then(|e| e.get(prop))
                        .copied()
                        .unwrap_or((Style::Form, true));
                    fields.push(FieldPlan {
                        arg,
                        name: prop.clone(),
                        file,
                        style,
                        explode,
                        fixed: None,
                        default: None,
                    });
                }
                Some(BodyPlan {
                    media_type: media_type.clone(),
                    encoding,
                    whole_arg: None,
                    fields,
                })
            } else {
                let arg = claim("body", "body", taken);
                let mut schema = match encoding {
                    BodyEncoding::Binary => file_schema(None),
                    BodyEncoding::Text => {
                        json!({"type": "string", "description": format!("The request body, as {media_type} text.")})
                    }
                    _ => schema.clone(),
                };
                if let (Some(text), Value::Object(map)) = (&body.description, &mut schema) {
                    map.insert("description".to_string(), Value::String(text.clone()));
                }
                properties.insert(arg.clone(), schema);
                if body.required {
                    required.push(arg.clone());
                }
                Some(BodyPlan {
                    media_type: media_type.clone(),
                    encoding,
                    whole_arg: Some(arg),
                    fields: Vec::new(),
                })
            }
        }
    })
}

/// The body's media type by preference: JSON, form, multipart, text, then
/// anything else as raw bytes. Returns (media type to send, schema, encoding).
fn choose_body(content: &IndexMap<String, Value>) -> Option<(String, Value, BodyEncoding)> {
    let essence = |mt: &str| mt.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let pick = |test: &dyn Fn(&str) -> bool, encoding: BodyEncoding| {
        content
            .iter()
            .find(|(mt, _)| test(&essence(mt)))
            .map(|(mt, schema)| (mt.clone(), schema.clone(), encoding))
    };
    pick(&|mt| mt == "application/json", BodyEncoding::Json)
        .or_else(|| pick(&is_json_media_type, BodyEncoding::Json))
        .or_else(|| {
            pick(
                &|mt| mt == "application/x-www-form-urlencoded",
                BodyEncoding::FormUrlEncoded,
            )
        })
        .or_else(|| pick(&|mt| mt == "multipart/form-data", BodyEncoding::Multipart))
        .or_else(|| pick(&|mt| mt == "text/plain", BodyEncoding::Text))
        .or_else(|| {
            pick(
                &|mt| mt.starts_with("text/") || mt.ends_with("/xml") || mt.ends_with("+xml"),
                BodyEncoding::Text,
            )
        })
        .or_else(|| pick(&|mt| mt == "application/octet-stream", BodyEncoding::Binary))
        .or_else(|| pick(&|mt| !mt.contains('*'), BodyEncoding::Binary))
        .or_else(|| {
            pick(&|_| true, BodyEncoding::Binary)
                .map(|(_, schema, encoding)| ("application/octet-stream".to_string(), schema, encoding))
        })
}

/// A file in the spec: `format: binary`/`base64` (3.0) or `contentEncoding`/`contentMediaType` (3.1).
fn is_binary(schema: &Value) -> bool {
    matches!(schema.get("format").and_then(Value::as_str), Some("binary" | "base64"))
        || schema.get("contentEncoding").is_some()
        || schema.get("contentMediaType").is_some()
}

/// The argument schema of a file: its content as text or base64, or a
/// reference (`runtime::files`), with optional name and type.
fn file_schema(description: Option<&str>) -> Value {
    const HOW: &str = "A file: its content as text, base64 with `encoding: base64`, or `uri` instead of `content`.";
    json!({
        "type": "object",
        "description": description.map_or_else(|| HOW.to_string(), |d| format!("{d} {HOW}")),
        "properties": {
            "content": {"type": "string", "description": "The file's content: text, or base64 when `encoding` is `base64`."},
            "encoding": {"type": "string", "enum": ["text", "base64"], "default": "text"},
            "uri": {"type": "string", "description": "Instead of `content`: a link an earlier result of this server gave (`mcpgen://results/…`), or a local file's path where the server allows a directory."},
            "filename": {"type": "string", "description": "The file name sent to the API."},
            "media_type": {"type": "string", "description": "The file's media type, e.g. `image/png`."}
        },
        "additionalProperties": false
    })
}

fn is_json_media_type(media_type: &str) -> bool {
    let mt = media_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    mt == "application/json" || mt.ends_with("+json")
}
