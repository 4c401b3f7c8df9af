//! A tool's request recipe and validated arguments → a request ready to
//! send (before credentials): path, query, headers, cookies and body, each
//! serialized in its OpenAPI style.
//!
//! Invariants: a path argument always stays one path segment; header values
//! never carry CR/LF; multipart filenames stay inside their header.

use base64::Engine;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::{Map, Value};
use url::Url;

use crate::redact::Redactor;
use crate::spec::{BodyEncoding, BodyShape, Location, ParamSpec, RequestSpec};
use crate::style;

/// A request ready to send, before credentials are added.
#[derive(Debug)]
pub struct Prepared {
    pub method: reqwest::Method,
    pub url: Url,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub cookies: Vec<String>,
    pub body: Option<Body>,
    /// `METHOD /path` without the query, for messages and logs.
    pub label: String,
    /// Argument values sent in headers the redaction rules name.
    pub sensitive: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Body {
    Bytes {
        content_type: String,
        bytes: Vec<u8>,
    },
    /// Built into a `multipart/form-data` body (with its boundary) per attempt.
    Multipart(Vec<Part>),
}

#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    pub content: Vec<u8>,
    pub filename: Option<String>,
    pub media_type: Option<String>,
}

/// An argument that passed the schema but can't be sent as-is.
#[derive(Debug, PartialEq, Eq)]
pub struct ArgError(pub String);

/// A file in an argument: a string (text content), or an object
/// `{content, encoding: "text"|"base64", filename, media_type}` (a `uri`
/// instead of `content` was resolved by `files::resolve`).
pub struct FileArg {
    pub bytes: Vec<u8>,
    pub filename: Option<String>,
    pub media_type: Option<String>,
}

impl FileArg {
    pub fn from_value(arg: &str, value: &Value) -> Result<FileArg, ArgError> {
        let text_field = |map: &Map<String, Value>, key: &str| map.get(key).and_then(Value::as_str).map(str::to_string);
        match value {
            Value::String(text) => Ok(FileArg {
                bytes: text.clone().into_bytes(),
                filename: None,
                media_type: None,
            }),
            Value::Object(map) => {
                let content = text_field(map, "content")
                    .ok_or_else(|| {
                        ArgError(format!(
                            "`{arg}` needs `content` (the file's text, or base64) or `uri` (a result link or an allowed local file)"
                        ))
                    })?;
                let bytes = match map.get("encoding").and_then(Value::as_str).unwrap_or("text") {
                    "text" => content.into_bytes(),
                    "base64" => base64::engine::general_purpose::STANDARD
                        .decode(content.trim())
                        .map_err(|e| ArgError(format!("`{arg}.content` is not valid base64 ({e})")))?,
                    other => {
                        return Err(ArgError(format!(
                            "`{arg}.encoding` is `{other}`; use `text` or `base64`"
                        )));
                    }
                };
                let media_type = text_field(map, "media_type");
                if let Some(mt) = &media_type
                    && (!mt.contains('/') || mt.chars().any(|c| c.is_control() || c.is_whitespace()))
                {
                    return Err(ArgError(format!(
                        "`{arg}.media_type` `{mt}` is not a media type such as `image/png`"
                    )));
                }
                Ok(FileArg {
                    bytes,
                    filename: text_field(map, "filename"),
                    media_type,
                })
            }
            _ => Err(ArgError(format!("`{arg}` must be a file object or a string"))),
        }
    }
}

/// The value to send for one argument: a fixed value from mcpgen.yaml, else
/// the model's (non-null) argument, else a default from mcpgen.yaml.
fn value_for<'a>(
    args: &'a Map<String, Value>,
    arg: &str,
    fixed: Option<&str>,
    default: Option<&str>,
) -> Option<std::borrow::Cow<'a, Value>> {
    let configured = |text: &str| serde_json::from_str::<Value>(text).ok().map(std::borrow::Cow::Owned);
    match fixed {
        Some(text) => configured(text),
        None => args
            .get(arg)
            .filter(|v| !v.is_null())
            .map(std::borrow::Cow::Borrowed)
            .or_else(|| default.and_then(configured)),
    }
}

