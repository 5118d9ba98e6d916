"""Configuration from the environment: a bad value stops the start and names the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def check(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, text=True,
                          capture_output=True, env={**os.environ, **env}, timeout=60)


@pytest.mark.parametrize(("name", "value"), [
    ("PROMETHEUS_URL", "prometheus:9090"),
    ("REDIS_URL", "http://127.0.0.1:6379"),
    ("MESHLENS_REFRESH_SECONDS", "ten"),
    ("MESHLENS_AUTH", "maybe"),
    ("MESHLENS_REMOTE_READ", "sometimes"),
    ("MESHLENS_BUILD_APART_ABOVE", "-1"),
    ("MESHLENS_BUILD_APART_ABOVE", "10k"),
    ("MESHLENS_TRACE_URL", "http://jaeger:16686/search"),
    ("MESHLENS_TRACE_URL", "jaeger:16686/trace/{trace_id}"),
    ("MESHLENS_PROMETHEUS_PUBLIC_URL", "prometheus.example.com"),
    ("DJANGO_DEBUG", "yes please"),
    ("PROMETHEUS_VERIFY", "perhaps"),
    ("MESHLENS_ACCESSIBLE_NAMESPACES", "bookinfo"),
    ("MESHLENS_QUERY_SCOPE", "mesh_id"),
    ("MESHLENS_QUERY_SCOPE", "mesh-id=mesh1"),
    ("MESHLENS_DEFAULT_DURATION", "forever"),
    ("PROMETHEUS_CA", "/nonexistent/ca.pem"),
    ("MESHLENS_DIALECTS", "istio,nosuchmesh"),
    ("MESHLENS_DIALECTS", ","),
    ("MESHLENS_DIALECTS", "istio,istio"),
    ("MESHLENS_DIALECTS", "auto,istio"),
    ("MESHLENS_TRACES_NAMESPACE", "Not_A_Namespace"),
    ("MESHLENS_TRACES_NAMESPACE", "shop,default"),
])
def test_it_refuses_to_start_with_a_bad_value(name: str, value: str) -> None:
    result = check(**{name: value})
    assert result.returncode != 0
    assert f"Unexpected value {name}=" in result.stderr


def test_it_starts_with_the_defaults() -> None:
    assert check().returncode == 0


def test_it_starts_with_dialects_detected() -> None:
    assert check(MESHLENS_DIALECTS="auto").returncode == 0
