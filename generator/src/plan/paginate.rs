//! How a tool follows its operation's pages: declared under `tools.<id>.pagination`
//! in mcpgen.yaml, or detected from common parameter, response field and
//! header names. The decision and its reason are part of the plan, so
//! `mcpgen list` shows them.
//!
//! Detection needs an item list in the 2xx JSON response (the body itself,
//! or an array field such as `data` or `items`) and, in order of preference:
//! a declared `Link` response header (RFC 8288); a cursor query parameter and
//! a next-cursor response field; Stripe's `starting_after` with `has_more`;
//! an offset parameter; a page-number parameter.

use serde::Serialize;

use super::rust;
use crate::diag::Diagnostic;
use crate::ir::{Location, Operation, Response};
use crate::plan::ParamPlan;
use crate::select::PageBounds;
use crate::select::config::{PageStyle, PaginationOverride};
use mcpgen_spec::PageKind;

#[derive(Debug, Clone, Serialize)]
pub struct PaginationPlan {
    /// The scheme and its arguments (the runtime's own type).
    #[serde(serialize_with = "rust::expr")]
    pub kind: PageKind<String>,
    pub items: String,
    pub max_pages: u32,
    pub max_items: u32,
    /// Detected (not declared in mcpgen.yaml).
    pub detected: bool,
    /// One line for `mcpgen list` and the tool description.
    pub summary: String,
}

const ITEM_FIELDS: &[&str] = &[
    "items", "data", "results", "entries", "records", "values", "nodes", "list", "elements", "objects",
];
const CURSOR_PARAMS: &[&str] = &[
    "cursor",
    "page_token",
    "pageToken",
    "next_token",
    "nextToken",
    "continuation_token",
    "continuationToken",
    "page_cursor",
    "after",
    "marker",
];
const CURSOR_FIELDS: &[&str] = &[
    "next_cursor",
    "nextCursor",
    "next_page_token",
    "nextPageToken",
    "next_token",
    "nextToken",
    "continuation_token",
    "continuationToken",
    "end_cursor",
    "endCursor",
    "next_marker",
    "nextMarker",
    "cursor",
    "next",
];
const OFFSET_PARAMS: &[&str] = &["offset", "skip", "start", "startIndex", "start_index"];
const PAGE_PARAMS: &[&str] = &["page", "page_number", "pageNumber", "pageNo", "page_no"];
const SIZE_PARAMS: &[&str] = &[
    "limit",
    "per_page",
    "perPage",
    "page_size",
    "pageSize",
    "count",
    "max_results",
    "maxResults",
    "size",
    "top",
    "$top",
];

/// The plan for one operation; `custom` is its `pagination:` entry and where
/// it is (file, line, column) for diagnostics.
pub fn plan(
    op: &Operation,
    params: &[ParamPlan],
    custom: Option<(&PaginationOverride, (&str, u64, u64))>,
    bounds: PageBounds,
) -> Result<Option<PaginationPlan>, Box<Diagnostic>> {
    match custom {
        Some((custom, at)) => declared(op, params, custom, at, bounds),
        None if bounds.detect => Ok(detect(op, params, bounds)),
        None => Ok(None),
    }
}

/// Query parameters the model (not mcpgen.yaml) sets, by wire name.
fn free_query<'p>(params: &'p [ParamPlan], name: &str) -> Option<&'p ParamPlan> {
    params
        .iter()
        .find(|p| p.location == Location::Query && p.name == name && p.fixed.is_none())
}

fn first_of<'p>(params: &'p [ParamPlan], names: &[&str]) -> Option<&'p ParamPlan> {
    names.iter().find_map(|n| free_query(params, n))
}

/// The page-size parameter; it may be fixed in mcpgen.yaml (the runtime reads the fixed value).
fn size_param(params: &[ParamPlan]) -> Option<String> {
    SIZE_PARAMS.iter().find_map(|n| {
        params
            .iter()
            .find(|p| p.location == Location::Query && p.name == *n)
            .map(|p| p.arg.clone())
    })
}

/// Where the items are: the body itself, or a well-known (or the only) array field.
fn items_path(response: &Response) -> Option<String> {
    if response.kind_of("") == Some("array") {
        return Some(String::new());
    }
    let arrays: Vec<&str> = response
        .fields
        .iter()
        .filter(|(path, kind)| kind == "array" && !path.is_empty() && !path.contains('.'))
        .map(|(path, _)| path.as_str())
        .collect();
    ITEM_FIELDS
        .iter()
        .find(|f| arrays.contains(f))
        .map(|f| f.to_string())
        .or_else(|| (arrays.len() == 1).then(|| arrays[0].to_string()))
}

