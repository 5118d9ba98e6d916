"""The data sources a graph is read from: PROMETHEUS_URL (the source named `default`) and
the DataSources edited in the admin; the dialects each holds (forced, or detected from its
metric names and cached); and one graph built from every (source, dialect) pair.

A source that cannot be reached is reported (Graph.failed), not fatal: the others' graph
still shows. Only when every source fails does the build fail (503, as with one source).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TypeVar

import networkx as nx
from django.conf import settings

from graph.build import build_graph, stamp
from graph.detection import detect_dialects
from graph.health import HealthConfig
from graph.merge import DIALECT_RANK, Sourced, merge_sources
from graph.options import GraphOptions, MeshConfig, OptionError, shown
from graph.prometheus import (
    Prometheus,
    PrometheusError,
    PrometheusSettings,
    PrometheusUnavailable,
)
from graph.sources import DIALECTS

# How long a detection holds; a source whose settings change is detected again at once.
# Finding nothing holds briefly: a Prometheus just started has not scraped anything yet.
DETECT_TTL_S = 300.0
NOTHING_FOUND_TTL_S = 10.0
DEFAULT = "default"

T = TypeVar("T")


@dataclass(frozen=True)
class Source:
    name: str
    settings: PrometheusSettings
    basic_auth: tuple[str, str] | None = None
    default_namespace: str = ""  # empty: the mesh's (MESHLENS_TRACES_NAMESPACE)
    dialects: tuple[str, ...] | None = None  # None: detected

    def client(self, timeout: float | None = None) -> Prometheus:
        prometheus_settings = self.settings if timeout is None else replace(
            self.settings, timeout=min(timeout, self.settings.timeout))
        return client_for(prometheus_settings, self.basic_auth)


@lru_cache(maxsize=16)
def client_for(prometheus_settings: PrometheusSettings,
               basic_auth: tuple[str, str] | None) -> Prometheus:
    prom = Prometheus(prometheus_settings)
    if basic_auth is not None:
        # requests falls back to the session's auth on every call the client makes.
        prom.session.auth = basic_auth
    return prom


def default_source() -> Source:
    """PROMETHEUS_URL with its settings; its dialects are MESHLENS_DIALECTS (detected when
    that is `auto`)."""
    return Source(DEFAULT, PrometheusSettings(
        url=settings.PROMETHEUS_URL, token=settings.PROMETHEUS_TOKEN,
        ca_file=settings.PROMETHEUS_CA, verify=settings.PROMETHEUS_VERIFY,
        timeout=float(settings.PROMETHEUS_TIMEOUT),
        remote_read=settings.MESHLENS_REMOTE_READ),
        dialects=tuple(settings.MESHLENS_DIALECTS) or None)


def configured() -> list[Source]:
    """`default`, then the enabled DataSources in their order."""
    from dashboard.models import DataSource, dialect_list

    out = [default_source()]
    for row in DataSource.objects.filter(enabled=True):
        out.append(Source(
            row.name,
            PrometheusSettings(url=row.url.rstrip("/"), token=row.token, ca_file=row.ca_file,
                               verify=row.verify, timeout=float(settings.PROMETHEUS_TIMEOUT),
                               remote_read=settings.MESHLENS_REMOTE_READ),
            basic_auth=(row.username, row.password) if row.username else None,
            default_namespace=row.default_namespace,
            dialects=tuple(dialect_list(row.dialects)) or None))
    return out


def selected(options: GraphOptions) -> list[Source]:
    """The sources options.sources names (every configured one when it names none).
    Raises OptionError naming an unknown source or dialect."""
    sources = configured()
    known = [s.name for s in sources]
    for name in options.sources:
        if name not in known:
            raise OptionError("sources", f"no data source {shown(name)}; use one of "
                                         f"{', '.join(known)}")
    for name in options.dialects:
        if name not in DIALECTS:
            raise OptionError("dialects", f"no telemetry dialect {shown(name)}; use one of "
                                          f"{', '.join(sorted(DIALECTS))}")
    return [s for s in sources if not options.sources or s.name in options.sources]


class Detections:
    """Detected dialects by source settings, each kept for DETECT_TTL_S."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.found: dict[tuple[object, ...], tuple[float, tuple[str, ...]]] = {}

    def dialects(self, source: Source, mesh: MeshConfig) -> tuple[str, ...]:
        if source.dialects is not None:
            return source.dialects
        key = (source.settings.url, source.settings.token, source.settings.ca_file,
               source.settings.verify, source.basic_auth, mesh.query_scope)
        now = time.monotonic()
        with self.lock:
            hit = self.found.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        ordered = sorted(DIALECTS.values(), key=lambda d: -DIALECT_RANK.get(d.name, 0))
        names = detect_dialects(source.client(), ordered, mesh.scope(), int(time.time()))
        with self.lock:
            self.found[key] = (now + (DETECT_TTL_S if names else NOTHING_FOUND_TTL_S), names)
        return names

    def clear(self) -> None:
        with self.lock:
            self.found.clear()


