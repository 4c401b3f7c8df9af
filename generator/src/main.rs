//! The `mcpgen` command line: one function per subcommand over the library's
//! stages. Exit codes: 0 ok, 1 diagnostics or a stale `--check`, 2 usage or
//! I/O errors, 3 a bug in mcpgen.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use indexmap::IndexMap;
use mcpgen::SpecInput;
use mcpgen::commands::diff;
use mcpgen::diag::{Diagnostic, Error};
use mcpgen::render::write::Changes;
use serde::Serialize;

#[derive(Debug, Parser)]
#[command(
    name = "mcpgen",
    version = concat!(env!("CARGO_PKG_VERSION"), " (generates crates for mcpgen-runtime ", env!("CARGO_PKG_VERSION"), ")"),
    about = "Generate a Rust MCP server crate from an OpenAPI document",
    after_help = "Examples:\n  mcpgen init --spec openapi.yaml     write mcpgen.yaml (guided on a terminal)\n  \
                  mcpgen list                         what each operation becomes, and why\n  \
                  mcpgen generate                     write the crate named in ./mcpgen.yaml\n  \
                  mcpgen generate --check             in CI: fail if the committed crate is stale\n\n\
                  Exit codes: 0 ok, 1 diagnostics or a stale --check, 2 usage or I/O errors, 3 a bug in mcpgen,\n\
                  130 the interactive init cancelled."
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
    /// Write a selection file: guided on a terminal; elsewhere a starter listing the spec's operations, commented out.
    Init {
        /// The OpenAPI document: a path, or an `https://` URL (fetched to list its operations; `mcpgen update` then keeps the copy).
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
        /// Choose operations, surface and env vars step by step, with the tool count and
        /// tools/list token cost in view (the default on a terminal).
        #[arg(long, conflicts_with_all = ["json", "no_interactive"])]
        interactive: bool,
        /// Write the commented starter file even on a terminal.
        #[arg(long)]
        no_interactive: bool,
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
    /// What a spec change does to the agents that use the server: every tool change, breaking or
    /// compatible. Compares the tools mcpgen.yaml makes of `--from` (an older spec) with those it
    /// makes of its own spec (or of `--to`), with the same selection and mcpgen.lock.
    #[command(after_help = "Exit 1 when a change is breaking (`--fail-on never`: only on errors).")]
    Diff {
        /// The selection file.
        #[arg(long, default_value = "mcpgen.yaml", value_name = "PATH")]
        config: PathBuf,
        /// The spec before the change: a file, or `git:REV` for the spec mcpgen.yaml names as it was
        /// at that git revision (`git:HEAD`, `git:origin/main`).
        #[arg(long, value_name = "SPEC")]
        from: PathBuf,
        /// The spec after it (default: the one mcpgen.yaml names).
        #[arg(long, value_name = "SPEC")]
        to: Option<PathBuf>,
        /// Print the report as JSON on stdout.
        #[arg(long, conflicts_with = "markdown")]
        json: bool,
        /// Print the report as Markdown sized for a pull-request comment.
        #[arg(long)]
        markdown: bool,
        /// Which changes make the exit status 1.
        #[arg(long, value_enum, default_value = "breaking")]
        fail_on: FailOn,
    },
    /// Fetch the spec mcpgen.yaml names by URL (`spec: https://…`), check it, pin it in mcpgen.lock,
    /// regenerate, and print what the change does to the agents (as `mcpgen diff` does). The only
    /// command that uses the network; `generate` reads the copy it keeps.
    #[command(
        after_help = "Exit 0 when updated (`--fail-on breaking`: 1 when a change is breaking);                             on an error nothing is replaced."
    )]
    Update {
        /// The selection file.
        #[arg(long, default_value = "mcpgen.yaml", value_name = "PATH")]
        config: PathBuf,
        /// Print the report as JSON on stdout.
        #[arg(long, conflicts_with = "markdown")]
        json: bool,
        /// Print the report as Markdown sized for a pull request's body.
        #[arg(long)]
        markdown: bool,
        /// Which changes make the exit status 1.
        #[arg(long, value_enum, default_value = "never")]
        fail_on: FailOn,
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
    match run(cli.command) {
        Ok(code) => code,
        Err(err) => {
            let text = match &err {
                Error::Io(_) => format!("error: {err}"),
                _ => err.to_string(),
            };
            eprintln!("{}", paint(&text));
            ExitCode::from(err.exit_code())
        }
    }
}

