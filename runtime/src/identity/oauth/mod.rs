//! Inbound OAuth 2.1 over HTTP: the server as a resource server, as the MCP
//! authorization spec has it.
//!
//! A request's bearer token becomes a [`Grant`] (who calls, with which
//! scopes) here: a JWT is verified locally against the issuer's keys, an
//! opaque token by the issuer (RFC 7662 introspection); either is taken on
//! trust again for a minute at most, never past its expiry. The
//! issuer's endpoints come from its metadata (RFC 8414, or OpenID Connect
//! discovery), fetched once; its keys are cached, refetched when a token names
//! a key the cache lacks (at most once per `jwks_min_refresh`: a flood of
//! made-up key ids can't make the server hammer the issuer) and when an hour
//! old. Tokens must be bound to this server (`aud`, RFC 8707), signed with an
//! asymmetric algorithm its key was made for (no `none`, no HMAC), and within
//! their lifetime (with `leeway`).
//!
//! What a caller may use follows from its scopes ([`ScopePolicy`]): tools
//! need the read or write scope by their annotations, or their own. Clients
//! find the issuer through Protected Resource Metadata (RFC 9728), named in
//! every 401's `WWW-Authenticate`. The inbound token is never sent upstream
//! (`http` strips it) and never logged.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::header;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use crate::config::Secret;

/// The signature algorithms accepted: asymmetric only. `none` isn't an
/// algorithm to the JWT library at all; HMAC would let anyone holding the
/// issuer's public key sign tokens.
const ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Keys older than this are refetched on the next token.
const KEYS_MAX_AGE: Duration = Duration::from_secs(3600);
/// When that refetch fails, the old keys serve this long before the next try.
const KEYS_RETRY: Duration = Duration::from_secs(60);
/// The longest a verified token is taken on trust again (a JWT's signature
/// is ~0.1 ms of CPU; an introspection, a round trip to the issuer).
const VERIFIED_FOR: Duration = Duration::from_secs(60);
/// Verified tokens held at once; past it, expired ones are dropped first.
const VERIFIED_ENTRIES: usize = 10_000;
/// The issuer's documents (metadata, keys, introspection answers) are small.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
const ISSUER_TIMEOUT: Duration = Duration::from_secs(10);
/// An issuer that doesn't accept a connection within this is down.
const ISSUER_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// After the issuer failed to answer, requests that need it are answered 503
/// at once for this long, doubling with each failure (with jitter) up to the last.
const ISSUER_BACKOFF: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));
/// How long a refused token is refused again without asking the issuer.
const REFUSED_FOR: Duration = Duration::from_secs(30);
/// The longest bearer token considered: issuers' JWTs run to a few KB.
const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// What the operator configured (mcpgen.yaml's `http.oauth`, then flags and env).
#[derive(Debug, Clone)]
pub struct OAuthOptions {
    /// The authorization server, as its tokens' `iss` says it.
    pub issuer: String,
    /// This server's canonical URL (its `/mcp`): the audience tokens must carry.
    pub audience: String,
    /// Scopes every request needs.
    pub required_scopes: Vec<String>,
    pub scopes: ScopePolicy,
    /// The issuer's key set, when not the one its metadata names.
    pub jwks_uri: Option<String>,
    /// Where opaque tokens are introspected, when not the metadata's endpoint.
    pub introspection_uri: Option<String>,
    /// This server's own client at the issuer (introspection, token exchange).
    pub client: Option<(String, Secret)>,
    /// Tolerated clock difference for `exp` and `nbf`.
    pub leeway: Duration,
    /// The least time between two key refetches caused by unknown key ids.
    pub jwks_min_refresh: Duration,
}

/// Which scope each tool needs: its own, else the read scope for read-only
/// tools and the write scope for the others; `None` needs none.
#[derive(Debug, Clone, Default)]
pub struct ScopePolicy {
    pub read: Option<String>,
    pub write: Option<String>,
    pub tools: BTreeMap<String, String>,
}

impl ScopePolicy {
    pub fn needed(&self, tool: &str, read_only: bool) -> Option<&str> {
        self.tools
            .get(tool)
            .or(if read_only {
                self.read.as_ref()
            } else {
                self.write.as_ref()
            })
            .map(String::as_str)
    }

    /// Every scope some tool needs.
    pub fn all(&self) -> BTreeSet<&str> {
        self.read
            .iter()
            .chain(&self.write)
            .chain(self.tools.values())
            .map(String::as_str)
            .collect()
    }
}

