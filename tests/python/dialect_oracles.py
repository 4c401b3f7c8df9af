"""Model-API schema checkers that others maintain, run on a generated server's tools.

Usage:
  dialect_oracles.py PLAN_JSON

PLAN_JSON: {"stdio": {"command", "args", "env"}}. The server's tools are
listed with the Python MCP SDK, and each input schema is put to:

- openai-strict: pydantic-ai's OpenAI transformer, which decides whether a
  schema can be sent in strict mode (`is_strict_compatible`), and the OpenAI
  SDK's own strict conversion (`openai.lib._pydantic`), which must find
  nothing to change (a schema it would rewrite is not strict as it stands);
- gemini: the Google Gen AI SDK's conversion for the Gemini Developer API
  (`t_schema`: references inlined, then validated as its `Schema` type,
  which forbids unknown fields), then `FunctionDeclaration(parameters=…)`;
- json-schema: the `jsonschema` package's 2020-12 meta-schema check.

Prints one JSON line per tool: {"name", "input", "refused": {checker: why}}.
"""

import asyncio
import copy
import json
import sys

import jsonschema
from google.genai import _transformers, types
from mcp import ClientSession, StdioServerParameters
from mcp import types as types_mcp
from mcp.client.stdio import stdio_client
from openai.lib._pydantic import _ensure_strict_json_schema
from pydantic_ai.profiles.openai import OpenAIJsonSchemaTransformer


class DeveloperApi:
    """What the SDK reads of a client: the Gemini Developer API, not Vertex AI."""

    vertexai = False


def openai_strict(schema):
    transformer = OpenAIJsonSchemaTransformer(copy.deepcopy(schema), strict=None)
    transformer.walk()
    if not transformer.is_strict_compatible:
        return "pydantic-ai: not strict-compatible"
    converted = _ensure_strict_json_schema(copy.deepcopy(schema), path=(), root=copy.deepcopy(schema))
    if converted != schema:
        return "openai SDK: strict conversion changes it"
    return None


def gemini(schema):
    converted = _transformers.t_schema(DeveloperApi(), copy.deepcopy(schema))
    types.FunctionDeclaration(name="tool", description="", parameters=converted)
    return None


def json_schema(schema):
    jsonschema.Draft202012Validator.check_schema(schema)
    return None


CHECKERS = {"openai-strict": openai_strict, "gemini": gemini, "json-schema": json_schema}


def verdicts(schema):
    refused = {}
    for name, checker in CHECKERS.items():
        try:
            why = checker(schema)
        except Exception as error:  # each checker refuses by raising
            why = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
        if why:
            refused[name] = why
    return refused


async def main(plan):
    params = StdioServerParameters(
        command=plan["stdio"]["command"], args=plan["stdio"].get("args", []), env=plan["stdio"]["env"]
    )
    async with stdio_client(params, errlog=sys.stderr) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        cursor = None
        while True:
            params = types_mcp.PaginatedRequestParams(cursor=cursor) if cursor else None
            page = await session.list_tools(params=params)
            for tool in page.tools:
                line = {"name": tool.name, "input": tool.input_schema, "refused": verdicts(tool.input_schema)}
                print(json.dumps(line), flush=True)
            cursor = page.next_cursor
            if not cursor:
                break


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
