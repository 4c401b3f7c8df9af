"""A generated server as OpenAI's Agents SDK (openai-agents) hands it to a model.

Usage:
  agents_client.py PLAN_JSON

PLAN_JSON: {"stdio": {"command", "env"}} or {"http": {"url", "headers"}},
plus "calls": [{"name", "arguments", "fill_nulls"?}] ("fill_nulls": every
property of the strict schema not in "arguments" is sent as null, as a
strict model writes a call).

The SDK converts each MCP tool into a function tool for the model, in strict
JSON-schema mode (what OpenAI's structured outputs need: every property
listed, no undeclared ones); a tool it cannot make strict is served
non-strict. Each call then goes the way the agent runner sends a model's
tool call: its arguments as a JSON string, through the function tool.

Prints one JSON line {"tools": [{"name", "strict", "input", "parameters"}]}
(the MCP input schema, and what the model is given), then one per call:
{"output": the text the model reads} or {"threw": message}.
"""

import asyncio
import json
import sys

from agents.mcp import MCPServerStdio, MCPServerStreamableHttp, MCPUtil
from agents.tool_context import ToolContext


def model_text(output):
    """The text the model reads: the SDK's tool output, one item or several."""
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return "\n".join(model_text(item) for item in output)
    if isinstance(output, dict):
        return output.get("text", json.dumps(output))
    return getattr(output, "text", None) or str(output)


async def main(plan):
    if "stdio" in plan:
        server = MCPServerStdio(
            params={"command": plan["stdio"]["command"], "args": [], "env": plan["stdio"]["env"]},
            client_session_timeout_seconds=30,
        )
    else:
        server = MCPServerStreamableHttp(
            params={"url": plan["http"]["url"], "headers": plan["http"]["headers"], "timeout": 30},
            client_session_timeout_seconds=30,
        )
    async with server:
        tools, listing = {}, []
        for mcp_tool in await server.list_tools():
            tool = MCPUtil.to_function_tool(mcp_tool, server, convert_schemas_to_strict=True)
            tools[tool.name] = tool
            listing.append(
                {
                    "name": tool.name,
                    "strict": tool.strict_json_schema,
                    "input": mcp_tool.input_schema,
                    "parameters": tool.params_json_schema,
                }
            )
        print(json.dumps({"tools": listing}), flush=True)
        for n, call in enumerate(plan["calls"]):
            tool = tools[call["name"]]
            given = dict(call["arguments"])
            if call.get("fill_nulls"):
                # A strict model fills every property it was given, null where it means "not given".
                for name in tool.params_json_schema.get("properties", {}):
                    given.setdefault(name, None)
            arguments = json.dumps(given)
            context = ToolContext(
                context=None, tool_name=tool.name, tool_call_id=f"call_{n}", tool_arguments=arguments
            )
            try:
                output = await tool.on_invoke_tool(context, arguments)
                print(json.dumps({"output": model_text(output)}), flush=True)
            except Exception as error:  # what the runner would surface
                print(json.dumps({"threw": f"{type(error).__name__}: {error}"}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
