"""Catalog routes over real HTTP on loopback, sharing one catalog service with gRPC."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlparse

import pytest

from catalog_helpers import TINY_BI, TINY_CROSS, TOOLS, data_home, tiny_settings  # noqa: F401 (autouse fixture)
from conftest import ServerThread
from toolrank.client import Client


@pytest.fixture()
def server(tmp_path):
    s = ServerThread(tiny_settings(TINY_BI, TINY_CROSS, store=f"sqlite:///{tmp_path}/c.sqlite3"), http=True).start()
    yield s
    s.stop()


def call(base: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    parts = urlparse(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    data = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
    conn.request(method, path, body=data, headers={"content-type": "application/json"} if data else {})
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    return resp.status, json.loads(raw) if raw else None


def test_routes_put_select_get_list_delete(server):
    url = server.http_url
    cands = [{"id": c.id, "tool": json.loads(c.content.json), "metadata": {"i": str(i)}} for i, c in enumerate(TOOLS)]
    status, out = call(url, "PUT", "/v1/catalogs/tools", {"candidates": cands})
    assert status == 200 and (out["size"], out["added"]) == (6, 6) and out["usage"]["windows"] == 6
    status, picked = call(url, "POST", "/v1/catalogs/tools/select",
                          {"query": "translate text", "top_k": 2, "return_text": True, "return_candidates": True,
                           "pinned_ids": ["get_weather"], "min_score": 0})
    assert status == 200 and len(picked["results"]) == 2 and picked["version"] == out["version"]
    assert picked["rerank_model"] == "tiny-cross" and picked["timing"]["total_ns"] > 0
    assert any(r["pinned"] and r["id"] == "get_weather" for r in picked["results"])
    other = next(r for r in picked["results"] if not r["pinned"])
    assert other["text"] and other["candidate"]["id"] == other["id"] and "metadata" in other["candidate"]
    with Client(server.address) as client:  # the same catalog over gRPC
        assert client.get_catalog("tools").version == out["version"]
    assert call(url, "GET", "/v1/catalogs/tools") == (200, {"catalog": "tools", "version": out["version"],
                                                             "size": 6, "model": "tiny-bi", "examples": 0,
                                                             "feedback": 0, "learn": True})
    assert call(url, "GET", "/v1/catalogs")[1]["catalogs"][0]["catalog"] == "tools"
    assert call(url, "DELETE", "/v1/catalogs/tools")[0] == 200
    status, err = call(url, "POST", "/v1/catalogs/tools/select", {"query": "x"})
    assert status == 404 and "'tools' does not exist" in err["error"]["message"]
    assert call(url, "GET", "/v1/catalogs/tools")[0] == 404


@pytest.mark.parametrize("method, path, body, status, words", [
    ("PUT", "/v1/catalogs/c", {"candidates": [{"id": "a", "text": "x"}, {"text": "y"}]}, 400, "candidates[1].id"),
    ("PUT", "/v1/catalogs/c", {"candidates": [{"id": "a", "text": "x"}, 5]}, 400, "candidates[1]"),
    ("PUT", "/v1/catalogs/c", {"candidates": [], "replace": "yes"}, 422, "replace"),
    ("PUT", "/v1/catalogs/c", {"candidates": [], "bogus": 1}, 422, "bogus"),
    ("PUT", "/v1/catalogs/c", b"not json", 400, "not valid JSON"),
    ("PUT", "/v1/catalogs/bad%20name", {"candidates": [{"id": "a", "text": "x"}]}, 400, "catalog: 'bad name'"),
    ("POST", "/v1/catalogs/c/select", {"query": "x", "top_k": -1}, 422, "top_k"),
    ("POST", "/v1/catalogs/c/select", {"top_k": 1}, 422, "query"),
    ("POST", "/v1/catalogs/c/select", {"query": ""}, 400, "query: empty"),
    ("POST", "/v1/catalogs/c/select", {"query": "x", "pinned_ids": ["ghost"]}, 400, "pinned_ids[0]"),
])
def test_bad_bodies_are_4xx_naming_the_field(server, method, path, body, status, words):
    assert call(server.http_url, "PUT", "/v1/catalogs/c", {"candidates": [{"id": "k", "text": "kept"}]})[0] == 200
    got, err = call(server.http_url, method, path, body)
    assert got == status and words in err["error"]["message"]
    assert call(server.http_url, "GET", "/v1/catalogs/c")[1]["size"] == 1  # a refused put changed nothing
