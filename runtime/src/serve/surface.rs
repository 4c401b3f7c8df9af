//! What one MCP endpoint shows, and its `tools/list` answer as bytes.
//!
//! A `View` is a surface (one tool per operation, the discovery meta-tools,
//! or both) over every tool of the server or over some toolsets. Its
//! `tools/list` pages are assembled once from the generated entries (JSON
//! text made by `mcpgen generate`) and served as they are: listing costs
//! neither parsing nor serializing, whatever the API's size. The transports
//! answer `tools/list` from here before rmcp sees it (`answer`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use rmcp::model::ToolAnnotations;
use serde_json::{Value, json};

use crate::call::custom::CustomTool;
use crate::serve::discovery;
use crate::spec::{SchemaProfile, ServerSpec, Surface};

/// How a server was asked to present itself (`--surface`, `--toolsets`, `--tools-page-size`).
#[derive(Debug, Clone, Default)]
pub struct Presentation {
    /// `None`: the surface chosen in mcpgen.yaml.
    pub surface: Option<Surface>,
    /// Toolset names; empty: every tool.
    pub toolsets: Vec<String>,
    /// Tools per `tools/list` page; 0: all in one.
    pub page_size: usize,
    /// `None`: the schema profile chosen in mcpgen.yaml.
    pub schema_profile: Option<SchemaProfile>,
}

pub struct View {
    pub surface: Surface,
    /// The toolsets this view is limited to; empty: every tool.
    pub toolsets: Vec<&'static str>,
    spec: &'static ServerSpec,
    /// Indexes into `spec.tools`, ascending; `None`: all of them.
    members: Option<Vec<u32>>,
    page_size: usize,
    /// The form of input schemas listed; entries are kept in full and
    /// listed in this form (the full schemas are what arguments are checked against).
    pub profile: SchemaProfile,
    /// (name, `tools/list` entry) of the tools listed before the generated
    /// ones (the meta-tools) and after them (hand-written tools).
    before: Vec<(&'static str, String)>,
    after: Vec<(String, String)>,
    pages: OnceLock<Vec<Bytes>>,
}

impl View {
    /// Fails on a toolset the spec doesn't have, naming those it has.
    pub fn new(
        spec: &'static ServerSpec,
        custom: &[std::sync::Arc<CustomTool>],
        surface: Surface,
        toolsets: &[String],
        page_size: usize,
    ) -> Result<View, UnknownToolset> {
        check_toolsets(spec, toolsets)?;
        let mut names = Vec::new();
        let mut members: Option<Vec<u32>> = None;
        for wanted in toolsets {
            let Some(set) = spec.toolsets.iter().find(|t| t.name == wanted) else {
                continue;
            };
            names.push(set.name);
            members.get_or_insert_with(Vec::new).extend_from_slice(set.tools);
        }
        if let Some(members) = &mut members {
            members.sort_unstable();
            members.dedup();
        }
        let mut view = View {
            surface,
            toolsets: names,
            spec,
            members,
            page_size,
            profile: SchemaProfile::Full,
            before: Vec::new(),
            after: custom.iter().map(|t| (t.name.clone(), custom_entry(t))).collect(),
            pages: OnceLock::new(),
        };
        view.before = view.meta_tools();
        Ok(view)
    }

    /// This view listing input schemas in `profile`'s form.
    pub fn with_profile(mut self, profile: SchemaProfile) -> View {
        self.profile = profile;
        self
    }

    /// This view without the tools `keep` refuses (by index in `spec.tools`
    /// for generated tools, by name for hand-written ones): what a caller
    /// whose scopes allow only some tools is shown.
    pub fn restricted(&self, keep_generated: impl Fn(usize) -> bool, keep_custom: impl Fn(&str) -> bool) -> View {
        let mut view = View {
            surface: self.surface,
            toolsets: self.toolsets.clone(),
            spec: self.spec,
            members: Some(self.tools().filter(|&i| keep_generated(i)).map(|i| i as u32).collect()),
            page_size: self.page_size,
            profile: self.profile,
            before: Vec::new(),
            after: self
                .after
                .iter()
                .filter(|(name, _)| keep_custom(name))
                .cloned()
                .collect(),
            pages: OnceLock::new(),
        };
        view.before = view.meta_tools();
        view
    }

