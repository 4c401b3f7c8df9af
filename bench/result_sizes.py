#!/usr/bin/env python3
"""Result sizes of the generated GitHub server, before and after the default
result budgets, on the largest example responses of GitHub's spec.

    bench/result_sizes.py [--top 20]

Generates and builds the GitHub crate (bench/.work/results-github, release),
serves each chosen operation's example from a local mock API, and calls its
tool over stdio three times: with no budget (`--result-budget 0`: the whole
result in one message, as before budgets), with the stdio default (60000)
and with the HTTP default (800000). For each it prints the size of the
`tools/call` response line, how many `resources/read` pages hold the whole
result, and whether those pages rejoin to exactly what the API sent.
Everything listens on 127.0.0.1 and stops at exit.
"""

import http.server
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "tests/node_modules/@octokit/openapi/generated/api.github.com.json"
WORK = REPO / "bench/.work/results-github"
BUDGETS = [("no budget", 0), ("stdio default", 60000), ("HTTP default", 800000)]


def resolve(doc, value, depth=0):
    while isinstance(value, dict) and "$ref" in value and depth < 16:
        ref = value["$ref"]
        if not ref.startswith("#/"):
            return None
        value = doc
        for part in ref[2:].split("/"):
            value = value.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(value, dict) else {}
        depth += 1
    return value


def examples(doc):
    """(method, path, operationId, status, example) of each operation's first 2xx JSON example."""
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete") or not isinstance(op, dict):
                continue
            for status, response in op.get("responses", {}).items():
                if not status.startswith("2"):
                    continue
                response = resolve(doc, response) or {}
                media = (response.get("content") or {}).get("application/json")
                if not media:
                    continue
                example = media.get("example")
                if example is None and media.get("examples"):
                    first = resolve(doc, next(iter(media["examples"].values()))) or {}
                    example = first.get("value")
                if example is not None:
                    yield method.upper(), path, op.get("operationId"), int(status), example
                break


def sample(schema, depth=0):
    """A value the tool's input schema accepts, for a required argument."""
    if not isinstance(schema, dict) or depth > 6:
        return "x"
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return sample(schema[key][0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "integer" or kind == "number":
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return True
    if kind == "array":
        return [sample(schema.get("items", {}), depth + 1)] if schema.get("minItems", 0) > 0 else []
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: sample(props.get(name, {}), depth + 1) for name in schema.get("required", [])}
    if schema.get("format") == "date-time":
        return "2020-01-01T00:00:00Z"
    return "x"


class Mock(http.server.BaseHTTPRequestHandler):
    routes = []  # (method, regex, status, body bytes)

    def answer(self):
        path = self.path.split("?")[0]
        for method, pattern, status, body in self.routes:
            if method == self.command and pattern.fullmatch(path):
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
        self.send_response(404)
        self.end_headers()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = answer

    def log_message(self, *args):
        pass


class Server:
    """The generated server over stdio, raw JSON-RPC."""

    def __init__(self, binary, base_url, budget):
        env = {"PATH": os.environ["PATH"], "GITHUB_MCP_BASE_URL": base_url, "BENCH_BASE_URL": base_url}
        self.proc = subprocess.Popen(
            [binary, "--surface", "tools", "--result-budget", str(budget)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True,
        )
        self.next = 0
        self.request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                    "clientInfo": {"name": "result-sizes", "version": "0"}})
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def send(self, message):
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def request(self, method, params):
        """The response line and its parsed result."""
        self.next += 1
        self.send({"jsonrpc": "2.0", "id": self.next, "method": method, "params": params})
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit(f"the server exited during {method}")
            message = json.loads(line)
            if message.get("id") == self.next:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return len(line.rstrip("\n").encode()), message["result"]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def build():
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "mcpgen.yaml").write_text(
        f"spec: {SPEC}\noutput: github-mcp\nserver: {{name: github-mcp}}\n"
        f"runtime: {{path: {REPO / 'runtime'}}}\nbase_url: {{env: GITHUB_MCP_BASE_URL}}\n"
    )
    subprocess.run(["cargo", "run", "--quiet", "--release", "-p", "mcpgen", "--", "generate", "--config",
                    str(WORK / "mcpgen.yaml")], check=True, cwd=REPO, stderr=subprocess.DEVNULL)
    subprocess.run(["cargo", "build", "--release", "--quiet", "--target-dir", str(REPO / "bench/.work/target")],
                   check=True, cwd=WORK / "github-mcp")
    return str(REPO / "bench/.work/target/release/github-mcp")


def main():
    top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv else 20
    doc = json.loads(SPEC.read_text())
    chosen = sorted(examples(doc), key=lambda e: -len(json.dumps(e[4], separators=(",", ":"))))[:top]
    Mock.routes = [
        (method, re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path))), status,
         json.dumps(example, separators=(",", ":")).encode())
        for method, path, _, status, example in chosen
    ]
    mock = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Mock)
    threading.Thread(target=mock.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{mock.server_address[1]}"
    binary = build()
    servers = {label: Server(binary, base_url, budget) for label, budget in BUDGETS}
    _, listed = servers["no budget"].request("tools/list", {})
    tools = {t["name"]: t for t in listed["tools"]}
    print("| operation | example (bytes) | " + " | ".join(f"{label}: line bytes (pages)" for label, _ in BUDGETS)
          + " | pages rejoin |")
    print("|---|---|" + "---|" * len(BUDGETS) + "---|")
    totals = {label: 0 for label, _ in BUDGETS}
    for method, path, op_id, _, example in chosen:
        # The tool named after the operationId, snake_cased as mcpgen does.
        name = re.sub(r"[^a-zA-Z0-9]+", "_", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", op_id or "")).strip("_").lower()
        tool = tools.get(name)
        if tool is None:
            print(f"| `{op_id}` | — | not a tool |")
            continue
        args = sample(tool["inputSchema"])
        cells, rejoined = [], "—"
        for label, budget in BUDGETS:
            size, result = servers[label].request("tools/call", {"name": name, "arguments": args})
            links = [c for c in result.get("content", []) if c.get("type") == "resource_link"]
            pages = 1
            if links:
                text, uri, pages = "", links[0]["uri"], 0
                while uri:
                    _, page = servers[label].request("resources/read", {"uri": uri})
                    contents = page["contents"][0]
                    text += contents.get("text", "")
                    pages += 1
                    uri = (contents.get("_meta") or {}).get("next")
                whole = json.loads(text)
                ok = whole == example
                rejoined = "✓" if ok and rejoined in ("—", "✓") else "✗"
            if result.get("isError"):
                cells.append(f"error: {result['content'][0]['text'][:60]}")
            else:
                cells.append(f"{size:,} ({pages})")
            totals[label] += size
        size = len(json.dumps(example, separators=(",", ":")))
        print(f"| `{method} {path}` | {size:,} | " + " | ".join(cells) + f" | {rejoined} |")
    print("| **all of them** | | " + " | ".join(f"**{totals[label]:,}**" for label, _ in BUDGETS) + " | |")
    for server in servers.values():
        server.close()
    mock.shutdown()


if __name__ == "__main__":
    main()
