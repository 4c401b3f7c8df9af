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
pub mod dialects;
pub mod distribution;
mod env;
mod jobs;
pub mod names;
pub mod paginate;
pub mod projection;
mod redact;
mod resources;
pub mod rust;
pub mod search;
mod tool;

use std::collections::{BTreeSet, HashMap};

use indexmap::IndexMap;
use mcpgen_spec::{Policy, SchemeKind, Surface};
use serde::Serialize;
use serde_json::{Value, json};

use crate::diag::{Diagnostic, Error, finish};
use crate::ir::{Method, Operation};
use crate::plan::deploy::{Deploy, HostConfig, Workflow};
use crate::plan::paginate::PaginationPlan;
use crate::select::{PageBounds, Redaction, Selection};
pub use args::ParamPlan;
pub use body::{BodyPlan, FieldPlan};
use env::{env_vars, scheme_plan};
use jobs::LongRunningPlan;
use names::unique;
use projection::ResponsePlan;
pub use tool::plan_tool;

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
    /// The per-user schemes (names, spec order): the README's connect section.
    pub per_user: Vec<String>,
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
    /// `schema_profile:` of mcpgen.yaml; templates get its name (`full`, `portable`).
    #[serde(serialize_with = "profile_name")]
    pub schema_profile: mcpgen_spec::SchemaProfile,
    /// How many tools each model API's dialect takes as listed (the README says).
    pub dialects: Vec<dialects::DialectCount>,
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
    /// Each OAuth caller connects their own credential.
    pub per_user: bool,
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
    /// Kept loaded in hosts that defer tool schemas (`tools.<id>.always_load`).
    pub always_load: bool,
}

/// What every tool inherits: the top of mcpgen.yaml, and the spec (for schemas).
#[derive(Debug, Clone, Copy)]
pub struct ToolDefaults<'d> {
    /// The raw document, for the response schemas.
    pub document: &'d Value,
    pub output_schemas: bool,
    pub policy: Policy,
    pub page_bounds: PageBounds,
    /// The security of operations that declare none: the schemes mcpgen.yaml
    /// declares that the spec never names (all of them together), if any.
    pub unsecured: &'d [Vec<String>],
    /// (scheme, body field) of the schemes sent in a body field: a tool that
    /// may use one doesn't show the model that field.
    pub body_credentials: &'d [(String, String)],
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

// Long by design: the plan's parts in dependency order (tools, then resources and prompts that name them, then
// auth, env vars, deploy and packaging that read them); each part is one call.
pub fn plan_tools(selection: &Selection, inputs: PlanInputs) -> Result<Plan, Error> {
    let declared: Vec<String> = selection
        .auth
        .iter()
        .filter(|(_, b)| b.unnamed)
        .map(|(name, _)| name.clone())
        .collect();
    let unsecured = if declared.is_empty() {
        Vec::new()
    } else {
        vec![declared]
    };
    let body_credentials: Vec<(String, String)> = selection
        .auth
        .iter()
        .filter_map(|(name, b)| match &b.scheme {
            crate::ir::SecurityScheme::ApiKey {
                location: crate::ir::ApiKeyLocation::Body,
                name: field,
            } => Some((name.clone(), field.clone())),
            _ => None,
        })
        .collect();
    let defaults = ToolDefaults {
        document: inputs.document,
        output_schemas: selection.output_schemas,
        policy: selection.policy,
        page_bounds: selection.page_bounds,
        unsecured: &unsecured,
        body_credentials: &body_credentials,
    };
    let plan_one = |op: &Operation| {
        let custom = selection.tools.get(&op.key);
        let name = inputs
            .tool_names
            .get(&crate::plan::names::op_key(op))
            .cloned()
            .expect("every selected operation is named");
        plan_tool(op, name, inputs.diagnostics_file, custom, inputs.config_file, defaults)
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
            per_user: schemes.iter().filter(|s| s.per_user).map(|s| s.name.clone()).collect(),
            schemes,
            tools_by_name: {
                let mut order: Vec<u32> = (0..tools.len() as u32).collect();
                order.sort_by(|&a, &b| tools[a as usize].name.cmp(&tools[b as usize].name));
                order
            },
            surface: Surface::Tools,
            schema_profile: selection.schema_profile,
            dialects: Vec::new(),
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

fn profile_name<S: serde::Serializer>(profile: &mcpgen_spec::SchemaProfile, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(profile.as_str())
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

/// Tokens are estimated as one per 4 bytes of JSON, the usual rule of thumb
/// for English text and JSON in current LLM tokenizers.
pub fn estimate_tokens(bytes: usize) -> usize {
    bytes.div_ceil(4)
}

impl Plan {
    /// Each tool's index by its operationId (tools without one are left out).
    pub fn tools_by_operation_id(&self) -> HashMap<&str, usize> {
        self.tools
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.operation_id.as_deref().map(|id| (id, i)))
            .collect()
    }
}

impl ToolPlan {
    /// Bytes of the tool's `tools/list` entry as listed under `profile` (its input schema in that form).
    pub fn listed_bytes_in(&self, profile: mcpgen_spec::SchemaProfile) -> usize {
        let mut entry = self.listed_json();
        if profile == mcpgen_spec::SchemaProfile::Portable {
            entry["inputSchema"] = mcpgen_spec::portable::portable(&entry["inputSchema"]);
        }
        entry.to_string().len()
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
        if self.always_load {
            tool["_meta"] = json!({ mcpgen_spec::ALWAYS_LOAD: true });
        }
        tool
    }
}

#[cfg(test)]
mod tests {
    use super::args::claim;
    use super::names::tool_name;
    use super::tool::describe;
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
            security_pointer: String::new(),
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
