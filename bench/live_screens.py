"""Screenshots of the live page as a user sees it, for live_scale.py `--screenshots DIR`.

On the warm page, once the benchmark's figures are taken: the graph as it arrives (folded
by namespace above the page's threshold), the failing-edges panel, one namespace unfolded
(ns1, as a tap on its box does), and a node of it selected (its side panel open).
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

NEXT_FRAMES = """() => new Promise(resolve =>
  requestAnimationFrame(() => requestAnimationFrame(() => resolve(true))))"""

# The busiest workload node of ns1, tapped as a click would: its side panel opens.
TAP_BUSIEST = """ns => {
  const nodes = window.meshlens.cy.nodes().filter(n => n.data('namespace') === ns
                                                  && !n.isParent() && !n.hasClass('summary'));
  if (!nodes.length) return null;
  const node = nodes.max(n => n.degree()).ele;
  node.emit('tap');
  return node.data('label') || node.id();
}"""

FAILING_LISTED = """() => document.querySelector('.failing-list').children.length > 0
  || document.querySelector('.failing-status').textContent.trim() !== ''"""


def take(page: Page, directory: Path, prefix: str, namespace: str = "ns1",
         timeout_ms: float = 120_000) -> list[str]:
    """Save the four screenshots as `prefix`-*.png in `directory`; what each shows."""
    directory.mkdir(parents=True, exist_ok=True)
    taken: list[str] = []

    def shot(name: str, what: str) -> None:
        # A fit (the Fit button, an unfold) animates the viewport: the picture at its end.
        page.wait_for_function("() => !window.meshlens.cy.animated()", timeout=timeout_ms)
        page.evaluate(NEXT_FRAMES)
        path = directory / f"{prefix}-{name}.png"
        page.screenshot(path=str(path))
        taken.append(f"{path.name}: {what}")

    page.click("#fit-button")  # as a user would: the page's own fit
    shot("folded", "the graph as it arrives")
    page.wait_for_function(FAILING_LISTED, timeout=timeout_ms)
    rows = page.evaluate("document.querySelectorAll('.failing-list > *').length")
    panel = directory / f"{prefix}-failing-panel.png"
    page.locator("#failing-panel").screenshot(path=str(panel))
    taken.append(f"{panel.name}: the failing-edges panel ({rows} rows)")
    page.evaluate("ns => window.meshlens.graph.unfold(ns)", namespace)
    page.wait_for_function("id => window.meshlens.cy.getElementById(id).empty()",
                           arg=f"ml-ns:{namespace}", timeout=timeout_ms)
    shot(f"{namespace}-unfolded", f"{namespace} unfolded")
    label = page.evaluate(TAP_BUSIEST, namespace)
    if label is None:
        taken.append(f"no node of {namespace} to select")
        return taken
    page.wait_for_function("() => !document.getElementById('side-panel').hidden",
                           timeout=timeout_ms)
    shot("node-selected", f"{label} selected")
    return taken
