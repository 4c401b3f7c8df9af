//! The declarative server description that generated crates hand to the runtime.
//!
//! Input: nothing; these are plain `'static` data emitted by `mcpgen generate`.
//! The generator plans with the same enums, defaults and rules (this crate is
//! shared by both, and re-exported as `mcpgen_runtime::spec`), so what it
//! emits and what the runtime reads can't drift apart.
//! Invariants the generator guarantees (and `tests` in the generator check):
//! tool names are unique and match `^[a-zA-Z0-9_-]{1,64}$`; every `arg` named
//! by a parameter or body field is a property of the tool's input schema; every
//! scheme named in `RequestSpec::security` is listed in `ServerSpec::security_schemes`;
//! every `ToolSpec::listing` is a JSON object whose `name` is the tool's name.

pub mod dialect;
pub mod fields;
pub mod portable;
pub mod projection;
pub mod search;

/// One generated MCP server: identity, upstream and the tool table.
#[derive(Debug)]
pub struct ServerSpec {
    /// Crate and binary name, reported as the MCP `serverInfo.name`.
    pub name: &'static str,
    pub version: &'static str,
    /// The API's `info.title`, reported as `serverInfo.title`.
    pub title: Option<&'static str>,
    /// Sent to the client as `instructions` (the API's `info.description`).
    pub instructions: Option<&'static str>,
    pub base_url: BaseUrlSpec,
    /// Timeouts, retries and size cap of every tool without its own.
    pub policy: Policy,
    /// What is masked or removed from everything the server shows.
    pub redaction: RedactionSpec,
    /// The env var holding the bearer tokens accepted over HTTP (comma-separated).
    pub inbound_token_env: &'static str,
    /// Results too big for one message: the budgets and how they are held.
    pub results: ResultsSpec,
    /// OAuth access tokens instead over HTTP (mcpgen.yaml's `http.oauth`).
    pub oauth: Option<OAuthSpec>,
    pub security_schemes: &'static [SecuritySchemeSpec],
    pub tools: &'static [ToolSpec],
    /// Indexes into `tools` in the byte order of their names: lookups by
    /// name are a binary search, with no map built at start-up (and only the
    /// names compared are read, so a large table stays out of memory).
    pub by_name: &'static [u32],
    /// What `tools/list` shows unless the operator chooses otherwise.
    pub surface: Surface,
    /// The form of input schemas `tools/list` shows unless the operator chooses otherwise.
    pub schema_profile: SchemaProfile,
    /// Named subsets of `tools`, selectable at start and per HTTP path.
    pub toolsets: &'static [ToolsetSpec],
    /// Ranks `tools` for the discovery surface's search.
    pub search: search::SearchIndex<'static>,
    /// GET operations also read as MCP resources (mcpgen.yaml's `resources`).
    pub resources: &'static [ResourceSpec],
    /// Prompts the user can pick (mcpgen.yaml's `prompts`).
    pub prompts: &'static [PromptSpec],
}

/// A resource, or a resource template when `uri` has `{variables}`: read
/// by calling `tool` with each variable as the argument of the same name.
#[derive(Debug)]
pub struct ResourceSpec {
    /// A URI, or an RFC 6570 level-1 template (`pets://pets/{petId}`).
    pub uri: &'static str,
    pub name: &'static str,
    pub title: Option<&'static str>,
    pub description: Option<&'static str>,
    /// The media type of its content (the operation's 2xx response).
    pub mime_type: Option<&'static str>,
    /// The tool that reads it.
    pub tool: &'static str,
}

/// A prompt: its arguments fill `{name}` placeholders of its text.
#[derive(Debug)]
pub struct PromptSpec {
    pub name: &'static str,
    pub title: Option<&'static str>,
    pub description: &'static str,
    pub arguments: &'static [PromptArgument],
    /// The user message, with `{argument}` placeholders (tool references
    /// already resolved to tool names by the generator).
    pub text: &'static str,
}

#[derive(Debug)]
pub struct PromptArgument {
    pub name: &'static str,
    pub description: Option<&'static str>,
    pub required: bool,
}

impl ServerSpec {
    /// The index in `tools` of the tool with this name.
    pub fn tool_index(&self, name: &str) -> Option<usize> {
        let at = self
            .by_name
            .binary_search_by(|&i| self.tools.get(i as usize).map_or("", |t| t.name).cmp(name))
            .ok()?;
        Some(self.by_name[at] as usize)
    }
}

