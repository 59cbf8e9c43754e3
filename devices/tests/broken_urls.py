"""The site's URLs plus one view that fails: what a bug in a view looks like to the logs."""

from django.urls import path

from gearsdash.urls import handler404  # noqa: F401 - the site's 404 page stays
from gearsdash.urls import urlpatterns as site_urls


def broken(request):
    raise RuntimeError("a bug in a view")


urlpatterns = [*site_urls, path("broken/", broken)]
