//! Schemas every model API takes. Each example server's `tools/list` (both
//! surfaces) is put to the checkers that the model APIs' own SDKs and an
//! agent framework run (`tests/python/dialect_oracles.py`: pydantic-ai's and
//! the OpenAI SDK's strict-mode conversions, the Google Gen AI SDK's Gemini
//! conversion, the 2020-12 meta-schema), as the spec has them and in the
//! portable form; then OpenAI's Agents SDK calls a portable server the way a
//! strict model writes arguments (every property, `null` for "not given",
//! JSON text where the form asks for it) and the API gets what the full schema means.

use mcpgen_runtime::spec::dialect::{self, Dialect};
use mcpgen_tests::{API_KEY, Recorder, built_binary, json_lines, workspace_root};
use serde_json::{Value, json};

const LAB_SECRET: &str = "labsecret9f4e";

/// A generated example server and the environment it needs.
struct Server {
    package: &'static str,
    env: Vec<(String, String)>,
}

fn servers(base_url: &str) -> Vec<Server> {
    let mut lab = mcpgen_tests::lab_env(base_url, LAB_SECRET, mcpgen_tests::faults::OAUTH_CLIENT);
    lab.push(("UPSTREAM_LAB_MCP_TOKENS".into(), "tok_dialects_1".into()));
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    };
    vec![
        Server {
            package: "petstore-mcp",
            env: pairs(&[("PETSTORE_BASE_URL", base_url), ("PETSTORE_API_KEY", API_KEY)]),
        },
        Server {
            package: "upstream-lab-mcp",
            env: lab,
        },
        Server {
            package: "edge-cases-mcp",
            env: pairs(&[("EDGE_CASES_BASE_URL", base_url), ("EDGE_TOKEN", "edge-token-1")]),
        },
        Server {
            package: "conformance-mcp",
            env: pairs(&[("CONFORMANCE_BASE_URL", base_url)]),
        },
    ]
}

/// Refusals of ours that the SDKs' checkers don't make: rules the APIs
/// enforce when the request arrives, which the SDKs leave to them (or, for
/// `additionalProperties`, add themselves before sending).
const BEYOND_THE_SDKS: &[(Dialect, &str)] = &[
    // OpenAI: "additionalProperties: false must always be set in objects"; SDKs add it, raw hosts don't.
    (
        Dialect::OpenAiStrict,
        "every object needs `additionalProperties: false`",
    ),
    // OpenAI lists these among the keywords strict mode does not support.
    (Dialect::OpenAiStrict, "`allOf` is not supported"),
    // Gemini: "properties: should be non-empty for OBJECT type", "items: missing field".
    (Dialect::Gemini, "an object must have properties"),
    (Dialect::Gemini, "an array must have `items`"),
    (Dialect::Gemini, "an array's items may not be an `anyOf`"),
    (Dialect::Gemini, "`properties` on a schema that is not `type: object`"),
];

