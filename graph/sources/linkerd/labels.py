"""The label sets Linkerd rows are grouped by, as records: a row's key read by label name.

The reporting proxy's own pod is named by the labels Prometheus adds when it scrapes it
(`namespace`, the owner's kind as `deployment`/`statefulset`/`daemonset`, and the pod's
labels, `app` and `version` among them); an outbound series names its destination by the
`dst_*` labels the proxy gets from Linkerd's destination service. Linkerd has no cluster
label: the cluster is MESHLENS_CLUSTER_NAME.
"""

from __future__ import annotations

from typing import NamedTuple

# The reporting pod's workload: the first of these labels that is set.
WORKLOAD_KINDS = ("deployment", "statefulset", "daemonset")


class PodLabels(NamedTuple):
    """The reporting proxy's pod: its namespace, owner and app/version pod labels."""

    namespace: str
    deployment: str
    statefulset: str
    daemonset: str
    app: str
    version: str


class OutboundLabels(NamedTuple):
    """An outbound series: the caller's pod, then the destination (dst_*)."""

    namespace: str
    deployment: str
    statefulset: str
    daemonset: str
    app: str
    version: str
    dst_namespace: str
    dst_deployment: str
    dst_statefulset: str
    dst_daemonset: str
    dst_service: str


class RequestLabels(NamedTuple):
    """response_total, outbound: the edge, the response and the connection's TLS."""

    namespace: str
    deployment: str
    statefulset: str
    daemonset: str
    app: str
    version: str
    dst_namespace: str
    dst_deployment: str
    dst_statefulset: str
    dst_daemonset: str
    dst_service: str
    status_code: str
    grpc_status_code: str
    classification: str
    tls: str


class UnmeshedLabels(NamedTuple):
    """response_total, inbound from a caller without a mesh identity: the callee's pod and
    the response."""

    namespace: str
    deployment: str
    statefulset: str
    daemonset: str
    app: str
    version: str
    status_code: str
    grpc_status_code: str
    classification: str


class TcpLabels(NamedTuple):
    """tcp_*_bytes_total, outbound: the edge and the connection's TLS."""

    namespace: str
    deployment: str
    statefulset: str
    daemonset: str
    app: str
    version: str
    dst_namespace: str
    dst_deployment: str
    dst_statefulset: str
    dst_daemonset: str
    dst_service: str
    tls: str


POD = PodLabels._fields
OUTBOUND = OutboundLabels._fields
DESTINATION = OutboundLabels._fields[len(POD):]


def workload_of(deployment: str, statefulset: str, daemonset: str) -> str:
    return deployment or statefulset or daemonset
