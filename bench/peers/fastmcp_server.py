#!/usr/bin/env python3
"""Serve an OpenAPI document with FastMCP.from_openapi (the fastmcp peer).

    fastmcp_server.py SPEC BASE_URL [--http PORT]

Every operation becomes a tool (fastmcp's default route map); requests go to
BASE_URL with the `X-API-Key` header the petstore spec asks for. stdio by
default, streamable HTTP on 127.0.0.1:PORT with --http.
"""

import json
import sys

import httpx2
import yaml
from fastmcp import FastMCP


def main():
    spec_path, base_url = sys.argv[1], sys.argv[2]
    with open(spec_path) as f:
        spec = json.load(f) if spec_path.endswith(".json") else yaml.safe_load(f)
    client = httpx2.AsyncClient(base_url=base_url, headers={"X-API-Key": "bench-key"}, timeout=30)
    mcp = FastMCP.from_openapi(openapi_spec=spec, client=client, name="fastmcp-peer")
    if "--http" in sys.argv:
        port = int(sys.argv[sys.argv.index("--http") + 1])
        mcp.run(transport="http", host="127.0.0.1", port=port, show_banner=False, log_level="warning")
    else:
        mcp.run(show_banner=False)


if __name__ == "__main__":
    main()
