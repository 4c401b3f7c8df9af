//! The selection file (`mcpgen.yaml`) as the user wrote it.
//!
//! Input: YAML text. Output: `SelectionFile`, with the spans of values that
//! later stages may complain about (operation ids, tags, env names), so their
//! diagnostics point at `mcpgen.yaml:line:col`. Unknown keys are errors.
//! Resolving it against the spec is `select`'s job.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::diag::{Diagnostic, Error};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SelectionFile {
    /// Path of the OpenAPI document, relative to this file; or its URL, which `mcpgen update` fetches
    /// into a copy next to this file, pinned in mcpgen.lock (`generate` reads the copy, offline).
    #[schemars(with = "String")]
    pub spec: Spanned<String>,
    /// Directory of the generated crate, relative to this file.
    #[schemars(with = "String")]
    pub output: Spanned<String>,
    pub server: ServerSection,
    /// How the generated crate depends on `mcpgen-runtime`.
    #[serde(default)]
    pub runtime: RuntimeSection,
    /// Hard limit on the number of tools.
    #[schemars(with = "Option<usize>")]
    pub max_tools: Option<Spanned<usize>>,
    /// Budget for the `tools/list` answer, in estimated tokens (default 25000):
    /// a larger list gets the discovery surface unless `surface` says otherwise,
    /// and `surface: tools` over it warns (fails with `--strict`), naming the biggest tools.
    #[schemars(with = "Option<usize>")]
    pub max_tools_list_tokens: Option<Spanned<usize>>,
    /// What `tools/list` shows: `tools` (one tool per operation), `discovery`
    /// (search, describe and call meta-tools over every operation) or `both`.
    /// Default: `tools` when the list fits `max_tools_list_tokens`, else `discovery`.
    #[schemars(with = "Option<SurfaceChoice>")]
    pub surface: Option<Spanned<SurfaceChoice>>,
    /// The form of each tool's input schema in `tools/list`: `full` (the
    /// spec's schema, JSON Schema 2020-12) or `portable` (a form every model
    /// API takes: OpenAI strict function calling, Gemini function declarations
    /// and Anthropic tools). Arguments are checked against the full schema
    /// either way. Default `full`; `--schema-profile` (`MCP_SCHEMA_PROFILE`)
    /// chooses at run time.
    pub schema_profile: Option<SchemaProfileChoice>,
    /// Named subsets of the tools, chosen at start (`--toolsets`) or per HTTP
    /// path (`/mcp/<toolset>`). Default: one per tag of the selected operations.
    #[serde(default)]
    #[schemars(with = "Option<IndexMap<String, ToolsetSection>>")]
    pub toolsets: Option<IndexMap<String, Spanned<ToolsetSection>>>,
    /// Operations to select; absent means every operation.
    pub include: Option<Rules>,
    /// Operations to drop after `include`.
    #[serde(default)]
    pub exclude: Rules,
    pub base_url: Option<BaseUrlSection>,
    /// Security scheme name (as in `components.securitySchemes`) → env binding.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, AuthBinding>")]
    pub auth: IndexMap<String, Spanned<AuthBinding>>,
    /// Timeouts, retries and the response size cap of every tool.
    #[serde(default)]
    pub upstream: UpstreamSection,
    /// Bounds of automatic pagination for every tool.
    #[serde(default)]
    pub pagination: PaginationDefaults,
    /// What is removed or masked in everything the server shows.
    #[serde(default)]
    pub redact: RedactSection,
    /// Give tools an `outputSchema` from their 2xx response (default true);
    /// schemas over 8 KiB are always left out.
    pub output_schemas: Option<bool>,
    /// Settings of the streamable HTTP transport.
    #[serde(default)]
    pub http: HttpSection,
    /// Generated CI for the repository holding this file (opt-in).
    #[serde(default)]
    pub ci: CiSection,
    /// Manifests for where users find and install the server (opt-in).
    #[serde(default)]
    pub distribution: DistributionSection,
    /// Results too big for one message of their transport.
    #[serde(default)]
    pub results: ResultsSection,
    /// The release lint (`mcpgen lint`, also run by `generate`).
    #[serde(default)]
    pub lint: LintSection,
    /// Per-tool adjustments, keyed by operationId.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, ToolOverride>")]
    pub tools: IndexMap<String, Spanned<ToolOverride>>,
    /// Opt-in: selected GET operations also read as MCP resources (a
    /// template when the URI has `{parameters}`), keyed by operationId.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, ResourceSection>")]
    pub resources: IndexMap<String, Spanned<ResourceSection>>,
    /// Opt-in: prompts the user can pick in the host, keyed by name.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, PromptSection>")]
    pub prompts: IndexMap<String, Spanned<PromptSection>>,
    /// Environment variables by name: the spec's server variables, and
    /// descriptions of the variables named elsewhere in this file.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, EnvDeclaration>")]
    pub env: IndexMap<String, Spanned<EnvDeclaration>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SurfaceChoice {
    Tools,
    Discovery,
    Both,
}

