import re

from django.apps import apps
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import Resolver404, include, path
from django.views.decorators.cache import cache_control

from devices.views import healthz, overview
from gearsdash import password_reset

admin.site.site_header = "gearsdash administration"


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


handler404 = page_not_found

urlpatterns = [
    path("", overview, name="overview"),
    path("favicon.ico", favicon, name="favicon"),
    # For a load balancer: no login, no trailing slash (probes are configured with the bare path).
    path("healthz", healthz, name="healthz"),
    path("devices/", include("devices.urls")),
    path("api/", include("devices.api.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    # Logging out after the session expired must not ask for a login first.
    path("accounts/logout/", login_not_required(auth_views.LogoutView.as_view()), name="logout"),
    path("accounts/password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    # Password reset answers 404 unless a real email backend is configured.
    path("accounts/password_reset/", password_reset.password_reset, name="password_reset"),
    path("accounts/password_reset/done/", password_reset.password_reset_done, name="password_reset_done"),
    path(
        "accounts/reset/<uidb64>/<token>/",
        password_reset.password_reset_confirm,
        name="password_reset_confirm",
    ),
    path("accounts/reset/done/", password_reset.password_reset_complete, name="password_reset_complete"),
    path("admin/", admin.site.urls),
]
