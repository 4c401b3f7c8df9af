//! What ships with a generated crate besides code, checked by tools nobody
//! here wrote: every host config of the README (stdio ones run in a host's
//! filtered environment, HTTP ones against a running server, Claude's through
//! `mcp-remote`), the Dockerfile (hadolint), its build context (docker-py's
//! ignore matcher) and the binary run with its flags, the Kubernetes
//! manifests (kubernetes-validate, strict). The GitHub workflow, whose steps
//! build from the local registry, is checked in `release.rs`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mcpgen_tests::{
    API_KEY, Recorder, built_binary, fenced_after, free_port, node_path, node_tool, python_tool, workspace_root,
    yaml_documents,
};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};

/// Every committed crate, each with its Dockerfile and manifests.
const CRATES: &[&str] = &[
    "examples/petstore/petstore-mcp",
    "examples/edge-cases/edge-cases-mcp",
    "tests/fixtures/conformance/conformance-mcp",
    "tests/fixtures/upstream-lab/upstream-lab-mcp",
];

/// Hosts start stdio servers with only these variables (plus the config's `env`).
fn host_environment(home: &Path) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = ["PATH", "HOME", "USER", "LANG", "LC_ALL", "TERM", "SHELL", "TMPDIR"]
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
        .chain(std::env::vars().filter(|(k, _)| k.starts_with("XDG_")))
        .collect();
    for (k, v) in [
        ("PATH", "/usr/bin:/bin".to_string()),
        ("HOME", home.display().to_string()),
        ("USER", "someone".to_string()),
        ("LANG", "en_US.UTF-8".to_string()),
        ("TERM", "xterm-256color".to_string()),
        ("SHELL", "/bin/zsh".to_string()),
        ("TMPDIR", home.display().to_string()),
        ("XDG_RUNTIME_DIR", home.display().to_string()),
    ] {
        if !env.iter().any(|(name, _)| name == k) {
            env.push((k.to_string(), v));
        }
    }
    env
}

/// The README's JSON host config under `heading`, in the section starting at `section`.
fn readme_json(section: &str, heading: &str) -> Value {
    let readme = std::fs::read_to_string(workspace_root().join("examples/petstore/petstore-mcp/README.md")).unwrap();
    let part = &readme[readme.find(section).unwrap_or_else(|| panic!("no {section:?}"))..];
    serde_json::from_str(fenced_after(part, heading)).unwrap_or_else(|e| panic!("{heading}: {e}"))
}

/// The README's YAML host config in the section starting at `section`, read by PyYAML.
fn readme_yaml(section: &str) -> Value {
    let readme = std::fs::read_to_string(workspace_root().join("examples/petstore/petstore-mcp/README.md")).unwrap();
    let part = &readme[readme.find(section).unwrap_or_else(|| panic!("no {section:?}"))..];
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), fenced_after(part, "**Any host with a YAML config**")).unwrap();
    yaml_documents(file.path()).remove(0)
}

