"""``redis://host:port/db`` (``rediss://`` for TLS, ``redis://:password@...``, ``unix://``): a store shared by replicas.

Everything a replica needs to serve a catalog without embedding it again lives in Redis:
records, entries (candidate, normalized text, hashes) in insertion order, and embeddings
per model, keyed by the text's hash. Each replica keeps its own in-memory index and
follows changes by version: a commit publishes ``name version`` on a pub/sub channel, and
:meth:`RedisStore.watch` wakes the catalog service's refresher at once; the service's
periodic poll of :meth:`RedisStore.catalogs` stays as the safety net (a message missed
while disconnected, a Redis without pub/sub).

Keys (``prefix`` default ``toolrank:``): ``version`` (the one counter), ``catalogs`` (set
of names), ``catalog:<name>`` (hash: version, size, model, seq), ``entries:<name>``
(hash: id -> entry), ``order:<name>`` (sorted set: id by insertion), ``emb:<model>``
(hash: text key -> float32 bytes), ``embeddings_written`` (how many vectors replicas have
stored: a replica that restarts and serves from Redis adds none). Commits and deletes run
as Lua scripts, so each is atomic and checked against its base version inside Redis.

When Redis cannot be reached every call raises :class:`toolrank.errors.StoreUnavailable`
(gRPC UNAVAILABLE): puts fail, selects on catalogs already in memory keep working, and the
connection pool reconnects by itself when Redis is back.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar, cast

import numpy as np
import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from toolrank.catalogs.store import CatalogRecord, FeedbackLog, StoredEntry, VersionConflict
from toolrank.errors import StoreUnavailable
from toolrank.redact import redact_text, redact_url

log = logging.getLogger(__name__)

T = TypeVar("T")

# KEYS: record, entries, order, counter, names. ARGV: name, base_version, replace, model, n, id1, blob1, ..., deletes...
_COMMIT = """
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if current ~= tonumber(ARGV[2]) then return {-1, current} end
local seq = 0
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[2], KEYS[3])
else
  seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
end
local n = tonumber(ARGV[5])
for i = 0, n - 1 do
  local id = ARGV[6 + 2 * i]
  redis.call('HSET', KEYS[2], id, ARGV[7 + 2 * i])
  if not redis.call('ZSCORE', KEYS[3], id) then
    seq = seq + 1
    redis.call('ZADD', KEYS[3], seq, id)
  end
end
for i = 6 + 2 * n, #ARGV do
  redis.call('HDEL', KEYS[2], ARGV[i])
  redis.call('ZREM', KEYS[3], ARGV[i])
end
local version = redis.call('INCR', KEYS[4])
local size = redis.call('HLEN', KEYS[2])
redis.call('HSET', KEYS[1], 'version', version, 'size', size, 'model', ARGV[4], 'seq', seq)
redis.call('SADD', KEYS[5], ARGV[1])
return {version, size}
"""

# KEYS: record, entries, order, names. ARGV: name.
_DELETE = """
local existed = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('SREM', KEYS[4], ARGV[1])
return existed
"""

# Feedback (learning): KEYS: list, seqs hash, learn hash, counter. ARGV: name, mode, limit | learn flag, records...
_FEEDBACK = """
local mode = ARGV[2]
if mode == 'add' then
  redis.call('RPUSH', KEYS[1], ARGV[4])
  redis.call('LTRIM', KEYS[1], -tonumber(ARGV[3]), -1)
elseif mode == 'set' then
  redis.call('DEL', KEYS[1])
  for i = 4, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
