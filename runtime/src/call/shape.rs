//! What came back from the API, as the MCP result the model reads: JSON as
//! structured content (projected and redacted), other media as text,
//! resources or images, pages as one list, failures as structured errors.

use base64::Engine;
use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use serde_json::{Map, Value, json};

use super::pagination::{Failure, Fetched, Pages};
use super::{Tool, error_result, invalid};
use crate::observe::{Ended, Outcome};
use crate::redact::Redactor;
use crate::upstream::{ArgError, ErrorKind, Prepared, UpstreamError, UpstreamResponse};
use mcpgen_spec::projection::{Cuts, FIELDS_ARGUMENT, Projection};

/// How much of an error body the model sees.
const ERROR_BODY_EXCERPT: usize = 2048;
/// What came back, as the MCP result and the audit outcome.
pub(super) fn shape(
    tool: &Tool,
    prepared: &Prepared,
    fetched: Result<Fetched, Failure>,
    shaping: &Shaping,
    redactor: &Redactor,
) -> (CallToolResult, Outcome) {
    let label = redactor.redact(&prepared.label);
    match fetched {
        Ok(Fetched::Single(response)) => {
            let status = response.status.as_u16();
            let kind = if response.status.is_success() {
                Ended::Ok
            } else {
                Ended::UpstreamError
            };
            let attempts = response.attempts;
            (
                shape_response(&label, &prepared.url, response, shaping, redactor),
                Outcome {
                    kind,
                    status: Some(status),
                    attempts,
                },
            )
        }
        Ok(Fetched::Pages(pages)) => {
            let attempts = pages.attempts;
            (
                shape_pages(pages, shaping, redactor),
                Outcome {
                    kind: Ended::Ok,
                    status: Some(200),
                    attempts,
                },
            )
        }
        Err(Failure::Args(e)) => invalid(tool, vec![e.0], redactor),
        Err(Failure::Upstream(err)) => upstream_failure(tool, &label, &err, redactor),
    }
}

/// No response to pass on: a structured error saying whether retrying may help.
fn upstream_failure(tool: &Tool, label: &str, err: &UpstreamError, redactor: &Redactor) -> (CallToolResult, Outcome) {
    // Details were redacted where they arose (they reach the logs too); again here for this call's header values.
    let message = redactor.redact(&err.to_string());
    let kind = err.kind.as_str();
    // A request that was never sent may be sent again; one that timed out may have
    // taken effect, so only an idempotent one may.
    let idempotent = tool.spec.request.method.is_idempotent();
    let retryable = err.kind == ErrorKind::Connect || (err.kind == ErrorKind::Timeout && idempotent);
    let advice = match err.kind {
        ErrorKind::Auth => "The server's OAuth2 client credentials were refused; the user must check them.".to_string(),
        ErrorKind::Timeout if !idempotent => "The outcome is unknown: the API may have done it. \
            Check (for example by listing or reading the resource) before repeating it."
            .to_string(),
        ErrorKind::Invalid => "The arguments made a request that can't be sent; change them.".to_string(),
        _ if err.attempts > 1 => format!(
            "The API is temporarily unavailable (tried {} times); retrying later may help.",
            err.attempts
        ),
        _ if retryable => "The API is temporarily unavailable; retrying later may help.".to_string(),
        _ => "The request could not be completed.".to_string(),
    };
    let result = error_result(
        json!({"error": kind, "request": label, "message": message,
               "attempts": err.attempts, "retryable": retryable}),
        format!("{label} failed: {message}. {advice}"),
    );
    (
        result,
        Outcome {
            kind: err.kind.into(),
            status: None,
            attempts: err.attempts,
        },
    )
}

fn is_json(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|ct| ct.split(';').next())
        .map(|mt| {
            let mt = mt.trim().to_ascii_lowercase();
            mt == "application/json" || mt.ends_with("+json")
        })
        .unwrap_or(false)
}

/// A successful answer's projections: the tool's own (mcpgen.yaml), then the
/// fields the model asked for in the result's terms. Applied after redaction,
/// whose rules name the API's fields.
pub(super) struct Shaping<'t> {
    pub(super) configured: Option<&'t Projection>,
    pub(super) asked: Option<Projection>,
    /// The model's `fields` as given, for a job's final answer.
    pub(super) fields: Option<Vec<String>>,
}

