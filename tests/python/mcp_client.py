"""Drive the generated petstore MCP server with the official Python MCP SDK.

Usage:
  mcp_client.py stdio SERVER_BINARY BASE_URL API_KEY
      spawn the server the way hosts do (a filtered environment plus the
      declared variables), its upstream at BASE_URL
  mcp_client.py http MCP_URL TOKEN API_KEY
      connect over streamable HTTP with `Authorization: Bearer TOKEN`; also
      check that no token gets 401 and a foreign Origin gets 403
  mcp_client.py calls MCP_URL TOKEN COUNT
      one HTTP session making COUNT successful calls (for replica tests)

The upstream is a Prism mock of examples/petstore/openapi.yaml. Exits non-zero
with a message on the first failed expectation; prints one line per check.
"""

import asyncio
import json
import sys

import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

passed = 0


def check(condition, what, detail=None):
    global passed
    if not condition:
        raise SystemExit(f"FAILED: {what}" + (f"\n{detail}" if detail is not None else ""))
    passed += 1
    print(f"ok: {what}")


def text_of(result):
    return "\n".join(block.text for block in result.content if getattr(block, "type", None) == "text")


def http_transport(url, headers, statuses=None):
    async def record(response):
        if statuses is not None:
            statuses.append(response.status_code)

    client = httpx2.AsyncClient(headers=headers, timeout=30, event_hooks={"response": [record]})
    return streamable_http_client(url, http_client=client)


async def session_checks(server, api_key):
    async with Client(server, read_timeout_seconds=30) as client:
        info = client.server_info
        check(info is not None and info.name == "petstore-mcp", "server identifies as petstore-mcp", info)

        listing = await client.list_tools()
        tools = {tool.name: tool for tool in listing.tools}
        check(len(tools) == 16, "16 tools listed", sorted(tools))
        check("delete_user" not in tools, "excluded operation is not a tool")
        get_pet = tools["get_pet_by_id"]
        check(get_pet.input_schema["required"] == ["petId"], "get_pet_by_id requires petId", get_pet.input_schema)
        check(get_pet.annotations.read_only_hint is True, "GET tools are read-only", get_pet.annotations)
        check(tools["cancel_order"].annotations.destructive_hint is True, "DELETE tools are destructive")

        result = await client.call_tool("get_pet_by_id", {"petId": 1})
        check(not result.is_error, "GET with a path parameter succeeds", text_of(result))
        check(result.structured_content["name"] == "Rex", "structured result carries the pet", result.structured_content)
        check(json.loads(text_of(result))["id"] == 1, "text content is the same JSON")

        result = await client.call_tool("list_pets", {"status": "available", "tags": ["friendly", "calm"], "limit": 5})
        check(not result.is_error, "GET with query parameters succeeds", text_of(result))
        check(result.structured_content["items"][0]["name"] == "Rex", "paged results list their items", result.structured_content)
        check(result.structured_content["complete"] is True, "one short page is the whole list", result.structured_content)

        result = await client.call_tool("find_pets_by_tags", {"tags": ["friendly"]})
        check(not result.is_error, "GET with a non-exploded array succeeds", text_of(result))
        check(isinstance(result.structured_content["result"], list), "array results are wrapped as {result: [...]}")

        result = await client.call_tool("create_pet", {"name": "Bella", "category": "dog", "tags": ["puppy"]})
        check(not result.is_error, "POST with a JSON body succeeds", text_of(result))
        check(result.structured_content["id"] == 3, "POST returns the created pet", result.structured_content)

        result = await client.call_tool("get_pet_by_id", {"petId": "not-a-number"})
        check(result.is_error, "a bad argument is a tool error")
        check("petId" in text_of(result) and "nothing was sent" in text_of(result), "the error names the argument", text_of(result))

        result = await client.call_tool("list_orders", {"since": "last tuesday"})
        check(result.is_error, "an upstream 422 is a tool error", text_of(result))
        check(result.structured_content["status"] == 422, "the error carries the upstream status", result.structured_content)
        check(api_key not in text_of(result), "the API key never appears in results")


async def refused(url, headers):
    """The HTTP status that stopped a session from starting (None if it started).

    The SDK reports a refused connection as a generic error, so the statuses
    are read off the HTTP client's responses."""
    statuses = []
    try:
        async with Client(http_transport(url, headers, statuses), read_timeout_seconds=10):
            return None
    except Exception:  # the SDK raises an exception group around an MCPError
        return statuses[0] if statuses else None


async def main(mode, target, secret, api_key):
    if mode == "stdio":
        env = {"PETSTORE_BASE_URL": secret, "PETSTORE_API_KEY": api_key, "RUST_LOG": "info"}
        await session_checks(StdioServerParameters(command=target, args=[], env=env), api_key)
    elif mode == "http":
        await session_checks(http_transport(target, {"Authorization": f"Bearer {secret}"}), api_key)
        check(await refused(target, {}) == 401, "no token: 401")
        check(await refused(target, {"Authorization": "Bearer wrong-token"}) == 401, "a wrong token: 401")
        bad_origin = {"Authorization": f"Bearer {secret}", "Origin": "https://evil.example"}
        check(await refused(target, bad_origin) == 403, "a foreign Origin: 403")
    elif mode == "calls":
        async with Client(http_transport(target, {"Authorization": f"Bearer {secret}"})) as client:
            for i in range(int(api_key)):
                result = await client.call_tool("get_pet_by_id", {"petId": i + 1})
                check(not result.is_error, f"call {i + 1} succeeds", text_of(result))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(f"{passed} passed, 0 failed")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