else
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
end
local seq = redis.call('INCR', KEYS[4])
redis.call('HSET', KEYS[2], ARGV[1], seq)
return {seq, redis.call('LLEN', KEYS[1])}
"""

_UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


redacted = redact_url  # kept for callers of the old name


class RedisStore:
    """A :class:`toolrank.catalogs.store.Store` on Redis; one per process, thread-safe (redis-py pools)."""

    def __init__(self, client: redis.Redis, url: str = "redis://", prefix: str = "toolrank:") -> None:
        self.url = redact_url(url)  # the only form of the URL this object keeps: logs may quote it
        self._redis = client
        self._prefix = prefix
        self._channel = prefix + "changes"
        self._commit = client.register_script(_COMMIT)
        self._delete = client.register_script(_DELETE)
        self._feedback = client.register_script(_FEEDBACK)
        self._down = False  # last call failed to reach Redis (logged once per outage)
        self._state_lock = threading.Lock()
        self._closed = threading.Event()
        self._listener: threading.Thread | None = None

    @classmethod
    def from_url(cls, url: str, prefix: str = "toolrank:") -> "RedisStore":
        """Short timeouts: a Redis that is down must fail a put in about a second, not hang it."""
        client = redis.Redis.from_url(
            url, socket_connect_timeout=1.0, socket_timeout=5.0, health_check_interval=10,
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), 2))
        return cls(client, url, prefix)

    # -- the Store protocol --------------------------------------------------------------------

    def catalogs(self) -> dict[str, CatalogRecord]:
        def run() -> dict[str, CatalogRecord]:
            names = sorted(_text(n) for n in self._redis.smembers(self._key("catalogs")))
            pipe = self._redis.pipeline(transaction=False)
            for name in names:
                pipe.hmget(self._key("catalog:", name), "version", "size", "model")
            out = {}
            for name, (version, size, model) in zip(names, pipe.execute()):
                if version is not None:  # deleted between the two reads
                    out[name] = CatalogRecord(name, int(version), int(size), _text(model))
            return out

        return self._call(run)

    def load(self, name: str) -> tuple[CatalogRecord, list[StoredEntry]] | None:
        def run() -> tuple[CatalogRecord, list[StoredEntry]] | None:
            pipe = self._redis.pipeline(transaction=True)  # MULTI/EXEC: record and entries of one version
            pipe.hmget(self._key("catalog:", name), "version", "size", "model")
            pipe.zrange(self._key("order:", name), 0, -1)
            pipe.hgetall(self._key("entries:", name))
            (version, size, model), order, blobs = pipe.execute()
            if version is None:
                return None
            record = CatalogRecord(name, int(version), int(size), _text(model))
            return record, [_decode_entry(_text(i), blobs[i]) for i in order]

        return self._call(run)

    def commit(self, name: str, *, base_version: int, upserts: Sequence[StoredEntry],
               delete_ids: Sequence[str], replace: bool, model: str) -> CatalogRecord:
        args: list[Any] = [name, base_version, "1" if replace else "0", model, len(upserts)]
        for e in upserts:
            args += [e.id, _encode_entry(e)]
        args += list(delete_ids)
        keys = [self._key("catalog:", name), self._key("entries:", name), self._key("order:", name),
                self._key("version"), self._key("catalogs")]
        version, size = self._call(lambda: self._commit(keys=keys, args=args))
        if version == -1:
            raise VersionConflict(f"catalog {name!r} is at version {size}, not {base_version}")
        self._publish(name, int(version))
        return CatalogRecord(name, int(version), int(size), model)

    def delete(self, name: str) -> bool:
        keys = [self._key("catalog:", name), self._key("entries:", name), self._key("order:", name),
                self._key("catalogs")]
        existed = bool(self._call(lambda: self._delete(keys=keys, args=[name])))
        if existed:
            self._publish(name, 0)
        return existed

    def get_embeddings(self, model: str, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        if not keys:
            return {}
        values = self._call(lambda: self._redis.hmget(self._key("emb:", model), list(keys)))
        return {k: np.frombuffer(cast(bytes, v), dtype=np.float32).copy()
                for k, v in zip(keys, values, strict=True) if v is not None}

    def put_embeddings(self, model: str, vectors: Mapping[bytes, np.ndarray]) -> None:
        if not vectors:
            return
        mapping: dict[Any, bytes] = {k: np.ascontiguousarray(v, dtype=np.float32).tobytes() for k, v in vectors.items()}

        def run() -> None:
            pipe = self._redis.pipeline(transaction=True)
            pipe.hset(self._key("emb:", model), mapping=mapping)
            pipe.incrby(self._key("embeddings_written"), len(mapping))
            pipe.execute()

        self._call(run)

    # -- feedback (keys fb:<name> list, fbseq / fblearn hashes by name, fbcounter) ----------------

    def add_feedback(self, name: str, record: str, limit: int) -> tuple[int, int]:
        return self._feedback_change(name, "add", [max(limit, 1), record])

    def feedback(self, name: str) -> FeedbackLog:
        def run() -> FeedbackLog:
            pipe = self._redis.pipeline(transaction=True)
            pipe.hget(self._key("fbseq"), name)
            pipe.hget(self._key("fblearn"), name)
            pipe.lrange(self._key("fb:", name), 0, -1)
            seq, learn, records = pipe.execute()
            return FeedbackLog(int(seq or 0), tuple(_text(r) for r in records), learn is None or _text(learn) == "1")

        return self._call(run)

    def set_feedback(self, name: str, records: Sequence[str]) -> int:
        return self._feedback_change(name, "set", ["", *records])[0]

    def set_learning(self, name: str, learn: bool) -> int:
        return self._feedback_change(name, "learn", ["1" if learn else "0"])[0]

    def feedback_seqs(self) -> dict[str, int]:
        raw = self._call(lambda: self._redis.hgetall(self._key("fbseq")))
        return {_text(k): int(v) for k, v in raw.items()}

    def drop_feedback(self, name: str) -> None:
        def run() -> None:
            pipe = self._redis.pipeline(transaction=True)
            pipe.delete(self._key("fb:", name))
            pipe.hdel(self._key("fbseq"), name)
            pipe.hdel(self._key("fblearn"), name)
            pipe.execute()

        self._call(run)
        self._publish(name, 0)

    def _feedback_change(self, name: str, mode: str, args: list[Any]) -> tuple[int, int]:
        keys = [self._key("fb:", name), self._key("fbseq"), self._key("fblearn"), self._key("fbcounter")]
        seq, count = self._call(lambda: self._feedback(keys=keys, args=[name, mode, *args]))
        self._publish(name, -int(seq))  # wakes the other replicas' refreshers (negative: a feedback seq)
        return int(seq), int(count)

    def embedding_keys(self) -> set[tuple[str, bytes]]:
        def run() -> set[tuple[str, bytes]]:
            out: set[tuple[str, bytes]] = set()
            for emb_key in self._redis.scan_iter(match=self._key("emb:") + "*", count=100):
                model = _text(emb_key)[len(self._key("emb:")):]
                out.update((model, k if isinstance(k, bytes) else k.encode()) for k in self._redis.hkeys(emb_key))
            return out

        return self._call(run)

    def delete_embeddings(self, keys: Iterable[tuple[str, bytes]]) -> int:
        by_model: dict[str, list[bytes]] = {}
        for model, key in keys:
            by_model.setdefault(model, []).append(key)

        def run() -> int:
            gone = 0
            for model, found in by_model.items():
                for start in range(0, len(found), 500):
                    gone += int(self._redis.hdel(self._key("emb:", model), *found[start:start + 500]))
            return gone

        return self._call(run)

    def embeddings_stored(self) -> int:
        def run() -> int:
            return sum(int(self._redis.hlen(k)) for k in self._redis.scan_iter(match=self._key("emb:") + "*"))

        return self._call(run)

    def close(self) -> None:
        self._closed.set()
        if self._listener is not None:
            self._listener.join(timeout=3)
        self._redis.close()

    # -- beyond the protocol: push, health, counters ---------------------------------------------

    def watch(self, on_change: Callable[[], None]) -> None:
        """Call ``on_change()`` (from a thread) whenever any replica commits or deletes, and after a reconnect."""
        if self._listener is None:
            self._listener = threading.Thread(target=self._listen, args=(on_change,), daemon=True,
                                              name="toolrank-redis-watch")
            self._listener.start()

    def available(self) -> bool:
        """Whether Redis answers a PING now."""
        try:
            self._call(self._redis.ping)
            return True
        except StoreUnavailable:
            return False

    def embeddings_written(self) -> int:
        """Vectors replicas have stored (for tests and the replica bench: restarts must add none)."""
        return int(self._call(lambda: self._redis.get(self._key("embeddings_written"))) or 0)

    # -- internals ---------------------------------------------------------------------------------

    def _key(self, kind: str, name: str = "") -> str:
        return f"{self._prefix}{kind}{name}"

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            out = fn()
        except _UNREACHABLE as exc:
            # the client's message names no host (the log has the redacted URL and the reason)
            self._mark(down=True, reason=str(exc))
            raise StoreUnavailable("catalog store unavailable: catalog changes fail until it is back; catalogs "
                                   "already loaded keep answering") from exc
        except redis.exceptions.ResponseError as exc:  # OOM, READONLY replica, NOSCRIPT after a flush...
            log.warning("catalog store %s refused a command: %s", self.url, redact_text(str(exc)))
            raise StoreUnavailable("catalog store refused the command (the server's log says why)") from exc
        self._mark(down=False)
        return out

    def _mark(self, down: bool, reason: str = "") -> None:
        with self._state_lock:
            if down == self._down:
                return
            self._down = down
        if down:
            log.warning("catalog store %s unavailable: %s", self.url, redact_text(reason))
        else:
            log.warning("catalog store %s reachable again", self.url)

    def _publish(self, name: str, version: int) -> None:
        try:
            self._redis.publish(self._channel, f"{name} {version}")
        except Exception as exc:  # noqa: BLE001 - the commit is in: never fail the put; other replicas' poll sees it
            log.warning("catalog store %s: could not announce %s version %d (%s)", self.url, name, version,
                        redact_text(f"{type(exc).__name__}: {exc}"))

    def _survive(self, exc: BaseException, backoff: float) -> None:
        """The watch thread never dies of an error: log it (redacted), wait, then subscribe again."""
        log.warning("catalog store %s: change listener failed (%s); resubscribing in %.2fs", self.url,
                    redact_text(f"{type(exc).__name__}: {exc}"), backoff)
        self._closed.wait(backoff)

    def _listen(self, on_change: Callable[[], None]) -> None:
        backoff = 0.05
        while not self._closed.is_set():
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self._channel)
                backoff = 0.05
                self._mark(down=False)
                on_change()  # (re)connected: catch up on whatever changed while not listening
                while not self._closed.is_set():
                    if pubsub.get_message(timeout=0.5) is not None:
                        on_change()
            except _UNREACHABLE as exc:
                self._mark(down=True, reason=str(exc))
                self._closed.wait(backoff)
                backoff = min(backoff * 2, 1.0)
            except RuntimeError as exc:
                if _loop_closed(exc):  # the event loop on_change posts to has closed: nobody is listening
                    return
                self._survive(exc, backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception as exc:  # noqa: BLE001 - any other error (a bad reply, a callback bug): log, back off, resubscribe
                self._survive(exc, backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                try:
                    pubsub.close()
                except Exception:  # noqa: BLE001 - a broken connection may fail to close
                    pass


def _loop_closed(exc: RuntimeError) -> bool:
    return "closed" in str(exc).lower()


def _text(value: Any) -> str:
    """A Redis reply as text (the client returns bytes: decode_responses is off for the vectors)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def _encode_entry(e: StoredEntry) -> bytes:
    return json.dumps([e.kind, e.candidate, e.text, e.name, e.content_hash.hex(), e.text_key.hex(), e.fallback],
                      ensure_ascii=False, separators=(",", ":")).encode()


def _decode_entry(entry_id: str, blob: bytes) -> StoredEntry:
    kind, candidate, text, name, content_hash, text_key, fallback = json.loads(blob)
    return StoredEntry(entry_id, kind, candidate, text, name, bytes.fromhex(content_hash), bytes.fromhex(text_key),
                       bool(fallback))
