"""Settings: built once from flags, then TOOLRANK_* variables, then defaults; every value checked."""

from __future__ import annotations

import math

import pytest

from toolrank.errors import ConfigError
from toolrank.settings import Limits, Settings, settings_from


def test_defaults_are_valid_and_flags_beat_env_beat_defaults():
    assert settings_from({}, env={}) == Settings()
    s = settings_from({"port": 7000}, env={"TOOLRANK_PORT": "8000", "TOOLRANK_CACHE_SIZE": "12"})
    assert s.port == 7000 and s.cache_size == 12
    assert settings_from({}, env={"TOOLRANK_MAX_CANDIDATES": "5"}).limits.max_candidates == 5


@pytest.mark.parametrize("variable, value, message", [
    ("TOOLRANK_PORT", "abc", "TOOLRANK_PORT='abc': expected an integer"),
    ("TOOLRANK_PORT", "70000", "port: 70000 is above"),
    ("TOOLRANK_MAX_BATCH_SIZE", "-5", "max_batch_size: -5 is below"),
    ("TOOLRANK_REQUEST_TIMEOUT_S", "nan", "request_timeout_s: nan is not a finite number"),
    ("TOOLRANK_GRACE_S", "inf", "grace_s: inf is not a finite number"),
    ("TOOLRANK_CACHE_SIZE", "1.5", "TOOLRANK_CACHE_SIZE='1.5': expected an integer"),
    ("TOOLRANK_MAX_CANDIDATES", "-1", "max_candidates: -1 is below"),
    ("TOOLRANK_REUSE_PORT", "maybe", "TOOLRANK_REUSE_PORT='maybe': expected a boolean"),
])
def test_bad_environment_values_are_refused_naming_the_setting(variable, value, message):
    with pytest.raises(ConfigError) as err:
        settings_from({}, env={variable: value})
    assert message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("text, expected", [("false", False), ("0", False), ("no", False), ("off", False),
                                            ("true", True), ("1", True), ("YES", True), (" on ", True)])
def test_booleans_from_the_environment(text, expected):
    assert settings_from({}, env={"TOOLRANK_REUSE_PORT": text}).reuse_port is expected


@pytest.mark.parametrize("field, value", [
    ("port", "50051"), ("port", True), ("threads", -1), ("token_budget", 0), ("request_timeout_s", math.nan),
    ("request_timeout_s", -1.0), ("reuse_port", "false"), ("host", ""), ("cache_size", -1),
])
def test_bad_values_in_code_are_refused_too(field, value):
    with pytest.raises(ConfigError, match=field):
        Settings(**{field: value})


def test_models_must_be_name_path_pairs():
    with pytest.raises(ConfigError, match="models"):
        Settings(models=("just/a/path",))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="models: none"):
        Settings(models=())


def test_limits_are_checked():
    with pytest.raises(ConfigError, match="max_query_bytes"):
        Limits(max_query_bytes=-1)
    assert Settings(request_timeout_s=0).request_timeout_s == 0.0  # 0 = no limit, and ints are fine for floats


def test_cli_reports_a_bad_setting_in_one_line(monkeypatch, capsys, tmp_path):
    from toolrank.cli import main

    monkeypatch.setenv("TOOLRANK_PORT", "abc")
    assert main(["models", "list"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["toolrank models list: error: TOOLRANK_PORT='abc': expected an integer"]


@pytest.mark.parametrize("field,value", [("max_catalogs", -5), ("max_catalogs", 0), ("max_catalog_candidates", -1),
                                         ("catalog_refresh_s", float("nan")), ("catalog_refresh_s", -1.0),
                                         ("catalog_refresh_s", float("inf")), ("store", 123)])
def test_catalog_settings_are_checked(field, value):
    with pytest.raises(ConfigError, match=field):
        Settings(**{field: value})


def test_every_scalar_setting_refuses_a_wrong_type():
    """Not only the settings someone remembered to list: each field of Settings is checked by its type."""
    from dataclasses import fields as dc_fields

    for f in dc_fields(Settings):
        if isinstance(f.default, bool):
            wrong = "yes"
        elif isinstance(f.default, (int, float)):
            wrong = "12"
        elif isinstance(f.default, str):
            wrong = 123
        else:
            continue
        with pytest.raises(ConfigError, match=f.name):
            Settings(**{f.name: wrong})
        if isinstance(f.default, float):
            with pytest.raises(ConfigError, match=f.name):
                Settings(**{f.name: float("nan")})
