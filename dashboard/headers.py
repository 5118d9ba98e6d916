"""The Content-Security-Policy of every answer, and the frame rules of the embed view.

No `unsafe-inline` anywhere: the page has no inline script (its config is a JSON script
element, which is data, never run) and no style attribute; scripts set styles through the
CSSOM, which style-src does not govern.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

# The embed view's path: the one page other origins may frame (MESHLENS_EMBED_ORIGINS).
EMBED_PATH = "/embed/graph"


def content_security_policy(host: str, frame_ancestors: list[str]) -> str:
    """The policy for a page served from `host` (host[:port], already checked against
    ALLOWED_HOSTS by Django). The WebSocket's ws:/wss: URLs are named: CSP level 2 browsers do
    not count them as 'self'."""
    ancestors = " ".join(frame_ancestors) if frame_ancestors else "'none'"
    sockets = f" ws://{host} wss://{host}" if host else ""
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        # The favicon holding the failing count is drawn on a canvas into a data: URL.
        "img-src": "'self' data:",
        "connect-src": f"'self'{sockets}",
        "font-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": ancestors,
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class ContentSecurityPolicyMiddleware:
    """Sets Content-Security-Policy on every answer that has none. frame-ancestors is 'none'
    but on the embed view, whose framing origins are MESHLENS_EMBED_ORIGINS; the embed
    view also goes without X-Frame-Options (xframe_options_exempt), which cannot name
    origins."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            ancestors = settings.MESHLENS_EMBED_ORIGINS if request.path == EMBED_PATH else []
            response["Content-Security-Policy"] = content_security_policy(
                host_of(request), ancestors)
        return response


def host_of(request: HttpRequest) -> str:
    """The request's host, or "" for a host outside ALLOWED_HOSTS (answered 400 already;
    its policy then names no socket URLs)."""
    try:
        return request.get_host()
    except DisallowedHost:
        return ""