/// Turn validated arguments into a request. Missing optional arguments are
/// simply not sent; unknown arguments were already rejected by the schema.
/// `redactor` names the headers whose values must be masked in results.
// Long by design: the request in the order it is built (path filled and checked for traversal, then query,
// headers, cookies, body, base URL), each step using what the ones before made.
pub fn prepare(
    recipe: &RequestSpec,
    args: &Map<String, Value>,
    base: &Url,
    redactor: &Redactor,
) -> Result<Prepared, ArgError> {
    let mut path = String::with_capacity(recipe.path.len() + 16);
    let mut query: Vec<String> = Vec::new();
    let mut headers = Vec::new();
    let mut cookies = Vec::new();
    let mut sensitive = Vec::new();

    // Path: substitute `{name}` in the template, one segment per value.
    let mut rest = recipe.path;
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .map(|i| open + i)
            .ok_or_else(|| ArgError(format!("path template `{}` is malformed", recipe.path)))?;
        path.push_str(&rest[..open]);
        let name = &rest[open + 1..close];
        let param = recipe
            .params
            .iter()
            .find(|p| p.location == Location::Path && p.name == name)
            .ok_or_else(|| {
                ArgError(format!(
                    "path template `{}` names unknown parameter `{name}`",
                    recipe.path
                ))
            })?;
        let value = value_for(args, param.arg, param.fixed, param.default)
            .ok_or_else(|| ArgError(format!("`{}` is required (it is part of the URL path)", param.arg)))?;
        let text = style::path_value(param, &value);
        if text.is_empty() {
            return Err(ArgError(format!(
                "`{}` must not be empty (it is part of the URL path)",
                param.arg
            )));
        }
        path.push_str(&text);
        rest = &rest[close + 1..];
    }
    path.push_str(rest);
    // URL parsers treat `.`/`..` segments (also as `%2e`) as navigation; refuse them.
    if path
        .split('/')
        .any(|seg| matches!(seg.to_ascii_lowercase().replace("%2e", ".").as_str(), "." | ".."))
    {
        return Err(ArgError(
            "a path argument is `.` or `..`, which would change the URL path; pass a real identifier".to_string(),
        ));
    }

    for param in recipe.params.iter().filter(|p| p.location != Location::Path) {
        let Some(value) = value_for(args, param.arg, param.fixed, param.default) else {
            continue;
        };
        match param.location {
            Location::Query => query.extend(style::query_pairs(param, &value)),
            Location::Header => {
                let text = style::header_value(param, &value);
                let mut value = HeaderValue::from_str(&text).map_err(|_| {
                    ArgError(format!(
                        "`{}` is sent as the HTTP header `{}` and must not contain control characters such as line breaks",
                        param.arg, param.name
                    ))
                })?;
                let name = HeaderName::from_bytes(param.name.as_bytes())
                    .map_err(|_| ArgError(format!("`{}` is not a valid header name", param.name)))?;
                if redactor.is_sensitive_header(param.name) {
                    value.set_sensitive(true);
                    sensitive.push(text);
                }
                headers.push((name, value));
            }
            Location::Cookie => cookies.push(style::cookie_pair(param, &value)),
            Location::Path => unreachable!("filtered above"),
        }
    }

    let body = match &recipe.body {
        None => None,
        Some(spec) => body(spec, args)?,
    };

    // The operation's own server, when the spec gives it one.
    let own;
    let base = match recipe.server {
        Some(server) => {
            own = Url::parse(server)
                .or_else(|_| crate::config::resolve_relative(base, server).map_err(|_| url::ParseError::EmptyHost))
                .map_err(|e| ArgError(format!("the operation's server URL `{server}` is invalid: {e}")))?;
            &own
        }
        None => base,
    };
    let mut url_text = base.as_str().trim_end_matches('/').to_string();
    let expected_path = format!("{}{}", base.path().trim_end_matches('/'), path);
    url_text.push_str(&path);
    let mut url = Url::parse(&url_text).map_err(|e| ArgError(format!("the arguments don't form a valid URL: {e}")))?;
    // Belt and braces: the parser must not have normalised anything away.
    if url.path() != expected_path {
        return Err(ArgError(
            "the path arguments would change the URL path; pass plain identifiers".to_string(),
        ));
    }
    if !query.is_empty() {
        url.set_query(Some(&query.join("&")));
    }

    let method = reqwest::Method::from_bytes(recipe.method.as_str().as_bytes()).expect("static method names are valid");
    Ok(Prepared {
        method,
        url,
        headers,
        cookies,
        body,
        label: format!("{} {}", recipe.method.as_str(), expected_path),
        sensitive,
    })
}

