//! The connect page: where a person connects their own credential for a
//! per-user security scheme, from the link a tool call answered with, and
//! forgets it. Plain HTML forms, no script, readable by screen readers.
//!
//! 1. `GET /connect?link=…` checks the link (signed, unexpired) and sends
//!    the browser to sign in at the issuer (authorization code with PKCE,
//!    this server's own client), with the sign-in's state, PKCE verifier and
//!    the link in a signed, `HttpOnly` cookie for `/connect` only.
//!    Without a link it signs the person in to manage what they connected.
//! 2. `GET /connect/callback` redeems the code, verifies the token as any
//!    caller's and requires its subject to be the link's: someone else who
//!    got hold of the link can't attach a credential to another account.
//!    It answers the form, with a signed token that is its only CSRF key.
//! 3. `POST /connect` checks that token, spends the link's nonce (single use
//!    across replicas) and keeps the credential, sealed, in the state store.
//!    `POST /connect/forget` forgets one.
//!
//! Every page is `no-store`, sends no referrer (the link is in the URL) and
//! may not be framed. No credential is ever written into a page or the log.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use crate::config::Secret;
use crate::identity::connect::{LINK_LIFETIME_SECONDS, Link, now_seconds, random_token};
use crate::identity::oauth::ResourceServer;
use crate::identity::oauth::login::challenge;
use crate::serve::Server;
use crate::serve::connect::Connect;
use crate::spec::{SchemeKind, ServerSpec};
use crate::state::credentials::MAX_CREDENTIAL_BYTES;

/// The cookie that carries a sign-in from `/connect` to its callback.
const COOKIE: &str = "mcpgen_connect";

struct Pages {
    spec: &'static ServerSpec,
    connect: Arc<Connect>,
    oauth: Arc<ResourceServer>,
    /// Cookies get `Secure` when the page is served over https.
    secure: bool,
}

/// A sign-in under way (the cookie's signed content).
#[derive(Serialize, Deserialize)]
struct SignIn {
    state: String,
    verifier: String,
    /// The link being followed; `None`: managing what is connected.
    link: Option<Link>,
    expires: u64,
}

/// What a form may do, for whom (its signed hidden field).
#[derive(Serialize, Deserialize)]
struct FormToken {
    person: String,
    /// The schemes the form connects (`link` set) or may forget.
    schemes: Vec<String>,
    /// The link's nonce, spent when the form is saved; `None`: a forget form.
    nonce: Option<String>,
    expires: u64,
}

/// The connect page's routes, when `server` connects per-user credentials.
pub fn routes(server: &Server, oauth: Option<&Arc<ResourceServer>>) -> Option<Router> {
    let connect = server.connect()?.clone();
    let oauth = oauth?.clone();
    let secure = connect.page.scheme() == "https";
    let pages = Arc::new(Pages {
        spec: server.spec(),
        connect,
        oauth,
        secure,
    });
    Some(
        Router::new()
            .route("/connect", get(start).post(save))
            .route("/connect/callback", get(callback))
            .route("/connect/forget", post(forget))
            .layer(DefaultBodyLimit::max(4 * MAX_CREDENTIAL_BYTES))
            .with_state(pages),
    )
}

#[derive(Deserialize)]
struct StartQuery {
    link: Option<String>,
}

