//! The edge of every request: its bearer token (static, or OAuth) becomes a
//! `Caller`, scrapers' own token opens `/metrics`, and requests without a
//! recently verified token are limited per client address.

use super::*;

pub(super) struct Guard {
    pub(super) tokens: Vec<Secret>,
    /// The caller each token (by index) is.
    pub(super) callers: Vec<Caller>,
    pub(super) oauth: Option<Arc<ResourceServer>>,
    pub(super) metrics_token: Option<Secret>,
    /// Requests that cost a verification or fail it, per client address.
    pub(super) unverified: Option<RateLimit>,
    pub(super) client_ip_header: Option<axum::http::HeaderName>,
}

impl Guard {
    /// The index of the presented token, compared in constant time against
    /// every configured token so timing doesn't reveal which one nearly matched.
    pub(super) fn token_index(&self, presented: &str) -> Option<usize> {
        let mut found = None;
        for (i, token) in self.tokens.iter().enumerate() {
            if bool::from(token.expose().as_bytes().ct_eq(presented.as_bytes())) {
                found = Some(i);
            }
        }
        found
    }

    /// Where a request comes from: the last address a trusted proxy put in
    /// `client_ip_header`, else the connection's peer.
    fn client_address(&self, headers: &axum::http::HeaderMap, peer: SocketAddr) -> IpAddr {
        self.client_ip_header
            .as_ref()
            .and_then(|name| headers.get_all(name).iter().next_back())
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.rsplit(',').next())
            .and_then(|last| last.trim().parse::<IpAddr>().ok())
            .unwrap_or(peer.ip())
    }

    /// 429 when the client address has used its budget of requests without
    /// a token verified within the last minute: junk can't make the server
    /// hammer its issuer, and callers whose tokens verified go on.
    async fn over_budget(&self, headers: &axum::http::HeaderMap, peer: SocketAddr) -> Option<Response> {
        let limit = self.unverified.as_ref()?;
        let client = self.client_address(headers, peer);
        let wait = limit.check(&format!("unverified:{client}")).await.err()?;
        let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        let text = format!(
            "too many requests without a valid token from {client}; retry in {seconds} s (requests with a \
             token this server verified within the last minute are not limited)\n"
        );
        Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, seconds.to_string())],
                text,
            )
                .into_response(),
        )
    }
}

/// The connect page's requests, which cost the issuer a sign-in and carry no
/// token, count against the same per-address budget as unverified ones.
pub(super) async fn limit_unverified(
    State(guard): State<Arc<Guard>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    match guard.over_budget(request.headers(), peer).await {
        Some(refused) => refused,
        None => next.run(request).await,
    }
}

/// Auth, then strip the token (so it can never reach the upstream or a log),
/// noting the caller for the rate limit; everything else is rmcp's.
pub(super) async fn guard(
    State(guard): State<Arc<Guard>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    // Scrapers' own credential opens /metrics, and nothing else.
    if request.uri().path() == "/metrics"
        && let (Some(metrics), Some(presented)) = (&guard.metrics_token, presented)
        && bool::from(metrics.expose().as_bytes().ct_eq(presented.as_bytes()))
    {
        request.headers_mut().remove(header::AUTHORIZATION);
        return next.run(request).await;
    }
    let caller = if let Some(oauth) = &guard.oauth {
        // A token verified within the last minute costs nobody a request;
        // anything else counts against its address first.
        let verified = presented
            .and_then(|t| oauth.verifier.known(t))
            .is_some_and(|known| known.is_ok());
        if !verified && let Some(refused) = guard.over_budget(request.headers(), peer).await {
            return refused;
        }
        match oauth.authenticate(presented, request.uri().path()).await {
            Ok(access) => Caller::oauth(access),
            Err(refused) => return refused,
        }
    } else if guard.tokens.is_empty() {
        Caller::address(peer.ip())
    } else {
        match presented.and_then(|t| guard.token_index(t)) {
            Some(i) => guard.callers[i].clone(),
            None => {
                return guard
                    .over_budget(request.headers(), peer)
                    .await
                    .unwrap_or_else(unauthorized);
            }
        }
    };
    request.headers_mut().remove(header::AUTHORIZATION);
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// Static tokens: the 401 says what is wrong in words a user reads (clients
/// show the body), and no OAuth metadata is offered, so clients don't start
/// an OAuth flow the server can't finish.
pub(super) fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Bearer realm="mcp", error="invalid_token""#),
        )],
        "unauthorized: the bearer token is missing or is not one of this server's tokens \
         (send `Authorization: Bearer <token>`)\n",
    )
        .into_response()
}
