"""Linkerd telemetry for tests: pods, and the series their proxies write for an edge.

    web = Pod("emojivoto", "web", service="web-svc")
    series = request_edge(vote_bot, web, {"200": 9.0, "500": 1.0})

An edge between two meshed pods is written as both proxies write it: outbound by the
caller's (naming the destination by `dst_*` labels), inbound by the callee's (naming no
caller). A caller without a proxy writes nothing: `unmeshed_edge` is the callee's inbound
series alone, without a TLS identity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Series = dict[str, Any]


@dataclass(frozen=True)
class Pod:
    namespace: str
    workload: str
    app: str = ""  # the `app` pod label; empty: none
    version: str = ""
    service: str = ""  # the Kubernetes service in front of it
    kind: str = "deployment"  # the owner's kind: deployment, statefulset, daemonset

    def own(self) -> dict[str, str]:
        """The labels Prometheus adds to the series of this pod's proxy."""
        labels = {"namespace": self.namespace, self.kind: self.workload,
                  "pod": f"{self.workload}-5b7f5657f6-xbjjw"}
        if self.app:
            labels["app"] = self.app
        if self.version:
            labels["version"] = self.version
        return labels

    def dst(self) -> dict[str, str]:
        """The labels the caller's proxy gets for this pod as a destination."""
        labels = {"dst_namespace": self.namespace, f"dst_{self.kind}": self.workload}
        if self.service:
            labels["dst_service"] = self.service
        return labels

    def authority(self) -> str:
        return f"{self.service}.{self.namespace}.svc.cluster.local:8080"


def outcome(code: str) -> dict[str, str]:
    """The response labels of a code: "200", "503", or gRPC's "grpc:14"."""
    if code.startswith("grpc:"):
        status = code[5:]
        return {"status_code": "200", "grpc_status_code": status,
                "classification": "success" if status == "0" else "failure"}
    return {"status_code": code,
            "classification": "failure" if code.startswith("5") else "success"}


def request_edge(src: Pod, dst: Pod, codes: dict[str, float], tls: bool = True,
                 ) -> list[Series]:
    """response_total and request_total of one edge, {code: rate}, both proxies."""
    identity = ({"tls": "true", "server_id": f"{dst.workload}.{dst.namespace}.serviceaccount"
                 ".identity.linkerd.cluster.local"}
                if tls else {"tls": "no_identity", "no_tls_reason": "not_provided_by_remote"})
    client = ({"tls": "true", "client_id": f"{src.workload}.{src.namespace}.serviceaccount"
               ".identity.linkerd.cluster.local"}
              if tls else {"tls": "no_identity", "no_tls_reason": "not_provided_by_remote"})
    common = {"authority": dst.authority()}
    out = []
    for code, rate in codes.items():
        out.append({"metric": "response_total", "rate": rate,
                    "labels": src.own() | dst.dst() | common | identity | outcome(code)
                    | {"direction": "outbound"}})
        out.append({"metric": "response_total", "rate": rate,
                    "labels": dst.own() | common | client | outcome(code)
                    | {"direction": "inbound"}})
    total = sum(codes.values())
    out.append({"metric": "request_total", "rate": total,
                "labels": src.own() | dst.dst() | common | identity | {"direction": "outbound"}})
    out.append({"metric": "request_total", "rate": total,
                "labels": dst.own() | common | client | {"direction": "inbound"}})
    return out


def unmeshed_edge(dst: Pod, codes: dict[str, float]) -> list[Series]:
    """What the callee's proxy writes of a caller without a proxy (no TLS identity)."""
    labels = dst.own() | {"direction": "inbound", "tls": "no_identity",
                          "no_tls_reason": "not_provided_by_remote",
                          "authority": dst.authority()}
    return [{"metric": "response_total", "rate": rate, "labels": labels | outcome(code)}
            for code, rate in codes.items()]


def latency(src: Pod | None, dst: Pod, buckets: dict[str, float], sum_ms: float,
            ) -> list[Series]:
    """response_latency_ms of one edge: requests/s in each cumulative bucket {le: rate}
    (the last "+Inf", also the _count) and milliseconds/s in _sum; from the caller's proxy
    (outbound) and the callee's (inbound), or the callee's alone for an unmeshed caller
    (src None)."""
    name = "response_latency_ms"
    sides = [dst.own() | {"direction": "inbound", "tls": "true" if src else "no_identity"}]
    if src is not None:
        sides.append(src.own() | dst.dst() | {"direction": "outbound", "tls": "true"})
    out = []
    for side in sides:
        labels = side | {"authority": dst.authority(), "status_code": "200"}
        out += [{"metric": f"{name}_bucket", "labels": labels | {"le": le}, "rate": rate}
                for le, rate in buckets.items()]
        out += [{"metric": f"{name}_sum", "labels": labels, "rate": sum_ms},
                {"metric": f"{name}_count", "labels": labels, "rate": buckets["+Inf"]}]
    return out


