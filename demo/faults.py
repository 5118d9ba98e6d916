"""Fault specs and the table of faults in force.

A spec names a target and an error rate, with an optional status code and Envoy
response flags:

    reviews-v2:ratings-v1=0.3:503   30 % of the requests on that edge answer 503
    reviews-v2:ratings=30%          the same, naming the destination by app
    cartservice=0.1                 10 % of every request into cartservice fail (gRPC 14)
    ratings=0.5:503:UF              upstream connection failures, seen by the client only

Names are workload names or app names. The code defaults to 503 on HTTP edges and to
gRPC status 14 (UNAVAILABLE, with HTTP 200) on gRPC edges; on a gRPC edge 1-16 is a gRPC
status and an HTTP status is mapped as gRPC does. Code 0 means no response at all.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from demo.topologies import UNKNOWN, Mesh, RequestEdge, Workload

EdgeKey = tuple[str, str]

# Envoy's short response flags (%RESPONSE_FLAGS%), as Istio reports them.
ENVOY_FLAGS = frozenset(
    "UH UF UO NR URX NC DT DC LH UT LR UR UC DI FI RL UAEX RLSE IH SI DPE UPE UMSDR OM DF".split()
)
# Failures before any upstream host answered: the destination proxy never sees them.
UNREACHED_FLAGS = frozenset({"UH", "UF", "UO", "NR", "URX"})
# gRPC's mapping of HTTP statuses (doc/http-grpc-status-mapping.md); others are UNKNOWN.
HTTP_TO_GRPC = {400: 13, 401: 16, 403: 7, 404: 12, 429: 14, 502: 14, 503: 14, 504: 14}
TIMEOUT_MS = 15000.0  # Envoy's default route timeout
_RATE = re.compile(r"^(\d+(\.\d*)?|\.\d+)%?$")


class FaultError(ValueError):
    """A fault spec that cannot be parsed or does not fit the mesh."""


class NoSuchFault(FaultError):
    """Clearing a target that has no fault."""


@dataclass(frozen=True)
class Outcome:
    """How one request ended, in Istio's labels."""

    response_code: str
    grpc_status: str  # "" on HTTP requests
    flags: str = "-"
    reached: bool = True  # whether the destination proxy reports it
    latency_factor: float = 1.0
    latency_ms: float | None = None  # a fixed latency (a timeout) instead of the edge's own


OK_HTTP = Outcome("200", "")
OK_GRPC = Outcome("200", "0")
NOT_FOUND = Outcome("404", "")


def ok(edge: RequestEdge) -> Outcome:
    return OK_GRPC if edge.protocol == "grpc" else OK_HTTP


@dataclass(frozen=True)
class FaultSpec:
    destination: str
    rate: float
    source: str | None = None
    code: int | None = None
    flags: str | None = None

    @property
    def target(self) -> str:
        return f"{self.source}:{self.destination}" if self.source else self.destination

    def __str__(self) -> str:
        code = "" if self.code is None else str(self.code)
        value = ":".join([f"{self.rate:g}", code, self.flags or ""]).rstrip(":")
        return f"{self.target}={value}"


def parse_rate(value: str | float) -> float:
    """`0.3`, `30%` or a number from JSON, as a fraction in 0..1."""
    text = str(value).strip()
    try:
        rate = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise FaultError(
            f"error rate {text!r} is not a number; use a fraction like 0.3 or 30%"
        ) from None
    if math.isnan(rate) or not 0 <= rate <= 1:
        raise FaultError(f"error rate {text!r} is out of range; use 0..1 or 0%..100%")
    return rate


def parse_code(value: str | int) -> int:
    text = str(value).strip()
    if not text.isdigit():
        raise FaultError(f"status code {text!r} is not a whole number; use e.g. 503 or 14")
    code = int(text)
    if code > 599 or 17 <= code < 100 or 200 <= code < 300:
        raise FaultError(
            f"status code {code} is not an error; use an HTTP status 100-599 (not 2xx), "
            "a gRPC status 1-16, or 0 for no response"
        )
    return code


