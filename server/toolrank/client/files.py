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


def split_sql_statements(sql: str, dialect: str = "") -> list[str]:
    """The statements of a SQL script, each with its leading comments, as written."""
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.tokens import TokenType

    tokens = Dialect.get_or_raise(dialect or None).tokenize(sql)
    pieces: list[str] = []
    start = 0
    for tok in tokens:
        if tok.token_type == TokenType.SEMICOLON:
            pieces.append(sql[start : tok.end + 1])
            start = tok.end + 1
    pieces.append(sql[start:])
    return [p.strip() for p in pieces if p.strip().strip(";").strip()]


def _created_name(statement: str, dialect: str) -> str | None:
    """The table or view a CREATE TABLE/VIEW statement defines, else None."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        tree = sqlglot.parse_one(statement, read=dialect or None)
    except SqlglotError:
        return _created_name_from_tokens(statement, dialect)
    if not isinstance(tree, exp.Create) or str(tree.args.get("kind", "")).upper() not in ("TABLE", "VIEW"):
        return None
    table = tree.find(exp.Table)
    if table is None:
        return None
    return ".".join(p.name for p in table.parts) or None


def _created_name_from_tokens(statement: str, dialect: str) -> str | None:
    """Fallback for statements sqlglot cannot parse: CREATE ... TABLE|VIEW [IF NOT EXISTS] name."""
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.errors import SqlglotError
    from sqlglot.tokens import TokenType

    try:
        tokens = Dialect.get_or_raise(dialect or None).tokenize(statement)
    except SqlglotError:
        return None
    if not tokens or tokens[0].token_type != TokenType.CREATE:
        return None
    for i, tok in enumerate(tokens[:8]):
        if tok.token_type in (TokenType.TABLE, TokenType.VIEW):
            rest = [t for t in tokens[i + 1 :] if t.text.upper() not in ("IF", "NOT", "EXISTS")]
            if not rest:
                return None
            parts = [rest[0].text]
            k = 1
            while k + 1 < len(rest) and rest[k].token_type == TokenType.DOT:
                parts.append(rest[k + 1].text)
                k += 2
            return ".".join(parts)
    return None


def candidates_from_sql_file(path: str | os.PathLike[str], dialect: str = "") -> list[Sql]:
    """One :class:`Sql` candidate per CREATE TABLE / CREATE VIEW in a schema file.

    Each keeps the statement's text (with the comments before it); its ``id`` is
    the table or view name. Other statements (indexes, inserts...) are skipped.
    """
    text = Path(path).read_text(encoding="utf-8")
    out: list[Sql] = []
    for statement in split_sql_statements(text, dialect):
        name = _created_name(statement, dialect)
        if name:
            out.append(Sql(statement, dialect, id=name))
    return out
