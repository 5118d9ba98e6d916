"""The label sets Linkerd rows are grouped by, as records: a row's key read by label name.

The reporting proxy's own pod is named by the labels Prometheus adds when it scrapes it
(`namespace`, the owner's kind as `deployment`/`statefulset`/`daemonset`, and the pod's
labels, `app` and `version` among them); an outbound series names its destination by the
`dst_*` labels the proxy gets from Linkerd's destination service. Linkerd has no cluster
label: the cluster is MESHLENS_CLUSTER_NAME.
"""

from __future__ import annotations

from graph.sources.label_records import label_record

# The reporting pod's workload: the first of these labels that is set.
WORKLOAD_KINDS = ("deployment", "statefulset", "daemonset")


# The runs of labels the records share, each written once.
POD = ("namespace", "deployment", "statefulset", "daemonset", "app", "version")
DESTINATION = ("dst_namespace", "dst_deployment", "dst_statefulset", "dst_daemonset",
               "dst_service")
OUTBOUND = POD + DESTINATION
RESPONSE = ("status_code", "grpc_status_code", "classification")

PodLabels = label_record(
    "PodLabels", "The reporting proxy's pod: its namespace, owner and app/version pod labels.",
    *POD)

OutboundLabels = label_record(
    "OutboundLabels", "An outbound series: the caller's pod, then the destination (dst_*).",
    *OUTBOUND)

RequestLabels = label_record(
    "RequestLabels",
    "response_total, outbound: the edge, the response and the connection's TLS.",
    *OUTBOUND, *RESPONSE, "tls")

UnmeshedLabels = label_record(
    "UnmeshedLabels",
    "response_total, inbound from a caller without a mesh identity: the callee's pod and "
    "the response.",
    *POD, *RESPONSE)

TcpLabels = label_record(
    "TcpLabels", "tcp_*_bytes_total, outbound: the edge and the connection's TLS.",
    *OUTBOUND, "tls")


def workload_of(deployment: str, statefulset: str, daemonset: str) -> str:
    return deployment or statefulset or daemonset
