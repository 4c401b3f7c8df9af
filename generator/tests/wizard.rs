//! The interactive `mcpgen init`, driven in a real pseudo-terminal (expectrl)
//! as a user drives it: keys in, the rendered prompts out. Plain `init` on a
//! terminal is the wizard; Ctrl-C and Esc write nothing; a narrow terminal
//! gets rows cut to its width, never wrapped.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use expectrl::process::unix::WaitStatus;
use expectrl::{ControlCode, Expect, Session};

fn petstore_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/petstore/openapi.yaml");
    std::fs::copy(spec, dir.path().join("openapi.yaml")).unwrap();
    dir
}

/// `mcpgen init --spec openapi.yaml` (plus `extra`) in `dir`, on a terminal of `columns`×`rows`.
fn spawn(dir: &Path, columns: u16, rows: u16, extra: &[&str]) -> expectrl::session::OsSession {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mcpgen"));
    command
        .args(["init", "--spec", "openapi.yaml"])
        .args(extra)
        .current_dir(dir)
        .env("TERM", "xterm-256color")
        // Plain text: the prompts' words arrive without color codes between them.
        .env("NO_COLOR", "1");
    let mut session = Session::spawn(command).expect("a pty");
    session.get_process_mut().set_window_size(columns, rows).unwrap();
    session.set_expect_timeout(Some(Duration::from_secs(60)));
    session
}

/// Waits for the picker, types `filter` and presses enter: toggles the first match.
fn pick(session: &mut expectrl::session::OsSession, filter: &str) {
    session.expect("? Tools:").unwrap();
    type_and_enter(session, filter);
}

fn type_and_enter(session: &mut expectrl::session::OsSession, filter: &str) {
    session.send(filter).unwrap();
    // The list redraws with the filter applied before enter is taken.
    std::thread::sleep(Duration::from_millis(300));
    session.send("\r").unwrap();
}

