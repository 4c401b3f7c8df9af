//! The discovery surface: four meta-tools over every operation of a view,
//! for APIs too large to list as one tool each.
//!
//! `search_operations` ranks operations with the index the generator built
//! (`spec.search`); `describe_operation` returns one operation's schemas;
//! `call_read_operation` runs read-only operations only (hosts can approve
//! it once) and `call_write_operation` the rest. A call goes through exactly
//! the path of the operation's own tool (validation, auth, retries, pages,
//! redaction), run by `server`. Unknown names get the closest ones.

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Map, Value, json};

use crate::call::error_result;
use crate::serve::surface::View;
use crate::spec::{ServerSpec, ToolSpec};

pub const SEARCH: &str = "search_operations";
pub const DESCRIBE: &str = "describe_operation";
pub const CALL_READ: &str = "call_read_operation";
pub const CALL_WRITE: &str = "call_write_operation";
/// Names no generated or hand-written tool may have.
pub const NAMES: [&str; 4] = [SEARCH, DESCRIBE, CALL_READ, CALL_WRITE];

/// Why a meta-tool won't run: the tool error the model reads (boxed: it is large, and the path is cold).
pub type Refusal = Box<CallToolResult>;

const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: usize = 50;
/// How many of the best matches `search_operations` can describe in full.
const MAX_DESCRIBED: usize = 5;

/// The meta-tools' names and `tools/list` entries for a view: the call
/// tools only where the view has operations of their kind.
pub fn entries(spec: &ServerSpec, view: &View) -> Vec<(&'static str, String)> {
    let api = spec.title.unwrap_or(spec.name);
    // One pass: how many operations, whether any reads, any writes, any destroys.
    let (mut count, mut reads, mut writes, mut destructive) = (0, false, false, false);
    for hints in view.tools().map(|i| spec.tools[i].annotations) {
        count += 1;
        reads |= hints.read_only;
        writes |= !hints.read_only;
        destructive |= !hints.read_only && hints.destructive;
    }
    let operation = json!({"type": "string", "description": "The operation's name, as search_operations returns it."});
    let mut out = vec![
        json!({
            "name": SEARCH,
            "description": format!(
                "Find operations of the {api} API ({count} in all) by what you want to do. Returns the best \
                 matches: name, summary, method and path, required arguments, and whether it only reads \
                 (`describe` also gives the best ones' full argument schemas). Then run one with {CALL_READ} \
                 or {CALL_WRITE} ({DESCRIBE} gives any operation's details)."
            ),
            "inputSchema": {"type": "object", "properties": {
                "query": {"type": "string", "description": "What you want to do, in a few words, e.g. \"list open orders of a customer\"."},
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                "describe": {"type": "integer", "minimum": 0, "maximum": MAX_DESCRIBED, "default": 0,
                    "description": "Also give the full details (argument and result schemas) of this many of the best matches, as describe_operation would."}
            }, "required": ["query"], "additionalProperties": false},
            "annotations": {"readOnlyHint": true, "openWorldHint": false},
        }),
        json!({
            "name": DESCRIBE,
            "description": "An operation's details: what it does, its arguments (a JSON Schema), its result's schema and whether it changes data.",
            "inputSchema": {"type": "object", "properties": {"operation": operation},
                "required": ["operation"], "additionalProperties": false},
            "annotations": {"readOnlyHint": true, "openWorldHint": false},
        }),
    ];
    let call = |description: &str| {
        json!({"type": "object", "properties": {
            "operation": operation,
            "arguments": {"type": "object", "description": description}
        }, "required": ["operation"], "additionalProperties": false})
    };
    if reads {
        out.push(json!({
            "name": CALL_READ,
            "description": format!("Run an operation that only reads (found with {SEARCH}). Refuses operations that change data."),
            "inputSchema": call("The operation's arguments, as its schema from describe_operation says."),
            "annotations": {"readOnlyHint": true},
        }));
    }
    if writes {
        out.push(json!({
            "name": CALL_WRITE,
            "description": format!("Run an operation that changes data (found with {SEARCH})."),
            "inputSchema": call("The operation's arguments, as its schema from describe_operation says."),
            "annotations": {"destructiveHint": destructive},
        }));
    }
    // Hosts that defer tool schemas must still load these: they are how the rest is found.
    for entry in &mut out {
        entry["_meta"] = json!({ crate::spec::ALWAYS_LOAD: true });
    }
    out.into_iter()
        .map(|entry| {
            let name = NAMES.into_iter().find(|n| entry["name"] == *n).expect("a meta-tool");
            (name, entry.to_string())
        })
        .collect()
}

