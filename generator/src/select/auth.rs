//! `auth:` in mcpgen.yaml: each binding checked against the spec's security
//! schemes (it must exist and be one mcpgen can send; OAuth2 settings only
//! where they apply), and every selected operation checked to be callable
//! with what is bound.

use indexmap::IndexMap;

use super::config::{AuthBinding, DeclaredKind, DeclaredScheme, SelectionFile};
use super::{Files, check_env_name, list_or_none};
use crate::diag::{Diagnostic, did_you_mean, escape_pointer};
use crate::ir::{Api, ApiKeyLocation, Operation, SecurityScheme};

/// How `auth.<name>.scheme` is written, for help texts.
const SCHEME_FORMS: &str = "bearer, basic, {header: NAME}, {query: NAME}, {cookie: NAME} or {body: FIELD}";

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
    /// Each OAuth caller connects their own credential (`per_user: true`).
    pub per_user: bool,
    /// Declared in mcpgen.yaml for a scheme the spec never names: it applies
    /// to the selected operations that declare no security.
    pub unnamed: bool,
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
    let named = named_schemes(api);
    for (scheme_name, binding) in &file.auth {
        let (line, col) = (binding.referenced.line(), binding.referenced.column());
        check_env_name(&binding.value.env, cfg, diags);
        let declared = binding.value.scheme.as_ref().and_then(|declared| {
            let at = &declared.referenced;
            let kind = declared_scheme(&declared.value);
            if kind.is_none() {
                diags.push(
                    Diagnostic::new(
                        cfg,
                        format!("auth: `{scheme_name}`: `scheme` must say one way to send the credential"),
                    )
                    .line_col(at.line(), at.column())
                    .help(format!("write one of {SCHEME_FORMS}")),
                );
            }
            kind
        });
        let spec_scheme = api.security_schemes.get(scheme_name);
        let scheme = match (declared, spec_scheme) {
            (Some(declared), _) => declared,
            (None, None) if named.contains(&scheme_name.as_str()) => {
                diags.push(
                    at(
                        line,
                        col,
                        format!(
                            "auth: `{scheme_name}` is named by operations' `security` in {} but never defined (no \
                             `components.securitySchemes.{scheme_name}`), so mcpgen can't tell how to send it",
                            files.spec
                        ),
                    )
                    .help(format!(
                        "say how under `auth.{scheme_name}`, e.g. `scheme: bearer` (one of {SCHEME_FORMS})"
                    )),
                );
                continue;
            }
            (None, None) => {
                let known: Vec<&str> = api.security_schemes.keys().map(String::as_str).collect();
                let hint = match did_you_mean(scheme_name, known.iter().copied()) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!(
                        "the spec's security schemes are: {}; to declare one it leaves out, add `scheme:` ({SCHEME_FORMS})",
                        list_or_none(&known)
                    ),
                };
                diags.push(
                    at(
                        line,
                        col,
                        format!("auth: `{scheme_name}` is not a security scheme in {}", files.spec),
                    )
                    .help(hint),
                );
                continue;
            }
            (None, Some(SecurityScheme::Unsupported(what))) => {
                diags.push(
                    at(
                        line,
                        col,
                        format!("auth: `{scheme_name}` uses {what}, which mcpgen can't send as the spec says"),
                    )
                    .help(format!(
                        "say how it is sent under `auth.{scheme_name}`, e.g. `scheme: {{header: Authorization}}` with \
                         the env var holding the header's whole value (one of {SCHEME_FORMS}), or exclude the \
                         operations that need it"
                    )),
                );
                continue;
            }
            (None, Some(scheme)) => scheme.clone(),
        };
        let scheme = &scheme;
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
                    .help("an exchanged token is sent as `Authorization: Bearer`, which this scheme doesn't take"),
                );
                return None;
            }
            if exchange.audience.value.trim().is_empty() {
                diags.push(
                    Diagnostic::new(cfg, format!("auth: `{scheme_name}`: token_exchange.audience is empty"))
                        .line_col(at.line(), at.column())
                        .help("name the API as the authorization server knows it, e.g. https://api.example.com"),
                );
                return None;
            }
            Some((exchange.audience.value.clone(), exchange.scopes.clone()))
        });
        let per_user = b.per_user == Some(true) && per_user(scheme_name, scheme, b, (line, col), cfg, diags);
        auth.insert(
            scheme_name.clone(),
            Binding {
                env: b.env.value.clone(),
                scheme: scheme.clone(),
                client_secret_env: b.client_secret_env.as_ref().map(|e| e.value.clone()),
                scopes,
                token_url,
                token_exchange,
                per_user,
                unnamed: !named.contains(&scheme_name.as_str()),
            },
        );
    }
    // Keep the spec's order of schemes for stable output.
    auth.sort_by_cached_key(|name, _| api.security_schemes.get_index_of(name));
    auth
}