/// A verified caller: who, through which client, with which scopes.
#[derive(Debug, Clone)]
pub struct Grant {
    pub subject: String,
    pub client_id: Option<String>,
    pub scopes: BTreeSet<String>,
    /// The token itself, for exchanging it at the issuer (never forwarded).
    pub token: Secret,
    /// Seconds since the epoch.
    pub expires_at: Option<u64>,
}

/// A caller's grant with the policy it is judged by: what the HTTP guard
/// hands the server (a request extension).
#[derive(Debug)]
pub struct Access {
    pub grant: Grant,
    /// The issuer that vouched for the grant.
    pub issuer: Arc<str>,
    pub policy: Arc<ScopePolicy>,
}

impl Access {
    /// Whether the grant holds the scope this tool needs.
    pub fn allows(&self, tool: &str, read_only: bool) -> bool {
        self.policy
            .needed(tool, read_only)
            .is_none_or(|scope| self.grant.scopes.contains(scope))
    }

    /// The policy's scopes the grant holds: equal keys, equal tools.
    pub fn key(&self) -> String {
        let held: Vec<&str> = self
            .policy
            .all()
            .into_iter()
            .filter(|s| self.grant.scopes.contains(*s))
            .collect();
        held.join(" ")
    }
}

/// Why OAuth could not be set up, or a token not exchanged (never holds a token).
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("could not set up the HTTP client for the issuer: {0}")]
    Client(reqwest::Error),
    #[error(
        "the OAuth audience `{0}` is not an http(s) URL without a fragment: set it to this server's public MCP URL, \
         e.g. https://mcp.example.com/mcp"
    )]
    Audience(String),
    #[error("the OAuth issuer `{0}` is not a URL")]
    IssuerUrl(String),
    #[error(
        "token exchange needs this server's own client at the issuer: set MCP_OAUTH_CLIENT_ID and \
         MCP_OAUTH_CLIENT_SECRET"
    )]
    NoClient,
    /// The issuer's metadata could not be read, or lacks what is needed.
    #[error("{0}")]
    Issuer(String),
    #[error("the token endpoint could not be reached: {0}")]
    Unreachable(reqwest::Error),
    #[error("the issuer refused to exchange the caller's token for one for {audience} (status {status}{reason})")]
    Refused {
        audience: String,
        status: u16,
        reason: String,
    },
}

/// Why a token was refused.
#[derive(Debug, PartialEq)]
pub enum Refusal {
    /// The token is bad: 401 `invalid_token` with this description.
    Invalid(String),
    /// The issuer could not be asked: 503, the client may retry.
    Unavailable(String),
}

#[derive(Debug, Clone, Deserialize)]
struct IssuerMetadata {
    issuer: String,
    jwks_uri: Option<String>,
    introspection_endpoint: Option<String>,
    token_endpoint: Option<String>,
    authorization_endpoint: Option<String>,
}

struct Keys {
    set: JwkSet,
    fetched: Instant,
}

/// The claims read from a verified JWT (the library checks `exp`, `nbf`, `iss` and `aud`).
#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    client_id: Option<String>,
    azp: Option<String>,
    /// RFC 9068: space-separated; some issuers send `scp` as a list instead.
    scope: Option<String>,
    scp: Option<Value>,
    exp: Option<u64>,
}

/// Verifies tokens for one issuer and audience.
pub struct Verifier {
    options: OAuthOptions,
    http: reqwest::Client,
    metadata: tokio::sync::OnceCell<IssuerMetadata>,
    keys: tokio::sync::RwLock<Option<Keys>>,
    /// `KEYS_MAX_AGE` (a field so tests can age keys at once).
    keys_max_age: Duration,
    /// Held while fetching keys, so concurrent misses fetch once.
    refreshing: tokio::sync::Mutex<()>,
    /// Grants of tokens verified within `VERIFIED_FOR`, by the token's SHA-256.
    verified: Mutex<HashMap<[u8; 32], (Grant, Instant)>>,
    /// Why tokens were refused within `REFUSED_FOR`, by the token's SHA-256:
    /// junk sent again costs the issuer nothing.
    refused: Mutex<HashMap<[u8; 32], (String, Instant)>>,
    /// The issuer not answering: until when requests needing it are refused at once.
    outage: Mutex<Option<Outage>>,
}

