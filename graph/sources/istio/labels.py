"""The label sets Istio rows are grouped by, as records: a row's key read by label name.

Each query names its labels in a record's field order (`Record._fields`), so that
`prometheus.read(Record, key)` gives the row's values by name. Every record starts with,
or holds in one run, the thirteen labels of an edge (`EdgeLabels`); `edge_of` takes them
out, as the traffic builder and the appenders' resolvers read them.
"""

from __future__ import annotations

from typing import NamedTuple


class EdgeLabels(NamedTuple):
    """The source and destination of a row: what Kiali's queries group every edge by."""

    source_cluster: str
    source_workload_namespace: str
    source_workload: str
    source_canonical_service: str
    source_canonical_revision: str
    destination_cluster: str
    destination_service_namespace: str
    destination_service: str
    destination_service_name: str
    destination_workload_namespace: str
    destination_workload: str
    destination_canonical_service: str
    destination_canonical_revision: str


EDGE_FIELDS = EdgeLabels._fields


class RequestLabels(NamedTuple):
    """istio_requests_total: the edge, then protocol and response."""

    source_cluster: str
    source_workload_namespace: str
    source_workload: str
    source_canonical_service: str
    source_canonical_revision: str
    destination_cluster: str
    destination_service_namespace: str
    destination_service: str
    destination_service_name: str
    destination_workload_namespace: str
    destination_workload: str
    destination_canonical_service: str
    destination_canonical_revision: str
    request_protocol: str
    response_code: str
    grpc_response_status: str
    response_flags: str


class TcpLabels(NamedTuple):
    """istio_tcp_*_bytes_total: `app` first (Kiali's order), the edge, then the flags."""

    app: str
    source_cluster: str
    source_workload_namespace: str
    source_workload: str
    source_canonical_service: str
    source_canonical_revision: str
    destination_cluster: str
    destination_service_namespace: str
    destination_service: str
    destination_service_name: str
    destination_workload_namespace: str
    destination_workload: str
    destination_canonical_service: str
    destination_canonical_revision: str
    response_flags: str


class ResponseTimeLabels(NamedTuple):
    """istio_request_duration_milliseconds: the edge and the protocol."""

    source_cluster: str
    source_workload_namespace: str
    source_workload: str
    source_canonical_service: str
    source_canonical_revision: str
    destination_cluster: str
    destination_service_namespace: str
    destination_service: str
    destination_service_name: str
    destination_workload_namespace: str
    destination_workload: str
    destination_canonical_service: str
    destination_canonical_revision: str
    request_protocol: str


class SecurityLabels(NamedTuple):
    """Destination-reported traffic by connection security policy and principals."""

    source_cluster: str
    source_workload_namespace: str
    source_workload: str
    source_canonical_service: str
    source_canonical_revision: str
    destination_cluster: str
    destination_service_namespace: str
    destination_service: str
    destination_service_name: str
    destination_workload_namespace: str
    destination_workload: str
    destination_canonical_service: str
    destination_canonical_revision: str
    request_protocol: str
    connection_security_policy: str
    source_principal: str
    destination_principal: str


class SecuredRequestLabels(NamedTuple):
    """istio_requests_total grouped as for traffic and security at once: RequestLabels,
    then the connection's security (the traffic sums those three away)."""

    source_cluster: str
    source_workload_namespace: str
    source_workload: str
    source_canonical_service: str
    source_canonical_revision: str
    destination_cluster: str
    destination_service_namespace: str
    destination_service: str
    destination_service_name: str
    destination_workload_namespace: str
    destination_workload: str
    destination_canonical_service: str
    destination_canonical_revision: str
    request_protocol: str
    response_code: str
    grpc_response_status: str
    response_flags: str
    connection_security_policy: str
    source_principal: str
    destination_principal: str


class SecuredTcpLabels(NamedTuple):
    """istio_tcp_*_bytes_total grouped as for traffic and security at once: TcpLabels, then
    the protocol and the connection's security (the traffic sums those four away)."""

    app: str
    source_cluster: str
    source_workload_namespace: str
    source_workload: str
    source_canonical_service: str
    source_canonical_revision: str
    destination_cluster: str
    destination_service_namespace: str
    destination_service: str
    destination_service_name: str
    destination_workload_namespace: str
    destination_workload: str
    destination_canonical_service: str
    destination_canonical_revision: str
    response_flags: str
    request_protocol: str
    connection_security_policy: str
    source_principal: str
    destination_principal: str


# Each record of both traffic and security, and the record its traffic reads (a prefix).
SECURED = {SecuredRequestLabels: RequestLabels, SecuredTcpLabels: TcpLabels}
for _secured, _plain in SECURED.items():
    if _secured._fields[:len(_plain._fields)] != _plain._fields or not set(
            SecurityLabels._fields) <= set(_secured._fields):
        raise ImportError(f"{_secured.__name__} is not {_plain.__name__} and SecurityLabels")

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