/// VS Code's `${input:ID}` references: each must name a declared `promptString`
/// input hiding what is typed; returns the value with the user's answer in it.
fn vscode_input(config: &Value, value: &str, answer: &str) -> String {
    let (before, rest) = value.split_once("${input:").expect("an input reference");
    let (id, after) = rest.split_once('}').expect("closed");
    let input = config["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("input {id} is not declared"));
    assert_eq!(input["type"], "promptString", "{input}");
    assert_eq!(input["password"], true, "secrets are typed hidden: {input}");
    assert!(input["description"].as_str().is_some_and(|d| !d.is_empty()));
    format!("{before}{answer}{after}")
}

/// Each stdio host config of the README (Claude Desktop, VS Code, Cursor, YAML
/// hosts), run as written in a host's filtered environment: its command and
/// args, its `env` with the user's values in place of the placeholders.
#[tokio::test]
async fn the_readme_stdio_host_configs_run_in_a_hosts_filtered_environment() -> anyhow::Result<()> {
    const STDIO: &str = "### Over stdio";
    let vscode = readme_json(STDIO, "**VS Code** (`.vscode/mcp.json`)");
    let yaml = readme_yaml(STDIO);
    let hosts = [
        (
            "Claude Desktop",
            readme_json(STDIO, "**Claude Desktop** (`claude_desktop_config.json`)")["mcpServers"]["petstore"].clone(),
        ),
        ("VS Code", vscode["servers"]["petstore"].clone()),
        (
            "Cursor",
            readme_json(STDIO, "**Cursor** (`.cursor/mcp.json`)")["mcpServers"]["petstore"].clone(),
        ),
        ("YAML", yaml["mcp_servers"]["petstore"].clone()),
    ];
    assert_eq!(vscode["servers"]["petstore"]["type"], "stdio");
    for (host, server) in hosts {
        let upstream = Recorder::start().await?;
        assert_eq!(server["command"], "/path/to/petstore-mcp", "{host}");
        let home = tempfile::tempdir()?;
        let mut command = tokio::process::Command::new(petstore_from(&server["command"]));
        command
            .args(server["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()))
            .env_clear()
            .envs(host_environment(home.path()))
            // Hosts start servers from anywhere.
            .current_dir("/")
            .kill_on_drop(true);
        let env = server["env"].as_object().unwrap();
        assert_eq!(env.keys().collect::<Vec<_>>(), ["PETSTORE_API_KEY"], "{host}");
        let value = env["PETSTORE_API_KEY"].as_str().unwrap();
        let value = if host == "VS Code" {
            vscode_input(&vscode, value, API_KEY)
        } else {
            assert_eq!(value, "…", "{host}: the README shows placeholders, never values");
            API_KEY.to_string()
        };
        command.env("PETSTORE_API_KEY", value);
        // The one variable the user adds here: the API's URL (the spec's server by default).
        command.env("PETSTORE_BASE_URL", &upstream.base_url);
        let (transport, _) = TokioChildProcess::builder(command).stderr(Stdio::null()).spawn()?;
        let client = tokio::time::timeout(Duration::from_secs(20), ().serve(transport)).await??;
        check_petstore(&client, &upstream, host).await?;
        client.cancel().await?;
    }
    Ok(())
}

/// Lists the tools and calls `get_pet_by_id`, which reaches the upstream with the API key.
async fn check_petstore(
    client: &rmcp::service::RunningService<rmcp::RoleClient, ()>,
    upstream: &Recorder,
    host: &str,
) -> anyhow::Result<()> {
    let tools = client.list_all_tools().await?;
    assert_eq!(tools.len(), 16, "{host}");
    let params =
        CallToolRequestParams::new("get_pet_by_id").with_arguments(json!({"petId": 3}).as_object().cloned().unwrap());
    let result = tokio::time::timeout(Duration::from_secs(30), client.call_tool(params)).await??;
    assert_ne!(result.is_error, Some(true), "{host}: {result:?}");
    let sent = upstream.requests();
    assert_eq!(sent.len(), 1, "{host}");
    assert_eq!(sent[0].uri, "/pets/3", "{host}");
    assert_eq!(sent[0].headers["x-api-key"], API_KEY, "{host}");
    Ok(())
}

fn petstore_from(command: &Value) -> PathBuf {
    assert!(command.as_str().unwrap().ends_with("/petstore-mcp"));
    built_binary("petstore-mcp")
}

/// The final stage's instructions, continuation lines joined.
fn final_stage(dockerfile: &str) -> Vec<(String, String)> {
    let joined = dockerfile.replace("\\\n", " ");
    let lines: Vec<(String, String)> = joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            l.split_once(' ')
                .map(|(i, rest)| (i.to_ascii_uppercase(), rest.trim().to_string()))
        })
        .collect();
    let from = lines.iter().rposition(|(i, _)| i == "FROM").expect("a FROM");
    lines[from..].to_vec()
}

#[test]
fn dockerfiles_lint_clean_and_the_binary_runs_with_their_flags() {
    let hadolint = python_tool("hadolint");
    for dir in CRATES {
        let out = Command::new(&hadolint)
            .arg(workspace_root().join(dir).join("Dockerfile"))
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stdout.is_empty(),
            "{dir}/Dockerfile: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let text = std::fs::read_to_string(workspace_root().join("examples/petstore/petstore-mcp/Dockerfile")).unwrap();
    assert_eq!(text.matches("\nFROM ").count(), 2, "multi-stage");
    let stage = final_stage(&text);
    let get = |instruction: &str| -> Vec<&str> {
        stage
            .iter()
            .filter(|(i, _)| i == instruction)
            .map(|(_, rest)| rest.as_str())
            .collect()
    };
    assert_eq!(get("USER"), ["65532:65532"], "non-root");
    let entrypoint: Vec<String> = serde_json::from_str(get("ENTRYPOINT")[0]).unwrap();
    assert_eq!(entrypoint, ["/usr/local/bin/petstore-mcp"]);
    let healthcheck = get("HEALTHCHECK")[0];
    let check: Vec<String> = serde_json::from_str(&healthcheck[healthcheck.find("CMD [").unwrap() + 4..]).unwrap();
    assert_eq!(check, ["/usr/local/bin/petstore-mcp", "healthcheck"]);
    let mut env: Vec<(String, String)> = get("ENV")
        .iter()
        .flat_map(|rest| rest.split_whitespace())
        .map(|pair| {
            let (k, v) = pair.split_once('=').expect("ENV k=v");
            (k.to_string(), v.to_string())
        })
        .collect();
    assert!(
        env.contains(&("MCP_HTTP".to_string(), "0.0.0.0:8000".to_string())),
        "HTTP by default: {env:?}"
    );
    assert_eq!(get("EXPOSE"), ["8000"]);

    let binary = built_binary("petstore-mcp");
    let run = |env: &[(String, String)], args: &[String]| {
        let mut command = Command::new(&binary);
        command
            .args(args)
            .env_clear()
            .envs(env.iter().cloned())
            .env("PETSTORE_API_KEY", API_KEY)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command
    };
    // Exactly the image's settings, without inbound tokens: refused before binding anything.
    let out = run(&env, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refusing to serve 0.0.0.0:8000 without inbound auth"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // With a token, on a loopback port (tests bind 127.0.0.1 only): healthy.
    let port = free_port();
    for (k, v) in &mut env {
        if k == "MCP_HTTP" {
            *v = format!("127.0.0.1:{port}");
        }
    }
    env.push(("PETSTORE_MCP_TOKENS".to_string(), "t0ken".to_string()));
    let health = |env: &[(String, String)]| run(env, &check[1..]).status().unwrap().success();
    assert!(!health(&env), "healthy before the server started");
    let mut server = run(&env, &entrypoint[1..]).spawn().unwrap();
    let started = Instant::now();
    while !health(&env) {
        assert!(started.elapsed() < Duration::from_secs(20), "never healthy");
        assert!(server.try_wait().unwrap().is_none(), "the server exited");
        std::thread::sleep(Duration::from_millis(50));
    }
    server.kill().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut server.stderr.take().unwrap(), &mut stderr).unwrap();
    server.wait().unwrap();
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        serde_json::from_str::<Value>(first).is_ok(),
        "MCP_LOG_FORMAT=json logs JSON lines: {first}"
    );
}

/// The files a Docker build context admits, as docker-py matches ignore
/// patterns (Docker's own rules: `!` exceptions, `**`, the Dockerfile kept).
fn admitted(context: &Path, ignore_file: &Path, dockerfile: &str) -> Vec<String> {
    let script = r##"
import os, sys
from docker.utils.build import exclude_paths
root, ignore, dockerfile = sys.argv[1:4]
patterns = [l.strip() for l in open(ignore).read().splitlines()]
patterns = [p for p in patterns if p and not p.startswith("#")]
for path in sorted(exclude_paths(root, patterns, dockerfile=dockerfile)):
    if os.path.isfile(os.path.join(root, path)):
        print(path)
"##;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(context)
        .arg(ignore_file)
        .arg(dockerfile)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(String::from).collect()
}

/// BuildKit reads `<Dockerfile>.dockerignore` beside the Dockerfile whatever the
/// context; a `.dockerignore` counts only at the context's root, which for a
/// crate using the runtime by path is the repository. Each crate's context,
/// planted with build output, dependencies and secrets, admits only sources.
#[test]
fn the_docker_build_context_admits_sources_only() {
    for dir in CRATES {
        let crate_dir = workspace_root().join(dir);
        assert!(
            !crate_dir.join(".dockerignore").exists(),
            "{dir}: Docker would not read it"
        );
        let dockerfile = std::fs::read_to_string(crate_dir.join("Dockerfile")).unwrap();
        // `docker build -f <crate in context>/Dockerfile -t … .`, run from the context.
        let build = dockerfile
            .lines()
            .find_map(|l| l.strip_prefix("#   docker build "))
            .expect("the Dockerfile says how to build it");
        let in_context = build.strip_prefix("-f ").map_or(".", |rest| {
            rest.split_once("/Dockerfile").expect("-f <dir>/Dockerfile").0
        });
        assert!(dir.ends_with(in_context), "{dir}: {in_context}");

        let context = tempfile::tempdir().unwrap();
        let sources = [
            "Cargo.toml",
            "Cargo.lock",
            "runtime/Cargo.toml",
            "runtime/src/lib.rs",
            &format!("{in_context}/Cargo.toml"),
            &format!("{in_context}/.cargo/config.toml"),
            &format!("{in_context}/src/main.rs"),
            &format!("{in_context}/.env.example"),
            &format!("{in_context}/Dockerfile"),
            &format!("{in_context}/Dockerfile.dockerignore"),
        ];
        let junk = [
            "target/debug/petstore-mcp",
            &format!("{in_context}/target/release/x"),
            "tests/node_modules/prism/index.js",
            ".git/config",
            &format!("{in_context}/.git/HEAD"),
            ".env",
            &format!("{in_context}/.env"),
            &format!("{in_context}/.env.production"),
            &format!("{in_context}/deploy/kubernetes.yaml"),
        ];
        for file in sources.iter().chain(&junk) {
            let path = context.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x").unwrap();
        }
        std::fs::copy(
            crate_dir.join("Dockerfile.dockerignore"),
            context.path().join(in_context).join("Dockerfile.dockerignore"),
        )
        .unwrap();
        let mut expected: Vec<String> = sources.iter().map(|s| s.trim_start_matches("./").to_string()).collect();
        expected.sort();
        let ignore = context.path().join(in_context).join("Dockerfile.dockerignore");
        let dockerfile_path = format!("{in_context}/Dockerfile");
        assert_eq!(
            admitted(context.path(), &ignore, dockerfile_path.trim_start_matches("./")),
            expected,
            "{dir}"
        );
    }
}

#[test]
fn kubernetes_manifests_are_valid_and_agree_with_the_image() {
    let validate = python_tool("kubernetes-validate");
    for dir in CRATES {
        let manifest = workspace_root().join(dir).join("deploy/kubernetes.yaml");
        let out = Command::new(&validate).arg("--strict").arg(&manifest).output().unwrap();
        let report = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{dir}: {report}");
        assert_eq!(report.matches(" passed for resource ").count(), 4, "{dir}: {report}");
    }

    let docs = yaml_documents(&workspace_root().join("examples/petstore/petstore-mcp/deploy/kubernetes.yaml"));
    let kind = |k: &str| docs.iter().find(|d| d["kind"] == k).unwrap_or_else(|| panic!("no {k}"));
    let (config, deployment, service, hpa) = (
        kind("ConfigMap"),
        kind("Deployment"),
        kind("Service"),
        kind("HorizontalPodAutoscaler"),
    );
    assert_eq!(config["data"]["MCP_HTTP"], "0.0.0.0:8000");
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], 65532);
    let container = &pod["containers"][0];
    assert_eq!(container["ports"][0]["containerPort"], 8000);
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(container["securityContext"]["allowPrivilegeEscalation"], false);
    for bound in ["requests", "limits"] {
        assert!(
            container["resources"][bound]["cpu"].is_string() && container["resources"][bound]["memory"].is_string()
        );
    }
    // Secrets by reference, never values; the non-secret base URL from the ConfigMap.
    let secret = |name: &str| {
        container["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["valueFrom"]["secretKeyRef"].clone())
    };
    assert_eq!(secret("PETSTORE_API_KEY").unwrap()["name"], "petstore-mcp");
    assert_eq!(secret("PETSTORE_MCP_TOKENS").unwrap()["key"], "PETSTORE_MCP_TOKENS");
    assert!(secret("PETSTORE_BASE_URL").is_none());
    // Replicas share a state store: its URL is required (pods don't start
    // without it, rather than each keeping its own), its key optional.
    let state = secret("MCP_STATE").expect("MCP_STATE from the Secret");
    assert_eq!(
        (state["key"].as_str(), state["optional"].as_bool()),
        (Some("MCP_STATE"), None)
    );
    assert_eq!(secret("MCP_STATE_KEY").unwrap()["optional"], true);
    assert!(config["data"]["PETSTORE_BASE_URL"].is_string());
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "http");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], deployment["metadata"]["name"]);
    assert!(hpa["spec"]["minReplicas"].as_u64().unwrap() >= 2);
}

