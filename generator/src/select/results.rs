//! `results:`: the budgets of results too big for one message and how long
//! and how much of them is held, checked (each mistake at its line:col).

use mcpgen_spec::ResultsSpec;
use serde_saphyr::Spanned;

use super::config::ResultsSection;
use crate::diag::Diagnostic;

/// A budget under this can't hold a preview beside its note and link.
const MIN_BUDGET: usize = 4096;

pub(super) fn results(section: &ResultsSection, cfg: &str, diags: &mut Vec<Diagnostic>) -> ResultsSpec {
    let mut spec = ResultsSpec::DEFAULT;
    let mut problem = |at: &(u64, u64), message: String, help: &str| {
        diags.push(
            Diagnostic::new(cfg, message)
                .line_col(at.0, at.1)
                .help(help.to_string()),
        );
    };
    for (key, value, slot) in [
        ("stdio_budget", &section.stdio_budget, &mut spec.stdio_budget),
        ("http_budget", &section.http_budget, &mut spec.http_budget),
    ] {
        if let Some(value) = value {
            if value.value != 0 && value.value < MIN_BUDGET {
                problem(
                    &position(value),
                    format!(
                        "results.{key} is {} bytes; a budget is 0 (no limit) or at least {MIN_BUDGET}",
                        value.value
                    ),
                    "give the most bytes one message of this transport may take, e.g. 60000",
                );
            } else {
                *slot = value.value;
            }
        }
    }
    if let Some(minutes) = &section.keep_minutes {
        if (1..=24 * 60).contains(&minutes.value) {
            spec.keep_seconds = minutes.value * 60;
        } else {
            problem(
                &position(minutes),
                format!("results.keep_minutes is {}; give 1 to 1440", minutes.value),
                "how long a model may come back for a result's pages, e.g. 15",
            );
        }
    }
    if let Some(megabytes) = &section.keep_megabytes {
        if (1..=4096).contains(&megabytes.value) {
            spec.keep_bytes = megabytes.value << 20;
        } else {
            problem(
                &position(megabytes),
                format!("results.keep_megabytes is {}; give 1 to 4096", megabytes.value),
                "the memory all held results may take together, e.g. 64",
            );
        }
    }
    spec
}

fn position<T>(value: &Spanned<T>) -> (u64, u64) {
    (value.referenced.line(), value.referenced.column())
}
