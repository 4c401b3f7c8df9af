//! What the fixture-spec tests share: `mcpgen::build` for a spec with every
//! operation selected (server `defect-mcp`), the runtime as a path dependency, and extra lines of
//! mcpgen.yaml.

use std::path::{Path, PathBuf};

use mcpgen::Generated;
use mcpgen::diag::Error;

/// `tests/fixtures/<set>/<name>`.
pub fn fixture(set: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(set)
        .join(name)
}

/// `mcpgen::build` for `spec` with `extra` lines of mcpgen.yaml.
pub fn generate(spec: &Path, extra: &str) -> Result<Generated, Error> {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime");
    let config = dir.path().join("mcpgen.yaml");
    std::fs::write(
        &config,
        format!(
            "spec: {:?}\noutput: out\nserver:\n  name: defect-mcp\nruntime:\n  path: {:?}\n{extra}",
            spec.display().to_string(),
            runtime.display().to_string()
        ),
    )
    .unwrap();
    mcpgen::build(&config)
}