async fn start(State(pages): State<Arc<Pages>>, Query(query): Query<StartQuery>) -> Response {
    let link = match query
        .link
        .as_deref()
        .map(|t| pages.connect.signer.open::<Link>("link", t))
    {
        None => None,
        Some(None) => return page(StatusCode::BAD_REQUEST, "This link is not valid", LINK_INVALID, ""),
        Some(Some(link)) if link.expires < now_seconds() => {
            return page(StatusCode::GONE, "This link has expired", LINK_EXPIRED, "");
        }
        Some(Some(link)) => Some(link),
    };
    let (Some(state), Some(a), Some(b)) = (random_token(), random_token(), random_token()) else {
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Try again",
            "No randomness is available.",
            "",
        );
    };
    // RFC 7636: 43 to 128 characters.
    let verifier = format!("{a}{b}");
    let url = match pages
        .oauth
        .verifier
        .sign_in_url(&pages.callback(), &state, &challenge(&verifier))
        .await
    {
        Ok(url) => url,
        Err(e) => {
            tracing::warn!(error = %e, "the connect page could not start a sign-in");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in is unavailable",
                SIGN_IN_DOWN,
                "",
            );
        }
    };
    let sign_in = SignIn {
        state,
        verifier,
        link,
        expires: now_seconds() + LINK_LIFETIME_SECONDS,
    };
    let cookie = format!(
        "{COOKIE}={}; Path=/connect; HttpOnly; SameSite=Lax; Max-Age={LINK_LIFETIME_SECONDS}{}",
        pages.connect.signer.sign("sign-in", &sign_in),
        if pages.secure { "; Secure" } else { "" }
    );
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, url.to_string())]).into_response();
    if let Ok(value) = header::HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    guarded(response)
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(State(pages): State<Arc<Pages>>, headers: HeaderMap, Query(query): Query<CallbackQuery>) -> Response {
    let sign_in = cookie(&headers)
        .and_then(|value| pages.connect.signer.open::<SignIn>("sign-in", value))
        .filter(|s| s.expires >= now_seconds() && query.state.as_deref() == Some(s.state.as_str()));
    let Some(sign_in) = sign_in else {
        return page(
            StatusCode::BAD_REQUEST,
            "This sign-in is not valid",
            SIGN_IN_INVALID,
            "",
        );
    };
    if let Some(error) = &query.error {
        // From the issuer through the browser: for the operator, bounded.
        let description = query.error_description.as_deref().unwrap_or("");
        let said: String = format!("{error}: {description}").chars().take(300).collect();
        tracing::info!(issuer_said = %said, "a connect page sign-in ended without a code");
        return page(StatusCode::FORBIDDEN, "You did not sign in", SIGN_IN_REFUSED, "");
    }
    let Some(code) = query.code else {
        return page(
            StatusCode::BAD_REQUEST,
            "This sign-in is not valid",
            SIGN_IN_INVALID,
            "",
        );
    };
    let grant = match pages
        .oauth
        .verifier
        .redeem(&code, &sign_in.verifier, &pages.callback())
        .await
    {
        Ok(grant) => grant,
        Err(e) => {
            tracing::warn!(error = %e, "a connect page sign-in failed");
            return page(StatusCode::FORBIDDEN, "You could not be signed in", SIGN_IN_FAILED, "");
        }
    };
    let person = crate::identity::person(&pages.oauth.verifier.options().issuer, &grant.subject);
    let expires = now_seconds() + LINK_LIFETIME_SECONDS;
    let mut response = match sign_in.link {
        Some(link) if link.person != person => {
            tracing::warn!(subject = %grant.subject, "a connect link was opened by another account than it was made for");
            page(
                StatusCode::FORBIDDEN,
                "This link is for another account",
                OTHER_ACCOUNT,
                "",
            )
        }
        Some(link) => {
            let form = FormToken {
                person,
                schemes: link.schemes.clone(),
                nonce: Some(link.nonce),
                expires,
            };
            pages.connect_form(&link.schemes, &pages.connect.signer.sign("form", &form), "")
        }
        None => pages.manage(&person, expires).await,
    };
    // The sign-in is done: its cookie goes.
    let clear = format!("{COOKIE}=; Path=/connect; HttpOnly; SameSite=Lax; Max-Age=0");
    if let Ok(value) = header::HeaderValue::from_str(&clear) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

async fn save(State(pages): State<Arc<Pages>>, Form(fields): Form<Vec<(String, String)>>) -> Response {
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let Some(grant) = field("form")
        .and_then(|token| pages.connect.signer.open::<FormToken>("form", token))
        .filter(|g| g.expires >= now_seconds())
    else {
        return page(StatusCode::BAD_REQUEST, "This form has expired", FORM_EXPIRED, "");
    };
    let Some(nonce) = &grant.nonce else {
        return page(StatusCode::BAD_REQUEST, "This form has expired", FORM_EXPIRED, "");
    };
    // Every value checked before the link is spent.
    let mut values = Vec::new();
    for scheme in &grant.schemes {
        let Some(spec) = pages
            .spec
            .security_schemes
            .iter()
            .find(|s| s.name == scheme && s.per_user)
        else {
            return page(StatusCode::BAD_REQUEST, "This form has expired", FORM_EXPIRED, "");
        };
        let value = match spec.kind {
            SchemeKind::Basic => {
                let user = field(&format!("{scheme}.user")).unwrap_or("").trim();
                let password = field(&format!("{scheme}.password")).unwrap_or("");
                if user.contains(':') {
                    return pages.retry(&grant, "The user name may not contain a colon.");
                }
                format!("{user}:{password}")
            }
            _ => field(scheme).unwrap_or("").trim().to_string(),
        };
        if let Err(why) = acceptable(&value) {
            return pages.retry(&grant, why);
        }
        values.push((scheme, Secret::new(value)));
    }
    match pages.connect.credentials.spend(&grant.person, nonce).await {
        Ok(true) => {}
        Ok(false) => return page(StatusCode::CONFLICT, "This link was already used", LINK_USED, ""),
        Err(e) => return unavailable(&e),
    }
    for (scheme, value) in &values {
        if let Err(e) = pages.connect.credentials.put(&grant.person, scheme, value).await {
            return unavailable(&e);
        }
        tracing::info!(person = %grant.person, scheme = %scheme, "a per-user credential was connected");
    }
    page(StatusCode::OK, "Connected", CONNECTED, "")
}

async fn forget(State(pages): State<Arc<Pages>>, Form(fields): Form<Vec<(String, String)>>) -> Response {
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let grant = field("form")
        .and_then(|token| pages.connect.signer.open::<FormToken>("forget", token))
        .filter(|g| g.expires >= now_seconds());
    let scheme = field("scheme").unwrap_or("");
    let Some(grant) = grant.filter(|g| g.schemes.iter().any(|s| s == scheme)) else {
        return page(StatusCode::BAD_REQUEST, "This form has expired", FORM_EXPIRED, "");
    };
    match pages.connect.credentials.forget(&grant.person, scheme).await {
        Ok(_) => {
            tracing::info!(person = %grant.person, scheme, "a per-user credential was forgotten by its owner");
            page(StatusCode::OK, "Forgotten", FORGOTTEN, "")
        }
        Err(e) => unavailable(&e),
    }
}

impl Pages {
    fn callback(&self) -> String {
        format!("{}/callback", self.connect.page.as_str().trim_end_matches('/'))
    }

    fn title(&self) -> &'static str {
        self.spec.title.unwrap_or(self.spec.name)
    }

    /// The form for `schemes`, with the signed `token` as its hidden field,
    /// and `notice` (why a value was refused) said before it.
    fn connect_form(&self, schemes: &[String], token: &str, notice: &str) -> Response {
        let mut body = format!(
            "<p>{} asks for your own credential. It is kept encrypted on this server, sent only to the API, and \
             never shown to the assistant.</p>\n<form method=\"post\" action=\"/connect\">\n\
             <input type=\"hidden\" name=\"form\" value=\"{}\">\n",
            escape(self.title()),
            escape(token)
        );
        for name in schemes {
            let Some(scheme) = self.spec.security_schemes.iter().find(|s| s.name == name) else {
                continue;
            };
            let id = escape(name);
            match scheme.kind {
                SchemeKind::Basic => body.push_str(&format!(
                    "<fieldset><legend>{id} (user name and password)</legend>\n\
                     <label for=\"{id}.user\">User name</label>\n\
                     <input id=\"{id}.user\" name=\"{id}.user\" autocomplete=\"off\" required>\n\
                     <label for=\"{id}.password\">Password</label>\n\
                     <input id=\"{id}.password\" name=\"{id}.password\" type=\"password\" autocomplete=\"off\" \
                     required>\n</fieldset>\n"
                )),
                _ => body.push_str(&format!(
                    "<label for=\"{id}\">{id} ({})</label>\n\
                     <input id=\"{id}\" name=\"{id}\" type=\"password\" autocomplete=\"off\" required>\n",
                    what_to_paste(scheme.kind)
                )),
            }
        }
        body.push_str("<button type=\"submit\">Connect</button>\n</form>\n");
        let status = if notice.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        page(
            status,
            &format!("Connect your credential for {}", self.title()),
            notice,
            &body,
        )
    }

    /// The form again, after a value that can't be sent: the link is not spent.
    fn retry(&self, grant: &FormToken, why: &str) -> Response {
        let form = FormToken {
            expires: now_seconds() + LINK_LIFETIME_SECONDS,
            person: grant.person.clone(),
            schemes: grant.schemes.clone(),
            nonce: grant.nonce.clone(),
        };
        self.connect_form(&grant.schemes, &self.connect.signer.sign("form", &form), why)
    }

    /// What `person` has connected, each with a button that forgets it.
    async fn manage(&self, person: &str, expires: u64) -> Response {
        let mut connected = Vec::new();
        for scheme in self.spec.security_schemes.iter().filter(|s| s.per_user) {
            match self.connect.credentials.get(person, scheme.name).await {
                Ok(Some(_)) => connected.push(scheme.name.to_string()),
                Ok(None) => {}
                Err(e) => return unavailable(&e),
            }
        }
        if connected.is_empty() {
            return page(StatusCode::OK, "Nothing is connected", NOTHING_CONNECTED, "");
        }
        let token = self.connect.signer.sign(
            "forget",
            &FormToken {
                person: person.to_string(),
                schemes: connected.clone(),
                nonce: None,
                expires,
            },
        );
        let mut body = String::from("<ul>\n");
        for name in &connected {
            body.push_str(&format!(
                "<li><form method=\"post\" action=\"/connect/forget\">{} \
                 <input type=\"hidden\" name=\"form\" value=\"{}\">\
                 <input type=\"hidden\" name=\"scheme\" value=\"{}\">\
                 <button type=\"submit\">Forget {}</button></form></li>\n",
                escape(name),
                escape(&token),
                escape(name),
                escape(name)
            ));
        }
        body.push_str("</ul>\n");
        page(
            StatusCode::OK,
            &format!("Your credentials for {}", self.title()),
            "",
            &body,
        )
    }
}

