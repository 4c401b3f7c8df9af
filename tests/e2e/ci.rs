//! The CI script itself: `.ci/run` calls the README's two commands word for
//! word, a failure of any step of the test command (`tests/install.sh`'s
//! included) fails CI instead of skipping the tests, every stage stops CI when
//! it fails, and each stage's planted failure is checked to fail it. Each
//! step is replaced by a stub on PATH that fails on demand and records that
//! it ran, so nothing is installed or built here; nginx and cargo-nextest
//! count as installed.

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

/// A script at `path` that can be run.
fn executable(path: &Path, script: &str) {
    std::fs::write(path, script).unwrap();
    let mut permissions = std::fs::metadata(path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(path, permissions).unwrap();
}

/// Stubs of npm, python3 and cargo (and of nginx, redis-server and cargo-nextest, so they
/// count as installed): each records its name; the one named in `failing` exits 1.
fn stubs(dir: &Path, failing: Option<&str>) {
    for name in ["npm", "python3", "cargo", "nginx", "redis-server", "cargo-nextest"] {
        let code = if failing == Some(name) { 1 } else { 0 };
        executable(
            &dir.join(name),
            &format!("#!/bin/sh\necho {name} >> \"$STUB_LOG\"\nexit {code}\n"),
        );
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

/// The README's first command: the fenced line after "The two commands".
fn readme_demo_command() -> String {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let block = &readme[readme.find("## The two commands").expect("the README's two commands")..];
    let start = block.find("```sh\n").expect("a sh block") + "```sh\n".len();
    block[start..].lines().next().unwrap().trim().to_string()
}

/// Every stage of `.ci/run` in order, with the command that fails it.
const STAGES: &[(&str, &str)] = &[
    (
        "format",
        "cargo fmt --check -p mcpgen-spec -p mcpgen -p mcpgen-runtime -p mcpgen-tests -p mcpgen-fuzz",
    ),
    (
        "clippy",
        "cargo clippy --quiet --workspace --all-targets -- -D warnings",
    ),
    ("tests", "cargo nextest run --workspace --no-fail-fast"),
    ("demo", "cargo run -p mcpgen-tests --example demo"),
    ("fuzz", "bash fuzz/run.sh 20"),
    ("soak", "cargo run -q -p mcpgen-tests --example soak -- 120"),
    ("corpus", "bash tests/corpus.sh"),
    ("bench", "bash bench/run.sh --smoke"),
];

/// Each stage's planted failure, as the stub sees it (the variables that plant it appended).
const PLANTED: &[(&str, &str)] = &[
    ("fuzz", "bash fuzz/run.sh 2 selection MCPGEN_FUZZ_PLANT"),
    (
        "soak",
        "cargo run -q -p mcpgen-tests --example soak -- 5 --plant unanswered",
    ),
    ("corpus", "bash tests/corpus.sh --plant-rejection"),
    ("bench", "bash bench/run.sh --smoke BENCH_PLANT_BROKEN_BUILD"),
];

/// A stub of every program `.ci/run` starts: it records its command line
/// (with the planting variables), exits 1 when that line is `STUB_FAIL`, fails
/// a planted run unless it is `STUB_PLANT_PASSES`, and prints what the demo
/// prints.
const STUB: &str = r#"#!/bin/sh
line="$(basename "$0") $*"
[ -z "${MCPGEN_FUZZ_PLANT:-}" ] || line="$line MCPGEN_FUZZ_PLANT"
[ -z "${BENCH_PLANT_BROKEN_BUILD:-}" ] || line="$line BENCH_PLANT_BROKEN_BUILD"
echo "$line" >> "$STUB_LOG"
[ "$line" != "${STUB_FAIL:-}" ] || exit 1
case "$line" in
  *plant*|*PLANT*) [ "$line" = "${STUB_PLANT_PASSES:-}" ] && exit 0; exit 1 ;;
  "cargo run -p mcpgen-tests --example demo")
    echo 'petstore-mcp over stdio: 1 tools: get_pet_by_id'
    echo '<- {"id":1}'
    echo 'the API saw: GET /pets/1 with the right X-API-Key' ;;
  "rustc -vV") echo "rustc 1.0.0 (stub)" ;;
esac
exit 0
"#;

struct CiRun {
    code: Option<i32>,
    /// The stubbed commands, in the order they ran.
    commands: Vec<String>,
    output: String,
}

