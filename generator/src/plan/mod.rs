//! `Selection` → `Plan`: every decision about the generated crate.
//!
//! Tool names (`^[a-zA-Z0-9_-]{1,64}$`, unique, stable), argument names (one
//! flat object: parameters plus the JSON body's properties, collisions renamed
//! visibly), the input JSON Schema, annotations from the HTTP method, and the
//! request recipe. Templates only print what this stage computed.

mod args;
mod body;
pub mod check;
pub mod deploy;
pub mod distribution;
mod jobs;
pub mod names;
pub mod paginate;
pub mod projection;
mod redact;
mod resources;
pub mod rust;
pub mod search;

use std::collections::BTreeSet;

use indexmap::IndexMap;
use mcpgen_spec::{Policy, SchemeKind, Surface};
use serde::Serialize;
use serde_json::{Value, json};

use crate::diag::{Diagnostic, Error, finish};
use crate::ir::{ApiKeyLocation, Method, Operation, SecurityScheme};
use crate::plan::deploy::{Deploy, HostConfig, Workflow};
use crate::plan::paginate::PaginationPlan;
use crate::select::config::ToolOverride;
use crate::select::{Binding, PageBounds, Redaction, Selection};
pub use args::ParamPlan;
use args::{Arguments, plan_params};
use body::plan_body;
pub use body::{BodyPlan, FieldPlan};
use jobs::LongRunningPlan;
use names::unique;
use projection::ResponsePlan;

/// The shared `Policy`'s fields, for the README (the spec crate has no serde).
#[derive(Serialize)]
#[serde(remote = "Policy")]
struct PolicyFields {
    timeout_ms: u64,
    deadline_ms: u64,
    max_attempts: u32,
    max_response_bytes: usize,
}

#[derive(Debug, Serialize)]
pub struct Plan {
    /// Selected GET operations read as resources, and prompts (mcpgen.yaml).
    pub resources: Vec<resources::ResourcePlan>,
    pub prompts: Vec<resources::PromptPlan>,
    pub generator_version: String,
    /// The `mcpgen-runtime` version the generated code is made for.
    pub runtime_version: &'static str,
    /// The spec path as written in mcpgen.yaml, for headers.
    pub spec_file: String,
    pub crate_name: String,
    pub crate_version: String,
    pub title: String,
    pub instructions: Option<String>,
    /// TOML value of the `mcpgen-runtime` dependency.
    pub runtime_dependency: String,
    pub base_url_env: String,
    pub base_url_default: Option<String>,
    /// The spec's relative server URL, resolved against the env var's URL.
    pub base_url_relative: Option<String>,
    /// `{name}`s of `base_url_default` filled from env vars.
    pub server_variables: Vec<ServerVariablePlan>,
    #[serde(with = "PolicyFields")]
    pub policy: Policy,
    pub redaction: Redaction,
    pub inbound_token_env: String,
    /// `http.oauth`, with `tool_scopes` checked against the tools' names.
    pub oauth: Option<OAuthPlan>,
    /// `results:` (budgets and how results over them are held).
    #[serde(serialize_with = "results_fields")]
    pub results: mcpgen_spec::ResultsSpec,
    pub schemes: Vec<SchemePlan>,
    /// File-level templates see each tool's summary only; each tool's entry is
    /// rendered from the whole `ToolPlan` on its own (see `render`).
    #[serde(serialize_with = "tool_summaries")]
    pub tools: Vec<ToolPlan>,
    /// Tool indexes in the byte order of the tools' names (`ServerSpec::by_name`).
    pub tools_by_name: Vec<u32>,
    /// What tools/list shows unless the operator says otherwise (see `choose_surface`);
    /// templates get its name (`tools`, `discovery`, `both`).
    #[serde(serialize_with = "surface_name")]
    pub surface: Surface,
    pub toolsets: Vec<ToolsetPlan>,
    /// Built from the checked tools (`search::SearchPlan::build`); rendered on its own.
    #[serde(skip)]
    pub search: search::SearchPlan,
    /// For Cargo.toml and the README.
    pub cargo_description: String,
    /// Every env var the server reads, for the README.
    pub env_vars: Vec<EnvVarPlan>,
    /// Ready-to-paste host configs, for the README.
    pub host_configs: Vec<HostConfig>,
    /// `[dev-dependencies]` entry of `mcpgen-runtime` (the smoke test's `testing` feature).
    pub runtime_dev_dependency: String,
    /// The container build (Dockerfile) and Kubernetes manifests.
    pub deploy: Deploy,
    /// The GitHub Actions workflow, when mcpgen.yaml asks for one.
    pub workflow: Option<Workflow>,
    /// `server.json` and `manifest.json`, when mcpgen.yaml asks for them.
    #[serde(skip)]
    pub distribution: Vec<distribution::DistributionFile>,
    /// Cargo.toml's publishing settings (`publish = false` unless server.json names the crate).
    pub publishing: distribution::Publishing,
}

