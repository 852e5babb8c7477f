"""SQL normalizer: DDL, queries, views, dialects, fallback, totality and bounds."""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolrank.normalize.sql import PARSE_MAX_CHARS, normalize_sql
from toolrank.types import Normalized, NormalizeOptions, SqlInput

OPTS = NormalizeOptions()


def norm(text: str, dialect: str = "", max_chars: int = 2048) -> Normalized:
    return normalize_sql(SqlInput(text, dialect), NormalizeOptions(max_chars=max_chars))


SPIDER_DOGS = """CREATE TABLE Dogs (
  dog_id TEXT,
  owner_id NUMBER,
  abandoned_yn NUMBER,  -- abandoned yes or no
  breed_code TEXT,
  date_of_birth TEXT
)"""

SHOP_DDL = """
CREATE TABLE customers (
  id INT PRIMARY KEY,
  full_name VARCHAR(100) NOT NULL COMMENT 'legal name as printed on invoices',
  region TEXT,
  is_active BOOLEAN
);
CREATE TABLE orders (
  id INT,
  customer_id INT,
  amount DECIMAL(10, 2), -- in cents
  status VARCHAR(10),
  PRIMARY KEY (id),
  CONSTRAINT fk_cust FOREIGN KEY (customer_id) REFERENCES customers (id)
);
CREATE INDEX idx_orders_status ON orders (status, customer_id);
CREATE UNIQUE INDEX idx_name ON customers (full_name);
"""


# ---------------------------------------------------------------- DDL


def test_spider_table_splits_names_and_drops_plain_types() -> None:
    out = norm(SPIDER_DOGS, "sqlite")
    assert out == Normalized(
        "table Dogs: dog id, owner id, abandoned yes or no, breed code, date of birth", False, "sqlite"
    )


def test_multi_statement_ddl_keys_comments_indexes() -> None:
    out = norm(SHOP_DDL)
    assert not out.fallback
    customers, orders = out.text.split("\n")
    assert customers.startswith("table customers: id, full name (legal name as printed on invoices), region, ")
    assert "is active boolean" in customers  # informative types stay
    assert "primary key id" in customers
    assert "unique index full name" in customers  # CREATE INDEX folds into its table
    assert "amount (in cents)" in orders  # a comment that does not spell the name out follows it
    assert "foreign key customer id -> customers.id" in orders
    assert "index status, customer id" in orders
    assert "decimal" not in orders and "varchar" not in orders


def test_column_comment_spelling_the_name_out_replaces_it() -> None:
    out = norm("CREATE TABLE flights (FlightNo INT, -- flight number\n DestAirport TEXT -- destination airport\n)")
    assert out.text == "table flights: flight number, destination airport"


def test_inline_references_and_unique() -> None:
    ddl = "CREATE TABLE pets (id SERIAL PRIMARY KEY, owner INT REFERENCES people(person_id), tag TEXT UNIQUE)"
    out = norm(ddl, "postgres")
    assert out.text == "table pets: id, owner, tag; primary key id; foreign key owner -> people.person id; unique tag"


def test_postgres_comment_on_and_alter_fold_into_table() -> None:
    ddl = """CREATE TABLE t (a INT, b JSONB);
    COMMENT ON TABLE t IS 'audit log';
    COMMENT ON COLUMN t.b IS 'raw event payload from the client';
    ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u(id);"""
    out = norm(ddl, "postgres")
    assert out.text == "table t (audit log): a, b (raw event payload from the client) jsonb; foreign key a -> u.id"


def test_mysql_table_comment_and_backticks() -> None:
    out = norm("CREATE TABLE `order_items` (`item_id` INT, `sku` VARCHAR(20)) COMMENT='line items'", "mysql")
    assert out == Normalized("table order_items (line items): item id, sku", False, "mysql")


def test_non_ascii_names_keep_their_letters() -> None:
    assert norm("CREATE TABLE Maße (größe_kg INT, 名前 TEXT)").text == "table Maße: größe kg, 名前"


def test_index_on_table_not_in_candidate() -> None:
    assert norm("CREATE INDEX ix ON sales.orders (created_at DESC)").text == "index created at on orders"


# ---------------------------------------------------------------- queries and views


def test_join_query() -> None:
    q = """SELECT c.region, count(*), SUM(o.amount) AS total
    FROM orders o JOIN customers AS c ON o.customer_id = c.id
    WHERE o.status = 'open' AND o.amount > 10 GROUP BY c.region"""
    assert norm(q).text == (
        "query: tables orders, customers; columns region, amount; joins orders.customer_id = customers.id; "
        "filters status = 'open', amount > 10; aggregates count(*), sum(amount); group by region"
    )


def test_view() -> None:
    out = norm("CREATE VIEW open_orders AS SELECT id FROM orders WHERE status = 'open'", "postgres")
    assert out.text == "view open orders: tables orders; columns id; filters status = 'open'"


def test_ctes_subqueries_having_and_dml() -> None:
    q = (
        "WITH x AS (SELECT a FROM t WHERE b = 1) "
        "SELECT a, max(c) FROM x JOIN u ON x.a = u.a GROUP BY a HAVING max(c) > 2"
    )
    out = norm(q).text
    assert "tables u, t" in out and "filters b = 1, max(c) > 2" in out
    dml = norm("INSERT INTO t (a, b) VALUES (1, 2); UPDATE t SET a = 1 WHERE b = 2; DELETE FROM t WHERE c > 3").text
    assert dml.split("\n") == ["insert into t (a, b)", "update t set a; filters b = 2", "delete from t; filters c > 3"]


# ---------------------------------------------------------------- dialects


