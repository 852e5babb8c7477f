"""LangChain document compressor that reranks with a toolrank server.

``pip install 'toolrank[langchain]'``; use it in a ``ContextualCompressionRetriever``
or call ``compress_documents`` directly. See :mod:`toolrank.integrations` for how
metadata marks tool, code and SQL documents.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import ConfigDict, Field, PrivateAttr

from toolrank.client import DEFAULT_ADDRESS, AsyncClient, Client, Ranking
from toolrank.integrations import SCORE_KEY, document_candidate


class ToolrankRerank(BaseDocumentCompressor):
    """Keep the ``top_n`` documents most relevant to the query, best first.

    Each returned document is a copy with ``metadata["relevance_score"]`` set;
    the caller's documents are not changed.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    address: str = DEFAULT_ADDRESS
    """The toolrank server (host:port)."""
    top_n: Optional[int] = 3
    """Documents to keep; None keeps them all."""
    model: str = ""
    """A served model's name; empty: the server's default."""
    token: Optional[str] = Field(default=None, repr=False)
    """Bearer token, when the server requires one."""
    root_certificates: Optional[bytes] = Field(default=None, repr=False)
    """PEM CA for TLS."""
    timeout: Optional[float] = 60.0
    client: Optional[Client] = Field(default=None, exclude=True)
    """A ready client (overrides address, token and TLS)."""

    _own_client: Optional[Client] = PrivateAttr(default=None)

    def _client(self) -> Client:
        if self.client is not None:
            return self.client
        if self._own_client is None:
            self._own_client = Client(self.address, token=self.token, root_certificates=self.root_certificates,
                                      timeout=self.timeout)
        return self._own_client

    def _top_n(self) -> int:
        return max(0, self.top_n) if self.top_n is not None else 0

    @staticmethod
    def _candidates(documents: Sequence[Document]) -> list[Any]:
        return [document_candidate(d.page_content, d.metadata, d.id or "") for d in documents]

    @staticmethod
    def _ranked(documents: Sequence[Document], ranking: Ranking) -> list[Document]:
        out = []
        for hit in ranking:
            doc = documents[hit.index]
            out.append(Document(page_content=doc.page_content, id=doc.id,
                                metadata={**doc.metadata, SCORE_KEY: hit.score}))
        return out

    def compress_documents(self, documents: Sequence[Document], query: str,
                           callbacks: Callbacks | None = None) -> Sequence[Document]:
        if not documents:
            return []
        ranking = self._client().rerank(query, self._candidates(documents), top_n=self._top_n(), model=self.model)
        return self._ranked(documents, ranking)

    async def acompress_documents(self, documents: Sequence[Document], query: str,
                                  callbacks: Callbacks | None = None) -> Sequence[Document]:
        if not documents:
            return []
        if self.client is not None:
            return await super().acompress_documents(documents, query, callbacks)
        async with AsyncClient(self.address, token=self.token, root_certificates=self.root_certificates,
                               timeout=self.timeout) as client:
            ranking = await client.rerank(query, self._candidates(documents), top_n=self._top_n(), model=self.model)
        return self._ranked(documents, ranking)