    /// The tools listed before the generated ones: the discovery meta-tools
    /// (in their surfaces), and `wait_for_operation` when a tool of the view
    /// may leave an operation running.
    fn meta_tools(&self) -> Vec<(&'static str, String)> {
        let mut tools = Vec::new();
        if self.surface.lists_meta_tools() {
            tools = discovery::entries(self.spec, self);
        }
        if self.tools().any(|i| self.spec.tools[i].long_running.is_some()) {
            tools.push((crate::tasks::WAIT_TOOL, crate::tasks::wait_tool_entry()));
        }
        tools
    }

    /// Whether the tool at this index of `spec.tools` is in the view.
    pub fn contains(&self, tool: usize) -> bool {
        match &self.members {
            None => true,
            Some(members) => u32::try_from(tool).is_ok_and(|t| members.binary_search(&t).is_ok()),
        }
    }

    /// The indexes of the view's tools, ascending.
    pub fn tools(&self) -> impl Iterator<Item = usize> + '_ {
        let all = match &self.members {
            None => Some(0..self.spec.tools.len()),
            Some(_) => None,
        };
        let some = self.members.iter().flatten().map(|&t| t as usize);
        all.into_iter().flatten().chain(some)
    }

    /// Whether `tools/list` shows a tool of this name that is not a generated one.
    pub fn lists(&self, name: &str) -> bool {
        self.entry(name).is_some()
    }

    /// A `tools/list` entry as this view lists it.
    pub fn listed<'a>(&self, entry: &'a str) -> Cow<'a, str> {
        match self.profile {
            SchemaProfile::Full => Cow::Borrowed(entry),
            SchemaProfile::Portable => Cow::Owned(portable_cached(entry).to_string()),
        }
    }

    /// The `tools/list` entry of a listed tool that is not a generated one, in full.
    pub fn entry(&self, name: &str) -> Option<&str> {
        let before = self.before.iter().map(|(n, e)| (*n, e.as_str()));
        let after = self.after.iter().map(|(n, e)| (n.as_str(), e.as_str()));
        before.chain(after).find(|(n, _)| *n == name).map(|(_, e)| e)
    }

    /// The `result` of `tools/list` for a cursor (`None`: the first page).
    pub fn page(&self, cursor: Option<&str>) -> Result<Bytes, BadCursor> {
        let pages = self.pages.get_or_init(|| self.render_pages());
        let index = match cursor {
            None => 0,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|&i| i < pages.len())
                .ok_or_else(|| BadCursor(text.to_string()))?,
        };
        Ok(pages[index].clone())
    }

    fn render_pages(&self) -> Vec<Bytes> {
        let generated = self
            .tools()
            .filter(|_| self.surface.lists_operations())
            .map(|i| self.spec.tools[i].listing);
        let listed: Vec<Cow<str>> = self
            .before
            .iter()
            .map(|(_, e)| e.as_str())
            .chain(generated)
            .chain(self.after.iter().map(|(_, e)| e.as_str()))
            .map(|e| self.listed(e))
            .collect();
        let entries: Vec<&str> = listed.iter().map(|e| e.as_ref()).collect();
        let size = if self.page_size == 0 {
            entries.len().max(1)
        } else {
            self.page_size
        };
        let chunks: Vec<&[&str]> = if entries.is_empty() {
            vec![&[]]
        } else {
            entries.chunks(size).collect()
        };
        let count = chunks.len();
        chunks
            .into_iter()
            .enumerate()
            .map(|(i, chunk)| {
                let length: usize = chunk.iter().map(|e| e.len() + 1).sum();
                let mut page = String::with_capacity(length + 48);
                page.push_str("{\"tools\":[");
                for (n, entry) in chunk.iter().enumerate() {
                    if n > 0 {
                        page.push(',');
                    }
                    page.push_str(entry);
                }
                page.push(']');
                if i + 1 < count {
                    page.push_str(&format!(",\"nextCursor\":\"{}\"", i + 1));
                }
                page.push('}');
                Bytes::from(page)
            })
            .collect()
    }
}

/// Distinct entries whose portable form is kept (every tool of GitHub's API is 1,223).
const MAX_PORTABLE: usize = 4096;

