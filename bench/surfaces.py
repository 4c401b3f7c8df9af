#!/usr/bin/env python3
"""What each surface costs a host, for generated servers, in one run.

    bench/surfaces.py NAME=BINARY[,VAR=VALUE...] ... [--runs N]

For each server and each surface (tools, discovery, both; chosen with
MCP_SURFACE), runs bench/startup.py (spawn -> first tools/list over raw
JSON-RPC, resident memory after it) and prints a Markdown table with the
tools/list size in bytes and estimated tokens (one per 4 bytes, as
`mcpgen list` counts). Example:

    bench/surfaces.py petstore=target/release/petstore-mcp,PETSTORE_API_KEY=k \\
                      github=target/release/github-mcp
"""

import re
import subprocess
import sys
from pathlib import Path

STARTUP = Path(__file__).resolve().parent / "startup.py"


def measure(binary, env, surface, runs):
    out = subprocess.run(
        [sys.executable, STARTUP, binary, *env, f"MCP_SURFACE={surface}", "--runs", str(runs)],
        check=True, capture_output=True, text=True,
    ).stdout
    field = lambda label: re.search(rf"{label}\s+(.+)", out).group(1).strip()
    size = int(field("tools/list size").split()[0])
    return field("spawn -> tools/list"), size, field("RSS after tools/list")


def main():
    args = sys.argv[1:]
    runs = 20
    if "--runs" in args:
        i = args.index("--runs")
        runs = int(args[i + 1])
        del args[i : i + 2]
    if not args:
        raise SystemExit(__doc__)
    print("| server | surface | tools/list bytes | ~tokens | spawn → first tools/list | RSS after it |")
    print("|---|---|---|---|---|---|")
    for arg in args:
        name, rest = arg.split("=", 1)
        binary, *env = rest.split(",")
        for surface in ["tools", "discovery", "both"]:
            time, size, rss = measure(binary, env, surface, runs)
            print(f"| {name} | {surface} | {size:,} | {-(-size // 4):,} | {time} | {rss} |")


if __name__ == "__main__":
    main()
