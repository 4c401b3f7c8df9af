//! The environment a generated server reads: its base URL, each security
//! scheme's credentials, server variables, with what the README says of each.

use super::*;
use crate::ir::{ApiKeyLocation, SecurityScheme};
use crate::select::Binding;

// Long by design: every env var the server reads, in the order its README lists them (base URL, credentials,
// server variables, inbound tokens or OAuth), then the descriptions mcpgen.yaml gives.
pub(super) fn env_vars(selection: &Selection, schemes: &[SchemePlan]) -> Vec<EnvVarPlan> {
    let base = EnvVarPlan {
        name: selection.base_url_env.clone(),
        required: selection.base_url_default.is_none(),
        secret: false,
        description: match (&selection.base_url_default, &selection.base_url_relative) {
            (Some(default), _) => format!("Base URL of the API (default: `{default}`)"),
            (None, Some(relative)) => format!(
                "URL of the API's host, e.g. `https://api.example.com`; the spec's server path `{relative}` is resolved against it"
            ),
            (None, None) => "Base URL of the API, e.g. `https://api.example.com/v1`".to_string(),
        },
        placeholder: selection
            .base_url_default
            .clone()
            .unwrap_or_else(|| "https://api.example.com".to_string()),
        default: selection.base_url_default.clone(),
    };
    let secrets = schemes.iter().flat_map(|s| {
        let exchanged = selection.auth.get(&s.name).and_then(|b| b.token_exchange.as_ref());
        let credential = EnvVarPlan {
            name: s.env.clone(),
            // Stdio and callers without OAuth still use it.
            required: true,
            secret: true,
            description: match exchanged {
                None if s.per_user => format!(
                    "{} (security scheme `{}`) for stdio and callers without OAuth; over HTTP with OAuth each person \
                     connects their own (see \"Each person's own credentials\")",
                    s.describe, s.name
                ),
                None => format!("{} (security scheme `{}`)", s.describe, s.name),
                Some((audience, _)) => format!(
                    "{} (security scheme `{}`) for callers without OAuth; over HTTP with OAuth each caller's own token \
                     is exchanged for one for `{audience}` instead",
                    s.describe, s.name
                ),
            },
            placeholder: "…".to_string(),
            default: None,
        };
        let client_secret = match &s.kind {
            SchemeKind::OAuth2ClientCredentials { secret_env, .. } => Some(secret_env),
            _ => None,
        };
        let client_secret = client_secret.map(|env| EnvVarPlan {
            name: env.clone(),
            required: true,
            secret: true,
            description: format!("OAuth2 client secret (security scheme `{}`)", s.name),
            placeholder: "…".to_string(),
            default: None,
        });
        std::iter::once(credential).chain(client_secret)
    });
    let tokens = EnvVarPlan {
        name: selection.inbound_token_env.clone(),
        required: false,
        secret: true,
        description:
            "HTTP mode: bearer tokens accepted from MCP clients, comma-separated (required to listen beyond loopback)"
                .to_string(),
        placeholder: "…".to_string(),
        default: None,
    };
    let variables = selection
        .server_variables
        .iter()
        .map(|(name, env, default, secret)| EnvVarPlan {
            name: env.clone(),
            required: default.is_none(),
            secret: *secret,
            description: match default {
                Some(default) => format!(
                    "Fills `{{{name}}}` in the API's URL when {} is unset (default: `{default}`)",
                    selection.base_url_env
                ),
                None => format!(
                    "Fills `{{{name}}}` in the API's URL when {} is unset",
                    selection.base_url_env
                ),
            },
            placeholder: default.clone().unwrap_or_else(|| "…".to_string()),
            default: default.clone(),
        });
    // With OAuth the static tokens are not accepted; the issuer and this
    // server's own client (for introspection and token exchange) are set instead.
    let exchanges = selection.auth.values().any(|b| b.token_exchange.is_some());
    let oauth = selection.oauth.iter().flat_map(|oauth| {
        // HTTP only, so never required (the server checks what its mode needs).
        let var = |name: &str, secret: bool, description: &str, default: Option<&str>| EnvVarPlan {
            name: name.to_string(),
            required: false,
            secret,
            description: description.to_string(),
            placeholder: default.unwrap_or("…").to_string(),
            default: default.map(String::from),
        };
        let client = "this server's own client at the issuer, which exchanges callers' tokens for the API's (RFC 8693)";
        let mut vars = vec![
            var(
                "MCP_OAUTH_ISSUER",
                false,
                "HTTP mode: the authorization server whose access tokens are accepted",
                Some(&oauth.issuer),
            ),
            var(
                "MCP_OAUTH_AUDIENCE",
                false,
                "HTTP mode: this server's public MCP URL, the audience its tokens must be for",
                Some(&oauth.audience),
            ),
        ];
        // Introspection needs the client too, but is optional: the README says how.
        if exchanges {
            vars.push(var(
                "MCP_OAUTH_CLIENT_ID",
                false,
                &format!("HTTP mode: the id of {client}"),
                None,
            ));
            vars.push(var(
                "MCP_OAUTH_CLIENT_SECRET",
                true,
                &format!("HTTP mode: the secret of {client}"),
                None,
            ));
        }
        vars
    });
    let tokens = selection.oauth.is_none().then_some(tokens);
    let mut all: Vec<EnvVarPlan> = std::iter::once(base)
        .chain(variables)
        .chain(secrets)
        .chain(tokens)
        .chain(oauth)
        .collect();
    // Descriptions from `env:` in mcpgen.yaml replace the generated ones.
    for var in &mut all {
        if let Some(text) = selection.env_descriptions.get(&var.name) {
            var.description = text.clone();
        }
    }
    all
}

