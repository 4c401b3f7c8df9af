//! The resource server at the HTTP edge: a request's bearer token becomes a
//! verified caller or a 401/403 whose `WWW-Authenticate` points the client to
//! the Protected Resource Metadata (RFC 9728), which names the issuer.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use url::Url;

use super::{Access, OAuthError, OAuthOptions, Refusal, ScopePolicy, Verifier};

/// The resource server as the HTTP transport uses it: the verifier, the
/// scope policy, and the answers that point clients to the issuer.
pub struct ResourceServer {
    pub verifier: Verifier,
    pub policy: Arc<ScopePolicy>,
    /// `scheme://host[:port]` of the audience: where clients reach this server.
    origin: String,
    pub(super) metadata: String,
}

impl std::fmt::Debug for ResourceServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let options = self.verifier.options();
        f.debug_struct("ResourceServer")
            .field("issuer", &options.issuer)
            .field("audience", &options.audience)
            .finish_non_exhaustive()
    }
}

/// The Protected Resource Metadata path, which clients derive from the MCP URL.
pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

impl ResourceServer {
    pub fn new(options: OAuthOptions, server_name: &str) -> Result<ResourceServer, OAuthError> {
        let audience = Url::parse(&options.audience).map_err(|_| OAuthError::Audience(options.audience.clone()))?;
        if !matches!(audience.scheme(), "https" | "http") || audience.fragment().is_some() {
            return Err(OAuthError::Audience(options.audience.clone()));
        }
        Url::parse(&options.issuer).map_err(|_| OAuthError::IssuerUrl(options.issuer.clone()))?;
        let origin = audience.origin().ascii_serialization();
        let policy = Arc::new(options.scopes.clone());
        let mut scopes: BTreeSet<&str> = policy.all();
        scopes.extend(options.required_scopes.iter().map(String::as_str));
        let metadata = serde_json::json!({
            "resource": options.audience,
            "authorization_servers": [options.issuer],
            "scopes_supported": scopes,
            "bearer_methods_supported": ["header"],
            "resource_name": server_name,
        })
        .to_string();
        Ok(ResourceServer {
            verifier: Verifier::new(options)?,
            policy,
            origin,
            metadata,
        })
    }

    /// `scheme://host[:port]` of the audience: where people reach this server.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The metadata URL for a request to `path` (RFC 9728: the well-known
    /// prefix before the resource's path), at the audience's origin.
    pub fn metadata_url(&self, path: &str) -> String {
        format!("{}{METADATA_PATH}{}", self.origin, path.trim_end_matches('/'))
    }

    /// `GET /.well-known/oauth-protected-resource[/…]`.
    pub fn metadata_response(&self) -> Response {
        (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "max-age=3600"),
            ],
            self.metadata.clone(),
        )
            .into_response()
    }

    /// The verified caller of a request, or the answer refusing it.
    pub async fn authenticate(&self, presented: Option<&str>, path: &str) -> Result<Access, Response> {
        // What a client should ask for to start (MCP's scope selection takes
        // the 401's `scope` first): the required scopes and the read scope.
        // More comes by step-up, when a call answers 403 insufficient_scope.
        let options = self.verifier.options();
        let starting: Vec<&str> = options
            .required_scopes
            .iter()
            .chain(&options.scopes.read)
            .map(String::as_str)
            .collect();
        let starting = (!starting.is_empty()).then(|| starting.join(" "));
        let Some(token) = presented else {
            return Err(self.challenge(
                StatusCode::UNAUTHORIZED,
                path,
                None,
                starting.as_deref(),
                "unauthorized: this server takes OAuth access tokens; its authorization server is named in the \
                 protected resource metadata",
            ));
        };
        let grant = match self.verifier.verify(token).await {
            Ok(grant) => grant,
            Err(Refusal::Invalid(why)) => {
                tracing::info!(reason = %why, "refused an access token");
                let error = Some(("invalid_token", why.as_str()));
                return Err(self.challenge(StatusCode::UNAUTHORIZED, path, error, starting.as_deref(), &why));
            }
            Err(Refusal::Unavailable(why)) => {
                tracing::debug!("could not verify an access token: {why}");
                // While the issuer is backed off from, as long as that lasts.
                let retry = self
                    .verifier
                    .outage()
                    .map_or(5, |(_, left)| left.as_secs().clamp(1, 60));
                return Err((
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, retry.to_string())],
                    format!("the authorization server could not be reached to verify the token; retry in {retry} s\n"),
                )
                    .into_response());
            }
        };
        let required = &self.verifier.options().required_scopes;
        if required.iter().any(|s| !grant.scopes.contains(s)) {
            return Err(self.insufficient_scope(path, &required.join(" ")));
        }
        Ok(Access {
            grant,
            issuer: Arc::from(self.verifier.options().issuer.as_str()),
            policy: self.policy.clone(),
        })
    }

    /// 403 for a request that needs `scope` beyond the token's: the
    /// challenge names every scope the request needs, so a client can ask
    /// for them (step-up authorization).
    pub fn insufficient_scope(&self, path: &str, scope: &str) -> Response {
        let why = format!("this request needs the scope `{scope}`, which the token does not have");
        let mut needed: Vec<&str> = scope.split(' ').collect();
        needed.extend(self.verifier.options().required_scopes.iter().map(String::as_str));
        needed.sort_unstable();
        needed.dedup();
        let error = ("insufficient_scope", why.as_str());
        self.challenge(StatusCode::FORBIDDEN, path, Some(error), Some(&needed.join(" ")), &why)
    }

    fn challenge(
        &self,
        status: StatusCode,
        path: &str,
        error: Option<(&str, &str)>,
        scope: Option<&str>,
        body: &str,
    ) -> Response {
        let quoted = |text: &str| -> String {
            text.chars()
                .filter(|c| c.is_ascii() && !c.is_ascii_control() && *c != '"' && *c != '\\')
                .collect()
        };
        let mut value = format!(r#"Bearer resource_metadata="{}""#, quoted(&self.metadata_url(path)));
        if let Some((code, description)) = error {
            value.push_str(&format!(
                r#", error="{code}", error_description="{}""#,
                quoted(description)
            ));
        }
        if let Some(scope) = scope {
            value.push_str(&format!(r#", scope="{}""#, quoted(scope)));
        }
        let mut response = (status, format!("{body}\n")).into_response();
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}
