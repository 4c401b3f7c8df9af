//! Where users find and install the server (opt-in, `distribution:`):
//! `server.json` for the official MCP registry (schema 2025-12-11; the crate,
//! published to crates.io, as its package) and `manifest.json` for an MCP
//! Bundle (`.mcpb`, manifest 0.3) of the built binary.
//!
//! Both carry only the variables a stdio server reads (the inbound HTTP
//! settings are for deployments, not installs), secrets marked, and the
//! generated marker in `_meta` on their second line (JSON has no comments).

use serde_json::{Map, Value, json};
use serde_saphyr::Spanned;

use crate::diag::Diagnostic;
use crate::plan::{EnvVarPlan, Plan, Surface};
use crate::select::config::DistributionSection;

pub const REGISTRY_SCHEMA: &str = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json";
/// The manifest version Claude Desktop and the `mcpb` CLI both read.
pub const BUNDLE_MANIFEST_VERSION: &str = "0.3";
/// The registry's limit on `description`.
const MAX_DESCRIPTION: usize = 100;

/// A file written into the crate next to Cargo.toml.
#[derive(Debug)]
pub struct DistributionFile {
    pub path: &'static str,
    pub contents: String,
}

/// What Cargo.toml needs so `cargo publish` can publish what server.json names.
#[derive(Debug, Default, serde::Serialize)]
pub struct Publishing {
    pub publish: bool,
    pub license: Option<String>,
    pub repository: Option<String>,
    pub homepage: Option<String>,
    /// The name server.json gives the server in the registry, when written.
    pub registry_name: Option<String>,
    /// Whether manifest.json is written.
    pub bundle: bool,
}

