//! The `mcpgen` command line. Exit codes: 0 ok, 1 diagnostics or a stale
//! `--check`, 2 usage or I/O errors.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use mcpgen::diag::Error;

#[derive(Debug, Parser)]
#[command(
    name = "mcpgen",
    version,
    about = "Generate a Rust MCP server crate from an OpenAPI document",
    after_help = "Examples:\n  mcpgen init --spec openapi.yaml     write a starter mcpgen.yaml\n  \
                  mcpgen list                         what each operation becomes, and why\n  \
                  mcpgen generate                     write the crate named in ./mcpgen.yaml\n  \
                  mcpgen generate --check             in CI: fail if the committed crate is stale\n\n\
                  Exit codes: 0 ok, 1 diagnostics or a stale --check, 2 usage or I/O errors."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate (or with --check, verify) the crate described by a selection file.
    #[command(after_help = "Examples:\n  mcpgen generate --config api/mcpgen.yaml\n  \
                            mcpgen generate --check --json     machine-readable result for CI")]
    Generate {
        /// The selection file; paths inside it are relative to it.
        #[arg(long, default_value = "mcpgen.yaml", value_name = "PATH")]
        config: PathBuf,
        /// Write nothing; exit 1 listing stale, missing or extra generated files.
        #[arg(long)]
        check: bool,
        /// Print how long each stage took.
        #[arg(long)]
        timings: bool,
        /// Treat warnings (such as an exceeded token budget) as errors.
        #[arg(long)]
        strict: bool,
        /// Print the result and every diagnostic as one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Write a starter selection file listing the spec's operations, commented out.
    Init {
        /// The OpenAPI document.
        #[arg(long, value_name = "PATH")]
        spec: PathBuf,
        /// Where to write the selection file.
        #[arg(long, value_name = "PATH", default_value = "mcpgen.yaml")]
        out: PathBuf,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
        /// Print the result (or the diagnostics) as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Check the selected tools before a release: descriptions, argument descriptions,
    /// `required`, verb-like names, near-identical descriptions. Exit 1 when anything is found.
    #[command(
        after_help = "Each finding names its rule; fix it in the spec or with the override in mcpgen.yaml \
                            it suggests, or skip the rule with `lint: {skip: [RULE]}`."
    )]
    Lint {
        /// The selection file.
        #[arg(long, default_value = "mcpgen.yaml", value_name = "PATH")]
        config: PathBuf,
        /// Print the findings as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Print the JSON Schema of mcpgen.yaml (for editors: yaml-language-server and others).
    Schema,
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// List every operation: its tool name, whether it is selected and why, and its size in tools/list.
    List {
        /// The selection file (default: ./mcpgen.yaml, unless --spec is given).
        #[arg(long, value_name = "PATH", conflicts_with = "spec")]
        config: Option<PathBuf>,
        /// List a spec without a selection file.
        #[arg(long, value_name = "PATH")]
        spec: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Lint findings `generate` prints before pointing at `mcpgen lint`.
const MAX_LINT_SHOWN: usize = 10;
/// Above this spec size `generate` prints lint findings by path only.
const LOCATE_LINT_MAX_BYTES: u64 = 2 << 20;

// Generation allocates millions of small JSON nodes; glibc's allocator spent
// over a third of the time on GitHub's spec.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Schema => {
            println!("{}", mcpgen::select::config::json_schema());
            ExitCode::SUCCESS
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "mcpgen", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Init {
            spec,
            out,
            force,
            json: true,
        } => {
            let (report, code) = match mcpgen::commands::init::init(&spec, &out, force) {
                Ok(_) => (
                    serde_json::json!({"ok": true, "path": out.display().to_string(), "diagnostics": []}),
                    0,
                ),
                Err(err) => {
                    let code = if matches!(err, Error::Io(_)) { 2 } else { 1 };
                    (serde_json::json!({"ok": false, "diagnostics": err.to_json()}), code)
                }
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&report).expect("JSON values serialize")
            );
            ExitCode::from(code)
        }
        Command::Init {
            spec,
            out,
            force,
            json: false,
        } => match mcpgen::commands::init::init(&spec, &out, force) {
            Ok(_) => {
                eprintln!(
                    "wrote {}: uncomment the operations or tags to expose, then run `mcpgen generate`",
                    out.display()
                );
                ExitCode::SUCCESS
            }
            Err(err) => report(err),
        },
        Command::Lint { config, json } => match mcpgen::build(&config) {
            Ok(generated) => {
                let mut findings = generated.lint.clone();
                mcpgen::locate_lint(&generated, &mut findings);
                if json {
                    let all: Vec<_> = findings.iter().map(mcpgen::diag::Diagnostic::to_json).collect();
                    println!("{}", serde_json::to_string_pretty(&all).expect("JSON values serialize"));
                } else {
                    for finding in &findings {
                        eprintln!("{}", paint(&finding.to_string()));
                    }
                    eprintln!(
                        "{}: {} tools, {} lint finding(s)",
                        config.display(),
                        generated.plan.tools.len(),
                        findings.len()
                    );
                }
                ExitCode::from(u8::from(!findings.is_empty()))
            }
            Err(err) => report(err),
        },
        Command::List { config, spec, json } => {
            let config = config.or_else(|| spec.is_none().then(|| PathBuf::from("mcpgen.yaml")));
            match mcpgen::commands::list::list(config.as_deref(), spec.as_deref()) {
                Ok(listing) if json => {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&listing).expect("listings serialize")
                    );
                    ExitCode::SUCCESS
                }
                Ok(listing) => {
                    print!("{}", mcpgen::commands::list::render_table(&listing));
                    ExitCode::SUCCESS
                }
                Err(err) => report(err),
            }
        }
        Command::Generate {
            config,
            check,
            strict,
            json: true,
            ..
        } => {
            let outcome = mcpgen::generate(&config, check, strict);
            let (report, code) = generate_json(&outcome, check);
            println!(
                "{}",
                serde_json::to_string_pretty(&report).expect("JSON values serialize")
            );
            ExitCode::from(code)
        }
        Command::Generate {
            config,
            check,
            timings,
            strict,
            json: false,
        } => match mcpgen::generate(&config, check, strict) {
            Ok((generated, changes)) => {
                for warning in &generated.warnings {
                    eprintln!("{}", paint(&warning.to_string()));
                }
                // The first lint findings in full; `mcpgen lint` lists them all. Their
                // line:col costs a second parse of the spec: only for specs of usual size.
                let mut shown: Vec<_> = generated.lint.iter().take(MAX_LINT_SHOWN).cloned().collect();
                let spec_bytes = std::fs::metadata(&generated.spec_path).map_or(0, |m| m.len());
                if spec_bytes <= LOCATE_LINT_MAX_BYTES {
                    mcpgen::locate_lint(&generated, &mut shown);
                }
                for finding in &shown {
                    eprintln!("{}", paint(&finding.to_string()));
                }
                if generated.lint.len() > shown.len() {
                    eprintln!(
                        "… and {} more lint finding(s): `mcpgen lint --config {}` lists them all",
                        generated.lint.len() - shown.len(),
                        config.display()
                    );
                }
                if timings {
                    for (stage, took) in &generated.timings {
                        eprintln!("{stage:>8}: {:8.1} ms", took.as_secs_f64() * 1000.0);
                    }
                }
                let dir = generated.output_dir.display();
                let tools = generated.plan.tools.len();
                if check {
                    if changes.is_clean() {
                        eprintln!("{dir}: up to date ({tools} tools)");
                        return ExitCode::SUCCESS;
                    }
                    eprintln!("{dir}: the generated crate is out of date:");
                    for (what, paths) in [
                        ("stale", &changes.stale),
                        ("missing", &changes.missing),
                        ("extra", &changes.extra),
                    ] {
                        for path in paths {
                            eprintln!("  {what}: {path}");
                        }
                    }
                    eprintln!(
                        "run `mcpgen generate --config {}` and commit the result",
                        config.display()
                    );
                    ExitCode::from(1)
                } else {
                    let names = &generated.name_changes;
                    for (sign, list) in [("+", &names.added), ("-", &names.removed)] {
                        // A first run adds every tool: name a few, count the rest.
                        match list.len() {
                            0 => {}
                            n if n <= 12 => eprintln!("tools {sign} {}", list.join(", ")),
                            n => eprintln!("tools {sign} {}, and {} more", list[..10].join(", "), n - 10),
                        }
                    }
                    for (old, new) in &names.renamed {
                        eprintln!("tools ~ {old} is now {new}");
                    }
                    let written = changes.stale.len() + changes.missing.len();
                    eprintln!(
                        "{dir}: {tools} tools; {written} file(s) written, {} removed, {} unchanged",
                        changes.extra.len(),
                        changes.unchanged
                    );
                    ExitCode::SUCCESS
                }
            }
            Err(err) => report(err),
        },
    }
}