/// Whether `per_user: true` can hold for this scheme: a credential a person
/// can paste (an API key outside the body, bearer, basic), not also exchanged.
/// Callers are known by OAuth (`http.oauth`, or the server's `--oauth-issuer`);
/// without it, every caller uses the env var's.
fn per_user(
    scheme_name: &str,
    scheme: &SecurityScheme,
    binding: &AuthBinding,
    (line, col): (u64, u64),
    cfg: &str,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let at = |message: String, help: &str| Diagnostic::new(cfg, message).line_col(line, col).help(help);
    let pasted = match scheme {
        SecurityScheme::ApiKey { location, .. } => *location != ApiKeyLocation::Body,
        SecurityScheme::Bearer | SecurityScheme::Basic => true,
        // Without a client secret the env var holds an access token, sent as bearer.
        SecurityScheme::OAuth2 { .. } => binding.client_secret_env.is_none(),
        SecurityScheme::Unsupported(_) => false,
    };
    let problem = if !pasted {
        Some(at(
            format!("auth: `{scheme_name}`: per_user needs a credential a person can paste"),
            "per-user schemes take an API key in a header, query or cookie, a bearer token or basic \
             `user:password`; drop `per_user` here",
        ))
    } else if binding.token_exchange.is_some() {
        Some(at(
            format!("auth: `{scheme_name}`: per_user and token_exchange both give each caller a credential"),
            "keep `token_exchange` when the issuer can mint tokens for the API, else `per_user`",
        ))
    } else {
        None
    };
    match problem {
        Some(problem) => {
            diags.push(problem);
            false
        }
        None => true,
    }
}

/// The scheme names operations' `security` uses, defined or not.
fn named_schemes(api: &Api) -> Vec<&str> {
    let mut named: Vec<&str> = api
        .operations
        .iter()
        .flat_map(|op| op.security.iter().flatten().map(String::as_str))
        .collect();
    named.sort_unstable();
    named.dedup();
    named
}

/// The scheme `auth.<name>.scheme` declares, if it says exactly one way.
fn declared_scheme(declared: &DeclaredScheme) -> Option<SecurityScheme> {
    match declared {
        DeclaredScheme::Kind(DeclaredKind::Bearer) => Some(SecurityScheme::Bearer),
        DeclaredScheme::Kind(DeclaredKind::Basic) => Some(SecurityScheme::Basic),
        DeclaredScheme::In(place) => {
            let places = [
                (ApiKeyLocation::Header, &place.header),
                (ApiKeyLocation::Query, &place.query),
                (ApiKeyLocation::Cookie, &place.cookie),
                (ApiKeyLocation::Body, &place.body),
            ];
            let mut given = places
                .into_iter()
                .filter_map(|(location, name)| Some((location, name.as_ref()?)));
            match (given.next(), given.next()) {
                (Some((location, name)), None) if !name.trim().is_empty() => Some(SecurityScheme::ApiKey {
                    location,
                    name: name.clone(),
                }),
                _ => None,
            }
        }
    }
}

/// Every selected operation must be callable with the bound credentials.
/// Grouped by what is missing, so one forgotten binding is one diagnostic.
pub(super) fn check_callable(
    api: &Api,
    operations: &[&Operation],
    auth: &IndexMap<String, Binding>,
    spec_file: &str,
    diags: &mut Vec<Diagnostic>,
) {
    // (what is needed, the first unbound scheme) → (the operations, where the first one says so).
    let mut unsatisfied: IndexMap<(String, String), (Vec<String>, String)> = IndexMap::new();
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
            unsatisfied
                .entry((needed.join(" or "), first))
                .or_insert_with(|| (Vec::new(), op.security_pointer.clone()))
                .0
                .push(name);
        }
    }
    for ((needed, first), (ops, security_pointer)) in unsatisfied {
        let listed = match ops.len() {
            1 => format!("operation `{}` needs", ops[0]),
            n if n <= 3 => format!(
                "operations {} need",
                ops.iter().map(|o| format!("`{o}`")).collect::<Vec<_>>().join(", ")
            ),
            n => format!("{n} selected operations (`{}`, `{}`, …) need", ops[0], ops[1]),
        };
        // A scheme the spec never defines is pointed at where operations name it, and the fix says how it is sent.
        let (pointer, undefined, declare) = if api.security_schemes.contains_key(&first) {
            let pointer = format!("/components/securitySchemes/{}", escape_pointer(&first));
            (pointer, String::new(), String::new())
        } else {
            (
                security_pointer,
                format!("; the spec never defines `{first}`"),
                format!("\n        scheme: bearer       # how it is sent: {SCHEME_FORMS}"),
            )
        };
        diags.push(
            Diagnostic::new(spec_file, format!("{listed} credentials ({needed}{undefined}) but mcpgen.yaml binds no env var to them"))
                .at(pointer)
                .help(format!("add to mcpgen.yaml:\n    auth:\n      {first}:\n        env: MY_API_KEY{declare}\n  or exclude the operations that need it")),
        );
    }
}
