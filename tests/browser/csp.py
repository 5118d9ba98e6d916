"""The page under the Content-Security-Policy Meshlens sends: a recorder of violations, and a
wait that the policy allows."""

from __future__ import annotations

from playwright.sync_api import Frame, Page

# Collects every violation from the first script on: a violation would also be a console
# error, which the `page` fixture fails on, but this names the directive.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener('securitypolicyviolation', e => window.cspViolations.push(
    {directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample,
     source: `${e.sourceFile}:${e.lineNumber}:${e.columnNumber}`}));
"""


def until(target: Page | Frame, expression: str) -> None:
    """Wait until `expression` holds in `target`. Polled with evaluate(), which the page's
    CSP allows, where wait_for_function's eval() of its predicate is refused."""
    for _ in range(300):
        if target.evaluate(expression):
            return
        target.wait_for_timeout(50)
    raise AssertionError(f"never true: {expression}")