/// Inbound OAuth as mcpgen.yaml sets it; the server's flags and env vars
/// override each value (and can turn it on for a server generated without).
#[derive(Debug)]
pub struct OAuthSpec {
    /// The authorization server's issuer URL.
    pub issuer: &'static str,
    /// The server's canonical MCP URL, the audience its tokens must carry.
    pub audience: &'static str,
    /// Scopes every request needs.
    pub required_scopes: &'static [&'static str],
    /// The scope read-only tools need, and the one other tools need.
    pub read_scope: Option<&'static str>,
    pub write_scope: Option<&'static str>,
    /// (tool, scope): tools that need a scope of their own.
    pub tool_scopes: &'static [(&'static str, &'static str)],
}

/// How a server presents its operations in `tools/list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// One MCP tool per operation.
    Tools,
    /// A few meta-tools (search, describe, call) over every operation.
    Discovery,
    /// The meta-tools and one tool per operation.
    Both,
}

impl Surface {
    pub const ALL: [Surface; 3] = [Surface::Tools, Surface::Discovery, Surface::Both];

    /// Its name in mcpgen.yaml and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Surface::Tools => "tools",
            Surface::Discovery => "discovery",
            Surface::Both => "both",
        }
    }

    pub fn parse(text: &str) -> Option<Surface> {
        Surface::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn lists_operations(self) -> bool {
        self != Surface::Discovery
    }

    pub fn lists_meta_tools(self) -> bool {
        self != Surface::Tools
    }
}

/// Which form of each tool's input schema `tools/list` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchemaProfile {
    /// The schema as the spec says it (JSON Schema 2020-12).
    #[default]
    Full,
    /// A form every model API's dialect takes (`portable::portable`); the
    /// arguments are turned back (`portable::restore`) and validated against the full schema.
    Portable,
}

impl SchemaProfile {
    pub const ALL: [SchemaProfile; 2] = [SchemaProfile::Full, SchemaProfile::Portable];

    /// Its name in mcpgen.yaml and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaProfile::Full => "full",
            SchemaProfile::Portable => "portable",
        }
    }

    pub fn parse(text: &str) -> Option<SchemaProfile> {
        SchemaProfile::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A named subset of a server's tools (by default one per OpenAPI tag).
#[derive(Debug)]
pub struct ToolsetSpec {
    /// Lower-case letters, digits, `-` and `_`: it is also a URL path segment.
    pub name: &'static str,
    pub description: &'static str,
    /// Indexes into `ServerSpec::tools`, ascending.
    pub tools: &'static [u32],
}

/// The `_meta` key of a `tools/list` entry that asks hosts which defer tool
/// schemas until a search finds them (Claude Code, among others) to load
/// the tool from the start.
pub const ALWAYS_LOAD: &str = "anthropic/alwaysLoad";

/// Toolset names are URL path segments and command-line list items.
pub fn is_valid_toolset_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Where the upstream base URL comes from.
#[derive(Debug)]
pub struct BaseUrlSpec {
    pub env: &'static str,
    /// The spec's first server URL; when absent the env var is required.
    /// May hold `{name}` placeholders for `variables`.
    pub default: Option<&'static str>,
    /// Server variables filled from env vars when the default URL is used.
    pub variables: &'static [ServerVariableSpec],
    /// The spec's server URL when it is relative (`/api/v3`): resolved against
    /// the env var's URL, as OpenAPI resolves it against the document's location.
    pub relative: Option<&'static str>,
}

/// A `{name}` in the default base URL, read from an env var.
#[derive(Debug)]
pub struct ServerVariableSpec {
    pub name: &'static str,
    pub env: &'static str,
    /// Used when the env var is unset; without one the env var is required.
    pub default: Option<&'static str>,
    /// Masked wherever the server shows text, like a credential.
    pub secret: bool,
}

/// A security scheme of the spec bound to the env var that holds its credential.
#[derive(Debug)]
pub struct SecuritySchemeSpec {
    /// The key under `components.securitySchemes`.
    pub name: &'static str,
    pub env: &'static str,
    pub kind: SchemeKind,
    /// Per-user credentials: an OAuth caller's token exchanged for one for
    /// the API (RFC 8693), sent as a bearer token; `env` then serves callers
    /// without OAuth and may be unset.
    pub token_exchange: Option<TokenExchangeSpec>,
    /// Each OAuth caller's own credential, connected on the server's connect
    /// page and kept in the state store; `env` then serves stdio and may be unset.
    pub per_user: bool,
}

/// What a caller's token is exchanged for at the issuer's token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenExchangeSpec {
    /// The API's identifier at the issuer (the `audience` requested).
    pub audience: &'static str,
    /// Space-separated; empty: none requested.
    pub scopes: &'static str,
}

