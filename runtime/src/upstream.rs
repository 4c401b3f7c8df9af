//! Requests to the REST API: built from a tool's recipe and validated
//! arguments, authenticated from the env, sent with one pooled client, retried
//! by policy.
//!
//! Input: `RequestSpec`, the arguments object, `Config`, `Policy`. Output: an
//! `UpstreamResponse` (any status) or an `UpstreamError` (no response).
//! Invariants: a path argument always stays one path segment; header values
//! never carry CR/LF; every attempt has a timeout and the whole call one
//! deadline; redirects are never followed (they would carry credentials to
//! another origin); error texts never contain the request URL, whose query
//! may hold an API key.
//!
//! Retries (like Envoy's and the AWS SDKs'): at most `max_attempts`, with
//! full-jitter exponential backoff, and never past the deadline. Connection
//! failures are retried for any method (nothing reached the API); timeouts and
//! 500/502/503/504 only for idempotent methods; 429 only when `Retry-After`
//! says how long to wait.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::header::{ACCEPT, CONTENT_TYPE, COOKIE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use serde_json::{Map, Value};
use url::Url;

use crate::config::Config;
use crate::extend::{Call, Hooks};
use crate::notify;
use crate::redact::Redactor;
use crate::spec::{
    ApiKeyLocation, BodyEncoding, BodyShape, Location, ParamSpec, Policy, RequestSpec, SchemeKind, SecuritySchemeSpec,
    ServerSpec,
};
use crate::style;

/// First backoff ceiling; doubles per retry up to `MAX_BACKOFF`.
const BASE_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// An OAuth2 token is refreshed this long before it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(30);

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

#[derive(Debug)]
pub struct UpstreamResponse {
    pub status: reqwest::StatusCode,
    pub content_type: Option<String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The body was longer than the cap and was cut.
    pub truncated: bool,
    pub elapsed: Duration,
    /// Requests sent for this response, retries included.
    pub attempts: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Timeout,
    Connect,
    /// The OAuth2 token endpoint refused or failed.
    Auth,
    /// The request could not even be built (a URL too long, say): never retried.
    Invalid,
    Other,
}

impl ErrorKind {
    /// For outcomes, metrics and the structured error.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connect => "connect",
            ErrorKind::Auth => "auth",
            ErrorKind::Invalid => "invalid_request",
            ErrorKind::Other => "request_failed",
        }
    }
}

impl UpstreamResponse {
    /// The body as JSON, when it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// Replace the body with `value` (as JSON).
    pub fn set_json(&mut self, value: &Value) {
        self.body = serde_json::to_vec(value).expect("a JSON value serializes");
        self.content_type = Some("application/json".to_string());
    }
}

/// The API gave no response we can pass on.
#[derive(Debug)]
pub struct UpstreamError {
    pub kind: ErrorKind,
    pub detail: String,
    pub attempts: u32,
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            ErrorKind::Timeout => write!(f, "the API did not answer in time ({})", self.detail)?,
            ErrorKind::Connect => write!(f, "could not connect to the API: {}", self.detail)?,
            ErrorKind::Auth => write!(f, "could not get an access token: {}", self.detail)?,
            ErrorKind::Invalid => write!(f, "the request could not be made: {}", self.detail)?,
            ErrorKind::Other => write!(f, "the request failed: {}", self.detail)?,
        }
        if self.attempts > 1 {
            write!(f, " (after {} attempts)", self.attempts)?;
        }
        Ok(())
    }
}

