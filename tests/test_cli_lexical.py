"""``toolrank eval --lexical-weight``: the weight reaches the engine, and a bad one is a usage error."""

from __future__ import annotations

import json

import pytest

from conftest import DATA
from toolrank.cli import main


def test_eval_reports_the_weight_it_ran_with(capsys):
    assert main(["eval", str(DATA / "sql-spider"), "--limit", "5", "--json", "--lexical-weight", "0.3"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["lexical_weight"] == 0.3 and report["queries"] == 5


@pytest.mark.parametrize("value, message", [("-1", "between 0 and 10"), ("x", "expected a number")])
def test_eval_refuses_a_bad_weight(capsys, value, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", str(DATA / "sql-spider"), "--limit", "1", "--lexical-weight", value])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
