//! `mcpgen init`: a starter selection file for a spec.
//!
//! Every operation is listed under `include.operations`, grouped by tag and
//! commented out, so the user uncomments what the agent should get; env vars
//! are derived from the spec's servers and security schemes. The file is
//! valid as written (it selects nothing until something is uncommented).

use std::fmt::Write as _;
use std::path::Path;

use heck::ToShoutySnakeCase;

use crate::diag::{Diagnostic, Error};
use crate::ir::{Api, Operation, SecurityScheme};
use crate::{load, resolve};

/// A starting point, not a limit the spec has to fit: most agents do well
/// with a few dozen tools.
const DEFAULT_MAX_TOOLS: usize = 40;

/// Write the starter file at `out` for the spec at `spec`.
pub fn init(spec: &Path, out: &Path, force: bool) -> Result<String, Error> {
    let (_, api, spec_from_out) = load_for(spec, out, force)?;
    let text = selection_text(&api, &spec_from_out, &Choices::of(&api));
    write(out, &text)?;
    Ok(text)
}

/// The spec at `spec`, loaded and resolved, and its path relative to `out`
/// (refused when `out` exists and `force` is off).
pub fn load_for(spec: &Path, out: &Path, force: bool) -> Result<(load::SpecDocument, Api, String), Error> {
    let out_display = out.display().to_string();
    if out.exists() && !force {
        return Err(Error::one(
            Diagnostic::new(&out_display, "already exists; not overwriting it")
                .help("pass --force to replace it, or --out to write elsewhere"),
        ));
    }
    let spec_display = spec.display().to_string();
    // A URL: fetched to list its operations; the file names the URL, and
    // `mcpgen update` keeps the copy generate reads.
    if load::remote::is_url(&spec_display) {
        let body = load::remote::fetch(&spec_display, &spec_display)?;
        let scratch = tempfile::tempdir().map_err(|e| Error::io("can't make a temporary directory", e))?;
        let copy = scratch.path().join(load::remote::copy_name(&spec_display, &body));
        std::fs::write(&copy, &body).map_err(|e| Error::io(format!("can't write {}", copy.display()), e))?;
        let document = load::load_spec(&copy, &spec_display)?;
        let api = resolve::resolve(&document)?;
        return Ok((document, api, spec_display));
    }
    let document = load::load_spec(spec, &spec_display)?;
    let api = resolve::resolve(&document)?;
    let out_dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // A relative spec path stays relative (to the selection file), so the file can be committed.
    let spec_from_out = if spec.is_absolute() {
        spec.display().to_string()
    } else {
        crate::relative_path(out_dir, spec).map_err(|e| Error::io("can't relate the paths", e))?
    };
    Ok((document, api, spec_from_out))
}

pub fn write(out: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(out, text).map_err(|e| Error::io(format!("can't write {}", out.display()), e))
}

/// What goes into the selection file. [`Choices::of`] is the starter's:
/// nothing selected, names derived from the spec; the interactive `init`
/// edits it.
#[derive(Debug, Clone)]
pub struct Choices {
    /// Crate, package and binary name.
    pub name: String,
    pub max_tools: usize,
    /// Tags selected whole.
    pub tags: Vec<String>,
    /// operationIds selected one by one.
    pub operations: Vec<String>,
    /// `tools`, `discovery` or `both`; `None` leaves it to the token budget.
    pub surface: Option<&'static str>,
    pub base_url: EnvChoice,
    /// The spec's first absolute server URL, the base URL's default.
    pub server: Option<String>,
    pub schemes: Vec<SchemeChoice>,
    /// Written as a comment at the top, when set.
    pub summary: Option<String>,
}

