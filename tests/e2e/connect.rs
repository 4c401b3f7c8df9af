//! Per-user credentials, end to end, as a deployment runs them: two replicas
//! of the upstream lab's server behind nginx round-robin on one Redis, a real
//! identity provider (oidc-provider, `tests/node/oauth_provider.mjs`) whose
//! own login and consent pages people sign in on, and a recording upstream.
//! Two people call a tool whose scheme is per-user (`personalKey`): each is
//! answered with the URL-elicitation-required error, connects their own key
//! on the page it links to (driven here by a plain HTTP client with a cookie
//! jar, as a browser without script would), and from then on every request
//! the API sees carries that person's key, whichever replica sent it.

use std::time::Duration;

use mcpgen_runtime::testing::harness::{Link, Signer};
use mcpgen_tests::oauth::{AuthServer, Client, Setup};
use mcpgen_tests::replicas::{Balancer, RedisServer};
use mcpgen_tests::{HttpServer, Recorder, free_port, rpc};
use serde_json::{Value, json};

const STATE_KEY: &str = "Y29ubmVjdCB0ZXN0IGtleSwgdGhpcnR5LXR3byBieXQ=";
/// What each person pastes: a canary that must never leave towards anyone else.
const ALICE_KEY: &str = "alice-key-CANARY-A1";
const BOB_KEY: &str = "bob-key-CANARY-B2";
/// The operator's key for stdio and static tokens: never sent for an OAuth caller.
const OPERATOR_KEY: &str = "operator-key-CANARY-OP";

