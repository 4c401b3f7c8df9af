//! The CI script itself: `.ci/run` calls the README's test command word for
//! word, and a failure of any step of that command (`tests/install.sh`'s included) fails CI
//! instead of skipping the tests. Each step is replaced by a stub on PATH that
//! fails on demand and records that it ran, so nothing is installed or built
//! here; nginx and cargo-nextest count as installed.

use std::path::Path;
use std::process::Command;

use mcpgen_tests::workspace_root;

/// The README's test command: the fenced line after "Run every test".
fn readme_test_command() -> String {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let at = readme
        .find("Run every test")
        .expect("the README says how to run every test");
    let block = &readme[at..];
    let start = block.find("```sh\n").expect("a sh block") + "```sh\n".len();
    let line = block[start..].lines().next().unwrap().trim().to_string();
    assert!(line.starts_with("bash tests/install.sh && "), "{line}");
    assert!(line.contains("cargo nextest run"), "{line}");
    line
}

/// The line of `.ci/run` that runs the README's command.
fn ci_test_line(command: &str) -> String {
    let ci = std::fs::read_to_string(workspace_root().join(".ci/run")).unwrap();
    assert!(
        ci.lines().any(|l| l == "set -euo pipefail"),
        ".ci/run must run under set -euo pipefail"
    );
    ci.lines()
        .find(|l| l.starts_with(command))
        .unwrap_or_else(|| panic!(".ci/run does not run the README's command word for word: {command}"))
        .to_string()
}

/// Stubs of npm, python3 and cargo (and of nginx and cargo-nextest, so they
/// count as installed): each records its name; the one named in `failing` exits 1.
fn stubs(dir: &Path, failing: Option<&str>) {
    for name in ["npm", "python3", "cargo", "nginx", "cargo-nextest"] {
        let code = if failing == Some(name) { 1 } else { 0 };
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\necho {name} >> \"$STUB_LOG\"\nexit {code}\n")).unwrap();
        let mut permissions = std::fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(&path, permissions).unwrap();
    }
}

/// Runs the CI line as `.ci/run` does, then a marker: (exit code, steps run, marker reached).
fn run_ci_line(line: &str, failing: Option<&str>) -> (Option<i32>, Vec<String>, bool) {
    let dir = tempfile::tempdir().unwrap();
    stubs(dir.path(), failing);
    let log = dir.path().join("log");
    let out = Command::new("bash")
        .args(["-c", &format!("set -euo pipefail\n{line}\necho REACHED")])
        .current_dir(workspace_root())
        .env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
        .env("STUB_LOG", &log)
        .output()
        .unwrap();
    let steps = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect();
    (
        out.status.code(),
        steps,
        String::from_utf8_lossy(&out.stdout).contains("REACHED"),
    )
}

#[test]
fn a_failed_install_or_test_step_fails_ci() {
    let line = ci_test_line(&readme_test_command());
    let (code, steps, reached) = run_ci_line(&line, None);
    assert_eq!((code, reached), (Some(0), true));
    assert_eq!(steps, ["npm", "python3", "cargo"]);
    for (failing, ran) in [
        ("npm", &["npm"][..]),
        ("python3", &["npm", "python3"][..]),
        ("cargo", &["npm", "python3", "cargo"][..]),
    ] {
        let (code, steps, reached) = run_ci_line(&line, Some(failing));
        assert_ne!(code, Some(0), "a failing {failing} must fail CI");
        assert!(!reached, "a failing {failing} must stop .ci/run before the next stage");
        assert_eq!(steps, ran, "{failing} failing");
    }
}
