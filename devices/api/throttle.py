"""The API's own request rate, per token (API_RATE_LIMIT, default 120 a minute).

Separate from the cloud's budget, which the API only queues into. Over the
rate: 429 with Retry-After and the IETF httpapi draft's RateLimit and
RateLimit-Policy headers (added by devices.api.problems from what this left on
the request). Counted in the shared throttle cache, so every process counts together.
"""

from __future__ import annotations

import math

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from devices.models import ApiToken
from gearsdash import throttle
from gearsdash.client_ip import client_ip

POLICY = "per-token"


class TokenRate(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        rate = settings.API_RATE_LIMIT
        # A session counts per user; a request with neither (a 401 to come) per address.
        if isinstance(request.auth, ApiToken):
            key = f"token:{request.auth.pk}"
        elif request.user is not None:
            key = f"user:{request.user.pk}"
        else:
            key = f"address:{client_ip(request._request)}"
        counted = throttle.count("api", key, rate)
        if counted is None:
            self.reset = 1.0
            request.rate_limit_headers = {}
            return False
        self.reset = counted.reset
        remaining = max(rate.requests - counted.used, 0)
        reset = math.ceil(counted.reset)
        request.rate_limit_headers = {
            "RateLimit-Policy": f'"{POLICY}";q={rate.requests};w={math.ceil(rate.window)}',
            "RateLimit": f'"{POLICY}";r={remaining};t={reset}',
        }
        return counted.used <= rate.requests

    def wait(self) -> float:
        return math.ceil(self.reset)
