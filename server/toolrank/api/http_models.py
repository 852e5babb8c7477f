"""The HTTP request and response bodies (pydantic), and the one document -> Candidate conversion.

Dialects: Cohere v1/v2 and Jina (``/v1/rerank``, ``/v2/rerank``), TEI's native
``/rerank`` body, and an OpenAI-style ``/v1/models`` list. Types are strict
(``top_n: "3"`` is a 422 naming ``top_n``); unknown fields are ignored, since
SDKs send fields of their own.
"""

from __future__ import annotations

import json
import math
import uuid
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import (BaseModel, ConfigDict, Field, PlainValidator, StrictBool, StrictFloat, StrictInt, StrictStr,
                      model_validator)

from toolrank.candidates import content_from_json, expand_tools
from toolrank.errors import InvalidField, InvalidRequest
from toolrank.types import Candidate, CandidateInput, RerankOutcome, RerankQuery, TextInput

_STRUCTURED_KEYS = ("text", "code", "sql", "tool")


def _document(value: Any) -> Any:
    if isinstance(value, (str, dict)):
        return value
    raise ValueError(f"expected a string or an object, got {type(value).__name__}")


# A document is a string or an object; one error per bad document (not one per union member).
Document = Annotated[Union[str, dict[str, Any]],
                     PlainValidator(_document, json_schema_input_type=Union[str, dict[str, Any]])]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class RerankBody(_Body):
    """Cohere v1/v2 and Jina rerank request."""

    query: StrictStr = Field(description="What to rank the documents against.")
    documents: list[Document] = Field(description="Strings, tool schemas, {code|sql|tool|text: ...} objects, "
                                                  "or plain objects (ranked as `field: value` lines of rank_fields).")
    model: Optional[StrictStr] = Field(None, description="A served model's name or alias; empty: the default.")
    top_n: Optional[StrictInt] = Field(None, ge=0, description="How many results (0 or absent: all).")
    return_documents: Optional[StrictBool] = Field(None, description="Echo each document in its result.")
    rank_fields: Optional[list[Annotated[StrictStr, Field(min_length=1)]]] = Field(
        None, description="Fields of plain object documents to rank on (default: text, else all).")
    max_tokens_per_doc: Optional[StrictInt] = Field(None, ge=1, description="Cut each document to this many "
                                                                              "tokens before scoring.")
    lexical_weight: Optional[Union[StrictInt, StrictFloat]] = Field(
        None, description="Rank by z(raw model score) + lexical_weight x z(BM25) over these documents "
                          "(0 to 10; absent: the per-kind default; docs/models.md).")
    detect_kinds: Optional[StrictBool] = Field(
        None, description="Read string and {text} documents as a tool schema, SQL or code when sure (default true).")
    expand_tools: Optional[StrictBool] = Field(
        None, description="One document per tool: tools lists, MCP tools/list results and JSON-RPC responses, "
                          "OpenAPI documents among the documents are cut up first ({id: tool name, tool}); "
                          "result indexes refer to the expanded list.")

    @model_validator(mode="after")
    def _expand_tools(self) -> "RerankBody":
        if self.expand_tools:
            self.documents = expand_tools(self.documents)
        return self


class RerankResult(BaseModel):
    index: int
    relevance_score: float
    document: Optional[dict[str, Any]] = None


class ApiVersion(BaseModel):
    version: str


class BilledUnits(BaseModel):
    search_units: int


class Tokens(BaseModel):
    input_tokens: int


class Meta(BaseModel):
    api_version: ApiVersion
    billed_units: BilledUnits
    tokens: Tokens


class UsageOut(BaseModel):
    total_tokens: int
    query_truncated: bool = Field(False, description="The query was over the model's query window and cut to "
                                                     "its request part (docs/requests.md).")


class RerankAnswer(BaseModel):
    """Cohere's response (Jina reads ``results`` and ``usage``)."""

    id: str
    model: str
    results: list[RerankResult]
    meta: Meta
    usage: UsageOut


class TeiRerankBody(_Body):
    """TEI's native ``POST /rerank`` body."""

    query: StrictStr
    texts: list[StrictStr]
    raw_scores: StrictBool = False
    return_text: StrictBool = False
    truncate: Optional[StrictBool] = Field(None, description="true or absent: a query over the model's window is "
                                                             "cut to its request part; false: such a query, or a "
                                                             "text the model would cut, is refused (413), as TEI "
                                                             "does. Long texts are windowed by a cross-encoder.")
    truncation_direction: Literal["Right", "right"] = Field(
        "Right", description="Only Right: the end of a long text is cut (Left is not supported).")


