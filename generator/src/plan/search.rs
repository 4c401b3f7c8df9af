//! The discovery surface's search index, built at generation time.
//!
//! Input: the planned tools. Output: `SearchPlan`, the inverted index the
//! runtime ranks with (`mcpgen_spec::search`), emitted as `src/search.rs`.
//! Each tool's text is weighted by field: words of its name count most, then
//! its summary, tags and path, then its method's verb, argument names, the
//! start of its description and the values its arguments may take.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use mcpgen_spec::Method;
use mcpgen_spec::search::{Hit, SearchIndex, words};
use serde_json::Value;

use crate::plan::ToolPlan;

/// How much of a description is indexed: its start says what the operation
/// is; the rest (examples, caveats) mostly adds noise.
const DESCRIPTION_CHARS: usize = 400;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SearchPlan {
    /// Words in byte order, each with (tool index, weighted frequency).
    pub terms: Vec<(String, Vec<(u32, u16)>)>,
    /// Weighted word count of each tool.
    pub lengths: Vec<u16>,
}

/// What is indexed of one tool.
pub struct Entry<'a> {
    pub name: &'a str,
    pub summary: &'a str,
    pub tags: &'a [String],
    pub method: Method,
    pub path: &'a str,
    /// Its argument names are indexed.
    pub input_schema: &'a str,
    pub description: &'a str,
}

impl<'a> From<&'a ToolPlan> for Entry<'a> {
    fn from(tool: &'a ToolPlan) -> Entry<'a> {
        Entry {
            name: &tool.name,
            summary: &tool.summary,
            tags: &tool.tags,
            method: tool.method,
            path: &tool.path,
            input_schema: &tool.input_schema,
            description: &tool.description,
        }
    }
}

impl SearchPlan {
    /// Each tool's words are counted on its own, on every core; the index is
    /// then merged in tool order (deterministic).
    pub fn build(tools: &[Entry<'_>]) -> SearchPlan {
        let counted = crate::parallel::map_ordered(tools, count_words);
        let mut terms: BTreeMap<String, Vec<(u32, u16)>> = BTreeMap::new();
        let mut lengths = Vec::with_capacity(counted.len());
        for (i, (counts, length)) in counted.into_iter().enumerate() {
            for (word, count) in counts {
                terms.entry(word).or_default().push((i as u32, saturate(count)));
            }
            lengths.push(saturate(length));
        }
        SearchPlan {
            terms: terms.into_iter().collect(),
            lengths,
        }
    }

    /// The `limit` best tools for `query`, as the runtime ranks them (`name`: a tool's name by index).
    pub fn search<'n>(&self, query: &str, limit: usize, name: &dyn Fn(usize) -> &'n str) -> Vec<Hit> {
        self.with_index(|index| index.search(query, &|_| true, name, limit))
    }