/// A `tools/call` of `auth_personal` as the holder of `token`: the whole JSON-RPC answer.
async fn call(url: &str, token: &str, arguments: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": "auth_personal", "arguments": arguments}});
    let response = rpc(url, Some(token), body, &[]).await;
    assert_eq!(response.status(), 200);
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

/// The connect link of a URL-elicitation-required answer (failing on any other).
fn elicited(answer: &Value) -> String {
    assert_eq!(answer["error"]["code"], -32042, "{answer}");
    let elicitation = &answer["error"]["data"]["elicitations"][0];
    assert_eq!(elicitation["mode"], "url", "{answer}");
    assert!(elicitation["elicitationId"].is_string(), "{answer}");
    let message = elicitation["message"].as_str().unwrap();
    assert!(
        message.contains("personalKey") && message.contains("call the tool again"),
        "{message}"
    );
    let url = elicitation["url"].as_str().unwrap().to_string();
    // A client that can't take the elicitation shows the message: it holds the link.
    assert!(answer["error"]["message"].as_str().unwrap().contains(&url), "{answer}");
    url
}

/// A plain HTTP client as a browser without script: cookies kept, redirects followed.
fn cookie_client() -> reqwest::Client {
    mcpgen_tests::http_client()
        .cookie_store(true)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// The value of attribute `attr` of the first tag after `marker` in `html`.
fn attribute(html: &str, marker: &str, attr: &str) -> Option<String> {
    let rest = &html[html.find(marker)?..];
    let rest = &rest[rest.find(&format!("{attr}=\""))? + attr.len() + 2..];
    Some(rest[..rest.find('"')?].replace("&amp;", "&"))
}

/// Opens `url` and signs in at the identity provider as `login` (its login
/// page, then its consent page): the page the connect flow ends on.
async fn sign_in(browser: &reqwest::Client, url: &str, login: &str) -> (u16, String) {
    let page = browser.get(url).send().await.unwrap();
    let issuer = page.url().clone();
    let html = page.text().await.unwrap();
    let action = attribute(&html, "<form", "action").unwrap_or_else(|| panic!("no login form: {html}"));
    let page = browser
        .post(issuer.join(&action).unwrap())
        .form(&[("prompt", "login"), ("login", login), ("password", "any")])
        .send()
        .await
        .unwrap();
    let url = page.url().clone();
    let html = page.text().await.unwrap();
    // The consent page, the first time this person uses the client.
    let page = match attribute(&html, "<form", "action") {
        Some(action) if html.contains("name=\"prompt\" value=\"consent\"") => browser
            .post(url.join(&action).unwrap())
            .form(&[("prompt", "consent")])
            .send()
            .await
            .unwrap(),
        _ => return (200, html),
    };
    (page.status().as_u16(), page.text().await.unwrap())
}

/// Submits the connect form on `html` with `key`: the answer's status and page.
async fn connect(browser: &reqwest::Client, base: &str, html: &str, key: &str) -> (u16, String) {
    let form = attribute(html, "name=\"form\"", "value").unwrap_or_else(|| panic!("no connect form: {html}"));
    let page = browser
        .post(format!("{base}/connect"))
        .form(&[("form", form.as_str()), ("personalKey", key)])
        .send()
        .await
        .unwrap();
    (page.status().as_u16(), page.text().await.unwrap())
}

/// `tests/node/connect_page.mjs`: `url` opened in headless Chromium, signed
/// in as `login`, the field labelled `field.0` filled with `field.1` and
/// submitted; its JSON line, screenshots in `shots`.
async fn chromium(url: &str, login: &str, field: (&str, &str), shots: &std::path::Path) -> anyhow::Result<Value> {
    let plan = json!({"url": url, "login": login, "fields": {field.0: field.1}, "screenshots": shots});
    let mut command = tokio::process::Command::new("node");
    command
        .arg(mcpgen_tests::workspace_root().join("tests/node/connect_page.mjs"))
        .arg(plan.to_string());
    let mut lines = mcpgen_tests::json_lines(command, "Chromium on the connect page").await?;
    lines
        .pop()
        .ok_or_else(|| anyhow::anyhow!("the page script printed nothing"))
}

/// The whole flow for two people on two replicas:
/// - a call before connecting is the URL-elicitation-required error, and the
///   API is not called;
/// - the link opened by another account is refused; by its own, connects;
///   replayed, refused; expired, refused;
/// - the API sees each person's own key on every call through either replica,
///   never the other's or the operator's; no key is in any result, the
///   replicas' logs or the store's values; a forged identity argument
///   changes nothing;
/// - forgotten on the page by its owner, by the operator's command, or
///   because the API refused it (401), the call elicits again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_person_connects_their_own_key_and_only_theirs_is_sent() -> anyhow::Result<()> {
    let keys = tempfile::tempdir()?;
    let upstream = Recorder::start().await?;
    let store = RedisServer::start()?;
    let ports = [free_port(), free_port()];
    let balancer = Balancer::start(&ports.map(|p| format!("127.0.0.1:{p}")))?;
    let base = balancer.base.clone();
    let audience = format!("{base}/mcp");
    let clients = [
        Client::new("alice", "alice-secret-1", "mcp"),
        Client::new("bob", "bob-secret-22", "mcp"),
        Client::new("carol", "carol-secret-333", "mcp"),
        Client {
            redirect_uris: vec![format!("{base}/connect/callback")],
            ..Client::new("lab-mcp", "lab-server-secret", "openid mcp")
        },
    ];
    let [alice, bob, _, _] = &clients;
    let resources = [(audience.as_str(), "mcp")];
    let auth = AuthServer::start(&Setup::new(keys.path(), &clients, &resources))?;
    let state = store.url();
    let mut lab = mcpgen_tests::lab_env(&upstream.base_url, "unused", ("lab-client", "lab-secret"));
    lab.push(("LAB_PERSONAL_KEY".into(), OPERATOR_KEY.into()));
    let mut env: Vec<(&str, &str)> = lab.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.extend([
        ("MCP_OAUTH_ISSUER", auth.issuer.as_str()),
        ("MCP_OAUTH_AUDIENCE", audience.as_str()),
        ("MCP_OAUTH_REQUIRED_SCOPES", "mcp"),
        ("MCP_OAUTH_CLIENT_ID", "lab-mcp"),
        ("MCP_OAUTH_CLIENT_SECRET", "lab-server-secret"),
        ("MCP_STATE", state.as_str()),
        ("MCP_STATE_KEY", STATE_KEY),
        ("RUST_LOG", "debug"),
    ]);
    let replicas = ports.map(|port| HttpServer::start_on("upstream-lab-mcp", port, &[], &env));
    let replicas: Vec<HttpServer> = replicas.into_iter().collect::<Result<_, _>>()?;
    let alice_token = auth.token(alice, &audience, "mcp").await?;
    let bob_token = auth.token(bob, &audience, "mcp").await?;

    // Before connecting: the error with the link, and nothing sent.
    let alice_link = elicited(&call(&audience, &alice_token, json!({})).await);
    assert!(alice_link.starts_with(&format!("{base}/connect?link=")), "{alice_link}");
    let bob_link = elicited(&call(&audience, &bob_token, json!({})).await);
    assert_eq!(upstream.count("GET", "/auth/personal"), 0);

    // Alice's link opened by bob: refused, whatever he then submits.
    let (status, html) = sign_in(&cookie_client(), &alice_link, "bob").await;
    assert_eq!(status, 403, "{html}");
    assert!(html.contains("This link is for another account"), "{html}");
    assert!(!html.contains("name=\"form\""), "{html}");

    // Each by their own account: alice in Chromium, bob with a plain client.
    let shots = tempfile::tempdir()?;
    let shots_dir = std::env::var("MCPGEN_SCREENSHOTS").map_or(shots.path().to_path_buf(), Into::into);
    let page = chromium(
        &alice_link,
        "alice",
        ("personalKey (your API key)", ALICE_KEY),
        &shots_dir,
    )
    .await?;
    assert_eq!(
        page["form"]["textboxes"],
        json!(["personalKey (your API key)"]),
        "{page}"
    );
    assert_eq!(page["done"]["status"], 200, "{page}");
    assert_eq!(page["done"]["title"], "Connected", "{page}");
    assert!(
        page["done"]["text"]
            .as_str()
            .unwrap()
            .contains("Go back to your assistant"),
        "{page}"
    );
    assert!(!page.to_string().contains(ALICE_KEY), "the page shows no key");
    for name in ["connect-form.png", "connected.png"] {
        assert!(std::fs::metadata(shots_dir.join(name))?.len() > 1000, "{name}");
    }
    let browser = cookie_client();
    let (status, html) = sign_in(&browser, &bob_link, "bob").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<label for=\"personalKey\">"), "{html}");
    let (status, html) = connect(&browser, &base, &html, BOB_KEY).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Your credential is connected"), "{html}");
    assert!(!html.contains(BOB_KEY), "the page shows no key");
    // Replayed by its own account: the form shows, saving is refused.
    let replay = cookie_client();
    let (_, html) = sign_in(&replay, &alice_link, "alice").await;
    let (status, html) = connect(&replay, &base, &html, "alice-replayed-key").await;
    assert_eq!(status, 409, "{html}");
    assert!(html.contains("This link was already used"), "{html}");
    // Expired: signed with the deployment's key, refused before any sign-in.
    let expired = Signer::new(Some(STATE_KEY)).unwrap().sign(
        "link",
        &Link {
            person: format!("{} alice", auth.issuer),
            schemes: vec!["personalKey".into()],
            nonce: "n-expired".into(),
            expires: 1,
        },
    );
    let page = cookie_client()
        .get(format!("{base}/connect?link={expired}"))
        .send()
        .await?;
    assert_eq!(page.status(), 410);
    assert!(page.text().await?.contains("This link has expired"));

    // Calls through both replicas, interleaved: each person's own key, always.
    // A forged identity changes nothing: refused as an argument the tool
    // doesn't take, or sent with the caller's own key (never alice's).
    let forged = json!({"user": "alice", "identity": "alice", "tenant": "alice", "sub": "alice"});
    for round in 0..4 {
        for (token, arguments) in [
            (&alice_token, json!({})),
            (&bob_token, json!({})),
            (&bob_token, forged.clone()),
        ] {
            let answer = call(&audience, token, arguments).await;
            let text = answer.to_string();
            assert!(!text.contains("CANARY"), "round {round}: a key in a result: {text}");
        }
    }
    let sent: Vec<String> = upstream
        .requests()
        .iter()
        .filter(|r| r.uri.starts_with("/auth/personal"))
        .map(|r| r.headers["x-personal-key"].to_str().unwrap().to_string())
        .collect();
    assert_eq!(sent.iter().filter(|k| *k == ALICE_KEY).count(), 4, "{sent:?}");
    assert!(sent.iter().filter(|k| *k == BOB_KEY).count() >= 4, "{sent:?}");
    assert!(sent.iter().all(|k| k == ALICE_KEY || k == BOB_KEY), "{sent:?}");

    // At rest: sealed.
    let dump = std::process::Command::new("redis-cli")
        .args(["-p", &store.port.to_string(), "--scan"])
        .output()?;
    let keys_in_store = String::from_utf8_lossy(&dump.stdout).to_string();
    assert!(keys_in_store.contains(":credential:"), "{keys_in_store}");
    for key in keys_in_store.lines().filter(|k| k.contains(":credential:")) {
        let value = std::process::Command::new("redis-cli")
            .args(["-p", &store.port.to_string(), "--raw", "HGETALL", key])
            .output()?;
        assert!(
            !String::from_utf8_lossy(&value.stdout).contains("CANARY"),
            "unsealed: {key}"
        );
    }

    // Alice forgets hers on the page: her next call elicits again; bob's still works.
    let manage = cookie_client();
    let (status, html) = sign_in(&manage, &format!("{base}/connect"), "alice").await;
    assert_eq!(status, 200, "{html}");
    let form = attribute(&html, "name=\"form\"", "value").expect("a forget form");
    let page = manage
        .post(format!("{base}/connect/forget"))
        .form(&[("form", form.as_str()), ("scheme", "personalKey")])
        .send()
        .await?;
    assert_eq!(page.status(), 200);
    let link = elicited(&call(&audience, &alice_token, json!({})).await);
    let answer = call(&audience, &bob_token, json!({})).await;
    assert_ne!(answer["result"]["isError"], true, "{answer}");

    // A key the API refuses (401): the call says it was forgotten, and the next one asks again.
    let browser = cookie_client();
    let (_, html) = sign_in(&browser, &link, "alice").await;
    let (status, _) = connect(&browser, &base, &html, "alice-key-revoked").await;
    assert_eq!(status, 200);
    let answer = call(&audience, &alice_token, json!({})).await;
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    assert!(
        answer
            .to_string()
            .contains("The API refused your connected credential (personalKey)"),
        "{answer}"
    );
    assert!(!answer.to_string().contains("alice-key-revoked"), "{answer}");
    elicited(&call(&audience, &alice_token, json!({})).await);

    // The operator forgets bob's.
    let output = std::process::Command::new(mcpgen_tests::built_binary("upstream-lab-mcp"))
        .args(["forget-credentials", "--subject", "bob"])
        .env_clear()
        .envs([
            ("MCP_STATE", state.as_str()),
            ("MCP_STATE_KEY", STATE_KEY),
            ("MCP_OAUTH_ISSUER", auth.issuer.as_str()),
        ])
        .output()?;
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{printed} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(printed.trim(), "personalKey: forgotten");
    elicited(&call(&audience, &bob_token, json!({})).await);

    // A host on the TypeScript SDK (its own OAuth client, discovering the
    // issuer from the 401): the call throws the SDK's URL-elicitation error
    // with the link; once carol connects through it, the same call succeeds.
    let typescript = || {
        mcpgen_tests::oauth::typescript_client(
            "v1",
            &audience,
            &auth.issuer,
            ("carol", "carol-secret-333", Some("mcp")),
            "auth_personal",
            json!({}),
        )
    };
    let lines = typescript().await?;
    assert_eq!(lines[1]["code"], -32042, "{lines:?}");
    let link = lines[1]["elicitations"][0]["url"]
        .as_str()
        .expect("the link")
        .to_string();
    assert!(
        lines[1]["threw"].as_str().unwrap().contains(&link),
        "the message holds the link: {lines:?}"
    );
    let browser = cookie_client();
    let (_, html) = sign_in(&browser, &link, "carol").await;
    let (status, html) = connect(&browser, &base, &html, "carol-key-CANARY-C3").await;
    assert_eq!(status, 200, "{html}");
    let lines = typescript().await?;
    assert_eq!(lines[1]["isError"], false, "{lines:?}");
    assert!(!lines[1].to_string().contains("CANARY"), "{lines:?}");

    // Nothing sent but the people's own keys; no key in any log line.
    assert!(
        upstream
            .requests()
            .iter()
            .all(|r| r.headers.get("x-personal-key").is_none_or(|k| [
                ALICE_KEY,
                BOB_KEY,
                "carol-key-CANARY-C3",
                "alice-key-revoked"
            ]
            .contains(&k.to_str().unwrap()))),
        "the operator's key or another value went upstream"
    );
    for replica in replicas {
        let (_, log) = replica.terminate()?;
        assert!(log.contains("a per-user credential was connected"), "{log}");
        assert!(!log.contains("CANARY"), "a key in the log: {log}");
    }
    Ok(())
}