fn now_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn scopes_of(scope: Option<&str>, scp: Option<&Value>) -> BTreeSet<String> {
    let mut scopes: BTreeSet<String> = scope.unwrap_or("").split_whitespace().map(String::from).collect();
    match scp {
        Some(Value::String(s)) => scopes.extend(s.split_whitespace().map(String::from)),
        Some(Value::Array(items)) => scopes.extend(items.iter().filter_map(Value::as_str).map(String::from)),
        _ => {}
    }
    scopes
}

impl Verifier {
    pub fn new(options: OAuthOptions) -> Result<Verifier, OAuthError> {
        crate::tls::install_crypto_provider();
        // Ok, or another provider is installed (jsonwebtoken allows one per process).
        let _ = ring_crypto::PROVIDER.install_default();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(ISSUER_CONNECT_TIMEOUT)
            .timeout(ISSUER_TIMEOUT)
            .build()
            .map_err(|e| OAuthError::Client(e.without_url()))?;
        Ok(Verifier {
            options,
            http,
            metadata: tokio::sync::OnceCell::new(),
            keys: tokio::sync::RwLock::new(None),
            keys_max_age: KEYS_MAX_AGE,
            refreshing: tokio::sync::Mutex::new(()),
            verified: Mutex::new(HashMap::new()),
            refused: Mutex::new(HashMap::new()),
            outage: Mutex::new(None),
        })
    }

    pub fn options(&self) -> &OAuthOptions {
        &self.options
    }

    /// The caller a bearer token stands for: verified within the last
    /// minute (and not expired since), or now. A token refused within
    /// `REFUSED_FOR`, or that can't be a token, is refused without asking.
    pub async fn verify(&self, token: &str) -> Result<Grant, Refusal> {
        if let Some(known) = self.known(token) {
            return known;
        }
        plausible(token)?;
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        // Three dot-separated parts: a JWT, verified here; anything else is
        // opaque and only its issuer can say what it is.
        let verified = if token.split('.').count() == 3 {
            self.verify_jwt(token).await
        } else {
            self.introspect(token).await
        };
        match &verified {
            Ok(grant) => remember(&self.verified, key, grant.clone(), Instant::now() + VERIFIED_FOR),
            Err(Refusal::Invalid(why)) => remember(&self.refused, key, why.clone(), Instant::now() + REFUSED_FOR),
            Err(Refusal::Unavailable(_)) => {}
        }
        verified
    }

