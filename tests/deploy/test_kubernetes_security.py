"""deploy/kubernetes security defaults (issue 20, item 8): a NetworkPolicy in the base, no Secret shipped as
configuration, the in-cluster Redis behind a password from a Secret (carried into the store URL by the
kubelet's $(VAR) expansion), and a memory policy that never evicts catalog data.

Rendered with `kubectl kustomize` (or `kustomize build`), validated offline with kubernetes-validate; the
policies are then evaluated as Kubernetes would (label selectors, named ports). The Redis container's own
command is run against a local redis-server, and a real catalog store is opened through the rendered URL.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")
kubernetes_validate = pytest.importorskip("kubernetes_validate")

ROOT = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
BASE, OVERLAY, COMPONENTS = ROOT / "base", ROOT / "overlays" / "example", ROOT / "components"
KUBERNETES_VERSION = "1.32"
TINY_BI = ("tiny-bi", str(Path(__file__).resolve().parents[1] / "models" / "tiny-bert-bi"))
CLIENT_LABEL = "toolrank.io/client"


def kustomize() -> list[str]:
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    pytest.skip("neither kubectl nor kustomize on PATH: the manifests cannot be rendered")


def render(directory: Path) -> list[dict[str, Any]]:
    done = subprocess.run([*kustomize(), str(directory)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"kustomize {directory}: {done.stderr}"
    objects = [d for d in yaml.safe_load_all(done.stdout) if d]
    for obj in objects:
        if obj["apiVersion"].startswith("keda.sh/"):
            continue
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    return objects


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    out = {"base": render(BASE), "overlay": render(OVERLAY)}
    for component in sorted(p for p in COMPONENTS.iterdir() if (p / "kustomization.yaml").exists()):
        directory = tmp_path_factory.mktemp(component.name)
        (directory / "kustomization.yaml").write_text(yaml.safe_dump({
            "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "resources": [os.path.relpath(BASE, directory)], "components": [os.path.relpath(component, directory)]}))
        out[f"base + {component.name}"] = render(directory)
    return out


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def container(workload: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in workload["spec"]["template"]["spec"]["containers"] if c["name"] == name)


# --- label selectors and policies, evaluated as Kubernetes does -------------------------------------


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A LabelSelector against labels: every matchLabels pair and every matchExpression must hold."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        ok = {"In": key in labels and labels[key] in values, "NotIn": labels.get(key) not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}[op]
        if not ok:
            return False
    return True


class Pod:
    def __init__(self, labels: dict[str, str], namespace: str = "same", namespace_labels: dict[str, str] | None = None,
                 ports: dict[str, int] | None = None) -> None:
        self.labels, self.namespace, self.namespace_labels = labels, namespace, namespace_labels or {}
        self.ports = ports or {}


def peer_matches(peer: dict[str, Any], pod: Pod) -> bool:
    """One NetworkPolicyPeer (no ipBlock here): a podSelector alone means the policy's own namespace."""
    if "ipBlock" in peer:
        return False
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], pod.namespace_labels):
            return False
    elif pod.namespace != "same":
        return False
    return selects(peer.get("podSelector", {}), pod.labels)


def port_matches(rule_ports: list[dict[str, Any]] | None, port: int, protocol: str, named: dict[str, int]) -> bool:
    if not rule_ports:
        return True
    for p in rule_ports:
        number = named.get(p["port"]) if isinstance(p.get("port"), str) else p.get("port")
        if p.get("protocol", "TCP") == protocol and (p.get("port") is None or number == port):
            return True
    return False


def policies_for(objects: list[dict[str, Any]], pod_labels: dict[str, str], kind: str) -> list[dict[str, Any]]:
    return [p for p in objects if p["kind"] == "NetworkPolicy" and kind in p["spec"].get("policyTypes", [])
            and selects(p["spec"]["podSelector"], pod_labels)]


def ingress_allowed(objects: list[dict[str, Any]], target: Pod, source: Pod, port: int, protocol: str = "TCP") -> bool:
    policies = policies_for(objects, target.labels, "Ingress")
    if not policies:
        return True  # not isolated
    return any(port_matches(rule.get("ports"), port, protocol, target.ports)
               and (not rule.get("from") or any(peer_matches(peer, source) for peer in rule["from"]))
               for policy in policies for rule in policy["spec"].get("ingress", []))


