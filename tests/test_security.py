"""Security on a real server: bearer tokens, TLS and mutual TLS, model names only, quiet logs.

The certificates come from a throwaway CA made here with ``cryptography``.
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import json
import logging
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc

from conftest import TINY, ServerThread
from toolrank.api.auth import TokenChecker
from toolrank.errors import ConfigError
from toolrank.settings import Settings, settings_from
from toolrank.v1 import reranker_pb2 as pb
from toolrank.v1 import reranker_pb2_grpc as pb_grpc

MODEL = str(TINY / "tiny-bert-cross")
TOKEN = "s3cret-token-for-tests"
SECRET_TEXT = "candidate-text-that-must-not-be-logged"


def tiny_settings(**overrides: object) -> Settings:
    return Settings(models=(("tiny", MODEL),), **overrides)  # type: ignore[arg-type]


def rerank_request(text: str = "a document") -> pb.RerankRequest:
    return pb.RerankRequest(query="find it", candidates=[pb.Candidate(id="a", text=text)])


def http_call(server: ServerThread, method: str, path: str, body: object = None,
              headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    assert server.http is not None
    conn = http.client.HTTPConnection("127.0.0.1", server.http.port, timeout=30)
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def https(server: ServerThread, method: str, path: str, context: ssl.SSLContext,
          body: object = None) -> tuple[int, bytes]:
    assert server.http is not None
    conn = http.client.HTTPSConnection("localhost", server.http.port, timeout=30, context=context)
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body))
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def serving(channel: grpc.Channel) -> int:
    return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10).status


# -- a throwaway PKI ---------------------------------------------------------------------------------


@dataclass
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path

    def read(self, path: Path) -> bytes:
        return path.read_bytes()


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(subject: str, issuer_key: ec.EllipticCurvePrivateKey, issuer: x509.Name, *, ca: bool,
           server: bool = False) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    elif not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return builder.sign(issuer_key if issuer_key is not None else key, hashes.SHA256()), key


def _write(path: Path, cert: x509.Certificate | None = None, key: ec.EllipticCurvePrivateKey | None = None) -> Path:
    if cert is not None:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    else:
        assert key is not None
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_cert = (x509.CertificateBuilder().subject_name(_name("toolrank test CA")).issuer_name(_name("toolrank test CA"))
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False,
                                            encipher_only=False, decipher_only=False), critical=True)
               .sign(ca_key, hashes.SHA256()))
    server_cert, server_key = _issue("localhost", ca_key, ca_cert.subject, ca=False, server=True)
    client_cert, client_key = _issue("test client", ca_key, ca_cert.subject, ca=False)
    return Pki(_write(d / "ca.pem", ca_cert), _write(d / "server.pem", server_cert),
               _write(d / "server.key", key=server_key), _write(d / "client.pem", client_cert),
               _write(d / "client.key", key=client_key))


# -- bearer tokens -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    tokens = tmp_path_factory.mktemp("auth") / "tokens"
    tokens.write_text(f"# one token a line\n{TOKEN}\nanother-token\n", encoding="utf-8")
    server = ServerThread(tiny_settings(auth_tokens_file=str(tokens)), http=True).start()
    yield server
    server.stop()


def _call(server: ServerThread, metadata: tuple[tuple[str, str], ...] | None) -> grpc.StatusCode:
    with grpc.insecure_channel(server.address) as channel:
        try:
            pb_grpc.RerankerStub(channel).Rerank(rerank_request(), timeout=30, metadata=metadata)
        except grpc.RpcError as exc:
            return exc.code()
    return grpc.StatusCode.OK


def test_no_token_is_refused(token_server):
    assert _call(token_server, None) == grpc.StatusCode.UNAUTHENTICATED


def test_wrong_token_is_refused(token_server):
    for value in (f"Bearer {TOKEN}x", "Bearer ", TOKEN, f"Basic {TOKEN}", "Bearer " + TOKEN[:-1]):
        assert _call(token_server, (("authorization", value),)) == grpc.StatusCode.UNAUTHENTICATED, value


def test_right_token_is_accepted(token_server):
    assert _call(token_server, (("authorization", f"Bearer {TOKEN}"),)) == grpc.StatusCode.OK
    assert _call(token_server, (("authorization", "bearer another-token"),)) == grpc.StatusCode.OK


def test_every_method_but_health_needs_the_token(token_server):
    with grpc.insecure_channel(token_server.address) as channel:
        assert serving(channel) == health_pb2.HealthCheckResponse.SERVING
        stub = pb_grpc.RerankerStub(channel)
        for call, message in ((stub.Info, pb.InfoRequest()),
                              (stub.Normalize, pb.NormalizeRequest(candidates=rerank_request().candidates))):
            with pytest.raises(grpc.RpcError) as refused:
                call(message, timeout=10)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert "bearer token" in refused.value.details()
        assert stub.Info(pb.InfoRequest(), timeout=10, metadata=(("authorization", f"Bearer {TOKEN}"),)).models


def test_http_routes_need_the_token_except_health(token_server):
    body = {"query": "q", "documents": ["a"]}
    assert http_call(token_server, "GET", "/health")[0] == 200
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": TOKEN}):
        for method, path, payload in (("POST", "/v1/rerank", body), ("GET", "/info", None), ("GET", "/metrics", None)):
            status, answer = http_call(token_server, method, path, payload, headers)
            assert status == 401, (path, headers)
            reply = json.loads(answer)  # Cohere's shape on /v1/rerank, {"error": {...}} elsewhere
            assert "bearer token" in (reply["message"] if path == "/v1/rerank" else reply["error"]["message"])
    right = {"Authorization": f"Bearer {TOKEN}"}
    assert http_call(token_server, "POST", "/v1/rerank", body, right)[0] == 200
    assert http_call(token_server, "GET", "/info", None, right)[0] == 200


def test_token_checker_sources():
    assert not TokenChecker.from_settings(Settings()).enabled
    env = settings_from({}, {"TOOLRANK_AUTH_TOKENS": "a-token, b-token"})
    checker = TokenChecker.from_settings(env)
    assert checker.refusal("Bearer b-token") is None and checker.refusal("Bearer c-token") is not None
    assert "a-token" not in repr(env)  # settings are printable without leaking tokens
    with pytest.raises(ConfigError, match="cannot read the auth tokens file"):
        TokenChecker.from_settings(Settings(auth_tokens_file="/nonexistent/tokens"))


# -- TLS and mutual TLS ------------------------------------------------------------------------------


def test_tls_handshake_with_the_test_ca(pki):
    server = ServerThread(tiny_settings(tls_cert_file=str(pki.server_cert), tls_key_file=str(pki.server_key)),
                          http=True).start()
    try:
        credentials = grpc.ssl_channel_credentials(root_certificates=pki.read(pki.ca))
        with grpc.secure_channel(server.address, credentials) as channel:
            assert serving(channel) == health_pb2.HealthCheckResponse.SERVING
            assert len(pb_grpc.RerankerStub(channel).Rerank(rerank_request(), timeout=30).results) == 1
        with grpc.insecure_channel(server.address) as plain:  # plaintext is not spoken on a TLS port
            with pytest.raises(grpc.RpcError) as refused:
                serving(plain)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        context = ssl.create_default_context(cafile=str(pki.ca))
        assert https(server, "GET", "/health", context)[0] == 200
        assert https(server, "POST", "/v1/rerank", context, {"query": "q", "documents": ["a", "b"]})[0] == 200
        with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
            plain = http.client.HTTPConnection("127.0.0.1", server.http.port, timeout=10)
            plain.request("GET", "/health")
            plain.getresponse().read()
    finally:
        server.stop()


def test_mutual_tls_requires_a_client_certificate(pki):
    server = ServerThread(tiny_settings(tls_cert_file=str(pki.server_cert), tls_key_file=str(pki.server_key),
                                        tls_client_ca_file=str(pki.ca)), http=True).start()
    try:
        without = grpc.ssl_channel_credentials(root_certificates=pki.read(pki.ca))
        with grpc.secure_channel(server.address, without) as channel:
            with pytest.raises(grpc.RpcError) as refused:
                pb_grpc.RerankerStub(channel).Rerank(rerank_request(), timeout=10)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        with_cert = grpc.ssl_channel_credentials(root_certificates=pki.read(pki.ca),
                                                 private_key=pki.read(pki.client_key),
                                                 certificate_chain=pki.read(pki.client_cert))
        with grpc.secure_channel(server.address, with_cert) as channel:
            assert len(pb_grpc.RerankerStub(channel).Rerank(rerank_request(), timeout=30).results) == 1
        context = ssl.create_default_context(cafile=str(pki.ca))
        with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
            https(server, "GET", "/health", context)  # no client certificate: the handshake fails
        context.load_cert_chain(str(pki.client_cert), str(pki.client_key))
        assert https(server, "GET", "/health", context)[0] == 200
    finally:
        server.stop()


def test_half_a_tls_pair_is_a_config_error(pki):
    from toolrank.api.tls import grpc_credentials, http_ssl_context

    for settings in (Settings(tls_cert_file=str(pki.server_cert)), Settings(tls_client_ca_file=str(pki.ca))):
        with pytest.raises(ConfigError):
            grpc_credentials(settings)
    assert http_ssl_context(Settings()) is None
    full = Settings(tls_cert_file=str(pki.server_cert), tls_key_file=str(pki.server_key),
                    tls_client_ca_file=str(pki.ca))
    assert http_ssl_context(full) is not None


# -- model paths, limits, logs -----------------------------------------------------------------------


def test_models_are_chosen_by_configured_name_never_by_path(default_server):
    before = [s.name for s in default_server.engine.model_specs()]
    with grpc.insecure_channel(default_server.address) as channel:
        stub = pb_grpc.RerankerStub(channel)
        for model in (MODEL, str(Path(MODEL).parent), "../models/default", "/etc/passwd", "tiny-bert-cross"):
            with pytest.raises(grpc.RpcError) as refused:
                stub.Rerank(pb.RerankRequest(query="q", candidates=[pb.Candidate(text="t")], model=model), timeout=30)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "not served" in refused.value.details()
    assert [s.name for s in default_server.engine.model_specs()] == before


def test_oversized_metadata_is_refused(default_server):
    with grpc.insecure_channel(default_server.address) as channel:
        with pytest.raises(grpc.RpcError) as refused:
            pb_grpc.RerankerStub(channel).Info(pb.InfoRequest(), timeout=10, metadata=(("x-big", "a" * 64 * 1024),))
        assert refused.value.code() in (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.INTERNAL,
                                        grpc.StatusCode.UNAVAILABLE)
        assert serving(channel) == health_pb2.HealthCheckResponse.SERVING


def test_no_candidate_text_or_token_in_logs(token_server, caplog):
    caplog.set_level(logging.DEBUG)
    _call(token_server, (("authorization", f"Bearer {TOKEN}"),))
    _call(token_server, (("authorization", "Bearer wrong-token-value"),))
    with grpc.insecure_channel(token_server.address) as channel:
        stub = pb_grpc.RerankerStub(channel)
        metadata = (("authorization", f"Bearer {TOKEN}"),)
        stub.Rerank(rerank_request(SECRET_TEXT), timeout=30, metadata=metadata)
        with pytest.raises(grpc.RpcError):  # an error path too: the message names the field, not the text
            stub.Rerank(pb.RerankRequest(query=SECRET_TEXT, candidates=[pb.Candidate(text=" ")]), timeout=30,
                        metadata=metadata)
    http_call(token_server, "POST", "/v1/rerank", {"query": "q", "documents": [SECRET_TEXT]},
              {"Authorization": f"Bearer {TOKEN}"})
    http_call(token_server, "POST", "/v1/rerank", {"query": SECRET_TEXT, "documents": [" "]},
              {"Authorization": "Bearer wrong-token-value"})
    logged = caplog.text
    assert SECRET_TEXT not in logged and TOKEN not in logged and "wrong-token-value" not in logged
