"""Catalogs over HTTP: ``PUT/GET/DELETE /v1/catalogs/{name}``, ``GET /v1/catalogs``, ``POST /v1/catalogs/{name}/select``.

A FastAPI router on the same CatalogService as gRPC (one per engine); bodies are the
JSON twins of the protobuf messages, candidates in :mod:`toolrank.candidates`' shapes.
Errors go through the app's one table (404 for an unknown catalog, 429 past a limit).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, Optional

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from toolrank.api.http_app import body_schema, read_body
from toolrank.candidates import candidate_from_json
from toolrank.catalogs.service import OFF_LOOP_CANDIDATES, CatalogService, candidate_json
from toolrank.catalogs.types import CatalogInfo, FeedbackRequest, PutCatalogRequest, SelectQuery
from toolrank.types import Candidate


class PutBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    candidates: list[Any] = Field(default_factory=list, description="candidates, each with a unique id")
    replace: StrictBool = False
    delete_ids: list[StrictStr] = Field(default_factory=list)
    model: StrictStr = ""
    learn: Optional[StrictBool] = Field(None, description="learning on/off for this catalog (unset: as is)")


class FeedbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: StrictStr
    chosen_ids: list[StrictStr] = Field(default_factory=list)
    rejected_ids: list[StrictStr] = Field(default_factory=list)
    source: StrictStr = ""


class SelectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: StrictStr
    top_k: StrictInt = Field(0, ge=0, description="0 = 10")
    min_score: Optional[StrictFloat | StrictInt] = None
    pinned_ids: list[StrictStr] = Field(default_factory=list)
    filter: dict[StrictStr, StrictStr] = Field(default_factory=dict)
    instruction: StrictStr = ""
    return_candidates: StrictBool = False
    return_text: StrictBool = False
    model: StrictStr = ""
    context: list[StrictStr] = Field(default_factory=list)
    rerank_depth: StrictInt = Field(0, ge=0)
    stage_one_only: StrictBool = False
    rerank_model: StrictStr = ""
    no_learning: StrictBool = False
    adaptive: StrictBool = False
    max_tokens: StrictInt = Field(0, ge=0, description="0 = no budget; ~4 characters of candidate JSON per token")
    per_step: StrictBool = Field(False, description="cover each step of a multi-step query (docs/requests.md)")


def _info(info: CatalogInfo, learning: bool = True) -> dict[str, Any]:
    """``learning``: with the example/feedback counts (GetCatalog; a list leaves them out: it loads no catalog)."""
    out = asdict(info)
    if not learning:
        for key in ("examples", "feedback", "learn"):
            out.pop(key)
    return out


def catalogs_router(service: CatalogService) -> APIRouter:
    """The catalog routes, answering from ``service`` (the one gRPC's Catalogs shares)."""
    router = APIRouter(tags=["catalogs"])

    def catalogs() -> CatalogService:
        return service

    @router.put("/v1/catalogs/{name}", openapi_extra=body_schema(PutBody))
    async def put_catalog(name: str, request: Request) -> dict[str, Any]:
        body = await read_body(request, PutBody)
        def convert() -> tuple[Candidate, ...]:
            return tuple(candidate_from_json(c, f"candidates[{i}]") for i, c in enumerate(body.candidates))

        cands = (await catalogs().pools.cpu(convert) if len(body.candidates) > OFF_LOOP_CANDIDATES else convert())
        out = await catalogs().put(PutCatalogRequest(name, cands, body.replace, tuple(body.delete_ids), body.model,
                                                     body.learn))
        return {**asdict(out), "usage": asdict(out.usage)}

    @router.post("/v1/catalogs/{name}/select", openapi_extra=body_schema(SelectBody))
    async def select(name: str, request: Request) -> dict[str, Any]:
        body = await read_body(request, SelectBody)
        out = await catalogs().select(SelectQuery(
            name, body.query, top_k=body.top_k,
            min_score=float(body.min_score) if body.min_score is not None else None,
            pinned_ids=tuple(body.pinned_ids), filter=body.filter, instruction=body.instruction,
            return_candidates=body.return_candidates, return_text=body.return_text, model=body.model,
            context=tuple(body.context), rerank_depth=body.rerank_depth, stage_one_only=body.stage_one_only,
            rerank_model=body.rerank_model, learn=not body.no_learning, adaptive=body.adaptive,
            max_tokens=body.max_tokens, per_step=body.per_step))
        results = []
        for h in out.results:
            item: dict[str, Any] = {"id": h.id, "score": h.score, "pinned": h.pinned}
            if h.step:
                item["step"] = h.step
            if h.text is not None:
                item["text"] = h.text
            if h.candidate is not None:
                item["candidate"] = json.loads(candidate_json(h.candidate))
            results.append(item)
        return {"results": results, "version": out.version, "usage": asdict(out.usage),
                "timing": asdict(out.timing), "model": out.model, "rerank_model": out.rerank_model,
                "no_match": out.no_match, "steps": list(out.steps)}

    @router.post("/v1/catalogs/{name}/feedback", openapi_extra=body_schema(FeedbackBody))
    async def feedback(name: str, request: Request) -> dict[str, Any]:
        body = await read_body(request, FeedbackBody)
        out = await catalogs().feedback(FeedbackRequest(name, body.query, tuple(body.chosen_ids),
                                                        tuple(body.rejected_ids), body.source))
        return asdict(out)

    @router.get("/v1/catalogs/{name}/feedback")
    async def list_feedback(name: str) -> dict[str, Any]:
        return {"records": [{"query": r.query, "chosen_ids": list(r.chosen_ids), "rejected_ids": list(r.rejected_ids),
                             "source": r.source} for r in await catalogs().feedback_records(name)]}

    @router.get("/v1/catalogs/{name}")
    async def get_catalog(name: str) -> dict[str, Any]:
        return _info(await catalogs().get(name))

    @router.get("/v1/catalogs")
    async def list_catalogs() -> dict[str, Any]:
        return {"catalogs": [_info(i, learning=False) for i in await catalogs().list()]}

    @router.delete("/v1/catalogs/{name}")
    async def delete_catalog(name: str) -> dict[str, Any]:
        return _info(await catalogs().delete(name), learning=False)

    return router
