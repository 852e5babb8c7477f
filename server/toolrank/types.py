"""Typed, frozen values that cross module boundaries.

Protobuf messages never get past ``toolrank.convert``: the transports (and the
client) convert them into these dataclasses, and the engine and normalizers only
see these. Everything visible on the wire (``ModelSpec``, ``ServerInfo``, ``Usage``...)
is defined here, so a client needs no server module to name it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Union


@dataclass(frozen=True, slots=True)
class TextInput:
    """A plain passage of text; ``detect`` (kind "auto") reads it as a tool, SQL or code when sure."""

    text: str
    detect: bool = False


@dataclass(frozen=True, slots=True)
class CodeInput:
    """A code snippet; ``language`` or the ``path`` extension says what it is."""

    source: str
    language: str = ""
    path: str = ""


@dataclass(frozen=True, slots=True)
class SqlInput:
    """SQL text (DDL or queries) in ``dialect`` (empty: detect)."""

    text: str
    dialect: str = ""


@dataclass(frozen=True, slots=True)
class ToolInput:
    """A tool/function schema as JSON text; its format is detected."""

    json: str


CandidateInput = Union[TextInput, CodeInput, SqlInput, ToolInput]

KIND_OF: dict[type, str] = {TextInput: "text", CodeInput: "code", SqlInput: "sql", ToolInput: "tool"}


def kind_of(item: CandidateInput) -> str:
    """The candidate kind name ("text", "code", "sql" or "tool") of an input."""
    return KIND_OF[type(item)]


@dataclass(frozen=True, slots=True)
class Candidate:
    """One candidate of a request: its content, the caller's id and metadata."""

    content: CandidateInput
    id: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return kind_of(self.content)


@dataclass(frozen=True, slots=True)
class NormalizeOptions:
    """Bounds every normalizer respects.

    ``max_chars`` is the output budget (a cheap proxy for tokens: roughly four
    characters a token for English-like text); normalizers put the most
    informative parts first and cut at the budget.
    """

    max_chars: int = 2048


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalizer's output: the text the model sees, and whether it fell back.

    ``fallback`` is True when the normalizer could not read the input as its
    kind (bad JSON, unparsable SQL, unknown language...) and used a generic
    rendering instead; ``detail`` names the detected format or the fallback
    reason, for ``toolrank normalize`` and for counting.
    """

    text: str
    fallback: bool = False
    detail: str = ""
    kind: str = ""  # the kind a detected text was read as ("tool", "sql", "code"); "" = the candidate's own


@dataclass(frozen=True, slots=True)
class RerankQuery:
    """A rerank request as the engine sees it."""

    query: str
    candidates: tuple[Candidate, ...]
    top_n: int = 0
    return_text: bool = False
    raw_scores: bool = False
    model: str = ""
    max_tokens_per_doc: int = 0  # cap each candidate's tokens before scoring (0 = the model's own limits)
    lexical_weight: float | None = None  # BM25 weight in the fused score; None = per-kind default (engine/lexical.py)
    split_steps: bool = True  # score a multi-step request per step too, fused with the whole (engine/steps.py)
    truncate: bool = True  # a query over the model's window is cut to its request part; False: refused (TEI)


@dataclass(frozen=True, slots=True)
class Scored:
    """One ranked candidate: its index in the request, id, score and maybe its text."""

    index: int
    id: str
    score: float
    text: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    query_tokens: int = 0
    candidate_tokens: int = 0
    truncated: int = 0
    windows: int = 0
    fallbacks: int = 0
    cache_hits: int = 0
    query_truncated: bool = False  # the query was over the model's window and cut (engine/query_window.py)
    steps: int = 0  # steps a multi-step query was split into and scored (0: scored whole only)


@dataclass(frozen=True, slots=True)
class Timing:
    normalize_ns: int = 0
    tokenize_ns: int = 0
    queue_ns: int = 0
    inference_ns: int = 0
    total_ns: int = 0


@dataclass(frozen=True, slots=True)
class RerankOutcome:
    results: tuple[Scored, ...]
    usage: Usage
    timing: Timing
    model: str


CROSS_ENCODER = "cross-encoder"
BI_ENCODER = "bi-encoder"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What the engine and clients know about a served model besides its graph (``Info`` on the wire)."""

    name: str
    path: str
    kind: str  # CROSS_ENCODER or BI_ENCODER
    activation: str
    max_length: int
    max_query_length: int
    family: str
    pooling: str = "mean"  # bi-encoders: "mean" over the attention mask, or "cls" (the first token's state)
    query_instruction: str = ""  # bi-encoders: prepended to queries (never to candidates), e.g. bge's


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A served model as ``Info`` reports it: its spec and whether requests naming no model get it."""

    name: str
    kind: str
    max_length: int
    max_query_length: int
    family: str
    path: str
    is_default: bool


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """What ``Info`` answers: the server's version and its models."""

    version: str
    models: tuple[ModelInfo, ...]
    default_model: str


@dataclass(frozen=True, slots=True)
class NormalizedCandidate:
    """What ``Normalize`` returns per candidate."""

    index: int
    id: str
    kind: str
    normalized: Normalized
    tokens: int
    raw_tokens: int
