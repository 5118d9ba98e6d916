"""Ways to read the plan's ten request shares, side by side (bench/prometheus_profile.py
--candidates, issue 7's eighth round): Prometheus's CPU (/proc) for each way, and this
process's CPU to take its answers in (the fetch alone; decoding is measured apart, on
answers held, per response type), rounds interleaved.

The ways, from what Prometheus's profile shows (bench/README.md, "eighth round"):
- the plan: ten remote reads, SAMPLES, as many in flight as Meshlens sends (12);
- the same ten with two in flight (less of the answers alive at once: less to collect?);
- two reads (one per direction, every namespace), and one ReadRequest holding the ten
  queries (fewer requests: the per-request part of the cost);
- ten reads as STREAMED_XOR_CHUNKS (no samples decoded, no snappy; one frame, and one
  flush, per series), taken in through requests, and read off the socket whole (an HTTP
  client of a few lines, `Connection: close`, what de-chunking in compiled code would cost
  at most beside the socket's bytes).
"""

from __future__ import annotations

import os
import socket
import statistics
import time
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from bench import remote_read as rrb
from bench.graph_build import process_cpu_s
from bench.kiali_queries import NAMESPACES
from bench.live_mesh import log
from graph import remote_read as rr
from graph.options import GraphOptions, MeshConfig
from graph.promql import Matcher


def ten_in_one(shares: list[rrb.Share], start_ms: int, end_ms: int,
               response_type: int) -> bytes:
    """One snappy-compressed ReadRequest holding a query per share."""
    import cramjam

    queries = b""
    for share in shares:
        every = (Matcher("__name__", "=", rr_metric()), *share.matchers)
        query = (rr.field(1, start_ms) + rr.field(2, end_ms)
                 + b"".join(rr.field(3, rr._matcher(m)) for m in every))
        queries += rr.field(1, query)
    return bytes(cramjam.snappy.compress_raw(queries + rr.field(2, response_type)))


def rr_metric() -> str:
    from graph.sources.istio import queries as istio

    return istio.REQUESTS


