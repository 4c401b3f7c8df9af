//! The version-independent model of an API that every later stage reads.
//!
//! Built by `resolve` from an OpenAPI document; no `openapiv3` types past this
//! point. Schemas are JSON Schema values with local `$ref`s already inlined.
//! Field docs say where in the spec each value comes from.

use indexmap::IndexMap;
use serde_json::Value;

use crate::diag::Diagnostic;

#[derive(Debug, Clone)]
pub struct Api {
    /// `info.title`
    pub title: String,
    /// `info.version`
    pub version: String,
    /// `info.description`
    pub description: Option<String>,
    /// `servers[*].url`, variables substituted with their defaults.
    pub servers: Vec<String>,
    /// `servers[*]` as written: the URL template and each variable's default.
    pub server_templates: Vec<ServerTemplate>,
    /// `components.securitySchemes`, in document order.
    pub security_schemes: IndexMap<String, SecurityScheme>,
    /// `tags[*].name` then any tag used by an operation, in first-seen order.
    pub tags: Vec<String>,
    /// Every operation under `paths`, in document order.
    pub operations: Vec<Operation>,
    /// Pointers of the operations in path items that are not valid OpenAPI
    /// (each carries its problems; unselected, they are only warned about).
    pub invalid_operations: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ServerTemplate {
    pub url: String,
    /// `variables.<name>.default`, in document order.
    pub variables: IndexMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityScheme {
    ApiKey {
        location: ApiKeyLocation,
        name: String,
    },
    Bearer,
    Basic,
    /// OAuth2 (any flow) or OpenID Connect: an access token from the env is
    /// sent as a bearer token, or, with a client credentials flow, fetched by the server.
    OAuth2 {
        client_credentials: Option<ClientCredentials>,
    },
    /// A scheme we can't send (e.g. HTTP digest); named for diagnostics.
    Unsupported(String),
}

/// An OAuth2 `clientCredentials` flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    pub token_url: String,
    /// The flow's `scopes`, in document order.
    pub scopes: Vec<String>,
}

// The runtime's own enums (the shared `mcpgen-spec` crate): what is planned is what is emitted.
pub use mcpgen_spec::{ApiKeyLocation, Method};

#[derive(Debug, Clone)]
pub struct Operation {
    /// `operationId`
    pub operation_id: Option<String>,
    /// How `tools:` in mcpgen.yaml and mcpgen.lock address the operation: its
    /// operationId when no other operation in the document has it, else
    /// `METHOD /path` (OpenAPI requires unique ids; specs in the wild repeat them).
    pub key: String,
    pub method: Method,
    /// The key under `paths`.
    pub path: String,
    /// The operation's (else its path item's) first `servers` URL, variables at their defaults.
    pub server: Option<String>,
    /// JSON pointer of the operation, e.g. `/paths/~1pets~1{id}/get`.
    pub pointer: String,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub deprecated: bool,
    /// Path-item parameters merged with the operation's (operation wins).
    pub params: Vec<Param>,
    pub body: Option<Body>,
    /// The first 2xx response, summarised for pagination detection.
    pub response: Option<Response>,
    /// Effective `security`: the operation's, else the document's.
    /// Alternatives (OR) of scheme names (AND); an empty alternative means optional.
    pub security: Vec<Vec<String>>,
    /// JSON pointer of where `security` is said: the operation's own, else the document's.
    pub security_pointer: String,
    /// Problems found while resolving; reported only if the operation is selected.
    pub problems: Vec<Diagnostic>,
}

pub use mcpgen_spec::{Location, Style};

#[derive(Debug, Clone)]
pub struct Param {
    /// `name`: the wire name.
    pub name: String,
    /// `in`
    pub location: Location,
    pub required: bool,
    pub description: Option<String>,
    pub deprecated: bool,
    /// `schema`, normalized to JSON Schema.
    pub schema: Value,
    pub style: Style,
    /// `explode`, defaulted per style as the spec says.
    pub explode: bool,
}

#[derive(Debug, Clone)]
pub struct Body {
    pub required: bool,
    pub description: Option<String>,
    /// `content`: media type → normalized schema, in document order.
    pub content: IndexMap<String, Value>,
    /// `content.<media type>.encoding`: property → (style, explode), for form bodies.
    pub encodings: IndexMap<String, IndexMap<String, (Style, bool)>>,
    /// JSON pointer of the request body, for diagnostics.
    pub pointer: String,
}

/// What a successful response looks like, as far as later stages need it.
#[derive(Debug, Clone, Default)]
pub struct Response {
    /// Its status code (`200`, `202`, `default`).
    pub code: String,
    /// Its first media type (`application/json`, `image/png`).
    pub media_type: Option<String>,
    /// The operation declares a `202 Accepted` with where to watch it (a
    /// `Location`, `Operation-Location` or `Azure-AsyncOperation` header).
    pub accepted: bool,
    /// The JSON body's fields to a small depth: (dotted path, JSON type);
    /// `""` is the body itself. `$ref`s and `allOf` are followed.
    pub fields: Vec<(String, String)>,
    /// Declared response headers, lowercased.
    pub headers: Vec<String>,
    /// The JSON body's schema as written (not normalized), and where it is.
    pub schema: Option<(Value, String)>,
}

impl Response {
    pub fn kind_of(&self, path: &str) -> Option<&str> {
        self.fields.iter().find(|(p, _)| p == path).map(|(_, k)| k.as_str())
    }
}
