"""A small upstream MCP server (stdio) for the security tests: it reports its environment and can hang.

``environment`` returns the variables the process started with; ``sleep`` waits ``seconds`` before
answering (a hung tool, for the forwarded-call timeout).
"""

from __future__ import annotations

import os
from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

TOOLS = [
    types.Tool(name="environment", description="Report the environment variables this server process started with.",
               input_schema={"type": "object", "properties": {}}),
    types.Tool(name="sleep", description="Wait a number of seconds, then answer.",
               input_schema={"type": "object", "properties": {"seconds": {"type": "number"}},
                             "required": ["seconds"]}),
]


async def on_list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
    return types.ListToolsResult(tools=TOOLS)


async def on_call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    args = params.arguments or {}
    if params.name == "environment":
        return types.CallToolResult(content=[types.TextContent(text="environment")],
                                    structured_content={"variables": dict(os.environ)})
    if params.name == "sleep":
        await anyio.sleep(float(args.get("seconds", 0)))
        return types.CallToolResult(content=[types.TextContent(text="awake")])
    return types.CallToolResult(content=[types.TextContent(text=f"no tool {params.name!r}")], is_error=True)


async def main() -> None:
    server = Server("probe-upstream", version="1.0", on_list_tools=on_list_tools, on_call_tool=on_call_tool)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
