#!/usr/bin/env python3
"""What sharing state costs: the release petstore-mcp over HTTP with its state
in memory (the default) against the same binary on a shared Redis, side by
side in one run, on one machine.

    bench/state.sh            # 10 s per load run
    bench/state.sh --smoke    # 2 s per run (CI runs this so it never rots)

Load: wrk posting tools/call (get_pet_by_id, a small answer) at 8 connections
against a canned nginx upstream. Each configuration reports calls/s, p50 and
p99, and CPU per call: the server's, and with Redis the store's too (both
are what a call costs the deployment). The rate-limit check runs on every
call when on, so it is measured on and off. Then memory per held megabyte:
results over the frame budget (list_pets answering ~256 KB) held until
~16 MB are held, the growth of the server's RSS (memory) or of Redis's
used_memory (shared), per megabyte of result held. Ratios are against the
in-memory, no-rate-limit run; the machine is shared, so read ratios, not
absolute figures. Everything listens on 127.0.0.1 and stops at exit.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SMOKE = "--smoke" in sys.argv
SECONDS = 2 if SMOKE else 10
TOKEN = "bench-token"
KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="  # 32 bytes, base64
HELD_TARGET = 4 << 20 if SMOKE else 16 << 20
TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what):
    for _ in range(200):
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited early ({proc.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{what} did not listen on {port}")


def which(name):
    found = shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)), None)
    if not found:
        raise SystemExit(f"needs {name}: apt-get install wrk nginx-light redis-server")
    return found


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_bytes(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def redis_used_memory(port):
    out = subprocess.run([which("redis-cli"), "-p", str(port), "INFO", "memory"], capture_output=True, text=True).stdout
    return next(int(l.split(":")[1]) for l in out.splitlines() if l.startswith("used_memory:"))


def post(port, body):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/mcp",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
                 "MCP-Protocol-Version": "2025-11-25", "Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def call(port, tool, arguments):
    return post(port, {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}})["result"]


class Processes:
    def __init__(self):
        self.procs = []
        self.work = Path(tempfile.mkdtemp())

    def start(self, argv, env=None, what="process"):
        log = open(self.work / f"{len(self.procs)}.log", "w")
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log)
        self.procs.append(proc)
        return proc

    def stop(self, proc):
        proc.terminate()
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()

    def close(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
        shutil.rmtree(self.work, ignore_errors=True)


def upstream(procs):
    port = free_port()
    pet = {"id": 1, "name": "Rex", "category": "dog", "status": "available", "tags": ["friendly"]}
    pets = json.dumps([dict(pet, id=i, name=f"pet {i} " + "x" * 100) for i in range(1800)])
    (procs.work / "pets.json").write_text(pets)
    w = procs.work
    (w / "nginx.conf").write_text(f"""daemon off; master_process off; worker_processes 1;
pid {w}/nginx.pid; error_log {w}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {w}/b; proxy_temp_path {w}/p; fastcgi_temp_path {w}/f; uwsgi_temp_path {w}/u; scgi_temp_path {w}/s;
  server {{
    listen 127.0.0.1:{port};
    keepalive_requests 1000000;
    location = /pets {{ default_type application/json; alias {w}/pets.json; }}
    location / {{ default_type application/json; return 200 '{json.dumps(pet)}'; }}
  }}
}}
""")
    proc = procs.start([which("nginx"), "-p", str(w), "-c", str(w / "nginx.conf")], what="nginx")
    wait_port(port, proc, "nginx")
    return port, len(pets)


def server(procs, binary, upstream_port, state, rate_limit, budget=None, sealed=False):
    port = free_port()
    env = {"PATH": os.environ.get("PATH", ""), "PETSTORE_BASE_URL": f"http://127.0.0.1:{upstream_port}",
           "PETSTORE_API_KEY": "bench-key", "PETSTORE_MCP_TOKENS": TOKEN, "MCP_STATE": state}
    if sealed:
        env["MCP_STATE_KEY"] = KEY
    argv = [str(binary), "--http", f"127.0.0.1:{port}", "--rate-limit", str(rate_limit),
            "--max-calls", "4096", "--max-calls-per-client", "4096"]
    if budget:
        argv += ["--result-budget", str(budget)]
    proc = procs.start(argv, env=env, what="petstore-mcp")
    wait_port(port, proc, "petstore-mcp")
    return proc, port


def wrk(procs, port, seconds):
    script = procs.work / "call.lua"
    script.write_text(f"""wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-11-25"