fn exit_code(session: &expectrl::session::OsSession) -> i32 {
    match session.get_process().wait().unwrap() {
        WaitStatus::Exited(_, code) => code,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_wizard_writes_what_was_chosen_with_the_totals_in_view() {
    let dir = petstore_dir();
    let mut session = spawn(dir.path(), 100, 30, &[]);
    session.expect("Petstore 1.4.0: 17 operations").unwrap();
    session.expect("Server name").unwrap();
    session.send("\r").unwrap();
    session.expect("max_tools").unwrap();
    session.send("10\r").unwrap();

    session.expect("? Tools:").unwrap();
    session.expect("0 of max 10 tools").unwrap();
    type_and_enter(&mut session, "tag pets");
    session.expect("+ tag pets → 7 of max 10 tools").unwrap();
    pick(&mut session, "get_inventory");
    session.expect("+ get_inventory → 8 of max 10 tools").unwrap();
    pick(&mut session, "tag store");
    session.expect("+ tag store → 12 of max 10 tools").unwrap();
    // Over max_tools, done is refused with what to do.
    pick(&mut session, "Done");
    session.expect("12 tools are over max_tools 10: deselect 2").unwrap();
    pick(&mut session, "tag store");
    session.expect("- tag store → 7 of max 10 tools").unwrap();
    pick(&mut session, "get_inventory");
    session.expect("+ get_inventory → 8 of max 10 tools").unwrap();
    pick(&mut session, "Done");

    session
        .expect("tools/list is ~1,754 tokens, within the 25,000 budget. Surface:")
        .unwrap();
    session.send("discovery\r").unwrap();
    session.expect("Env var for the API's base URL").unwrap();
    session.send("\r").unwrap();
    session.expect("Description of PETSTORE_BASE_URL").unwrap();
    session.send("\r").unwrap();
    session.expect("Env var for `api_key`").unwrap();
    // Refused, then accepted.
    session.send("pets key\r").unwrap();
    session.expect("uppercase letters, digits and `_`").unwrap();
    for _ in 0.."pets key".len() {
        session.send("\x7f").unwrap();
    }
    session.send("PETS_KEY\r").unwrap();
    session.expect("Description of PETS_KEY").unwrap();
    session.send("A key from the dashboard\r").unwrap();
    session.expect("wrote mcpgen.yaml: 8 tools").unwrap();
    assert_eq!(exit_code(&session), 0);

    let text = std::fs::read_to_string(dir.path().join("mcpgen.yaml")).unwrap();
    for line in [
        "max_tools: 10\n",
        "surface: discovery\n",
        "    - pets  # 7 operations\n",
        "    # - store  # 5 operations\n",
        "    - getInventory  # GET /store/inventory",
        "    # - listOrders  #",
        "    env: PETS_KEY\n",
        "  PETS_KEY:\n    description: \"A key from the dashboard\"\n",
    ] {
        assert!(text.contains(line), "{line:?} in:\n{text}");
    }
    // What was written generates the tools chosen.
    let out = Command::new(env!("CARGO_BIN_EXE_mcpgen"))
        .arg("generate")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{report}");
    assert!(report.contains("petstore-mcp: 8 tools;"), "{report}");
}

#[test]
fn ctrl_c_and_esc_write_nothing() {
    let dir = petstore_dir();
    let mut session = spawn(dir.path(), 100, 30, &[]);
    session.expect("Server name").unwrap();
    session.send("\r").unwrap();
    session.expect("max_tools").unwrap();
    session.send("\r").unwrap();
    pick(&mut session, "tag pets");
    session.expect("+ tag pets").unwrap();
    session.expect("? Tools:").unwrap();
    session.send(ControlCode::EndOfText).unwrap();
    session.expect("cancelled: nothing written").unwrap();
    assert_eq!(exit_code(&session), 130);
    assert!(!dir.path().join("mcpgen.yaml").exists());

    // Esc at the last step, and an existing file is left as it was.
    std::fs::write(dir.path().join("mcpgen.yaml"), "# mine\n").unwrap();
    let mut session = spawn(dir.path(), 100, 30, &["--force", "--interactive"]);
    session.expect("Server name").unwrap();
    session.send("\r").unwrap();
    session.expect("max_tools").unwrap();
    session.send("\r").unwrap();
    pick(&mut session, "get_pet_by_id");
    pick(&mut session, "Done");
    session.expect("Surface:").unwrap();
    session.send("\r").unwrap();
    session.expect("Env var for the API's base URL").unwrap();
    session.send("\x1b").unwrap();
    session.expect("cancelled: nothing written").unwrap();
    assert_eq!(exit_code(&session), 130);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("mcpgen.yaml")).unwrap(),
        "# mine\n"
    );
}

/// On a 40-column terminal each row and the totals line are cut to fit (a
/// wrapped row would break the list's redraw), and the wizard still finishes.
#[test]
fn a_narrow_terminal_gets_rows_cut_to_its_width() {
    let dir = petstore_dir();
    let mut session = spawn(dir.path(), 40, 12, &[]);
    session.expect("Server name").unwrap();
    session.send("\r").unwrap();
    session.expect("max_tools").unwrap();
    session.send("\r").unwrap();
    session.expect("? Tools:").unwrap();
    // The totals line, cut: its start shows, its end (the key help) doesn't.
    let screen = session.expect("tools/list").unwrap();
    drop(screen);
    let shown = session.expect("…").unwrap();
    let text = String::from_utf8_lossy(shown.before()).to_string();
    assert!(!text.contains("Esc cancels"), "{text}");
    type_and_enter(&mut session, "get_pet");
    pick(&mut session, "Done");
    // The surface, then each variable's name and description.
    for _ in 0..5 {
        session.send("\r").unwrap();
        std::thread::sleep(Duration::from_millis(200));
    }
    session.expect("wrote mcpgen.yaml: 1 tool,").unwrap();
    assert_eq!(exit_code(&session), 0);
}