const LINK_INVALID: &str = "The link was changed or is not from this server. Ask your assistant to call the tool \
                            again: it answers with a new link.";
const LINK_EXPIRED: &str = "Links work for 10 minutes. Ask your assistant to call the tool again: it answers with \
                            a new link.";
const LINK_USED: &str = "Each link works once, and this one connected a credential already. If the tool still asks \
                         for one, call it again for a new link.";
const SIGN_IN_DOWN: &str = "The sign-in service could not be reached. Try the link again in a minute.";
const SIGN_IN_INVALID: &str = "This sign-in was not started here, or took longer than 10 minutes. Open the link \
                               from your assistant again.";
const SIGN_IN_REFUSED: &str = "Nothing was connected. Open the link from your assistant again to retry.";
const SIGN_IN_FAILED: &str = "The sign-in service did not confirm who you are. Open the link from your assistant \
                              again.";
const OTHER_ACCOUNT: &str = "The link was made for the account that asked for it, and you signed in as another. \
                             Sign in with that account, or ask your assistant for a link of your own.";
const FORM_EXPIRED: &str = "Forms work for 10 minutes. Open the link from your assistant again.";
const CONNECTED: &str = "Your credential is connected. Go back to your assistant and ask it to try again. To remove \
                         it later, open /connect on this server and sign in.";
