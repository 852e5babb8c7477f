"""A schema file becomes one candidate per table, keeping what the SQL normalizer folds into a table."""

from __future__ import annotations

from pathlib import Path

import toolrank
from toolrank.normalize import normalize
from toolrank.types import NormalizeOptions, SqlInput

SCHEMA = """-- people who can log in
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT);
CREATE INDEX users_email ON users (email);
CREATE TABLE IF NOT EXISTS shop.orders (id INTEGER, user_id INTEGER REFERENCES users (id),
  total NUMERIC(10, 2), created_at TIMESTAMP);
COMMENT ON TABLE shop.orders IS 'purchases paid by card';
COMMENT ON COLUMN users.name IS 'display name shown to other members';
ALTER TABLE users ADD COLUMN last_login_at TIMESTAMP;
CREATE UNIQUE INDEX orders_by_user ON shop.orders (user_id, created_at);
INSERT INTO users VALUES (1, 'a@b.c', 'a; b');
CREATE INDEX stray ON missing_table (x);
CREATE VIEW big_orders AS SELECT * FROM shop.orders WHERE total > 100;
"""


def test_split_statements_respects_strings_and_keeps_comments():
    from toolrank.normalize.sql import split_statements

    parts = split_statements("-- a\nSELECT 'x;y';\nSELECT 2;  ;\n", "sqlite")
    assert parts == ["-- a\nSELECT 'x;y';", "SELECT 2;"]


def test_schema_tables_keep_comment_on_and_create_index():
    from toolrank.normalize.sql import schema_tables

    tables = dict(schema_tables(SCHEMA, "postgres"))
    assert list(tables) == ["users", "shop.orders", "big_orders"]
    users, orders = tables["users"], tables["shop.orders"]
    assert "CREATE INDEX users_email ON users (email);" in users
    assert "COMMENT ON COLUMN users.name IS 'display name shown to other members';" in users
    assert "ALTER TABLE users ADD COLUMN last_login_at" in users
    assert "COMMENT ON TABLE shop.orders IS 'purchases paid by card';" in orders
    assert "CREATE UNIQUE INDEX orders_by_user" in orders
    assert "INSERT" not in users and "missing_table" not in "".join(tables.values())


def test_a_table_candidate_normalizes_like_the_whole_file_says(tmp_path: Path):
    path = tmp_path / "schema.sql"
    path.write_text(SCHEMA, encoding="utf-8")
    candidates = toolrank.candidates_from_sql_file(path, dialect="postgres")
    assert [c.id for c in candidates] == ["users", "shop.orders", "big_orders"]
    options = NormalizeOptions()
    users = normalize(SqlInput(candidates[0].text, "postgres"), options).text
    orders = normalize(SqlInput(candidates[1].text, "postgres"), options).text
    assert "index email" in users and "display name shown to other members" in users and "last login at" in users
    assert "purchases paid by card" in orders and "unique index user id, created at" in orders
