//! Requests to the REST API: built from a tool's recipe and validated
//! arguments, authenticated from the env, sent with one pooled client.
//!
//! Input: `RequestSpec`, the arguments object, `Config`. Output: an
//! `UpstreamResponse` (any status) or an `UpstreamError` (no response).
//! Invariants: a path argument always stays one path segment; header values
//! never carry CR/LF; timeouts are always set; redirects are never followed
//! (they would carry credentials to another origin); error texts never contain
//! the request URL, whose query may hold an API key.

use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, COOKIE, HeaderName, HeaderValue};
use serde_json::{Map, Value};
use url::Url;

use crate::config::Config;
use crate::spec::{
    ApiKeyLocation, BodyEncoding, BodyShape, Location, RequestSpec, SchemeKind, SecuritySchemeSpec, ServerSpec,
};
use crate::style;

/// Default cap on the response body kept for the model.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// A request ready to send, before credentials are added.
#[derive(Debug)]
pub struct Prepared {
    pub method: reqwest::Method,
    pub url: Url,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub cookies: Vec<String>,
    pub body: Option<(&'static str, Vec<u8>)>,
    /// `METHOD /path` without the query, for messages and logs.
    pub label: String,
}

/// An argument that passed the schema but can't be sent as-is.
#[derive(Debug, PartialEq, Eq)]
pub struct ArgError(pub String);

#[derive(Debug)]
pub struct UpstreamResponse {
    pub status: reqwest::StatusCode,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    /// The body was longer than the cap and was cut.
    pub truncated: bool,
    pub elapsed: Duration,
}

#[derive(Debug)]
pub enum UpstreamError {
    Timeout(Duration),
    Connect(String),
    Other(String),
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpstreamError::Timeout(after) => write!(f, "the API did not answer within {} ms", after.as_millis()),
            UpstreamError::Connect(why) => write!(f, "could not connect to the API: {why}"),
            UpstreamError::Other(why) => write!(f, "the request failed: {why}"),
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
pub fn prepare(recipe: &RequestSpec, args: &Map<String, Value>, base: &Url) -> Result<Prepared, ArgError> {
    let mut path = String::with_capacity(recipe.path.len() + 16);
    let mut query: Vec<String> = Vec::new();
    let mut headers = Vec::new();
    let mut cookies = Vec::new();

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
                let value = HeaderValue::from_str(&text).map_err(|_| {
                    ArgError(format!(
                        "`{}` is sent as the HTTP header `{}` and must not contain control characters such as line breaks",
                        param.arg, param.name
                    ))
                })?;
                let name = HeaderName::from_bytes(param.name.as_bytes())
                    .map_err(|_| ArgError(format!("`{}` is not a valid header name", param.name)))?;
                headers.push((name, value));
            }
            Location::Cookie => cookies.push(style::cookie_pair(param, &value)),
            Location::Path => unreachable!("filtered above"),
        }
    }

    let body = match &recipe.body {
        None => None,
        Some(spec) => {
            let value = match &spec.shape {
                BodyShape::Whole { arg } => args.get(*arg).cloned(),
                BodyShape::Fields(fields) => {
                    let object: Map<String, Value> = fields
                        .iter()
                        .filter_map(|f| {
                            value_for(args, f.arg, f.fixed, f.default).map(|v| (f.name.to_string(), v.into_owned()))
                        })
                        .collect();
                    (!object.is_empty()).then_some(Value::Object(object))
                }
            };
            value.map(|value| (spec.media_type, encode_body(spec.encoding, &value)))
        }
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
    })
}

fn encode_body(encoding: BodyEncoding, value: &Value) -> Vec<u8> {
    match encoding {
        BodyEncoding::Json => serde_json::to_vec(value).expect("JSON values always serialize"),
        BodyEncoding::FormUrlEncoded => {
            let pairs: Vec<String> = match value {
                Value::Object(map) => map
                    .iter()
                    .map(|(k, v)| {
                        let text = match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        format!("{}={}", style::encode(k), style::encode(&text))
                    })
                    .collect(),
                other => vec![style::encode(&other.to_string())],
            };
            pairs.join("&").into_bytes()
        }
    }
}

/// The pooled HTTP client and what it needs to authenticate.
pub struct Upstream {
    client: reqwest::Client,
    schemes: &'static [SecuritySchemeSpec],
    config: Config,
    timeout: Duration,
    max_response_bytes: usize,
}