const FORGOTTEN: &str = "The credential is forgotten. The assistant will ask for a new one when it needs it.";
const NOTHING_CONNECTED: &str = "You have no credentials connected to this server.";

/// What a person pastes for a scheme of `kind`.
fn what_to_paste(kind: SchemeKind) -> &'static str {
    match kind {
        SchemeKind::Bearer | SchemeKind::OAuth2ClientCredentials { .. } => "your access token",
        _ => "your API key",
    }
}

/// Why `value` can't be sent in a request, if it can't: empty, too long,
/// or holding what a header can't (control characters, line breaks).
fn acceptable(value: &str) -> Result<(), &'static str> {
    if value.is_empty() || value == ":" {
        return Err("Fill in every field.");
    }
    if value.len() > MAX_CREDENTIAL_BYTES {
        return Err("That is longer than any credential this server keeps (8 KB).");
    }
    if value.chars().any(char::is_control) {
        return Err("That holds a line break or a control character; paste the credential alone.");
    }
    Ok(())
}

/// The sign-in cookie's value.
fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

fn unavailable(e: &crate::state::StoreError) -> Response {
    tracing::warn!(error = %e.detail(), "the connect page could not reach the state store");
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again in a minute",
        "This server's storage is not answering. Nothing was changed.",
        "",
    )
}

/// The headers every connect response carries.
fn guarded(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    ] {
        headers.insert(name, header::HeaderValue::from_static(value));
    }
    response
}

/// A whole page: `title` as its heading, `notice` said first (an alert when
/// the status is not a success), then `body` (HTML made here, escaped).
fn page(status: StatusCode, title: &str, notice: &str, body: &str) -> Response {
    let notice = match notice {
        "" => String::new(),
        text if status.is_success() => format!("<p>{}</p>\n", escape(text)),
        text => format!("<p role=\"alert\">{}</p>\n", escape(text)),
    };
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}\
         label,legend{{display:block;margin-top:1rem;font-weight:600}}input{{display:block;width:100%;padding:.5rem;\
         font-size:1rem;box-sizing:border-box}}button{{margin-top:1rem;padding:.5rem 1rem;font-size:1rem}}\
         fieldset{{border:0;padding:0}}</style>\n</head>\n<body>\n<main>\n<h1>{title}</h1>\n{notice}{body}</main>\n\
         </body>\n</html>\n",
        title = escape(title)
    );
    guarded((status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response())
}

/// `text` safe in HTML text and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_html() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn only_values_a_request_can_carry_are_kept() {
        assert!(acceptable("sk_live_123").is_ok());
        assert!(acceptable("").is_err());
        assert!(acceptable(":").is_err(), "basic with neither part");
        assert!(acceptable("a\r\nX-Injected: 1").is_err());
        assert!(acceptable(&"k".repeat(MAX_CREDENTIAL_BYTES + 1)).is_err());
    }

    #[test]
    fn the_sign_in_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; mcpgen_connect=abc.def; b=2".parse().unwrap());
        assert_eq!(cookie(&headers), Some("abc.def"));
        headers.insert(header::COOKIE, "mcpgen_connectx=1".parse().unwrap());
        assert_eq!(cookie(&headers), None);
    }
}
