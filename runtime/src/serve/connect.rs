//! Per-user credentials at call time: before a call whose request may use a
//! per-user security scheme, the caller's own credentials are read from the
//! state store into its [`CallContext`]. When the request can't be sent
//! without one they haven't connected, the call is answered with MCP's
//! URL-elicitation-required error (-32042): a link to the connect page, made
//! for this person and these schemes, single-use and short-lived. The model
//! sees the link and a message, never a credential.

use std::sync::Arc;

use rmcp::model::{ContentBlock, ErrorCode, ErrorData};
use serde_json::json;
use url::Url;

use super::Server;
use crate::call::Answer;
use crate::config::Secret;
use crate::context::CallContext;
use crate::identity::connect::{LINK_LIFETIME_SECONDS, Link, Signer, now_seconds, random_token};
use crate::observe::Outcome;
use crate::spec::RequestSpec;
use crate::state::StoreError;
use crate::state::credentials::Credentials;

/// MCP 2025-11-25: the request needs the user to complete URL elicitations first.
pub const URL_ELICITATION_REQUIRED: ErrorCode = ErrorCode(-32042);

/// What connecting needs: where people's credentials are kept, the signer of
/// links, and the connect page's URL.
pub struct Connect {
    pub credentials: Credentials,
    pub signer: Arc<Signer>,
    /// `<origin>/connect`, from the OAuth audience (this server's public URL).
    pub page: Url,
}

impl Connect {
    /// The connect page's URL for `link`.
    pub fn link_url(&self, link: &Link) -> Url {
        let mut url = self.page.clone();
        url.query_pairs_mut()
            .append_pair("link", &self.signer.sign("link", link));
        url
    }
}

impl Server {
    /// The same server, connecting per-user credentials through `connect`
    /// (set once at start, before the server is shared).
    pub fn with_connect(mut self, connect: Option<Connect>) -> Server {
        Arc::get_mut(&mut self.inner)
            .expect("set before the server is shared")
            .connect = connect.map(Arc::new);
        self
    }

    pub fn spec(&self) -> &'static crate::spec::ServerSpec {
        self.spec
    }

    /// Per-user credentials and their links, when this server connects them.
    pub fn connect(&self) -> Option<&Arc<Connect>> {
        self.connect.as_ref()
    }

    /// After a call the API answered 401 while it carried the caller's own
    /// credentials: they are forgotten (revoked or mistyped at the API, they
    /// would fail every call), and the result says so; the next call asks
    /// for new ones.
    pub(super) async fn when_refused(&self, cx: &CallContext, outcome: &Outcome, answer: &mut Answer) {
        let (Some(connect), Some(person), Answer::Done(result)) = (&self.connect, cx.caller.person(), answer) else {
            return;
        };
        if outcome.status != Some(401) || cx.personal.is_empty() {
            return;
        }
        let mut forgotten = Vec::new();
        for (scheme, _) in &cx.personal {
            if connect.credentials.forget(&person, scheme).await.is_ok() {
                forgotten.push(*scheme);
            }
        }
        if forgotten.is_empty() {
            return;
        }
        tracing::info!(person = %person, schemes = ?forgotten, "the API refused a per-user credential: forgotten");
        result.content.push(ContentBlock::text(format!(
            "The API refused your connected credential ({}), so this server forgot it. Call the tool again to \
             connect a new one.",
            forgotten.join(", ")
        )));
    }

    /// `cx` with every credential the caller connected, for a follow-up
    /// request of a call (a job's poll or cancel): nothing is elicited there,
    /// and a store that doesn't answer leaves the request without them.
    pub(super) async fn with_connected(&self, cx: CallContext) -> CallContext {
        let (Some(connect), Some(person)) = (&self.connect, cx.caller.person()) else {
            return cx;
        };
        let schemes: Vec<&'static str> = self
            .spec
            .security_schemes
            .iter()
            .filter(|s| s.per_user)
            .map(|s| s.name)
            .collect();
        match connected(connect, &person, &schemes).await {
            Ok(personal) => cx.with_personal(personal),
            Err(_) => cx,
        }
    }

    /// `cx` with the caller's own credentials for the per-user schemes
    /// `recipe` may use; the URL-elicitation-required error when no
    /// security alternative can be sent without one they haven't connected.
    pub(super) async fn with_personal(&self, cx: CallContext, recipe: &RequestSpec) -> Result<CallContext, ErrorData> {
        let per_user: Vec<&'static str> = self
            .spec
            .security_schemes
            .iter()
            .filter(|s| s.per_user && recipe.security.iter().any(|alt| alt.contains(&s.name)))
            .map(|s| s.name)
            .collect();
        let (Some(connect), Some(person)) = (&self.connect, cx.caller.person()) else {
            return Ok(cx);
        };
        if per_user.is_empty() {
            return Ok(cx);
        }
        let personal = connected(connect, &person, &per_user).await.map_err(|e| {
            ErrorData::internal_error(
                format!("your connected credentials could not be read: {e}; retry shortly"),
                None,
            )
        })?;
        let cx = cx.with_personal(personal);
        if recipe.security.is_empty() || self.upstream.can_send(&cx, recipe) {
            return Ok(cx);
        }
        // The first alternative that needs only what the caller could connect.
        let missing: Vec<String> = recipe
            .security
            .iter()
            .find(|alt| alt.iter().any(|name| per_user.contains(name)))
            .into_iter()
            .flat_map(|alt| alt.iter())
            .filter(|name| per_user.contains(name) && cx.personal(name).is_none())
            .map(|name| name.to_string())
            .collect();
        let nonce = random_token().ok_or_else(|| ErrorData::internal_error("no randomness for a link", None))?;
        let link = Link {
            person,
            schemes: missing.clone(),
            nonce: nonce.clone(),
            expires: now_seconds() + LINK_LIFETIME_SECONDS,
        };
        let url = connect.link_url(&link);
        let message = format!(
            "This call to {} needs your own credential ({}), which you have not connected. Open the link to \
             connect it (it works once, within {} minutes, signed in as you are here), then call the tool again.",
            self.spec.title.unwrap_or(self.spec.name),
            missing.join(", "),
            LINK_LIFETIME_SECONDS / 60
        );
        let data = json!({"elicitations": [{
            "mode": "url",
            "elicitationId": nonce,
            "url": url.as_str(),
            "message": message,
        }]});
        Err(ErrorData::new(
            URL_ELICITATION_REQUIRED,
            format!("{message} {url}"),
            Some(data),
        ))
    }
}

/// `person`'s credentials for those of `schemes` they connected.
async fn connected(
    connect: &Connect,
    person: &str,
    schemes: &[&'static str],
) -> Result<Vec<(&'static str, Secret)>, StoreError> {
    let mut personal = Vec::new();
    for scheme in schemes {
        match connect.credentials.get(person, scheme).await {
            Ok(Some(secret)) => personal.push((*scheme, secret)),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e.detail(), "per-user credentials could not be read");
                return Err(e);
            }
        }
    }
    Ok(personal)
}