    /// The index as the runtime holds it, for queries at generation time (tests, recall figures).
    pub fn with_index<R>(&self, f: impl FnOnce(SearchIndex<'_>) -> R) -> R {
        let terms: Vec<(&str, &[(u32, u16)])> = self.terms.iter().map(|(t, p)| (t.as_str(), p.as_slice())).collect();
        f(SearchIndex {
            terms: &terms,
            lengths: &self.lengths,
        })
    }

    /// `src/search.rs`: the index as a Rust constant. Written here rather
    /// than by a template and prettyplease, which would put each posting on
    /// a line of its own: one line per word keeps the file short and its
    /// diffs readable.
    pub fn render(&self, header: &str) -> String {
        let mut out = String::with_capacity(self.terms.len() * 48 + self.lengths.len() * 4 + 512);
        out.push_str(header);
        out.push_str(
            "//!\n//! The search index of the discovery surface: every word of the tools' names,\n\
             //! summaries, tags, paths and arguments, with the tools that have it.\n\n\
             use mcpgen_runtime::spec::search::SearchIndex;\n\n\
             #[rustfmt::skip]\n\
             pub const INDEX: SearchIndex<'static> = SearchIndex {\n    terms: &[\n",
        );
        for (term, postings) in &self.terms {
            let _ = write!(out, "        ({term:?}, &[");
            for (n, (tool, weight)) in postings.iter().enumerate() {
                let sep = if n == 0 { "" } else { ", " };
                let _ = write!(out, "{sep}({tool}, {weight})");
            }
            out.push_str("]),\n");
        }
        out.push_str("    ],\n    lengths: &[");
        for (n, length) in self.lengths.iter().enumerate() {
            out.push_str(match (n, n % 24) {
                (0, _) => "\n        ",
                (_, 0) => ",\n        ",
                _ => ", ",
            });
            let _ = write!(out, "{length}");
        }
        out.push_str(if self.lengths.is_empty() {
            "],\n};\n"
        } else {
            ",\n    ],\n};\n"
        });
        out
    }
}

/// A tool's words with their field-weighted counts, and its weighted length.
fn count_words(tool: &Entry<'_>) -> (BTreeMap<String, u32>, u32) {
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    let mut length = 0u32;
    let mut add = |text: &str, weight: u32| {
        for word in words(text) {
            *counts.entry(word).or_default() += weight;
            length += weight;
        }
    };
    add(tool.name, 6);
    add(tool.summary, 4);
    for tag in tool.tags {
        add(tag, 3);
    }
    add(tool.path, 2);
    add(verb(tool.method, tool.path), 3);
    for name in argument_names(tool.input_schema) {
        add(&name, 2);
    }
    let start: String = tool.description.chars().take(DESCRIPTION_CHARS).collect();
    add(&start, 1);
    for value in argument_values(tool.input_schema) {
        add(&value, 1);
    }
    (counts, length)
}

fn saturate(n: u32) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// What a request with this method on this path usually does, in the words people use.
fn verb(method: Method, path: &str) -> &'static str {
    match method {
        Method::Get if path.ends_with('}') => "get",
        Method::Get => "list",
        Method::Post => "create",
        Method::Put | Method::Patch => "update",
        Method::Delete => "delete",
        Method::Head | Method::Options | Method::Trace => "",
    }
}

/// The values an argument may take (`enum`), two levels deep: an operation
/// that does several things by a `type` says them there (`reboot`, `snapshot`).
fn argument_values(input_schema: &str) -> Vec<String> {
    fn walk(schema: &Value, depth: usize, out: &mut Vec<String>) {
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            out.extend(values.iter().filter_map(Value::as_str).map(str::to_string));
        }
        if depth == 0 {
            return;
        }
        for key in ["items"] {
            if let Some(inner) = schema.get(key) {
                walk(inner, depth - 1, out);
            }
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            for inner in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
                walk(inner, depth - 1, out);
            }
        }
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for inner in properties.values() {
                walk(inner, depth - 1, out);
            }
        }
    }
    let mut out = Vec::new();
    if let Ok(schema) = serde_json::from_str::<Value>(input_schema) {
        walk(&schema, 3, &mut out);
    }
    out
}

fn argument_names(input_schema: &str) -> Vec<String> {
    match serde_json::from_str::<Value>(input_schema) {
        Ok(schema) => schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool<'a>(name: &'a str, summary: &'a str, method: Method, path: &'a str) -> Entry<'a> {
        Entry {
            name,
            summary,
            tags: &[],
            method,
            path,
            input_schema: r#"{"type": "object", "properties": {"petId": {}}}"#,
            description: summary,
        }
    }

    #[test]
    fn tools_are_found_by_what_they_do() {
        let tools = [
            tool("list_pets", "List pets", Method::Get, "/pets"),
            tool("get_pet", "Info for a specific pet", Method::Get, "/pets/{petId}"),
            tool("delete_pet", "Deletes a pet", Method::Delete, "/pets/{petId}"),
            tool("place_order", "Place an order for a pet", Method::Post, "/store/orders"),
        ];
        let plan = SearchPlan::build(&tools);
        let hits = |query: &str| plan.search(query, 4, &|i| tools[i].name);
        assert_eq!(hits("remove a pet from the shop")[0].tool, 2);
        assert_eq!(hits("every pet in the shop")[0].tool, 0);
        assert_eq!(hits("order a pet")[0].tool, 3);
        assert_eq!(hits("buy something"), [], "no word in common");
    }

    #[test]
    fn the_rendered_index_is_one_line_per_word() {
        let plan = SearchPlan {
            terms: vec![("order".into(), vec![(1, 2)]), ("pet".into(), vec![(0, 3), (1, 1)])],
            lengths: vec![7, 9],
        };
        let text = plan.render("//! header\n");
        assert!(text.contains("        (\"pet\", &[(0, 3), (1, 1)]),\n"), "{text}");
        assert!(text.contains("    lengths: &[\n        7, 9,\n    ],\n};\n"), "{text}");
    }
}
