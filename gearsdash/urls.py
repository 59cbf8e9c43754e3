from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import LogoutView
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "gearsdash administration"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="devices:device-list", permanent=False)),
    path("devices/", include("devices.urls")),
    # Logging out after the session expired must not ask for a login first.
    path("accounts/logout/", login_not_required(LogoutView.as_view()), name="logout"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]
