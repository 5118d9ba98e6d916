"""A real Prometheus on deterministic, backfilled data.

Series are given in the shape of the Kiali fixtures' series.json::

    {"metric": "istio_requests_total", "labels": {"reporter": "source", ...}, "rate": 2.5}

Each becomes a linear counter sampled every 15 s from `query_time - 7200` to
`query_time + 600`, so `rate(m[600s])` evaluated at `query_time` is exactly `rate`
(Prometheus 2.x has samples at both ends of the window and does not extrapolate).
A big data set that is only read over short windows may ask for less history
(`prometheus_with(series, t, history=900)`): promtool's time grows with the samples.

An optional `"rates": [[t_from, rate], ...]` changes the rate from `t_from` on (before the
first `t_from` the series has `"rate"`, or 0). The counter stays continuous, so a node can
be busy an hour ago and idle now::

    {"metric": "m", "labels": {}, "rate": 5, "rates": [[query_time - 1800, 0]]}
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.support.ports import LOOPBACK
from tests.support.process import LoopbackServer, ServerError

STEP_SECONDS = 15
HISTORY_SECONDS = 7200
FUTURE_SECONDS = 600
READY_TIMEOUT_SECONDS = 30.0

Series = Mapping[str, Any]

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

_EMPTY_CONFIG = "# No scrape jobs: this server only serves backfilled data.\nscrape_configs: []\n"


class PrometheusError(ServerError):
    """Prometheus or promtool failed; the message carries the tail of its output."""


# --- OpenMetrics ---------------------------------------------------------------------------


def escape_label_value(value: str) -> str:
    r"""Escape a label value for the text formats: backslash, double quote, newline.

    >>> escape_label_value('a "b"\\c')
    'a \\"b\\"\\\\c'
    """
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def sample_times(query_time: int, history: int | None = None) -> range:
    """Sample timestamps: every 15 s, `query_time - history` (7200 s unless told) to
    `query_time + 600` inclusive."""
    # The module's constants are read at call time: bench/graph_build.py sets them.
    back = HISTORY_SECONDS if history is None else history
    return range(query_time - back, query_time + FUTURE_SECONDS + 1, STEP_SECONDS)


def rate_steps(item: Series, start: int) -> list[tuple[int, float]]:
    """The series' rate as `(from_time, rate)` steps, the first at `start`."""
    steps = [(start, float(item.get("rate", 0.0)))]
    for t_from, rate in sorted((int(t), float(r)) for t, r in item.get("rates", ())):
        if t_from <= start:
            steps[0] = (start, rate)
        else:
            steps.append((t_from, rate))
    for _, rate in steps:
        if rate < 0:
            raise ValueError(f"negative rate {rate} in {item!r}: counters only grow")
    return steps


def counter_values(item: Series, times: Sequence[int]) -> list[float]:
    """The counter's value at each of `times` (ascending; the first is t0, where it is 0)."""
    steps = rate_steps(item, times[0])
    if len(steps) == 1:  # Optimization: the common case, for benchmarks with many series.
        t0, rate = steps[0]
        return [rate * (t - t0) for t in times]
    values: list[float] = []
    for t in times:
        total = 0.0
        for index, (t_from, rate) in enumerate(steps):
            if t_from >= t:
                break
            t_to = steps[index + 1][0] if index + 1 < len(steps) else t
            total += rate * (min(t, t_to) - t_from)
        values.append(total)
    return values


def _label_text(labels: Mapping[str, str]) -> str:
    parts = []
    for name in sorted(labels):
        if not _LABEL_NAME.match(name) or name.startswith("__"):
            raise ValueError(f"invalid label name {name!r}")
        value = str(labels[name])
        if value:  # Prometheus cannot store an empty value: it is the same as no label.
            parts.append(f'{name}="{escape_label_value(value)}"')
    return "{" + ",".join(parts) + "}" if parts else ""


def _openmetrics_chunks(series: Iterable[Series], query_time: int,
                        history: int | None = None) -> Iterator[str]:
    times = list(sample_times(int(query_time), history))
    by_metric: dict[str, list[tuple[str, Series]]] = {}
    seen: set[tuple[str, str]] = set()
    for item in series:
        metric = item["metric"]
        if not _METRIC_NAME.match(metric):
            raise ValueError(f"invalid metric name {metric!r}")
        labels = _label_text(item.get("labels", {}))
        if (metric, labels) in seen:
            raise ValueError(f"duplicate series {metric}{labels}")
        seen.add((metric, labels))
        by_metric.setdefault(metric, []).append((labels, item))
    for metric, members in by_metric.items():
        for labels, item in members:
            prefix = f"{metric}{labels} "
            values = counter_values(item, times)
            yield "".join(f"{prefix}{v!r} {t}\n" for t, v in zip(times, values, strict=True))
    yield "# EOF\n"


def openmetrics_text(series: Iterable[Series], query_time: int) -> str:
    """OpenMetrics text for `series`, grouped per metric name, ending with `# EOF`."""
    return "".join(_openmetrics_chunks(series, query_time))