def tcp_edge(src: Pod, dst: Pod, sent: float, received: float, tls: bool = True,
             ) -> list[Series]:
    """tcp_write_bytes_total and tcp_read_bytes_total of the connections of one edge, in
    bytes/s the caller sent and received, as both proxies count them."""
    tls_labels = {"tls": "true"} if tls else {"tls": "no_identity"}
    outbound = src.own() | dst.dst() | tls_labels | {"direction": "outbound", "peer": "dst"}
    inbound = dst.own() | tls_labels | {"direction": "inbound", "peer": "src"}
    return [
        {"metric": "tcp_write_bytes_total", "labels": outbound, "rate": sent},
        {"metric": "tcp_read_bytes_total", "labels": outbound, "rate": received},
        {"metric": "tcp_read_bytes_total", "labels": inbound, "rate": sent},
        {"metric": "tcp_write_bytes_total", "labels": inbound, "rate": received},
    ]


def unmeshed_tcp(dst: Pod, sent: float, received: float) -> list[Series]:
    """What the callee's proxy counts of the connections of a caller without a proxy."""
    labels = dst.own() | {"direction": "inbound", "peer": "src", "tls": "no_identity"}
    return [{"metric": "tcp_read_bytes_total", "labels": labels, "rate": sent},
            {"metric": "tcp_write_bytes_total", "labels": labels, "rate": received}]


VOTE_BOT = Pod("emojivoto", "vote-bot", "vote-bot", "v11")
WEB = Pod("emojivoto", "web", "web-app", "v11", service="web-svc")
EMOJI = Pod("emojivoto", "emoji", "emoji-api", "v11", service="emoji-svc")
VOTING = Pod("emojivoto", "voting", "voting-api", "v11", service="voting-svc")
VOTING_V0 = Pod("emojivoto", "voting-v0", "voting-api", "v10", service="voting-old")
REDIS = Pod("emojivoto", "redis", kind="statefulset", service="redis-svc")


def emojivoto() -> list[Series]:
    """Linkerd's emojivoto demo at fixed rates.

    vote-bot -> web-svc -> web (10/s HTTP: 1/s 500)
    (unmeshed) -> web (2/s HTTP)
    web -> emoji-svc -> emoji (5/s gRPC)
    web -> voting-svc -> voting (4/s gRPC: 1/s UNAVAILABLE; half of it without mTLS)
    vote-bot -> emoji-svc -> emoji (1/s gRPC)
    web -> redis-svc -> redis (TCP, 1000 B/s sent, 4000 B/s received)
    web -> voting-old -> voting-v0: series from an earlier rollout, no traffic now
    (unmeshed) -> redis (TCP, 200 B/s sent, 100 B/s received); web <-> emoji
    connections also counted as TCP (500 B/s), as Linkerd counts every connection
    """
    return (
        request_edge(VOTE_BOT, WEB, {"200": 9.0, "500": 1.0})
        + unmeshed_edge(WEB, {"200": 2.0})
        + request_edge(WEB, EMOJI, {"grpc:0": 5.0})
        + request_edge(WEB, VOTING, {"grpc:0": 2.0})
        + request_edge(WEB, VOTING, {"grpc:0": 1.0, "grpc:14": 1.0}, tls=False)
        + request_edge(VOTE_BOT, EMOJI, {"grpc:0": 1.0})
        + tcp_edge(WEB, REDIS, sent=1000.0, received=4000.0)
        + tcp_edge(WEB, EMOJI, sent=500.0, received=500.0)
        + unmeshed_tcp(REDIS, sent=200.0, received=100.0)
        + request_edge(WEB, VOTING_V0, {"grpc:0": 0.0})
        # vote-bot -> web: 8 of 10 requests/s under 100 ms, all under 200 ms: p95 175 ms, avg 130
        + latency(VOTE_BOT, WEB, {"100": 8.0, "200": 10.0, "+Inf": 10.0}, sum_ms=1300.0)
        # unmeshed -> web: all under 50 ms: p95 47.5 ms, avg 20
        + latency(None, WEB, {"50": 2.0, "100": 2.0, "+Inf": 2.0}, sum_ms=40.0)
    )
