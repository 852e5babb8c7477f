"""TLS for both ports from PEM files, with optional mutual TLS.

``--tls-cert``/``--tls-key`` turn TLS on for gRPC and HTTP alike;
``--tls-client-ca`` additionally requires every client to present a
certificate signed by that CA.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import grpc

from toolrank.errors import ConfigError
from toolrank.settings import Settings


def tls_enabled(settings: Settings) -> bool:
    """True when a certificate and key are configured (ConfigError when only one is)."""
    if bool(settings.tls_cert_file) != bool(settings.tls_key_file):
        raise ConfigError("TLS needs both --tls-cert and --tls-key")
    if settings.tls_client_ca_file and not settings.tls_cert_file:
        raise ConfigError("--tls-client-ca (mutual TLS) needs --tls-cert and --tls-key")
    return bool(settings.tls_cert_file)


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the TLS {what} {path}: {exc.strerror or exc}") from None


def grpc_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """Server credentials for ``add_secure_port``, or None for plaintext."""
    if not tls_enabled(settings):
        return None
    key = _read(settings.tls_key_file, "key")
    cert = _read(settings.tls_cert_file, "certificate")
    client_ca = _read(settings.tls_client_ca_file, "client CA") if settings.tls_client_ca_file else None
    return grpc.ssl_server_credentials([(key, cert)], root_certificates=client_ca,
                                       require_client_auth=client_ca is not None)


def http_ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The HTTP server's SSLContext (uvicorn's ``ssl_context_factory``), or None for plaintext."""
    if not tls_enabled(settings):
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
        if settings.tls_client_ca_file:
            context.load_verify_locations(cafile=settings.tls_client_ca_file)
            context.verify_mode = ssl.CERT_REQUIRED
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the TLS files: {exc}") from None
    return context