fn detect(op: &Operation, params: &[ParamPlan], bounds: PageBounds) -> Option<PaginationPlan> {
    // Only reads page: a POST "search" may page too, but repeating it must be declared.
    if op.method != crate::ir::Method::Get {
        return None;
    }
    let response = op.response.as_ref()?;
    let items = items_path(response)?;
    let has_query = params
        .iter()
        .any(|p| p.location == Location::Query && p.fixed.is_none());
    let base = |kind| PaginationPlan {
        kind,
        items: items.clone(),
        max_pages: bounds.max_pages,
        max_items: bounds.max_items,
        detected: true,
        summary: String::new(),
    };
    let mut plan = if response.headers.iter().any(|h| h == "link") && has_query {
        base(PageKind::Link)
    } else if let (Some(param), Some(next)) = (
        first_of(params, CURSOR_PARAMS),
        CURSOR_FIELDS.iter().find_map(|name| {
            response
                .fields
                .iter()
                .find(|(path, kind)| path.rsplit('.').next() == Some(name) && kind == "string")
                .map(|(path, _)| path.clone())
        }),
    ) {
        base(PageKind::Cursor {
            param: param.arg.clone(),
            next,
        })
    } else if let (Some(param), Some("boolean")) = (free_query(params, "starting_after"), response.kind_of("has_more"))
    {
        base(PageKind::AfterLastItem {
            param: param.arg.clone(),
            id: "id".to_string(),
            has_more: "has_more".to_string(),
        })
    } else if let Some(param) = first_of(params, OFFSET_PARAMS) {
        base(PageKind::Offset {
            param: param.arg.clone(),
            size: size_param(params),
        })
    } else if let Some(param) = first_of(params, PAGE_PARAMS) {
        let first = op
            .params
            .iter()
            .find(|p| p.name == param.name && p.location == Location::Query)
            .and_then(|p| p.schema.get("minimum").and_then(serde_json::Value::as_u64))
            .map_or(1, |min| min.min(1) as u32);
        base(PageKind::Page {
            param: param.arg.clone(),
            size: size_param(params),
            first,
        })
    } else {
        return None;
    };
    plan.summary = summary(&plan);
    Some(plan)
}

fn declared(
    op: &Operation,
    params: &[ParamPlan],
    custom: &PaginationOverride,
    (file, line, col): (&str, u64, u64),
    bounds: PageBounds,
) -> Result<Option<PaginationPlan>, Box<Diagnostic>> {
    let problem = |message: String| Box::new(Diagnostic::new(file, message).line_col(line, col));
    let style = match custom.style {
        PageStyle::None => return Ok(None),
        PageStyle::Cursor => "cursor",
        PageStyle::AfterLastItem => "after_last_item",
        PageStyle::Offset => "offset",
        PageStyle::Page => "page",
        PageStyle::Link => "link",
    };
    let arg = |wire: &Option<String>, key: &str, required: bool| -> Result<Option<String>, Box<Diagnostic>> {
        // The page size may be fixed in mcpgen.yaml; the position must move.
        let find = |wire: &str| match key {
            "size" => params.iter().find(|p| p.location == Location::Query && p.name == wire),
            _ => free_query(params, wire),
        };
        match wire {
            None if required => Err(problem(format!("pagination: style `{style}` needs `{key}`"))),
            None => Ok(None),
            Some(wire) => match find(wire) {
                Some(p) => Ok(Some(p.arg.clone())),
                None => {
                    let known: Vec<&str> = params
                        .iter()
                        .filter(|p| p.location == Location::Query && p.fixed.is_none())
                        .map(|p| p.name.as_str())
                        .collect();
                    let mut d = problem(format!(
                        "pagination.{key}: `{wire}` is not a query parameter the model sets"
                    ));
                    d.help = Some(match crate::diag::did_you_mean(wire, known.iter().copied()) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => format!("the operation's query parameters: {}", known.join(", ")),
                    });
                    Err(d)
                }
            },
        }
    };
    let needs_param = custom.style != PageStyle::Link;
    let items = match (&custom.items, op.response.as_ref().and_then(items_path)) {
        (Some(items), _) => items.trim_start_matches("$.").trim_start_matches('$').to_string(),
        (None, Some(found)) => found,
        (None, None) => {
            return Err(problem(
                "pagination: the response has no item list mcpgen can find; say where it is with `items`".to_string(),
            ));
        }
    };
    let next = match (custom.style, &custom.next) {
        (PageStyle::Cursor, None) => {
            return Err(problem(
                "pagination: style `cursor` needs `next`: the response field with the next cursor".to_string(),
            ));
        }
        (_, next) => next.clone().unwrap_or_default(),
    };
    // Required for every style but `link`, so present where used.
    let param = arg(&custom.param, "param", needs_param)?.unwrap_or_default();
    let size = arg(&custom.size, "size", false)?;
    let kind = match custom.style {
        PageStyle::Cursor => PageKind::Cursor { param, next },
        PageStyle::AfterLastItem => PageKind::AfterLastItem {
            param,
            id: custom.id.clone().unwrap_or_else(|| "id".to_string()),
            has_more: custom.has_more.clone().unwrap_or_else(|| "has_more".to_string()),
        },
        PageStyle::Offset => PageKind::Offset { param, size },
        PageStyle::Page => PageKind::Page {
            param,
            size,
            first: custom.first.unwrap_or(1),
        },
        PageStyle::Link | PageStyle::None => PageKind::Link,
    };
    let mut plan = PaginationPlan {
        kind,
        items,
        max_pages: custom.max_pages.unwrap_or(bounds.max_pages).max(1),
        max_items: custom.max_items.unwrap_or(bounds.max_items).max(1),
        detected: false,
        summary: String::new(),
    };
    plan.summary = summary(&plan);
    Ok(Some(plan))
}

