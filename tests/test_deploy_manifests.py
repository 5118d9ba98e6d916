"""The image and the Kubernetes manifests under deploy/: they parse, run the processes a
production Meshlens needs (web, workers, one beat), and name only settings that
dashboard/settings.py reads, with values it accepts."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = ROOT / "deploy" / "kubernetes"
# Every way settings.py reads a variable: os.getenv("X", ...), envbool("X", ...), ...
READ = re.compile(r'\b(?:os\.getenv|env\w*|database)\(\s*"([A-Z][A-Z0-9_]*)"')


def settings_read() -> set[str]:
    return set(READ.findall((ROOT / "dashboard" / "settings.py").read_text()))


def documents() -> dict[tuple[str, str], dict[str, Any]]:
    """Every object of the manifests (the Secret's example included), by kind and name."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") != "Kustomization":
                assert {"apiVersion", "kind", "metadata"} <= doc.keys(), path
                found[doc["kind"], doc["metadata"]["name"]] = doc
    return found


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc["spec"]["template"]["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def test_it_lists_every_manifest_in_the_kustomization() -> None:
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in MANIFESTS.glob("*.yaml")} - {
        "kustomization.yaml", "secret.example.yaml"}


def test_it_runs_web_workers_and_one_beat() -> None:
    docs = documents()
    web = docs["Deployment", "meshlens-web"]
    assert containers(web)[-1]["ports"][0]["containerPort"] == 8000
    service = docs["Service", "meshlens"]
    assert service["spec"]["selector"] == web["spec"]["selector"]["matchLabels"]
    assert "worker" in containers(docs["Deployment", "meshlens-worker"])[0]["command"]
    beat = docs["Deployment", "meshlens-beat"]
    assert "beat" in containers(beat)[0]["command"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"
    assert ("Deployment", "meshlens-redis") in docs


def test_it_reads_an_istio_installs_prometheus() -> None:
    config = documents()["ConfigMap", "meshlens-config"]["data"]
    assert config["PROMETHEUS_URL"] == "http://prometheus.istio-system:9090"
    assert config["REDIS_URL"] == "redis://meshlens-redis:6379/0"


def test_it_names_only_settings_that_exist() -> None:
    docs = documents()
    named = set(docs["ConfigMap", "meshlens-config"]["data"])
    named |= set(docs["Secret", "meshlens-secrets"]["stringData"])
    for doc in docs.values():
        if doc["kind"] == "Deployment" and doc["metadata"]["name"] != "meshlens-redis":
            for container in containers(doc):
                named |= {e["name"] for e in container.get("env", [])}
                refs = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
                assert refs == {"meshlens-config", "meshlens-secrets"}
    assert named - settings_read() == set()
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert set(re.findall(r"\b(MESHLENS_[A-Z_]+)=", dockerfile)) <= settings_read()


def test_it_starts_with_the_configmaps_values_and_passes_the_deploy_check() -> None:
    config = documents()["ConfigMap", "meshlens-config"]["data"]
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("MESHLENS_", "DJANGO_", "PROMETHEUS_", "REDIS_"))}
    env = clean | config | {"DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy",
                             "--fail-level", "WARNING"], cwd=ROOT, text=True,
                            capture_output=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr


def test_it_builds_an_image_that_runs_daphne_as_a_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.\d+-slim-bookworm$", dockerfile, re.M)
    assert re.search(r"^USER 10001$", dockerfile, re.M)
    assert '"daphne"' in dockerfile.splitlines()[-1]


def test_it_compiles_every_graph_pyx_into_the_image() -> None:
    """graph/*.pyx is compiled after the code is copied, and every module of it is imported,
    as `make setup` does: a build needs the JSON writer's, and without the decoder
    MESHLENS_REMOTE_READ=auto falls back to PromQL."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = dockerfile.index("COPY graph graph")
    compiled = dockerfile.index("cythonize --inplace")
    assert copied < compiled < dockerfile.index("USER 10001")
    assert "import_module('graph.' + p.stem) for p in pathlib.Path('graph').glob('*.pyx')" in (
        dockerfile)
