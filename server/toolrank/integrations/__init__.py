"""Adapters for agent frameworks (optional extras): ``toolrank.integrations.langchain``
and ``toolrank.integrations.llamaindex``.

Both read a document's kind from its metadata, so one retriever can hand back
tools, code, SQL and prose together::

    metadata["toolrank_kind"]      "text" (default) | "code" | "sql" | "tool"
    metadata["toolrank_language"]  or "language": a code document's language
    metadata["toolrank_path"]      or "source" / "path": a code document's file path
    metadata["toolrank_dialect"]   or "dialect": a SQL document's dialect

A ``tool`` document's content is the schema as JSON text.
"""

from __future__ import annotations

from typing import Any, Mapping

from toolrank.types import Candidate, CodeInput, SqlInput, TextInput, ToolInput

KIND_KEY = "toolrank_kind"
SCORE_KEY = "relevance_score"


def _meta(metadata: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = metadata.get(key)
        if value:
            return str(getattr(value, "value", value))  # enums such as LangChain's Language
    return ""


def document_candidate(content: str, metadata: Mapping[str, Any], id: str = "") -> Candidate:
    """A framework document as a toolrank candidate, its kind from ``metadata``."""
    kind = _meta(metadata, KIND_KEY).lower() or "text"
    if kind == "code":
        item: Any = CodeInput(content, _meta(metadata, "toolrank_language", "language"),
                              _meta(metadata, "toolrank_path", "source", "path", "file_path"))
    elif kind == "sql":
        item = SqlInput(content, _meta(metadata, "toolrank_dialect", "dialect"))
    elif kind == "tool":
        item = ToolInput(content)
    elif kind == "text":
        item = TextInput(content)
    else:
        raise ValueError(f"metadata[{KIND_KEY!r}]: unknown kind {kind!r} (text, code, sql or tool)")
    return Candidate(item, id or "")
