"""Catalog test helpers: settings on the tiny generated models, candidates, and a fixture keeping stores out of $HOME.

Test modules import ``data_home`` (autouse) so that the default sqlite store lives under the test's folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from toolrank.settings import Settings
from toolrank.types import Candidate, SqlInput, TextInput, ToolInput

TINY = Path(__file__).resolve().parent.parent / "models"
TINY_BI = ("tiny-bi", str(TINY / "tiny-bert-bi"))
TINY_CROSS = ("tiny-cross", str(TINY / "tiny-bert-cross"))


def tiny_settings(*models: tuple[str, str], **kw) -> Settings:
    kw.setdefault("store", "memory://")
    kw.setdefault("catalog_refresh_s", 0.0)
    return Settings(models=models or (TINY_BI,), threads=1, **kw)


def tool(name: str, description: str, cid: str | None = None, **metadata: str) -> Candidate:
    schema = {"type": "function", "function": {"name": name, "description": description,
                                               "parameters": {"type": "object", "properties": {}}}}
    return Candidate(ToolInput(json.dumps(schema)), cid or name, metadata)


def text(cid: str, body: str, **metadata: str) -> Candidate:
    return Candidate(TextInput(body), cid, metadata)


def table(name: str, columns: str) -> Candidate:
    return Candidate(SqlInput(f"CREATE TABLE {name} ({columns})", "sqlite"), name)


TOOLS = [
    tool("get_weather", "Current weather and forecast for a city"),
    tool("send_email", "Send an email message to a recipient"),
    tool("book_flight", "Book a flight ticket between two airports on a date"),
    tool("create_invoice", "Create an invoice for a customer order"),
    tool("search_web", "Search the web for pages matching a query"),
    tool("translate_text", "Translate text from one language to another"),
]


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The default sqlite store lives under $XDG_DATA_HOME: keep it in the test's folder."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    yield tmp_path / "data-home"
