"""Which nodes a Linkerd row names, by the rules the traffic and the appenders share.

- A workload is a Kubernetes owner: the pod's `deployment`, `statefulset` or `daemonset`
  label (the destination's `dst_deployment`, ...). A caller without one is drawn as the
  `unknown` node; so is every caller without a mesh identity (inbound series).
- App and version are the `app` and `version` pod labels. The caller's are on its own
  series; a destination's come from the series its own proxy reports (the `workloads`
  query), since outbound series name no destination pod labels. A workload without an
  `app` label is drawn as a workload node in app graphs too, as Kiali does.
- A service is `dst_service`; with service nodes injected it goes between caller and
  workload. A destination that is a service without a workload is a service node.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from graph import ids
from graph.prometheus import Row, read
from graph.sources.linkerd.labels import (
    OutboundLabels,
    PodLabels,
    RequestLabels,
    TcpLabels,
    UnmeshedLabels,
    workload_of,
)

# (cluster, service namespace, service, workload namespace, workload, app, version): the
# arguments of ids.node_id and traffic.place_node, without the graph type.
NodeLabels = tuple[str, str, str, str, str, str, str]
# (namespace, workload) -> (app, version)
Apps = dict[tuple[str, str], tuple[str, str]]
Path = tuple[tuple[ids.NodeId, NodeLabels], ...]

U = ids.UNKNOWN
UNKNOWN_SOURCE: NodeLabels = (U, U, "", U, U, U, U)


def apps_of(rows: Iterable[Row]) -> Apps:
    """The app and version of each workload, from the rows of the `workloads` query (the
    first seen of a workload's versions, during a rollout)."""
    apps: Apps = {}
    for key, _ in rows:
        pod = read(PodLabels, key)
        workload = pod and workload_of(pod.deployment, pod.statefulset, pod.daemonset)
        if pod and workload and pod.app:
            apps.setdefault((pod.namespace, workload), (pod.app, pod.version))
    return apps


def source_labels(cluster: str, namespace: str, workload: str, app: str,
                  version: str) -> NodeLabels:
    if not workload:
        return UNKNOWN_SOURCE
    return (cluster, namespace, "", namespace, workload, app, version)


def dest_labels(cluster: str, namespace: str, workload: str, service: str,
                apps: Apps) -> NodeLabels | None:
    """The destination's labels; None when the row names neither workload nor service."""
    if not workload:
        return (cluster, namespace, service, "", "", "", "") if service else None
    app, version = apps.get((namespace, workload), ("", ""))
    return (cluster, namespace, service, namespace, workload, app, version)


def outbound_ends(cluster: str, row: OutboundLabels | RequestLabels | TcpLabels,
                  apps: Apps) -> tuple[NodeLabels, NodeLabels | None]:
    """The caller and the destination an outbound row names."""
    source = source_labels(cluster, row.namespace, workload_of(
        row.deployment, row.statefulset, row.daemonset), row.app, row.version)
    dest = dest_labels(cluster, row.dst_namespace, workload_of(
        row.dst_deployment, row.dst_statefulset, row.dst_daemonset), row.dst_service, apps)
    return source, dest


def callee_labels(cluster: str, pod: PodLabels | UnmeshedLabels) -> NodeLabels | None:
    """The workload whose own proxy reported a row (inbound); None without one."""
    workload = workload_of(pod.deployment, pod.statefulset, pod.daemonset)
    if not workload:
        return None
    return (cluster, pod.namespace, "", pod.namespace, workload, pod.app, pod.version)


@lru_cache(maxsize=1 << 16)
def path_of(source: NodeLabels, dest: NodeLabels, graph_type: str, inject: bool) -> Path | None:
    """caller [-> service] -> destination: the nodes a row's traffic is drawn through;
    None for labels that name no node."""
    try:
        source_id = ids.node_id(*source, graph_type)
        dest_id = ids.node_id(*dest, graph_type)
        path: list[tuple[ids.NodeId, NodeLabels]] = [(source_id, source)]
        cluster, namespace, service = dest[:3]
        if inject and ids.is_ok(service) and dest_id.node_type != ids.NODE_SERVICE:
            labels: NodeLabels = (cluster, namespace, service, "", "", "", "")
            path.append((ids.node_id(*labels, graph_type), labels))
    except ids.NodeIdError:
        return None
    path.append((dest_id, dest))
    return tuple(path)


def target_id(target_namespace: str, workload: str, app: str, version: str, service: str,
              cluster: str, graph_type: str) -> str:
    """The id of a node graph's node, as the rows name it."""
    return ids.node_id(cluster, target_namespace, service, target_namespace, workload, app,
                       version, graph_type).id
