from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

from devices.views import healthz, overview
from gearsdash import password_reset
from gearsdash.admin_gate import admin_login
from gearsdash.views import ThrottledPasswordChangeView, bad_request, favicon, page_not_found

admin.site.site_header = "gearsdash administration"

handler400 = bad_request
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
    path("accounts/password_change/", ThrottledPasswordChangeView.as_view(), name="password_change"),
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
    # Before the admin's own login: a logged-in user without staff status is told so, not asked to log in.
    path("admin/login/", admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
]