    /// What was found of `token` within the last minute, if anything: the
    /// answer costs nobody a request.
    pub fn known(&self, token: &str) -> Option<Result<Grant, Refusal>> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some((grant, until)) = self.lock_verified().get(&key)
            && Instant::now() < *until
            && grant
                .expires_at
                .is_none_or(|at| now_seconds() < at.saturating_add(self.options.leeway.as_secs()))
        {
            return Some(Ok(grant.clone()));
        }
        let refused = self.refused.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match refused.get(&key) {
            Some((why, until)) if Instant::now() < *until => Some(Err(Refusal::Invalid(why.clone()))),
            _ => None,
        }
    }

    fn lock_verified(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], (Grant, Instant)>> {
        self.verified.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn verify_jwt(&self, token: &str) -> Result<Grant, Refusal> {
        let invalid = |why: &str| Refusal::Invalid(why.to_string());
        let header = jsonwebtoken::decode_header(token).map_err(|_| {
            invalid(
                "the token is not a JWT this server accepts (its header is malformed, or its alg is none or unknown)",
            )
        })?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(Refusal::Invalid(format!(
                "tokens signed with {:?} are not accepted; use an asymmetric algorithm (RS256, ES256, EdDSA, …)",
                header.alg
            )));
        }
        let kid = header.kid.as_deref();
        let mut candidates = self.keys_for(kid, false).await?;
        if candidates.is_empty() && kid.is_some() {
            candidates = self.keys_for(kid, true).await?;
        }
        if candidates.is_empty() {
            return Err(invalid("the token's signing key (kid) is not among the issuer's keys"));
        }
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.set_issuer(&[&self.options.issuer]);
        validation.set_audience(&[&self.options.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = self.options.leeway.as_secs();
        let mut last = invalid("the token's signature does not verify with the issuer's keys");
        for jwk in &candidates {
            let Some(key) = decoding_key(jwk, header.alg) else {
                continue;
            };
            match jsonwebtoken::decode::<Claims>(token, &key, &validation) {
                Ok(data) => return self.grant_of(data.claims, token),
                Err(e) => {
                    last = Refusal::Invalid(self.reason(&e));
                    if !matches!(e.kind(), jsonwebtoken::errors::ErrorKind::InvalidSignature) {
                        break;
                    }
                }
            }
        }
        Err(last)
    }

    fn grant_of(&self, claims: Claims, token: &str) -> Result<Grant, Refusal> {
        let client_id = claims.client_id.or(claims.azp);
        let Some(subject) = claims.sub.or_else(|| client_id.clone()) else {
            return Err(Refusal::Invalid(
                "the token names no subject (sub) or client".to_string(),
            ));
        };
        Ok(Grant {
            subject,
            client_id,
            scopes: scopes_of(claims.scope.as_deref(), claims.scp.as_ref()),
            token: Secret::new(token.to_string()),
            expires_at: claims.exp,
        })
    }

    /// Why the library refused a token, in words for the client's user.
    fn reason(&self, e: &jsonwebtoken::errors::Error) -> String {
        use jsonwebtoken::errors::ErrorKind as K;
        match e.kind() {
            K::ExpiredSignature => "the token has expired".to_string(),
            K::ImmatureSignature => "the token is not valid yet (nbf)".to_string(),
            K::InvalidIssuer => format!("the token was not issued by {}", self.options.issuer),
            K::InvalidAudience => format!(
                "the token is for another resource; request one for {} (RFC 8707 resource indicator)",
                self.options.audience
            ),
            K::MissingRequiredClaim(claim) => format!("the token has no `{claim}` claim"),
            K::InvalidSignature => "the token's signature does not verify with the issuer's keys".to_string(),
            K::InvalidAlgorithm => "the token's algorithm does not match its key".to_string(),
            _ => "the token is malformed".to_string(),
        }
    }

    /// The cached keys that may have signed a token with this `kid` (all of
    /// them without one). `refetch`: fetch the set again first, unless that
    /// was done within `jwks_min_refresh`.
    async fn keys_for(&self, kid: Option<&str>, refetch: bool) -> Result<Vec<Jwk>, Refusal> {
        let matching = |keys: &Keys| -> Vec<Jwk> {
            keys.set
                .keys
                .iter()
                .filter(|k| kid.is_none() || k.common.key_id.as_deref() == kid)
                .cloned()
                .collect()
        };
        {
            let keys = self.keys.read().await;
            if let Some(keys) = keys.as_ref()
                && keys.fetched.elapsed() < self.keys_max_age
                && !refetch
            {
                return Ok(matching(keys));
            }
        }
        let _one_fetch = self.refreshing.lock().await;
        {
            // Another request may have fetched while this one waited.
            let keys = self.keys.read().await;
            if let Some(keys) = keys.as_ref()
                && (keys.fetched.elapsed() < self.options.jwks_min_refresh
                    || (!refetch && keys.fetched.elapsed() < self.keys_max_age))
            {
                return Ok(matching(keys));
            }
        }
        let set = match self.fetch_keys().await {
            Ok(set) => set,
            Err(refusal) => {
                // An hour-old set still verifies while the issuer is down:
                // keep it, and try again in a minute rather than on every request.
                let mut keys = self.keys.write().await;
                let Some(stale) = keys.as_mut().filter(|_| !refetch) else {
                    return Err(refusal);
                };
                let (Refusal::Unavailable(why) | Refusal::Invalid(why)) = &refusal;
                tracing::warn!("keeping the OAuth issuer's keys for now: {why}");
                stale.fetched = Instant::now()
                    .checked_sub(self.keys_max_age.saturating_sub(KEYS_RETRY))
                    .unwrap_or_else(Instant::now);
                return Ok(matching(stale));
            }
        };
        tracing::info!(keys = set.keys.len(), "fetched the OAuth issuer's keys");
        let fresh = Keys {
            set,
            fetched: Instant::now(),
        };
        let found = matching(&fresh);
        *self.keys.write().await = Some(fresh);
        Ok(found)
    }

    /// The issuer's key set, from its `jwks_uri`.
    async fn fetch_keys(&self) -> Result<JwkSet, Refusal> {
        let uri = match &self.options.jwks_uri {
            Some(uri) => uri.clone(),
            None => self.metadata().await?.jwks_uri.clone().ok_or_else(|| {
                Refusal::Unavailable(format!(
                    "the metadata of {} names no jwks_uri; set MCP_OAUTH_JWKS_URI",
                    self.options.issuer
                ))
            })?,
        };
        let document = self.fetch(self.http.get(&uri), "its keys (jwks_uri)").await?;
        serde_json::from_value(document)
            .map_err(|e| Refusal::Unavailable(format!("the issuer's key set at {uri} is malformed: {e}")))
    }

    /// The issuer's metadata, fetched on first use: RFC 8414's well-known
    /// location, then OpenID Connect's (appended, then inserted).
    async fn metadata(&self) -> Result<&IssuerMetadata, Refusal> {
        self.metadata
            .get_or_try_init(|| async {
                let issuer = Url::parse(&self.options.issuer).map_err(|e| {
                    Refusal::Unavailable(format!("the issuer `{}` is not a URL: {e}", self.options.issuer))
                })?;
                let path = issuer.path().trim_end_matches('/');
                let at = |well_known: &str| {
                    let mut url = issuer.clone();
                    url.set_path(&format!("/.well-known/{well_known}{path}"));
                    url
                };
                let appended = {
                    let mut url = issuer.clone();
                    url.set_path(&format!("{path}/.well-known/openid-configuration"));
                    url
                };
                let mut last = Refusal::Unavailable(format!("no metadata found for {}", self.options.issuer));
                for url in [at("oauth-authorization-server"), appended, at("openid-configuration")] {
                    match self.fetch(self.http.get(url.clone()), "its metadata").await {
                        Ok(document) => {
                            let metadata: IssuerMetadata = serde_json::from_value(document).map_err(|e| {
                                Refusal::Unavailable(format!("the issuer's metadata at {url} is malformed: {e}"))
                            })?;
                            // RFC 8414 3.3: metadata for another issuer is not this one's.
                            if metadata.issuer != self.options.issuer {
                                return Err(Refusal::Unavailable(format!(
                                    "the metadata at {url} is for issuer {}, not {}",
                                    metadata.issuer, self.options.issuer
                                )));
                            }
                            return Ok(metadata);
                        }
                        Err(refusal) => last = refusal,
                    }
                }
                Err(last)
            })
            .await
    }

    /// A JSON document from the issuer, its size bounded. While the issuer
    /// is found down (no connection, a timeout, a 5xx), fails at once.
    async fn fetch(&self, request: reqwest::RequestBuilder, what: &str) -> Result<Value, Refusal> {
        if let Some((why, left)) = self.outage()
            && !left.is_zero()
        {
            return Err(Refusal::Unavailable(format!(
                "the OAuth issuer {} is not answering ({why}); asked again in {} s",
                self.options.issuer,
                left.as_secs().max(1)
            )));
        }
        let unavailable = |detail: String| {
            Refusal::Unavailable(format!("could not get {what} from {}: {detail}", self.options.issuer))
        };
        let down = |detail: String| {
            self.issuer_failed(&detail);
            unavailable(detail)
        };
        let mut response = request
            .header(header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| down(e.without_url().to_string()))?;
        let status = response.status();
        if status.is_server_error() {
            return Err(down(format!("status {status}")));
        }
        self.issuer_answered();
        if !status.is_success() {
            return Err(unavailable(format!("status {status}")));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| down(e.without_url().to_string()))? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(unavailable(format!("the answer is over {MAX_DOCUMENT_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| unavailable(format!("the answer is not JSON ({e})")))
    }

    /// An opaque token, as the issuer's introspection endpoint describes it (RFC 7662).
    async fn introspect(&self, token: &str) -> Result<Grant, Refusal> {
        let Some((client_id, secret)) = &self.options.client else {
            return Err(Refusal::Invalid(
                "the token is not a JWT, and this server has no client to introspect opaque tokens with".to_string(),
            ));
        };
        let uri = match &self.options.introspection_uri {
            Some(uri) => uri.clone(),
            None => self.metadata().await?.introspection_endpoint.clone().ok_or_else(|| {
                Refusal::Unavailable(format!(
                    "the metadata of {} names no introspection_endpoint; set MCP_OAUTH_INTROSPECTION_URI",
                    self.options.issuer
                ))
            })?,
        };
        let request = self
            .http
            .post(&uri)
            .basic_auth(client_id, Some(secret.expose()))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(crate::style::form(&[
                ("token", token),
                ("token_type_hint", "access_token"),
            ]));
        let answer = self.fetch(request, "an introspection answer").await?;
        self.grant_of_introspection(&answer, token)
    }

    /// The same checks as a JWT's, on what introspection says.
    fn grant_of_introspection(&self, answer: &Value, token: &str) -> Result<Grant, Refusal> {
        let invalid = |why: String| Err(Refusal::Invalid(why));
        if answer.get("active").and_then(Value::as_bool) != Some(true) {
            return invalid("the issuer says the token is not active (revoked, expired or unknown)".to_string());
        }
        let text = |k: &str| answer.get(k).and_then(Value::as_str).map(String::from);
        if let Some(issuer) = text("iss")
            && issuer != self.options.issuer
        {
            return invalid(format!("the token was not issued by {}", self.options.issuer));
        }
        let audiences: Vec<&str> = match answer.get("aud") {
            Some(Value::String(one)) => vec![one.as_str()],
            Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !audiences.contains(&self.options.audience.as_str()) {
            return invalid(format!(
                "the token is for another resource; request one for {} (RFC 8707 resource indicator)",
                self.options.audience
            ));
        }
        let expires_at = answer.get("exp").and_then(Value::as_u64);
        if expires_at.is_some_and(|at| at.saturating_add(self.options.leeway.as_secs()) <= now_seconds()) {
            return invalid("the token has expired".to_string());
        }
        let client_id = text("client_id");
        let Some(subject) = text("sub").or_else(|| client_id.clone()) else {
            return invalid("the token names no subject (sub) or client".to_string());
        };
        Ok(Grant {
            subject,
            client_id,
            scopes: scopes_of(answer.get("scope").and_then(Value::as_str), None),
            token: Secret::new(token.to_string()),
            expires_at,
        })
    }

    /// RFC 8693: the caller's token exchanged at the issuer for one for
    /// `audience` (the upstream API), with this server's own client. Returns
    /// the token and its lifetime in seconds; errors never hold a token.
    pub async fn exchange(
        &self,
        grant: &Grant,
        audience: &str,
        scopes: &str,
    ) -> Result<(String, Option<u64>), OAuthError> {
        let mut pairs = vec![
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            ("subject_token", grant.token.expose()),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:access_token"),
            ("requested_token_type", "urn:ietf:params:oauth:token-type:access_token"),
            ("audience", audience),
        ];
        if !scopes.is_empty() {
            pairs.push(("scope", scopes));
        }
        let (status, answer) = self.token_request(&pairs).await?;
        let text = |k: &str| answer.get(k).and_then(Value::as_str);
        match text("access_token") {
            Some(token) if (200..300).contains(&status) => {
                let lifetime = answer
                    .get("expires_in")
                    .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()));
                Ok((token.to_string(), lifetime))
            }
            _ => {
                let reason: Vec<&str> = ["error", "error_description"].iter().filter_map(|k| text(k)).collect();
                let reason = if reason.is_empty() {
                    String::new()
                } else {
                    format!(": {}", reason.join(": "))
                };
                Err(OAuthError::Refused {
                    audience: audience.to_string(),
                    status,
                    reason,
                })
            }
        }
    }

    /// Fetch the metadata and keys now, so the first caller doesn't wait (and
    /// a wrong issuer shows in the log at start).
    pub async fn warm_up(&self) {
        if let Err(Refusal::Unavailable(why) | Refusal::Invalid(why)) = self.keys_for(None, false).await {
            tracing::warn!("OAuth issuer not reachable yet: {why}");
        }
    }
}

/// A verifying key for `alg` from a JWK: only asymmetric keys of the
/// algorithm's family, and of the algorithm the JWK names, if it names one.
fn decoding_key(jwk: &Jwk, alg: Algorithm) -> Option<DecodingKey> {
    if let Some(named) = jwk.common.key_algorithm
        && format!("{named:?}") != format!("{alg:?}")
    {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    let family = key.family();
    (family != jsonwebtoken::AlgorithmFamily::Hmac && family.algorithms().contains(&alg)).then_some(key)
}

/// jsonwebtoken's signature checks on ring, which rustls already links for
/// TLS (jsonwebtoken's RustCrypto backend added 1.4 MB to every server).
/// Verification only: this server never signs a token.
mod ring_crypto;

mod edge;
pub mod login;
use self::edge::{Outage, plausible, remember};
mod resource;
pub use resource::{METADATA_PATH, ResourceServer};

#[cfg(test)]
mod tests;
