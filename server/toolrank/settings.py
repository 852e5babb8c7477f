"""Configuration, built once (in ``toolrank.cli``) and passed down; never read at import time.

Every value is checked once, when a ``Settings`` or ``Limits`` is built: a wrong type,
a value out of range, NaN or an unreadable ``TOOLRANK_*`` variable raises
:class:`toolrank.errors.ConfigError` with one line naming the setting.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

from toolrank.errors import ConfigError

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "models" / "default"
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
# the tool-tuned bi-encoder shipped beside it (docs/training.md): the default stack ranks tools with it
TOOLS_MODEL_NAME = "minilm-l6-tools-v1"
TOOLS_MODEL_DIR = DEFAULT_MODEL_DIR.parent / TOOLS_MODEL_NAME


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Request limits: over any of them a request is refused with INVALID_ARGUMENT."""

    max_candidates: int = 1000
    max_candidate_bytes: int = 256 * 1024
    max_query_bytes: int = 1024 * 1024  # agents paste logs and earlier turns; the engine fits it to the model (query_window)
    max_request_bytes: int = 16 * 1024 * 1024
    max_message_bytes: int = 32 * 1024 * 1024  # gRPC receive limit (transport level)

    def __post_init__(self) -> None:
        for f in fields(self):
            _check(f.name, getattr(self, f.name), int, low=0)  # 0 refuses every request over it


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the server needs; see ``toolrank serve --help`` for each field."""

    host: str = "127.0.0.1"
    port: int = 50051
    # both bundled models: served as the default stack (toolrank/models/stacks.json); --model replaces them
    models: tuple[tuple[str, str], ...] = ((DEFAULT_MODEL_NAME, str(DEFAULT_MODEL_DIR)),
                                           (TOOLS_MODEL_NAME, str(TOOLS_MODEL_DIR)))
    default_model: str = ""
    threads: int = 0  # onnxruntime intra-op threads; 0 = all cores
    token_budget: int = 1024  # padded tokens per batch (at least the model's max_length; README: Performance)
    max_batch_size: int = 64
    run_overhead_tokens: int = 32  # the scheduler's fixed cost of one run, in padded tokens (README: Performance)
    cache_size: int = 50_000  # most entries per cache (normalized text, token ids, embeddings); 0 = caches off
    # bytes all the caches share, weighed by real size (README: operations); sized for a 1 GiB pod: the model,
    # onnxruntime's arenas and the catalogs' indexes need the rest
    cache_memory_mb: int = 256
    normalize_max_chars: int = 2048
    max_inflight_requests: int = 256
    max_queued_tokens: int = 4_000_000
    request_timeout_s: float = 60.0
    grace_s: float = 10.0
    http_port: int = -1  # Cohere/Jina-style HTTP API + /metrics: negative = off, 0 = any free port
    reuse_port: bool = False  # let several servers share the gRPC port (SO_REUSEPORT); off: a busy port is an error
    http_read_timeout_s: float = 30.0  # HTTP: a client must send each request (and go idle) within this
    cache_dir: str = ""  # where `toolrank models pull` puts models (TOOLRANK_CACHE_DIR); empty: ~/.cache/toolrank/models
    tls_cert_file: str = ""  # PEM server certificate: TLS on every port when set (with tls_key_file)
    tls_key_file: str = ""
    tls_client_ca_file: str = ""  # PEM CA: clients must present a certificate it signed (mutual TLS)
    auth_tokens_file: str = ""  # bearer tokens, one a line: every RPC and route but health needs one
    auth_tokens: str = field(default="", repr=False)  # comma-separated bearer tokens (TOOLRANK_AUTH_TOKENS)
    store: str = field(default="", repr=False)  # redacted in __repr__; catalogs: sqlite:///path (default: under the user's data dir), memory://, redis://...
    max_catalogs: int = 1000  # catalogs per server (store): past it a put is RESOURCE_EXHAUSTED
    max_catalog_candidates: int = 100_000  # candidates per catalog: past it a put is RESOURCE_EXHAUSTED
    catalog_refresh_s: float = 1.0  # how often a replica polls the store for catalog versions (0: never)
    learn: bool = True  # catalogs learn from example requests and feedback (off: server-wide; docs/learning.md)
    feedback_limit: int = 10_000  # feedback records kept per catalog (oldest dropped first)
    limits: Limits = field(default_factory=Limits)
    # other names for served models (ALIAS, MODEL), e.g. ("rerank-v3.5", "default"): clients that hard-code a
    # model name work unchanged; "default" stands for the default model (TOOLRANK_MODEL_ALIAS=a=b,c=d)
    model_aliases: tuple[tuple[str, str], ...] = ()
    # ensembles served beside the models, each NAME=MODEL:W,MODEL:W,bm25:W (engine/ensemble.py;
    # TOOLRANK_ENSEMBLE, several separated by ";"); a manifest with "kind": "ensemble" under --model does the same
    ensembles: tuple[str, ...] = ()
    otlp_endpoint: str = ""  # OpenTelemetry traces to this OTLP/gRPC collector (or OTEL_EXPORTER_OTLP_ENDPOINT)
    address_file: str = ""  # serve writes the gRPC address it bound (host:port) here: `toolrank health --address-file`

    def __post_init__(self) -> None:
        for f in fields(self):  # every scalar setting has its default's type: a new one is checked unasked
            if isinstance(f.default, (bool, int, float, str)):
                _check(f.name, getattr(self, f.name), type(f.default))
        for name, kind, low, high in _RANGES:
            _check(name, getattr(self, name), kind, low, high)
        if not self.host.strip():
            raise ConfigError("host: empty (use 127.0.0.1, or 0.0.0.0 for every interface)")
        if not self.models:
            raise ConfigError("models: none to serve")
        for field_name in ("models", "model_aliases"):
            for pair in getattr(self, field_name):
                if not (isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
                    raise ConfigError(f"{field_name}: expected (name, value) string pairs, got {pair!r}")
        if not isinstance(self.limits, Limits):
            raise ConfigError(f"limits: expected Limits, got {type(self.limits).__name__}")

    def __repr__(self) -> str:
        """Every field but the secrets: the store URL redacted, bearer tokens left out."""
        from toolrank.redact import redact_url

        shown = [f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr]
        return f"Settings({', '.join(shown)}, store={redact_url(self.store)!r})"


# (name, type, lowest, highest): every number a Settings holds, checked in __post_init__.
_RANGES: tuple[tuple[str, type, Any, Any], ...] = (
    ("port", int, 0, 65535),
    ("http_port", int, None, 65535),
    ("threads", int, 0, 1024),
    ("token_budget", int, 1, None),
    ("max_batch_size", int, 1, None),
    ("run_overhead_tokens", int, 0, None),
    ("cache_size", int, 0, None),
    ("cache_memory_mb", int, 0, 1 << 20),
    ("normalize_max_chars", int, 1, None),
    ("max_inflight_requests", int, 0, None),  # 0 refuses every request (RESOURCE_EXHAUSTED)
    ("max_queued_tokens", int, 1, None),
    ("request_timeout_s", float, 0, None),
    ("grace_s", float, 0, None),
    ("http_read_timeout_s", float, 0.001, None),
    ("max_catalogs", int, 1, None),
    ("max_catalog_candidates", int, 1, None),
    ("catalog_refresh_s", float, 0, 86_400.0),  # 0: no periodic refresh (one process, tests)
    ("feedback_limit", int, 1, None),
)


def _check(name: str, value: Any, kind: type, low: Any = None, high: Any = None) -> None:
    """Refuse a value of the wrong type, NaN or infinite, or out of [low, high], naming the setting."""
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{name}: expected {kind.__name__}, got {type(value).__name__} {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{name}: {value!r} is not a finite number")
    if low is not None and value < low:
        raise ConfigError(f"{name}: {value!r} is below the lowest allowed value, {low:g}")
    if high is not None and value > high:
        raise ConfigError(f"{name}: {value!r} is above the highest allowed value, {high:g}")


_ENV_PREFIX = "TOOLRANK_"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def parse_env_value(variable: str, text: str, kind: type) -> Any:
    """A ``TOOLRANK_*`` string as ``kind`` (bool: 1/0, true/false, yes/no, on/off), or ConfigError naming it."""
    raw = text.strip()
    try:
        if kind is bool:
            if raw.lower() in _TRUE:
                return True
            if raw.lower() in _FALSE:
                return False
            raise ValueError
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
    except ValueError:
        what = {bool: "a boolean (true/false, 1/0, yes/no, on/off)", int: "an integer", float: "a number"}[kind]
        raise ConfigError(f"{variable}={text!r}: expected {what}") from None
    return text


def settings_from(overrides: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from flags (``overrides``, None = unset), then ``TOOLRANK_*`` variables, then defaults."""
    env = os.environ if env is None else env
    base = Settings()
    limit_values: dict[str, Any] = {}
    values: dict[str, Any] = {}
    for group, target, names in (
        (Settings, values, [f.name for f in fields(Settings) if f.name not in ("models", "limits", "model_aliases", "ensembles")]),
        (Limits, limit_values, [f.name for f in fields(Limits)]),
    ):
        for name in names:
            default = getattr(base if group is Settings else base.limits, name)
            flag = overrides.get(name)
            if flag is not None:
                target[name] = flag
            elif _ENV_PREFIX + name.upper() in env:
                variable = _ENV_PREFIX + name.upper()
                target[name] = parse_env_value(variable, env[variable], type(default))
    models = overrides.get("models")
    if models:
        values["models"] = tuple(models)
    elif env.get(_ENV_PREFIX + "MODEL"):
        values["models"] = tuple(parse_model_arg(m) for m in env[_ENV_PREFIX + "MODEL"].split(","))
    aliases = overrides.get("model_aliases")
    if aliases:
        values["model_aliases"] = tuple(parse_alias_arg(a) for a in aliases)
    elif env.get(_ENV_PREFIX + "MODEL_ALIAS"):
        values["model_aliases"] = tuple(parse_alias_arg(a) for a in env[_ENV_PREFIX + "MODEL_ALIAS"].split(","))
    ensembles = overrides.get("ensembles")
    if ensembles:
        values["ensembles"] = tuple(ensembles)
    elif env.get(_ENV_PREFIX + "ENSEMBLE"):
        values["ensembles"] = tuple(e.strip() for e in env[_ENV_PREFIX + "ENSEMBLE"].split(";") if e.strip())
    return replace(base, limits=replace(base.limits, **limit_values), **values)  # __post_init__ checks each


def parse_alias_arg(arg: str) -> tuple[str, str]:
    """``ALIAS=MODEL`` (MODEL: a served model's name, or ``default``)."""
    alias, sep, model = arg.partition("=")
    if not sep or not alias.strip() or not model.strip():
        from toolrank.errors import ConfigError

        raise ConfigError(f"--model-alias {arg!r}: expected ALIAS=MODEL, e.g. rerank-v3.5=default")
    return alias.strip(), model.strip()


def parse_model_arg(arg: str) -> tuple[str, str]:
    """``NAME=DIR`` or ``DIR`` (the name is then the manifest's or the folder's)."""
    if "=" in arg:
        name, path = arg.split("=", 1)
        return name.strip(), path.strip()
    return "", arg.strip()
