"""Catalog methods of the Python clients (mixed into :class:`toolrank.Client` and :class:`toolrank.AsyncClient`).

    client.put_catalog("tools", [tool_a, tool_b, ...])          # ids required (candidate "id" or Tool(..., id=))
    picked = client.select("tools", "book a flight to Paris", top_k=5)
    for hit in picked: print(hit.id, hit.score)                   # SelectHit(id, score, pinned, text, candidate)
    client.list_catalogs(); client.get_catalog("tools"); client.delete_catalog("tools")
    client.feedback("tools", "fly to Paris on Monday", chosen_ids=["book_flight"])  # later Selects learn from it

Imports no engine or onnxruntime: only protobuf conversion and the catalog dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import grpc

from toolrank.convert_catalogs import (
    feedback_from_pb,
    feedback_outcome_from_pb,
    feedback_to_pb,
    info_from_pb,
    put_outcome_from_pb,
    select_outcome_from_pb,
    select_query_to_pb,
)
from toolrank.catalogs.types import (CatalogInfo, FeedbackOutcome, FeedbackRequest, PutOutcome, SelectHit,
                                     SelectOutcome, SelectQuery)
from toolrank.types import Timing, Usage
from toolrank.v1 import catalogs_pb2 as cpb
from toolrank.v1 import catalogs_pb2_grpc as cpb_grpc

PUT_BATCH = 500  # candidates per PutCatalog call when a put is sent in parts


@dataclass(frozen=True, slots=True)
class Selection:
    """A Select answer: hits best first, the catalog version they all came from, usage and timing."""

    results: tuple[SelectHit, ...]
    version: int
    usage: Usage
    timing: Timing
    model: str
    rerank_model: str
    no_match: bool = False  # even the best result is below the calibrated threshold: nothing fits
    steps: tuple[str, ...] = ()  # the steps a multi-step query was split into (empty: one step)

    def __iter__(self) -> Iterator[SelectHit]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, i: int) -> SelectHit:
        return self.results[i]

    @property
    def ids(self) -> list[str]:
        return [h.id for h in self.results]


def _selection(out: SelectOutcome) -> Selection:
    return Selection(out.results, out.version, out.usage, out.timing, out.model, out.rerank_model, out.no_match,
                     out.steps)


def _put_requests(catalog: str, candidates: Iterable[Any], replace: bool, delete_ids: Sequence[str], model: str,
                  batch_size: int, learn: bool | None = None) -> list[cpb.PutCatalogRequest]:
    """One request, or (``batch_size`` > 0 and not ``replace``) one per batch, deletes in the last."""
    from toolrank.convert import candidate_to_pb
    from toolrank.client.inputs import to_candidate  # the client's candidate shapes (str, dict, Tool(...), ...)

    if isinstance(candidates, (str, bytes, Mapping)):
        raise TypeError("candidates: expected a list of candidates")
    pbs = [candidate_to_pb(to_candidate(c, f"candidates[{i}]")) for i, c in enumerate(candidates)]
    if replace or batch_size <= 0 or len(pbs) <= batch_size:
        requests = [cpb.PutCatalogRequest(catalog=catalog, candidates=pbs, replace=replace,
                                          delete_ids=list(delete_ids), model=model)]
    else:
        parts = [pbs[i:i + batch_size] for i in range(0, len(pbs), batch_size)]
        requests = [cpb.PutCatalogRequest(catalog=catalog, candidates=part, model=model,
                                          delete_ids=list(delete_ids) if i == len(parts) - 1 else [])
                    for i, part in enumerate(parts)]
    if learn is not None:
        requests[-1].learn = learn
    return requests


def _merge(outs: list[PutOutcome]) -> PutOutcome:
    last = outs[-1]
    usage = Usage(*(sum(getattr(o.usage, f) for o in outs) for f in Usage.__slots__))  # type: ignore[attr-defined]
    return PutOutcome(last.catalog, last.version, last.size, sum(o.added for o in outs),
                      sum(o.updated for o in outs), sum(o.deleted for o in outs), usage)


def _select_request(catalog: str, query: str, top_k: int, kwargs: Mapping[str, Any]) -> cpb.SelectRequest:
    if not isinstance(query, str):
        raise TypeError("query: expected a string")
    fields = dict(kwargs)
    if "no_learning" in fields:  # the proto's name for it (SelectRequest.no_learning); learn=False says the same
        fields["learn"] = not fields.pop("no_learning")
    for key in ("pinned_ids", "context"):
        if key in fields:
            fields[key] = tuple(fields[key])
    return select_query_to_pb(SelectQuery(catalog, query, top_k=top_k, **fields))


class CatalogMethods:
    """For the blocking :class:`toolrank.Client` (needs ``_channel`` and ``_call``)."""

    _channel: grpc.Channel
    _call: Callable[..., Any]  # Client's: (method, request, timeout) -> response, errors mapped

    def _catalogs(self) -> cpb_grpc.CatalogsStub:
        stub = getattr(self, "_catalogs_stub", None)
        if stub is None:
            stub = self._catalogs_stub = cpb_grpc.CatalogsStub(self._channel)
        return stub

    def put_catalog(self, catalog: str, candidates: Iterable[Any] = (), *, replace: bool = False,
                    delete_ids: Sequence[str] = (), model: str = "", batch_size: int = 0,
                    progress: Callable[[int, int], None] | None = None, timeout: float | None = None,
                    learn: bool | None = None) -> PutOutcome:
        """Create or upsert a catalog (ids required). ``batch_size`` > 0 sends an upsert in parts of that many
        candidates, calling ``progress(sent, total)`` after each (each part is atomic; ``replace`` never splits)."""
        requests = _put_requests(catalog, candidates, replace, delete_ids, model, batch_size, learn)
        total, sent, outs = sum(len(r.candidates) for r in requests), 0, []
        for request in requests:
            outs.append(put_outcome_from_pb(self._call(self._catalogs().PutCatalog, request, timeout)))
            sent += len(request.candidates)
            if progress is not None:
                progress(sent, total)
        return _merge(outs)

    def select(self, catalog: str, query: str, top_k: int = 10, *, timeout: float | None = None,
               **options: Any) -> Selection:
        """The best ``top_k`` of ``catalog`` for ``query``; options: min_score, pinned_ids, filter, instruction,
        return_candidates, return_text, model, context, rerank_depth, stage_one_only, rerank_model, learn,
        per_step (a multi-step query gets a set covering each of its steps; each hit's ``step`` says which)."""
        request = _select_request(catalog, query, top_k, options)
        return _selection(select_outcome_from_pb(self._call(self._catalogs().Select, request, timeout)))

    def get_catalog(self, catalog: str, timeout: float | None = None) -> CatalogInfo:
        return info_from_pb(self._call(self._catalogs().GetCatalog, cpb.GetCatalogRequest(catalog=catalog), timeout))

    def list_catalogs(self, timeout: float | None = None) -> list[CatalogInfo]:
        resp = self._call(self._catalogs().ListCatalogs, cpb.ListCatalogsRequest(), timeout)
        return [info_from_pb(c) for c in resp.catalogs]

    def delete_catalog(self, catalog: str, timeout: float | None = None) -> CatalogInfo:
        request = cpb.DeleteCatalogRequest(catalog=catalog)
        return info_from_pb(self._call(self._catalogs().DeleteCatalog, request, timeout))

    def feedback(self, catalog: str, query: str, chosen_ids: Sequence[str] = (), rejected_ids: Sequence[str] = (),
                 *, source: str = "", timeout: float | None = None) -> FeedbackOutcome:
        """Tell the catalog what was chosen (and rejected) for ``query``; later Selects learn from it."""
        request = feedback_to_pb(FeedbackRequest(catalog, query, tuple(chosen_ids), tuple(rejected_ids), source))
        return feedback_outcome_from_pb(self._call(self._catalogs().Feedback, request, timeout))

    def list_feedback(self, catalog: str, timeout: float | None = None) -> list[FeedbackRequest]:
        """The feedback ``catalog`` holds, oldest first."""
        resp = self._call(self._catalogs().ListFeedback, cpb.GetCatalogRequest(catalog=catalog), timeout)
        return [feedback_from_pb(r) for r in resp.records]


class AsyncCatalogMethods:
    """For :class:`toolrank.AsyncClient` (needs ``_open``, ``_timeout``, ``_metadata``)."""

    _metadata: Any
    _open: Callable[[], Any]  # AsyncClient's: the channel, opened on first use
    _timeout: Callable[[float | None], float | None]  # the client base's default deadline

    async def _catalog_call(self, name: str, request: Any, timeout: float | None) -> Any:
        from toolrank.client.errors import error_from_rpc

        method = getattr(cpb_grpc.CatalogsStub(self._open()), name)
        try:
            return await method(request, timeout=self._timeout(timeout), metadata=self._metadata)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from exc

    async def put_catalog(self, catalog: str, candidates: Iterable[Any] = (), *, replace: bool = False,
                          delete_ids: Sequence[str] = (), model: str = "", batch_size: int = 0,
                          progress: Callable[[int, int], None] | None = None,
                          timeout: float | None = None, learn: bool | None = None) -> PutOutcome:
        requests = _put_requests(catalog, candidates, replace, delete_ids, model, batch_size, learn)
        total, sent, outs = sum(len(r.candidates) for r in requests), 0, []
        for request in requests:
            outs.append(put_outcome_from_pb(await self._catalog_call("PutCatalog", request, timeout)))
            sent += len(request.candidates)
            if progress is not None:
                progress(sent, total)
        return _merge(outs)

    async def select(self, catalog: str, query: str, top_k: int = 10, *, timeout: float | None = None,
                     **options: Any) -> Selection:
        request = _select_request(catalog, query, top_k, options)
        return _selection(select_outcome_from_pb(await self._catalog_call("Select", request, timeout)))

    async def get_catalog(self, catalog: str, timeout: float | None = None) -> CatalogInfo:
        return info_from_pb(await self._catalog_call("GetCatalog", cpb.GetCatalogRequest(catalog=catalog), timeout))

    async def list_catalogs(self, timeout: float | None = None) -> list[CatalogInfo]:
        resp = await self._catalog_call("ListCatalogs", cpb.ListCatalogsRequest(), timeout)
        return [info_from_pb(c) for c in resp.catalogs]

    async def delete_catalog(self, catalog: str, timeout: float | None = None) -> CatalogInfo:
        return info_from_pb(await self._catalog_call("DeleteCatalog", cpb.DeleteCatalogRequest(catalog=catalog),
                                                     timeout))

    async def list_feedback(self, catalog: str, timeout: float | None = None) -> list[FeedbackRequest]:
        """The feedback ``catalog`` holds, oldest first."""
        resp = await self._catalog_call("ListFeedback", cpb.GetCatalogRequest(catalog=catalog), timeout)
        return [feedback_from_pb(r) for r in resp.records]

    async def feedback(self, catalog: str, query: str, chosen_ids: Sequence[str] = (),
                       rejected_ids: Sequence[str] = (), *, source: str = "",
                       timeout: float | None = None) -> FeedbackOutcome:
        request = feedback_to_pb(FeedbackRequest(catalog, query, tuple(chosen_ids), tuple(rejected_ids), source))
        return feedback_outcome_from_pb(await self._catalog_call("Feedback", request, timeout))
