//! Results over the transport's frame budget: a preview of the same shape
//! and a link to the whole result, held in `state::results` for its caller.

use rmcp::model::{CallToolResult, ContentBlock, Resource, ResourceContents};
use serde_json::{Map, Value, json};

use crate::state::results::ResultStore;

/// What a JSON-RPC frame adds around a result (id, envelope), with room to spare.
const FRAME_OVERHEAD: usize = 256;
/// Texts up to this size are notes, kept whole next to a preview.
const NOTE_BYTES: usize = 1024;
/// What a `resources/read` answer adds around a page's text.
const READ_OVERHEAD: usize = 1024;

/// `result` as it may go out in a frame of at most `budget` bytes: itself
/// when it fits; else a preview of it (the same shape, cut), a note saying
/// what was cut and where the rest is, and a `resource_link` to the whole
/// result held in `store` for `owner`. Error results and results without
/// text (images, blobs) pass as they are. When the store can't hold it (too
/// big, or unavailable), the preview and a note say so instead of a link.
pub async fn fit(
    result: CallToolResult,
    budget: usize,
    store: &ResultStore,
    owner: &str,
    tool: &str,
) -> CallToolResult {
    if fits(&result, budget) {
        return result;
    }
    // Short texts are notes about the result (a cut upstream body, how to
    // continue a list): they go out as they are, after the preview.
    let (notes, texts): (Vec<&str>, Vec<&str>) = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
        .partition(|text| text.len() <= NOTE_BYTES);
    let (whole, media_type) = match (&result.structured_content, texts.as_slice()) {
        (Some(value), _) => (value.to_string(), "application/json"),
        (None, []) => return fit_binary(result, budget, store, owner, tool).await,
        (None, texts) => (texts.join("\n"), "text/plain"),
    };
    // The preview goes out twice (as text and as structuredContent), the text escaped.
    let noted: usize = notes.iter().map(|n| n.len() * 2).sum();
    let room = budget.saturating_sub(FRAME_OVERHEAD + 2048 + noted) / 3;
    let parsed = result
        .structured_content
        .clone()
        .or_else(|| serde_json::from_str::<Value>(&whole).ok());
    let (shown, cuts) = match &parsed {
        Some(value) => preview(value, room),
        None => {
            let (text, cuts) = preview(&Value::String(whole.clone()), room);
            (text, cuts)
        }
    };
    // Each page, quoted as a JSON string, with the answer around it, fits the budget.
    let link = store
        .put(
            owner,
            media_type,
            whole.clone(),
            budget.saturating_sub(READ_OVERHEAD + 2),
        )
        .await;
    let cut = match cuts.first() {
        Some(c) if c.what == "items" => format!("the first {} of {} items of `{}` are shown", c.kept, c.total, c.path),
        Some(c) if c.what == "keys" => format!("the first {} of {} keys of `{}` are shown", c.kept, c.total, c.path),
        Some(c) => format!(
            "the first {} of {} characters of `{}` are shown",
            c.kept, c.total, c.path
        ),
        None => "a part of it is shown".to_string(),
    };
    let note = match &link {
        Ok(Some(link)) => format!(
            "This result is {} bytes, more than this connection passes in one message ({budget}); {cut}. \
             The whole result is held for {} minutes as {} ({} page{}): read it with resources/read, \
             page n at {}/pages/n.",
            whole.len(),
            store.ttl().as_secs().div_ceil(60),
            link.uri,
            link.pages,
            if link.pages == 1 { "" } else { "s" },
            link.uri
        ),
        Ok(None) => format!(
            "This result is {} bytes, more than this connection passes in one message ({budget}) and more \
             than this server holds; {cut}. Narrow the request (filters, smaller pages) for the rest.",
            whole.len()
        ),
        Err(unheld) => {
            tracing::warn!(tool, "a result over the budget was not held: {}", unheld.detail());
            format!(
                "This result is {} bytes, more than this connection passes in one message ({budget}); {cut}. \
                 The rest could not be held for reading now (the server's result store is unavailable): \
                 narrow the request (filters, smaller pages), or call again shortly.",
                whole.len()
            )
        }
    };
    let mut content = vec![ContentBlock::text(note)];
    content.push(ContentBlock::text(match &shown {
        Value::String(text) if parsed.is_none() => text.clone(),
        other => other.to_string(),
    }));
    content.extend(notes.iter().map(|note| ContentBlock::text(*note)));
    if let Ok(Some(link)) = link {
        let resource = Resource::new(link.uri, format!("{tool} result"))
            .with_description(format!(
                "The whole result of {tool}, {} bytes in {} pages",
                link.size, link.pages
            ))
            .with_mime_type(link.media_type)
            .with_size(link.size as u64);
        content.push(ContentBlock::resource_link(resource));
    }
    let mut fitted = CallToolResult::success(content);
    fitted.structured_content = result.structured_content.as_ref().map(|_| shown);
    if !fits(&fitted, budget) {
        // A preview that still doesn't fit (deep nesting, long notes): its
        // shape in words instead, so no message ever passes the budget.
        let summary = parsed.as_ref().map(shape).unwrap_or_else(|| "text".to_string());
        fitted.content[1] = ContentBlock::text(format!("(too large to preview: {summary})"));
        fitted
            .content
            .retain(|c| c.as_text().is_none_or(|t| t.text.len() <= NOTE_BYTES * 4));
        fitted.structured_content = fitted.structured_content.map(|_| json!({}));
    }
    fitted
}

