"""`Idempotency-Key` on a POST: a repeat with the same key and body answers what the first did and queues nothing.

The same key with another body is 422; a repeat while the first is still in
flight is 409. Keys belong to the token that sent them and are kept for 24 hours
(IDEMPOTENCY_TTL). The row is claimed with an INSERT under a unique constraint
before the work starts, so two concurrent requests with one key cannot both do it.
A request that fails (an error raised) frees its key: nothing was done, so the
repeat may try again.
"""

from __future__ import annotations

import hashlib
import json
from functools import wraps

from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from devices.api.problems import problem
from devices.models import ApiToken, IdempotentRequest
from devices.models.tokens import IDEMPOTENCY_TTL

HEADER = "Idempotency-Key"
MAX_KEY = IdempotentRequest._meta.get_field("key").max_length
# How the schema names the header on every POST.
PARAMETER = OpenApiParameter(HEADER, str, OpenApiParameter.HEADER, required=False,
                             description="Makes the POST safe to retry: a repeat with the same key and body within "
                                         "24 h answers what the first did.")


def fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _claim(token: ApiToken, key: str, print_: str) -> IdempotentRequest | None:
    """Our new row (None) or the one already there for this key."""
    now = timezone.now()
    IdempotentRequest.objects.filter(token=token, created_at__lt=now - IDEMPOTENCY_TTL).delete()
    try:
        with transaction.atomic():
            IdempotentRequest.objects.create(token=token, key=key, fingerprint=print_, created_at=now)
        return None
    except IntegrityError:
        return IdempotentRequest.objects.get(token=token, key=key)


def _stored(data):
    """The answer's body as JSON holds it (dates as the renderer writes them)."""
    return json.loads(json.dumps(data, cls=JSONEncoder))


def idempotent(post):
    """Wrap an API view's `post(self, request, ...)`."""

    @wraps(post)
    def wrapped(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None or not isinstance(request.auth, ApiToken):
            return post(view, request, *args, **kwargs)
        if not key or len(key) > MAX_KEY or not key.isprintable():
            raise ValidationError({HEADER: [f"1 to {MAX_KEY} printable characters."]})
        print_ = fingerprint(request)
        earlier = _claim(request.auth, key, print_)
        if earlier is not None:
            if earlier.fingerprint != print_:
                return problem(status.HTTP_422_UNPROCESSABLE_ENTITY,
                               "This Idempotency-Key was used with another request; use a new key for a new request.")
            if earlier.status_code is None:
                return problem(status.HTTP_409_CONFLICT,
                               "The first request with this Idempotency-Key is still being handled; ask again shortly.")
            headers = {"Location": earlier.location} if earlier.location else {}
            return Response(earlier.body, status=earlier.status_code, headers={**headers, "Idempotent-Replayed": "true"})
        try:
            response = post(view, request, *args, **kwargs)
        except BaseException:
            IdempotentRequest.objects.filter(token=request.auth, key=key).delete()
            raise
        IdempotentRequest.objects.filter(token=request.auth, key=key).update(
            status_code=response.status_code, body=_stored(response.data), location=response.get("Location", ""))
        return response

    return wrapped
