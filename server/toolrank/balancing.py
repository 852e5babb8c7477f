"""Client-side balancing over several toolrank replicas: the channel target and gRPC service config.

A Kubernetes Service balances TCP connections, and one HTTP/2 connection carries all of a
client's calls, so a plain ClusterIP address sends every request to one pod. Balancing
has to happen per request: the client resolves every replica (a headless Service through
``dns:///``, or an explicit list) and spreads calls with gRPC's ``round_robin`` policy, and
a call that fails with UNAVAILABLE (a replica draining or gone) is retried on the next one.
Only idempotent methods are retried: a retried Rerank or Select does the same work again,
a retried PutCatalog could apply twice.

:data:`SERVICE_CONFIG` is plain gRPC service config JSON: clients in other languages get
the same behaviour by passing it as their channel's default service config (the README
shows it).
"""

from __future__ import annotations

import ipaddress
import json
import socket
from typing import Any

IDEMPOTENT_METHODS: tuple[tuple[str, str], ...] = (
    ("toolrank.v1.Reranker", "Rerank"),
    ("toolrank.v1.Reranker", "Normalize"),
    ("toolrank.v1.Reranker", "Info"),
    ("toolrank.v1.Catalogs", "Select"),
    ("toolrank.v1.Catalogs", "GetCatalog"),
    ("toolrank.v1.Catalogs", "ListCatalogs"),
    ("grpc.health.v1.Health", "Check"),
)

# gRPC caps maxAttempts at 5. Backoff: 50 ms, then up to 1 s; a retry is a fresh pick, so with
# round_robin it lands on the next ready replica. CANCELLED too: a stopping gRPC server cancels the
# calls it has received but not yet handed to a handler (grpc/grpc#41785), although the client
# cancelled nothing; a call the client itself cancels is over and never retried.
RETRY_POLICY: dict[str, Any] = {
    "maxAttempts": 5,
    "initialBackoff": "0.05s",
    "maxBackoff": "1s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE", "CANCELLED"],
}

SERVICE_CONFIG: dict[str, Any] = {
    "loadBalancingConfig": [{"round_robin": {}}],
    "methodConfig": [{
        "name": [{"service": service, "method": method} for service, method in IDEMPOTENT_METHODS],
        "retryPolicy": RETRY_POLICY,
    }],
}


_SCHEMES = {"dns", "ipv4", "ipv6", "unix", "unix-abstract", "vsock", "xds", "google-c2p"}  # gRPC target schemes


def channel_target(address: str) -> tuple[str, str | None]:
    """The gRPC target for ``address``, and the authority to present when it had to be changed.

    ``dns:///host:port`` (every A/AAAA record: a headless Service), any other ``scheme:`` target,
    or one ``host:port`` pass through. A comma-separated list ``a:50051,b:50051`` becomes an
    ``ipv4:``/``ipv6:`` target with every address (host names are resolved once, here); its
    authority stays the first entry's ``host:port`` so that TLS checks the name, not an IP.
    """
    address = address.strip()
    if "," not in address or address.split(":", 1)[0] in _SCHEMES:
        return address, None
    entries = [a.strip() for a in address.split(",") if a.strip()]
    if not entries:
        raise ValueError(f"address {address!r}: empty list")
    resolved: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    ports: list[int] = []
    names_given = False
    for entry in entries:
        host, port = _split_host_port(entry)
        try:
            ips = [ipaddress.ip_address(host)]
        except ValueError:
            names_given = True
            ips = _resolve(host, port)
        resolved.extend(ips)
        ports.extend([port] * len(ips))
    family = 4 if any(ip.version == 4 for ip in resolved) else 6
    picked = [(ip, port) for ip, port in zip(resolved, ports) if ip.version == family]
    if family == 4:
        target = "ipv4:" + ",".join(f"{ip}:{port}" for ip, port in picked)
    else:
        target = "ipv6:" + ",".join(f"[{ip}]:{port}" for ip, port in picked)
    return target, (entries[0] if names_given else None)


def channel_options(address: str) -> tuple[str, list[tuple[str, Any]]]:
    """The target and the channel options that turn on round_robin and retries for ``address``."""
    target, authority = channel_target(address)
    options: list[tuple[str, Any]] = [("grpc.service_config", json.dumps(SERVICE_CONFIG)),
                                      ("grpc.enable_retries", 1)]
    if authority is not None:
        options.append(("grpc.default_authority", authority))
    return target, options


def _split_host_port(entry: str) -> tuple[str, int]:
    if entry.startswith("["):  # [::1]:50051
        host, _, port = entry[1:].partition("]:")
    else:
        host, _, port = entry.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"address {entry!r}: expected host:port")
    return host, int(port)


def _resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ValueError(f"address {host}:{port}: cannot resolve ({exc})") from exc
    seen: dict[str, ipaddress.IPv4Address | ipaddress.IPv6Address] = {}
    for _family, _type, _proto, _name, sockaddr in infos:
        host = str(sockaddr[0])
        seen.setdefault(host, ipaddress.ip_address(host.split("%")[0]))
    return list(seen.values())
