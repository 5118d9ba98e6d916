"""The failing-edges panel follows the moment shown: at a past moment (the time picker) its
list is that moment's (GET /api/v1/edges with that `query_time`), on the page tests'
Bookinfo (conftest.page_mesh):

    reviews-v2 -> [ratings] -> ratings-v1   (50 % 503 over the whole backfill: both fail)
"""

from __future__ import annotations

from datetime import UTC, datetime

from tests.browser.conftest import GraphPage
from tests.browser.test_page_time import (
    an_hour_ago,
    answer_at,
    time_page,
    utc_page,
    wait_for_graph_at,
)

__all__ = ["time_page", "utc_page"]  # the fixtures, for pytest

ROWS = ("() => [...document.querySelectorAll('#failing-panel .failing-row')]"
        ".map(r => r.dataset.edgeId)")


def test_it_lists_the_failing_edges_of_a_past_moment(time_page: GraphPage,
                                                      meshlens_url: str) -> None:
    page = time_page.page
    now = answer_at(page, "/api/v1/edges", None, lambda: time_page.open(
        f"{meshlens_url}/?namespaces=bookinfo&duration=60s"), timeout_ms=30000)
    assert now["edges"]
    past = an_hour_ago()

    def go_back() -> None:
        page.fill("#query-time", datetime.fromtimestamp(past, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
        page.dispatch_event("#query-time", "change")

    then = answer_at(page, "/api/v1/edges", past, go_back, timeout_ms=30000)
    wait_for_graph_at(time_page, past)
    ids = [edge["id"] for edge in then["edges"]]
    assert ids, then
    # The list of that moment (its window ends then), not the live one with the same edges.
    page.wait_for_function(f"() => document.getElementById('failing-panel').dataset.timestamp"
                           f" === '{then['timestamp']}'")
    assert then["timestamp"] == past
    assert page.evaluate(ROWS) == ids
