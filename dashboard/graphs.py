"""Building graph payloads from Django settings: the one place views, consumers, tasks and
commands call into graph/."""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from functools import lru_cache
from typing import Any, NamedTuple, TypeVar

import networkx as nx
import orjson
from django.conf import settings

from dashboard import access, metrics, sources
from graph import access as graph_access
from graph import build_sizes, forked, kiali_params
from graph.build import build_graph, build_node_graph, gc_paused
from graph.cytoscape_json import Written, with_positions, write_graph
from graph.health import DEFAULT_TOLERANCES, HealthConfig, Rule
from graph.kiali_params import KialiRequest
from graph.layout import Positions
from graph.options import GraphOptions, MeshConfig, graph_options_from_query
from graph.prometheus import (
    Prometheus,
    PrometheusError,
    PrometheusSettings,
    PrometheusUnavailable,
)
from graph.promql import eq
from graph.sources import dialect_named
from graph.sources.istio.dialect import ISTIO

T = TypeVar("T")
log = logging.getLogger(__name__)


def prometheus(timeout: float | None = None) -> Prometheus:
    """The client for the configured Prometheus (one per distinct configuration); with
    `timeout`, one that gives up sooner than the configured timeout."""
    configured = float(settings.PROMETHEUS_TIMEOUT)
    return client_for(PrometheusSettings(
        url=settings.PROMETHEUS_URL, token=settings.PROMETHEUS_TOKEN,
        ca_file=settings.PROMETHEUS_CA, verify=settings.PROMETHEUS_VERIFY,
        timeout=configured if timeout is None else min(timeout, configured),
        remote_read=settings.MESHLENS_REMOTE_READ,
    ))


@lru_cache(maxsize=4)
def client_for(prometheus_settings: PrometheusSettings) -> Prometheus:
    return Prometheus(prometheus_settings)


def options_from_query(query: Mapping[str, str]) -> GraphOptions:
    """graph_options_from_query, with sources= and dialects= checked against the data
    sources configured (OptionError naming an unknown one)."""
    options = graph_options_from_query(query)
    if options.sources or options.dialects:
        sources.selected(options)
    # The viewer's namespaces, never the query's: a limited viewer's graph is its own scope.
    patterns = access.current()
    graph_access.check(options.namespaces, patterns)
    return replace(options, access=access.scoped(patterns))


def mesh_config() -> MeshConfig:
    accessible = settings.MESHLENS_ACCESSIBLE_NAMESPACES
    return MeshConfig(
        cluster_name=settings.MESHLENS_CLUSTER_NAME,
        accessible=frozenset(accessible) if accessible else None,
        query_scope=tuple(settings.MESHLENS_QUERY_SCOPE),
        # auto: each source's dialects are detected; Istio where one must be named.
        dialects=tuple(settings.MESHLENS_DIALECTS) or (ISTIO.name,),
        default_namespace=settings.MESHLENS_TRACES_NAMESPACE,
    )


def health_config() -> HealthConfig:
    """The tolerance rules edited in the admin, then Kiali's defaults for everything else."""
    from dashboard.models import HealthRule

    rules = [r.to_rule() for r in
             HealthRule.objects.filter(enabled=True).prefetch_related("tolerances")]
    return HealthConfig((*rules, Rule(DEFAULT_TOLERANCES)))


def apart(work: Callable[[], T], scope: str | None = None) -> T:
    """work() (a refresh, a build for the API of `scope`, a scope key) in a child process
    forked for it (graph/forked.py) where MESHLENS_BUILD_APART and the process allow and
    the scope is big (builds_apart), else here. Either way the build allocates a whole
    graph or two: here the collector is held off until they are dropped, so that it never
    walks them; a child never collects (it exits, and a collection would touch, and so
    copy, the pages it shares with its parent)."""
    if builds_apart(scope) and forked.can_fork():
        return forked.run_forked(lambda: uncollected(work))
    with gc_paused():
        return work()


def builds_apart(scope: str | None) -> bool:
    """Whether a build of `scope` runs in a child: with MESHLENS_BUILD_APART, when the
    scope's last graph had more than MESHLENS_BUILD_APART_ABOVE edges or is not known."""
    return settings.MESHLENS_BUILD_APART and build_sizes.builds_apart(
        scope, settings.MESHLENS_BUILD_APART_ABOVE)


