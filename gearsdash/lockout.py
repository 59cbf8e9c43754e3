"""What a locked-out login sees: the login page again, saying why and for how long."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def attempted_username(request: HttpRequest, credentials: dict | None = None) -> str:
    """django-axes' AXES_USERNAME_CALLABLE: the username tried, cut to what its records hold.

    AccessAttempt.username is 255 characters: a longer one failed to be written
    on PostgreSQL (a 500, and no failure counted). Names sharing their first 255
    characters share one count, which only locks them out sooner.
    """
    from axes.models import AccessAttempt  # models are not ready when settings name this

    username = (credentials or {}).get("username") or request.POST.get("username", "") or ""
    return str(username)[: AccessAttempt._meta.get_field("username").max_length]


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' AXES_LOCKOUT_CALLABLE: 429 with the login form and the cool-off in minutes."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    context = {
        "form": AuthenticationForm(request, initial={"username": username}),
        "next": request.POST.get("next", ""),
        "locked_out_minutes": minutes,
    }
    return render(request, "registration/login.html", context, status=429)
