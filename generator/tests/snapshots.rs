//! Snapshots of the plan and of every generated file for each example, so a
//! change to planning or templates shows up as a reviewable diff
//! (`cargo insta review`).

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
fn plans_and_generated_files() {
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
        // The plan serializes tool summaries (what file templates see); each tool in full here.
        insta::assert_yaml_snapshot!(
            format!("{example}-tool-plans"),
            generated.plan.tools.iter().collect::<Vec<_>>()
        );
        for file in &generated.files {
            let name = file.path.trim_start_matches("../").replace('/', "-");
            insta::assert_snapshot!(format!("{example}-{name}"), file.contents);
        }
    }
}
