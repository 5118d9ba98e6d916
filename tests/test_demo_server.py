"""The simulator over HTTP: a scrape target for Prometheus, and a fault control endpoint."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from demo import fault
from demo.faults import FaultTable
from demo.server import MeshServer
from demo.simulator import Simulator
from demo.topologies import select

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(url: str) -> list[Sample]:
    """The istio_requests_total samples (the histograms are most of the text)."""
    response = requests.get(f"{url}/metrics", timeout=5)
    response.raise_for_status()
    lines = [line for line in response.text.splitlines() if "istio_requests_total" in line]
    families = text_string_to_metric_families("\n".join(lines) + "\n")
    return [s for f in families for s in f.samples if s.name == "istio_requests_total"]


def count(samples: list[Sample], **labels: str) -> float:
    return sum(s.value for s in samples if s.labels.items() >= labels.items())


def start(topology: str) -> MeshServer:
    mesh = select(topology)
    return MeshServer(Simulator(mesh, FaultTable(mesh), seed=3), "127.0.0.1", 0).start(0.05)


@pytest.fixture
def server() -> Iterator[MeshServer]:
    """Bookinfo alone: a tenth of the series, so scrapes parse quickly."""
    started = start("bookinfo")
    yield started
    started.stop()


@pytest.fixture(scope="module")
def whole_mesh() -> Iterator[MeshServer]:
    started = start("bookinfo,boutique")
    yield started
    started.stop()


def test_it_serves_istio_metrics_in_the_prometheus_text_format(whole_mesh: MeshServer) -> None:
    response = requests.get(f"{whole_mesh.url}/metrics", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    names = {f.name for f in text_string_to_metric_families(response.text)}
    assert names >= {
        "istio_requests", "istio_request_duration_milliseconds", "istio_request_bytes",
        "istio_response_bytes", "istio_request_messages", "istio_response_messages",
        "istio_tcp_sent_bytes", "istio_tcp_received_bytes", "istio_tcp_connections_opened",
        "istio_tcp_connections_closed",
    }


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_it_keeps_counting_between_scrapes(server: MeshServer) -> None:
    before = count(scrape(server.url), destination_workload="productpage-v1")
    assert eventually(
        lambda: count(scrape(server.url), destination_workload="productpage-v1") > before
    )


def test_it_sets_lists_and_clears_faults(server: MeshServer) -> None:
    """reviews-v2 -> ratings (all 503), then healthy again"""
    url = f"{server.url}/faults"
    created = requests.post(url, json={"spec": "reviews-v2:ratings=1:503"}, timeout=5)
    assert created.status_code == 200
    assert created.json()["edges"] == ["reviews-v2:ratings-v1"]
    assert [f["spec"] for f in requests.get(url, timeout=5).json()] == [
        "reviews-v2:ratings=1:503"
    ]
    failing = {"destination_workload": "ratings-v1", "response_code": "503"}
    edge_of = {"source_workload": "reviews-v2", "destination_workload": "ratings-v1"}

    def ticked() -> None:
        served = count(scrape(server.url), **edge_of)
        assert eventually(lambda: count(scrape(server.url), **edge_of) > served)

    assert eventually(lambda: count(scrape(server.url), source_workload="reviews-v2",
                                    **failing) > 0)
    assert count(scrape(server.url), source_workload="reviews-v3", **failing) == 0

    cleared = requests.delete(url, params={"edge": "reviews-v2:ratings-v1"}, timeout=5)
    assert cleared.status_code == 200
    assert [f["target"] for f in cleared.json()["cleared"]] == ["reviews-v2:ratings"]
    assert requests.get(url, timeout=5).json() == []
    # Wait for the simulator to tick, not for a while: a tick under way at the clear may
    # still fail requests (the first growth seen may be its own); the one after it (ticks
    # run one after another) began cleared.
    ticked()
    ticked()
    errors = count(scrape(server.url), **failing)
    ticked()
    assert count(scrape(server.url), **failing) == errors


def test_it_takes_a_fault_in_parts(server: MeshServer) -> None:
    body: dict[str, Any] = {"target": "ratings", "rate": "25%", "code": 500}
    response = requests.post(f"{server.url}/faults", json=body, timeout=5)
    assert response.status_code == 200
    assert response.json()["spec"] == "ratings=0.25:500"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"spec": "reviews-v2:ratings=2"}, "out of range"),
        ({"spec": "nosuch=0.1"}, "unknown workload or app 'nosuch'"),
        ({"target": "ratings"}, 'give "spec", or "target" and "rate"'),
        (["ratings=0.1"], "must be a JSON object"),
    ],
)
def test_it_rejects_bad_faults_with_400(server: MeshServer, body: Any, problem: str) -> None:
    response = requests.post(f"{server.url}/faults", json=body, timeout=5)
    assert response.status_code == 400
    assert problem in response.json()["error"]


def test_it_rejects_a_body_that_is_not_json(server: MeshServer) -> None:
    response = requests.post(f"{server.url}/faults", data=b"ratings=0.1", timeout=5)
    assert response.status_code == 400
    assert "not JSON" in response.json()["error"]


def test_it_says_404_when_there_is_nothing_to_clear(server: MeshServer) -> None:
    response = requests.delete(f"{server.url}/faults", params={"edge": "ratings"}, timeout=5)
    assert response.status_code == 404
    assert "no fault on ratings" in response.json()["error"]
    everything = requests.delete(f"{server.url}/faults", timeout=5)
    assert everything.json() == {"cleared": []}


def test_it_says_404_for_other_paths(server: MeshServer) -> None:
    response = requests.get(f"{server.url}/graph", timeout=5)
    assert response.status_code == 404
    assert "/metrics" in response.json()["error"]


def test_it_changes_faults_from_the_client(server: MeshServer) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    out = fault.run("127.0.0.1", port, "set", "reviews-v2:ratings=0.3:503")
    assert out == "set reviews-v2:ratings=0.3:503  (edges: reviews-v2:ratings-v1)"
    assert fault.run("127.0.0.1", port, "list", None).startswith("reviews-v2:ratings=0.3:503")
    assert fault.run("127.0.0.1", port, "clear", "reviews-v2:ratings").startswith("cleared")
    assert fault.run("127.0.0.1", port, "list", None) == "no faults"


def test_it_exits_2_from_the_client_on_a_bad_spec(
    server: MeshServer, capsys: pytest.CaptureFixture[str]
) -> None:
    port = server.url.rsplit(":", 1)[1]
    with pytest.raises(SystemExit) as exit:
        fault.main(["--port", port, "set", "reviews-v2:ratings=1.5"])
    assert exit.value.code == 2
    assert "out of range" in capsys.readouterr().err


def test_it_exits_1_from_the_client_when_no_simulator_listens() -> None:
    with pytest.raises(fault.ClientError, match="cannot reach the simulator") as error:
        fault.run("127.0.0.1", free_port(), "list", None)
    assert error.value.status == 1


def run_demo(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "demo", *args], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def test_it_runs_from_the_command_line_with_faults() -> None:
    port = free_port()
    process = run_demo("--topology", "bookinfo", "--port", str(port),
                       "--fault", "reviews-v2:ratings=1:503")
    try:
        assert process.stdout is not None
        assert "bookinfo" in process.stdout.readline()
        samples = scrape(f"http://127.0.0.1:{port}")
        assert not count(samples, destination_workload="frontend")
        faults = requests.get(f"http://127.0.0.1:{port}/faults", timeout=5).json()
        assert [f["spec"] for f in faults] == ["reviews-v2:ratings=1:503"]
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0


def test_it_exits_2_on_a_bad_fault_without_a_traceback() -> None:
    process = run_demo("--port", str(free_port()), "--fault", "reviews-v2:ratngs=0.3")
    _, err = process.communicate(timeout=10)
    assert process.returncode == 2
    assert "unknown workload or app 'ratngs'" in err
    assert "Traceback" not in err


def test_it_does_not_import_django() -> None:
    code = "import sys, demo.cli, demo.fault; assert 'django' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_it_wraps_the_cli_in_manage_py_commands() -> None:
    from django.core.management.base import CommandError

    from dashboard.management.commands import mesh_fault, simulate_mesh

    command = simulate_mesh.Command()
    parser = command.create_parser("manage.py", "simulate_mesh")
    options = vars(parser.parse_args(["--port", "0", "--fault", "nosuch=0.1"]))
    with pytest.raises(CommandError, match="unknown workload") as error:
        command.handle(**options)
    assert error.value.returncode == 2

    command = mesh_fault.Command()
    parser = command.create_parser("manage.py", "mesh_fault")
    options = vars(parser.parse_args(["--port", str(free_port()), "list"]))
    with pytest.raises(CommandError, match="cannot reach") as error:
        command.handle(**options)
    assert error.value.returncode == 1
