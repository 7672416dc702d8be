"""deploy/kubernetes: every manifest passes the Kubernetes schemas (kubernetes-validate, offline),
the kustomize base renders (kubectl kustomize), and each role's probes, ports and termination grace
agree with what the role really serves, read through the same settings module the role reads its
environment with."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from wamesh.gateway.app import HTTP_GRACE_S
from wamesh.gateway.grpc_front import GRPC_GRACE_S as GATEWAY_GRPC_GRACE_S
from wamesh.gateway.rest.ops import OPERATIONS
from wamesh.session.worker import GRPC_GRACE_S as WORKER_GRPC_GRACE_S
from wamesh.settings import Settings
from wamesh.webhooks.worker import SHUTDOWN_WAIT_S

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
KUSTOMIZATIONS = ("base", "pool", "databases")
K8S_VERSION = "1.37.0"
# What a session worker may spend between SIGTERM and its gRPC stop: closing Chromium and
# writing the auth state to PostgreSQL (session/worker.py, "Stop, on SIGTERM/SIGINT").
SESSION_STOP_BUDGET_S = 30.0
POD_IP = "10.1.2.3"  # a stand-in for status.podIP; nothing connects to it


@functools.cache
def _render(name: str) -> tuple[dict[str, Any], ...]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise RuntimeError(
            "kubectl (with its built-in kustomize v5) is needed: it comes with this project's "
            "machine image; elsewhere install it from Kubernetes' own package repository "
            "(Debian's kubernetes-client 1.20 is too old for `labels:`)"
        )
    done = subprocess.run(
        [kubectl, "kustomize", str(KUBE / name)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return tuple(d for d in yaml.safe_load_all(done.stdout) if d)


def _find(docs: tuple[dict[str, Any], ...], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def _pod(workload: dict[str, Any]) -> dict[str, Any]:
    spec = workload["spec"]["template"]["spec"]
    assert isinstance(spec, dict)
    return spec


def _settings(docs: tuple[dict[str, Any], ...], container: dict[str, Any]) -> Settings:
    """The container's environment as the pod would get it, read by wamesh.settings."""
    env: dict[str, str] = {}
    secret = yaml.safe_load((KUBE / "secret.example.yaml").read_text())
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env |= _find(docs, "ConfigMap", source["configMapRef"]["name"])["data"]
        else:
            assert source["secretRef"]["name"] == secret["metadata"]["name"]
            env |= secret["stringData"]
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            assert item["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
            env[item["name"]] = POD_IP
    return Settings.from_env(env)


class TestSchemas:
    """Every manifest is valid for Kubernetes 1.37, strictly (no unknown fields)."""

    @pytest.mark.parametrize("name", KUSTOMIZATIONS)
    def test_rendered_kustomization_is_valid(self, name: str) -> None:
        docs = _render(name)
        assert docs
        for doc in docs:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)

    @pytest.mark.parametrize(
        "path",
        sorted(p.relative_to(KUBE) for p in KUBE.rglob("*.yaml") if p.name != "kustomization.yaml"),
    )
    def test_every_manifest_file_is_valid(self, path: Path) -> None:
        for doc in yaml.safe_load_all((KUBE / path).read_text()):
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)

    def test_an_invalid_manifest_is_refused(self) -> None:
        doc = yaml.safe_load((KUBE / "base" / "config.yaml").read_text())
        doc["data"] = {"WAMESH_LOG_LEVEL": 1}
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