/// One subcommand; `Err` is printed by `main`. Subcommands with `--json`
/// report their errors on stdout themselves and return the exit code.
fn run(command: Command) -> Result<ExitCode, Error> {
    match command {
        Command::Schema => {
            println!("{}", mcpgen::select::config::json_schema());
            Ok(ExitCode::SUCCESS)
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "mcpgen", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Init {
            spec,
            out,
            force,
            json,
            interactive,
            no_interactive,
        } => {
            use std::io::IsTerminal;
            let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
            if interactive || (terminal && !json && !no_interactive) {
                init_interactive(&spec, &out, force)
            } else {
                init(&spec, &out, force, json)
            }
        }
        Command::Lint { config, json } => lint(&config, json),
        Command::Diff {
            config,
            from,
            to,
            json,
            markdown,
            fail_on,
        } => diff(&config, &from, to.as_deref(), json, markdown, fail_on),
        Command::Update {
            config,
            json,
            markdown,
            fail_on,
        } => update(&config, json, markdown, fail_on),
        Command::List { config, spec, json } => list(config, spec, json),
        Command::Generate {
            config,
            check,
            strict,
            json: true,
            ..
        } => {
            let outcome = mcpgen::generate(&config, check, strict);
            let code = match &outcome {
                Ok((_, changes)) => u8::from(check && !changes.is_clean()),
                Err(err) => err.exit_code(),
            };
            print_json(&GenerateReport::new(&outcome, check));
            Ok(ExitCode::from(code))
        }
        Command::Generate {
            config,
            check,
            timings,
            strict,
            json: false,
        } => generate(&config, check, timings, strict),
    }
}

fn print_json(value: &impl Serialize) {
    println!("{}", serde_json::to_string_pretty(value).expect("reports serialize"));
}

/// `--json` of a failed command: its diagnostics.
#[derive(Serialize)]
struct Failed {
    ok: bool,
    diagnostics: Vec<serde_json::Value>,
}

fn init(spec: &Path, out: &Path, force: bool, json: bool) -> Result<ExitCode, Error> {
    #[derive(Serialize)]
    struct Written {
        ok: bool,
        path: String,
        diagnostics: Vec<serde_json::Value>,
    }
    match (mcpgen::commands::init::init(spec, out, force), json) {
        (Ok(_), true) => print_json(&Written {
            ok: true,
            path: out.display().to_string(),
            diagnostics: Vec::new(),
        }),
        (Ok(_), false) => eprintln!(
            "wrote {}: uncomment the operations or tags to expose, then run `{}`",
            out.display(),
            next_command(spec)
        ),
        (Err(err), true) => {
            print_json(&Failed {
                ok: false,
                diagnostics: err.diagnostics_json(),
            });
            return Ok(ExitCode::from(err.exit_code()));
        }
        (Err(err), false) => return Err(err),
    }
    Ok(ExitCode::SUCCESS)
}

/// What makes the crate after `init`: for a spec named by URL, the update that fetches and pins it.
fn next_command(spec: &Path) -> &'static str {
    if mcpgen::load::remote::is_url(&spec.to_string_lossy()) {
        "mcpgen update"
    } else {
        "mcpgen generate"
    }
}

/// Exit 130 (as for SIGINT) when the user cancels: nothing was written.
fn init_interactive(spec: &Path, out: &Path, force: bool) -> Result<ExitCode, Error> {
    match mcpgen::commands::wizard::run(spec, out, force)? {
        mcpgen::commands::wizard::Outcome::Written { summary, .. } => {
            eprintln!("wrote {}: {summary}\nnext: {}", out.display(), next_command(spec));
            Ok(ExitCode::SUCCESS)
        }
        mcpgen::commands::wizard::Outcome::Cancelled => {
            eprintln!("cancelled: nothing written");
            Ok(ExitCode::from(130))
        }
    }
}

