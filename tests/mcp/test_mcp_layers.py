"""Where the MCP transport sits: the CLI parser does not load it, the layers below never import it."""

from __future__ import annotations

import subprocess
import sys


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
                         capture_output=True, check=True, text=True, timeout=120)
    return set(out.stdout.split())


def test_building_the_cli_parser_loads_no_mcp_sdk_or_engine() -> None:
    loaded = _modules_after("from toolrank.cli import build_parser; build_parser()")
    assert "toolrank.mcp.cli" in loaded
    assert not {"mcp", "mcp_types", "toolrank.mcp.upstream", "toolrank.engine.engine", "onnxruntime"} & loaded


def test_catalogs_and_engine_import_no_mcp() -> None:
    loaded = _modules_after("import toolrank.catalogs, toolrank.engine.engine, toolrank.api.serve")
    assert not {m for m in loaded if m == "mcp" or m.startswith(("mcp.", "toolrank.mcp"))}
