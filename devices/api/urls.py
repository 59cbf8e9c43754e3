"""/api/: the versioned resources under v1/, the schema and its viewers beside them.

Every view here is @login_not_required: a token is a login of its own, and a
missing one is answered 401 by the API, not a redirect to the login page.
"""

from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

from devices.api import schema, views

api_v1 = [
    path("devices/", login_not_required(views.DeviceList.as_view()), name="api-device-list"),
    path("devices/<int:pk>/", login_not_required(views.DeviceDetail.as_view()), name="api-device-detail"),
    path("budget/", login_not_required(views.Budget.as_view()), name="api-budget"),
]

urlpatterns = [
    path("v1/", include(api_v1)),
    path("schema/", schema.schema, name="api-schema"),
    path("schema/swagger/", schema.swagger, name="api-swagger"),
    path("schema/redoc/", schema.redoc, name="api-redoc"),
]
