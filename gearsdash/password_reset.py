"""Password reset, offered only when email really leaves the machine, and rate-limited."""

from __future__ import annotations

import functools
import logging

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render

from gearsdash import throttle
from gearsdash.client_ip import client_ip

log = logging.getLogger(__name__)

# These deliver nowhere a user could read: the console one even prints the working
# reset link into the server's output.
NON_DELIVERING_BACKENDS = frozenset(
    {
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
    }
)


def reset_offered() -> bool:
    return settings.EMAIL_BACKEND not in NON_DELIVERING_BACKENDS


def password_reset_context(request: HttpRequest) -> dict:
    """Template context processor: the login page links to the reset only when it is offered."""
    return {"password_reset_offered": reset_offered()}


def offered_only(view):
    """404 for every reset URL unless email is configured (the view's other attributes are kept)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not reset_offered():
            raise Http404("Password reset is not offered: no email backend is configured.")
        return view(request, *args, **kwargs)

    return wrapper


class ThrottledPasswordResetView(auth_views.PasswordResetView):
    """At most GEARSDASH_PASSWORD_RESET_RATE requests per address, and
    GEARSDASH_PASSWORD_RESET_EMAIL_RATE emails per address asked for.

    The answer is the same page whether or not an account has the address, and
    whether or not its limit was reached: the page tells nobody who has an account.
    """

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not throttle.allow("reset-address", client_ip(request), settings.GEARSDASH_PASSWORD_RESET_RATE):
            log.warning("Password reset refused: too many requests from %s.", client_ip(request))
            context = {**self.get_context_data(), "throttled": True}
            return render(request, self.template_name, context, status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form) -> HttpResponse:
        email = form.cleaned_data["email"].strip().lower()
        if throttle.allow("reset-email", email, settings.GEARSDASH_PASSWORD_RESET_EMAIL_RATE):
            return super().form_valid(form)
        log.warning("Password reset email not sent: too many requests for one address (from %s).", client_ip(self.request))
        return HttpResponseRedirect(self.get_success_url())


password_reset = offered_only(ThrottledPasswordResetView.as_view())
password_reset_done = offered_only(auth_views.PasswordResetDoneView.as_view())
password_reset_confirm = offered_only(auth_views.PasswordResetConfirmView.as_view())
password_reset_complete = offered_only(auth_views.PasswordResetCompleteView.as_view())