/// The template's view of `results:`.
fn results_fields<S: serde::Serializer>(results: &mcpgen_spec::ResultsSpec, serializer: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut fields = serializer.serialize_struct("ResultsSpec", 4)?;
    fields.serialize_field("stdio_budget", &results.stdio_budget)?;
    fields.serialize_field("http_budget", &results.http_budget)?;
    fields.serialize_field("keep_seconds", &results.keep_seconds)?;
    fields.serialize_field("keep_bytes", &results.keep_bytes)?;
    fields.end()
}

/// What the README's table and the tool list in src/tools.rs read of a tool.
/// Serializing every tool's parameters for them doubled render's memory on GitHub.
fn tool_summaries<S: serde::Serializer>(tools: &[ToolPlan], serializer: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Pages<'a> {
        summary: &'a str,
    }
    #[derive(Serialize)]
    struct Summary<'a> {
        name: &'a str,
        const_name: &'a str,
        title: Option<&'a str>,
        description: &'a str,
        http_method: &'a str,
        path: &'a str,
        read_only: bool,
        pagination: Option<Pages<'a>>,
        /// The projection in words.
        response: Option<String>,
        /// `Some(true)` when it is (absent otherwise, for the templates' `filter`).
        long_running: Option<bool>,
    }
    serializer.collect_seq(tools.iter().map(|t| Summary {
        name: &t.name,
        const_name: &t.const_name,
        title: t.title.as_deref(),
        description: &t.description,
        http_method: t.http_method,
        path: &t.path,
        read_only: t.read_only,
        pagination: t.pagination.as_ref().map(|p| Pages { summary: &p.summary }),
        response: t.response.as_ref().map(ResponsePlan::summary),
        long_running: t.long_running.is_some().then_some(true),
    }))
}

#[derive(Debug, Serialize)]
pub struct ServerVariablePlan {
    pub name: String,
    pub env: String,
    pub default: Option<String>,
    pub secret: bool,
}

#[derive(Debug, Serialize)]
pub struct EnvVarPlan {
    pub name: String,
    pub required: bool,
    pub secret: bool,
    pub description: String,
    /// Shown in examples instead of a value.
    pub placeholder: String,
    /// Used when the variable is unset.
    pub default: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SchemePlan {
    pub name: String,
    pub env: String,
    #[serde(serialize_with = "rust::expr")]
    pub kind: SchemeKind<String>,
    /// For the README: what the variable holds.
    pub describe: String,
    /// `Some(TokenExchangeSpec { … })` or `None`, as Rust.
    pub token_exchange: String,
}

/// A toolset: its name, description and tool indexes.
#[derive(Debug, Clone, Serialize)]
pub struct ToolsetPlan {
    pub name: String,
    pub description: String,
    pub tools: Vec<u32>,
}

#[derive(Debug, Serialize)]
pub struct ToolPlan {
    pub name: String,
    /// The Rust `const` holding this tool's entry.
    pub const_name: String,
    pub title: Option<String>,
    pub description: String,
    /// One line for search results: the title, else the description's first sentence.
    pub summary: String,
    /// The operation's tags, for the search index and the default toolsets.
    #[serde(skip)]
    pub tags: Vec<String>,
    pub operation_id: Option<String>,
    #[serde(serialize_with = "rust::expr")]
    pub method: Method,
    pub http_method: &'static str,
    pub path: String,
    /// The operation's own server URL, when it has one.
    pub server: Option<String>,
    /// JSON pointer of the operation, for diagnostics.
    #[serde(skip)]
    pub pointer: String,
    /// Warnings found while planning (the self-check reports them).
    #[serde(skip)]
    pub findings: Vec<Diagnostic>,
    /// Pretty-printed JSON Schema of the arguments object. Not serialized with
    /// the plan: `render` hands it to each tool's template on its own.
    #[serde(skip)]
    pub input_schema: String,
    /// The result's JSON Schema (`outputSchema`), when the 2xx response has a
    /// usable one; like `input_schema`, rendered on its own.
    #[serde(skip)]
    pub output_schema: Option<String>,
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
    #[serde(serialize_with = "rust::expr")]
    pub params: Vec<ParamPlan>,
    #[serde(serialize_with = "rust::expr")]
    pub body: Option<BodyPlan>,
    #[serde(serialize_with = "rust::expr")]
    pub security: Vec<Vec<String>>,
    /// Set when mcpgen.yaml gives this tool its own limits.
    #[serde(serialize_with = "rust::expr")]
    pub policy: Option<Policy>,
    pub pagination: Option<PaginationPlan>,
    /// `tools.<id>.response`: what the model gets back.
    #[serde(serialize_with = "rust::expr")]
    pub response: Option<ResponsePlan>,
    /// Follows a 202 Accepted to the job's end.
    #[serde(serialize_with = "rust::expr")]
    pub long_running: Option<LongRunningPlan>,
}

/// What every tool inherits: the top of mcpgen.yaml, and the spec (for schemas).
#[derive(Debug, Clone, Copy)]
pub struct ToolDefaults<'d> {
    /// The raw document, for the response schemas.
    pub document: &'d Value,
    pub output_schemas: bool,
    pub policy: Policy,
    pub page_bounds: PageBounds,
}

