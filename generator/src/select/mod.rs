//! Raw `SelectionFile` + `Api` → `Selection`: which operations become tools,
//! bound to which env vars, in which crate.
//!
//! Rules (see `rules`): `include` (absent: every operation), then `exclude`,
//! then `max_tools`. Every name in the file must exist in the spec. All problems are collected
//! and reported together, each pointing at its line in `mcpgen.yaml`.

pub mod auth;
pub mod config;
pub mod env;
pub mod oauth;
pub mod results;
pub mod rules;
pub mod runtime;
pub mod tools;

pub use auth::Binding;

/// What the selection says of names the spec lacks; an earlier spec (`Files::earlier`) is spared them.
pub(crate) const NO_OPERATION_ID: &str = "no operation has the operationId";
pub(crate) const NO_TAG: &str = "no operation has the tag";
const NOT_SELECTED: &str = "is not selected, so its settings";

use indexmap::IndexMap;
use serde_saphyr::Spanned;

use crate::diag::{Diagnostic, Error, did_you_mean, finish};
use crate::ir::{Api, Operation};
use crate::select::config::{PaginationDefaults, RedactSection, SelectionFile, ToolOverride, UpstreamSection};
use crate::select::rules::Matcher;
pub use crate::select::tools::{ParamSetting, Sent, ToolSettings};

#[derive(Debug)]
pub struct Selection<'a> {
    pub crate_name: String,
    pub crate_version: String,
    pub title: String,
    pub operations: Vec<&'a Operation>,
    pub base_url_env: String,
    /// Used when the env var is unset.
    pub base_url_default: Option<String>,
    /// The spec's first server URL when it is relative and nothing absolute is known.
    pub base_url_relative: Option<String>,
    /// Scheme name → its binding, in the spec's order.
    pub auth: IndexMap<String, Binding>,
    /// The top-level `upstream` limits, defaults filled in.
    pub policy: Policy,
    /// `pagination` defaults.
    pub page_bounds: PageBounds,
    pub redaction: Redaction,
    pub output_schemas: bool,
    /// The env var with the bearer tokens accepted over HTTP.
    pub inbound_token_env: String,
    /// `http.oauth`: OAuth access tokens instead of static ones.
    pub oauth: Option<oauth::OAuth>,
    /// `results:`, checked.
    pub results: mcpgen_spec::ResultsSpec,
    /// `tools:` settings of selected operations, resolved, by operation key.
    pub tools: IndexMap<String, ToolSettings>,
    /// Server variables left as `{name}` in `base_url_default`: (name, env, default, secret).
    pub server_variables: Vec<(String, String, Option<String>, bool)>,
    /// Descriptions from `env:`, by variable name.
    pub env_descriptions: IndexMap<String, String>,
    /// `resources:` and `prompts:`, checked against the tools when planned.
    pub resources: IndexMap<String, Spanned<config::ResourceSection>>,
    pub prompts: IndexMap<String, Spanned<config::PromptSection>>,
    pub toolsets: Vec<Toolset>,
    /// `surface:`, when the file chooses one (else the token budget decides).
    pub surface: Option<Surface>,
    /// `schema_profile:`, `full` when absent.
    pub schema_profile: mcpgen_spec::SchemaProfile,
    /// `max_tools_list_tokens`, the default filled in.
    pub token_budget: usize,
}

impl Selection<'_> {
    /// Custom tool names (`tools.<id>.name`), by operation key.
    pub fn custom_names(&self) -> IndexMap<String, String> {
        self.tools
            .iter()
            .filter_map(|(key, tool)| Some((key.clone(), tool.name.clone()?)))
            .collect()
    }
}

/// The default `max_tools_list_tokens`: about an eighth of a 200k-token
/// context window, beyond which tool definitions crowd out the work.
pub const DEFAULT_TOKEN_BUDGET: usize = 25_000;

/// A named subset of the selected operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toolset {
    pub name: String,
    pub description: String,
    /// Indexes into `Selection::operations`, ascending.
    pub operations: Vec<usize>,
}

use mcpgen_spec::{Policy, Surface};

