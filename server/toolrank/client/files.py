"""Candidates from files on disk: a source folder, a SQL schema file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

from toolrank.client.inputs import Code, Sql, Text

DEFAULT_MAX_FILE_BYTES = 256 * 1024  # the server's default per-candidate limit
_TEXT_SUFFIXES = frozenset({"md", "rst", "txt", "adoc"})
_SNIFF_BYTES = 8192


def _read_text_file(path: Path, max_bytes: int) -> str | None:
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


def candidates_from_folder(path: str | os.PathLike[str], pattern: str = "**/*",
                           max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> list[Union[Code, Sql, Text]]:
    """One candidate per source file under ``path`` matching ``pattern``, sorted by path.

    Known code extensions become :class:`Code` with the language set, ``.sql``
    files :class:`Sql`, other text files (``.md``, ``.txt``...) :class:`Text`.
    Hidden files and folders, binaries, non-UTF-8 and files over ``max_bytes``
    are skipped. Each candidate's ``id`` and ``path`` are the path relative to
    ``path``.
    """
    from toolrank.normalize.code_languages import EXTENSIONS

    root = Path(path)
    if not root.is_dir():
        raise NotADirectoryError(f"not a folder: {root}")
    out: list[Union[Code, Sql, Text]] = []
    for file in sorted(root.glob(pattern)):
        rel = file.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not file.is_file():
            continue
        ext = file.suffix[1:].lower()
        if ext not in EXTENSIONS and ext not in _TEXT_SUFFIXES and ext != "sql":
            continue
        text = _read_text_file(file, max_bytes)
        if text is None or not text.strip():
            continue
        name = rel.as_posix()
        if ext == "sql":
            out.append(Sql(text, id=name, metadata={"path": name}))
        elif ext in EXTENSIONS:
            out.append(Code(text, EXTENSIONS[ext], name, id=name))
        else:
            out.append(Text(text, id=name, metadata={"path": name}))
    return out


def candidates_from_sql_file(path: str | os.PathLike[str], dialect: str = "") -> list[Sql]:
    """One :class:`Sql` candidate per CREATE TABLE / CREATE VIEW in a schema file.

    Each keeps the statement's text (with the comments before it) followed by the
    ``CREATE INDEX``, ``COMMENT ON`` and ``ALTER TABLE`` statements naming that table,
    as the SQL normalizer folds them; its ``id`` is the table or view name. Other
    statements (inserts...) are skipped.
    """
    from toolrank.normalize.sql import schema_tables

    text = Path(path).read_text(encoding="utf-8")
    return [Sql(statement, dialect, id=name) for name, statement in schema_tables(text, dialect)]
