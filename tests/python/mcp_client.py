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
  mcp_client.py pages MCP_URL TOKEN PAGE_SIZE
      follow tools/list cursors of a server paging its list by PAGE_SIZE
  mcp_client.py toolset MCP_URL TOKEN STORE_TOOLS
      the `store` toolset's endpoint (MCP_URL/store): only its tools, and a
      call of another tool refused
  mcp_client.py discovery SERVER_BINARY BASE_URL API_KEY
      the discovery surface over stdio: search, describe, call
  mcp_client.py github SERVER_BINARY BASE_URL
      GitHub's whole API through the discovery surface, against a recording upstream
  mcp_client.py results MCP_URL TOKEN EXPECTED_JSON
      the upstream lab's `get_fault many` over a small result budget: a
      preview, and its resource_link read page by page to EXPECTED_JSON (a file)

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


def meta_of(tool):
    """A listed tool's `_meta`, whichever name this SDK generation gives it."""
    return tool.model_dump(by_alias=True, exclude_none=True).get("_meta")


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
        always = [name for name, tool in tools.items() if (meta_of(tool) or {}).get("anthropic/alwaysLoad") is True]
        check(always == ["list_pets"], "only the tool mcpgen.yaml keeps loaded carries alwaysLoad", always)
        check("16 operations, in these toolsets:\n- pets (" in (client.instructions or ""),
              "the instructions carry the catalog of toolsets", client.instructions)

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