/// `.ci/run` itself with every program it starts stubbed (the cache in a temporary directory).
fn run_ci(fail: Option<&str>, plant_passes: Option<&str>) -> CiRun {
    let dir = tempfile::tempdir().unwrap();
    for name in ["bash", "cargo", "rustc", "git", "npm", "python3"] {
        executable(&dir.path().join(name), STUB);
    }
    let log = dir.path().join("log");
    let out = Command::new("/bin/bash")
        .arg(workspace_root().join(".ci/run"))
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
        .env("HOME", dir.path())
        .env("MCPGEN_CI_CACHE", dir.path().join("cache"))
        .env("STUB_LOG", &log)
        .env("STUB_FAIL", fail.unwrap_or(""))
        .env("STUB_PLANT_PASSES", plant_passes.unwrap_or(""))
        .output()
        .unwrap();
    CiRun {
        code: out.status.code(),
        commands: std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

#[test]
fn ci_runs_the_readme_demo_word_for_word_and_checks_what_it_prints() {
    let demo = readme_demo_command();
    assert!(demo.starts_with("cargo run -p mcpgen -- generate "), "{demo}");
    ci_test_line(&demo);
}

#[test]
fn every_stage_runs_in_order_and_the_table_names_each() {
    let run = run_ci(None, None);
    assert_eq!(run.code, Some(0), "{}", run.output);
    // Each stage's command, then its planted failure.
    let expected = STAGES.iter().flat_map(|stage| {
        let planted = PLANTED.iter().filter(|(s, _)| *s == stage.0);
        std::iter::once(stage).chain(planted)
    });
    let mut at = 0;
    for (stage, command) in expected {
        let found = run.commands[at..].iter().position(|c| c == command);
        let found = found.unwrap_or_else(|| panic!("{stage}: `{command}` did not run in order: {:?}", run.commands));
        at += found + 1;
        assert!(
            run.output.lines().any(|l| l.split_whitespace().next() == Some(stage)),
            "the stage table lacks {stage}:\n{}",
            run.output
        );
    }
    let stages: Vec<&str> = run
        .output
        .lines()
        .filter_map(|l| l.strip_prefix("=== stage: "))
        .collect();
    assert_eq!(stages, STAGES.iter().map(|(s, _)| *s).collect::<Vec<_>>());
    assert!(run.output.contains("\nCI passed\n"), "{}", run.output);
}

#[test]
fn a_failing_stage_stops_ci() {
    for (stage, command) in STAGES {
        let run = run_ci(Some(command), None);
        assert_ne!(run.code, Some(0), "{stage} failing must fail CI");
        assert_eq!(
            run.commands.last().map(String::as_str),
            Some(*command),
            "{stage}: nothing runs after it"
        );
        assert!(
            run.output.contains(&format!("CI failed in stage {stage} ")),
            "{stage}: {}",
            run.output
        );
    }
}

#[test]
fn a_planted_failure_that_passes_stops_ci() {
    for (stage, planted) in PLANTED {
        let run = run_ci(None, Some(planted));
        assert_ne!(run.code, Some(0), "{stage}: a stage that can't fail must fail CI");
        assert_eq!(run.commands.last().map(String::as_str), Some(*planted));
        assert!(run.output.contains("self-check failed"), "{stage}: {}", run.output);
        assert!(
            run.output.contains(&format!("CI failed in stage {stage} ")),
            "{}",
            run.output
        );
    }
}

/// `.ci/sweep.py` on a target directory laid out as cargo lays it out.
#[test]
fn the_cache_sweep_removes_only_superseded_build_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    let stamp = dir.path().join(".last-run");
    let old = [
        // Our crate as an earlier clone built it: superseded by the newer build below.
        "debug/deps/libmcpgen_runtime-0123456789abcdef.rlib",
        "debug/deps/libmcpgen_runtime-0123456789abcdef.rmeta",
        "debug/.fingerprint/mcpgen-runtime-0123456789abcdef/lib-mcpgen_runtime",
        "debug/incremental/mcpgen_runtime-0spldz5qb7db8/s-1/dep-graph.bin",
        // A dependency in two configurations, neither rebuilt: both still in use.
        "debug/deps/libsyn-1111111111111111.rlib",
        "debug/deps/libsyn-2222222222222222.rlib",
        // Another profile has its own outputs: nothing there was rebuilt.
        "workflow/release/.fingerprint/petstore-mcp-3333333333333333/bin",
        "workflow/release/deps/petstore_mcp-3333333333333333",
    ];
    let new = [
        "debug/deps/libmcpgen_runtime-fedcba9876543210.rlib",
        "debug/.fingerprint/mcpgen-runtime-fedcba9876543210/lib-mcpgen_runtime",
        "debug/incremental/mcpgen_runtime-1javj7cf485z8/s-2/dep-graph.bin",
    ];
    for file in old.iter().chain(&new) {
        let path = target.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "x").unwrap();
    }
    // Files written before the previous run's start, then the stamp, then its builds.
    let touch = |paths: Vec<std::path::PathBuf>, when: &str| {
        let out = Command::new("touch").arg("-d").arg(when).args(paths).output().unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    let walk = |root: &Path| -> Vec<std::path::PathBuf> {
        let mut all = vec![root.to_path_buf()];
        let mut at = 0;
        while at < all.len() {
            if all[at].is_dir() {
                all.extend(std::fs::read_dir(&all[at]).unwrap().map(|e| e.unwrap().path()));
            }
            at += 1;
        }
        all
    };
    touch(walk(&target), "-2 hours");
    touch(vec![stamp.clone()], "-1 hour");
    let rebuilt: Vec<_> = new
        .iter()
        .flat_map(|f| {
            target
                .join(f)
                .ancestors()
                .take(3)
                .map(Path::to_path_buf)
                .collect::<Vec<_>>()
        })
        .collect();
    touch(rebuilt, "now");

    let out = Command::new("python3")
        .arg(workspace_root().join(".ci/sweep.py"))
        .arg(&target)
        .arg(&stamp)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("swept "));
    let gone = |file: &str| !target.join(file).exists();
    for file in &old[..4] {
        assert!(gone(file), "{file} was superseded and must go");
    }
    for file in old[4..].iter().chain(&new) {
        assert!(!gone(file), "{file} must stay");
    }
    // Without a previous run nothing is swept.
    let out = Command::new("python3")
        .arg(workspace_root().join(".ci/sweep.py"))
        .arg(&target)
        .arg(dir.path().join("never"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(target.join(new[0]).exists());
}
