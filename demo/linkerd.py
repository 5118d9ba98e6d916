"""Linkerd's proxy metrics for the simulated emojivoto: their families and labels.

Each proxy reports the requests it handles: the caller's as `direction="outbound"`, naming
the destination by `dst_*` labels, the callee's as `inbound`. The labels a Prometheus adds
when it scrapes a pod (`namespace`, the owner as `deployment`, the pod's `app` and
`version` labels) are written here directly, as the demo's Prometheus scrapes the
simulator, not the pods.
"""

from __future__ import annotations

from demo.faults import Outcome
from demo.topologies import UNKNOWN, RequestEdge, Workload

POD_LABELS = ("namespace", "deployment", "app", "version", "pod")
DST_LABELS = ("dst_namespace", "dst_deployment", "dst_service")
EDGE_LABELS = ("direction", *POD_LABELS, *DST_LABELS, "authority", "tls")
RESPONSE_LABELS = (*EDGE_LABELS, "status_code", "grpc_status_code", "classification")
LATENCY_LABELS = (*EDGE_LABELS, "status_code")

REQUESTS = "request_total"
RESPONSES = "response_total"
LATENCY = "response_latency_ms"
# Linkerd's latency buckets, in ms.
LATENCY_BUCKETS = (1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000,
                   3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000)


def is_linkerd(edge: RequestEdge) -> bool:
    return edge.destination.mesh == "linkerd"


def directions(edge: RequestEdge, outcome: Outcome) -> list[str]:
    """Which proxies count a request: the caller's if it has one, the callee's if reached."""
    out = [] if edge.source is UNKNOWN else ["outbound"]
    return out + (["inbound"] if outcome.reached else [])


def _pod(w: Workload) -> dict[str, str]:
    return {"namespace": w.namespace, "deployment": w.name, "app": w.app,
            "version": w.version, "pod": f"{w.name}-5b7f5657f6-x8q2k"}


def request_labels(edge: RequestEdge, direction: str, outcome: Outcome) -> dict[str, str]:
    """Every label of response_total (the other families take a subset)."""
    src, dst = edge.source, edge.destination
    labels = dict.fromkeys(RESPONSE_LABELS, "")
    labels["direction"] = direction
    labels["authority"] = f"{dst.service}.{dst.namespace}.svc.cluster.local:8080"
    if direction == "outbound":
        labels |= _pod(src)
        labels |= {"dst_namespace": dst.namespace, "dst_deployment": dst.name,
                   "dst_service": str(dst.service)}
    else:
        labels |= _pod(dst)
    labels["tls"] = "true" if edge.mtls else "no_identity"
    if outcome.response_code != "0":  # "0": no response (the connection failed)
        labels["status_code"] = outcome.response_code
    grpc = outcome.grpc_status if edge.protocol == "grpc" else ""
    labels["grpc_status_code"] = grpc
    failed = (outcome.response_code in ("0", "") or outcome.response_code.startswith("5")
              or grpc not in ("", "0"))
    labels["classification"] = "failure" if failed else "success"
    return labels