def raw_post(url: str, body: bytes) -> int:
    """POST a ReadRequest over a plain socket, read the answer to EOF: its byte count."""
    parts = urlsplit(url)
    head = (f"POST /api/v1/read HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in rr.HEADERS.items()) + "\r\n").encode()
    size = 0
    buffer = bytearray(1 << 20)
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.sendall(head + body)
        while True:
            # MSG_WAITALL: one wake-up per MiB, not one per frame (Prometheus flushes
            # each series' frame on its own).
            got = sock.recv_into(buffer, flags=socket.MSG_WAITALL)
            if not got:
                return size
            size += got


def faults_and_system(pid: int) -> tuple[int, float]:
    """Prometheus's minor page faults and system CPU seconds so far (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[7]), int(fields[12]) / os.sysconf("SC_CLK_TCK")


def compare(url: str, pid: int, at: int, duration: int, rounds: int, pause: float = 0.0,
            only: Sequence[str] = ()) -> None:
    """The ways side by side; `only`: the ways whose names hold one of these; `pause`:
    seconds idle before each run (a refresh period)."""
    options = GraphOptions(namespaces=NAMESPACES, query_time=at, duration=duration)
    mesh = MeshConfig()
    shares = rrb.shares(options, mesh)
    two = rrb.whole_shares(options, mesh)
    bench = rrb.Bench(url, pid, at, duration)

    def parallel(run: Callable[[object], object], items: list, width: int) -> list:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=width) as pool:
            return list(pool.map(run, items))

    def one_request() -> int:
        request = ten_in_one(shares, bench.start_ms, bench.end_ms, rr.SAMPLES)
        return len(rr.post_read(bench.session, url, request, timeout=600)[1])

    def raw_chunks(share: rrb.Share) -> int:
        return raw_post(url, rr.read_request(rr_metric(), share.matchers, bench.start_ms,
                                             bench.end_ms, rr.STREAMED_XOR_CHUNKS))

    ways: dict[str, Callable[[], object]] = {
        "ten reads, SAMPLES, 12 in flight (the plan)": lambda: parallel(
            lambda s: bench.remote(s, rr.SAMPLES), shares, 12),
        **{f"ten reads, SAMPLES, {n} in flight": (lambda n=n: parallel(
            lambda s: bench.remote(s, rr.SAMPLES), shares, n)) for n in (1, 2, 3, 4)},
        "two reads, SAMPLES": lambda: parallel(lambda s: bench.remote(s, rr.SAMPLES), two, 2),
        "one request of ten queries, SAMPLES": one_request,
        "ten reads, XOR chunks, requests": lambda: parallel(
            lambda s: bench.remote(s, rr.STREAMED_XOR_CHUNKS), shares, 12),
        "ten reads, XOR chunks, socket read whole": lambda: parallel(raw_chunks, shares, 12),
    }
    if only:
        ways = {name: run for name, run in ways.items() if any(o in name for o in only)}
    for run in ways.values():  # warm-up
        run()
    got: dict[str, list[tuple[float, ...]]] = {name: [] for name in ways}
    for round_no in range(rounds):
        # Each way's CPU depends on the one before it (the heap Go's collector paces from:
        # in one fixed order the plan's way, run after the socket reads, showed 4.2-4.5 s
        # against 3.1-3.5 s in alternating pairs), so every other round runs backwards.
        names = list(ways)
        for name in names if round_no % 2 == 0 else names[::-1]:
            time.sleep(pause)
            faults, system = faults_and_system(pid)
            cpu, mine, start = process_cpu_s(pid), time.process_time(), time.perf_counter()
            ways[name]()
            after = faults_and_system(pid)
            got[name].append((time.perf_counter() - start, process_cpu_s(pid) - cpu,
                              time.process_time() - mine, after[0] - faults,
                              after[1] - system))
    log(f"the ten shares, median of {rounds} rounds (interleaved, every other one backwards, "
        f"{pause:g} s idle before each): wall, Prometheus CPU (its page faults and system "
        "CPU), this process's CPU for the fetch")
    for name, times in got.items():
        wall, prom, mine, faults, system = (statistics.median(t[i] for t in times)
                                            for i in range(5))
        log(f"  {name:44s} {wall * 1000:6.0f} ms  {prom * 1000:6.0f} ms ({faults:7.0f} "
            f"faults, {system * 1000:4.0f} ms system)  {mine * 1000:6.0f} ms")
    for kind, label in ((rr.SAMPLES, "SAMPLES"), (rr.STREAMED_XOR_CHUNKS, "XOR chunks")):
        answers = [bench.remote(s, kind) for s in shares]
        cpu = []
        for _ in range(rounds):
            mine = time.process_time()
            for answer, share in zip(answers, shares, strict=True):
                bench.rows(answer, share.labels)
            cpu.append(time.process_time() - mine)
        log(f"  {label}: {sum(len(a[1]) for a in answers) / 1e6:.1f} MB; decode, rates "
            f"and sums of the ten answers held: {statistics.median(cpu) * 1000:.0f} ms")


def share_ways(url: str, pid: int, at: int, duration: int) -> dict[str, Callable[[], object]]:
    """The ten shares as instant PromQL and as XOR chunks, 12 in flight (for profiles)."""
    options = GraphOptions(namespaces=NAMESPACES, query_time=at, duration=duration)
    shares = rrb.shares(options, MeshConfig())
    bench = rrb.Bench(url, pid, at, duration)
    return {
        "instant": lambda: bench.parallel(lambda s: bench.instant(s.promql), shares),
        "chunks": lambda: bench.parallel(
            lambda s: bench.remote(s, rr.STREAMED_XOR_CHUNKS), shares),
    }