def uncollected(work: Callable[[], T]) -> T:
    gc.disable()
    log.info("building apart in process %d, forked from %d", os.getpid(), os.getppid())
    # A child does all of its work before it answers: what the parent put off (answered_first)
    # would be lost with the child, and a graph kept until then is its peak's (see counted).
    AFTER_ANSWER.set(None)
    return work()


# Work a build in this process leaves until its answer is handed over (answered_first).
AFTER_ANSWER: ContextVar[list[Callable[[], None]] | None] = ContextVar("after_answer",
                                                                       default=None)


@contextmanager
def answered_first() -> Iterator[None]:
    """Within it, what a build here does after its JSON is made that its answer need not wait
    for (its /metrics, emptying its graph: about 10 ms at 1,000 workloads) waits until the
    end: around a build and the hand-over of its answer (dashboard/answers.run)."""
    todo: list[Callable[[], None]] = []
    reset = AFTER_ANSWER.set(todo)
    try:
        yield
    finally:
        AFTER_ANSWER.reset(reset)
        for then in todo:
            then()


def afterwards(then: Callable[[], None]) -> None:
    """then() now, or once the answer is handed over within answered_first."""
    todo = AFTER_ANSWER.get()
    if todo is None:
        then()
    else:
        todo.append(then)


def counted(build: Callable[[], nx.MultiDiGraph], serialise: Callable[[nx.MultiDiGraph], T],
            record: bool = True, scope: str | None = None) -> T:
    """build() then serialise() it, with the collector held off; with `record`, the build
    is counted in /metrics (in Redis: the command line goes without); its size is kept
    under `scope` (a scope key), for the next build's choice of where to run (apart)."""
    with gc_paused():
        start = time.perf_counter()
        try:
            g = build()
        except PrometheusError:
            if record:
                metrics.build_failed()
            raise
        built = time.perf_counter()
        if scope is not None:
            build_sizes.record(scope, g.number_of_edges())
        payload = serialise(g)
        end = time.perf_counter()

        def finish() -> None:
            if record:
                metrics.record_build(g.graph.get("timings"), end - built, end - start)
            # A graph whose edges were read through a view is in a reference cycle (the view
            # holds the graph): with the collector held off it would outlive this call, alive
            # beside its JSON while that is encoded, compressed and cached (170 MB at 10,000
            # workloads, whose builds run apart: there, at once). Emptied, only its shell
            # waits for the collector.
            g.clear()

        if g.number_of_edges() > settings.MESHLENS_BUILD_APART_ABOVE:
            finish()  # a big graph built here (MESHLENS_BUILD_APART off): its memory first
        else:
            afterwards(finish)
        return payload


class Laid(NamedTuple):
    """A graph written as JSON pieces (graph/cytoscape_json.py), and its nodes' positions."""

    written: Written
    positions: Positions


def laid_out(g: nx.MultiDiGraph,
             previous: Mapping[str, Mapping[str, float]] | None = None,
             limit: tuple[str, ...] = ()) -> Laid:
    """The graph written, a big one laid out (node `position`s); `previous`, the positions
    of the scope's last graph, keeps its nodes where they were. With `limit`
    (GraphOptions.access), as a user who sees only those namespaces sees it: redacted
    before it is laid out, so that what goes leaves no hole."""
    written, positions = with_positions(limited(write_graph(g), limit), previous)
    failed = g.graph.get("failed_sources")
    if failed:  # some data sources could not be read: the graph is the others'
        written = written._replace(tail={"failedSources": failed})
    return Laid(written, positions)


def limited(written: Written, limit: tuple[str, ...]) -> Written:
    """The written graph as a viewer limited to `limit` sees it; () is no limit."""
    return graph_access.redact_written(written, limit) if limit else written


def graph_written(options: GraphOptions,
                  previous: Mapping[str, Mapping[str, float]] | None = None,
                  record: bool = True) -> Laid:
    """The /api/v1/graph body for these options (queries Prometheus), written and laid out
    (laid_out)."""
    health = health_config()
    return counted(lambda: sources.build(options, mesh_config(), health),
                   lambda g: laid_out(g, previous, options.access), record,
                   options.scope_key())


def graph_payload(options: GraphOptions,
                  previous: Mapping[str, Mapping[str, float]] | None = None,
                  record: bool = True) -> dict[str, Any]:
    """graph_written's body, as dicts."""
    return graph_written(options, previous, record).written.to_dict()