/// A file in an argument: a string (text content), or an object
/// `{content, encoding: "text"|"base64", filename, media_type}`.
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
                    .ok_or_else(|| ArgError(format!("`{arg}` needs `content`: the file's text, or base64")))?;
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
fn part_filename(name: &str) -> String {
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

/// A cached OAuth2 access token.
struct Token {
    value: String,
    /// When to fetch a new one (None: the server gave no lifetime).
    refresh_at: Option<Instant>,
}

/// The longest a token is cached, whatever lifetime the server claims.
const MAX_TOKEN_CACHE: Duration = Duration::from_secs(24 * 3600);

/// How long to use a token whose server says it lives `expires_in` seconds:
/// refreshed `TOKEN_MARGIN` early, or halfway through a lifetime shorter
/// than twice that (so a 30 s token is not fetched on every call), and never
/// past a day (so a lifetime from the network can't overflow a clock).
fn refresh_after(expires_in: u64) -> Duration {
    let lifetime = Duration::from_secs(expires_in).min(MAX_TOKEN_CACHE);
    lifetime - TOKEN_MARGIN.min(lifetime / 2)
}

/// The pooled HTTP client and what it needs to authenticate.
pub struct Upstream {
    /// Built on first use: it loads the system's CA certificates (hundreds of
    /// files), which would otherwise dominate start-up and idle memory.
    client: std::sync::OnceLock<Result<reqwest::Client, String>>,
    user_agent: String,
    schemes: &'static [SecuritySchemeSpec],
    config: Config,
    redactor: Redactor,
    /// One slot per OAuth2 scheme; the lock also keeps concurrent calls from
    /// fetching the same token twice.
    tokens: HashMap<&'static str, tokio::sync::Mutex<Option<Token>>>,
    /// The crate's own request and response hooks (`src/extend.rs`).
    hooks: Hooks,
}

/// How one attempt ended, for the retry decision.
enum Attempt {
    Answered(UpstreamResponse),
    Failed(ErrorKind, String),
}

impl Upstream {
    pub fn new(spec: &'static ServerSpec, config: Config, redactor: Redactor) -> Result<Upstream, String> {
        let tokens = spec
            .security_schemes
            .iter()
            .filter(|s| matches!(s.kind, SchemeKind::OAuth2ClientCredentials { .. }))
            .map(|s| (s.name, tokio::sync::Mutex::new(None)))
            .collect();
        Ok(Upstream {
            client: std::sync::OnceLock::new(),
            user_agent: format!("{}/{} (mcpgen)", spec.name, spec.version),
            schemes: spec.security_schemes,
            config,
            redactor,
            tokens,
            hooks: Hooks::default(),
        })
    }

    pub fn with_hooks(mut self, hooks: Hooks) -> Upstream {
        self.hooks = hooks;
        self
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The pooled client, built on the first request.
    fn client(&self) -> Result<&reqwest::Client, UpstreamError> {
        let built = self.client.get_or_init(|| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(Duration::from_secs(10))
                .user_agent(&self.user_agent)
                .build()
                .map_err(|e| format!("could not set up the HTTP client: {}", e.without_url()))
        });
        built.as_ref().map_err(|detail| UpstreamError {
            kind: ErrorKind::Other,
            detail: detail.clone(),
            attempts: 0,
        })
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Send with the credentials of the first security alternative we hold
    /// credentials for, retrying by `policy` until `deadline`.
    pub async fn send(
        &self,
        tool: &str,
        recipe: &RequestSpec,
        prepared: &Prepared,
        policy: &Policy,
        deadline: Instant,
    ) -> Result<UpstreamResponse, UpstreamError> {
        let alternative: &[&str] = recipe
            .security
            .iter()
            .find(|alt| alt.iter().all(|name| self.config.credentials.contains_key(name)))
            .copied()
            .unwrap_or(&[]);
        let uses_oauth = alternative.iter().any(|name| self.tokens.contains_key(name));
        let idempotent = recipe.method.is_idempotent();
        let mut attempts = 0;
        let mut refreshed = false;
        loop {
            attempts += 1;
            let now = Instant::now();
            let remaining = deadline.saturating_duration_since(now);
            if remaining.is_zero() {
                return Err(UpstreamError {
                    kind: ErrorKind::Timeout,
                    detail: "the call's deadline passed".to_string(),
                    attempts: attempts - 1,
                });
            }
            let timeout = Duration::from_millis(policy.timeout_ms).min(remaining);
            let call = Call {
                tool,
                attempt: attempts,
            };
            let attempt = match self.build(prepared, alternative, timeout, deadline).await {
                Ok(request) => self.attempt(&call, request, policy, timeout).await?,
                Err(e) => return Err(UpstreamError { attempts, ..e }),
            };
            let took = now.elapsed();
            let how = |attempt: &Attempt| match attempt {
                Attempt::Answered(r) => format!("answered {}", r.status),
                Attempt::Failed(kind, detail) => format!("failed ({}): {detail}", kind.as_str()),
            };
            notify::attempt(|| {
                format!(
                    "{} {} in {} ms (attempt {attempts})",
                    prepared.label,
                    how(&attempt),
                    took.as_millis()
                )
            })
            .await;
            // An expired or revoked OAuth2 token: fetch a new one and resend, once.
            if let Attempt::Answered(r) = &attempt
                && r.status == reqwest::StatusCode::UNAUTHORIZED
                && uses_oauth
                && !refreshed
            {
                refreshed = true;
                for name in alternative {
                    if let Some(slot) = self.tokens.get(name) {
                        *slot.lock().await = None;
                    }
                }
                attempts -= 1;
                continue;
            }
            let wait = match &attempt {
                _ if attempts >= policy.max_attempts => None,
                Attempt::Failed(ErrorKind::Connect, _) => Some(backoff(attempts)),
                Attempt::Failed(ErrorKind::Timeout | ErrorKind::Other, _) if idempotent => Some(backoff(attempts)),
                Attempt::Answered(r) => match r.status.as_u16() {
                    500 | 502 | 503 | 504 if idempotent => {
                        Some(backoff(attempts).max(retry_after(&r.headers).unwrap_or_default()))
                    }
                    429 => retry_after(&r.headers),
                    _ => None,
                },
                _ => None,
            };
            match wait {
                // `wait` may come from the network (Retry-After): compared, never added to an Instant.
                Some(wait) if wait < deadline.saturating_duration_since(Instant::now()) => {
                    notify::retry(|| {
                        format!(
                            "{} {}; retrying in {:.1} s (attempt {} of {})",
                            prepared.label,
                            how(&attempt),
                            wait.as_secs_f64(),
                            attempts + 1,
                            policy.max_attempts
                        )
                    })
                    .await;
                    tokio::time::sleep(wait).await
                }
                _ => {
                    return match attempt {
                        Attempt::Answered(mut r) => {
                            r.attempts = attempts;
                            self.hooks.on_response(&call, &mut r);
                            Ok(r)
                        }
                        Attempt::Failed(kind, detail) => Err(UpstreamError { kind, detail, attempts }),
                    };
                }
            }
        }
    }

    /// The request for one attempt, credentials added.
    async fn build(
        &self,
        prepared: &Prepared,
        alternative: &[&str],
        timeout: Duration,
        deadline: Instant,
    ) -> Result<reqwest::RequestBuilder, UpstreamError> {
        let fail = |detail: String| UpstreamError {
            kind: ErrorKind::Other,
            detail,
            attempts: 0,
        };
        let mut url = prepared.url.clone();
        let mut headers = prepared.headers.clone();
        let mut cookies = prepared.cookies.clone();
        let mut authorization: Option<HeaderValue> = None;
        for name in alternative {
            let (Some(scheme), Some(secret)) = (
                self.schemes.iter().find(|s| s.name == *name),
                self.config.credentials.get(name),
            ) else {
                continue;
            };
            let sensitive = |text: String| {
                let mut value = HeaderValue::from_str(&text)
                    .map_err(|_| fail(format!("the credential in {} is not a valid header value", scheme.env)))?;
                value.set_sensitive(true);
                Ok::<_, UpstreamError>(value)
            };
            match scheme.kind {
                SchemeKind::ApiKey {
                    location: ApiKeyLocation::Header,
                    name,
                } => {
                    let header = HeaderName::from_bytes(name.as_bytes())
                        .map_err(|_| fail(format!("`{name}` is not a valid header name")))?;
                    headers.push((header, sensitive(secret.expose().to_string())?));
                }
                SchemeKind::ApiKey {
                    location: ApiKeyLocation::Query,
                    name,
                } => {
                    let pair = format!("{}={}", style::encode(name), style::encode(secret.expose()));
                    let query = match url.query() {
                        Some(q) if !q.is_empty() => format!("{q}&{pair}"),
                        _ => pair,
                    };
                    url.set_query(Some(&query));
                }
                SchemeKind::ApiKey {
                    location: ApiKeyLocation::Cookie,
                    name,
                } => cookies.push(format!("{name}={}", style::encode(secret.expose()))),
                SchemeKind::Bearer => authorization = Some(sensitive(format!("Bearer {}", secret.expose()))?),
                SchemeKind::Basic => {
                    // `user` alone means an empty password.
                    let pair = match secret.expose() {
                        s if s.contains(':') => s.to_string(),
                        s => format!("{s}:"),
                    };
                    let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                    authorization = Some(sensitive(format!("Basic {encoded}"))?);
                }
                SchemeKind::OAuth2ClientCredentials { .. } => {
                    let token = self.token(scheme, timeout, deadline).await?;
                    authorization = Some(sensitive(format!("Bearer {token}"))?);
                }
            }
        }

        let mut request = self.client()?.request(prepared.method.clone(), url).timeout(timeout);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        if !cookies.is_empty() {
            let mut value = HeaderValue::from_str(&cookies.join("; "))
                .map_err(|_| fail("a cookie value is not valid in a header".to_string()))?;
            value.set_sensitive(true);
            request = request.header(COOKIE, value);
        }
        if let Some(value) = authorization {
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        match &prepared.body {
            None => {}
            Some(Body::Bytes { content_type, bytes }) => {
                request = request.header(CONTENT_TYPE, content_type.as_str()).body(bytes.clone());
            }
            Some(Body::Multipart(parts)) => {
                let mut form = reqwest::multipart::Form::new();
                for part in parts {
                    let mut p = reqwest::multipart::Part::bytes(part.content.clone());
                    if let Some(filename) = &part.filename {
                        p = p.file_name(part_filename(filename));
                    }
                    if let Some(mt) = &part.media_type {
                        p = p
                            .mime_str(mt)
                            .map_err(|_| fail(format!("`{mt}` is not a valid media type")))?;
                    }
                    form = form.part(part.name.clone(), p);
                }
                request = request.multipart(form);
            }
        }
        Ok(request)
    }

    /// Send once (after the crate's request hooks) and read the body up to
    /// the cap. `Err` only when a hook refused the request.
    async fn attempt(
        &self,
        call: &Call<'_>,
        request: reqwest::RequestBuilder,
        policy: &Policy,
        timeout: Duration,
    ) -> Result<Attempt, UpstreamError> {
        let started = Instant::now();
        let failed = |e: reqwest::Error| {
            let (kind, detail) = classify(e, timeout);
            Ok(Attempt::Failed(kind, self.redactor.redact(&detail)))
        };
        let mut request = match request.build() {
            Ok(request) => request,
            Err(e) => return failed(e),
        };
        if let Err(why) = self.hooks.on_request(call, &mut request) {
            return Err(UpstreamError {
                kind: ErrorKind::Other,
                detail: format!("the request hook refused it: {}", self.redactor.redact(&why)),
                attempts: call.attempt,
            });
        }
        let mut response = match self.client()?.execute(request).await {
            Ok(response) => response,
            Err(e) => return failed(e),
        };
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut body = Vec::new();
        let mut truncated = false;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = policy.max_response_bytes.saturating_sub(body.len());
                    if chunk.len() > room {
                        body.extend_from_slice(&chunk[..room]);
                        truncated = true;
                        break;
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return failed(e),
            }
        }
        Ok(Attempt::Answered(UpstreamResponse {
            status,
            content_type,
            headers,
            body,
            truncated,
            elapsed: started.elapsed(),
            attempts: 1,
        }))
    }

    /// A valid access token for an OAuth2 scheme: cached, or fetched now.
    async fn token(
        &self,
        scheme: &SecuritySchemeSpec,
        timeout: Duration,
        deadline: Instant,
    ) -> Result<String, UpstreamError> {
        let SchemeKind::OAuth2ClientCredentials {
            token_url,
            scopes,
            secret_env,
        } = scheme.kind
        else {
            unreachable!("called for OAuth2 schemes only");
        };
        let auth_error = |detail: String| UpstreamError {
            kind: ErrorKind::Auth,
            detail,
            attempts: 0,
        };
        let mut slot = self
            .tokens
            .get(scheme.name)
            .expect("a slot per OAuth2 scheme")
            .lock()
            .await;
        if let Some(token) = slot.as_ref()
            && token.refresh_at.is_none_or(|at| Instant::now() < at)
        {
            return Ok(token.value.clone());
        }
        let url = self
            .config
            .base_url
            .join(token_url)
            .map_err(|e| auth_error(format!("the token URL `{token_url}` is invalid ({e})")))?;
        let mut form = vec![("grant_type", "client_credentials")];
        if !scopes.is_empty() {
            form.push(("scope", scopes));
        }
        let client_id = self.config.credentials.get(scheme.name).expect("checked by the caller");
        let client_secret = self
            .config
            .client_secrets
            .get(scheme.name)
            .expect("read with the client id");
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", style::encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        // RFC 6749 2.3.1: client id and secret form-encoded, then HTTP basic.
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            style::encode(client_id.expose()),
            style::encode(client_secret.expose())
        ));
        let mut authorization = HeaderValue::from_str(&format!("Basic {basic}"))
            .map_err(|_| auth_error(format!("{} or {secret_env} holds characters not allowed", scheme.env)))?;
        authorization.set_sensitive(true);
        let timeout = timeout.min(deadline.saturating_duration_since(Instant::now()));
        let response = self
            .client()?
            .post(url)
            .timeout(timeout)
            .header(reqwest::header::AUTHORIZATION, authorization)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| {
                let (kind, detail) = classify(e, timeout);
                UpstreamError {
                    kind,
                    detail: format!("token endpoint: {}", self.redactor.redact(&detail)),
                    attempts: 0,
                }
            })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let parsed: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !status.is_success() {
            let reason = ["error", "error_description"]
                .iter()
                .filter_map(|k| parsed.get(*k).and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(": ");
            return Err(auth_error(self.redactor.redact(&format!(
                "the token endpoint answered {status}{}; check {} and {secret_env}",
                if reason.is_empty() {
                    String::new()
                } else {
                    format!(" ({reason})")
                },
                scheme.env
            ))));
        }
        let Some(access) = parsed.get("access_token").and_then(Value::as_str) else {
            return Err(auth_error(
                "the token endpoint's answer has no `access_token`".to_string(),
            ));
        };
        self.redactor.learn(access);
        let refresh_at = parsed
            .get("expires_in")
            .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
            .map(|seconds| Instant::now() + refresh_after(seconds));
        *slot = Some(Token {
            value: access.to_string(),
            refresh_at,
        });
        Ok(access.to_string())
    }
}

