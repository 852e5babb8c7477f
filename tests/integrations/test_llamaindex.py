"""The LlamaIndex postprocessor with the real llama-index-core against a real server."""

from __future__ import annotations

import asyncio
import json

import pytest

pytest.importorskip("llama_index.core")

from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode  # noqa: E402

from toolrank.integrations.llamaindex import ToolrankRerank  # noqa: E402

WEATHER = {"name": "get_weather", "description": "Get the current weather for a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


def _nodes() -> list[NodeWithScore]:
    return [
        NodeWithScore(node=TextNode(text="A recipe for chocolate cake.", id_="cake"), score=0.9),
        NodeWithScore(node=TextNode(text=json.dumps(WEATHER), id_="weather",
                                    metadata={"toolrank_kind": "tool"}), score=0.1),
        NodeWithScore(node=TextNode(text="def send_email(to, body):\n    '''Send an email.'''\n", id_="mail",
                                    metadata={"toolrank_kind": "code", "file_path": "mail.py"}), score=0.5),
    ]


def test_postprocess_nodes(default_server):
    nodes = _nodes()
    reranker = ToolrankRerank(address=default_server.address, top_n=2)
    out = reranker.postprocess_nodes(nodes, query_str="what is the weather in Paris")
    assert [n.node.node_id for n in out] == ["weather", out[1].node.node_id] and len(out) == 2
    assert out[0].score >= out[1].score
    assert out[0].node is nodes[1].node and nodes[1].score == 0.1  # new NodeWithScore, inputs untouched


def test_query_bundle_async_and_all(default_server):
    reranker = ToolrankRerank(address=default_server.address, top_n=None)
    out = asyncio.run(reranker.apostprocess_nodes(_nodes(), QueryBundle("send an email")))
    assert len(out) == 3 and out[0].node.node_id == "mail"
    assert reranker.postprocess_nodes([], query_str="q") == []


def test_needs_a_query(default_server):
    with pytest.raises(ValueError, match="query"):
        ToolrankRerank(address=default_server.address).postprocess_nodes(_nodes())