pub struct PlanInputs<'s> {
    /// Tool name by operation key (`names::assign`).
    pub tool_names: &'s IndexMap<String, String>,
    /// The selection file as diagnostics name it.
    pub config_file: &'s str,
    /// The spec path as written in mcpgen.yaml (for generated headers).
    pub spec_file: &'s str,
    /// The spec path as diagnostics name it.
    pub diagnostics_file: &'s str,
    pub runtime_dependency: String,
    pub runtime_dev_dependency: String,
    pub instructions: Option<String>,
    /// The raw spec, for response schemas.
    pub document: &'s Value,
}

pub fn plan_tools(selection: &Selection, inputs: PlanInputs) -> Result<Plan, Error> {
    let defaults = ToolDefaults {
        document: inputs.document,
        output_schemas: selection.output_schemas,
        policy: selection.policy,
        page_bounds: selection.page_bounds,
    };
    let plan_one = |op: &Operation| {
        let custom = selection.overrides.get(&op.key);
        let name = inputs
            .tool_names
            .get(&crate::plan::names::op_key(op))
            .cloned()
            .expect("every selected operation is named");
        plan_tool(
            op,
            name,
            inputs.diagnostics_file,
            custom.map(|c| (c, inputs.config_file)),
            defaults,
        )
    };
    // Tools are planned independently: on every core, results kept in spec order.
    let planned = crate::parallel::map_ordered(&selection.operations, |op| plan_one(op));
    let mut diags = Vec::new();
    let mut consts = BTreeSet::new();
    let mut tools = Vec::new();
    for (op, planned) in selection.operations.iter().zip(planned) {
        // Problems found while resolving count only for selected operations.
        diags.extend(op.problems.iter().filter(|d| !d.warning).cloned());
        match planned {
            Ok(mut tool) => {
                tool.findings.extend(op.problems.iter().filter(|d| d.warning).cloned());
                if let Some(text) = &tool.output_schema
                    && !(selection.redaction.remove.is_empty() && selection.redaction.mask.is_empty())
                {
                    let mut schema: Value = serde_json::from_str(text).expect("planned schemas are JSON");
                    redact::adjust_schema(&mut schema, &selection.redaction);
                    tool.output_schema =
                        Some(serde_json::to_string_pretty(&schema).expect("JSON values always serialize"));
                }
                // `a-b` and `a_b` are distinct tools but would share a const name.
                tool.const_name = unique(tool.const_name, &mut consts);
                tools.push(tool)
            }
            Err(d) => diags.push(*d),
        }
    }
    jobs::resolve(&mut tools, &mut diags);
    let exposed = resources::Context {
        server_name: &selection.crate_name,
        config_file: inputs.config_file,
        tools: &tools,
        operations: &selection.operations,
    };
    let resources = resources::plan_resources(&selection.resources, &exposed, &mut diags);
    let prompts = resources::plan_prompts(&selection.prompts, &exposed, &mut diags);
    let oauth = selection.oauth.as_ref().map(|oauth| {
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
        let mut tool_scopes = Vec::new();
        for (tool, scope, line, column) in &oauth.tool_scopes {
            if names.contains(&tool.as_str()) {
                tool_scopes.push((tool.clone(), scope.clone()));
                continue;
            }
            let mut diag = Diagnostic::new(
                inputs.config_file,
                format!("http.oauth.scopes.tools: this server has no tool `{tool}`"),
            )
            .line_col(*line, *column);
            diag = match crate::diag::did_you_mean(tool, names.iter().copied()) {
                Some(near) => diag.help(format!(
                    "did you mean `{near}`? (tool names as `mcpgen list` shows them)"
                )),
                None => diag.help("use tool names as `mcpgen list` shows them"),
            };
            diags.push(diag);
        }
        OAuthPlan {
            settings: oauth.clone(),
            tool_scopes,
        }
    });
    let schemes: Vec<SchemePlan> = selection
        .auth
        .iter()
        .map(|(name, binding)| scheme_plan(name, binding))
        .collect();
    let env_vars = env_vars(selection, &schemes);
    let host_configs = crate::plan::deploy::host_configs(
        &selection.crate_name,
        &selection.inbound_token_env,
        &env_vars,
        selection.oauth.as_ref().map(|o| o.audience.as_str()),
    );
    let deploy = crate::plan::deploy::deploy(
        &selection.crate_name,
        &selection.crate_version,
        &selection.inbound_token_env,
        &env_vars,
    );
    finish(
        Plan {
            resources,
            prompts,
            cargo_description: format!("MCP server for the {} API, generated by mcpgen", selection.title),
            env_vars,
            host_configs,
            deploy,
            workflow: None,
            distribution: Vec::new(),
            publishing: distribution::Publishing::default(),
            runtime_dev_dependency: inputs.runtime_dev_dependency,
            generator_version: env!("CARGO_PKG_VERSION").to_string(),
            runtime_version: crate::RUNTIME_VERSION,
            spec_file: inputs.spec_file.to_string(),
            crate_name: selection.crate_name.clone(),
            crate_version: selection.crate_version.clone(),
            title: selection.title.clone(),
            instructions: inputs
                .instructions
                .as_deref()
                .map(crate::text::clean)
                .filter(|t| !t.is_empty()),
            runtime_dependency: inputs.runtime_dependency,
            base_url_env: selection.base_url_env.clone(),
            base_url_default: selection.base_url_default.clone(),
            base_url_relative: selection.base_url_relative.clone(),
            server_variables: selection
                .server_variables
                .iter()
                .map(|(name, env, default, secret)| ServerVariablePlan {
                    name: name.clone(),
                    env: env.clone(),
                    default: default.clone(),
                    secret: *secret,
                })
                .collect(),
            policy: selection.policy,
            redaction: selection.redaction.clone(),
            inbound_token_env: selection.inbound_token_env.clone(),
            results: selection.results,
            oauth,
            schemes,
            tools_by_name: {
                let mut order: Vec<u32> = (0..tools.len() as u32).collect();
                order.sort_by(|&a, &b| tools[a as usize].name.cmp(&tools[b as usize].name));
                order
            },
            surface: Surface::Tools,
            toolsets: selection
                .toolsets
                .iter()
                .map(|t| ToolsetPlan {
                    name: t.name.clone(),
                    description: t.description.clone(),
                    tools: t.operations.iter().map(|&i| i as u32).collect(),
                })
                .collect(),
            search: search::SearchPlan::default(),
            tools,
        },
        diags,
    )
}

