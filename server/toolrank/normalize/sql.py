"""SQL: DDL and queries rendered as what they are about.

The text is parsed with sqlglot in the candidate's dialect (validated against
sqlglot's dialect names) or, when that is empty, unknown or fails, in the first
of a few likely dialects that reads it without errors. Each statement becomes
a compact line:

* ``CREATE TABLE``: ``table Dogs: dog id, abandoned yes or no, is active
  boolean; primary key dog id; foreign key owner id -> owners.owner id; index
  breed code``. The table keeps its name, columns are split into words, plain
  text/number/date types are left out (see ``PLAIN_TYPES``), comments
  (``COMMENT`` clauses, ``--`` after a column, ``COMMENT ON``) replace a name
  they spell out or follow it in parentheses, and ``CREATE INDEX``, ``ALTER
  TABLE`` and ``COMMENT ON`` fold into the table they name when the same
  candidate defines it.
* Queries: ``query: tables orders, customers; joins orders.customer_id =
  customers.id; filters status = 'open'; aggregates count(*); group by region``.
* Views: ``view open orders: tables orders; filters ...``.

SQL that no dialect reads (or too long to parse in bounded time) falls back to
a token-level rendering: identifiers split into words, common keywords
dropped, with ``fallback=True``. The function never raises: sqlglot raises
many exception types (``RecursionError`` on deep nesting among them).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import sqlglot
from sqlglot import exp
from sqlglot.dialects import DIALECTS
from sqlglot.errors import ErrorLevel

from toolrank.normalize.common import clip, collapse_spaces, split_identifier
from toolrank.types import Normalized, NormalizeOptions, SqlInput

# sqlglot logs a warning for every statement it reads as an opaque Command;
# those statements are rendered token by token here, so the warning is noise.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

PARSE_MAX_CHARS = 12_000
"""Longest text handed to the parser (whole statements up to this length when longer)."""

SCAN_MAX_CHARS = 65_536
"""Longest prefix the token-level fallback reads."""

DETECT_ORDER: tuple[str, ...] = ("", "postgres", "mysql", "sqlite", "tsql", "bigquery", "snowflake")
"""Dialects tried in order when the candidate names none (or one that fails); "" is sqlglot's generic one."""

KNOWN_DIALECTS: frozenset[str] = frozenset(d.lower() for d in DIALECTS)

DIALECT_ALIASES: dict[str, str] = {
    "postgresql": "postgres",
    "pg": "postgres",
    "sqlserver": "tsql",
    "sql server": "tsql",
    "mssql": "tsql",
    "azuresql": "tsql",
    "mariadb": "mysql",
    "sparksql": "spark",
    "sqlite3": "sqlite",
    "googlesql": "bigquery",
}

KEYWORDS: frozenset[str] = frozenset(
    """
    add all alter and as asc auto_increment autoincrement begin between by cascade case cast check
    collate column commit constraint create cross current_timestamp database default delete desc
    distinct drop else end exists false foreign from full go group having if in index inner insert
    into is join key left like limit not null offset on or order outer primary references replace
    right rollback schema select set table temp temporary then to transaction true union unique
    update using values view when where with without
    """.split()
)
"""Words the token-level fallback drops: they say nothing about what the SQL is about."""

_FALLBACK_TOKEN = re.compile(
    r"'(?:[^']|''){0,200}'"  # string literal (bounded lookahead keeps the scan linear)
    r"|\"[^\"]{0,128}\"|`[^`]{0,128}`|\[[^\]]{0,128}\]"  # quoted identifiers
    r"|[^\W\d][\w$]*"  # bare words
    r"|\d+(?:\.\d+)?"
)
_MAX_LITERAL = 40
_MAX_STATEMENT = 300
_MAX_ITEMS = 12

_DT = exp.DataType.Type
PLAIN_TYPES: frozenset = frozenset(
    (
        exp.DataType.TEXT_TYPES
        | exp.DataType.NUMERIC_TYPES
        | exp.DataType.REAL_TYPES
        | exp.DataType.FLOAT_TYPES
        | exp.DataType.INTEGER_TYPES
        | exp.DataType.TEMPORAL_TYPES
        | {_DT.SERIAL, _DT.BIGSERIAL, _DT.SMALLSERIAL, _DT.UNKNOWN}
    )
    - {_DT.MONEY, _DT.SMALLMONEY}
)
"""Column types left out: text, number and date/time types cost tokens and tell a ranker little
that the column name does not (on sql-spider rendering them lowered nDCG@10 from 0.941 to
0.928-0.938); booleans, JSON, UUIDs, enums with their values, arrays, money... are kept."""


