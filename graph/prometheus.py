"""The one module that talks to Prometheus: the client, its session and its parallel
batches. How the answers are read is graph/prometheus_answers.py (re-exported here: the
rest of graph/ imports both from this module).

Connection settings (bearer token, CA bundle, TLS verification, retries) are made with
prometheus-api-client; graph queries go through the same session. A query that may be
answered by remote read (Query.remote) is sent as one when the server allows it
(graph/remote_servers.py), else as its PromQL.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import requests
from prometheus_api_client import PrometheusConnect
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from graph import remote_servers
from graph.prometheus_answers import (
    KEY_LABEL,
    KEY_SEPARATOR,
    SHAPE_ERRORS,
    Curve,
    Exemplar,
    PrometheusBadAnswer,
    PrometheusError,
    PrometheusQueryError,
    PrometheusUnavailable,
    Query,
    Record,
    Row,
    joined_rows,
    joined_sum,
    parse_exemplars,
    parse_matrix,
    parse_vector,
    prometheus_round,
    read,
    read_exemplars,
    read_matrix,
    read_vector,
    reading,
    rounded,
    row_key,
    successful_body,
    summed,
)

# The answers' side, re-exported: the rest of graph/ and the tests import it from here.
__all__ = [
    "KEY_LABEL", "KEY_SEPARATOR", "MAX_PARALLEL", "SHAPE_ERRORS", "Curve", "Exemplar",
    "Prometheus", "PrometheusBadAnswer", "PrometheusError", "PrometheusQueryError",
    "PrometheusSettings", "PrometheusUnavailable", "Query", "Record", "Row",
    "credentials_apart", "is_loopback", "joined_rows", "joined_sum", "parse_exemplars",
    "parse_matrix", "parse_vector", "prometheus_round", "read", "read_exemplars",
    "read_matrix", "read_vector", "reading", "rounded", "row_key", "successful_body",
    "summed", "without_credentials",
]


@dataclass(frozen=True)
class PrometheusSettings:
    url: str
    token: str = ""
    ca_file: str = ""
    verify: bool = True
    timeout: float = 10.0
    # MESHLENS_REMOTE_READ: whether queries that may be answered by remote read are
    # (graph/remote_servers.py): auto, on or off.
    remote_read: str = "auto"


# Queries of one batch in flight at once: enough for every heavy query of an Istio plan (the
# ten request shares and the two response-time queries) to start together. With 8, two
# shares waited for the first answers and ran on alone at the end, 0.1-1 s after the rest
# (bench/README.md, "the API against Kiali's query set"). Prometheus runs 20 at a time.
MAX_PARALLEL = 12


class Prometheus:
    """A Prometheus HTTP API client for instant vector queries at a fixed time."""

    def __init__(self, settings: PrometheusSettings,
                 max_parallel: int = MAX_PARALLEL) -> None:
        # A user and password in the URL become the session's basic auth: the URL is
        # named in errors, which every viewer reads.
        settings, auth = credentials_apart(settings)
        self.settings = settings
        self.max_parallel = max_parallel
        session = requests.Session()
        session.auth = auth
        session.verify = settings.ca_file or settings.verify
        headers = {"Authorization": f"Bearer {settings.token}"} if settings.token else None
        # One quick retry on a dropped connection; a down Prometheus must fail fast so
        # that the last good graph is shown as stale instead of waiting on retries.
        # read=False: a read timeout is raised as one (read=0 turns it, on a GET, into a
        # ConnectionError: "cannot be reached" when it was "did not answer in time").
        retry = Retry(total=1, connect=1, read=False, status=0, backoff_factor=0.1)
        self.client = PrometheusConnect(
            url=settings.url, headers=headers, disable_ssl=not settings.verify,
            retry=retry, session=session, timeout=int(settings.timeout),
        )
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=max_parallel)
        session.mount(settings.url, adapter)
        if is_loopback(settings.url):
            # Over loopback, moving bytes costs nothing, and compressing them costs
            # Prometheus CPU (and Meshlens CPU to inflate): 60-90 ms of Prometheus's CPU
            # per build at 1,000 workloads, on the cores the two share.
            session.headers["Accept-Encoding"] = "identity"
        self.session = session
        self.headers = headers or {}
        self.remote = remote_servers.RemoteReads(settings.remote_read, settings.url, self.call)

    def close(self) -> None:
        self.client.close()

    def query(self, query: Query, at: int) -> list[Row]:
        """Evaluate an instant query at Unix time `at`; return compact rows."""
        return query.read(self.fetch(query, at))

    def fetch(self, query: Query, at: int) -> list[Row]:
        """The query's answer as rows keyed by all its labels, as Prometheus sent them (by
        remote read when the query and the server allow it)."""
        rows = self.remote.fetch(query, at)
        if rows is not None:
            return rows
        response = self.post("/api/v1/query", {"query": query.promql, "time": str(at)})
        return parse_vector(response, query.wire_labels(), self.settings.url, query.joined)

    def post(self, path: str, data: dict[str, str]) -> requests.Response:
        """POST to Prometheus's API; PrometheusUnavailable when it cannot be reached or
        does not answer in time."""
        return self.call("POST", path, data=data)

    def call(self, method: str, path: str, headers: dict[str, str] | None = None,
             **arguments: Any) -> requests.Response:
        """A request to Prometheus's API, `post` or `get` (`data` or `params`), with
        `headers` besides the client's; PrometheusUnavailable when it cannot be reached or
        does not answer in time."""
        # Session.post and Session.get, not Session.request: the tests' one seam for a
        # Prometheus that times out is Session.post.
        send = self.session.post if method == "POST" else self.session.get
        try:
            return send(f"{self.settings.url}{path}",
                        headers={**self.headers, **headers} if headers else self.headers,
                        timeout=self.settings.timeout, **arguments)
        except requests.Timeout as exc:
            raise PrometheusUnavailable(
                f"Prometheus at {self.settings.url} did not answer within "
                f"{self.settings.timeout:g}s"
            ) from exc
        except requests.RequestException as exc:
            raise PrometheusUnavailable(
                f"Prometheus at {self.settings.url} cannot be reached: {type(exc).__name__}"
            ) from exc

    def answers(self, readers: Sequence[tuple[int, Query]],
                at: int) -> list[tuple[int, list[Row]]]:
        """One answer, sent for and parsed once, read by each of `readers` (index, query)."""
        rows = self.fetch(readers[0][1], at)
        return [(index, query.read(rows)) for index, query in readers]

    def query_all(self, queries: Sequence[Query], at: int) -> list[list[Row]]:
        """Evaluate independent queries in parallel; results in the order given."""
        results: list[list[Row]] = [[] for _ in queries]
        for index, rows in self.query_each(queries, at):
            results[index] = rows
        return results

    def query_each(self, queries: Sequence[Query], at: int) -> Iterator[tuple[int, list[Row]]]:
        """Evaluate independent queries in parallel; yield (index, rows) as each answer
        comes, so that the caller works on one while Prometheus still computes the others.
        Queries with equal answers (Query.answer) are sent once, each reading its own rows
        of it. The first failure is raised, and the queries not yet sent are dropped.

        The heaviest queries (Query.weight) are sent first: sent in batch order, a big query
        that waited behind small ones for a free connection came back last, alone, after
        the others had been answered (at 1,000 workloads two of the ten big request shares
        ended 200 ms after the rest), and the whole build waited for it."""
        groups: dict[tuple[object, ...], list[tuple[int, Query]]] = {}
        for index, query in enumerate(queries):
            groups.setdefault(query.answer(), []).append((index, query))
        if len(groups) <= 1:
            for readers in groups.values():
                yield from self.answers(readers, at)
            return
        order = sorted(groups.values(), key=lambda readers: -max(q.weight for _, q in readers))
        pool = ThreadPoolExecutor(max_workers=min(self.max_parallel, len(groups)))
        try:
            pending = [pool.submit(self.answers, readers, at) for readers in order]
            for future in as_completed(pending):
                yield from future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def label_values(self, label: str, match: str | Sequence[str], start: int,
                     end: int) -> list[str]:
        """Values of `label` on series matching `match` (a selector, or several) seen
        between start and end."""
        # GET: Prometheus takes only GET on this route.
        response = self.call("GET", f"/api/v1/label/{label}/values",
                             params={"match[]": match if isinstance(match, str) else list(match),
                                     "start": str(start), "end": str(end)})
        with reading(self.settings.url):
            values = successful_body(response, self.settings.url)["data"]
            if not isinstance(values, list):
                raise TypeError(f"a list of values expected, not {type(values).__name__}")
            return sorted(str(v) for v in values)

    def query_exemplars(self, promql: str, start: float, end: float) -> list[Exemplar]:
        """The exemplars of the series that the selectors in `promql` match, stored
        between start and end (Unix s): `/api/v1/query_exemplars`."""
        response = self.post("/api/v1/query_exemplars",
                             {"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}"})
        return parse_exemplars(response, self.settings.url)

    def query_range(self, promql: str, start: int, end: int, step: int) -> list[Curve]:
        """Evaluate a range query from `start` to `end` (Unix s) every `step` seconds:
        `/api/v1/query_range`, one Curve per series of the answer."""
        response = self.post("/api/v1/query_range", {"query": promql, "start": str(start),
                                                      "end": str(end), "step": str(step)})
        return parse_matrix(response, self.settings.url)

    def ready(self) -> bool:
        """Whether Prometheus answers a query: its API, not only its port (a login portal
        or another server in front answers /-/healthy too)."""
        try:
            with reading(self.settings.url):
                data = successful_body(self.post("/api/v1/query", {"query": "1"}),
                                       self.settings.url)["data"]
                return data["resultType"] == "scalar"
        except PrometheusError:
            return False


def without_credentials(url: str) -> str:
    """`url` without the user and password it may hold (http://user:pw@host -> http://host)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def credentials_apart(
        settings: PrometheusSettings) -> tuple[PrometheusSettings, tuple[str, str] | None]:
    """The settings with a URL that names no credentials, and those credentials."""
    parts = urlsplit(settings.url)
    if "@" not in parts.netloc:
        return settings, None
    auth = (unquote(parts.username or ""), unquote(parts.password or ""))
    return replace(settings, url=without_credentials(settings.url)), auth


def is_loopback(url: str) -> bool:
    """Whether the URL's host is this machine (localhost, 127.0.0.0/8, ::1)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
