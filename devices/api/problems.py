"""Errors as RFC 9457 problem details (`application/problem+json`), with a field-level `errors` map."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

PROBLEM = "application/problem+json"

TITLES = {
    status.HTTP_400_BAD_REQUEST: "The request is not valid",
    status.HTTP_401_UNAUTHORIZED: "Authentication is needed",
    status.HTTP_403_FORBIDDEN: "Not allowed",
    status.HTTP_404_NOT_FOUND: "Not found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "Method not allowed",
    status.HTTP_406_NOT_ACCEPTABLE: "Not acceptable",
    status.HTTP_409_CONFLICT: "Conflict",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "Unsupported media type",
    status.HTTP_422_UNPROCESSABLE_ENTITY: "Unprocessable request",
    status.HTTP_429_TOO_MANY_REQUESTS: "Too many requests",
}


def _messages(detail) -> list[str]:
    if isinstance(detail, dict):
        return [f"{key}: {message}" for key, value in detail.items() for message in _messages(value)]
    if isinstance(detail, list):
        return [message for item in detail for message in _messages(item)]
    return [str(detail)]


def _field_errors(detail) -> dict[str, list[str]]:
    """{field: [messages]}; errors of the whole request under "non_field_errors", as DRF names them."""
    if isinstance(detail, dict):
        return {str(key): _messages(value) for key, value in detail.items()}
    return {"non_field_errors": _messages(detail)}


def problem(status_code: int, detail: str, *, errors: dict[str, list[str]] | None = None,
            headers: dict[str, str] | None = None) -> Response:
    body = {"type": "about:blank", "title": TITLES.get(status_code, "Error"), "status": status_code, "detail": detail}
    if errors:
        body["errors"] = errors
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM)


def problem_handler(exc, context) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    response = exception_handler(exc, context)
    if response is None:
        return None  # not an API error: Django's 500 handling and logging
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        detail = "Some fields are not valid; nothing was changed."
    else:
        errors = None
        detail = " ".join(_messages(getattr(exc, "detail", str(exc))))
    if isinstance(exc, (Http404, DjangoPermissionDenied)) and not detail:
        detail = TITLES[response.status_code]
    headers = {name: value for name, value in response.items() if name in ("WWW-Authenticate", "Retry-After", "Allow")}
    if isinstance(exc, exceptions.Throttled):
        request = context.get("request")
        headers.update(getattr(request, "rate_limit_headers", {}))
    return problem(response.status_code, detail, errors=errors, headers=headers)
