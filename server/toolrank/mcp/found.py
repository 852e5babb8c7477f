"""``--expose-found``: the tools search_tools found lately, listed directly, least recently found dropped first."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable

from toolrank.mcp.upstream_tools import FoundTool


class FoundTools:
    """An LRU of found tools, capped at ``capacity`` (0: the feature is off and nothing is kept)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(capacity, 0)
        self._tools: OrderedDict[str, FoundTool] = OrderedDict()

    def add(self, found: Iterable[FoundTool]) -> bool:
        """Mark tools as found now (best last, so the best is the most recent); True when the listed set changed."""
        if not self.capacity:
            return False
        before = set(self._tools)
        for tool in reversed(list(found)):
            self._tools.pop(tool.name, None)
            self._tools[tool.name] = tool
        while len(self._tools) > self.capacity:
            self._tools.popitem(last=False)
        return set(self._tools) != before

    def discard_missing(self, still_there: Callable[[str], bool]) -> bool:
        """Drop tools whose upstream withdrew them; True when any was dropped."""
        gone = [name for name in self._tools if not still_there(name)]
        for name in gone:
            del self._tools[name]
        return bool(gone)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def tools(self) -> list[FoundTool]:
        """Most recently found first."""
        return list(reversed(self._tools.values()))
