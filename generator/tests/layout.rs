//! The generator's import rules (README, "Architecture"): a stage imports
//! only earlier stages and the shared modules; nothing but `lib.rs` and the
//! CLI imports `commands`; the shared modules import no stage.

use std::path::{Path, PathBuf};

/// The pipeline's stages, in order.
const STAGES: &[&str] = &["load", "resolve", "select", "plan", "render"];
const SHARED: &[&str] = &["diag.rs", "ir.rs", "parallel.rs", "text.rs"];
const MODULES: &[&str] = &["load", "resolve", "select", "plan", "render", "commands"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a file names as `crate::<module>`.
fn imports(path: &Path) -> Vec<&'static str> {
    let text = std::fs::read_to_string(path).unwrap();
    MODULES
        .iter()
        .copied()
        .filter(|m| {
            text.match_indices(&format!("crate::{m}")).any(|(i, _)| {
                let after = text[i + "crate::".len() + m.len()..].chars().next();
                !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
            })
        })
        .collect()
}

#[test]
fn stages_import_only_earlier_stages() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut broken = Vec::new();
    for (position, stage) in STAGES.iter().enumerate() {
        let mut files = Vec::new();
        rust_files(&src.join(stage), &mut files);
        assert!(!files.is_empty(), "src/{stage}/ exists");
        for file in files {
            for imported in imports(&file) {
                let allowed = STAGES[..=position].contains(&imported);
                if !allowed {
                    broken.push(format!("{} imports crate::{imported}", file.display()));
                }
            }
        }
    }
    for shared in SHARED {
        for imported in imports(&src.join(shared)) {
            broken.push(format!("src/{shared} imports crate::{imported}"));
        }
    }
    assert!(broken.is_empty(), "import rules broken:\n{}", broken.join("\n"));
}
