"""Redis for the scale-out tests: the machine's (127.0.0.1:6379, a database this run claims: tests/redis_db.py)
or a ``redis-server`` the test starts on a free port (needed to stop and restart Redis under the replicas).
Without either, the tests skip and say why (under CI=true they fail: tests/ci_services.py).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator

import os

import pytest

from ci_services import require_module, service_missing

redis = require_module("redis")

from redis_db import claim_db, release_db  # noqa: E402 - a database of this run's own, never a fixed number

# TOOLRANK_TEST_REDIS_URL points the tests at another Redis database (used as is: emptied before and after)
EXPLICIT_URL = os.environ.get("TOOLRANK_TEST_REDIS_URL", "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A ``redis-server`` of our own, with an append-only file so that a restart keeps the catalogs."""

    def __init__(self, directory: Path, password: str = "", tls: bool = False) -> None:
        self.directory = directory
        self.port = free_port()
        self.password = password
        self.tls = tls
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        if self.tls:
            return f"rediss://{auth}localhost:{self.port}/0?ssl_ca_certs={self.directory / 'ca.pem'}"
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        binary = shutil.which("redis-server")
        if binary is None:
            service_missing("no redis-server on PATH: cannot start a Redis of our own to stop and restart")
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
                "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no", "--logfile", str(self.directory / "redis.log")]
        if self.password:
            args += ["--requirepass", self.password]
        if self.tls:
            if not (self.directory / "ca.pem").exists():
                write_certificates(self.directory)
            args[1:3] = ["--port", "0", "--tls-port", str(self.port), "--tls-auth-clients", "no",
                         "--tls-cert-file", str(self.directory / "server.pem"),
                         "--tls-key-file", str(self.directory / "server.key"),
                         "--tls-ca-cert-file", str(self.directory / "ca.pem")]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url, socket_timeout=1).ping()
                return self
            except redis.exceptions.ConnectionError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"redis-server exited {self.process.returncode}: {self.log()}") from None
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def log(self) -> str:
        path = self.directory / "redis.log"
        return path.read_text()[-2000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # SIGKILL: the append-only file keeps every acknowledged write (fsync everysec aside)
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture(name="redis_url")
def redis_url_fixture() -> Iterator[str]:
    """The machine's Redis (database 13, emptied before and after), else one we start, else skip."""
    yield from shared_redis_url()


@pytest.fixture(name="own_redis")
def own_redis_fixture(tmp_path: Path) -> Iterator["RedisServer"]:
    """A redis-server of our own (tests that stop and restart Redis)."""
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory).start()
    yield server
    server.stop()


def shared_redis_url() -> Iterator[str]:
    """TOOLRANK_TEST_REDIS_URL when set; else the machine's Redis, a database this run claimed (emptied after);
    else one we start; else skip (under CI=true: fail)."""
    claimed = None
    if EXPLICIT_URL:
        client = redis.Redis.from_url(EXPLICIT_URL, socket_connect_timeout=1)
        try:
            client.flushdb()
        except redis.exceptions.ConnectionError:
            client.close()
        else:
            try:
                yield EXPLICIT_URL
            finally:
                client.flushdb()
                client.close()
            return
    else:
        claimed = claim_db(redis)
    if claimed is None:
        if shutil.which("redis-server") is None:
            where = EXPLICIT_URL or "127.0.0.1:6379 (or no empty database)"
            service_missing(f"no Redis answers at {where} and no redis-server on PATH")
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            server = RedisServer(Path(tmp)).start()
            try:
                yield server.url
            finally:
                server.stop()
        return
    url, client = claimed
    try:
        yield url
    finally:
        release_db(client)


def write_certificates(directory: Path) -> None:
    """A throwaway CA and a certificate for localhost/127.0.0.1 that it signed (ca.pem, server.pem, server.key)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def issue(cn: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, signer: ec.EllipticCurvePrivateKey,
              ca: bool) -> x509.Certificate:
        builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
                   .issuer_name(issuer).public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = issue("test redis ca", ca_key, x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test redis ca")]), ca_key, True)
    cert = issue("localhost", key, ca.subject, ca_key, False)
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "server.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                             serialization.PrivateFormat.TraditionalOpenSSL,
                                                             serialization.NoEncryption()))