#[derive(Debug, Clone, Copy)]
pub struct PageBounds {
    pub max_pages: u32,
    pub max_items: u32,
    pub detect: bool,
}

impl From<&PaginationDefaults> for PageBounds {
    fn from(section: &PaginationDefaults) -> PageBounds {
        PageBounds {
            max_pages: section.max_pages.unwrap_or(5).max(1),
            max_items: section.max_items.unwrap_or(500).max(1),
            detect: section.detect.unwrap_or(true),
        }
    }
}

/// The `redact` section, validated (the runtime's `RedactionSpec`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Redaction {
    pub headers: Vec<String>,
    pub remove: Vec<String>,
    pub mask: Vec<String>,
    pub patterns: Vec<String>,
    pub default_patterns: bool,
}

/// What `select` needs to know about the files, for messages.
pub struct Files<'f> {
    pub config: &'f str,
    pub spec: &'f str,
    /// The spec before a change (`mcpgen diff --from`): operationIds and tags
    /// mcpgen.yaml names that it lacks are let be (the change added them).
    pub earlier: bool,
}

// Long by design: the selection in order (crate name, operations, auth, env vars, limits, redaction, toolsets,
// OAuth, results, then each tool's settings), each one call that reports its mistakes.
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
    if files.earlier {
        diags.retain(|d| {
            ![NO_OPERATION_ID, NO_TAG, NOT_SELECTED]
                .iter()
                .any(|said| d.message.contains(said))
        });
    }

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
    if api.operations.is_empty() {
        diags.push(
            Diagnostic::new(files.spec, "the spec has no operations (`paths` is empty)")
                .at("/paths")
                .help("an MCP server needs at least one operation to offer as a tool"),
        );
    } else if operations.is_empty() {
        diags.push(
            Diagnostic::new(cfg, "no operations are selected").help("check `include` and `exclude` in mcpgen.yaml"),
        );
    }

    let auth = auth::bind(api, file, files, &mut diags);
    auth::check_callable(api, &operations, &auth, files.spec, &mut diags);

    let env = env::environment(api, file, &crate_name, &auth, cfg, &mut diags);

    let policy = policy(&file.upstream, Policy::DEFAULT, cfg, &mut diags);
    let page_bounds = PageBounds::from(&file.pagination);
    let redaction = redaction(&file.redact, cfg, &mut diags);
    let toolsets = toolsets(api, file, &operations, cfg, &mut diags);
    let oauth = file
        .http
        .oauth
        .as_ref()
        .map(|section| oauth::oauth(section, cfg, &mut diags));
    let results = results::results(&file.results, cfg, &mut diags);
    let tools = overrides
        .iter()
        .map(|(key, custom)| (key.clone(), tools::settings(custom, policy, cfg, &mut diags)))
        .collect();

    finish(
        Selection {
            crate_name,
            crate_version: file.server.version.value.clone(),
            title: file.server.title.clone().unwrap_or_else(|| api.title.clone()),
            operations,
            base_url_env: env.base_url_env,
            base_url_default: env.base_url_default,
            base_url_relative: env.base_url_relative,
            auth,
            policy,
            page_bounds,
            redaction,
            output_schemas: file.output_schemas.unwrap_or(true),
            inbound_token_env: env.inbound_token_env,
            oauth,
            results,
            tools,
            server_variables: env.server_variables,
            env_descriptions: env.descriptions,
            toolsets,
            resources: file.resources.clone(),
            prompts: file.prompts.clone(),
            surface: file.surface.as_ref().map(|s| s.value.surface()),
            schema_profile: file.schema_profile.map(|p| p.profile()).unwrap_or_default(),
            token_budget: file
                .max_tools_list_tokens
                .as_ref()
                .map_or(DEFAULT_TOKEN_BUDGET, |b| b.value),
        },
        diags,
    )
}

