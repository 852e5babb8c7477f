"""The LangChain compressor with the real langchain-core against a real server."""

from __future__ import annotations

import asyncio
import json

import pytest

pytest.importorskip("langchain_core")

from langchain_core.documents import Document  # noqa: E402

from toolrank.integrations.langchain import ToolrankRerank  # noqa: E402

WEATHER = {"name": "get_weather", "description": "Get the current weather for a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


def _docs() -> list[Document]:
    return [
        Document(page_content="A recipe for chocolate cake.", metadata={"source": "cake.txt"}),
        Document(page_content=json.dumps(WEATHER), metadata={"toolrank_kind": "tool"}, id="weather"),
        Document(page_content="def send_email(to, body):\n    '''Send an email.'''\n",
                 metadata={"toolrank_kind": "code", "language": "python", "source": "mail.py"}),
        Document(page_content="CREATE TABLE invoices (id INT, customer TEXT, amount REAL)",
                 metadata={"toolrank_kind": "sql", "dialect": "sqlite"}),
    ]


def test_compress_documents_ranks_and_scores(default_server):
    docs = _docs()
    reranker = ToolrankRerank(address=default_server.address, top_n=2)
    out = reranker.compress_documents(docs, "what is the weather in Paris")
    assert len(out) == 2
    assert out[0].id == "weather" and out[0].page_content == docs[1].page_content
    scores = [d.metadata["relevance_score"] for d in out]
    assert scores == sorted(scores, reverse=True)
    assert all("relevance_score" not in d.metadata for d in docs)  # the caller's documents are untouched


def test_top_n_none_keeps_all_and_code_metadata(default_server):
    out = ToolrankRerank(address=default_server.address, top_n=None).compress_documents(_docs(), "send an email")
    assert len(out) == 4 and out[0].metadata["source"] == "mail.py"


def test_async_and_empty(default_server):
    reranker = ToolrankRerank(address=default_server.address, top_n=1)
    out = asyncio.run(reranker.acompress_documents(_docs(), "what is the weather in Paris"))
    assert [d.id for d in out] == ["weather"]
    assert reranker.compress_documents([], "q") == []


def test_unknown_kind_is_refused(default_server):
    with pytest.raises(ValueError, match="toolrank_kind"):
        ToolrankRerank(address=default_server.address).compress_documents(
            [Document(page_content="x", metadata={"toolrank_kind": "image"})], "q")