/// A result's binary content (an image, audio, an embedded blob) as base64
/// and its media type: what is linked over the budget, or read as a resource.
pub(crate) fn binary_content(result: &CallToolResult) -> Option<(String, String)> {
    result.content.iter().find_map(|c| match c {
        ContentBlock::Image(image) => Some((image.data.clone(), image.mime_type.clone())),
        ContentBlock::Audio(audio) => Some((audio.data.clone(), audio.mime_type.clone())),
        ContentBlock::Resource(embedded) => match &embedded.resource {
            ResourceContents::BlobResourceContents { blob, mime_type, .. } => Some((
                blob.clone(),
                mime_type.clone().unwrap_or_else(|| "application/octet-stream".into()),
            )),
            _ => None,
        },
        _ => None,
    })
}

/// A binary result (an image, audio, an embedded blob) over the budget: a
/// note and a `resource_link`; `resources/read` returns it as blobs.
async fn fit_binary(
    result: CallToolResult,
    budget: usize,
    store: &ResultStore,
    owner: &str,
    tool: &str,
) -> CallToolResult {
    let binary = binary_content(&result);
    let Some((data, media_type)) = binary else {
        return result;
    };
    let held = store
        .put_blob(owner, &media_type, data, budget.saturating_sub(READ_OVERHEAD + 2))
        .await;
    let note = match held {
        Ok(Some(link)) => {
            let note = format!(
                "This result is {} bytes of {media_type}, more than this connection passes in one message \
                 ({budget}). It is held for {} minutes as {} ({} page{} of base64): read it with \
                 resources/read, page n at {}/pages/n.",
                link.size,
                store.ttl().as_secs().div_ceil(60),
                link.uri,
                link.pages,
                if link.pages == 1 { "" } else { "s" },
                link.uri
            );
            let resource = Resource::new(link.uri, format!("{tool} result"))
                .with_mime_type(link.media_type)
                .with_size(link.size as u64);
            return CallToolResult::success(vec![ContentBlock::text(note), ContentBlock::resource_link(resource)]);
        }
        Ok(None) => format!(
            "This result is binary ({media_type}) and more than this connection passes in one message ({budget}) \
             and than this server holds; ask the API for a smaller one."
        ),
        Err(unheld) => {
            tracing::warn!(
                tool,
                "a binary result over the budget was not held: {}",
                unheld.detail()
            );
            format!(
                "This result is binary ({media_type}) and more than this connection passes in one message \
                 ({budget}); it could not be held for reading now (the server's result store is unavailable): \
                 call again shortly, or ask the API for a smaller one."
            )
        }
    };
    CallToolResult::success(vec![ContentBlock::text(note)])
}