async def pages(url, token, page_size):
    async with Client(http_transport(url, {"Authorization": f"Bearer {token}"})) as client:
        names, cursor, count = [], None, 0
        while True:
            page = await client.list_tools(cursor=cursor, cache_mode="refresh")
            count += 1
            check(len(page.tools) <= page_size, f"page {count} holds at most {page_size} tools", len(page.tools))
            names += [tool.name for tool in page.tools]
            cursor = page.next_cursor
            if cursor is None or count > 20:
                break
        check(len(names) == 16 and len(set(names)) == 16, "the pages hold every tool once", names)
        check(count == -(-16 // page_size), f"{count} pages of {page_size}")
        try:
            await client.list_tools(cursor="not-a-cursor", cache_mode="refresh")
            check(False, "an invalid cursor is refused")
        except Exception as error:  # MCPError
            check("invalid cursor" in str(error), "an invalid cursor is refused, saying why", error)


async def toolset(url, token, store_tools):
    async with Client(http_transport(url + "/store", {"Authorization": f"Bearer {token}"})) as client:
        listing = await client.list_tools()
        names = sorted(tool.name for tool in listing.tools)
        check(names == sorted(store_tools.split(",")), "the store endpoint lists the store's tools only", names)
        result = await client.call_tool("get_inventory", {})
        check(not result.is_error, "a store tool is called", text_of(result))
        try:
            result = await client.call_tool("get_pet_by_id", {"petId": 1})
            check(False, "a tool outside the toolset is refused", text_of(result))
        except Exception as error:
            check("unknown tool" in str(error), "a tool outside the toolset is unknown here", error)


async def discovery(binary, base_url, api_key):
    env = {"PETSTORE_BASE_URL": base_url, "PETSTORE_API_KEY": api_key}
    server = StdioServerParameters(command=binary, args=["--surface", "discovery"], env=env)
    async with Client(server, read_timeout_seconds=30) as client:
        listing = await client.list_tools()
        tools = {tool.name: tool for tool in listing.tools}
        check(sorted(tools) == ["call_read_operation", "call_write_operation", "describe_operation", "search_operations"],
              "four meta-tools listed", sorted(tools))
        check(tools["call_read_operation"].annotations.read_only_hint is True, "the read call tool is read-only")
        check(tools["call_write_operation"].annotations.destructive_hint is True, "the write call tool may destroy")
        check(all((meta_of(t) or {}).get("anthropic/alwaysLoad") is True for t in tools.values()),
              "hosts that defer tools keep the meta-tools loaded", [meta_of(t) for t in tools.values()])
        check("find it with search_operations" in (client.instructions or ""),
              "the instructions say how to find operations", client.instructions)
        found = await client.call_tool("search_operations", {"query": "get a pet by its id", "limit": 3, "describe": 1})
        best = found.structured_content["operations"][0]
        check(best["name"] == "get_pet_by_id" and best["required"] == ["petId"], "hits name their required arguments",
              found.structured_content)
        check(best["details"]["input_schema"]["required"] == ["petId"] and "details" not in found.structured_content["operations"][1],
              "`describe: 1` gives the best hit's schema in the same call", found.structured_content)

        found = await client.call_tool("search_operations", {"query": "place an order for a pet"})
        names = [op["name"] for op in found.structured_content["operations"]]
        check(names[0] == "place_order", "search ranks the operation first", names)
        described = await client.call_tool("describe_operation", {"operation": "get_pet_by_id"})
        check(described.structured_content["input_schema"]["required"] == ["petId"], "describe gives the input schema",
              described.structured_content)
        check(described.structured_content["call_with"] == "call_read_operation", "describe names the call tool")
        result = await client.call_tool("call_read_operation", {"operation": "get_pet_by_id", "arguments": {"petId": 1}})
        check(not result.is_error and result.structured_content["name"] == "Rex", "a read through the call tool",
              text_of(result))
        result = await client.call_tool("call_read_operation", {"operation": "place_order", "arguments": {}})
        check(result.is_error and "call_write_operation" in text_of(result), "the read call tool refuses a write",
              text_of(result))
        result = await client.call_tool("call_write_operation",
                                        {"operation": "create_pet", "arguments": {"name": "Bella", "category": "dog"}})
        check(not result.is_error and result.structured_content["id"] == 3, "a write through the call tool",
              text_of(result))
        result = await client.call_tool("describe_operation", {"operation": "get_pets_by_id"})
        check(result.is_error and "get_pet_by_id" in text_of(result), "an unknown name gets the closest ones",
              text_of(result))
        check(api_key not in text_of(result), "the API key never appears in results")


async def github(binary, base_url):
    server = StdioServerParameters(command=binary, args=[], env={"GITHUB_BASE_URL": base_url})
    async with Client(server, read_timeout_seconds=30) as client:
        listing = await client.list_tools()
        check(len(listing.tools) == 4, "the discovery surface is the default", [t.name for t in listing.tools])
        found = await client.call_tool("search_operations", {"query": "star a repository", "limit": 5})
        names = [op["name"] for op in found.structured_content["operations"]]
        check("activity_star_repo_for_authenticated_user" in names, "search finds the operation", names)
        described = await client.call_tool("describe_operation", {"operation": "activity_star_repo_for_authenticated_user"})
        check(described.structured_content["method"] == "PUT", "describe gives the request", described.structured_content)
        check(sorted(described.structured_content["input_schema"]["required"]) == ["owner", "repo"], "and the arguments")
        arguments = {"owner": "octo", "repo": "hello"}
        result = await client.call_tool("call_write_operation",
                                        {"operation": "activity_star_repo_for_authenticated_user", "arguments": arguments})
        check(not result.is_error and "/user/starred/octo/hello" in text_of(result), "the call reaches the API",
              text_of(result))
        result = await client.call_tool("call_read_operation", {"operation": "repos_get", "arguments": arguments})
        check(not result.is_error and "/repos/octo/hello" in text_of(result), "a read reaches the API", text_of(result))


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


async def results(url, token, expected_file):
    with open(expected_file) as f:
        expected = json.load(f)
    async with Client(http_transport(url, {"Authorization": f"Bearer {token}"}), read_timeout_seconds=30) as client:
        result = await client.call_tool("get_fault", {"kind": "many"})
        check(not result.is_error, "the call succeeds", text_of(result))
        check("items of `$.items` are shown" in text_of(result), "the note says what is shown", text_of(result))
        check(len(result.structured_content["items"]) < 400, "a preview, not all 400 items")
        links = [block for block in result.content if getattr(block, "type", None) == "resource_link"]
        check(len(links) == 1 and links[0].mime_type == "application/json", "one resource_link to JSON", links)
        text, pages, uri = "", 0, links[0].uri
        while uri:
            read = await client.read_resource(uri)
            text += read.contents[0].text
            pages += 1
            uri = (read.contents[0].meta or {}).get("next")
        check(pages >= 2, f"read in pages ({pages})")
        check(len(text.encode()) == links[0].size, "the link's size is the result's, in bytes")
        check(json.loads(text) == expected, "the pages rejoin to what the API sent")


async def main(mode, target, secret, api_key=None):
    if mode == "stdio":
        env = {"PETSTORE_BASE_URL": secret, "PETSTORE_API_KEY": api_key, "RUST_LOG": "info"}
        await session_checks(StdioServerParameters(command=target, args=[], env=env), api_key)
    elif mode == "http":
        await session_checks(http_transport(target, {"Authorization": f"Bearer {secret}"}), api_key)
        check(await refused(target, {}) == 401, "no token: 401")
        check(await refused(target, {"Authorization": "Bearer wrong-token"}) == 401, "a wrong token: 401")
        bad_origin = {"Authorization": f"Bearer {secret}", "Origin": "https://evil.example"}
        check(await refused(target, bad_origin) == 403, "a foreign Origin: 403")
    elif mode == "pages":
        await pages(target, secret, int(api_key))
    elif mode == "toolset":
        await toolset(target, secret, api_key)
    elif mode == "discovery":
        await discovery(target, secret, api_key)
    elif mode == "github":
        await github(target, secret)
    elif mode == "results":
        await results(target, secret, api_key)
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
