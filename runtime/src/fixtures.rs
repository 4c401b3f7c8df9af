//! Tables the unit tests of several layers share (compiled for tests only;
//! imports only the spec types).

use crate::spec::search::SearchIndex;
use crate::spec::{
    Annotations, BaseUrlSpec, Method, Policy, RedactionSpec, RequestSpec, SchemaProfile, ServerSpec, Surface, ToolSpec,
    ToolsetSpec,
};

/// A tool with no parameters: read-only and idempotent for GET, destructive for DELETE.
pub(crate) const fn tool(name: &'static str, listing: &'static str, method: Method, path: &'static str) -> ToolSpec {
    let read_only = matches!(method, Method::Get);
    ToolSpec {
        name,
        summary: name,
        listing,
        annotations: Annotations {
            read_only,
            destructive: matches!(method, Method::Delete),
            idempotent: read_only,
            open_world: true,
        },
        request: RequestSpec {
            method,
            path,
            server: None,
            params: &[],
            body: None,
            security: &[],
        },
        policy: None,
        pagination: None,
        response: None,
        long_running: None,
    }
}

/// Three tools: two in toolset `pets`, one in `store`; the index knows `pet` and `order`.
pub(crate) static SPEC: ServerSpec = ServerSpec {
    name: "t",
    version: "0",
    title: Some("Test"),
    instructions: None,
    base_url: BaseUrlSpec {
        env: "T_URL",
        default: None,
        variables: &[],
        relative: None,
    },
    policy: Policy::DEFAULT,
    redaction: RedactionSpec::DEFAULT,
    inbound_token_env: "T_TOKENS",
    results: mcpgen_spec::ResultsSpec::DEFAULT,
    oauth: None,
    security_schemes: &[],
    tools: &[
        tool(
            "list_pets",
            r#"{"name":"list_pets","inputSchema":{"type":"object"}}"#,
            Method::Get,
            "/pets",
        ),
        tool(
            "delete_pet",
            r#"{"name":"delete_pet","inputSchema":{"type":"object","required":["id"]}}"#,
            Method::Delete,
            "/pets/{id}",
        ),
        tool(
            "list_orders",
            r#"{"name":"list_orders","inputSchema":{"type":"object"}}"#,
            Method::Get,
            "/orders",
        ),
    ],
    by_name: &[1, 2, 0],
    surface: Surface::Tools,
    schema_profile: SchemaProfile::Full,
    toolsets: &[
        ToolsetSpec {
            name: "pets",
            description: "",
            tools: &[0, 1],
        },
        ToolsetSpec {
            name: "store",
            description: "",
            tools: &[2],
        },
    ],
    search: SearchIndex {
        terms: &[
            ("delet", &[(1, 6)]),
            ("list", &[(0, 6), (2, 6)]),
            ("order", &[(2, 6)]),
            ("pet", &[(0, 6), (1, 6)]),
        ],
        lengths: &[12, 12, 12],
    },
    resources: &[],
    prompts: &[],
};