fn env_object(server: &Server) -> Value {
    Value::Object(
        server
            .env
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// Run a Python program under tests/python with `plan` (bounded); stdout as JSON lines.
async fn python_lines(script: &str, plan: Value) -> anyhow::Result<Vec<Value>> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
    let mut command = tokio::process::Command::new(python);
    command
        .arg(workspace_root().join("tests/python").join(script))
        .arg(plan.to_string());
    json_lines(command, script).await
}

#[tokio::test]
async fn the_sdks_checkers_take_every_portable_schema_and_refuse_nothing_we_pass() -> anyhow::Result<()> {
    let mut problems = Vec::new();
    let (mut agreed, mut beyond, mut verdicts) = (0, 0, 0);
    for server in servers("http://127.0.0.1:9") {
        for profile in ["full", "portable"] {
            let plan = json!({"stdio": {
                "command": built_binary(server.package),
                "args": ["--surface", "both", "--schema-profile", profile],
                "env": env_object(&server),
            }});
            let lines = python_lines("dialect_oracles.py", plan).await?;
            assert!(lines.len() >= 8, "{}: {} tools listed", server.package, lines.len());
            for line in lines {
                let at = format!(
                    "{} ({profile}) `{}`",
                    server.package,
                    line["name"].as_str().unwrap_or("?")
                );
                let refused = line["refused"].as_object().cloned().unwrap_or_default();
                if let Some(why) = refused.get("json-schema") {
                    problems.push(format!("{at}: not valid JSON Schema 2020-12: {why}"));
                }
                for (checker, dialect) in [("openai-strict", Dialect::OpenAiStrict), ("gemini", Dialect::Gemini)] {
                    let ours = dialect::check(dialect, &line["input"]);
                    let theirs = refused.get(checker);
                    verdicts += 1;
                    match (&ours, theirs) {
                        (_, Some(why)) if profile == "portable" => {
                            problems.push(format!("{at}: {checker} refuses the portable form: {why}"))
                        }
                        (None, Some(why)) => problems.push(format!("{at}: {checker} refuses what we pass: {why}")),
                        (Some(ours), None)
                            if !BEYOND_THE_SDKS
                                .iter()
                                .any(|(d, w)| *d == dialect && ours.why.contains(w)) =>
                        {
                            problems.push(format!("{at}: we refuse for {checker} what its SDK takes: {ours}"))
                        }
                        (Some(_), None) => beyond += 1,
                        _ => agreed += 1,
                    }
                    if profile == "portable"
                        && let Some(ours) = ours
                    {
                        problems.push(format!("{at}: our {checker} check refuses the portable form: {ours}"));
                    }
                }
            }
        }
    }
    eprintln!("{verdicts} verdicts: {agreed} agree with the SDKs' checkers, {beyond} refusals are the APIs' own rules");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

#[tokio::test]
async fn openai_agents_calls_a_portable_server_as_a_strict_model_writes() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let servers = servers(&upstream.base_url);
    let calls = [
        (
            &servers[0],
            json!([
                {"name": "create_pet", "arguments": {"name": "Rex", "tags": ["good"]}, "fill_nulls": true},
                // Through the discovery surface: the operation's arguments are JSON text there.
                {"name": "call_write_operation", "arguments": {
                    "operation": "create_pet", "arguments": "{\"name\": \"Fido\", \"category\": null}"
                }},
            ]),
        ),
        (
            &servers[1],
            json!([{"name": "deep_form_body", "fill_nulls": true, "arguments": {
                "expand": ["customer"], "metadata": "{\"order\": \"42\"}"
            }}]),
        ),
    ];
    for (server, calls) in calls {
        let mut env = env_object(server);
        env["MCP_SCHEMA_PROFILE"] = json!("portable");
        env["MCP_SURFACE"] = json!("both");
        let plan = json!({"stdio": {"command": built_binary(server.package), "env": env}, "calls": calls});
        let lines = python_lines("agents_client.py", plan).await?;
        let (listing, answers) = lines.split_first().expect("a listing line");
        for tool in listing["tools"].as_array().unwrap() {
            assert_eq!(
                tool["strict"], true,
                "{}: every portable tool is strict: {tool}",
                server.package
            );
        }
        for answer in answers {
            assert!(answer.get("threw").is_none(), "{}: {answer}", server.package);
            let text = answer["output"].as_str().unwrap_or_default();
            assert!(
                !text.contains("\"isError\":true") && !text.contains("Invalid arguments"),
                "{text}"
            );
        }
    }
    let requests = upstream.requests.lock().unwrap().clone();
    let pets: Vec<Value> = requests
        .iter()
        .filter(|r| r.uri == "/pets")
        .map(|r| serde_json::from_slice(&r.body))
        .collect::<Result<_, _>>()?;
    // Nulls for "not given" are dropped, not sent.
    assert_eq!(
        pets,
        [json!({"name": "Rex", "tags": ["good"]}), json!({"name": "Fido"})]
    );
    let form = requests
        .iter()
        .find(|r| r.uri.starts_with("/bodies/deep-form"))
        .expect("deep_form_body reached the API");
    let form = String::from_utf8_lossy(&form.body);
    // The map written as JSON text arrives as the deepObject form field it is.
    assert_eq!(
        form,
        "expand[0]=customer&metadata[order]=42"
            .replace('[', "%5B")
            .replace(']', "%5D")
    );
    Ok(())
}
