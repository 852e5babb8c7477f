"""What a client can send as a candidate: plain strings, tool dicts, and the typed wrappers here."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Union

from toolrank.candidates import candidate_from_json
from toolrank.convert import candidate_to_pb
from toolrank.types import Candidate, CodeInput, SqlInput, TextInput, ToolInput
from toolrank.v1 import reranker_pb2 as pb


@dataclass(frozen=True, slots=True)
class Text:
    """A plain passage of text."""

    text: str
    id: str = field(default="", kw_only=True)
    metadata: Mapping[str, str] = field(default_factory=dict, kw_only=True)

    def to_candidate(self) -> Candidate:
        return Candidate(TextInput(self.text), self.id, dict(self.metadata))


@dataclass(frozen=True, slots=True)
class Code:
    """A code snippet; ``language`` or the ``path`` extension says which language."""

    source: str
    language: str = ""
    path: str = ""
    id: str = field(default="", kw_only=True)
    metadata: Mapping[str, str] = field(default_factory=dict, kw_only=True)

    def to_candidate(self) -> Candidate:
        return Candidate(CodeInput(self.source, self.language, self.path), self.id, dict(self.metadata))


@dataclass(frozen=True, slots=True)
class Sql:
    """SQL text (a table's DDL, a view, a query) in ``dialect`` (empty: detected)."""

    text: str
    dialect: str = ""
    id: str = field(default="", kw_only=True)
    metadata: Mapping[str, str] = field(default_factory=dict, kw_only=True)

    def to_candidate(self) -> Candidate:
        return Candidate(SqlInput(self.text, self.dialect), self.id, dict(self.metadata))


@dataclass(frozen=True, slots=True)
class Tool:
    """A tool schema, as a dict or JSON text, in any format the server detects."""

    schema: Union[Mapping[str, Any], str]
    id: str = field(default="", kw_only=True)
    metadata: Mapping[str, str] = field(default_factory=dict, kw_only=True)

    def to_candidate(self) -> Candidate:
        text = self.schema if isinstance(self.schema, str) else json.dumps(self.schema, ensure_ascii=False)
        return Candidate(ToolInput(text), self.id, dict(self.metadata))


CandidateLike = Union[str, Mapping[str, Any], Text, Code, Sql, Tool, Candidate,
                      TextInput, CodeInput, SqlInput, ToolInput]

_WRAPPERS = (Text, Code, Sql, Tool)
_INPUTS = (TextInput, CodeInput, SqlInput, ToolInput)


def to_candidate(item: CandidateLike, where: str = "candidate") -> Candidate:
    """Any accepted candidate shape as the :class:`toolrank.types.Candidate` dataclass."""
    if isinstance(item, Candidate):
        return item
    if isinstance(item, _WRAPPERS):
        return item.to_candidate()
    if isinstance(item, _INPUTS):
        return Candidate(item)
    if isinstance(item, (str, Mapping)):
        return candidate_from_json(dict(item) if isinstance(item, Mapping) else item, where)
    raise TypeError(f"{where}: cannot send a {type(item).__name__} as a candidate "
                    "(use a str, a tool dict, Text, Code, Sql or Tool)")


def candidates_pb(candidates: Iterable[CandidateLike]) -> list[pb.Candidate]:
    """Every accepted shape as protobuf, each error naming its position."""
    if isinstance(candidates, (str, bytes, Mapping)) or not isinstance(candidates, Iterable):
        raise TypeError("candidates: expected a list of candidates")
    return [candidate_to_pb(to_candidate(c, f"candidates[{i}]")) for i, c in enumerate(candidates)]
