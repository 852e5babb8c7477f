"""Golden fixtures for code (one per language) and SQL (one per dialect), written by
``python scripts/gen_fixtures_code_sql.py``: the normalizers must reproduce them byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolrank.normalize.code import normalize_code
from toolrank.normalize.code.languages import BY_NAME
from toolrank.normalize.sql import normalize_sql
from toolrank.types import CodeInput, NormalizeOptions, SqlInput

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "normalize"
CODE = sorted((FIXTURES / "code").glob("*.json"))
SQL = sorted((FIXTURES / "sql").glob("*.json"))


def test_every_language_and_the_dialects_have_fixtures() -> None:
    assert {p.stem for p in CODE} == set(BY_NAME)
    assert len(SQL) >= 10


@pytest.mark.parametrize("path", CODE, ids=[p.stem for p in CODE])
def test_code_fixture(path: Path) -> None:
    fixture = json.loads(path.read_text(encoding="utf-8"))
    for r in fixture["renderings"]:
        out = normalize_code(CodeInput(fixture["input"], fixture["language"]), NormalizeOptions(max_chars=r["max_chars"]))
        assert (out.text, out.detail, out.fallback) == (r["expected"], r["detail"], r["fallback"]), \
            f"{path.name} at {r['max_chars']} chars: run scripts/gen_fixtures_code_sql.py and review the diff"


@pytest.mark.parametrize("path", SQL, ids=[p.stem for p in SQL])
def test_sql_fixture(path: Path) -> None:
    fixture = json.loads(path.read_text(encoding="utf-8"))
    for r in fixture["renderings"]:
        out = normalize_sql(SqlInput(r["input"], fixture["dialect"]), NormalizeOptions())
        assert (out.text, out.detail, out.fallback) == (r["expected"], r["detail"], r["fallback"]), \
            f"{path.name} ({r['part']}): run scripts/gen_fixtures_code_sql.py and review the diff"
        assert not r["fallback"], f"{path.name} ({r['part']}): a dialect's own syntax must parse"