/// The body from the arguments; `None` when the model sent none of it.
// Long by design: one match over the body encodings (JSON, form, multipart, text, binary), each short.
fn body(spec: &crate::spec::BodySpec, args: &Map<String, Value>) -> Result<Option<Body>, ArgError> {
    let bytes = |bytes: Vec<u8>| {
        Some(Body::Bytes {
            content_type: spec.media_type.to_string(),
            bytes,
        })
    };
    match &spec.shape {
        BodyShape::Whole { arg } => {
            let Some(value) = args.get(*arg).filter(|v| !v.is_null()) else {
                return Ok(None);
            };
            Ok(match spec.encoding {
                BodyEncoding::Json => bytes(serde_json::to_vec(value).expect("JSON values always serialize")),
                BodyEncoding::FormUrlEncoded => bytes(form_urlencoded(value).into_bytes()),
                BodyEncoding::Text => bytes(
                    match value {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    }
                    .into_bytes(),
                ),
                BodyEncoding::Binary => {
                    let file = FileArg::from_value(arg, value)?;
                    Some(Body::Bytes {
                        content_type: file.media_type.unwrap_or_else(|| spec.media_type.to_string()),
                        bytes: file.bytes,
                    })
                }
                BodyEncoding::Multipart => Some(Body::Multipart(match value {
                    Value::Object(map) => map.iter().map(|(name, v)| Part::field(name, v)).collect(),
                    _ => return Err(ArgError(format!("`{arg}` must be an object of form fields"))),
                })),
            })
        }
        BodyShape::Fields(fields) => {
            if spec.encoding == BodyEncoding::Multipart {
                let mut parts = Vec::new();
                for f in fields.iter() {
                    let Some(value) = value_for(args, f.arg, f.fixed, f.default) else {
                        continue;
                    };
                    if f.file {
                        let file = FileArg::from_value(f.arg, &value)?;
                        parts.push(Part {
                            name: f.name.to_string(),
                            content: file.bytes,
                            filename: Some(file.filename.unwrap_or_else(|| f.name.to_string())),
                            media_type: Some(
                                file.media_type
                                    .unwrap_or_else(|| "application/octet-stream".to_string()),
                            ),
                        });
                    } else {
                        parts.extend(match &*value {
                            // OpenAPI: an array field is one part per item.
                            Value::Array(items) => items.iter().map(|v| Part::field(f.name, v)).collect(),
                            other => vec![Part::field(f.name, other)],
                        });
                    }
                }
                return Ok((!parts.is_empty()).then_some(Body::Multipart(parts)));
            }
            if spec.encoding == BodyEncoding::FormUrlEncoded {
                // Each field as a query parameter of its encoding's style.
                let pairs: Vec<String> = fields
                    .iter()
                    .filter_map(|f| {
                        let value = value_for(args, f.arg, f.fixed, f.default)?;
                        let as_param = ParamSpec {
                            arg: f.arg,
                            name: f.name,
                            location: Location::Query,
                            style: f.style,
                            explode: f.explode,
                            fixed: None,
                            default: None,
                        };
                        Some(style::query_pairs(&as_param, &value))
                    })
                    .flatten()
                    .collect();
                // Form decoders decode each pair before splitting values, so the
                // style's delimiters go percent-encoded (RFC 3986 reserves them).
                let body = pairs
                    .join("&")
                    .replace(',', "%2C")
                    .replace('|', "%7C")
                    .replace('[', "%5B")
                    .replace(']', "%5D");
                return Ok((!pairs.is_empty()).then(|| bytes(body.into_bytes())).flatten());
            }
            let object: Map<String, Value> = fields
                .iter()
                .filter_map(|f| {
                    value_for(args, f.arg, f.fixed, f.default).map(|v| (f.name.to_string(), v.into_owned()))
                })
                .collect();
            if object.is_empty() {
                return Ok(None);
            }
            Ok(bytes(
                serde_json::to_vec(&Value::Object(object)).expect("JSON values always serialize"),
            ))
        }
    }
}

