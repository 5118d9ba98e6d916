"""Meshlens settings, read from the environment with defaults that work out of the box.

A bad value fails at start with ImproperlyConfigured naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from dashboard.oidc import settings_from_env
from graph import remote_servers
from graph.access import parse_patterns
from graph.exemplars import TraceLinks
from graph.options import OptionError, parse_duration, parse_namespaces
from graph.promql import PromQLError, Scope
from graph.sources import DIALECTS

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    value = os.getenv(name, default)
    if value not in ("", "True", "False", "true", "false", "1", "0"):
        raise ImproperlyConfigured(f"Unexpected value {name}={value}, use 'True' or 'False'")
    return value in ("True", "true", "1")


def envint(name: str, default: int, minimum: int = 1) -> int:
    value = os.getenv(name, str(default))
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"Unexpected value {name}={value}, use a whole number") from None
    if number < minimum:
        raise ImproperlyConfigured(f"Unexpected value {name}={value}, use at least {minimum}")
    return number


def envurl(name: str, default: str, schemes: tuple[str, ...]) -> str:
    value = os.getenv(name, default)
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not parsed.netloc:
        raise ImproperlyConfigured(
            f"Unexpected value {name}={value}, use a URL like {schemes[0]}://host:port"
        )
    return value.rstrip("/")


def envchoice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.getenv(name, default)
    if value not in choices:
        allowed = ", ".join(choices)
        raise ImproperlyConfigured(f"Unexpected value {name}={value}, use one of {allowed}")
    return value


def envpairs(name: str, separator: str) -> list[tuple[str, str]]:
    """Parse a comma list of `a<separator>b` pairs, e.g. `east/bookinfo,east/shop`."""
    value = os.getenv(name, "").strip()
    pairs: list[tuple[str, str]] = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        left, sep, right = item.partition(separator)
        if not sep or not left or not right:
            raise ImproperlyConfigured(
                f"Unexpected value {name}={value}: '{item}' is not of the form a{separator}b"
            )
        pairs.append((left.strip(), right.strip()))
    return pairs


SECRET_KEY = os.getenv("DJANGO_SECRET_KEY", "meshlens-development-key-change-me-in-production")
DEBUG = envbool("DJANGO_DEBUG", "False")
ALLOWED_HOSTS = [
    h.strip() for h in os.getenv("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "corsheaders",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every answer (dashboard/headers.py).
    "dashboard.headers.ContentSecurityPolicyMiddleware",
    # Serves static files (the page's JS and the vendored Cytoscape) straight from their
    # folders: no collectstatic step, and the ASGI server needs no separate static server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Before CommonMiddleware, as django-cors-headers asks: it answers preflights itself.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After the user is known: the namespaces they may see (dashboard/access.py).
    "dashboard.access_middleware.AccessMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
ASGI_APPLICATION = "dashboard.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

def database(name: str) -> dict[str, Any]:
    """The database of DATABASE_URL (postgres://user:password@host:5432/meshlens needs the
    `postgres` extra: psycopg); without it, SQLite in MESHLENS_DB."""
    url = os.getenv(name, "")
    if not url:
        return {"ENGINE": "django.db.backends.sqlite3",
                "NAME": os.getenv("MESHLENS_DB", str(BASE_DIR / "db.sqlite3"))}
    try:
        # conn_max_age 0: Django advises against persistent connections under ASGI (each
        # sync_to_async thread would keep one open).
        return dict(dj_database_url.parse(url, conn_max_age=0))
    except ValueError as exc:
        raise ImproperlyConfigured(f"Unexpected value {name}: {exc}") from None


DATABASES = {"default": database("DATABASE_URL")}

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"

STATIC_URL = "/static/"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/cytoscape", BASE_DIR / "node_modules" / "cytoscape" / "dist"),
    # cytoscape-dagre's build bundles dagre itself.
    ("vendor/cytoscape-dagre", BASE_DIR / "node_modules" / "cytoscape-dagre" / "dist"),
    # The fcose layout: its UMD build needs cose-base, which needs layout-base (globals).
    ("vendor/layout-base", BASE_DIR / "node_modules" / "layout-base"),
    ("vendor/cose-base", BASE_DIR / "node_modules" / "cose-base"),
    ("vendor/cytoscape-fcose", BASE_DIR / "node_modules" / "cytoscape-fcose"),
    # uPlot: the side panel's charts (an ES module and its stylesheet).
    ("vendor/uplot", BASE_DIR / "node_modules" / "uplot" / "dist"),
    # Swagger UI: /api/docs draws the API's description (dashboard/openapi.yaml).
    ("vendor/swagger-ui", BASE_DIR / "node_modules" / "swagger-ui-dist"),
]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Meshlens -----------------------------------------------------------------------------

PROMETHEUS_URL = envurl("PROMETHEUS_URL", "http://127.0.0.1:9090", ("http", "https"))
PROMETHEUS_TOKEN = os.getenv("PROMETHEUS_TOKEN", "")
PROMETHEUS_CA = os.getenv("PROMETHEUS_CA", "")
if PROMETHEUS_CA and not Path(PROMETHEUS_CA).is_file():
    raise ImproperlyConfigured(f"Unexpected value PROMETHEUS_CA={PROMETHEUS_CA}, no such file")
PROMETHEUS_VERIFY = envbool("PROMETHEUS_VERIFY", "True")
PROMETHEUS_TIMEOUT = envint("MESHLENS_PROMETHEUS_TIMEOUT", 10)
# The request queries by Prometheus's remote read, rates computed here (graph/remote_servers.py):
# `auto` falls back to PromQL where a server refuses it, `on` makes a refusal an error.
MESHLENS_REMOTE_READ = envchoice("MESHLENS_REMOTE_READ", "auto", ("auto", "on", "off"))
if MESHLENS_REMOTE_READ == "on" and (_missing := remote_servers.decoder_missing()):
    raise ImproperlyConfigured(f"Unexpected value MESHLENS_REMOTE_READ=on: {_missing}")
# Where users' browsers reach PROMETHEUS_URL (the side panel's links to its graph page),
# when the server reaches it at another address.
# (Never with PROMETHEUS_URL's user and password: browsers are given it.)
MESHLENS_PROMETHEUS_PUBLIC_URL = envurl(
    "MESHLENS_PROMETHEUS_PUBLIC_URL",
    urlunparse(urlparse(PROMETHEUS_URL)._replace(
        netloc=urlparse(PROMETHEUS_URL).netloc.rpartition("@")[2])),
    ("http", "https"))

REDIS_URL = envurl("REDIS_URL", "redis://127.0.0.1:6379/0", ("redis", "rediss", "unix"))
MESHLENS_REFRESH_SECONDS = envint("MESHLENS_REFRESH_SECONDS", 10)
MESHLENS_AUTH = envchoice("MESHLENS_AUTH", "anonymous", ("login", "anonymous"))
# Meshlens's own sign-in page (dashboard/account_views.py), not the admin's.
LOGIN_URL = "/login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login"
# Messages kept server-side: the admin shows a new API token's secret in one, which a
# cookie (Django's default) would carry to the browser and through proxies, signed only.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"


def envpatterns(name: str, default: str) -> tuple[str, ...]:
    try:
        return parse_patterns(os.getenv(name, default), name)
    except ValueError as exc:
        raise ImproperlyConfigured(f"Unexpected value {exc}") from None


# What a signed-in user who is in no group with namespace access sees: * (all, as before
# groups had namespaces), or patterns; empty: nothing.
MESHLENS_DEFAULT_ACCESS = envpatterns("MESHLENS_DEFAULT_ACCESS", "*")

# How often a signed-in viewer's open WebSocket reads its access again, for what no signal
# announces: a session that expires while the socket is open, a bulk SQL UPDATE. 0: never.
MESHLENS_ACCESS_RECHECK_SECONDS = envint("MESHLENS_ACCESS_RECHECK_SECONDS", 60, minimum=0)


def envrate(name: str, default: str) -> float:
    """`10/s`, `600/m` or `3600/h`: requests per second."""
    value = os.getenv(name, default).strip()
    count, _, unit = value.partition("/")
    per = {"s": 1, "m": 60, "h": 3600}.get(unit)
    try:
        rate = float(count) / per if per else 0.0
    except ValueError:
        rate = 0.0
    if rate <= 0:
        raise ImproperlyConfigured(f"Unexpected value {name}={value}: use a rate such as 10/s, "
                                   "600/m or 3600/h")
    return rate


# Each API token's rate limit: a bucket refilled at this rate, this many requests deep.
MESHLENS_TOKEN_RATE = envrate("MESHLENS_TOKEN_RATE", "10/s")
MESHLENS_TOKEN_BURST = envint("MESHLENS_TOKEN_BURST", 20)

MESHLENS_CLUSTER_NAME = os.getenv("MESHLENS_CLUSTER_NAME", "Kubernetes")
MESHLENS_ACCESSIBLE_NAMESPACES = envpairs("MESHLENS_ACCESSIBLE_NAMESPACES", "/")


def envscope(name: str) -> list[tuple[str, str]]:
    """`label=value,...` pairs naming Prometheus labels (values may hold anything but a
    comma: queries escape them)."""
    pairs = envpairs(name, "=")
    try:
        Scope.of(pairs)
    except PromQLError as exc:
        raise ImproperlyConfigured(f"Unexpected value {name}={os.getenv(name)}: {exc}") from None
    return pairs


MESHLENS_QUERY_SCOPE = envscope("MESHLENS_QUERY_SCOPE")


def envdialects(name: str, default: str) -> list[str]:
    """A comma list of telemetry dialects, each one graph/sources knows; `auto` alone (an
    empty list): detected from the metric names Prometheus holds."""
    value = os.getenv(name, default)
    if value.strip() == "auto":
        return []
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in DIALECTS]
    if not names or unknown or len(set(names)) != len(names):
        allowed = ", ".join(sorted(DIALECTS))
        raise ImproperlyConfigured(
            f"Unexpected value {name}={value}, use auto or a comma list of distinct "
            f"dialects from {allowed}")
    return names


MESHLENS_DIALECTS = envdialects("MESHLENS_DIALECTS", "istio")


# The page's view when its URL names none.
def envoption(name: str, default: str, parse: Callable[[str], object],
              errors: tuple[type[Exception], ...] = (OptionError,)) -> str:
    """A value that `parse` (graph/options.py's, by default) must accept, checked now
    rather than on first use."""
    value = os.getenv(name, default)
    try:
        parse(value)
    except errors as exc:
        why = exc.message if isinstance(exc, OptionError) else str(exc)
        raise ImproperlyConfigured(f"Unexpected value {name}={value}: {why}") from None
    return value


# A trace UI's URL template holding {trace_id}; empty: exemplars come without links.
MESHLENS_TRACE_URL = envoption("MESHLENS_TRACE_URL", "",
                               lambda value: value and TraceLinks.parse(value),
                               errors=(ValueError,))


MESHLENS_DEFAULT_NAMESPACES = (
    list(parse_namespaces(envoption("MESHLENS_DEFAULT_NAMESPACES", "x", parse_namespaces)))
    if os.getenv("MESHLENS_DEFAULT_NAMESPACES") else []
)
# Trace-derived telemetry without a service.namespace dimension is in this namespace.
def one_namespace(value: str) -> str:
    names = parse_namespaces(value, "namespace")
    if len(names) != 1:
        raise OptionError("namespace", "give one namespace")
    return names[0]


MESHLENS_TRACES_NAMESPACE = one_namespace(
    envoption("MESHLENS_TRACES_NAMESPACE", "default", one_namespace))
MESHLENS_DEFAULT_DURATION = envoption("MESHLENS_DEFAULT_DURATION", "60s", parse_duration)
# How long a scope stays live after the last viewer's heartbeat.
MESHLENS_LIVE_TTL_SECONDS = max(30, 3 * MESHLENS_REFRESH_SECONDS)
# A worker's refresh builds in a child process forked for it (graph/forked.py): the worker
# keeps its caches, not a build's memory.
MESHLENS_BUILD_APART = envbool("MESHLENS_BUILD_APART", "True")
# ... when its scope's last graph had more edges than this, or is not known yet: a small
# scope's build costs less in the worker's own process than a fork (graph/build_sizes.py).
MESHLENS_BUILD_APART_ABOVE = envint("MESHLENS_BUILD_APART_ABOVE", 10_000, minimum=0)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "meshlens",
    }
}



def channel_layers(redis_url: str) -> dict[str, Any]:
    """The Channels layer on `redis_url`.

    redis-py 8 gives every read a 5 s socket timeout by default, the same 5 s that
    channels_redis blocks for while it waits for a group message: a viewer who heard
    nothing for 5 s (a cold scope, a slow refresh) lost its consumer to a TimeoutError.
    Reads get longer than the blocking wait."""
    return {"default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": redis_url, "socket_timeout": 30}],
                   "prefix": "meshlens:asgi"},
    }}


CHANNEL_LAYERS = channel_layers(REDIS_URL)

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.getenv("MESHLENS_LOG_LEVEL", "INFO")},
    "loggers": {"daphne": {"level": "WARNING"}},
}


# --- Serving: TLS, security headers, embedding, CORS -------------------------------------


def envorigins(name: str) -> list[str]:
    """A comma list of origins, each scheme://host[:port] and nothing more."""
    value = os.getenv(name, "")
    origins = [o.strip() for o in value.split(",") if o.strip()]
    for origin in origins:
        parsed = urlparse(origin)
        if (parsed.scheme not in ("http", "https") or not parsed.netloc
                or parsed.path or parsed.query or parsed.fragment or "@" in parsed.netloc):
            raise ImproperlyConfigured(
                f"Unexpected value {name}={value}: '{origin}' is not an origin like "
                "https://portal.example.com")
    return origins


# Behind a reverse proxy that ends TLS: redirect plain HTTP, send HSTS, cookies only over
# HTTPS. MESHLENS_TLS=True turns each on; each MESHLENS_SECURE_* setting can then be set alone.
MESHLENS_TLS = envbool("MESHLENS_TLS", "False")
_tls = "True" if MESHLENS_TLS else "False"
SECURE_SSL_REDIRECT = envbool("MESHLENS_SECURE_SSL_REDIRECT", _tls)
SESSION_COOKIE_SECURE = envbool("MESHLENS_SECURE_COOKIES", _tls)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = envint("MESHLENS_SECURE_HSTS_SECONDS",
                             31536000 if MESHLENS_TLS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("MESHLENS_SECURE_HSTS_INCLUDE_SUBDOMAINS", _tls)
SECURE_HSTS_PRELOAD = envbool("MESHLENS_SECURE_HSTS_PRELOAD", "False")
# Only a proxy that sets X-Forwarded-Proto itself (dropping a client's) may be trusted: a
# client could otherwise claim HTTPS over plain HTTP.
if envbool("MESHLENS_TRUSTED_PROXY", "False"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The healthz probe of an orchestrator speaks plain HTTP to the pod.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Origins whose pages may frame /embed/graph (CSP frame-ancestors); none by default.
MESHLENS_EMBED_ORIGINS = envorigins("MESHLENS_EMBED_ORIGINS")
# Origins whose scripts may read the API (GET only); cookies go along only with
# MESHLENS_CORS_CREDENTIALS=True.
CORS_ALLOWED_ORIGINS = envorigins("MESHLENS_CORS_ORIGINS")
CORS_ALLOW_CREDENTIALS = envbool("MESHLENS_CORS_CREDENTIALS", "False")
CORS_ALLOW_METHODS = ("GET", "OPTIONS")
CORS_URLS_REGEX = r"^/api/.*$"


# Optional single sign-on (dashboard/oidc.py): on when MESHLENS_OIDC_CLIENT_ID is set.
OIDC_SETTINGS = settings_from_env(os.environ)
MESHLENS_OIDC_ENABLED = bool(OIDC_SETTINGS)
MESHLENS_OIDC_NAME = OIDC_SETTINGS.pop("MESHLENS_OIDC_NAME", "")
MESHLENS_OIDC_GROUPS_CLAIM = OIDC_SETTINGS.pop("MESHLENS_OIDC_GROUPS_CLAIM", "")
globals().update(OIDC_SETTINGS)
if MESHLENS_OIDC_ENABLED:
    INSTALLED_APPS.append("mozilla_django_oidc")
AUTHENTICATION_BACKENDS = [
    *(["dashboard.oidc_backend.GroupsBackend"] if MESHLENS_OIDC_ENABLED else []),
    # Django's users and passwords, password guessing slowed (dashboard/login_throttle.py).
    "dashboard.login_throttle.ThrottledModelBackend",
]
