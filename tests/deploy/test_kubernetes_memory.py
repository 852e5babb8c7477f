"""The base's cache budget (TOOLRANK_CACHE_MEMORY_MB) fits the server container's memory limit."""

from __future__ import annotations

from pathlib import Path

from ci_services import require_module

yaml = require_module("yaml")

BASE = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes" / "base"


def test_the_cache_budget_fits_the_memory_limit() -> None:
    settings = yaml.safe_load((BASE / "configmap.yaml").read_text())["data"]
    deployment = yaml.safe_load((BASE / "deployment.yaml").read_text())
    (server,) = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "toolrank"]
    limit = server["resources"]["limits"]["memory"]
    assert limit.endswith("Gi") and "TOOLRANK_CACHE_SIZE" not in settings
    budget = int(settings["TOOLRANK_CACHE_MEMORY_MB"])
    assert 0 < budget <= int(limit[:-2]) * 1024 // 3  # the model, onnxruntime and the indexes need the rest
