"""Configuration, built once (in ``toolrank.cli``) and passed down; never read at import time."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "models" / "default"
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Request limits: over any of them a request is refused with INVALID_ARGUMENT."""

    max_candidates: int = 1000
    max_candidate_bytes: int = 256 * 1024
    max_query_bytes: int = 16 * 1024
    max_request_bytes: int = 16 * 1024 * 1024
    max_message_bytes: int = 32 * 1024 * 1024  # gRPC receive limit (transport level)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the server needs; see ``toolrank serve --help`` for each field."""

    host: str = "127.0.0.1"
    port: int = 50051
    models: tuple[tuple[str, str], ...] = ((DEFAULT_MODEL_NAME, str(DEFAULT_MODEL_DIR)),)
    default_model: str = ""
    threads: int = 0  # onnxruntime intra-op threads; 0 = all cores
    # Padded tokens per batch (at least the model's max_length). Measured (bench/tune.py, W1: 50
    # tool schemas, all-MiniLM-L6-v2 int8, 2 cores): 8192 -> one batch padded +91%, 2974 ms median;
    # 2048 -> +23%, 2563 ms; 1024 -> +14%, 2379 ms; 512 -> +7%, 2098 ms. On CPU a batch of ~1k
    # tokens already fills the matmuls, so smaller batches lose nothing and pad far less.
    token_budget: int = 1024
    max_batch_size: int = 64
    cache_size: int = 50_000  # entries per cache (normalized text, token ids, embeddings)
    normalize_max_chars: int = 2048
    max_inflight_requests: int = 256
    max_queued_tokens: int = 4_000_000
    request_timeout_s: float = 60.0
    grace_s: float = 10.0
    http_port: int = -1  # Cohere/Jina-style HTTP API + /metrics: negative = off, 0 = any free port
    http_read_timeout_s: float = 30.0  # HTTP: a client must send each request (and go idle) within this
    cache_dir: str = ""  # where `toolrank models pull` puts models (TOOLRANK_CACHE_DIR); empty: ~/.cache/toolrank/models
    tls_cert_file: str = ""  # PEM server certificate: TLS on every port when set (with tls_key_file)
    tls_key_file: str = ""
    tls_client_ca_file: str = ""  # PEM CA: clients must present a certificate it signed (mutual TLS)
    auth_tokens_file: str = ""  # bearer tokens, one a line: every RPC and route but health needs one
    auth_tokens: str = field(default="", repr=False)  # comma-separated bearer tokens (TOOLRANK_AUTH_TOKENS)
    store: str = ""  # catalogs: sqlite:///path (default: under the user's data dir), memory://, redis://...
    max_catalogs: int = 1000  # catalogs per server (store): past it a put is RESOURCE_EXHAUSTED
    max_catalog_candidates: int = 100_000  # candidates per catalog: past it a put is RESOURCE_EXHAUSTED
    catalog_refresh_s: float = 1.0  # how often a replica polls the store for catalog versions
    limits: Limits = field(default_factory=Limits)
    # other names for served models (ALIAS, MODEL), e.g. ("rerank-v3.5", "default"): clients that hard-code a
    # model name work unchanged; "default" stands for the default model (TOOLRANK_MODEL_ALIAS=a=b,c=d)
    model_aliases: tuple[tuple[str, str], ...] = ()
    otlp_endpoint: str = ""  # OpenTelemetry traces to this OTLP/gRPC collector (or OTEL_EXPORTER_OTLP_ENDPOINT)

    @property
    def default_model_name(self) -> str:
        return self.default_model or self.models[0][0]


_ENV_PREFIX = "TOOLRANK_"


def settings_from(overrides: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from flags (``overrides``, None = unset), then ``TOOLRANK_*`` variables, then defaults."""
    env = os.environ if env is None else env
    base = Settings()
    limit_values: dict[str, Any] = {}
    values: dict[str, Any] = {}
    for group, target, names in (
        (Settings, values, [f.name for f in fields(Settings) if f.name not in ("models", "limits", "model_aliases")]),
        (Limits, limit_values, [f.name for f in fields(Limits)]),
    ):
        for name in names:
            default = getattr(base if group is Settings else base.limits, name)
            flag = overrides.get(name)
            if flag is not None:
                target[name] = flag
            elif _ENV_PREFIX + name.upper() in env:
                target[name] = type(default)(env[_ENV_PREFIX + name.upper()])
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
    return replace(base, limits=replace(base.limits, **limit_values), **values)


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