/// Full jitter: a random wait between zero and an exponentially growing ceiling.
fn backoff(attempt: u32) -> Duration {
    let ceiling = BASE_BACKOFF
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(MAX_BACKOFF);
    let mut bytes = [0u8; 8];
    let random = match getrandom::fill(&mut bytes) {
        Ok(()) => u64::from_le_bytes(bytes),
        Err(_) => Instant::now().elapsed().subsec_nanos() as u64,
    };
    ceiling.mul_f64((random >> 11) as f64 / (1u64 << 53) as f64)
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(std::time::SystemTime::now()).unwrap_or_default())
}

fn classify(error: reqwest::Error, timeout: Duration) -> (ErrorKind, String) {
    // `without_url`: the URL's query may hold an API key.
    let error = error.without_url();
    if error.is_timeout() {
        (
            ErrorKind::Timeout,
            format!("no complete answer within {} ms", timeout.as_millis()),
        )
    } else if error.is_connect() {
        (ErrorKind::Connect, root_cause(&error))
    } else if error.is_builder() {
        (ErrorKind::Invalid, root_cause(&error))
    } else {
        (ErrorKind::Other, root_cause(&error))
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

    #[test]
    fn backoff_is_full_jitter_under_a_growing_ceiling() {
        for attempt in 1..=6 {
            let ceiling = (BASE_BACKOFF * 2u32.pow(attempt - 1)).min(MAX_BACKOFF);
            let waits: Vec<Duration> = (0..200).map(|_| backoff(attempt)).collect();
            assert!(waits.iter().all(|w| *w <= ceiling), "attempt {attempt}");
            // Spread over the whole range, not clustered at the ceiling.
            assert!(waits.iter().any(|w| *w < ceiling / 4) && waits.iter().any(|w| *w > ceiling * 3 / 4));
        }
    }

    #[test]
    fn token_lifetimes_from_the_network_are_bounded() {
        assert_eq!(refresh_after(3600), Duration::from_secs(3570));
        assert_eq!(
            refresh_after(30),
            Duration::from_secs(15),
            "short tokens live half their life"
        );
        assert_eq!(refresh_after(0), Duration::ZERO);
        assert_eq!(refresh_after(u64::MAX), MAX_TOKEN_CACHE - TOKEN_MARGIN);
        // Used as `Instant::now() + …`: never overflows.
        let _ = Instant::now() + refresh_after(u64::MAX);
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        let soon = std::time::SystemTime::now() + Duration::from_secs(30);
        headers.insert(RETRY_AFTER, httpdate::fmt_http_date(soon).parse().unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(
            wait > Duration::from_secs(27) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
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
