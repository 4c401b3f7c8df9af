//! `tools/list` and stateless `tools/call` answered here, without rmcp's
//! per-request service (a task, channels and a cancellation tree per request:
//! a third of a call's CPU); anything else goes on to rmcp.

use super::*;

/// What `check_body` needs to answer `tools/list` and `tools/call` itself,
/// without rmcp's per-request service (a task, channels and a cancellation
/// tree per request: a third of a call's CPU). Anything it doesn't answer
/// goes on to rmcp, which has the last word on the protocol.
pub(super) struct Direct {
    pub(super) servers: HashMap<String, Server>,
    pub(super) same_site: Arc<SameSite>,
}

impl Direct {
    /// The server of the request's path, once the request passed the checks
    /// rmcp would make first (media types, Host, Origin); `Ok(None)` leaves
    /// the request to rmcp.
    pub(super) fn server(&self, parts: &axum::http::request::Parts) -> Result<Option<&Server>, Forbidden> {
        let Some(server) = self.servers.get(parts.uri.path()) else {
            return Ok(None);
        };
        if !rmcp_accepts_media_types(&parts.headers) {
            return Ok(None);
        }
        if !self.same_site.allows(&parts.headers) {
            return Err(Forbidden);
        }
        Ok(Some(server))
    }

    /// The protocol version of the request's transport (its HTTP header),
    /// `Err` when rmcp must answer (a version it refuses, with its reason).
    pub(super) fn header_version(parts: &axum::http::request::Parts) -> Result<Option<&str>, ()> {
        match parts.headers.get("mcp-protocol-version").map(|v| v.to_str()) {
            None => Ok(None),
            Some(Ok(v)) if surface::is_known_version(v) => Ok(Some(v)),
            Some(_) => Err(()),
        }
    }

    /// The answer to a `tools/list` request; `None` leaves it to rmcp.
    pub(super) fn list(&self, parts: &axum::http::request::Parts, body: &[u8]) -> Option<Response> {
        let header = Self::header_version(parts).ok()?;
        let request = ListRequest::parse(body)?;
        let version = request.version(header)?;
        let server = match self.server(parts) {
            Ok(server) => server?,
            Err(Forbidden) => return Some(forbidden()),
        };
        let answer = match parts.extensions.get::<Caller>() {
            Some(caller) if caller.access().is_some() => {
                surface::answer(server.for_caller(caller).view(), &request, version)
            }
            _ => surface::answer(server.view(), &request, version),
        };
        Some(json_response(answer))
    }

    /// The answer to a `tools/call` request of a protocol version before
    /// 2026-07-28 with no progress token (nothing to stream); `None` leaves
    /// it to rmcp, which also checks 2026-07-28's standard headers.
    pub(super) async fn call(&self, parts: &axum::http::request::Parts, body: &[u8]) -> Option<Response> {
        let header = Self::header_version(parts).ok()?;
        if surface::is_2026_07_28_or_later(header) {
            return None;
        }
        let request = CallRequest::parse(body)?;
        let server = match self.server(parts) {
            Ok(server) => server?,
            Err(Forbidden) => return Some(forbidden()),
        };
        let id = request.id.to_string();
        // Its scopes choose what it may call; its results and jobs are its own.
        let owned = parts.extensions.get::<Caller>().map(|caller| server.for_caller(caller));
        let server = owned.as_ref().unwrap_or(server);
        let answer = match server.call_direct(&request.name, request.arguments).await {
            Ok(result) => {
                // Only 2026-07-28 results carry `resultType`; this path serves older versions.
                let mut result = rmcp::model::ServerResult::from(result);
                result.strip_result_type_for_legacy_peer();
                serde_json::to_vec(&result).map(|result| ("result", result))
            }
            Err(error) => serde_json::to_vec(&error).map(|error| ("error", error)),
        };
        let (key, value) = match answer {
            Ok(answer) => answer,
            Err(e) => (
                "error",
                serde_json::to_vec(&ErrorData::internal_error(e.to_string(), None)).ok()?,
            ),
        };
        Some(json_response([
            Bytes::from(format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"{key}\":")),
            Bytes::from(value),
            Bytes::from_static(b"}"),
        ]))
    }
}

/// A Host or Origin this server doesn't serve (answered 403).
pub(super) struct Forbidden;

/// A JSON response whose body is the concatenation of `parts` (a shared
/// page of a list is sent without a copy).
pub(super) fn json_response(parts: [Bytes; 3]) -> Response {
    let body = futures_util::stream::iter(parts.into_iter().map(Ok::<_, std::convert::Infallible>));
    let headers = [(header::CONTENT_TYPE, "application/json")];
    (StatusCode::OK, headers, axum::body::Body::from_stream(body)).into_response()
}

/// rmcp answers 406 to a POST that doesn't accept both JSON and event
/// streams, and 415 to a body that isn't declared JSON: requests answered
/// here must pass the same checks, so they are left to rmcp to refuse.
pub(super) fn rmcp_accepts_media_types(headers: &axum::http::HeaderMap) -> bool {
    let (mut json, mut sse) = (false, false);
    for value in headers.get_all(header::ACCEPT) {
        for essence in value.to_str().unwrap_or("").split(',') {
            let essence = essence.split(';').next().unwrap_or("").trim();
            json |= essence.eq_ignore_ascii_case("application/json");
            sse |= essence.eq_ignore_ascii_case("text/event-stream");
        }
    }
    let content_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        });
    json && sse && content_json
}

/// A JSON-RPC `tools/call` request answered without rmcp.
pub(super) struct CallRequest {
    pub(super) id: serde_json::Value,
    pub(super) name: String,
    pub(super) arguments: Option<rmcp::model::JsonObject>,
}

impl CallRequest {
    /// `Some` for a well-formed `tools/call` request whose `_meta` asks for
    /// nothing but the result (no progress token, no protocol version of its
    /// own); rmcp answers anything else, malformed requests included.
    pub(super) fn parse(message: &[u8]) -> Option<CallRequest> {
        #[derive(serde::Deserialize)]
        struct Message {
            jsonrpc: String,
            method: String,
            id: serde_json::Value,
            params: Params,
        }
        #[derive(serde::Deserialize)]
        struct Params {
            name: String,
            arguments: Option<rmcp::model::JsonObject>,
            #[serde(rename = "_meta")]
            meta: Option<rmcp::model::JsonObject>,
        }
        let message: Message = serde_json::from_slice(message).ok()?;
        let plain_meta = message
            .params
            .meta
            .as_ref()
            .is_none_or(|meta| !meta.contains_key("progressToken") && !meta.contains_key(surface::META_VERSION));
        let valid_id = message.id.is_string() || message.id.is_i64() || message.id.is_u64();
        (message.jsonrpc == "2.0" && message.method == "tools/call" && valid_id && plain_meta).then_some(CallRequest {
            id: message.id,
            name: message.params.name,
            arguments: message.params.arguments,
        })
    }
}