class TeiRank(BaseModel):
    index: int
    score: float
    text: Optional[str] = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "toolrank"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class CohereError(BaseModel):
    message: str


class ErrorDetail(BaseModel):
    type: str
    message: str


class ErrorAnswer(BaseModel):
    error: ErrorDetail


class TeiError(BaseModel):
    error: str
    error_type: str


# -- documents -> candidates -------------------------------------------------------------------------------------


def _render_fields(doc: dict[str, Any], names: list[str], where: str) -> str:
    """``field: value`` lines (non-strings as JSON), in the order asked for."""
    lines = []
    for name in names:
        value = doc.get(name)
        if value is None or value == "":
            continue
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        lines.append(f"{name}: {text}")
    if not lines:
        raise InvalidField(f"{where}: none of the fields {names} is set")
    return "\n".join(lines)


def document_content(doc: str | dict[str, Any], where: str, rank_fields: list[str] | None,
                     detect: bool = True) -> CandidateInput:
    """A string is text; a tool schema or a code/sql/tool/text object goes to its normalizer; other objects
    become ``field: value`` lines of ``rank_fields`` (default: every field).

    ``detect`` ("kind: auto", the default for HTTP): a string or ``{"text": ...}`` document that is a
    tool schema, SQL or a source file is normalized as one (normalize/detect.py)."""
    if isinstance(doc, str):
        return TextInput(doc, detect)
    try:
        content: CandidateInput | None = content_from_json(doc, where)
    except InvalidRequest as exc:
        if any(k in doc for k in _STRUCTURED_KEYS):
            raise InvalidField(str(exc)) from None
        content = None  # a plain object: rendered below
    if content is not None and not (rank_fields and isinstance(content, TextInput)):
        return TextInput(content.text, detect) if isinstance(content, TextInput) else content
    return TextInput(_render_fields(doc, rank_fields or [str(k) for k in doc], where))


def document_candidate(doc: str | dict[str, Any], where: str, rank_fields: list[str] | None = None,
                       detect: bool = True) -> Candidate:
    """The one conversion from an HTTP document (Cohere, Jina, TEI) to the engine's Candidate."""
    doc_id = doc.get("id") if isinstance(doc, dict) else None
    return Candidate(document_content(doc, where, rank_fields, detect), doc_id if isinstance(doc_id, str) else "")


def rerank_query_of(body: RerankBody, model: str) -> RerankQuery:
    detect = body.detect_kinds is not False
    candidates = tuple(document_candidate(doc, f"documents[{i}]", body.rank_fields, detect)
                       for i, doc in enumerate(body.documents))
    return RerankQuery(query=body.query, candidates=candidates, top_n=body.top_n or 0, model=model,
                       max_tokens_per_doc=body.max_tokens_per_doc or 0,
                       lexical_weight=float(body.lexical_weight) if body.lexical_weight is not None else None)


def tei_query_of(body: TeiRerankBody, model: str) -> RerankQuery:
    candidates = tuple(document_candidate(text, f"texts[{i}]") for i, text in enumerate(body.texts))
    return RerankQuery(query=body.query, candidates=candidates, raw_scores=body.raw_scores, model=model,
                       truncate=body.truncate is not False)


def _echo(doc: str | dict[str, Any]) -> dict[str, Any]:
    """The caller's document unchanged; a string under Cohere's ``{"text": ...}``."""
    return {"text": doc} if isinstance(doc, str) else doc


def rerank_answer(body: RerankBody, outcome: RerankOutcome, api_version: str) -> RerankAnswer:
    results = [RerankResult(index=r.index, relevance_score=r.score,
                            document=_echo(body.documents[r.index]) if body.return_documents else None)
               for r in outcome.results]
    tokens = outcome.usage.query_tokens + outcome.usage.candidate_tokens
    return RerankAnswer(
        id=str(uuid.uuid4()),
        model=outcome.model,
        results=results,
        meta=Meta(api_version=ApiVersion(version=api_version),
                  billed_units=BilledUnits(search_units=max(1, math.ceil(len(body.documents) / 100))),
                  tokens=Tokens(input_tokens=tokens)),
        usage=UsageOut(total_tokens=tokens, query_truncated=outcome.usage.query_truncated),
    )


def tei_answer(body: TeiRerankBody, outcome: RerankOutcome) -> list[TeiRank]:
    return [TeiRank(index=r.index, score=r.score, text=body.texts[r.index] if body.return_text else None)
            for r in outcome.results]
