"""The side panel follows the moment shown: at a past moment (the time picker) or a replay
frame, its charts are those of the window ending then (GET /api/v1/series with that
`query_time`, the Prometheus links ending there too) and its peer tables those of that
moment's graph, on the page tests' Bookinfo (conftest.page_mesh):

    reviews-v2, reviews-v3 -> [ratings] -> ratings-v1
    reviews-v3 -> [ratings] -> ratings-v2   1 rps until half an hour before the session
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from playwright.sync_api import Page

from tests.browser.conftest import GraphPage
from tests.browser.test_page_time import (
    an_hour_ago,
    answer_at,
    time_page,
    utc_page,
    wait_for_graph_at,
)

__all__ = ["time_page", "utc_page"]  # the fixtures, for pytest

PEERS = """() => Object.fromEntries([...document.querySelectorAll('#side-panel .peer-table')]
    .map(t => [t.dataset.direction, [...t.querySelectorAll('tbody tr')]
        .map(r => r.cells[0].textContent.trim())]))"""


RATINGS_DRAWN = "cy => cy.nodes().some(n => n.data('label') === 'ratings')"


def series_answer(page: Page, t: int | None, action: Callable[[], object]) -> dict[str, Any]:
    """Run `action`; the /api/v1/series answer for the window ending at `t` (None: now)."""
    body: dict[str, Any] = answer_at(page, "/api/v1/series", t, action)
    return body


def shown_charts(page: Page, t: int) -> dict[str, Any]:
    page.wait_for_selector(f"#side-panel .charts[data-end='{t}'][data-state=shown]")
    return page.eval_on_selector("#side-panel .charts", """s => ({
        heading: s.querySelector('h3').textContent,
        links: [...s.querySelectorAll('a.prometheus-link')].map(a => a.href)})""")


def ends_at(links: list[str], t: int) -> bool:
    moment = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return bool(links) and all(parse_qs(urlsplit(link).query).get("g0.end_input") == [moment]
                               for link in links)


def test_it_charts_the_window_of_a_past_moment(time_page: GraphPage, meshlens_url: str) -> None:
    page = time_page.page
    time_page.open(f"{meshlens_url}/?namespaces=bookinfo&duration=60s")
    time_page.wait_for(RATINGS_DRAWN)
    now = series_answer(page, None, lambda: time_page.tap("ratings"))
    assert page.evaluate(PEERS)["outbound"] == ["ratings-v1"]
    assert page.locator("#side-panel .peer-window").count() == 0

    past = an_hour_ago()

    def go_back() -> None:
        page.fill("#query-time", datetime.fromtimestamp(past, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
        page.dispatch_event("#query-time", "change")

    then = series_answer(page, past, go_back)
    wait_for_graph_at(time_page, past)
    assert then["end"] == past and then["end"] < now["end"]
    charts = shown_charts(page, past)
    assert charts["heading"] == f"Charts to {datetime.fromtimestamp(past, UTC):%H:%M:%S}, " \
                                f"{datetime.fromtimestamp(past, UTC).day} " \
                                f"{datetime.fromtimestamp(past, UTC):%b}"
    assert ends_at(charts["links"], past)
    # The peers of that moment's graph: ratings-v2 still had traffic.
    page.wait_for_function("() => document.querySelectorAll('#side-panel .peer-table"
                           "[data-direction=outbound] tbody tr').length === 2")
    assert sorted(page.evaluate(PEERS)["outbound"]) == ["ratings-v1", "ratings-v2"]
    assert page.get_attribute("#side-panel .peer-window", "data-end") == str(past)
    time_page.shot("charts-past")


def test_it_charts_the_window_of_a_replay_frame(time_page: GraphPage, meshlens_url: str) -> None:
    page = time_page.page
    time_page.open(f"{meshlens_url}/?namespaces=bookinfo&duration=60s")
    time_page.wait_for(RATINGS_DRAWN)
    ratings = quote(time_page.look("ratings")["id"])
    time_page.open(f"{meshlens_url}/?namespaces=bookinfo&duration=60s&replay=1h&selected={ratings}")
    end = int(time_page.url()["replay_end"])
    wait_for_graph_at(time_page, end - 3600)
    shown_charts(page, end - 3600)

    def choose(t: int) -> None:
        page.evaluate("""t => { const s = document.getElementById('replay-slider');
            s.value = String(t); s.dispatchEvent(new Event('change')); }""", t)

    frame = end - 3000
    body = series_answer(page, frame, lambda: choose(frame))
    wait_for_graph_at(time_page, frame)
    assert body["end"] == frame
    assert ends_at(shown_charts(page, frame)["links"], frame)
    page.wait_for_function(f"() => document.querySelector('#side-panel .peer-window')"
                           f"?.dataset.end === '{frame}'")
    assert sorted(page.evaluate(PEERS)["outbound"]) == ["ratings-v1", "ratings-v2"]

    body = series_answer(page, end, lambda: choose(end))
    wait_for_graph_at(time_page, end)
    assert body["end"] == end
    page.wait_for_function(f"() => document.querySelector('#side-panel .peer-window')"
                           f"?.dataset.end === '{end}'")
    assert page.evaluate(PEERS)["outbound"] == ["ratings-v1"]
