"""Candidates from files, the one reader per format: JSON lines, tool lists, OpenAPI documents, SQL schemas,
source files and folders.

Below both the catalogs and the client (it imports neither): ``toolrank catalog put``, ``toolrank
normalize`` and the client's :func:`toolrank.candidates_from_folder` / :func:`toolrank.candidates_from_sql_file`
all read through here. Every candidate gets an id: the file's own ``id``, else the tool's or table's name,
else the file's path, made unique with ``#2``, ``#3``... Reading a SQL schema needs sqlglot (the server's
distribution); everything else is the standard library.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

from toolrank.candidates import candidate_from_json
from toolrank.errors import InvalidRequest
from toolrank.types import Candidate, CodeInput, SqlInput, TextInput, ToolInput

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MAX_SHARED_COMPONENTS = 64 * 1024  # an operation carries its document's components when they are this small
DEFAULT_MAX_FILE_BYTES = 256 * 1024  # the server's default per-candidate limit
TEXT_SUFFIXES = frozenset({"md", "rst", "txt", "adoc"})
SQL_SUFFIXES = frozenset({"sql", "ddl"})
_SNIFF_BYTES = 8192


def source_extensions() -> dict[str, str]:
    """File extension -> language, from the code normalizer's table (plain data: no tree-sitter is loaded)."""
    from toolrank.normalize.code.languages import EXTENSIONS

    return EXTENSIONS


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


def candidates_from_json_value(value: Any, where: str) -> list[tuple[str, Candidate]]:
    """(fallback id, candidate) for each item of a parsed JSON document: an OpenAPI document (one per
    operation), ``{"tools" | "functions" | "candidates": [...]}``, a list, or one candidate."""
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


def read_text_file(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> str | None:
    """The file's text, or None for big, binary or non-UTF-8 files."""
    try:
        if path.stat().st_size > max_bytes:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:_SNIFF_BYTES]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def sql_schema_candidates(path: str | os.PathLike[str], dialect: str = "") -> list[Candidate]:
    """One SQL candidate per CREATE TABLE / CREATE VIEW of a schema file, id = the table or view.

    Each keeps the statement's text (with the comments before it) followed by the ``CREATE INDEX``,
    ``COMMENT ON`` and ``ALTER TABLE`` statements naming that table, as the SQL normalizer folds them.
    Other statements (inserts...) are skipped.
    """
    try:
        from toolrank.normalize.sql import schema_tables
    except ImportError as exc:  # the client distribution alone: no sqlglot
        raise InvalidRequest(f"{path}: reading a SQL schema needs sqlglot (pip install toolrank): {exc}") from None
    text = Path(path).read_text(encoding="utf-8")
    return [Candidate(SqlInput(statement, dialect), name) for name, statement in schema_tables(text, dialect)]


def folder_candidates(path: str | os.PathLike[str], pattern: str = "**/*",
                      max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> list[Candidate]:
    """One candidate per source file under ``path`` matching ``pattern``, sorted by path, id = the relative path.

    Known code extensions become code (language set), ``.sql`` files SQL, other text files (``.md``,
    ``.txt``...) text. Hidden files and folders, binaries, non-UTF-8 and files over ``max_bytes`` are skipped.
    """
    root = Path(path)
    if not root.is_dir():
        raise NotADirectoryError(f"not a folder: {root}")
    extensions = source_extensions()
    out: list[Candidate] = []
    for file in sorted(root.glob(pattern)):
        rel = file.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not file.is_file():
            continue
        ext = file.suffix[1:].lower()
        if ext not in extensions and ext not in TEXT_SUFFIXES and ext != "sql":
            continue
        text = read_text_file(file, max_bytes)
        if text is None or not text.strip():
            continue
        name = rel.as_posix()
        if ext == "sql":
            out.append(Candidate(SqlInput(text), name, {"path": name}))
        elif ext in extensions:
            out.append(Candidate(CodeInput(text, extensions[ext], name), name))
        else:
            out.append(Candidate(TextInput(text), name, {"path": name}))
    return out


def _jsonl(path: Path) -> list[tuple[str, Candidate]]:
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    item = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InvalidRequest(f"{path}:{n}: not JSON ({exc.msg})") from None
                out.extend(candidates_from_json_value([item], f"{path}:{n}"))
    return out


def _file(path: Path) -> list[tuple[str, Candidate]]:
    ext = path.suffix[1:].lower()
    if ext == "jsonl":
        return _jsonl(path)
    if ext == "json":
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InvalidRequest(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
        return candidates_from_json_value(value, str(path))
    if ext in SQL_SUFFIXES:
        return [(c.id, c) for c in sql_schema_candidates(path)]
    extensions = source_extensions()
    if ext in extensions or ext in TEXT_SUFFIXES:
        text = read_text_file(path, DEFAULT_MAX_FILE_BYTES)
        if text is None:
            raise InvalidRequest(f"{path}: not a UTF-8 text file of at most {DEFAULT_MAX_FILE_BYTES} bytes")
        content = CodeInput(text, extensions[ext], path.name) if ext in extensions else TextInput(text)
        return [(path.name, Candidate(content, path.name))]
    raise InvalidRequest(f"{path}: expected .jsonl, .json (tools or OpenAPI), .sql, a source or text file, or a folder")


def read_candidates(path: str | os.PathLike[str]) -> list[Candidate]:
    """Every candidate in ``path`` (a file as above, or a folder: one per source/SQL/text file), each with an id."""
    root = Path(path)
    if root.is_dir():
        pairs = [(c.id, c) for c in folder_candidates(root)]
    elif root.is_file():
        pairs = _file(root)
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
