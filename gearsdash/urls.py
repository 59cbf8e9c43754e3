from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.decorators.cache import cache_control
from django.views.generic import RedirectView

from gearsdash import password_reset

admin.site.site_header = "gearsdash administration"


@login_not_required
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers ask for /favicon.ico before reading any page's <link rel="icon">."""
    # Resolved per request: with the manifest storage the name carries the file's hash.
    return HttpResponseRedirect(static("img/favicon.svg"))


urlpatterns = [
    path("", RedirectView.as_view(pattern_name="devices:device-list", permanent=False)),
    path("favicon.ico", favicon, name="favicon"),
    path("devices/", include("devices.urls")),
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
