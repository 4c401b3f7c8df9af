//! `mcpgen diff`: what a change of the spec does to the agents that use the
//! server, tool by tool, classified for a model and a host.
//!
//! Input: the planned tools of two states (the same mcpgen.yaml and
//! mcpgen.lock over an old and a new spec, so names stay what the committed
//! crate has). Output: every change, each `breaking` (a call or a client that
//! worked yesterday can fail today) or `compatible` (listed, since it changes
//! what the model reads or what tools/list costs):
//!
//! - breaking: a tool removed; a new required argument; an argument removed or
//!   narrowed (types, enum values, tighter bounds, a new or changed pattern),
//!   at any depth of the input; an output field removed or retyped (clients
//!   check `structuredContent` against `outputSchema`); an output schema
//!   dropped; a security requirement added; a read-only tool that now writes,
//!   or one that now destroys;
//! - compatible: a tool added; an optional argument added; an argument
//!   widened; an output field added; a description changed; the tool's
//!   `tools/list` entry size (tokens) changed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::diag::Error;
use crate::plan::{ToolPlan, estimate_tokens};
use mcpgen_spec::SchemaProfile;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    Compatible,
    Breaking,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub class: Class,
    pub tool: String,
    /// Where in the tool, for people: `input /properties/state`, `output`, `annotations`…
    pub at: String,
    pub what: String,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    pub breaking: usize,
    pub compatible: usize,
    pub tools_before: usize,
    pub tools_after: usize,
    /// Estimated tokens of the tools' `tools/list` entries, before and after.
    pub tokens_before: usize,
    pub tokens_after: usize,
    pub changes: Vec<Change>,
}

/// Every change from the `old` tools to the `new` ones, by tool name; sizes
/// as listed under `profile`.
pub fn diff(old: &[ToolPlan], new: &[ToolPlan], profile: SchemaProfile) -> Report {
    let before: BTreeMap<&str, &ToolPlan> = old.iter().map(|t| (t.name.as_str(), t)).collect();
    let after: BTreeMap<&str, &ToolPlan> = new.iter().map(|t| (t.name.as_str(), t)).collect();
    // Each entry's size once (in the portable profile, making it is the costly part).
    let sized = |tools: &[ToolPlan]| -> BTreeMap<String, usize> {
        tools
            .iter()
            .map(|t| (t.name.clone(), t.listed_bytes_in(profile)))
            .collect()
    };
    let sizes = (sized(old), sized(new));
    let mut changes = Vec::new();
    // A tool gone and one new for the same request (parameters' names aside): the operationId changed,
    // and with it the name.
    let request = |t: &ToolPlan| (t.http_method, crate::plan::names::path_shape(&t.path));
    let gone: BTreeMap<_, &ToolPlan> = before
        .iter()
        .filter(|(name, _)| !after.contains_key(*name))
        .map(|(_, t)| (request(t), *t))
        .collect();
    let mut renamed = BTreeSet::new();
    for (name, tool) in &after {
        match (before.get(name), gone.get(&request(tool))) {
            (Some(old), _) => changes.extend(tool_changes(old, tool, &sizes)),
            (None, Some(old)) => {
                renamed.insert(old.name.as_str());
                let id = tool.operation_id.as_deref().unwrap_or(name);
                let what = format!(
                    "renamed to `{name}` (its operationId changed); `tools.{id}.name: {}` in mcpgen.yaml keeps the name",
                    old.name
                );
                changes.push(change(Class::Breaking, &old.name, "tool", what));
                changes.extend(tool_changes(old, tool, &sizes));
            }
            (None, None) => {
                let what = format!("added ({} {})", tool.http_method, tool.path);
                changes.push(change(Class::Compatible, name, "tool", what));
            }
        }
    }
    for tool in gone.values().filter(|t| !renamed.contains(t.name.as_str())) {
        let what = format!("removed ({} {})", tool.http_method, tool.path);
        changes.push(change(Class::Breaking, &tool.name, "tool", what));
    }
    changes.sort_by(|a, b| b.class.cmp(&a.class).then(a.tool.cmp(&b.tool)));
    let tokens = |sizes: &BTreeMap<String, usize>| estimate_tokens(sizes.values().sum());
    Report {
        breaking: changes.iter().filter(|c| c.class == Class::Breaking).count(),
        compatible: changes.iter().filter(|c| c.class == Class::Compatible).count(),
        tools_before: old.len(),
        tools_after: new.len(),
        tokens_before: tokens(&sizes.0),
        tokens_after: tokens(&sizes.1),
        changes,
    }
}