/// `section`'s limits over `base`; a bad value is a diagnostic at its line.
pub fn policy(section: &UpstreamSection, base: Policy, cfg: &str, diags: &mut Vec<Diagnostic>) -> Policy {
    let seconds = |value: &Option<Spanned<f64>>, key: &str, diags: &mut Vec<Diagnostic>| {
        let v = value.as_ref()?;
        if v.value.is_finite() && v.value > 0.0 {
            Some((v.value * 1000.0).round().max(1.0) as u64)
        } else {
            diags.push(
                Diagnostic::new(cfg, format!("upstream.{key} must be a positive number of seconds"))
                    .line_col(v.referenced.line(), v.referenced.column()),
            );
            None
        }
    };
    let mut policy = base;
    if let Some(ms) = seconds(&section.timeout_seconds, "timeout_seconds", diags) {
        policy.timeout_ms = ms;
    }
    if let Some(ms) = seconds(&section.deadline_seconds, "deadline_seconds", diags) {
        policy.deadline_ms = ms;
    }
    if let Some(n) = &section.max_attempts {
        match n.value {
            1..=10 => policy.max_attempts = n.value,
            _ => diags.push(
                Diagnostic::new(cfg, "upstream.max_attempts must be between 1 (no retries) and 10")
                    .line_col(n.referenced.line(), n.referenced.column()),
            ),
        }
    }
    if let Some(n) = &section.max_response_bytes {
        match n.value {
            1024.. => policy.max_response_bytes = n.value,
            _ => diags.push(
                Diagnostic::new(cfg, "upstream.max_response_bytes must be at least 1024")
                    .line_col(n.referenced.line(), n.referenced.column()),
            ),
        }
    }
    if policy.deadline_ms < policy.timeout_ms {
        let at = section.deadline_seconds.as_ref().or(section.timeout_seconds.as_ref());
        let mut d = Diagnostic::new(
            cfg,
            format!(
                "upstream: the call deadline ({} s) is shorter than one request's timeout ({} s)",
                policy.deadline_ms as f64 / 1000.0,
                policy.timeout_ms as f64 / 1000.0
            ),
        )
        .help("raise deadline_seconds or lower timeout_seconds");
        if let Some(at) = at {
            d = d.line_col(at.referenced.line(), at.referenced.column());
        }
        diags.push(d);
    }
    policy
}

/// The `redact` section with every pattern compiled and every field path checked.
fn redaction(section: &RedactSection, cfg: &str, diags: &mut Vec<Diagnostic>) -> Redaction {
    let mut out = Redaction {
        headers: section.headers.clone(),
        default_patterns: section.default_patterns.unwrap_or(true),
        ..Redaction::default()
    };
    for pattern in &section.patterns {
        match regex::Regex::new(&pattern.value) {
            Ok(_) => out.patterns.push(pattern.value.clone()),
            Err(e) => diags.push(
                Diagnostic::new(
                    cfg,
                    format!("redact.patterns: `{}` is not a valid regular expression", pattern.value),
                )
                .line_col(pattern.referenced.line(), pattern.referenced.column())
                .help(
                    e.to_string()
                        .lines()
                        .last()
                        .unwrap_or_default()
                        .trim()
                        .trim_start_matches("error: ")
                        .to_string(),
                ),
            ),
        }
    }
    for (key, paths, list) in [
        ("remove", &section.remove, &mut out.remove),
        ("mask", &section.mask, &mut out.mask),
    ] {
        for path in paths {
            match mcpgen_spec::fields::FieldPath::parse(&path.value) {
                Ok(_) => list.push(path.value.clone()),
                Err(why) => diags.push(
                    Diagnostic::new(cfg, format!("redact.{key}: {why}"))
                        .line_col(path.referenced.line(), path.referenced.column())
                        .help("write paths like `password`, `user.email`, `$.users[*].email` or `**.token`"),
                ),
            }
        }
    }
    out
}

