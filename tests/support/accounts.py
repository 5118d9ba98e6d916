"""Users and groups made in the database of a Meshlens started by tests/support/meshlens.py
(its SQLite file in its work directory), as an admin would make them: through Django, in a
process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.meshlens import ROOT

MAKE_USER = """
from django.contrib.auth.models import Group, User
from dashboard.models import NamespaceAccess
group, _ = Group.objects.get_or_create(name={group!r})
NamespaceAccess.objects.update_or_create(group=group, defaults={{"namespaces": {patterns!r}}})
user = User.objects.create_user({name!r}, password={password!r})
user.groups.add(group)
"""


def run_django(workdir: Path, code: str, more_env: dict[str, str] | None = None) -> str:
    """Run `code` with Django set up on the database of the Meshlens in `workdir` (and
    `more_env`: its REDIS_URL, for live viewers to hear of a change); its output."""
    env = os.environ | {"MESHLENS_DB": str(workdir / "db.sqlite3"),
                        "DJANGO_SETTINGS_MODULE": "dashboard.settings"} | (more_env or {})
    # -v 0: Django's shell says nothing of its own (it counts its automatic imports).
    done = subprocess.run([sys.executable, "manage.py", "shell", "-v", "0", "-c", code],
                          cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return done.stdout


def make_user(workdir: Path, name: str, password: str, patterns: str) -> None:
    """A user in a group of their own that sees `patterns`."""
    run_django(workdir, MAKE_USER.format(group=f"{name}-team", patterns=patterns, name=name,
                                         password=password))
