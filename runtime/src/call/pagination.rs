//! Following an operation's pages within one tool call.
//!
//! Input: a tool with a `PaginationSpec`, its validated arguments, and the
//! upstream. Output: the first response as is when it can't be paged (an
//! error status, not JSON, no item list), else the items of every page
//! fetched until the API says there are no more or a bound is reached
//! (`max_pages`, `max_items`, the response byte cap, the call deadline), plus
//! `next`: the arguments to pass back to continue where this call stopped.

use std::time::Instant;

use serde_json::{Map, Value, json};

use crate::context::CallContext;
use crate::spec::{Location, PageKind, PaginationSpec, ToolSpec};
use crate::upstream::{ArgError, Prepared, Upstream, UpstreamError, UpstreamResponse, prepare};

pub enum Fetched {
    /// One response, shaped like an unpaginated call's.
    Single(UpstreamResponse),
    Pages(Pages),
}

pub struct Pages {
    pub items: Vec<Value>,
    pub pages: u32,
    /// Arguments that continue after the last item; `None`: nothing is left.
    pub next: Option<Map<String, Value>>,
    /// Why collection stopped while more pages exist.
    pub stopped: Option<String>,
    pub attempts: u32,
}

impl Pages {
    pub fn to_json(&self) -> Value {
        let mut out = json!({
            "items": self.items,
            "item_count": self.items.len(),
            "pages_fetched": self.pages,
            "complete": self.next.is_none(),
        });
        if let Some(next) = &self.next {
            out["next"] = Value::Object(next.clone());
        }
        if let Some(why) = &self.stopped {
            out["stopped"] = json!(why);
        }
        out
    }
}

pub enum Failure {
    Args(ArgError),
    Upstream(UpstreamError),
}

/// What paging needs to know about the tool: its table entry, how it pages,
/// and its input schema (to type the arguments of a `Link` header's next URL).
#[derive(Clone, Copy)]
pub struct PagedTool<'a> {
    pub spec: &'static ToolSpec,
    pub pages: &'static PaginationSpec,
    pub schema: &'a Map<String, Value>,
}

// Long by design: the page loop: request, redact, collect, and every way a page sequence stops, with the
// loop's counters shared by all of them.
pub async fn fetch(
    upstream: &Upstream,
    cx: &CallContext,
    tool: PagedTool<'_>,
    args: &Map<String, Value>,
    first: &Prepared,
) -> Result<Fetched, Failure> {
    let (recipe, spec) = (&tool.spec.request, tool.pages);
    let base = &upstream.config().base_url;
    let mut args = args.clone();
    let mut items: Vec<Value> = Vec::new();
    let mut bytes = 0usize;
    let mut attempts = 0;
    let mut pages = 0;
    loop {
        // The first page's request was built (and checked) by the caller.
        let next;
        let prepared = if pages == 0 {
            first
        } else {
            next = prepare(recipe, &args, base, upstream.redactor()).map_err(Failure::Args)?;
            &next
        };
        let sent = upstream.send(cx, recipe, prepared).await;
        let continuation = || Some(page_args(spec.kind, &args));
        let response = match sent {
            Err(e) if pages == 0 => return Err(Failure::Upstream(e)),
            Err(e) => {
                return Ok(stop(
                    items,
                    pages,
                    attempts,
                    continuation(),
                    format!("page {} failed: {e}", pages + 1),
                ));
            }
            Ok(r) => r,
        };
        attempts += response.attempts;
        let mut page = (response.status.is_success() && !response.truncated)
            .then(|| serde_json::from_slice::<Value>(&response.body).ok())
            .flatten();
        // Field rules name paths in the API's own response, so they apply per page.
        if let Some(page) = &mut page {
            upstream.redactor().apply_field_rules(page);
        }
        let Some(page) = page.filter(|p| items_of(p, spec.items).is_some()) else {
            if pages == 0 {
                return Ok(Fetched::Single(response));
            }
            let why = format!(
                "page {} returned status {} or no item list",
                pages + 1,
                response.status.as_u16()
            );
            return Ok(stop(items, pages, attempts, continuation(), why));
        };
        pages += 1;
        bytes += response.body.len();
        let page_items = items_of(&page, spec.items).expect("checked above");
        let count = page_items.len();
        let next = next_args(spec.kind, tool, &args, &page, page_items, &response);
        items.extend(page_items.iter().cloned());

        let Some(next) = next.filter(|_| count > 0) else {
            return Ok(Fetched::Pages(Pages {
                items,
                pages,
                next: None,
                stopped: None,
                attempts,
            }));
        };
        cx.page(|| {
            format!(
                "{}: page {pages} of at most {}, {} items so far",
                prepared.label,
                spec.max_pages,
                items.len()
            )
        })
        .await;
        let mut following = args.clone();
        following.extend(next.clone());
        let bound = if following == args {
            Some("the API returned the same page position again".to_string())
        } else if pages >= spec.max_pages {
            Some(format!("reached max_pages ({})", spec.max_pages))
        } else if items.len() >= spec.max_items as usize {
            Some(format!("reached max_items ({})", spec.max_items))
        } else if bytes >= cx.policy.max_response_bytes {
            Some(format!(
                "reached the response size cap ({} bytes)",
                cx.policy.max_response_bytes
            ))
        } else if Instant::now() >= cx.deadline {
            Some("reached the call's deadline".to_string())
        } else {
            None
        };
        if let Some(why) = bound {
            return Ok(stop(items, pages, attempts, Some(next), why));
        }
        args = following;
    }
}

fn stop(items: Vec<Value>, pages: u32, attempts: u32, next: Option<Map<String, Value>>, why: String) -> Fetched {
    Fetched::Pages(Pages {
        items,
        pages,
        next,
        stopped: Some(why),
        attempts,
    })
}