wrk.headers["Authorization"] = "Bearer {TOKEN}"
wrk.body = '{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"get_pet_by_id","arguments":{{"petId":1}}}}}}'
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.3f %.3f %d %d\\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests))
end
""")
    out = subprocess.run([which("wrk"), "-t1", "-c8", f"-d{seconds}s", "--latency", "-s", str(script),
                          f"http://127.0.0.1:{port}/mcp"], capture_output=True, text=True)
    line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT")), None)
    if not line:
        raise SystemExit(f"wrk failed: {out.stdout}{out.stderr}")
    rps, p50, p99, errors, total = line.split()[1:]
    return float(rps), float(p50), float(p99), int(errors), int(total)


def main():
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "petstore-mcp"], cwd=REPO, check=True)
    meta = json.loads(subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=REPO,
                                     capture_output=True, text=True, check=True).stdout)
    binary = Path(meta["target_directory"]) / "release/petstore-mcp"
    procs = Processes()
    try:
        upstream_port, list_bytes = upstream(procs)
        redis_port = free_port()
        redis = procs.start([which("redis-server"), "--port", str(redis_port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no"], what="redis-server")
        wait_port(redis_port, redis, "redis-server")
        shared = f"redis://127.0.0.1:{redis_port}/0"
        every_call = 1_000_000_000  # a limit never reached: the check runs on every call

        print(f"## Shared state: calls ({SECONDS} s each, 8 connections, {os.cpu_count()} cores)\n")
        print("| state | rate limit | calls/s | p50 ms | p99 ms | CPU/call: server | CPU/call: store | CPU/call: total | total vs baseline |")
        print("|---|---|---|---|---|---|---|---|---|")
        baseline = None
        for label, state, limit, sealed in [("memory", "memory", 0, False), ("memory", "memory", every_call, False),
                                            ("Redis", shared, 0, False), ("Redis", shared, every_call, False),
                                            ("Redis, sealed", shared, every_call, True)]:
            proc, port = server(procs, binary, upstream_port, state, limit, sealed=sealed)
            answer = call(port, "get_pet_by_id", {"petId": 1})
            if answer.get("isError"):
                raise SystemExit(f"a call failed before measuring: {answer}")
            wrk(procs, port, 1)  # warm-up
            cpu0, store0 = cpu_seconds(proc.pid), cpu_seconds(redis.pid)
            rps, p50, p99, errors, total = wrk(procs, port, SECONDS)
            server_us = (cpu_seconds(proc.pid) - cpu0) / total * 1e6
            store_us = (cpu_seconds(redis.pid) - store0) / total * 1e6
            if errors:
                raise SystemExit(f"{errors} errors under load ({label}, rate limit {limit})")
            whole = server_us + store_us
            baseline = baseline or whole
            print(f"| {label} | {'every call' if limit else 'off'} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | "
                  f"{server_us:.0f} µs | {store_us:.0f} µs | {whole:.0f} µs | {whole / baseline:.2f}× |")
            procs.stop(proc)

        print(f"\n## Shared state: memory per held megabyte (results of {list_bytes / 1024:.0f} KB held until "
              f"{HELD_TARGET >> 20} MB are)\n")
        print("| state | held | growth | per held MB |")
        print("|---|---|---|---|")
        for label, state, sealed in [("memory (server RSS)", "memory", False), ("Redis (used_memory)", shared, False),
                                     ("Redis, sealed (used_memory)", shared, True)]:
            subprocess.run([which("redis-cli"), "-p", str(redis_port), "FLUSHALL"], capture_output=True, check=True)
            proc, port = server(procs, binary, upstream_port, state, 0, budget=20000, sealed=sealed)
            call(port, "list_pets", {})  # the first call's one-time allocations, before the baseline
            measure = (lambda: rss_bytes(proc.pid)) if state == "memory" else (lambda: redis_used_memory(redis_port))
            before, held = measure(), 0
            while held < HELD_TARGET:
                result = call(port, "list_pets", {})
                link = next((c for c in result["content"] if c.get("type") == "resource_link"), None)
                if not link:
                    raise SystemExit(f"no result link: {json.dumps(result)[:500]}")
                held += link["size"]
            growth = measure() - before
            print(f"| {label} | {held / 1e6:.1f} MB | {growth / 1e6:.1f} MB | {growth / held:.2f} MB |")
            procs.stop(proc)
    finally:
        procs.close()


if __name__ == "__main__":
    main()
