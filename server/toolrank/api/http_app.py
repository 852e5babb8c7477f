"""The HTTP API as a FastAPI app: Cohere/Jina and TEI rerank, models, health, info, metrics, OpenAPI.

``create_app(engine, settings, ...)`` builds the app (served by uvicorn in
``toolrank.api.http_runner``). Routes::

    POST /v1/rerank, /v2/rerank   Cohere v1/v2 and Jina bodies and answers; errors {"message"}
    POST /rerank                  TEI's body ({query, texts, raw_scores, return_text, ...}) -> [{index, score, text?}]
    GET  /v1/models               OpenAI-style model list (served names and aliases)
    GET  /health                  200 {"status": "serving"} once warm, else 503 (never needs a token)
    GET  /info                    served models, aliases and version
    GET  /metrics                 Prometheus text format 0.0.4
    GET  /openapi.json, /docs     the schema of every route; Swagger UI with its files served here (no CDN)

The catalog routes answer from the catalog service given (``serve()`` shares gRPC's); more routers plug in
through ``routers=``.
Bodies are read as bytes and parsed (JSON, then the pydantic model) in a
worker thread when large, so a 32 MiB body never stalls the event loop gRPC shares.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar, Union

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

import toolrank
from toolrank.api.aliases import ModelAliases
from toolrank.api.auth import TokenChecker
from toolrank.api.http_errors import error_response, field_path
from toolrank.api.http_guard import HttpGuard
from toolrank.api.http_models import (
    CohereError,
    ErrorAnswer,
    ModelCard,
    ModelList,
    RerankAnswer,
    RerankBody,
    TeiError,
    TeiRank,
    TeiRerankBody,
    rerank_answer,
    rerank_query_of,
    tei_answer,
    tei_query_of,
)
from toolrank.api.metrics import CONTENT_TYPE, Metrics
from toolrank.api.tracing import Tracing
from toolrank.engine.engine import Engine
from toolrank.engine.validate import validate_candidates
from toolrank.errors import InvalidRequest, RequestTooLarge, ToolrankError, status_of
from toolrank.catalogs.service import CatalogService
from toolrank.settings import Settings

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
RouterFactory = Callable[..., APIRouter]

OFF_LOOP_BYTES = 64 * 1024  # bodies above this are parsed in a worker thread
DOCS_ASSETS = "/docs-assets"  # Swagger UI's files, served from the fastapi-offline wheel


@dataclass
class HttpState:
    """What the runner changes while the app serves: draining turns /health to 503."""

    draining: bool = False


# -- bodies ------------------------------------------------------------------------------------------------------


def _parse(raw: bytes, model: type[M]) -> M:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidRequest(f"body: not valid JSON ({type(exc).__name__}: {str(exc)[:200]})") from None
    if not isinstance(value, dict):
        raise InvalidRequest(f"body: expected a JSON object, got {type(value).__name__}")
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False,
                                                include_input=False)) from None
    except RecursionError:
        raise InvalidRequest("body: nested too deeply") from None


async def read_body(request: Request, model: type[M]) -> M:
    """The body as ``model``: 400 when it is not a JSON object, 422 naming the field when a field is wrong."""
    raw = await request.body()
    if not raw:
        raise InvalidRequest("body: empty, expected a JSON object")
    if len(raw) > OFF_LOOP_BYTES:
        return await asyncio.to_thread(_parse, raw, model)
    return _parse(raw, model)


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` describing a body the route reads itself (see ``read_body``)."""
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": model.model_json_schema()}}}}


def _errors(model: type[BaseModel], *statuses: int) -> dict[Union[int, str], dict[str, Any]]:
    return {s: {"model": model} for s in statuses}


# -- the app -----------------------------------------------------------------------------------------------------


def create_app(engine: Engine, settings: Settings, metrics: Metrics | None = None,
               routers: Iterable[APIRouter | RouterFactory] = (), state: HttpState | None = None,
               tracing: Tracing | None = None, catalogs: CatalogService | None = None) -> FastAPI:
    """The app with every route, guarded (limits, auth, metrics, tracing); more ``routers`` may be added.

    ``catalogs``: the catalog service of the catalog routes (None: one on ``settings.store``, built here).
    A router factory is called as ``factory(engine=..., settings=...)``.
    """
    metrics = metrics or Metrics(engine)
    state = state or HttpState()
    aliases = ModelAliases(settings.model_aliases)
    assets = _swagger_assets()
    app = FastAPI(title="toolrank", version=toolrank.__version__, redoc_url=None,
                  docs_url=None if assets is not None else "/docs",
                  description="Rerank tool schemas, code, SQL and text: Cohere/Jina and TEI dialects.")
    if assets is not None:
        _serve_docs_locally(app, assets)
    app.state.toolrank = state
    _add_error_handlers(app)
    app.include_router(_core_router(engine, settings, metrics, state, aliases))
    from toolrank.api.http_catalogs import catalogs_router  # it builds on this module's body readers

    app.include_router(catalogs_router(catalogs or CatalogService.from_settings(engine, settings)))
    for extra in routers:
        app.include_router(extra if isinstance(extra, APIRouter) else extra(engine=engine, settings=settings))
    app.add_middleware(HttpGuard, settings=settings, checker=TokenChecker.from_settings(settings),
                       metrics=metrics, tracing=tracing)
    return app