class TestBase:
    """The base holds every role, each wired to what the role serves."""

    def test_every_role_is_there_from_one_secret(self) -> None:
        docs = _render("base")
        kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
        assert {
            ("Job", "wamesh-migrate"),
            ("Deployment", "gateway"),
            ("Service", "gateway"),
            ("Deployment", "webhook-worker"),
            ("StatefulSet", "session"),
            ("Service", "session"),
            ("ConfigMap", "wamesh"),
            ("ConfigMap", "wamesh-lines"),
        } == kinds
        assert ("Secret", "wamesh") not in kinds  # created by the operator, never committed
        for doc in docs:
            if doc["kind"] in {"Job", "Deployment", "StatefulSet"}:
                pod = _pod(doc)
                assert pod["enableServiceLinks"] is False  # no SERVICE_* variables in env
                assert pod["securityContext"]["runAsNonRoot"] is True
                for c in pod["containers"]:
                    refs = [s.get("secretRef", {}).get("name") for s in c["envFrom"]]
                    assert "wamesh" in refs
                    assert c["image"].startswith("ghcr.io/")
                    assert c["image"] == c["image"].lower()
                    assert c["resources"]["requests"]["memory"]
                    assert c["resources"]["limits"]["memory"]

    def test_gateway_probes_its_health_endpoints_on_its_port(self) -> None:
        docs = _render("base")
        pod = _pod(_find(docs, "Deployment", "gateway"))
        (container,) = pod["containers"]
        settings = _settings(docs, container)
        paths = {op.path for op in OPERATIONS}
        ready, live = container["readinessProbe"]["httpGet"], container["livenessProbe"]["httpGet"]
        assert (ready["path"], live["path"]) == ("/readyz", "/healthz")
        assert {ready["path"], live["path"]} <= paths
        assert ready["port"] == live["port"] == settings.gateway_http_port
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": settings.gateway_http_port, "grpc": settings.gateway_grpc_port}
        service = _find(docs, "Service", "gateway")
        assert {p["targetPort"] for p in service["spec"]["ports"]} == {"http", "grpc"}

    def test_gateway_grace_covers_its_stop_order(self) -> None:
        docs = _render("base")
        pod = _pod(_find(docs, "Deployment", "gateway"))
        (container,) = pod["containers"]
        pre_stop = float(container["lifecycle"]["preStop"]["exec"]["command"][-1])
        needed = pre_stop + HTTP_GRACE_S + GATEWAY_GRPC_GRACE_S
        assert pod["terminationGracePeriodSeconds"] > needed

    def test_session_worker_probes_its_grpc_port(self) -> None:
        docs = _render("base")
        pod = _pod(_find(docs, "StatefulSet", "session"))
        (container,) = pod["containers"]
        settings = _settings(docs, container)
        port = settings.worker_grpc_port
        assert port != 0  # a probe needs a fixed port
        assert container["readinessProbe"]["grpc"]["port"] == port
        assert container["livenessProbe"]["tcpSocket"]["port"] == port
        assert container["ports"] == [{"name": "grpc", "containerPort": port}]
        assert settings.advertise_host == POD_IP
        assert settings.grpc_bind_host == "0.0.0.0"
        assert settings.mesh_token  # a worker bound beyond loopback needs it
        assert settings.browser_sandbox == "off"  # runAsUser 65534 and no user namespaces

    def test_session_worker_grace_covers_its_stop_order(self) -> None:
        docs = _render("base")
        pod = _pod(_find(docs, "StatefulSet", "session"))
        assert pod["terminationGracePeriodSeconds"] >= WORKER_GRPC_GRACE_S + SESSION_STOP_BUDGET_S

    def test_session_worker_reads_its_line_from_the_lines_configmap(self) -> None:
        docs = _render("base")
        pod = _pod(_find(docs, "StatefulSet", "session"))
        (container,) = pod["containers"]
        script = container["command"][-1]
        assert 'exec /bin/wamesh-session --id "$(cat "$line")"' in script
        mount = next(m for m in container["volumeMounts"] if m["name"] == "lines")
        assert script.startswith(f"line={mount['mountPath']}/$HOSTNAME")
        volume = next(v for v in pod["volumes"] if v["name"] == "lines")
        assert volume["configMap"]["name"] == "wamesh-lines"

    def test_webhook_worker_grace_covers_its_shutdown_wait(self) -> None:
        docs = _render("base")
        pod = _pod(_find(docs, "Deployment", "webhook-worker"))
        (container,) = pod["containers"]
        _settings(docs, container)  # its environment is valid
        assert "readinessProbe" not in container  # it serves no port (README says so)
        assert pod["terminationGracePeriodSeconds"] > SHUTDOWN_WAIT_S

    def test_migrate_job_runs_the_migrations(self) -> None:
        docs = _render("base")
        job = _find(docs, "Job", "wamesh-migrate")
        (container,) = _pod(job)["containers"]
        assert container["command"] == ["/bin/wamesh-migrate"]
        assert _settings(docs, container).database_url


class TestPool:
    """The pool overlay swaps the pinned StatefulSet for a `--pool` Deployment."""

    def test_pool_replaces_the_statefulset(self) -> None:
        docs = _render("pool")
        kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
        assert ("StatefulSet", "session") not in kinds
        assert ("ConfigMap", "wamesh-lines") not in kinds
        pool = _find(docs, "Deployment", "session-pool")
        (container,) = _pod(pool)["containers"]
        assert container["command"] == ["/bin/wamesh-session", "--pool"]
        base = _pod(_find(_render("base"), "StatefulSet", "session"))["containers"][0]
        for key in ("readinessProbe", "livenessProbe", "resources", "ports", "env"):
            assert container[key] == base[key], key