impl SurfaceChoice {
    pub fn surface(self) -> mcpgen_spec::Surface {
        match self {
            SurfaceChoice::Tools => mcpgen_spec::Surface::Tools,
            SurfaceChoice::Discovery => mcpgen_spec::Surface::Discovery,
            SurfaceChoice::Both => mcpgen_spec::Surface::Both,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SchemaProfileChoice {
    Full,
    Portable,
}

impl SchemaProfileChoice {
    pub fn profile(self) -> mcpgen_spec::SchemaProfile {
        match self {
            SchemaProfileChoice::Full => mcpgen_spec::SchemaProfile::Full,
            SchemaProfileChoice::Portable => mcpgen_spec::SchemaProfile::Portable,
        }
    }
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolsetSection {
    /// Shown in the generated README and `--help`.
    pub description: Option<String>,
    /// The selected operations in this toolset, matched like the top-level `include`.
    #[serde(default)]
    pub include: Rules,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvDeclaration {
    /// Shown in the generated README and .env.example.
    pub description: Option<String>,
    /// The `{variable}` of the spec's server URL this env var fills.
    pub server_variable: Option<String>,
    /// For a server variable: used when the env var is unset (default: the spec's default).
    pub default: Option<String>,
    /// For a server variable: the env var must be set (no default applies).
    #[serde(default)]
    pub required: bool,
    /// For a server variable: its value is masked in everything the server shows.
    #[serde(default)]
    pub secret: bool,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolOverride {
    /// The tool's name instead of the snake_cased operationId.
    #[schemars(with = "Option<String>")]
    pub name: Option<Spanned<String>>,
    pub title: Option<String>,
    /// Replaces the spec's summary and description.
    pub description: Option<String>,
    /// By the parameter's or body field's name in the spec.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, ParamOverride>")]
    pub params: IndexMap<String, Spanned<ParamOverride>>,
    /// This tool's own limits; unset keys come from the top-level `upstream`.
    pub upstream: Option<UpstreamSection>,
    /// How this tool follows pages, instead of what mcpgen detects.
    #[schemars(with = "Option<PaginationOverride>")]
    pub pagination: Option<Spanned<PaginationOverride>>,
    /// What the model gets back of a successful answer; the tool's
    /// outputSchema is rewritten to match.
    #[schemars(with = "Option<ResponseOverride>")]
    pub response: Option<Spanned<ResponseOverride>>,
    /// How a 202 Accepted answer is followed to its end (operations that
    /// declare a 202 are followed through its `Location` header without this).
    #[schemars(with = "Option<LongRunningOverride>")]
    pub long_running: Option<Spanned<LongRunningOverride>>,
    /// Keep this tool loaded in hosts that defer tool schemas until a
    /// search finds them (its listing carries `_meta["anthropic/alwaysLoad"]`).
    /// For the few tools a model needs in most conversations; the discovery
    /// meta-tools always carry it.
    #[serde(default)]
    pub always_load: bool,
}

/// A GET operation read as a resource.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceSection {
    /// Its URI, or a template whose `{variables}` are the operation's
    /// parameters (default: `<server name>://<path>`, its path parameters as variables).
    #[schemars(with = "Option<String>")]
    pub uri: Option<Spanned<String>>,
    /// Default: the tool's name.
    pub name: Option<String>,
    pub title: Option<String>,
    /// Default: the operation's summary.
    pub description: Option<String>,
}

/// A prompt: one user message with `{argument}` placeholders and
/// `{tool:operationId}` references, which become the tool's name.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromptSection {
    pub title: Option<String>,
    /// What the prompt does, as hosts show it.
    pub description: String,
    #[serde(default)]
    pub arguments: Vec<PromptArgumentSection>,
    #[schemars(with = "String")]
    pub text: Spanned<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromptArgumentSection {
    pub name: String,
    pub description: Option<String>,
    #[serde(default)]
    pub required: bool,
}

/// A long-running operation's status and cancellation.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LongRunningOverride {
    /// The operationId of a GET operation that reads the job's status;
    /// default: the 202's `Operation-Location` / `Location` header.
    #[schemars(with = "Option<String>")]
    pub status: Option<Spanned<String>>,
    /// The status operation's arguments (by parameter name) from fields of
    /// the 202's JSON body (dotted paths).
    #[serde(default)]
    pub arguments: IndexMap<String, String>,
    /// How to stop the job: `DELETE` (on the status URL) or the operationId
    /// of an operation called with the status operation's arguments.
    #[schemars(with = "Option<String>")]
    pub cancel: Option<Spanned<String>>,
}

/// Response projection. Paths are redaction's (`a.b`, `items[*].id`,
/// `**.name`), in the API's terms: of the response body, as the spec
/// describes it (for a paged tool, within its items).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseOverride {
    /// Fields kept, with what leads to them; unset keeps every field.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub fields: Vec<Spanned<String>>,
    /// Fields renamed: path → new name (after `fields`).
    #[serde(default)]
    #[schemars(with = "IndexMap<String, String>")]
    pub rename: IndexMap<String, Spanned<String>>,
    /// Items kept of every list in a result, at most; the rest are cut with a note.
    #[schemars(with = "Option<u32>")]
    pub max_items: Option<Spanned<u32>>,
    /// Give the tool an optional `fields` argument, so the model can ask for
    /// fewer fields per call (default false).
    #[serde(default)]
    pub fields_argument: bool,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSection {
    /// Timeout of each request (default 30).
    #[schemars(with = "Option<f64>")]
    pub timeout_seconds: Option<Spanned<f64>>,
    /// Limit on a whole tool call: every attempt, backoff and page (default 60).
    #[schemars(with = "Option<f64>")]
    pub deadline_seconds: Option<Spanned<f64>>,
    /// Attempts per request, the first included; 1 turns retries off (default 3).
    #[schemars(with = "Option<u32>")]
    pub max_attempts: Option<Spanned<u32>>,
    /// The most response bytes passed to the model (default 1048576).
    #[schemars(with = "Option<usize>")]
    pub max_response_bytes: Option<Spanned<usize>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaginationDefaults {
    /// Pages fetched per call at most (default 5).
    pub max_pages: Option<u32>,
    /// Stop fetching pages once this many items are collected (default 500).
    pub max_items: Option<u32>,
    /// Detect pagination from parameter and response field names (default true).
    pub detect: Option<bool>,
}

/// How pages are followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PageStyle {
    /// A cursor from a response field, passed back in `param`.
    Cursor,
    /// `param` is the id of the last item while `has_more` is true (Stripe).
    AfterLastItem,
    /// `param` is the index of the first item.
    Offset,
    /// `param` is the page number.
    Page,
    /// RFC 8288 `Link: <…>; rel="next"` response headers.
    Link,
    /// One request per call.
    None,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaginationOverride {
    pub style: PageStyle,
    /// The query parameter (spec name) carrying the cursor, offset or page.
    pub param: Option<String>,
    /// cursor: the response field (dotted path) holding the next cursor.
    pub next: Option<String>,
    /// offset/page: the page-size query parameter (spec name).
    pub size: Option<String>,
    /// page: the number of the first page (default 1).
    pub first: Option<u32>,
    /// Where a page's items are (dotted path); `""`: the response is the array.
    pub items: Option<String>,
    /// after_last_item: the item field passed back (default `id`).
    pub id: Option<String>,
    /// after_last_item: the boolean response field saying more exist (default `has_more`).
    pub has_more: Option<String>,
    pub max_pages: Option<u32>,
    pub max_items: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedactSection {
    /// Header names whose values are masked wherever they appear (sent or echoed back).
    #[serde(default)]
    pub headers: Vec<String>,
    /// Response fields removed: `a.b`, `$.users[*].email`, `**.password` (any depth).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub remove: Vec<Spanned<String>>,
    /// Response fields whose values are replaced by `[REDACTED]`; same paths as `remove`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub mask: Vec<Spanned<String>>,
    /// Regular expressions masked in every result, error and log line.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub patterns: Vec<Spanned<String>>,
    /// Also mask common secret shapes: bearer tokens, `sk-…`, `ghp_…`, AWS keys, private keys (default true).
    pub default_patterns: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParamOverride {
    pub description: Option<String>,
    /// Always sent; the argument is hidden from the model.
    pub value: Option<serde_json::Value>,
    /// Sent when the model leaves the argument out; shown as the schema default.
    pub default: Option<serde_json::Value>,
    /// Whether the model must give the argument, when the spec has it wrong.
    pub required: Option<bool>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultsSection {
    /// The most a result may take in one message over stdio, in bytes
    /// (default 60000, under hosts' 64 KiB lines; 0: no limit). A bigger
    /// result is answered with a preview and a link to all of it.
    #[schemars(with = "Option<usize>")]
    pub stdio_budget: Option<Spanned<usize>>,
    /// The same over HTTP (default 800000, under proxies' 1 MiB lines).
    #[schemars(with = "Option<usize>")]
    pub http_budget: Option<Spanned<usize>>,
    /// How long a held result stays readable (default 15).
    #[schemars(with = "Option<u64>")]
    pub keep_minutes: Option<Spanned<u64>>,
    /// All held results together, at most (default 64).
    #[schemars(with = "Option<usize>")]
    pub keep_megabytes: Option<Spanned<usize>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DistributionSection {
    /// Write `server.json` for the official MCP registry (the crate published
    /// to crates.io as the package).
    pub registry: Option<RegistrySection>,
    /// Write `manifest.json` for an MCP Bundle (`.mcpb`) of the built binary.
    pub bundle: Option<BundleSection>,
    /// At most 100 characters, for both; default: the crate's description, cut.
    #[schemars(with = "Option<String>")]
    pub description: Option<Spanned<String>>,
    /// The crate's license (an SPDX expression), needed to publish it.
    #[schemars(with = "Option<String>")]
    pub license: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrySection {
    /// The server's name in the registry: a reverse-DNS namespace you can
    /// prove you own, a slash, a name (`io.github.acme/petstore`).
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// The source repository's URL.
    #[schemars(with = "Option<String>")]
    pub repository: Option<Spanned<String>>,
    /// The server's website.
    #[schemars(with = "Option<String>")]
    pub website: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BundleSection {
    /// Who publishes the bundle (the format requires it).
    #[schemars(with = "String")]
    pub author: Spanned<String>,
    /// The author's or the server's web page.
    #[schemars(with = "Option<String>")]
    pub homepage: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CiSection {
    /// Write a GitHub Actions workflow here (relative to this file, under the repository's
    /// `.github/workflows/`) that fails when the committed crate is stale, e.g. `.github/workflows/mcpgen.yml`.
    #[schemars(with = "Option<String>")]
    pub github_actions: Option<Spanned<String>>,
    /// The workflow also comments on pull requests with what their spec change does to agents (`mcpgen diff`).
    #[serde(default)]
    pub diff_comment: bool,
    /// With `spec` a URL: a cron schedule (UTC, e.g. `0 6 * * 1`) on which the workflow runs `mcpgen
    /// update` and opens or updates a pull request with the result and its report (also by hand).
    #[schemars(with = "Option<String>")]
    pub update_schedule: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LintSection {
    /// Rules not to check: tool-description, param-description, required,
    /// verb-name, similar-descriptions.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub skip: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    /// The env var holding the inbound bearer tokens (comma-separated);
    /// defaults to `<SERVER>_MCP_TOKENS`.
    #[schemars(with = "Option<String>")]
    pub token_env: Option<Spanned<String>>,
    /// Accept OAuth access tokens from an authorization server instead of
    /// static tokens (the MCP authorization spec). Each value can be
    /// overridden when the server starts (MCP_OAUTH_* env vars).
    pub oauth: Option<OAuthSection>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuthSection {
    /// The authorization server's issuer URL, as its tokens' `iss` says it
    /// (https; http only on loopback). Env: MCP_OAUTH_ISSUER.
    #[schemars(with = "String")]
    pub issuer: Spanned<String>,
    /// This server's public MCP URL, e.g. `https://mcp.example.com/mcp`:
    /// the audience (RFC 8707 resource) tokens must be for. Env: MCP_OAUTH_AUDIENCE.
    #[schemars(with = "String")]
    pub audience: Spanned<String>,
    /// Scopes every request needs. Env: MCP_OAUTH_REQUIRED_SCOPES.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub required_scopes: Vec<Spanned<String>>,
    /// Which scope each tool needs.
    #[serde(default)]
    pub scopes: ScopesSection,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopesSection {
    /// The scope read-only tools (GET, HEAD) need. Env: MCP_OAUTH_READ_SCOPE.
    #[schemars(with = "Option<String>")]
    pub read: Option<Spanned<String>>,
    /// The scope every other tool needs. Env: MCP_OAUTH_WRITE_SCOPE.
    #[schemars(with = "Option<String>")]
    pub write: Option<Spanned<String>>,
    /// Tool name → the scope it needs instead. Env: MCP_OAUTH_TOOL_SCOPES.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, String>")]
    pub tools: IndexMap<String, Spanned<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// Crate, package and binary name.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    #[serde(default = "default_version")]
    #[schemars(with = "String")]
    pub version: Spanned<String>,
    /// Shown to clients; defaults to the spec's `info.title`.
    pub title: Option<String>,
}

fn default_version() -> Spanned<String> {
    Spanned::new(
        "0.1.0".to_string(),
        serde_saphyr::Location::UNKNOWN,
        serde_saphyr::Location::UNKNOWN,
    )
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuntimeSection {
    /// A path dependency, relative to this file (for work inside the mcpgen repo).
    #[schemars(with = "Option<String>")]
    pub path: Option<Spanned<String>>,
    /// A crates.io version requirement; default: exactly this mcpgen's runtime version.
    #[schemars(with = "Option<String>")]
    pub version: Option<Spanned<String>>,
    /// A git repository holding `mcpgen-runtime` (its URL, as cargo takes it:
    /// https://, ssh://, file://), with at most one of `rev`, `tag`, `branch`.
    #[schemars(with = "Option<String>")]
    pub git: Option<Spanned<String>>,
    /// A commit of `git`.
    #[schemars(with = "Option<String>")]
    pub rev: Option<Spanned<String>>,
    /// A tag of `git`.
    #[schemars(with = "Option<String>")]
    pub tag: Option<Spanned<String>>,
    /// A branch of `git`.
    #[schemars(with = "Option<String>")]
    pub branch: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    #[serde(default, deserialize_with = "null_as_empty")]
    #[schemars(with = "Vec<String>")]
    pub operations: Vec<Spanned<String>>,
    #[serde(default, deserialize_with = "null_as_empty")]
    #[schemars(with = "Vec<String>")]
    pub tags: Vec<Spanned<String>>,
    /// Path globs (`/pets/**`); braces are literal.
    #[serde(default, deserialize_with = "null_as_empty")]
    #[schemars(with = "Vec<String>")]
    pub paths: Vec<Spanned<String>>,
    /// HTTP methods; when given, the block matches only these.
    #[serde(default, deserialize_with = "null_as_empty")]
    #[schemars(with = "Vec<String>")]
    pub methods: Vec<Spanned<String>>,
}

/// `tags:` with every entry commented out is YAML null: an empty list.
fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BaseUrlSection {
    /// The env var that holds the API's base URL.
    #[schemars(with = "String")]
    pub env: Spanned<String>,
    /// Used when the env var is unset; defaults to the spec's first server.
    pub default: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthBinding {
    /// The env var that holds the credential (for OAuth2: the client id).
    #[schemars(with = "String")]
    pub env: Spanned<String>,
    /// OAuth2 client credentials: the env var holding the client secret.
    #[schemars(with = "Option<String>")]
    pub client_secret_env: Option<Spanned<String>>,
    /// OAuth2: scopes to request (default: every scope the flow declares).
    pub scopes: Option<Vec<String>>,
    /// OAuth2: the token URL instead of the spec's (relative URLs resolve against the base URL).
    pub token_url: Option<String>,
    /// With `http.oauth`, each caller's token exchanged at the issuer for one for the API (RFC 8693),
    /// sent as a bearer token; `env` then serves callers without OAuth. Bearer and OAuth2 schemes.
    pub token_exchange: Option<TokenExchangeBinding>,
    /// With `http.oauth`, each caller's own key, connected once on a page the server links to (URL
    /// elicitation), sealed in the state store; `env` then serves stdio. API key, bearer, basic.
    pub per_user: Option<bool>,
    /// How the credential is sent, for a scheme the spec names but never
    /// defines, defines in a way mcpgen can't send (an `http` scheme such as
    /// `DSN`), or leaves out altogether: `bearer`, `basic` (the env var holds
    /// `user:password`), or `{header: NAME}`, `{query: NAME}`, `{cookie: NAME}`,
    /// `{body: FIELD}` (the env var holds the whole value; a body field is
    /// hidden from the model). A scheme the spec never names applies to every
    /// selected operation that declares no security.
    #[schemars(with = "Option<DeclaredScheme>")]
    pub scheme: Option<Spanned<DeclaredScheme>>,
}

/// `auth.<name>.scheme`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum DeclaredScheme {
    Kind(DeclaredKind),
    In(DeclaredPlace),
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeclaredKind {
    /// `Authorization: Bearer <value>`.
    Bearer,
    /// `Authorization: Basic base64(<value>)`.
    Basic,
}

/// Exactly one of the keys: where the value goes, under which name.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclaredPlace {
    pub header: Option<String>,
    pub query: Option<String>,
    pub cookie: Option<String>,
    /// A field of the request body: hidden from the model, filled from the env var.
    pub body: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenExchangeBinding {
    /// The API's identifier at the issuer: the `audience` of the exchanged token.
    #[schemars(with = "String")]
    pub audience: Spanned<String>,
    /// Scopes to request for the exchanged token.
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// The selection file's JSON Schema (`mcpgen schema`, `generator/mcpgen.schema.json`).
pub fn json_schema() -> String {
    let mut schema = schemars::schema_for!(SelectionFile);
    schema.insert("title".to_string(), "mcpgen selection file (mcpgen.yaml)".into());
    serde_json::to_string_pretty(&schema).expect("schemas serialize")
}

/// Parse the selection file; `file` is the name used in diagnostics.
pub fn parse(file: &str, text: &str) -> Result<SelectionFile, Error> {
    serde_saphyr::from_str::<SelectionFile>(text).map_err(|e| {
        let message = plain_message(&e);
        let (message, help) = match unknown_name(&message) {
            Some(found) => found,
            None => (
                message,
                "see the selection file reference in mcpgen's README".to_string(),
            ),
        };
        let mut d = Diagnostic::new(file, message).help(help);
        if let Some(loc) = e.location() {
            d = d.line_col(loc.line(), loc.column());
        }
        Error::one(d)
    })
}

/// serde-saphyr's message without its rendered snippet and position (we print
/// the position ourselves, in the same format as every other diagnostic).
fn plain_message(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    let first = text.lines().next().unwrap_or_default();
    // Drop a trailing " at line L, column C" that duplicates `line_col`.
    let message = match first.rfind(" at line ") {
        Some(i) => &first[..i],
        None => first,
    };
    // Say it in the file's terms, not the parser's.
    if let Some(key) = message.strip_prefix("duplicate mapping key: ") {
        let key = key.split(',').next().unwrap_or(key);
        return format!("`{key}` is set twice; keep one");
    }
    match message {
        "invalid u64" | "invalid usize" | "invalid u32" => "expected a whole number of 0 or more".to_string(),
        "invalid f64" => "expected a number".to_string(),
        other => other.to_string(),
    }
}

/// An unknown key or value, said like every other unknown name: with the
/// closest known one (`did you mean `max_tools`?`), else the list.
fn unknown_name(message: &str) -> Option<(String, String)> {
    let (what, rest) = ["unknown field `", "unknown variant `"]
        .iter()
        .find_map(|prefix| Some((&prefix[..prefix.len() - 2], message.strip_prefix(prefix)?)))?;
    let (wrong, expected) = rest.split_once("`, expected ")?;
    let expected = expected.strip_prefix("one of ").unwrap_or(expected);
    let known: Vec<&str> = expected
        .split(", ")
        .flat_map(|part| part.split(" or "))
        .map(|name| name.trim().trim_matches('`'))
        .filter(|name| !name.is_empty())
        .collect();
    let help = match crate::diag::did_you_mean(wrong, known.iter().copied()) {
        Some(close) => format!("did you mean `{close}`?"),
        None => format!("expected one of: {}", known.join(", ")),
    };
    Some((format!("{what} `{wrong}`"), help))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_and_values_get_the_closest_name() {
        let yaml = "spec: openapi.yaml\noutput: out\nmax_toolz: 3\nserver:\n  name: x\n";
        let Err(Error::Diagnostics(d)) = parse("mcpgen.yaml", yaml) else {
            panic!("rejected")
        };
        assert_eq!(d[0].message, "unknown field `max_toolz`");
        assert_eq!(d[0].help.as_deref(), Some("did you mean `max_tools`?"));
        let yaml = "spec: a\noutput: out\nserver: {name: x}\ntools:\n  t:\n    pagination: {style: cursr}\n";
        let Err(Error::Diagnostics(d)) = parse("mcpgen.yaml", yaml) else {
            panic!("rejected")
        };
        assert_eq!(d[0].message, "unknown variant `cursr`");
        assert_eq!(d[0].help.as_deref(), Some("did you mean `cursor`?"));
        // Nothing close: the names to choose from.
        let yaml = "spec: a\noutput: out\nserver: {name: x}\nzzz: 1\n";
        let Err(Error::Diagnostics(d)) = parse("mcpgen.yaml", yaml) else {
            panic!("rejected")
        };
        assert!(
            d[0].help
                .as_deref()
                .unwrap()
                .starts_with("expected one of: spec, output, server"),
            "{d:?}"
        );
    }

    #[test]
    fn unknown_keys_are_errors_with_position() {
        let yaml = "spec: openapi.yaml\noutput: out\nserver:\n  name: x\n  nmae: y\n";
        let err = parse("mcpgen.yaml", yaml).unwrap_err().to_string();
        assert!(err.starts_with("error: mcpgen.yaml:5:3: unknown field `nmae`"), "{err}");
    }

    #[test]
    fn missing_required_keys_are_named() {
        let err = parse("mcpgen.yaml", "spec: openapi.yaml\nserver:\n  name: x\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing field `output`"), "{err}");
    }

    #[test]
    fn spans_point_at_values() {
        let file = parse(
            "m",
            "spec: a.yaml\noutput: out\nserver: {name: x}\ninclude:\n  operations:\n    - listPets\n",
        )
        .unwrap();
        let op = &file.include.unwrap().operations[0];
        assert_eq!((op.referenced.line(), op.referenced.column()), (6, 7));
    }
}
