"""The Redis store's pub/sub thread survives any error, and a publish that fails after a commit never fails the put."""

from __future__ import annotations

import threading
import time

import pytest

from redis_helpers import redis, redis_url_fixture  # noqa: F401 - fixture
from test_store_redis import entry
from toolrank.catalogs.store_redis import RedisStore


def test_publish_failing_after_commit_keeps_the_put(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = RedisStore.from_url(redis_url)
    try:
        def broken_publish(*args: object, **kw: object) -> None:
            raise redis.exceptions.ResponseError("NOPERM this user has no permissions to access the channel")

        monkeypatch.setattr(store._redis, "publish", broken_publish)
        record = store.commit("c", base_version=0, upserts=[entry("a")], delete_ids=[], replace=False, model="")
        assert record.version > 0 and [e.id for e in store.load("c")[1]] == ["a"]
        assert store.delete("c")
    finally:
        store.close()


def test_watch_thread_survives_a_failing_callback(redis_url: str) -> None:
    store = RedisStore.from_url(redis_url)
    calls: list[float] = []
    again = threading.Event()

    def on_change() -> None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise ValueError("a bug in the callback")  # the first call (on subscribe) fails
        again.set()

    try:
        store.watch(on_change)
        # after the failure the thread backs off, subscribes again and calls back (catch-up) on its own
        assert again.wait(10), "the watch thread died with the callback's error"
        assert store._listener is not None and store._listener.is_alive()
        other = RedisStore.from_url(redis_url)
        before = len(calls)
        other.commit("c", base_version=0, upserts=[entry("a")], delete_ids=[], replace=False, model="")
        deadline = time.monotonic() + 10
        while len(calls) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(calls) > before, "a commit after the failure was not announced"
        other.close()
    finally:
        store.close()
