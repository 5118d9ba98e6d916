"""The label sets Istio rows are grouped by, as records: a row's key read by label name.

Each query names its labels in a record's field order (`Record._fields`), so that
`prometheus.read(Record, key)` gives the row's values by name. Every record starts with,
or holds in one run, the thirteen labels of an edge (`EDGE`, `EdgeLabels`); `edge_of`
takes them out, as the traffic builder and the appenders' resolvers read them. The records
are built from the runs of labels they share (graph/sources/label_records.py); the order
of each is the order Kiali's queries group by.
"""

from __future__ import annotations

from graph.sources.label_records import label_record

SOURCE = ("source_cluster", "source_workload_namespace", "source_workload",
          "source_canonical_service", "source_canonical_revision")
DESTINATION = ("destination_cluster", "destination_service_namespace", "destination_service",
               "destination_service_name", "destination_workload_namespace",
               "destination_workload", "destination_canonical_service",
               "destination_canonical_revision")
EDGE = SOURCE + DESTINATION
RESPONSE = ("response_code", "grpc_response_status", "response_flags")
SECURITY = ("connection_security_policy", "source_principal", "destination_principal")

EdgeLabels = label_record(
    "EdgeLabels",
    "The source and destination of a row: what Kiali's queries group every edge by.",
    *EDGE)

EDGE_FIELDS = EdgeLabels._fields

RequestLabels = label_record(
    "RequestLabels", "istio_requests_total: the edge, then protocol and response.",
    *EDGE, "request_protocol", *RESPONSE)

TcpLabels = label_record(
    "TcpLabels",
    "istio_tcp_*_bytes_total: `app` first (Kiali's order), the edge, then the flags.",
    "app", *EDGE, "response_flags")

ResponseTimeLabels = label_record(
    "ResponseTimeLabels", "istio_request_duration_milliseconds: the edge and the protocol.",
    *EDGE, "request_protocol")

SecurityLabels = label_record(
    "SecurityLabels",
    "Destination-reported traffic by connection security policy and principals.",
    *EDGE, "request_protocol", *SECURITY)

# The records of traffic and security at once start with the record their traffic reads,
# which sums the rest away.
SecuredRequestLabels = label_record(
    "SecuredRequestLabels",
    "istio_requests_total grouped as for traffic and security at once: RequestLabels, "
    "then the connection's security (the traffic sums those three away).",
    *RequestLabels._fields, *SECURITY)

SecuredTcpLabels = label_record(
    "SecuredTcpLabels",
    "istio_tcp_*_bytes_total grouped as for traffic and security at once: TcpLabels, then "
    "the protocol and the connection's security (the traffic sums those four away).",
    *TcpLabels._fields, "request_protocol", *SECURITY)

# Where the edge's thirteen labels start in each record.
EDGE_AT = {record: record._fields.index("source_cluster")
           for record in (EdgeLabels, RequestLabels, TcpLabels, ResponseTimeLabels,
                          SecurityLabels, SecuredRequestLabels, SecuredTcpLabels)}
for _record, _at in EDGE_AT.items():
    if _record._fields[_at:_at + len(EDGE_FIELDS)] != EDGE_FIELDS:
        raise ImportError(f"{_record.__name__} does not hold the edge labels in one run")


def edge_of(record: tuple[str, ...]) -> EdgeLabels:
    """The edge labels of any record above."""
    if type(record) is EdgeLabels:
        return record
    at = EDGE_AT[type(record)]
    return EdgeLabels._make(record[at:at + len(EDGE_FIELDS)])