/// The page position in `args`, to resume from the page that failed.
fn page_args(kind: PageKind, args: &Map<String, Value>) -> Map<String, Value> {
    let names: Vec<&str> = match kind {
        PageKind::Cursor { param, .. } | PageKind::AfterLastItem { param, .. } => vec![param],
        PageKind::Offset { param, size } | PageKind::Page { param, size, .. } => {
            std::iter::once(param).chain(size).collect()
        }
        PageKind::Link => args.keys().map(String::as_str).collect(),
    };
    names
        .into_iter()
        .filter_map(|n| args.get(n).map(|v| (n.to_string(), v.clone())))
        .collect()
}

/// The value at a dotted path; `""` is the value itself.
pub fn at<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    if path.is_empty() {
        return Some(value);
    }
    path.split('.').try_fold(value, |v, key| v.get(key))
}

fn items_of<'v>(page: &'v Value, path: &str) -> Option<&'v Vec<Value>> {
    at(page, path)?.as_array()
}

/// The arguments for the page after `page`; `None` when it was the last.
fn next_args(
    kind: PageKind,
    tool: PagedTool<'_>,
    args: &Map<String, Value>,
    page: &Value,
    items: &[Value],
    response: &UpstreamResponse,
) -> Option<Map<String, Value>> {
    let one = |name: &str, value: Value| Some(Map::from_iter([(name.to_string(), value)]));
    // The model's value, else the one mcpgen.yaml fixes or defaults.
    let number = |name: &str| {
        args.get(name).and_then(Value::as_u64).or_else(|| {
            let param = tool.spec.request.params.iter().find(|p| p.arg == name)?;
            serde_json::from_str::<Value>(param.fixed.or(param.default)?)
                .ok()?
                .as_u64()
        })
    };
    match kind {
        PageKind::Cursor { param, next } => match at(page, next)? {
            Value::String(s) if !s.is_empty() => one(param, json!(s)),
            Value::Number(n) => one(param, json!(n)),
            _ => None,
        },
        PageKind::AfterLastItem { param, id, has_more } => {
            if at(page, has_more)?.as_bool() != Some(true) {
                return None;
            }
            one(param, items.last()?.get(id)?.clone())
        }
        PageKind::Offset { param, size } => {
            if size.and_then(number).is_some_and(|size| (items.len() as u64) < size) {
                return None;
            }
            one(param, json!(number(param).unwrap_or(0) + items.len() as u64))
        }
        PageKind::Page { param, size, first } => {
            if size.and_then(number).is_some_and(|size| (items.len() as u64) < size) {
                return None;
            }
            one(param, json!(number(param).unwrap_or(first as u64) + 1))
        }
        PageKind::Link => {
            let next = next_link(response)?;
            let mut out = Map::new();
            for (key, value) in next.query_pairs() {
                let Some(param) = tool
                    .spec
                    .request
                    .params
                    .iter()
                    .find(|p| p.location == Location::Query && p.name == key && p.fixed.is_none())
                else {
                    continue;
                };
                out.insert(param.arg.to_string(), typed(tool, param.arg, &value));
            }
            (!out.is_empty()).then_some(out)
        }
    }
}

/// A query value as the argument's schema type, so the model can pass it back.
fn typed(tool: PagedTool<'_>, arg: &str, text: &str) -> Value {
    let kind = tool
        .schema
        .get("properties")
        .and_then(|p| p.get(arg))
        .and_then(|s| s.get("type"))
        .and_then(Value::as_str);
    match kind {
        Some("integer") => text.parse::<i64>().map(Value::from).unwrap_or_else(|_| json!(text)),
        Some("number") => text
            .parse::<f64>()
            .ok()
            .and_then(|n| serde_json::Number::from_f64(n).map(Value::Number))
            .unwrap_or_else(|| json!(text)),
        _ => json!(text),
    }
}

/// The `rel="next"` target of RFC 8288 `Link` headers, resolved against the request.
fn next_link(response: &UpstreamResponse) -> Option<url::Url> {
    for value in response.headers.get_all(reqwest::header::LINK) {
        let text = value.to_str().ok()?;
        for link in text.split(',') {
            let mut parts = link.split(';');
            let target = parts.next()?.trim();
            let target = target.strip_prefix('<')?.strip_suffix('>')?;
            let is_next = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("rel=")
                    .map(|rel| {
                        rel.trim_matches('"')
                            .split_whitespace()
                            .any(|r| r.eq_ignore_ascii_case("next"))
                    })
                    .unwrap_or(false)
            });
            if is_next {
                return url::Url::parse(target).ok();
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_yield_the_next_target() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::LINK,
            r#"<https://api.x/items?page=1>; rel="prev", <https://api.x/items?page=3&per_page=2>; rel="next""#
                .parse()
                .unwrap(),
        );
        let response = UpstreamResponse {
            status: reqwest::StatusCode::OK,
            content_type: None,
            headers,
            body: Vec::new(),
            truncated: false,
            elapsed: Default::default(),
            attempts: 1,
        };
        assert_eq!(
            next_link(&response).unwrap().as_str(),
            "https://api.x/items?page=3&per_page=2"
        );
    }

    #[test]
    fn dotted_paths_reach_nested_fields() {
        let page = json!({"meta": {"next": "c2"}, "data": [1, 2]});
        assert_eq!(at(&page, "meta.next"), Some(&json!("c2")));
        assert_eq!(items_of(&page, "data").map(Vec::len), Some(2));
        assert_eq!(items_of(&json!([1]), "").map(Vec::len), Some(1));
        assert!(at(&page, "meta.missing").is_none());
    }
}
