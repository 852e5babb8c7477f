"""The MCP proxy learns by itself: a ``search_tools(query)`` followed by a successful ``call_tool(name)``.

Per client session the server remembers its last few searches and the tool names each returned;
when the session then calls one of those tools and the call does not come back ``isError``, the
pair (query, tool) goes to the catalog as feedback (``source="mcp-proxy"``), so the next request
phrased like it finds that tool first. Also here: the short summary of the catalog that
``search_tools``' description carries, and exact tool names in a query.
"""

from __future__ import annotations

import re
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

SEARCHES_PER_SESSION = 8  # recent searches a call may follow
SESSIONS = 256  # sessions remembered (least recent forgotten)
SUMMARY_CHARS = 600  # search_tools' description: at most this much about the catalog
FEEDBACK_SOURCE = "mcp-proxy"


class SearchMemory:
    """Recent searches per session (bounded): which query's results a called tool came from."""

    def __init__(self, per_session: int = SEARCHES_PER_SESSION, sessions: int = SESSIONS) -> None:
        self._per_session = per_session
        self._sessions = sessions
        self._recent: OrderedDict[int, deque[tuple[str, tuple[str, ...]]]] = OrderedDict()

    def searched(self, session: int, query: str, names: Sequence[str]) -> None:
        recent = self._recent.pop(session, None) or deque(maxlen=self._per_session)
        recent.append((query, tuple(names)))
        self._recent[session] = recent
        while len(self._recent) > self._sessions:
            self._recent.popitem(last=False)

    def query_for(self, session: int, name: str) -> tuple[str, str] | None:
        """(query, the result's full name) of the latest search of ``session`` that returned ``name``
        (as ``UPSTREAM.tool`` or the bare tool name); None when none did."""
        for query, names in reversed(self._recent.get(session, ())):
            for full in names:
                if full == name or full.rpartition(".")[2] == name:
                    return query, full
        return None


def catalog_summary(tools: Mapping[str, Iterable[str]], limit: int = SUMMARY_CHARS) -> str:
    """``"Servers: a (3 tools: x, y, z), b (40 tools: ...)"``, cut to ``limit`` characters."""
    if not tools:
        return ""
    parts = []
    for upstream in sorted(tools):
        names = sorted(tools[upstream])
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        parts.append(f"{upstream} ({len(names)} tools: {shown})")
    text = "Servers connected: " + "; ".join(parts) + "."
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."


def exact_names(query: str, lookup: Callable[[str], Any]) -> list[str]:
    """Tokens of ``query`` that name a tool exactly (``UPSTREAM.tool`` or a bare name one upstream has)."""
    out = []
    for token in re.findall(r"[A-Za-z0-9_.:\-/]+", query):
        token = token.strip(".:-/")
        if token and lookup(token) is not None and token not in out:
            out.append(token)
    return out
