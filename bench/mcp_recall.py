"""Recall@5 of ``toolrank mcp proxy``'s search_tools over a whole tool catalog, and the context it saves.

Each tool set of ../shared/data (corpus.jsonl + queries.jsonl) is served as one upstream MCP server
built with the official SDK (this script, ``--upstream-for DATASET``); a real ``toolrank mcp proxy``
runs in front of it over stdio, and the SDK's client asks search_tools every query of the set, over
the WHOLE catalog (not the set's 30 candidates). Tool names must be unique in MCP: a name the set uses
for several different definitions gets ``_v2``, ``_v3``... (BFCL: 716 names for 1013 definitions), and
recall is reported both strictly (that exact definition) and by name (any definition of the function).

Context tokens: what a client puts in the model's context for tools. Without the proxy, every tool
definition of ``tools/list`` (name, description, inputSchema as compact JSON); with it, the two proxy
tools plus one search_tools result (its JSON text content, five tools). Counted in word pieces of the
embedded model's tokenizer and in bytes (LLM tokenizers differ; the ratio is what carries over).

Baseline in the same run: the same embedded model on each tool's raw JSON, cosine over the whole
catalog (what an embedding-filter gateway does), so the gain of normalization + catalog scoring shows.

    python bench/mcp_recall.py ../shared/data/tools-bfcl ../shared/data/tools-metatool --json-out bench/out/mcp_recall.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def load_set(folder: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    corpus = [json.loads(line) for line in (folder / "corpus.jsonl").read_text().splitlines() if line.strip()]
    queries = [json.loads(line) for line in (folder / "queries.jsonl").read_text().splitlines() if line.strip()]
    return corpus, queries


def mcp_tools(corpus: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, str], dict[str, str]]:
    """(MCP tool dicts, corpus id -> unique tool name, tool name -> the set's own function name)."""
    tools: list[dict[str, Any]] = []
    id_to_name: dict[str, str] = {}
    base_of: dict[str, str] = {}
    seen: dict[str, dict[str, str]] = {}  # name -> definition JSON -> unique name
    for row in corpus:
        tool = row["tool"]
        name = tool["name"]
        schema = dict(tool.get("parameters") or {"type": "object", "properties": {}})
        if schema.get("type") == "dict":  # BFCL's dialect
            schema["type"] = "object"
        schema.setdefault("type", "object")
        definition = json.dumps([tool.get("description", ""), schema], sort_keys=True)
        variants = seen.setdefault(name, {})
        if definition not in variants:
            unique = name if not variants else f"{name}_v{len(variants) + 1}"
            variants[definition] = unique
            tools.append({"name": unique, "description": tool.get("description", ""), "inputSchema": schema})
            base_of[unique] = name
        id_to_name[row["id"]] = variants[definition]
    return tools, id_to_name, base_of


def serve_upstream(folder: Path) -> None:
    """The tool set as an MCP server over stdio (the SDK's low-level server)."""
    import anyio
    import mcp_types as types
    from mcp.server.lowlevel import Server
    from mcp.server.stdio import stdio_server

    tools, _, _ = mcp_tools(load_set(folder)[0])
    listed = [types.Tool(name=t["name"], description=t["description"], input_schema=t["inputSchema"]) for t in tools]
    page = 100

    async def on_list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        start = int(params.cursor) if params is not None and params.cursor else 0
        end = start + page
        return types.ListToolsResult(tools=listed[start:end], next_cursor=str(end) if end < len(listed) else None)

    async def on_call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        return types.CallToolResult(content=[types.TextContent(text=f"{params.name} called")])

    server = Server(folder.name, on_list_tools=on_list_tools, on_call_tool=on_call_tool)

    async def main() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(main)


def compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def measure(folder: Path, limit: int, tokenizer: Any, store: str = "", baseline: bool = True) -> dict[str, Any]:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    corpus, queries = load_set(folder)
    queries = queries[:limit] if limit else queries
    tools, id_to_name, base_of = mcp_tools(corpus)
    upstream_cmd = f"{sys.executable} {Path(__file__).resolve()} --upstream-for {folder.resolve()}"
    params = StdioServerParameters(command=sys.executable, cwd=str(ROOT), args=[
        "-m", "toolrank.cli", "mcp", "proxy", "--upstream", f"{folder.name}={upstream_cmd}",
        "--connect-timeout-s", "600", *(["--store", store, "--catalog", folder.name] if store else [])])
    t0 = time.perf_counter()
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        proxy_tools = (await session.list_tools()).tools
        while True:  # the first search waits for the upstream; a large set takes a while to embed
            first = await session.call_tool("search_tools", {"query": "warm up", "top_k": 1})
            status = json.loads(first.content[0].text)["upstreams"][0]
            if status["status"] == "up":
                break
            await asyncio.sleep(0.5)
        ready_s = time.perf_counter() - t0
        hits_strict = hits_name = top1 = 0
        n_relevant = 0
        result_tokens: list[int] = []
        result_bytes: list[int] = []
        latencies: list[float] = []
        for q in queries:
            t = time.perf_counter()
            result = await session.call_tool("search_tools", {"query": q["query"], "top_k": 5})
            latencies.append((time.perf_counter() - t) * 1000)
            text = result.content[0].text
            result_tokens.append(len(tokenizer.encode(text, add_special_tokens=False).ids))
            result_bytes.append(len(text.encode()))
            names = [t["name"].split(".", 1)[1] for t in json.loads(text)["tools"]]
            relevant = {id_to_name[r] for r in q["relevant"]}
            n_relevant += len(relevant)
            hits_strict += len(relevant & set(names))
            bases = {base_of[n] for n in names if n in base_of}
            hits_name += sum(1 for r in relevant if base_of[r] in bases)
            top1 += bool(names) and names[0] in relevant
    all_json = [compact(t) for t in tools]
    proxy_json = [compact({"name": t.name, "description": t.description, "inputSchema": t.input_schema})
                  for t in proxy_tools]

    def tokens(texts: list[str]) -> int:
        return sum(len(tokenizer.encode(t, add_special_tokens=False).ids) for t in texts)

    all_tokens, proxy_tokens = tokens(all_json), tokens(proxy_json)
    with_proxy = proxy_tokens + statistics.mean(result_tokens)
    print(f"{folder.name}: proxy measured, now the raw-JSON embedding baseline", file=sys.stderr)
    return {
        "set": folder.name, "tools": len(tools), "queries": len(queries),
        "recall_at_5": hits_strict / n_relevant, "recall_at_5_by_name": hits_name / n_relevant,
        "top1": top1 / len(queries),
        "context_tokens_all_tools": all_tokens, "context_bytes_all_tools": sum(len(j.encode()) for j in all_json),
        "context_tokens_proxy_tools": proxy_tokens, "context_tokens_search_result_mean": statistics.mean(result_tokens),
        "context_tokens_with_proxy": with_proxy, "context_bytes_with_proxy":
            sum(len(j.encode()) for j in proxy_json) + statistics.mean(result_bytes),
        "context_ratio": all_tokens / with_proxy,
        "search_ms_median": statistics.median(latencies),
        "search_ms_p99": sorted(latencies)[int(0.99 * (len(latencies) - 1))],
        "ready_s": ready_s,
        "baseline": await raw_embedding_baseline(tools, id_to_name, base_of, queries) if baseline else None,
    }


async def raw_embedding_baseline(tools: list[dict[str, Any]], id_to_name: dict[str, str], base_of: dict[str, str],
                                 queries: list[dict[str, Any]]) -> dict[str, float]:
    """The embedded model on each tool's raw JSON, cosine over the whole catalog (an embedding-filter gateway)."""
    import numpy as np
    from toolrank.engine.engine import Engine
    from toolrank.settings import Settings

    engine = Engine.from_settings(Settings(request_timeout_s=0))

    async def embed(texts: list[str]) -> list[Any]:
        vectors: list[Any] = []
        for start in range(0, len(texts), 64):
            vectors.extend((await engine.embed(texts[start:start + 64])).vectors)
        return vectors

    async with engine:
        docs = await embed([compact(t) for t in tools])
        qv = await embed([q["query"] for q in queries])
    docs = np.asarray(docs, np.float32)
    qv = np.asarray(qv, np.float32)
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    qv /= np.linalg.norm(qv, axis=1, keepdims=True)
    top = np.argsort(-(qv @ docs.T), axis=1)[:, :5]
    strict = by_name = n = top1 = 0
    for q, row in zip(queries, top):
        names = [tools[i]["name"] for i in row]
        relevant = {id_to_name[r] for r in q["relevant"]}
        n += len(relevant)
        strict += len(relevant & set(names))
        by_name += sum(1 for r in relevant if base_of[r] in {base_of[x] for x in names})
        top1 += names[0] in relevant
    return {"recall_at_5": strict / n, "recall_at_5_by_name": by_name / n, "top1": top1 / len(queries)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="*", type=Path)
    parser.add_argument("--limit", type=int, default=0, help="first N queries of each set")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--store", default="", help="the proxy's catalog store (default memory://); run twice with "
                                                    "a sqlite:/// URL to time a start whose embeddings are stored")
    parser.add_argument("--no-baseline", action="store_true", help="skip the raw-JSON embedding baseline")
    parser.add_argument("--upstream-for", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.upstream_for:
        serve_upstream(args.upstream_for)
        return 0
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(ROOT / "server" / "toolrank" / "models" / "default" / "tokenizer.json"))
    tokenizer.no_truncation()
    rows = [asyncio.run(measure(folder, args.limit, tokenizer, args.store, not args.no_baseline))
            for folder in args.datasets]
    print("| set | tools | queries | Recall@5 | Recall@5 by name | top-1 | raw-JSON embedding R@5 (by name) "
          "| context tokens: all tools | proxy tools + 5 results | ratio | search ms median / p99 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        b = r["baseline"] or {"recall_at_5": float("nan"), "recall_at_5_by_name": float("nan")}
        print(f"| {r['set']} | {r['tools']} | {r['queries']} | {r['recall_at_5']:.3f} | {r['recall_at_5_by_name']:.3f}"
              f" | {r['top1']:.3f} | {b['recall_at_5']:.3f} ({b['recall_at_5_by_name']:.3f}) "
              f"| {r['context_tokens_all_tools']:,} | {r['context_tokens_with_proxy']:,.0f} "
              f"({r['context_tokens_proxy_tools']} + {r['context_tokens_search_result_mean']:.0f}) "
              f"| {r['context_ratio']:.1f}x | {r['search_ms_median']:.0f} / {r['search_ms_p99']:.0f} |")
    for r in rows:
        print(f"{r['set']}: start to searchable {r['ready_s']:.1f} s", file=sys.stderr)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