const README_URL: &str = "http://127.0.0.1:8000/mcp";

/// `petstore-mcp --http` calling `upstream`, accepting `token`.
fn petstore_over_http(upstream: &Recorder, token: &str) -> anyhow::Result<mcpgen_tests::HttpServer> {
    mcpgen_tests::HttpServer::start(
        &[],
        &[
            ("PETSTORE_BASE_URL", upstream.base_url.as_str()),
            ("PETSTORE_API_KEY", API_KEY),
            ("PETSTORE_MCP_TOKENS", token),
        ],
    )
}

/// The README's HTTP host configs (Cursor, VS Code, YAML hosts: a `url` and an
/// `Authorization` header) reach a running server: the URL is its MCP endpoint
/// and the header form is the one it accepts. Their port is the README's
/// default, so each URL is checked, then moved to the test's loopback port.
#[tokio::test]
async fn the_readme_http_host_configs_reach_the_server() -> anyhow::Result<()> {
    const HTTP: &str = "### Over HTTP";
    let upstream = Recorder::start().await?;
    let token = "tok_readme_0123";
    let server = petstore_over_http(&upstream, token)?;
    assert!(server.url.ends_with("/mcp"));
    let vscode = readme_json(HTTP, "**VS Code** (`.vscode/mcp.json`)");
    assert_eq!(vscode["servers"]["petstore"]["type"], "http");
    let hosts = [
        (
            "Cursor",
            readme_json(HTTP, "**Cursor** (`.cursor/mcp.json`)")["mcpServers"]["petstore"].clone(),
        ),
        ("VS Code", vscode["servers"]["petstore"].clone()),
        ("YAML", readme_yaml(HTTP)["mcp_servers"]["petstore"].clone()),
    ];
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "readme", "version": "0"}}});
    let send = |auth: Option<String>| {
        let mut request = mcpgen_tests::http_client()
            .build()
            .unwrap()
            .post(&server.url)
            .header("Accept", "application/json, text/event-stream")
            .header("Content-Type", "application/json")
            .body(initialize.to_string());
        if let Some(auth) = auth {
            request = request.header("Authorization", auth);
        }
        request.send()
    };
    for (host, config) in hosts {
        assert_eq!(config["url"], README_URL, "{host}");
        let headers = config["headers"].as_object().unwrap();
        assert_eq!(headers.keys().collect::<Vec<_>>(), ["Authorization"], "{host}");
        let written = headers["Authorization"].as_str().unwrap();
        let authorization = if host == "VS Code" {
            vscode_input(&vscode, written, token)
        } else {
            assert_eq!(written, "Bearer …", "{host}");
            written.replace('…', token)
        };
        let answered = send(Some(authorization)).await?;
        assert_eq!(answered.status(), 200, "{host}");
        assert!(answered.text().await?.contains("petstore-mcp"), "{host}");
    }
    assert_eq!(send(None).await?.status(), 401, "the header is what lets the host in");
    Ok(())
}

