#!/usr/bin/env python3
"""Start-up of a generated server over stdio, measured as a host sees it.

    bench/startup.py BINARY [NAME=VALUE ...] [--runs N]

Spawns BINARY N times (default 30) with only PATH and the given environment,
and reports, as median (min-max): spawn -> initialize response, spawn ->
first tools/list response, the tools/list size, and the resident memory
after tools/list. Example:

    bench/startup.py target/release/petstore-mcp PETSTORE_API_KEY=k
"""

import json
import os
import statistics
import subprocess
import sys
import time


def main():
    args = sys.argv[1:]
    runs = 30
    if "--runs" in args:
        i = args.index("--runs")
        runs = int(args[i + 1])
        del args[i : i + 2]
    if not args:
        raise SystemExit(__doc__)
    binary, assignments = args[0], args[1:]
    env = {"PATH": os.environ.get("PATH", ""), "RUST_LOG": "warn"}
    env.update(a.split("=", 1) for a in assignments)
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "startup-bench", "version": "1"}}}
    to_init, to_list, rss, size = [], [], [], 0
    for _ in range(runs):
        started = time.perf_counter()
        server = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, env=env, text=True, bufsize=1)
        server.stdin.write(json.dumps(initialize) + "\n")
        server.stdin.flush()
        if "result" not in json.loads(server.stdout.readline()):
            raise SystemExit("initialize failed")
        to_init.append((time.perf_counter() - started) * 1000)
        server.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n")
        server.stdin.write(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}) + "\n")
        server.stdin.flush()
        line = server.stdout.readline()
        to_list.append((time.perf_counter() - started) * 1000)
        size = len(line)
        with open(f"/proc/{server.pid}/status") as status:
            rss += [int(l.split()[1]) / 1024 for l in status if l.startswith("VmRSS")]
        server.stdin.close()
        server.wait(timeout=10)
    tools = len(json.loads(line)["result"]["tools"])

    def spread(values, unit):
        return f"{statistics.median(values):.1f} {unit} ({min(values):.1f}-{max(values):.1f})"

    print(f"{binary}: {runs} runs, {tools} tools")
    print(f"  spawn -> initialize   {spread(to_init, 'ms')}")
    print(f"  spawn -> tools/list   {spread(to_list, 'ms')}")
    print(f"  tools/list size       {size} bytes")
    print(f"  RSS after tools/list  {spread(rss, 'MiB')}")


if __name__ == "__main__":
    main()
