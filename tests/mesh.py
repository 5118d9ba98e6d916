"""Istio telemetry for tests: workloads, and the series both reporters write for an edge.

    ratings = Workload("bookinfo", "ratings-v1", "ratings", "v1", service="ratings")
    series = http_edge(reviews_v2, ratings, {"200": 7.0, "503": 3.0})
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from graph.prometheus import Row, row_key
from graph.sources.istio.queries import INBOUND, UNSERVICED, NamespaceQuery

CLUSTER = "Kubernetes"


@dataclass(frozen=True)
class Workload:
    namespace: str
    workload: str
    app: str
    version: str = "v1"
    service: str = ""


UNKNOWN = Workload("unknown", "unknown", "unknown", "unknown")


def labels(src: Workload, dst: Workload, reporter: str) -> dict[str, str]:
    source_cluster = "unknown" if src is UNKNOWN else CLUSTER
    return {
        "reporter": reporter,
        "source_cluster": source_cluster,
        "source_workload_namespace": src.namespace, "source_workload": src.workload,
        "source_canonical_service": src.app, "source_canonical_revision": src.version,
        "destination_cluster": CLUSTER,
        "destination_service_namespace": dst.namespace,
        "destination_service": f"{dst.service}.{dst.namespace}.svc.cluster.local",
        "destination_service_name": dst.service,
        "destination_workload_namespace": dst.namespace, "destination_workload": dst.workload,
        "destination_canonical_service": dst.app, "destination_canonical_revision": dst.version,
    }


def request_edge(src: Workload, dst: Workload, codes: dict[str, float], protocol: str = "http",
                 reporters: tuple[str, ...] = ("source", "destination")) -> list[dict[str, Any]]:
    """istio_requests_total series of one edge: {code: rate}; gRPC codes as `grpc:14`."""
    if src is UNKNOWN:
        reporters = ("destination",)
    out = []
    for reporter in reporters:
        for code, rate in codes.items():
            extra = {"request_protocol": protocol, "response_flags": "-"}
            if code.startswith("grpc:"):
                extra |= {"response_code": "200", "grpc_response_status": code[5:]}
            else:
                extra |= {"response_code": code}
                if protocol == "grpc":
                    extra["grpc_response_status"] = "0"
            out.append({"metric": "istio_requests_total",
                        "labels": labels(src, dst, reporter) | extra, "rate": rate})
    return out


def tcp_edge(src: Workload, dst: Workload, sent: float, received: float) -> list[dict[str, Any]]:
    out = []
    for reporter in ("source", "destination"):
        for metric, rate in (("istio_tcp_sent_bytes_total", sent),
                             ("istio_tcp_received_bytes_total", received)):
            out.append({"metric": metric, "rate": rate,
                        "labels": labels(src, dst, reporter) | {"response_flags": "-"}})
    return out


def with_labels(series: list[dict[str, Any]], **extra: str) -> list[dict[str, Any]]:
    """The same series with more labels, e.g. connection_security_policy and principals:

        with_labels(request_edge(a, b, {"200": 3.0}), connection_security_policy="mutual_tls")
    """
    return [s | {"labels": s["labels"] | extra} for s in series]


def request_labels(src: Workload, dst: Workload, reporter: str,
                   protocol: str = "http") -> dict[str, str]:
    """The labels of a request metric other than istio_requests_total (histograms, bytes)."""
    return labels(src, dst, reporter) | {"request_protocol": protocol, "response_code": "200",
                                         "response_flags": "-"}


def duration_histogram(src: Workload, dst: Workload, buckets: dict[str, float],
                       sum_ms: float, protocol: str = "http",
                       reporters: tuple[str, ...] = ("source", "destination"),
                       ) -> list[dict[str, Any]]:
    """istio_request_duration_milliseconds of one edge: requests/s in each cumulative bucket
    {le: rate} (the last "+Inf", which is also the _count), and milliseconds/s in _sum.

        duration_histogram(a, b, {"100": 16.0, "200": 20.0, "+Inf": 20.0}, sum_ms=2600.0)
    """
    if src is UNKNOWN:
        reporters = ("destination",)
    name = "istio_request_duration_milliseconds"
    out = []
    for reporter in reporters:
        common = request_labels(src, dst, reporter, protocol)
        out += [{"metric": f"{name}_bucket", "labels": common | {"le": le}, "rate": rate}
                for le, rate in buckets.items()]
        out += [{"metric": f"{name}_sum", "labels": common, "rate": sum_ms},
                {"metric": f"{name}_count", "labels": common, "rate": buckets["+Inf"]}]
    return out


def bytes_edge(src: Workload, dst: Workload, request: float, response: float,
               protocol: str = "http", reporters: tuple[str, ...] = ("source", "destination"),
               ) -> list[dict[str, Any]]:
    """istio_request_bytes_sum and istio_response_bytes_sum of one edge, in bytes/s."""
    if src is UNKNOWN:
        reporters = ("destination",)
    return [{"metric": f"istio_{kind}_bytes_sum", "rate": rate,
             "labels": request_labels(src, dst, reporter, protocol)}
            for reporter in reporters
            for kind, rate in (("request", request), ("response", response))]


def rows(series: list[dict[str, Any]], names: tuple[str, ...], reporter: str) -> list[Row]:
    """What Prometheus would answer a query grouped by `names`, for one reporter."""
    return [(row_key(*(s["labels"].get(n, "") for n in names)), s["rate"])
            for s in series if s["labels"]["reporter"] == reporter]


def traffic_answers(queries: Sequence[NamespaceQuery],
                    series: list[dict[str, Any]]) -> list[list[Row]]:
    """What Prometheus would answer each traffic query of a plan, over every namespace of
    the series (Meshlens keeps the rows of the namespaces it asked for)."""
    out = []
    for query in queries:
        found = [s for s in series if s["metric"] == query.metric]
        if query.kind == UNSERVICED:
            found = [s for s in found if s["labels"]["destination_workload"] == "unknown"]
        reporter = "destination" if query.kind == INBOUND else "source"
        # Grouped by every label the query groups by, then read as Meshlens reads it.
        out.append(query.query.read(rows(found, query.query.wire_labels(), reporter)))
    return out


PRODUCTPAGE = Workload("bookinfo", "productpage-v1", "productpage", service="productpage")
DETAILS = Workload("bookinfo", "details-v1", "details", service="details")
REVIEWS_V1 = Workload("bookinfo", "reviews-v1", "reviews", "v1", service="reviews")
REVIEWS_V2 = Workload("bookinfo", "reviews-v2", "reviews", "v2", service="reviews")
REVIEWS_V3 = Workload("bookinfo", "reviews-v3", "reviews", "v3", service="reviews")
RATINGS = Workload("bookinfo", "ratings-v1", "ratings", service="ratings")
INGRESS = Workload("istio-system", "istio-ingressgateway", "istio-ingressgateway",
                   "latest", service="istio-ingressgateway")


def bookinfo(ratings_503: float = 0.0) -> list[dict[str, Any]]:
    """Bookinfo at fixed rates; reviews-v2 -> ratings fails with `ratings_503` 503s/s.

    ingress -> productpage (10/s) -> details (10/s)
                                  -> reviews-v1 (4/s), reviews-v2 (3/s), reviews-v3 (3/s)
    unknown -> productpage (2/s)      reviews-v2 -> ratings (3/s), reviews-v3 -> ratings (3/s)
    """
    return (
        request_edge(INGRESS, PRODUCTPAGE, {"200": 10.0})
        + request_edge(UNKNOWN, PRODUCTPAGE, {"200": 2.0})
        + request_edge(PRODUCTPAGE, DETAILS, {"200": 10.0})
        + request_edge(PRODUCTPAGE, REVIEWS_V1, {"200": 4.0})
        + request_edge(PRODUCTPAGE, REVIEWS_V2, {"200": 3.0})
        + request_edge(PRODUCTPAGE, REVIEWS_V3, {"200": 3.0})
        + request_edge(REVIEWS_V2, RATINGS, {"200": 3.0 - ratings_503, "503": ratings_503}
                       if ratings_503 else {"200": 3.0})
        + request_edge(REVIEWS_V3, RATINGS, {"200": 3.0})
    )
