"""The gRPC transport of catalogs: toolrank.v1.Catalogs, converting messages and calling CatalogService."""

from __future__ import annotations

import grpc
import grpc.aio

from toolrank.convert_catalogs import (
    feedback_from_pb,
    feedback_outcome_to_pb,
    info_to_pb,
    put_outcome_to_pb,
    put_request_from_pb,
    select_outcome_to_pb,
    select_query_from_pb,
)
from toolrank.catalogs.service import OFF_LOOP_CANDIDATES, CatalogService
from toolrank.v1 import catalogs_pb2 as cpb
from toolrank.v1 import catalogs_pb2_grpc as cpb_grpc

SERVICE_NAME = cpb.DESCRIPTOR.services_by_name["Catalogs"].full_name


class CatalogsService(cpb_grpc.CatalogsServicer):
    """Converts messages and calls the catalog service; errors go through the one interceptor."""

    def __init__(self, catalogs: CatalogService) -> None:
        self.catalogs = catalogs

    async def PutCatalog(self, request: cpb.PutCatalogRequest,
                         context: grpc.aio.ServicerContext) -> cpb.PutCatalogResponse:
        if len(request.candidates) > OFF_LOOP_CANDIDATES:  # 100k candidates convert in about a second
            put = await self.catalogs.pools.cpu(put_request_from_pb, request)
        else:
            put = put_request_from_pb(request)
        return put_outcome_to_pb(await self.catalogs.put(put))

    async def Select(self, request: cpb.SelectRequest, context: grpc.aio.ServicerContext) -> cpb.SelectResponse:
        return select_outcome_to_pb(await self.catalogs.select(select_query_from_pb(request)))

    async def GetCatalog(self, request: cpb.GetCatalogRequest, context: grpc.aio.ServicerContext) -> cpb.CatalogInfo:
        return info_to_pb(await self.catalogs.get(request.catalog))

    async def ListCatalogs(self, request: cpb.ListCatalogsRequest,
                           context: grpc.aio.ServicerContext) -> cpb.ListCatalogsResponse:
        return cpb.ListCatalogsResponse(catalogs=[info_to_pb(i) for i in await self.catalogs.list()])

    async def DeleteCatalog(self, request: cpb.DeleteCatalogRequest,
                            context: grpc.aio.ServicerContext) -> cpb.CatalogInfo:
        return info_to_pb(await self.catalogs.delete(request.catalog))

    async def Feedback(self, request: cpb.FeedbackRequest, context: grpc.aio.ServicerContext) -> cpb.FeedbackResponse:
        return feedback_outcome_to_pb(await self.catalogs.feedback(feedback_from_pb(request)))

    async def ListFeedback(self, request: cpb.GetCatalogRequest,
                           context: grpc.aio.ServicerContext) -> cpb.ListFeedbackResponse:
        records = await self.catalogs.feedback_records(request.catalog)
        return cpb.ListFeedbackResponse(records=[
            cpb.FeedbackRequest(catalog=request.catalog, query=r.query, chosen_ids=list(r.chosen_ids),
                                rejected_ids=list(r.rejected_ids), source=r.source) for r in records])


def add_catalogs_service(server: grpc.aio.Server, catalogs: CatalogService) -> str:
    """Register toolrank.v1.Catalogs on ``server``, answering from ``catalogs``; returns its full name."""
    cpb_grpc.add_CatalogsServicer_to_server(CatalogsService(catalogs), server)
    return SERVICE_NAME
