"""The Store contract, run against every store: memory://, sqlite:///, and any store added to STORE_FACTORIES."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from toolrank.catalogs.store import (
    Store,
    StoredEntry,
    VersionConflict,
    default_store_url,
    open_store,
    unreferenced_embeddings,
)
from toolrank.catalogs.store_memory import MemoryStore
from toolrank.catalogs.store_sqlite import SqliteStore, path_from_url
from toolrank.engine.cache import content_key
from toolrank.errors import ConfigError

from ci_services import require_module, service_missing

def redis_store(tmp: Path) -> Store:
    """A database of the machine's Redis that this test claims (tests/redis_db.py), emptied after."""
    redis = require_module("redis")
    from redis_db import claim_db, release_db
    from toolrank.catalogs.store_redis import RedisStore

    claimed = claim_db(redis)
    if claimed is None:
        service_missing("no Redis answers on 127.0.0.1:6379 (or no empty database): the redis store's contract is not checked here")
    url, claim = claimed

    class FlushingRedisStore(RedisStore):
        def close(self) -> None:
            super().close()
            release_db(claim)

    return FlushingRedisStore.from_url(url)


STORE_FACTORIES: dict[str, Callable[[Path], Store]] = {
    "memory": lambda tmp: MemoryStore(),
    "sqlite": lambda tmp: SqliteStore(tmp / "catalogs.sqlite3"),
    "redis": redis_store,
}


@pytest.fixture(params=sorted(STORE_FACTORIES))
def store(request, tmp_path: Path):
    s = STORE_FACTORIES[request.param](tmp_path)
    yield s
    s.close()


def entry(i: str, text: str = "", name: str = "") -> StoredEntry:
    text = text or f"text of {i}"
    doc = f'{{"id": "{i}", "text": "{text}"}}'
    return StoredEntry(i, "text", doc, text, name, content_key(doc), content_key(text), False)


def commit(store: Store, name: str, base: int, upserts=(), delete_ids=(), replace=False, model="m"):
    return store.commit(name, base_version=base, upserts=list(upserts), delete_ids=list(delete_ids),
                        replace=replace, model=model)


def test_create_load_and_list(store):
    assert store.catalogs() == {} and store.load("a") is None
    rec = commit(store, "a", 0, [entry("x"), entry("y")])
    assert (rec.name, rec.size, rec.model) == ("a", 2, "m") and rec.version > 0
    loaded_rec, entries = store.load("a")
    assert loaded_rec == rec and [e.id for e in entries] == ["x", "y"]
    assert entries[0] == entry("x")  # every field round-trips, bytes included
    assert store.catalogs() == {"a": rec}


def test_upsert_keeps_positions_appends_new_and_deletes(store):
    rec = commit(store, "a", 0, [entry("x"), entry("y"), entry("z")])
    rec2 = commit(store, "a", rec.version, [entry("y", "changed"), entry("w")], delete_ids=["x", "nope"])
    _, entries = store.load("a")
    assert [e.id for e in entries] == ["y", "z", "w"]
    assert entries[0].text == "changed" and rec2.size == 3 and rec2.version > rec.version


def test_replace_swaps_everything(store):
    rec = commit(store, "a", 0, [entry("x"), entry("y")])
    rec2 = commit(store, "a", rec.version, [entry("q")], replace=True, model="other")
    _, entries = store.load("a")
    assert [e.id for e in entries] == ["q"] and rec2.size == 1 and rec2.model == "other"


def test_stale_base_version_conflicts_and_changes_nothing(store):
    rec = commit(store, "a", 0, [entry("x")])
    commit(store, "a", rec.version, [entry("y")])
    with pytest.raises(VersionConflict):
        commit(store, "a", rec.version, [entry("z")])
    with pytest.raises(VersionConflict):
        commit(store, "a", 0, [entry("z")])  # 0 = "must not exist"
    assert [e.id for e in store.load("a")[1]] == ["x", "y"]


def test_versions_strictly_increase_across_catalogs_and_recreation(store):
    seen = [commit(store, "a", 0, [entry("x")]).version, commit(store, "b", 0, [entry("x")]).version]
    assert store.delete("a") is True and store.delete("a") is False
    assert "a" not in store.catalogs() and store.load("a") is None
    seen.append(commit(store, "a", 0, [entry("x")]).version)  # re-created: a version never handed out before
    assert seen == sorted(set(seen))


def test_embeddings_per_model(store):
    k1, k2 = content_key("one"), content_key("two")
    v = np.arange(4, dtype=np.float32)
    store.put_embeddings("m1", {k1: v})
    assert store.get_embeddings("m2", [k1]) == {}
    got = store.get_embeddings("m1", [k1, k2])
    assert list(got) == [k1] and got[k1].dtype == np.float32 and np.array_equal(got[k1], v)
    many = {content_key(str(i)): np.full(3, i, np.float32) for i in range(1200)}  # past SQLite's parameter limit
    store.put_embeddings("m1", many)
    assert len(store.get_embeddings("m1", list(many))) == 1200