impl Part {
    /// A plain form field: strings as text, anything else as JSON.
    fn field(name: &str, value: &Value) -> Part {
        let (content, media_type) = match value {
            Value::String(s) => (s.clone(), None),
            Value::Object(_) | Value::Array(_) => (value.to_string(), Some("application/json".to_string())),
            other => (other.to_string(), None),
        };
        Part {
            name: name.to_string(),
            content: content.into_bytes(),
            filename: None,
            media_type,
        }
    }
}

/// A multipart `filename` that can't break out of its part header: CR, LF
/// and `"` percent-encoded (RFC 7578 §4.2, as browsers send them), other
/// control characters dropped.
pub(super) fn part_filename(name: &str) -> String {
    name.chars()
        .filter_map(|c| match c {
            '\r' => Some("%0D".to_string()),
            '\n' => Some("%0A".to_string()),
            '"' => Some("%22".to_string()),
            c if c.is_control() => None,
            c => Some(c.to_string()),
        })
        .collect()
}

/// `application/x-www-form-urlencoded`: arrays repeat their key (form style,
/// exploded, the OpenAPI default), objects and other nesting go as JSON text.
fn form_urlencoded(value: &Value) -> String {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match value {
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| match v {
                Value::Array(items) => items
                    .iter()
                    .map(|item| format!("{}={}", style::encode(k), style::encode(&text(item))))
                    .collect::<Vec<_>>(),
                other => vec![format!("{}={}", style::encode(k), style::encode(&text(other)))],
            })
            .collect::<Vec<_>>()
            .join("&"),
        other => style::encode(&text(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{BodyField, BodySpec, Method, ParamSpec, Style};
    use serde_json::json;

    static PARAMS: &[ParamSpec] = &[
        ParamSpec {
            arg: "petId",
            name: "petId",
            location: Location::Path,
            style: Style::Simple,
            explode: false,
            fixed: None,
            default: None,
        },
        ParamSpec {
            arg: "tags",
            name: "tags",
            location: Location::Query,
            style: Style::Form,
            explode: true,
            fixed: None,
            default: None,
        },
        ParamSpec {
            arg: "X-Trace",
            name: "X-Trace",
            location: Location::Header,
            style: Style::Simple,
            explode: false,
            fixed: None,
            default: None,
        },
        ParamSpec {
            arg: "per_page",
            name: "per_page",
            location: Location::Query,
            style: Style::Form,
            explode: true,
            fixed: Some("50"),
            default: None,
        },
        ParamSpec {
            arg: "sort",
            name: "sort",
            location: Location::Query,
            style: Style::Form,
            explode: true,
            fixed: None,
            default: Some(r#""name""#),
        },
    ];
    static FIELDS: &[BodyField] = &[
        BodyField {
            arg: "name",
            name: "name",
            file: false,
            style: Style::Form,
            explode: true,
            fixed: None,
            default: None,
        },
        BodyField {
            arg: "kind",
            name: "kind",
            file: false,
            style: Style::Form,
            explode: true,
            fixed: Some(r#""pet""#),
            default: None,
        },
    ];

    fn recipe() -> RequestSpec {
        RequestSpec {
            method: Method::Put,
            path: "/pets/{petId}",
            server: None,
            params: PARAMS,
            body: Some(BodySpec {
                media_type: "application/json",
                encoding: BodyEncoding::Json,
                shape: BodyShape::Fields(FIELDS),
            }),
            security: &[],
        }
    }

    fn args(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn builds_path_query_header_and_body() {
        let base = Url::parse("http://127.0.0.1:9/v1").unwrap();
        let args = args(json!({"petId": 7, "tags": ["a b", "c"], "X-Trace": "t1", "name": "Rex", "per_page": 5}));
        let p = prepare(&recipe(), &args, &base, &Redactor::default()).unwrap();
        // Fixed values win over arguments; defaults fill absent ones.
        assert_eq!(
            p.url.as_str(),
            "http://127.0.0.1:9/v1/pets/7?tags=a%20b&tags=c&per_page=50&sort=name"
        );
        assert_eq!(p.label, "PUT /v1/pets/7");
        assert_eq!(p.headers[0].0.as_str(), "x-trace");
        match p.body.unwrap() {
            Body::Bytes { content_type, bytes } => {
                assert_eq!(content_type, "application/json");
                assert_eq!(bytes, br#"{"name":"Rex","kind":"pet"}"#);
            }
            other => panic!("{other:?}"),
        }
        let p = prepare(
            &recipe(),
            &self::args(json!({"petId": 7, "sort": "age"})),
            &base,
            &Redactor::default(),
        )
        .unwrap();
        assert_eq!(p.url.query(), Some("per_page=50&sort=age"));
    }

    #[test]
    fn path_arguments_stay_one_segment() {
        let base = Url::parse("http://127.0.0.1:9").unwrap();
        for evil in ["..", "."] {
            let err = prepare(&recipe(), &args(json!({"petId": evil})), &base, &Redactor::default()).unwrap_err();
            assert!(err.0.contains("change the URL path"), "{evil}: {err:?}");
        }
        // An encoded dot is data: its `%` is escaped, so no parser sees a dot segment.
        let p = prepare(
            &recipe(),
            &args(json!({"petId": "%2e%2E"})),
            &base,
            &Redactor::default(),
        )
        .unwrap();
        assert_eq!(p.url.path(), "/pets/%252e%252E");
        let p = prepare(
            &recipe(),
            &args(json!({"petId": "a/../../admin?x=1#f"})),
            &base,
            &Redactor::default(),
        )
        .unwrap();
        assert_eq!(p.url.path(), "/pets/a%2F..%2F..%2Fadmin%3Fx%3D1%23f");
        // Only the configured fixed and default values make the query: the `?x=1` stayed in the path.
        assert_eq!(p.url.query(), Some("per_page=50&sort=name"));
        let err = prepare(&recipe(), &args(json!({"petId": ""})), &base, &Redactor::default()).unwrap_err();
        assert!(err.0.contains("must not be empty"));
    }

    #[test]
    fn header_values_with_line_breaks_are_refused() {
        let base = Url::parse("http://127.0.0.1:9").unwrap();
        let err = prepare(
            &recipe(),
            &args(json!({"petId": 1, "X-Trace": "a\r\nInjected: yes"})),
            &base,
            &Redactor::default(),
        )
        .unwrap_err();
        assert!(err.0.contains("must not contain control characters"), "{err:?}");
    }

    static UPLOAD_FIELDS: &[BodyField] = &[
        BodyField {
            arg: "title",
            name: "title",
            file: false,
            style: Style::Form,
            explode: true,
            fixed: None,
            default: None,
        },
        BodyField {
            arg: "tags",
            name: "tags",
            file: false,
            style: Style::Form,
            explode: true,
            fixed: None,
            default: None,
        },
        BodyField {
            arg: "file",
            name: "file",
            file: true,
            style: Style::Form,
            explode: true,
            fixed: None,
            default: None,
        },
    ];

    #[test]
    fn multipart_fields_and_files_become_parts() {
        let recipe = RequestSpec {
            method: Method::Post,
            path: "/upload",
            server: None,
            params: &[],
            body: Some(BodySpec {
                media_type: "multipart/form-data",
                encoding: BodyEncoding::Multipart,
                shape: BodyShape::Fields(UPLOAD_FIELDS),
            }),
            security: &[],
        };
        let base = Url::parse("http://127.0.0.1:9").unwrap();
        let a = args(json!({"title": "t", "tags": ["a", "b"],
            "file": {"content": "aGk=", "encoding": "base64", "filename": "hi.bin", "media_type": "image/png"}}));
        let Some(Body::Multipart(parts)) = prepare(&recipe, &a, &base, &Redactor::default()).unwrap().body else {
            panic!("multipart expected")
        };
        type Summary<'a> = (&'a str, &'a [u8], Option<&'a str>, Option<&'a str>);
        let summary: Vec<Summary> = parts
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.content.as_slice(),
                    p.filename.as_deref(),
                    p.media_type.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("title", &b"t"[..], None, None),
                ("tags", b"a", None, None),
                ("tags", b"b", None, None),
                ("file", b"hi", Some("hi.bin"), Some("image/png")),
            ]
        );
        let bad = args(json!({"file": {"content": "not base64!", "encoding": "base64"}}));
        let err = prepare(&recipe, &bad, &base, &Redactor::default()).unwrap_err();
        assert!(err.0.contains("`file.content` is not valid base64"), "{err:?}");
    }

    #[test]
    fn part_filenames_stay_in_their_header() {
        assert_eq!(
            part_filename("a\r\nContent-Type: text/html\"x\u{0}.txt"),
            "a%0D%0AContent-Type: text/html%22x.txt"
        );
        assert_eq!(part_filename("résumé 2.pdf"), "résumé 2.pdf");
    }

    #[test]
    fn form_bodies_repeat_array_keys() {
        assert_eq!(
            form_urlencoded(&json!({"a": "x y", "n": 2, "list": ["p", "q&r"]})),
            "a=x%20y&n=2&list=p&list=q%26r"
        );
    }

    mod property {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

            /// Whatever the model puts in a path argument, the request goes to
            /// the same origin with the same number of path segments.
            #[test]
            fn path_arguments_never_change_origin_or_segment_count(id in any::<String>(), style in 0..3usize) {
                const fn param(style: Style) -> [ParamSpec; 1] {
                    [ParamSpec { arg: "id", name: "id", location: Location::Path, style, explode: false, fixed: None, default: None }]
                }
                static STYLED: [[ParamSpec; 1]; 3] = [param(Style::Simple), param(Style::Label), param(Style::Matrix)];
                let recipe = RequestSpec {
                    method: Method::Get,
                    path: "/v1/items/{id}/detail",
                    server: None,
                    params: &STYLED[style],
                    body: None,
                    security: &[],
                };
                let base = Url::parse("https://api.example.com/base").unwrap();
                let a = args(json!({"id": id}));
                if let Ok(p) = prepare(&recipe, &a, &base, &Redactor::default()) {
                    prop_assert_eq!(p.url.origin(), base.origin());
                    prop_assert_eq!(p.url.path_segments().unwrap().count(), 5);
                    prop_assert!(p.url.path().starts_with("/base/v1/items/"));
                    prop_assert!(p.url.path().ends_with("/detail"));
                    prop_assert_eq!(p.url.query(), None);
                    prop_assert_eq!(p.url.fragment(), None);
                }
            }
        }
    }
}