def egress_allowed(objects: list[dict[str, Any]], source: Pod, target: Pod | None, port: int,
                   protocol: str = "TCP") -> bool:
    """``target`` None: an address outside the cluster."""
    policies = policies_for(objects, source.labels, "Egress")
    if not policies:
        return True
    for policy in policies:
        for rule in policy["spec"].get("egress", []):
            named = target.ports if target else {}
            if not port_matches(rule.get("ports"), port, protocol, named):
                continue
            if not rule.get("to") or (target is not None and any(peer_matches(peer, target) for peer in rule["to"])):
                return True
    return False


def server_pod(objects: list[dict[str, Any]]) -> Pod:
    deployment = one(objects, "Deployment", "toolrank")
    ports = {p["name"]: p["containerPort"] for p in container(deployment, "toolrank")["ports"]}
    return Pod(deployment["spec"]["template"]["metadata"]["labels"], ports=ports)


def redis_pod(objects: list[dict[str, Any]]) -> Pod:
    redis = one(objects, "StatefulSet", "toolrank-redis")
    ports = {p["name"]: p["containerPort"] for p in container(redis, "redis")["ports"]}
    return Pod(redis["spec"]["template"]["metadata"]["labels"], ports=ports)


def test_the_server_pods_take_connections_from_the_namespace_and_labelled_clients(rendered: dict[str, Any]) -> None:
    for name, objects in rendered.items():
        server = server_pod(objects)
        assert policies_for(objects, server.labels, "Ingress"), f"{name}: the server pods are not isolated"
        for port in (50051, 8080):
            assert ingress_allowed(objects, server, Pod({"app": "agent"}), port), name
            assert ingress_allowed(objects, server, Pod({}), port), f"{name}: any pod of the namespace"
            client = Pod({CLIENT_LABEL: "true", "app": "agent"}, namespace="agents",
                         namespace_labels={"kubernetes.io/metadata.name": "agents"})
            assert ingress_allowed(objects, server, client, port), f"{name}: a labelled client elsewhere"
            stranger = Pod({"app": "agent"}, namespace="other", namespace_labels={"kubernetes.io/metadata.name": "other"})
            assert not ingress_allowed(objects, server, stranger, port), f"{name}: an unlabelled pod elsewhere"
            wrong = Pod({CLIENT_LABEL: "yes"}, namespace="other")
            assert not ingress_allowed(objects, server, wrong, port), name
        assert not ingress_allowed(objects, server, Pod({}), 9090), f"{name}: only the served ports"


def test_the_server_pods_reach_redis_and_dns_only(rendered: dict[str, Any]) -> None:
    redis = redis_pod(rendered["overlay"])  # the component's pods, as they are labelled once rendered
    for name, objects in rendered.items():
        server = server_pod(objects)
        assert policies_for(objects, server.labels, "Egress"), f"{name}: egress is not restricted"
        assert egress_allowed(objects, server, redis, 6379), f"{name}: the in-cluster Redis"
        for protocol in ("UDP", "TCP"):
            assert egress_allowed(objects, server, None, 53, protocol), f"{name}: DNS over {protocol}"
        assert not egress_allowed(objects, server, redis, 6380), name
        assert not egress_allowed(objects, server, Pod({"app": "postgres"}), 5432), name
        assert not egress_allowed(objects, server, None, 80), f"{name}: the internet"
        hub = egress_allowed(objects, server, None, 443)
        assert hub == (name == "base + pulled-model"), f"{name}: HTTPS out only where a model is pulled"


def test_redis_answers_the_server_pods_only(rendered: dict[str, Any]) -> None:
    for name in ("overlay", "base + redis"):
        objects = rendered[name]
        redis, server = redis_pod(objects), server_pod(objects)
        assert ingress_allowed(objects, redis, server, 6379), name
        assert not ingress_allowed(objects, redis, Pod({"app": "debug"}), 6379), f"{name}: another pod of the namespace"
        client = Pod({CLIENT_LABEL: "true"}, namespace="agents")
        assert not ingress_allowed(objects, redis, client, 6379), name
        assert not egress_allowed(objects, redis, None, 53, "UDP") and not egress_allowed(objects, redis, None, 443)


# --- secrets ----------------------------------------------------------------------------------------


