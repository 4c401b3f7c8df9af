"""Model-API schema checkers that others maintain, run on a generated server's tools.

Usage:
  dialect_oracles.py PLAN_JSON

PLAN_JSON: {"stdio": {"command", "args", "env"}}: the server's tools are
listed with the Python MCP SDK; or {"file": PATH}: JSON lines {"id", "input",
"takes"} (the corpus example's `--schemas`; "takes": the dialects mcpgen's
own checks say take it). Each input schema is put to:

- openai-strict: pydantic-ai's OpenAI transformer, which decides whether a
  schema can be sent in strict mode (`is_strict_compatible`), and the OpenAI
  SDK's own strict conversion (`openai.lib._pydantic`), which must find
  nothing to change (a schema it would rewrite is not strict as it stands);
- gemini: the Google Gen AI SDK's conversion for the Gemini Developer API
  (`t_schema`: references inlined, then validated as its `Schema` type,
  which forbids unknown fields), then `FunctionDeclaration(parameters=…)`;
- json-schema: the `jsonschema` package's 2020-12 meta-schema check.

Prints one JSON line per tool: {"name", "input", "refused": {checker: why}}.
For a file: one line per checker and form (the id's last `#` part) with how
many schemas it takes, then each schema of the portable form it refuses and
each that it refuses where mcpgen says the dialect takes it (and then exits 1).
"""

import asyncio
import copy
import json
import sys
import warnings

import jsonschema
from google.genai import _transformers, types
from mcp import ClientSession, StdioServerParameters
from mcp import types as types_mcp
from mcp.client.stdio import stdio_client
from openai.lib._pydantic import _ensure_strict_json_schema
from pydantic_ai.profiles.openai import OpenAIJsonSchemaTransformer


# Python's `re` warns about sets in some ECMA-262 patterns while checking them.
warnings.filterwarnings("ignore", category=FutureWarning)


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


def check_file(path):
    taken, total, portable_refused, missed = {}, {}, [], []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            entry = json.loads(line)
            form = entry["id"].rsplit("#", 1)[-1]
            refused = verdicts(entry["input"])
            for checker in CHECKERS:
                total[(checker, form)] = total.get((checker, form), 0) + 1
                taken[(checker, form)] = taken.get((checker, form), 0) + (checker not in refused)
            if refused and form == "portable":
                portable_refused.append({"id": entry["id"], "refused": refused})
            ours = set(entry.get("takes", []))
            for checker in ("openai-strict", "gemini"):
                if checker in refused and checker in ours:
                    missed.append({"id": entry["id"], "we pass": checker, "refused": refused[checker]})
    for (checker, form), n in sorted(total.items()):
        print(json.dumps({"checker": checker, "form": form, "takes": taken[(checker, form)], "of": n}))
    for entry in portable_refused + missed:
        print(json.dumps(entry))
    return not (portable_refused or missed)


if __name__ == "__main__":
    plan = json.loads(sys.argv[1])
    if "file" in plan:
        sys.exit(0 if check_file(plan["file"]) else 1)
    else:
        asyncio.run(main(plan))
