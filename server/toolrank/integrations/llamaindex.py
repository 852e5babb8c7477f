"""LlamaIndex node postprocessor that reranks with a toolrank server.

``pip install 'toolrank[llamaindex]'``; pass it in ``node_postprocessors=[...]``
of a query engine. See :mod:`toolrank.integrations` for how metadata marks tool,
code and SQL nodes.
"""

from __future__ import annotations

from typing import List, Optional

from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle

from toolrank.client import DEFAULT_ADDRESS, AsyncClient, Client, Ranking
from toolrank.integrations import document_candidate


class ToolrankRerank(BaseNodePostprocessor):
    """Keep the ``top_n`` nodes most relevant to the query, best first, scored by toolrank.

    Returns new ``NodeWithScore`` objects; the caller's are not changed.
    """

    address: str = Field(default=DEFAULT_ADDRESS, description="the toolrank server (host:port)")
    top_n: Optional[int] = Field(default=3, description="nodes to keep; None keeps them all")
    model: str = Field(default="", description="a served model's name; empty: the server's default")
    token: Optional[str] = Field(default=None, repr=False, description="bearer token")
    root_certificates: Optional[bytes] = Field(default=None, repr=False, description="PEM CA for TLS")
    timeout: Optional[float] = Field(default=60.0, description="deadline per call, seconds")

    _client: Optional[Client] = PrivateAttr(default=None)

    @classmethod
    def class_name(cls) -> str:
        return "ToolrankRerank"

    def _sync_client(self) -> Client:
        if self._client is None:
            self._client = Client(self.address, token=self.token, root_certificates=self.root_certificates,
                                  timeout=self.timeout)
        return self._client

    def _request(self, nodes: List[NodeWithScore], query_bundle: Optional[QueryBundle]) -> tuple[str, list, int]:
        if query_bundle is None:
            raise ValueError("ToolrankRerank needs a query (query_bundle or query_str)")
        candidates = [document_candidate(n.node.get_content(metadata_mode=MetadataMode.NONE), n.node.metadata,
                                         n.node.node_id) for n in nodes]
        top_n = max(0, self.top_n) if self.top_n is not None else 0
        return query_bundle.query_str, candidates, top_n

    @staticmethod
    def _scored(nodes: List[NodeWithScore], ranking: Ranking) -> List[NodeWithScore]:
        return [NodeWithScore(node=nodes[hit.index].node, score=hit.score) for hit in ranking]

    def _postprocess_nodes(self, nodes: List[NodeWithScore],
                           query_bundle: Optional[QueryBundle] = None) -> List[NodeWithScore]:
        if not nodes:
            return []
        query, candidates, top_n = self._request(nodes, query_bundle)
        return self._scored(nodes, self._sync_client().rerank(query, candidates, top_n=top_n, model=self.model))

    async def _apostprocess_nodes(self, nodes: List[NodeWithScore],
                                  query_bundle: Optional[QueryBundle] = None) -> List[NodeWithScore]:
        if not nodes:
            return []
        query, candidates, top_n = self._request(nodes, query_bundle)
        async with AsyncClient(self.address, token=self.token, root_certificates=self.root_certificates,
                               timeout=self.timeout) as client:
            ranking = await client.rerank(query, candidates, top_n=top_n, model=self.model)
        return self._scored(nodes, ranking)
