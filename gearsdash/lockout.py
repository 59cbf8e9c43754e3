"""What a locked-out login sees (the login page again, saying why and for how long), and the
password change form's check of the current password, counted as login attempts are."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.core.exceptions import ValidationError
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


class ThrottledPasswordChangeForm(PasswordChangeForm):
    """The current password is checked by authenticate(), so django-axes counts a wrong one and
    refuses every one once the (username, address) is locked, as on the login page."""

    def __init__(self, user, *args, request: HttpRequest | None = None, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        found = authenticate(self.request, username=self.user.get_username(), password=old_password)
        if found is None or found.pk != self.user.pk:
            raise ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old_password


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' AXES_LOCKOUT_CALLABLE: 429 with the login form (or, signed in, the reason)
    and the cool-off in minutes."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    if request.user.is_authenticated:  # the password change form
        return render(request, "registration/password_change_locked.html", {"locked_out_minutes": minutes},
                      status=429)
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    context = {
        "form": AuthenticationForm(request, initial={"username": username}),
        "next": request.POST.get("next", ""),
        "locked_out_minutes": minutes,
    }
    return render(request, "registration/login.html", context, status=429)
