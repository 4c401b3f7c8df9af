"""Drive a generated MCP server over stdio with the official Python MCP SDK.

Usage: stdio_client.py SERVER_BINARY BASE_URL API_KEY

Spawns the server the way hosts do (a filtered environment plus the declared
variables), then lists tools and calls them against the upstream at BASE_URL
(a Prism mock of examples/petstore/openapi.yaml). Exits non-zero with a
message on the first failed expectation; prints one line per check.
"""

import asyncio
import json
import sys

from mcp import Client
from mcp.client.stdio import StdioServerParameters

passed = 0


def check(condition, what, detail=None):
    global passed
    if not condition:
        raise SystemExit(f"FAILED: {what}" + (f"\n{detail}" if detail is not None else ""))
    passed += 1
    print(f"ok: {what}")


def text_of(result):
    return "\n".join(block.text for block in result.content if getattr(block, "type", None) == "text")


async def main(binary, base_url, api_key):
    params = StdioServerParameters(
        command=binary,
        args=[],
        env={"PETSTORE_BASE_URL": base_url, "PETSTORE_API_KEY": api_key, "RUST_LOG": "info"},
    )
    async with Client(params, read_timeout_seconds=30) as client:
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
        check(result.structured_content["result"][0]["name"] == "Rex", "array results are wrapped as {result: [...]}")

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

    print(f"{passed} passed, 0 failed")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