def normalize_sql(item: SqlInput, options: NormalizeOptions) -> Normalized:
    """The SQL as compact text about its tables, columns and queries; never raises."""
    try:
        return _normalize(item, options)
    except Exception as exc:  # noqa: BLE001 - total: any sqlglot failure degrades to tokens
        return _fallback(item.text, options, f"fallback: {type(exc).__name__}")


def _normalize(item: SqlInput, options: NormalizeOptions) -> Normalized:
    text = item.text
    if not text.strip():
        return Normalized("", True, "fallback: empty")
    truncated = False
    if len(text) > PARSE_MAX_CHARS:
        text = _whole_statements(text, PARSE_MAX_CHARS)
        truncated = True
        if not text:
            return _fallback(item.text, options, "fallback: too long")
    parsed = _parse(text, _dialect_name(item.dialect))
    if parsed is None:
        return _fallback(item.text, options, "fallback: unparsable")
    dialect, statements = parsed
    rendered = _render(statements, dialect)
    if not rendered:
        return _fallback(item.text, options, "fallback: empty parse")
    detail = dialect or "generic"
    if truncated:
        detail += " truncated"
    return Normalized(clip(rendered, options.max_chars), False, detail)


# ---------------------------------------------------------------- parsing


def _dialect_name(name: str) -> str | None:
    """The sqlglot dialect for ``name``, or None when empty or unknown (then: detect)."""
    key = name.strip().lower()
    key = DIALECT_ALIASES.get(key, key)
    return key if key and key in KNOWN_DIALECTS else None


def _whole_statements(text: str, limit: int) -> str:
    """The longest run of ``;``-separated statements from the start within ``limit`` characters."""
    cut = text.rfind(";", 0, limit)
    return text[: cut + 1] if cut > 0 else ""


def _parse(text: str, dialect: str | None) -> tuple[str, list[exp.Expr]] | None:
    """(dialect, statements) from the named dialect or the first likely one that reads ``text``.

    A dialect that reads everything beats one that left opaque ``Command`` statements.
    """
    order = ([dialect] if dialect is not None else []) + [d for d in DETECT_ORDER if d != dialect]
    partial: tuple[str, list[exp.Expr]] | None = None
    for name in order:
        try:
            statements = [
                s for s in sqlglot.parse(text, read=name or None, error_level=ErrorLevel.IMMEDIATE) if s is not None
            ]
        except RecursionError:
            return partial  # nesting too deep for the parser, whatever the dialect
        except Exception:  # noqa: BLE001 - ParseError, TokenError, ValueError, KeyError...
            continue
        if not statements:
            continue
        if not any(isinstance(s, exp.Command) for s in statements):
            return name, statements
        if partial is None:
            partial = (name, statements)
    return partial


# ---------------------------------------------------------------- rendering


def _words(name: str) -> str:
    """``breed_code`` -> ``breed code``; non-ASCII names only lose their underscores (``größe_kg``)."""
    if not name.isascii():
        return collapse_spaces(name.replace("_", " ")).lower()
    words = split_identifier(name)
    return " ".join(words) if words else name.lower()


def _sql(node: exp.Expr, dialect: str) -> str:
    text = node.sql(dialect=dialect or None, normalize_functions="lower", unsupported_level=ErrorLevel.IGNORE)
    return collapse_spaces(text)


def _literal(node: exp.Expr | None) -> str:
    if node is None:
        return ""
    value = node.name if isinstance(node, exp.Literal) else node.sql()
    return clip(collapse_spaces(value), _MAX_LITERAL * 3)


def _table_key(table: exp.Expr) -> str:
    return table.name.lower() if isinstance(table, (exp.Table, exp.Column)) else ""


@dataclass
class _Column:
    name: str
    type: str = ""
    comment: str = ""


