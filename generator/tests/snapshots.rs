//! Snapshots of each example's plan (with the tools' summaries), so a change
//! to planning shows up as a reviewable diff (`cargo insta review`). Each
//! tool's table entry and every other generated file are committed with the
//! examples, and `every_committed_crate_is_current` guards them.

use std::path::{Path, PathBuf};

fn examples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut configs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("examples/ exists")
        .map(|e| e.expect("readable").path().join("mcpgen.yaml"))
        .filter(|p| p.is_file())
        .collect();
    configs.sort();
    configs
}

#[test]
fn plans() {
    let configs = examples();
    assert!(configs.len() >= 2, "{configs:?}");
    for config in configs {
        let example = config
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let generated = mcpgen::build(&config).unwrap_or_else(|e| panic!("{}: {e}", config.display()));
        insta::assert_yaml_snapshot!(format!("{example}-plan"), generated.plan);
    }
}