/// `toolsets:` as configured (each must hold a selected operation), else
/// one per tag of the selected operations, in the spec's tag order, plus
/// `other` for untagged operations when there are tagged ones.
fn toolsets(
    api: &Api,
    file: &SelectionFile,
    operations: &[&Operation],
    cfg: &str,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Toolset> {
    let members = |matches: &dyn Fn(&Operation) -> bool| -> Vec<usize> {
        operations
            .iter()
            .enumerate()
            .filter(|(_, op)| matches(op))
            .map(|(i, _)| i)
            .collect()
    };
    if let Some(configured) = &file.toolsets {
        let mut out = Vec::new();
        for (name, section) in configured {
            let at = &section.referenced;
            if !mcpgen_spec::is_valid_toolset_name(name) {
                diags.push(
                    Diagnostic::new(cfg, format!("toolsets: `{name}` is not a valid toolset name"))
                        .line_col(at.line(), at.column())
                        .help(
                            "use 1 to 64 lowercase letters, digits, `-` and `_`: the name is also a URL path segment",
                        ),
                );
                continue;
            }
            let filter = rules::Filter::new(api, &section.value.include, cfg, diags);
            let ops = members(&|op| filter.matches(op));
            if ops.is_empty() {
                diags.push(
                    Diagnostic::new(cfg, format!("toolsets: `{name}` holds no selected operation"))
                        .line_col(at.line(), at.column())
                        .help("list operations, tags, paths or methods of selected operations under its `include`"),
                );
            }
            let description = section
                .value
                .description
                .clone()
                .unwrap_or_else(|| format!("The `{name}` operations."));
            out.push(Toolset {
                name: name.clone(),
                description,
                operations: ops,
            });
        }
        return out;
    }
    let mut out: Vec<Toolset> = Vec::new();
    for tag in &api.tags {
        let ops = members(&|op| op.tags.contains(tag));
        if ops.is_empty() {
            continue;
        }
        let mut name = toolset_name(tag);
        if name.is_empty() {
            continue;
        }
        let base = name.clone();
        let mut n = 2;
        while out.iter().any(|t| t.name == name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        out.push(Toolset {
            name,
            description: format!("Operations tagged `{tag}`."),
            operations: ops,
        });
    }
    let untagged = members(&|op| op.tags.is_empty());
    if !out.is_empty() && !untagged.is_empty() && !out.iter().any(|t| t.name == "other") {
        out.push(Toolset {
            name: "other".to_string(),
            description: "Operations without a tag.".to_string(),
            operations: untagged,
        });
    }
    out
}

/// A tag as a toolset name: lowercase, runs of other characters as one `-`,
/// at most 64 bytes (`Pull Requests` → `pull-requests`).
fn toolset_name(tag: &str) -> String {
    let mut name = String::new();
    for c in tag.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    let mut name = name.trim_end_matches('-').to_string();
    while name.len() > 64 {
        name.pop();
    }
    name.trim_end_matches('-').to_string()
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
    // Keys are operationIds, or `METHOD /path` for operations whose id is not unique.
    let keys: Vec<&str> = api.operations.iter().map(|op| op.key.as_str()).collect();
    let mut names: IndexMap<&str, u64> = IndexMap::new();
    let mut out = IndexMap::new();
    for (id, custom) in &file.tools {
        let at = |message: String| {
            Diagnostic::new(cfg, message).line_col(custom.referenced.line(), custom.referenced.column())
        };
        if !keys.contains(&id.as_str()) {
            let sharing: Vec<&str> = api
                .operations
                .iter()
                .filter(|op| op.operation_id.as_deref() == Some(id.as_str()))
                .map(|op| op.key.as_str())
                .collect();
            if !sharing.is_empty() {
                let each: Vec<String> = sharing.iter().map(|k| format!("`\"{k}\"`")).collect();
                diags.push(
                    at(format!(
                        "tools: {} operations have the operationId `{id}`, so `{id}` is ambiguous",
                        sharing.len()
                    ))
                    .help(format!("address each by method and path instead: {}", each.join(", "))),
                );
                continue;
            }
            let help = did_you_mean(id, keys.iter().copied())
                .map(|c| format!("did you mean `{c}`?"))
                .unwrap_or_else(|| "keys under `tools:` are operationIds".to_string());
            diags.push(at(format!("tools: {NO_OPERATION_ID} `{id}`")).help(help));
            continue;
        }
        if !selected.iter().any(|op| op.key == *id) {
            diags.push(
                at(format!("tools: `{id}` {NOT_SELECTED} have no effect"))
                    .help("select it under `include`, or remove its settings"),
            );
            continue;
        }
        if let Some(name) = &custom.value.name {
            let valid = mcpgen_spec::is_valid_tool_name(&name.value);
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
