"""What a service-graph series names: its two ends (and the broker between a producer and
its consumer), each a kind of node in a namespace.

A series' `client` and `server` are OpenTelemetry service names (`service.name`), or, for
an end that sends no spans of its own, the name the other end's span gives it (a database,
a peer attribute, "user" for an uninstrumented caller). `connection_type` says which:

- empty: a service calls a service (a client span paired with a server span);
- `database`: the server is a database (a client span with a db.* attribute);
- `messaging_system`: a producer's message reached a consumer through a broker, which
  Meshlens draws as a messaging node between them;
- `virtual_node`: one end is uninstrumented. Tempo's `virtual_node` label says which
  (`client` or `server`) when it is on; else a client named "user" (both producers'
  name for an uninstrumented caller) is the virtual end, and otherwise the server.

Namespaces come from the `client_service_namespace` / `server_service_namespace`
dimensions (the service.namespace resource attribute, prefixed by side); an instrumented
end without one is in the configured default namespace, and a peer without one is in the
namespace of the end that named it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from graph import ids

SERVICE = "service"  # an instrumented service: a node of the graph type's own kind
DATABASE, MESSAGING_SYSTEM, VIRTUAL_NODE = "database", "messaging_system", "virtual_node"
USER = "user"
BROKER = "messaging-system"  # the broker's name when no messaging.system dimension names it
PEER_TYPES = {DATABASE: ids.NODE_DATABASE, MESSAGING_SYSTEM: ids.NODE_MESSAGING,
              VIRTUAL_NODE: ids.NODE_VIRTUAL}
PEER_PREFIX = {ids.NODE_DATABASE: "db", ids.NODE_MESSAGING: "msg", ids.NODE_VIRTUAL: "virt"}


class EdgeLabels(NamedTuple):
    """The labels a series' edge is read from, in the order queries group by them."""

    client: str
    server: str
    connection_type: str
    client_service_namespace: str
    server_service_namespace: str
    virtual_node: str  # Tempo's enable_virtual_node_label: "client", "server" or empty
    client_messaging_system: str  # the producer's messaging.system dimension


@dataclass(frozen=True, slots=True)
class End:
    """One node a series names: SERVICE or a peer node type, its namespace and name."""

    kind: str
    namespace: str
    name: str


@dataclass(frozen=True, slots=True)
class Ends:
    client: End
    server: End
    broker: End | None = None  # messaging_system: the broker between producer and consumer


@lru_cache(maxsize=1 << 14)
def ends(labels: EdgeLabels, default_namespace: str) -> Ends | None:
    """The ends of a series' edge; None for a series that names no client or server."""
    if not labels.client or not labels.server:
        return None
    client_ns = labels.client_service_namespace
    server_ns = labels.server_service_namespace
    connection = labels.connection_type
    if connection == VIRTUAL_NODE and virtual_side(labels) == "client":
        server = End(SERVICE, server_ns or default_namespace, labels.server)
        client = End(ids.NODE_VIRTUAL, client_ns or server.namespace, labels.client)
        return Ends(client, server)
    client = End(SERVICE, client_ns or default_namespace, labels.client)
    if connection in (DATABASE, VIRTUAL_NODE):
        return Ends(client, End(PEER_TYPES[connection], server_ns or client.namespace,
                                labels.server))
    server = End(SERVICE, server_ns or default_namespace, labels.server)
    if connection == MESSAGING_SYSTEM:
        broker = End(ids.NODE_MESSAGING, client.namespace,
                     labels.client_messaging_system or BROKER)
        return Ends(client, server, broker)
    return Ends(client, server)


def virtual_side(labels: EdgeLabels) -> str:
    if labels.virtual_node in ("client", "server"):
        return labels.virtual_node
    return "client" if labels.client == USER else "server"
