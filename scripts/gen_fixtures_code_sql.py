"""Regenerate the code and SQL normalizers' golden fixtures: ``python scripts/gen_fixtures_code_sql.py``.

One fixture per language under ``tests/fixtures/normalize/code/<language>.json`` (the per-language
snippets of ``tests/normalize/test_code.py``, rendered with the full budget and with a small one that
forces the summary) and one per SQL dialect under ``tests/fixtures/normalize/sql/<dialect>.json`` (a
schema and a query written in that dialect's own syntax, below). Review the diff of the expected texts
before committing: ``tests/normalize/test_golden_code_sql.py`` holds the normalizers to them, and they
move when sqlglot or a grammar wheel does (pyproject.toml pins both to a release line).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(ROOT / "tests" / "normalize"))

from test_code import SNIPPETS  # noqa: E402 - the per-language inputs the code tests already use

from toolrank.normalize.code import normalize_code  # noqa: E402
from toolrank.normalize.sql import normalize_sql  # noqa: E402
from toolrank.types import CodeInput, NormalizeOptions, SqlInput  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "normalize"
BUDGETS = (2048, 160)  # the default, and one small enough for the summary rendering

SQL: dict[str, tuple[str, str]] = {  # dialect -> (schema, query), each in the dialect's own syntax
    "postgres": ('CREATE TABLE public.orders (\n  id BIGSERIAL PRIMARY KEY,\n  customer_id INT NOT NULL REFERENCES customers(id),\n'
                 "  placed_at TIMESTAMPTZ DEFAULT now(),\n  tags TEXT[],\n  total NUMERIC(10, 2) CHECK (total >= 0)\n);\n"
                 "COMMENT ON COLUMN public.orders.total IS 'order total in euros';\n"
                 "CREATE INDEX orders_customer ON public.orders (customer_id);",
                 "SELECT c.name, SUM(o.total) AS spent FROM orders o JOIN customers c ON c.id = o.customer_id "
                 "WHERE o.placed_at > now() - INTERVAL '30 days' GROUP BY c.name HAVING SUM(o.total) > 100 ORDER BY spent DESC"),
    "mysql": ("CREATE TABLE `users` (\n  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT,\n  `email` VARCHAR(255) NOT NULL COMMENT 'login e-mail',\n"
              "  `created` DATETIME DEFAULT CURRENT_TIMESTAMP,\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `uk_email` (`email`)\n"
              ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;",
              "SELECT `email` FROM `users` WHERE `created` >= DATE_SUB(NOW(), INTERVAL 7 DAY) LIMIT 10"),
    "sqlite": ("CREATE TABLE tracks (\n  track_id INTEGER PRIMARY KEY AUTOINCREMENT,\n  album_id INTEGER REFERENCES albums(album_id),\n"
               "  name TEXT NOT NULL,\n  milliseconds INTEGER\n);",
               "SELECT name FROM tracks WHERE album_id IN (SELECT album_id FROM albums WHERE title LIKE '%live%')"),
    "bigquery": ("CREATE TABLE `project.shop.events` (\n  event_id STRING NOT NULL,\n  user_id INT64,\n  ts TIMESTAMP,\n"
                 "  payload STRUCT<kind STRING, amount FLOAT64>\n) PARTITION BY DATE(ts);",
                 "SELECT user_id, COUNT(*) AS n FROM `project.shop.events` WHERE payload.kind = 'purchase' "
                 "AND ts > TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 1 DAY) GROUP BY user_id"),
    "snowflake": ("CREATE OR REPLACE TABLE sales.invoices (\n  invoice_id NUMBER(38, 0) PRIMARY KEY,\n  customer VARCHAR(100),\n"
                  "  amount NUMBER(12, 2),\n  raw VARIANT\n) COMMENT = 'one row per invoice';",
                  "SELECT customer, raw:status::string AS status FROM sales.invoices QUALIFY ROW_NUMBER() "
                  "OVER (PARTITION BY customer ORDER BY amount DESC) = 1"),
    "tsql": ("CREATE TABLE [dbo].[Employees] (\n  [EmployeeID] INT IDENTITY(1,1) PRIMARY KEY,\n  [ManagerID] INT NULL "
             "FOREIGN KEY REFERENCES [dbo].[Employees]([EmployeeID]),\n  [HireDate] DATETIME2 NOT NULL\n);",
             "SELECT TOP 5 [EmployeeID], DATEDIFF(year, [HireDate], GETDATE()) AS Years FROM [dbo].[Employees] ORDER BY Years DESC"),
    "duckdb": ("CREATE TABLE measurements (\n  station VARCHAR,\n  taken_at TIMESTAMP,\n  reading DOUBLE,\n  tags MAP(VARCHAR, VARCHAR)\n);",
               "SELECT station, avg(reading) FROM measurements WHERE taken_at >= DATE '2024-01-01' GROUP BY ALL"),
    "oracle": ("CREATE TABLE hr.departments (\n  department_id NUMBER(4) CONSTRAINT dept_id_pk PRIMARY KEY,\n"
               "  department_name VARCHAR2(30) NOT NULL,\n  location_id NUMBER(4)\n);",
               "SELECT department_name FROM hr.departments WHERE location_id = 1700 FETCH FIRST 3 ROWS ONLY"),
    "spark": ("CREATE TABLE logs (\n  ts TIMESTAMP,\n  level STRING,\n  message STRING\n) USING DELTA PARTITIONED BY (level);",
              "SELECT level, COUNT(*) FROM logs WHERE message RLIKE 'timeout' GROUP BY level"),
    "clickhouse": ("CREATE TABLE hits (\n  EventDate Date,\n  UserID UInt64,\n  URL String\n) ENGINE = MergeTree() ORDER BY (EventDate, UserID);",
                   "SELECT URL, count() AS c FROM hits WHERE EventDate = today() GROUP BY URL ORDER BY c DESC LIMIT 10"),
}


def code_fixture(language: str) -> dict[str, object]:
    source = SNIPPETS[language]
    renderings = []
    for budget in BUDGETS:
        out = normalize_code(CodeInput(source, language), NormalizeOptions(max_chars=budget))
        renderings.append({"max_chars": budget, "expected": out.text, "detail": out.detail, "fallback": out.fallback})
    return {"language": language, "input": source, "renderings": renderings}


def sql_fixture(dialect: str) -> dict[str, object]:
    schema, query = SQL[dialect]
    renderings = []
    for name, text in (("schema", schema), ("query", query)):
        out = normalize_sql(SqlInput(text, dialect), NormalizeOptions())
        renderings.append({"part": name, "input": text, "expected": out.text, "detail": out.detail, "fallback": out.fallback})
    return {"dialect": dialect, "renderings": renderings}


def main() -> int:
    for kind, names, make in (("code", sorted(SNIPPETS), code_fixture), ("sql", sorted(SQL), sql_fixture)):
        folder = OUT / kind
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            (folder / f"{name}.json").write_text(json.dumps(make(name), indent=1, ensure_ascii=False) + "\n",
                                                 encoding="utf-8")
        print(f"{len(names)} fixtures in {folder.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
