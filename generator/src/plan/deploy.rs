//! What ships with the generated code: host configs for the README, the
//! container build and Kubernetes manifests, and the opt-in CI workflow.
//!
//! Input: the crate's name, version and env vars (from `plan`), and for the
//! workflow the paths of mcpgen.yaml, the spec and the crate. Output: plain
//! values the templates print.

use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::absolute_parts;
use crate::diag::Diagnostic;
use crate::plan::EnvVarPlan;

/// The port the container and the Kubernetes manifests serve on.
pub const HTTP_PORT: u16 = 8000;

/// One ready-to-paste host configuration.
#[derive(Debug, Serialize)]
pub struct HostConfig {
    pub host: &'static str,
    /// Where the host reads it from.
    pub file: &'static str,
    /// `stdio` or `HTTP`.
    pub transport: &'static str,
    /// Fence language: `json` or `yaml`.
    pub language: &'static str,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct Deploy {
    pub port: u16,
    /// The image name the README and manifests use.
    pub image: String,
    /// The Docker build context, relative to the crate: `.`, or the directory
    /// that also holds a runtime used by path.
    pub context: String,
    /// The crate's directory inside that context (`.` when it is the context).
    pub crate_in_context: String,
    /// Env vars of the Deployment, in README order.
    pub env: Vec<DeployEnv>,
}

