"""The site's own views: the favicon, the error pages, and the throttled password change."""

from __future__ import annotations

import re

from django.apps import apps
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import Resolver404
from django.views.decorators.cache import cache_control

from gearsdash.lockout import ThrottledPasswordChangeForm


@login_not_required
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers ask for /favicon.ico before reading any page's <link rel="icon">."""
    # Resolved per request: with the manifest storage the name carries the file's hash.
    return HttpResponseRedirect(static("img/favicon.svg"))


# get_object_or_404's message names the model's class: "No BulkJob matches the given query."
_NO_SUCH_OBJECT = re.compile(r"No (\w+) matches the given query\.")


def not_found_reason(exception: Exception | None) -> str:
    """What the 404 page says: the view's own sentence, else what was not found."""
    message = exception.args[0] if exception is not None and exception.args else None
    if isinstance(exception, Resolver404) or not isinstance(message, str) or not message:
        return "There is no page at this address: check the link, or start again from the device list."
    missing = _NO_SUCH_OBJECT.fullmatch(message)
    if missing is None:
        return message  # a view's own explanation
    model = next((m for m in apps.get_models() if m._meta.object_name == missing[1]), None)
    what = model._meta.verbose_name if model is not None else "such item"
    return f"There is no {what} with this number: it may have been deleted, or the link is wrong."


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", {"reason": not_found_reason(exception)}, status=404)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """400 with the view's sentence (a BadRequest's message says what was wrong), else a general one."""
    message = exception.args[0] if exception is not None and exception.args else None
    reason = message if isinstance(message, str) and message else "The request could not be understood."
    return render(request, "400.html", {"reason": reason}, status=400)


class ThrottledPasswordChangeView(auth_views.PasswordChangeView):
    form_class = ThrottledPasswordChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}