pub(super) fn scheme_plan(name: &str, binding: &Binding) -> SchemePlan {
    let (kind, describe) = match &binding.scheme {
        SecurityScheme::ApiKey { location, name: key } => {
            let place = match location {
                ApiKeyLocation::Header => "header",
                ApiKeyLocation::Query => "query parameter",
                ApiKeyLocation::Cookie => "cookie",
                ApiKeyLocation::Body => "request body field",
            };
            (
                SchemeKind::ApiKey {
                    location: *location,
                    name: key.clone(),
                },
                format!("API key, sent in {place} `{key}`"),
            )
        }
        SecurityScheme::Bearer => (
            SchemeKind::Bearer,
            "Bearer token, sent as `Authorization: Bearer …`".to_string(),
        ),
        SecurityScheme::Basic => (SchemeKind::Basic, "`user:password` for HTTP basic auth".to_string()),
        // `select` binds a token URL exactly when there is a client secret.
        SecurityScheme::OAuth2 { .. } => match (&binding.token_url, &binding.client_secret_env) {
            (Some(token_url), Some(secret_env)) => (
                SchemeKind::OAuth2ClientCredentials {
                    token_url: token_url.clone(),
                    scopes: binding.scopes.join(" "),
                    secret_env: secret_env.clone(),
                },
                "OAuth2 client id (client credentials grant)".to_string(),
            ),
            _ => (
                SchemeKind::Bearer,
                "OAuth2 access token, sent as `Authorization: Bearer …`".to_string(),
            ),
        },
        SecurityScheme::Unsupported(what) => unreachable!("select rejects unsupported scheme {what}"),
    };
    let token_exchange = match &binding.token_exchange {
        Some((audience, scopes)) => format!(
            "Some(TokenExchangeSpec {{ audience: {audience:?}, scopes: {:?} }})",
            scopes.join(" ")
        ),
        None => "None".to_string(),
    };
    SchemePlan {
        name: name.to_string(),
        env: binding.env.clone(),
        kind,
        describe,
        token_exchange,
        per_user: binding.per_user,
    }
}