#[derive(Debug, Serialize)]
pub struct DeployEnv {
    pub name: String,
    /// From the Secret (else from the ConfigMap).
    pub secret: bool,
    /// May be absent from the Secret or ConfigMap.
    pub optional: bool,
    /// ConfigMap value: the default, or a placeholder to replace.
    pub value: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Workflow {
    /// Where the workflow is written, relative to the crate directory.
    pub path: String,
    /// Paths from the repository root (the workflow's working directory).
    pub workflow_file: String,
    pub config: String,
    pub spec: String,
    pub crate_dir: String,
    pub lock: String,
    /// `ci.diff_comment`: a job commenting `mcpgen diff` on pull requests.
    pub diff_comment: bool,
    /// `ci.update_schedule`: a job running `mcpgen update` on this cron schedule.
    pub update_schedule: Option<String>,
}

/// Claude Desktop, VS Code, Cursor and a generic YAML host, over stdio and
/// over HTTP. Secrets are placeholders (VS Code prompts for them). With
/// OAuth (`oauth_url`: the server's public URL) HTTP hosts get only the URL:
/// they find the authorization server from the server's 401 and sign in.
// Long by design: the host configs (Claude Desktop, VS Code, Cursor, HTTP) built from one set of env vars and
// prompts, side by side so they stay alike.
pub fn host_configs(
    crate_name: &str,
    token_env: &str,
    env_vars: &[EnvVarPlan],
    oauth_url: Option<&str>,
) -> Vec<HostConfig> {
    let key = crate_name.trim_end_matches("-mcp");
    let command = format!("/path/to/{crate_name}");
    let url = oauth_url.map_or_else(|| format!("http://127.0.0.1:{HTTP_PORT}/mcp"), String::from);
    let required: Vec<&EnvVarPlan> = env_vars.iter().filter(|v| v.required).collect();
    let plain_env: Map<String, Value> = required
        .iter()
        .map(|v| (v.name.clone(), Value::String(v.placeholder.clone())))
        .collect();
    let prompt_id = |name: &str| name.to_ascii_lowercase().replace('_', "-");
    let mut vscode_env = Map::new();
    let mut inputs = Vec::new();
    for v in &required {
        if v.secret {
            let id = prompt_id(&v.name);
            vscode_env.insert(v.name.clone(), Value::String(format!("${{input:{id}}}")));
            inputs.push(json!({ "type": "promptString", "id": id, "description": v.description, "password": true }));
        } else {
            vscode_env.insert(v.name.clone(), Value::String(v.placeholder.clone()));
        }
    }
    let token_id = prompt_id(token_env);
    let bearer = "Bearer …";
    let json = |v: Value| serde_json::to_string_pretty(&v).expect("JSON values always serialize");
    let stdio_yaml = {
        let mut text = format!(
            "mcp_servers:\n  {}:\n    command: {}\n    args: []\n",
            yaml_str(key),
            yaml_str(&command)
        );
        if !required.is_empty() {
            text.push_str("    env:\n");
            for v in &required {
                text.push_str(&format!("      {}: {}\n", v.name, yaml_str(&v.placeholder)));
            }
        }
        text
    };
    let config = |host, file, transport, language, text| HostConfig {
        host,
        file,
        transport,
        language,
        text,
    };
    let mut configs = vec![
        config(
            "Claude Desktop",
            "claude_desktop_config.json",
            "stdio",
            "json",
            json(json!({ "mcpServers": { key: { "command": command, "args": [], "env": plain_env } } })),
        ),
        config(
            "VS Code",
            ".vscode/mcp.json",
            "stdio",
            "json",
            json(json!({
                "inputs": inputs,
                "servers": { key: { "type": "stdio", "command": command, "args": [], "env": vscode_env } }
            })),
        ),
        config(
            "Cursor",
            ".cursor/mcp.json",
            "stdio",
            "json",
            json(json!({ "mcpServers": { key: { "command": command, "args": [], "env": plain_env } } })),
        ),
        config(
            "Any host with a YAML config",
            "its config file",
            "stdio",
            "yaml",
            stdio_yaml,
        ),
    ];
    // With OAuth, hosts get only the URL and sign in themselves (mcp-remote
    // runs the sign-in in the browser for Claude Desktop); with static tokens,
    // each config sends one.
    let (claude, vscode, cursor, yaml) = if oauth_url.is_some() {
        (
            json!({ "mcpServers": { key: { "command": "npx", "args": ["-y", "mcp-remote", url] } } }),
            json!({ "servers": { key: { "type": "http", "url": url } } }),
            json!({ "mcpServers": { key: { "url": url } } }),
            format!("mcp_servers:\n  {}:\n    url: {}\n", yaml_str(key), yaml_str(&url)),
        )
    } else {
        (
            // Claude Desktop's config file runs local commands only; mcp-remote bridges to HTTP.
            json!({ "mcpServers": { key: {
                "command": "npx",
                "args": ["-y", "mcp-remote", url, "--header", "Authorization:${AUTH_HEADER}"],
                "env": { "AUTH_HEADER": bearer }
            } } }),
            json!({
                "inputs": [{ "type": "promptString", "id": token_id,
                             "description": format!("A token from {token_env} of the {crate_name} server"),
                             "password": true }],
                "servers": { key: { "type": "http", "url": url,
                                    "headers": { "Authorization": format!("Bearer ${{input:{token_id}}}") } } }
            }),
            json!({ "mcpServers": { key: { "url": url, "headers": { "Authorization": bearer } } } }),
            format!(
                "mcp_servers:\n  {}:\n    url: {}\n    headers:\n      Authorization: {}\n",
                yaml_str(key),
                yaml_str(&url),
                yaml_str(bearer)
            ),
        )
    };
    configs.extend([
        config(
            "Claude Desktop",
            "claude_desktop_config.json",
            "HTTP",
            "json",
            json(claude),
        ),
        config("VS Code", ".vscode/mcp.json", "HTTP", "json", json(vscode)),
        config("Cursor", ".cursor/mcp.json", "HTTP", "json", json(cursor)),
        config("Any host with a YAML config", "its config file", "HTTP", "yaml", yaml),
    ]);
    configs
}

/// A YAML scalar: plain when unambiguous, else double-quoted (JSON quoting is valid YAML).
pub fn yaml_str(text: &str) -> String {
    let plain = !text.is_empty()
        && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        && !text.starts_with(['-', '.'])
        && !matches!(text, "true" | "false" | "null" | "yes" | "no" | "on" | "off")
        && text.parse::<f64>().is_err();
    if plain {
        text.to_string()
    } else {
        Value::String(text.to_string()).to_string()
    }
}

/// The container and Kubernetes view of the env vars: secrets come from a
/// Secret, the rest from a ConfigMap; inbound tokens are required there
/// (the server listens beyond loopback).
pub fn deploy(crate_name: &str, crate_version: &str, token_env: &str, env_vars: &[EnvVarPlan]) -> Deploy {
    let env = env_vars
        .iter()
        .map(|v| {
            let tokens = v.name == token_env;
            DeployEnv {
                name: v.name.clone(),
                secret: v.secret,
                optional: !v.required && !tokens,
                value: (!v.secret).then(|| v.default.clone().unwrap_or_else(|| v.placeholder.clone())),
            }
        })
        .collect();
    Deploy {
        port: HTTP_PORT,
        image: format!("{crate_name}:{crate_version}"),
        context: ".".to_string(),
        crate_in_context: ".".to_string(),
        env,
    }
}

/// The workflow's paths, from `ci.github_actions` (relative to mcpgen.yaml,
/// which must put it in some `<root>/.github/workflows/`). All paths are
/// lexical and `/`-separated; `path` (from the crate) is left for the caller.
pub fn workflow(
    config_dir: &Path,
    setting: &str,
    config_file_name: &str,
    spec: &str,
    output: &str,
) -> Result<Workflow, String> {
    let target = absolute_parts(&config_dir.join(setting)).map_err(|e| e.to_string())?;
    let n = target.len();
    let in_workflows = n >= 3 && target[n - 3] == ".github" && target[n - 2] == "workflows";
    let yaml = setting.ends_with(".yml") || setting.ends_with(".yaml");
    if !in_workflows || !yaml {
        return Err(format!(
            "`{setting}` is not a `.github/workflows/<name>.yml` file; GitHub runs only workflows there"
        ));
    }
    let root = &target[..n - 3];
    let config_dir = absolute_parts(config_dir).map_err(|e| e.to_string())?;
    if !config_dir.starts_with(root) {
        return Err(format!(
            "`{setting}` is outside the repository holding mcpgen.yaml; its `.github` must be in an enclosing directory"
        ));
    }
    let inside = |relative: &str| -> String {
        let mut parts: Vec<String> = config_dir[root.len()..].to_vec();
        parts.extend(normalize_relative(relative));
        if parts.is_empty() {
            ".".to_string()
        } else {
            parts.join("/")
        }
    };
    Ok(Workflow {
        path: String::new(),
        workflow_file: target[root.len()..].join("/"),
        config: inside(config_file_name),
        spec: inside(spec),
        crate_dir: inside(output),
        lock: inside(crate::plan::names::LOCK_FILE),
        diff_comment: false,
        update_schedule: None,
    })
}

fn normalize_relative(path: &str) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p.to_string()),
        }
    }
    parts
}