/// `portable_entry`, made once per process for each entry: rmcp asks for a
/// tool's entry on every call (`get_tool`), and the form parses and rewrites
/// the whole schema. Past `MAX_PORTABLE` entries, made each time.
fn portable_cached(entry: &str) -> Arc<str> {
    static MADE: OnceLock<Mutex<HashMap<Box<str>, Arc<str>>>> = OnceLock::new();
    let made = MADE.get_or_init(Default::default);
    if let Some(found) = made.lock().unwrap_or_else(|e| e.into_inner()).get(entry) {
        return found.clone();
    }
    let portable: Arc<str> = Arc::from(portable_entry(entry));
    let mut made = made.lock().unwrap_or_else(|e| e.into_inner());
    if made.len() < MAX_PORTABLE {
        made.insert(Box::from(entry), portable.clone());
    }
    portable
}

/// An entry with its input schema in the portable form (`mcpgen_spec::portable`).
fn portable_entry(entry: &str) -> String {
    let Ok(Value::Object(mut entry)) = serde_json::from_str::<Value>(entry) else {
        return entry.to_string();
    };
    if let Some(schema) = entry.get_mut("inputSchema") {
        *schema = mcpgen_spec::portable::portable(schema);
    }
    Value::Object(entry).to_string()
}

/// Every name is one of the spec's toolsets; the error names those it has.
pub fn check_toolsets(spec: &ServerSpec, toolsets: &[String]) -> Result<(), UnknownToolset> {
    match toolsets
        .iter()
        .find(|w| !spec.toolsets.iter().any(|t| t.name == w.as_str()))
    {
        None => Ok(()),
        Some(wanted) => Err(UnknownToolset {
            wanted: wanted.clone(),
            known: spec.toolsets.iter().map(|t| t.name).collect(),
        }),
    }
}

/// A toolset (`--toolsets`, a `/mcp/<toolset>` path) the spec doesn't have.
#[derive(Debug, thiserror::Error)]
pub struct UnknownToolset {
    wanted: String,
    known: Vec<&'static str>,
}

impl std::fmt::Display for UnknownToolset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.known.as_slice() {
            [] => write!(f, "unknown toolset `{}`: this server has no toolsets", self.wanted),
            known => write!(
                f,
                "unknown toolset `{}`; this server's toolsets: {}",
                self.wanted,
                known.join(", ")
            ),
        }
    }
}

/// A `tools/list` cursor this server never gave.
#[derive(Debug, thiserror::Error)]
#[error("invalid cursor `{0}`: use the `nextCursor` of the previous page")]
pub struct BadCursor(String);

/// A JSON-RPC message that is a `tools/list` request: its id and cursor.
pub struct ListRequest {
    pub id: Value,
    pub cursor: Option<String>,
    /// The protocol version the request carries in `_meta` (2026-07-28 and later).
    pub version: Option<String>,
}

/// The `_meta` key of a request's protocol version.
pub const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// How long a client may cache `tools/list` (2026-07-28 `ttlMs`): the list
/// changes only with a new build of the server.
const LIST_TTL_MS: u64 = 300_000;

impl ListRequest {
    /// `Some` for a `tools/list` request (the only message answered from
    /// here); anything else, or JSON that isn't a request, is `None`.
    pub fn parse(message: &[u8]) -> Option<ListRequest> {
        #[derive(serde::Deserialize)]
        struct Head<'a> {
            #[serde(borrow)]
            method: Option<Cow<'a, str>>,
            id: Option<Value>,
            params: Option<Params>,
        }
        #[derive(serde::Deserialize)]
        struct Params {
            cursor: Option<String>,
            #[serde(rename = "_meta")]
            meta: Option<serde_json::Map<String, Value>>,
        }
        let head: Head = serde_json::from_slice(message).ok()?;
        if head.method.as_deref() != Some("tools/list") {
            return None;
        }
        let id = head.id.filter(|id| id.is_string() || id.is_number())?;
        let (cursor, meta) = head.params.map_or((None, None), |p| (p.cursor, p.meta));
        let version = match meta.as_ref().and_then(|m| m.get(META_VERSION)) {
            None => None,
            Some(Value::String(v)) => Some(v.clone()),
            // Malformed: rmcp says what is wrong with it.
            Some(_) => return None,
        };
        Some(ListRequest { id, cursor, version })
    }

    /// The version the answer is for: the request's own, else the
    /// transport's (negotiated at `initialize`, or an HTTP header). `None`
    /// when the request's version is one rmcp doesn't know: rmcp answers it.
    pub fn version<'a>(&'a self, transport: Option<&'a str>) -> Option<Option<&'a str>> {
        match self.version.as_deref() {
            Some(v) if !is_known_version(v) => None,
            Some(v) => Some(Some(v)),
            None => Some(transport),
        }
    }
}