/// `generate --json`: the outcome as one object, and the exit code.
fn generate_json(
    outcome: &Result<(mcpgen::Generated, mcpgen::render::write::Changes), Error>,
    check: bool,
) -> (serde_json::Value, u8) {
    use serde_json::json;
    match outcome {
        Ok((generated, changes)) => {
            let clean = changes.is_clean();
            let names = &generated.name_changes;
            let report = json!({
                "ok": !check || clean,
                "check": check,
                "output_dir": generated.output_dir.display().to_string(),
                "tools": generated.plan.tools.len(),
                "files": if check {
                    json!({"stale": changes.stale, "missing": changes.missing, "extra": changes.extra, "unchanged": changes.unchanged})
                } else {
                    let written: Vec<&String> = changes.stale.iter().chain(&changes.missing).collect();
                    json!({"written": written, "removed": changes.extra, "unchanged": changes.unchanged})
                },
                "tool_names": {"added": names.added, "removed": names.removed, "renamed": names.renamed},
                "timings_ms": generated.timings.iter().map(|(stage, took)| (stage.to_string(), json!(took.as_secs_f64() * 1000.0))).collect::<serde_json::Map<_, _>>(),
                "diagnostics": generated.warnings.iter().map(mcpgen::diag::Diagnostic::to_json).collect::<Vec<_>>(),
                "lint": generated.lint.iter().map(mcpgen::diag::Diagnostic::to_json).collect::<Vec<_>>(),
            });
            (report, if check && !clean { 1 } else { 0 })
        }
        Err(err) => {
            let code = if matches!(err, Error::Io(_)) { 2 } else { 1 };
            (json!({"ok": false, "check": check, "diagnostics": err.to_json()}), code)
        }
    }
}

/// Diagnostics exit 1, I/O and usage problems exit 2.
fn report(err: Error) -> ExitCode {
    match err {
        Error::Diagnostics(_) => {
            eprintln!("{}", paint(&err.to_string()));
            ExitCode::from(1)
        }
        Error::Io(_) => {
            eprintln!("{}", paint(&format!("error: {err}")));
            ExitCode::from(2)
        }
    }
}

/// Colour the `error:`, `warning:` and `help:` labels, only on a terminal
/// and unless `NO_COLOR` is set.
fn paint(text: &str) -> String {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return text.to_string();
    }
    text.lines()
        .map(|line| {
            for (label, style) in [("error:", "1;31"), ("warning:", "1;33"), ("  help:", "1;36")] {
                if let Some(rest) = line.strip_prefix(label) {
                    return format!("\x1b[{style}m{label}\x1b[0m{rest}");
                }
            }
            line.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}