/// A cron schedule GitHub takes: five fields of digits, `*`, `,`, `-` and `/`
/// (GitHub's names of months and days aside). `Err` says what is wrong.
pub fn check_schedule(cron: &str) -> Result<(), String> {
    let fields: Vec<&str> = cron.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "`{cron}` has {} fields; a cron schedule has 5 (minute hour day month weekday)",
            fields.len()
        ));
    }
    if let Some(bad) = fields.iter().find(|f| {
        !f.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '*' | ',' | '-' | '/'))
    }) {
        return Err(format!(
            "`{bad}` in `{cron}` is not a cron field (digits, `*`, `,`, `-`, `/`)"
        ));
    }
    Ok(())
}

/// A diagnostic for a bad `ci.github_actions`.
pub fn workflow_problem(config_file: &str, at: (u64, u64), message: String) -> Diagnostic {
    Diagnostic::new(config_file, message)
        .line_col(at.0, at.1)
        .help("e.g. `ci: {github_actions: .github/workflows/mcpgen.yml}` with mcpgen.yaml at the repository root")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_paths_are_from_the_repository_root() {
        let dir = tempfile::tempdir().unwrap();
        let config_dir = dir.path().join("api");
        let w = workflow(
            &config_dir,
            "../.github/workflows/mcp.yml",
            "mcpgen.yaml",
            "openapi.yaml",
            "my-mcp",
        )
        .unwrap();
        assert_eq!(w.workflow_file, ".github/workflows/mcp.yml");
        assert_eq!(
            (w.config.as_str(), w.spec.as_str(), w.crate_dir.as_str()),
            ("api/mcpgen.yaml", "api/openapi.yaml", "api/my-mcp")
        );
        let err = workflow(&config_dir, "workflows/mcp.yml", "mcpgen.yaml", "o.yaml", "x").unwrap_err();
        assert!(err.contains(".github/workflows/<name>.yml"), "{err}");
    }

    #[test]
    fn yaml_scalars_quote_only_when_needed() {
        assert_eq!(yaml_str("petstore"), "petstore");
        assert_eq!(yaml_str("/path/to/x-mcp"), "/path/to/x-mcp");
        assert_eq!(yaml_str("Bearer …"), "\"Bearer …\"");
        assert_eq!(yaml_str("yes"), "\"yes\"");
        assert_eq!(yaml_str("http://127.0.0.1:8000/mcp"), "\"http://127.0.0.1:8000/mcp\"");
    }
}
