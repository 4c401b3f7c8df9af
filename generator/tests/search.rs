//! The discovery surface's search, measured: recall on GitHub's API (1,223
//! operations) for the tasks in `tests/fixtures/search/github-tasks.tsv`,
//! ranked by the index `mcpgen generate` builds, with the runtime's ranking
//! (both are `mcpgen_spec::search`). Prints recall@1/5/10 and the misses:
//! `cargo test -p mcpgen --test search -- --nocapture`.
//!
//! The ranking was tuned on these tasks, so the figure is no measure of its
//! quality: query sets written by others, on other APIs and in other words,
//! scored recall@5 0.50–0.58. The assertion is a floor against regressions on
//! the tuning set, not a claim; a claim needs a frozen set never tuned on.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// (task, operationIds that do it), from the fixture.
fn tasks() -> Vec<(String, Vec<String>)> {
    let text = fs::read_to_string(repo().join("tests/fixtures/search/github-tasks.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (task, ops) = line.split_once('\t').expect("task<TAB>operationIds");
            (task.to_string(), ops.split_whitespace().map(String::from).collect())
        })
        .collect()
}

#[test]
fn tuning_set_recall_does_not_regress() {
    let spec = repo().join("tests/node_modules/@octokit/openapi/generated/api.github.com.json");
    assert!(
        spec.is_file(),
        "{} is missing: run `npm ci --prefix tests`",
        spec.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mcpgen.yaml");
    fs::write(
        &config,
        format!(
            "spec: {}\noutput: github-mcp\nserver:\n  name: github-mcp\n",
            serde_json::to_string(&spec.display().to_string()).unwrap()
        ),
    )
    .unwrap();
    let generated = mcpgen::build(&config).unwrap_or_else(|e| panic!("{e:?}"));
    let plan = &generated.plan;
    assert_eq!(plan.tools.len(), 1223);
    assert_eq!(
        plan.surface,
        mcpgen_spec::Surface::Discovery,
        "GitHub's list is far over the budget"
    );
    let by_id: HashMap<&str, usize> = plan
        .tools
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.operation_id.as_deref().map(|id| (id, i)))
        .collect();

    let tasks = tasks();
    assert!(tasks.len() >= 100, "the query set has {} tasks", tasks.len());
    let mut found_at = Vec::new();
    let mut misses = Vec::new();
    for (task, ops) in &tasks {
        let wanted: Vec<usize> = ops
            .iter()
            .map(|id| *by_id.get(id.as_str()).unwrap_or_else(|| panic!("no operation `{id}`")))
            .collect();
        let hits = plan.search.search(task, 10, &|i| plan.tools[i].name.as_str());
        let rank = hits.iter().position(|h| wanted.contains(&h.tool));
        if rank.is_none_or(|r| r >= 5) {
            let top: Vec<&str> = hits.iter().take(3).map(|h| plan.tools[h.tool].name.as_str()).collect();
            misses.push(format!("{task:?}: wanted {ops:?}, rank {rank:?}; top 3: {top:?}"));
        }
        found_at.push(rank);
    }
    let recall = |k: usize| found_at.iter().filter(|r| r.is_some_and(|r| r < k)).count() as f64 / tasks.len() as f64;
    println!(
        "recall on the {} GitHub tasks the ranking was tuned on (a regression floor, not a quality figure): @1 {:.3}, @5 {:.3}, @10 {:.3}",
        tasks.len(),
        recall(1),
        recall(5),
        recall(10)
    );
    for miss in &misses {
        println!("  not in the top 5: {miss}");
    }
    assert!(
        recall(5) >= 0.9,
        "recall@5 on the tuning set fell to {:.3} (under 0.9): a regression",
        recall(5)
    );
}