@dataclass
class _Table:
    """A table as the candidate's statements describe it (built, then rendered once)."""

    name: str
    comment: str = ""
    columns: list[_Column] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    def column(self, name: str) -> _Column | None:
        low = name.lower()
        return next((c for c in self.columns if c.name.lower() == low), None)

    def render(self) -> str:
        head = f"table {self.name}"
        if self.comment:
            head += f" ({self.comment})"
        cols = ", ".join(_render_column(c) for c in self.columns)
        parts = [f"{head}: {cols}" if cols else head, *self.keys]
        return "; ".join(parts)


def _render_column(col: _Column) -> str:
    """``words type (comment)``; a comment that spells the name out replaces it.

    A comment spells the name out when it is short (four words at most) and shares a word
    with the name or the name is one short word (``uid -- airline id``, ``FlightNo -- flight
    number``, ``fname -- first name``); on sql-spider keeping both cost tokens and nDCG@10.
    """
    words = _words(col.name)
    name_words = words.split()
    comment_words = split_identifier(col.comment)
    spelled_out = len(comment_words) <= 4 and (
        bool(set(name_words) & set(comment_words)) or (len(name_words) == 1 and len(words) <= 5)
    )
    if col.comment and spelled_out:
        text = col.comment
    elif col.comment:
        text = f"{words} ({col.comment})"
    else:
        text = words
    return f"{text} {col.type}" if col.type else text


def _names(nodes: list[exp.Expr] | None) -> str:
    return ", ".join(_words(n.name) for n in nodes or [] if n.name)


def _reference(ref: exp.Expr | None) -> str:
    if not isinstance(ref, exp.Reference):
        return ""
    target = ref.this
    if isinstance(target, exp.Schema):
        table = _words(target.this.name) if target.this is not None else ""
        cols = _names(target.expressions)
        return f"{table}.{cols}" if cols else table
    return _words(target.name) if target is not None else ""


def _comment_of(node: exp.Expr) -> str:
    return "; ".join(collapse_spaces(c) for c in node.comments or [] if c and c.strip())


def _add_column_def(table: _Table, node: exp.ColumnDef, dialect: str) -> None:
    col = _Column(node.name)
    kind = node.args.get("kind")
    if isinstance(kind, exp.DataType) and kind.this not in PLAIN_TYPES:
        col.type = clip(_sql(kind, dialect).lower(), _MAX_LITERAL)
    comments = [_comment_of(node)]
    for constraint in node.constraints:
        kind_node = constraint.args.get("kind")
        if isinstance(kind_node, exp.PrimaryKeyColumnConstraint):
            table.keys.append(f"primary key {_words(col.name)}")
        elif isinstance(kind_node, exp.UniqueColumnConstraint):
            table.keys.append(f"unique {_words(col.name)}")
        elif isinstance(kind_node, exp.Reference):
            table.keys.append(f"foreign key {_words(col.name)} -> {_reference(kind_node)}")
        elif isinstance(kind_node, exp.CommentColumnConstraint):
            comments.append(_literal(kind_node.this))
    col.comment = "; ".join(c for c in comments if c)
    table.columns.append(col)


def _add_constraint(table: _Table, node: exp.Expr) -> None:
    if isinstance(node, exp.Constraint):
        for inner in node.expressions:
            _add_constraint(table, inner)
    elif isinstance(node, exp.PrimaryKey):
        table.keys.append(f"primary key {_names(node.expressions)}")
    elif isinstance(node, exp.ForeignKey):
        table.keys.append(f"foreign key {_names(node.expressions)} -> {_reference(node.args.get('reference'))}")
    elif isinstance(node, exp.UniqueColumnConstraint):
        target = node.this
        cols = _names(target.expressions) if isinstance(target, exp.Schema) else ""
        if cols:
            table.keys.append(f"unique {cols}")
    elif isinstance(node, exp.IndexColumnConstraint):
        cols = ", ".join(_words(c.name) for c in node.expressions if c.name)
        if cols:
            table.keys.append(f"index {cols}")


def _table_from_create(node: exp.Create, dialect: str) -> _Table | None:
    schema = node.this
    if isinstance(schema, exp.Schema):
        target = schema.this
        items = schema.expressions
    else:
        target, items = schema, []
    if not isinstance(target, exp.Table) or not target.name:
        return None
    table = _Table(target.name, comment=_comment_of(target))
    for child in items:
        if isinstance(child, exp.ColumnDef):
            _add_column_def(table, child, dialect)
        else:
            _add_constraint(table, child)
    props = node.args.get("properties")
    if isinstance(props, exp.Properties):
        for prop in props.expressions:
            if isinstance(prop, exp.SchemaCommentProperty):
                table.comment = _literal(prop.this)
    if node.expression is not None:  # CREATE TABLE ... AS SELECT
        table.keys.append(f"as {_query(node.expression, dialect)}")
    return table