def test_concurrent_commits_serialize(store):
    commit(store, "a", 0, [])
    errors: list[Exception] = []

    def writer(i: int) -> None:
        for _ in range(20):  # retry on conflict, as the service does
            version = store.catalogs()["a"].version
            try:
                commit(store, "a", version, [entry(f"w{i}")])
                return
            except VersionConflict:
                continue
        errors.append(RuntimeError(f"writer {i} never committed"))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(e.id for e in store.load("a")[1]) == sorted(f"w{i}" for i in range(8))


def test_sqlite_persists_across_reopen_and_processes_share_versions(tmp_path):
    path = tmp_path / "c.sqlite3"
    a = SqliteStore(path)
    rec = commit(a, "cat", 0, [entry("x")])
    a.put_embeddings("m", {content_key("t"): np.ones(2, np.float32)})
    b = SqliteStore(path)  # a second replica on the same file
    assert b.catalogs()["cat"] == rec
    with pytest.raises(VersionConflict):
        commit(b, "cat", 0, [entry("y")])
    rec2 = commit(b, "cat", rec.version, [entry("y")])
    assert a.catalogs()["cat"].version == rec2.version
    a.close()
    b.close()
    c = SqliteStore(path)
    assert [e.id for e in c.load("cat")[1]] == ["x", "y"]
    assert list(c.get_embeddings("m", [content_key("t")]).values())[0].tolist() == [1.0, 1.0]
    c.close()


def test_urls(tmp_path):
    assert path_from_url("sqlite:///rel/c.db") == Path("rel/c.db")
    assert path_from_url("sqlite:////abs/c.db") == Path("/abs/c.db")
    assert default_store_url({"XDG_DATA_HOME": "/x"}) == "sqlite:////x/toolrank/catalogs.sqlite3"
    assert default_store_url({"HOME": "/home/u"}) == "sqlite:////home/u/.local/share/toolrank/catalogs.sqlite3"
    assert isinstance(open_store("memory://"), MemoryStore)
    s = open_store(f"sqlite:///{tmp_path}/deep/er/c.db")
    assert isinstance(s, SqliteStore) and (tmp_path / "deep" / "er" / "c.db").is_file()
    s.close()
    for bad in ("ftp://x", "sqlite:///", "postgres://h/db"):
        with pytest.raises(ConfigError):
            open_store(bad)


def test_unreferenced_embeddings_are_found_and_dropped(store):
    """Every store finds the vectors no catalog references (deleted catalogs, replaced texts), and only those."""
    vec = np.ones(4, np.float32)
    a, shared, b_only = entry("a1", "only in a"), entry("s", "in both"), entry("b1", "only in b")
    store.put_embeddings("m", {e.text_key: vec for e in (a, shared, b_only)})
    store.put_embeddings("other-model", {a.text_key: vec})  # no catalog embeds with this model
    commit(store, "a", 0, [a, shared])
    rec_b = commit(store, "b", 0, [shared, b_only])
    assert unreferenced_embeddings(store) == {("other-model", a.text_key)}
    assert store.delete("a")
    dead = unreferenced_embeddings(store)
    assert dead == {("other-model", a.text_key), ("m", a.text_key)}  # the shared text stays for b
    assert store.delete_embeddings(dead) == 2 and unreferenced_embeddings(store) == set()
    assert set(store.get_embeddings("m", [a.text_key, shared.text_key, b_only.text_key])) == {
        shared.text_key, b_only.text_key}
    replaced = entry("b1", "new text of b")
    store.put_embeddings("m", {replaced.text_key: vec})
    commit(store, "b", rec_b.version, [shared, replaced], replace=True)
    assert unreferenced_embeddings(store) == {("m", b_only.text_key)}
    assert store.delete_embeddings({("m", b_only.text_key)}) == 1 and store.delete_embeddings([]) == 0


def test_learned_texts_keep_their_embeddings(store):
    """Example requests and feedback queries share the embedding table: they count as referenced."""
    import json

    from toolrank.catalogs.learning import FeedbackRecord

    vec = np.ones(4, np.float32)
    doc = json.dumps({"id": "x", "text": "t", "metadata": {"examples": json.dumps(["check the weather"])}})
    e = StoredEntry("x", "text", doc, "t", "", content_key(doc), content_key("t"), False)
    commit(store, "c", 0, [e])
    store.add_feedback("c", FeedbackRecord("will it rain", ("x",)).to_json(), 10)
    keys = [content_key("t"), content_key("check the weather"), content_key("will it rain"), content_key("stale")]
    store.put_embeddings("m", {k: vec for k in keys})
    assert unreferenced_embeddings(store) == {("m", content_key("stale"))}