/// A protocol version rmcp speaks.
pub fn is_known_version(version: &str) -> bool {
    rmcp::model::ProtocolVersion::KNOWN_VERSIONS
        .iter()
        .any(|v| v.as_str() == version)
}

/// Whether results carry 2026-07-28's `resultType` and caching hints
/// (dates compare as text; older peers get results without them, as rmcp gives).
pub(crate) fn is_2026_07_28_or_later(version: Option<&str>) -> bool {
    version.is_some_and(|v| v >= "2026-07-28")
}

/// The JSON-RPC response to a `tools/list` request for a peer on
/// `version`, in parts (the page is shared, not copied): the message is
/// their concatenation.
pub fn answer(view: &View, request: &ListRequest, version: Option<&str>) -> [Bytes; 3] {
    match view.page(request.cursor.as_deref()) {
        Ok(page) if is_2026_07_28_or_later(version) => [
            Bytes::from(format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":{},\"result\":{{\"resultType\":\"complete\",\"ttlMs\":{LIST_TTL_MS},\"cacheScope\":\"private\",",
                request.id
            )),
            page.slice(1..),
            Bytes::from_static(b"}"),
        ],
        Ok(page) => [
            Bytes::from(format!("{{\"jsonrpc\":\"2.0\",\"id\":{},\"result\":", request.id)),
            page,
            Bytes::from_static(b"}"),
        ],
        Err(refused) => {
            let message = refused.to_string();
            let error = json!({"jsonrpc": "2.0", "id": request.id, "error": {"code": -32602, "message": message}});
            [Bytes::from(error.to_string()), Bytes::new(), Bytes::new()]
        }
    }
}

/// A hand-written tool's `tools/list` entry.
fn custom_entry(tool: &CustomTool) -> String {
    let mut entry = json!({
        "name": tool.name,
        "description": tool.description,
        "inputSchema": tool.input_schema,
    });
    let hints = annotations(tool.read_only, !tool.read_only, false, true);
    entry["annotations"] = serde_json::to_value(hints).expect("annotations serialize");
    entry.to_string()
}