def _index_text(node: exp.Create) -> tuple[str, str]:
    """(table key, ``index a, b``) for a CREATE INDEX."""
    index = node.this
    table = index.args.get("table") if isinstance(index, exp.Index) else None
    params = index.args.get("params") if isinstance(index, exp.Index) else None
    cols_nodes = params.args.get("columns") if isinstance(params, exp.IndexParameters) else None
    cols = []
    for c in cols_nodes or []:
        inner = c.this if isinstance(c, exp.Ordered) else c
        cols.append(_words(inner.name) if isinstance(inner, (exp.Column, exp.Identifier)) else _sql(inner, ""))
    label = "unique index" if node.args.get("unique") else "index"
    return _table_key(table) if table is not None else "", f"{label} {', '.join(cols)}".strip()


def _strip_qualifier(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Column) and node.table:
        return exp.column(node.this.copy()) if isinstance(node.this, exp.Identifier) else node
    return node


def _expr(node: exp.Expr, dialect: str, aliases: dict[str, str] | None = None) -> str:
    """An expression as SQL; columns lose their qualifier, or get the real table name with ``aliases``."""
    if aliases is None:
        node = node.transform(_strip_qualifier)
    else:

        def qualify(n: exp.Expr) -> exp.Expr:
            if isinstance(n, exp.Column) and n.table and n.table.lower() in aliases:
                return exp.column(n.name, table=aliases[n.table.lower()])
            return n

        node = node.transform(qualify)
    return clip(_sql(node, dialect), _MAX_STATEMENT)


def _conjuncts(node: exp.Expr) -> list[exp.Expr]:
    return list(node.flatten()) if isinstance(node, exp.And) else [node]


def _dedupe(items: Iterable[str]) -> list[str]:
    """The first ``_MAX_ITEMS`` distinct non-empty items; lazy, so long inputs stop early."""
    seen: set[str] = set()
    out: list[str] = []
    for it in items:
        if it and it not in seen:
            seen.add(it)
            out.append(it)
            if len(out) >= _MAX_ITEMS:
                break
    return out


def _query(node: exp.Expr, dialect: str) -> str:
    """``tables a, b; joins ...; filters ...; aggregates ...; group by ...``, or the SQL when none apply."""
    return _query_sections(node, dialect) or clip(_sql(node, dialect), _MAX_STATEMENT)


def _query_sections(node: exp.Expr, dialect: str) -> str:
    tables: list[str] = []
    aliases: dict[str, str] = {}
    ctes = {c.alias_or_name.lower() for c in node.find_all(exp.CTE)}
    for t in node.find_all(exp.Table):
        if not t.name or t.name.lower() in ctes:
            continue
        tables.append(t.name)
        aliases[t.name.lower()] = t.name
        if t.alias:
            aliases[t.alias.lower()] = t.name

    def joins() -> Iterator[str]:
        for j in node.find_all(exp.Join):
            on = j.args.get("on")
            if on is not None:
                yield from (_expr(c, dialect, aliases) for c in _conjuncts(on))
            using = j.args.get("using")
            if using:
                yield f"{j.this.name} using {', '.join(u.name for u in using)}"

    def filters() -> Iterator[str]:
        for clause in (*node.find_all(exp.Where), *node.find_all(exp.Having)):
            yield from (_expr(c, dialect) for c in _conjuncts(clause.this))

    def groups() -> Iterator[str]:
        for g in node.find_all(exp.Group):
            yield from (_expr(e, dialect) for e in g.expressions)

    def columns() -> Iterator[str]:
        for proj in node.selects if isinstance(node, exp.Query) else []:
            yield from (c.name for c in proj.find_all(exp.Column))

    sections = [
        ("tables", _dedupe(tables)),
        ("columns", _dedupe(columns())),
        ("joins", _dedupe(joins())),
        ("filters", _dedupe(filters())),
        ("aggregates", _dedupe(_expr(a, dialect) for a in node.find_all(exp.AggFunc))),
        ("group by", _dedupe(groups())),
    ]
    return "; ".join(f"{label} {', '.join(items)}" for label, items in sections if items)


