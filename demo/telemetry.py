"""Istio's standard metrics (and the trace-derived service-graph metrics): their names,
labels and buckets, and a store that serves them.

The store is a prometheus_client collector. It keeps plain numbers per label set and
builds the metric families on collect, so a scrape sees one consistent tick and no
`_created` series (Istio's proxies export none).

Each histogram bucket keeps an exemplar: the trace id and span id of the last request
observed in it (as a proxy that samples requests into traces would attach them), served
in the OpenMetrics exposition only (the 0.0.4 text format has no exemplars).

It also renders the exposition formats itself. Optimization: Istio's 25 labels on
~2,300 samples cost prometheus_client's generate_latest ~90 ms per scrape, as it checks
and escapes every label of every sample; the store escapes each label set once.
"""

from __future__ import annotations

import bisect
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

from demo import linkerd
from demo.faults import Outcome
from demo.topologies import UNKNOWN, RequestEdge, TcpEdge, Workload

REQUEST_LABELS = (
    "reporter",
    "source_workload", "source_workload_namespace", "source_principal", "source_app",
    "source_version", "source_canonical_service", "source_canonical_revision", "source_cluster",
    "destination_workload", "destination_workload_namespace", "destination_principal",
    "destination_app", "destination_version", "destination_service",
    "destination_service_name", "destination_service_namespace",
    "destination_canonical_service", "destination_canonical_revision", "destination_cluster",
    "request_protocol", "response_code", "grpc_response_status", "response_flags",
    "connection_security_policy",
)
_OUTCOME_LABELS = ("response_code", "grpc_response_status", "response_flags")
MESSAGE_LABELS = tuple(n for n in REQUEST_LABELS if n not in _OUTCOME_LABELS)
TCP_LABELS = tuple(
    n for n in REQUEST_LABELS
    if n not in ("request_protocol", "response_code", "grpc_response_status")
)

# The OpenTelemetry Collector's servicegraph connector, through its Prometheus exporter
# (which adds the `_seconds` unit suffix): the ends, the connection type, whether the
# pairs failed, and the service.namespace and messaging.system dimensions, prefixed by side.
SERVICE_GRAPH_LABELS = ("client", "server", "connection_type", "failed",
                        "client_service_namespace", "server_service_namespace",
                        "client_messaging_system")
# The connector's default latency buckets, in seconds.
SERVICE_GRAPH_BUCKETS = (0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1, 1.4,
                         2, 5, 10, 15)

DURATION_BUCKETS = (
    0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
    300000, 600000, 1800000, 3600000,
)
BYTES_BUCKETS = tuple(10.0**n for n in range(9))  # 1 B .. 100 MB


@dataclass(frozen=True)
class Family:
    name: str
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()  # empty for a counter
    exemplars: bool = False  # a latency histogram: its buckets carry trace ids


FAMILIES = {
    f.name: f for f in (
        Family("istio_requests_total", "Total requests.", REQUEST_LABELS),
        Family("istio_request_duration_milliseconds", "Request duration in milliseconds.",
               REQUEST_LABELS, DURATION_BUCKETS, exemplars=True),
        Family("istio_request_bytes", "Request size in bytes.", REQUEST_LABELS, BYTES_BUCKETS),
        Family("istio_response_bytes", "Response size in bytes.", REQUEST_LABELS,
               BYTES_BUCKETS),
        Family("istio_request_messages_total", "gRPC messages sent by clients.",
               MESSAGE_LABELS),
        Family("istio_response_messages_total", "gRPC messages sent by servers.",
               MESSAGE_LABELS),
        Family("istio_tcp_sent_bytes_total", "Bytes sent in responses over TCP.", TCP_LABELS),
        Family("istio_tcp_received_bytes_total", "Bytes received in requests over TCP.",
               TCP_LABELS),
        Family("istio_tcp_connections_opened_total", "TCP connections opened.", TCP_LABELS),
        Family("istio_tcp_connections_closed_total", "TCP connections closed.", TCP_LABELS),
        Family("traces_service_graph_request_total", "Requests between two nodes.",
               SERVICE_GRAPH_LABELS),
        Family("traces_service_graph_request_failed_total",
               "Failed requests between two nodes.", SERVICE_GRAPH_LABELS),
        Family("traces_service_graph_request_server_seconds",
               "Request time as seen from the server.", SERVICE_GRAPH_LABELS,
               SERVICE_GRAPH_BUCKETS, exemplars=True),
        Family("traces_service_graph_request_client_seconds",
               "Request time as seen from the client.", SERVICE_GRAPH_LABELS,
               SERVICE_GRAPH_BUCKETS, exemplars=True),
        # Linkerd's proxies (emojivoto): demo/linkerd.py.
        Family(linkerd.REQUESTS, "Total count of HTTP requests.", linkerd.EDGE_LABELS),
        Family(linkerd.RESPONSES, "Total count of HTTP responses.", linkerd.RESPONSE_LABELS),
        Family(linkerd.LATENCY, "Elapsed times between a request's headers being received "
               "and its response stream completing", linkerd.LATENCY_LABELS,
               linkerd.LATENCY_BUCKETS, exemplars=True),
    )
}


