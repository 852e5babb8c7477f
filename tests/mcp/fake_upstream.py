"""A fake upstream MCP server for the proxy tests, built on the official SDK's low-level server.

It serves many tools over stdio (or streamable HTTP with ``--http-port``), pages ``tools/list``,
and has control tools that exercise the proxy: ``install_translator`` adds a tool and sends
``notifications/tools/list_changed``; ``crash`` kills the process; ``divide`` by zero returns
an ``isError`` result; ``check_quota`` answers with an MCP (JSON-RPC) error. ``--fail-if-exists PATH`` makes a restart fail once ``crash`` wrote PATH.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.lowlevel.server import NotificationOptions
from mcp.shared.exceptions import MCPError


def _obj(required: list[str], **props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required}


S = {"type": "string"}
N = {"type": "number"}

TOOLS: list[types.Tool] = [
    types.Tool(name="get_weather", description="Current weather conditions and temperature for a city.",
               input_schema=_obj(["city"], city={**S, "description": "city name, e.g. Paris"})),
    types.Tool(name="send_email", description="Send an email message to a recipient.",
               input_schema=_obj(["to", "subject", "body"], to={**S, "description": "recipient address"},
                                 subject=S, body=S)),
    types.Tool(name="divide", description="Divide one number by another and return the quotient.",
               input_schema=_obj(["a", "b"], a={**N, "description": "dividend"}, b={**N, "description": "divisor"})),
    types.Tool(name="convert_currency", description="Convert an amount of money from one currency to another "
               "using today's exchange rate.",
               input_schema=_obj(["amount", "from", "to"], amount=N, **{"from": S, "to": S})),
    types.Tool(name="create_calendar_event", description="Add a meeting or appointment to the user's calendar.",
               input_schema=_obj(["title", "start"], title=S, start={**S, "format": "date-time"})),
    types.Tool(name="search_flights", description="Find airline flights between two airports on a date.",
               input_schema=_obj(["origin", "destination", "date"], origin=S, destination=S, date=S)),
    types.Tool(name="read_file", description="Read the contents of a file on disk.",
               input_schema=_obj(["path"], path=S)),
    types.Tool(name="list_directory", description="List the files and folders inside a directory.",
               input_schema=_obj(["path"], path=S)),
    types.Tool(name="git_commit", description="Record staged changes in the git repository with a message.",
               input_schema=_obj(["message"], message=S)),
    types.Tool(name="run_sql_query", description="Execute a SQL query against the analytics database.",
               input_schema=_obj(["sql"], sql=S)),
    types.Tool(name="stock_price", description="Latest share price of a company on the stock market.",
               input_schema=_obj(["ticker"], ticker=S)),
    types.Tool(name="geocode_address", description="Turn a street address into latitude and longitude.",
               input_schema=_obj(["address"], address=S)),
    types.Tool(name="resize_image", description="Resize a picture to the given width and height in pixels.",
               input_schema=_obj(["path", "width", "height"], path=S, width=N, height=N)),
    types.Tool(name="create_github_issue", description="Open a new issue in a GitHub repository.",
               input_schema=_obj(["repo", "title"], repo=S, title=S, body=S)),
    types.Tool(name="post_slack_message", description="Post a message to a Slack channel.",
               input_schema=_obj(["channel", "text"], channel=S, text=S)),
    types.Tool(name="recipe_search", description="Find cooking recipes that use the given ingredients.",
               input_schema=_obj(["ingredients"], ingredients={"type": "array", "items": S})),
    types.Tool(name="book_hotel", description="Reserve a hotel room in a city for some nights.",
               input_schema=_obj(["city", "check_in", "nights"], city=S, check_in=S, nights=N)),
    types.Tool(name="play_music", description="Play a song or playlist on the speakers.",
               input_schema=_obj(["query"], query=S)),
    types.Tool(name="set_timer", description="Start a countdown timer for a number of minutes.",
               input_schema=_obj(["minutes"], minutes=N)),
    types.Tool(name="check_quota", description="Report the remaining API quota (always fails with an MCP error).",
               input_schema=_obj([])),
    types.Tool(name="crash", description="Terminate this server process immediately (test control).",
               input_schema=_obj([])),
    types.Tool(name="install_translator", description="Install the translation plugin (test control).",
               input_schema=_obj([])),
]
# Filler tools so the catalog is larger than one page and than what a client would want in context.
TOOLS += [types.Tool(name=f"inventory_report_{i}", description=f"Warehouse {i} stock level report for pallets "
                     "and shelves.", input_schema=_obj(["sku"], sku=S)) for i in range(20)]

TRANSLATOR = types.Tool(name="translate_text", description="Translate text from one language into another.",
                        input_schema=_obj(["text", "target_language"], text=S, target_language=S))


def build_server(page_size: int, crash_marker: str) -> Server:
    tools = list(TOOLS)

    async def on_list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        start = int(params.cursor) if params is not None and params.cursor else 0
        end = start + page_size
        return types.ListToolsResult(tools=tools[start:end], next_cursor=str(end) if end < len(tools) else None)

    async def on_call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        args = params.arguments or {}
        name = params.name
        if name == "get_weather":
            city = str(args.get("city", ""))
            return types.CallToolResult(content=[types.TextContent(text=f"Sunny in {city}, 21 C")],
                                        structured_content={"city": city, "temp_c": 21, "sky": "sunny"})
        if name == "divide":
            if args.get("b") == 0:
                return types.CallToolResult(content=[types.TextContent(text="division by zero")], is_error=True)
            return types.CallToolResult(content=[types.TextContent(text=str(args["a"] / args["b"]))],
                                        structured_content={"quotient": args["a"] / args["b"]})
        if name == "check_quota":
            raise MCPError(code=-32050, message="quota service unreachable", data={"retry_after_s": 30})
        if name == "crash":
            if crash_marker:
                open(crash_marker, "w").close()
            os._exit(3)
        if name == "install_translator":
            if TRANSLATOR not in tools:
                tools.append(TRANSLATOR)
                await ctx.session.send_tool_list_changed()
            return types.CallToolResult(content=[types.TextContent(text="installed")])
        if name == "translate_text":
            return types.CallToolResult(content=[types.TextContent(text=f"[{args.get('target_language')}] "
                                                                         f"{args.get('text')}")])
        if any(t.name == name for t in tools):
            return types.CallToolResult(content=[types.TextContent(text=f"{name} called with {sorted(args)}")])
        raise MCPError(code=types.INVALID_PARAMS, message=f"no tool named {name!r}")

    return Server("fake-upstream", version="1.0", on_list_tools=on_list_tools, on_call_tool=on_call_tool)


async def _main(args: argparse.Namespace) -> None:
    server = build_server(args.page_size, args.fail_if_exists)
    options = server.create_initialization_options(NotificationOptions(tools_changed=True))
    if args.http_port is not None:
        import uvicorn

        app = server.streamable_http_app()
        config = uvicorn.Config(app, host="127.0.0.1", port=args.http_port, log_level="warning")
        await uvicorn.Server(config).serve()
        return
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read, write):
        await server.run(read, write, options)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--page-size", type=int, default=7)
    p.add_argument("--fail-if-exists", default="", help="exit 1 at start when this file exists")
    p.add_argument("--http-port", type=int)
    args = p.parse_args()
    if args.fail_if_exists and os.path.exists(args.fail_if_exists):
        print("fake upstream: refusing to start (marker present)", file=sys.stderr)
        sys.exit(1)
    anyio.run(_main, args)


if __name__ == "__main__":
    main()