fn lint(config: &Path, json: bool) -> Result<ExitCode, Error> {
    let generated = mcpgen::build(config)?;
    let mut findings = generated.lint.clone();
    mcpgen::locate_lint(&generated, &mut findings);
    if json {
        print_json(&findings);
    } else {
        for finding in &findings {
            eprintln!("{}", paint(&finding.to_string()));
        }
        let plan = &generated.plan;
        eprintln!(
            "{}",
            mcpgen::plan::dialects::summary(&plan.dialects, plan.schema_profile)
        );
        for line in mcpgen::plan::dialects::refusals(&plan.tools, plan.schema_profile) {
            eprintln!("{line}");
        }
        if let Some(note) = mcpgen::plan::dialects::too_many_for_openai(plan) {
            eprintln!("  {note}");
        }
        if plan.dialects.iter().any(|d| d.passing < d.total) {
            eprintln!(
                "  (`schema_profile: portable` in mcpgen.yaml, or `--schema-profile portable` at run time, lists a form \
                 every one of them takes)"
            );
        }
        eprintln!(
            "{}: {} tools, {} lint finding(s)",
            config.display(),
            generated.plan.tools.len(),
            findings.len()
        );
    }
    Ok(ExitCode::from(u8::from(!findings.is_empty())))
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FailOn {
    Breaking,
    Never,
}

fn diff(
    config: &Path,
    from: &Path,
    to: Option<&Path>,
    json: bool,
    markdown: bool,
    fail_on: FailOn,
) -> Result<ExitCode, Error> {
    // `git:REV`: the spec mcpgen.yaml names, as it was at that revision.
    let at_revision = match from.to_str().and_then(|f| f.strip_prefix("git:")) {
        Some(rev) => Some(diff::spec_at_revision(config, rev)?),
        None => None,
    };
    let from = at_revision.as_ref().map_or(from, |(_, path)| path.as_path());
    let old = mcpgen::build_with(config, SpecInput::Earlier(from))?;
    let new = mcpgen::build_with(config, to.map_or(SpecInput::Named, SpecInput::File))?;
    let report = diff::diff(&old.plan.tools, &new.plan.tools, new.plan.schema_profile);
    print_report(&report, json, markdown, fail_on)
}

fn print_report(report: &diff::Report, json: bool, markdown: bool, fail_on: FailOn) -> Result<ExitCode, Error> {
    if json {
        print_json(report);
    } else if markdown {
        print!("{}", diff::render_markdown(report));
    } else {
        print!("{}", diff::render_text(report));
    }
    let failed = matches!(fail_on, FailOn::Breaking) && report.breaking > 0;
    Ok(ExitCode::from(u8::from(failed)))
}

fn update(config: &Path, json: bool, markdown: bool, fail_on: FailOn) -> Result<ExitCode, Error> {
    let updated = mcpgen::commands::update::update(config)?;
    let pin = &updated.pin;
    let changes = &updated.changes;
    if let Some(why) = &updated.old_failed {
        eprintln!("warning: the copy there was does not generate, so every tool counts as added:\n{why}");
    }
    if updated.spec_changed {
        eprintln!("fetched {} into {} (SHA-256 {})", pin.url, pin.file, pin.sha256);
    } else {
        eprintln!("fetched {}: unchanged since the last update", pin.url);
    }
    eprintln!(
        "{} file(s) of the crate written, {} removed, {} unchanged",
        changes.stale.len() + changes.missing.len(),
        changes.extra.len(),
        changes.unchanged
    );
    print_report(&updated.report, json, markdown, fail_on)
}

fn list(config: Option<PathBuf>, spec: Option<PathBuf>, json: bool) -> Result<ExitCode, Error> {
    let config = config.or_else(|| spec.is_none().then(|| PathBuf::from("mcpgen.yaml")));
    let listing = mcpgen::commands::list::list(config.as_deref(), spec.as_deref())?;
    if json {
        print_json(&listing);
    } else {
        print!("{}", mcpgen::commands::list::render_table(&listing));
    }
    Ok(ExitCode::SUCCESS)
}

fn generate(config: &Path, check: bool, timings: bool, strict: bool) -> Result<ExitCode, Error> {
    let (generated, changes) = mcpgen::generate(config, check, strict)?;
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
            return Ok(ExitCode::SUCCESS);
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
        return Ok(ExitCode::from(1));
    }
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
    let surface = generated.plan.surface;
    if surface != mcpgen_spec::Surface::Tools {
        let holds = if surface.lists_operations() { "and" } else { "over" };
        eprintln!(
            "surface: {} by default: tools/list holds search, describe and call {holds} the {tools} tools \
             (`surface:` in mcpgen.yaml, `--surface` at run time)",
            surface.as_str()
        );
    }
    let plan = &generated.plan;
    if plan.dialects.iter().any(|d| d.passing < d.total) {
        eprintln!(
            "{} (`mcpgen lint` says why; `schema_profile: portable` lists a form every one takes)",
            mcpgen::plan::dialects::summary(&plan.dialects, plan.schema_profile)
        );
    }
    let written = changes.stale.len() + changes.missing.len();
    eprintln!(
        "{dir}: {tools} tools; {written} file(s) written, {} removed, {} unchanged",
        changes.extra.len(),
        changes.unchanged
    );
    Ok(ExitCode::SUCCESS)
}