/// `search_operations`.
pub fn search(spec: &ServerSpec, view: &View, args: Option<Map<String, Value>>) -> CallToolResult {
    let args = args.unwrap_or_default();
    let query = match args.get("query") {
        Some(Value::String(q)) if !q.trim().is_empty() => q.trim(),
        _ => {
            return bad_arguments(
                SEARCH,
                "`query` must be a non-empty string: what you want to do, in a few words",
            );
        }
    };
    let limit = match args.get("limit") {
        None | Some(Value::Null) => DEFAULT_LIMIT,
        Some(value) => match value.as_u64() {
            Some(n) if (1..=MAX_LIMIT as u64).contains(&n) => n as usize,
            _ => {
                return bad_arguments(SEARCH, &format!("`limit` must be an integer from 1 to {MAX_LIMIT}"));
            }
        },
    };
    let described = match args.get("describe") {
        None | Some(Value::Null) => 0,
        Some(value) => match value.as_u64() {
            Some(n) if n <= MAX_DESCRIBED as u64 => n as usize,
            _ => {
                return bad_arguments(
                    SEARCH,
                    &format!("`describe` must be an integer from 0 to {MAX_DESCRIBED}"),
                );
            }
        },
    };
    let hits = spec
        .search
        .search(query, &|i| view.contains(i), &|i| spec.tools[i].name, limit);
    if hits.is_empty() {
        let mut result = CallToolResult::success(vec![ContentBlock::text(format!(
            "No operation matches \"{query}\". Try other words: the thing you want (e.g. its resource's \
             name) and what to do with it (list, get, create, update, delete)."
        ))]);
        result.structured_content = Some(json!({ "operations": [] }));
        return result;
    }
    let mut found = Vec::with_capacity(hits.len());
    let mut lines = Vec::with_capacity(hits.len());
    for (rank, hit) in hits.iter().enumerate() {
        let tool = &spec.tools[hit.tool];
        let required = required_arguments(tool);
        let reads = if tool.annotations.read_only { ", read-only" } else { "" };
        let needs = match required.as_slice() {
            [] => String::new(),
            names => format!("; needs {}", names.join(", ")),
        };
        lines.push(format!(
            "{}: {} ({} {}{reads}{needs})",
            tool.name,
            tool.summary,
            tool.request.method.as_str(),
            tool.request.path
        ));
        let mut entry = json!({
            "name": tool.name,
            "summary": tool.summary,
            "method": tool.request.method.as_str(),
            "path": tool.request.path,
            "read_only": tool.annotations.read_only,
            "required": required,
        });
        if rank < described {
            let detail = details(tool, listing(tool));
            lines.push(format!("  details: {detail}"));
            entry["details"] = detail;
        }
        found.push(entry);
    }
    let mut result = CallToolResult::success(vec![ContentBlock::text(lines.join("\n"))]);
    result.structured_content = Some(json!({ "operations": found }));
    result
}

/// `describe_operation`: what the operation's own tool would list, plus
/// its request, its call tool and its pagination bounds.
pub fn describe(spec: &ServerSpec, view: &View, args: Option<Map<String, Value>>) -> CallToolResult {
    let args = args.unwrap_or_default();
    let index = match operation(spec, view, DESCRIBE, &args) {
        Ok(index) => index,
        Err(error) => return *error,
    };
    let tool = &spec.tools[index];
    let value = details(tool, listing(tool));
    let mut result = CallToolResult::success(vec![ContentBlock::text(value.to_string())]);
    result.structured_content = Some(value);
    result
}

/// A tool's `tools/list` entry (made at generation time, so it parses).
fn listing(tool: &ToolSpec) -> Map<String, Value> {
    match serde_json::from_str::<Value>(tool.listing) {
        Ok(Value::Object(entry)) => entry,
        _ => Map::new(),
    }
}

/// The names of a tool's required arguments, read from its listing without
/// building the rest of it (a search reads this for every hit).
fn required_arguments(tool: &ToolSpec) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Listing {
        #[serde(rename = "inputSchema")]
        input_schema: Schema,
    }
    #[derive(serde::Deserialize)]
    struct Schema {
        #[serde(default)]
        required: Vec<String>,
    }
    serde_json::from_str::<Listing>(tool.listing)
        .map(|l| l.input_schema.required)
        .unwrap_or_default()
}

