//! `auth:` in mcpgen.yaml: each binding checked against the spec's security
//! schemes (it must exist and be one mcpgen can send; OAuth2 settings only
//! where they apply), and every selected operation checked to be callable
//! with what is bound.

use indexmap::IndexMap;

use super::config::SelectionFile;
use super::{Files, check_env_name, list_or_none};
use crate::diag::{Diagnostic, did_you_mean, escape_pointer};
use crate::ir::{Api, Operation, SecurityScheme};

/// A security scheme bound to env vars.
#[derive(Debug)]
pub struct Binding {
    pub env: String,
    pub scheme: SecurityScheme,
    /// OAuth2: the client secret's env var.
    pub client_secret_env: Option<String>,
    /// OAuth2: the scopes to request.
    pub scopes: Vec<String>,
    /// OAuth2: the token URL.
    pub token_url: Option<String>,
    /// Per-user tokens: (audience, scopes) to exchange callers' tokens for.
    pub token_exchange: Option<(String, Vec<String>)>,
}

/// The bindings of the schemes that exist and can be sent, in the spec's order.
// Long by design: each `auth:` binding checked against its scheme's kind, every mistake located and reported
// together.
pub(super) fn bind(
    api: &Api,
    file: &SelectionFile,
    files: &Files,
    diags: &mut Vec<Diagnostic>,
) -> IndexMap<String, Binding> {
    let cfg = files.config;
    let at = |line: u64, col: u64, message: String| Diagnostic::new(cfg, message).line_col(line, col);
    let mut auth = IndexMap::new();
    for (scheme_name, binding) in &file.auth {
        let (line, col) = (binding.referenced.line(), binding.referenced.column());
        check_env_name(&binding.value.env, cfg, diags);
        match api.security_schemes.get(scheme_name) {
            None => {
                let known: Vec<&str> = api.security_schemes.keys().map(String::as_str).collect();
                let hint = match did_you_mean(scheme_name, known.iter().copied()) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!("the spec's security schemes are: {}", list_or_none(&known)),
                };
                diags.push(
                    at(
                        line,
                        col,
                        format!("auth: `{scheme_name}` is not a security scheme in {}", files.spec),
                    )
                    .help(hint),
                );
            }
            Some(SecurityScheme::Unsupported(what)) => diags.push(
                at(
                    line,
                    col,
                    format!("auth: `{scheme_name}` uses {what}, which mcpgen can't send yet"),
                )
                .help("exclude the operations that need it, or bind an API key or bearer scheme instead"),
            ),
            Some(scheme) => {
                let b = &binding.value;
                if let Some(env) = &b.client_secret_env {
                    check_env_name(env, cfg, diags);
                }
                // OAuth2 with `client_secret_env`: the server fetches tokens (client
                // credentials); without: the env var holds an access token, sent as bearer.
                let fetches = b.client_secret_env.is_some();
                let (scopes, token_url) = match (scheme, fetches) {
                    (
                        SecurityScheme::OAuth2 {
                            client_credentials: Some(flow),
                        },
                        true,
                    ) => (
                        b.scopes.clone().unwrap_or_else(|| flow.scopes.clone()),
                        Some(b.token_url.clone().unwrap_or_else(|| flow.token_url.clone())),
                    ),
                    (
                        SecurityScheme::OAuth2 {
                            client_credentials: None,
                        },
                        true,
                    ) if b.token_url.is_some() => (b.scopes.clone().unwrap_or_default(), b.token_url.clone()),
                    (
                        SecurityScheme::OAuth2 {
                            client_credentials: None,
                        },
                        true,
                    ) => {
                        diags.push(
                            at(line, col, format!("auth: `{scheme_name}` has no OAuth2 client credentials flow, so the server can't fetch tokens"))
                                .help("give `token_url` (the authorization server's token endpoint), or drop `client_secret_env` and put an access token in `env`"),
                        );
                        (Vec::new(), None)
                    }
                    (SecurityScheme::OAuth2 { .. }, false) if b.scopes.is_some() || b.token_url.is_some() => {
                        diags.push(
                            at(
                                line,
                                col,
                                format!("auth: `{scheme_name}`: `scopes` and `token_url` need `client_secret_env`"),
                            )
                            .help("with only `env`, the variable holds an access token and is sent as is"),
                        );
                        (Vec::new(), None)
                    }
                    (SecurityScheme::OAuth2 { .. }, _) => (Vec::new(), None),
                    (_, _) if fetches || b.scopes.is_some() || b.token_url.is_some() => {
                        diags.push(at(
                            line,
                            col,
                            format!("auth: `{scheme_name}` is not OAuth2: only `env` applies"),
                        ));
                        (Vec::new(), None)
                    }
                    _ => (Vec::new(), None),
                };
                let token_exchange = b.token_exchange.as_ref().and_then(|exchange| {
                    let at = &exchange.audience.referenced;
                    if !matches!(scheme, SecurityScheme::Bearer | SecurityScheme::OAuth2 { .. }) {
                        diags.push(
                            Diagnostic::new(
                                cfg,
                                format!("auth: `{scheme_name}`: token_exchange needs a bearer or OAuth2 scheme"),
                            )
                            .line_col(at.line(), at.column())
                            .help(
                                "an exchanged token is sent as `Authorization: Bearer`, which this scheme doesn't take",
                            ),
                        );
                        return None;
                    }
                    if exchange.audience.value.trim().is_empty() {
                        diags.push(
                            Diagnostic::new(cfg, format!("auth: `{scheme_name}`: token_exchange.audience is empty"))
                                .line_col(at.line(), at.column())
                                .help(
                                    "name the API as the authorization server knows it, e.g. https://api.example.com",
                                ),
                        );
                        return None;
                    }
                    Some((exchange.audience.value.clone(), exchange.scopes.clone()))
                });
                auth.insert(
                    scheme_name.clone(),
                    Binding {
                        env: b.env.value.clone(),
                        scheme: scheme.clone(),
                        client_secret_env: b.client_secret_env.as_ref().map(|e| e.value.clone()),
                        scopes,
                        token_url,
                        token_exchange,
                    },
                );
            }
        }
    }
    // Keep the spec's order of schemes for stable output.
    auth.sort_by_cached_key(|name, _| api.security_schemes.get_index_of(name));
    auth
}