def _dml(node: exp.Expr, dialect: str) -> str:
    table = node.find(exp.Table)
    name = table.name if table is not None else ""
    if isinstance(node, exp.Insert):
        target = node.this
        cols = _names(target.expressions) if isinstance(target, exp.Schema) else ""
        text = f"insert into {name}" + (f" ({cols})" if cols else "")
        source = node.expression
        if isinstance(source, exp.Query):
            text += f"; from {_query(source, dialect)}"
        return text
    verb = "update" if isinstance(node, exp.Update) else "delete from"
    text = f"{verb} {name}"
    if isinstance(node, exp.Update):
        sets = [_words(e.this.name) for e in node.expressions if isinstance(e, exp.EQ) and e.this is not None]
        if sets:
            text += f" set {', '.join(_dedupe(sets))}"
    where = node.args.get("where")
    if isinstance(where, exp.Where):
        text += f"; filters {', '.join(_dedupe([_expr(c, dialect) for c in _conjuncts(where.this)]))}"
    return text


def _render(statements: list[exp.Expr], dialect: str) -> str:
    tables: dict[str, _Table] = {}
    lines: list[str | _Table] = []  # tables render last, after everything folded into them
    for node in statements:
        if isinstance(node, exp.Create):
            kind = (node.args.get("kind") or "").upper()
            if kind == "INDEX":
                key, text = _index_text(node)
                if key in tables:
                    tables[key].keys.append(text)
                else:
                    lines.append(f"{text} on {_words(key)}" if key else text)
                continue
            if kind == "VIEW" and node.expression is not None:
                lines.append(f"view {_words(node.this.name)}: {_query(node.expression, dialect)}")
                continue
            table = _table_from_create(node, dialect)
            if table is not None:
                tables[table.name.lower()] = table
                lines.append(table)
                continue
        elif isinstance(node, exp.Alter) and _table_key(node.this) in tables:
            table = tables[_table_key(node.this)]
            for action in node.args.get("actions") or []:
                if isinstance(action, exp.ColumnDef):
                    _add_column_def(table, action, dialect)
                elif isinstance(action, exp.AddConstraint):
                    for c in action.expressions:
                        _add_constraint(table, c)
            continue
        elif isinstance(node, exp.Comment) and _fold_comment(node, tables):
            continue
        elif isinstance(node, exp.Query):
            lines.append(f"query: {_query(node, dialect)}")
            continue
        elif isinstance(node, (exp.Insert, exp.Update, exp.Delete)):
            lines.append(_dml(node, dialect))
            continue
        elif isinstance(node, exp.Command):
            lines.append(_tokens(node.sql(), _MAX_STATEMENT))
            continue
        lines.append(clip(_sql(node, dialect), _MAX_STATEMENT))
    rendered = [collapse_spaces(line.render() if isinstance(line, _Table) else line) for line in lines]
    return "\n".join(r for r in rendered if r)


def _fold_comment(node: exp.Comment, tables: dict[str, _Table]) -> bool:
    """Put a COMMENT ON TABLE/COLUMN into the table it names; False when that table is not here."""
    text = _literal(node.expression)
    target = node.this
    if isinstance(target, exp.Column):
        table = tables.get(target.table.lower())
        col = table.column(target.name) if table else None
        if col is None:
            return False
        col.comment = "; ".join(c for c in (col.comment, text) if c)
        return True
    table = tables.get(_table_key(target))
    if table is None:
        return False
    table.comment = "; ".join(c for c in (table.comment, text) if c)
    return True


# ---------------------------------------------------------------- schema files


def split_statements(script: str, dialect: str = "") -> list[str]:
    """The statements of a SQL script, each with its leading comments, as written (``;`` inside strings kept)."""
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.tokens import TokenType

    tokens = Dialect.get_or_raise(_dialect_name(dialect) or None).tokenize(script)
    pieces: list[str] = []
    start = 0
    for tok in tokens:
        if tok.token_type == TokenType.SEMICOLON:
            pieces.append(script[start : tok.end + 1])
            start = tok.end + 1
    pieces.append(script[start:])
    return [p.strip() for p in pieces if p.strip().strip(";").strip()]