def _swagger_assets() -> Path | None:
    """Swagger UI's script and style from the fastapi-offline wheel (no CDN); None when it is absent."""
    try:
        import fastapi_offline
    except ImportError:
        return None
    folder = Path(fastapi_offline.__file__).parent / "static"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


def _serve_docs_locally(app: FastAPI, assets: Path) -> None:
    app.mount(DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="toolrank - Swagger UI",
                                   swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png")


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ToolrankError)
    async def toolrank_error(request: Request, exc: ToolrankError) -> Response:
        return error_response(request.url.path, status_of(exc)[1], str(exc), {"Toolrank-Error": type(exc).__name__})

    @app.exception_handler(RequestValidationError)
    async def invalid_field(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid"}
        where = field_path(first.get("loc", ()))
        status = 400 if where == "body" else 422
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return error_response(request.url.path, status, f"{where}: {first.get('msg', 'invalid')}{more}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        path = request.url.path
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no route {path}"
        elif exc.status_code == 405 and exc.headers and "Allow" in exc.headers:
            message = f"{request.method} {path}: use {exc.headers['Allow']}"
        return error_response(path, exc.status_code, message, dict(exc.headers) if exc.headers else None)


QUERY_TRUNCATED_HEADER = "x-query-truncated"


def _core_router(engine: Engine, settings: Settings, metrics: Metrics, state: HttpState,
                 aliases: ModelAliases) -> APIRouter:
    router = APIRouter()
    limits = settings.limits

    def check_count(n: int, field: str) -> None:
        if n > limits.max_candidates:
            raise RequestTooLarge(f"{field}: {n} {field}, over the limit of {limits.max_candidates}")

    async def cohere(request: Request, api_version: str) -> RerankAnswer:
        body = await read_body(request, RerankBody)
        check_count(len(body.documents), "documents")
        query = rerank_query_of(body, aliases.resolve(body.model or ""))
        validate_candidates(query.candidates, limits, field="documents")
        outcome = await engine.rerank(query)
        return rerank_answer(body, outcome, api_version)

    cohere_doc = dict(response_model=RerankAnswer, response_model_exclude_none=True,
                      openapi_extra=body_schema(RerankBody),
                      responses=_errors(CohereError, 400, 401, 408, 411, 413, 422, 429, 503, 504))

    @router.post("/v1/rerank", summary="Rerank (Cohere v1, Jina)", **cohere_doc)  # type: ignore[arg-type]
    async def rerank_v1(request: Request) -> RerankAnswer:
        return await cohere(request, "1")

    @router.post("/v2/rerank", summary="Rerank (Cohere v2)", **cohere_doc)  # type: ignore[arg-type]
    async def rerank_v2(request: Request) -> RerankAnswer:
        return await cohere(request, "2")

    @router.post("/rerank", summary="Rerank (TEI)", response_model=list[TeiRank], response_model_exclude_none=True,
                 openapi_extra=body_schema(TeiRerankBody),
                 responses=_errors(TeiError, 400, 401, 408, 411, 413, 422, 429, 503, 504))
    async def rerank_tei(request: Request, response: Response) -> list[TeiRank]:
        body = await read_body(request, TeiRerankBody)
        check_count(len(body.texts), "texts")
        query = tei_query_of(body, "")
        validate_candidates(query.candidates, limits, field="texts")
        outcome = await engine.rerank(query)
        # TEI's answer is a bare list: the query's truncation travels as a header
        response.headers[QUERY_TRUNCATED_HEADER] = "true" if outcome.usage.query_truncated else "false"
        return tei_answer(body, outcome)

    @router.get("/v1/models", response_model=ModelList, responses=_errors(ErrorAnswer, 401))
    async def models() -> ModelList:
        names = [s.name for s in engine.model_specs()] + aliases.names()
        return ModelList(data=[ModelCard(id=name) for name in names])

    @router.get("/health", responses={503: {"description": "not serving (warming up or shutting down)"}})
    async def health() -> JSONResponse:
        if engine.ready and not state.draining:
            return JSONResponse({"status": "serving"})
        return JSONResponse({"status": "not_serving"}, status_code=503)

    @router.get("/info", responses=_errors(ErrorAnswer, 401))
    async def info() -> dict[str, Any]:
        default = engine.default_model
        served = [{"name": s.name, "kind": s.kind, "family": s.family, "activation": s.activation,
                   "max_length": s.max_length, "max_query_length": s.max_query_length,
                   "is_default": s.name == default} for s in engine.model_specs()]
        return {"version": toolrank.__version__, "default_model": default, "models": served,
                "aliases": {a: aliases.resolve(a) or default for a in aliases.names()}}

    @router.get("/metrics", response_class=Response,
                responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format 0.0.4"}})
    async def metrics_text() -> Response:
        return Response(metrics.render(), media_type=None, headers={"Content-Type": CONTENT_TYPE})

    return router
