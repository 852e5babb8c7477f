"""Candidates from files on disk, as the client's typed wrappers: a source folder, a SQL schema file.

The reading itself is :mod:`toolrank.readers` (the one reader per format, shared with ``toolrank catalog put``).
"""

from __future__ import annotations

import os
from typing import Union

from toolrank.client.inputs import Code, Sql, Text
from toolrank.readers import DEFAULT_MAX_FILE_BYTES, folder_candidates, sql_schema_candidates
from toolrank.types import Candidate, CodeInput, SqlInput

__all__ = ["DEFAULT_MAX_FILE_BYTES", "candidates_from_folder", "candidates_from_sql_file"]


def _wrapper(c: Candidate) -> Union[Code, Sql, Text]:
    if isinstance(c.content, CodeInput):
        return Code(c.content.source, c.content.language, c.content.path, id=c.id, metadata=c.metadata)
    if isinstance(c.content, SqlInput):
        return Sql(c.content.text, c.content.dialect, id=c.id, metadata=c.metadata)
    return Text(c.content.text, id=c.id, metadata=c.metadata)  # type: ignore[union-attr]


def candidates_from_folder(path: str | os.PathLike[str], pattern: str = "**/*",
                           max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> list[Union[Code, Sql, Text]]:
    """One candidate per source file under ``path`` matching ``pattern``, sorted by path.

    Known code extensions become :class:`Code` with the language set, ``.sql``
    files :class:`Sql`, other text files (``.md``, ``.txt``...) :class:`Text`.
    Hidden files and folders, binaries, non-UTF-8 and files over ``max_bytes``
    are skipped. Each candidate's ``id`` and ``path`` are the path relative to
    ``path``.
    """
    return [_wrapper(c) for c in folder_candidates(path, pattern, max_bytes)]


def candidates_from_sql_file(path: str | os.PathLike[str], dialect: str = "") -> list[Sql]:
    """One :class:`Sql` candidate per CREATE TABLE / CREATE VIEW in a schema file (id = the table or view).

    Each keeps the statement's text (with the comments before it) followed by the ``CREATE INDEX``,
    ``COMMENT ON`` and ``ALTER TABLE`` statements naming that table, as the SQL normalizer folds them.
    """
    return [Sql(c.content.text, dialect, id=c.id) for c in sql_schema_candidates(path, dialect)]  # type: ignore[union-attr]
