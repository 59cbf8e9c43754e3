"""The site's URLs plus one view that fails: what a bug in a view looks like to the logs."""

from django.urls import path

from gearsdash.urls import handler404, urlpatterns as site_urls  # noqa: F401 - the site's 404 page stays


def broken(request):
    raise RuntimeError("a bug in a view")


urlpatterns = [*site_urls, path("broken/", broken)]