def secret_refs(objects: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for obj in objects:
        pod = obj.get("spec", {}).get("template", {}).get("spec", {})
        for c in [*pod.get("containers", []), *pod.get("initContainers", [])]:
            for var in c.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    out.append((ref["name"], ref["key"], ref))
    return out


def test_no_secret_is_shipped(rendered: dict[str, Any]) -> None:
    for name, objects in rendered.items():
        assert not [o for o in objects if o["kind"] == "Secret"], f"{name}: a Secret shipped as configuration"
        refs = secret_refs(objects)
        assert ("toolrank-secrets", "auth-tokens") in {(n, k) for n, k, _ in refs}, name
        assert all(not ref.get("optional") for _, _, ref in refs), f"{name}: a missing Secret must stop the pod"
    for path in ROOT.rglob("*.yaml"):
        kinds = {d.get("kind") for d in yaml.safe_load_all(path.read_text()) if d}
        assert "Secret" not in kinds, f"{path.relative_to(ROOT)} ships a Secret"


def test_the_overlay_says_how_to_create_every_secret_it_needs(rendered: dict[str, Any]) -> None:
    text = (OVERLAY / "kustomization.yaml").read_text()
    made: set[tuple[str, str]] = set()
    for line in text.splitlines():
        create = re.search(r"create secret generic (\S+)(.*)", line)
        if create:
            made |= {(create.group(1), key) for key in re.findall(r"--from-literal=([\w.-]+)=", create.group(2))}
    needed = {(n, k) for n, k, _ in secret_refs(rendered["overlay"])}
    assert needed and needed <= made, f"the overlay's comments do not say how to create {sorted(needed - made)}"


def env_list(c: dict[str, Any]) -> list[dict[str, Any]]:
    return list(c.get("env", []))


def expand(value: str, defined: dict[str, str]) -> str:
    """The kubelet's $(VAR) expansion: only variables defined earlier in the list expand."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: defined.get(m.group(1), m.group(0)), value)


def test_the_store_url_carries_the_redis_password_by_expansion(rendered: dict[str, Any]) -> None:
    for name in ("overlay", "base + redis"):
        objects = rendered[name]
        server = container(one(objects, "Deployment", "toolrank"), "toolrank")
        env = env_list(server)
        names = [v["name"] for v in env]
        password = env[names.index("REDIS_PASSWORD")]
        assert password["valueFrom"]["secretKeyRef"] == {"name": "toolrank-redis", "key": "password"}, name
        store = env[names.index("TOOLRANK_STORE")]
        assert "valueFrom" not in store and "$(REDIS_PASSWORD)" in store["value"], name
        assert names.index("REDIS_PASSWORD") < names.index("TOOLRANK_STORE"), f"{name}: expands only if defined first"
        defined = {"REDIS_PASSWORD": "pw0123"}
        assert expand(store["value"], defined) == "redis://:pw0123@toolrank-redis:6379/0", name
        redis = container(one(objects, "StatefulSet", "toolrank-redis"), "redis")
        redis_refs = {v["name"]: v["valueFrom"]["secretKeyRef"] for v in env_list(redis) if "valueFrom" in v}
        assert redis_refs["REDIS_PASSWORD"] == {"name": "toolrank-redis", "key": "password"}, name
        # The password never goes through the kubelet into argv (visible to `ps`): only the shell reads it.
        argv = " ".join([*redis.get("command", []), *redis.get("args", [])])
        assert "$(REDIS_PASSWORD)" not in argv and "--requirepass" not in argv, name
    # No plain env value anywhere holds a credential.
    for name, objects in rendered.items():
        for obj in objects:
            pod = obj.get("spec", {}).get("template", {}).get("spec", {})
            for c in [*pod.get("containers", []), *pod.get("initContainers", [])]:
                for var in env_list(c):
                    value = var.get("value", "")
                    assert not re.search(r"://[^/@$]*:[^/@$(]+@", value), f"{name}: {var['name']} holds a password"


MEMORY_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "kb": 1024, "mb": 2**20, "gb": 2**30}


def size(text: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([A-Za-z]*)", text).groups()  # type: ignore[union-attr]
    return int(number) * MEMORY_UNITS.get(unit, 1)


def redis_flags(redis: dict[str, Any]) -> dict[str, str]:
    args = redis["args"]
    return {args[i][2:]: args[i + 1] for i in range(0, len(args), 2)}


def test_redis_never_evicts_catalog_data_and_stays_under_its_limit(rendered: dict[str, Any]) -> None:
    redis = container(one(rendered["overlay"], "StatefulSet", "toolrank-redis"), "redis")
    flags = redis_flags(redis)
    assert flags["maxmemory-policy"] == "noeviction"
    limit = size(redis["resources"]["limits"]["memory"])
    maxmemory = size(flags["maxmemory"])
    # Headroom for the append-only file's rewrite (a fork) and buffers: the kernel must never OOM-kill it.
    assert 0 < maxmemory <= limit * 3 // 4, (maxmemory, limit)
    server = container(one(rendered["overlay"], "Deployment", "toolrank"), "toolrank")
    assert maxmemory < size(server["resources"]["limits"]["memory"]), "a replica must be able to load the store"


# --- the Redis container's own command, run ---------------------------------------------------------


def test_the_redis_command_requires_the_password_and_a_store_opens_through_the_url(
        rendered: dict[str, Any], tmp_path: Path) -> None:
    redis_module = pytest.importorskip("redis")
    binary = shutil.which("redis-server")
    if binary is None or shutil.which("sh") is None:
        pytest.skip("no redis-server (or sh) on PATH: cannot run the Redis container's command")
    from redis_helpers import free_port

    objects = rendered["overlay"]
    redis = container(one(objects, "StatefulSet", "toolrank-redis"), "redis")
    password = "0f3c2a9e8b7d6c5f4e3d2c1b0a998877"
    port = free_port()
    argv = [*redis["command"], *redis["args"], "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path),
            "--logfile", str(tmp_path / "redis.log")]
    env = {"PATH": f"{Path(binary).parent}:{os.environ.get('PATH', '')}", "REDIS_PASSWORD": password}
    # An empty password would let any client in: the container stops instead, saying why.
    empty = subprocess.run(argv, env={**env, "REDIS_PASSWORD": ""}, capture_output=True, text=True, timeout=20)
    assert empty.returncode != 0 and "Secret toolrank-redis" in empty.stderr, empty
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"redis://127.0.0.1:{port}/0"
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, (tmp_path / "redis.log").read_text() if (tmp_path / "redis.log").exists() else ""
            try:
                redis_module.Redis.from_url(url, socket_timeout=1).ping()
                pytest.fail("Redis answered without a password")
            except redis_module.exceptions.AuthenticationError:
                break
            except redis_module.exceptions.ConnectionError:
                assert time.monotonic() < deadline, "the Redis container's command did not start redis-server"
                time.sleep(0.05)
        # exec: redis-server is the container's process, and its command line holds no password.
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        assert b"redis-server" in cmdline and password.encode() not in cmdline
        authed = redis_module.Redis.from_url(f"redis://:{password}@127.0.0.1:{port}/0")
        assert authed.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        assert int(authed.config_get("maxmemory")["maxmemory"]) == size(redis_flags(redis)["maxmemory"])

        # The server's store URL, expanded as the kubelet does, opens the store (the host is ours here).
        server = container(one(objects, "Deployment", "toolrank"), "toolrank")
        store_value = next(v["value"] for v in server["env"] if v["name"] == "TOOLRANK_STORE")
        store_url = expand(store_value, {"REDIS_PASSWORD": password}).replace("toolrank-redis:6379",
                                                                             f"127.0.0.1:{port}")
        _put_until_full(store_url, authed)
    finally:
        process.kill()
        process.wait(timeout=10)


def _put_until_full(store_url: str, client: Any) -> None:
    """A catalog goes in; with Redis full a bigger put is refused, and the first catalog stays whole (noeviction)."""
    from toolrank.catalogs import CatalogService, open_store
    from toolrank.catalogs.types import PutCatalogRequest, SelectQuery
    from toolrank.engine.engine import Engine
    from toolrank.errors import ToolrankError
    from toolrank.settings import Settings
    from toolrank.types import Candidate, TextInput

    async def main() -> None:
        settings = Settings(models=(TINY_BI,), threads=1, store=store_url, catalog_refresh_s=0.0)
        async with Engine.from_settings(settings) as engine:
            service = CatalogService(engine, open_store(store_url), settings)
            try:
                first = await service.put(PutCatalogRequest("kept", tuple(
                    Candidate(TextInput(f"tool number {i} does thing {i}"), f"t{i}") for i in range(50))))
                used = int(client.info("memory")["used_memory"])
                client.config_set("maxmemory", used + 256 * 1024)
                big = tuple(Candidate(TextInput(f"{i} " + "filler words " * 200), f"b{i}") for i in range(400))
                with pytest.raises(ToolrankError):
                    await service.put(PutCatalogRequest("big", big))
                fresh = CatalogService(engine, open_store(store_url), settings)
                try:
                    got = await fresh.select(SelectQuery("kept", "does thing 7", top_k=50))
                    assert got.version == first.version and len(got.results) == 50
                    assert got.results[0].id == "t7"
                finally:
                    await fresh.aclose()
            finally:
                await service.aclose()

    asyncio.run(main())
