"""Node identity, following Kiali's rules so that ids match Kiali's byte for byte.

A node's internal id is a readable string such as ``wl_east_bookinfo_reviews-v2``; the
id in the JSON is the SHA-256 hex of it. An edge's JSON id hashes the two node hashes
and the protocol.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import NamedTuple

UNKNOWN = "unknown"

WORKLOAD = "workload"
APP = "app"
VERSIONED_APP = "versionedApp"
SERVICE = "service"
GRAPH_TYPES = (WORKLOAD, APP, VERSIONED_APP, SERVICE)

NODE_APP = "app"
NODE_SERVICE = "service"
NODE_WORKLOAD = "workload"
NODE_UNKNOWN = "unknown"
NODE_BOX = "box"
# Peers that trace-derived service graphs name but that send no spans of their own.
NODE_DATABASE = "database"
NODE_MESSAGING = "messaging"
NODE_VIRTUAL = "virtual"
PEER_NODE_TYPES = (NODE_DATABASE, NODE_MESSAGING, NODE_VIRTUAL)


class NodeIdError(ValueError):
    """The telemetry names no workload, app or service: no node can be made of it."""


def is_ok(value: str) -> bool:
    return value != "" and value != UNKNOWN


def is_ok_version(value: str) -> bool:
    return is_ok(value) and value != "latest"


class NodeId(NamedTuple):
    id: str
    node_type: str


def node_id(
    cluster: str,
    service_ns: str,
    service: str,
    workload_ns: str,
    workload: str,
    app: str,
    version: str,
    graph_type: str,
) -> NodeId:
    """The internal id and node type of the node these labels name in this graph type.

    >>> node_id("east", "bookinfo", "", "bookinfo", "reviews-v2", "reviews", "v2", "workload")
    NodeId(id='wl_east_bookinfo_reviews-v2', node_type='workload')
    """
    namespace = workload_ns if is_ok(workload_ns) else service_ns
    if namespace == UNKNOWN and workload == UNKNOWN and app == UNKNOWN and service == "":
        return NodeId(f"{cluster}_unknown_source", NODE_UNKNOWN)
    if workload == UNKNOWN and app == UNKNOWN and service == UNKNOWN:
        return NodeId(f"svc_{cluster}_{namespace}_unknown", NODE_SERVICE)

    workload_ok, app_ok, service_ok = is_ok(workload), is_ok(app), is_ok(service)
    if not (workload_ok or app_ok or service_ok):
        raise NodeIdError(
            f"no workload, app or service in cluster={cluster} namespace={namespace}"
        )
    if graph_type in (WORKLOAD, SERVICE):
        if workload_ok:
            return NodeId(f"wl_{cluster}_{namespace}_{workload}", NODE_WORKLOAD)
        name = service if service_ok else UNKNOWN
        return NodeId(f"svc_{cluster}_{namespace}_{name}", NODE_SERVICE)
    if app_ok:
        if graph_type == VERSIONED_APP:
            if workload_ok:
                return NodeId(f"vapp_{cluster}_{namespace}_{workload}", NODE_APP)
            if is_ok_version(version):
                return NodeId(f"vapp_{cluster}_{namespace}_{app}_{version}", NODE_APP)
        return NodeId(f"app_{cluster}_{namespace}_{app}", NODE_APP)
    if workload_ok:
        return NodeId(f"wl_{cluster}_{namespace}_{workload}", NODE_WORKLOAD)
    return NodeId(f"svc_{cluster}_{namespace}_{service}", NODE_SERVICE)


# Hashes are cached across builds: a mesh shows the same nodes and edges tick after tick.
@lru_cache(maxsize=1 << 17)
def hash_id(internal_id: str) -> str:
    return hashlib.sha256(internal_id.encode()).hexdigest()


@lru_cache(maxsize=1 << 18)
def edge_hash(source_hash: str, target_hash: str, protocol: str) -> str:
    return hashlib.sha256(f"{source_hash}.{target_hash}.{protocol}".encode()).hexdigest()