/// What `describe_operation` says of a tool, from its listing.
fn details(tool: &ToolSpec, mut entry: Map<String, Value>) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(tool.name));
    for key in ["title", "description"] {
        if let Some(value) = entry.remove(key) {
            out.insert(key.into(), value);
        }
    }
    out.insert("method".into(), json!(tool.request.method.as_str()));
    out.insert("path".into(), json!(tool.request.path));
    out.insert("read_only".into(), json!(tool.annotations.read_only));
    if !tool.annotations.read_only {
        out.insert("destructive".into(), json!(tool.annotations.destructive));
    }
    out.insert("call_with".into(), json!(call_tool_for(tool)));
    out.insert("input_schema".into(), entry.remove("inputSchema").unwrap_or(json!({})));
    if let Some(output) = entry.remove("outputSchema") {
        out.insert("output_schema".into(), output);
    }
    if let Some(pages) = &tool.pagination {
        let bounds = json!({"max_pages": pages.max_pages, "max_items": pages.max_items});
        out.insert("pagination".into(), bounds);
    }
    Value::Object(out)
}

/// The operation a call tool is asked to run and its arguments, or the
/// tool error that says why not.
pub fn resolve_call(
    spec: &ServerSpec,
    view: &View,
    meta: &str,
    args: Option<Map<String, Value>>,
) -> Result<(usize, Option<Map<String, Value>>), Refusal> {
    let mut args = args.unwrap_or_default();
    let index = operation(spec, view, meta, &args)?;
    let tool = &spec.tools[index];
    if meta == CALL_READ && !tool.annotations.read_only {
        return Err(Box::new(error_result(
            json!({"error": "not_read_only", "operation": tool.name, "call_with": CALL_WRITE}),
            format!(
                "`{}` changes data ({} {}), so {CALL_READ} does not run it; nothing was sent to the API. \
                 Call it with {CALL_WRITE}.",
                tool.name,
                tool.request.method.as_str(),
                tool.request.path
            ),
        )));
    }
    let arguments = match args.remove("arguments") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map),
        Some(_) => {
            return Err(Box::new(bad_arguments(
                meta,
                "`arguments` must be an object: the operation's arguments, as describe_operation shows",
            )));
        }
    };
    Ok((index, arguments))
}

fn call_tool_for(tool: &ToolSpec) -> &'static str {
    if tool.annotations.read_only {
        CALL_READ
    } else {
        CALL_WRITE
    }
}

/// The view's operation named by `args.operation`, or an error naming the closest ones.
fn operation(spec: &ServerSpec, view: &View, meta: &str, args: &Map<String, Value>) -> Result<usize, Refusal> {
    let Some(Value::String(name)) = args.get("operation") else {
        return Err(Box::new(bad_arguments(
            meta,
            "`operation` must be an operation's name, as search_operations returns it",
        )));
    };
    let found = spec.tool_index(name);
    match found {
        Some(index) if view.contains(index) => Ok(index),
        Some(_) => Err(Box::new(error_result(
            json!({"error": "unknown_operation", "operation": name}),
            format!(
                "`{name}` is not in this server's toolsets ({}); nothing was sent to the API. \
                 Find the operations it has with {SEARCH}.",
                view.toolsets.join(", ")
            ),
        ))),
        None => {
            let close = closest(spec, view, name);
            let hint = match close.as_slice() {
                [] => String::new(),
                names => format!(
                    " Did you mean {}?",
                    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                ),
            };
            Err(Box::new(error_result(
                json!({"error": "unknown_operation", "operation": name, "did_you_mean": close}),
                format!(
                    "There is no operation `{name}`; nothing was sent to the API.{hint} Find operations with {SEARCH}."
                ),
            )))
        }
    }
}

