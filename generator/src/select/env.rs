//! The server's environment variables: the base URL's (and its default from
//! mcpgen.yaml or the spec's first absolute server), the inbound HTTP tokens',
//! the server URL variables declared under `env:`, and descriptions; no
//! variable may serve two purposes.

use indexmap::IndexMap;
use serde_saphyr::Spanned;

use super::auth::Binding;
use super::config::SelectionFile;
use super::{check_env_name, list_or_none, server_env_prefix};
use crate::diag::{Diagnostic, did_you_mean};
use crate::ir::Api;

/// Where the server's settings come from at run time.
pub(super) struct Environment {
    pub base_url_env: String,
    pub base_url_default: Option<String>,
    pub base_url_relative: Option<String>,
    pub inbound_token_env: String,
    /// (URL variable, env var, default, secret)
    pub server_variables: Vec<(String, String, Option<String>, bool)>,
    /// Descriptions from `env:`, by variable name.
    pub descriptions: IndexMap<String, String>,
}

// Long by design: the env var names and the default base URL decided together, since no env var may serve two
// purposes.
pub(super) fn environment(
    api: &Api,
    file: &SelectionFile,
    crate_name: &str,
    auth: &IndexMap<String, Binding>,
    cfg: &str,
    diags: &mut Vec<Diagnostic>,
) -> Environment {
    let (base_url_env, explicit_default) = match &file.base_url {
        Some(section) => {
            check_env_name(&section.env, cfg, diags);
            (section.env.value.clone(), section.default.clone())
        }
        None => (format!("{}_BASE_URL", server_env_prefix(crate_name)), None),
    };
    let inbound_token_env = match &file.http.token_env {
        Some(env) => {
            check_env_name(env, cfg, diags);
            env.value.clone()
        }
        None => format!("{}_MCP_TOKENS", server_env_prefix(crate_name)),
    };
    // No env var may serve two purposes.
    let mut claimed = vec![
        ("the base URL".to_string(), base_url_env.clone()),
        ("inbound HTTP tokens".to_string(), inbound_token_env.clone()),
    ];
    for (scheme, binding) in auth {
        claimed.push((format!("auth scheme `{scheme}`"), binding.env.clone()));
        if let Some(env) = &binding.client_secret_env {
            claimed.push((format!("the client secret of auth scheme `{scheme}`"), env.clone()));
        }
    }
    // The default base URL: mcpgen.yaml's, else the spec's first absolute
    // server, whose variables `env:` may bind to env vars.
    // The spec's first absolute server, an https one when it offers any.
    let absolute = |scheme: &'static str| {
        move |t: &&crate::ir::ServerTemplate| {
            let url = t
                .variables
                .iter()
                .fold(t.url.clone(), |u, (k, v)| u.replace(&format!("{{{k}}}"), v));
            url.starts_with(scheme)
        }
    };
    let template = match &explicit_default {
        Some(_) => None,
        None => api
            .server_templates
            .iter()
            .find(absolute("https://"))
            .or_else(|| api.server_templates.iter().find(absolute("http://"))),
    };
    let mut server_variables = Vec::new();
    let mut env_descriptions = IndexMap::new();
    for (name, declaration) in &file.env {
        let spanned_name = Spanned::new(name.clone(), declaration.referenced, declaration.defined);
        check_env_name(&spanned_name, cfg, diags);
        let at = |message: String| {
            Diagnostic::new(cfg, message).line_col(declaration.referenced.line(), declaration.referenced.column())
        };
        let declaration = &declaration.value;
        if let Some(text) = &declaration.description {
            env_descriptions.insert(name.clone(), text.clone());
        }
        let known = claimed.iter().any(|(_, env)| env == name);
        match (&declaration.server_variable, known) {
            (None, true) => {
                if declaration.default.is_some() || declaration.required || declaration.secret {
                    diags.push(at(format!(
                        "env: `{name}` is set up elsewhere in mcpgen.yaml; here only `description` applies"
                    )));
                }
            }
            (None, false) => diags.push(
                at(format!("env: `{name}` is not used: nothing in mcpgen.yaml reads it"))
                    .help("bind it to a server URL variable with `server_variable: <name>`, or remove it"),
            ),
            (Some(_), true) => diags.push(at(format!("env: `{name}` is already used for something else"))),
            (Some(variable), false) => match template.and_then(|t| t.variables.get(variable).map(|d| (t, d))) {
                Some((_, spec_default)) => {
                    let default =
                        (!declaration.required).then(|| declaration.default.clone().unwrap_or(spec_default.clone()));
                    server_variables.push((variable.clone(), name.clone(), default, declaration.secret));
                    claimed.push((format!("server variable `{variable}`"), name.clone()));
                }
                None => {
                    let known: Vec<&str> = template
                        .iter()
                        .flat_map(|t| t.variables.keys().map(String::as_str))
                        .collect();
                    let help = match (
                        did_you_mean(variable, known.iter().copied()),
                        explicit_default.is_some(),
                    ) {
                        (_, true) => {
                            "base_url.default replaces the spec's server URL, so its variables don't apply".to_string()
                        }
                        (Some(close), _) => format!("did you mean `{close}`?"),
                        (None, _) => format!("the server URL's variables: {}", list_or_none(&known)),
                    };
                    diags.push(at(format!("env: the spec's server URL has no variable `{variable}`")).help(help));
                }
            },
        }
    }
    let base_url_default = explicit_default.or_else(|| {
        template.map(|t| {
            t.variables.iter().fold(t.url.clone(), |url, (k, v)| {
                if server_variables.iter().any(|(bound, _, _, _)| bound == k) {
                    url
                } else {
                    url.replace(&format!("{{{k}}}"), v)
                }
            })
        })
    });
    let base_url_relative = match (&base_url_default, api.servers.first()) {
        (None, Some(url)) if !url.contains("://") && url != "/" && !url.is_empty() => Some(url.clone()),
        _ => None,
    };
    for (i, (use_a, env)) in claimed.iter().enumerate() {
        if let Some((use_b, _)) = claimed[i + 1..].iter().find(|(_, other)| other == env) {
            diags.push(
                Diagnostic::new(cfg, format!("env var `{env}` is used for both {use_a} and {use_b}"))
                    .help("give each its own variable"),
            );
        }
    }
    Environment {
        base_url_env,
        base_url_default,
        base_url_relative,
        inbound_token_env,
        server_variables,
        descriptions: env_descriptions,
    }
}
