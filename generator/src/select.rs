//! Raw `SelectionFile` + `Api` → `Selection`: which operations become tools,
//! bound to which env vars, in which crate.
//!
//! Rules (see `rules`): `include` (absent: every operation), then `exclude`,
//! then `max_tools`. Every name in the file must exist in the spec. All problems are collected
//! and reported together, each pointing at its line in `mcpgen.yaml`.

use indexmap::IndexMap;
use serde_saphyr::Spanned;

use crate::config::{SelectionFile, ToolOverride};
use crate::diag::{Diagnostic, Error, did_you_mean, escape_pointer, finish};
use crate::ir::{Api, Operation, SecurityScheme};
use crate::rules::Matcher;

#[derive(Debug)]
pub struct Selection<'a> {
    pub crate_name: String,
    pub crate_version: String,
    pub title: String,
    pub operations: Vec<&'a Operation>,
    pub base_url_env: String,
    /// Used when the env var is unset.
    pub base_url_default: Option<String>,
    /// Scheme name → (env var, scheme), in the spec's order.
    pub auth: IndexMap<String, (String, SecurityScheme)>,
    pub timeout_ms: u64,
    /// The env var with the bearer tokens accepted over HTTP.
    pub inbound_token_env: String,
    /// `tools:` settings of selected operations, by operationId.
    pub overrides: IndexMap<String, ToolOverride>,
    /// Server variables left as `{name}` in `base_url_default`: (name, env, default, secret).
    pub server_variables: Vec<(String, String, Option<String>, bool)>,
    /// Descriptions from `env:`, by variable name.
    pub env_descriptions: IndexMap<String, String>,
}

/// What `select` needs to know about the files, for messages.
pub struct Files<'f> {
    pub config: &'f str,
    pub spec: &'f str,
}

const DEFAULT_TIMEOUT_MS: u64 = 30_000;

pub fn select<'a>(api: &'a Api, file: &SelectionFile, files: &Files) -> Result<Selection<'a>, Error> {
    let mut diags = Vec::new();
    let cfg = files.config;
    let at = |spanned_line: u64, col: u64, message: String| Diagnostic::new(cfg, message).line_col(spanned_line, col);

    let crate_name = file.server.name.value.clone();
    if !is_crate_name(&crate_name) {
        diags.push(
            at(
                file.server.name.referenced.line(),
                file.server.name.referenced.column(),
                format!("`{crate_name}` is not a valid crate name"),
            )
            .help("use lowercase letters, digits, `-` and `_`, starting with a letter (for example `petstore-mcp`)"),
        );
    }

    let (matcher, problems) = Matcher::new(api, file, cfg);
    diags.extend(problems);
    let operations: Vec<&Operation> = api.operations.iter().filter(|op| matcher.decide(op).selected).collect();

    let overrides = check_overrides(api, file, &operations, cfg, &mut diags);

    if let Some(max) = &file.max_tools
        && operations.len() > max.value
    {
        diags.push(
            at(
                max.referenced.line(),
                max.referenced.column(),
                format!(
                    "{} operations are selected but max_tools is {}",
                    operations.len(),
                    max.value
                ),
            )
            .help(format!(
                "exclude operations or tags in mcpgen.yaml, or raise max_tools; the largest selected tags: {}",
                largest_tags(&operations)
            )),
        );
    }
    if operations.is_empty() {
        diags.push(
            Diagnostic::new(cfg, "no operations are selected").help("check `include` and `exclude` in mcpgen.yaml"),
        );
    }

    // Auth bindings: the scheme must exist and be one we can send.
    let mut auth = IndexMap::new();
    for (scheme_name, binding) in &file.auth {
        let (line, col) = (binding.referenced.line(), binding.referenced.column());
        check_env_name(&binding.value.env, cfg, &mut diags);
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
                auth.insert(scheme_name.clone(), (binding.value.env.value.clone(), scheme.clone()));
            }
        }
    }
    // Keep the spec's order of schemes for stable output.
    auth.sort_by_cached_key(|name, _| api.security_schemes.get_index_of(name));

    // Every selected operation must be callable with the bound credentials.
    // Grouped by what is missing, so one forgotten binding is one diagnostic.
    let mut unsatisfied: IndexMap<(String, String), Vec<String>> = IndexMap::new();
    for op in &operations {
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
                .unwrap_or_else(|| format!("{} {}", op.method.as_upper(), op.path));
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
            Diagnostic::new(files.spec, format!("{listed} credentials ({needed}) but mcpgen.yaml binds no env var to them"))
                .at(format!("/components/securitySchemes/{}", escape_pointer(&first)))
                .help(format!("add to mcpgen.yaml:\n    auth:\n      {first}:\n        env: MY_API_KEY\n  or exclude the operations that need it")),
        );
    }

    let (base_url_env, explicit_default) = match &file.base_url {
        Some(section) => {
            check_env_name(&section.env, cfg, &mut diags);
            (section.env.value.clone(), section.default.clone())
        }
        None => (format!("{}_BASE_URL", server_env_prefix(&crate_name)), None),
    };
    let inbound_token_env = match &file.http.token_env {
        Some(env) => {
            check_env_name(env, cfg, &mut diags);
            env.value.clone()
        }
        None => format!("{}_MCP_TOKENS", server_env_prefix(&crate_name)),
    };
    // No env var may serve two purposes.
    let mut claimed = vec![
        ("the base URL".to_string(), base_url_env.clone()),
        ("inbound HTTP tokens".to_string(), inbound_token_env.clone()),
    ];
    for (scheme, (env, _)) in &auth {
        claimed.push((format!("auth scheme `{scheme}`"), env.clone()));
    }
    // The default base URL: mcpgen.yaml's, else the spec's first absolute
    // server, whose variables `env:` may bind to env vars.
    let template = match &explicit_default {
        Some(_) => None,
        None => api.server_templates.iter().find(|t| {
            let url = t
                .variables
                .iter()
                .fold(t.url.clone(), |u, (k, v)| u.replace(&format!("{{{k}}}"), v));
            url.starts_with("http://") || url.starts_with("https://")
        }),
    };
    let mut server_variables = Vec::new();
    let mut env_descriptions = IndexMap::new();
    for (name, declaration) in &file.env {
        let spanned_name = Spanned::new(name.clone(), declaration.referenced, declaration.defined);
        check_env_name(&spanned_name, cfg, &mut diags);
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
    for (i, (use_a, env)) in claimed.iter().enumerate() {
        if let Some((use_b, _)) = claimed[i + 1..].iter().find(|(_, other)| other == env) {
            diags.push(
                Diagnostic::new(cfg, format!("env var `{env}` is used for both {use_a} and {use_b}"))
                    .help("give each its own variable"),
            );
        }
    }

    let timeout_ms = match &file.timeout_seconds {
        None => DEFAULT_TIMEOUT_MS,
        Some(t) if t.value.is_finite() && t.value > 0.0 => (t.value * 1000.0).round().max(1.0) as u64,
        Some(t) => {
            diags.push(at(
                t.referenced.line(),
                t.referenced.column(),
                "timeout_seconds must be a positive number".to_string(),
            ));
            DEFAULT_TIMEOUT_MS
        }
    };

    finish(
        Selection {
            crate_name,
            crate_version: file.server.version.value.clone(),
            title: file.server.title.clone().unwrap_or_else(|| api.title.clone()),
            operations,
            base_url_env,
            base_url_default,
            auth,
            timeout_ms,
            inbound_token_env,
            overrides,
            server_variables,
            env_descriptions,
        },
        diags,
    )
}

