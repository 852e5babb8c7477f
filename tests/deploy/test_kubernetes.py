"""deploy/kubernetes: every manifest valid for a pinned Kubernetes, and consistent with `toolrank serve`.

Schemas come from `kubernetes-validate` (bundled, offline). Rendering: `kubectl kustomize` (or
`kustomize build`) when one is on PATH renders the example overlay and the base with each component;
without either, the base's files (which need no patching) stand in for the rendering in the checks
against the server, and the overlay/components test skips with the reason.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")
kubernetes_validate = pytest.importorskip("kubernetes_validate")

from toolrank.cli import build_parser  # noqa: E402
from toolrank.models.known import find_entry  # noqa: E402
from toolrank.settings import Limits, Settings, settings_from  # noqa: E402

KUBERNETES_VERSION = "1.32"  # the pinned schemas; native gRPC probes GA since 1.27, preStop sleep since 1.30
ROOT = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
BASE = ROOT / "base"
OVERLAY = ROOT / "overlays" / "example"
COMPONENTS = sorted(p for p in (ROOT / "components").iterdir() if (p / "kustomization.yaml").exists())
KUSTOMIZE_KINDS = {"Kustomization", "Component"}
# Custom resources: not in Kubernetes' own schemas.
CUSTOM_KINDS = {("keda.sh/v1alpha1", "ScaledObject")}
ENV_PREFIX = "TOOLRANK_"


def load_all(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def patch_files() -> set[Path]:
    """Files that kustomizations use as patches: partial objects, checked once rendered."""
    out = set()
    for kust in ROOT.rglob("kustomization.yaml"):
        for patch in load_all(kust)[0].get("patches", []):
            if "path" in patch:
                out.add((kust.parent / patch["path"]).resolve())
    return out


def manifest_files() -> list[Path]:
    patches = patch_files()
    return sorted(p for p in ROOT.rglob("*.yaml") if p.name != "kustomization.yaml" and p.resolve() not in patches)


def validate(obj: dict[str, Any], where: str) -> None:
    if (obj["apiVersion"], obj["kind"]) in CUSTOM_KINDS:
        validate_scaled_object(obj, where)
        return
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path)
        pytest.fail(f"{where}: {obj['kind']}/{obj['metadata']['name']} invalid for Kubernetes "
                    f"{KUBERNETES_VERSION} at {path}: {exc.message}")


def validate_scaled_object(obj: dict[str, Any], where: str) -> None:
    """KEDA's CRD schema is not bundled: check the fields KEDA requires and the trigger's metric."""
    spec = obj["spec"]
    assert spec["scaleTargetRef"]["name"], where
    assert set(spec) <= {"scaleTargetRef", "minReplicaCount", "maxReplicaCount", "pollingInterval",
                         "cooldownPeriod", "idleReplicaCount", "initialCooldownPeriod", "triggers",
                         "advanced", "fallback"}, where
    for trigger in spec["triggers"]:
        assert trigger["type"] and isinstance(trigger["metadata"], dict), where
        assert all(isinstance(v, str) for v in trigger["metadata"].values()), f"{where}: metadata values are strings"


# --- the files themselves -------------------------------------------------------------------------


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_manifest_file_validates(path: Path) -> None:
    docs = load_all(path)
    assert docs, f"{path} is empty"
    for obj in docs:
        if obj["kind"] not in KUSTOMIZE_KINDS:
            validate(obj, str(path.relative_to(ROOT)))


def test_every_kustomization_names_existing_files() -> None:
    for kust in ROOT.rglob("kustomization.yaml"):
        spec = load_all(kust)[0]
        assert spec["kind"] in KUSTOMIZE_KINDS, kust
        for ref in [*spec.get("resources", []), *spec.get("components", []),
                    *(p["path"] for p in spec.get("patches", []) if "path" in p)]:
            assert (kust.parent / ref).exists(), f"{kust}: {ref} does not exist"


# --- rendered -------------------------------------------------------------------------------------


def kustomize_command() -> list[str] | None:
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    return None


def render(directory: Path) -> list[dict[str, Any]]:
    command = kustomize_command()
    assert command is not None
    done = subprocess.run([*command, str(directory)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"kustomize {directory}: {done.stderr}"
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def with_component(tmp_path: Path, component: Path) -> Path:
    """A throwaway kustomization: the base plus one component."""
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [os.path.relpath(BASE, tmp_path)], "components": [os.path.relpath(component, tmp_path)]}))
    return tmp_path


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """The example overlay and the base with each component, rendered once for the module.

    Without kubectl or kustomize: the base's own files as they are (the base has no patches), so the
    checks against `toolrank serve` still run; the overlay and the components are then not rendered.
    """
    if kustomize_command() is None:
        base = load_all(BASE / "kustomization.yaml")[0]
        return {"base (files; no kustomize on PATH)": [o for f in base["resources"] for o in load_all(BASE / f)]}
    out = {"overlays/example": render(OVERLAY)}
    for component in COMPONENTS:
        sub = tmp_path_factory.mktemp(component.name)
        out[f"base + components/{component.name}"] = render(with_component(sub, component))
    return out


def test_rendered_objects_validate(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for name, objects in rendered.items():
        kinds = {o["kind"] for o in objects}
        assert {"Deployment", "Service", "ConfigMap", "NetworkPolicy", "PodDisruptionBudget"} <= kinds, name
        for obj in objects:
            validate(obj, name)


def test_components_do_what_they_say(rendered: dict[str, list[dict[str, Any]]]) -> None:
    if kustomize_command() is None:
        pytest.skip("neither kubectl nor kustomize on PATH: the overlay and the components are not rendered "
                    "(their files are validated one by one, the base is checked against the server)")
    example = rendered["overlays/example"]
    assert {o["metadata"].get("namespace") for o in example if o["kind"] != "Namespace"} == {"toolrank"}
    assert by_kind(example, "StatefulSet")["metadata"]["name"] == "toolrank-redis"
    assert by_kind(example, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"].startswith(
        "registry.example.com/toolrank:")
    keda = rendered["base + components/keda"]
    assert not [o for o in keda if o["kind"] == "HorizontalPodAutoscaler"], "KEDA owns the HPA: the base's must go"
    assert by_kind(keda, "ScaledObject")["spec"]["scaleTargetRef"]["name"] == by_kind(keda, "Deployment")["metadata"]["name"]
    pulled = by_kind(rendered["base + components/pulled-model"], "Deployment")["spec"]["template"]["spec"]
    assert [c["name"] for c in pulled["initContainers"]] == ["pull-model"]
    tls = by_kind(rendered["base + components/tls"], "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert all("grpc" not in tls[p] and tls[p]["httpGet"]["scheme"] == "HTTPS"
               for p in ("startupProbe", "readinessProbe", "livenessProbe")), "gRPC probes cannot speak TLS"


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


# --- consistent with `toolrank serve` ---------------------------------------------------------------


SETTING_NAMES = {ENV_PREFIX + f.name.upper() for f in fields(Settings) if f.name not in ("models", "limits")} | {
    ENV_PREFIX + f.name.upper() for f in fields(Limits)} | {ENV_PREFIX + "MODEL"}


# What the Secrets made out of band (overlays/example says how; none is shipped) hold, for the checks below.
OUT_OF_BAND_SECRETS = {"toolrank-secrets": {"auth-tokens": "9f86d081884c7d65,2c26b46b68ffc68f",
                                            "store-url": "redis://:9f86d081884c7d65@redis.example:6379/0"},
                       "toolrank-redis": {"password": "60303ae22b998861bce3b28f33eec1be"}}


def container_env(objects: list[dict[str, Any]], container: dict[str, Any]) -> dict[str, str]:
    """The container's environment as the pod would see it (ConfigMaps, Secrets and $(VAR) resolved)."""
    maps = {o["metadata"]["name"]: o.get("data", {}) for o in objects if o["kind"] == "ConfigMap"}
    secrets = {**OUT_OF_BAND_SECRETS, **{o["metadata"]["name"]: o.get("stringData", {}) for o in objects
                                         if o["kind"] == "Secret"}}
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(maps[source["configMapRef"]["name"]])
    for var in container.get("env", []):
        if "value" in var:  # the kubelet expands $(NAME) of variables defined before this one
            env[var["name"]] = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)),
                                      var["value"])
        else:
            ref = var["valueFrom"]["secretKeyRef"]
            assert ref["key"] in secrets[ref["name"]], f"{var['name']}: no key {ref['key']} in Secret {ref['name']}"
            env[var["name"]] = secrets[ref["name"]][ref["key"]]
    return env