fn change(class: Class, tool: &str, at: &str, what: String) -> Change {
    Change {
        class,
        tool: tool.to_string(),
        at: at.to_string(),
        what,
    }
}

/// `sizes`: each tool's listed bytes, before and after, by name.
fn tool_changes(
    old: &ToolPlan,
    new: &ToolPlan,
    sizes: &(BTreeMap<String, usize>, BTreeMap<String, usize>),
) -> Vec<Change> {
    let mut out = Vec::new();
    let name = &new.name;
    let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
    let mut found = Vec::new();
    input(&parse(&old.input_schema), &parse(&new.input_schema), "", &mut found);
    out.extend(
        found
            .into_iter()
            .map(|(class, at, what)| change(class, name, &format!("input {at}"), what)),
    );
    match (&old.output_schema, &new.output_schema) {
        (Some(_), None) => out.push(change(
            Class::Breaking,
            name,
            "output",
            "the output schema is gone (results are no longer structured)".into(),
        )),
        (None, Some(_)) => out.push(change(
            Class::Compatible,
            name,
            "output",
            "an output schema is added".into(),
        )),
        (Some(o), Some(n)) => {
            let mut found = Vec::new();
            output(&parse(o), &parse(n), "", &mut found);
            out.extend(
                found
                    .into_iter()
                    .map(|(class, at, what)| change(class, name, &format!("output {at}"), what)),
            );
        }
        (None, None) => {}
    }
    if old.read_only && !new.read_only {
        out.push(change(
            Class::Breaking,
            name,
            "annotations",
            "was read-only, now writes".into(),
        ));
    }
    if !old.destructive && new.destructive {
        out.push(change(Class::Breaking, name, "annotations", "now destructive".into()));
    }
    // Each way the old tool could be called (a set of schemes; none for an open one) must still do.
    let alternatives = |t: &ToolPlan| match t.security.is_empty() {
        true => vec![Vec::new()],
        false => t.security.clone(),
    };
    let now = alternatives(new);
    let still = |was: &Vec<String>| now.iter().any(|alt| alt.iter().all(|s| was.contains(s)));
    if !alternatives(old).iter().all(still) {
        let needs: Vec<String> = now.iter().map(|alt| alt.join(" + ")).collect();
        let what = format!("a credential requirement added: now {}", needs.join(" or "));
        out.push(change(Class::Breaking, name, "security", what));
    }
    if old.description != new.description {
        out.push(change(Class::Compatible, name, "description", "changed".into()));
    }
    let (before, after) = (estimate_tokens(sizes.0[&old.name]), estimate_tokens(sizes.1[&new.name]));
    if before != after {
        let what = format!("tools/list entry ~{before} → ~{after} tokens");
        out.push(change(Class::Compatible, name, "size", what));
    }
    out
}

type Found = Vec<(Class, String, String)>;

fn types(schema: &Value) -> Option<BTreeSet<String>> {
    match schema.get("type") {
        Some(Value::String(t)) => Some(BTreeSet::from([t.clone()])),
        Some(Value::Array(list)) => Some(list.iter().filter_map(Value::as_str).map(str::to_string).collect()),
        _ => None,
    }
}

/// Whether every value of type `t` is also one of `allowed` (an integer is a number).
fn covered(t: &str, allowed: &BTreeSet<String>) -> bool {
    allowed.contains(t) || t == "integer" && allowed.contains("number")
}

