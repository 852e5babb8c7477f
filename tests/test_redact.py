"""No secret in any error or log: store URLs lose their userinfo and secret query values everywhere."""

from __future__ import annotations

import logging

import pytest

from toolrank.catalogs.store import open_store
from toolrank.catalogs.store_redis import RedisStore
from toolrank.errors import ConfigError, StoreUnavailable
from toolrank.redact import RedactingFilter, redact_text, redact_url
from toolrank.settings import Settings

SECRET = "hunter2-s3cret"


@pytest.mark.parametrize("url,expected", [
    (f"redis://:{SECRET}@10.0.0.7:6379/0", "redis://:***@10.0.0.7:6379/0"),
    (f"rediss://admin:{SECRET}@redis.internal:6380/2", "rediss://admin:***@redis.internal:6380/2"),
    (f"redis://{SECRET}@host/0", "redis://***@host/0"),  # a bare username is often a token
    (f"redis://host/0?password={SECRET}&db=3", "redis://host/0?password=***&db=3"),
    (f"rediss://host/0?ssl_ca_certs=/ca.pem&access_token={SECRET}", "rediss://host/0?ssl_ca_certs=/ca.pem&access_token=***"),
    ("redis://host:6379/0", "redis://host:6379/0"),
    ("sqlite:////var/lib/toolrank/catalogs.sqlite3", "sqlite:////var/lib/toolrank/catalogs.sqlite3"),
])
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_text_finds_urls_inside_messages() -> None:
    text = f"Error connecting to redis://u:{SECRET}@db:6379/0 (refused); retry redis://h/0?password={SECRET}"
    clean = redact_text(text)
    assert SECRET not in clean and "redis://u:***@db:6379/0" in clean


def test_settings_repr_redacts_the_store() -> None:
    shown = repr(Settings(store=f"redis://:{SECRET}@redis.internal:6379/0", auth_tokens=SECRET))
    assert SECRET not in shown and "redis://:***@redis.internal:6379/0" in shown


@pytest.mark.parametrize("url", [f"redis://:{SECRET}@host:notaport/0", f"bogus://:{SECRET}@host/0",
                                 f"sqlite:/x?password={SECRET}"])
def test_store_config_errors_redact(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_store(url).close()
    assert SECRET not in str(caught.value)


def test_unreachable_store_error_names_no_host_and_logs_redacted(caplog: pytest.LogCaptureFixture) -> None:
    store = RedisStore.from_url(f"redis://admin:{SECRET}@127.0.0.1:1/0")
    try:
        with caplog.at_level(logging.WARNING), pytest.raises(StoreUnavailable) as caught:
            store.catalogs()
    finally:
        store.close()
    message = str(caught.value)
    assert "unavailable" in message and SECRET not in message and "127.0.0.1" not in message
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "redis://admin:***@127.0.0.1:1/0" in logged and SECRET not in logged


def test_log_filter_redacts_messages_and_tracebacks() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "store %s failed", (f"redis://:{SECRET}@h/0",), None)
    try:
        raise RuntimeError(f"cannot reach redis://:{SECRET}@h/0")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    RedactingFilter().filter(record)
    formatted = logging.Formatter().format(record)
    assert SECRET not in formatted and "redis://:***@h/0" in formatted
