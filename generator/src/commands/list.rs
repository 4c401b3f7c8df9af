//! `mcpgen list`: every operation of a spec, the tool it becomes, whether
//! the selection file picks it and by which rule, and what it costs in the
//! `tools/list` answer an agent reads (bytes and estimated tokens).
//!
//! Works when `select` would fail (too many tools, say): it is the tool for
//! deciding what to cut.

use std::path::Path;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::diag::{Diagnostic, Error};
use crate::ir::{Api, Operation};
use crate::load::SpecDocument;
use crate::plan::names::{self, tool_name};
use crate::plan::{ToolDefaults, estimate_tokens, plan_tool};
use crate::select::PageBounds;
use crate::select::config::{self, SelectionFile};
use crate::select::rules::{Decision, Matcher};
use crate::{load, resolve};
use mcpgen_spec::Policy;

#[derive(Debug, Serialize)]
pub struct Listing {
    pub operations: Vec<Row>,
    pub total: usize,
    /// Selected operations (all, without a selection file).
    pub selected: usize,
    /// Size of the selected tools' `tools/list` entries.
    pub bytes: usize,
    pub tokens: usize,
}

#[derive(Debug, Serialize)]
pub struct ExampleBytes {
    pub example: usize,
    pub projected: usize,
}

#[derive(Debug, Serialize)]
pub struct Row {
    pub tool: String,
    pub operation_id: Option<String>,
    pub method: &'static str,
    pub path: String,
    pub tags: Vec<String>,
    pub selected: bool,
    pub reason: String,
    /// How the tool follows pages, when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pagination: Option<String>,
    /// `tools.<id>.response` on the spec's example: bytes of the example
    /// (its items, for a paged tool), and what the model gets of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub example_bytes: Option<ExampleBytes>,
    /// `None` when the operation can't become a tool (the reason says why).
    pub bytes: Option<usize>,
    pub tokens: Option<usize>,
    /// What `generate` would warn about this tool (the self-check and planning).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Model APIs that refuse its input schema as listed (`schema_profile:`), and why.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub refused_by: BTreeMap<&'static str, String>,
}

/// List for a selection file (`config`), or for a bare spec.
pub fn list(config: Option<&Path>, spec: Option<&Path>) -> Result<Listing, Error> {
    let (file, spec_path): (Option<SelectionFile>, _) = match (config, spec) {
        (Some(config_path), _) => {
            let display = config_path.display().to_string();
            let text =
                std::fs::read_to_string(config_path).map_err(|e| Error::io(format!("can't read {display}"), e))?;
            let file = config::parse(&display, &text)?;
            let spec_path = config_path.parent().unwrap_or(Path::new("")).join(&file.spec.value);
            (Some(file), spec_path)
        }
        (None, Some(spec)) => (None, spec.to_path_buf()),
        (None, None) => return Err(Error::Io("give --config PATH or --spec PATH".to_string())),
    };
    let spec_file = spec_path.display().to_string();
    let document = load::load_spec(&spec_path, &spec_file)?;
    let api = resolve::resolve(&document)?;
    listing(file.as_ref(), config, &document, &api, &spec_file)
}

/// Every operation of a spec already loaded, each as a tool, all selected.
pub fn list_loaded(document: &SpecDocument, api: &Api, spec_file: &str) -> Result<Listing, Error> {
    listing(None, None, document, api, spec_file)
}