fn properties(schema: &Value) -> Map<String, Value> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn required(schema: &Value) -> BTreeSet<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// An input schema from `old` to `new`: what a call that `old` took may now fail on.
fn input(old: &Value, new: &Value, at: &str, found: &mut Found) {
    let (before, after) = (properties(old), properties(new));
    let (was_required, now_required) = (required(old), required(new));
    for name in before.keys().filter(|n| !after.contains_key(*n)) {
        let closed = new.get("additionalProperties") == Some(&Value::Bool(false));
        let class = if closed { Class::Breaking } else { Class::Compatible };
        found.push((class, format!("{at}/properties/{name}"), "argument removed".into()));
    }
    for (name, schema) in &after {
        let here = format!("{at}/properties/{name}");
        match before.get(name) {
            None if now_required.contains(name) => found.push((Class::Breaking, here, "new required argument".into())),
            None => found.push((Class::Compatible, here, "new optional argument".into())),
            Some(old_schema) => {
                if now_required.contains(name) && !was_required.contains(name) {
                    found.push((Class::Breaking, here.clone(), "argument is now required".into()));
                }
                narrowed(old_schema, schema, &here, found);
                input(old_schema, schema, &here, found);
                if let (Some(o), Some(n)) = (old_schema.get("items"), schema.get("items")) {
                    narrowed(o, n, &format!("{here}/items"), found);
                    input(o, n, &format!("{here}/items"), found);
                }
            }
        }
    }
}

/// One value's schema from `old` to `new`: types, enum values, bounds and pattern.
fn narrowed(old: &Value, new: &Value, at: &str, found: &mut Found) {
    let mut say = |class: Class, what: String| found.push((class, at.to_string(), what));
    if let (Some(before), Some(after)) = (types(old), types(new)) {
        let lost: Vec<&String> = before.iter().filter(|t| !covered(t, &after)).collect();
        let gained: Vec<&String> = after.iter().filter(|t| !covered(t, &before)).collect();
        if !lost.is_empty() {
            let now: Vec<&String> = after.iter().collect();
            say(
                Class::Breaking,
                format!("no longer takes {} (now {})", list(&lost), list(&now)),
            );
        } else if !gained.is_empty() {
            say(Class::Compatible, format!("now also takes {}", list(&gained)));
        }
    }
    let values = |s: &Value| s.get("enum").and_then(Value::as_array).cloned();
    match (values(old), values(new)) {
        (Some(before), Some(after)) => {
            let lost: Vec<String> = before
                .iter()
                .filter(|v| !after.contains(v))
                .map(Value::to_string)
                .collect();
            let gained: Vec<String> = after
                .iter()
                .filter(|v| !before.contains(v))
                .map(Value::to_string)
                .collect();
            if !lost.is_empty() {
                say(Class::Breaking, format!("enum values removed: {}", lost.join(", ")));
            }
            if !gained.is_empty() {
                say(Class::Compatible, format!("enum values added: {}", gained.join(", ")));
            }
        }
        (None, Some(after)) => say(Class::Breaking, format!("now limited to {} values", after.len())),
        (Some(_), None) => say(Class::Compatible, "no longer limited to a list of values".into()),
        (None, None) => {}
    }
    // (keyword, whether a larger value is tighter)
    for (keyword, larger_is_tighter) in [
        ("minimum", true),
        ("exclusiveMinimum", true),
        ("minLength", true),
        ("minItems", true),
        ("maximum", false),
        ("exclusiveMaximum", false),
        ("maxLength", false),
        ("maxItems", false),
    ] {
        let bound = |s: &Value| s.get(keyword).and_then(Value::as_f64);
        let tighter = match (bound(old), bound(new)) {
            (None, Some(_)) => Some(true),
            (Some(_), None) => Some(false),
            (Some(b), Some(a)) if a != b => Some((a > b) == larger_is_tighter),
            _ => None,
        };
        match (tighter, bound(old), bound(new)) {
            (Some(true), b, a) => say(
                Class::Breaking,
                format!("`{keyword}` tightened: {} → {}", shown(b), shown(a)),
            ),
            (Some(false), b, a) => say(
                Class::Compatible,
                format!("`{keyword}` loosened: {} → {}", shown(b), shown(a)),
            ),
            _ => {}
        }
    }
    let pattern = |s: &Value| s.get("pattern").and_then(Value::as_str).map(str::to_string);
    match (pattern(old), pattern(new)) {
        (b, Some(a)) if b.as_deref() != Some(a.as_str()) => say(Class::Breaking, format!("`pattern` now {a}")),
        (Some(_), None) => say(Class::Compatible, "`pattern` removed".into()),
        _ => {}
    }
}

fn shown(bound: Option<f64>) -> String {
    bound.map_or("none".into(), |b| b.to_string())
}