/// Generic over its strings so the generator plans with the same type
/// (`SchemeKind<String>`) that generated tables hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemeKind<S = &'static str> {
    ApiKey {
        location: ApiKeyLocation,
        name: S,
    },
    /// `Authorization: Bearer <value>`.
    Bearer,
    /// `Authorization: Basic base64(<value>)`, the env var holding `user:password`.
    Basic,
    /// OAuth2 client credentials grant: the scheme's env var holds the client
    /// id, `secret_env` the client secret; the access token is fetched from
    /// `token_url` (relative URLs resolve against the base URL), cached until
    /// shortly before it expires, and sent as a bearer token.
    OAuth2ClientCredentials {
        token_url: S,
        /// Space-separated, as the token request's `scope`; empty: none sent.
        scopes: S,
        secret_env: S,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeyLocation {
    Header,
    Query,
    Cookie,
    /// A field of the request body (declared in mcpgen.yaml: OpenAPI has no
    /// such scheme, but some APIs take their key there). The field is hidden
    /// from the model and filled from the env var.
    Body,
}

/// The longest tool name MCP allows.
pub const MAX_TOOL_NAME_LEN: usize = 64;

/// MCP's rule for tool names: 1 to 64 of `A-Z a-z 0-9 _ -` (`^[a-zA-Z0-9_-]{1,64}$`).
pub fn is_valid_tool_name(name: &str) -> bool {
    (1..=MAX_TOOL_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// One MCP tool: what the model sees, and how to turn a call into a request.
#[derive(Debug)]
pub struct ToolSpec {
    pub name: &'static str,
    /// One line for search results: the title, else the description's first sentence.
    pub summary: &'static str,
    /// The tool's `tools/list` entry as compact JSON, served as it is: `name`,
    /// `title`, `description`, `inputSchema` (JSON Schema draft 2020-12 of the
    /// arguments object), `outputSchema` and `annotations`. Results that don't
    /// match `outputSchema` lose the non-matching parts from `structuredContent`
    /// (the text content keeps everything), so they never fail a client's check.
    pub listing: &'static str,
    pub annotations: Annotations,
    pub request: RequestSpec,
    /// This tool's own limits; `None`: the server's.
    pub policy: Option<Policy>,
    /// How to follow the operation's pages; `None`: one request per call.
    pub pagination: Option<PaginationSpec>,
    /// How its results are shaped; `None`: as the API answers.
    pub response: Option<ResponseSpec>,
    /// The operation may answer 202 Accepted and finish later; `None`: a 202
    /// is its answer.
    pub long_running: Option<LongRunningSpec>,
}

/// A long-running operation (mcpgen.yaml's `tools.<id>.long_running`, or
/// detected from a declared 202 response): followed to its end after a 202.
#[derive(Debug, Clone, Copy)]
pub struct LongRunningSpec {
    pub status: JobStatus,
    /// How to stop the job; `None`: the API offers no way (cancelling only
    /// stops watching it).
    pub cancel: Option<JobCancel>,
}

/// Where a job's status is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// The 202's `Operation-Location`, `Azure-AsyncOperation` or `Location`
    /// header (on the API's own host).
    Header,
    /// A call of another tool (by name), its arguments taken from the 202's
    /// JSON body: `(argument, field path)`.
    Tool {
        tool: &'static str,
        args: &'static [(&'static str, &'static str)],
    },
}

/// How a job is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobCancel {
    /// `DELETE` on the status URL.
    DeleteStatus,
    /// A call of another tool, with the status tool's arguments.
    Tool { tool: &'static str },
}

/// Response projection (mcpgen.yaml's `tools.<id>.response`): field paths
/// (`fields::FieldPath`) relative to the response body, or to each item for a
/// paged tool. The generator rewrites `outputSchema` to match.
#[derive(Debug, Clone, Copy)]
pub struct ResponseSpec {
    /// Fields kept, with what leads to them; empty keeps every field.
    pub fields: &'static [&'static str],
    /// Fields renamed: `(path, new name)`, applied after `fields`.
    pub rename: &'static [(&'static str, &'static str)],
    /// Items kept of every list in a result, at most.
    pub max_items: Option<u32>,
    /// The tool takes an optional `fields` argument: the model narrows what it
    /// gets back per call, in the result's own (renamed) terms.
    pub fields_argument: bool,
}

/// Results too big for one message of their transport (mcpgen.yaml's
/// `results`): answered with a preview and a link, the whole held for
/// `resources/read` in pages within the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResultsSpec {
    /// The most a result may take in one message over stdio, in bytes (0: no limit).
    pub stdio_budget: usize,
    /// The same over HTTP.
    pub http_budget: usize,
    /// How long a held result stays readable, in seconds.
    pub keep_seconds: u64,
    /// All held results together, at most, in bytes.
    pub keep_bytes: usize,
}

