//! `mcpgen`: an OpenAPI document and a selection file in, a Rust MCP server crate out.
//!
//! Stages, each a function of the previous one's output:
//! `load` → `resolve` → `select` → `plan` → `render` (+ `format`) → `write`.
//! [`generate`] runs them all for one `mcpgen.yaml`.

// A `Diagnostic` (file, place, message, help, snippet) is the error of most
// planning steps; boxing it on this cold path of a one-shot CLI buys nothing.
#![allow(clippy::result_large_err)]

pub mod commands;
pub mod diag;
pub mod ir;
pub mod load;
pub mod parallel;
pub mod plan;
pub mod render;
pub mod resolve;
pub mod select;
pub mod text;

use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use crate::commands::lint;
use crate::diag::{Diagnostic, Error};
use crate::plan::{Plan, PlanInputs, check, deploy, distribution, names};
use crate::render::GeneratedFile;
use crate::render::write::{self, Changes};
use crate::select::config;

/// Everything one run produced: the plan, the files and where they go.
pub struct Generated {
    pub plan: Plan,
    pub files: Vec<GeneratedFile>,
    /// The crate directory, as reachable from the working directory.
    pub output_dir: PathBuf,
    /// How long each stage took, in order (`mcpgen generate --timings`).
    pub timings: Vec<(&'static str, Duration)>,
    /// Problems that don't stop generation (unless `--strict`).
    pub warnings: Vec<Diagnostic>,
    /// Tools added, removed or renamed since the last run (per `mcpgen.lock`).
    pub name_changes: names::NameChanges,
    /// Release lint findings (warnings into the spec, without line:col yet: see [`locate_lint`]).
    pub lint: Vec<Diagnostic>,
    /// The spec, for [`locate_lint`].
    pub spec_path: PathBuf,
}

/// Give lint findings their line:column in the spec (parses it again).
pub fn locate_lint(generated: &Generated, findings: &mut [Diagnostic]) {
    if let Some(first) = findings.first() {
        let file = first.file.clone();
        load::locate(&generated.spec_path, &file, findings);
    }
}

/// Run every stage up to rendering, for the selection file at `config_path`.
// Long by design: the pipeline itself, stage after stage with its timing and the positions its diagnostics
// need; each stage is one call.
pub fn build(config_path: &Path) -> Result<Generated, Error> {
    build_with(config_path, SpecInput::Named)
}

/// Which spec `build_with` reads.
#[derive(Clone, Copy)]
pub enum SpecInput<'a> {
    /// The one mcpgen.yaml names (for a URL, the copy mcpgen.lock pins).
    Named,
    /// An earlier spec, with the same selection, overrides and mcpgen.lock:
    /// the old side of `mcpgen diff` and of `mcpgen update`. operationIds and
    /// tags that mcpgen.yaml names but it lacks are let be (the change added them).
    Earlier(&'a Path),
    /// Another spec, read as strictly as the named one: `mcpgen diff --to`.
    File(&'a Path),
    /// A spec `mcpgen update` just fetched (where it is, and its pin for the lock).
    Fetched(&'a Path, &'a load::remote::SpecPin),
}

pub fn build_with(config_path: &Path, spec: SpecInput) -> Result<Generated, Error> {
    let config_file = config_path.display().to_string();
    let text = std::fs::read_to_string(config_path).map_err(|e| Error::io(format!("can't read {config_file}"), e))?;
    let config_snippets = |err: Error| match err {
        Error::Diagnostics(mut diagnostics) => {
            diag::attach_snippets(&mut diagnostics, &config_file, &text);
            Error::Diagnostics(diagnostics)
        }
        other => other,
    };
    let selection_file = config::parse(&config_file, &text).map_err(config_snippets)?;
    let base = config_path.parent().unwrap_or(Path::new(""));

    let lock_path = base.join(names::LOCK_FILE);
    let old_lock = read_lock(&lock_path)?;
    let named = &selection_file.spec.value;
    let (spec_path, pin) = match spec {
        SpecInput::Earlier(path) | SpecInput::File(path) => (path.to_path_buf(), old_lock.spec.clone()),
        SpecInput::Fetched(path, pin) => (path.to_path_buf(), Some(pin.clone())),
        SpecInput::Named if load::remote::is_url(named) => {
            let copy = load::remote::pinned_copy(base, named, old_lock.spec.as_ref(), &config_file);
            (base.join(copy.map_err(config_snippets)?), old_lock.spec.clone())
        }
        SpecInput::Named => (base.join(named), None),
    };
    let spec_file = spec_path.display().to_string();
    if !spec_path.is_file() {
        let at = &selection_file.spec.referenced;
        return Err(config_snippets(Error::one(
            Diagnostic::new(
                &config_file,
                format!("the spec `{}` does not exist", selection_file.spec.value),
            )
            .line_col(at.line(), at.column())
            .help("`spec` is a path relative to mcpgen.yaml"),
        )));
    }
    // Spec diagnostics get their line:column here, on the error path only.
    let with_positions = |err: Error| match err {
        Error::Diagnostics(mut diagnostics) => {
            load::locate(&spec_path, &spec_file, &mut diagnostics);
            diag::attach_snippets(&mut diagnostics, &config_file, &text);
            Error::Diagnostics(diagnostics)
        }
        other => other,
    };
    let mut timings = Vec::new();
    let mut clock = Instant::now();
    let mut lap = |stage: &'static str| {
        timings.push((stage, clock.elapsed()));
        clock = Instant::now();
    };
    let mut document = load::load_spec(&spec_path, &spec_file).map_err(with_positions)?;
    lap("load");
    let api = resolve::resolve(&document).map_err(with_positions)?;
    lap("resolve");
    let files = select::Files {
        config: &config_file,
        spec: &spec_file,
        earlier: matches!(spec, SpecInput::Earlier(_)),
    };
    let selection = select::select(&api, &selection_file, &files).map_err(with_positions)?;
    lap("select");
    // Flaws where no selected operation is: warnings, never a rejected document.
    let mut spec_warnings = std::mem::take(&mut document.skipped);
    spec_warnings.extend(unselected_invalid(&api, &selection, &spec_file));
    if !spec_warnings.is_empty() {
        load::locate(&spec_path, &spec_file, &mut spec_warnings);
    }

    let output_dir = base.join(&selection_file.output.value);
    let runtime = select::runtime::RuntimeDependency::of(&selection_file.runtime, base, &output_dir, &config_file)
        .map_err(config_snippets)?;
    let tool_names = names::assign(&selection.operations, &selection.custom_names(), &old_lock);
    let requests = names::requests(&selection.operations, &tool_names);
    let mut plan = plan::plan_tools(
        &selection,
        PlanInputs {
            tool_names: &tool_names,
            config_file: &config_file,
            spec_file: &selection_file.spec.value,
            diagnostics_file: &spec_file,
            runtime_dependency: runtime.dependency,
            runtime_dev_dependency: runtime.dev_dependency,
            instructions: api.description.clone(),
            document: &document.raw,
        },
    )
    .map_err(with_positions)?;
    lap("plan");
    // Nothing is written with a tool a strict client would refuse.
    let mut checked = check::check(&mut plan, &spec_file);
    if checked.iter().any(|d| !d.warning) {
        return Err(with_positions(Error::Diagnostics(checked)));
    }
    if !checked.is_empty() {
        load::locate(&spec_path, &spec_file, &mut checked);
    }
    lap("check");
    let (budget, chosen) = (selection.token_budget, selection.surface);
    // Each tool's tools/list entry size, once: for the surface and the budget warning.
    let listed: Vec<usize> = parallel::map_ordered(&plan.tools, |tool| tool.listed_bytes_in(plan.schema_profile));
    plan.surface = plan::choose_surface(chosen, listed.iter().sum(), budget);
    let verdicts = parallel::map_ordered(&plan.tools, |tool| plan::dialects::verdicts(tool, plan.schema_profile));
    plan.dialects = plan::dialects::count(&plan.tools, &verdicts);
    let entries: Vec<plan::search::Entry> = plan.tools.iter().map(Into::into).collect();
    plan.search = plan::search::SearchPlan::build(&entries);
    lap("index");
    package(
        &mut plan,
        &selection_file,
        config_path,
        &output_dir,
        runtime.dir.as_deref(),
        // The spec file the repository holds (for a URL, the copy mcpgen.lock pins).
        pin.as_ref().map_or(&selection_file.spec.value, |pin| &pin.file),
    )
    .map_err(config_snippets)?;
    let skip = lint_skip(&selection_file, &config_file).map_err(config_snippets)?;
    // The plan owns all it needs: the spec's tree is freed on another core
    // while lint runs, and all of it before rendering (peak memory).
    // (Should no thread start, the document is dropped right here.)
    let freeing = std::thread::Builder::new().spawn(move || drop(document)).ok();
    let lint = lint::lint(&lint::LintInputs {
        operations: &selection.operations,
        tools: &plan.tools,
        spec_file: &spec_file,
        skip: &skip,
        dialects: (plan.schema_profile, &verdicts),
    });
    drop(selection);
    drop(api);
    if let Some(freeing) = freeing {
        freeing.join().expect("dropping the document does not panic");
    }
    release_freed_memory();
    lap("lint");
    let mut warnings: Vec<Diagnostic> = token_budget(&plan, &listed, &selection_file, &config_file)
        .into_iter()
        .chain(prefixed_names(&plan, &selection_file, &config_file))
        .chain(plain_http_credentials(&plan, &config_file))
        .collect();
    diag::attach_snippets(&mut warnings, &config_file, &text);
    warnings.extend(spec_warnings);
    warnings.extend(checked);
    let mut files = render::render(&plan)?;
    let lock_from_output =
        relative_path(&output_dir, &lock_path).map_err(|e| Error::io("can't place mcpgen.lock", e))?;
    files.push(GeneratedFile {
        path: lock_from_output,
        contents: names::render_lock(&tool_names, &requests, pin.as_ref()),
        user_owned: false,
    });
    let name_changes = names::changes(&old_lock, &tool_names);
    lap("render");
    Ok(Generated {
        plan,
        files,
        output_dir,
        timings,
        warnings,
        name_changes,
        lint,
        spec_path,
    })
}

/// The runtime a generated crate is made for. The workspace releases every
/// crate with one version (`version.workspace = true`, checked by
/// `tests/e2e/release.rs`), so this mcpgen's version is its runtime's too; a
/// crate depends on exactly it by default, since the generated tables are
/// struct literals of that runtime's types.
pub const RUNTIME_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where the crate ships: the Docker build context (which must hold a
/// runtime used by path), the opt-in CI workflow's paths, and the opt-in
/// registry and bundle manifests.
fn package(
    plan: &mut Plan,
    selection_file: &config::SelectionFile,
    config_path: &Path,
    output_dir: &Path,
    runtime_dir: Option<&str>,
    spec_copy: &str,
) -> Result<(), Error> {
    let base = config_path.parent().unwrap_or(Path::new(""));
    let config_file = config_path.display().to_string();
    if let Some(runtime_dir) = runtime_dir {
        let (context, crate_in_context) =
            docker_context(output_dir, runtime_dir).map_err(|e| Error::io("can't resolve the crate's directory", e))?;
        plan.deploy.context = context;
        plan.deploy.crate_in_context = crate_in_context;
    }
    let ci = &selection_file.ci;
    if let Some(setting) = &ci.github_actions {
        let config_name = config_path
            .file_name()
            .map_or("mcpgen.yaml".into(), |n| n.to_string_lossy());
        let at = (setting.referenced.line(), setting.referenced.column());
        let mut workflow = deploy::workflow(
            base,
            &setting.value,
            &config_name,
            spec_copy,
            &selection_file.output.value,
        )
        .map_err(|message| Error::one(deploy::workflow_problem(&config_file, at, message)))?;
        workflow.diff_comment = ci.diff_comment;
        if let Some(schedule) = &ci.update_schedule {
            let at = &schedule.referenced;
            let problem = if load::remote::is_url(&selection_file.spec.value) {
                deploy::check_schedule(&schedule.value).err()
            } else {
                Some("`mcpgen update` fetches a spec named by URL, and `spec` is a file".to_string())
            };
            if let Some(problem) = problem {
                return Err(Error::one(
                    Diagnostic::new(&config_file, format!("ci.update_schedule: {problem}"))
                        .line_col(at.line(), at.column())
                        .help("e.g. `update_schedule: \"0 6 * * 1\"` (Mondays, 06:00 UTC) with `spec: https://…`"),
                ));
            }
            workflow.update_schedule = Some(schedule.value.clone());
        }
        workflow.path = relative_path(output_dir, &base.join(&setting.value))
            .map_err(|e| Error::io("can't place the workflow", e))?;
        plan.workflow = Some(workflow);
    } else if ci.diff_comment || ci.update_schedule.is_some() {
        return Err(Error::one(
            Diagnostic::new(&config_file, "`ci.diff_comment` and `ci.update_schedule` are jobs of the workflow `ci.github_actions` writes, and it is not set")
                .help("add `github_actions: .github/workflows/mcpgen.yml` (relative to mcpgen.yaml) under `ci:`"),
        ));
    }
    let header = render::header(plan);
    let (files, publishing) = distribution::distribution(&selection_file.distribution, plan, &config_file, &header)
        .map_err(Error::Diagnostics)?;
    plan.distribution = files;
    plan.publishing = publishing;
    Ok(())
}

/// `lint.skip`: rules that exist.
fn lint_skip(selection_file: &config::SelectionFile, config_file: &str) -> Result<Vec<String>, Error> {
    let unknown: Vec<Diagnostic> = selection_file
        .lint
        .skip
        .iter()
        .filter(|s| !lint::RULES.contains(&s.value.as_str()))
        .map(|s| {
            Diagnostic::new(config_file, format!("`{}` is not a lint rule", s.value))
                .line_col(s.referenced.line(), s.referenced.column())
                .help(match diag::did_you_mean(&s.value, lint::RULES.iter().copied()) {
                    Some(rule) => format!("did you mean `{rule}`?"),
                    None => format!("the rules: {}", lint::RULES.join(", ")),
                })
        })
        .collect();
    if !unknown.is_empty() {
        return Err(Error::Diagnostics(unknown));
    }
    Ok(selection_file.lint.skip.iter().map(|s| s.value.clone()).collect())
}

/// One warning per operation that is not valid OpenAPI and not selected.
fn unselected_invalid(api: &ir::Api, selection: &select::Selection, spec_file: &str) -> Vec<Diagnostic> {
    let selected: std::collections::HashSet<&str> = selection.operations.iter().map(|op| op.pointer.as_str()).collect();
    api.invalid_operations
        .iter()
        .filter(|pointer| !selected.contains(pointer.as_str()))
        .map(|pointer| {
            Diagnostic::new(
                spec_file,
                "not a valid OpenAPI operation; it is not selected, so it is left out",
            )
            .at(pointer.clone())
            .warning()
            .help("select it to see what is wrong, or fix it in the spec")
        })
        .collect()
}

/// For a runtime at `runtime_dir` (relative to the crate): the build context
/// that holds both (relative to the crate) and the crate's path inside it.
fn docker_context(output_dir: &Path, runtime_dir: &str) -> std::io::Result<(String, String)> {
    let ups = runtime_dir.split('/').take_while(|p| *p == "..").count();
    if ups == 0 {
        return Ok((".".to_string(), ".".to_string()));
    }
    let parts = absolute_parts(output_dir)?;
    let inside = parts[parts.len().saturating_sub(ups)..].join("/");
    Ok((vec![".."; ups].join("/"), inside))
}

/// Return freed pages to the OS now (mimalloc keeps them a while), so peak
/// memory is the live data: the CLI's allocator is mimalloc. A no-op for
/// programs using the library with another allocator.
fn release_freed_memory() {
    // SAFETY: mi_collect only walks mimalloc's own heaps; it is safe to call at any time.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

/// Any reqwest client in the process needs this before it is built.
pub(crate) fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The names of the last run; none yet is an empty lock.
pub fn read_lock(path: &Path) -> Result<names::NameLock, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => names::parse_lock(&path.display().to_string(), &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(names::NameLock::default()),
        Err(e) => Err(Error::io(format!("can't read {}", path.display()), e)),
    }
}

/// A warning when the tools list of a surface that lists every tool would
/// exceed `max_tools_list_tokens` (`surface: tools` or `both` on a large API).
fn token_budget(plan: &Plan, listed: &[usize], file: &config::SelectionFile, config_file: &str) -> Option<Diagnostic> {
    if !plan.surface.lists_operations() {
        return None;
    }
    // The budget's line, else `surface:`'s (a list under the default budget never warns).
    let (budget, at) = match (&file.max_tools_list_tokens, &file.surface) {
        (Some(b), _) => (b.value, &b.referenced),
        (None, Some(s)) => (select::DEFAULT_TOKEN_BUDGET, &s.referenced),
        (None, None) => return None,
    };
    let mut sizes: Vec<(usize, &str)> = listed
        .iter()
        .zip(&plan.tools)
        .map(|(&b, t)| (b, t.name.as_str()))
        .collect();
    // As `mcpgen list` counts: the bytes of all entries, then tokens.
    let total = plan::estimate_tokens(sizes.iter().map(|(bytes, _)| bytes).sum());
    if total <= budget {
        return None;
    }
    sizes.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let biggest: Vec<String> = sizes
        .iter()
        .take(5)
        .map(|(bytes, name)| format!("{name} (~{})", plan::estimate_tokens(*bytes)))
        .collect();
    Some(
        Diagnostic::new(
            config_file,
            format!(
                "the tools list would take ~{total} tokens, over max_tools_list_tokens {budget}; the biggest tools: {}",
                biggest.join(", ")
            ),
        )
        .line_col(at.line(), at.column())
        .help(
            "serve `surface: discovery` (search, describe and call over every operation), split the API into \
             `toolsets`, exclude tools (`mcpgen list` shows every tool's size), or raise max_tools_list_tokens",
        )
        .warning(),
    )
}

/// A default base URL in plain `http://` to a host beyond this machine, with
/// credentials to send: they would cross the network unencrypted.
fn plain_http_credentials(plan: &Plan, config_file: &str) -> Option<Diagnostic> {
    let url = plan.base_url_default.as_deref()?;
    let rest = url.strip_prefix("http://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    let loopback = host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    let credentials: Vec<String> = plan.schemes.iter().map(|s| format!("`{}`", s.env)).collect();
    if loopback || credentials.is_empty() {
        return None;
    }
    Some(
        Diagnostic::new(
            config_file,
            format!(
                "the API's default base URL `{url}` is plain HTTP: {} would cross the network unencrypted",
                credentials.join(", ")
            ),
        )
        .warning()
        .help(format!(
            "set `base_url.default` to the API's https:// URL in mcpgen.yaml (or `{}` at run time)",
            plan.base_url_env
        )),
    )
}

/// Hosts show tools as `mcp__<server>__<tool>` (the server's key in their
/// config) and reject names over 64 characters: warn before a host does.
fn prefixed_names(plan: &Plan, file: &config::SelectionFile, config_file: &str) -> Option<Diagnostic> {
    let key = plan.crate_name.trim_end_matches("-mcp");
    let prefix = format!("mcp__{key}__");
    let long: Vec<&str> = plan
        .tools
        .iter()
        .filter(|t| prefix.len() + t.name.len() > 64)
        .map(|t| t.name.as_str())
        .collect();
    let first = long.first()?;
    let listed: Vec<String> = long.iter().take(5).map(|n| format!("`{n}`")).collect();
    let more = if long.len() > 5 {
        format!(" and {} more", long.len() - 5)
    } else {
        String::new()
    };
    let count = if long.len() == 1 {
        "a tool name".to_string()
    } else {
        format!("{} tool names", long.len())
    };
    let at = &file.server.name.referenced;
    Some(
        Diagnostic::new(
            config_file,
            format!(
                "{count} would pass 64 characters once a host prefixes it as `{prefix}<tool>`: {}{more}",
                listed.join(", ")
            ),
        )
        .line_col(at.line(), at.column())
        .help(format!(
            "give a shorter server name here, or shorter tool names under `tools:` (e.g. `name:` for `{first}`); \
             `{prefix}` leaves {} characters",
            64usize.saturating_sub(prefix.len())
        ))
        .warning(),
    )
}

/// `mcpgen generate`: write changed files. With `check`, compare only.
pub fn generate(config_path: &Path, check: bool, strict: bool) -> Result<(Generated, Changes), Error> {
    let mut generated = build(config_path)?;
    if strict && !(generated.warnings.is_empty() && generated.lint.is_empty()) {
        let mut all: Vec<Diagnostic> = generated.warnings.iter().chain(&generated.lint).cloned().collect();
        locate_lint(&generated, &mut all);
        return Err(Error::Diagnostics(
            all.into_iter().map(|w| Diagnostic { warning: false, ..w }).collect(),
        ));
    }
    let started = Instant::now();
    let changes = if check {
        write::check(&generated.output_dir, &generated.files)?
    } else {
        write::write(&generated.output_dir, &generated.files)?
    };
    generated
        .timings
        .push((if check { "check" } else { "write" }, started.elapsed()));
    Ok((generated, changes))
}

/// The components of `path` made absolute, `.` and `..` applied lexically
/// (an empty path is the working directory).
pub(crate) fn absolute_parts(path: &Path) -> std::io::Result<Vec<String>> {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    let mut parts: Vec<String> = Vec::new();
    for c in std::path::absolute(path)?.components() {
        match c {
            Component::ParentDir => {
                parts.pop();
            }
            Component::Normal(s) => parts.push(s.to_string_lossy().to_string()),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Ok(parts)
}

/// The relative path from directory `from` to `to`, with `/` separators,
/// computed lexically after making both absolute.
pub(crate) fn relative_path(from: &Path, to: &Path) -> std::io::Result<String> {
    let (from, to) = (absolute_parts(from)?, absolute_parts(to)?);
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out: Vec<String> = vec!["..".to_string(); from.len() - common];
    out.extend(to[common..].iter().cloned());
    Ok(if out.is_empty() { ".".to_string() } else { out.join("/") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_path(
                Path::new("examples/petstore/petstore-mcp"),
                Path::new("examples/petstore/../../runtime")
            )
            .unwrap(),
            "../../../runtime"
        );
        assert_eq!(relative_path(Path::new("a/b"), Path::new("a/b")).unwrap(), ".");
    }
}