DETECTIONS = Detections()


@dataclass
class Pairs:
    """The (source, dialect) pairs to read, and the sources that failed on the way."""

    pairs: list[tuple[Source, str]] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def pairs_for(sources: Sequence[Source], options: GraphOptions, mesh: MeshConfig) -> Pairs:
    out = Pairs()
    # Side by side: a source that does not answer costs one timeout, not one per source.
    found = each([(lambda s=source: DETECTIONS.dialects(s, mesh)) for source in sources])
    for source, names in zip(sources, found, strict=True):
        if isinstance(names, PrometheusError):
            out.failed[source.name] = str(names)
            continue
        out.pairs.extend((source, d) for d in names
                         if not options.dialects or d in options.dialects)
    return out


def is_plain(sources: Sequence[Source], options: GraphOptions) -> bool:
    """Only PROMETHEUS_URL with one dialect, not narrowed: one graph, nothing to merge."""
    return (len(sources) == 1 and sources[0].name == DEFAULT and not options.dialects
            and len(sources[0].dialects or ()) == 1)


def each(jobs: Sequence[Callable[[], T]]) -> list[T | PrometheusError]:
    """Run the jobs side by side; a job's PrometheusError is its result."""
    def run(job: Callable[[], T]) -> T | PrometheusError:
        try:
            return job()
        except PrometheusError as exc:
            return exc

    if len(jobs) == 1:
        return [run(jobs[0])]
    with ThreadPoolExecutor(max_workers=min(8, len(jobs))) as pool:
        return list(pool.map(run, jobs))


def mesh_of(mesh: MeshConfig, source: Source, dialect: str) -> MeshConfig:
    return replace(mesh, dialects=(dialect,),
                   default_namespace=source.default_namespace or mesh.default_namespace)


def build(options: GraphOptions, mesh: MeshConfig,
          health: HealthConfig | None) -> nx.MultiDiGraph:
    """The graph of every selected (source, dialect) pair, merged (graph/merge.py);
    g.graph["failed_sources"] names the sources that could not be read, with why."""
    sources = selected(options)
    todo = pairs_for(sources, options, mesh)
    if len(sources) == 1 and len(todo.pairs) == 1:  # one source, one dialect: nothing to merge
        source, dialect = todo.pairs[0]
        g = build_graph(source.client(), options, mesh_of(mesh, source, dialect), health)
        g.graph["failed_sources"] = {}
        return g
    results = each([
        (lambda s=source, d=dialect: build_graph(s.client(), options, mesh_of(mesh, s, d),
                                                 health))
        for source, dialect in todo.pairs])
    graphs: list[Sourced] = []
    failed = dict(todo.failed)
    for (source, dialect), result in zip(todo.pairs, results, strict=True):
        if isinstance(result, PrometheusError):
            failed.setdefault(source.name, str(result))
        else:
            graphs.append(Sourced(source.name, dialect, result))
    graphs = [g for g in graphs if g.source not in failed]
    if not graphs and failed:  # every source failed: the build fails, as with one source
        raise all_failed(failed)
    # No graph and no failure: no selected source holds a selected dialect.
    # Each element's sources are shown whenever more than one source was asked for.
    g = (merge_sources(graphs, health, mark_sources=len(sources) > 1) if graphs
         else stamp(nx.MultiDiGraph(), options))
    g.graph["failed_sources"] = failed
    return g


def all_failed(failed: dict[str, str]) -> PrometheusUnavailable:
    """The error when every data source asked failed: each named with its reason, as one
    source down is (a 503)."""
    return PrometheusUnavailable("; ".join(f"data source {name}: {why}"
                                           for name, why in failed.items()))