def parse_flags(value: str) -> str:
    flags = [f.strip() for f in value.split(",") if f.strip()]
    unknown = [f for f in flags if f not in ENVOY_FLAGS]
    if not flags or unknown:
        raise FaultError(
            f"unknown response flag {','.join(unknown) or value!r}; "
            f"use Envoy's, e.g. {', '.join(sorted(UNREACHED_FLAGS))}, DC or UT"
        )
    return ",".join(flags)


def make_spec(target: str, rate: str | float, code: str | int | None = None,
              flags: str | None = None) -> FaultSpec:
    """Check the parts of a spec (as given on a command line or in JSON)."""
    target = target.strip()
    source, sep, destination = target.partition(":")
    if not sep:
        source, destination = "", target
    if sep and (not source.strip() or not destination.strip() or ":" in destination):
        raise FaultError(f"target {target!r} is not SRC:DST; use e.g. reviews-v2:ratings")
    if not destination.strip():
        raise FaultError("no target given; use NODE=RATE or SRC:DST=RATE, e.g. ratings=0.3")
    return FaultSpec(
        destination=destination.strip(),
        rate=parse_rate(rate),
        source=source.strip() or None,
        code=None if code is None or code == "" else parse_code(code),
        flags=parse_flags(flags) if flags else None,
    )


def _split_colon_form(text: str) -> tuple[str, str]:
    """`ratings:0.3:503` (the older `NODE:RATE` form): the target ends before the rate."""
    parts = text.split(":")
    for i, part in enumerate(parts[1:], start=1):
        if _RATE.match(part.strip()):
            return ":".join(parts[:i]), ":".join(parts[i:])
    return text, ""


def parse_spec(text: str) -> FaultSpec:
    """Parse `SRC:DST=RATE[:CODE[:FLAGS]]` or `NODE=RATE[:CODE[:FLAGS]]`.

    `NODE:RATE[:CODE]` is accepted too: names never look like numbers.
    """
    target, sep, value = text.partition("=")
    if not sep:
        target, value = _split_colon_form(text)
    if not value.strip():
        raise FaultError(
            f"fault {text!r} has no error rate; use NODE=RATE[:CODE] or SRC:DST=RATE[:CODE], "
            "e.g. reviews-v2:ratings=0.3:503"
        )
    parts = value.split(":")
    if len(parts) > 3:
        raise FaultError(f"fault {text!r} has too many parts after '='; use RATE[:CODE[:FLAGS]]")
    rate, code, flags = (*parts, "", "")[:3]
    return make_spec(target, rate, code, flags)


def outcome_for(spec: FaultSpec, edge: RequestEdge) -> Outcome:
    """The outcome of a failed request on `edge` under `spec`."""
    flags = spec.flags or ("DC" if spec.code == 0 else "-")
    names = set(flags.split(","))
    reached = not names & UNREACHED_FLAGS
    code = spec.code
    if edge.protocol == "grpc":
        if code is None:
            code = 14
        if code <= 16:
            response, grpc = ("0", "") if code == 0 else ("200", str(code))
        else:
            response, grpc = str(code), str(HTTP_TO_GRPC.get(code, 2))
    else:
        if code is None:
            code = 503
        if 0 < code <= 16:
            raise FaultError(
                f"status {code} is a gRPC status, but {edge.source.name} -> "
                f"{edge.destination.name} is HTTP; use an HTTP status such as 503"
            )
        response, grpc = str(code), ""
    if not reached:
        return Outcome(response, grpc, flags, reached=False, latency_factor=0.05)
    if code == 504 or "UT" in names:
        return Outcome(response, grpc, flags, latency_ms=TIMEOUT_MS)
    return Outcome(response, grpc, flags, latency_factor=1.5)


@dataclass(frozen=True)
class Fault:
    spec: FaultSpec
    outcomes: dict[EdgeKey, Outcome]
    serial: int = 0

    @property
    def edges(self) -> frozenset[EdgeKey]:
        return frozenset(self.outcomes)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.spec.target,
            "spec": str(self.spec),
            "rate": self.spec.rate,
            "code": self.spec.code,
            "flags": self.spec.flags,
            "edges": sorted(f"{src}:{dst}" for src, dst in self.outcomes),
        }


def _matches(name: str, workload: Workload) -> bool:
    return name in (workload.name, workload.app)