/// Whether `result` goes out as it is: it fits a frame of `budget` bytes, or it is an error.
pub fn fits(result: &CallToolResult, budget: usize) -> bool {
    result.is_error == Some(true)
        || serde_json::to_vec(result)
            .map_or(usize::MAX, |v| v.len())
            .saturating_add(FRAME_OVERHEAD)
            <= budget
}

/// Where a preview left something out: the array at `path` shows its first
/// `kept` of `total` items, or the string there its first `kept` of `total` chars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    pub path: String,
    pub kept: usize,
    pub total: usize,
    pub what: &'static str,
}

/// A JSON value cut to about `budget` bytes, keeping its shape (so it still
/// conforms to the tool's loosened output schema): arrays keep their first
/// items, the largest getting the room the rest leave; long strings keep
/// their start. Returns the preview and what was cut: lists, then strings.
pub fn preview(value: &Value, budget: usize) -> (Value, Vec<Cut>) {
    let mut cuts = Vec::new();
    let shown = cut_to(value, budget, "$", &mut cuts);
    // Cut lists and maps first (what the model most needs to know about), each largest first.
    cuts.sort_by_key(|c| (c.what == "chars", std::cmp::Reverse(c.total - c.kept)));
    (shown, cuts)
}

fn cut_to(value: &Value, budget: usize, path: &str, cuts: &mut Vec<Cut>) -> Value {
    if serialized_len(value) <= budget {
        return value.clone();
    }
    match value {
        Value::Array(items) => {
            let mut kept = Vec::new();
            let mut used = 2;
            for (i, item) in items.iter().enumerate() {
                let len = serialized_len(item) + 1;
                if used + len > budget {
                    // An item too big alone is itself cut, so something shows.
                    if kept.is_empty() && budget > used + 16 {
                        kept.push(cut_to(item, budget - used, &format!("{path}[{i}]"), cuts));
                    }
                    break;
                }
                used += len;
                kept.push(item.clone());
            }
            cuts.push(Cut {
                path: path.to_string(),
                kept: kept.len(),
                total: items.len(),
                what: "items",
            });
            Value::Array(kept)
        }
        Value::Object(map) => {
            let mut shared = Vec::new();
            let kept = cut_members(map, budget, path, &mut shared);
            if serialized_len(&kept) <= budget {
                cuts.extend(shared);
                return kept;
            }
            // Too many members to show a part of each (a map of 1,900
            // emojis): the first ones whole, in the API's order.
            let mut out = Map::new();
            let mut used = 2;
            for (key, member) in map {
                let len = serialized_len(member) + key.len() + 4;
                if used + len > budget {
                    if out.is_empty() && budget > used + key.len() + 20 {
                        let room = budget - used - key.len() - 4;
                        out.insert(key.clone(), cut_to(member, room, &format!("{path}.{key}"), cuts));
                    }
                    break;
                }
                used += len;
                out.insert(key.clone(), member.clone());
            }
            cuts.push(Cut {
                path: path.to_string(),
                kept: out.len(),
                total: map.len(),
                what: "keys",
            });
            Value::Object(out)
        }
        Value::String(s) => {
            let mut end = budget.saturating_sub(2).min(s.len());
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            let kept = &s[..end];
            cuts.push(Cut {
                path: path.to_string(),
                kept: kept.chars().count(),
                total: s.chars().count(),
                what: "chars",
            });
            json!(kept)
        }
        other => other.clone(),
    }
}