/// Hints as MCP defines them, without those that say what an absent hint
/// means (readOnly false, idempotent false, openWorld true) or that mean
/// nothing for a read-only tool (destructive, idempotent): tools/list is paid
/// for in tokens. Whether a tool that writes is destructive is always said.
pub(crate) fn annotations(read_only: bool, destructive: bool, idempotent: bool, open_world: bool) -> ToolAnnotations {
    let mut hints = ToolAnnotations::default();
    if read_only {
        hints.read_only_hint = Some(true);
    } else {
        hints.destructive_hint = Some(destructive);
        hints.idempotent_hint = idempotent.then_some(true);
    }
    hints.open_world_hint = (!open_world).then_some(false);
    hints
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::SPEC;

    #[test]
    fn a_portable_entry_is_made_once_and_is_what_making_it_gives() {
        let entry =
            json!({"name": "t", "inputSchema": {"type": "object", "properties": {"q": {"type": ["string", "null"]}}}})
                .to_string();
        let first = portable_cached(&entry);
        assert_eq!(&*first, portable_entry(&entry));
        assert!(Arc::ptr_eq(&first, &portable_cached(&entry)), "made once");
        let view = View::new(&SPEC, &[], Surface::Tools, &[], 0)
            .unwrap()
            .with_profile(SchemaProfile::Portable);
        assert_eq!(view.listed(&entry), portable_entry(&entry));
    }

    fn names(page: &Bytes) -> Vec<String> {
        let page: Value = serde_json::from_slice(page).unwrap();
        page["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn views_list_their_surface_over_their_toolsets() {
        let view = View::new(&SPEC, &[], Surface::Tools, &[], 0).unwrap();
        assert_eq!(
            names(&view.page(None).unwrap()),
            ["list_pets", "delete_pet", "list_orders"]
        );
        let view = View::new(&SPEC, &[], Surface::Discovery, &["store".into()], 0).unwrap();
        // Only reads in `store`: no write call tool.
        assert_eq!(
            names(&view.page(None).unwrap()),
            ["search_operations", "describe_operation", "call_read_operation"]
        );
        assert!(view.contains(2) && !view.contains(0));
        let view = View::new(&SPEC, &[], Surface::Both, &["pets".into(), "store".into()], 0).unwrap();
        assert_eq!(names(&view.page(None).unwrap()).len(), 4 + 3);
        let unknown = View::new(&SPEC, &[], Surface::Tools, &["users".into()], 0)
            .err()
            .unwrap();
        assert_eq!(
            unknown.to_string(),
            "unknown toolset `users`; this server's toolsets: pets, store"
        );
    }

    #[test]
    fn pages_follow_cursors_and_refuse_others() {
        let view = View::new(&SPEC, &[], Surface::Tools, &[], 2).unwrap();
        let first: Value = serde_json::from_slice(&view.page(None).unwrap()).unwrap();
        assert_eq!(first["nextCursor"], "1");
        let last: Value = serde_json::from_slice(&view.page(Some("1")).unwrap()).unwrap();
        assert_eq!(
            (last["tools"].as_array().unwrap().len(), last.get("nextCursor")),
            (1, None)
        );
        assert!(
            view.page(Some("2"))
                .unwrap_err()
                .to_string()
                .contains("invalid cursor `2`")
        );
        assert!(view.page(Some("x")).is_err());
    }

    #[test]
    fn answers_carry_2026_fields_only_for_2026_peers() {
        let view = View::new(&SPEC, &[], Surface::Tools, &[], 0).unwrap();
        let request = ListRequest::parse(br#"{"jsonrpc":"2.0","id":"a","method":"tools/list"}"#).unwrap();
        let message = |version| -> Value {
            let parts = answer(&view, &request, version);
            serde_json::from_slice(&parts.concat()).unwrap()
        };
        let legacy = message(Some("2025-11-25"));
        assert_eq!(legacy["id"], "a");
        assert!(legacy["result"].get("resultType").is_none());
        assert_eq!(legacy["result"]["tools"].as_array().unwrap().len(), 3);
        let modern = message(Some("2026-07-28"));
        assert_eq!(modern["result"]["resultType"], "complete");
        assert_eq!(modern["result"]["cacheScope"], "private");
        assert_eq!(modern["result"]["tools"], legacy["result"]["tools"]);
        let bad =
            ListRequest::parse(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"9"}}"#).unwrap();
        let error: Value = serde_json::from_slice(&answer(&view, &bad, None).concat()).unwrap();
        assert_eq!(error["error"]["code"], -32602);
    }

    #[test]
    fn only_list_requests_with_an_id_are_answered_here() {
        let parsed =
            ListRequest::parse(br#"{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{"cursor":"2"}}"#).unwrap();
        assert_eq!((&parsed.id, parsed.cursor.as_deref()), (&json!(7), Some("2")));
        assert_eq!(parsed.version(Some("2025-11-25")), Some(Some("2025-11-25")));
        let modern = ListRequest::parse(
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
        )
        .unwrap();
        assert_eq!(modern.version(None), Some(Some("2026-07-28")));
        let unknown = ListRequest::parse(
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"1999-01-01"}}}"#,
        )
        .unwrap();
        assert_eq!(unknown.version(None), None, "rmcp answers versions it doesn't know");
        assert!(ListRequest::parse(br#"{"jsonrpc":"2.0","id":"a","method":"tools/list"}"#).is_some());
        assert!(ListRequest::parse(br#"{"jsonrpc":"2.0","method":"tools/list"}"#).is_none());
        assert!(ListRequest::parse(br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}"#).is_none());
        assert!(ListRequest::parse(b"not json").is_none());
    }

    #[test]
    fn hints_leave_out_only_what_absence_already_says() {
        let json = |a: ToolAnnotations| serde_json::to_value(a).unwrap();
        assert_eq!(
            json(annotations(true, false, true, true)),
            serde_json::json!({"readOnlyHint": true})
        );
        assert_eq!(
            json(annotations(false, false, false, true)),
            serde_json::json!({"destructiveHint": false})
        );
        assert_eq!(
            json(annotations(false, true, true, false)),
            serde_json::json!({"destructiveHint": true, "idempotentHint": true, "openWorldHint": false})
        );
    }
}