def _principal(workload: Workload, mtls: bool) -> str:
    if not mtls or workload is UNKNOWN:
        return "unknown"
    return f"spiffe://cluster.local/ns/{workload.namespace}/sa/{workload.app}"


def _peer(side: str, w: Workload, principal: str, cluster: str) -> dict[str, str]:
    return {
        f"{side}_workload": w.name,
        f"{side}_workload_namespace": w.namespace,
        f"{side}_principal": principal,
        f"{side}_app": w.app,
        f"{side}_version": w.version,
        f"{side}_canonical_service": w.app,
        f"{side}_canonical_revision": w.canonical_revision,
        f"{side}_cluster": "unknown" if w is UNKNOWN else cluster,
    }


def peer_labels(edge: RequestEdge | TcpEdge, reporter: str, cluster: str,
                outcome: Outcome | None = None) -> dict[str, str]:
    """The labels both proxies agree on for an edge, plus the reporter's own."""
    src, dst = edge.source, edge.destination
    labels = {"reporter": reporter}
    labels |= _peer("source", src, _principal(src, edge.mtls), cluster)
    if outcome is not None and not outcome.reached:
        # The client never heard from a server proxy, so it knows only the service.
        labels |= _peer("destination", UNKNOWN, "unknown", cluster)
    else:
        labels |= _peer("destination", dst, _principal(dst, edge.mtls), cluster)
    no_route = outcome is not None and "NR" in outcome.flags.split(",")
    labels["destination_service"] = "unknown" if no_route else dst.host()
    labels["destination_service_name"] = "unknown" if no_route else str(dst.service)
    labels["destination_service_namespace"] = "unknown" if no_route else dst.namespace
    if reporter == "source":
        labels["connection_security_policy"] = "unknown"
    else:
        labels["connection_security_policy"] = "mutual_tls" if edge.mtls else "none"
    labels["response_flags"] = outcome.flags if outcome else "-"
    return labels


def request_labels(edge: RequestEdge, reporter: str, cluster: str,
                   outcome: Outcome) -> dict[str, str]:
    labels = peer_labels(edge, reporter, cluster, outcome)
    labels["request_protocol"] = edge.protocol
    labels["response_code"] = outcome.response_code
    labels["grpc_response_status"] = outcome.grpc_status
    return labels


def label_values(labels: dict[str, str], family: str) -> tuple[str, ...]:
    return tuple(labels[n] for n in FAMILIES[family].labels)


class _Histogram:
    __slots__ = ("counts", "exemplars", "sum")

    def __init__(self, size: int) -> None:
        self.counts = [0] * size  # per bucket, not cumulative; the last one is +Inf
        self.sum = 0.0
        # per bucket: the OpenMetrics exemplar text of its last observation, or ""
        self.exemplars = [""] * size


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return repr(float(value))  # finite and never negative here, so Python's repr is Go's


def _le(bound: float) -> str:
    return str(int(bound)) if bound == int(bound) else str(bound)