class FaultTable:
    """The faults in force. Thread-safe: the HTTP server writes, the simulator reads.

    When several faults cover an edge, the one with fewer edges wins (an edge fault
    beats a node fault), then the one set last.
    """

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._serial = 0
        self._active: dict[EdgeKey, tuple[float, Outcome]] = {}

    def known_names(self) -> list[str]:
        workloads = list(self.mesh.workloads) + [e.source for e in self.mesh.requests]
        return sorted({n for w in workloads for n in (w.name, w.app)})

    def _check_name(self, name: str) -> None:
        if name not in self.known_names():
            raise FaultError(
                f"unknown workload or app {name!r}; known: {', '.join(self.known_names())}"
            )

    def resolve(self, spec: FaultSpec | str) -> Fault:
        """The edges a spec covers, with the outcome of a failed request on each."""
        if isinstance(spec, str):
            spec = parse_spec(spec)
        for name in filter(None, (spec.source, spec.destination)):
            self._check_name(name)
        # Idle edges (no traffic) cannot fail: a fault by app name leaves them out.
        edges = [
            e for e in self.mesh.requests
            if e.rate > 0 and _matches(spec.destination, e.destination)
            and (spec.source is None or _matches(spec.source, e.source))
        ]
        if not edges:
            raise FaultError(self._no_edge_message(spec))
        outcomes = {e.key: outcome_for(spec, e) for e in edges}
        if all(e.source is UNKNOWN and not outcomes[e.key].reached for e in edges):
            raise FaultError(
                f"{spec.flags} failures from clients without a sidecar are seen by no proxy; "
                "use a status code instead"
            )
        return Fault(spec, outcomes)

    def _no_edge_message(self, spec: FaultSpec) -> str:
        tcp = [
            e for e in self.mesh.tcp
            if _matches(spec.destination, e.destination)
            and (spec.source is None or _matches(spec.source, e.source))
        ]
        if tcp:
            return (f"{spec.target} carries only TCP traffic; faults apply to HTTP and gRPC "
                    "requests")
        if spec.source is None:
            return f"{spec.destination} receives no requests; name a server, e.g. ratings"
        targets = sorted({
            e.destination.name for e in self.mesh.requests if _matches(spec.source, e.source)
        })
        return (f"no requests go from {spec.source} to {spec.destination}; "
                f"{spec.source} calls: {', '.join(targets) or 'nothing'}")

    def set(self, spec: FaultSpec | str) -> Fault:
        """Put a fault in force, replacing any fault on exactly the same edges."""
        fault = self.resolve(spec)
        with self._lock:
            self._serial += 1
            fault = Fault(fault.spec, fault.outcomes, self._serial)
            self._faults = [f for f in self._faults if f.edges != fault.edges] + [fault]
            self._rebuild()
        return fault

    def clear(self, target: str | None = None) -> list[Fault]:
        """Remove every fault (no target) or the fault on the edges `target` names."""
        if target is None:
            with self._lock:
                removed, self._faults = self._faults, []
                self._rebuild()
            return removed
        spec = make_spec(target.partition("=")[0], 0)
        edges = self.resolve(spec).edges
        with self._lock:
            removed = [f for f in self._faults if f.edges == edges]
            self._faults = [f for f in self._faults if f.edges != edges]
            self._rebuild()
        if not removed:
            current = ", ".join(f.spec.target for f in self.list()) or "none"
            raise NoSuchFault(f"no fault on {target}; faults in force: {current}")
        return removed

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def active(self) -> dict[EdgeKey, tuple[float, Outcome]]:
        """Per faulty edge, its error rate and the outcome of a failed request."""
        with self._lock:
            return self._active

    @contextmanager
    def frozen(self) -> Iterator[dict[EdgeKey, tuple[float, Outcome]]]:
        """`active()`, held unchanged until the block ends.

        The simulator serves a tick inside it, so once `set()` or `clear()` returns, no
        tick is still serving the old faults.
        """
        with self._lock:
            yield self._active

    def _rebuild(self) -> None:
        ordered = sorted(self._faults, key=lambda f: (-len(f.outcomes), f.serial))
        active: dict[EdgeKey, tuple[float, Outcome]] = {}
        for fault in ordered:  # the winner comes last and overwrites
            for key, outcome in fault.outcomes.items():
                active[key] = (fault.spec.rate, outcome)
        self._active = active
