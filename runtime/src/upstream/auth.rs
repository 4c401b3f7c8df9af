//! Upstream credentials: each security scheme's secret added to a request,
//! and OAuth2 client-credentials tokens fetched, cached and refreshed.
//!
//! Invariants: credential values are sensitive header values (never shown by
//! `Debug`); a token's lifetime from the network is bounded before any clock
//! arithmetic; token endpoint errors are redacted before they leave.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderName, HeaderValue};
use serde_json::{Map, Value};
use url::Url;

use super::{ErrorKind, Upstream, UpstreamError, classify};
use crate::context::CallContext;
use crate::identity::oauth::{Grant, ResourceServer};
use crate::spec::{ApiKeyLocation, BodyShape, RequestSpec, SchemeKind, SecuritySchemeSpec, TokenExchangeSpec};
use crate::style;

/// An OAuth2 token is refreshed this long before it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(30);

/// A cached OAuth2 access token.
pub(super) struct Token {
    value: String,
    /// When to fetch a new one (None: the server gave no lifetime).
    refresh_at: Option<Instant>,
}

/// Exchanged tokens held at once (one per scheme and caller); past it,
/// expired ones go first.
const MAX_EXCHANGED: usize = 10_000;

/// Whose exchanged token: (scheme, subject, client id).
pub(super) type ExchangeKey = (&'static str, String, Option<String>);

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

impl Upstream {
    /// Add the credentials of the security `alternative`: API keys to the
    /// query (`url`), `headers` or `cookies`; returns the `Authorization`
    /// value (bearer, basic, or an OAuth2 token fetched now or cached).
    /// Every value is marked sensitive, so it never shows in a `Debug`.
    pub(super) async fn add_credentials(
        &self,
        cx: &CallContext,
        alternative: &[&str],
        timeout: Duration,
        url: &mut Url,
        headers: &mut Vec<(HeaderName, HeaderValue)>,
        cookies: &mut Vec<String>,
    ) -> Result<Option<HeaderValue>, UpstreamError> {
        let fail = |detail: String| UpstreamError {
            kind: ErrorKind::Other,
            detail,
            attempts: 0,
        };
        let mut authorization: Option<HeaderValue> = None;
        let (caller, deadline) = (cx.caller.access(), cx.deadline);
        for name in alternative {
            let Some(scheme) = self.schemes.iter().find(|s| s.name == *name) else {
                continue;
            };
            let sensitive = |text: String| {
                let mut value = HeaderValue::from_str(&text)
                    .map_err(|_| fail(format!("the credential in {} is not a valid header value", scheme.env)))?;
                value.set_sensitive(true);
                Ok::<_, UpstreamError>(value)
            };
            // Per-user: the caller's own token, exchanged for one for the API.
            if let (Some(exchange), Some(caller), Some(oauth)) = (scheme.token_exchange, caller, &self.exchanger) {
                let token = self
                    .exchanged_token(scheme.name, exchange, &caller.grant, oauth)
                    .await?;
                authorization = Some(sensitive(format!("Bearer {token}"))?);
                continue;
            }
            let Some(secret) = self.credential(cx, scheme) else {
                continue;
            };
            if scheme.per_user {
                // Masked wherever text leaves, like a token from the network.
                self.redactor.learn(secret.expose());
            }
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
                // Filled into the arguments before the body is made (`body_credentials`).
                SchemeKind::ApiKey {
                    location: ApiKeyLocation::Body,
                    ..
                } => {}
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
        Ok(authorization)
    }

    /// The arguments with the body fields that carry a credential of the
    /// alternative `send` will use filled in (`None`: the recipe has none).
    /// Only for making the body: the arguments a result echoes (a page's
    /// `next`) never hold the credential.
    pub fn body_credentials(
        &self,
        cx: &CallContext,
        recipe: &RequestSpec,
        args: &Map<String, Value>,
    ) -> Option<Map<String, Value>> {
        let BodyShape::Fields(fields) = &recipe.body.as_ref()?.shape else {
            return None;
        };
        let mut filled: Option<Map<String, Value>> = None;
        for name in self.alternative(cx, recipe) {
            let Some(scheme) = self.schemes.iter().find(|s| s.name == *name) else {
                continue;
            };
            let (
                SchemeKind::ApiKey {
                    location: ApiKeyLocation::Body,
                    name: field,
                },
                Some(secret),
            ) = (scheme.kind, self.credential(cx, scheme))
            else {
                continue;
            };
            if let Some(f) = fields.iter().find(|f| f.name == field) {
                filled
                    .get_or_insert_with(|| args.clone())
                    .insert(f.arg.to_string(), Value::String(secret.expose().to_string()));
            }
        }
        filled
    }

    /// The caller's token exchanged for one for the API: cached per scheme,
    /// subject and client until shortly before it expires, or exchanged now.
    async fn exchanged_token(
        &self,
        scheme: &'static str,
        exchange: TokenExchangeSpec,
        grant: &Grant,
        oauth: &ResourceServer,
    ) -> Result<String, UpstreamError> {
        let key = (scheme, grant.subject.clone(), grant.client_id.clone());
        let slot = {
            let mut slots = self.exchanged.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if slots.len() >= MAX_EXCHANGED && !slots.contains_key(&key) {
                // Slots nobody holds whose token is gone first; then all idle ones.
                let now = Instant::now();
                slots.retain(|_, slot| {
                    Arc::strong_count(slot) > 1
                        || slot
                            .try_lock()
                            .is_ok_and(|t| t.as_ref().is_some_and(|t| t.refresh_at.is_some_and(|at| now < at)))
                });
                if slots.len() >= MAX_EXCHANGED {
                    slots.retain(|_, slot| Arc::strong_count(slot) > 1);
                }
            }
            slots.entry(key).or_default().clone()
        };
        let mut slot = slot.lock().await;
        if let Some(token) = slot.as_ref()
            && token.refresh_at.is_none_or(|at| Instant::now() < at)
        {
            return Ok(token.value.clone());
        }
        let (value, lifetime) = oauth
            .verifier
            .exchange(grant, exchange.audience, exchange.scopes)
            .await
            .map_err(|refused| UpstreamError {
                kind: ErrorKind::Auth,
                detail: self.redactor.redact(&refused.to_string()),
                attempts: 0,
            })?;
        self.redactor.learn(&value);
        // Without a lifetime, a minute: the caller's own token may be revoked.
        *slot = Some(Token {
            value: value.clone(),
            refresh_at: Some(Instant::now() + refresh_after(lifetime.unwrap_or(60))),
        });
        Ok(value)
    }

    /// A valid access token for an OAuth2 scheme: cached, or fetched now.
    // Long by design: the OAuth2 client-credentials exchange in order: cached token, request, every refusal
    // the token endpoint can give, the bounded lifetime.
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
        let body = style::form(&form);
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
