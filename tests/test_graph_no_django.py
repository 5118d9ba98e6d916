"""graph/ is plain Python: importing all of it loads no Django, Celery or Channels."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_it_imports_graph_without_django() -> None:
    modules = sorted(p.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
                     for p in (ROOT / "graph").rglob("*.py"))
    code = (f"import sys\nfor m in {modules!r}: __import__(m)\n"
            "banned = ('django', 'celery', 'channels')\n"
            "print(','.join(m for m in sys.modules if m.split('.')[0] in banned))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True, env={"PATH": "/usr/bin:/bin"})
    assert result.stdout.strip() == ""