/// `generate --json`: the outcome as one object.
#[derive(Serialize)]
struct GenerateReport<'a> {
    ok: bool,
    check: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tools: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    files: Option<Files<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_names: Option<&'a mcpgen::plan::names::NameChanges>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timings_ms: Option<IndexMap<&'static str, f64>>,
    diagnostics: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lint: Option<&'a [Diagnostic]>,
}

/// What `--check` found, or what a run wrote.
#[derive(Serialize)]
#[serde(untagged)]
enum Files<'a> {
    Checked {
        stale: &'a [String],
        missing: &'a [String],
        extra: &'a [String],
        unchanged: usize,
    },
    Written {
        written: Vec<&'a String>,
        removed: &'a [String],
        unchanged: usize,
    },
}

impl<'a> GenerateReport<'a> {
    fn new(outcome: &'a Result<(mcpgen::Generated, Changes), Error>, check: bool) -> GenerateReport<'a> {
        let (generated, changes) = match outcome {
            Ok(done) => done,
            Err(err) => {
                return GenerateReport {
                    ok: false,
                    check,
                    output_dir: None,
                    tools: None,
                    files: None,
                    tool_names: None,
                    timings_ms: None,
                    diagnostics: err.diagnostics_json(),
                    lint: None,
                };
            }
        };
        let files = if check {
            Files::Checked {
                stale: &changes.stale,
                missing: &changes.missing,
                extra: &changes.extra,
                unchanged: changes.unchanged,
            }
        } else {
            Files::Written {
                written: changes.stale.iter().chain(&changes.missing).collect(),
                removed: &changes.extra,
                unchanged: changes.unchanged,
            }
        };
        let json = |d: &Diagnostic| serde_json::to_value(d).expect("diagnostics serialize");
        GenerateReport {
            ok: !check || changes.is_clean(),
            check,
            output_dir: Some(generated.output_dir.display().to_string()),
            tools: Some(generated.plan.tools.len()),
            files: Some(files),
            tool_names: Some(&generated.name_changes),
            timings_ms: Some(
                generated
                    .timings
                    .iter()
                    .map(|(stage, took)| (*stage, took.as_secs_f64() * 1000.0))
                    .collect(),
            ),
            diagnostics: generated.warnings.iter().map(json).collect(),
            lint: Some(&generated.lint),
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
