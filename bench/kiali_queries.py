"""Kiali's own per-namespace query set, the yardstick of the API ratio (live_scale.py,
api_timeline.py, query_plan.py, remote_read.py): the queries, and the time Prometheus
takes to answer them all, namespaces in parallel as Kiali sends them.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import requests

NAMESPACES = tuple(f"ns{i}" for i in range(10))  # as bench/graph_build.py makes them

# Kiali's per-namespace traffic queries (graph/telemetry/istio/istio.go,
# buildNamespaceTrafficMap) with the defaults of Meshlens's /api/v1/graph: requests for
# HTTP and gRPC, TCP "sent" (istio_tcp_received_bytes_total: L4 telemetry is reported
# backwards), no ambient (reporter="source"/"destination", ztunnel left out of TCP).
REQUEST_GROUP = ("source_cluster,source_workload_namespace,source_workload,"
                 "source_canonical_service,source_canonical_revision,destination_cluster,"
                 "destination_service_namespace,destination_service,destination_service_name,"
                 "destination_workload_namespace,destination_workload,"
                 "destination_canonical_service,destination_canonical_revision,"
                 "request_protocol,response_code,grpc_response_status,response_flags")
TCP_GROUP = ("app,source_cluster,source_workload_namespace,source_workload,"
             "source_canonical_service,source_canonical_revision,destination_cluster,"
             "destination_service_namespace,destination_service,destination_service_name,"
             "destination_workload_namespace,destination_workload,"
             "destination_canonical_service,destination_canonical_revision,response_flags")


def kiali_queries(namespace: str, duration_s: int) -> list[str]:
    out = []
    for metric, app, group in (("istio_requests_total", "", REQUEST_GROUP),
                               ("istio_tcp_received_bytes_total", 'app!="ztunnel",', TCP_GROUP)):
        for selector in (
            f'{app}reporter="source",source_workload_namespace!="{namespace}",'
            f'destination_workload_namespace="unknown",destination_workload="unknown",'
            f'destination_service=~"^.+\\\\.{namespace}\\\\..+$"',
            f'{app}reporter="destination",destination_workload_namespace="{namespace}"',
            f'{app}reporter="source",source_workload_namespace="{namespace}"',
        ):
            out.append(f"sum(rate({metric}{{{selector}}} [{duration_s}s])) by ({group}) > 0")
    return out


def kiali_time(prometheus_url: str, at: int, duration_s: int) -> float:
    """Seconds until the last body of Kiali's query set is read."""
    def namespace(ns: str) -> None:
        with requests.Session() as session:
            for promql in kiali_queries(ns, duration_s):
                response = session.post(f"{prometheus_url}/api/v1/query",
                                        data={"query": promql, "time": str(at)}, timeout=120)
                response.raise_for_status()
                _ = response.content

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(NAMESPACES)) as pool:
        list(pool.map(namespace, NAMESPACES))
    return time.perf_counter() - start
