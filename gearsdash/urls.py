from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "gearsdash administration"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="devices:device-list", permanent=False)),
    path("devices/", include("devices.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]
