"""The simulator's command line, shared by `python -m demo` and `manage.py simulate_mesh`."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from demo.faults import FaultError, FaultTable
from demo.server import MeshServer
from demo.simulator import Simulator
from demo.topologies import TOPOLOGIES, TopologyError, select

FAULT_HELP = (
    "inject a fault at start (repeatable): SRC:DST=RATE[:CODE[:FLAGS]] for an edge or "
    "NODE=RATE[:CODE[:FLAGS]] for every request into a workload or app; RATE is 0..1 or "
    "a percentage, e.g. reviews-v2:ratings=0.3:503 or cartservice=10%%"
)


class DemoError(Exception):
    """A problem to report in one line, without a traceback."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--topology", default="bookinfo,boutique",
        help=f"comma-separated topologies to simulate, of {', '.join(TOPOLOGIES)} "
        "(default: both)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=9101, help="port to listen on")
    parser.add_argument("--fault", action="append", default=[], metavar="SPEC", help=FAULT_HELP)
    parser.add_argument(
        "--cluster", default="Kubernetes",
        help="the cluster name in source_cluster/destination_cluster (default: Kubernetes)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed the randomness")
    parser.add_argument(
        "--interval", type=float, default=1.0, help="seconds between traffic ticks (default: 1)"
    )


def build(options: dict[str, Any]) -> MeshServer:
    """The server for parsed options; raises DemoError on a bad topology, fault or port."""
    try:
        mesh = select(options["topology"])
        table = FaultTable(mesh)
        for spec in options.get("fault") or []:
            table.set(spec)
    except (TopologyError, FaultError) as e:
        raise DemoError(str(e)) from None
    if not options.get("interval", 1.0) > 0:
        raise DemoError("--interval must be a positive number of seconds")
    simulator = Simulator(mesh, table, cluster=options["cluster"], seed=options.get("seed"))
    try:
        return MeshServer(simulator, options["host"], options["port"])
    except OSError as e:
        where = f"{options['host']}:{options['port']}"
        raise DemoError(f"cannot listen on {where}: {e.strerror or e}") from None


def _stop_on_sigterm() -> None:
    # A process manager stops us with SIGTERM; leave through the same path as Ctrl-C.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def serve(server: MeshServer, options: dict[str, Any]) -> None:
    names = ", ".join(t.name for t in server.simulator.mesh.topologies)
    print(f"Simulating {names} on {server.url}/metrics", flush=True)
    for fault in server.simulator.faults.list():
        print(f"Fault: {fault.spec}", flush=True)
    _stop_on_sigterm()
    try:
        server.serve_forever(options.get("interval", 1.0))
    except KeyboardInterrupt:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m demo", description="Serve Istio metrics for a simulated mesh."
    )
    add_arguments(parser)
    options = vars(parser.parse_args(argv))
    try:
        server = build(options)
    except DemoError as e:
        parser.exit(2, f"{parser.prog}: error: {e}\n")
    serve(server, options)
    return 0