/// Inbound OAuth as the templates see it.
#[derive(Debug, Clone, Serialize)]
pub struct OAuthPlan {
    #[serde(flatten)]
    pub settings: crate::select::oauth::OAuth,
    /// (tool name, scope)
    pub tool_scopes: Vec<(String, String)>,
}

fn surface_name<S: serde::Serializer>(surface: &Surface, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(surface.as_str())
}

/// The surface `surface:` names, else `tools` when its list (`listed_bytes`
/// of all tools) fits the token budget and `discovery` when it doesn't.
pub fn choose_surface(chosen: Option<Surface>, listed_bytes: usize, budget: usize) -> Surface {
    chosen.unwrap_or_else(|| {
        if estimate_tokens(listed_bytes) > budget {
            Surface::Discovery
        } else {
            Surface::Tools
        }
    })
}

fn env_vars(selection: &Selection, schemes: &[SchemePlan]) -> Vec<EnvVarPlan> {
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

fn scheme_plan(name: &str, binding: &Binding) -> SchemePlan {
    let (kind, describe) = match &binding.scheme {
        SecurityScheme::ApiKey { location, name: key } => {
            let place = match location {
                ApiKeyLocation::Header => "header",
                ApiKeyLocation::Query => "query parameter",
                ApiKeyLocation::Cookie => "cookie",
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
    }
}

/// Tokens are estimated as one per 4 bytes of JSON, the usual rule of thumb
/// for English text and JSON in current LLM tokenizers.
pub fn estimate_tokens(bytes: usize) -> usize {
    bytes.div_ceil(4)
}

impl ToolPlan {
    /// Bytes of the tool's `tools/list` entry.
    pub fn listed_bytes(&self) -> usize {
        self.listed_json().to_string().len()
    }

    /// The tool's entry in `tools/list` as the runtime serves it (compact JSON), for size budgets.
    pub fn listed_json(&self) -> Value {
        let schema: Value = serde_json::from_str(&self.input_schema).expect("planned schemas are JSON");
        // The runtime leaves out hints whose absence says the same (see its `server::annotations`).
        let annotations = match (self.read_only, self.idempotent) {
            (true, _) => json!({"readOnlyHint": true}),
            (false, true) => json!({"destructiveHint": self.destructive, "idempotentHint": true}),
            (false, false) => json!({"destructiveHint": self.destructive}),
        };
        let mut tool = json!({
            "name": self.name,
            "description": self.description,
            "inputSchema": schema,
            "annotations": annotations,
        });
        if let Some(title) = &self.title {
            tool["title"] = json!(title);
        }
        if let Some(output) = &self.output_schema {
            tool["outputSchema"] = serde_json::from_str(output).expect("planned schemas are JSON");
        }
        tool
    }
}

/// Up to the first sentence's end (or line's), at most 160 characters.
fn first_sentence(text: &str) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default().trim();
    let end = line.find(". ").map_or(line.len(), |i| i + 1);
    let sentence = &line[..end];
    match sentence.char_indices().nth(160) {
        Some((cut, _)) => format!("{}…", sentence[..cut].trim_end()),
        None => sentence.to_string(),
    }
}

/// `get-pet` → `GET_PET`; a leading digit gets a `T_` prefix.
fn const_name(tool: &str) -> String {
    let upper = tool.replace('-', "_").to_ascii_uppercase();
    if upper.starts_with(|c: char| c.is_ascii_digit()) {
        format!("T_{upper}")
    } else {
        upper
    }
}

/// Plan one tool; `custom` is its entry under `tools:` in mcpgen.yaml (`config_file` names that file).
pub fn plan_tool(
    op: &Operation,
    name: String,
    spec_file: &str,
    custom: Option<(&ToolOverride, &str)>,
    defaults: ToolDefaults,
) -> Result<ToolPlan, Box<Diagnostic>> {
    let mut args = Arguments::default();
    let mut params = plan_params(op, &mut args);
    let mut body = plan_body(op, &name, spec_file, &mut args)?;
    let mut description = describe(op);
    let mut title = op
        .summary
        .as_ref()
        .map(|s| crate::text::clean(s))
        .filter(|s| !s.is_empty());
    if let Some((custom, config_file)) = custom {
        description = custom.description.clone().unwrap_or(description);
        title = custom.title.clone().or(title);
        let tool = op.operation_id.as_deref().unwrap_or(&name);
        apply_overrides(tool, custom, config_file, &mut params, body.as_mut(), &mut args)?;
    }
    let custom_pages = custom.and_then(|(c, file)| {
        c.pagination
            .as_ref()
            .map(|p| (&p.value, (file, p.referenced.line(), p.referenced.column())))
    });
    let pagination = crate::plan::paginate::plan(op, &params, custom_pages, defaults.page_bounds)?;
    if let Some(p) = &pagination {
        description = format!(
            "{}\n\nReturns `items` from up to {} pages ({} items); when more remain, `next` holds the arguments to continue.",
            description.trim_end(),
            p.max_pages,
            p.max_items
        );
    }
    let response = match custom.and_then(|(c, file)| c.response.as_ref().map(|r| (r, file))) {
        None => None,
        Some((response, config_file)) => {
            let body = response_schema(op, &defaults, spec_file, None);
            let target = projection::Target {
                tool: op.operation_id.as_deref().unwrap_or(&name),
                config_file,
                items: pagination.as_ref().map(|p| p.items.as_str()),
                body: body.as_ref(),
            };
            let plan = projection::plan(response, &target, &mut args)?;
            if let Some(max) = plan.max_items {
                description = format!(
                    "{}\n\nLists in results hold at most {max} items (longer ones are cut, with a note).",
                    description.trim_end()
                );
            }
            Some(plan)
        }
    };
    let long_running = jobs::plan(
        op,
        op.operation_id.as_deref().unwrap_or(&name),
        custom.and_then(|(c, file)| c.long_running.as_ref().map(|l| (l, file))),
    )?;
    let policy = match custom.and_then(|(c, file)| c.upstream.as_ref().map(|u| (u, file))) {
        None => None,
        Some((section, file)) => {
            let mut problems = Vec::new();
            let policy = crate::select::policy(section, defaults.policy, file, &mut problems);
            if let Some(first) = problems.into_iter().next() {
                return Err(Box::new(first));
            }
            Some(policy)
        }
    };

    let mut input = json!({ "type": "object", "properties": args.properties });
    if !args.required.is_empty() {
        input["required"] = json!(args.required);
    }
    input["additionalProperties"] = json!(false);

    let (read_only, destructive, idempotent) = match op.method {
        Method::Get | Method::Head | Method::Options | Method::Trace => (true, false, true),
        Method::Put | Method::Delete => (false, true, true),
        Method::Post => (false, false, false),
        Method::Patch => (false, true, false),
    };
    let mut findings = Vec::new();
    // A job's 202 body is not what the call ends with: no schema promises it.
    let accepted_only = long_running.is_some() && op.response.as_ref().is_some_and(|r| r.code == "202");
    let output_schema = output_schema(
        op,
        pagination.as_ref(),
        response.as_ref(),
        &defaults,
        spec_file,
        &mut findings,
    )
    .filter(|_| !accepted_only);
    if long_running.is_some() {
        let deadline = policy.as_ref().unwrap_or(&defaults.policy).deadline_ms / 1000;
        description = format!(
            "{}\n\nMay take long: when the API accepts the request for later (202), the call waits up to {deadline} s \
             for the result; if it is still running then, the answer gives an `operation` id for `wait_for_operation`.",
            description.trim_end()
        );
    }

    let summary = title.clone().unwrap_or_else(|| first_sentence(&description));
    Ok(ToolPlan {
        title,
        description,
        summary,
        tags: op.tags.clone(),
        const_name: const_name(&name),
        name,
        operation_id: op.operation_id.clone(),
        method: op.method,
        http_method: op.method.as_str(),
        path: op.path.clone(),
        server: op.server.clone(),
        pointer: op.pointer.clone(),
        findings,
        input_schema: serde_json::to_string_pretty(&input).expect("JSON values always serialize"),
        output_schema,
        read_only,
        destructive,
        idempotent,
        params,
        body,
        security: op.security.clone(),
        policy,
        pagination,
        response,
        long_running,
    })
}

/// `tools.<id>.params` of mcpgen.yaml: descriptions, `required`, fixed
/// values (the argument hidden) and defaults.
fn apply_overrides(
    tool: &str,
    custom: &ToolOverride,
    config_file: &str,
    params: &mut [ParamPlan],
    mut body: Option<&mut BodyPlan>,
    args: &mut Arguments,
) -> Result<(), Box<Diagnostic>> {
    let Arguments {
        properties, required, ..
    } = args;
    for (wire, change) in &custom.params {
        let at = &change.referenced;
        let problem =
            |message: String| Box::new(Diagnostic::new(config_file, message).line_col(at.line(), at.column()));
        let (arg, fixed, default) = match (
            params.iter_mut().find(|p| p.name == *wire),
            body.as_mut()
                .and_then(|b| b.fields.iter_mut().find(|f| f.name == *wire)),
        ) {
            (Some(p), _) => (p.arg.clone(), &mut p.fixed, &mut p.default),
            (None, Some(f)) => (f.arg.clone(), &mut f.fixed, &mut f.default),
            (None, None) => {
                let known: Vec<&str> = params
                    .iter()
                    .map(|p| p.name.as_str())
                    .chain(body.iter().flat_map(|b| b.fields.iter().map(|f| f.name.as_str())))
                    .collect();
                let hint = crate::diag::did_you_mean(wire, known.iter().copied())
                    .map(|c| format!("did you mean `{c}`?"))
                    .unwrap_or_else(|| format!("its parameters and body fields: {}", known.join(", ")));
                let mut diagnostic = problem(format!("`{}` has no parameter or body field `{wire}`", tool));
                diagnostic.help = Some(hint);
                return Err(diagnostic);
            }
        };
        let change = &change.value;
        let schema = properties.get_mut(&arg).expect("every planned argument has a property");
        if let Some(text) = &change.description {
            schema["description"] = json!(text);
        }
        match change.required {
            Some(true) if !required.contains(&arg) => required.push(arg.clone()),
            Some(false) => required.retain(|r| *r != arg),
            _ => {}
        }
        match (&change.value, &change.default) {
            (Some(_), Some(_)) => {
                return Err(problem(format!(
                    "`{wire}`: give either `value` (always sent, hidden) or `default`, not both"
                )));
            }
            (Some(value), None) => {
                *fixed = Some(value.to_string());
                properties.shift_remove(&arg);
                required.retain(|r| *r != arg);
            }
            (None, Some(value)) => {
                *default = Some(value.to_string());
                schema["default"] = value.clone();
                required.retain(|r| *r != arg);
            }
            (None, None) => {}
        }
    }
    Ok(())
}

/// Output schemas larger than this are left out: they would cost the model
/// more context than they help (results still carry `structuredContent`).
const MAX_OUTPUT_SCHEMA_BYTES: usize = 8 * 1024;

/// The tool's `outputSchema`: the 2xx JSON response's schema, normalized for
/// output and loosened (no `required`, no closed objects) so that a response
/// that doesn't match the spec only loses its non-matching fields from
/// `structuredContent` (the runtime prunes them). Arrays are wrapped as
/// `{result: [...]}` and paged results as `{items: [...], ...}`, as the runtime does.
fn output_schema(
    op: &Operation,
    pages: Option<&PaginationPlan>,
    projection: Option<&ResponsePlan>,
    defaults: &ToolDefaults,
    spec_file: &str,
    findings: &mut Vec<Diagnostic>,
) -> Option<String> {
    if !defaults.output_schemas {
        return None;
    }
    // Results paged from a field keep only that field's items: those can't
    // stop early. A projection may leave little of a big schema: it is
    // measured after.
    let limit = (pages.is_none_or(|p| p.items.is_empty()) && projection.is_none()).then_some(MAX_OUTPUT_SCHEMA_BYTES);
    let mut problems = Vec::new();
    let mut schema = response_schema(op, defaults, spec_file, Some((limit, &mut problems)))?;
    // A broken response schema costs the tool its outputSchema, nothing more.
    if !problems.is_empty() {
        findings.extend(problems.into_iter().map(|d| {
            let message = format!("{}; the tool is generated without an output schema", d.message);
            Diagnostic { message, ..d }.warning()
        }));
        return None;
    }
    let kind = |s: &Value| s.get("type").and_then(Value::as_str).map(str::to_string);
    if let (None, Some(projection)) = (pages, projection) {
        projection::project_schema(&mut schema, projection);
    }
    let wrapped = match (pages, kind(&schema).as_deref()) {
        (Some(pages), _) => {
            let mut items = crate::plan::paginate::items_schema(&schema, &pages.items)?;
            if let Some(projection) = projection {
                projection::project_schema(&mut items, projection);
            }
            json!({"type": "object", "properties": {
                "items": {"type": "array", "items": items},
                "item_count": {"type": "integer"},
                "pages_fetched": {"type": "integer"},
                "complete": {"type": "boolean", "description": "false: more remain; pass `next` back to continue"},
                "next": {"type": "object", "description": "The arguments that continue where this result stopped."},
                "stopped": {"type": "string"}
            }})
        }
        (None, Some("object")) => schema,
        (None, Some("array")) => json!({"type": "object", "properties": {"result": schema}}),
        _ => return None,
    };
    let text = serde_json::to_string_pretty(&wrapped).expect("JSON values always serialize");
    (text.len() <= MAX_OUTPUT_SCHEMA_BYTES).then_some(text)
}

/// The 2xx JSON response's schema, normalized and loosened; `within`: a size
/// limit and where problems go (otherwise a schema with problems is `None`).
fn response_schema(
    op: &Operation,
    defaults: &ToolDefaults,
    spec_file: &str,
    within: Option<(Option<usize>, &mut Vec<Diagnostic>)>,
) -> Option<Value> {
    let (raw, at) = op.response.as_ref()?.schema.as_ref()?;
    let normalizer = crate::resolve::schema::Normalizer {
        doc: defaults.document,
        file: spec_file,
        for_input: false,
    };
    let mut schema = match within {
        Some((limit, problems)) => normalizer.normalize_within(raw, at, limit, problems)?,
        None => {
            let mut problems = Vec::new();
            let schema = normalizer.normalize_within(raw, at, None, &mut problems)?;
            problems.is_empty().then_some(schema)?
        }
    };
    loosen(&mut schema);
    Some(schema)
}

/// Drop what would reject a real response for a small mismatch.
fn loosen(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            map.remove("required");
            if map.get("additionalProperties") == Some(&Value::Bool(false)) {
                map.remove("additionalProperties");
            }
            map.values_mut().for_each(loosen);
        }
        Value::Array(items) => items.iter_mut().for_each(loosen),
        _ => {}
    }
}