impl Upstream {
    pub fn new(spec: &'static ServerSpec, config: Config, timeout: Duration) -> Result<Upstream, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .timeout(timeout)
            .user_agent(format!("{}/{} (mcpgen)", spec.name, spec.version))
            .build()
            .map_err(|e| format!("could not set up the HTTP client: {}", e.without_url()))?;
        Ok(Upstream {
            client,
            schemes: spec.security_schemes,
            config,
            timeout,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Add the credentials of the first security alternative that we hold
    /// credentials for, then send.
    pub async fn send(&self, recipe: &RequestSpec, mut prepared: Prepared) -> Result<UpstreamResponse, UpstreamError> {
        let alternative = recipe
            .security
            .iter()
            .find(|alt| alt.iter().all(|name| self.config.credentials.contains_key(name)));
        let mut basic: Option<(String, Option<String>)> = None;
        let mut bearer: Option<&str> = None;
        for name in alternative.copied().unwrap_or(&[]) {
            let (Some(scheme), Some(secret)) = (
                self.schemes.iter().find(|s| s.name == *name),
                self.config.credentials.get(name),
            ) else {
                continue;
            };
            match scheme.kind {
                SchemeKind::ApiKey {
                    location: ApiKeyLocation::Header,
                    name,
                } => {
                    let mut value = HeaderValue::from_str(secret.expose()).map_err(|_| {
                        UpstreamError::Other(format!("the credential in {} is not a valid header value", scheme.env))
                    })?;
                    value.set_sensitive(true);
                    let header = HeaderName::from_bytes(name.as_bytes())
                        .map_err(|_| UpstreamError::Other(format!("`{name}` is not a valid header name")))?;
                    prepared.headers.push((header, value));
                }
                SchemeKind::ApiKey {
                    location: ApiKeyLocation::Query,
                    name,
                } => {
                    let pair = format!("{}={}", style::encode(name), style::encode(secret.expose()));
                    let query = match prepared.url.query() {
                        Some(q) if !q.is_empty() => format!("{q}&{pair}"),
                        _ => pair,
                    };
                    prepared.url.set_query(Some(&query));
                }
                SchemeKind::ApiKey {
                    location: ApiKeyLocation::Cookie,
                    name,
                } => {
                    prepared
                        .cookies
                        .push(format!("{name}={}", style::encode(secret.expose())));
                }
                SchemeKind::Bearer => bearer = Some(secret.expose()),
                SchemeKind::Basic => {
                    let (user, pass) = match secret.expose().split_once(':') {
                        Some((u, p)) => (u.to_string(), Some(p.to_string())),
                        None => (secret.expose().to_string(), None),
                    };
                    basic = Some((user, pass));
                }
            }
        }

        let mut request = self.client.request(prepared.method, prepared.url);
        for (name, value) in prepared.headers {
            request = request.header(name, value);
        }
        if !prepared.cookies.is_empty() {
            let mut value = HeaderValue::from_str(&prepared.cookies.join("; "))
                .map_err(|_| UpstreamError::Other("a cookie value is not valid in a header".to_string()))?;
            value.set_sensitive(true);
            request = request.header(COOKIE, value);
        }
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some((user, pass)) = basic {
            request = request.basic_auth(user, pass);
        }
        if let Some((media_type, bytes)) = prepared.body {
            request = request.header(CONTENT_TYPE, media_type).body(bytes);
        }

        let started = Instant::now();
        let mut response = request.send().await.map_err(|e| self.classify(e))?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut body = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(e))? {
            let room = self.max_response_bytes - body.len();
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                truncated = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(UpstreamResponse {
            status,
            content_type,
            body,
            truncated,
            elapsed: started.elapsed(),
        })
    }

    fn classify(&self, error: reqwest::Error) -> UpstreamError {
        // `without_url`: the URL's query may hold an API key.
        let error = error.without_url();
        if error.is_timeout() {
            UpstreamError::Timeout(self.timeout)
        } else if error.is_connect() {
            UpstreamError::Connect(root_cause(&error))
        } else {
            UpstreamError::Other(root_cause(&error))
        }
    }
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
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
            fixed: None,
            default: None,
        },
        BodyField {
            arg: "kind",
            name: "kind",
            fixed: Some(r#""pet""#),
            default: None,
        },
    ];

    fn recipe() -> RequestSpec {
        RequestSpec {
            method: Method::Put,
            path: "/pets/{petId}",
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
        let p = prepare(&recipe(), &args, &base).unwrap();
        // Fixed values win over arguments; defaults fill absent ones.
        assert_eq!(
            p.url.as_str(),
            "http://127.0.0.1:9/v1/pets/7?tags=a%20b&tags=c&per_page=50&sort=name"
        );
        assert_eq!(p.label, "PUT /v1/pets/7");
        assert_eq!(p.headers[0].0.as_str(), "x-trace");
        assert_eq!(p.body.unwrap().1, br#"{"name":"Rex","kind":"pet"}"#);
        let p = prepare(&recipe(), &self::args(json!({"petId": 7, "sort": "age"})), &base).unwrap();
        assert_eq!(p.url.query(), Some("per_page=50&sort=age"));
    }

    #[test]
    fn path_arguments_stay_one_segment() {
        let base = Url::parse("http://127.0.0.1:9").unwrap();
        for evil in ["..", "."] {
            let err = prepare(&recipe(), &args(json!({"petId": evil})), &base).unwrap_err();
            assert!(err.0.contains("change the URL path"), "{evil}: {err:?}");
        }
        // An encoded dot is data: its `%` is escaped, so no parser sees a dot segment.
        let p = prepare(&recipe(), &args(json!({"petId": "%2e%2E"})), &base).unwrap();
        assert_eq!(p.url.path(), "/pets/%252e%252E");
        let p = prepare(&recipe(), &args(json!({"petId": "a/../../admin?x=1#f"})), &base).unwrap();
        assert_eq!(p.url.path(), "/pets/a%2F..%2F..%2Fadmin%3Fx%3D1%23f");
        // Only the configured fixed and default values make the query: the `?x=1` stayed in the path.
        assert_eq!(p.url.query(), Some("per_page=50&sort=name"));
        let err = prepare(&recipe(), &args(json!({"petId": ""})), &base).unwrap_err();
        assert!(err.0.contains("must not be empty"));
    }

    #[test]
    fn header_values_with_line_breaks_are_refused() {
        let base = Url::parse("http://127.0.0.1:9").unwrap();
        let err = prepare(
            &recipe(),
            &args(json!({"petId": 1, "X-Trace": "a\r\nInjected: yes"})),
            &base,
        )
        .unwrap_err();
        assert!(err.0.contains("must not contain control characters"), "{err:?}");
    }
}
