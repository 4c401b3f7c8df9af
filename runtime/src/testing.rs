//! The smoke test every generated crate carries (`cargo test` in the user's
//! repo; feature `testing`, a dev-dependency only).
//!
//! It serves the crate's tool table over an in-process stdio pipe, connects
//! rmcp's client, lists the tools and checks each one: a valid name, unique,
//! a description, an input schema that is a valid JSON Schema object (and
//! compiles), a valid output schema, annotations. No network: env vars get
//! placeholders and no tool is called.

use std::time::Duration;

/// What this repository's fuzz targets and end-to-end tests drive directly.
/// Not a stable API: generated crates use only the crate root.
pub mod harness {
    pub use crate::call::Tool;
    pub use crate::config::{Config, Secret};
    pub use crate::identity::connect::{Link, Signer};
    pub use crate::redact::Redactor;
    pub use crate::serve::surface::Presentation;
    pub use crate::serve::{Overrides, Server};
    pub use crate::state::{Fields, Kind, Limits, RateLimit, Sealer, Store};
    pub use crate::tls::install_crypto_provider;
    pub use crate::transport::http::{HttpOptions, router};
    pub use crate::upstream::prepare;
}

use rmcp::ServiceExt;
use serde_json::Value;

use crate::config::Config;
use crate::extend::Extensions;
use crate::observe::Metrics;
use crate::redact::Redactor;
use crate::serve::surface::Presentation;
use crate::serve::{Overrides, Server};
use crate::spec::{SchemaProfile, ServerSpec, Surface};
use crate::upstream::Upstream;