/// Checks the section (each mistake at its line:col) and returns the files and
/// the Cargo.toml settings; `header` is the generated-file marker line.
// Long by design: the `distribution` section checked key by key (each mistake at its line:col, all reported at
// once) and its files and Cargo.toml settings made from the same values; split, each key would be read twice.
pub fn distribution(
    section: &DistributionSection,
    plan: &Plan,
    config_file: &str,
    header: &str,
) -> Result<(Vec<DistributionFile>, Publishing), Vec<Diagnostic>> {
    let mut problems = Vec::new();
    let at = |value: &Spanned<String>, message: String, help: &str| {
        Diagnostic::new(config_file, message)
            .line_col(value.referenced.line(), value.referenced.column())
            .help(help.to_string())
    };
    let url = |value: &Option<Spanned<String>>, key: &str, problems: &mut Vec<Diagnostic>| {
        let value = value.as_ref()?;
        let ok = url::Url::parse(&value.value).is_ok_and(|u| matches!(u.scheme(), "https" | "http"));
        if !ok {
            problems.push(at(
                value,
                format!("distribution.{key} `{}` is not an http(s) URL", value.value),
                "give the full URL, e.g. https://github.com/acme/petstore-mcp",
            ));
        }
        Some(value.value.clone())
    };
    let description = match &section.description {
        Some(d) if d.value.trim().is_empty() || d.value.chars().count() > MAX_DESCRIPTION => {
            problems.push(at(
                d,
                format!(
                    "distribution.description has {} characters; registries take 1 to {MAX_DESCRIPTION}",
                    d.value.chars().count()
                ),
                "say what the server lets an agent do, in one short sentence",
            ));
            String::new()
        }
        Some(d) => d.value.clone(),
        None => shortened(&plan.cargo_description),
    };
    let license = section.license.as_ref().map(|l| l.value.clone());
    let mut files = Vec::new();
    let mut publishing = Publishing {
        license: license.clone(),
        ..Publishing::default()
    };
    if let Some(registry) = &section.registry {
        let name = &registry.name.value;
        let valid_name = name.split_once('/').is_some_and(|(namespace, server)| {
            !server.is_empty()
                && namespace.contains('.')
                && namespace.split('.').all(|label| !label.is_empty())
                && namespace
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
                && server
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        });
        if !valid_name || name.len() > 200 {
            problems.push(at(
                &registry.name,
                format!("distribution.registry.name `{name}` is not a reverse-DNS namespace, a slash and a name"),
                "use a namespace you can prove you own, e.g. io.github.<user>/<server> (GitHub sign-in) or \
                 com.example/<server> (DNS)",
            ));
        }
        if license.is_none() {
            problems.push(at(
                &registry.name,
                "distribution.registry needs distribution.license: crates.io publishes no crate without one".into(),
                "add `license: <SPDX expression>` under `distribution`, e.g. `license: Apache-2.0`",
            ));
        }
        publishing.publish = true;
        publishing.registry_name = Some(name.clone());
        publishing.repository = url(&registry.repository, "registry.repository", &mut problems);
        let website = url(&registry.website, "registry.website", &mut problems);
        publishing.homepage = website.clone();
        let mut server = Map::new();
        server.insert("$schema".into(), json!(REGISTRY_SCHEMA));
        server.insert("name".into(), json!(name));
        server.insert("title".into(), json!(shortened(&plan.title)));
        server.insert("description".into(), json!(description));
        server.insert("version".into(), json!(plan.crate_version));
        if let Some(repository) = &publishing.repository {
            let mut entry = json!({"url": repository});
            if let Some(source) = forge(repository) {
                entry["source"] = json!(source);
            }
            server.insert("repository".into(), entry);
        }
        if let Some(website) = website {
            server.insert("websiteUrl".into(), json!(website));
        }
        let variables: Vec<Value> = install_vars(plan)
            .map(|v| {
                let mut entry = json!({
                    "name": v.name,
                    "description": v.description,
                    "isRequired": v.required,
                    "isSecret": v.secret,
                });
                if let Some(default) = &v.default {
                    entry["default"] = json!(default);
                }
                entry
            })
            .collect();
        server.insert(
            "packages".into(),
            json!([{
                "registryType": "cargo",
                "registryBaseUrl": "https://crates.io",
                "identifier": plan.crate_name,
                "version": plan.crate_version,
                "runtimeHint": "cargo",
                "transport": {"type": "stdio"},
                "environmentVariables": variables,
            }]),
        );
        let meta = json!({"io.modelcontextprotocol.registry/publisher-provided": {"generated": header}});
        files.push(DistributionFile {
            path: "server.json",
            contents: with_meta(server, &meta),
        });
    }
    if let Some(bundle) = &section.bundle {
        if bundle.author.value.trim().is_empty() {
            problems.push(at(
                &bundle.author,
                "distribution.bundle.author is empty".into(),
                "name who publishes the bundle, e.g. `author: Acme Inc.`",
            ));
        }
        let homepage = url(&bundle.homepage, "bundle.homepage", &mut problems);
        publishing.bundle = true;
        let mut user_config = Map::new();
        let mut env = Map::new();
        for v in install_vars(plan) {
            let key = v.name.to_ascii_lowercase();
            let mut entry = json!({
                "type": "string",
                "title": v.name,
                "description": v.description,
                "required": v.required,
                "sensitive": v.secret,
            });
            if let Some(default) = &v.default {
                entry["default"] = json!(default);
            }
            user_config.insert(key.clone(), entry);
            env.insert(v.name.clone(), json!(format!("${{user_config.{key}}}")));
        }
        // Bundles are per platform: the binary built where `mcpb pack` runs.
        let binary = format!("server/{}", plan.crate_name);
        let mut manifest = Map::new();
        manifest.insert("manifest_version".into(), json!(BUNDLE_MANIFEST_VERSION));
        manifest.insert("name".into(), json!(plan.crate_name));
        manifest.insert("display_name".into(), json!(plan.title));
        manifest.insert("version".into(), json!(plan.crate_version));
        manifest.insert("description".into(), json!(description));
        if plan.cargo_description != description {
            manifest.insert("long_description".into(), json!(plan.cargo_description));
        }
        manifest.insert("author".into(), json!({"name": bundle.author.value}));
        if let Some(homepage) = homepage {
            manifest.insert("homepage".into(), json!(homepage));
        }
        if let Some(repository) = &publishing.repository {
            manifest.insert("repository".into(), json!({"type": "git", "url": repository}));
        }
        if let Some(license) = &license {
            manifest.insert("license".into(), json!(license));
        }
        manifest.insert(
            "server".into(),
            json!({
                "type": "binary",
                "entry_point": binary,
                "mcp_config": {"command": format!("${{__dirname}}/{binary}"), "args": [], "env": env},
            }),
        );
        if plan.surface == Surface::Tools {
            let tools: Vec<Value> = plan
                .tools
                .iter()
                .map(|t| json!({"name": t.name, "description": first_line(t.title.as_deref().unwrap_or(&t.summary))}))
                .collect();
            manifest.insert("tools".into(), json!(tools));
        }
        manifest.insert("user_config".into(), Value::Object(user_config));
        let meta = json!({"dev.mcpgen": {"generated": header}});
        files.push(DistributionFile {
            path: "manifest.json",
            contents: with_meta(manifest, &meta),
        });
    }
    if problems.is_empty() {
        Ok((files, publishing))
    } else {
        Err(problems)
    }
}

/// The variables an installed (stdio) server reads: not the inbound HTTP ones.
fn install_vars(plan: &Plan) -> impl Iterator<Item = &EnvVarPlan> {
    plan.env_vars
        .iter()
        .filter(|v| v.name != plan.inbound_token_env && !v.name.starts_with("MCP_OAUTH_"))
}

/// Pretty JSON with `_meta` (holding the generated marker) on its second line.
fn with_meta(object: Map<String, Value>, meta: &Value) -> String {
    let body = serde_json::to_string_pretty(&Value::Object(object)).expect("JSON values serialize");
    let rest = body.strip_prefix("{\n").expect("an object");
    format!("{{\n  \"_meta\": {meta},\n{rest}\n")
}

/// The forge a repository URL is on, as the registry names it.
fn forge(url: &str) -> Option<&'static str> {
    let host = url::Url::parse(url).ok()?.host_str()?.to_ascii_lowercase();
    match host.as_str() {
        "github.com" => Some("github"),
        "gitlab.com" => Some("gitlab"),
        _ => None,
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim()
}

/// `text`'s first line, cut at a word boundary to fit the registry's limit.
fn shortened(text: &str) -> String {
    let line = first_line(text);
    if line.chars().count() <= MAX_DESCRIPTION {
        return line.to_string();
    }
    let cut: String = line.chars().take(MAX_DESCRIPTION - 1).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{}…", cut.trim_end_matches([',', ';', ':', ' ']))
}
