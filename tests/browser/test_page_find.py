"""The Find and Hide bars in Chromium: found elements ringed (class `find`), hidden ones out
of the drawing (class `find-hidden`), a bad expression shown inline, the expressions in the
URL, Kiali's presets, `/` and Esc; kept across live deltas and across unfolding.

The live tests read the real Meshlens over backfilled Bookinfo (`page_mesh` in conftest):

    [ingress] -> (productpage) -> productpage-v1 -> (reviews) -> reviews-v1, -v2, -v3
    [unknown] ->/                                -> (details) -> details-v1
    reviews-v2 -> (ratings) 50 % 503 -> ratings-v1; reviews-v3 -> (ratings)
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.browser.conftest import GraphPage
from tests.browser.test_page_big import NAMESPACES, big_graph
from tests.browser.test_page_crafted import crafted_graph
from tests.browser.test_page_updates import Server, delta, wait_for_deltas

BOOKINFO = "/?namespaces=bookinfo"

# The labels of what carries a class: nodes by label, edges as "source>target".
MARKED = """name => window.meshlens.cy.elements('.' + name).map(e => e.isNode()
    ? e.data('label') : e.source().data('label') + '>' + e.target().data('label')).sort()"""


def marked(graph_page: GraphPage, name: str) -> list[str]:
    return graph_page.page.evaluate(MARKED, name)


def wait_marked(graph_page: GraphPage, name: str, labels: list[str]) -> None:
    """Wait until exactly `labels` carry the class `name`."""
    graph_page.page.wait_for_function(
        f"([name, want]) => JSON.stringify(({MARKED})(name)) === JSON.stringify(want)",
        arg=[name, sorted(labels)])


def enter(graph_page: GraphPage, kind: str, expression: str) -> None:
    graph_page.page.fill(f"#graph-{kind}", expression)
    graph_page.page.press(f"#graph-{kind}", "Enter")


def applied(graph_page: GraphPage) -> int:
    return int(graph_page.page.evaluate("document.body.dataset.findApplied || '0'"))


def test_it_rings_what_find_finds(graph_page: GraphPage, meshlens_url: str) -> None:
    graph_page.open(f"{meshlens_url}{BOOKINFO}")
    enter(graph_page, "find", "%httperr > 5")
    wait_marked(graph_page, "find", ["ratings>ratings-v1", "reviews-v2>ratings"])
    look = graph_page.look("reviews-v2>ratings")
    assert look["classes"].count("find") == 1
    assert graph_page.styles(".find", "underlay-opacity") == ["0.6", "0.6"]
    assert graph_page.styles("edge:not(.find)", "underlay-opacity")[0] == "0"
    assert graph_page.page.inner_text("#find-count") == "2 found"
    assert graph_page.url()["find"] == "%httperr > 5"

    enter(graph_page, "find", "! healthy or name = unknown")
    wait_marked(graph_page, "find", ["ratings", "ratings-v1", "reviews-v2", "unknown"])
    graph_page.shot("find")


def test_it_takes_hidden_elements_out_and_brings_them_back(graph_page: GraphPage,
                                                           meshlens_url: str) -> None:
    graph_page.open(f"{meshlens_url}{BOOKINFO}")
    everything = graph_page.labels()
    enter(graph_page, "hide", "name = unknown or %httperr > 5")
    wait_marked(graph_page, "find-hidden", ["ratings-v1", "ratings>ratings-v1",
                                            "reviews-v2>ratings", "unknown",
                                            "unknown>productpage"])
    assert set(graph_page.labels("node:visible")) == set(everything) - {"unknown", "ratings-v1"}
    assert graph_page.styles(".find-hidden", "display") == ["none"] * 5
    assert graph_page.page.inner_text("#find-count") == "5 hidden"
    assert graph_page.url()["hide"] == "name = unknown or %httperr > 5"
    graph_page.shot("hide")

    graph_page.page.click(".find-field-hide .find-clear")
    wait_marked(graph_page, "find-hidden", [])
    assert sorted(graph_page.labels("node:visible")) == sorted(everything)
    assert "hide" not in graph_page.url()


def test_it_shows_a_bad_expression_inline(graph_page: GraphPage, meshlens_url: str) -> None:
    graph_page.open(f"{meshlens_url}{BOOKINFO}")
    page = graph_page.page
    enter(graph_page, "find", "app = productpage")
    wait_marked(graph_page, "find", ["productpage-v1"])
    before = applied(graph_page)
    enter(graph_page, "find", "app = x and fooo > 1")
    page.wait_for_function("n => Number(document.body.dataset.findApplied) > n", arg=before)
    assert page.get_attribute("#graph-find", "aria-invalid") == "true"
    assert page.inner_text("#graph-find-error") == "find: unknown operand 'fooo' at 13"
    assert page.is_visible("#graph-find-error")
    assert marked(graph_page, "find") == []
    graph_page.shot("find-error")
    # Typing again takes the stale message away; a good expression clears the error.
    enter(graph_page, "find", "app = reviews")
    wait_marked(graph_page, "find", ["reviews-v1", "reviews-v2", "reviews-v3"])
    assert page.get_attribute("#graph-find", "aria-invalid") is None
    assert page.is_hidden("#graph-find-error")

    enter(graph_page, "hide", "rt > soon")
    page.wait_for_selector("#graph-hide[aria-invalid=true]")
    assert page.inner_text("#graph-hide-error").startswith("hide: expected a number, found 'soon'")


def test_it_reads_and_writes_the_expressions_in_the_url(graph_page: GraphPage,
                                                       meshlens_url: str) -> None:
    find, hide = "app startswith reviews", "version = v1"
    graph_page.open(f"{meshlens_url}{BOOKINFO}&find={quote(find)}&hide={quote(hide)}")
    page = graph_page.page
    assert (page.input_value("#graph-find"), page.input_value("#graph-hide")) == (find, hide)
    wait_marked(graph_page, "find", ["reviews-v1", "reviews-v2", "reviews-v3"])
    hidden = marked(graph_page, "find-hidden")
    assert {"reviews-v1", "productpage-v1", "ratings-v1", "details-v1"} <= set(hidden)
    assert "reviews-v2" not in hidden

    enter(graph_page, "find", "app = ratings")
    page.wait_for_function("() => new URLSearchParams(location.search).get('find') === "
                           "'app = ratings'")
    url = page.url
    assert graph_page.url()["hide"] == hide
    graph_page.open(url)
    assert page.input_value("#graph-find") == "app = ratings"
    wait_marked(graph_page, "find", ["ratings-v1"])


def test_it_offers_kialis_presets_and_keys(graph_page: GraphPage, meshlens_url: str) -> None:
    graph_page.open(f"{meshlens_url}{BOOKINFO}")
    page = graph_page.page
    presets = page.eval_on_selector_all("#graph-find-presets option", "os => os.map(o => o.value)")
    assert {"rt > 1000", "! healthy", "name = unknown", "%httperr > 5"} <= set(presets)
    page.select_option("#graph-find-presets", "! healthy")
    wait_marked(graph_page, "find", ["ratings", "ratings-v1", "reviews-v2"])
    assert page.input_value("#graph-find") == "! healthy"
    assert page.input_value("#graph-find-presets") == ""

    page.click("#graph")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "graph-find"
    page.keyboard.press("Escape")
    wait_marked(graph_page, "find", [])
    assert page.input_value("#graph-find") == ""
    assert "find" not in graph_page.url()


def test_it_keeps_find_and_hide_across_deltas(graph_page: GraphPage, meshlens_url: str) -> None:
    """A delta adds reviews-v3 (failing) and heals reviews-v2: Find follows both; Hide takes
    out the unknown caller again after a delta changes it."""
    graph = crafted_graph({})
    server = Server(graph_page.page, graph)
    graph_page.open(f"{meshlens_url}{BOOKINFO}&find={quote('failure')}&hide={quote('unknown')}")
    graph_page.page.wait_for_function("window.meshlens.state.shown.snapshots >= 1")
    failing = sorted(n["data"]["label"] for n in graph["elements"]["nodes"]
                     if n["data"].get("healthStatus") == "Failure")
    wait_marked(graph_page, "find", failing)
    wait_marked(graph_page, "find-hidden", ["unknown", "unknown>productpage"])
    reviews_v3 = {"id": "reviews-v3", "nodeType": "workload", "cluster": "Kubernetes",
                  "namespace": "bookinfo", "workload": "reviews-v3", "label": "reviews-v3",
                  "healthStatus": "Failure"}
    changes: list[dict[str, Any]] = [
        {"group": "nodes", "data": {"id": "unknown", "healthStatus": "Degraded"}}]
    server.send(delta(2, changes, added=[{"group": "nodes", "data": reviews_v3}]))
    wait_for_deltas(graph_page, 1)
    wait_marked(graph_page, "find", sorted([*failing, "reviews-v3"]))
    wait_marked(graph_page, "find-hidden", ["unknown", "unknown>productpage"])


def test_it_keeps_find_and_hide_across_unfolding(graph_page: GraphPage, meshlens_url: str) -> None:
    """A big graph arrives folded by namespace: nothing to mark until ns1 unfolds; then its
    ns1-w00x workloads are found, and ns1-w01x are hidden."""
    Server(graph_page.page, big_graph())
    find, hide = "wl ^= ns1-w00", "wl ^= ns1-w01"
    graph_page.open(f"{meshlens_url}/?namespaces={','.join(NAMESPACES)}"
                    f"&find={quote(find)}&hide={quote(hide)}")
    page = graph_page.page
    assert page.evaluate("window.meshlens.cy.nodes().not('.summary').length") == 0
    page.evaluate("window.meshlens.graph.unfold('ns1')")
    wait_marked(graph_page, "find", [f"ns1-w00{i}" for i in range(10)])
    hidden = marked(graph_page, "find-hidden")
    assert {f"ns1-w01{i}" for i in range(10)} <= set(hidden)
    assert all(h.startswith("ns1-w01") or "ns1-w01" in h for h in hidden)


FOLDED = """() => Object.fromEntries(window.meshlens.cy.nodes('.summary').map(n => [
    n.data('namespace'), {found: n.data('foundCount'), hidden: n.data('hiddenCount'),
                          nodes: n.data('nodeCount'), label: n.data('summaryLabel'),
                          ringed: n.hasClass('find')}]))"""


def test_it_finds_and_hides_inside_folded_namespaces(graph_page: GraphPage,
                                                     meshlens_url: str) -> None:
    """[ns0] -> [ns1: w000..w089] -> [ns2] -> [ns3], all folded: Find rings ns1's box and says
    10 found inside; Hide counts ns1-w01x out of it (and out of the edges summed into it);
    unfolding ns1 shows the marks on its nodes."""
    Server(graph_page.page, big_graph())
    graph_page.open(f"{meshlens_url}/?namespaces={','.join(NAMESPACES)}")
    page = graph_page.page
    graph_page.wait_for("cy => cy.nodes('.summary').length === 4")
    enter(graph_page, "find", "wl ^= ns1-w00")
    graph_page.wait_for("cy => cy.getElementById('ml-ns:ns1').hasClass('find')")
    folded = page.evaluate(FOLDED)
    assert folded["ns1"] == {"found": 10, "hidden": 0, "nodes": 90, "ringed": True,
                             "label": "ns1\n90 nodes\n10 found"}
    assert not any(folded[ns]["ringed"] for ns in ("ns0", "ns2", "ns3"))
    page.wait_for_function("document.querySelector('#find-count').textContent === '10 found'")

    enter(graph_page, "hide", "wl ^= ns1-w01")
    graph_page.wait_for("cy => cy.getElementById('ml-ns:ns1').data('hiddenCount') === 10")
    folded = page.evaluate(FOLDED)
    assert folded["ns1"] == {"found": 10, "hidden": 10, "nodes": 80, "ringed": True,
                             "label": "ns1\n80 nodes (10 hidden)\n10 found"}
    # ns0-w082 -> ns1-w014 is hidden with its target: 9 of the 10 edges ns0 -> ns1 remain.
    counts = page.evaluate("""() => window.meshlens.cy.edges('.aggregate').map(e =>
        e.source().data('namespace') + '>' + e.target().data('namespace') + ' ' +
        window.meshlens.graph.dataOf(e).edgeCount).sort()""")
    assert counts == ["ns0>ns1 9", "ns1>ns2 10", "ns2>ns3 10"]
    # The 10 nodes, the 20 edges inside ns1 that touch them, and ns0-w082 -> ns1-w014.
    page.wait_for_function("document.querySelector('#find-count').textContent === "
                           "'10 found · 31 hidden'")
    graph_page.shot("find-folded")

    page.evaluate("window.meshlens.graph.unfold('ns1')")
    wait_marked(graph_page, "find", [f"ns1-w00{i}" for i in range(10)])
    hidden = marked(graph_page, "find-hidden")
    assert {f"ns1-w01{i}" for i in range(10)} <= set(hidden)
    assert len(hidden) == 30  # ns0-w082 -> ns1-w014 ends in folded ns0: summed, not drawn
    assert page.inner_text("#find-count") == "10 found · 31 hidden"

    # A namespace hidden whole leaves no box, and no edges into it.
    enter(graph_page, "hide", "ns = ns3")
    graph_page.wait_for("cy => cy.getElementById('ml-ns:ns3').empty()")
    assert page.evaluate("window.meshlens.cy.edges('.aggregate').filter(e => "
                         "e.target().id() === 'ml-ns:ns3').length") == 0
