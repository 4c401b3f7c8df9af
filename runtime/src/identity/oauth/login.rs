//! A person signing in at the issuer through this server's own client: the
//! connect page's proof that whoever opens a link is the caller it was made
//! for. OAuth 2.1 authorization code with PKCE (S256), asking for a token for
//! this server (RFC 8707 `resource`), which is then verified like any
//! caller's token: the subject comes from the issuer, never from the page.

use axum::http::header;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use super::{Grant, MAX_DOCUMENT_BYTES, OAuthError, Refusal, Verifier};

/// The PKCE challenge of `verifier` (S256).
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl Verifier {
    /// An endpoint the issuer's metadata names (`name`: its field).
    async fn endpoint(
        &self,
        name: &str,
        pick: fn(&super::IssuerMetadata) -> Option<&String>,
    ) -> Result<String, OAuthError> {
        let metadata = self
            .metadata()
            .await
            .map_err(|(Refusal::Invalid(why) | Refusal::Unavailable(why))| OAuthError::Issuer(why))?;
        pick(metadata)
            .cloned()
            .ok_or_else(|| OAuthError::Issuer(format!("the metadata of {} names no {name}", self.options.issuer)))
    }

    /// `pairs` posted to the token endpoint with this server's client:
    /// the status and the JSON answer (`Null` when it is not JSON).
    pub(super) async fn token_request(&self, pairs: &[(&str, &str)]) -> Result<(u16, Value), OAuthError> {
        let Some((client_id, secret)) = &self.options.client else {
            return Err(OAuthError::NoClient);
        };
        let endpoint = self.endpoint("token_endpoint", |m| m.token_endpoint.as_ref()).await?;
        let response = self
            .http
            .post(&endpoint)
            .basic_auth(client_id, Some(secret.expose()))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(crate::style::form(pairs))
            .send()
            .await
            .map_err(|e| OAuthError::Unreachable(e.without_url()))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap_or_default();
        let answer = serde_json::from_slice(&bytes[..bytes.len().min(MAX_DOCUMENT_BYTES)]).unwrap_or(Value::Null);
        Ok((status, answer))
    }

    /// Where to send a person to sign in: the issuer's authorization
    /// endpoint, back to `redirect_uri` with `state`, PKCE `challenge`.
    pub async fn sign_in_url(&self, redirect_uri: &str, state: &str, challenge: &str) -> Result<Url, OAuthError> {
        let Some((client_id, _)) = &self.options.client else {
            return Err(OAuthError::NoClient);
        };
        let endpoint = self
            .endpoint("authorization_endpoint", |m| m.authorization_endpoint.as_ref())
            .await?;
        // The scopes every request needs, so the issuer grants a token for this server.
        let scope = std::iter::once("openid")
            .chain(self.options.required_scopes.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ");
        let mut url = Url::parse(&endpoint)
            .map_err(|e| OAuthError::Issuer(format!("the authorization endpoint `{endpoint}` is not a URL ({e})")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &scope)
            .append_pair("state", state)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("resource", &self.options.audience);
        Ok(url)
    }

    /// The signed-in person: `code` redeemed with the PKCE `verifier` for a
    /// token for this server, verified as a caller's token is.
    pub async fn redeem(&self, code: &str, verifier: &str, redirect_uri: &str) -> Result<Grant, OAuthError> {
        let pairs = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
            ("resource", self.options.audience.as_str()),
        ];
        let (status, answer) = self.token_request(&pairs).await?;
        let Some(token) = answer.get("access_token").and_then(Value::as_str) else {
            let reason = answer.get("error").and_then(Value::as_str).unwrap_or("no access token");
            return Err(OAuthError::Issuer(format!(
                "the issuer did not complete the sign-in (status {status}: {reason})"
            )));
        };
        self.verify(token)
            .await
            .map_err(|(Refusal::Invalid(why) | Refusal::Unavailable(why))| {
                OAuthError::Issuer(format!("the sign-in's token was not accepted: {why}"))
            })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_pkce_challenge_is_rfc_7636s() {
        // RFC 7636, appendix B.
        assert_eq!(
            super::challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