/// Up to three names of the view like `name`: near in spelling first, then
/// the best search matches for its words.
fn closest(spec: &ServerSpec, view: &View, name: &str) -> Vec<&'static str> {
    let bound = (name.len() / 3).max(2);
    let mut near: Vec<(usize, &'static str)> = view
        .tools()
        .map(|i| spec.tools[i].name)
        .map(|n| (strsim::levenshtein(n, name), n))
        .filter(|(d, _)| *d <= bound)
        .collect();
    near.sort();
    let mut out: Vec<&'static str> = near.into_iter().map(|(_, n)| n).take(3).collect();
    for hit in spec
        .search
        .search(name, &|i| view.contains(i), &|i| spec.tools[i].name, 3)
    {
        let n = spec.tools[hit.tool].name;
        if out.len() < 3 && !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

fn bad_arguments(meta: &str, problem: &str) -> CallToolResult {
    error_result(
        json!({"error": "invalid_arguments", "tool": meta, "problems": [problem]}),
        format!("Invalid arguments for tool `{meta}`: {problem}."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::SPEC;
    use crate::spec::Surface;

    fn args(value: Value) -> Option<Map<String, Value>> {
        value.as_object().cloned()
    }

    fn text(result: &CallToolResult) -> String {
        result
            .content
            .iter()
            .filter_map(|c| c.as_text())
            .map(|t| t.text.as_str())
            .collect()
    }

    #[test]
    fn search_ranks_within_the_view() {
        let all = View::new(&SPEC, &[], Surface::Discovery, &[], 0).unwrap();
        let found = search(&SPEC, &all, args(json!({"query": "remove a pet"})));
        assert_eq!(found.structured_content.unwrap()["operations"][0]["name"], "delete_pet");
        let store = View::new(&SPEC, &[], Surface::Discovery, &["store".into()], 0).unwrap();
        let found = search(&SPEC, &store, args(json!({"query": "remove a pet", "limit": 5})));
        assert_eq!(
            found.structured_content.unwrap()["operations"],
            json!([]),
            "pets are not in `store`"
        );
        let found = search(&SPEC, &all, args(json!({"query": "remove a pet", "describe": 1})));
        let operations = &found.structured_content.unwrap()["operations"];
        assert_eq!(operations[0]["required"], json!(["id"]), "{operations}");
        assert_eq!(operations[0]["details"]["input_schema"]["required"], json!(["id"]));
        assert_eq!(operations[0]["details"]["call_with"], CALL_WRITE);
        assert!(
            operations[1].get("details").is_none(),
            "only the best one: {operations}"
        );
        assert_eq!(
            search(&SPEC, &all, args(json!({"query": "x", "describe": 6}))).is_error,
            Some(true)
        );
        let bad = search(&SPEC, &all, args(json!({"query": " "})));
        assert_eq!(bad.is_error, Some(true));
        assert_eq!(
            search(&SPEC, &all, args(json!({"query": "x", "limit": 0}))).is_error,
            Some(true)
        );
    }

    #[test]
    fn calls_resolve_by_kind_and_name() {
        let view = View::new(&SPEC, &[], Surface::Discovery, &[], 0).unwrap();
        let (index, arguments) = resolve_call(
            &SPEC,
            &view,
            CALL_WRITE,
            args(json!({"operation": "delete_pet", "arguments": {"id": 1}})),
        )
        .unwrap();
        assert_eq!((index, arguments), (1, args(json!({"id": 1}))));
        let refused = resolve_call(&SPEC, &view, CALL_READ, args(json!({"operation": "delete_pet"}))).unwrap_err();
        assert!(text(&refused).contains("call_write_operation"), "{}", text(&refused));
        let unknown = resolve_call(&SPEC, &view, CALL_READ, args(json!({"operation": "list_pet"}))).unwrap_err();
        assert!(
            text(&unknown).contains("Did you mean `list_pets`"),
            "{}",
            text(&unknown)
        );
        let store = View::new(&SPEC, &[], Surface::Discovery, &["store".into()], 0).unwrap();
        let outside = resolve_call(&SPEC, &store, CALL_READ, args(json!({"operation": "list_pets"}))).unwrap_err();
        assert!(
            text(&outside).contains("not in this server's toolsets (store)"),
            "{}",
            text(&outside)
        );
        let not_object = resolve_call(
            &SPEC,
            &view,
            CALL_READ,
            args(json!({"operation": "list_pets", "arguments": 5})),
        );
        assert!(text(&not_object.unwrap_err()).contains("must be an object"));
    }

    #[test]
    fn describe_gives_the_schemas_and_the_call_tool() {
        let view = View::new(&SPEC, &[], Surface::Discovery, &[], 0).unwrap();
        let described = describe(&SPEC, &view, args(json!({"operation": "delete_pet"})))
            .structured_content
            .unwrap();
        assert_eq!(described["input_schema"]["required"], json!(["id"]));
        assert_eq!(
            (described["call_with"].as_str(), described["destructive"].as_bool()),
            (Some(CALL_WRITE), Some(true))
        );
    }
}