impl ResultsSpec {
    /// Stdio hosts commonly read lines of at most 64 KiB; proxies in front of
    /// HTTP servers commonly cut SSE lines at 1 MiB.
    pub const DEFAULT: ResultsSpec = ResultsSpec {
        stdio_budget: 60_000,
        http_budget: 800_000,
        keep_seconds: 15 * 60,
        keep_bytes: 64 << 20,
    };
}

/// Timeouts, retries and the response cap of upstream calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Per attempt, from connecting to the last body byte.
    pub timeout_ms: u64,
    /// For the whole tool call: every attempt, backoff and page.
    pub deadline_ms: u64,
    /// Attempts per request, the first included (1: no retries).
    pub max_attempts: u32,
    /// The most body bytes kept per response (and per paginated result).
    pub max_response_bytes: usize,
}

impl Policy {
    pub const DEFAULT: Policy = Policy {
        timeout_ms: 30_000,
        deadline_ms: 60_000,
        max_attempts: 3,
        max_response_bytes: 1024 * 1024,
    };
}

/// Following an operation's pages within one call.
#[derive(Debug)]
pub struct PaginationSpec {
    pub kind: PageKind,
    /// Where a page's items are: a dotted field path; `""`: the body is the array.
    pub items: &'static str,
    pub max_pages: u32,
    pub max_items: u32,
}

/// The pagination schemes; `param`/`size` are tool argument names. Generic
/// over its strings like `SchemeKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind<S = &'static str> {
    /// The next cursor is the response field `next` (dotted path), sent back as `param`.
    Cursor { param: S, next: S },
    /// `param` is the `id` of the last item while the field `has_more` is true (Stripe).
    AfterLastItem { param: S, id: S, has_more: S },
    /// `param` is the index of the first item; `size` the page size.
    Offset { param: S, size: Option<S> },
    /// `param` is the page number, counted from `first`; `size` the page size.
    Page { param: S, size: Option<S>, first: u32 },
    /// RFC 8288 `Link: <…>; rel="next"`; the next URL's query becomes the arguments.
    Link,
}

/// Redaction rules from mcpgen.yaml, applied on top of the credentials.
#[derive(Debug)]
pub struct RedactionSpec {
    /// Header names whose values are masked wherever they appear.
    pub headers: &'static [&'static str],
    /// JSON field paths removed from results (`**.password`, `$.users[*].email`).
    pub remove: &'static [&'static str],
    /// JSON field paths whose values are replaced by the mask.
    pub mask: &'static [&'static str],
    /// Regular expressions masked in every text.
    pub patterns: &'static [&'static str],
    /// Also mask common secret shapes (bearer tokens, `sk-…`, `ghp_…`, AWS keys).
    pub default_patterns: bool,
}

impl RedactionSpec {
    pub const DEFAULT: RedactionSpec = RedactionSpec {
        headers: &[],
        remove: &[],
        mask: &[],
        patterns: &[],
        default_patterns: true,
    };
}

/// MCP tool annotations, derived by the generator from the HTTP method.
#[derive(Debug, Clone, Copy)]
pub struct Annotations {
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
    pub open_world: bool,
}

/// The recipe for the upstream request of one tool.
#[derive(Debug)]
pub struct RequestSpec {
    pub method: Method,
    /// Path template relative to the base URL, e.g. `/pets/{petId}`.
    pub path: &'static str,
    /// The operation's own server (OpenAPI `servers` on the operation or its
    /// path): an absolute URL, or one relative to the base URL.
    pub server: Option<&'static str>,
    pub params: &'static [ParamSpec],
    pub body: Option<BodySpec>,
    /// Alternatives (OR) of scheme sets (AND), as in OpenAPI `security`.
    /// Empty: no credentials are sent.
    pub security: &'static [&'static [&'static str]],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Put,
    Post,
    Delete,
    Options,
    Head,
    Patch,
    Trace,
}

impl Method {
    /// The method of an OpenAPI path item key (`get`, `post`, …).
    pub fn from_openapi(key: &str) -> Option<Method> {
        Some(match key {
            "get" => Method::Get,
            "put" => Method::Put,
            "post" => Method::Post,
            "delete" => Method::Delete,
            "options" => Method::Options,
            "head" => Method::Head,
            "patch" => Method::Patch,
            "trace" => Method::Trace,
            _ => return None,
        })
    }