@pytest.mark.parametrize(
    ("text", "dialect", "detail", "expected"),
    [
        ("SELECT [Order Id] FROM [dbo].[Orders] WHERE [x] = 1", "tsql", "tsql", "query: tables Orders; columns"),
        ("SELECT [Order Id] FROM [dbo].[Orders]", "", "sqlite", "query: tables Orders; columns Order Id"),
        ("SELECT `a` FROM `proj.ds.events`", "bigquery", "bigquery", "query: tables events; columns a"),
        ("SELECT `a` FROM `shop`.`events`", "", "mysql", "query: tables events; columns a"),
        ("SELECT a FROM t WHERE b ILIKE 'x%'", "PostgreSQL", "postgres", "query: tables t; columns a; filters b ILIKE"),
        ("SELECT `a` FROM `t`", "no-such-dialect", "mysql", "query: tables t; columns a"),
    ],
)
def test_dialects(text: str, dialect: str, detail: str, expected: str) -> None:
    out = norm(text, dialect)
    assert (out.detail, out.fallback) == (detail, False)
    assert out.text.startswith(expected)


def test_named_dialect_that_fails_falls_back_to_detection() -> None:
    # "18_49_Rating" is not an identifier for sqlite, mysql reads it (a real sql-spider table)
    out = norm("CREATE TABLE TV (id TEXT, 18_49_Rating_Share NUMBER)", "sqlite")
    assert out == Normalized("table TV: id, 18 49 rating share", False, "mysql")


# ---------------------------------------------------------------- fallback and bounds


def test_unparsable_falls_back_to_tokens() -> None:
    out = norm("SELECT FROM WHERE ((( my_table.customerName, 'open' -- see ticketNo")
    assert out == Normalized("my table customer name 'open' see ticket no", True, "fallback: unparsable")


def test_empty() -> None:
    assert norm("  \n ") == Normalized("", True, "fallback: empty")


def test_ten_thousand_joined_tables_fall_back() -> None:
    """Its time is measured by bench/normalize_worst_case.py (a hang here ends at the test timeout)."""
    q = "SELECT * FROM t0 " + " ".join(f"JOIN t{i} ON t{i - 1}.id = t{i}.id" for i in range(1, 10_000))
    out = norm(q)
    assert out.fallback and out.detail == "fallback: too long" and len(out.text) <= 2048


def test_long_schema_dump_renders_leading_statements() -> None:
    ddl = ";\n".join(f"CREATE TABLE t{i} (c{i} INT PRIMARY KEY)" for i in range(3000))
    assert len(ddl) > PARSE_MAX_CHARS
    out = norm(ddl)
    assert not out.fallback and out.detail == "generic truncated"
    assert out.text.startswith("table t0: c 0; primary key c 0\ntable t1:")
    assert len(out.text) <= 2048


def test_deep_nesting_does_not_raise() -> None:
    for depth in (50, 3000):
        out = norm("SELECT " + "(" * depth + "1" + ")" * depth)
        assert isinstance(out, Normalized)


def test_pathological_quotes_fall_back() -> None:
    """Linear time is bench/normalize_worst_case.py's to show; here, the fallback and its bound."""
    for text in ("('\"`[" * 20_000, "[" * 100_000, "'a" * 50_000):
        out = norm(text)
        assert out.fallback and len(out.text) <= 2048


def test_max_chars_is_respected() -> None:
    assert len(norm(SHOP_DDL, max_chars=40).text) <= 40


def test_deterministic() -> None:
    assert norm(SHOP_DDL) == norm(SHOP_DDL)


def test_no_sqlglot_warnings(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        norm("VACUUM my_table; SELECT a FROM t")
        norm("SELECT APPROX_PERCENTILE(x, 0.5) FROM t", "bigquery")
    assert not [r for r in caplog.records if r.name.startswith("sqlglot")]


# ---------------------------------------------------------------- totality


def _check_total(text: str, dialect: str = "", max_chars: int = 2048) -> None:
    out = norm(text, dialect, max_chars)
    assert isinstance(out, Normalized) and isinstance(out.text, str)
    assert len(out.text) <= max_chars
    assert out == norm(text, dialect, max_chars)


_SQL_PIECES = list("abcXYZ_019 ,;()[]`'\"\n-*=.<>") + [
    "SELECT ", "FROM ", "CREATE TABLE ", "JOIN ", " ON ", "WHERE ", "--", "/*", "*/", "PRIMARY KEY", "REFERENCES ",
]
_SQLISH = st.lists(st.sampled_from(_SQL_PIECES), max_size=80).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.one_of(st.text(max_size=300), _SQLISH),
    dialect=st.sampled_from(["", "sqlite", "tsql", "bogus", "bigquery"]),
)
def test_total_on_random_text(text: str, dialect: str) -> None:
    _check_total(text, dialect)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), max_chars=st.integers(min_value=1, max_value=400))
def test_total_on_mutated_ddl(data: st.DataObject, max_chars: int) -> None:
    text = data.draw(st.sampled_from([SHOP_DDL, SPIDER_DOGS]))
    for _ in range(data.draw(st.integers(min_value=1, max_value=6))):
        i = data.draw(st.integers(min_value=0, max_value=len(text)))
        j = data.draw(st.integers(min_value=i, max_value=min(len(text), i + 20)))
        pieces = ["", "(", ")", ",", "'", "`", "--", ";", "PRIMARY KEY", "REFERENCES x(", "ÿ名"]
        insert = data.draw(st.sampled_from(pieces))
        text = text[:i] + insert + text[j:]
    _check_total(text, data.draw(st.sampled_from(["", "mysql", "sqlite"])), max_chars)
