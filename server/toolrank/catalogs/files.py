"""Candidates for a catalog from files: JSON lines, tool lists, OpenAPI documents, SQL schemas, folders.

Used by ``toolrank catalog put`` (client side: imports no engine). Every candidate gets
an id, since catalogs need one: the file's own ``id``, else the tool's or table's
name, else the file path, made unique with ``#2``, ``#3``...
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from toolrank.candidates import candidate_from_json
from toolrank.errors import InvalidRequest
from toolrank.types import Candidate, ToolInput

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MAX_SHARED_COMPONENTS = 64 * 1024  # an operation carries its document's components when they are this small


def _tool_name(doc: Any) -> str:
    if isinstance(doc, dict):
        fn = doc.get("function")
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            return fn["name"]
        for key in ("name", "operationId"):
            if isinstance(doc.get(key), str):
                return doc[key]
    return ""


def openapi_operations(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, a one-operation OpenAPI document) per operation; ids are operationId or ``METHOD /path``."""
    components = doc.get("components") or doc.get("definitions")
    shared: dict[str, Any] = {}
    if components and len(json.dumps(components)) <= MAX_SHARED_COMPONENTS:
        shared = {"components": doc["components"]} if "components" in doc else {"definitions": doc["definitions"]}
    version: dict[str, Any] = {k: doc[k] for k in ("openapi", "swagger") if k in doc}
    for path, item in (doc.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                op_id = op.get("operationId") or f"{method.upper()} {path}"
                yield str(op_id), {**version, "paths": {path: {method: op}}, **shared}


def _from_json_value(value: Any, where: str) -> list[tuple[str, Candidate]]:
    """(fallback id, candidate) for each item of a parsed JSON file."""
    if isinstance(value, dict) and isinstance(value.get("paths"), dict) and ("openapi" in value or "swagger" in value):
        return [(op_id, Candidate(ToolInput(json.dumps(op, ensure_ascii=False)), op_id))
                for op_id, op in openapi_operations(value)]
    if isinstance(value, dict):
        for key in ("tools", "functions", "candidates"):
            if isinstance(value.get(key), list):
                value = value[key]
                break
        else:
            value = [value]
    if not isinstance(value, list):
        raise InvalidRequest(f"{where}: expected a JSON object or list")
    out = []
    for i, item in enumerate(value):
        cand = candidate_from_json(item, f"{where}[{i}]")
        name = _tool_name(item.get("tool", item)) if isinstance(item, dict) else ""
        out.append((cand.id or name, cand))
    return out


def _from_file(path: Path, root: Path) -> list[tuple[str, Candidate]]:
    from toolrank.client import candidates_from_sql_file  # client-side helpers (no engine)

    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        out = []
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        item = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise InvalidRequest(f"{path}:{n}: not JSON ({exc.msg})") from None
                    out.extend(_from_json_value([item], f"{path}:{n}"))
        return out
    if suffix == ".json":
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InvalidRequest(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
        return _from_json_value(value, str(path))
    if suffix in (".sql", ".ddl"):
        return [(s.id, s.to_candidate()) for s in candidates_from_sql_file(path)]
    raise InvalidRequest(f"{path}: expected .jsonl, .json (tools or OpenAPI), .sql or a folder")


def catalog_candidates(path: str | Path) -> list[Candidate]:
    """Every candidate in ``path`` (a file as above, or a folder: one per source/SQL/text file), each with an id."""
    from toolrank.client import candidates_from_folder

    root = Path(path)
    if root.is_dir():
        pairs = [(c.id, c.to_candidate()) for c in candidates_from_folder(root)]
    elif root.is_file():
        pairs = _from_file(root, root.parent)
    else:
        raise InvalidRequest(f"{root}: no such file or folder")
    out: list[Candidate] = []
    seen: dict[str, int] = {}
    for i, (fallback, cand) in enumerate(pairs):
        base = cand.id or fallback or f"{root.stem}-{i}"
        seen[base] = seen.get(base, 0) + 1
        cid = base if seen[base] == 1 else f"{base}#{seen[base]}"
        out.append(Candidate(cand.content, cid, cand.metadata))
    return out
