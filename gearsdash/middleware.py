"""Every page needs a login; an htmx request without one sends the whole page to the login."""

from __future__ import annotations

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect


class HtmxLoginRequiredMiddleware(LoginRequiredMiddleware):
    """LoginRequiredMiddleware that answers htmx with HX-Redirect instead of a 302.

    htmx follows a 302 itself and would swap the login page into a table row
    or a panel; HX-Redirect makes the browser load the login page instead,
    with `next` set to the page the user was on (HX-Current-URL), not to the
    fragment's URL.
    """

    def handle_no_permission(self, request: HttpRequest, view_func) -> HttpResponse:
        htmx = getattr(request, "htmx", None)
        if not htmx:
            return super().handle_no_permission(request, view_func)
        # current_url_abs_path is None for another origin's URL: never send the user there.
        back_to = htmx.current_url_abs_path or request.get_full_path()
        login = redirect_to_login(
            back_to, resolve_url(self.get_login_url(view_func)), self.get_redirect_field_name(view_func)
        )
        return HttpResponseClientRedirect(login["Location"])
