"""Kiali's golden graph tests, as data (shared/kiali-fixtures): requests, series, outputs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FIXTURES = ROOT.parent / "shared" / "kiali-fixtures"
FIXTURES = Path(os.environ.get("MESHLENS_KIALI_FIXTURES", DEFAULT_FIXTURES))


def names() -> list[str]:
    """The fixtures' names; none when the fixture set is not beside the repository (its
    tests then report as skipped, naming where they looked)."""
    if not FIXTURES.is_dir():
        return []
    return sorted(p.name for p in FIXTURES.iterdir() if (p / "request.json").is_file())


def require() -> None:
    import pytest

    if not FIXTURES.is_dir():
        pytest.skip(f"Kiali fixtures not found at {FIXTURES}; set MESHLENS_KIALI_FIXTURES")


def load(name: str, part: str) -> Any:
    return json.loads((FIXTURES / name / f"{part}.json").read_text())


def expected(name: str) -> dict[str, Any]:
    """expected.json with the fixture's documented adjustments applied."""
    body: dict[str, Any] = load(name, "expected")
    for adjustment in load(name, "request").get("expected_adjustments", []):
        rename_hosts(body, adjustment)
    return body


def rename_hosts(body: dict[str, Any], adjustment: dict[str, Any]) -> None:
    old, new = adjustment["from"], adjustment["to"]
    for edge in body["elements"]["edges"]:
        for detail in edge["data"].get("traffic", {}).get("responses", {}).values():
            hosts = detail.get("hosts", {})
            if old in hosts:
                hosts[new] = hosts.pop(old)