/// `map` with each member cut to a share of `budget`: the small ones whole,
/// the largest with what is left.
fn cut_members(map: &Map<String, Value>, budget: usize, path: &str, cuts: &mut Vec<Cut>) -> Value {
    // Members in order of size: the small ones whole, the largest with what is left.
    let mut members: Vec<(&String, &Value, usize)> = map
        .iter()
        .map(|(k, v)| (k, v, serialized_len(v) + k.len() + 4))
        .collect();
    members.sort_by_key(|(_, _, len)| *len);
    let mut left = budget.saturating_sub(2);
    let mut out = Map::new();
    let count = members.len();
    for (i, (key, member, len)) in members.into_iter().enumerate() {
        // Each remaining member may take an equal share of what is left.
        let share = left / (count - i);
        let kept = if len <= share {
            member.clone()
        } else {
            cut_to(
                member,
                share.saturating_sub(key.len() + 4),
                &format!("{path}.{key}"),
                cuts,
            )
        };
        left = left.saturating_sub(serialized_len(&kept) + key.len() + 4);
        out.insert(key.clone(), kept);
    }
    // Back in the API's order.
    let ordered = map.keys().filter_map(|k| out.remove_entry(k)).collect();
    Value::Object(ordered)
}

/// What a value is, in a few words.
pub fn shape(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(_) => "<boolean>".into(),
        Value::Number(_) => "<number>".into(),
        Value::String(s) => format!("<string: {} chars>", s.chars().count()),
        Value::Array(items) => format!("<array: {} items>", items.len()),
        Value::Object(map) => format!("<object: {} keys>", map.len()),
    }
}

