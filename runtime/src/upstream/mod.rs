//! Requests to the REST API: built from a tool's recipe and validated
//! arguments (`request`), authenticated from the env (`auth`), sent with one
//! pooled client, retried by policy (`retry`, a pure decision).
//!
//! Input: `RequestSpec`, the arguments object, `Config`, `Policy`. Output: an
//! `UpstreamResponse` (any status) or an `UpstreamError` (no response).
//! Invariants: every attempt has a timeout and the whole call one deadline;
//! redirects are never followed (they would carry credentials to another
//! origin); error texts never contain the request URL, whose query may hold
//! an API key, and are redacted here, once, before they leave.

mod auth;
pub mod hooks;
mod request;
mod retry;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{CONTENT_TYPE, COOKIE, HeaderMap, HeaderValue};
use serde_json::Value;

use auth::Token;
use request::part_filename;
pub use request::{ArgError, Body, Prepared, prepare};

use self::hooks::{Call, Hooks};
use crate::config::{Config, Secret};
use crate::context::CallContext;
use crate::identity::oauth::ResourceServer;
use crate::observe::Ended;
use crate::redact::Redactor;
use crate::spec::{Policy, RequestSpec, SchemeKind, SecuritySchemeSpec, ServerSpec};

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

impl From<ErrorKind> for Ended {
    fn from(kind: ErrorKind) -> Ended {
        match kind {
            ErrorKind::Timeout => Ended::Timeout,
            ErrorKind::Connect => Ended::Connect,
            ErrorKind::Auth => Ended::Auth,
            ErrorKind::Invalid => Ended::InvalidRequest,
            ErrorKind::Other => Ended::RequestFailed,
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

/// `Retry-After` of a response (seconds or an HTTP date), unbounded: the caller bounds it.
pub fn retry_after_now(headers: &HeaderMap) -> Option<Duration> {
    retry::retry_after(headers, std::time::SystemTime::now)
}

/// The pooled HTTP client and what it needs to authenticate.
pub struct Upstream {
    spec: &'static ServerSpec,
    /// Built on first use: it loads the system's CA certificates (hundreds of
    /// files), which would otherwise dominate start-up and idle memory. A
    /// failed build is kept as its text, the detail of every call's error
    /// (reqwest's error is not `Clone`).
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
    /// Inbound OAuth, for schemes whose tokens are exchanged per caller.
    exchanger: Option<Arc<ResourceServer>>,
    /// Exchanged tokens by (scheme, subject, client): a caller's are only ever
    /// its own. One slot per key, locked while exchanging, so a caller's
    /// concurrent calls exchange once.
    exchanged: std::sync::Mutex<HashMap<auth::ExchangeKey, Arc<tokio::sync::Mutex<Option<Token>>>>>,
}

/// How one attempt ended, for the retry decision.
enum Attempt {
    Answered(UpstreamResponse),
    Failed(ErrorKind, String),
}

impl Upstream {
    pub fn new(spec: &'static ServerSpec, config: Config, redactor: Redactor) -> Upstream {
        let tokens = spec
            .security_schemes
            .iter()
            .filter(|s| matches!(s.kind, SchemeKind::OAuth2ClientCredentials { .. }))
            .map(|s| (s.name, tokio::sync::Mutex::new(None)))
            .collect();
        Upstream {
            spec,
            client: std::sync::OnceLock::new(),
            user_agent: format!("{}/{} (mcpgen)", spec.name, spec.version),
            schemes: spec.security_schemes,
            config,
            redactor,
            tokens,
            hooks: Hooks::default(),
            exchanger: None,
            exchanged: Default::default(),
        }
    }

    pub fn with_hooks(mut self, hooks: Hooks) -> Upstream {
        self.hooks = hooks;
        self
    }

    /// Exchange OAuth callers' tokens for the schemes configured to (RFC 8693).
    pub fn with_token_exchange(mut self, oauth: Option<Arc<ResourceServer>>) -> Upstream {
        self.exchanger = oauth;
        self
    }

    /// Whether a request can carry this scheme's credential: the caller's
    /// own, its env var's, or the current OAuth caller's exchanged token.
    fn can_authenticate(&self, name: &str, cx: &CallContext) -> bool {
        let Some(scheme) = self.schemes.iter().find(|s| s.name == name) else {
            return self.config.credentials.contains_key(name);
        };
        self.credential(cx, scheme).is_some()
            || (cx.caller.access().is_some() && self.exchanger.is_some() && scheme.token_exchange.is_some())
    }

    /// The credential sent for `scheme`: an OAuth caller's own for a per-user
    /// scheme (never the operator's), else the env var's.
    fn credential<'a>(&'a self, cx: &'a CallContext, scheme: &SecuritySchemeSpec) -> Option<&'a Secret> {
        if scheme.per_user && cx.caller.access().is_some() {
            return cx.personal(scheme.name);
        }
        self.config.credentials.get(scheme.name)
    }

    /// The server this upstream serves (a job's status tool is one of its tools).
    pub fn spec(&self) -> &'static ServerSpec {
        self.spec
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The pooled client, built on the first request.
    fn client(&self) -> Result<&reqwest::Client, UpstreamError> {
        let built = self.client.get_or_init(|| {
            crate::tls::install_crypto_provider();
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

    /// The first security alternative of `recipe` we hold credentials for
    /// (empty: none, and the request goes without).
    fn alternative(&self, cx: &CallContext, recipe: &RequestSpec) -> &'static [&'static str] {
        recipe
            .security
            .iter()
            .find(|alt| alt.iter().all(|name| self.can_authenticate(name, cx)))
            .copied()
            .unwrap_or(&[])
    }

    /// Whether some security alternative of `recipe` can be sent with the
    /// credentials at hand (an empty alternative always can).
    pub fn can_send(&self, cx: &CallContext, recipe: &RequestSpec) -> bool {
        recipe
            .security
            .iter()
            .any(|alt| alt.iter().all(|name| self.can_authenticate(name, cx)))
    }

    /// Send with the credentials of the first security alternative we hold
    /// credentials for, retrying by the call's policy until its deadline.
    pub async fn send(
        &self,
        cx: &CallContext,
        recipe: &RequestSpec,
        prepared: &Prepared,
    ) -> Result<UpstreamResponse, UpstreamError> {
        self.send_as(cx.tool, cx, recipe, prepared).await
    }

    /// `send` for another tool of the same call (a job's status tool): hooks see its name.
    // Long by design: the retry loop: attempt, report, refresh an expired token once, decide
    // (retry::next_wait), wait or return; its state (attempts, refreshed) spans every step.
    pub async fn send_as(
        &self,
        tool: &str,
        cx: &CallContext,
        recipe: &RequestSpec,
        prepared: &Prepared,
    ) -> Result<UpstreamResponse, UpstreamError> {
        let (policy, deadline) = (&cx.policy, cx.deadline);
        let alternative = self.alternative(cx, recipe);
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
            let attempt = match self.build(cx, prepared, alternative, timeout).await {
                Ok(request) => self.attempt(&call, request, policy, timeout).await?,
                Err(e) => return Err(UpstreamError { attempts, ..e }),
            };
            let took = now.elapsed();
            let how = |attempt: &Attempt| match attempt {
                Attempt::Answered(r) => format!("answered {}", r.status),
                Attempt::Failed(kind, detail) => format!("failed ({}): {detail}", kind.as_str()),
            };
            cx.attempt(|| {
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
            let ended = match &attempt {
                Attempt::Answered(r) => retry::Ended::Answered {
                    status: r.status.as_u16(),
                    headers: &r.headers,
                },
                Attempt::Failed(kind, _) => retry::Ended::Failed(*kind),
            };
            let wait = retry::next_wait(
                ended,
                retry::Context {
                    attempts,
                    max_attempts: policy.max_attempts,
                    idempotent,
                    jitter: retry::jitter,
                    now: SystemTime::now,
                },
            );
            match wait {
                // `wait` may come from the network (Retry-After): compared, never added to an Instant.
                Some(wait) if wait < deadline.saturating_duration_since(Instant::now()) => {
                    cx.retry(|| {
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
        cx: &CallContext,
        prepared: &Prepared,
        alternative: &[&str],
        timeout: Duration,
    ) -> Result<reqwest::RequestBuilder, UpstreamError> {
        let fail = |detail: String| UpstreamError {
            kind: ErrorKind::Other,
            detail,
            attempts: 0,
        };
        let mut url = prepared.url.clone();
        let mut headers = prepared.headers.clone();
        let mut cookies = prepared.cookies.clone();
        let authorization = self
            .add_credentials(cx, alternative, timeout, &mut url, &mut headers, &mut cookies)
            .await?;

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
                detail: format!(
                    "the request hook refused it: {}",
                    self.redactor.redact(&why.to_string())
                ),
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
