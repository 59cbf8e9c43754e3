"""/api/: the versioned resources under v1/, the schema and its viewers beside them.

Every view here is @login_not_required: a token is a login of its own, and a
missing one is answered 401 by the API, not a redirect to the login page.
"""

from django.contrib.auth.decorators import login_not_required
from django.urls import include, path, re_path

from devices.api import actions, bulk, schema, views

api_v1 = [
    path("devices/", login_not_required(views.DeviceList.as_view()), name="api-device-list"),
    path("devices/<int:pk>/", login_not_required(views.DeviceDetail.as_view()), name="api-device-detail"),
    path("devices/<int:pk>/remediation/", login_not_required(actions.Remediation.as_view()), name="api-remediation"),
    path("actions/", login_not_required(actions.ActionList.as_view()), name="api-action-list"),
    path("actions/<int:pk>/", login_not_required(actions.ActionDetail.as_view()), name="api-action-detail"),
    path("actions/<int:pk>/cancel/", login_not_required(actions.ActionCancel.as_view()), name="api-action-cancel"),
    path("actions/<int:pk>/retry/", login_not_required(actions.ActionRetry.as_view()), name="api-action-retry"),
    path("bulk-jobs/", login_not_required(bulk.BulkJobList.as_view()), name="api-bulk-job-list"),
    path("bulk-jobs/<int:pk>/", login_not_required(bulk.BulkJobDetail.as_view()), name="api-bulk-job-detail"),
    path("bulk-jobs/<int:pk>/results/", login_not_required(bulk.BulkJobResults.as_view()), name="api-bulk-job-results"),
    path("budget/", login_not_required(views.Budget.as_view()), name="api-budget"),
    path("audit/", login_not_required(actions.AuditList.as_view()), name="api-audit"),
]

urlpatterns = [
    path("v1/", include(api_v1)),
    path("schema/", schema.schema, name="api-schema"),
    path("schema/swagger/", schema.swagger, name="api-swagger"),
    path("schema/redoc/", schema.redoc, name="api-redoc"),
    # Anything else under /api/ is a problem document too, not the site's HTML 404 page.
    re_path(r"", views.not_found),
]