    /// Safe to send twice (RFC 9110 §9.2.2): what may be retried after a timeout.
    pub fn is_idempotent(self) -> bool {
        matches!(
            self,
            Method::Get | Method::Head | Method::Options | Method::Put | Method::Delete | Method::Trace
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Head => "HEAD",
            Method::Patch => "PATCH",
            Method::Trace => "TRACE",
        }
    }
}

/// A path, query, header or cookie parameter, fed from one tool argument.
#[derive(Debug)]
pub struct ParamSpec {
    /// The argument's property name in the input schema.
    pub arg: &'static str,
    /// The parameter's name on the wire.
    pub name: &'static str,
    pub location: Location,
    pub style: Style,
    pub explode: bool,
    /// Set in mcpgen.yaml: a fixed value (JSON text); the argument is hidden
    /// from the model and this is always sent.
    pub fixed: Option<&'static str>,
    /// Set in mcpgen.yaml: sent (JSON text) when the argument is absent.
    pub default: Option<&'static str>,
}

impl ParamSpec {
    /// A path parameter fed from the argument of the same name, in OpenAPI's
    /// default style for its location. Generated tables use these shorthands
    /// for the common case and the struct literal for anything else.
    pub const fn path(name: &'static str) -> ParamSpec {
        ParamSpec::plain(name, Location::Path)
    }
    /// A query parameter: `form` style, exploded.
    pub const fn query(name: &'static str) -> ParamSpec {
        ParamSpec::plain(name, Location::Query)
    }
    /// A header: `simple` style.
    pub const fn header(name: &'static str) -> ParamSpec {
        ParamSpec::plain(name, Location::Header)
    }
    /// A cookie: `form` style, exploded.
    pub const fn cookie(name: &'static str) -> ParamSpec {
        ParamSpec::plain(name, Location::Cookie)
    }
    const fn plain(name: &'static str, location: Location) -> ParamSpec {
        let (style, explode) = location.default_style();
        ParamSpec {
            arg: name,
            name,
            location,
            style,
            explode,
            fixed: None,
            default: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Location {
    Path,
    Query,
    Header,
    Cookie,
}

impl Location {
    /// As OpenAPI's `in` names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Path => "path",
            Location::Query => "query",
            Location::Header => "header",
            Location::Cookie => "cookie",
        }
    }

    /// OpenAPI's default `style` and `explode` for the location (what
    /// `ParamSpec::path` and its siblings set).
    pub const fn default_style(self) -> (Style, bool) {
        match self {
            Location::Path | Location::Header => (Style::Simple, false),
            Location::Query | Location::Cookie => (Style::Form, true),
        }
    }
}

/// OpenAPI 3 parameter serialization styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Simple,
    Label,
    Matrix,
    Form,
    SpaceDelimited,
    PipeDelimited,
    DeepObject,
    /// A parameter described by `content` instead of `schema`: the value as JSON text.
    Content,
}

#[derive(Debug)]
pub struct BodySpec {
    pub media_type: &'static str,
    pub encoding: BodyEncoding,
    pub shape: BodyShape,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEncoding {
    Json,
    FormUrlEncoded,
    /// `multipart/form-data`: one part per field; `file` fields carry content.
    Multipart,
    /// The body is one string argument, sent as is (`text/plain` and other `text/*`).
    Text,
    /// The body is one file argument (`application/octet-stream`, images, …).
    Binary,
}

/// How tool arguments become the body.
#[derive(Debug)]
pub enum BodyShape {
    /// The body is the value of one argument.
    Whole { arg: &'static str },
    /// The body is an object whose properties are top-level arguments
    /// (flattened so the model sees one flat argument list).
    Fields(&'static [BodyField]),
}

#[derive(Debug)]
pub struct BodyField {
    pub arg: &'static str,
    pub name: &'static str,
    /// A multipart file part: the argument is a file object (see `upstream::FileArg`).
    pub file: bool,
    /// Form bodies: how arrays and objects are written (the OpenAPI `encoding` object).
    pub style: Style,
    pub explode: bool,
    /// As for `ParamSpec`.
    pub fixed: Option<&'static str>,
    pub default: Option<&'static str>,
}

impl BodyField {
    /// A field fed from the argument of the same name; not a file; `form`
    /// style, exploded (OpenAPI's default for form bodies).
    pub const fn named(name: &'static str) -> BodyField {
        BodyField {
            arg: name,
            name,
            file: false,
            style: Style::Form,
            explode: true,
            fixed: None,
            default: None,
        }
    }
}