fn serialized_len(value: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::results::Missing;
    use crate::state::results::tests::in_memory;
    use std::time::Duration;

    fn store() -> ResultStore {
        in_memory(64 << 20, 1024, Duration::from_secs(60))
    }

    #[tokio::test]
    async fn a_result_over_the_budget_becomes_a_preview_and_a_link_to_all_of_it() {
        let store = store();
        let items: Vec<Value> = (0..5000)
            .map(|i| json!({"id": i, "title": format!("issue \"{i}\"")}))
            .collect();
        let whole = json!({"total_count": 5000, "items": items});
        let mut result = CallToolResult::success(vec![ContentBlock::text(whole.to_string())]);
        result.structured_content = Some(whole.clone());
        let budget = 60_000;
        let fitted = fit(result.clone(), budget, &store, "alice", "search_issues").await;
        let frame = serde_json::to_vec(&fitted).unwrap().len() + FRAME_OVERHEAD;
        assert!(frame <= budget, "{frame}");
        let note = fitted.content[0].as_text().unwrap().text.clone();
        assert!(note.contains("items of `$.items` are shown"), "{note}");
        let structured = fitted.structured_content.clone().unwrap();
        assert_eq!(structured["total_count"], 5000);
        assert_eq!(structured["items"][0], whole["items"][0]);
        let link = fitted
            .content
            .iter()
            .find_map(|c| match c {
                ContentBlock::ResourceLink(link) => Some(link.clone()),
                _ => None,
            })
            .unwrap();
        assert_eq!(link.mime_type.as_deref(), Some("application/json"));
        // Every page fits a resources/read answer; together they are the whole result.
        let mut joined = String::new();
        let mut uri = Some(link.uri.clone());
        while let Some(at) = uri {
            let page = store.read("alice", &at).await.unwrap();
            assert!(serde_json::to_string(&page.text).unwrap().len() + READ_OVERHEAD <= budget);
            joined.push_str(&page.text);
            uri = page.next;
        }
        assert_eq!(serde_json::from_str::<Value>(&joined).unwrap(), whole);
        assert_eq!(store.read("bob", &link.uri).await, Err(Missing::Gone));
        // What fits passes as it is; so do errors.
        assert_eq!(fit(result.clone(), usize::MAX, &store, "alice", "t").await, result);
        let mut error = result;
        error.is_error = Some(true);
        assert_eq!(fit(error.clone(), 100, &store, "alice", "t").await, error);
    }

    #[tokio::test]
    async fn a_map_too_wide_to_cut_member_by_member_shows_its_first_keys() {
        // GitHub's GET /emojis: 1,900 names, each with a long URL.
        let store = store();
        let map: Map<String, Value> = (0..1900)
            .map(|i| {
                (
                    format!("emoji_{i}"),
                    json!(format!(
                        "https://github.githubassets.com/images/icons/emoji/unicode/{i:x}.png?v8"
                    )),
                )
            })
            .collect();
        let whole = Value::Object(map);
        let mut result = CallToolResult::success(vec![ContentBlock::text(whole.to_string())]);
        result.structured_content = Some(whole.clone());
        let fitted = fit(result, 60_000, &store, "a", "emojis_get").await;
        let frame = serde_json::to_vec(&fitted).unwrap().len() + FRAME_OVERHEAD;
        assert!(frame <= 60_000, "{frame}");
        let note = fitted.content[0].as_text().unwrap().text.clone();
        assert!(note.contains("keys of `$` are shown"), "{note}");
        let shown = fitted.structured_content.unwrap();
        let shown = shown.as_object().unwrap();
        assert!(shown.len() > 50 && shown.len() < 1900, "{}", shown.len());
        // The first keys, whole, in the API's order.
        assert_eq!(shown.keys().next().unwrap(), "emoji_0");
        assert_eq!(shown["emoji_1"], whole["emoji_1"]);
    }

    #[tokio::test]
    async fn binary_results_over_the_budget_are_linked_and_read_back_as_decodable_blobs() {
        use base64::Engine as _;
        let store = store();
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let data = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let result = CallToolResult::success(vec![ContentBlock::image(data, "image/png")]);
        let fitted = fit(result, 20_000, &store, "a", "get_chart").await;
        assert!(serde_json::to_vec(&fitted).unwrap().len() < 2_000);
        let link = match &fitted.content[1] {
            ContentBlock::ResourceLink(link) => link.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            (link.size, link.mime_type.as_deref()),
            (Some(100_000), Some("image/png"))
        );
        let mut decoded = Vec::new();
        let mut uri = Some(link.uri);
        while let Some(at) = uri {
            let page = store.read("a", &at).await.unwrap();
            assert!(page.blob && page.text.len() + READ_OVERHEAD + 2 <= 20_000);
            decoded.extend(base64::engine::general_purpose::STANDARD.decode(&page.text).unwrap());
            uri = page.next;
        }
        assert_eq!(decoded, bytes);
    }

    #[tokio::test]
    async fn a_preview_keeps_the_shape_and_the_first_items_and_says_what_was_cut() {
        let items: Vec<Value> = (0..1000)
            .map(|i| json!({"id": i, "name": format!("item {i}")}))
            .collect();
        let value = json!({"total_count": 1000, "incomplete": false, "items": items, "note": "n".repeat(5000)});
        let (shown, cuts) = preview(&value, 2000);
        assert!(serialized_len(&shown) <= 2000, "{}", serialized_len(&shown));
        assert_eq!(shown["total_count"], 1000);
        assert_eq!(shown["incomplete"], false);
        let kept = shown["items"].as_array().unwrap().len();
        assert!(kept > 5 && kept < 1000, "{kept}");
        assert_eq!(shown["items"][0], json!({"id": 0, "name": "item 0"}));
        assert_eq!(
            cuts[0],
            Cut {
                path: "$.items".into(),
                kept,
                total: 1000,
                what: "items"
            }
        );
        assert!(
            cuts.iter()
                .any(|c| c.path == "$.note" && c.total == 5000 && c.what == "chars")
        );
        // The API's key order is kept; small values pass whole.
        let keys: Vec<&String> = shown.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["total_count", "incomplete", "items", "note"]);
        assert_eq!(preview(&json!({"a": 1}), 100), (json!({"a": 1}), vec![]));
        assert_eq!(shape(&json!("abc")), "<string: 3 chars>");
    }
}