/// Summary and description, whitespace tidied; the method and path when both are missing.
fn describe(op: &Operation) -> String {
    let parts: Vec<String> = [&op.summary, &op.description]
        .into_iter()
        .flatten()
        .map(|t| crate::text::clean(t))
        .filter(|t| !t.is_empty())
        .collect();
    let mut text = match parts.as_slice() {
        [] => format!("{} {}", op.method.as_str(), op.path),
        [one] => one.clone(),
        [summary, description] if description.starts_with(summary.trim_end_matches('.')) => description.clone(),
        [summary, description] => format!("{}\n\n{description}", end_sentence(summary)),
        _ => parts.join("\n\n"),
    };
    if op.deprecated {
        text = format!("Deprecated. {text}");
    }
    text
}

fn end_sentence(text: &str) -> String {
    if text.ends_with(['.', '!', '?', ':']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

#[cfg(test)]
mod tests {
    use super::args::claim;
    use super::names::tool_name;
    use super::*;

    fn op(id: Option<&str>, method: Method, path: &str) -> Operation {
        Operation {
            key: id.map_or_else(|| format!("{} {path}", method.as_str()), str::to_string),
            operation_id: id.map(str::to_string),
            method,
            path: path.to_string(),
            server: None,
            pointer: String::new(),
            summary: None,
            description: None,
            tags: vec![],
            deprecated: false,
            params: vec![],
            body: None,
            response: None,
            security: vec![],
            problems: vec![],
        }
    }

    #[test]
    fn tool_names_are_valid_and_readable() {
        assert_eq!(tool_name(&op(Some("getPetById"), Method::Get, "/")), "get_pet_by_id");
        assert_eq!(
            tool_name(&op(None, Method::Delete, "/pets/{petId}/photos")),
            "delete_pets_pet_id_photos"
        );
        assert_eq!(
            tool_name(&op(Some("büro/list Ünits"), Method::Get, "/")),
            "b_ro_list_nits"
        );
        let long = tool_name(&op(Some(&"veryLongName".repeat(10)), Method::Get, "/"));
        assert_eq!(long.len(), 64);
        assert!(long.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    }

    #[test]
    fn names_are_made_unique_deterministically() {
        let mut taken = BTreeSet::new();
        assert_eq!(unique("list".into(), &mut taken), "list");
        assert_eq!(unique("list".into(), &mut taken), "list_2");
        assert_eq!(unique("list".into(), &mut taken), "list_3");
        let mut args = BTreeSet::new();
        assert_eq!(claim("id", "path", &mut args), "id");
        assert_eq!(claim("id", "body", &mut args), "id_body");
        assert_eq!(claim("id", "body", &mut args), "id_body_2");
    }

    #[test]
    fn descriptions_join_summary_and_description() {
        let mut o = op(None, Method::Get, "/pets");
        assert_eq!(describe(&o), "GET /pets");
        o.summary = Some("List pets".into());
        o.description = Some("  Returns pets.\n\n\n  Paged. ".into());
        assert_eq!(describe(&o), "List pets.\n\nReturns pets.\n\n  Paged.");
    }
}
