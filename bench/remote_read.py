"""Remote read for the query plan's big request queries, measured (issue 7, sixth round).

    .venv/bin/python bench/remote_read.py --keep DIR [--workloads 1000] [--rounds 5]

On api_timeline.py's mesh (`--keep DIR` reuses a kept data set, else it is backfilled),
for the ten request shares of the Istio plan (inbound and outbound, 5 shares each:
graph/sources/istio/queries.py):
1. exactness: each share's rows from remote read (graph/remote_read.py: samples decoded,
   rates and `sum by` the row key computed here) against the instant query's rows, for
   response type SAMPLES and STREAMED_XOR_CHUNKS: rows missing or extra, values not
   bit for bit equal, rows in another order;
2. Prometheus's CPU (/proc/PID/stat) and bytes, rounds interleaved: the ten shares as
   instant queries (as Meshlens sends them, 12 in flight), as remote reads of each
   response type, Meshlens's whole batch, and Kiali's per-namespace set;
3. Meshlens's CPU for the shares, in this process: the instant answers fetched and
   parsed (orjson, rows) against the remote answers fetched, decoded, rated and summed,
   and the parts alone;
4. (`--designs`, issue 7's seventh round) two more designs for Prometheus's part: the
   shares read as two remote reads (one per direction, every namespace: fewer, bigger
   requests) instead of ten, and the XOR chunks' answer read off the socket whole
   (urllib3's raw read) instead of through requests' 10 kB iterations;
5. the projected API / Kiali ratio: (Prometheus for the batch with the shares by remote
   read + Meshlens's CPU per GET with the shares' parse swapped for the remote path) /
   Kiali's set, with Meshlens's CPU per GET now given by --meshlens-cpu (default: the
   figure api_timeline.py measured on the same kept data, MESHLENS_CPU_S).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import orjson
import requests
from requests.adapters import HTTPAdapter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api_timeline import mesh_prometheus  # noqa: E402
from bench.graph_build import process_cpu_s  # noqa: E402
from bench.live_mesh import log  # noqa: E402
from bench.live_scale import NAMESPACES, kiali_queries  # noqa: E402
from graph import remote_read as rr  # noqa: E402
from graph.build import plan  # noqa: E402
from graph.options import GraphOptions, MeshConfig  # noqa: E402
from graph.prometheus import MAX_PARALLEL, read_vector  # noqa: E402
from graph.promql import Matcher, any_of  # noqa: E402
from graph.sources.istio import queries as istio  # noqa: E402

# Meshlens's CPU per GET now, seconds: api_timeline.py's "Meshlens CPU" on the same kept
# data (1,000 workloads: this round, main at daebb5d; 10,000: the fifth round's 3.9-4.5 s).
MESHLENS_CPU_S = {1000: 0.28, 10000: 4.2}


@dataclass(frozen=True)
class Share:
    """One big request query: its PromQL as the plan sends it, its series' matchers
    and the labels of its row key."""

    kind: str
    promql: str
    matchers: tuple[Matcher, ...]
    labels: tuple[str, ...]


def shares(options: GraphOptions, mesh: MeshConfig) -> list[Share]:
    out = []
    metric = istio.REQUESTS
    record = istio.secured_record(metric)
    assert record is not None
    for share in istio.shares(metric, options.namespaces):
        out.append(Share("inbound", istio.secured_inbound(metric, options, mesh, share),
                         (*mesh.scope().matchers,
                          *istio.inbound_matchers(metric, options, share)),
                         record._fields))
    for share in istio.shares(metric, options.namespaces):
        query = istio.promql(metric, (istio.reporter("source", options.rates),
                                      any_of("source_workload_namespace", share)),
                             options, mesh)
        out.append(Share("outbound", query.promql,
                         (*mesh.scope().matchers, istio.reporter("source", options.rates),
                          any_of("source_workload_namespace", share)),
                         istio.labels_for(metric)))
    return out


class Bench:
    def __init__(self, url: str, pid: int, at: int, duration: int) -> None:
        self.url, self.pid, self.at, self.duration = url, pid, at, duration
        self.session = requests.Session()
        self.session.mount("http://", HTTPAdapter(pool_maxsize=MAX_PARALLEL))
        self.session.headers["Accept-Encoding"] = "identity"
        # The window the rates read: [at - duration, at], both ends included (2.42).
        self.end_ms = at * 1000
        self.start_ms = self.end_ms - duration * 1000

    def instant(self, promql: str) -> bytes:
        response = self.session.post(f"{self.url}/api/v1/query",
                                     data={"query": promql, "time": str(self.at)},
                                     timeout=600)
        response.raise_for_status()
        return response.content

    def remote(self, share: Share, response_type: int) -> tuple[str, bytes]:
        request = rr.read_request(istio.REQUESTS, share.matchers, self.start_ms,
                                  self.end_ms, response_type)
        return rr.post_read(self.session, self.url, request, timeout=600)

    def remote_raw(self, share: Share, response_type: int) -> tuple[str, bytes]:
        """remote(), the body read off the socket in one call (no 10 kB iterations)."""
        request = rr.read_request(istio.REQUESTS, share.matchers, self.start_ms,
                                  self.end_ms, response_type)
        response = self.session.post(f"{self.url}/api/v1/read", data=request,
                                     headers=rr.HEADERS, timeout=600, stream=True)
        response.raise_for_status()
        return response.headers.get("Content-Type", ""), response.raw.read()

    def parallel(self, run: Callable[[object], object], items: Sequence[object]) -> list:
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(items))) as pool:
            return list(pool.map(run, items))

    def timed(self, run: Callable[[], object]) -> tuple[float, float, object]:
        cpu, start = process_cpu_s(self.pid), time.perf_counter()
        got = run()
        return time.perf_counter() - start, process_cpu_s(self.pid) - cpu, got

    def kiali(self) -> None:
        def namespace(ns: str) -> None:
            with requests.Session() as session:
                for promql in kiali_queries(ns, self.duration):
                    session.post(f"{self.url}/api/v1/query",
                                 data={"query": promql, "time": str(self.at)},
                                 headers={"Accept-Encoding": "gzip"},
                                 timeout=600).raise_for_status()

        with ThreadPoolExecutor(max_workers=len(NAMESPACES)) as pool:
            list(pool.map(namespace, NAMESPACES))

    def rows(self, answer: tuple[str, bytes], labels: tuple[str, ...]) -> dict[str, float]:
        series = rr.decode(*answer, mint=self.start_ms, maxt=self.end_ms)
        return rr.rate_sums(series, labels, at_ms=self.end_ms,
                            range_ms=self.end_ms - self.start_ms)


def whole_shares(options: GraphOptions, mesh: MeshConfig) -> list[Share]:
    """The ten shares as two: inbound and outbound over every namespace."""
    out: list[Share] = []
    for share in shares(options, mesh):
        if out and out[-1].kind == share.kind:
            continue
        label = share.matchers[-1].label
        out.append(Share(share.kind, "", (*share.matchers[:-1],
                                          any_of(label, options.namespaces)), share.labels))
    return out


def designs(bench: Bench, plan_shares: list[Share], two: list[Share], rounds: int) -> None:
    """Prometheus's CPU for the shares as ten remote reads and as two; Meshlens's for the
    chunks read through requests and read raw."""
    runs: dict[str, Callable[[], object]] = {
        "ten reads, SAMPLES": lambda: bench.parallel(
            lambda s: bench.remote(s, rr.SAMPLES), plan_shares),
        "two reads, SAMPLES": lambda: bench.parallel(lambda s: bench.remote(s, rr.SAMPLES), two),
        "ten reads, XOR chunks": lambda: bench.parallel(
            lambda s: bench.remote(s, rr.STREAMED_XOR_CHUNKS), plan_shares),
        "two reads, XOR chunks": lambda: bench.parallel(
            lambda s: bench.remote(s, rr.STREAMED_XOR_CHUNKS), two),
    }
    got: dict[str, list[tuple[float, float]]] = {}
    for _ in range(rounds):
        for name, run in runs.items():
            wall, cpu, _ = bench.timed(run)
            got.setdefault(name, []).append((wall, cpu))
    log(f"designs, Prometheus (median of {rounds} rounds, interleaved): wall, CPU")
    for name, times in got.items():
        log(f"  {name:24s} {statistics.median(t[0] for t in times) * 1000:7.0f} ms "
            f"{statistics.median(t[1] for t in times) * 1000:7.0f} ms CPU")
    mine: dict[str, list[float]] = {}
    for _ in range(rounds):
        for name, fetch in (("chunks via requests", bench.remote),
                            ("chunks read raw", bench.remote_raw)):
            start = time.process_time()
            bench.parallel(lambda s, f=fetch: bench.rows(f(s, rr.STREAMED_XOR_CHUNKS),
                                                         s.labels), plan_shares)
            mine.setdefault(name, []).append(time.process_time() - start)
    for name, times in mine.items():
        log(f"  Meshlens, {name}: fetch, decode, rates, sums "
            f"{statistics.median(times) * 1000:7.1f} ms CPU")


def instant_rows(body: bytes, labels: tuple[str, ...]) -> dict[str, float]:
    return dict(read_vector(orjson.loads(body)["data"], labels, True))


def compare(name: str, got: dict[str, float], want: dict[str, float]) -> tuple[int, float]:
    """(rows that differ, the largest relative difference) of remote against instant."""
    missing, extra = want.keys() - got.keys(), got.keys() - want.keys()
    differ = [k for k in want.keys() & got.keys() if got[k] != want[k]]
    if list(got) != list(want):
        log(f"  {name}: the rows come in another order than the instant query's")
    worst = max((abs(got[k] - want[k]) / max(abs(want[k]), 1e-300) for k in differ),
                default=0.0)
    log(f"  {name}: {len(want)} rows, {len(missing)} missing, {len(extra)} extra, "
        f"{len(differ)} differ (largest relative difference {worst:.3g})")
    return len(missing) + len(extra) + len(differ), worst


def exactness(bench: Bench, plan_shares: list[Share]) -> None:
    log("exactness: remote read's rows against the instant queries', every share")
    for response_type, name in ((rr.SAMPLES, "SAMPLES"),
                                (rr.STREAMED_XOR_CHUNKS, "STREAMED_XOR_CHUNKS")):
        total = rows = 0
        for share in plan_shares:
            want = instant_rows(bench.instant(share.promql), ())
            got = bench.rows(bench.remote(share, response_type), share.labels)
            rows += len(want)
            total += compare(f"{name} {share.kind} {share.matchers[-1].value[:30]}",
                             got, want)[0]
        log(f"{name}: {total} of {rows} rows differ from the instant queries'")


def meshlens_cpu(bench: Bench, plan_shares: list[Share], rounds: int) -> dict[str, float]:
    """Median CPU seconds of this process for the ten shares' answers (already fetched):
    parsed as now, and decoded + rated + summed for each response type."""
    instant = [bench.instant(s.promql) for s in plan_shares]
    out: dict[str, list[float]] = {}

    def clock(name: str, run: Callable[[], object]) -> None:
        start = time.process_time()
        run()
        out.setdefault(name, []).append(time.process_time() - start)

    answers = {name: [bench.remote(s, kind) for s in plan_shares]
               for kind, name in ((rr.SAMPLES, "samples"),
                                  (rr.STREAMED_XOR_CHUNKS, "chunks"))}
    kinds = {"samples": rr.SAMPLES, "chunks": rr.STREAMED_XOR_CHUNKS}
    for _ in range(rounds):
        clock("instant: fetch, orjson, rows", lambda: bench.parallel(
            lambda s: instant_rows(bench.instant(s.promql), ()), plan_shares))
        for name, kind in kinds.items():
            clock(f"{name}: fetch, decode, rates, sums", lambda k=kind: bench.parallel(
                lambda s: bench.rows(bench.remote(s, k), s.labels), plan_shares))
        clock("instant: orjson + rows", lambda: [instant_rows(b, ()) for b in instant])
        for name, got in answers.items():
            clock(f"{name}: decode, rates, sums", lambda g=got: [
                bench.rows(a, s.labels) for a, s in zip(g, plan_shares, strict=True)])
            clock(f"{name}: decode only", lambda g=got: [
                rr.decode(*a, mint=bench.start_ms, maxt=bench.end_ms) for a in g])
            series = [rr.decode(*a, mint=bench.start_ms, maxt=bench.end_ms) for a in got]
            clock(f"{name}: row keys only", lambda g=series: [
                rr.row_keys(x, s.labels) for x, s in zip(g, plan_shares, strict=True)])
    return {name: statistics.median(times) for name, times in out.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", help="keep (and reuse) the backfilled blocks here")
    parser.add_argument("--designs", action="store_true",
                        help="only the designs of point 4 (and the exactness of two reads)")
    parser.add_argument("--meshlens-cpu", type=float, help="Meshlens's CPU seconds per GET "
                        "now (default: bench/README.md's figure for 1,000 or 10,000)")
    args = parser.parse_args()
    with ExitStack() as exits:
        server, _, at, duration = mesh_prometheus(args, exits)
        options = GraphOptions(namespaces=NAMESPACES, query_time=at, duration=duration)
        mesh = MeshConfig()
        plan_shares = shares(options, mesh)
        batch = list(dict.fromkeys(q.promql for q in plan(options, mesh).batch()))
        bench = Bench(server.url, int(server.pid or 0), at, duration)
        if args.designs:
            two = whole_shares(options, mesh)
            for share in two:
                ten = {}
                for part in plan_shares:
                    if part.kind == share.kind:
                        ten |= bench.rows(bench.remote(part, rr.SAMPLES), part.labels)
                whole = bench.rows(bench.remote(share, rr.SAMPLES), share.labels)
                log(f"two reads: {share.kind} rows equal the ten's: {whole == ten}")
            designs(bench, plan_shares, two, args.rounds)
            return 0
        exactness(bench, plan_shares)
        prometheus_side(bench, plan_shares, batch, args)
        cpu = meshlens_cpu(bench, plan_shares, args.rounds)
        log("Meshlens CPU for the ten shares' answers (median):")
        for name, seconds in cpu.items():
            log(f"  {name:28s} {seconds * 1000:7.1f} ms")
        project(args, cpu)
    return 0


PROMETHEUS: dict[str, list[tuple[float, float, int]]] = {}


def prometheus_side(bench: Bench, plan_shares: list[Share], batch: list[str],
                    args: argparse.Namespace) -> None:
    others = [q for q in batch if q not in {s.promql for s in plan_shares}]
    runs: dict[str, Callable[[], object]] = {
        "shares, instant queries": lambda: sum(map(len, bench.parallel(
            lambda s: bench.instant(s.promql), plan_shares))),
        "shares, remote SAMPLES": lambda: sum(len(a[1]) for a in bench.parallel(
            lambda s: bench.remote(s, rr.SAMPLES), plan_shares)),
        "shares, remote XOR chunks": lambda: sum(len(a[1]) for a in bench.parallel(
            lambda s: bench.remote(s, rr.STREAMED_XOR_CHUNKS), plan_shares)),
        "the rest of the batch": lambda: sum(map(len, bench.parallel(bench.instant, others))),
        "whole batch, instant": lambda: sum(map(len, bench.parallel(bench.instant, batch))),
        "Kiali's set": lambda: bench.kiali() or 0,
    }
    for run in runs.values():  # warm-up
        run()
    for _ in range(args.rounds):
        for name, run in runs.items():
            wall, cpu, size = bench.timed(run)
            PROMETHEUS.setdefault(name, []).append((wall, cpu, int(size)))  # type: ignore[call-overload]
    log(f"Prometheus, median of {args.rounds} rounds (interleaved): wall, CPU, bytes")
    for name, got in PROMETHEUS.items():
        log(f"  {name:28s} {statistics.median(g[0] for g in got) * 1000:7.0f} ms "
            f"{statistics.median(g[1] for g in got) * 1000:7.0f} ms CPU "
            f"{got[0][2] / 1e6:7.2f} MB")


def project(args: argparse.Namespace, cpu: dict[str, float]) -> None:
    def median_cpu(name: str) -> float:
        return statistics.median(g[1] for g in PROMETHEUS[name])

    kiali = median_cpu("Kiali's set")
    rest = median_cpu("the rest of the batch")
    now = args.meshlens_cpu or MESHLENS_CPU_S.get(args.workloads, MESHLENS_CPU_S[1000])
    parse_now = cpu["instant: fetch, orjson, rows"]
    log(f"projection (CPU, seconds): Kiali's set {kiali:.3f}; Meshlens per GET now "
        f"{now:.3f}, of which the shares' fetch and parse {parse_now:.3f}")
    present = (median_cpu("whole batch, instant") + now) / kiali
    log(f"  now: (Prometheus {median_cpu('whole batch, instant'):.3f} + Meshlens {now:.3f})"
        f" / {kiali:.3f} = {present:.2f}")
    for name, label in (("samples", "shares, remote SAMPLES"),
                        ("chunks", "shares, remote XOR chunks")):
        prometheus = rest + median_cpu(label)
        meshlens = now - parse_now + cpu[f"{name}: fetch, decode, rates, sums"]
        log(f"  remote read {name}: (Prometheus {rest:.3f} + "
            f"{median_cpu(label):.3f} + Meshlens {meshlens:.3f}) / {kiali:.3f} = "
            f"{(prometheus + meshlens) / kiali:.2f}")


if __name__ == "__main__":
    sys.exit(main())
