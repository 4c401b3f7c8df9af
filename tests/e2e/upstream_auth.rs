//! Every upstream credential kind the runtime sends, checked on the wire by
//! the recording upstream: apiKey in a header, the query and a cookie, HTTP
//! bearer and HTTP basic, and the first satisfiable security alternative.

use std::time::Duration;

use mcpgen_runtime::config::Config;
use mcpgen_runtime::spec::*;
use mcpgen_runtime::upstream::{Upstream, prepare};
use mcpgen_tests::Recorder;
use serde_json::Map;

static SCHEMES: &[SecuritySchemeSpec] = &[
    SecuritySchemeSpec {
        name: "header_key",
        env: "T_HEADER",
        kind: SchemeKind::ApiKey {
            location: ApiKeyLocation::Header,
            name: "X-Key",
        },
    },
    SecuritySchemeSpec {
        name: "query_key",
        env: "T_QUERY",
        kind: SchemeKind::ApiKey {
            location: ApiKeyLocation::Query,
            name: "api_key",
        },
    },
    SecuritySchemeSpec {
        name: "cookie_key",
        env: "T_COOKIE",
        kind: SchemeKind::ApiKey {
            location: ApiKeyLocation::Cookie,
            name: "sid",
        },
    },
    SecuritySchemeSpec {
        name: "bearer",
        env: "T_BEARER",
        kind: SchemeKind::Bearer,
    },
    SecuritySchemeSpec {
        name: "basic",
        env: "T_BASIC",
        kind: SchemeKind::Basic,
    },
];

static SERVER: ServerSpec = ServerSpec {
    name: "auth-test",
    version: "0",
    title: None,
    instructions: None,
    base_url: BaseUrlSpec {
        env: "T_URL",
        default: None,
        variables: &[],
    },
    timeout_ms: 5000,
    inbound_token_env: "T_TOKENS",
    security_schemes: SCHEMES,
    tools: &[],
};

fn recipe(security: &'static [&'static [&'static str]]) -> RequestSpec {
    RequestSpec {
        method: Method::Get,
        path: "/things",
        params: &[],
        body: None,
        security,
    }
}

#[tokio::test]
async fn every_credential_kind_reaches_the_upstream() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let env = |name: &str| {
        Some(match name {
            "T_URL" => upstream.base_url.clone(),
            "T_HEADER" => "hk-1".into(),
            "T_QUERY" => "qk 2&x".into(),
            "T_COOKIE" => "ck;3".into(),
            "T_BEARER" => "bt-4".into(),
            "T_BASIC" => "alice:s3cret".into(),
            _ => return None,
        })
    };
    let config = Config::from_lookup(&SERVER, env).map_err(|e| anyhow::anyhow!("{e}"))?;
    let base = config.base_url.clone();
    let client = Upstream::new(&SERVER, config, Duration::from_secs(5)).map_err(anyhow::Error::msg)?;

    static ALL_KEYS: &[&[&str]] = &[&["header_key", "query_key", "cookie_key"]];
    static BEARER: &[&[&str]] = &[&["bearer"]];
    static BASIC: &[&[&str]] = &[&["basic"]];
    static UNBOUND_FIRST: &[&[&str]] = &[&["missing_scheme"], &["bearer"]];
    for security in [ALL_KEYS, BEARER, BASIC, UNBOUND_FIRST] {
        let recipe = recipe(security);
        let prepared = prepare(&recipe, &Map::new(), &base).map_err(|e| anyhow::anyhow!(e.0))?;
        let response = client
            .send(&recipe, prepared)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        assert_eq!(response.status.as_u16(), 200);
    }

    let seen = upstream.requests();
    assert_eq!(seen[0].uri, "/things?api_key=qk%202%26x");
    assert_eq!(seen[0].headers["x-key"], "hk-1");
    assert_eq!(seen[0].headers["cookie"], "sid=ck%3B3");
    assert!(seen[0].headers.get("authorization").is_none());
    assert_eq!(seen[1].headers["authorization"], "Bearer bt-4");
    // base64("alice:s3cret")
    assert_eq!(seen[2].headers["authorization"], "Basic YWxpY2U6czNjcmV0");
    // The first alternative needs a scheme without credentials: the second is used.
    assert_eq!(seen[3].headers["authorization"], "Bearer bt-4");
    Ok(())
}
