"""What is stored survives a restart: health rules, and the session of the admin who made
them, kept in a database file, outlive the web process and Redis (emptied between the two
runs, as a Redis without persistence comes back). Real daphne processes, one after the
other on the same SQLite file, over a backfilled Prometheus. (Users, groups' namespaces
and API tokens: tests/test_access_restart.py.)

    reviews-v2 -> [ratings] -> ratings-v1 (50 % 503: a Failure by Kiali's defaults; Healthy
    under the rule made here, degraded from 60 %, failing from 90 %)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import redis
import requests

from tests.live_env import QUERY_TIME
from tests.support.meshlens import ROOT, meshlens, prepared

GRAPH = f"/api/v1/graph?namespaces=bookinfo&duration=60s&query_time={QUERY_TIME}"
ADMIN_PASSWORD = "correct horse battery staple"  # noqa: S105 - a throwaway test account


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=os.environ | env,
                   check=True, capture_output=True)


def csrf_token(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=30)
    page.raise_for_status()
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert found, f"no CSRF token on {url}"
    return found.group(1)


def signed_in(base: str, username: str, password: str) -> requests.Session:
    """A session signed in through the sign-in page, as a browser would be."""
    session = requests.Session()
    login = f"{base}/admin/login/"
    answer = session.post(login, timeout=30, data={
        "csrfmiddlewaretoken": csrf_token(session, login), "username": username,
        "password": password, "next": "/admin/"})
    assert answer.ok and "sessionid" in session.cookies, answer.text[:300]
    return session


def add_health_rule(session: requests.Session, base: str) -> None:
    """Through the admin's form: bookinfo's HTTP 5xx degraded from 60 %, failing from 90 %."""
    form = f"{base}/admin/dashboard/healthrule/add/"
    answer = session.post(form, timeout=30, data={
        "csrfmiddlewaretoken": csrf_token(session, form), "position": "0",
        "namespace": "bookinfo", "kind": ".*", "name": ".*", "enabled": "on",
        "tolerances-TOTAL_FORMS": "1", "tolerances-INITIAL_FORMS": "0",
        "tolerances-MIN_NUM_FORMS": "0", "tolerances-MAX_NUM_FORMS": "1000",
        "tolerances-0-code": "5XX", "tolerances-0-protocol": "http",
        "tolerances-0-direction": ".*", "tolerances-0-degraded": "60",
        "tolerances-0-failure": "90", "_save": "Save"})
    assert answer.ok and answer.url.endswith("/admin/dashboard/healthrule/"), answer.text[:500]


def ratings_health(session: requests.Session, base: str) -> str:
    answer = session.get(f"{base}{GRAPH}", timeout=60)
    assert answer.status_code == 200, answer.text[:300]
    elements = answer.json()["elements"]
    label = {n["data"]["id"]: n["data"]["label"] for n in elements["nodes"]}
    [edge] = [e["data"] for e in elements["edges"]
              if (label[e["data"]["source"]], label[e["data"]["target"]])
              == ("reviews-v2", "ratings")]
    return str(edge["healthStatus"])


def test_it_keeps_health_rules_and_sessions_across_a_restart_and_an_emptied_redis(
        bookinfo_prometheus: Any, redis_server: str, tmp_path: Path) -> None:
    redis_url = redis_server.rsplit("/", 1)[0] + "/14"
    env = {"PROMETHEUS_URL": bookinfo_prometheus.url, "REDIS_URL": redis_url,
           "MESHLENS_AUTH": "login"}
    env = prepared(tmp_path, env)  # the database file, migrated
    # As an operator makes the first account, from the command line.
    manage(env | {"DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD}, "createsuperuser",
           "--noinput", "--username", "admin", "--email", "admin@example.com")

    with meshlens(tmp_path, env) as base:
        admin = signed_in(base, "admin", ADMIN_PASSWORD)
        assert ratings_health(admin, base) == "Failure"  # Kiali's defaults
        add_health_rule(admin, base)
        assert ratings_health(admin, base) == "Healthy"

    # Everything Redis held is gone, as after a Redis restart without persistence.
    redis.Redis.from_url(redis_url).flushdb()

    with meshlens(tmp_path, env) as base:
        # The session of before still signs its user in, and the rule holds: both are in
        # the database.
        assert ratings_health(admin, base) == "Healthy"
        assert requests.get(f"{base}{GRAPH}", timeout=60).status_code == 401
        rules = admin.get(f"{base}/admin/dashboard/healthrule/", timeout=30)
        assert rules.ok and "bookinfo" in rules.text