class MetricStore:
    """Counters and histograms by label values; a collector for a CollectorRegistry.

    Writers hold `batch()` while they change a tick's worth of values; `generation`
    counts the batches so a reader can cache what it rendered.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.generation = 0
        self._counters: dict[str, dict[tuple[str, ...], float]] = {
            name: {} for name, f in FAMILIES.items() if not f.buckets
        }
        self._histograms: dict[str, dict[tuple[str, ...], _Histogram]] = {
            name: {} for name, f in FAMILIES.items() if f.buckets
        }
        self._label_text: dict[tuple[str, tuple[str, ...]], str] = {}
        self._ids = random.Random()  # trace and span ids

    @contextmanager
    def batch(self) -> Iterator[MetricStore]:
        with self._lock:
            yield self
            self.generation += 1

    def add(self, family: str, values: tuple[str, ...], amount: float) -> None:
        series = self._counters[family]
        series[values] = series.get(values, 0.0) + amount

    def observe(self, family: str, values: tuple[str, ...], observations: list[float]) -> None:
        buckets = FAMILIES[family].buckets
        sampled = FAMILIES[family].exemplars
        hist = self._histograms[family].get(values)
        if hist is None:
            hist = self._histograms[family][values] = _Histogram(len(buckets) + 1)
        last: dict[int, float] = {}
        for value in observations:
            bucket = bisect.bisect_left(buckets, value)
            hist.counts[bucket] += 1
            hist.sum += value
            if sampled and value > 0:  # 0: a span the trace-derived metrics lack
                last[bucket] = value
        now = time.time()
        for bucket, value in last.items():
            hist.exemplars[bucket] = self._exemplar(value, now)

    def _exemplar(self, value: float, at: float) -> str:
        """` # {trace_id="...",span_id="..."} value timestamp`: a new trace's, sampled now."""
        bits = self._ids.getrandbits
        return (f' # {{trace_id="{bits(128):032x}",span_id="{bits(64):016x}"}} '
                f"{_number(value)} {at:.3f}")

    def value(self, family: str, values: tuple[str, ...]) -> float:
        with self._lock:
            return self._counters[family].get(values, 0.0)

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            counters = {name: dict(series) for name, series in self._counters.items()}
            histograms = {
                name: {v: (list(h.counts), h.sum) for v, h in series.items()}
                for name, series in self._histograms.items()
            }
        for name, family in FAMILIES.items():
            if family.buckets:
                yield self._histogram(family, histograms[name])
            else:
                metric = CounterMetricFamily(name, family.help, labels=family.labels)
                for values, total in counters[name].items():
                    metric.add_metric(values, total)
                yield metric

    @staticmethod
    def _histogram(family: Family,
                   series: dict[tuple[str, ...], tuple[list[int], float]]) -> Metric:
        metric = HistogramMetricFamily(family.name, family.help, labels=family.labels)
        bounds = [_le(b) for b in family.buckets] + ["+Inf"]
        for values, (counts, total) in series.items():
            cumulative, running = [], 0
            for bound, count in zip(bounds, counts, strict=True):
                running += count
                cumulative.append((bound, float(running)))
            metric.add_metric(values, cumulative, total)
        return metric

    def render(self, openmetrics: bool = False) -> bytes:
        """The text exposition format (version 0.0.4) of everything in the store; with
        `openmetrics`, OpenMetrics 1.0 with the buckets' exemplars."""
        lines: list[str] = []
        with self._lock:
            for name, family in FAMILIES.items():
                kind = "histogram" if family.buckets else "counter"
                # OpenMetrics names a counter's family without the _total of its samples.
                family_name = name.removesuffix("_total") if openmetrics else name
                lines += [f"# HELP {family_name} {family.help}",
                          f"# TYPE {family_name} {kind}"]
                if family.buckets:
                    self._render_histogram(family, lines, openmetrics)
                    continue
                for values, total in self._counters[name].items():
                    lines.append(f"{name}{{{self._labels(family, values)}}} "
                                 f"{_number(total)}")
        lines.append("# EOF\n" if openmetrics else "")
        return "\n".join(lines).encode()

    def _render_histogram(self, family: Family, lines: list[str], exemplars: bool) -> None:
        name = family.name
        bounds = [_le(b) for b in family.buckets] + ["+Inf"]
        for values, hist in self._histograms[name].items():
            labels = self._labels(family, values)
            running = 0
            for bound, count, exemplar in zip(bounds, hist.counts, hist.exemplars, strict=True):
                running += count
                lines.append(f'{name}_bucket{{{labels},le="{bound}"}} {running}.0'
                             f'{exemplar if exemplars else ""}')
            lines.append(f"{name}_count{{{labels}}} {running}.0")
            lines.append(f"{name}_sum{{{labels}}} {_number(hist.sum)}")

    def _labels(self, family: Family, values: tuple[str, ...]) -> str:
        key = (family.name, values)
        text = self._label_text.get(key)
        if text is None:
            text = self._label_text[key] = ",".join(
                f'{n}="{_escape(v)}"' for n, v in zip(family.labels, values, strict=True)
            )
        return text