impl<'t> Shaping<'t> {
    /// Takes the `fields` argument out of `args` (it is not the API's).
    pub(super) fn of(tool: &'t Tool, args: &mut Map<String, Value>) -> Result<Shaping<'t>, ArgError> {
        let takes_fields = tool.spec.response.is_some_and(|r| r.fields_argument);
        let fields = match takes_fields.then(|| args.remove(FIELDS_ARGUMENT)).flatten() {
            // The input schema made it an array of strings.
            Some(Value::Array(fields)) => Some(
                fields
                    .iter()
                    .filter_map(|f| f.as_str().map(str::to_string))
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        };
        let asked = fields
            .as_deref()
            .map(Projection::asked)
            .transpose()
            .map_err(|e| ArgError(format!("at /{FIELDS_ARGUMENT}: {e}")))?;
        Ok(Shaping {
            configured: tool.projection.as_ref(),
            asked,
            fields,
        })
    }

    /// `value` projected, and a note on lists cut.
    fn apply(&self, value: Value, cuts: &mut Cuts) -> Value {
        let value = match self.configured {
            Some(p) => p.apply_noting(&value, cuts),
            None => value,
        };
        match &self.asked {
            Some(p) => p.apply(&value),
            None => value,
        }
    }

    fn note(&self, cuts: &Cuts) -> Option<ContentBlock> {
        cuts.note(self.configured.and_then(|p| p.max_items))
            .map(ContentBlock::text)
    }
}

/// The collected items of a paginated call, and how to continue.
fn shape_pages(pages: Pages, shaping: &Shaping, redactor: &Redactor) -> CallToolResult {
    let mut value = pages.to_json();
    redactor.redact_json(&mut value);
    let mut cuts = Cuts::default();
    if let Some(Value::Array(items)) = value.get_mut("items") {
        for item in items.iter_mut() {
            *item = shaping.apply(std::mem::take(item), &mut cuts);
        }
    }
    let mut content = vec![ContentBlock::text(value.to_string())];
    content.extend(shaping.note(&cuts));
    if let Some(next) = value.get("next") {
        content.push(ContentBlock::text(format!(
            "{} items from {} pages; there are more: call again with {next} added to the arguments to continue.",
            pages.items.len(),
            pages.pages
        )));
    }
    let mut result = CallToolResult::success(content);
    result.structured_content = Some(value);
    result
}

/// A JSON body with the redaction rules applied; `None` when it isn't JSON.
fn redacted_json(body: &[u8], redactor: &Redactor) -> Option<Value> {
    let mut value: Value = serde_json::from_slice(body).ok()?;
    redactor.redact_json(&mut value);
    Some(value)
}

/// 2xx: JSON as `structuredContent` (non-objects wrapped as `{"result": ..}`, since
/// MCP requires an object) plus the same JSON as text; anything else as text.
/// Other statuses: an error result with status and a body excerpt.
// Long by design: one decision table from status and media type to result (JSON, text, binary, error); kept
// whole so every branch is seen against the others.
pub(super) fn shape_response(
    label: &str,
    url: &url::Url,
    response: UpstreamResponse,
    shaping: &Shaping,
    redactor: &Redactor,
) -> CallToolResult {
    let status = response.status;
    let json = is_json(response.content_type.as_deref());
    let mut parsed = (json && !response.truncated)
        .then(|| redacted_json(&response.body, redactor))
        .flatten();
    if status.is_success()
        && let Some(value) = parsed.take()
    {
        let mut cuts = Cuts::default();
        let value = shaping.apply(value, &mut cuts);
        let mut content = vec![ContentBlock::text(value.to_string())];
        content.extend(shaping.note(&cuts));
        let structured = match value {
            Value::Object(_) => value,
            other => json!({ "result": other }),
        };
        let mut result = CallToolResult::success(content);
        result.structured_content = Some(structured);
        return result;
    }
    let text = match &parsed {
        Some(value) => value.to_string(),
        // Redacted whole first, so a secret the size cap cut in two still goes.
        None if response.truncated => redactor.redact_cut(&String::from_utf8_lossy(&response.body)),
        None => redactor.redact(&String::from_utf8_lossy(&response.body)),
    };
    let truncation_note = response.truncated.then(|| {
        format!(
            "[response truncated: only the first {} bytes are shown; narrow the request (filters, smaller pages) for a complete answer]",
            response.body.len()
        )
    });
    let retried = (response.attempts > 1).then(|| format!(" (tried {} times)", response.attempts));

    if !status.is_success() {
        let excerpt: String = text.chars().take(ERROR_BODY_EXCERPT).collect();
        let cut = excerpt.len() < text.len() || response.truncated;
        let body = match &parsed {
            Some(value) if !cut => value.clone(),
            _ => Value::String(excerpt.clone()),
        };
        let reason = status.canonical_reason().unwrap_or("");
        let hint = match status.as_u16() {
            400 | 422 => "The API rejected the arguments; check them against the tool's description and retry.",
            401 | 403 => {
                "The API refused the server's credentials; the user must check the server's API key configuration."
            }
            404 => "The API found no such resource; check identifiers.",
            409 => "The request conflicts with the resource's current state.",
            429 => "The API is rate limiting; wait before calling again.",
            500..=599 => "The API is temporarily unavailable; retrying later may help.",
            _ => "The API did not accept the request.",
        };
        return error_result(
            json!({"error": "upstream_status", "request": label, "status": status.as_u16(),
                   "body": body, "body_truncated": cut, "attempts": response.attempts}),
            format!(
                "{label} returned {} {reason}{}. {hint}\n{excerpt}{}",
                status.as_u16(),
                retried.unwrap_or_default(),
                if cut { "…" } else { "" }
            ),
        );
    }

    if response.body.is_empty() {
        let reason = status.canonical_reason().unwrap_or("");
        let mut result = CallToolResult::success(vec![ContentBlock::text(format!(
            "{label} succeeded: {} {reason} (no content)",
            status.as_u16()
        ))]);
        result.structured_content = Some(json!({"status": status.as_u16()}));
        return result;
    }

    let media_type = essence(response.content_type.as_deref());
    let kind = BodyKind::of(&media_type, &response.body);
    if kind != BodyKind::Text && response.truncated {
        return CallToolResult::success(vec![ContentBlock::text(format!(
            "{label} returned more than {} bytes of {media_type}, more than this server passes on; nothing of it is shown.",
            response.body.len()
        ))]);
    }
    let encoded = || base64::engine::general_purpose::STANDARD.encode(&response.body);
    let content = match kind {
        BodyKind::Image => vec![ContentBlock::image(encoded(), media_type)],
        BodyKind::Audio => vec![ContentBlock::audio(encoded(), media_type)],
        BodyKind::Binary => {
            let mime_type = if media_type.is_empty() {
                "application/octet-stream".to_string()
            } else {
                media_type
            };
            // Its size, so a model knows what it has without decoding it.
            let mut meta = rmcp::model::MetaObject::new();
            meta.insert("size".into(), response.body.len().into());
            vec![ContentBlock::resource(ResourceContents::BlobResourceContents {
                uri: resource_uri(url, redactor),
                mime_type: Some(mime_type),
                blob: encoded(),
                meta: Some(meta),
            })]
        }
        BodyKind::Text => {
            let mut content = vec![ContentBlock::text(text)];
            content.extend(truncation_note.map(ContentBlock::text));
            content
        }
    };
    CallToolResult::success(content)
}

/// Names a binary response embedded as a resource: the request URL without
/// its query or credentials (either may hold secrets).
fn resource_uri(url: &url::Url, redactor: &Redactor) -> String {
    let mut url = url.clone();
    url.set_query(None);
    let _ = url.set_username("");
    let _ = url.set_password(None);
    redactor.redact(url.as_str())
}

/// The media type without parameters, lowercased (`""` when absent).
fn essence(content_type: Option<&str>) -> String {
    content_type
        .and_then(|ct| ct.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// How a successful non-JSON body reaches the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    Text,
    Image,
    Audio,
    /// Anything else: an embedded resource, base64.
    Binary,
}

impl BodyKind {
    fn of(media_type: &str, body: &[u8]) -> BodyKind {
        let textual = media_type.starts_with("text/")
            || ["json", "xml", "yaml", "javascript", "csv", "x-www-form-urlencoded"]
                .iter()
                .any(|t| media_type.ends_with(t) || media_type.ends_with(&format!("+{t}")));
        if media_type.starts_with("image/") {
            BodyKind::Image
        } else if media_type.starts_with("audio/") {
            BodyKind::Audio
        } else if textual || (media_type.is_empty() && std::str::from_utf8(body).is_ok()) {
            BodyKind::Text
        } else {
            BodyKind::Binary
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_kinds_follow_the_media_type() {
        assert_eq!(BodyKind::of("image/png", b"\x89PNG"), BodyKind::Image);
        assert_eq!(BodyKind::of("audio/wav", b"RIFF"), BodyKind::Audio);
        assert_eq!(BodyKind::of("application/pdf", b"%PDF"), BodyKind::Binary);
        assert_eq!(BodyKind::of("text/csv", b"a,b"), BodyKind::Text);
        assert_eq!(BodyKind::of("application/problem+xml", b"<a/>"), BodyKind::Text);
        assert_eq!(BodyKind::of("", b"plain words"), BodyKind::Text);
        assert_eq!(BodyKind::of("", b"\xff\xfe\x00"), BodyKind::Binary);
        assert_eq!(essence(Some("Text/HTML; charset=utf-8")), "text/html");
    }
}