def parse_command(argv: list[str]) -> argparse.Namespace:
    assert argv[0] == "toolrank", argv
    try:
        return build_parser().parse_args(argv[1:])
    except SystemExit:
        pytest.fail(f"`{' '.join(argv)}` is not accepted by the toolrank CLI")


def test_manifests_match_what_toolrank_serve_accepts(rendered: dict[str, list[dict[str, Any]]]) -> None:
    from toolrank.api.grpc_server import SERVICE_NAME

    for name, objects in rendered.items():
        deployment = by_kind(objects, "Deployment")
        pod = deployment["spec"]["template"]["spec"]
        (server,) = [c for c in pod["containers"] if c["name"] == "toolrank"]
        args = parse_command([*server["command"], *server.get("args", [])])
        assert args.command == "serve", name
        env = container_env(objects, server)
        unknown = sorted(k for k in env if k.startswith(ENV_PREFIX) and k not in SETTING_NAMES)
        assert not unknown, f"{name}: `toolrank serve` reads no such setting: {unknown}"
        settings = settings_from({}, env=env)  # every value parses as its field's type
        assert settings.host == "0.0.0.0", f"{name}: the server must listen on the pod's address"
        for model in env.get(ENV_PREFIX + "MODEL", "").split(","):
            if model:
                find_entry(model)  # a name `toolrank models` knows (raises UnknownModel otherwise)

        ports = {p["name"]: p["containerPort"] for p in server["ports"]}
        assert ports["grpc"] == settings.port, name
        assert ports["http"] == settings.http_port, f"{name}: probes and /metrics need the HTTP port on"
        for probe_name in ("startupProbe", "readinessProbe", "livenessProbe"):
            probe = server[probe_name]
            if "grpc" in probe:
                assert probe["grpc"]["port"] == settings.port, f"{name}: {probe_name}"
                assert probe["grpc"].get("service", "") in ("", SERVICE_NAME), f"{name}: {probe_name}"
            else:
                assert probe["httpGet"]["port"] in ("http", settings.http_port) and probe["httpGet"]["path"] == "/health"
        # TLS flags point at the mounted Secret; a TLS server cannot be probed by a plain gRPC probe.
        if args.tls_cert_file:
            mounts = [m["mountPath"] for m in server["volumeMounts"]]
            assert any(args.tls_cert_file.startswith(m + "/") for m in mounts), name
            assert all("grpc" not in server[p] for p in ("startupProbe", "readinessProbe", "livenessProbe")), name

        # Threads match the CPU limit (onnxruntime would otherwise size itself by the node's cores).
        assert settings.threads == int(server["resources"]["limits"]["cpu"]), name
        # The drain finishes within the grace period: preStop sleep + --grace-s + a margin to stop.
        pre_stop = server["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert pre_stop + settings.grace_s + 5 <= pod["terminationGracePeriodSeconds"], name
        # A read-only root: everything the server writes is on a volume.
        assert server["securityContext"]["readOnlyRootFilesystem"] is True
        assert pod["securityContext"]["runAsNonRoot"] and isinstance(pod["securityContext"]["runAsUser"], int)
        mounts = {m["mountPath"] for m in server["volumeMounts"]}
        assert "/tmp" in mounts and env["HOME"] in mounts and settings.cache_dir in mounts, name
        volumes = {v["name"] for v in pod["volumes"]}
        for container in [*pod["containers"], *pod.get("initContainers", [])]:
            assert {m["name"] for m in container.get("volumeMounts", [])} <= volumes, name

        for init in pod.get("initContainers", []):
            pulled = parse_command(init["command"] + init.get("args", []))
            assert (pulled.command, pulled.models_command) == ("models", "pull"), name
            init_env = {e["name"]: e["value"] for e in init.get("env", [])}
            assert init_env[ENV_PREFIX + "CACHE_DIR"] == settings.cache_dir, f"{name}: pulled where the server looks"
            find_entry(pulled.name)

        # Services reach the container's named ports and select the server's pods.
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        for service in (o for o in objects if o["kind"] == "Service" and o["metadata"]["name"].startswith("toolrank-")
                        and o["metadata"]["name"] != "toolrank-redis"):
            assert service["spec"]["selector"].items() <= labels.items(), service["metadata"]["name"]
            for port in service["spec"]["ports"]:
                assert port["targetPort"] in ports, f"{service['metadata']['name']}: no container port {port['targetPort']}"
        headless = [o for o in objects if o["kind"] == "Service" and o["spec"].get("clusterIP") == "None"]
        assert [p["port"] for h in headless for p in h["spec"]["ports"]] == [settings.port], \
            f"{name}: one headless Service for gRPC client-side balancing"


def test_keda_metric_exists() -> None:
    """The ScaledObject's query names a metric the server exports (and the docs document)."""
    spec = load_all(ROOT / "components" / "keda" / "scaledobject.yaml")[0]["spec"]
    (prometheus,) = [t for t in spec["triggers"] if t["type"] == "prometheus"]
    names = set(re.findall(r"\b(toolrank_[a-z_]+)", prometheus["metadata"]["query"]))
    assert names == {"toolrank_queued_tokens"}
    package = Path(__file__).resolve().parents[2] / "server" / "toolrank"
    source = "".join(p.read_text() for p in package.rglob("*.py"))
    readme = "".join(p.read_text() for p in (package.parents[1] / "docs").glob("*.md"))  # the documentation
    for metric in names:
        assert f'"{metric}"' in source and metric in readme
