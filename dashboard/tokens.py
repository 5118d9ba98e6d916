"""API tokens on the wire: `Authorization: Bearer mlt_...` read, checked and rate-limited.

A token is found by its visible lookup prefix and proved by the SHA-256 of the whole token
(compared in constant time). Whatever is wrong with a token that does not prove out, the
answer is the same 401, so that no one learns which tokens exist; an expired or revoked one
is named as such only to whoever holds its secret. Each token has a bucket in Redis
(MESHLENS_TOKEN_RATE per second, MESHLENS_TOKEN_BURST deep): an empty bucket is a 429 with
Retry-After.
"""

from __future__ import annotations

import hmac
import logging
import math
import re
from datetime import timedelta

import redis
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from dashboard import live
from dashboard.access_models import TOKEN_PREFIX, ApiToken, hash_secret

log = logging.getLogger(__name__)

TOKEN = re.compile(rf"^{TOKEN_PREFIX}([0-9a-f]{{8}})_[A-Za-z0-9_-]{{20,100}}$")
READ_ONLY = ("GET", "HEAD")
# last_used is written at most this often per token: not a database write per request.
LAST_USED_EVERY = timedelta(minutes=1)
INVALID = "the API token is not valid"

# A token bucket: refilled at ARGV[1] per second up to ARGV[2]; takes one if it can.
# Returns the seconds to wait ("0": taken). Redis's clock, so all web processes agree.
BUCKET = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local held = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(held[1]) or burst, tonumber(held[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return tostring(wait)
"""


class TokenRefused(Exception):
    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


def bearer(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def unauthorized(why: str) -> TokenRefused:
    response = JsonResponse({"error": why}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="meshlens"'
    return TokenRefused(response)


def authenticate(request: HttpRequest, secret: str) -> ApiToken:
    """The token `secret` proves, for this request; TokenRefused with the answer if none."""
    if request.method not in READ_ONLY:
        raise TokenRefused(JsonResponse(
            {"error": f"API tokens are read-only: {request.method} is not allowed, use GET"},
            status=405, headers={"Allow": ", ".join(READ_ONLY)}))
    found = TOKEN.match(secret)
    token = (ApiToken.objects.select_related("user").filter(lookup=found[1]).first()
             if found else None)
    if token is None or not hmac.compare_digest(token.secret_hash, hash_secret(secret)):
        raise unauthorized(INVALID)
    why = token.why_not_usable()
    if why is not None:
        raise unauthorized(why)
    wait = take(token)
    if wait > 0:
        raise TokenRefused(JsonResponse(
            {"error": f"too many requests with this token (MESHLENS_TOKEN_RATE="
                      f"{settings.MESHLENS_TOKEN_RATE:g}/s, burst "
                      f"{settings.MESHLENS_TOKEN_BURST}); retry in {wait:.1f} s"},
            status=429, headers={"Retry-After": str(max(1, math.ceil(wait)))}))
    now = timezone.now()
    if token.last_used is None or now - token.last_used >= LAST_USED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used=now)
    return token


def take(token: ApiToken) -> float:
    """Seconds until the token may be used again, 0 when this request may go. Open when
    Redis cannot be reached: the API still answers without its cache."""
    try:
        wait = live.client().eval(BUCKET, 1, f"meshlens:token-bucket:{token.lookup}",
                                  settings.MESHLENS_TOKEN_RATE, settings.MESHLENS_TOKEN_BURST)
    except redis.RedisError as exc:
        log.warning("token rate limit not applied, Redis: %s", exc)
        return 0.0
    return float(wait)