/// The schema of one item of the list at `items` (a dotted path) in a page's schema.
pub fn items_schema(page: &serde_json::Value, items: &str) -> Option<serde_json::Value> {
    let list = if items.is_empty() {
        page
    } else {
        items
            .split('.')
            .try_fold(page, |schema, key| schema.get("properties")?.get(key))?
    };
    Some(list.get("items").cloned().unwrap_or_else(|| serde_json::json!({})))
}

fn summary(plan: &PaginationPlan) -> String {
    let how = match &plan.kind {
        PageKind::Cursor { param, next } => format!("cursor `{param}` from `{next}`"),
        PageKind::AfterLastItem { param, id, has_more } => format!("`{param}` = last item's `{id}` while `{has_more}`"),
        PageKind::Offset { param, .. } => format!("offset `{param}`"),
        PageKind::Page { param, .. } => format!("page `{param}`"),
        PageKind::Link => "Link header".to_string(),
    };
    let items = if plan.items.is_empty() {
        "the response".to_string()
    } else {
        format!("`{}`", plan.items)
    };
    format!(
        "{how}; items in {items}; up to {} pages / {} items",
        plan.max_pages, plan.max_items
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Method, Style};

    fn param(name: &str) -> ParamPlan {
        ParamPlan {
            arg: name.to_string(),
            name: name.to_string(),
            location: Location::Query,
            style: Style::Form,
            explode: true,
            fixed: None,
            default: None,
        }
    }

    fn op(fields: &[(&str, &str)], headers: &[&str]) -> Operation {
        Operation {
            key: "list".into(),
            operation_id: Some("list".into()),
            method: Method::Get,
            path: "/things".into(),
            server: None,
            pointer: String::new(),
            summary: None,
            description: None,
            tags: vec![],
            deprecated: false,
            params: vec![],
            body: None,
            response: Some(Response {
                code: "200".to_string(),
                media_type: None,
                accepted: false,
                fields: fields.iter().map(|(p, k)| (p.to_string(), k.to_string())).collect(),
                headers: headers.iter().map(|h| h.to_string()).collect(),
                schema: None,
            }),
            security: vec![],
            security_pointer: String::new(),
            problems: vec![],
        }
    }

    const BOUNDS: PageBounds = PageBounds {
        max_pages: 5,
        max_items: 500,
        detect: true,
    };

    #[test]
    fn detects_each_common_scheme() {
        let slack = op(
            &[
                ("", "object"),
                ("members", "array"),
                ("response_metadata", "object"),
                ("response_metadata.next_cursor", "string"),
            ],
            &[],
        );
        let p = detect(&slack, &[param("cursor"), param("limit")], BOUNDS).unwrap();
        let cursor = PageKind::Cursor {
            param: "cursor".to_string(),
            next: "response_metadata.next_cursor".to_string(),
        };
        assert_eq!((p.kind, p.items.as_str()), (cursor, "members"));

        let stripe = op(
            &[
                ("", "object"),
                ("data", "array"),
                ("has_more", "boolean"),
                ("url", "string"),
            ],
            &[],
        );
        let p = detect(&stripe, &[param("limit"), param("starting_after")], BOUNDS).unwrap();
        let after = PageKind::AfterLastItem {
            param: "starting_after".to_string(),
            id: "id".to_string(),
            has_more: "has_more".to_string(),
        };
        assert_eq!(p.kind, after);

        let github = op(&[("", "array")], &["link"]);
        let p = detect(&github, &[param("per_page"), param("page")], BOUNDS).unwrap();
        assert_eq!((p.kind, p.items.as_str()), (PageKind::Link, ""));

        let offset = op(&[("", "object"), ("results", "array"), ("count", "integer")], &[]);
        let p = detect(&offset, &[param("offset"), param("limit")], BOUNDS).unwrap();
        let offset = PageKind::Offset {
            param: "offset".to_string(),
            size: Some("limit".to_string()),
        };
        assert_eq!(p.kind, offset);

        let page = op(&[("", "array")], &[]);
        let p = detect(&page, &[param("page"), param("per_page")], BOUNDS).unwrap();
        let page = PageKind::Page {
            param: "page".to_string(),
            size: Some("per_page".to_string()),
            first: 1,
        };
        assert_eq!(p.kind, page);
    }

    #[test]
    fn no_item_list_or_no_position_means_no_pagination() {
        let single = op(&[("", "object"), ("id", "integer")], &[]);
        assert!(detect(&single, &[param("page")], BOUNDS).is_none());
        let list = op(&[("", "array")], &[]);
        assert!(detect(&list, &[param("status")], BOUNDS).is_none());
        // A page parameter fixed in mcpgen.yaml can't move.
        let mut fixed = param("page");
        fixed.fixed = Some("1".into());
        assert!(detect(&list, &[fixed], BOUNDS).is_none());
    }
}