def schema_tables(script: str, dialect: str = "") -> list[tuple[str, str]]:
    """(name, statements) per CREATE TABLE / CREATE VIEW of a schema script, in file order.

    Each table's text is its CREATE statement (with the comments before it) followed by
    the ``CREATE INDEX``, ``COMMENT ON`` and ``ALTER TABLE`` statements that name it,
    so that a table candidate carries what :func:`normalize_sql` folds into the table.
    Other statements (inserts, grants...) and those naming a table not defined here
    are left out. Tables are matched by their last name part, case-insensitively.
    """
    named: list[tuple[str, list[str]]] = []
    by_key: dict[str, list[str]] = {}
    pending: list[tuple[str, str]] = []
    for statement in split_statements(script, dialect):
        tree = _parse_one(statement, dialect)
        created = _created_name(tree, statement, dialect)
        if created is not None:
            parts = [statement]
            named.append((created, parts))
            by_key.setdefault(created.rsplit(".", 1)[-1].lower(), parts)
            continue
        key = _target_key(tree)
        if key:
            pending.append((key, statement))
    for key, statement in pending:
        if key in by_key:
            by_key[key].append(statement)
    return [(name, "\n".join(parts)) for name, parts in named]


def _parse_one(statement: str, dialect: str) -> exp.Expr | None:
    try:
        return sqlglot.parse_one(statement, read=_dialect_name(dialect) or None)
    except Exception:  # noqa: BLE001 - sqlglot raises many types; the token scan below takes over
        return None


def _created_name(tree: exp.Expr | None, statement: str, dialect: str) -> str | None:
    """The table or view a CREATE TABLE/VIEW statement defines, else None."""
    if tree is None:
        return _created_name_from_tokens(statement, dialect)
    if not isinstance(tree, exp.Create) or str(tree.args.get("kind", "")).upper() not in ("TABLE", "VIEW"):
        return None
    table = tree.find(exp.Table)
    if table is None:
        return None
    return ".".join(p.name for p in table.parts) or None


def _created_name_from_tokens(statement: str, dialect: str) -> str | None:
    """For statements sqlglot cannot parse: CREATE ... TABLE|VIEW [IF NOT EXISTS] name."""
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.tokens import TokenType

    try:
        tokens = Dialect.get_or_raise(_dialect_name(dialect) or None).tokenize(statement)
    except Exception:  # noqa: BLE001
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


def _target_key(tree: exp.Expr | None) -> str:
    """The table key a CREATE INDEX, COMMENT ON or ALTER TABLE names (as :func:`_render` folds them), else ""."""
    if isinstance(tree, exp.Create) and str(tree.args.get("kind", "")).upper() == "INDEX":
        return _index_text(tree)[0]
    if isinstance(tree, exp.Alter):
        return _table_key(tree.this)
    if isinstance(tree, exp.Comment):
        target = tree.this
        return target.table.lower() if isinstance(target, exp.Column) else _table_key(target)
    return ""


# ---------------------------------------------------------------- fallback


def _tokens(text: str, max_chars: int) -> str:
    """Identifiers as words, literals kept (short), keywords, punctuation and repeats dropped."""
    out: list[str] = []
    seen: set[str] = set()
    size = 0
    for match in _FALLBACK_TOKEN.finditer(text, 0, min(len(text), SCAN_MAX_CHARS)):
        tok = match.group()
        if tok[0] == "'":
            word = clip(collapse_spaces(tok), _MAX_LITERAL)
        elif tok[0] in "\"`[":
            word = _words(tok[1:-1])
        elif tok.lower() in KEYWORDS:
            continue
        else:
            word = _words(tok)
        if word and word not in seen and any(ch.isalnum() for ch in word):
            seen.add(word)
            out.append(word)
            size += len(word) + 1
            if size > max_chars:
                break
    return " ".join(out)


def _fallback(text: str, options: NormalizeOptions, reason: str) -> Normalized:
    try:
        rendered = _tokens(text, options.max_chars)
    except Exception:  # noqa: BLE001 - last resort: raw text, whitespace collapsed
        rendered = collapse_spaces(text[: options.max_chars * 2])
    return Normalized(clip(collapse_spaces(rendered), options.max_chars), True, reason)