def write_openmetrics(series: Iterable[Series], query_time: int, path: Path,
                      history: int | None = None) -> Path:
    """Write `series` as backfillable OpenMetrics text to `path` (see the module docstring)."""
    path = Path(path)
    with path.open("w") as out:
        out.writelines(_openmetrics_chunks(series, query_time, history))
    return path


def create_blocks(openmetrics: Path, tsdb: Path) -> Path:
    """Turn an OpenMetrics file into TSDB blocks in `tsdb` with promtool."""
    tsdb.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(openmetrics), str(tsdb)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        output = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise PrometheusError(f"promtool could not backfill {openmetrics}:\n{output}")
    return tsdb


def data_key(series: Iterable[Series], query_time: int, history: int | None = None) -> str:
    """A content hash of what the TSDB holds (informational keys such as mocked_by ignored)."""
    canonical = [
        [item["metric"], item.get("labels", {}), item.get("rate", 0.0), item.get("rates", [])]
        for item in series
    ]
    span = list(sample_times(int(query_time), history))
    payload = json.dumps([canonical, int(query_time), span[0], span[-1]], sort_keys=True,
                         default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


# --- the server ----------------------------------------------------------------------------


class PrometheusServer(LoopbackServer):
    """One `prometheus` process serving the TSDB in `storage` on a free loopback port.

    ::

        with PrometheusServer(storage, workdir) as prometheus:
            prometheus.query("up", time=query_time)
    """

    name = "Prometheus"
    error = PrometheusError
    ready_timeout = READY_TIMEOUT_SECONDS

    def __init__(self, storage: Path, workdir: Path, *, retention: str = "100y",
                 config: str = _EMPTY_CONFIG, features: Sequence[str] = ()) -> None:
        super().__init__(workdir, "prometheus.log")
        self.storage = Path(storage)
        self.retention = retention
        self.config = self.workdir / "prometheus.yml"
        self.config_text = config
        self.features = tuple(features)  # --enable-feature, e.g. exemplar-storage

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def prepare(self) -> None:
        self.config.write_text(self.config_text)

    def command(self) -> list[str]:
        return ["prometheus", f"--config.file={self.config}",
                f"--storage.tsdb.path={self.storage}",
                f"--storage.tsdb.retention.time={self.retention}",
                f"--web.listen-address={LOOPBACK}:{self.port}",
                *(f"--enable-feature={feature}" for feature in self.features)]

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                return bool(response.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def query(self, promql: str, time: float) -> list[dict[str, Any]]:
        """Evaluate an instant query at `time`; the `result` list of Prometheus's answer."""
        params = urllib.parse.urlencode({"query": promql, "time": str(time)})
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/query?{params}", timeout=30) as resp:
                body = json.load(resp)
        except urllib.error.HTTPError as exc:
            raise PrometheusError(f"{promql!r}: HTTP {exc.code}: {exc.read().decode()}") from exc
        return list(body["data"]["result"])



class PrometheusPool:
    """Prometheus servers on backfilled data for a test session.

    Identical data (same series and query time, by content hash) is backfilled once and,
    by default, served by one shared server; `shared=False` gives a private server on a
    copy of the same TSDB, for a test that stops or breaks it. Everything stops at `close()`.
    """

    def __init__(self, base: Path) -> None:
        self.base = Path(base)
        self._tsdbs: dict[str, Path] = {}
        self._shared: dict[str, PrometheusServer] = {}
        self._servers: list[PrometheusServer] = []

    def tsdb(self, series: Sequence[Series], query_time: int,
             history: int | None = None) -> Path:
        """The directory of TSDB blocks for this data, built on first use."""
        key = data_key(series, query_time, history)
        if key not in self._tsdbs:
            directory = self.base / f"data-{key}"
            directory.mkdir(parents=True, exist_ok=True)
            openmetrics = write_openmetrics(series, query_time, directory / "series.om.txt",
                                            history)
            self._tsdbs[key] = create_blocks(openmetrics, directory / "blocks")
            # The text is several times the blocks' size (gigabytes for a big mesh), and
            # pytest keeps the temporary folders of the last runs.
            openmetrics.unlink()
        return self._tsdbs[key]

    def __call__(
        self, series: Sequence[Series], query_time: int, *, shared: bool = True,
        history: int | None = None,
    ) -> PrometheusServer:
        key = data_key(series, query_time, history)
        if shared and key in self._shared and self._shared[key].running:
            return self._shared[key]
        blocks = self.tsdb(series, query_time, history)
        workdir = self.base / f"server-{len(self._servers)}-{key}"
        # Prometheus writes into its storage (WAL, lock, compactions): each server gets a copy.
        shutil.copytree(blocks, workdir / "tsdb")
        server = PrometheusServer(workdir / "tsdb", workdir)
        self._servers.append(server)
        server.start()
        if shared:
            self._shared[key] = server
        return server

    def close(self) -> None:
        for server in self._servers:
            server.stop()
        self._servers.clear()
        self._shared.clear()