/// A server for `spec` as a generated crate builds it, with `extensions`,
/// its env vars given placeholders and its API a discard port: for tests
/// that serve it in-process and call no API (or expect the call to fail).
pub fn offline_server(
    spec: &'static ServerSpec,
    extensions: &Extensions,
    overrides: Overrides,
    presentation: &Presentation,
) -> Server {
    let config = Config::from_lookup(spec, |name| {
        Some(if name == spec.base_url.env {
            "http://127.0.0.1:9/".to_string()
        } else {
            format!("placeholder-{name}")
        })
    })
    .unwrap_or_else(|e| panic!("the server's configuration does not load: {e}"));
    let redactor = Redactor::new(&config, &spec.redaction).unwrap_or_else(|e| panic!("{e}"));
    let upstream = Upstream::new(spec, config, redactor).with_hooks(extensions.hooks.clone());
    Server::new(
        spec,
        upstream,
        Metrics::new(),
        overrides,
        extensions.tools.clone(),
        presentation,
        crate::state::Store::for_spec(spec),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Panics with every problem found, so `cargo test` shows them all at once.
pub fn smoke_test(spec: &'static ServerSpec, extensions: Extensions) {
    let generated: Vec<&str> = spec.tools.iter().map(|t| t.name).collect();
    if let Err(e) = extensions.check(&generated) {
        panic!("{e}");
    }
    // Both surfaces at once: every operation's entry and the meta-tools are
    // checked, as the spec has them and in the portable form.
    let presentation = |profile| Presentation {
        surface: Some(Surface::Both),
        schema_profile: Some(profile),
        ..Presentation::default()
    };
    let reads = spec.tools.iter().any(|t| t.annotations.read_only);
    let writes = spec.tools.iter().any(|t| !t.annotations.read_only);
    let waits = spec.tools.iter().any(|t| t.long_running.is_some());
    let expected =
        2 + usize::from(reads) + usize::from(writes) + usize::from(waits) + spec.tools.len() + extensions.tools.len();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    let list = |profile| {
        runtime.block_on(async {
            let server = offline_server(spec, &extensions, Overrides::default(), &presentation(profile));
            let (server_end, client_end) = tokio::io::duplex(1 << 16);
            let serving = tokio::spawn(async move {
                let (read, write) = tokio::io::split(server_end);
                crate::transport::stdio::serve(server, read, write)
                    .await
                    .expect("the server serves");
            });
            let client = tokio::time::timeout(Duration::from_secs(30), ().serve(client_end))
                .await
                .expect("initialize answered within 30 s")
                .expect("the MCP handshake succeeds");
            let tools = tokio::time::timeout(Duration::from_secs(30), client.list_all_tools())
                .await
                .expect("tools/list answered within 30 s")
                .expect("tools/list succeeds");
            let _ = client.cancel().await;
            serving.abort();
            tools
        })
    };
    let listed = list(SchemaProfile::Full);

    let mut problems = Vec::new();
    if listed.len() != expected {
        problems.push(format!(
            "tools/list returned {} tools, expected {expected}",
            listed.len()
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for tool in &listed {
        let name = tool.name.as_ref();
        let mut problem = |what: String| problems.push(format!("tool `{name}`: {what}"));
        if !crate::spec::is_valid_tool_name(name) {
            problem("the name is not 1 to 64 of A-Z a-z 0-9 _ -".to_string());
        }
        if !seen.insert(name.to_string()) {
            problem("listed twice".to_string());
        }
        if tool.description.as_deref().is_none_or(|d| d.trim().is_empty()) {
            problem("no description".to_string());
        }
        if tool.annotations.is_none() {
            problem("no annotations".to_string());
        }
        let input = Value::Object((*tool.input_schema).clone());
        check_schema(&input, "input", &mut problem);
        if input.get("type").and_then(Value::as_str) != Some("object") {
            problem("the input schema is not of type object".to_string());
        }
        if let Some(output) = &tool.output_schema {
            check_schema(&Value::Object((**output).clone()), "output", &mut problem);
        }
    }
    for tool in list(SchemaProfile::Portable) {
        let input = Value::Object((*tool.input_schema).clone());
        for (dialect, refusal) in mcpgen_spec::dialect::check_all(&input) {
            if let Some(refusal) = refusal {
                problems.push(format!(
                    "tool `{}`: {} refuses its portable input schema: {refusal}",
                    tool.name,
                    dialect.label()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

fn check_schema(schema: &Value, which: &str, problem: &mut impl FnMut(String)) {
    if let Err(e) = jsonschema::meta::validate(schema) {
        problem(format!("the {which} schema is not valid JSON Schema: {e}"));
    } else if let Err(e) = jsonschema::validator_for(schema) {
        problem(format!("the {which} schema does not compile: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::custom::CustomTool;
    use crate::spec::{BaseUrlSpec, Policy, RedactionSpec};
    use serde_json::json;

    static EMPTY: ServerSpec = ServerSpec {
        name: "t",
        version: "0",
        title: None,
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
        tools: &[],
        by_name: &[],
        surface: crate::spec::Surface::Tools,
        schema_profile: crate::spec::SchemaProfile::Full,
        toolsets: &[],
        search: crate::spec::search::SearchIndex::EMPTY,
        resources: &[],
        prompts: &[],
    };

    fn tool(name: &str, description: &str, schema: Value) -> CustomTool {
        CustomTool::new(name, description, schema, |args| async move { Ok(Value::Object(args)) })
    }

    #[test]
    fn a_sound_list_passes() {
        let schema = json!({"type": "object", "properties": {"q": {"type": "string"}}});
        smoke_test(&EMPTY, Extensions::new().tool(tool("search", "Search things.", schema)));
    }

    #[test]
    #[should_panic(expected = "tool `vague`: no description")]
    fn a_missing_description_fails() {
        smoke_test(
            &EMPTY,
            Extensions::new().tool(tool("vague", " ", json!({"type": "object"}))),
        );
    }

    #[test]
    #[should_panic(expected = "extension tool `broken`: its input schema is invalid")]
    fn an_invalid_schema_fails() {
        let schema = json!({"type": "object", "properties": {"q": {"type": "strin"}}});
        smoke_test(&EMPTY, Extensions::new().tool(tool("broken", "Broken.", schema)));
    }
}
