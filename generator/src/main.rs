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
    about = "Generate a Rust MCP server crate from an OpenAPI document"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate (or with --check, verify) the crate described by a selection file.
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Schema => {
            println!("{}", mcpgen::config::json_schema());
            ExitCode::SUCCESS
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "mcpgen", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Init { spec, out, force } => match mcpgen::init::init(&spec, &out, force) {
            Ok(_) => {
                eprintln!(
                    "wrote {}: uncomment the operations or tags to expose, then run `mcpgen generate`",
                    out.display()
                );
                ExitCode::SUCCESS
            }
            Err(err) => report(err),
        },
        Command::List { config, spec, json } => {
            let config = config.or_else(|| spec.is_none().then(|| PathBuf::from("mcpgen.yaml")));
            match mcpgen::list::list(config.as_deref(), spec.as_deref()) {
                Ok(listing) if json => {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&listing).expect("listings serialize")
                    );
                    ExitCode::SUCCESS
                }
                Ok(listing) => {
                    print!("{}", mcpgen::list::render_table(&listing));
                    ExitCode::SUCCESS
                }
                Err(err) => report(err),
            }
        }
        Command::Generate {
            config,
            check,
            timings,
            strict,
        } => match mcpgen::generate(&config, check, strict) {
            Ok((generated, changes)) => {
                for warning in &generated.warnings {
                    eprintln!("{warning}");
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

/// Diagnostics exit 1, I/O and usage problems exit 2.
fn report(err: Error) -> ExitCode {
    match err {
        Error::Diagnostics(_) => {
            eprintln!("{err}");
            ExitCode::from(1)
        }
        Error::Io(_) => {
            eprintln!("error: {err}");
            ExitCode::from(2)
        }
    }
}