#[derive(Debug, Clone)]
pub struct EnvChoice {
    pub env: String,
    /// Written under `env:` when set.
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SchemeChoice {
    pub scheme: String,
    /// What the variable holds, e.g. "API key (X-API-Key)".
    pub what: String,
    pub env: EnvChoice,
    /// OAuth2 client credentials: the secret's variable.
    pub client_secret: Option<EnvChoice>,
}

impl Choices {
    pub fn of(api: &Api) -> Choices {
        // The title's first two meaningful words: "GitHub's official OpenAPI spec" → `github`.
        let base = {
            const NOISE: [&str; 9] = [
                "the", "api", "apis", "openapi", "spec", "official", "rest", "swagger", "http",
            ];
            let words: Vec<String> = api
                .title
                .split(|c: char| !c.is_ascii_alphanumeric())
                .map(str::to_ascii_lowercase)
                .filter(|w| w.len() > 1 && !NOISE.contains(&w.as_str()))
                .take(2)
                .collect();
            if words.is_empty() {
                "api".to_string()
            } else {
                words.join("-")
            }
        };
        let prefix = base.to_shouty_snake_case();
        let usable: Vec<(&String, &SecurityScheme)> = api
            .security_schemes
            .iter()
            .filter(|(_, s)| !matches!(s, SecurityScheme::Unsupported(_)))
            .collect();
        let schemes = usable
            .iter()
            .map(|(scheme, kind)| {
                let (suffix, what) = match kind {
                    SecurityScheme::ApiKey { name, .. } => ("API_KEY", format!("API key ({name})")),
                    SecurityScheme::Bearer => ("TOKEN", "bearer token".to_string()),
                    SecurityScheme::Basic => ("CREDENTIALS", "`user:password` for HTTP basic auth".to_string()),
                    SecurityScheme::OAuth2 {
                        client_credentials: Some(_),
                    } => (
                        "CLIENT_ID",
                        "OAuth2 client credentials: the server fetches tokens".to_string(),
                    ),
                    SecurityScheme::OAuth2 {
                        client_credentials: None,
                    } => ("ACCESS_TOKEN", "OAuth2 access token, obtained elsewhere".to_string()),
                    SecurityScheme::Unsupported(_) => unreachable!("filtered above"),
                };
                let env = if usable.len() == 1 {
                    format!("{prefix}_{suffix}")
                } else {
                    format!("{prefix}_{}", scheme.to_shouty_snake_case())
                };
                let client_secret = matches!(
                    kind,
                    SecurityScheme::OAuth2 {
                        client_credentials: Some(_)
                    }
                )
                .then(|| {
                    let secret = env.replace("CLIENT_ID", "CLIENT_SECRET");
                    EnvChoice {
                        env: if secret == env { format!("{env}_SECRET") } else { secret },
                        description: None,
                    }
                });
                SchemeChoice {
                    scheme: scheme.to_string(),
                    what,
                    env: EnvChoice { env, description: None },
                    client_secret,
                }
            })
            .collect();
        Choices {
            name: format!("{base}-mcp"),
            max_tools: DEFAULT_MAX_TOOLS,
            tags: Vec::new(),
            operations: Vec::new(),
            surface: None,
            base_url: EnvChoice {
                env: format!("{prefix}_BASE_URL"),
                description: None,
            },
            server: api
                .servers
                .iter()
                .find(|s| s.starts_with("http://") || s.starts_with("https://"))
                .cloned(),
            schemes,
            summary: None,
        }
    }
}

/// The selection file's text: every tag and operation listed, the chosen
/// ones active and the rest commented out, so the file documents the spec.
// Long by design: the generated mcpgen.yaml written top to bottom in the order the file reads.
pub fn selection_text(api: &Api, spec_path: &str, choices: &Choices) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Selection file for {} {} (written by `mcpgen init`; edit freely).",
        api.title, api.version
    );
    if let Some(summary) = &choices.summary {
        let _ = writeln!(out, "# {summary}");
    }
    let _ = writeln!(out, "# Then: mcpgen generate   (and in CI: mcpgen generate --check)");
    let _ = writeln!(out, "spec: {spec_path}");
    let _ = writeln!(out, "output: {}", choices.name);
    let _ = writeln!(out, "server:\n  name: {}\n  version: 0.1.0", choices.name);
    let _ = writeln!(out, "# Generation fails when more operations are selected than this.");
    let _ = writeln!(out, "max_tools: {}", choices.max_tools);
    if let Some(surface) = choices.surface {
        let _ = writeln!(
            out,
            "# tools: one tool per operation; discovery: search, describe and call meta-tools over them all."
        );
        let _ = writeln!(out, "surface: {surface}");
    }
    let active = |on: bool| if on { "" } else { "# " };
    let _ = writeln!(out, "include:");
    let _ = writeln!(
        out,
        "  # Whole tags (uncomment to select every operation with that tag):"
    );
    let _ = writeln!(out, "  tags:");
    for tag in &api.tags {
        let count = api.operations.iter().filter(|op| op.tags.contains(tag)).count();
        // A tag the spec declares but no operation carries would select nothing.
        if count == 0 {
            continue;
        }
        let _ = writeln!(
            out,
            "    {}- {}  # {count} operation{}",
            active(choices.tags.contains(tag)),
            yaml_scalar(tag),
            if count == 1 { "" } else { "s" }
        );
    }
    let _ = writeln!(
        out,
        "  # Single operations, by operationId (uncomment the ones the agent needs):"
    );
    let _ = writeln!(out, "  operations:");
    let groups = api.tags.iter().map(Some).chain(std::iter::once(None));
    for tag in groups {
        let ops: Vec<&Operation> = api
            .operations
            .iter()
            .filter(|op| op.operation_id.is_some())
            .filter(|op| match tag {
                Some(tag) => op.tags.first() == Some(tag),
                None => op.tags.is_empty(),
            })
            .collect();
        if ops.is_empty() {
            continue;
        }
        let _ = writeln!(out, "    # {}", tag.map(String::as_str).unwrap_or("(untagged)"));
        for op in ops {
            let id = op.operation_id.as_deref().expect("filtered above");
            let summary = op
                .summary
                .as_deref()
                .map(|s| format!(": {}", one_line(s)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "    {}- {}  # {} {}{summary}",
                active(choices.operations.iter().any(|o| o == id)),
                yaml_scalar(id),
                op.method.as_str(),
                op.path
            );
        }
    }
    let unnamed = api.operations.iter().filter(|op| op.operation_id.is_none()).count();
    if unnamed > 0 {
        let _ = writeln!(
            out,
            "    # ({unnamed} operation{} no operationId and can only be selected by tag)",
            if unnamed == 1 { " has" } else { "s have" }
        );
    }
    let _ = writeln!(out, "exclude:\n  operations: []\n  tags: []");

    let prefix_env = &choices.base_url.env;
    let _ = writeln!(out, "base_url:");
    let _ = writeln!(out, "  env: {prefix_env}");
    match &choices.server {
        Some(server) => {
            let _ = writeln!(out, "  # Used when {prefix_env} is unset: {server}");
        }
        None => {
            let _ = writeln!(
                out,
                "  # The spec names no absolute server URL: set {prefix_env}, or add `default: https://…`"
            );
        }
    }
    if choices.schemes.is_empty() {
        let _ = writeln!(out, "auth: {{}}");
    } else {
        let _ = writeln!(
            out,
            "# Credentials for the spec's security schemes, read from these env vars:"
        );
        let _ = writeln!(out, "auth:");
        for scheme in &choices.schemes {
            let _ = writeln!(
                out,
                "  {}:  # {}\n    env: {}",
                yaml_scalar(&scheme.scheme),
                scheme.what,
                scheme.env.env
            );
            if let Some(secret) = &scheme.client_secret {
                let _ = writeln!(out, "    client_secret_env: {}", secret.env);
            }
        }
    }
    for (scheme, kind) in &api.security_schemes {
        if let SecurityScheme::Unsupported(what) = kind {
            let _ = writeln!(
                out,
                "# Security scheme `{scheme}` uses {what}, which mcpgen can't send yet."
            );
        }
    }
    let described: Vec<&EnvChoice> = std::iter::once(&choices.base_url)
        .chain(
            choices
                .schemes
                .iter()
                .flat_map(|s| std::iter::once(&s.env).chain(s.client_secret.as_ref())),
        )
        .filter(|e| e.description.is_some())
        .collect();
    if !described.is_empty() {
        let _ = writeln!(
            out,
            "# What each variable holds, for the generated README and manifests:"
        );
        let _ = writeln!(out, "env:");
        for env in described {
            let description = env.description.as_deref().unwrap_or_default();
            let _ = writeln!(out, "  {}:\n    description: {}", env.env, yaml_scalar(description));
        }
    }
    out
}

fn one_line(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 70 {
        format!("{}…", line.chars().take(69).collect::<String>())
    } else {
        line
    }
}

/// A YAML plain scalar when safe, else a double-quoted one.
fn yaml_scalar(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        && !matches!(text, "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "~")
        && !text.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.');
    if plain {
        text.to_string()
    } else {
        serde_json::Value::String(text.to_string()).to_string()
    }
}