def graph_body(options: GraphOptions, record: bool = True) -> bytes:
    """graph_written's body, the JSON bytes (joined while the collector is held off)."""
    health = health_config()
    return counted(lambda: sources.build(options, mesh_config(), health),
                   lambda g: laid_out(g, limit=options.access).written.body(), record,
                   options.scope_key())


def namespaces(lookback_s: int = 3600, timeout: float | None = None,
               options: GraphOptions | None = None) -> list[str]:
    """Namespaces seen within the last hour in the telemetry of the data sources and
    dialects `options` selects (every one configured by default), within the query scope,
    that the viewer may see. A source that cannot be read is left out, unless every one
    fails."""
    return graph_access.visible(seen_namespaces(lookback_s, timeout, options),
                                access.current())


def seen_namespaces(lookback_s: int, timeout: float | None,
                    options: GraphOptions | None) -> list[str]:
    options = options or GraphOptions(namespaces=())
    chosen = sources.selected(options)
    mesh = mesh_config()
    if sources.is_plain(chosen, options):
        return source_namespaces(prometheus(timeout), mesh, mesh.dialects, lookback_s)
    todo = sources.pairs_for(chosen, options, mesh)
    by_source: dict[sources.Source, list[str]] = {}
    for source, dialect in todo.pairs:
        by_source.setdefault(source, []).append(dialect)
    results = sources.each([
        (lambda s=source, d=tuple(names): source_namespaces(
            s.client(timeout), sources.mesh_of(mesh, s, d[0]), d, lookback_s))
        for source, names in by_source.items()])
    found = [name for r in results if not isinstance(r, PrometheusError) for name in r]
    errors = [r for r in results if isinstance(r, PrometheusError)]
    if errors and len(errors) == len(results):
        raise errors[0]
    if not results and todo.failed:
        raise PrometheusUnavailable("; ".join(todo.failed.values()))
    return sorted(set(found))


def source_namespaces(prom: Prometheus, mesh: MeshConfig, dialects: Sequence[str],
                      lookback_s: int) -> list[str]:
    """Namespaces in the telemetry of `dialects` on one Prometheus."""
    now = int(time.time())
    scope = mesh.scope()
    found: set[str] = set()
    for name in dialects:
        discovery = dialect_named(name).discovery
        series = [scope.selector(metric) for metric in discovery.metrics]
        for label in discovery.labels:
            found.update(prom.label_values(label, series, now - lookback_s, now))
        if discovery.default_when_unnamed:
            unnamed = [scope.selector(metric, *(eq(label, "") for label in discovery.labels))
                       for metric in discovery.metrics]
            if prom.label_values("__name__", unnamed, now - lookback_s, now):
                found.add(mesh.default_namespace)
    found.discard("unknown")
    return sorted(found)


def kiali_payload(request: KialiRequest) -> dict[str, Any]:
    """The body Kiali's graph API would give for this request: Kiali's route reads Istio
    telemetry, whatever dialects are configured."""
    return orjson.loads(kiali_body(request))


def kiali_body(request: KialiRequest) -> bytes:
    """kiali_payload's JSON bytes."""
    health = health_config()
    mesh = replace(mesh_config(), dialects=(ISTIO.name,))

    def build() -> nx.MultiDiGraph:
        if request.target is None:
            return build_graph(prometheus(), request.options, mesh, health)
        return build_node_graph(prometheus(), request.options, request.target, mesh, health)

    return counted(build, lambda g: limited(
        write_graph(g, extras=False, edge_health=request.health), request.options.access).body(),
        scope=kiali_scope(request))


def kiali_scope(request: KialiRequest) -> str:
    """The key a Kiali route's build is sized under (build_sizes): its options', and its
    node's for a node graph (a graph of its own, and a smaller one)."""
    key = "kiali&" + request.options.scope_key()
    return key if request.target is None else f"{key}&node={request.target!r}"


def kiali_request(query: Mapping[str, str], path: Mapping[str, str]) -> KialiRequest:
    """Kiali's parameters read (kiali_params.parse), limited as options_from_query limits
    the API's: the viewer's namespaces checked, and carried in the options."""
    parsed = kiali_params.parse(query, path, mesh_config())
    patterns = access.current()
    graph_access.check(parsed.options.namespaces, patterns)
    return replace(parsed, options=replace(parsed.options, access=access.scoped(patterns)))
