//! `runtime:`: how a generated crate depends on `mcpgen-runtime` (exactly
//! this mcpgen's runtime from crates.io by default, a path, a version
//! requirement, or a git repository at a rev, tag or branch), checked with
//! each mistake at its line:col.

use std::path::Path;

use serde_saphyr::Spanned;

use super::config;
use crate::diag::{Diagnostic, Error};
use crate::{RUNTIME_VERSION, relative_path};

/// How the generated crate depends on `mcpgen-runtime`: a path (relative to
/// the crate), a git repository or a version, for `[dependencies]` and
/// `[dev-dependencies]`.
pub struct RuntimeDependency {
    pub dependency: String,
    pub dev_dependency: String,
    /// The runtime's directory relative to the crate, when used by path.
    pub dir: Option<String>,
}

impl RuntimeDependency {
    // Long by design: the `runtime:` section's three sources (version, path, git) checked together, as only one
    // may be given, then the dependency lines they make.
    pub fn of(
        section: &config::RuntimeSection,
        base: &Path,
        output_dir: &Path,
        config_file: &str,
    ) -> Result<RuntimeDependency, Error> {
        let toml = |s: &str| serde_json::Value::String(s.to_string()).to_string();
        let at = |value: &Spanned<String>, message: String, help: &str| {
            Diagnostic::new(config_file, message)
                .line_col(value.referenced.line(), value.referenced.column())
                .help(help.to_string())
        };
        let mut problems = Vec::new();
        let sources: Vec<_> = [
            ("path", &section.path),
            ("version", &section.version),
            ("git", &section.git),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.as_ref().map(|v| (key, v)))
        .collect();
        if let [_, (key, value), ..] = sources.as_slice() {
            problems.push(at(
                value,
                format!("runtime.{key} is given with runtime.{}", sources[0].0),
                "give one of runtime.path, runtime.version and runtime.git",
            ));
        }
        let refs: Vec<_> = [
            ("rev", &section.rev),
            ("tag", &section.tag),
            ("branch", &section.branch),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.as_ref().map(|v| (key, v)))
        .collect();
        match (&section.git, refs.as_slice()) {
            (None, [(key, value), ..]) => problems.push(at(
                value,
                format!("runtime.{key} is given without runtime.git"),
                "add the repository's URL as runtime.git, or remove this key",
            )),
            (Some(_), [_, (key, value), ..]) => problems.push(at(
                value,
                format!("runtime.{key} is given with runtime.{}", refs[0].0),
                "give one of runtime.rev, runtime.tag and runtime.branch (none: the default branch)",
            )),
            _ => {}
        }
        if let Some(git) = &section.git
            && url::Url::parse(&git.value).is_err()
        {
            problems.push(at(
                git,
                format!("runtime.git `{}` is not a URL", git.value),
                "give the repository as cargo takes it: https://github.com/org/repo, ssh://git@host/org/repo \
                 or file:///path/to/repo",
            ));
        }
        if !problems.is_empty() {
            return Err(Error::Diagnostics(problems));
        }
        // The dependency's inline-table fields; the dev-dependency adds the smoke test's feature.
        let (fields, dir) = if let Some(path) = &section.path {
            let relative = relative_path(output_dir, &base.join(&path.value))
                .map_err(|e| Error::io("can't resolve the runtime path", e))?;
            // The version too: a path dependency without one can't be published,
            // and a checkout of another runtime version is refused by cargo.
            let fields = vec![
                format!("path = {}", toml(&relative)),
                format!("version = \"={RUNTIME_VERSION}\""),
            ];
            (fields, Some(relative))
        } else if let Some(git) = &section.git {
            let fields = std::iter::once(format!("git = {}", toml(&git.value)))
                .chain(
                    refs.first()
                        .map(|(key, value)| format!("{key} = {}", toml(&value.value))),
                )
                .collect();
            (fields, None)
        } else {
            let version = section
                .version
                .as_ref()
                .map_or_else(|| format!("={RUNTIME_VERSION}"), |v| v.value.clone());
            (vec![format!("version = {}", toml(&version))], None)
        };
        let table = |fields: &[String]| format!("{{ {} }}", fields.join(", "));
        let dependency = match (&section.path, &section.git) {
            // A crates.io version alone is written as a plain string.
            (None, None) => fields[0].trim_start_matches("version = ").to_string(),
            _ => table(&fields),
        };
        let mut dev_fields = fields;
        dev_fields.push("features = [\"testing\"]".to_string());
        Ok(RuntimeDependency {
            dependency,
            dev_dependency: table(&dev_fields),
            dir,
        })
    }
}