fn list(types: &[&String]) -> String {
    types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
}

/// An output schema from `old` to `new`: what a client that read yesterday's results may now fail on.
fn output(old: &Value, new: &Value, at: &str, found: &mut Found) {
    if let (Some(before), Some(after)) = (types(old), types(new))
        && before != after
    {
        let class = if after.is_subset(&before) {
            Class::Compatible
        } else {
            Class::Breaking
        };
        let (b, a): (Vec<&String>, Vec<&String>) = (before.iter().collect(), after.iter().collect());
        found.push((class, at.to_string(), format!("type {} → {}", list(&b), list(&a))));
    }
    let (before, after) = (properties(old), properties(new));
    for name in before.keys().filter(|n| !after.contains_key(*n)) {
        found.push((
            Class::Breaking,
            format!("{at}/properties/{name}"),
            "result field removed".into(),
        ));
    }
    for (name, schema) in &after {
        let here = format!("{at}/properties/{name}");
        match before.get(name) {
            None => found.push((Class::Compatible, here, "result field added".into())),
            Some(old_schema) => output(old_schema, schema, &here, found),
        }
    }
    if let (Some(o), Some(n)) = (old.get("items"), new.get("items")) {
        output(o, n, &format!("{at}/items"), found);
    }
}

/// The spec mcpgen.yaml names as it was at a git revision (`--from git:REV`),
/// written to a temporary directory (kept while it lives). A spec in several
/// files is read from that one file: its other files come from the working tree.
pub fn spec_at_revision(config: &Path, rev: &str) -> Result<(tempfile::TempDir, PathBuf), Error> {
    let display = config.display().to_string();
    let text = std::fs::read_to_string(config).map_err(|e| Error::io(format!("can't read {display}"), e))?;
    let file = crate::select::config::parse(&display, &text)?;
    let base = config.parent().unwrap_or(Path::new(""));
    // A spec named by URL: the copy mcpgen.lock pins is what was committed.
    let named = match crate::read_lock(&base.join(crate::plan::names::LOCK_FILE))?.spec {
        Some(pin) if crate::load::remote::is_url(&file.spec.value) => pin.file,
        _ => file.spec.value.clone(),
    };
    let spec = base.join(&named);
    let (dir, name) = match (spec.parent(), spec.file_name()) {
        (Some(dir), Some(name)) => (dir, name),
        _ => return Err(Error::Io(format!("`{named}` is not a file path"))),
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let shown = format!("{rev}:./{}", name.to_string_lossy());
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["show", &shown])
        .output()
        .map_err(|e| Error::io("can't run git (needed for --from git:REV)", e))?;
    if !out.status.success() {
        return Err(Error::Io(format!(
            "can't read {} at `{rev}`: {}",
            spec.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let temp = tempfile::tempdir().map_err(|e| Error::io("can't make a temporary directory", e))?;
    let path = temp.path().join(name);
    std::fs::write(&path, out.stdout).map_err(|e| Error::io(format!("can't write {}", path.display()), e))?;
    Ok((temp, path))
}

/// For people: the counts, then the breaking changes, then the compatible ones.
pub fn render_text(report: &Report) -> String {
    let mut out = summary(report);
    out.push('\n');
    for c in &report.changes {
        let class = match c.class {
            Class::Breaking => "breaking",
            Class::Compatible => "compatible",
        };
        out.push_str(&format!("{class:10}  {}  {}: {}\n", c.tool, c.at, c.what));
    }
    out
}

fn summary(report: &Report) -> String {
    format!(
        "{} breaking, {} compatible; tools {} → {}; tools/list ~{} → ~{} tokens",
        report.breaking,
        report.compatible,
        report.tools_before,
        report.tools_after,
        report.tokens_before,
        report.tokens_after
    )
}

/// Sized for a pull-request comment: each class counted, and its changes listed up to `MAX_MARKDOWN_ROWS`.
pub fn render_markdown(report: &Report) -> String {
    let mut out = format!("### mcpgen diff\n\n{}\n", summary(report));
    for (class, title) in [(Class::Breaking, "Breaking"), (Class::Compatible, "Compatible")] {
        let rows: Vec<&Change> = report.changes.iter().filter(|c| c.class == class).collect();
        if rows.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "\n**{title}** ({})\n\n| tool | where | change |\n|---|---|---|\n",
            rows.len()
        ));
        for c in rows.iter().take(MAX_MARKDOWN_ROWS) {
            out.push_str(&format!(
                "| `{}` | {} | {} |\n",
                c.tool,
                c.at.replace('|', "\\|"),
                c.what.replace('|', "\\|")
            ));
        }
        if rows.len() > MAX_MARKDOWN_ROWS {
            out.push_str(&format!(
                "\n… and {} more (`mcpgen diff` lists them all)\n",
                rows.len() - MAX_MARKDOWN_ROWS
            ));
        }
    }
    out
}

/// Rows per class in the Markdown report (GitHub comments take 65,536 characters).
const MAX_MARKDOWN_ROWS: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input_changes(old: Value, new: Value) -> Vec<(Class, String, String)> {
        let mut found = Vec::new();
        input(&old, &new, "", &mut found);
        found
    }

    fn object(properties: Value, required: &[&str]) -> Value {
        json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
    }

    #[test]
    fn a_call_that_worked_and_may_now_fail_is_breaking() {
        let old = object(
            json!({
                "state": {"type": "string", "enum": ["open", "closed", "all"]},
                "per_page": {"type": "integer", "maximum": 100},
                "label": {"type": "string"},
                "filter": {"type": "object", "properties": {"since": {"type": "string"}}}
            }),
            &[],
        );
        let new = object(
            json!({
                "state": {"type": "string", "enum": ["open", "closed"]},
                "per_page": {"type": "integer", "maximum": 50},
                "filter": {"type": "object", "properties": {"since": {"type": "integer"}}},
                "owner": {"type": "string"}
            }),
            &["owner"],
        );
        let found = input_changes(old, new);
        let expected = [
            (Class::Breaking, "/properties/label", "argument removed"),
            (Class::Breaking, "/properties/state", "enum values removed: \"all\""),
            (Class::Breaking, "/properties/per_page", "`maximum` tightened: 100 → 50"),
            (
                Class::Breaking,
                "/properties/filter/properties/since",
                "no longer takes string (now integer)",
            ),
            (Class::Breaking, "/properties/owner", "new required argument"),
        ];
        for (class, at, what) in expected {
            assert!(
                found.iter().any(|(c, a, w)| *c == class && a == at && w == what),
                "{at}: {what} not in {found:#?}"
            );
        }
        assert!(found.iter().all(|(c, ..)| *c == Class::Breaking), "{found:#?}");
    }

    #[test]
    fn what_only_widens_is_compatible() {
        let old = object(
            json!({"n": {"type": "integer", "enum": [1, 2], "minimum": 1}, "q": {"type": "string", "pattern": "^a"}}),
            &["n"],
        );
        let new = object(
            json!({
                "n": {"type": ["number", "null"], "enum": [1, 2, 3]},
                "q": {"type": "string"},
                "page": {"type": "integer"}
            }),
            &[],
        );
        let found = input_changes(old, new);
        assert!(found.iter().all(|(c, ..)| *c == Class::Compatible), "{found:#?}");
        assert_eq!(found.len(), 5, "{found:#?}");
    }

    #[test]
    fn result_fields_removed_or_retyped_are_breaking_and_added_ones_are_not() {
        let old = json!({"type": "object", "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"},
            "items": {"type": "array", "items": {"type": "object", "properties": {"sha": {"type": "string"}}}}
        }});
        let new = json!({"type": "object", "properties": {
            "id": {"type": "string"}, "title": {"type": "string"},
            "items": {"type": "array", "items": {"type": "object", "properties": {}}}
        }});
        let mut found = Vec::new();
        output(&old, &new, "", &mut found);
        let said: Vec<(Class, &str, &str)> = found.iter().map(|(c, a, w)| (*c, a.as_str(), w.as_str())).collect();
        assert_eq!(
            said,
            [
                (Class::Breaking, "/properties/name", "result field removed"),
                (Class::Breaking, "/properties/id", "type integer → string"),
                (Class::Compatible, "/properties/title", "result field added"),
                (
                    Class::Breaking,
                    "/properties/items/items/properties/sha",
                    "result field removed"
                ),
            ]
        );
    }
}