/// Every selected operation must be callable with the bound credentials.
/// Grouped by what is missing, so one forgotten binding is one diagnostic.
pub(super) fn check_callable(
    operations: &[&Operation],
    auth: &IndexMap<String, Binding>,
    spec_file: &str,
    diags: &mut Vec<Diagnostic>,
) {
    let mut unsatisfied: IndexMap<(String, String), Vec<String>> = IndexMap::new();
    for op in operations {
        let satisfied = op.security.is_empty()
            || op
                .security
                .iter()
                .any(|alt| alt.iter().all(|scheme| auth.contains_key(scheme)));
        if !satisfied {
            let needed: Vec<String> = op.security.iter().map(|alt| alt.join(" + ")).collect();
            let first = op.security[0]
                .iter()
                .find(|s| !auth.contains_key(*s))
                .cloned()
                .unwrap_or_default();
            let name = op
                .operation_id
                .clone()
                .unwrap_or_else(|| format!("{} {}", op.method.as_str(), op.path));
            unsatisfied.entry((needed.join(" or "), first)).or_default().push(name);
        }
    }
    for ((needed, first), ops) in unsatisfied {
        let listed = match ops.len() {
            1 => format!("operation `{}` needs", ops[0]),
            n if n <= 3 => format!(
                "operations {} need",
                ops.iter().map(|o| format!("`{o}`")).collect::<Vec<_>>().join(", ")
            ),
            n => format!("{n} selected operations (`{}`, `{}`, …) need", ops[0], ops[1]),
        };
        diags.push(
            Diagnostic::new(spec_file, format!("{listed} credentials ({needed}) but mcpgen.yaml binds no env var to them"))
                .at(format!("/components/securitySchemes/{}", escape_pointer(&first)))
                .help(format!("add to mcpgen.yaml:\n    auth:\n      {first}:\n        env: MY_API_KEY\n  or exclude the operations that need it")),
        );
    }
}