/// `tools:` entries must name selected operations; custom names must be
/// valid MCP tool names and distinct.
fn check_overrides(
    api: &Api,
    file: &SelectionFile,
    selected: &[&Operation],
    cfg: &str,
    diags: &mut Vec<Diagnostic>,
) -> IndexMap<String, ToolOverride> {
    let ids: Vec<&str> = api
        .operations
        .iter()
        .filter_map(|op| op.operation_id.as_deref())
        .collect();
    let mut names: IndexMap<&str, u64> = IndexMap::new();
    let mut out = IndexMap::new();
    for (id, custom) in &file.tools {
        let at = |message: String| {
            Diagnostic::new(cfg, message).line_col(custom.referenced.line(), custom.referenced.column())
        };
        if !ids.contains(&id.as_str()) {
            let help = did_you_mean(id, ids.iter().copied())
                .map(|c| format!("did you mean `{c}`?"))
                .unwrap_or_else(|| "keys under `tools:` are operationIds".to_string());
            diags.push(at(format!("tools: no operation has the operationId `{id}`")).help(help));
            continue;
        }
        if !selected
            .iter()
            .any(|op| op.operation_id.as_deref() == Some(id.as_str()))
        {
            diags.push(
                at(format!("tools: `{id}` is not selected, so its settings have no effect"))
                    .help("select it under `include`, or remove its settings"),
            );
            continue;
        }
        if let Some(name) = &custom.value.name {
            let valid = !name.value.is_empty()
                && name.value.len() <= 64
                && name
                    .value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            let here = (name.referenced.line(), name.referenced.column());
            if !valid {
                diags.push(
                    Diagnostic::new(cfg, format!("`{}` is not a valid tool name", name.value))
                        .line_col(here.0, here.1)
                        .help("use 1 to 64 letters, digits, `_` or `-`"),
                );
            } else if let Some(line) = names.insert(name.value.as_str(), here.0) {
                diags.push(
                    Diagnostic::new(
                        cfg,
                        format!("the tool name `{}` is already given on line {line}", name.value),
                    )
                    .line_col(here.0, here.1)
                    .help("tool names must be unique"),
                );
            }
        }
        out.insert(id.clone(), custom.value.clone());
    }
    out
}

/// `pets` (7), `store` (5), … : where cutting helps most.
fn largest_tags(operations: &[&Operation]) -> String {
    let mut counts: IndexMap<&str, usize> = IndexMap::new();
    for op in operations {
        for tag in &op.tags {
            *counts.entry(tag.as_str()).or_default() += 1;
        }
        if op.tags.is_empty() {
            *counts.entry("(untagged)").or_default() += 1;
        }
    }
    counts.sort_by(|a, x, b, y| y.cmp(x).then(a.cmp(b)));
    counts
        .iter()
        .take(5)
        .map(|(tag, n)| format!("`{tag}` ({n})"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn list_or_none(items: &[&str]) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
    }
}

fn check_env_name(name: &Spanned<String>, cfg: &str, diags: &mut Vec<Diagnostic>) {
    let valid = name
        .value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        diags.push(
            Diagnostic::new(
                cfg,
                format!("`{}` is not a valid environment variable name", name.value),
            )
            .line_col(name.referenced.line(), name.referenced.column())
            .help("use letters, digits and `_`, not starting with a digit (for example `PETSTORE_API_KEY`)"),
        );
    }
}

/// `petstore-mcp` → `PETSTORE`, the prefix of default env var names.
fn server_env_prefix(crate_name: &str) -> String {
    heck::AsShoutySnakeCase(crate_name.trim_end_matches("-mcp")).to_string()
}

fn is_crate_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && name.len() <= 64
}