// Long by design: the `list` report: decisions, names, planned tools and totals, each row needing all of them.
fn listing(
    file: Option<&SelectionFile>,
    config: Option<&Path>,
    document: &SpecDocument,
    api: &Api,
    spec_file: &str,
) -> Result<Listing, Error> {
    let matcher = match (&file, config) {
        (Some(file), Some(config_path)) => {
            let (matcher, problems) = Matcher::new(api, file, &config_path.display().to_string());
            if !problems.is_empty() {
                return Err(Error::Diagnostics(problems));
            }
            Some(matcher)
        }
        _ => None,
    };
    // One decision per operation, then the names `generate` gives the selected ones (lock included).
    let decisions: Vec<Decision> = api
        .operations
        .iter()
        .map(|op| match &matcher {
            Some(matcher) => matcher.decide(op),
            None => Decision {
                selected: true,
                reason: "no selection file".to_string(),
            },
        })
        .collect();
    let selected: Vec<&Operation> = api
        .operations
        .iter()
        .zip(&decisions)
        .filter(|(_, d)| d.selected)
        .map(|(op, _)| op)
        .collect();
    let tool_names = match (&file, config) {
        (Some(file), Some(config_path)) => {
            let custom_names = file
                .tools
                .iter()
                .filter_map(|(id, c)| Some((id.clone(), c.value.name.as_ref()?.value.clone())))
                .collect();
            let lock = crate::read_lock(&config_path.parent().unwrap_or(Path::new("")).join(names::LOCK_FILE))?;
            names::assign(&selected, &custom_names, &lock)
        }
        _ => names::assign(&selected, &Default::default(), &Default::default()),
    };
    let config_display = config.map(|c| c.display().to_string()).unwrap_or_default();
    let profile = file
        .as_ref()
        .and_then(|f| f.schema_profile)
        .map(|p| p.profile())
        .unwrap_or_default();
    let defaults = ToolDefaults {
        document: &document.raw,
        output_schemas: file.as_ref().and_then(|f| f.output_schemas).unwrap_or(true),
        policy: Policy::DEFAULT,
        page_bounds: file
            .as_ref()
            .map(|f| PageBounds::from(&f.pagination))
            .unwrap_or(PageBounds::from(&Default::default())),
        unsecured: &[],
        body_credentials: &[],
    };
    let mut rows = Vec::new();
    for (op, decision) in api.operations.iter().zip(decisions) {
        let mut setting_problems = Vec::new();
        let custom = file
            .as_ref()
            .and_then(|f| f.tools.get(&op.key))
            .map(|c| crate::select::tools::settings(&c.value, Policy::DEFAULT, &config_display, &mut setting_problems));
        let name = match tool_names.get(&names::op_key(op)) {
            Some(name) if decision.selected => name.clone(),
            _ => tool_name(op),
        };
        let planned = match op.problems.iter().chain(&setting_problems).find(|d| !d.warning) {
            Some(problem) => Err(Box::new(problem.clone())),
            None => plan_tool(op, name.clone(), spec_file, custom.as_ref(), &config_display, defaults),
        };
        // The self-check `generate` runs, per tool.
        let mut warnings = Vec::new();
        let planned = planned.and_then(|mut tool| {
            let (text, notes) = crate::plan::check::repair(&tool.input_schema)
                .map_err(|problem| Box::new(Diagnostic::new(spec_file, format!("its input schema {problem}"))))?;
            tool.input_schema = text.unwrap_or(tool.input_schema);
            warnings.extend(notes.iter().map(|n| format!("input schema: {n}")));
            match tool.output_schema.as_deref().map(crate::plan::check::repair) {
                Some(Ok((text, notes))) => {
                    tool.output_schema = text.or(tool.output_schema);
                    warnings.extend(notes.iter().map(|n| format!("output schema: {n}")));
                }
                Some(Err(problem)) => {
                    tool.output_schema = None;
                    warnings.push(format!("output schema left out: it {problem}"));
                }
                None => {}
            }
            warnings.extend(op.problems.iter().chain(&tool.findings).map(|d| d.message.clone()));
            Ok(tool)
        });
        let refused_by = match &planned {
            Ok(tool) => crate::plan::dialects::verdicts(tool, profile)
                .into_iter()
                .filter_map(|(dialect, refusal)| Some((dialect.as_str(), refusal?.to_string())))
                .collect(),
            Err(_) => BTreeMap::new(),
        };
        let (bytes, reason, pagination, example_bytes) = match planned {
            Ok(tool) => (
                Some(tool.listed_bytes_in(profile)),
                decision.reason,
                tool.pagination
                    .as_ref()
                    .map(|p| format!("{}{}", if p.detected { "detected: " } else { "" }, p.summary)),
                tool.response.as_ref().and_then(|response| {
                    let items = tool.pagination.as_ref().map(|p| p.items.as_str());
                    let (example, projected) =
                        crate::plan::projection::example_sizes(response, items, &document.raw, &tool.pointer)?;
                    Some(ExampleBytes { example, projected })
                }),
            ),
            Err(problem) => (
                None,
                format!("{}; can't be a tool: {}", decision.reason, problem.message),
                None,
                None,
            ),
        };
        rows.push(Row {
            tool: name,
            operation_id: op.operation_id.clone(),
            method: op.method.as_str(),
            path: op.path.clone(),
            tags: op.tags.clone(),
            selected: decision.selected,
            reason,
            pagination,
            example_bytes,
            tokens: bytes.map(estimate_tokens),
            bytes,
            warnings,
            refused_by,
        });
    }
    let selected: Vec<&Row> = rows.iter().filter(|r| r.selected).collect();
    // The array brackets and separators of tools/list are noise next to this.
    let bytes: usize = selected.iter().filter_map(|r| r.bytes).sum();
    Ok(Listing {
        total: rows.len(),
        selected: selected.len(),
        tokens: estimate_tokens(bytes),
        bytes,
        operations: rows,
    })
}

/// The human-readable table.
pub fn render_table(listing: &Listing) -> String {
    let width = listing
        .operations
        .iter()
        .map(|r| r.tool.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let request_width = listing
        .operations
        .iter()
        .map(|r| r.method.len() + 1 + r.path.len())
        .max()
        .unwrap_or(7)
        .max(7);
    let mut out = format!(
        "{:width$}  {:request_width$}  {:8}  {:>7}  {:>7}  WHY\n",
        "TOOL", "REQUEST", "SELECTED", "BYTES", "~TOKENS"
    );
    for row in &listing.operations {
        let request = format!("{} {}", row.method, row.path);
        let number = |n: Option<usize>| n.map(|n| n.to_string()).unwrap_or_else(|| "-".to_string());
        out.push_str(&format!(
            "{:width$}  {:request_width$}  {:8}  {:>7}  {:>7}  {}\n",
            row.tool,
            request,
            if row.selected { "yes" } else { "no" },
            number(row.bytes),
            number(row.tokens),
            match &row.pagination {
                Some(pages) => format!("{}; pages: {pages}", row.reason),
                None => row.reason.clone(),
            } + &row
                .example_bytes
                .as_ref()
                .map(|e| {
                    // Signed: renames to longer names can make it bigger.
                    let saved = 100 - (e.projected as i64 * 100) / (e.example.max(1) as i64);
                    format!(
                        "; response: the spec's example {} → {} bytes ({saved}% saved)",
                        e.example, e.projected
                    )
                })
                .unwrap_or_default()
                + &row
                    .warnings
                    .iter()
                    .map(|w| format!("; warning: {w}"))
                    .collect::<String>()
                + &row
                    .refused_by
                    .iter()
                    .map(|(api, why)| format!("; refused by {api}: {why}"))
                    .collect::<String>()
        ));
    }
    out.push_str(&format!(
        "{} of {} operations selected; their tools/list entries take {} bytes (~{} tokens)\n",
        listing.selected, listing.total, listing.bytes, listing.tokens
    ));
    out
}