/// Claude Desktop reaches HTTP servers through `mcp-remote` (a stdio bridge):
/// the README's config run as written, with the bridge from npm in place of
/// `npx -y` (no network here), and a client speaking to it over stdio.
#[tokio::test]
async fn the_readme_mcp_remote_config_bridges_to_the_server() -> anyhow::Result<()> {
    let upstream = Recorder::start().await?;
    let token = "tok_bridge_4567";
    let server = petstore_over_http(&upstream, token)?;
    let config = readme_json("### Over HTTP", "**Claude Desktop** (`claude_desktop_config.json`)");
    let entry = &config["mcpServers"]["petstore"];
    assert_eq!(entry["command"], "npx");
    let args: Vec<&str> = entry["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let at = args
        .iter()
        .position(|a| *a == "mcp-remote")
        .expect("npx runs mcp-remote");
    assert_eq!(&args[..at], ["-y"]);
    let bridge_args: Vec<String> = args[at + 1..]
        .iter()
        .map(|a| {
            if *a == README_URL {
                server.url.clone()
            } else {
                a.to_string()
            }
        })
        .collect();
    assert!(bridge_args.contains(&server.url), "the README's URL: {args:?}");
    let home = tempfile::tempdir()?;
    let mut command = tokio::process::Command::new(node_tool(".bin/mcp-remote")?);
    command
        .args(&bridge_args)
        .env_clear()
        .envs(host_environment(home.path()))
        .env("PATH", node_path())
        .current_dir("/")
        .kill_on_drop(true);
    for (name, value) in entry["env"].as_object().unwrap() {
        assert_eq!(value, "Bearer …", "{name}");
        command.env(name, format!("Bearer {token}"));
    }
    let (transport, _) = TokioChildProcess::builder(command).stderr(Stdio::null()).spawn()?;
    let client = tokio::time::timeout(Duration::from_secs(60), ().serve(transport)).await??;
    check_petstore(&client, &upstream, "mcp-remote").await?;
    client.cancel().await?;
    Ok(())
}
